"""What-if levers: data in a file, one array axis, located errors."""

from __future__ import annotations

import functools
import json
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import accord
from accord.analysis import sweeps
from accord.analysis.whatif import compile_levers, read_levers, whatif
from accord.errors import ScenarioError
from accord.scenario import bundled

BASELINES = ["status_quo", "mean", "compromise", "median", "nbs"]


@functools.lru_cache(maxsize=1)
def _flagship():
    return accord.load("ukraine-2025")


@pytest.fixture(scope="module")
def flagship():
    return _flagship()


def _write(tmp_path, text: str):
    p = tmp_path / "levers.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def _assert_same(run, k: int, ref: int = 0):
    for m, arr in run.final.items():
        np.testing.assert_array_equal(arr[k], arr[ref], err_msg=m)
    for deal, parts in run.deals.items():
        for key, arr in parts.items():
            np.testing.assert_array_equal(arr[k], arr[ref], err_msg=f"{deal}.{key}")


NULL_OPS = st.sampled_from(["{plus: 0}", "{times: 1}"])


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_lever_that_changes_nothing_changes_no_number(tmp_path, data):
    flagship = _flagship()
    actor = data.draw(st.sampled_from(flagship.actor_ids))
    a = flagship.actor(actor)
    issues = [i for i in flagship.issue_ids if (actor, i) in flagship.stances]
    issue = data.draw(st.sampled_from(issues))
    lines = [f"capability: {data.draw(NULL_OPS)}",
             f"position: {{{issue}: {data.draw(NULL_OPS)}}}",
             f"salience: {{{issue}: {data.draw(NULL_OPS)}}}"]
    # `veto:` sets the veto in every view: a null change only where no view gives another one
    if all(v.veto.get(actor, a.veto) == a.veto for v in flagship.views.values()):
        lines.append(f"veto: {str(a.veto).lower()}")
    if a.no_deal is not None:
        lines.append(f"no_deal: {data.draw(NULL_OPS)}")
    chosen = data.draw(st.lists(st.sampled_from(lines), min_size=1, max_size=4, unique=True))
    text = "\n".join(["levers:", "  - name: nothing", "    changes:", f"      {actor}:"]
                     + ["        " + x for x in chosen]
                     + ["  - name: adds-an-actor", "    add:",
                        "      observer: {capability: 5, no_deal: 0.5, stances: "
                        "{territory: {position: 40, salience: 0.5}}}", ""])
    path = tmp_path / "levers.yaml"
    path.write_text(text)
    arrays = compile_levers(flagship, read_levers(path, flagship))
    run = sweeps.run(flagship, draws=40, seed=7, levers=arrays, models=BASELINES, chunk=25)
    _assert_same(run, 1)
    # the same draws as a run without any lever, padded actor and all
    plain = sweeps.run(flagship, draws=40, seed=7, models=BASELINES, chunk=25)
    for m in BASELINES:
        np.testing.assert_array_equal(run.final[m][0], plain.final[m][0])
    for deal in plain.deals:
        np.testing.assert_array_equal(run.deals[deal]["value"][0], plain.deals[deal]["value"][0])


