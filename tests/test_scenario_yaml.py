"""accord YAML: views over a base, inherited cells, comments kept, arrays and DataFrames."""

from __future__ import annotations

import numpy as np
import pytest

import accord
from accord.scenario import io
from accord.scenario.io.yaml_format import dumps

BASE = """\
# a comment the writer must keep
scenario: two-views
title: Two views   # trailing comment
as_of: 2025-01-01
sources:
  s1: {file: s1.txt, date: 2024-01-01}
  s2: {file: s2.txt, date: 2025-01-01}
issues:
  x:
    question: How far?
    scale: [0, 10]
    anchors: {0: nothing, 5: half, 10: everything}
    status_quo: 5
  y:
    question: How fast?
    scale: [0, 100]
actors:
  a:
    name: Alpha
    capability: {value: 3, range: [2, 4], judgement: guess}
    veto: true
    stances:
      x: {position: 2, salience: 0.5, range: [1, 3], judgement: because}
      y: {position: 20, salience: 0.2}
  b:
    capability: 1
    stances:
      x: {position: 8, salience: 0.9}
views:
  early:
    source: s1
    date: 2024-01-01
    actors:
      a:
        stances:
          x: {position: 4, salience: 0.6, quote: "a said four"}
      b:
        capability: 2
        stances:
          y: {position: 70, salience: 0.4, judgement: implied}
  late:
    source: s2
    date: 2025-01-01
    actors:
      a:
        stances:
          y: null
"""


