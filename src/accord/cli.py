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

from .defaults import DRAWS, DYNAMIC_DRAWS, LEVER_DRAWS, SEED
from .errors import ScenarioError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Forecast how multi-party negotiations end.")
def _console(stderr: bool = False) -> Console:
    """A terminal (or $COLUMNS) gives the width; pipes and files get 100 columns, not 160,
    so that `accord … | less` reads like the terminal."""
    probe = Console(stderr=stderr)
    fixed = probe.is_terminal or os.environ.get("COLUMNS", "").isdigit()
    return Console(stderr=stderr, highlight=False, soft_wrap=False,
                   width=None if fixed else PIPE_WIDTH)


PIPE_WIDTH = 100
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
            for p in exc.problems:  # one line each, unbroken, so that grep and editors find them
                err.print(f"[red]error[/red] {_esc(str(p))}", soft_wrap=True)
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
    _say_read(scenario, sc)
    for note in sc.notes:
        err.print(f"note: {sc.path}: {_esc(note)}")
    if view:
        sc = sc.view(view)
    return sc


def _say_read(ref: str, sc) -> None:
    """Provenance on stderr: which files were read, and whether the packaged copy was used."""
    from .scenario.load import is_packaged, source_files

    files = source_files(sc)
    if not files:
        return
    root = Path(sc.path)
    base = root if root.is_dir() else root.parent
    where = _shown(base)
    if is_packaged(sc.path):
        where = (f"the packaged copy ({where}; `accord scenarios copy {root.name} scenarios` "
                 "gives an editable one)")
    elif not Path(ref).exists():
        where = f"{where} (the local copy, not the packaged one)"
    names = ", ".join(f.relative_to(base).as_posix() if f.is_relative_to(base) else str(f)
                      for f in files)
    err.print(f"read {_esc(where)}: {_esc(names)}", soft_wrap=True, highlight=False)


def _shown(p: Path) -> str:
    """A path relative to the working directory when it lies inside it."""
    try:
        return Path(os.path.relpath(p.resolve(), Path.cwd().resolve())).as_posix() \
            if p.resolve().is_relative_to(Path.cwd().resolve()) else str(p)
    except (OSError, ValueError):
        return str(p)


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
        from . import __version__

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
    import numpy as np

    from . import __version__, models
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
    _para(f"{spec.title} on {sc.title}")
    table = Table(show_lines=False)
    table.add_column("round", justify="right")
    for issue in sc.issues:
        unit = (issue.extra or {}).get("unit")
        table.add_column(f"{issue.id} ({unit})" if unit else issue.id, justify="right",
                         overflow="fold")
    for r in doc["rounds"]:
        table.add_row(str(r["round"]), *[_fmt(r["forecast"][i.id]) for i in sc.issues])
    out.print(table)
    from .analysis.summary import explain_stop

    _para(f"stop: {doc['stop_reason']} ({explain_stop(doc['stop_reason'])}) · preset "
          f"{doc['preset']} · seed {seed}")
    path = outcome.forecast[0]
    if path.shape[0] > 2 and doc["stop_reason"] in ("max_rounds", "cycle"):
        tail = path[path.shape[0] // 2:]
        for j, issue in enumerate(sc.issues):
            lo, hi = float(tail[:, j].min()), float(tail[:, j].max())
            steps = np.diff(tail[:, j])
            if hi - lo > 0.01 * (issue.high - issue.low) and (steps > 0).any() and (steps < 0).any():
                _para(f"{issue.id}: the forecast cycles between {lo:.2f} and {hi:.2f} over the last "
                      f"half of the rounds; the number above is the last round's, so read the "
                      f"range rather than the point")
    if "forecast_interval" in doc and doc["stop_reason"] == "cycle":
        _para(f"cycle: forecast range {doc['forecast_interval']}")


@app.command("check")
@handled
def check_cmd(scenario: str = typer.Argument(..., help="Scenario file or folder, or a bundled name."),
              fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
              lenient: bool = typer.Option(False, "--lenient", help="Accept what a peer's reader accepts.")) -> None:
    """Validate a scenario; report every problem with its file and line."""
    sc = _load(scenario, fmt, lenient)
    n_st = len(sc.stances)
    out.print(f"[green]ok[/green] {sc.path}: {sc.format}, {len(sc.actors)} actors, "
              f"{len(sc.issues)} issues, {n_st} stances, {len(sc.views)} views", soft_wrap=True)


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
                 draws: int = typer.Option(DRAWS, "--draws", min=1, help="Monte-Carlo draws per view (the same default on every surface)."),
                 dynamic_draws: int = typer.Option(DYNAMIC_DRAWS, "--dynamic-draws", min=1, help="Draws per view for dynamic models."),
                 lever_draws: int = typer.Option(LEVER_DRAWS, "--lever-draws", min=1, help="Draws per view for the what-if levers (paired; at most --draws)."),
                 seed: int = typer.Option(SEED, "--seed", help="Seed of the Monte-Carlo draws."),
                 fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
                 full: bool = typer.Option(False, "--full", help="Also print every model × view table, the disagreement map and the timeline."),
                 top: int = typer.Option(12, "--top", help="Rows of the disagreement map to print (with --full)."),
                 json_out: bool = typer.Option(False, "--json", help="Machine-readable output (the forecast and its summary).")) -> None:
    """The conclusion first (settlement, chance of a deal, who blocks, what moves it), then the tables.

    Every model runs on every view (the dated analyses), each with DRAWS Monte-Carlo draws;
    feasibility uses the same views, draws and seed, the levers LEVER_DRAWS paired draws.
    """
    from ._threads import quiet_collector
    from .analysis.summary import analyse
    from .results import dumps

    with quiet_collector():  # a job's objects form few cycles (see _threads)
        names = _prewarm(models_opt)
        sc = _load(scenario, fmt)
        started = time.perf_counter()
        with _progress(len(names) + 3, "forecast") as step:
            res = analyse(sc, draws=draws, seed=seed, models=names,
                          dynamic_draws=dynamic_draws, lever_draws=lever_draws, progress=step)
        elapsed = time.perf_counter() - started
        if json_out:
            print(dumps({**res.forecast.to_json(), "summary": res.summary.to_json()}))
            return
        _print_summary(res.summary, sc)
        if full:
            _print_forecast(res.forecast, top)
        else:
            out.print("[dim]--full: every model on every view, the disagreement map and the "
                      "timeline[/dim]")
        out.print(f"[dim]{elapsed:.1f} s[/dim]")


