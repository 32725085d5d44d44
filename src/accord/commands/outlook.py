"""`accord outlook`: will there be a deal, which kind, and when.

Parsing and printing only; every number comes from accord.analysis.outlook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..cli import FORMAT_HELP, _esc, _load, _progress, handled, out


def _pct(p) -> str:
    return "—" if p is None or p != p else f"{100 * p:.0f}%"


def register(app: typer.Typer) -> None:
    @app.command("outlook")
    @handled
    def outlook_cmd(scenario: str = typer.Argument(..., help="Scenario file or folder, or a bundled name."),
                    horizon: int = typer.Option(36, "--horizon", min=1, max=240, help="Months after each view's date."),
                    levers: Optional[Path] = typer.Option(None, "--levers", help="Levers file (YAML): each lever is one more curve."),
                    draws: int = typer.Option(10_000, "--draws", min=1, help="Monte-Carlo draws in all, shared equally by the views."),
                    seed: int = typer.Option(0, "--seed", help="Seed of the draws."),
                    deals: Optional[str] = typer.Option(None, "--deals", help="Comma-separated deal kinds (default: comprehensive and every named deal)."),
                    param: list[str] = typer.Option([], "--param", help="Hazard parameter KEY=VALUE (repeatable), e.g. base_rate_narrow=0.2 or base_rates.ceasefire=0.15; docs/analysis.md, Outlook."),
                    fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
                    json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
        """P(a deal of each kind by each month), median time and P(it holds 12 months), per view."""
        from ..analysis.outlook import ANY, OutlookParams, outlook
        from ..cli import UsageProblem, _params
        from ..results import dumps

        try:
            params = OutlookParams.from_strings(_params(param))
            params.check()
        except ValueError as exc:
            raise UsageProblem(str(exc)) from None
        sc = _load(scenario, fmt)
        kinds = None if deals is None else [x.strip() for x in deals.split(",") if x.strip()]
        bar = _progress(1, "outlook")
        with bar as step:
            def progress(done: int, total: int) -> None:
                bar.total = total   # known once the views are read
                step(f"{done}/{total} chunks of draws")

            res = outlook(sc, horizon=horizon, draws=draws, seed=seed, levers=levers, deals=kinds,
                          params=params, progress=progress)
        if json_out:
            print(dumps(res.to_json()))
            return
        months = [k for k in (6, 12, 24, 36) if k <= horizon] or [horizon]
        out.print(f"[bold]{_esc(sc.title)}[/bold]  ({sc.id}; {res.draws} draws in all, "
                  f"{res.draws_per_view} per view, seed {seed}, horizon {horizon} months)")
        tab = res.table(months)
        ens = "ensemble" if "ensemble" in set(tab.view) else tab.view.iloc[0]
        row = tab[(tab.view == ens) & (tab.deal == ANY)].iloc[0]
        by12 = row.get("p_12m", row[f"p_{months[-1]}m"])
        last = f"; within {months[-1]} months: {_pct(row[f'p_{months[-1]}m'])}" \
            if months[-1] > 12 else ""
        since = f"from {res.starts[ens]}" if res.starts[ens] else "months from the analysis"
        out.print(f"[bold]Bottom line[/bold] ({ens}, {since}): a deal of some kind "
                  f"within {min(12, months[-1])} months: {_pct(by12)}{last}.")
        for d in res.deals:
            r = tab[(tab.view == ens) & (tab.deal == d)].iloc[0]
            med = "not within the horizon" if r.median_months != r.median_months or \
                r.median_months is None else f"{int(r.median_months)} month" + \
                ("s" if int(r.median_months) != 1 else "")
            out.print(f"  {d}: {_pct(r[f'p_{months[-1]}m'])} by month {months[-1]}; median time "
                      f"{med}; if reached, P(still holds 12 months later) {_pct(r.p_holds_12m)}; "
                      f"zone of agreement at the start in {_pct(r.p_zone)} of draws.")
        for d in res.deals + [ANY]:
            table = Table(title=_esc(f"{d}: P(deal reached by month k after the view's date)"),
                          title_justify="left")
            table.add_column("view")
            table.add_column("start")
            for k in months:
                table.add_column(f"{k} mo", justify="right")
            table.add_column("median", justify="right")
            if d != ANY:
                table.add_column("holds 12 mo", justify="right")
                table.add_column("zone now", justify="right")
            for r in tab[tab.deal == d].itertuples():
                med = "—" if r.median_months != r.median_months or r.median_months is None \
                    else f"{int(r.median_months)} mo"
                cells = [_pct(getattr(r, f"p_{k}m")) for k in months] + [med]
                if d != ANY:
                    cells += [_pct(r.p_holds_12m), _pct(r.p_zone)]
                table.add_row(r.view, r.start or "undated", *cells)
            out.print(table)
        if len(res.levers) > 1:
            table = Table(title=_esc(f"Levers ({ens}): P(deal of some kind within "
                                     f"{months[-1]} months) and the change against as coded"),
                          title_justify="left")
            table.add_column("lever")
            table.add_column(f"{months[-1]} mo", justify="right")
            table.add_column("change", justify="right")
            base = res.by(months[-1], ANY, ens)
            for lv in res.levers:
                p = res.by(months[-1], ANY, ens, lv)
                table.add_row(_esc(res.lever_titles[lv]), _pct(p), f"{100 * (p - base):+.1f} pp")
            out.print(table)
        out.print("[dim]'zone now': share of coding draws with a zone of agreement at the view's "
                  "date; 'holds 12 mo': the consenting parties' average belief that the deal, once "
                  "reached, still holds a year later. Model: docs/analysis.md, Outlook.[/dim]")
        for note in res.notes:
            out.print(f"[yellow]note[/yellow]: {_esc(note)}")
