"""Adding an analysis as a view: the scaffold `accord view new` writes (the passages it
suggests for each cell, the files it leaves alone), and a second coder's agreement
(`accord view compare`), with Krippendorff's alpha computed here from its definition."""

from __future__ import annotations

import hashlib
import json
import shutil
from itertools import permutations
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import accord
from accord.cli import app

REPO = Path(__file__).resolve().parents[1]
FLAGSHIP = REPO / "scenarios" / "ukraine-2025"

PLANTED = ("The Kremlin insists that Crimea and the four annexed oblasts be recognised as "
           "Russian territory.")
ARTICLE = f"""Where the talks stand after the winter

The negotiators met again in Geneva this week. Nobody expects a quick result, and the
weather in the east has turned. {PLANTED} Kyiv refuses to cede any land it still holds.

Washington wants Europe to pay for the weapons it sends; the era of US aid as long as it
takes is over, a senior official said.

Brussels promised Ukraine EU membership by a fixed date. Beijing stays quiet.
"""


@pytest.fixture
def editable(tmp_path: Path) -> Path:
    """A copy of the flagship whose corpus is a writable folder beside it (no source files:
    `view new` never reads the others)."""
    sc = tmp_path / "ukraine-2025"
    shutil.copytree(FLAGSHIP, sc)
    (tmp_path / "corpus").mkdir()
    text = (sc / "scenario.yaml").read_text()
    (sc / "scenario.yaml").write_text(text.replace("corpus: ../../../shared/corpus/ukraine-2025",
                                                   "corpus: ../corpus"))
    (tmp_path / "smith.txt").write_text(ARTICLE)
    return sc


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


# ---- accord view new -----------------------------------------------------------------------


def test_view_new_suggests_the_planted_sentence_for_its_cell(editable, tmp_path):
    r = _run("view", "new", editable, "--source", tmp_path / "smith.txt", "--id", "smith-2026",
             "--date", "2026-02-01", "--author", "A. Smith", "--db", tmp_path / "ev.db")
    assert r.exit_code == 0, r.output
    view = (editable / "views" / "smith-2026.yaml").read_text()
    block = view.split("#   russia.territory: not yet coded")[1].split("#   russia.nato")[0]
    first = block.strip().splitlines()[1]
    assert "line 4" in first and json.dumps(PLANTED) in first  # the best passage, its line
    # every cell is listed, not yet coded, and the file is a valid, empty view
    sc = accord.load(editable)
    assert view.count(": not yet coded (") == len(sc.actors) * len(sc.issues)
    assert "smith-2026" in sc.views and not sc.views["smith-2026"].stances
    assert sc.sources["smith-2026"].file == "smith.txt" and sc.sources["smith-2026"].author == "A. Smith"
    assert (tmp_path / "corpus" / "smith.txt").read_text() == ARTICLE
    from accord.evidence import search

    hits = search(tmp_path / "ev.db", "Crimea oblasts")
    assert hits and hits[0].file == "smith.txt"


def test_view_new_only_adds_lines_to_scenario_yaml(editable, tmp_path):
    before = (editable / "scenario.yaml").read_text().splitlines()
    r = _run("view", "new", editable, "--source", tmp_path / "smith.txt", "--id", "smith-2026",
             "--db", tmp_path / "ev.db")
    assert r.exit_code == 0, r.output
    after = (editable / "scenario.yaml").read_text().splitlines()
    added = [ln for ln in after if ln not in before]
    assert added[0].strip() == "smith-2026:" and len(after) == len(before) + len(added)
    it = iter(after)
    assert all(line in it for line in before)  # every original line, in order


def test_view_new_overwrites_nothing_and_reports_every_problem_at_once(editable, tmp_path):
    assert _run("view", "new", editable, "--source", tmp_path / "smith.txt", "--id", "a1",
                "--db", tmp_path / "ev.db").exit_code == 0
    before = _digest(editable)
    r = _run("view", "new", editable, "--source", tmp_path / "missing.txt", "--id", "a1",
             "--source-id", "fazi", "--db", tmp_path / "ev.db")
    assert r.exit_code == 2
    text = " ".join(r.output.split())  # the console may wrap long messages
    assert "views/a1.yaml" in text and "nothing is overwritten" in text
    assert "--source-id: got 'fazi'" in text and "missing.txt" in text
    assert "3 problems found" in text or "4 problems found" in text
    assert _digest(editable) == before