def _prewarm(models_opt: Optional[str]) -> list[str]:
    """The models asked for; on a first run their slowest compiles start now, in other
    processes, before the scenario is read (``models/_warm``; the forecast joins them)."""
    from . import models
    from .models import _warm

    names = _model_list(models_opt) or list(models.available())
    _warm.start(names + ["feasibility"])
    return names


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _bullet(text: str, first: str = " • ", rest: str = "   ") -> None:
    """A sentence as a bullet with a hanging indent, wrapped to the console (no padding)."""
    import textwrap

    for line in textwrap.wrap(text, width=max(20, out.width - 1), initial_indent=first,
                              subsequent_indent=rest, break_on_hyphens=False):
        out.print(_esc(line))


def _para(text: str) -> None:
    _bullet(text, "", "")


def _print_summary(s, sc) -> None:
    """Render a Summary: the conclusion in sentences, one compact table, the explanations."""
    from .analysis.summary import INTERVAL, number

    out.print(f"[bold]{_esc(s.title)}[/bold] ({s.scenario})")
    levers = f", {s.lever_draws:,} for the levers" if s.lever_draws else ""
    _para(f"{_plural(s.draws, 'draw')} per view ({s.dynamic_draws:,} for dynamic models{levers}) · "
          f"seed {s.seed} · {_plural(len(s.views), 'analysis', 'analyses')} pooled · "
          f"{_plural(len(s.models), 'model')}")
    if s.precision:
        _para(s.precision)
    out.print("[bold]Conclusion[/bold]")
    for line in s.headline:
        _bullet(line)
    _para(f"Most likely settlement [{INTERVAL}], models pooled: {', '.join(s.pooled_models)}")
    table = Table(show_lines=False, pad_edge=False)
    table.add_column("issue", no_wrap=True)
    table.add_column("median [80%]", justify="right", no_wrap=True)
    table.add_column("unit", overflow="fold")
    table.add_column("models", justify="right", no_wrap=True)
    table.add_column("nearest labelled point", overflow="fold", ratio=1)
    for x in s.issues:
        issue = sc.issue(x.issue)
        meds = [v for v in x.model_medians.values() if v == v]
        spread = f"{number(min(meds), issue)}–{number(max(meds), issue)}" if meds else "—"
        unit = (issue.extra or {}).get("unit") or f"{issue.low:g}–{issue.high:g}"
        near = f"{x.anchor_point:g}: {x.anchor}" if x.anchor else "—"
        table.add_row(x.issue, f"{number(x.median, issue)} [{number(x.p10, issue)}–"
                               f"{number(x.p90, issue)}]", unit, spread, _esc(near))
    out.print(table)
    out.print("[dim]models: the range of the models' own medians; unit: the issue's unit or "
              "its scale[/dim]")
    notes = [t for n in s.explanations for t in n.sentences]
    if notes:
        out.print("[bold]Why the models stop where they do[/bold]")
        for t in notes:
            _bullet(t)
    for n in s.notes:
        _bullet(f"note: {n}", "", "  ")


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


