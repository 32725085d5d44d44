"""The flagship's questions (settlement of the Russia–Ukraine war) and seeding the ledger.

The resolution criteria follow the strictness of the public forecasting platforms that ask
about this war: an agreement counts when both belligerents sign it, it enters into force and
it holds for 30 days — a declaration, a framework, a memorandum or a deal between third
parties does not; a NATO question needs a signed text; a ceasefire must be general and in
effect on the date. Each question says what a model forecasts for it (``maps_to``): an issue
of the flagship scenario (a 0–100 scale whose anchors the question repeats), or the outlook's
probability of a deal by the question's date (:func:`outlook_probabilities`).

The issue questions are conditional: they ask what the signed settlement says, and are
annulled when no settlement is signed by the deadline. That is what a bargaining model
forecasts (where a negotiation settles), and the headline questions ask whether and when it
settles, which is what the outlook forecasts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from accord.errors import Collector

from .store import Question, add_forecast, add_question, get_question
from .store import questions as _ledger_questions

HEADLINE_KEYS = ("outlook_agreement", "outlook_ceasefire")
"""Keys the outlook forecasts (:func:`outlook_probabilities`): P(a comprehensive settlement
in force and held 30 days by the deadline), P(a general ceasefire in effect on the date)."""
FEASIBILITY_KEYS = HEADLINE_KEYS
"""Former name of :data:`HEADLINE_KEYS` (the headline questions once mapped to feasibility)."""

ISSUES = ("territory", "recognition", "nato", "security_guarantees", "guarantee_duration",
          "troops", "sanctions", "us_aid", "rearmament", "resources", "eu_membership",
          "sequencing", "accountability", "independence", "security_order")

_REPORTING = ("Facts are established by reporting of at least two of Reuters, the Associated "
              "Press, AFP and the BBC, or by the official texts published by the signatories.")

_SIGNED = ("the governments of Russia and Ukraine (heads of state or government, or "
           "plenipotentiaries they authorised) have both signed one agreement, or one package of "
           "agreements, that both describe as ending the war (not only pausing the fighting)")

FLAGSHIP = "ukraine-2025"
"""The bundled flagship scenario whose issues the questions map to."""

# What the settlement's text says about each issue (the question's wording); the scale and its
# anchors come from the flagship scenario itself, so questions and forecasts share one scale.
_LABELS: dict[str, str] = {
    "territory": "its provision on the territory Russia controls (the line, whatever its legal status)",
    "recognition": "its provision on the legal status of the territory Russia controls (who recognises it as Russian)",
    "guarantee_duration": "the duration of the security guarantees it gives Ukraine",
    "rearmament": "its provision on Ukraine's armed forces and their rearmament (caps, Western supply)",
    "independence": "its provisions on Ukraine's political independence (its government and alignment)",
    "security_order": "its provisions on the wider European security order (NATO's posture, arms control)",
    "nato": "its provision on Ukraine's membership of NATO",
    "security_guarantees": "the security guarantees it gives Ukraine: who backs them and how bindingly",
    "troops": "its provision on Western troops or peacekeepers in Ukraine",
    "sanctions": "its provision on sanctions against Russia",
    "us_aid": "its provision on US military aid to Ukraine (given, sold, or ended)",
    "resources": "the share of Ukraine's resource revenues it (or a text signed with it) "
                 "gives the United States",
    "eu_membership": "its provision on Ukraine's membership of the European Union",
    "sequencing": "the order of ceasefire and settlement it implements",
    "accountability": "its provision on accountability, reparations and frozen Russian assets",
}


def _issue_question(issue: str, label: str, anchors: Mapping[float, str], low: float,
                    high: float, deadline: str) -> Question:
    points = " · ".join(f"{k:g} = {v}" for k, v in sorted(anchors.items()))
    return Question(
        id=f"flagship.{issue}", kind="continuous", low=low, high=high, anchors=dict(anchors),
        deadline=deadline, maps_to=issue,
        condition=f"Annulled unless, by {deadline}, {_SIGNED}.",
        text=(f"If Russia and Ukraine sign a settlement by {deadline}, where does {label} fall "
              f"on the scale {low:g}–{high:g} ({points})?"),
        criteria=(f"Conditional: annulled unless, by {deadline} 23:59 UTC, {_SIGNED}. The "
                  "outcome is coded from the signed text(s) alone — annexes and side agreements "
                  "signed by both included; statements, leaks and unsigned drafts excluded — as "
                  "the anchor the provision matches; a provision between two anchors is placed "
                  "between them by linear interpolation and the coding is justified in the "
                  "resolution note with the quoted clause. A text silent on the issue resolves "
                  "to the anchor describing the situation on the day of signature. "
                  + _REPORTING))


def seed_questions(deadline: str = "2027-12-31", ceasefire_by: str = "2027-06-30",
                   scenario: Any = None) -> list[Question]:
    """The flagship's questions, with strict resolution criteria.

    Two unconditional binary questions map to the outlook (``outlook_agreement``: a
    comprehensive settlement in force and held for 30 days; ``outlook_ceasefire``: a
    general ceasefire in effect on ``ceasefire_by``); one conditional question per issue
    (its scale and anchors taken from the flagship ``scenario``, by default the bundled
    ``ukraine-2025``); a conditional binary question whether the settlement's signed text
    rules out NATO membership (``nato >= 75 %`` of the scale: neutrality by treaty or a ban);
    and an ordered question on the territorial outcome.
    """
    if scenario is None:
        from accord.scenario import load

        scenario = load(FLAGSHIP)
    errs = Collector(getattr(scenario, "id", "scenario"))
    found = {i.id: i for i in scenario.issues}
    issue_defs: dict[str, tuple[str, Mapping[float, str], float, float]] = {}
    for k in ISSUES:
        if k not in found:
            errs.add(None, "issues", k, f"the flagship issue {k!r} in the scenario")
        elif len(found[k].anchors) < 2:
            errs.add(None, f"issues.{k}.anchors", len(found[k].anchors),
                     "two or more anchors (a reader resolves the question on them)")
        else:
            i = found[k]
            issue_defs[k] = (_LABELS[k], dict(i.anchors), float(i.low), float(i.high))
    errs.raise_if_any()

    deal = Question(
        id="flagship.peace_agreement", kind="binary", deadline=deadline,
        maps_to="outlook_agreement",
        text=(f"Will Russia and Ukraine sign a comprehensive peace agreement that is in effect "
              f"and has held for at least 30 days by {deadline}?"),
        criteria=(f"Yes if, by {deadline} 23:59 UTC: (1) {_SIGNED}; (2) it settles at least "
                  "the territorial question and the security arrangements; (3) it has entered "
                  "into force on its own terms (ratified, where the text requires it); and "
                  "(4) it has remained in force for at least 30 consecutive days — neither "
                  "party has suspended or denounced it and no large-scale hostilities "
                  "(ground offensives, or missile or drone strikes on cities or energy "
                  "infrastructure) have resumed. Agreements between third parties (e.g. the US "
                  "and Russia alone), frameworks, memoranda, declarations of intent, and "
                  "partial or temporary truces do not count. An agreement whose 30 days end "
                  "after the deadline resolves No. Otherwise No. " + _REPORTING))
    ceasefire = Question(
        id="flagship.ceasefire", kind="binary", deadline=ceasefire_by,
        maps_to="outlook_ceasefire",
        text=f"Will a general ceasefire between Russia and Ukraine be in effect on {ceasefire_by}?",
        criteria=(f"Yes if on {ceasefire_by} a ceasefire covering all land, air and sea "
                  "hostilities along the whole front, publicly accepted by both governments, is "
                  "in effect and has been for at least 30 consecutive days. Isolated violations "
                  "do not end it; resumed offensive operations or missile or drone strikes on "
                  "cities or energy infrastructure do. Partial truces (energy, Black Sea), "
                  "holiday truces and unilateral ceasefires do not count. " + _REPORTING))
    nato_label, nato_anchors, nato_low, nato_high = issue_defs["nato"]
    nato_cut = round(nato_low + 0.75 * (nato_high - nato_low), 9)
    nato_out = Question(
        id="flagship.nato_ruled_out", kind="binary", deadline=deadline, maps_to="nato",
        low=nato_low, high=nato_high, anchors=dict(nato_anchors), cuts=(nato_cut,),
        condition=f"Annulled unless, by {deadline}, {_SIGNED}.",
        text=(f"If Russia and Ukraine sign a settlement by {deadline}, does a text signed by "
              "Ukraine rule out its membership of NATO?"),
        criteria=(f"Conditional: annulled unless, by {deadline} 23:59 UTC, {_SIGNED}. Yes if "
                  "the settlement, or a text signed with it by Ukraine's government, commits "
                  "Ukraine not to join NATO, or to permanent neutrality or non-alignment that "
                  "excludes NATO membership (a constitutional amendment adopted under such a "
                  "text counts). Statements that membership is 'not on the table', a deferral "
                  "without a commitment, and declarations by the US, NATO or Russia alone do "
                  f"not count. A model's forecast is P(nato >= {nato_cut:g}) on the nato issue's "
                  "scale. " + _REPORTING))
    t_label, t_anchors, t_low, t_high = issue_defs["territory"]
    span = t_high - t_low
    territory_cat = Question(
        id="flagship.territory_category", kind="ordered", deadline=deadline,
        maps_to="territory", low=t_low, high=t_high, anchors=dict(t_anchors),
        categories=("Russia withdraws from territory it holds",
                    "freeze on the line of contact",
                    "Ukraine cedes territory it holds (e.g. the rest of Donbas)",
                    "Ukraine cedes all of the four annexed oblasts"),
        cuts=tuple(round(t_low + f * span, 9) for f in (0.375, 0.575, 0.875)),
        condition=f"Annulled unless, by {deadline}, {_SIGNED}.",
        text=(f"If Russia and Ukraine sign a settlement by {deadline}, which of four ordered "
              "outcomes describes its territorial provision?"),
        criteria=(f"Conditional: annulled unless, by {deadline} 23:59 UTC, {_SIGNED}. The "
                  "category is read from the signed text, the first that applies (control "
                  "only; recognition in law is the separate recognition question): 'all four' "
                  "if Ukraine withdraws from every part of Donetsk, Luhansk, Zaporizhzhia and "
                  "Kherson oblasts it controls; 'cedes' if "
                  "Ukraine withdraws from or hands over any territory it controls on the day "
                  "of signature (a land swap included); 'withdraws' if Russia withdraws from "
                  "territory it holds beyond exchanges of small areas along the line; "
                  "otherwise 'freeze' (the line of contact becomes the ceasefire or "
                  "administrative line). A model's forecast on the territory scale is binned "
                  "at 37.5, 57.5 and 87.5 % of its span (between the flagship's anchors). "
                  + _REPORTING))
    issue_qs = [_issue_question(k, *issue_defs[k], deadline=deadline) for k in ISSUES]
    return [deal, ceasefire, *issue_qs, nato_out, territory_cat]


def months_to(start: str, deadline: str) -> int:
    """Whole months from a ``YYYY-MM`` start to the end of a ``YYYY-MM-DD`` deadline's month."""
    y0, m0 = (int(x) for x in start.split("-")[:2])
    y1, m1 = (int(x) for x in deadline.split("-")[:2])
    return (y1 - y0) * 12 + (m1 - m0)


