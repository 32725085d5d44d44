"""Bad input: every malformed file gives located problems (file, line, field) and exit code 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from accord.cli import app
from accord.errors import ScenarioError
from accord.scenario import io

GOOD_YAML = """\
scenario: t
issues:
  x:
    question: Q?
    scale: [0, 100]
    anchors: {0: none, 100: all}
actors:
  a:
    capability: 1
    stances: {x: {position: 10, salience: 0.5}}
  b:
    capability: 2
    stances: {x: {position: 90, salience: 0.5}}
"""

# name, file name, content, field the first problem names, line it names (None: not checked)
CASES = [
    ("yaml: position as text", "s.yaml", GOOD_YAML.replace("position: 10", "position: ten"), "position", 10),
    ("yaml: salience above 1", "s.yaml", GOOD_YAML.replace("salience: 0.5}}\n  b", "salience: 1.5}}\n  b"), "salience", 10),
    ("yaml: negative salience", "s.yaml", GOOD_YAML.replace("position: 90, salience: 0.5", "position: 90, salience: -0.1"), "salience", 13),
    ("yaml: position outside its scale", "s.yaml", GOOD_YAML.replace("position: 90", "position: 190"), "position", 13),
    ("yaml: unknown issue in a stance", "s.yaml", GOOD_YAML.replace("stances: {x: {position: 90", "stances: {y: {position: 90"), "stances.y", 13),
    ("yaml: duplicate actor id", "s.yaml", GOOD_YAML.replace("  b:\n", "  a:\n"), "actors.a", 11),
    ("yaml: missing capability", "s.yaml", GOOD_YAML.replace("    capability: 2\n", ""), "capability", 11),
    ("yaml: negative capability", "s.yaml", GOOD_YAML.replace("capability: 2", "capability: -2"), "capability", 12),
    ("yaml: capability as bool", "s.yaml", GOOD_YAML.replace("capability: 2", "capability: true"), "capability", 12),
    ("yaml: unknown key (typo)", "s.yaml", GOOD_YAML.replace("    capability: 2", "    capabilty: 2\n    capability: 2"), "capabilty", 12),
    ("yaml: range without its value", "s.yaml", GOOD_YAML.replace("position: 90,", "position: 90, range: [0, 50],"), "range", 13),
    ("yaml: range reversed", "s.yaml", GOOD_YAML.replace("position: 90,", "position: 90, range: [95, 85],"), "range", 13),
    ("yaml: quote with no source", "s.yaml", GOOD_YAML.replace("position: 90,", "position: 90, quote: 'said so',"), "evidence", 13),
    ("yaml: scale reversed", "s.yaml", GOOD_YAML.replace("scale: [0, 100]", "scale: [100, 0]"), "scale", None),
    ("yaml: anchor off the scale", "s.yaml", GOOD_YAML.replace("100: all", "150: all"), "anchors", None),
    ("yaml: no actors", "s.yaml", GOOD_YAML.split("actors:")[0], "actors", None),
    ("yaml: not a mapping", "s.yaml", "- just\n- a list\n", "document", 1),
    ("yaml: broken syntax", "s.yaml", GOOD_YAML.replace("scale: [0, 100]", "scale: [0, 100"), "yaml", None),
    ("yaml: tab indentation", "s.yaml", GOOD_YAML.replace("  a:\n", "\ta:\n"), "yaml", None),
    ("yaml: bad distribution", "s.yaml", GOOD_YAML.replace("position: 90,", "position: {value: 90, range: [80, 95], dist: gauss},"), "dist", 13),
    ("empty file", "s.yaml", "", "file", 1),
    ("binary junk", "s.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "file", None),
    ("invalid UTF-8", "s.yaml", b"scenario: t\ntitle: caf\xe9\n", "encoding", 2),
    ("bdm csv: missing column", "b.csv", "Actor,Capability,Position\nA,1,2\n", "header", 1),
    ("bdm csv: text capability", "b.csv", "Actor,Capability,Position,Salience\nA,lots,2,50\nB,1,3,40\n", "Capability", 2),
    ("bdm csv: salience over 100", "b.csv", "Actor,Capability,Position,Salience\nA,1,2,150\nB,1,3,40\n", "Salience", 2),
    ("bdm csv: short row", "b.csv", "Actor,Capability,Position,Salience\nA,1,2\nB,1,3,40\n", "row", 2),
    ("bdm csv: CR-only endings with a bad cell", "b.csv", "Actor,Capability,Position,Salience\rA,1,2,50\rB,x,3,40\r", "Capability", 3),
    ("bdm csv: BOM and bad number", "b.csv", "\ufeffActor,Capability,Position,Salience\nA,1,2,50\nB,1,nan,40\n", "Position", 3),
    ("bdm csv: wrong delimiter", "b.csv", "Actor|Capability|Position|Salience\nA|1|2|50\n", "format", 1),
    ("accord csv: duplicate row", "c.csv", "actor,issue,position,salience,capability\na,x,1,0.5,1\na,x,2,0.5,1\n", "actor,issue", 3),
    ("accord csv: salience out of range", "c.csv", "actor,issue,position,salience,capability\na,x,1,5,1\nb,x,2,0.5,1\n", "salience", 2),
    ("accord csv: position outside its scale", "c.csv", "actor,issue,position,salience,capability\na,x,101,0.5,1\nb,x,2,0.5,1\n", "position", 2),
    ("accord csv: unknown column", "c.csv", "actor,issue,position,salience,capability,colour\na,x,1,0.5,1,red\n", "header", 1),
    ("accord csv: capability disagrees", "c.csv", "actor,issue,position,salience,capability\na,x,1,0.5,1\na,y,2,0.5,3\n", "capability", 3),
    ("accord csv: bad veto", "c.csv", "actor,issue,position,salience,capability,veto\na,x,1,0.5,1,maybe\n", "veto", 2),
]


@pytest.mark.parametrize("name,fname,content,field,line", CASES, ids=[c[0] for c in CASES])
def test_a_malformed_file_is_reported_with_file_line_and_field(tmp_path, name, fname, content, field, line):
    path = tmp_path / fname
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    with pytest.raises(ScenarioError) as info:
        io.read(path)
    problems = info.value.problems
    assert problems, name
    first = problems[0]
    assert first.file.endswith(fname)
    assert any(field in p.field for p in problems), [str(p) for p in problems]
    if line is not None:
        assert any(p.line == line and field in p.field for p in problems), [str(p) for p in problems]
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert fname in result.output


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30


def test_all_problems_of_a_file_are_reported_together(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD_YAML.replace("position: 10", "position: 110")
                    .replace("position: 90", "position: 190"))
    with pytest.raises(ScenarioError) as info:
        io.read(path)
    assert sorted(p.line for p in info.value.problems) == [10, 13]


def test_a_missing_file_is_an_error_not_a_traceback(tmp_path):
    result = CliRunner().invoke(app, ["check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "nope.yaml" in result.output and "Traceback" not in result.output