class _working:
    """A spinner on stderr (terminals only) for work that reports no steps of its own."""

    def __init__(self, label: str):
        self.label, self.status = label, None

    def __enter__(self):
        if err.is_terminal:
            self.status = err.status(f"{self.label} …")
            self.status.start()
        return self

    def __exit__(self, *exc):
        if self.status is not None:
            self.status.stop()


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


def _print_forecast(result, top: int) -> None:
    """Every model on every view: the full tables behind the summary (`forecast --full`)."""
    from .analysis.ensemble import ENSEMBLE

    sc = result.scenario
    s = result.summary
    cols = list(result.views) + ([ENSEMBLE] if len(result.views) > 1 else [])
    out.print(f"[bold]Every model on every view[/bold] (median [{'80% interval'}]; "
              f"{result.draws:,} draws per view, seed {result.seed})")
    for issue in sc.issues:
        unit = (issue.extra or {}).get("unit") or f"scale {issue.low:g}–{issue.high:g}"
        table = Table(title=f"{issue.id} ({_esc(unit)}): {_esc(issue.question)}",
                      title_justify="left", pad_edge=False)
        table.add_column("model", no_wrap=True)
        for c in cols:
            head, sep, tail = c.rpartition("-")
            table.add_column(f"{head}\n{tail}" if sep and head else c, justify="right",
                             no_wrap=False, overflow="fold", min_width=7)
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
                    cells.append(f"{_fmt(r['median'], 1)}\n[{_fmt(r['p10'], 0)}–{_fmt(r['p90'], 0)}]")
            table.add_row(m, *cells)
        out.print(table)
    if len(result.disagreement):
        d = result.disagreement.head(top)
        table = Table(title="Where the analyses disagree (one coded cell at a time against the base)",
                      title_justify="left", pad_edge=False)
        for c in ("view", "actor", "issue", "field", "base", "coded", "model", "shift"):
            table.add_column(c, justify="right" if c in ("base", "coded", "shift") else "left",
                             overflow="fold")
        for r in d.itertuples():
            table.add_row(r.view, r.actor, r.issue, r.field, _fmt(r.base), _fmt(r.coded),
                          r.model, f"{r.forecast_shift:+.2f}")
        out.print(table)
        out.print("[dim]shift: how far that one cell moves the model's point forecast, in the "
                  "issue's units[/dim]")
    if len(result.timeline):
        t = result.timeline
        model = "compromise" if "compromise" in result.models else result.models[0]
        t = t[t.model == model]
        table = Table(title=f"Forecast by view date ({model}, median)", title_justify="left",
                      pad_edge=False)
        table.add_column("issue", no_wrap=True)
        order = t.drop_duplicates("view")[["view", "date"]].itertuples(index=False)
        columns = []
        for view, date in order:
            table.add_column(f"{date}\n{view}", justify="right", overflow="fold")
            columns.append(view)
        values = t.set_index(["issue", "view"])["median"]
        for issue in sc.issues:
            table.add_row(issue.id, *[_fmt(values.get((issue.id, v)), 0) for v in columns])
        out.print(table)
    for note in result.notes:
        out.print(f"[dim]note: {note}[/dim]")
    for m, why in result.skipped.items():
        out.print(f"[yellow]skipped {m}[/yellow]: {_esc(why)}")


