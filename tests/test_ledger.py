"""The forecast ledger: append-only, hash-chained, crash-safe, and scored with proper scores."""

from __future__ import annotations

import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord import ledger
from accord.errors import ScenarioError
from accord.ledger import Question
from accord.ledger.seed import FEASIBILITY_KEYS, ISSUES

SRC = Path(__file__).resolve().parents[1] / "src"

CONT = Question(id="q.cont", text="Where does it settle?", criteria="Coded from the text.",
                deadline="2027-12-31", anchors={0: "no", 100: "yes"})
BIN = Question(id="q.bin", kind="binary", text="Does it happen?", criteria="Yes if it does.",
               deadline="2027-12-31", low=0, high=1)
ORD = Question(id="q.ord", kind="ordered", text="Which one?", criteria="Read from the text.",
               deadline="2027-12-31", categories=("a", "b", "c", "d"), cuts=(25, 50, 75))


def _db(tmp_path: Path, *qs: Question) -> Path:
    db = tmp_path / "ledger.db"
    for q in qs:
        ledger.add_question(db, q)
    return db


# ------------------------------------------------------------------ crash safety

WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from accord import ledger
    db, start = sys.argv[1], int(sys.argv[2])
    k = start
    while True:
        samples = np.random.default_rng(k).uniform(0, 100, 8000)
        ledger.add_forecast(db, "q.cont", model="writer", samples=samples, seed=k)
        print(k, flush=True)
        k += 1
