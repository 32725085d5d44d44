"""`accord trades`: the exchange model's realised trades as package deals."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from ..cli import FORMAT_HELP, _esc, _load, handled, out


def register(app: typer.Typer) -> None:
    @app.command("trades")
    @handled
    def trades_cmd(scenario: str = typer.Argument(..., help="Scenario file or folder, or a bundled name."),
                   rounds: int = typer.Option(10, "--rounds", min=1),
                   preset: str = typer.Option("decide_deterministic", "--preset"),
                   seed: Optional[int] = typer.Option(None, "--seed"),
                   view: Optional[str] = typer.Option(None, "--view", help="Trade within one view."),
                   fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
                   lenient: bool = typer.Option(False, "--lenient"),
                   top: int = typer.Option(20, "--top", help="Rows to print."),
                   json_out: bool = typer.Option(False, "--json")) -> None:
        """The exchange model's trades as package deals, most valuable first."""
        from .. import models
        from ..models.exchange import trades_frame
        from ..results import dumps

        sc = _load(scenario, fmt, lenient, view)
        outcome, _ = models.run("exchange", sc.inputs(), preset=preset, rounds=rounds, seed=seed)
        red = {(a.id, issue): (rl.low, rl.high) for a in sc.actors
               for issue, rl in a.red_lines.items()}
        df = trades_frame(outcome, red_lines=red)
        if json_out:
            print(dumps(df.to_dict(orient="records")))
            return
        table = Table(title=f"Package deals in {sc.title} (exchange, {preset}, {rounds} rounds)",
                      title_justify="left")
        shown = [c for c in ("issue_p", "issue_q", "actor_1", "actor_2", "gives_p", "gives_q",
                             "exchanges", "total_gain", "mean_gain") if c in df.columns] or list(df.columns)
        for c in shown:
            table.add_column(str(c), no_wrap=True)
        for row in df[shown].head(top).itertuples(index=False):
            table.add_row(*[f"{v:.3f}" if isinstance(v, float) else _esc(str(v)) for v in row])
        out.print(table)
        if len(df) > top:
            out.print(f"[dim]{len(df) - top} more rows (--top, --json)[/dim]")
        crossing = df[df.crosses_red_line != ""] if "crosses_red_line" in df else df.iloc[:0]
        if len(crossing):
            out.print(f"[yellow]{len(crossing)} of these packages move an actor past its own red "
                      "line (column crosses_red_line): the model trades them, the actor could not "
                      "sign them[/yellow]")
