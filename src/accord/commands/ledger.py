"""`accord ledger …` and `accord backtest`: the forecast record and scoring against outcomes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from ..cli import _esc, _load, err, handled, out

LEDGER_HELP = "The ledger (SQLite). Default: $ACCORD_LEDGER or .accord/ledger.db."


def _ledger_db(db: Optional[Path]) -> Path:
    return db or Path(os.environ.get("ACCORD_LEDGER", ".accord/ledger.db"))


def _cell(x) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return ""
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def register(app: typer.Typer) -> None:
    ledger_app = typer.Typer(no_args_is_help=True,
                             help="Forecast ledger: add, seed, list, resolve, score, verify.")
    app.add_typer(ledger_app, name="ledger")

    @ledger_app.command("add")
    @handled
    def ledger_add_cmd(question: Optional[str] = typer.Argument(None, help="Question id to forecast."),
                       questions_file: Optional[Path] = typer.Option(None, "--questions", help="YAML/JSON list of questions to add."),
                       flagship: bool = typer.Option(False, "--flagship", help="Add the flagship's questions."),
                       model: Optional[str] = typer.Option(None, "--model"),
                       samples: Optional[Path] = typer.Option(None, "--samples", help="Text file: one sample per line."),
                       quantile: List[str] = typer.Option([], "--quantile", help="LEVEL=VALUE, repeatable."),
                       probability: List[float] = typer.Option([], "--probability", help="P(yes), or one per category."),
                       preset: Optional[str] = typer.Option(None, "--preset"),
                       seed: Optional[int] = typer.Option(None, "--seed"),
                       scenario_sha256: Optional[str] = typer.Option(None, "--scenario-sha256"),
                       db: Optional[Path] = typer.Option(None, "--db", help=LEDGER_HELP)) -> None:
        """Add questions (--questions FILE, --flagship) or one forecast on QUESTION."""
        from .. import ledger

        path = _ledger_db(db)
        path.parent.mkdir(parents=True, exist_ok=True)
        if questions_file or flagship:
            qs = ledger.seed_questions() if flagship else []
            if questions_file:
                from ruamel.yaml import YAML

                data = YAML(typ="safe").load(questions_file.read_text())
                qs += [ledger.question_from_mapping(d, questions_file) for d in (data or [])]
            for q in qs:
                ledger.add_question(path, q)
                out.print(f"question {q.id} added")
            return
        if question is None or model is None:
            raise typer.BadParameter("give QUESTION and --model (or --questions/--flagship)")
        values = [float(t) for t in samples.read_text().split()] if samples else None
        qs = {float(k): float(v) for k, v in (q.split("=", 1) for q in quantile)} or None
        probs = (probability[0] if len(probability) == 1 else probability) if probability else None
        row = ledger.add_forecast(path, question, model=model, samples=values, quantiles=qs,
                                  probabilities=probs, preset=preset, seed=seed,
                                  scenario_sha256=scenario_sha256)
        out.print(f"forecast {row} on {question} by {model} added")

    @ledger_app.command("seed")
    @handled
    def ledger_seed_cmd(scenario: str = typer.Argument("ukraine-2025", help="Scenario to forecast (default: the flagship)."),
                        draws: int = typer.Option(2000, "--draws", min=1),
                        outlook_draws: int = typer.Option(10_000, "--outlook-draws", min=1, help="Draws of the outlook (in all) for the headline questions."),
                        seed: int = typer.Option(0, "--seed"),
                        models: Optional[str] = typer.Option("baselines", "--models", help="Comma-separated models, 'baselines' or 'all'."),
                        db: Optional[Path] = typer.Option(None, "--db", help=LEDGER_HELP)) -> None:
        """Record the scenario's forecasts on every flagship question (added if missing): the
        models' settlements on the issue questions, the outlook's P(deal by the date) on the
        headline questions."""
        from .. import ledger
        from ..analysis.ensemble import forecast
        from ..analysis.outlook import outlook
        from ..cli import _model_list
        from ..ledger.seed import months_to

        path = _ledger_db(db)
        path.parent.mkdir(parents=True, exist_ok=True)
        sc = _load(scenario)
        qs = ledger.seed_questions()
        fc = forecast(sc, _model_list(models), draws=draws, seed=seed)
        horizon = max(12, max(months_to(f"{sc.as_of:%Y-%m}", q.deadline)
                              for q in qs if q.maps_to in ledger.HEADLINE_KEYS))
        ol = outlook(sc, horizon=horizon, draws=outlook_draws, seed=seed)
        probs = ledger.outlook_probabilities(ol, qs)
        forecasts = {**ledger.samples_from_forecast(fc),
                     "outlook": {k: [p] for k, p in probs.items()}}
        meta = {"outlook": {"params": {"horizon_months": horizon, "draws": ol.draws},
                            "seed": seed}}
        df = ledger.seed_ledger(path, forecasts, questions=qs, meta=meta,
                                scenario_sha256=sc.sha256, seed=seed)
        out.print(f"{len(df)} forecasts recorded in {path}; headline questions (outlook, "
                  f"ensemble from {ol.starts.get('ensemble', next(iter(ol.starts.values())))}): "
                  + ", ".join(f"{k} {100 * p:.1f}%" for k, p in probs.items()))

    @ledger_app.command("list")
    @handled
    def ledger_list_cmd(db: Optional[Path] = typer.Option(None, "--db", help=LEDGER_HELP),
                        json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
        """Questions with their status and number of forecasts."""
        from .. import ledger
        from ..analysis.ensemble import _records
        from ..results import dumps

        path = _ledger_db(db)
        if not path.is_file():  # nothing recorded yet: an empty ledger, not an error
            from ..cli import err

            err.print(f"no ledger at {path} yet: `accord ledger seed` or `accord ledger add "
                      "--flagship` creates it")
            if json_out:
                print(dumps({"ledger": str(path), "questions": []}))
            return
        df = ledger.questions(path)
        if json_out:
            print(dumps({"ledger": str(path), "questions": _records(df)}))
            return
        table = Table("question", "kind", "deadline", "maps to", "status", "outcome", "forecasts")
        for r in df.itertuples():
            table.add_row(r.question_id, r.kind, r.deadline, _esc(r.maps_to or ""), r.status,
                          _cell(r.outcome), str(r.n_forecasts))
        out.print(table)

    @ledger_app.command("resolve")
    @handled
    def ledger_resolve_cmd(question: str = typer.Argument(...),
                           outcome: Optional[str] = typer.Argument(None, help="Value, yes/no, or category."),
                           annul: bool = typer.Option(False, "--annul", help="The question's condition was not met."),
                           note: str = typer.Option("", "--note"),
                           db: Optional[Path] = typer.Option(None, "--db", help=LEDGER_HELP)) -> None:
        """Record a question's outcome, then score every forecast on it."""
        from .. import ledger

        value = outcome
        if outcome is not None:
            try:
                value = float(outcome)
            except ValueError:
                value = outcome
        ledger.resolve(_ledger_db(db), question, None if annul else value, annulled=annul, note=note)
        if not annul:
            ledger_score_cmd(question, db)

    @ledger_app.command("score")
    @handled
    def ledger_score_cmd(question: Optional[str] = typer.Argument(None, help="Default: every resolved question."),
                         db: Optional[Path] = typer.Option(None, "--db", help=LEDGER_HELP)) -> None:
        """Proper scores of every forecast, the baselines beside them (lower is better)."""
        from .. import ledger

        df = ledger.score(_ledger_db(db), question) if question else ledger.score_all(_ledger_db(db))
        cols = [c for c in ("question_id", "model", "baseline", "outcome", "crps", "abs_error_median",
                            "p_yes", "p_outcome", "brier", "rps", "log_score") if c in df.columns]
        table = Table(*cols)
        for r in df[cols].itertuples(index=False):
            table.add_row(*(_cell(v) for v in r))
        out.print(table)

    @ledger_app.command("verify")
    @handled
    def ledger_verify_cmd(db: Optional[Path] = typer.Option(None, "--db", help=LEDGER_HELP),
                          head: Optional[str] = typer.Option(None, "--head", help="A head hash recorded earlier.")) -> None:
        """Recompute the hash chain; exit 1 and name every edited or deleted row."""
        from .. import ledger

        report = ledger.verify(_ledger_db(db), expected_head=head)
        (out if report.ok else err).print(_esc(str(report)))
        if not report.ok:
            raise typer.Exit(1)

    @app.command("backtest")
    @handled
    def backtest_cmd(file: Path = typer.Argument(..., help="DEU-format CSV: p<actor>, s<actor>, rp, out per issue."),
                     model: List[str] = typer.Option([], "--model", "-m", help="Models (default: all)."),
                     n_boot: int = typer.Option(2000, "--n-boot"),
                     seed: int = typer.Option(0, "--seed"),
                     ignore: List[str] = typer.Option([], "--ignore", help="Columns to leave out."),
                     json_out: bool = typer.Option(False, "--json")) -> None:
        """MAE of every model (default parameters) on expert-coded outcomes, with bootstrap CIs."""
        from ..analysis.backtest import backtest
        from ..results import dumps

        df = backtest(file, models=model or None, n_boot=n_boot, seed=seed, ignore=ignore)
        if json_out:
            print(dumps({"file": str(file), "sha256": df.attrs["sha256"], "seed": seed,
                         "n_boot": n_boot, "issues": df.attrs["issues"],
                         "models": df.to_dict(orient="records"),
                         "failures": df.attrs["failures"]}))
            return
        table = Table("model", "issues", "failed", "MAE", "95% CI", "MAE − compromise", "95% CI")
        for r in df.itertuples():
            table.add_row(r.model, str(r.n), str(r.failed), f"{r.mae:.2f}",
                          f"[{r.mae_low:.2f}, {r.mae_high:.2f}]", f"{r.diff:+.2f}",
                          f"[{r.diff_low:+.2f}, {r.diff_high:+.2f}]")
        out.print(table)
        out.print(f"{df.attrs['issues']} issues, {df.attrs['actors']} actors; paired bootstrap, "
                  f"{n_boot} resamples, seed {seed}; default parameters, no tuning")
        for m, fails in df.attrs["failures"].items():
            err.print(f"[yellow]note[/yellow] {m}: no forecast on {len(fails)} issue(s), e.g. {_esc(fails[0][1])}")
        if df.attrs["ignored_columns"]:
            out.print(f"ignored columns: {', '.join(df.attrs['ignored_columns'])}")
