"""The `accord` command line: parsing and printing only; every number comes from the library."""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import ScenarioError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Forecast how multi-party negotiations end.")
def _console(stderr: bool = False) -> Console:
    probe = Console(stderr=stderr)
    # a terminal gets its own width; pipes and files a wide page instead of 80 columns
    return Console(stderr=stderr, highlight=False, soft_wrap=False,
                   width=None if probe.is_terminal else 160)


out = _console()
err = _console(stderr=True)

FORMAT_HELP = "Input format (sniffed when omitted): yaml, csv, bdm-csv, decide, ktab-csv, ktab-xml."


class UsageProblem(Exception):
    """A bad argument, reported like a ScenarioError but not tied to a file."""


def handled(fn: Callable) -> Callable:
    """Bad input ends with located messages on stderr and exit code 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ScenarioError as exc:
            for p in exc.problems:
                err.print(f"[red]error[/red] {_esc(str(p))}")
            if exc.truncated:
                err.print(f"... and {exc.truncated} more problems")
            n = len(exc.problems) + exc.truncated
            err.print(f"{n} problem{'s' if n != 1 else ''} found")
            raise typer.Exit(2)
        except (UsageProblem, KeyError, ValueError) as exc:
            msg = exc.args[0] if exc.args else str(exc)
            err.print(f"[red]error[/red] {_esc(str(msg))}")
            raise typer.Exit(2)
        except typer.Exit:
            raise
        except BrokenPipeError:  # `accord … | head`: the reader left; stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(1)
        except Exception as exc:  # a bug of ours: say so plainly, full trace on request
            if os.environ.get("ACCORD_DEBUG"):
                raise
            err.print(f"[red]internal error[/red] {type(exc).__name__}: {_esc(str(exc))} "
                      "(set ACCORD_DEBUG=1 for the traceback; please report it)")
            raise typer.Exit(1)

    return wrapper


def _esc(text: str) -> str:
    return text.replace("[", "\\[")


def _load(scenario: str, fmt: Optional[str] = None, lenient: bool = False, view: Optional[str] = None):
    from .scenario import load

    sc = load(scenario, format=fmt, lenient=lenient)
    for note in sc.notes:
        err.print(f"note: {sc.path}: {_esc(note)}")
    if view:
        sc = sc.view(view)
    return sc


def _params(items: list[str]) -> dict[str, str]:
    params = {}
    for item in items:
        if "=" not in item:
            raise UsageProblem(f"--param {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        params[key.strip()] = value.strip()
    return params


def _fmt(x: float | None, digits: int = 2) -> str:
    if x is None or x != x:
        return "—"
    return f"{x:.{digits}f}"


@app.callback(invoke_without_command=True)
def _main(version: bool = typer.Option(False, "--version", help="Print the version.")) -> None:
    if version:
        out.print(f"accord {__version__}")
        raise typer.Exit()


@app.command("models")
@handled
def models_cmd(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List models, their presets and parameters."""
    from . import models
    from .results import dumps

    specs = models.available()
    if json_out:
        print(dumps([{"name": s.name, "title": s.title, "citation": s.citation,
                      "dynamic": s.dynamic, "presets": {k: dict(v) for k, v in s.presets.items()},
                      "default_preset": s.default_preset,
                      "params": [{"name": p.name, "default": p.default, "doc": p.doc,
                                  "choices": p.choices} for p in s.params]}
                     for s in specs.values()]))
        return
    for s in specs.values():
        out.print(f"[bold]{s.name}[/bold] — {s.title}  [dim]({'dynamic' if s.dynamic else 'one-shot'})[/dim]")
        out.print(f"  {s.citation}")
        out.print(f"  presets: {', '.join(s.presets)} (default {s.default_preset})")
        for p in s.params:
            choices = f" [{'|'.join(map(str, p.choices))}]" if p.choices else ""
            out.print(f"  --param {p.name}={p.default}{choices}: {_esc(p.doc)}")