def outlook_probabilities(outlook: Any, questions: list[Question] | None = None,
                          view: str = "ensemble") -> dict[str, float]:
    """``{key: P(yes)}`` for the headline questions, from an outlook at each question's date.

    ``outlook_agreement``: reached by the month before the deadline and held its first month
    (``F(k - 1) · p12^(1/12)``, the deal's 12-month survival spread evenly over the year).
    ``outlook_ceasefire``: in effect on the date: a narrow or comprehensive deal reached in
    month ``t < k`` and not broken since (``sum_t f_t · p12^((k - t) / 12)``). A date beyond
    the horizon reads the curve's last month (a lower bound, said in the forecast's note).
    """
    from accord.analysis.outlook import ANY

    qs = seed_questions() if questions is None else questions
    doc = outlook.to_json()["deals"]
    out = {}
    for q in qs:
        if q.maps_to not in HEADLINE_KEYS:
            continue
        kind = "comprehensive" if q.maps_to == "outlook_agreement" else \
            ("ceasefire" if "ceasefire" in doc else ANY)
        block = doc[kind]["ensemble"] if view == "ensemble" else doc[kind]["views"][view]
        curve = np.asarray(block["cumulative"], float)
        p12 = block.get("p_holds_12m") or doc["comprehensive"]["ensemble"]["p_holds_12m"]
        k = min(months_to(block["start"], q.deadline), len(curve))
        if k < 1:
            out[q.maps_to] = 0.0
            continue
        F = np.r_[0.0, curve]
        if q.maps_to == "outlook_agreement":
            out[q.maps_to] = float(F[k - 1] * p12 ** (1 / 12))
        else:
            f = np.diff(F[:k])                                   # months 1 .. k - 1
            t = np.arange(1, k)
            out[q.maps_to] = float((f * p12 ** ((k - t) / 12)).sum())
    return out


