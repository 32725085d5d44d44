"""Scale: a 500 × 50 scenario goes through; sizes beyond reach are refused up front, with estimates."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import accord
from accord.cli import app
from accord.models import Inputs, available, get
from accord.scenario import io


def test_a_500_actor_50_issue_scenario_loads_validates_and_runs_the_baselines(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["actor,issue,position,salience,capability,status_quo"]
    for a in range(500):
        for i in range(50):
            lines.append(f"a{a},i{i},{rng.uniform(0, 100):.2f},{rng.uniform(0, 1):.3f},{a % 17 + 1},50")
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    sc = io.read(path)
    assert sc.position.shape == (500, 50)
    for m in ("status_quo", "mean", "compromise", "median", "nbs"):
        f = accord.models.run(m, sc.inputs())[0].final
        assert f.shape == (1, 50) and np.all((f >= 0) & (f <= 100)), m


@pytest.mark.parametrize("model,shape", [("compromise", (10**6, 1000, 100)),
                                         ("bdm", (10**4, 2000, 10)),
                                         ("exchange", (1000, 100, 40)),
                                         ("smp", (1, 500, 3))])
def test_every_model_refuses_a_size_beyond_reach_with_an_estimate(model, shape):
    if model not in available():
        pytest.skip(f"{model} not registered")
    message = get(model).max_size(*shape)
    assert message and ("GiB" in message or "minutes" in message), message
    assert get(model).max_size(1, 10, 2) is None


def test_every_registered_model_states_the_sizes_it_can_handle():
    for name, spec in available().items():
        assert spec.max_size is not None, name


def test_the_cli_refuses_before_running(monkeypatch, tmp_path):
    # a cheap way to see the refusal path end to end: shrink the memory budget
    import accord.models.baselines as b

    monkeypatch.setattr(b, "_available_memory", lambda: 1024)
    r = CliRunner().invoke(app, ["run", "compromise", "eu-emissions", "--json"])
    assert r.exit_code == 2 and "GiB" in r.output and "Traceback" not in r.output
