"""The outlook: red lines, delivery vetoes, durability, time to agreement.

Small scenarios are written as YAML, as a user would write them, and read by the real reader.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import accord
from accord.analysis.feasibility import COMPREHENSIVE, evaluate, deal_issues
from accord.analysis.outlook import ANY, OutlookParams, outlook
from accord.errors import ScenarioError

QUICK = settings(max_examples=int(__import__("os").environ.get("OUTLOOK_EXAMPLES", 15)), deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def scenario(actors: dict, issues: dict | None = None, **top) -> accord.Scenario:
    """A scenario from plain dicts (issues default to two 0-100 scales, status quo 50)."""
    issues = issues or {"land": {"question": "land?", "scale": [0, 100], "status_quo": 50},
                        "aid": {"question": "aid?", "scale": [0, 100], "status_quo": 50}}
    doc = {"scenario": "toy", "as_of": "2025-01-15", **top, "issues": issues, "actors": actors}
    folder = Path(tempfile.mkdtemp())
    (folder / "scenario.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return accord.load(folder)


def rivals(nd_a=0.5, nd_b=0.5, cost_a=None, red_a=None, red_b=None, trend=None, **extra):
    """Two veto players at opposite ends of land; each cares a little about aid."""
    a = {"capability": 1, "veto": True, "no_deal": nd_a,
         "stances": {"land": {"position": 0, "salience": 0.9},
                     "aid": {"position": 100, "salience": 0.2}}}
    b = {"capability": 1, "veto": True, "no_deal": nd_b,
         "stances": {"land": {"position": 100, "salience": 0.9},
                     "aid": {"position": 0, "salience": 0.2}}}
    if cost_a is not None:
        a["cost"] = cost_a
    if red_a is not None:
        a["red_lines"] = {"land": red_a}
    if red_b is not None:
        b["red_lines"] = {"land": red_b}
    issues = None
    if trend is not None:
        issues = {"land": {"question": "land?", "scale": [0, 100], "status_quo": 50,
                           "trend": trend},
                  "aid": {"question": "aid?", "scale": [0, 100], "status_quo": 50}}
    return scenario({"a": a, "b": b}, issues, **extra)


def curve(o, deal=COMPREHENSIVE, view="toy", lever="none"):
    return o.curves[lever][deal][view]


# ---- curves --------------------------------------------------------------------------------

cells = st.fixed_dictionaries({
    "nd_a": st.floats(0.2, 0.8), "nd_b": st.floats(0.2, 0.8),
    "cost_a": st.none() | st.floats(0.0, 0.02),
    "trend": st.none() | st.floats(-3, 3),
    "red_a": st.none() | st.fixed_dictionaries({"max": st.floats(0, 100)}).map(
        lambda r: {"max": max(r["max"], 1.0)}),
})


@QUICK
@given(cells)
def test_cumulative_curves_are_non_decreasing_probabilities(c):
    o = outlook(rivals(**c), horizon=24, draws=300, seed=1)
    for d in o.deals + [ANY]:
        cv = curve(o, d)
        assert np.all((cv >= 0) & (cv <= 1))
        assert np.all(np.diff(cv) >= -1e-12)


@QUICK
@given(cells)
def test_dropping_a_red_line_never_lowers_a_feasibility_share_or_an_agreement_probability(c):
    red = {**c, "red_a": {"max": 40}, "red_b": {"min": 30}}
    free = {**c, "red_a": None, "red_b": {"min": 30}}
    with_red = outlook(rivals(**red), horizon=24, draws=300, seed=2)
    without = outlook(rivals(**free), horizon=24, draws=300, seed=2)
    for d in with_red.deals:
        assert without.slack["none"][d]["toy"] >= with_red.slack["none"][d]["toy"]
        assert np.all(curve(without, d) >= curve(with_red, d) - 1e-12)


@QUICK
@given(cells, st.floats(0.0, 0.02))
def test_raising_a_veto_players_monthly_cost_never_lowers_agreement_by_any_month(c, extra):
    base = c["cost_a"] or 0.0
    low = outlook(rivals(**{**c, "cost_a": base}), horizon=24, draws=300, seed=3,
                  params=OutlookParams(), deals=None)
    high = outlook(rivals(**{**c, "cost_a": base + extra}), horizon=24, draws=300, seed=3)
    for d in low.deals + [ANY]:
        assert np.all(curve(high, d) >= curve(low, d) - 1e-12)


def test_red_lines_that_exclude_every_settlement_give_zero_and_name_the_actors():
    sc = rivals(red_a={"max": 30, "judgement": "never cede the south because of the constitution"},
                red_b={"min": 60})
    o = outlook(sc, horizon=12, draws=200, seed=0)
    assert np.all(curve(o) == 0.0)
    blockers = o.to_json()["deals"][COMPREHENSIVE]["views"]["toy"]["blockers"]
    assert blockers == {"a": 1.0, "b": 1.0}


def test_an_empty_feasible_set_without_drift_gives_zero_in_every_month():
    o = outlook(rivals(nd_a=0.9, nd_b=0.9), horizon=36, draws=200, seed=0)
    assert o.slack["none"][COMPREHENSIVE]["toy"] == 0.0
    assert np.all(curve(o, ANY) == 0.0)


def test_costs_that_pile_up_open_a_zone_of_agreement_that_was_closed():
    # at 0.6 each, the midpoint (u = 0.5) is short by 0.1; 0.01 a month closes it in 10 months
    closed = outlook(rivals(nd_a=0.6, nd_b=0.6), horizon=24, draws=100, seed=0)
    wearing = outlook(rivals(nd_a=0.6, nd_b=0.6, cost_a=0.02, ), horizon=24, draws=100, seed=0)
    assert np.all(curve(closed) == 0.0)
    assert curve(wearing)[3] == 0.0 and curve(wearing)[-1] > 0.0


def test_monthly_hazards_compose_to_the_annual_base_rate():
    # s exactly s_ref, no frailty, no ripeness, two consenting players: P(12 months) = H0
    params = OutlookParams(frailty_sd=0.0, base_rate_settlement=0.25)
    # saliences normalise to 0.9/1.1 and 0.2/1.1: at the midpoint u = 0.5 for both (no
    # package does better for one without hurting the other); no_deal 0.45 leaves s = 0.05
    o = outlook(rivals(nd_a=0.45, nd_b=0.45), horizon=12, draws=50, seed=0, params=params)
    assert curve(o)[-1] == pytest.approx(0.25, abs=1e-9)


# ---- narrow and comprehensive deals --------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_a_narrow_deal_is_feasible_only_where_the_comprehensive_one_is(seed):
    """Status-quo reading, no red line, same durability: V_narrow <= V_comprehensive."""
    from accord.models.base import Inputs

    rng = np.random.default_rng(seed)
    n, a, i = 50, 4, 3
    pos = rng.uniform(0, 100, (n, a, i))
    sal = rng.uniform(0, 1, (n, a, i))
    inputs = Inputs.from_arrays(np.ones((n, a)), pos, sal, np.zeros(i), np.full(i, 100.0),
                                rng.uniform(0, 100, i), np.array([True, True, True, False]))
    masks = deal_issues({"narrow": ("x1",)}, ("x0", "x1", "x2"))
    res = evaluate(inputs, rng.uniform(0.3, 0.9, (n, a)), masks)
    assert np.all(res["narrow"].value <= res[COMPREHENSIVE].value + 1e-9)


def test_a_red_line_on_an_issue_a_ceasefire_leaves_open_lets_the_ceasefire_through():
    # a's red line forbids any settlement of land beyond 20, b's below 80: no comprehensive deal,
    # but a ceasefire that settles aid leaves land unresolved at the status quo
    sc = rivals(nd_a=0.4, nd_b=0.4, red_a={"max": 20}, red_b={"min": 80},
                deals={"ceasefire": {"issues": ["aid"]}})
    o = outlook(sc, horizon=12, draws=100, seed=0)
    assert o.slack["none"][COMPREHENSIVE]["toy"] == 0.0
    assert o.slack["none"]["ceasefire"]["toy"] == 1.0


def test_a_pin_outside_a_red_line_blocks_the_deal():
    sc = rivals(nd_a=0.3, nd_b=0.3, red_a={"max": 40},
                deals={"truce": {"issues": ["aid"], "pins": {"land": 60}}})
    o = outlook(sc, horizon=6, draws=50, seed=0)
    assert o.slack["none"]["truce"]["toy"] == 0.0
    assert "a" in o.to_json()["deals"]["truce"]["views"]["toy"]["blockers"]


def test_a_delivery_veto_gives_its_holder_a_say_on_the_terms_it_must_deliver():
    # a and b want aid at 100 (and need it: no_deal 0.6); the EU would pay and wants it near 0
    actors = {k: {"capability": 1, "veto": True, "no_deal": 0.6,
                  "stances": {"land": {"position": p, "salience": 1},
                              "aid": {"position": 100, "salience": 1}}}
              for k, p in (("a", 0), ("b", 20))}
    actors["eu"] = {"capability": 1, "no_deal": 0.9,
                    "stances": {"aid": {"position": 0, "salience": 1}}}
    without = outlook(scenario(actors), horizon=6, draws=20, seed=0)
    actors["eu"]["delivers"] = {"issues": ["aid"], "judgement": "the EU pays, so it must agree"}
    with_delivery = outlook(scenario(actors), horizon=6, draws=20, seed=0)
    assert without.slack["none"][COMPREHENSIVE]["toy"] == 1.0
    assert with_delivery.slack["none"][COMPREHENSIVE]["toy"] == 0.0
    assert "eu" in with_delivery.to_json()["deals"][COMPREHENSIVE]["views"]["toy"]["blockers"]


def test_durability_a_deal_that_may_break_is_worth_less_to_the_side_that_loses_by_it():
    base = dict(nd_a=0.40, nd_b=0.40)
    trusting = outlook(rivals(**base), horizon=12, draws=100, seed=0)
    wary = rivals(**base)
    doc = yaml.safe_load(Path(wary.path, "scenario.yaml").read_text())
    # a believes a deal has a 10% chance to hold a year (0.1^0.4 for a settlement) and loses
    # 0.3 if it breaks: it needs u_a >= 0.85, which leaves b below its no-deal value
    doc["actors"]["a"]["p_holds"] = 0.1
    doc["actors"]["a"]["renewal_cost"] = 0.3
    folder = Path(tempfile.mkdtemp())
    (folder / "scenario.yaml").write_text(yaml.safe_dump(doc))
    o = outlook(accord.load(folder), horizon=12, draws=100, seed=0)
    assert trusting.slack["none"][COMPREHENSIVE]["toy"] == 1.0
    assert o.slack["none"][COMPREHENSIVE]["toy"] == 0.0
    assert np.all(curve(o) == 0.0)


def test_a_guarantee_in_the_deal_makes_it_hold_longer():
    issues = {"land": {"question": "land?", "scale": [0, 100], "status_quo": 50},
              "guarantee": {"question": "g?", "scale": [0, 100], "status_quo": 0}}
    actors = {k: {"capability": 1, "veto": True, "no_deal": 0.3, "p_holds": 0.6,
                  "stances": {"land": {"position": p, "salience": 1},
                              "guarantee": {"position": 100, "salience": 0.5}}}
              for k, p in (("a", 0), ("b", 100))}
    plain = outlook(scenario(actors, issues), horizon=12, draws=50, seed=0)
    guarded = outlook(scenario(actors, issues, durability={"guarantee": 0.5}), horizon=12,
                      draws=50, seed=0)
    assert plain.holds["none"][COMPREHENSIVE]["toy"] == pytest.approx(0.6 ** 0.4)
    # the package settles the guarantee at 100: breakdown hazard halved
    assert guarded.holds["none"][COMPREHENSIVE]["toy"] == pytest.approx(0.6 ** 0.2)


# ---- levers, events, determinism ----------------------------------------------------------

def _levers_file(*levers) -> Path:
    path = Path(tempfile.mkdtemp()) / "levers.yaml"
    path.write_text(yaml.safe_dump({"levers": list(levers)}))
    return path


LEVER_A = {"name": "soften-a", "changes": {"a": {"no_deal": {"plus": -0.1}, "cost": {"plus": 0.01}}}}
LEVER_B = {"name": "harden-b", "changes": {"b": {"position": {"land": 90}}}}


def test_a_batch_over_levers_equals_a_loop_over_them():
    sc = rivals(nd_a=0.5, nd_b=0.45, cost_a=0.004, trend=1.0)
    both = outlook(sc, horizon=24, draws=400, seed=7, levers=_levers_file(LEVER_A, LEVER_B))
    for lv in (LEVER_A, LEVER_B):
        alone = outlook(sc, horizon=24, draws=400, seed=7, levers=_levers_file(lv))
        for d in both.deals + [ANY]:
            np.testing.assert_array_equal(curve(both, d, lever=lv["name"]),
                                          curve(alone, d, lever=lv["name"]))
            np.testing.assert_array_equal(curve(both, d), curve(alone, d))


def test_a_deadline_event_raises_the_chance_of_a_deal_in_its_window_only():
    events = [{"name": "deadline", "date": "2025-04-10", "until": "2025-05-31",
               "hazard_ratio": 3.0, "judgement": "a deadline because the mediator set one"}]
    plain = outlook(rivals(nd_a=0.4, nd_b=0.4), horizon=12, draws=300, seed=4)
    dated = outlook(rivals(nd_a=0.4, nd_b=0.4, events=events), horizon=12, draws=300, seed=4)
    h_plain, h_dated = np.diff(np.r_[0, curve(plain)]), np.diff(np.r_[0, curve(dated)])
    assert np.allclose(h_plain[:2], h_dated[:2])
    assert np.all(h_dated[2:4] > h_plain[2:4])


def test_same_seed_same_json_and_the_contract_keys():
    sc = rivals(nd_a=0.45, nd_b=0.45, cost_a=0.002)
    runner = CliRunner()
    from accord.cli import app

    args = ["outlook", sc.path, "--draws", "300", "--horizon", "18", "--seed", "9", "--json"]
    a, b = runner.invoke(app, args), runner.invoke(app, args)
    assert a.exit_code == 0, a.output
    assert a.output == b.output
    doc = json.loads(a.output)
    assert doc["horizon_months"] == 18 and doc["seed"] == 9 and doc["draws"] == 300
    view = doc["deals"][COMPREHENSIVE]["views"]["toy"]          # named after the scenario
    assert view["start"] == "2025-01" and len(view["cumulative"]) == 18
    assert set(view) >= {"start", "cumulative", "median_months", "p_holds_12m"}
    assert doc["deals"][COMPREHENSIVE]["ensemble"]["cumulative"] == view["cumulative"]


def test_the_flagship_and_the_eu_example_run_and_name_every_view():
    flag = accord.load("ukraine-2025")
    o = outlook(flag, horizon=12, draws=600, seed=0)
    doc = o.to_json()
    assert set(doc["deals"][COMPREHENSIVE]["views"]) == set(flag.views)
    assert doc["deals"][COMPREHENSIVE]["ensemble"]["start"] == max(
        v.date for v in flag.views.values()).strftime("%Y-%m")
    eu = outlook(accord.load("eu-emissions"), horizon=12, draws=100, seed=0)
    assert len(curve(eu, COMPREHENSIVE, "eu-emissions")) == 12


# ---- bad input: every problem, located -----------------------------------------------------

def test_outlook_inputs_are_checked_and_every_problem_is_located(tmp_path):
    text = """scenario: bad
