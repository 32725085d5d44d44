"""decide-exchange-model files: every shipped file reads; every row decide drops or keeps
silently is a located error here, and ``lenient`` reproduces decide and says what it did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accord.errors import ScenarioError
from accord.scenario.io import read, sniff, write

FILES = ["sample_data.txt", "copenhagen.csv", "cop21.csv", "copenhagen_with_errors.csv"]


def _ref(reference: Path, name: str) -> dict:
    return json.loads((reference / "exchange" / f"{Path(name).stem}.expected.json").read_text())


@pytest.mark.parametrize("name", FILES)
def test_every_shipped_file_reads_as_decide_reads_it(reference, name):
    path = reference / "exchange" / name
    assert sniff(path).name == "decide"
    sc = read(path, lenient=True)
    ref = _ref(reference, name)
    assert list(sc.actor_ids) == ref["actors"]
    assert list(sc.issue_ids) == list(ref["issues"])
    for iid, info in ref["issues"].items():
        issue = sc.issue(iid)
        assert (issue.low, issue.high) == (info["lo"], info["hi"])
        assert [p for p, _ in issue.anchors] == [lab["position"] for lab in info["labels"]]
    used = {(r["actor"], r["issue"]): r for r in ref["actor_issues_used"]}
    assert set(sc.stances) == set(used)
    for key, r in used.items():
        st = sc.stances[key]
        assert st.position.value == r["position"]
        assert st.salience.value == r["salience"]
        assert sc.actor(key[0]).capability.value == r["power"]


def test_the_file_with_errors_is_rejected_with_each_error_located(reference):
    """decide reports only the negative power (row index 86, i.e. line 87) and silently
    uses Russia's position 160 on a 0-100 issue; accord reports both, with their lines."""
    path = reference / "exchange" / "copenhagen_with_errors.csv"
    ref = _ref(reference, "copenhagen_with_errors.csv")
    with pytest.raises(ScenarioError) as exc:
        read(path)
    probs = {(p.line, p.field): p for p in exc.value.problems}
    decide_lines = {int(k) + 1 for k in ref["reader_errors"]}
    assert decide_lines == {87}
    power = probs[(87, "#D power")]
    assert power.value == -0.247 and power.file == str(path) and power.column == 6
    pos = probs[(86, "#D position")]
    assert pos.value == 160 and "[0, 100]" in pos.expected
    assert len(exc.value.problems) == 2
    assert f"{path}:87:6: #D power: got -0.247" in str(exc.value)


def test_lenient_read_reproduces_decide_and_says_what_it_dropped_and_kept(reference):
    sc = read(reference / "exchange" / "copenhagen_with_errors.csv", lenient=True)
    assert ("China India", "Control") not in sc.stances
    assert sc.stances[("Russia", "Control")].position.value == 160
    notes = "\n".join(sc.notes)
    assert "line 87" in notes and "dropped" in notes
    assert "line 86" in notes and "kept" in notes
    assert sc.title == "Copenhagen negotiations"


BASE = """#O\tmini
#/\ta comment
#A\tA1\tActor one\t
#A\tA2\tActor two\t
#A\tA3\tActor three\t
#P\tx\tfirst issue
#M\tx\t1\tlow
#M\tx\t9\thigh
#P\ty\tsecond issue
#D\tA1\tx\t2\t0.5\t1
#D\tA2\tx\t8\t0.7\t1
#D\tA3\tx\t5\t0.3\t2
#D\tA1\ty\t20\t0.9\t1
#D\tA2\ty\t80\t0.2\t1
#D\tA3\ty\t50\t0.4\t2
"""