def seed_ledger(db: str | Path, forecasts: Mapping[str, Mapping[str, Any]], *,
                questions: list[Question] | None = None,
                meta: Mapping[str, Mapping[str, Any]] | None = None,
                scenario_sha256: str | None = None, seed: int | None = None,
                created: str | None = None) -> pd.DataFrame:
    """Record forecasts on the flagship's questions; returns one row per forecast recorded.

    ``forecasts`` maps a model name to ``{key: samples}`` where a key is an issue id (samples
    on the issue's scale, e.g. a Monte Carlo run's final forecasts) or a feasibility key of
    :data:`FEASIBILITY_KEYS` (per-draw probabilities in [0, 1]). Each question receives the
    samples of the key it ``maps_to``; questions without one for a model are left out for that
    model. ``meta[model]`` may give ``preset``, ``params`` and ``seed``. Questions missing from
    the ledger are added first; a question already there must be the same question.
    """
    qs = seed_questions() if questions is None else list(questions)
    errs = Collector(db)
    keys = {q.maps_to for q in qs if q.maps_to}
    for model, per_key in forecasts.items():
        for key in per_key:
            if key not in keys:
                errs.add(None, f"forecasts.{model}", key,
                         f"an issue or feasibility key of the questions: {', '.join(sorted(keys))}")
    errs.raise_if_any()
    ledger = _ledger_questions(db) if Path(db).is_file() else None
    status = {} if ledger is None else dict(zip(ledger["question_id"], ledger["status"]))
    for q in qs:
        if q.id in status and get_question(db, q.id) != _normalised(q):
            errs.add(None, "question", q.id, "the same question as the one already in the "
                     "ledger (questions are never rewritten)")
        if status.get(q.id, "open") != "open" and any(q.maps_to in v for v in forecasts.values()):
            errs.add(None, "question", q.id,
                     f"an open question (this one is {status[q.id]}; it takes no forecasts)")
    errs.raise_if_any()
    for q in qs:
        if q.id not in status:
            add_question(db, q, created=created)
    rows = []
    for model, per_key in forecasts.items():
        m = dict((meta or {}).get(model, {}))
        for q in qs:
            if q.maps_to not in per_key:
                continue
            samples = np.asarray(per_key[q.maps_to], dtype=float).ravel()
            row = add_forecast(db, q.id, model=model, samples=samples, preset=m.get("preset"),
                               params=m.get("params"), seed=m.get("seed", seed),
                               scenario_sha256=scenario_sha256, note=f"maps_to={q.maps_to}",
                               created=created)
            rows.append({"question_id": q.id, "model": model, "forecast": row,
                         "maps_to": q.maps_to, "n_samples": samples.size})
    return pd.DataFrame(rows, columns=["question_id", "model", "forecast", "maps_to",
                                       "n_samples"])


