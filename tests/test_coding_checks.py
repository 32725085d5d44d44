"""Coding checks of `accord evidence check`: each kind of coding error is reported with its
file and line (accord.evidence.coding)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import accord
from accord.evidence import check

TEXT = """The war drags on.
Moscow continues to make incremental advances on the battlefield, and Russia demands all of Donbas.
Kyiv says it will never give up Donbas territories without a fight.
The weather in August was hot and the harvest was good.
"""

BASE = """\
scenario: toy
as_of: 2025-08-20
corpus: corpus
sources:
  early: {file: early.txt, date: 2025-01-10}
  late: {file: late.txt, date: 2025-08-20}
issues:
  territory:
    question: Who holds the land?
    scale: [0, 100]
    status_quo: 50
actors:
  russia:
    capability: 80
    stances:
      territory:
        position: 90
        salience: 0.9
        evidence:
          - {source: late, quote: "Russia demands all of Donbas."}
  ukraine:
    capability: 40
    stances:
      territory: {position: 10, salience: 0.9, judgement: "Holds out because the text says it will fight for Donbas."}
"""

VIEW = """\
view: early-2025
source: early
date: 2025-01-10
actors:
  russia:
    stances:
      territory:
        position: 80
        salience: 0.8
        quote: "continues to make incremental advances"
  ukraine:
    capability: {value: 30, quote: "The weather in August was hot and the harvest was good."}
    stances:
      territory:
        position: 20
        salience: 0.9
        judgement: Low salience.
  russia_again: null
