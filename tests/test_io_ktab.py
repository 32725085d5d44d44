"""KTAB SMP CSV and XML readers: KTAB's shipped files, round trips, located errors."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from accord import models
from accord.cli import app
from accord.errors import ScenarioError
from accord.scenario import io
from accord.scenario.io import ktab, ktab_xml

DATASETS = ["dummyData_3Dim", "SOE-Pol-Comp", "SOE-Policy", "dummyData_6Dim",
            "SOE-Competitive", "dummyData-a040", "dummyData-a080", "dummyData-a160"]


def expected(reference, name):
    return json.loads((reference / "ktab" / f"{name}.expected.json").read_text())


@pytest.mark.parametrize("name", DATASETS)
def test_every_shipped_ktab_csv_reads_as_ktab_parsed_it(reference, name):
    path = reference / "ktab" / f"{name}.csv"
    assert io.sniff(path).name == "ktab-csv"
    sc = io.read(path)
    ref = expected(reference, name)
    assert sc.format == "ktab-csv"
    assert sc.content_sha256 == ref["input_sha256"]
    assert list(sc.actor_ids) == [a["name"] for a in ref["actors"]]
    assert list(sc.issue_ids) == [d.strip() for d in ref["dimensions"]]
    np.testing.assert_array_equal(sc.capability, [a["capability"] for a in ref["actors"]])
    # KTAB divides by 100 internally; the JSON gives saliences back on 0-100
    np.testing.assert_allclose(sc.salience * 100, [a["salience"] for a in ref["actors"]],
                               rtol=0, atol=1e-12)
    names = [a["name"] for a in ref["actors"]]
    x0 = np.array([ref["turns"][0]["positions"][n] for n in names])
    np.testing.assert_allclose(sc.position, x0, rtol=0, atol=1e-12)
    assert (sc.low == 0).all() and (sc.high == 100).all()


def test_the_scenario_row_gives_title_description_and_a_clean_id(reference):
    sc = io.read(reference / "ktab" / "SOE-Competitive.csv")
    assert sc.title == "China Competitive; scen 1"
    # the description holds a semicolon: KTAB CSV is always comma-separated
    assert sc.description.startswith("Scenario-0001; Reforming CNPC")
    assert sc.id == "China-Competitive-scen-1"
    assert sc.actor("XJ").description == "Xi Jinping"


def test_sniffing_does_not_confuse_ktab_with_bdm_or_accord_csv(tmp_path):
    bdm = tmp_path / "bdm.csv"
    bdm.write_text("Actor,Capability,Position,Salience\nA,1,2,3\nB,1,2,3\n")
    acc = tmp_path / "acc.csv"
    acc.write_text("actor,issue,position,salience,capability\nA,x,1,0.5,1\n")
    assert ktab._sniff(bdm, bdm.read_text()) == 0
    assert ktab._sniff(acc, acc.read_text()) == 0
    assert io.sniff(bdm).name == "bdm-csv"
    assert io.sniff(acc).name != "ktab-csv"


def test_the_writer_round_trips_every_number(reference, tmp_path):
    src = io.read(reference / "ktab" / "dummyData_6Dim.csv")
    out = tmp_path / "six.csv"
    io.write(src, out, format="ktab-csv")
    again = io.read(out)
    assert again.format == "ktab-csv"
    np.testing.assert_array_equal(again.position, src.position)
    np.testing.assert_array_equal(again.salience, src.salience)
    np.testing.assert_array_equal(again.capability, src.capability)
    assert again.issue_ids == src.issue_ids and again.actor_ids == src.actor_ids
    a, _ = models.run("smp", src.inputs(), rounds=3)
    b, _ = models.run("smp", again.inputs(), rounds=3)
    np.testing.assert_array_equal(a.positions, b.positions)


def test_the_writer_refuses_what_ktab_cannot_hold(reference, tmp_path):
    sc = io.read(reference / "ktab" / "SOE-Pol-Comp.csv")
    from dataclasses import replace
    from accord.scenario.model import Quantity, Stance

    stances = dict(sc.stances)
    key = next(iter(stances))
    stances[key] = Stance(stances[key].position, Quantity(0.99))
    with pytest.raises(ValueError, match="sum to"):
        ktab.write(replace(sc, stances=stances), tmp_path / "x.csv")


# ---- XML ------------------------------------------------------------------------------------

def xml_from(sc, params: dict | None = None, adjust: str = "") -> str:
    """A KTAB SMP XML document with the numbers of a scenario (values on 0-100)."""
    dims = "".join(f"<dName>{d}</dName>" for d in sc.issue_ids)
    actors = []
    for a in sc.actors:
        pos = "".join(f"<dCoord>{sc.stances[(a.id, d)].position.value!r}</dCoord>"
                      for d in sc.issue_ids)
        sal = "".join(f"<dSal>{sc.stances[(a.id, d)].salience.value * 100:.10g}</dSal>"
                      for d in sc.issue_ids)
        actors.append(f"<Actor>\n<name>{a.id}</name><description>d</description>\n"
                      f"<capability>{a.capability.value!r}</capability>\n"
                      f"<Position>{pos}</Position>\n<Salience>{sal}</Salience>\n</Actor>")
    mp = ""
    if params:
        mp = "<ModelParameters>" + "".join(f"<{k}>{v}</{k}>" for k, v in params.items()) \
            + "</ModelParameters>\n"
    body = "\n".join(actors)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Scenario>\n'
            f"<name>{sc.id}</name>\n<desc>test</desc>\n<prngSeed>1</prngSeed>\n{mp}"
            f"<Dimensions>{dims}</Dimensions>\n<Actors>\n{body}\n</Actors>\n{adjust}</Scenario>\n")


def test_an_xml_scenario_reads_like_its_csv_and_reproduces_ktab(reference, tmp_path):
    csv_sc = io.read(reference / "ktab" / "dummyData_3Dim.csv")
    path = tmp_path / "three.xml"
    path.write_text(xml_from(csv_sc))
    assert io.sniff(path).name == "ktab-xml"
    sc = io.read(path)
    np.testing.assert_array_equal(sc.position, csv_sc.position)
    np.testing.assert_allclose(sc.salience, csv_sc.salience, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(sc.capability, csv_sc.capability)
    ref = expected(reference, "dummyData_3Dim")
    out, _ = models.run("smp", sc.inputs(), preset="ktab")
    names = [a["name"] for a in ref["actors"]]
    assert int(out.rounds_run[0]) == ref["n_turns"]
    for t, turn in enumerate(ref["turns"]):
        want = np.array([turn["positions"][n] for n in names])
        np.testing.assert_allclose(out.positions[0, t], want, rtol=0, atol=1e-6)


def test_the_xml_writer_round_trips_numbers_and_adjustments(reference, tmp_path):
    csv_sc = io.read(reference / "ktab" / "SOE-Pol-Comp.csv")
    a, b = csv_sc.actor_ids[:2]
    adjust = ("<IdealAdjustment><iaPair><adjustingIdeal>" + a + "</adjustingIdeal><referencePos>"
              + b + "</referencePos><adjust>0.25</adjust></iaPair></IdealAdjustment>\n")
    src = tmp_path / "src.xml"
    src.write_text(xml_from(csv_sc, adjust=adjust))
    sc = io.read(src)
    out = tmp_path / "out.xml"
    io.write(sc, out, format="ktab-xml")
    again = io.read(out)
    np.testing.assert_array_equal(again.position, sc.position)
    np.testing.assert_array_equal(again.salience, sc.salience)
    np.testing.assert_array_equal(again.capability, sc.capability)
    assert ktab_xml.accommodation(again) == ktab_xml.accommodation(sc)


def test_xml_model_parameters_and_ideal_adjustments_are_kept(reference, tmp_path):
    csv_sc = io.read(reference / "ktab" / "dummyData_3Dim.csv")
    a, b = csv_sc.actor_ids[:2]
    adjust = ("<IdealAdjustment>"
              f"<iaPair><adjustingIdeal>{a}</adjustingIdeal><referencePos>{a}</referencePos>"
              "<adjust>0.8</adjust></iaPair>"
              f"<iaPair><adjustingIdeal>{a}</adjustingIdeal><referencePos>{b}</referencePos>"
              "<adjust>0.1</adjust></iaPair></IdealAdjustment>\n")
    path = tmp_path / "p.xml"
    path.write_text(xml_from(csv_sc, {"PCEModel": "MarkovUniform", "VotingRule": "Cubic"}, adjust))
    sc = io.read(path)
    assert any("PCEModel=MarkovUniform" in n for n in sc.notes)
    assert ktab_xml.model_parameters(path) == {"PCEModel": "MarkovUniform", "VotingRule": "Cubic"}
    acc = np.array(ktab_xml.accommodation(sc))
    assert acc[0, 0] == 0.8 and acc[0, 1] == 0.1 and acc[0].sum() == pytest.approx(0.9)
    np.testing.assert_array_equal(acc[1:], np.eye(len(sc.actors))[1:])
    out, prm = models.run("smp", sc.inputs(), params=ktab_xml.model_parameters(path), rounds=5)
    assert prm["PCEModel"] == "MarkovUniform"
    assert np.all((out.positions >= 0) & (out.positions <= 100))
    # the adjustments reach the model (KTAB moves a's ideal towards b), also through the CLI
    plain, _ = models.run("smp", dataclasses.replace(sc.inputs(), accommodation=None),
                          params=ktab_xml.model_parameters(path), rounds=5)
    assert not np.allclose(plain.positions, out.positions)
    res = CliRunner().invoke(app, ["run", "smp", str(path), "--rounds", "5", "--json"])
    doc = json.loads(res.stdout)
    last = doc["rounds"][-1]["positions"]
    want = out.positions[0, -1]
    got = np.array([[last[x][i] for i in sc.issue_ids] for x in sc.actor_ids])
    np.testing.assert_allclose(got, want, atol=1e-9)


# ---- located errors ---------------------------------------------------------------------------

HEAD = 'Sc,"a test",3,2,\nActor,Description,Influence,P1,S1,P2,S2,\n'
ROWS = ["A,a,10,20,30,40,50,", "B,b,20,60,40,10,10,", "C,c,30,90,10,50,50,"]


def csv_error(tmp_path, text: str, lenient: bool = False) -> ScenarioError:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        io.read(path, format="ktab-csv", lenient=lenient)
    for p in info.value.problems:
        assert p.file == str(path)
    return info.value


def located(err: ScenarioError, line, field_part: str):
    hits = [p for p in err.problems if p.line == line and field_part in p.field]
    assert hits, f"no problem at line {line} about {field_part!r}: {err}"
    return hits[0]


def test_a_good_small_ktab_csv_reads(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(HEAD + "\n".join(ROWS) + "\n")
    sc = io.read(path)
    assert sc.actor_ids == ("A", "B", "C") and sc.issue_ids == ("P1", "P2")
    assert sc.salience[1, 0] == 0.4


@pytest.mark.parametrize("rows, line, field, expected_part", [
    (["A,a,10,20,30,40,50,", "B,b,20,160,40,10,10,", ROWS[2]], 4, "P1", "[0, 100]"),
    (["A,a,10,20,30,40,50,", "B,b,20,60,-4,10,10,", ROWS[2]], 4, "S1", "[0, 100]"),
    (["A,a,10,20,60,40,50,", ROWS[1], ROWS[2]], 3, "salience", "at most 100"),
    (["A,a,ten,20,30,40,50,", ROWS[1], ROWS[2]], 3, "Influence", "capability"),
    (["A,a,-1,20,30,40,50,", ROWS[1], ROWS[2]], 3, "Influence", ">= 0"),
    (["A,a,10,20,30,x,50,", ROWS[1], ROWS[2]], 3, "P2", "position"),
    (["A,a,10,20,30,40", ROWS[1], ROWS[2]], 3, "row", "7 cells"),
    (["A,a,10,20,30,40,50,9", ROWS[1], ROWS[2]], 3, "row", "extra data"),
    ([ROWS[0], ROWS[0], ROWS[2]], 4, "Actor", "unique"),
    (ROWS + ["D,d,1,1,1,1,1,"], 6, "row", "declares 3"),
    (ROWS[:2], 4, "rows", "3 actor rows"),
])
def test_each_csv_error_names_the_line_and_the_field(tmp_path, rows, line, field, expected_part):
    err = csv_error(tmp_path, HEAD + "\n".join(rows) + "\n")
    p = located(err, line, field)
    assert expected_part in p.expected


def test_errors_of_the_scenario_row_and_header(tmp_path):
    err = csv_error(tmp_path, 'Sc,"a",three,2,\n' + HEAD.split("\n")[1] + "\n" + ROWS[0])
    assert located(err, 1, "number of actors").column == 3
    err = csv_error(tmp_path, 'Sc,"a",3,2,\nActor,Description,Influence,P1,S1,\n'
                    + "\n".join(ROWS))
    assert "7 columns" in located(err, 2, "header").expected
    err = csv_error(tmp_path, 'Sc,"a",3,2,\nName,Description,Clout,P1,S1,P2,S2\n'
                    + "\n".join(ROWS))
    assert "Influence" in located(err, 2, "header").expected


def test_extra_cells_are_an_error_unless_lenient_and_then_a_note(tmp_path):
    rows = ["A,a,10,20,30,40,50,9", ROWS[1], ROWS[2]]
    path = tmp_path / "extra.csv"
    path.write_text(HEAD + "\n".join(rows) + "\n")
    sc = io.read(path, format="ktab-csv", lenient=True)
    assert any("line 3" in n and "ignored" in n for n in sc.notes)


def test_all_problems_of_a_file_are_reported_together(tmp_path):
    rows = ["A,a,10,200,30,40,50,", "B,b,20,60,400,10,10,", "C,c,x,90,10,50,50,"]
    err = csv_error(tmp_path, HEAD + "\n".join(rows) + "\n")
    assert {p.line for p in err.problems} >= {3, 4, 5}


def test_empty_and_binary_files_are_located_errors(tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_text("")
    with pytest.raises(ScenarioError) as info:
        io.read(empty, format="ktab-csv")
    assert info.value.first.line == 1
    junk = tmp_path / "j.csv"
    junk.write_bytes(b"Sc,a,3,1\n\x00\x01\x02")
    with pytest.raises(ScenarioError) as info:
        io.read(junk, format="ktab-csv")
    assert info.value.first.line == 2


XML_OK = """<?xml version="1.0"?>
<Scenario>
  <name>T</name>
  <desc>d</desc>
  <Dimensions><dName>A</dName><dName>B</dName></Dimensions>
  <Actors>
    <Actor>
      <name>a1</name><description>x</description><capability>10</capability>
      <Position><dCoord>10</dCoord><dCoord>20</dCoord></Position>
      <Salience><dSal>30</dSal><dSal>40</dSal></Salience>
    </Actor>
    <Actor>
      <name>a2</name><description>x</description><capability>20</capability>
      <Position><dCoord>80</dCoord><dCoord>20</dCoord></Position>
      <Salience><dSal>50</dSal><dSal>40</dSal></Salience>
    </Actor>
  </Actors>