@app.command("run")
@handled
def run_cmd(model: str = typer.Argument(..., help="Model name (see `accord models`)."),
            scenario: str = typer.Argument(..., help="Scenario file or folder, or a bundled name."),
            preset: Optional[str] = typer.Option(None, "--preset", help="Named preset."),
            rounds: Optional[int] = typer.Option(None, "--rounds", min=0, help="Maximum rounds."),
            seed: int = typer.Option(0, "--seed", help="Seed of the model's random choices, if it makes any (recorded in the output)."),
            param: list[str] = typer.Option([], "--param", help="Model parameter KEY=VALUE (repeatable)."),
            view: Optional[str] = typer.Option(None, "--view", help="Run one view of the scenario."),
            fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
            lenient: bool = typer.Option(False, "--lenient", help="Reproduce a peer reader's tolerance of bad rows (reported on stderr)."),
            json_out: bool = typer.Option(False, "--json", help="Print the JSON trajectory (the public contract).")) -> None:
    """Run one model on a scenario and show its trajectory."""
    from . import models
    from .results import dumps, run_document

    sc = _load(scenario, fmt, lenient, view)
    spec = models.get(model)
    inputs = sc.inputs()
    params = _params(param)
    if model == "smp" and sc.format == "ktab-xml" and sc.path:
        from .scenario.io.ktab_xml import model_parameters

        params = {**model_parameters(sc.path), **params}  # the file's settings as defaults
    outcome, values = models.run(model, inputs, preset=preset, rounds=rounds, seed=seed,
                                 params=params)
    doc = run_document(outcome, inputs, model=model, preset=preset or spec.default_preset,
                       params=values, seed=seed, scenario_sha256=sc.sha256, version=__version__,
                       view=view)
    if json_out:
        print(dumps(doc))
        return
    table = Table(title=f"{spec.title} on {sc.title}", show_lines=False)
    table.add_column("round", justify="right")
    for issue in sc.issues:
        table.add_column(issue.id, justify="right")
    for r in doc["rounds"]:
        table.add_row(str(r["round"]), *[_fmt(r["forecast"][i.id]) for i in sc.issues])
    out.print(table)
    out.print(f"stop: {doc['stop_reason']} · preset {doc['preset']} · seed {seed}")
    if doc["stop_reason"] == "cycle" and "forecast_interval" in doc:
        out.print(f"cycle: forecast range {doc['forecast_interval']}")


@app.command("check")
@handled
def check_cmd(scenario: str = typer.Argument(..., help="Scenario file or folder, or a bundled name."),
              fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
              lenient: bool = typer.Option(False, "--lenient", help="Accept what a peer's reader accepts.")) -> None:
    """Validate a scenario; report every problem with its file and line."""
    sc = _load(scenario, fmt, lenient)
    n_st = len(sc.stances)
    out.print(f"[green]ok[/green] {sc.path}: {sc.format}, {len(sc.actors)} actors, "
              f"{len(sc.issues)} issues, {n_st} stances, {len(sc.views)} views")


@app.command("import")
@handled
def import_cmd(file: str = typer.Argument(..., help="A scenario in any format accord reads."),
               output: Path = typer.Option(..., "-o", "--output", help="The accord YAML file to write."),
               fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
               lenient: bool = typer.Option(False, "--lenient"),
               force: bool = typer.Option(False, "--force", help="Replace OUTPUT if it exists.")) -> None:
    """Convert any scenario file to accord YAML."""
    from .scenario import io

    sc = _load(file, fmt, lenient)
    io.write(sc, output, format="yaml", force=force)
    out.print(f"wrote {output}")


@app.command("export")
@handled
def export_cmd(scenario: str = typer.Argument(..., help="Scenario file or folder, or a bundled name."),
               output: Path = typer.Option(..., "-o", "--output", help="The file to write (.csv or .yaml)."),
               fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
               to: Optional[str] = typer.Option(None, "--to", help="Output format (from the suffix when omitted)."),
               force: bool = typer.Option(False, "--force", help="Replace OUTPUT if it exists.")) -> None:
    """Write a scenario as accord CSV (or another writable format)."""
    from .scenario import io

    sc = _load(scenario, fmt)
    io.write(sc, output, format=to, force=force)
    out.print(f"wrote {output}")


