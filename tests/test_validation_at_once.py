"""Bad input: every problem of a file at once, located; no guessed scales; no wrong suffixes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import accord
from accord.cli import app
from accord.errors import ScenarioError

runner = CliRunner()

FOUR_MISTAKES = """\
scenario: four-mistakes
issues:
  tax:
    question: How high is the tax?
    anchors: {0: none, 100: all}
  rate:
    question: When?
    scale: [0, 10]
actors:
  a:
    capability: 10
    stances:
      tax: {position: 50, salience: 0.5}
      rate: {position: 12, salience: 0.5}
  b:
    capability: 5
    stances:
      rate: {position: 5, salience: 80}
      budget: {position: 3, salience: 0.2}
"""


def test_a_file_with_four_independent_mistakes_reports_all_four(tmp_path: Path):
    f = tmp_path / "four.yaml"
    f.write_text(FOUR_MISTAKES)
    with pytest.raises(ScenarioError) as exc:
        accord.load(f)
    got = {(p.line, p.field) for p in exc.value.problems}
    assert got == {(3, "issues.tax.scale"), (14, "a.rate.position"), (18, "b.rate.salience"),
                   (19, "actors.b.stances.budget")}
    text = str(exc.value)
    assert "Field required" not in text and "0.8" in text  # the salience hint
    r = runner.invoke(app, ["check", str(f)])
    assert r.exit_code == 2 and "4 problems found" in r.output and "Traceback" not in r.output


def test_a_tab_in_the_indentation_is_called_a_tab(tmp_path: Path):
    f = tmp_path / "tab.yaml"
    f.write_text("scenario: x\nissues:\n  a:\n\tquestion: q\n")
    with pytest.raises(ScenarioError) as exc:
        accord.load(f)
    assert exc.value.first.line == 4 and "tab" in str(exc.value)


def test_mixed_salience_scales_are_an_error_naming_the_rows(tmp_path: Path):
    f = tmp_path / "mixed.csv"
    f.write_text("Actor,Capability,Position,Salience\nA,10,20,0.5\nB,20,80,1.7\nC,5,50,0.2\n")
    with pytest.raises(ScenarioError) as exc:
        accord.load(f)
    p = exc.value.first
    assert p.line == 3 and p.value == 1.7 and "2 (0.5), 4 (0.2)" in p.expected
    ok = tmp_path / "ok.csv"
    ok.write_text("Actor,Capability,Position,Salience\nA,10,20,50\nB,20,80,100\n")
    assert accord.load(ok).stances[("A", "issue")].salience.value == 0.5


def test_a_writer_refuses_a_suffix_that_does_not_match_its_format(tmp_path: Path):
    r = runner.invoke(app, ["import", "eu-emissions", "-o", str(tmp_path / "x.csv")])
    assert r.exit_code == 2 and ".yaml" in r.output
    assert not (tmp_path / "x.csv").exists()