as_of: 2025-01-01
events:
  - name: e1
    date: 2025-05-01
    until: 2025-03-01
issues:
  land: {question: q, scale: [0, 100], status_quo: 50}
actors:
  a:
    capability: 1
    veto: true
    cost: -0.1
    p_holds: 1.5
    red_lines:
      land: {min: 120}
    stances:
      land: {position: 10, salience: 1}
"""
    (tmp_path / "scenario.yaml").write_text(text)
    with pytest.raises(ScenarioError) as err:
        accord.load(tmp_path)
    msg = str(err.value)
    for needle in ("a.cost", "a.p_holds", "red_lines.land", "events.e1.until"):
        assert needle in msg, msg
    assert ":13:" in msg and ":14:" in msg and ":16:" in msg and ":4:" in msg


# ---- the ledger's headline questions -------------------------------------------------------

class _Curves:
    """An outlook's JSON with a constant monthly hazard h (known answers)."""

    def __init__(self, h: float, p12: float, start: str = "2026-01"):
        F = 1 - (1 - h) ** np.arange(1, 37)
        block = {"start": start, "cumulative": list(F), "median_months": None, "p_holds_12m": p12}
        self.doc = {"deals": {k: {"views": {}, "ensemble": block}
                              for k in ("comprehensive", "ceasefire")}}

    def to_json(self):
        return self.doc