</Scenario>
"""


def xml_error(tmp_path, text: str) -> ScenarioError:
    path = tmp_path / "bad.xml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        io.read(path, format="ktab-xml")
    for p in info.value.problems:
        assert p.file == str(path)
    return info.value


def test_a_good_small_xml_reads(tmp_path):
    path = tmp_path / "ok.xml"
    path.write_text(XML_OK)
    sc = io.read(path)
    assert sc.format == "ktab-xml" and sc.actor_ids == ("a1", "a2")
    assert sc.salience[1, 0] == 0.5


@pytest.mark.parametrize("old, new, line, field, expected_part", [
    ("<dCoord>80</dCoord>", "<dCoord>180</dCoord>", 14, "a2.A.position", "[0, 100]"),
    ("<dSal>50</dSal>", "<dSal>x</dSal>", 15, "a2.A.salience", "salience"),
    ("<dSal>50</dSal>", "<dSal>70</dSal>", 15, "a2.Salience", "at most 100"),
    ("<dCoord>20</dCoord></Position>\n      <Salience><dSal>50",
     "</Position>\n      <Salience><dSal>50", 14, "a2.Position", "2 <dCoord>"),
    ("<capability>20</capability>", "", 12, "Actor/capability", "<capability>"),  # at <Actor>
    ("<capability>20</capability>", "<capability>-2</capability>", 13, "a2.capability", ">= 0"),
    ("<name>a2</name>", "<name>a1</name>", 13, "Actor/name", "unique"),
    ("<desc>d</desc>", "<desc>d</desc><Colour>red</Colour>", 4, "Scenario/Colour", "one of"),
    ("<dName>B</dName>", "<dName>A</dName>", 5, "dName", "unique"),
    ("<desc>d</desc>", "<desc>d</desc><ModelParameters><VotingRule>Loud</VotingRule>"
     "</ModelParameters>", 4, "ModelParameters/VotingRule", "Prop"),
    ("</Actors>", "</Actors><IdealAdjustment><iaPair><adjustingIdeal>zz</adjustingIdeal>"
     "<referencePos>a1</referencePos><adjust>0.5</adjust></iaPair></IdealAdjustment>",
     17, "iaPair/adjustingIdeal", "actor"),
    ("</Actors>", "</Actors><IdealAdjustment><iaPair><adjustingIdeal>a1</adjustingIdeal>"
     "<referencePos>a1</referencePos><adjust>1.5</adjust></iaPair></IdealAdjustment>",
     17, "iaPair/adjust", "[0, 1]"),
])
def test_each_xml_error_names_the_line_and_the_field(tmp_path, old, new, line, field,
                                                     expected_part):
    assert old in XML_OK
    err = xml_error(tmp_path, XML_OK.replace(old, new, 1))
    p = located(err, line, field)
    assert expected_part in p.expected
    assert p.column is not None


def test_malformed_xml_is_located(tmp_path):
    err = xml_error(tmp_path, XML_OK.replace("</Salience>\n    </Actor>", "</Salience>\n", 1))
    assert err.first.field == "xml" and err.first.line is not None and err.first.line > 1


def test_entity_expansion_is_refused_before_any_expansion(tmp_path):
    laughs = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
              ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
              ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n]>\n'
              "<Scenario><name>&lol3;</name></Scenario>\n")
    err = xml_error(tmp_path, laughs)
    assert err.first.field == "DOCTYPE" and err.first.line == 2
    external = ('<?xml version="1.0"?>\n<!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                "<Scenario><name>&x;</name></Scenario>\n")
    assert xml_error(tmp_path, external).first.field == "DOCTYPE"
    undefined = XML_OK.replace("<name>T</name>", "<name>&nope;</name>")
    err = xml_error(tmp_path, undefined)
    assert err.first.field == "xml" and err.first.line == 3


def test_a_wrong_root_element_is_located(tmp_path):
    err = xml_error(tmp_path, '<?xml version="1.0"?>\n<Model><name>x</name></Model>\n')
    assert err.first.field == "root" and err.first.line == 2