def _normalised(q: Question) -> Question:
    """The question as it reads back from the ledger (floats, tuples)."""
    return Question(id=q.id, text=q.text, criteria=q.criteria, deadline=q.deadline, kind=q.kind,
                    low=float(q.low), high=float(q.high),
                    anchors={float(k): v for k, v in dict(q.anchors).items()},
                    categories=tuple(q.categories), cuts=tuple(float(c) for c in q.cuts),
                    maps_to=q.maps_to, condition=q.condition)


def samples_from_forecast(forecast: Any, view: str | None = None
                          ) -> dict[str, dict[str, np.ndarray]]:
    """``{model: {issue: samples}}`` from an ensemble forecast, for :func:`seed_ledger`.

    ``forecast`` is what :func:`accord.analysis.ensemble.forecast` returns (its ``samples``
    map a model to ``[view, draw, issue]`` final forecasts). ``view``: which view's draws to
    record; by default the last (the most recent dated view, or the base scenario).
    """
    views = list(forecast.views)
    chosen = views[-1] if view is None else view
    if chosen not in views:
        raise Collector("forecast").fail(None, "view", view, f"one of {', '.join(views)}")
    k = views.index(chosen)
    issues = list(forecast.scenario.issue_ids)
    return {model: {iss: np.asarray(arr[k, :, j], dtype=float) for j, iss in enumerate(issues)}
            for model, arr in forecast.samples.items()}

