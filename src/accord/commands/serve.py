"""`accord serve [DIR]`: the local web app over one data folder (127.0.0.1 by default)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    from ..defaults import DRAWS, DYNAMIC_DRAWS
    from ..cli import UsageProblem, err, handled, out

    @app.command("serve")
    @handled
    def serve_cmd(directory: Path = typer.Argument(Path("."), help="The data folder: the server reads and writes only inside it."),
                  host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (loopback by default; anything else exposes your files)."),
                  port: int = typer.Option(8765, "--port", min=0, max=65535, help="TCP port."),
                  draws: int = typer.Option(DRAWS, "--draws", min=1, max=20_000, help="Monte-Carlo draws per view (the same default as the CLI and the report)."),
                  dynamic_draws: int = typer.Option(DYNAMIC_DRAWS, "--dynamic-draws", min=1, help="Draws per view for dynamic models."),
                  log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level.")) -> None:
        """Browse and edit the scenarios of a folder in the browser; forecasts update live."""
        from ..web.app import LOOPBACK_NAMES, serve

        if not directory.is_dir():
            raise UsageProblem(f"{directory}: not a folder (the data folder to serve)")
        if host not in LOOPBACK_NAMES:
            err.print(f"[yellow]warning[/yellow] binding {host}: other machines can reach this "
                      "server; requests must still carry a loopback Host header")
        shown = f"[{host}]" if ":" in host else host
        out.print(f"accord serve: {directory.resolve()} at http://{shown}:{port}/  (Ctrl-C stops)")
        serve(directory, host=host, port=port, log_level=log_level, draws=draws,
              dynamic_draws=dynamic_draws)
