"""`accord view new` and `accord view compare`: add an analysis as a view; check a second coder."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

view_app = typer.Typer(no_args_is_help=True,
                       help="Code a new analysis as a view; compare two coders of one analysis.")


def _lines(text: Optional[str]):
    from ..cli import UsageProblem

    if text is None:
        return None
    try:
        a, b = (int(x) for x in text.split("-", 1))
    except ValueError:
        raise UsageProblem(f"--lines {text!r}: expected FIRST-LAST, e.g. 1-65") from None
    return a, b


def _date(text: Optional[str]):
    from ..cli import UsageProblem

    if text is None:
        return None
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise UsageProblem(f"--date {text!r}: expected YYYY-MM-DD") from None


def _scenario_of(view_file: Path) -> Path:
    """The scenario folder of a view file: the folder above its ``views/``."""
    from ..cli import UsageProblem

    parent = view_file.resolve().parent
    if parent.name == "views" and (parent.parent / "scenario.yaml").is_file():
        return parent.parent
    raise UsageProblem(f"{view_file}: not in a scenario's views/ folder; give --scenario")


def register(app: typer.Typer) -> None:
    from ..cli import DB_HELP, _db, _esc, handled, out

    @view_app.command("new")
    @handled
    def new_cmd(scenario: Path = typer.Argument(..., help="An editable scenario folder (scenario.yaml + views/)."),
                source: Path = typer.Option(..., "--source", help="The analysis' text (.txt, .md, .html)."),
                view_id: str = typer.Option(..., "--id", help="Id of the new view, e.g. smith-2026."),
                source_id: Optional[str] = typer.Option(None, "--source-id", help="Id of the source under sources: (default: the view id)."),
                title: Optional[str] = typer.Option(None, "--title", help="Title of the analysis."),
                author: Optional[str] = typer.Option(None, "--author"),
                date: Optional[str] = typer.Option(None, "--date", help="Date of the analysis, YYYY-MM-DD."),
                lines: Optional[str] = typer.Option(None, "--lines", help="FIRST-LAST: the part of the file that is this analysis."),
                db: Optional[Path] = typer.Option(None, "--db", help=DB_HELP),
                top: int = typer.Option(3, "--top", min=1, max=10, help="Passages suggested per cell.")) -> None:
        """Add a source to a scenario and scaffold views/ID.yaml with suggested passages per cell."""
        from ..coding import new_view

        made = new_view(scenario, source, view_id, source_id=source_id, title=title,
                        author=author, date=_date(date), lines=_lines(lines), db_path=_db(db),
                        limit=top)
        with_hits = sum(1 for v in made.suggestions.values() if v)
        out.print(f"{'copied' if made.copied else 'found'} {_esc(str(made.corpus_file))} "
                  f"(source {made.source_id!r} added to {_esc(str(made.scenario_file))})")
        out.print(f"indexed into {_esc(str(made.db_path))}")
        out.print(f"wrote {_esc(str(made.view_file))}: {made.cells} cells not yet coded, "
                  f"{with_hits} with suggested passages")
        out.print("next: code the cells in the file, or `accord serve` and open the workbench")

    @view_app.command("compare")
    @handled
    def compare_cmd(a: Path = typer.Argument(..., help="Coder A's view file."),
                    b: Path = typer.Argument(..., help="Coder B's view file (same analysis)."),
                    scenario: Optional[Path] = typer.Option(None, "--scenario", help="The scenario folder (default: the one holding A's views/)."),
                    top: int = typer.Option(15, "--top", min=1, help="Differences to list."),
                    json_out: bool = typer.Option(False, "--json")) -> None:
        """Krippendorff's alpha (interval) per issue and overall; the largest differences and how
        much each moves the forecast."""
        from ..analysis.agreement import compare
        from ..coding.viewfile import read_view_file
        from ..results import dumps
        from ..scenario import io as sio

        sc = sio.read(scenario or _scenario_of(a))
        va, vb = read_view_file(sc, a), read_view_file(sc, b)
        res = compare(sc, va, vb, label_a=str(a), label_b=str(b))
        if json_out:
            print(dumps(res.to_json()))
            return
        t = Table("unit", "alpha", "cells coded by both", "A", "B", "note",
                  title=f"Krippendorff's alpha (interval): {_esc(str(a))} vs {_esc(str(b))}",
                  title_justify="left")
        for r in res.alpha.itertuples(index=False):
            t.add_row(r.unit, "—" if r.alpha != r.alpha else f"{r.alpha:.3f}", str(r.cells_both),
                      str(r.cells_a), str(r.cells_b), _esc(r.note))
        out.print(t)
        shift_cols = [c for c in res.differences.columns if c.startswith("shift_")]
        t = Table("actor", "issue", "field", "A", "B", "B − A",
                  *[c.replace("shift_", "Δ forecast ") for c in shift_cols],
                  title=f"Largest differences ({len(res.differences)} cells differ; forecast "
                        f"shift = one cell of A taken from B)", title_justify="left")
        fmt = lambda x: "—" if x != x else f"{x:+.2f}" if isinstance(x, float) else str(x)
        for r in res.differences.head(top).to_dict(orient="records"):
            t.add_row(r["actor"], r["issue"] or "", r["field"],
                      "—" if r["a"] != r["a"] else f"{r['a']:g}",
                      "—" if r["b"] != r["b"] else f"{r['b']:g}", fmt(r["difference"]),
                      *[fmt(r[c]) for c in shift_cols])
        out.print(t)

    app.add_typer(view_app, name="view")