@app.command("forecast")
@handled
def forecast_cmd(scenario: str = typer.Argument(..., help="Scenario file or folder, or a bundled name."),
                 models_opt: Optional[str] = typer.Option(None, "--models", help="Comma-separated models, 'baselines', or all (default)."),
                 draws: int = typer.Option(10_000, "--draws", min=1, help="Monte-Carlo draws per view."),
                 dynamic_draws: int = typer.Option(200, "--dynamic-draws", min=1, help="Draws per view for dynamic models."),
                 seed: int = typer.Option(0, "--seed", help="Seed of the Monte-Carlo draws."),
                 fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
                 top: int = typer.Option(12, "--top", help="Rows of the disagreement map to print."),
                 json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Forecast every issue: each model, each view (median and 80% interval), the ensemble."""
    from . import models
    from .analysis.ensemble import ENSEMBLE, forecast
    from .results import dumps

    sc = _load(scenario, fmt)
    names = _model_list(models_opt) or list(models.available())
    started = time.perf_counter()
    with _progress(len(names), "forecast") as step:
        result = forecast(sc, names, draws=draws, seed=seed, dynamic_draws=dynamic_draws,
                          progress=step)
    elapsed = time.perf_counter() - started
    if json_out:
        print(dumps(result.to_json()))
        return
    _print_forecast(result, top, elapsed)


def _model_list(spec: Optional[str]) -> Optional[list[str]]:
    from . import models

    if spec is None or spec == "all":
        return None
    if spec == "baselines":
        return [n for n, s in models.available().items() if not s.dynamic]
    names = [x.strip() for x in spec.split(",") if x.strip()]
    for n in names:
        models.get(n)
    return names


class _progress:
    """A rich progress bar that shows itself only when the work takes more than a second."""

    def __init__(self, total: int, label: str):
        self.total, self.label, self.bar, self.task, self.t0 = total, label, None, None, 0.0

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self.step

    def step(self, what: str) -> None:
        if self.bar is None and time.perf_counter() - self.t0 > 1.0 and err.is_terminal:
            from rich.progress import Progress

            self.bar = Progress(console=err, transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=self.total)
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=f"{self.label}: {what}")

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()


def _print_forecast(result, top: int, elapsed: float) -> None:
    from .analysis.ensemble import BASE, ENSEMBLE

    sc = result.scenario
    s = result.summary
    cols = list(result.views) + ([ENSEMBLE] if len(result.views) > 1 else [])
    out.print(f"[bold]{sc.title}[/bold]  ({sc.id}; {result.draws} draws per view, seed {result.seed})")
    for issue in sc.issues:
        table = Table(title=f"{issue.id}: {issue.question}", title_justify="left")
        table.add_column("model")
        for c in cols:
            table.add_column(c, justify="right")
        table.add_column("nearest anchor" + (" (ensemble)" if len(cols) > 1 else ""), no_wrap=True)
        for m in result.models:
            rows = s[(s.issue == issue.id) & (s.model == m)].set_index("view")
            cells = []
            for c in cols:
                if c not in rows.index:
                    cells.append("—")
                    continue
                r = rows.loc[c]
                if r["p10"] == r["p90"] or r["p10"] != r["p10"]:
                    cells.append(_fmt(r["median"], 1))
                else:
                    cells.append(f"{_fmt(r['median'], 1)} [{_fmt(r['p10'], 0)}–{_fmt(r['p90'], 0)}]")
            last = cols[-1]
            anchor = rows.loc[last]["anchor"] if last in rows.index else None
            anchor = anchor if isinstance(anchor, str) else "—"
            table.add_row(m, *cells, _esc(anchor if len(anchor) <= 48 else anchor[:47] + "…"))
        out.print(table)
    if len(result.disagreement):
        d = result.disagreement.head(top)
        table = Table(title="Where the analyses disagree (one coded cell at a time against the base)",
                      title_justify="left")
        for c in ("view", "actor", "issue", "field", "base", "coded", "model", "shift"):
            table.add_column(c, justify="right" if c in ("base", "coded", "shift") else "left")
        for r in d.itertuples():
            table.add_row(r.view, r.actor, r.issue, r.field, _fmt(r.base), _fmt(r.coded),
                          r.model, f"{r.forecast_shift:+.2f}")
        out.print(table)
    if len(result.timeline):
        t = result.timeline
        model = "compromise" if "compromise" in result.models else result.models[0]
        t = t[t.model == model]
        table = Table(title=f"Forecast by view date, 2022 → 2026 ({model}, median)",
                      title_justify="left")
        table.add_column("issue", no_wrap=True)
        order = t.drop_duplicates("view")[["view", "date"]].itertuples(index=False)
        columns = []
        for view, date in order:
            table.add_column(f"{date}\n{view}", justify="right")
            columns.append(view)
        values = t.set_index(["issue", "view"])["median"]
        for issue in sc.issues:
            table.add_row(issue.id, *[_fmt(values.get((issue.id, v)), 0) for v in columns])
        out.print(table)
    for note in result.notes:
        out.print(f"[dim]note: {note}[/dim]")
    for m, why in result.skipped.items():
        out.print(f"[yellow]skipped {m}[/yellow]: {_esc(why)}")
    out.print(f"[dim]{elapsed:.2f} s[/dim]")


evidence_app = typer.Typer(no_args_is_help=True, help="Source documents: index, check quotes, search.")
app.add_typer(evidence_app, name="evidence")
DB_HELP = "The evidence store (SQLite). Default: $ACCORD_EVIDENCE_DB or .accord/evidence.db."


def _db(db: Optional[Path]) -> Path:
    return db or Path(os.environ.get("ACCORD_EVIDENCE_DB", ".accord/evidence.db"))


@evidence_app.command("index")
@handled
def evidence_index_cmd(directory: Path = typer.Argument(..., help="Folder of source documents (.txt, .md, .html)."),
                       db: Optional[Path] = typer.Option(None, "--db", help=DB_HELP),
                       rebuild: bool = typer.Option(False, "--rebuild", help="Drop and rebuild the whole store.")) -> None:
    """Build (or update) the local document store of a folder of sources."""
    from .evidence import index

    report = index(directory, _db(db), rebuild=rebuild)
    table = Table("id", "file", "format", "lines", "passages")
    for doc_id, file, fmt, n_lines, n_pass in report.documents:
        table.add_row(doc_id, _esc(file), fmt, str(n_lines), str(n_pass))
    out.print(table)
    out.print(f"{_db(db)}: {len(report.added)} added, {len(report.updated)} updated, "
              f"{len(report.removed)} removed, {len(report.unchanged)} unchanged")


@evidence_app.command("check")
@handled
def evidence_check_cmd(scenario: str = typer.Argument(..., help="Scenario file or folder, or a bundled name."),
                       corpus: Optional[Path] = typer.Option(None, "--corpus", help="Folder of the sources' files (default: the scenario's corpus:)."),
                       fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
                       verbose: bool = typer.Option(False, "-v", "--verbose", help="List every verified quote with its document line."),
                       json_out: bool = typer.Option(False, "--json", help="Verified quotes as JSON.")) -> None:
    """Check that every quote occurs in the source it cites, and how each is coded
    (quotes cut mid-sentence, off-topic quotes, views older than their base, judgement
    notes without a reason, numbers coded from another text; see accord.evidence.coding)."""
    from .evidence import check

    sc = _load(scenario, fmt)
    report = check(sc, corpus_dir=corpus)
    if json_out:
        print(report.verified.to_json(orient="records"))
    elif verbose:
        table = Table("field", "source", "document", "line", "quote")
        for r in report.verified.itertuples():
            table.add_row(_esc(r.field), r.source, _esc(r.document), str(r.line), _esc(r.quote[:60]))
        out.print(table)
    if not json_out:
        for w in report.warnings:
            _console(stderr=True).print(f"[yellow]warning[/yellow] {_esc(str(w))}")
    report.raise_if_failed()
    if not json_out:
        out.print(f"[green]ok[/green] {sc.path}: {report.summary()}")


@evidence_app.command("search")
@handled
def evidence_search_cmd(query: str = typer.Argument(..., help="Words to look for (ranked by BM25)."),
                        source: Optional[str] = typer.Option(None, "--source", help="A document id or file; or a source id with --scenario."),
                        scenario: Optional[str] = typer.Option(None, "--scenario", help="Resolve --source as this scenario's source id."),
                        limit: int = typer.Option(10, "--limit", min=1),
                        db: Optional[Path] = typer.Option(None, "--db", help=DB_HELP),
                        json_out: bool = typer.Option(False, "--json")) -> None:
    """Rank passages of the indexed sources for some words (to code a new view)."""
    from .evidence import search

    lines = None
    if scenario is not None and source is not None:
        sc = _load(scenario)
        if source not in sc.sources or not sc.sources[source].file:
            raise UsageProblem(f"--source {source!r}: not a source with a file in {sc.path} "
                               f"(sources: {', '.join(sc.sources) or 'none'})")
        source, lines = sc.sources[source].file, sc.sources[source].lines
    hits = search(_db(db), query, source=source, limit=limit, lines=lines)
    if json_out:
        import json

        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False))
        return
    table = Table("score", "file", "lines", "passage")
    for h in hits:
        table.add_row(f"{h.score:.2f}", _esc(h.file), f"{h.line_start}-{h.line_end}", _esc(h.snippet))
    out.print(table)


def _register() -> None:
    from .commands import register_all

    register_all(app)


_register()


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