"""


def _folder(tmp_path: Path, view: str = VIEW, base_file: str | None = None) -> Path:
    f = tmp_path / "toy"
    (f / "views").mkdir(parents=True)
    (f / "corpus").mkdir()
    (f / "corpus" / "early.txt").write_text(TEXT, encoding="utf-8")
    (f / "corpus" / "late.txt").write_text(TEXT, encoding="utf-8")
    (f / "scenario.yaml").write_text(BASE, encoding="utf-8")
    (f / "views" / "early-2025.yaml").write_text(view.replace("  russia_again: null\n", ""),
                                                 encoding="utf-8")
    if base_file is not None:
        (f / "bases").mkdir()
        (f / "bases" / "base-2025.yaml").write_text(base_file, encoding="utf-8")
    return f


def _findings(folder: Path) -> dict[str, list]:
    rep = check(accord.load(folder))
    out: dict[str, list] = {}
    for f in rep.findings:
        out.setdefault(f.check, []).append(f.problem)
    return out


def test_a_quote_cut_mid_sentence_is_an_error_with_file_and_line(tmp_path):
    folder = _folder(tmp_path)
    cut = _findings(folder)["cut"]
    p = next(p for p in cut if "incremental" in str(p.value))
    assert p.file.endswith("views/early-2025.yaml") and p.line == 10
    assert "starts at the start of a sentence" in p.expected


def test_an_ellipsis_marks_a_cut_and_silences_the_check(tmp_path):
    folder = _folder(tmp_path, VIEW.replace('"continues to make incremental advances"',
                                            '"Moscow continues to make incremental advances ..."'))
    assert not [p for p in _findings(folder).get("cut", []) if "incremental" in str(p.value)]


def test_a_quote_whose_sentence_names_neither_actor_nor_issue_is_a_warning(tmp_path):
    folder = _folder(tmp_path)
    rep = check(accord.load(folder))
    off = [p for p in rep.warnings if "[off-topic]" in p.expected]
    assert any(p.line == 12 and p.file.endswith("early-2025.yaml") for p in off), off
    # a synonym listed in terms.yaml makes it speak of the actor
    (folder / "terms.yaml").write_text("actors:\n  ukraine: [harvest]\n", encoding="utf-8")
    rep = check(accord.load(folder))
    assert not [p for p in rep.warnings if "[off-topic]" in p.expected and p.line == 12]


def test_a_view_older_than_its_base_is_an_error(tmp_path):
    folder = _folder(tmp_path)
    p = _findings(folder)["later-base"][0]
    assert p.file.endswith("views/early-2025.yaml") and p.line == 1
    assert "2025-08-20" in p.expected


def test_a_dated_base_of_the_views_time_removes_the_error_and_no_cell_comes_from_later(tmp_path):
    base_file = textwrap.dedent("""\
        base: base-2025-01
        as_of: 2025-01-10
        views: [early-2025]
        issues:
          territory: {status_quo: {value: 45, judgement: "The line of January 2025, because the front moved since then."}}
        actors:
          russia:
            capability: {value: 70, judgement: "Weaker in January, as the offensive had not yet started then."}
            stances:
              territory: {position: 85, salience: 0.9, source: early, quote: "Moscow continues to make incremental advances on the battlefield, and Russia demands all of Donbas."}
          ukraine:
            capability: {value: 40, judgement: "Unchanged because no text of the time says otherwise."}
        """)
    folder = _folder(tmp_path, base_file=base_file)
    sc = accord.load(folder)
    from accord.scenario.bases import later_cells

    assert later_cells(sc, "early-2025") == []
    assert "later-base" not in _findings(folder)
    v = sc.view("early-2025")
    assert v.status_quo[0] == 45
    k = v.actor_ids.index("russia")
    assert v.position[k, 0] == 80 and not v.inherited[k, 0]      # the view's own cell
    assert v.capability[k] == 70                                  # from the dated base
    u = v.actor_ids.index("ukraine")
    assert v.position[u, 0] == 20 and v.capability[u] == 30
    assert sc.capability_inherited("early-2025")["russia"]       # russia's capability: a base's


def test_a_dated_base_quoting_a_later_text_is_an_error(tmp_path):
    base_file = textwrap.dedent("""\
        base: base-2025-01
        as_of: 2025-01-10
        views: [early-2025]
        actors:
          russia:
            capability: {value: 70, source: late, quote: "Russia demands all of Donbas."}
        """)
    folder = _folder(tmp_path, base_file=base_file)
    p = _findings(folder)["foreign"][0]
    assert p.file.endswith("bases/base-2025.yaml") and p.line == 6 and "late" in str(p.value)


def test_a_judgement_note_without_a_reason_is_a_warning(tmp_path):
    folder = _folder(tmp_path)
    p = _findings(folder)["no-reason"][0]
    assert p.file.endswith("early-2025.yaml") and p.line == 17 and p.value == "Low salience."


def test_a_view_number_taken_from_the_base_or_another_text_is_an_error(tmp_path):
    view = VIEW.replace("judgement: Low salience.",
                        "judgement: Position from the base, as the text is silent on it.")
    folder = _folder(tmp_path, view)
    p = _findings(folder)["foreign"][0]
    assert p.file.endswith("early-2025.yaml") and p.line == 17
    view = VIEW.replace("judgement: Low salience.",
                        "judgement: As the late analysis says, Kyiv holds the line.")
    p = _findings(_folder(tmp_path / "b", view))["foreign"][0]
    assert "'late'" in p.expected


def test_the_cli_prints_warnings_and_fails_on_errors_with_file_and_line(tmp_path):
    from typer.testing import CliRunner

    from accord.cli import app

    folder = _folder(tmp_path)
    r = CliRunner().invoke(app, ["evidence", "check", str(folder)])
    assert r.exit_code == 2
    assert "early-2025.yaml:10" in r.output and "[cut]" in r.output


def test_a_view_no_base_lists_inherits_the_latest_base_of_its_time(tmp_path):
    base_file = textwrap.dedent("""\
        base: base-2025-01
        as_of: 2025-01-01
        actors:
          russia:
            capability: {value: 70, judgement: "Weaker in January, as the offensive had not yet started then."}
        """)
    folder = _folder(tmp_path, base_file=base_file)
    sc = accord.load(folder)
    assert sc.view_base == {"early-2025": "base-2025-01"}
    assert sc.view("early-2025").capability[sc.actor_ids.index("russia")] == 70