def test_headline_questions_read_the_outlook_at_their_dates():
    from accord.ledger.seed import outlook_probabilities, seed_questions

    qs = seed_questions(deadline="2026-12-31", ceasefire_by="2026-07-31")
    h, p12 = 0.05, 0.6
    got = outlook_probabilities(_Curves(h, p12), qs)
    # agreement: reached by the end of November 2026 (month 10) and held its first month
    assert got["outlook_agreement"] == pytest.approx((1 - 0.95 ** 10) * p12 ** (1 / 12))
    # ceasefire in effect in July 2026 (month 6): reached in month t < 6, unbroken since
    expect = sum(h * 0.95 ** (t - 1) * p12 ** ((6 - t) / 12) for t in range(1, 6))
    assert got["outlook_ceasefire"] == pytest.approx(expect)


def test_ledger_seed_fills_every_flagship_question(tmp_path):
    from accord.cli import app

    db = tmp_path / "ledger.db"
    res = CliRunner().invoke(app, ["ledger", "seed", "--db", str(db), "--draws", "50",
                                   "--outlook-draws", "600"])
    assert res.exit_code == 0, res.output
    listing = CliRunner().invoke(app, ["ledger", "list", "--db", str(db), "--json"])
    doc = json.loads(listing.output)
    assert doc["questions"] and all(q["n_forecasts"] >= 1 for q in doc["questions"])


def test_hazard_parameters_from_the_command_line_are_checked_all_at_once():
    p = OutlookParams.from_strings({"base_rate_narrow": "0.2", "base_rates.ceasefire": "0.15",
                                    "slack_step": "3"})
    assert p.base_rate_narrow == 0.2 and p.slack_step == 3
    assert p.h0("ceasefire") == pytest.approx(1 - 0.85 ** (1 / 12))
    with pytest.raises(ValueError) as err:
        OutlookParams.from_strings({"nope": "1", "slack_step": "x"})
    assert "nope" in str(err.value) and "slack_step=x" in str(err.value)
