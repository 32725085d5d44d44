"""Backtest on DEU-format data the test writes itself: shapes, known answers, located errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from accord.analysis import backtest as backtest_module
from accord.analysis.backtest import REFERENCE, backtest, read_deu
from accord.errors import ScenarioError
from accord.models import available

ACTORS = ("COM", "EP", "DE", "FR", "UK")
from accord.analysis.backtest import COLUMNS

OLD_KEYS = ["model", "n", "failed", "mae", "mae_low", "mae_high", "diff", "diff_low", "diff_high"]


def _deu(path: Path, n: int = 12, seed: int = 1, outcome: str = "compromise",
         capability: bool = False) -> Path:
    """A DEU-format file whose ``out`` is a known baseline's answer: the c·s-weighted mean
    of the positions (the compromise model), or ``rp`` (the status quo)."""
    rng = np.random.default_rng(seed)
    a = len(ACTORS)
    pos = rng.uniform(0, 100, (n, a)).round(1)
    sal = rng.uniform(10, 100, (n, a)).round(0)
    cap = rng.integers(1, 30, a).astype(float)
    pos[rng.random((n, a)) < 0.2] = np.nan
    pos[:, :3] = np.where(np.isnan(pos[:, :3]), 50.0, pos[:, :3])  # three actors always there
    rp = rng.uniform(0, 100, n).round(1)
    w = np.where(np.isnan(pos), 0.0, sal * (cap if capability else 1.0))
    comp = (np.nan_to_num(pos) * w).sum(1) / w.sum(1)
    out = comp if outcome == "compromise" else rp
    head = ["issue_id", "procedure"] + [f"{k}{x}" for x in ACTORS for k in "ps"]
    head += [f"c{x}" for x in ACTORS] if capability else []
    lines = [",".join(head + ["rp", "out"])]
    for k in range(n):
        cells = [f"I{k}", "COD"]
        for j in range(a):
            cells += (["", ""] if np.isnan(pos[k, j])
                      else [repr(float(pos[k, j])), repr(float(sal[k, j]))])
        cells += [repr(float(c)) for c in cap] if capability else []
        cells += [repr(float(rp[k])), repr(float(out[k]))]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def one_shot_registry(monkeypatch):
    """The registry's one-shot models only: the dynamic ones are JIT-compiled on first use,
    which costs tens of seconds on a cold cache and tests nothing more of the backtest."""
    models = {k: v for k, v in available().items() if not v.dynamic}
    monkeypatch.setattr(backtest_module, "available", lambda: dict(models))
    return models


def test_every_registered_model_gets_a_row_and_compromise_scores_zero_on_its_own_answer(
        tmp_path, one_shot_registry):
    table = backtest(_deu(tmp_path / "deu.csv"), n_boot=500, seed=0)
    assert list(table.columns)[:len(OLD_KEYS)] == OLD_KEYS  # today's keys first, unchanged
    assert list(table.columns) == COLUMNS
    assert list(table["model"]) == list(one_shot_registry) + ["ensemble"]
    assert table.shape == (len(one_shot_registry) + 1, len(COLUMNS))
    assert (table["n"] + table["failed"] == 12).all()
    comp = table.set_index("model").loc[REFERENCE]
    assert comp["mae"] == pytest.approx(0.0, abs=1e-9)
    assert (comp["diff"], comp["diff_low"], comp["diff_high"]) == (0.0, 0.0, 0.0)
    others = table[(table["model"] != REFERENCE) & (table["n"] > 0)]
    assert (others["diff"] >= -1e-9).all()  # nobody beats the exact answer
    assert (others["mae_low"] <= others["mae"]).all() and (others["mae"] <= others["mae_high"]).all()
    assert (others["diff_low"] <= others["diff"]).all() and (others["diff"] <= others["diff_high"]).all()
    assert table.attrs["ignored_columns"] == ["procedure"]
    assert table.attrs["predictions"].shape == (12, len(one_shot_registry) + 1)


def test_a_dynamic_model_is_scored_like_any_other(tmp_path):
    dynamic = [k for k, v in available().items() if v.dynamic][:1]
    if not dynamic:
        pytest.skip("no dynamic model registered")
    table = backtest(_deu(tmp_path / "deu.csv", n=6), models=dynamic, n_boot=100)
    row = table.set_index("model").loc[dynamic[0]]
    assert row["n"] + row["failed"] == 6 and row["n"] > 0 and np.isfinite(row["mae"])


def test_the_status_quo_scores_zero_when_nothing_changed(tmp_path):
    table = backtest(_deu(tmp_path / "deu.csv", outcome="rp"),
                     models=["status_quo", "mean"], n_boot=200).set_index("model")
    assert list(table.index) == ["status_quo", "mean", "compromise", "ensemble"]  # the reference joins
    assert table.loc["status_quo", "mae"] == 0.0
    assert table.loc["status_quo", "diff"] == pytest.approx(-table.loc["compromise", "mae"])
    assert table.loc["status_quo", "diff_high"] < 0  # reliably better than compromise here


def test_capability_columns_weigh_the_actors(tmp_path):
    path = _deu(tmp_path / "deu.csv", capability=True, seed=4)
    data = read_deu(path)
    assert data.capability_given and data.capability.shape == (12, len(ACTORS))
    assert backtest(path, models=["compromise"], n_boot=0).loc[0, "mae"] == \
        pytest.approx(0.0, abs=1e-9)
    # the same file read without its capabilities is no longer the compromise's answer
    text = path.read_text().splitlines()
    keep = [j for j, h in enumerate(text[0].split(",")) if not h.startswith("c")]
    (tmp_path / "equal.csv").write_text(
        "\n".join(",".join(r.split(",")[j] for j in keep) for r in text) + "\n")
    assert backtest(tmp_path / "equal.csv", models=["compromise"], n_boot=0).loc[0, "mae"] > 0.1


def test_the_bootstrap_is_seeded(tmp_path):
    path = _deu(tmp_path / "deu.csv", n=15, seed=2)
    a = backtest(path, models=["mean", "median"], n_boot=300, seed=5)
    b = backtest(path, models=["mean", "median"], n_boot=300, seed=5)
    c = backtest(path, models=["mean", "median"], n_boot=300, seed=6)
    assert a.equals(b)
    assert not a["diff_low"].equals(c["diff_low"])
    # the seed moves the intervals (and the ensemble's folds), never the models' errors
    assert a["mae"][:3].equals(c["mae"][:3])


def test_saliences_are_read_on_the_deu_0_to_100_scale(tmp_path):
    data = read_deu(_deu(tmp_path / "deu.csv"))
    assert data.actors == ACTORS
    assert np.nanmax(data.salience) <= 1.0 and np.nanmin(data.salience) >= 0.1
    assert np.array_equal(np.isnan(data.position), np.isnan(data.salience))
    assert data.lines[0] == 2 and data.issues[0] == "I0"


def test_bad_files_raise_every_problem_located_by_line_and_column(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "issue_id,pCOM,sCOM,pEP,sEP,pFR,rp,out\n"
        "a,50,80,150,60,,10,20\n"          # pEP off the scale
        "b,50,,40,60,,10,x\n"              # a lone position is no stance; out not a number
        "a,50,80,40,60,,10,20\n")          # id used before
    with pytest.raises(ScenarioError) as err:
        read_deu(bad)
    got = {(p.line, p.field, p.column) for p in err.value.problems}
    assert (1, "header", 6) in got          # pFR without sFR
    assert (2, "pEP", 4) in got
    assert (3, "out", 8) in got
    assert (4, "issue_id", 1) in got
    assert not any(p.field == "sCOM" for p in err.value.problems)
    assert "bad.csv:2:4: pEP: got '150'" in str(err.value)


def test_a_file_without_rp_out_or_actors_says_so(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("issue,procedure\nx,COD\n")
    with pytest.raises(ScenarioError) as err:
        read_deu(bad)
    fields = [(p.field, p.value) for p in err.value.problems]
    assert ("header", "rp") in fields and ("header", "out") in fields
    assert any(f == "header" and isinstance(v, list) for f, v in fields)
    one = tmp_path / "one.csv"
    one.write_text("pCOM,sCOM,pEP,sEP,rp,out\n50,50,,,10,20\n")
    data = read_deu(one)  # one actor: kept, counted, not scorable
    assert data.summary["too_few_actors"] == 1 and not data.scorable.any()
    with pytest.raises(ScenarioError, match="an existing file"):
        read_deu(tmp_path / "absent.csv")


def test_unknown_models_are_refused(tmp_path):
    with pytest.raises(ScenarioError, match="models: got 'nope'"):
        backtest(_deu(tmp_path / "deu.csv"), models=["nope"])


def test_a_metadata_column_that_looks_like_an_actor_can_be_named_and_ignored(tmp_path):
    path = tmp_path / "meta.csv"
    path.write_text("sec,pCOM,sCOM,pEP,sEP,rp,out\nAGRI,50,50,70,50,10,60\n")
    with pytest.raises(ScenarioError, match="'pec'"):
        read_deu(path)
    data = read_deu(path, ignore=["sec"])
    assert data.actors == ("COM", "EP") and data.ignored_columns == ("sec",)
    assert backtest(path, models=["mean"], n_boot=0, ignore=["sec"],
                    min_actors=2).loc[0, "mae"] == 0.0
