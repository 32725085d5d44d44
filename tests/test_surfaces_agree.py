"""The same request gives the same numbers on every surface: CLI --json, report, web app."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

from typer.testing import CliRunner

import accord
from accord.cli import app

REPO = Path(__file__).resolve().parents[1]
FLAGSHIP = REPO / "scenarios" / "ukraine-2025"
MODELS = ["compromise", "median", "bdm"]
DRAWS, DYNAMIC, SEED = 60, 8, 3


def _cli(path: Path) -> dict:
    r = CliRunner().invoke(app, ["forecast", str(path), "--json", "--models", ",".join(MODELS),
                                 "--draws", str(DRAWS), "--dynamic-draws", str(DYNAMIC),
                                 "--seed", str(SEED)])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)["summary"]


def _report(path: Path) -> dict:
    from accord.report import render

    html = render(accord.load(path), models=MODELS, draws=DRAWS, dynamic_draws=DYNAMIC,
                  seed=SEED, generated="2026-01-01")
    m = re.search(r'<script type="application/json" id="accord-summary">(.*?)</script>', html, re.S)
    return json.loads(m.group(1).replace("<\\/", "</"))


def _web(data: Path) -> dict:
    from fastapi.testclient import TestClient

    from accord.web import create_app

    sc = accord.load(data / "ukraine-2025")
    views = list(sc.views)
    with TestClient(create_app(data, draws=DRAWS, dynamic_draws=DYNAMIC),
                    base_url="http://127.0.0.1") as c:
        job = c.post("/api/summary", json={"path": "ukraine-2025", "view": views[-1],
                                           "views": views, "models": MODELS,
                                           "seed": SEED}).json()
        deadline = time.monotonic() + 300
        while job["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
            job = c.get("/api/job", params={"id": job["id"]}).json()
    assert job["state"] == "done", job
    return job["result"]["summary"]


def test_cli_report_and_web_app_give_the_same_summary(tmp_path: Path):
    data = tmp_path / "data"
    shutil.copytree(FLAGSHIP, data / "ukraine-2025")
    cli, report, web = _cli(data / "ukraine-2025"), _report(data / "ukraine-2025"), _web(data)
    assert cli["draws"] == report["draws"] == web["draws"] == DRAWS
    assert cli["seed"] == report["seed"] == web["seed"] == SEED
    assert cli["dynamic_draws"] == DYNAMIC
    # every number and every sentence, not only the headline
    assert report == cli
    assert web == cli