""")


def _expected_samples(k: int) -> np.ndarray:
    return np.random.default_rng(k).uniform(0, 100, 8000)


def test_a_writer_killed_mid_write_leaves_every_committed_forecast_intact(tmp_path):
    db = _db(tmp_path, CONT)
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    committed: list[int] = []
    start = 0
    # three kills, each at a different moment of the next write (encoding, inserting, committing)
    for stop_after, delay in ((5, 0.0), (11, 0.004), (17, 0.009)):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(start)],
                                stdout=subprocess.PIPE, text=True, env=env)
        seen = []
        for line in proc.stdout:
            seen.append(int(line))
            if len(seen) >= stop_after:
                break
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        committed += seen
        report = ledger.verify(db)
        assert report.ok, str(report)
        stored = ledger.forecasts(db, "q.cont")
        start = int(stored["seed"].max()) + 1
    stored = ledger.forecasts(db, "q.cont")
    by_seed = dict(zip(stored["seed"], stored["samples"]))
    assert set(committed) <= set(by_seed)
    for k, samples in by_seed.items():  # committed but not yet printed rows are whole too
        np.testing.assert_array_equal(samples, _expected_samples(int(k)))
    # and the ledger takes further writes
    ledger.add_forecast(db, "q.cont", model="after", samples=[1.0, 2.0])
    assert ledger.verify(db).ok


def test_concurrent_writers_interleave_into_one_valid_chain(tmp_path):
    db = _db(tmp_path, CONT)

    def write(name: str) -> None:
        for k in range(15):
            ledger.add_forecast(db, "q.cont", model=name, samples=[float(k)])

    threads = [threading.Thread(target=write, args=(f"w{j}",)) for j in range(3)]
    for t in threads:
        t.start()
    during = []
    while any(t.is_alive() for t in threads):  # a reader sees a consistent snapshot meanwhile
        during.append(ledger.verify(db))
    for t in threads:
        t.join()
    assert during and all(r.ok for r in during), [str(r) for r in during if not r.ok]
    report = ledger.verify(db)
    assert report.ok, str(report)
    assert report.rows["forecasts"] == 45 and report.head_seq == 46


# ------------------------------------------------------------------ tamper evidence


def _filled(tmp_path: Path) -> Path:
    db = _db(tmp_path, CONT, BIN)
    for k in range(4):
        ledger.add_forecast(db, "q.cont", model=f"m{k}", samples=[10.0 * k, 10.0 * k + 5])
    ledger.add_forecast(db, "q.bin", model="m0", probabilities=0.3)
    ledger.resolve(db, "q.bin", "yes")
    return db


def test_the_triggers_refuse_update_and_delete(tmp_path):
    db = _filled(tmp_path)
    con = sqlite3.connect(db)
    for sql in ("UPDATE forecasts SET model='x' WHERE row=1", "DELETE FROM questions WHERE row=1",
                "UPDATE resolutions SET outcome=0", "DELETE FROM forecasts"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute(sql)
    con.close()
    assert ledger.verify(db).ok


def test_a_hand_edited_row_fails_verify_and_is_named(tmp_path):
    db = _filled(tmp_path)
    assert ledger.verify(db).ok
    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER forecasts_no_update")
    con.execute("UPDATE forecasts SET samples='[99.0,99.0]' WHERE row=3")
    con.commit()
    con.close()
    report = ledger.verify(db)
    assert not report.ok
    edited = [p for p in report.problems if p.table == "forecasts" and p.row == 3]
    assert edited and "content edited" in edited[0].what
    assert "forecasts row 3" in str(report)
    assert any("forecasts_no_update missing" in p.what for p in report.problems)
    # nothing else is blamed: the other rows still verify
    assert {(p.table, p.row) for p in report.problems} == {("forecasts", 3), ("forecasts", None)}


_EDITABLE = {"questions": ["text", "criteria", "low", "deadline", "anchors"],
             "forecasts": ["model", "seed", "samples", "probabilities", "params", "created"],
             "resolutions": ["outcome", "note", "resolved"]}
_ROWS = {"questions": 2, "forecasts": 5, "resolutions": 1}


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_edited_cell_is_found_in_its_own_row(tmp_path_factory, data):
    template = tmp_path_factory.getbasetemp() / "template.db"
    if not template.exists():
        _filled(template.parent)
        (template.parent / "ledger.db").rename(template)
        for suffix in ("-wal", "-shm"):
            (template.parent / f"ledger.db{suffix}").unlink(missing_ok=True)
    table = data.draw(st.sampled_from(sorted(_EDITABLE)))
    column = data.draw(st.sampled_from(_EDITABLE[table]))
    row = data.draw(st.integers(1, _ROWS[table]))
    db = tmp_path_factory.mktemp("edit") / "ledger.db"
    shutil.copyfile(template, db)
    con = sqlite3.connect(db)
    old = con.execute(f"SELECT {column} FROM {table} WHERE row=?", (row,)).fetchone()[0]
    if column in ("low", "seed", "outcome"):
        new = data.draw(st.integers(1, 5).map(lambda d: (old or 0) + d))
    else:
        text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                       min_size=1, max_size=12)
        new = data.draw(text.filter(lambda t: t != old))
    con.execute(f"DROP TRIGGER {table}_no_update")
    con.execute(f"UPDATE {table} SET {column}=? WHERE row=?", (new, row))
    con.commit()
    con.close()
    report = ledger.verify(db)
    edited = [(p.table, p.row) for p in report.problems if "content edited" in p.what]
    assert edited == [(table, row)]


def test_a_row_rewritten_with_a_fresh_hash_breaks_the_chain_at_the_next_row(tmp_path):
    db = _filled(tmp_path)
    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER forecasts_no_update")
    cur = con.execute("SELECT * FROM forecasts WHERE row=2")
    row = dict(zip([d[0] for d in cur.description], cur.fetchone()))
    row["model"] = "forged"
    forged = ledger.store.row_hash("forecasts", row)
    con.execute("UPDATE forecasts SET model='forged', hash=? WHERE row=2", (forged,))
    con.commit()
    con.close()
    report = ledger.verify(db)
    assert [(p.table, p.row) for p in report.problems if "chain broken" in p.what] == \
        [("forecasts", 3)]


def test_deleted_rows_are_found_in_the_middle_and_at_the_end(tmp_path):
    db = _filled(tmp_path)
    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER forecasts_no_delete")
    con.execute("DELETE FROM forecasts WHERE row=2")
    con.execute("DELETE FROM forecasts WHERE row=5")  # the newest forecast
    con.commit()
    con.close()
    report = ledger.verify(db)
    missing = {p.row for p in report.problems if p.table == "forecasts" and "missing" in p.what}
    assert {2, 5} <= missing


def test_a_truncated_tail_is_caught_with_the_head_kept_elsewhere(tmp_path):
    db = _filled(tmp_path)
    head = ledger.verify(db).head_hash
    assert ledger.verify(db, expected_head=head).ok
    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER resolutions_no_delete")
    con.execute("DELETE FROM resolutions")
    con.execute("DELETE FROM sqlite_sequence WHERE name='resolutions'")
    con.commit()
    con.close()
    assert ledger.verify(db).ok is False  # the dropped trigger still shows
    report = ledger.verify(db, expected_head=head)
    assert any("expected head" in p.what for p in report.problems)


# ------------------------------------------------------------------ input checks


def test_bad_forecasts_and_resolutions_are_refused_with_located_problems(tmp_path):
    db = _db(tmp_path, CONT, BIN, ORD)
    with pytest.raises(ScenarioError) as err:
        ledger.add_forecast(db, "q.cont", model="m", samples=[1.0, math.nan, 150.0],
                            quantiles={0.5: 40.0, 1.5: 60.0})
    fields = [p.field for p in err.value.problems]
    assert "forecast on 'q.cont'.samples[1]" in fields
    assert "forecast on 'q.cont'.samples[2]" in fields
    assert "forecast on 'q.cont'.quantiles" in fields
    with pytest.raises(ScenarioError, match="summing to 1"):
        ledger.add_forecast(db, "q.ord", model="m", probabilities=[0.5, 0.5, 0.5, 0.0])
    no_cuts = Question(id="q.ord2", kind="ordered", text="Which?", criteria="Read it.",
                       deadline="2027-12-31", categories=("a", "b"))
    ledger.add_question(db, no_cuts)
    with pytest.raises(ScenarioError, match="no cuts"):
        ledger.add_forecast(db, "q.ord2", model="m", samples=[10.0, 90.0])
    with pytest.raises(ScenarioError, match="id of a question"):
        ledger.add_forecast(db, "q.none", model="m", samples=[1.0])
    with pytest.raises(ScenarioError, match="not yet in the ledger"):
        ledger.add_question(db, CONT)
    with pytest.raises(ScenarioError, match="yes/no"):
        ledger.resolve(db, "q.bin", 0.5)
    ledger.resolve(db, "q.bin", 1)
    with pytest.raises(ScenarioError, match="not a forecast"):
        ledger.add_forecast(db, "q.bin", model="late", probabilities=1.0)
    with pytest.raises(ScenarioError, match="not yet resolved"):
        ledger.resolve(db, "q.bin", 0)
    with pytest.raises(ScenarioError, match="existing ledger"):
        ledger.verify(tmp_path / "absent.db")
    assert ledger.verify(db).ok


# ------------------------------------------------------------------ scoring


def test_the_crps_of_a_point_mass_is_its_absolute_error(tmp_path):
    db = _db(tmp_path, CONT)
    ledger.add_forecast(db, "q.cont", model="compromise", samples=np.full(50, 30.0))
    ledger.add_forecast(db, "q.cont", model="median",
                        quantiles={0.1: 70.0, 0.5: 70.0, 0.9: 70.0})
    ledger.add_forecast(db, "q.cont", model="bdm", samples=[10.0, 20.0, 30.0])
    ledger.resolve(db, "q.cont", 30)
    table = ledger.score(db, "q.cont").set_index("model")
    assert table.loc["compromise", "crps"] == pytest.approx(0.0)
    assert table.loc["median", "crps"] == pytest.approx(40.0)
    assert table.loc["median", "crps_from"] == "quantiles"
    assert table.loc["median", "abs_error_median"] == pytest.approx(40.0)
    # E|X - y| - E|X - X'| / 2 = 10 - (80 / 9) / 2
    assert table.loc["bdm", "crps"] == pytest.approx(10 - 40 / 9)
    assert table.loc["bdm", "abs_error_median"] == pytest.approx(10.0)
    assert list(table.index[:1]) == ["compromise"]  # sorted by CRPS
    assert table.loc["compromise", "baseline"] and not table.loc["bdm", "baseline"]
    assert table.attrs["missing_baselines"] == ["status_quo", "mean"]


def test_binary_and_ordered_questions_get_brier_log_and_ranked_scores(tmp_path):
    db = _db(tmp_path, BIN, ORD)
    ledger.add_forecast(db, "q.bin", model="bdm", probabilities=0.2)
    ledger.add_forecast(db, "q.bin", model="mean", samples=[0.0, 0.5, 1.0, 0.5])
    ledger.resolve(db, "q.bin", "yes")
    b = ledger.score(db, "q.bin").set_index("model")
    assert b.loc["bdm", "brier"] == pytest.approx(0.64)
    assert b.loc["bdm", "log_score"] == pytest.approx(-math.log(0.2))
    assert b.loc["mean", "p_yes"] == pytest.approx(0.5)

    ledger.add_forecast(db, "q.ord", model="bdm", probabilities=[0.1, 0.2, 0.3, 0.4])
    # samples on the scale are binned at the cuts 25, 50, 75: two in c, two in d
    ledger.add_forecast(db, "q.ord", model="status_quo", samples=[60.0, 70.0, 80.0, 99.0])
    ledger.resolve(db, "q.ord", "c")
    o = ledger.score(db, "q.ord").set_index("model")
    assert o.loc["bdm", "rps"] == pytest.approx(0.26)
    assert o.loc["bdm", "brier"] == pytest.approx(0.01 + 0.04 + 0.49 + 0.16)
    assert o.loc["bdm", "log_score"] == pytest.approx(-math.log(0.3))
    assert o.loc["status_quo", "p_outcome"] == pytest.approx(0.5)


def test_baselines_are_scored_beside_whatever_models_are_asked_for(tmp_path):
    db = _db(tmp_path, CONT)
    for model in ("bdm", "smp", "status_quo", "compromise"):
        ledger.add_forecast(db, "q.cont", model=model, samples=[40.0, 60.0])
    with pytest.raises(ScenarioError, match="open"):
        ledger.score(db, "q.cont")
    ledger.resolve(db, "q.cont", 50)
    table = ledger.score(db, "q.cont", models=["bdm"])
    assert sorted(table["model"]) == ["bdm", "compromise", "status_quo"]
    assert len(ledger.score_all(db)) == 4


def test_annulled_questions_are_not_scored(tmp_path):
    db = _db(tmp_path, CONT)
    ledger.add_forecast(db, "q.cont", model="bdm", samples=[40.0])
    ledger.resolve(db, "q.cont", None, annulled=True, note="no settlement signed")
    assert ledger.questions(db)["status"].tolist() == ["annulled"]
    with pytest.raises(ScenarioError, match="annulled"):
        ledger.score(db, "q.cont")


# ------------------------------------------------------------------ the flagship's questions


def test_the_flagship_questions_cover_every_issue_and_both_feasibilities():
    qs = ledger.seed_questions()
    ids = [q.id for q in qs]
    assert len(ids) == len(set(ids))
    maps = {q.maps_to for q in qs}
    assert set(ISSUES) <= maps and set(FEASIBILITY_KEYS) <= maps
    deal = next(q for q in qs if q.maps_to == "outlook_agreement")
    assert deal.kind == "binary" and "30 consecutive days" in deal.criteria
    assert "Russia and Ukraine" in deal.criteria and "do not count" in deal.criteria
    nato = next(q for q in qs if q.id == "flagship.nato_ruled_out")
    assert nato.cuts and "signed" in nato.criteria
    for q in qs:
        if q.kind == "continuous":
            assert (q.low, q.high) == (0.0, 100.0) and len(q.anchors) >= 3
            assert q.condition and "annulled" in q.criteria.lower()


def test_the_flagship_questions_resolve_on_the_flagship_scenarios_own_scales():
    from accord.scenario import load

    flagship = {i.id: i for i in load("ukraine-2025").issues}
    for q in ledger.seed_questions():
        if q.maps_to in flagship:
            issue = flagship[q.maps_to]
            assert q.anchors == dict(issue.anchors) and (q.low, q.high) == (issue.low, issue.high)
    nato = next(q for q in ledger.seed_questions() if q.id == "flagship.nato_ruled_out")
    assert "neutral" in dict(flagship["nato"].anchors)[nato.cuts[0]]  # the cut is an anchor


def test_the_flagship_questions_take_the_scenarios_anchors():
    from accord.scenario.model import Issue

    class Flagship:
        issues = tuple(Issue(id=k, question=k, low=0.0, high=100.0,
                             anchors=((0.0, f"{k} low"), (100.0, f"{k} high"))) for k in ISSUES)

    qs = {q.id: q for q in ledger.seed_questions(scenario=Flagship())}
    assert qs["flagship.territory"].anchors == {0.0: "territory low", 100.0: "territory high"}

    class Partial:
        issues = Flagship.issues[:3]

    with pytest.raises(ScenarioError, match="flagship issue"):
        ledger.seed_questions(scenario=Partial())


def test_seeding_records_each_models_samples_on_the_questions_it_maps_to(tmp_path):
    db = tmp_path / "flagship.db"
    rng = np.random.default_rng(3)
    forecasts = {
        "bdm": {**{k: rng.uniform(0, 100, 64) for k in ISSUES},
                "outlook_agreement": rng.uniform(0, 1, 64), "outlook_ceasefire": rng.uniform(0, 1, 64)},
        "compromise": {"territory": np.full(64, 55.0), "nato": np.full(64, 80.0)},
    }
    out = ledger.seed_ledger(db, forecasts, scenario_sha256="ab" * 32, seed=7,
                             meta={"bdm": {"preset": "scholz_code", "params": {"q": 0.5}}})
    # bdm: 2 feasibility + 15 issues + NATO ruled out + territory category; compromise: 4
    assert (out["model"] == "bdm").sum() == 19 and (out["model"] == "compromise").sum() == 4
    report = ledger.verify(db)
    assert report.ok and report.rows["questions"] == len(ledger.seed_questions())
    stored = ledger.forecasts(db)
    assert set(stored["scenario_sha256"]) == {"ab" * 32}
    assert stored.loc[stored["model"] == "bdm", "preset"].unique().tolist() == ["scholz_code"]
    # seeding again adds forecasts, not questions
    ledger.seed_ledger(db, {"mean": {"territory": [50.0]}})
    assert ledger.verify(db).rows["questions"] == len(ledger.seed_questions())
    ledger.resolve(db, "flagship.nato_ruled_out", "yes")
    scored = ledger.score(db, "flagship.nato_ruled_out").set_index("model")
    assert scored.loc["compromise", "p_yes"] == 1.0  # 80 >= the cut at 75
    with pytest.raises(ScenarioError, match="feasibility key"):
        ledger.seed_ledger(db, {"mean": {"territorry": [50.0]}})


def test_a_forecast_after_the_deadline_is_refused(tmp_path):
    db = _db(tmp_path, CONT)
    with pytest.raises(ScenarioError, match="deadline 2027-12-31"):
        ledger.add_forecast(db, "q.cont", model="m", samples=[1.0],
                            created="2028-01-01T00:00:00+00:00")
    ledger.add_forecast(db, "q.cont", model="m", samples=[1.0], created="2027-12-31T23:00:00+00:00")
    assert len(ledger.forecasts(db)) == 1


def test_questions_are_read_from_a_parsed_file_with_every_problem_located(tmp_path):
    q = ledger.question_from_mapping({"id": "x.1", "text": "t", "criteria": "c",
                                      "deadline": "2027-01-01", "scale": [0, 10],
                                      "kind": "binary", "cuts": [5]}, "qs.yaml", 3)
    db = tmp_path / "l.db"
    ledger.add_question(db, q)
    assert ledger.get_question(db, "x.1").cuts == (5.0,)
    with pytest.raises(ScenarioError) as err:
        ledger.question_from_mapping({"id": "x", "txt": "t", "scale": 3}, "qs.yaml", 7)
    assert {p.field for p in err.value.problems} == {"scale", "txt", "text", "criteria",
                                                     "deadline"}
    assert all(p.file == "qs.yaml" and p.line == 7 for p in err.value.problems)
