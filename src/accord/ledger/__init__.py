"""The forecast ledger: append-only, hash-chained SQLite record of forecasts and outcomes."""

from .scoring import probabilities, score, score_all
from .seed import (FEASIBILITY_KEYS, HEADLINE_KEYS, outlook_probabilities, samples_from_forecast,
                   seed_ledger, seed_questions)
from .store import (BASELINES, KINDS, ChainProblem, Question, VerifyReport, add_forecast,
                    add_question, forecasts, get_question, question_from_mapping, questions,
                    resolutions, resolve, verify)

__all__ = [
    "BASELINES", "KINDS", "FEASIBILITY_KEYS", "HEADLINE_KEYS", "outlook_probabilities", "ChainProblem", "Question", "VerifyReport",
    "add_question", "question_from_mapping", "add_forecast", "resolve", "get_question", "questions", "forecasts",
    "resolutions", "verify", "score", "score_all", "probabilities", "seed_questions",
    "seed_ledger", "samples_from_forecast",
]
