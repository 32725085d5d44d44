"""The handbook builds offline and strictly (a broken link, a missing page or a docstring
mkdocstrings cannot render fails the build), its generated pages say what the code does,
and the tutorial notebook runs from top to bottom, showing tables and a figure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    """The child processes import this checkout's accord (as CI's editable install does)."""
    src = str(REPO / "src")
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": src + (os.pathsep + path if path else ""),
            "NO_MKDOCS_2_WARNING": "1"}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("mkdocs")
    out = tmp_path_factory.mktemp("site")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
                        str(REPO / "mkdocs.yml"), "-d", str(out)], cwd=REPO, env=_env(),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    return out


def _page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text(encoding="utf-8")


def test_the_handbook_builds_strictly_offline(site):
    for page in ("tutorial", "tutorial-notebook", "coding", "models/expected-utility",
                 "models/exchange", "models/spatial", "models/baselines", "analyses",
                 "analysis", "formats", "scenario-format", "cli", "api"):
        assert (site / page / "index.html").exists(), page
    html = "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html"))
    assert "fonts.googleapis.com" not in html  # nothing fetched when the page is read


def test_the_cli_reference_is_generated_from_the_typer_app(site):
    from typer.main import get_command

    from accord.cli import app

    html = _page(site, "cli")
    for name in get_command(app).commands:
        assert f"accord {name}" in html, name
    assert "accord view new" in html and "--source-id" in html and "accord view compare" in html


def test_each_model_page_lists_its_presets_and_parameters(site):
    from accord import models

    for name, page in (("bdm", "models/expected-utility"), ("exchange", "models/exchange"),
                       ("smp", "models/spatial"), ("nbs", "models/baselines")):
        html = _page(site, page)
        spec = models.get(name)
        for p in spec.params:
            assert f"<code>{p.name}</code>" in html, (name, p.name)
        for preset in spec.presets:
            assert f"<code>{preset}</code>" in html, (name, preset)


def test_the_api_page_renders_the_docstrings(site):
    html = _page(site, "api")
    assert "accord.coding.scaffold.new_view" in html
    assert "Krippendorff" in html and "BM25" in html


def test_the_tutorial_notebook_runs_and_shows_tables_and_a_figure():
    nbclient = pytest.importorskip("nbclient")
    jupytext = pytest.importorskip("jupytext")

    nb = jupytext.read(REPO / "docs" / "tutorial-notebook.md")
    old = dict(os.environ)
    os.environ.update(_env())  # the kernel inherits this process's environment
    try:
        nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(REPO)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    tables = [o for o in outputs if "text/html" in o.get("data", {})
              and "<table" in o["data"]["text/html"]]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(tables) >= 6 and len(figures) == 1
    text = "".join(o["data"]["text/html"] for o in tables)
    assert "smith-2026" in text and "ensemble" in text and "alpha" in text