def _write(tmp_path: Path, text: str | bytes, name: str = "f.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


def test_a_clean_file_in_every_dialect_gives_the_same_scenario(tmp_path):
    base = read(_write(tmp_path, BASE), format="decide")
    assert base.issue("x").low == 1 and base.issue("x").high == 9
    assert base.issue("y").low == 0 and base.issue("y").high == 100
    variants = {
        "comma": BASE.replace("\t", ","),
        "semicolon_quoted": "\n".join(";".join(f"'{c}'" for c in ln.split("\t"))
                                      for ln in BASE.splitlines()),
        "double_quoted": "\n".join("\t".join(f'"{c}"' for c in ln.split("\t"))
                                   for ln in BASE.splitlines()),
        "crlf_bom": "\ufeff" + BASE.replace("\n", "\r\n"),
        "cr_only": BASE.replace("\n", "\r"),
    }
    for name, text in variants.items():
        p = _write(tmp_path, text, f"{name}.csv")
        assert sniff(p).name == "decide", name
        sc = read(p)
        assert sc.position.tolist() == base.position.tolist(), name
        assert sc.salience.tolist() == base.salience.tolist(), name
        assert sc.capability.tolist() == base.capability.tolist(), name
        assert [(x.low, x.high) for x in sc.issues] == [(1.0, 9.0), (0.0, 100.0)], name


BAD = [
    ("unknown actor", "#D\tA1\ty\t20", "#D\tGhost\ty\t20", 13, "#D actor"),
    ("unknown issue", "#D\tA1\ty\t20", "#D\tA1\tz\t20", 13, "#D issue"),
    ("salience above 1", "#D\tA2\tx\t8\t0.7", "#D\tA2\tx\t8\t1.7", 11, "#D salience"),
    ("salience above 100", "#D\tA2\tx\t8\t0.7", "#D\tA2\tx\t8\t170", 11, "#D salience"),
    ("salience not a number", "#D\tA2\tx\t8\t0.7", "#D\tA2\tx\t8\thigh", 11, "#D salience"),
    ("negative power", "#D\tA3\ty\t50\t0.4\t2", "#D\tA3\ty\t50\t0.4\t-2", 15, "#D power"),
    ("missing power", "#D\tA3\ty\t50\t0.4\t2", "#D\tA3\ty\t50\t0.4", 15, "#D power"),
    ("position outside #M", "#D\tA1\tx\t2\t", "#D\tA1\tx\t12\t", 10, "#D position"),
    ("position not a number", "#D\tA1\tx\t2\t", "#D\tA1\tx\tleft\t", 10, "#D position"),
    ("unknown row type", "#/\ta comment", "#X\ta comment", 2, "row type"),
    ("duplicate actor", "#A\tA3\tActor three", "#A\tA2\tActor three", 5, "#A id"),
    ("#M for unknown issue", "#M\tx\t9\thigh", "#M\tq\t9\thigh", 8, "#M issue"),
    ("#M position not a number", "#M\tx\t9\thigh", "#M\tx\tnine\thigh", 8, "#M position"),
]


@pytest.mark.parametrize("what,old,new,line,field", BAD, ids=[b[0] for b in BAD])
def test_each_bad_row_is_a_located_error(tmp_path, what, old, new, line, field):
    assert old in BASE
    p = _write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(ScenarioError) as exc:
        read(p)
    hits = [pr for pr in exc.value.problems if pr.field == field]
    assert hits, exc.value.render()
    assert hits[0].line == line and hits[0].file == str(p)


def test_duplicate_stance_is_an_error_and_lenient_keeps_the_last_as_decide(tmp_path):
    p = _write(tmp_path, BASE + "#D\tA1\tx\t3\t0.5\t1\n")
    with pytest.raises(ScenarioError) as exc:
        read(p)
    assert exc.value.first.line == 16 and "line 10" in exc.value.first.expected
    sc = read(p, lenient=True)
    assert sc.stances[("A1", "x")].position.value == 3
    assert any("line 16" in n for n in sc.notes)


def test_lenient_keeps_decides_range_and_drops_what_decide_drops(tmp_path):
    text = (BASE.replace("#D\tA1\tx\t2\t", "#D\tA1\tx\t12\t")
            .replace("#D\tA2\ty\t80\t0.2\t1", "#D\tA2\ty\t80\t0.2\t-1"))
    sc = read(_write(tmp_path, text), lenient=True)
    assert sc.stances[("A1", "x")].position.value == 12
    assert ("A2", "y") not in sc.stances
    assert any("line 14" in n and "dropped" in n for n in sc.notes)


def test_zero_width_scale_and_empty_and_binary_files_are_located(tmp_path):
    one_anchor = BASE.replace("#M\tx\t9\thigh\n", "")
    with pytest.raises(ScenarioError) as exc:
        read(_write(tmp_path, one_anchor), format="decide")
    assert exc.value.first.line == 7 and exc.value.first.field == "#M position"
    for data in (b"", b"#A\tA1\x00\x01"):
        with pytest.raises(ScenarioError) as exc:
            read(_write(tmp_path, data, "junk.csv"), format="decide")
        assert exc.value.first.line == 1


def test_write_then_read_gives_the_same_scenario(tmp_path, reference):
    for name in ("sample_data.txt", "cop21.csv"):
        sc = read(reference / "exchange" / name)
        out = tmp_path / f"{Path(name).stem}.tsv"
        write(sc, out, format="decide")
        back = read(out)
        assert back.actor_ids == sc.actor_ids and back.issue_ids == sc.issue_ids
        assert back.position.tobytes() == sc.position.tobytes()
        assert back.salience.tobytes() == sc.salience.tobytes()
        assert back.capability.tobytes() == sc.capability.tobytes()
        assert back.low.tolist() == sc.low.tolist() and back.high.tolist() == sc.high.tolist()