scenarios_app = typer.Typer(no_args_is_help=True, help="The bundled scenarios: list them, copy one to edit.")
app.add_typer(scenarios_app, name="scenarios")


@scenarios_app.command("list")
@handled
def scenarios_list_cmd() -> None:
    """List the bundled scenarios (and whether ./scenarios holds a local copy)."""
    from .scenario import bundled_names
    from .scenario.load import LOCAL

    for name in bundled_names():
        local = Path.cwd() / LOCAL / name
        out.print(f"{name}" + (f"  (local copy: {LOCAL}/{name}, used instead)" if local.is_dir() else ""))


@scenarios_app.command("copy")
@handled
def scenarios_copy_cmd(name: str = typer.Argument(..., help="A bundled scenario (see `accord scenarios list`)."),
                       directory: Path = typer.Argument(Path("scenarios"), help="Where to put the copy: DIR/NAME when DIR is a folder (default ./scenarios)."),
                       ) -> None:
    """Copy a bundled scenario to edit it; `accord … NAME` then reads ./scenarios/NAME."""
    import shutil

    from .scenario import bundled, bundled_names

    if name not in bundled_names():
        raise UsageProblem(f"{name!r}: not a bundled scenario ({', '.join(bundled_names())})")
    target = directory / name if directory.is_dir() or directory.name == "scenarios" else directory
    if target.exists():
        raise UsageProblem(f"{target} exists; nothing was copied (your files are left as they are)")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(bundled(name), target, symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__", ".*"))
    n = sum(1 for f in target.rglob("*") if f.is_file())
    out.print(f"copied {name} to {target} ({_plural(n, 'file')})")
    from .scenario import load as _read

    corpus = _read(bundled(name)).corpus
    if corpus and Path(corpus).is_dir() and _read(target).corpus != corpus:
        out.print(f"its sources' texts stay at {corpus}: check quotes with "
                  f"`accord evidence check {target} --corpus {corpus}`")
    if target.resolve() == (Path.cwd() / "scenarios" / name).resolve():
        out.print(f"`accord forecast {name}` now reads this copy (it says so on stderr)")
    else:
        out.print(f"edit it, then: accord forecast {target}")


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
        out.print(f"[green]ok[/green] {sc.path}: {report.summary()}", soft_wrap=True)


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
    sc = None
    if scenario is not None and source is not None:
        sc = _load(scenario)
        if source not in sc.sources or not sc.sources[source].file:
            raise UsageProblem(f"--source {source!r}: not a source with a file in {sc.path} "
                               f"(sources: {', '.join(sc.sources) or 'none'})")
        source, lines = sc.sources[source].file, sc.sources[source].lines
    authors: dict[str, str] = {}
    # cite authors, not the corpus's hashed file names: from --scenario, else from the
    # bundled scenarios whose sources name these files
    from .scenario import bundled_names, load as _read

    pool = [sc if sc is not None else _load(scenario)] if scenario is not None else []
    if not pool:
        for name in bundled_names():
            try:
                pool.append(_read(name))
            except ScenarioError:
                continue
    for known in pool:
        for s in known.sources.values():
            if s.file:
                authors.setdefault(s.file, (s.author or s.id)
                                   + (f" ({s.date.year})" if s.date else ""))
    hits = search(_db(db), query, source=source, limit=limit, lines=lines)
    if json_out:
        import json

        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False))
        return
    named = any(h.file in authors for h in hits)
    table = Table("score", "source" if named else "file", "lines", "passage")
    for h in hits:
        table.add_row(f"{h.score:.2f}", _esc(authors.get(h.file, h.file)),
                      f"{h.line_start}-{h.line_end}", _esc(h.snippet))
    if hits and not named:
        out.print("[dim]--scenario NAME names the sources' authors instead of their files[/dim]")
    out.print(table)


def _register() -> None:
    from .commands import register_all

    register_all(app)


_register()


def main() -> None:
    from ._threads import limit_arenas

    limit_arenas()
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
