"""`accord report SCENARIO -o report.html`: the self-contained HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    from ..defaults import DRAWS, DYNAMIC_DRAWS, LEVER_DRAWS, SEED
    from ..cli import FORMAT_HELP, UsageProblem, _load, handled, out

    @app.command("report")
    @handled
    def report_cmd(scenario: str = typer.Argument(..., help="Scenario file or folder, or a bundled name."),
                   output: Path = typer.Option(..., "-o", "--output", help="The HTML file to write."),
                   models_opt: Optional[str] = typer.Option(None, "--models", help="Comma-separated models, 'baselines', or all (default)."),
                   draws: int = typer.Option(DRAWS, "--draws", min=1, help="Monte-Carlo draws per view (the same default on every surface)."),
                   dynamic_draws: int = typer.Option(DYNAMIC_DRAWS, "--dynamic-draws", min=1, help="Draws per view for dynamic models."),
                   lever_draws: int = typer.Option(LEVER_DRAWS, "--lever-draws", min=1, help="Draws per view for the what-if levers (paired; at most --draws)."),
                   seed: int = typer.Option(SEED, "--seed", help="Seed of the Monte-Carlo draws."),
                   corpus: Optional[Path] = typer.Option(None, "--corpus", help="Folder of the sources' files (default: the scenario's corpus:)."),
                   date: Optional[str] = typer.Option(None, "--date", help="Date printed as 'generated' (default: $SOURCE_DATE_EPOCH, else today)."),
                   fmt: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
                   force: bool = typer.Option(False, "--force", help="Replace OUTPUT if it exists.")) -> None:
        """Write one self-contained HTML report (figures, evidence, provenance); opens offline."""
        from ..report import ReportOptions, render, write

        if output.exists() and not force:
            raise UsageProblem(f"{output} exists; pass --force to replace it")
        if output.exists() and output.is_dir():
            raise UsageProblem(f"{output} is a folder; expected an HTML file name")
        from .._threads import quiet_collector
        from ..cli import _prewarm, _progress

        with quiet_collector():  # a job's objects form few cycles (see _threads)
            names = _prewarm(models_opt)
            sc = _load(scenario, fmt)
            opts = ReportOptions(models=names, draws=draws,
                                 dynamic_draws=dynamic_draws, lever_draws=lever_draws,
                                 seed=seed, corpus_dir=corpus,
                                 generated=date)
            n = len(names)
            with _progress(n + 2, "report") as step:
                html = render(sc, options=opts, progress=step)
        write(output, html, force=force)
        out.print(f"wrote {output} ({len(html.encode('utf-8')):,} bytes)")
