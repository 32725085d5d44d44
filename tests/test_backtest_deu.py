"""The backtest on generated files in the exact DEU III layout: reading as distributed,
proposals as negotiations, Council power, forecast distributions, an honest ensemble."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.analysis import backtest as bt
from accord.analysis.backtest import backtest, calibrated, ensemble_cv, scores
from accord.analysis.deu_synthetic import ACTORS, write_synthetic_deu
from accord.errors import ScenarioError
from accord.scenario.io.deu import read_deu


@pytest.fixture(scope="module")
def deu3(tmp_path_factory) -> Path:
    return write_synthetic_deu(tmp_path_factory.mktemp("deu") / "Dataset_DEU_III.csv",
                               issues=60, proposals=22, seed=3)


def _rewrite(src: Path, dst: Path, sep: str, blank: bool) -> Path:
    """The same file with another delimiter, and blanks instead of ``999``."""
    rows = [ln.split(";") for ln in src.read_text().splitlines()]
    dst.write_text("\n".join(sep.join("" if blank and c == "999" else c for c in r)
                             for r in rows) + "\n")
    return dst


def test_deu3_as_distributed_is_read_and_what_is_missing_is_counted(deu3):
    data = read_deu(deu3)
    s = data.summary
    assert data.delimiter == ";" and data.actors == ACTORS
    assert s["rows"] == 60 and s["proposals"] == 22
    assert s["lone_salience"] > 0  # non-members' salience 0 without a position
    assert s["no_reference"] > 0 and s["no_outcome"] >= 0
    assert s["scorable"] == 60 - s["no_outcome"] - s["too_few_actors"]
    assert np.array_equal(np.isnan(data.position), np.isnan(data.salience))
    assert np.nanmax(data.salience) <= 1.0
    # non-members take no place in the game: no Romanian stance before 2007
    early = np.array([d is not None and d.year < 2007 for d in data.decided])
    assert np.isnan(data.position[early, ACTORS.index("ro")]).all()
    assert set(data.rule) <= {"QMV", "QMV(10)", "Unan"}
    assert len({d for d in data.proposal}) == 22
    assert all(p == i[: i.rindex("i")] for p, i in zip(data.proposal, data.issues))


@pytest.mark.parametrize("sep,blank", [("\t", True), (",", True), (",", False), ("\t", False)])
def test_tab_comma_and_blank_missing_variants_read_the_same(deu3, tmp_path, sep, blank):
    a, b = read_deu(deu3), read_deu(_rewrite(deu3, tmp_path / "copy.txt", sep, blank))
    assert b.delimiter == sep
    for f in ("position", "salience", "reference", "outcome"):
        assert np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True)
    assert (a.decided, a.rule, a.proposal) == (b.decided, b.rule, b.proposal)
    assert {k: v for k, v in a.summary.items() if k != "delimiter"} == \
        {k: v for k, v in b.summary.items() if k != "delimiter"}


def _mini(tmp_path: Path, rows: list[str], name="mini.csv") -> Path:
    head = "prnr;isnr;proc;counvte;intro;finact;pcom;scom;pde;sde;plu;slu;pro;sro;rp;out"
    path = tmp_path / name
    path.write_text("\n".join([head, *rows]) + "\n")
    return path


def test_dates_come_in_three_shapes_and_a_spreadsheet_reread_is_undone(tmp_path):
    path = _mini(tmp_path, [
        "d99001;d99001i1;COD;QMV;03-02-99;17-05-01;0;50;100;50;50;50;999;0;50;40",
        "d99001;d99001i2;COD;QMV;03-02-1999;2017-05-01;0;50;100;50;50;50;999;0;50;40",
        "d99002;d99002i1;CNS;Unan;999;999;0;50;100;50;50;50;999;0;999;999"])
    data = read_deu(path)
    assert [d and d.isoformat() for d in data.decided] == ["2001-05-17", "2001-05-17", None]
    assert data.date_from == ("finact", "finact", "")
    assert math.isnan(data.reference[2]) and not data.scorable[2]
    # a true ISO date: read as a re-read it would be 5 June 2001, before the proposal
    literal = _mini(tmp_path, ["d05001;d05001i1;COD;QMV;03-02-2005;2005-06-01;0;50;100;50;50;50;999;0;50;40"],
                    "iso.csv")
    assert read_deu(literal, iso_dates="iso").decided[0].isoformat() == "2005-06-01"
    with pytest.raises(ScenarioError, match="iso_dates='iso'"):
        read_deu(literal)


def test_lone_saliences_lone_positions_and_missing_values_are_no_stance(tmp_path):
    path = _mini(tmp_path, [
        # com: position without salience; ro: salience 0 without position (not a member)
        "d99001;d99001i1;COD;QMV;03-02-99;17-05-01;30;999;100;50;50;50;999;0;999;60",
        "d99001;d99001i2;COD;QMV;03-02-99;17-05-01;;;100;50;50;50;;0;20;",
    ], "lone.csv")
    data = read_deu(path, min_actors=2)
    assert data.summary["lone_position"] == 1 and data.summary["lone_salience"] == 2
    assert np.isnan(data.position[0, 0]) and np.isnan(data.position[:, 3]).all()
    assert data.summary["no_reference"] == 1 and data.summary["no_outcome"] == 1
    assert data.scorable.tolist() == [True, False]
    filled = read_deu(path, min_actors=2, reference_fill="midpoint")
    assert filled.reference[0] == 50.0 and filled.reference_filled.tolist() == [True, False]


def test_everything_else_wrong_is_located_and_reported_at_once(tmp_path):
    path = _mini(tmp_path, [
        "d99001;d99001i1;COD;QMV;03-02-99;17-05-01;0;50;150;50;50;50;999;0;50;40",
        "d99001;d99001i2;COD;majority;31-02-99;17-05-01;0;50;100;50;5O;50;999;0;50;40",
        "d99001;d99001i1;COD;QMV;03-02-99;17-05-01;0;50;100;50;50;50;999;0;50;101",
    ], "bad.csv")
    with pytest.raises(ScenarioError) as err:
        read_deu(path)
    got = {(p.line, p.field, p.column, p.value) for p in err.value.problems}
    assert (2, "pde", 9, "150") in got
    assert (3, "counvte", 4, "majority") in got
    assert (3, "intro", 5, "31-02-99") in got
    assert (3, "plu", 11, "5O") in got
    assert (4, "out", 16, "101") in got
    assert any(p.line == 4 and p.field == "isnr" for p in err.value.problems)
    assert "bad.csv:2:9: pde: got '150'; expected a position on [0, 100]" in str(err.value)


def test_a_tab_file_read_with_the_wrong_delimiter_says_how_it_was_split(deu3, tmp_path):
    tab = _rewrite(deu3, tmp_path / "tab.txt", "\t", True)
    with pytest.raises(ScenarioError, match="split on ';'"):
        read_deu(tab, delimiter=";")


def test_council_power_weighs_the_compromise_model(tmp_path):
    # EU-15, QMV, decided 2001: Germany 7/60, Luxembourg 932/45045 (Shapley-Shubik), the
    # Commission at the largest member's power (largest_state); Romania has no vote.
    path = _mini(tmp_path, ["n99001;n99001i1;CNS;QMV;03-02-99;17-05-01;50;50;0;50;100;50;999;0;50;40"],
                 "power.csv")
    de, lu = Fraction(7, 60), Fraction(932, 45045)
    expect = float((50 * de + 0 * de + 100 * lu) / (de + de + lu))
    t = backtest(path, models=["compromise"], n_boot=0, draws=0, folds=0)
    assert t.attrs["power"] == "ssi"
    assert t.attrs["predictions"]["compromise"].iloc[0] == pytest.approx(expect, abs=1e-9)
    dropped = backtest(path, models=["compromise"], n_boot=0, draws=0, folds=0,
                       supranational="dropped")
    assert dropped.attrs["predictions"]["compromise"].iloc[0] == pytest.approx(
        float(100 * lu / (de + lu)), abs=1e-9)
    equal = backtest(path, models=["compromise"], n_boot=0, draws=0, folds=0, power="equal")
    assert equal.attrs["predictions"]["compromise"].iloc[0] == pytest.approx(50.0)
    unan = _mini(tmp_path, ["n99001;n99001i1;CNS;Unan;03-02-99;17-05-01;50;50;0;50;100;50;999;0;50;40"],
                 "unan.csv")
    t = backtest(unan, models=["compromise"], n_boot=0, draws=0, folds=0)
    assert t.attrs["predictions"]["compromise"].iloc[0] == pytest.approx(50.0)  # equal vetoes


def test_the_exchange_model_trades_only_when_a_proposal_runs_as_one_negotiation(deu3):
    per_issue = backtest(deu3, models=["exchange"], n_boot=0, draws=0, folds=0, joint=False)
    joint = backtest(deu3, models=["exchange"], n_boot=0, draws=0, folds=0, joint=True)
    p1, p2 = per_issue.attrs["predictions"], joint.attrs["predictions"]
    ok = per_issue.attrs["scorable"]
    # alone, an issue offers nothing to trade: the exchange model is the compromise model
    assert np.allclose(p1["exchange"][ok], p1["compromise"][ok], atol=1e-6)
    data = read_deu(deu3)
    multi = np.array([data.proposal.count(p) > 1 for p in data.proposal]) & ok
    assert (np.abs(p2["exchange"] - p2["compromise"])[multi] > 1e-6).any()
    single = ok & ~multi
    assert np.allclose(p2["exchange"][single], p2["compromise"][single], atol=1e-6)


def test_smp_proposals_stacked_on_the_draw_axis_equal_one_call_each(deu3):
    data = read_deu(deu3)
    cap = np.ones_like(data.position)
    pos, sal = bt.perturb(data, 2, 10.0, 0.1, np.random.default_rng(0))
    stacked, _ = bt.forecasts(data, ["smp"], cap, pos, sal, joint=True)
    props = {}
    for k, p in enumerate(data.proposal):
        props.setdefault(p, []).append(k)
    some = [ks for ks in props.values() if len(ks) > 1][:3]
    assert some
    for ks in some:
        one = {m: np.full_like(v, np.nan) for m, v in stacked.items()}
        bt._smp_stacked("smp", data, cap, pos, sal, {"x": ks}, 0, one, lambda *a: None)
        assert np.allclose(one["smp"][:, ks], stacked["smp"][:, ks], equal_nan=True)


def test_scores_know_their_answers():
    y = np.array([0.0, 50.0, 100.0])
    point = np.array([10.0, 50.0, 70.0])
    dist = np.repeat(point[None], 5, axis=0)  # a point mass: CRPS is the absolute error
    s = scores(point, dist, y)
    assert s["crps"] == pytest.approx(np.mean([10.0, 0.0, 30.0]))
    assert s["rmse"] == pytest.approx(math.sqrt((100 + 0 + 900) / 3))
    assert s["median_ae"] == 10.0 and s["within_10"] == pytest.approx(2 / 3)
    assert s["coverage_95"] == pytest.approx(1 / 3)
    wide = np.linspace(0, 100, 101)[:, None].repeat(3, axis=1)
    w = scores(point, wide, y)
    # outcomes at the ends of the scale fall outside even the 95% interval of a uniform forecast
    assert w["coverage_50"] == pytest.approx(1 / 3) and w["coverage_95"] == pytest.approx(1 / 3)
    assert sum(w["pit"]) == 3


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(5, 60), st.floats(0.0, 40.0))
def test_coverage_grows_with_the_level_and_crps_is_never_negative(seed, n, spread):
    rng = np.random.default_rng(seed)
    y = rng.uniform(0, 100, n)
    point = rng.uniform(0, 100, n)
    dist = point + rng.normal(0, spread, (30, n))
    s = scores(point, dist, y, rng)
    assert 0 <= s["coverage_50"] <= s["coverage_80"] <= s["coverage_95"] <= 1
    assert 0 <= s["crps"] <= np.mean(np.abs(dist - y).mean(axis=0)) + 1e-9
    assert sum(s["pit"]) == n


def test_no_outcome_of_a_test_fold_reaches_the_ensemble_weights():
    rng = np.random.default_rng(0)
    n, m = 80, 4
    X = rng.uniform(0, 100, (n, m))
    y = 0.7 * X[:, 1] + 0.3 * X[:, 2] + rng.normal(0, 5, n)
    groups = [f"p{k // 3}" for k in range(n)]  # proposals of three issues
    fold, w, oof = ensemble_cv(X, y, groups, folds=4, seed=1)
    assert np.allclose(w.sum(axis=1), 1) and (w >= 0).all()
    for g in set(groups):  # a proposal never straddles folds
        assert len({fold[k] for k in range(n) if groups[k] == g}) == 1
    for f in range(4):
        y2 = y.copy()
        y2[fold == f] = rng.uniform(0, 100, (fold == f).sum())  # rewrite the test fold's outcomes
        fold2, w2, oof2 = ensemble_cv(X, y2, groups, folds=4, seed=1)
        assert np.array_equal(fold2, fold)
        assert np.array_equal(w2[f], w[f])                     # its weights do not move
        assert np.array_equal(oof2[fold == f], oof[fold == f])  # nor its forecasts
        assert not np.array_equal(w2, w)                       # the other folds' do


def test_the_backtest_ensemble_is_out_of_fold_end_to_end(deu3, tmp_path):
    models = ["mean", "compromise", "median"]
    t = backtest(deu3, models=models, n_boot=0, draws=0, folds=3)
    ens = t.attrs["ensemble"]
    fold_of = ens["fold_of_issue"]
    target = 1
    lines = deu3.read_text().splitlines()
    head = lines[0].split(";")
    j_out, j_isnr = head.index("out"), head.index("isnr")
    rows = [ln.split(";") for ln in lines[1:]]
    for r in rows:  # move every outcome of fold 1
        if fold_of.get(r[j_isnr]) == target and r[j_out] != "999":
            r[j_out] = str(100 - int(r[j_out]))
    moved = tmp_path / "moved.csv"
    moved.write_text("\n".join([lines[0]] + [";".join(r) for r in rows]) + "\n")
    u = backtest(moved, models=models, n_boot=0, draws=0, folds=3)
    assert u.attrs["ensemble"]["weights"][target] == ens["weights"][target]
    keys = [i for i, f in fold_of.items() if f == target]
    assert np.array_equal(u.attrs["predictions"].loc[keys, "ensemble"],
                          t.attrs["predictions"].loc[keys, "ensemble"])


def test_the_calibrated_distribution_of_a_fold_never_sees_its_outcomes():
    rng = np.random.default_rng(2)
    table = rng.uniform(0, 100, (6, 40))
    y = rng.uniform(0, 100, 40)
    fold = np.arange(40) % 4
    a = calibrated(table, y, fold)
    y2 = y.copy()
    y2[fold == 2] = 0.0
    b = calibrated(table, y2, fold)
    assert np.array_equal(a[:, fold == 2], b[:, fold == 2])
    assert a.shape == (5 * bt.CAL_QUANTILES, 40) and (a >= 0).all() and (a <= 100).all()


def test_the_backtest_on_a_deu3_file_reports_the_new_keys_and_subsets(deu3):
    models = ["mean", "compromise", "median", "nbs", "status_quo"]
    t = backtest(deu3, models=models, n_boot=200, draws=6, folds=3)
    by = t.set_index("model")
    assert list(by.index) == ["status_quo", "mean", "compromise", "median", "nbs", "ensemble"]
    s = t.attrs["reading"]
    assert t.attrs["issues"] == s["scorable"]
    # the status quo cannot forecast where the reference point is unknown, and says so
    assert by.loc["status_quo", "failed"] == s["no_reference_scorable"]
    assert all("reference point is unknown" in m for _, m in t.attrs["failures"]["status_quo"])
    for m in ("mean", "compromise", "median", "nbs"):
        r = by.loc[m]
        assert r["n"] == s["scorable"] and r["crps"] >= 0
        assert r["coverage_50"] <= r["coverage_80"] <= r["coverage_95"]
        assert r["coverage_50_cal"] <= r["coverage_80_cal"] <= r["coverage_95_cal"]
    assert by.loc["ensemble", "n"] == s["scorable"]
    sub = t.attrs["subsets"]
    assert {"rule", "issue", "period", "procedure"} <= set(sub["subset"])
    assert {"QMV", "unanimity"} <= set(sub[sub.subset == "rule"]["label"])
    for dim in ("rule", "issue"):
        part = sub[(sub.subset == dim) & (sub.model == "mean")]
        assert part["n"].sum() == by.loc["mean", "n"]
    d = t.attrs["diagnosis"]
    assert {"forecast at the status quo", "outcome at 0 or 100"} <= set(d["case"])
    # each partition of the scored issues accounts for the whole MAE difference
    lost = d.groupby(["model", "by"])["points_lost"].sum()
    for (model, _), value in lost.items():
        assert value == pytest.approx(by.loc[model, "diff"], abs=1e-9)
    # the Nash bargaining solution at the status quo: exactly where its forecast is rp
    nbs = d[(d.model == "nbs") & (d.case == "forecast at the status quo")]
    pred, data = t.attrs["predictions"]["nbs"].to_numpy(), read_deu(deu3)
    assert int(nbs["n"].iloc[0]) == int((t.attrs["scorable"] & (np.abs(pred - data.reference) < 0.5)).sum())
    assert len(t.attrs["pit"]["mean"]) == bt.PIT_BINS and sum(t.attrs["pit"]["mean"]) == s["scorable"]
    again = backtest(deu3, models=models, n_boot=200, draws=6, folds=3)
    assert again.equals(t)  # seeded: the same numbers


def test_bad_settings_are_reported_together(deu3):
    with pytest.raises(ScenarioError) as err:
        backtest(deu3, draws=-1, folds=1, power="gdp", position_sd=-2)
    assert {p.field for p in err.value.problems} == {"draws", "folds", "power", "position_sd"}


def test_the_cli_keeps_todays_json_keys_adds_the_new_ones_and_writes_the_report(deu3, tmp_path):
    import json

    from typer.testing import CliRunner

    from accord.cli import app

    page = tmp_path / "backtest.html"
    res = CliRunner().invoke(app, ["backtest", str(deu3), "-m", "mean", "-m", "nbs",
                                   "--n-boot", "100", "--draws", "4", "--folds", "3",
                                   "--report", str(page), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert {"file", "sha256", "seed", "n_boot", "issues", "models", "failures"} <= set(doc)
    first = doc["models"][0]
    for key in ("model", "n", "failed", "mae", "mae_low", "mae_high", "diff", "diff_low",
                "diff_high", "crps", "coverage_50", "coverage_80", "coverage_95"):
        assert key in first
    assert [m["model"] for m in doc["models"]] == ["mean", "compromise", "nbs", "ensemble"]
    assert doc["reading"]["delimiter"] == ";" and doc["setting"]["power"] == "ssi"
    html = page.read_text()
    assert "Leaderboard" in html and "What each model gets wrong" in html
    assert "<script src=" not in html and "<link" not in html  # self-contained, no CDN
    assert html.count("Plotly.newPlot") >= 3
    bad = tmp_path / "bad.csv"
    bad.write_text(deu3.read_text().replace(";QMV;", ";QMW;", 1))
    res = CliRunner().invoke(app, ["backtest", str(bad)])
    assert res.exit_code == 2 and "counvte: got 'QMW'" in res.output


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 12), st.sampled_from(["\t", ","]))
def test_any_generated_deu3_file_reads_the_same_in_every_layout(seed, proposals, sep):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        src = write_synthetic_deu(Path(tmp) / "deu.csv", issues=proposals * 2,
                                  proposals=proposals, seed=seed)
        a = read_deu(src)
        b = read_deu(_rewrite(src, Path(tmp) / "copy.txt", sep, True))
        neither = _both_missing(src)
    s = a.summary
    assert s["scorable"] == s["rows"] - s["no_outcome"] - s["too_few_actors"] == a.scorable.sum()
    assert np.array_equal(a.position, b.position, equal_nan=True)
    assert np.array_equal(a.salience, b.salience, equal_nan=True)
    assert np.array_equal(a.reference, b.reference, equal_nan=True)
    assert (~np.isnan(a.position)).sum() + s["lone_salience"] + s["lone_position"] == \
        a.position.size - neither


def _both_missing(path: Path) -> int:
    """Cells where neither a position nor a salience is coded."""
    rows = [ln.split(";") for ln in path.read_text().splitlines()]
    head = rows[0]
    n = 0
    for r in rows[1:]:
        for x in ACTORS:
            n += r[head.index("p" + x)] == "999" and r[head.index("s" + x)] == "999"
    return n


def test_a_line_that_is_no_issue_can_be_skipped_by_number(deu3, tmp_path):
    lines = deu3.read_text().splitlines()
    gdp = ";".join(["GDP"] + ["12345"] * (len(lines[0].split(";")) - 1))
    path = tmp_path / "gdp.csv"
    path.write_text("\n".join([lines[0], gdp] + lines[1:]) + "\n")
    with pytest.raises(ScenarioError) as err:
        read_deu(path)
    assert all(p.line == 2 for p in err.value.problems)
    data = read_deu(path, skip_lines=[2])
    assert data.summary["skipped_lines"] == [2] and data.summary["rows"] == len(lines) - 1
    assert data.lines[0] == 3


def test_the_backtest_says_what_a_model_did_without_a_reference_point(deu3):
    t = backtest(deu3, models=["nbs"], n_boot=0, draws=0, folds=0)
    assert any(n.startswith("nbs: on ") for n in t.attrs["notes"])


def test_a_file_saved_in_cp1252_is_refused_with_a_hint_and_read_when_named(tmp_path):
    path = _mini(tmp_path, ["d99001;d99001i1;COD;QMV;03-02-99;17-05-01;0;50;100;50;50;50;999;0;50;40"])
    text = path.read_text().replace("prnr;isnr", "prnr;isnr", 1).splitlines()
    head = text[0] + ";prname"
    rows = [text[1] + ";Règlement"]
    raw = path.with_name("cp.csv")
    raw.write_bytes("\n".join([head, *rows]).encode("cp1252") + b"\n")
    with pytest.raises(ScenarioError, match="encoding='cp1252'"):
        read_deu(raw)
    data = read_deu(raw, encoding="cp1252", min_actors=2)
    assert data.issues == ("d99001i1",) and "prname" in data.ignored_columns


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(10, 60), st.integers(2, 5), st.integers(2, 6))
def test_ensemble_forecasts_stay_within_the_models_forecasts(seed, n, m, folds):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 100, (n, m))
    y = rng.uniform(0, 100, n)
    groups = [f"p{k // 2}" for k in range(n)]
    fold, w, oof = ensemble_cv(X, y, groups, folds=folds, seed=seed)
    assert np.allclose(w.sum(axis=1), 1.0) and (w >= -1e-12).all()
    assert (oof >= X.min(axis=1) - 1e-9).all() and (oof <= X.max(axis=1) + 1e-9).all()
    assert set(fold) <= set(range(folds))


def test_the_report_page_is_the_same_bytes_for_the_same_run(deu3):
    from accord.report.backtest import backtest_html, lessons, verdict

    t = backtest(deu3, models=["mean", "nbs"], n_boot=100, draws=3, folds=3)
    page = backtest_html(t)
    assert page == backtest_html(backtest(deu3, models=["mean", "nbs"], n_boot=100, draws=3, folds=3))
    assert verdict(t) in page.replace("&#39;", "'")
    said = dict(lessons(t))
    assert "nbs" in said and "compromise" not in said


def test_the_proposal_bootstrap_does_not_count_a_repeated_issue_as_new_evidence():
    rng = np.random.default_rng(4)
    v = rng.normal(0, 10, 60)
    props = [f"p{k}" for k in range(60)]
    once = bt._cluster_boot(v, props, 2000, 0, 0.95)
    twice = bt._cluster_boot(np.repeat(v, 2), np.repeat(props, 2), 2000, 0, 0.95)
    assert twice == pytest.approx(once, abs=1e-12)  # same proposals, same evidence
    narrower = bt._ci(np.repeat(v, 2), 2000, 0, 0.95)  # the issue bootstrap is fooled
    assert narrower[1] - narrower[0] < 0.8 * (once[1] - once[0])
    assert bt._cluster_boot(np.full(5, 2.0), props[:5], 100, 0, 0.95) == (2.0, 2.0, 0.0)


def test_the_minimum_detectable_effect_is_2_8_standard_errors(deu3):
    t = backtest(deu3, models=["mean"], n_boot=0, draws=0, folds=0)
    e = np.abs(t.attrs["predictions"].to_numpy() - t.attrs["outcome"][:, None])[t.attrs["scorable"]]
    d = e[:, 0] - e[:, 1]  # mean − compromise (registry order: mean, compromise)
    row = t.set_index("model").loc["mean"]
    assert row["mde"] == pytest.approx(bt.MDE_Z * d.std(ddof=1) / np.sqrt(d.size))
    assert bt.MDE_Z == pytest.approx(1.95996 + 0.84162, abs=1e-4)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_corrupted_deu_file_is_read_or_refused_with_located_problems(deu3, data):
    lines = deu3.read_text().splitlines()[:8]
    k = data.draw(st.integers(0, len(lines) - 1))
    cells = lines[k].split(";")
    j = data.draw(st.integers(0, len(cells) - 1))
    cells[j] = data.draw(st.sampled_from(["", "999", "-1", "abc", "1e309", "50;50", "\"",
                                          "31-13-99", "2020-99-99", "QMV(11)", "101", "0"]))
    lines[k] = ";".join(cells)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.csv"
        path.write_text("\n".join(lines) + "\n")
        try:
            got = read_deu(path)
        except ScenarioError as exc:
            assert exc.problems and all(p.file == str(path) for p in exc.problems)
            assert all(p.line is not None for p in exc.problems if p.field != "file")
        else:
            assert got.position.shape[1] == len(ACTORS) or k == 0