def test_flagship_levers_shift_what_they_should(flagship):
    w = whatif(flagship, bundled("ukraine-2025") / "levers.yaml", models=["compromise"],
               draws=60, seed=2)
    names = set(w.forecast.lever)
    assert {"none", "us-aid-cut-off", "secondary-tariffs", "sanctions-relief", "land-swaps",
            "eu-for-nato", "europe-takes-burden", "deadline", "sticks-and-carrots"} <= names
    f = w.feasibility[w.feasibility.view == "ensemble"].set_index(["lever", "deal"])
    # a veto player more (Europe) can only make a deal harder
    for deal in ("comprehensive", "ceasefire", "framework"):
        assert f.loc[("europe-veto", deal), "p_feasible"] <= f.loc[("none", deal), "p_feasible"]
        # lowering Russia's no-deal value (the stick) can only make a deal easier
        assert f.loc[("secondary-tariffs", deal), "p_feasible"] >= f.loc[("none", deal), "p_feasible"]
    fc = w.forecast[(w.forecast.view == "ensemble")].set_index(["lever", "issue"])
    # the US moving to "tightened sanctions" pulls the compromise on sanctions down
    assert fc.loc[("secondary-tariffs", "sanctions"), "shift"] < 0
    assert fc.loc[("secondary-tariffs", "sanctions"), "shift_p90"] <= 1.0
    assert fc.loc[("none", "sanctions"), "shift"] == 0
    # a combined lever composes its parts in order: Russia's no-deal value falls by the sum
    # of the three shifts; the US position on sanctions is the last part's (relief, 80)
    arrays = compile_levers(flagship, w.levers)
    k, r, u = arrays.names.index("sticks-and-carrots"), flagship.actor_ids.index("russia"), \
        flagship.actor_ids.index("usa")
    assert arrays.nd[:, k, r].tolist() == pytest.approx([1.0, -0.08])
    assert arrays.pos[:, k, u, flagship.issue_ids.index("sanctions")].tolist() == [0.0, 80.0]
    doc = w.to_json()
    assert doc["levers"][0]["evidence"]


def test_eu_example_levers_run(tmp_path):
    sc = accord.load("eu-emissions")
    w = whatif(sc, bundled("eu-emissions") / "levers.yaml", models=["median", "compromise"],
               draws=5)
    fc = w.forecast.set_index(["lever", "model"])
    assert fc.loc[("none", "compromise"), "median"] == pytest.approx(
        accord.models.run("compromise", sc.inputs())[0].final[0, 0])
    assert fc.loc[("uk-concedes", "compromise"), "shift"] < 0  # the UK moves from 10 to 7
    assert w.draws == 1  # the example has no ranges


@pytest.mark.parametrize("body, field, line, expected", [
    ("""\
     levers:
       - name: x
         changes:
           atlantis: {capability: 3}
     """, "levers[0].changes", 4, "an actor of the scenario"),
    ("""\
     levers:
       - name: x
         changes:
           usa:
             capability: high
     """, "levers.0.changes.usa.capability", 5, "a number"),
    ("""\
     levers:
       - name: x
         changes:
           usa:
             position: {mars: 3}
     """, "x.changes.usa.position", 5, "an issue of the scenario"),
    ("""\
     levers:
       - name: x
         changes:
           usa:
             position: {territory: 300}
     """, "x.changes.usa.position.territory", 5, "a number in [0, 100]"),
    ("""\
     levers:
       - name: x
         changes:
           usa: {colour: red}
     """, "levers.0.changes.usa.colour", 4, "no such key"),
    ("""\
     levers:
       - name: x
         combine: [y]
     """, "x.combine", 3, "the name of another lever"),
    ("""\
     levers:
       - name: x
         combine: [y]
       - name: y
         combine: [x]
     """, "x.combine", 3, "a cycle"),
    ("""\
     levers:
       - name: x
         changes:
           india:
             position: {territory: {plus: 5}}
     """, "x.changes.india.position.territory", 5, "no stance on territory"),
    ("""\
     scenario: eu-emissions
     levers:
       - name: x
         changes:
           usa: {veto: true}
     """, "scenario", 1, "the id of the scenario"),
])
def test_bad_levers_files_are_located(flagship, tmp_path, body, field, line, expected):
    path = _write(tmp_path, body)
    with pytest.raises(ScenarioError) as exc:
        read_levers(path, flagship)
    probs = [p for p in exc.value.problems if p.field == field]
    assert probs, exc.value.render()
    assert probs[0].file == str(path)
    assert probs[0].line == line
    assert expected in probs[0].expected


