"""Levers per view: where a text states what a lever did, that view codes the lever's effect."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

import accord
from accord.analysis.whatif import compile_levers, read_levers
from accord.errors import ScenarioError

FOLDER = Path(__file__).resolve().parents[1] / "scenarios" / "ukraine-2025"


@pytest.fixture(scope="module")
def flagship():
    return accord.load(FOLDER)


def test_fazi_codes_the_ignored_deadline_as_no_push_on_russia(flagship):
    levers = read_levers(FOLDER / "levers.yaml", flagship)
    arrays = compile_levers(flagship, levers)
    k = arrays.names.index("deadline")
    r = arrays.actors.index("russia")
    assert arrays.nd[1, k, r] == pytest.approx(-0.02)            # in general: a nudge
    fazi = arrays.for_view("fazi-2025")
    assert fazi.nd[1, k, r] == 0.0 and fazi.nd[0, k, r] == 1.0   # Fazi: "Putin ignored it"
    assert arrays.for_view("masses-2026") is arrays               # no effect of its own
    # a combined lever takes its parts' view effects
    c = arrays.names.index("sticks-and-carrots")
    assert fazi.nd[1, c, r] == pytest.approx(-0.02)              # only sanctions relief's push
    assert arrays.nd[1, c, r] == pytest.approx(-0.08)


def test_a_view_effect_carries_the_views_own_quote(flagship):
    lv = {x.name: x for x in read_levers(FOLDER / "levers.yaml", flagship)}
    ev = lv["secondary-tariffs"].evidence_for("fazi-2025")
    assert ev[0]["source"] == "fazi" and "dismissed the threat" in ev[0]["quote"]


def test_a_view_effect_for_an_unknown_view_is_located(flagship, tmp_path):
    f = tmp_path / "levers.yaml"
    f.write_text(textwrap.dedent("""\
        levers:
          - name: x
            changes: {russia: {no_deal: {plus: -0.02}}}
            views:
              atlantis-2030:
                judgement: Because the text says so.
                changes: {russia: {no_deal: {plus: 0}}}
        """), encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        read_levers(f, flagship)
    p = e.value.first
    assert p.line == 5 and "a view of the scenario" in p.expected


def test_whatif_applies_each_views_effect_to_its_own_draws(flagship, tmp_path):
    from accord.analysis.whatif import whatif

    f = tmp_path / "levers.yaml"
    f.write_text(textwrap.dedent("""\
        levers:
          - name: squeeze
            changes: {russia: {no_deal: {set: 0.0}}}
            views:
              fazi-2025:
                judgement: Because Putin ignored the deadlines, nothing changes in this view.
                changes: {russia: {no_deal: {plus: 0}}}
        """), encoding="utf-8")
    w = whatif(flagship, f, models=["median"], draws=40, seed=0, deals=["comprehensive"])
    t = w.feasibility[w.feasibility.lever == "squeeze"].set_index("view")
    assert t.loc["fazi-2025", "draws_changed"] == 0      # its own effect: none
    assert t.loc["usip-2022", "draws_changed"] > 0       # the general effect elsewhere
