"""The `accord` command line: the `run --json` contract, forecast, check, models, import/export."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from accord.cli import app
from accord.models import available

runner = CliRunner()
BASELINES = ["status_quo", "mean", "compromise", "median", "nbs"]
CONTRACT = {"model", "preset", "params", "seed", "scenario_sha256", "accord_version",
            "stop_reason", "actors", "issues", "rounds"}


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result


@pytest.mark.parametrize("model", BASELINES)
def test_run_json_follows_the_contract_on_the_bundled_example(model):
    result = invoke("run", model, "eu-emissions", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert CONTRACT <= set(doc)
    assert doc["model"] == model and len(doc["scenario_sha256"]) == 64
    assert [r["round"] for r in doc["rounds"]] == [0, 1]
    r0 = doc["rounds"][0]
    assert r0["positions"]["France"]["emissions"] == 10.0
    assert set(r0["forecast"]) == {"emissions"}


def test_run_json_is_byte_identical_across_runs():
    a = invoke("run", "nbs", "eu-emissions", "--json", "--seed", "3").stdout
    b = invoke("run", "nbs", "eu-emissions", "--json", "--seed", "3").stdout
    assert a == b


def test_a_stochastic_model_without_seed_is_reproducible_and_records_its_seed():
    """The randomized exchange model draws for every deal: without --seed it uses seed 0."""
    args = ("run", "exchange", "ukraine-2025", "--json", "--rounds", "3", "--param", "p=0.5")
    a, b = invoke(*args).stdout, invoke(*args).stdout
    assert a == b and json.loads(a)["seed"] == 0
    c = invoke(*args, "--seed", "1").stdout
    assert json.loads(c)["seed"] == 1 and json.loads(c)["rounds"] != json.loads(a)["rounds"]


def test_unknown_model_preset_and_parameter_are_clear_errors():
    r = invoke("run", "nosuch", "eu-emissions", "--json")
    assert r.exit_code == 2 and "unknown model" in r.output
    r = invoke("run", "median", "eu-emissions", "--preset", "x")
    assert r.exit_code == 2 and "no preset" in r.output
    r = invoke("run", "median", "eu-emissions", "--param", "colour=red")
    assert r.exit_code == 2 and "no parameter" in r.output
    r = invoke("run", "median", "eu-emissions", "--param", "rule=sideways")
    assert r.exit_code == 2 and "rule" in r.output
    r = invoke("run", "median", "no-such-scenario")
    assert r.exit_code == 2 and "eu-emissions" in r.output  # lists what exists


def test_params_change_the_result():
    lower = json.loads(invoke("run", "median", "eu-emissions", "--json").stdout)
    upper = json.loads(invoke("run", "median", "eu-emissions", "--json", "--param", "rule=upper").stdout)
    assert lower["params"] == {"rule": "lower"} and upper["params"] == {"rule": "upper"}


def test_forecast_prints_a_table_per_issue_with_every_model():
    r = invoke("forecast", "eu-emissions", "--models", "baselines", "--full")
    assert r.exit_code == 0, r.output
    for m in BASELINES:
        assert m in r.stdout
    assert "7.4" in r.stdout and "7: a middle date" in r.stdout  # compromise, nearest anchor


def test_forecast_json_lists_every_model_and_issue():
    doc = json.loads(invoke("forecast", "eu-emissions", "--json", "--models", "baselines").stdout)
    assert set(doc["models"]) == set(BASELINES)
    assert {r["issue"] for r in doc["forecasts"]} == {"emissions"}


def test_models_lists_every_registered_model():
    r = invoke("models")
    for name in available():
        assert name in r.stdout
    doc = json.loads(invoke("models", "--json").stdout)
    assert {m["name"] for m in doc} == set(available())


def test_check_reports_ok():
    r = invoke("check", "eu-emissions")
    assert r.exit_code == 0 and "10 actors" in r.stdout


def test_export_then_import_gives_the_same_numbers(tmp_path):
    csv = tmp_path / "eu.csv"
    yaml = tmp_path / "eu.yaml"
    assert invoke("export", "eu-emissions", "-o", str(csv)).exit_code == 0
    assert invoke("import", str(csv), "-o", str(yaml)).exit_code == 0
    for m in BASELINES:
        a = json.loads(invoke("run", m, "eu-emissions", "--json").stdout)["rounds"]
        b = json.loads(invoke("run", m, str(yaml), "--json").stdout)["rounds"]
        assert a == b, m
    r = invoke("export", "eu-emissions", "-o", str(csv))
    assert r.exit_code == 2 and "--force" in r.output