def test_cli_whatif_reports_errors_and_tables(tmp_path):
    from accord.cli import app

    runner = CliRunner()
    bad = _write(tmp_path, "levers:\n  - name: x\n    changes:\n      atlantis: {veto: true}\n")
    r = runner.invoke(app, ["whatif", "ukraine-2025", str(bad)])
    assert r.exit_code == 2
    assert f"{bad}:4" in r.output and "atlantis" in r.output
    r = runner.invoke(app, ["whatif", "eu-emissions", "--models", "median,compromise"])
    assert r.exit_code == 0, r.output
    assert "uk-concedes" in r.output and "comprehensive" in r.output
    args = ["whatif", "ukraine-2025", "--models", "mean", "--draws", "20", "--json"]
    a, b = runner.invoke(app, args), runner.invoke(app, args)
    assert a.exit_code == 0, a.output
    assert a.output == b.output
    doc = json.loads(a.stdout)
    assert doc["models"] == ["mean"]
    assert {r["lever"] for r in doc["feasibility"]} >= {"none", "land-swaps"}
    assert all(r["change_se"] >= 0 for r in doc["feasibility"])
    assert all(r["shift_se"] >= 0 for r in doc["forecast"] if r["shift_se"] is not None)
    r = runner.invoke(app, ["whatif", "ukraine-2025", "--models", "compromise", "--draws", "20"],
                      env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "Monte-Carlo standard error" in r.output
    assert "(+" in r.output and "±" in r.output    # a change and its standard error


def test_removing_an_actor_is_its_absence_and_adding_one_is_its_presence(tmp_path):
    sc = accord.load("eu-emissions")
    path = _write(tmp_path, """\
    levers:
      - name: uk-leaves
        changes:
          UK: {remove: true}
      - name: norway-joins
        add:
          Norway: {capability: 0.1, stances: {emissions: {position: 4, salience: 1}}}
    """)
    w = whatif(sc, path, models=["mean"], draws=1)
    fc = w.forecast.set_index("lever")["median"]
    pos = {a: sc.stances[(a, "emissions")].position.value for a in sc.actor_ids}
    assert fc["none"] == pytest.approx(np.mean(list(pos.values())))
    assert fc["uk-leaves"] == pytest.approx(np.mean([v for a, v in pos.items() if a != "UK"]))
    assert fc["norway-joins"] == pytest.approx(np.mean(list(pos.values()) + [4.0]))


def test_lever_effects_carry_standard_errors_that_match_their_spread_over_seeds(tmp_path):
    """``change_se`` (paired differences) and ``shift_se`` (Woodruff's order statistics) are
    what the summary holds to its bound: each must match the effect's spread over seeds."""
    p = _write(tmp_path, """\
        levers:
          - name: push
            changes:
              usa: {position: {sanctions: 15}}
              russia: {capability: {times: 0.9}, no_deal: {plus: -0.04}}
        """)
    changes, change_se, shifts, shift_se = [], [], [], []
    for seed in range(30):
        w = whatif(_flagship(), p, models=["mean"], draws=100, seed=seed)
        f = w.feasibility[(w.feasibility.lever == "push") & (w.feasibility.view == "ensemble")
                          & (w.feasibility.deal == "comprehensive")].iloc[0]
        changes.append(f.change)
        change_se.append(f.change_se)
        g = w.forecast[(w.forecast.lever == "push") & (w.forecast.view == "ensemble")
                       & (w.forecast.issue == "sanctions")].iloc[0]
        shifts.append(g["shift"])
        shift_se.append(g.shift_se)
        none = w.feasibility[w.feasibility.lever == "none"]
        assert (none.change_se == 0).all()          # no lever, no difference
    assert abs(np.mean(changes)) > 3 * np.mean(change_se)   # a real effect, measured
    for spread, se in ((np.std(changes, ddof=1), np.mean(change_se)),
                       (np.std(shifts, ddof=1), np.mean(shift_se))):
        assert 0.6 * spread < se < 1.6 * spread