@pytest.fixture
def scenario(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(BASE)
    return io.read(p)


def test_arrays_hold_nan_where_an_actor_has_no_stance(scenario):
    assert scenario.actor_ids == ("a", "b")
    assert np.isnan(scenario.position[1, 1]) and np.isnan(scenario.salience[1, 1])
    assert scenario.position[0].tolist() == [2.0, 20.0]
    assert scenario.capability.tolist() == [3.0, 1.0]
    assert scenario.veto.tolist() == [True, False]
    assert scenario.actor("a").capability.bounds() == (2.0, 4.0)


def test_a_view_overrides_the_base_and_marks_every_other_cell_inherited(scenario):
    early = scenario.view("early")
    assert early.position[0, 0] == 4.0 and not early.inherited[0, 0]
    assert early.position[0, 1] == 20.0 and early.inherited[0, 1]
    assert early.position[1, 1] == 70.0 and not early.inherited[1, 1]
    assert early.capability.tolist() == [3.0, 2.0]
    ev = early.stances[("a", "x")].position.evidence[0]
    assert (ev.source, ev.quote) == ("s1", "a said four")  # the view's source by default
    late = scenario.view("late")
    assert np.isnan(late.position[0, 1])  # null removes the base stance
    assert late.inherited[1, 0]


def test_stances_frame_is_long_and_carries_the_inherited_flag(scenario):
    df = scenario.view("early").stances_frame()
    assert set(df.columns) >= {"actor", "issue", "position", "salience", "capability", "inherited"}
    assert len(df) == 4
    assert df.set_index(["actor", "issue"]).loc[("a", "y"), "inherited"]


def test_the_writer_keeps_comments_and_every_number(scenario, tmp_path):
    text = dumps(scenario)
    assert "# a comment the writer must keep" in text and "# trailing comment" in text
    out = tmp_path / "again.yaml"
    io.write(scenario, out)
    again = io.read(out)
    np.testing.assert_array_equal(again.position, scenario.position)
    np.testing.assert_array_equal(again.view("early").position, scenario.view("early").position)


def test_writing_onto_an_existing_file_refuses_without_force(scenario, tmp_path):
    out = tmp_path / "x.yaml"
    out.write_text("mine")
    with pytest.raises(accord.ScenarioError) as info:
        io.write(scenario, out)
    assert "--force" in str(info.value)
    assert out.read_text() == "mine"
    io.write(scenario, out, force=True)
    assert out.read_text() != "mine"


def test_lines_are_recorded_for_every_number(scenario):
    q = scenario.stances[("a", "x")].position
    assert q.line == 23 and q.file.endswith("s.yaml")


def test_a_folder_scenario_reads_views_from_files(tmp_path):
    (tmp_path / "views").mkdir()
    (tmp_path / "scenario.yaml").write_text(BASE.split("views:")[0])
    (tmp_path / "views" / "v1.yaml").write_text(
        "view: v1\nsource: s1\ndate: 2024-02-01\nactors:\n  a:\n    stances:\n"
        "      x: {position: 9, salience: 0.1, quote: nine}\n")
    sc = io.read(tmp_path)
    assert list(sc.views) == ["v1"]
    assert sc.view("v1").position[0, 0] == 9.0
    assert sc.views["v1"].stances[("a", "x")].position.file.endswith("v1.yaml")
    (tmp_path / "views" / "v2.yaml").write_text("view: v2\nactors:\n  zed:\n    capability: 1\n")
    with pytest.raises(accord.ScenarioError) as info:
        io.read(tmp_path)
    p = info.value.problems[0]
    assert p.file.endswith("v2.yaml") and p.line == 3 and "zed" in p.field


def test_the_bundled_example_loads_by_name():
    sc = accord.load("eu-emissions")
    assert len(sc.actors) == 10 and sc.issues[0].low == 4 and sc.issues[0].high == 10
    assert sc.issue("emissions").nearest_anchor(8.9) .startswith("10")


def test_a_view_can_state_its_own_status_quo(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(BASE.replace("  late:\n    source: s2\n", "  late:\n    source: s2\n    issues:\n"
                              "      x: {status_quo: {value: 2, range: [1, 3], judgement: then}}\n"))
    sc = io.read(p)
    assert sc.issue("x").status_quo == 5.0
    late = sc.view("late")
    assert late.issue("x").status_quo == 2.0 and late.status_quo[0] == 2.0
    assert late.issue("x").status_quo_quantity.evidence[0].judgement == "then"
    again = tmp_path / "again.yaml"
    io.write(sc, again)
    assert io.read(again).view("late").issue("x").status_quo == 2.0
    p.write_text(BASE.replace("  late:\n    source: s2\n", "  late:\n    source: s2\n    issues:\n"
                              "      x: {status_quo: 12}\n"))
    with pytest.raises(accord.ScenarioError) as info:
        io.read(p)
    assert info.value.problems[0].line == 44 and "status_quo" in info.value.problems[0].field


VETO = """\
scenario: veto-evidence
sources:
  s1: {file: s1.txt}
issues:
  x: {question: How far?, scale: [0, 10]}
actors:
  a:
    capability: 1
    veto:
      value: true
      source: s1
      quote: "nothing is agreed without a"
    stances:
      x: {position: 2, salience: 0.5}
  b:
    capability: 1
    stances:
      x: {position: 8, salience: 0.9}
views:
  v:
    source: s1
    actors:
      b:
        veto: {value: true, quote: "b can block it too", judgement: a spoiler}
"""


def test_a_veto_carries_evidence_that_is_checked_reported_and_written_back(tmp_path):
    from accord.evidence import check

    (tmp_path / "s1.txt").write_text("In short: nothing is agreed without A.\nAnd b can block it too.\n")
    path = tmp_path / "s.yaml"
    path.write_text(VETO)
    sc = io.read(path)
    assert sc.actor("a").veto and sc.actor("a").veto_quantity.evidence[0].quote
    assert sc.view("v").actor("b").veto and not sc.actor("b").veto
    report = check(sc, corpus_dir=tmp_path, coding=False)
    assert report.ok, report.problems
    assert {"actors.a.veto", "views.v.b.veto"} <= set(report.verified["field"])
    out = tmp_path / "out.yaml"
    io.write(sc, out)
    back = io.read(out)
    assert [e.quote for e in back.actor("a").veto_quantity.evidence] == ["nothing is agreed without a"]
    assert [e.quote for e in back.views["v"].veto_quantity["b"].evidence if e.quote] == ["b can block it too"]
    # a wrong quote is reported at the veto's line
    path.write_text(VETO.replace("nothing is agreed without a", "nothing is agreed without b"))
    bad = check(io.read(path), corpus_dir=tmp_path, coding=False)
    (p,) = bad.problems
    assert p.field == "actors.a.veto.evidence.quote" and p.line == 12


def test_a_veto_that_is_not_true_or_false_is_a_located_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(VETO.replace("    veto:\n      value: true\n      source: s1\n      quote: \"nothing is agreed without a\"\n",
                                 "    veto: \"yes\"\n"))
    with pytest.raises(accord.ScenarioError) as exc:
        io.read(path)
    (p,) = exc.value.problems
    assert p.line == 9 and p.field.startswith("actors.a.veto") and "true or false" in p.expected


def test_a_deal_carries_evidence_that_is_checked_and_written_back(tmp_path):
    from accord.evidence import check

    (tmp_path / "s1.txt").write_text("In short: nothing is agreed without A.\n"
                                     "And b can block it too. A truce is likelier than peace.\n")
    text = VETO.replace("actors:\n", "deals:\n  truce:\n    issues: [x]\n"
                        "    quote: \"a truce is likelier than peace\"\n    source: s1\nactors:\n", 1)
    path = tmp_path / "s.yaml"
    path.write_text(text)
    sc = io.read(path)
    assert [e.quote for e in sc.deal_evidence["truce"]] == ["a truce is likelier than peace"]
    report = check(sc, corpus_dir=tmp_path, coding=False)
    assert report.ok and "deals.truce" in set(report.verified["field"])
    out = tmp_path / "out.yaml"
    io.write(sc, out)
    assert [e.quote for e in io.read(out).deal_evidence["truce"]] == ["a truce is likelier than peace"]
    path.write_text(text.replace("likelier than peace", "likelier than war"))
    (p,) = check(io.read(path), corpus_dir=tmp_path, coding=False).problems
    assert p.field == "deals.truce.evidence.quote" and p.line == 9
