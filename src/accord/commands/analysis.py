"""`accord feasibility`, `accord whatif`, `accord keyactors`, `accord sensitivity`.

Parsing and printing only; every number comes from accord.analysis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..defaults import DRAWS, SEED
from ..cli import FORMAT_HELP, UsageProblem, _esc, _fmt, _load, _plural, _working, handled, out

BACKEND_HELP = "Where to run the sweep: local (default) or dask."
SCHEDULER_HELP = "Address of a dask.distributed scheduler (default with --backend dask: a local 2-worker cluster)."
UNSETTLED_HELP = ("How a narrow deal treats the issues it leaves open: status_quo (default; the "
                  "status quo there counts, so deal and no deal are compared over the same "
                  "issues) or reserved (claims kept, losses not counted).")


def _pct(p: float) -> str:
    return "—" if p != p else f"{100 * p:.1f}%"


def _models(spec: Optional[str]) -> list[str]:
    from .. import models

    if spec is None or spec == "baselines":
        return [n for n, s in models.available().items() if not s.dynamic]
    if spec == "all":
        return list(models.available())
    names = [x.strip() for x in spec.split(",") if x.strip()]
    for n in names:
        models.get(n)
    return names


def _deals(spec: Optional[str]) -> Optional[list[str]]:
    return None if spec is None else [x.strip() for x in spec.split(",") if x.strip()]


def register(app: typer.Typer) -> None:
    @app.command("feasibility")
    @handled
    def feasibility_cmd(scenario: str = typer.Argument(..., help="Scenario file or folder, or a bundled name."),
                        draws: int = typer.Option(DRAWS, "--draws", min=1, help="Monte-Carlo draws per view (the same default on every surface)."),
                        seed: int = typer.Option(0, "--seed", help="Seed of the draws."),
                        deals: Optional[str] = typer.Option(None, "--deals", help="Comma-separated deals (default: comprehensive and every named deal)."),
                        unsettled: str = typer.Option("status_quo", "--unsettled", help=UNSETTLED_HELP),
                        backend: str = typer.Option("local", "--backend", help=BACKEND_HELP),
                        scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
                        fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
                        json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
        """Is any settlement acceptable to every veto player? P(deal feasible) per view and ensemble."""
        from ..analysis.feasibility import feasibility
        from ..results import dumps

        sc = _load(scenario, fmt)
        with _working("feasibility"):
            res = feasibility(sc, draws=draws, seed=seed, deals=_deals(deals),
                              unsettled=unsettled, backend=backend, scheduler=scheduler)
        if json_out:
            print(dumps(res.to_json()))
            return
        s = res.summary
        out.print(f"[bold]{_esc(sc.title)}[/bold]  ({sc.id}; {_plural(res.draws, 'draw')} per view, seed {seed}, "
                  f"unsettled issues: {unsettled})")
        deal_names = list(dict.fromkeys(s.deal))
        table = Table(title=_esc("Share of coding draws with a zone of agreement: some settlement every "
                                 "party whose consent is needed prefers to no deal [95% interval]; "
                                 "median slack in utility units (1 = an actor's ideal on every issue)"),
                      title_justify="left")
        table.add_column("view")
        for d in deal_names:
            table.add_column(d, justify="right")
        for view in dict.fromkeys(s.view):
            cells = []
            for d in deal_names:
                r = s[(s.view == view) & (s.deal == d)].iloc[0]
                slack = "—" if r.median_slack != r.median_slack or abs(r.median_slack) == float("inf") \
                    else f"{r.median_slack:+.3f}"
                cells.append(f"{_pct(r.p_feasible)} [{_pct(r.p_low)}–{_pct(r.p_high)}] {slack}")
            table.add_row(view, *cells)
        out.print(table)
        out.print("[dim]This is not the probability of a deal: `accord outlook` turns zones of "
                  "agreement into P(deal by a date).[/dim]")
        for d in deal_names:
            r = s[s.deal == d].iloc[0]
            out.print(f"[dim]{d}: {_esc(r.issues)}[/dim]")
        label = "ensemble" if "ensemble" in set(s.view) else s.view.iloc[0]
        sp = res.spoilers[(res.spoilers.view == label) & (res.spoilers.p_blocks > 0)]
        table = Table(title=_esc(f"Spoilers ({label}): veto players short of their no-deal value at the "
                            "closest package"), title_justify="left")
        for c in ("deal", "actor", "P(veto)", "P(blocks)", "median shortfall (utility, 0–1)",
                  "p90 shortfall (utility)"):
            table.add_column(c, justify="left" if c in ("deal", "actor") else "right")
        for r in sp.itertuples():
            table.add_row(r.deal, r.actor, _pct(r.p_veto), _pct(r.p_blocks),
                          _fmt(r.median_shortfall, 3), _fmt(r.p90_shortfall, 3))
        if len(sp):
            out.print(table)
        else:
            out.print(f"no veto player blocks any deal in any draw ({label})")
        pk = res.packages[(res.packages.view == label) & res.packages.settled]
        table = Table(title=_esc(f"Closest-to-feasible package ({label}; median [p10–p90]) and ⟨the range of "
                            "feasible settlements⟩ at the point values"), title_justify="left")
        table.add_column("issue")
        for d in deal_names:
            table.add_column(d, justify="right")
        ext = res.extent
        ext_view = "base" if "base" in set(ext.view) else (res.views[-1] if res.views else None)
        for issue in sc.issue_ids:
            cells = []
            for d in deal_names:
                r = pk[(pk.deal == d) & (pk.issue == issue)]
                if not len(r):
                    cells.append("—")
                    continue
                r = r.iloc[0]
                e = ext[(ext.view == ext_view) & (ext.deal == d) & (ext.issue == issue)]
                rng = f" ⟨{_fmt(e.iloc[0].feasible_low, 0)}–{_fmt(e.iloc[0].feasible_high, 0)}⟩" \
                    if len(e) else ""
                cells.append(f"{_fmt(r['median'], 0)} [{_fmt(r.p10, 0)}–{_fmt(r.p90, 0)}]{rng}")
            table.add_row(issue, *cells)
        out.print(table)
        if ext_view:
            out.print(f"[dim]⟨feasible range⟩: each issue's range over the settlements every veto "
                      f"player accepts, at the point values of {ext_view}[/dim]")
        for note in res.notes:
            out.print(f"[yellow]note[/yellow]: {_esc(note)}")

    @app.command("whatif")
    @handled
    def whatif_cmd(scenario: str = typer.Argument(..., help="Scenario file or folder, or a bundled name."),
                   levers: Optional[Path] = typer.Argument(None, help="Levers file (YAML; default: levers.yaml next to the scenario)."),
                   models_opt: Optional[str] = typer.Option(None, "--models", help="Comma-separated models, 'baselines' (default) or 'all'."),
                   model: Optional[str] = typer.Option(None, "--model", help="Model whose forecast shifts are printed (default: compromise or the first)."),
                   draws: int = typer.Option(DRAWS, "--draws", min=1, help="Monte-Carlo draws per view (the same default on every surface)."),
                   seed: int = typer.Option(0, "--seed", help="Seed of the draws."),
                   deals: Optional[str] = typer.Option(None, "--deals", help="Comma-separated deals."),
                   unsettled: str = typer.Option("status_quo", "--unsettled", help=UNSETTLED_HELP),
                   backend: str = typer.Option("local", "--backend", help=BACKEND_HELP),
                   scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
                   fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
                   json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
        """How each lever shifts the forecast and the feasibility of each deal, with intervals."""
        from ..analysis.whatif import default_levers_path, whatif
        from ..results import dumps

        sc = _load(scenario, fmt)
        path = levers or default_levers_path(sc)
        if path is None:
            raise UsageProblem(f"no LEVERS file given and no levers.yaml next to {sc.path}")
        with _working("what-if levers"):
            res = whatif(sc, path, models=_models(models_opt), draws=draws, seed=seed,
                         deals=_deals(deals), unsettled=unsettled, backend=backend,
                         scheduler=scheduler)
        if json_out:
            print(dumps(res.to_json()))
            return
        label = "ensemble" if len(res.views) > 1 else res.views[0]
        out.print(f"[bold]{_esc(sc.title)}[/bold]  ({sc.id}; levers {path}; "
                  f"{_plural(res.draws, 'draw')} per view, seed {seed}; {label})")
        f = res.feasibility[res.feasibility.view == label]
        deal_names = list(dict.fromkeys(f.deal))
        titles = {lv.name: lv.title for lv in res.levers}
        table = Table(title=_esc("P(deal feasible) under each lever [95% interval] (change against "
                                 "none ± its Monte-Carlo standard error, paired draws; pp)"),
                      title_justify="left")
        table.add_column("lever")
        for d in deal_names:
            table.add_column(d, justify="right")
        for name in dict.fromkeys(f.lever):
            cells = []
            for d in deal_names:
                r = f[(f.lever == name) & (f.deal == d)].iloc[0]
                ch = "" if name == "none" else f" ({100 * r.change:+.1f}±{100 * r.change_se:.1f})"
                cells.append(f"{_pct(r.p_feasible)} [{_pct(r.p_low)}–{_pct(r.p_high)}]{ch}")
            table.add_row(_esc(name), *cells)
        out.print(table)
        fc = res.forecast[res.forecast.view == label]
        if res.models:
            m = model or ("compromise" if "compromise" in res.models else res.models[0])
            if m not in res.models:
                raise UsageProblem(f"--model {m!r}: not among the models run ({', '.join(res.models)})")
            fc = fc[fc.model == m]
            table = Table(title=_esc(f"Forecast shift against none ({m}; median ± its Monte-Carlo "
                                     "standard error [p10–p90] of the paired differences over "
                                     "draws; issues a lever moves)"),
                          title_justify="left")
            for c in ("lever", "issue", "forecast", "shift", "±", "p10", "p90"):
                table.add_column(c, justify="left" if c in ("lever", "issue") else "right")
            none = fc[fc.lever == "none"].set_index("issue")["median"]
            for r in fc[fc.lever != "none"].itertuples():
                if r.shift_p10 == 0 and r.shift_p90 == 0 and r.shift == 0:
                    continue
                table.add_row(_esc(r.lever), r.issue, f"{_fmt(none[r.issue], 1)} → {_fmt(r.median, 1)}",
                              f"{r.shift:+.1f}", f"{r.shift_se:.2f}", f"{r.shift_p10:+.1f}",
                              f"{r.shift_p90:+.1f}")
            out.print(table)
        for name, title in titles.items():
            out.print(f"[dim]{_esc(name)}: {_esc(title)}[/dim]")
        for note in res.notes:
            out.print(f"[yellow]note[/yellow]: {_esc(note)}")
        for m, why in res.skipped.items():
            out.print(f"[yellow]skipped {m}[/yellow]: {_esc(why)}")

    @app.command("keyactors")
    @handled
    def keyactors_cmd(scenario: str = typer.Argument(..., help="Scenario file or folder, or a bundled name."),
                      models_opt: Optional[str] = typer.Option("compromise", "--models", help="Comma-separated models, 'baselines' or 'all'."),
                      draws: int = typer.Option(200, "--draws", min=1, help="Monte-Carlo draws."),
                      seed: int = typer.Option(0, "--seed", help="Seed of the draws."),
                      view: Optional[str] = typer.Option(None, "--view", help="Analyse one view (default: the base coding)."),
                      deals: Optional[str] = typer.Option(None, "--deals", help="Comma-separated deals."),
                      fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
                      json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
        """Who drives the forecast, and who would have to move for a deal to become feasible."""
        from ..analysis.sensitivity import concessions, key_actors
        from ..analysis.ensemble import _records
        from ..results import dumps

        sc = _load(scenario, fmt)
        with _working("key actors and concessions"):
            effects, ranking = key_actors(sc, _models(models_opt), draws=draws, seed=seed,
                                          view=view)
            conc = concessions(sc, draws=draws, seed=seed, view=view, deals=_deals(deals))
        if json_out:
            print(dumps({"scenario": sc.id, "scenario_sha256": sc.sha256, "seed": seed,
                         "draws": draws, "view": view, "ranking": _records(ranking),
                         "effects": _records(effects), "concessions": _records(conc)}))
            return
        out.print(f"[bold]{_esc(sc.title)}[/bold]  ({sc.id}; "
                  f"{('view ' + view) if view else 'the base coding, not the views (--view V for one)'}; "
                  f"{_plural(draws, 'draw')}, seed {seed})")
        for m in dict.fromkeys(ranking.model):
            table = Table(title=_esc(f"Key actors ({m}): mean |forecast shift|, % of each scale, per step "
                                "(capability +10%, salience +0.1, position +5% of scale)"),
                          title_justify="left")
            for c in ("actor", "capability", "salience", "position", "influence"):
                table.add_column(c, justify="left" if c == "actor" else "right")
            for r in ranking[ranking.model == m].itertuples():
                table.add_row(r.actor, _fmt(r.capability), _fmt(r.salience), _fmt(r.position),
                              _fmt(r.influence))
            out.print(table)
        if len(conc):
            table = Table(title=_esc("Who would have to move for a deal to be feasible: fall of the "
                                "no-deal value needed (utility, [0, 1])"), title_justify="left")
            for c in ("deal", "actor", "no-deal (utility)", "P(must concede)",
                      "median needed (utility)", "p90 needed", "P(others block anyway)",
                      "median margin (utility)"):
                table.add_column(c, justify="left" if c in ("deal", "actor") else "right")
            for r in conc.itertuples():
                table.add_row(r.deal, r.actor, _fmt(r.no_deal), _pct(r.p_needed),
                              _fmt(r.median_needed, 3), _fmt(r.p90_needed, 3),
                              _pct(r.p_alone_insufficient), _fmt(r.median_margin, 3))
            out.print(table)
        else:
            out.print("[yellow]note[/yellow]: no veto players, so no deal can be blocked")

    @app.command("sensitivity")
    @handled
    def sensitivity_cmd(scenario: str = typer.Argument(..., help="Scenario file or folder, or a bundled name."),
                        model: str = typer.Option("compromise", "--model", help="Model whose forecast is analysed."),
                        n: int = typer.Option(256, "--n", min=2, help="SALib base sample size (a power of 2)."),
                        seed: int = typer.Option(0, "--seed", help="Seed of the sample and bootstrap."),
                        view: Optional[str] = typer.Option(None, "--view", help="Analyse one view (default: the base coding)."),
                        top: int = typer.Option(3, "--top", min=1, help="Inputs shown per output."),
                        spread: Optional[float] = typer.Option(None, "--spread", help="Give every point value a uniform ± range (capability relative, position as a share of the scale, salience and no-deal absolute)."),
                        backend: str = typer.Option("local", "--backend", help=BACKEND_HELP),
                        scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
                        fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
                        json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
        """Sobol indices (SALib) of every uncertain input, for each forecast and each deal's slack."""
        from ..analysis.ensemble import _records
        from ..analysis.sensitivity import sobol
        from ..results import dumps

        if n & (n - 1):
            raise UsageProblem(f"--n {n}: expected a power of 2 (Sobol' sequence)")
        sc = _load(scenario, fmt)
        with _working("Sobol indices"):
            res = sobol(sc, model=model, n=n, seed=seed, view=view, backend=backend,
                        scheduler=scheduler, spread=spread)
        if json_out:
            print(dumps({"scenario": sc.id, "scenario_sha256": sc.sha256, "seed": seed, "n": n,
                         "model": model, "view": view, "spread": spread, "evaluations": res.evaluations,
                         "inputs": res.inputs, "indices": _records(res.indices),
                         "notes": res.notes}))
            return
        table = Table(title=_esc(f"Sobol indices ({model}; seed {seed}; {res.evaluations} evaluations of "
                            f"{len(res.inputs)} uncertain inputs): top {top} by total index"),
                      title_justify="left")
        for c in ("output", "input", "S1", "ST [95%]"):
            table.add_column(c, justify="left" if c in ("output", "input") else "right")
        for r in res.top(top).itertuples():
            table.add_row(r.output, r.input, _fmt(r.S1), f"{_fmt(r.ST)} ±{_fmt(r.ST_conf)}")
        out.print(table)
        for note in res.notes:
            out.print(f"[yellow]note[/yellow]: {_esc(note)}")
