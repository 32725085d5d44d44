"""`accord validity`: each view's outlook against its author's conclusion (a Markdown table).

Parsing and printing only; every number comes from accord.analysis.validity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..cli import FORMAT_HELP, _load, handled, out
from ..defaults import DRAWS, OUTLOOK_DRAWS, OUTLOOK_HORIZON


def register(app: typer.Typer) -> None:
    @app.command("validity")
    @handled
    def validity_cmd(scenario: str = typer.Argument(..., help="Scenario file or folder, or a bundled name."),
                     write: Optional[Path] = typer.Option(None, "--write", help="Write the Markdown table to this file."),
                     check: Optional[Path] = typer.Option(None, "--check", help="Exit 1 if this file differs from the regenerated table."),
                     horizon: int = typer.Option(OUTLOOK_HORIZON, "--horizon", min=1, help="Months of outlook."),
                     draws: int = typer.Option(OUTLOOK_DRAWS, "--draws", min=1, help="Outlook draws in all, shared by the views (the summary's)."),
                     feasibility_draws: int = typer.Option(DRAWS, "--feasibility-draws", min=1, help="Draws per view of P(feasible) (the summary's)."),
                     seed: int = typer.Option(0, "--seed"),
                     fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
                     json_out: bool = typer.Option(False, "--json", help="The rows as JSON.")) -> None:
        """Does each view's outlook agree with its author's own conclusion (conclusions.yaml)?"""
        from ..analysis.validity import render, validity

        sc = _load(scenario, fmt)
        rows = validity(sc, horizon=horizon, draws=draws, seed=seed,
                        feasibility_draws=feasibility_draws)
        if json_out:
            import json

            print(json.dumps([r.to_dict() for r in rows], ensure_ascii=False, default=str))
            return
        text = render(rows, sc, horizon, draws, seed, feasibility_draws)
        if check is not None:
            old = check.read_text(encoding="utf-8") if check.exists() else ""
            if old != text:
                out.print(f"[red]stale[/red] {check}: regenerate with "
                          f"accord validity {scenario} --write {check}")
                raise typer.Exit(1)
            out.print(f"[green]current[/green] {check}")
            return
        if write is not None:
            write.parent.mkdir(parents=True, exist_ok=True)
            write.write_text(text, encoding="utf-8")
            out.print(f"wrote {write} ({len(rows)} views)")
            return
        print(text)