def test_view_new_refuses_the_bundled_copy_but_not_the_checkout(tmp_path, monkeypatch):
    from accord.coding import new_view
    from accord.errors import ScenarioError
    import importlib

    load_module = importlib.import_module("accord.scenario.load")

    bundle = tmp_path / "site-packages" / "accord" / "bundled"
    shutil.copytree(FLAGSHIP, bundle / "ukraine-2025")
    monkeypatch.setattr(load_module, "_bundled_root", lambda: bundle)
    (tmp_path / "t.txt").write_text(ARTICLE)
    before = _digest(bundle)
    with pytest.raises(ScenarioError) as exc:
        new_view(bundle / "ukraine-2025", tmp_path / "t.txt", "x")
    assert "not the copy bundled inside the installed package" in str(exc.value)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as exc:  # a bundled scenario's name
        new_view("ukraine-2025", tmp_path / "t.txt", "x")
    assert "not the name of a bundled scenario: copy it first" in str(exc.value)
    assert _digest(bundle) == before
    from accord.coding.scaffold import _is_bundled

    assert not _is_bundled(FLAGSHIP)  # the checkout's scenarios/ stays editable


def test_view_new_keeps_the_line_endings_of_scenario_yaml(editable, tmp_path):
    main = editable / "scenario.yaml"
    main.write_bytes(main.read_bytes().replace(b"\n", b"\r\n"))
    before = main.read_bytes()
    from accord.coding import new_view

    new_view(editable, tmp_path / "smith.txt", "smith-2026")
    after = main.read_bytes()
    assert b"\r\n  smith-2026:\r\n" in after and after.count(b"\n") == after.count(b"\r\n")
    assert after.replace(b"  smith-2026:\r\n    file: \"smith.txt\"\r\n    title: \"smith\"\r\n",
                         b"", 1) == before


def test_view_new_will_not_empty_a_store_of_another_folder(editable, tmp_path):
    from accord.coding import new_view
    from accord.errors import ScenarioError
    from accord.evidence import index

    other = tmp_path / "other-texts"
    other.mkdir()
    (other / "a.txt").write_text("Another project's source.\n")
    index(other, tmp_path / "store.db")
    with pytest.raises(ScenarioError) as exc:
        new_view(editable, tmp_path / "smith.txt", "smith-2026", db_path=tmp_path / "store.db")
    assert "indexing would drop its documents" in str(exc.value)
    assert not (editable / "views" / "smith-2026.yaml").exists()


def test_the_same_text_already_in_the_corpus_is_used_not_copied(editable, tmp_path):
    (tmp_path / "corpus" / "already.txt").write_text(ARTICLE)
    from accord.coding import new_view

    made = new_view(editable, tmp_path / "smith.txt", "smith-2026")
    assert not made.copied and made.corpus_file.name == "already.txt"
    assert accord.load(editable).sources["smith-2026"].file == "already.txt"


# ---- accord view compare -------------------------------------------------------------------

CODER_A = """view: smith-a
source: fazi
actors:
  russia:
    stances:
      territory: {position: 100, salience: 0.9, quote: "x"}
      nato: {position: 100, salience: 0.95, quote: "x"}
  ukraine:
    stances:
      territory: {position: 10, salience: 1.0, quote: "x"}
      nato: {position: 20, salience: 0.8, quote: "x"}
  usa:
    stances:
      territory: {position: 65, salience: 0.5, quote: "x"}
      nato: {position: 80, salience: 0.4, quote: "x"}
  china:
    stances:
      territory: {position: 70, salience: 0.2, quote: "x"}
"""
CODER_B = """view: smith-b
source: fazi
actors:
  russia:
    stances:
      territory: {position: 95, salience: 0.9, quote: "x"}
      nato: {position: 100, salience: 0.9, quote: "x"}
  ukraine:
    stances:
      territory: {position: 0, salience: 1.0, quote: "x"}
      nato: {position: 10, salience: 0.8, quote: "x"}
  usa:
    stances:
      territory: {position: 40, salience: 0.6, quote: "x"}
      nato: {position: 75, salience: 0.4, quote: "x"}
  india:
    stances:
      territory: {position: 50, salience: 0.1, quote: "x"}
"""


def _alpha_by_definition(pairs: list[tuple[float, float]]) -> float:
    """Krippendorff's interval alpha from its coincidence form, units coded by both coders."""
    values = [v for p in pairs for v in p]
    n = len(values)
    d_o = sum((a - b) ** 2 for p in pairs for a, b in permutations(p, 2)) / n  # m_u - 1 = 1
    d_e = sum((a - b) ** 2 for a, b in permutations(values, 2)) / (n * (n - 1))
    return 1 - d_o / d_e


@pytest.fixture
def two_coders(tmp_path: Path) -> tuple[Path, Path, Path]:
    sc = tmp_path / "ukraine-2025"
    shutil.copytree(FLAGSHIP, sc)
    (sc / "views" / "smith-a.yaml").write_text(CODER_A)
    second = tmp_path / "second-coder"
    second.mkdir()
    (second / "smith-b.yaml").write_text(CODER_B)
    return sc, sc / "views" / "smith-a.yaml", second / "smith-b.yaml"


def test_view_compare_gives_the_alpha_of_the_definition(two_coders):
    sc, a, b = two_coders
    r = _run("view", "compare", a, b, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    alpha = {row["unit"]: row for row in doc["alpha"]}
    territory = [(100, 95), (10, 0), (65, 40)]  # china and india coded by one coder only
    nato = [(100, 100), (20, 10), (80, 75)]
    assert alpha["territory"]["alpha"] == pytest.approx(_alpha_by_definition(territory))
    assert alpha["nato"]["alpha"] == pytest.approx(_alpha_by_definition(nato))
    assert alpha["overall"]["alpha"] == pytest.approx(
        _alpha_by_definition([(x / 100, y / 100) for x, y in territory + nato]))
    assert alpha["salience"]["alpha"] == pytest.approx(_alpha_by_definition(
        [(0.9, 0.9), (0.95, 0.9), (1.0, 1.0), (0.8, 0.8), (0.5, 0.6), (0.4, 0.4)]))
    assert (alpha["territory"]["cells_both"], alpha["territory"]["cells_a"]) == (3, 4)
    assert alpha["troops"]["alpha"] is None and "no cell coded by both" in alpha["troops"]["note"]


def test_the_largest_difference_comes_first_with_its_effect_on_the_forecast(two_coders):
    from accord import models
    from accord.analysis.agreement import compare
    from accord.coding.viewfile import read_view_file
    from accord.scenario import io as sio

    sc_dir, a, b = two_coders
    sc = sio.read(sc_dir)
    res = compare(sc, read_view_file(sc, a), read_view_file(sc, b))
    top = res.differences.iloc[0]
    assert (top.actor, top.issue, top.field, top.a, top.b) == ("usa", "territory", "position", 65, 40)
    # independently: coder A's coding with usa's territory position set to B's 40
    inp = sc.view("smith-a").inputs()
    moved = inp.position.copy()
    j = sc.issue_ids.index("territory")
    moved[0, sc.actor_ids.index("usa"), j] = 40
    from dataclasses import replace

    ref = models.run("compromise", inp)[0].final[0, j]
    new = models.run("compromise", replace(inp, position=moved))[0].final[0, j]
    assert top.shift_compromise == pytest.approx(new - ref)
    assert new < ref  # a lower position pulls the forecast down
    one_coder = res.differences[res.differences.scaled.isna()]
    assert set(one_coder.actor) == {"china", "india"}
    assert res.differences.index[res.differences.scaled.isna()].min() > \
        res.differences.index[res.differences.scaled.notna()].max()


def test_a_second_coder_with_a_typo_gets_located_errors(two_coders):
    sc, a, b = two_coders
    b.write_text(CODER_B.replace("india:", "indai:").replace("nato: {position: 75",
                                                              "natoo: {position: 75"))
    r = _run("view", "compare", a, b)
    assert r.exit_code == 2
    text = " ".join(r.output.split())
    assert "smith-b.yaml:16: actors.indai" in text
    assert "smith-b.yaml:15: actors.usa.stances.natoo" in text
    assert "2 problems found" in text
