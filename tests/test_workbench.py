"""The coding workbench: a first-time coder codes one cell of a new view from its source in
real Chromium (select a passage, attach it, set the number, save), and the API behind it
checks quotes, refuses bad cells with every problem at once, and never overwrites a file.

``ACCORD_SCREENSHOTS=docs/img`` makes the browser test save the handbook's screenshots and
print the measured steps of coding one cell."""

from __future__ import annotations

import datetime
import json
import os
import shutil
from pathlib import Path

import pytest

import accord

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
def data(tmp_path: Path, corpus: Path) -> Path:
    """A data folder holding the flagship, its corpus, and a new view scaffolded from an
    article (the corpus must lie inside the folder the server reads)."""
    from accord.coding import new_view

    d = tmp_path / "data"
    shutil.copytree(FLAGSHIP, d / "ukraine-2025")
    shutil.copytree(corpus / "ukraine-2025", d / "corpus")
    for p in (d / "corpus").iterdir():
        p.chmod(0o644)
    (d / "corpus").chmod(0o755)
    main = d / "ukraine-2025" / "scenario.yaml"
    main.write_text(main.read_text().replace("corpus: ../../../shared/corpus/ukraine-2025",
                                             "corpus: ../corpus"))
    (tmp_path / "smith.txt").write_text(ARTICLE)
    new_view(d / "ukraine-2025", tmp_path / "smith.txt", "smith-2026",
             title="Smith, where the talks stand", date=datetime.date(2026, 2, 1))
    (d / "ukraine-2025" / "views" / "fazi-2025-b.yaml").write_text(_second_coder_of_fazi())
    return d


def _second_coder_of_fazi() -> str:
    """A second coder's reading of Fazi: the same cells, some numbers moved (judgements)."""
    sc = accord.load(FLAGSHIP)
    moves = [0, -5, 10, 0, -15, 5, 0, 20, -10, 0, 5, -5]
    lines = ["view: fazi-2025-b", "source: fazi", "date: 2025-08-20",
             "title: Fazi, recoded by a second coder", "actors:"]
    own = [(k, st) for k, st in sc.views["fazi-2025"].stances.items() if st is not None]
    by_actor: dict[str, list[str]] = {}
    for n, ((actor, issue), st) in enumerate(own):
        pos = min(100, max(0, st.position.value + moves[n % len(moves)]))
        sal = round(min(1, max(0, st.salience.value + (0.1 if n % 3 == 0 else 0))), 2)
        by_actor.setdefault(actor, []).append(
            f"      {issue}: {{position: {pos:g}, salience: {sal:g}, "
            f"judgement: second coder}}")
    for actor, rows in by_actor.items():
        lines += [f"  {actor}:", "    stances:", *rows]
    return "\n".join(lines) + "\n"


@pytest.fixture
def client(data: Path):
    from fastapi.testclient import TestClient

    from accord.web import create_app

    with TestClient(create_app(data), base_url="http://127.0.0.1") as c:
        yield c


CELL = {"actor": "russia", "issue": "territory", "position": 100, "low": 95, "high": 100,
        "salience": 0.95, "quote": "Crimea and the four annexed oblasts be recognised as Russian"}


def _body(**kw):
    return {"path": "ukraine-2025", "view": "smith-2026", **kw}


def test_opening_a_view_gives_its_source_lines_and_suggestions_per_cell(client):
    r = client.get("/api/workbench/open", params={"path": "ukraine-2025", "view": "smith-2026"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["source"]["lines"][3] == [4, "weather in the east has turned. " + PLANTED +
                                         " Kyiv refuses to cede any land it still holds."]
    cell = next(c for c in doc["cells"] if (c["actor"], c["issue"]) == ("russia", "territory"))
    assert not cell["coded"] and cell["stance"]["position"] == 95  # inherited from the base
    assert cell["suggestions"][0] == {"line": 4, "text": PLANTED,
                                      "score": cell["suggestions"][0]["score"]}
    anchors = next(i for i in doc["issues"] if i["id"] == "territory")["anchors"]
    assert anchors[-1][0] == 100 and "Crimea" in anchors[-1][1]


def test_the_quote_check_is_the_evidence_check(client):
    ok = client.post("/api/workbench/check", json=_body(quote=" the four  annexed\noblasts ")).json()
    assert ok["found"] and ok["line"] == 4
    bad = client.post("/api/workbench/check", json=_body(quote="the five annexed oblasts")).json()
    assert not bad["found"] and "closest passage at line 4" in bad["hint"]


def test_coding_a_cell_moves_the_view_and_its_difference_from_the_ensemble(client):
    before = client.post("/api/workbench/forecast", json=_body(cells=[])).json()
    after = client.post("/api/workbench/forecast", json=_body(cells=[CELL])).json()

    def row(doc, issue, model):
        return next(r for r in doc["rows"] if (r["issue"], r["model"]) == (issue, model))

    b, a = row(before, "territory", "compromise"), row(after, "territory", "compromise")
    assert a["view"] > b["view"]  # Russia 95 -> 100 with more salience pulls territory up
    assert a["difference"] == pytest.approx(a["view"] - a["ensemble"])
    assert row(after, "nato", "compromise")["view"] == pytest.approx(
        row(before, "nato", "compromise")["view"])
    assert "smith-2026" in after["ensemble_views"]


def test_bad_cells_are_refused_with_every_problem_at_once(client, data):
    r = client.post("/api/workbench/forecast", json=_body(cells=[
        {"actor": "russa", "issue": "territory", "position": 140, "salience": 1.5},
        {**CELL, "low": 100, "high": 90}]))
    assert r.status_code == 422
    msg = r.json()["detail"]
    for part in ("cell 1: actor: got 'russa'", "cell 1: position: got 140.0",
                 "cell 1: salience: got 1.5", "cell 1: quote: got nothing",
                 "cell 2: low, high: got [100.0, 90.0]"):
        assert part in msg


def test_saving_writes_a_new_view_file_and_never_overwrites(client, data):
    views = data / "ukraine-2025" / "views"
    scaffold = (views / "smith-2026.yaml").read_bytes()
    (views / "smith-2026-edit-1.yaml").write_text("# someone's notes, not a view\nview: other-notes\n")
    r = client.post("/api/workbench/save", json=_body(cells=[CELL]))
    assert r.status_code == 200, r.text
    assert r.json()["saved"] == "ukraine-2025/views/smith-2026-edit-2.yaml"
    assert (views / "smith-2026.yaml").read_bytes() == scaffold
    assert (views / "smith-2026-edit-1.yaml").read_text().startswith("# someone's notes")
    sc = accord.load(data / "ukraine-2025")
    st = sc.view("smith-2026-edit-2").stances[("russia", "territory")]
    assert (st.position.value, st.position.low, st.salience.value) == (100, 95, 0.95)
    assert not st.inherited and st.position.evidence[0].source == "smith-2026"


def test_the_second_coder_panel_answers_for_two_views(client):
    r = client.post("/api/workbench/compare", json={"path": "ukraine-2025", "a": "fazi-2025",
                                                    "b": "conservative-2025"})
    assert r.status_code == 200, r.text
    doc = r.json()
    units = [row["unit"] for row in doc["alpha"]]
    assert units[-2:] == ["overall", "salience"] and "territory" in units
    assert doc["differences"] and "shift_compromise" in doc["differences"][0]


def test_a_corpus_outside_the_data_folder_is_not_read(tmp_path):
    from fastapi.testclient import TestClient

    from accord.web import create_app

    d = tmp_path / "d"
    shutil.copytree(FLAGSHIP, d / "ukraine-2025")  # corpus: ../../../shared/... leaves d
    with TestClient(create_app(d), base_url="http://127.0.0.1") as c:
        r = c.get("/api/workbench/open", params={"path": "ukraine-2025", "view": "fazi-2025"})
    assert r.status_code == 403 and "outside the data folder" in r.json()["detail"]


# ---- end to end in Chromium --------------------------------------------------------------

# Keystroke-Level Model operator times (Card, Moran & Newell 1980; Kieras 2001), seconds
KLM = {"M": 1.35, "P": 1.1, "B": 0.2, "K": 0.28, "H": 0.4}
READ_WPM = 200
"""Reading speed for the suggested sentences and the anchors a first-time coder reads."""


@pytest.fixture
def server(data, accord_server):
    return accord_server(data)


def test_in_chromium_a_first_time_coder_codes_a_cell_from_the_source(server, data, tmp_path,
                                                                      launch_chromium):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ["ACCORD_SCREENSHOTS"]) if os.environ.get("ACCORD_SCREENSHOTS") \
        else tmp_path
    steps: list[tuple[str, str]] = []  # (what the coder does, KLM operators)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server + "/")
            page.click("#workbench-link")
            steps.append(("open the workbench from the main page", "MPB"))
            page.wait_for_selector("#wb-view option[value='smith-2026']", state="attached", timeout=60_000)
            page.select_option("#wb-view", "smith-2026")
            steps.append(("choose the new view", "MPBPB"))
            page.wait_for_selector("#forecast[data-view='smith-2026']", timeout=60_000)
            version = page.get_attribute("#forecast", "data-version")
            before = page.inner_text("#forecast tr[data-issue='territory'] td.view")

            page.click("#grid td.cell[data-actor='russia'][data-issue='territory']")
            steps.append(("click the cell Russia × territory", "MPB"))
            assert page.input_value("#position") == ""  # not yet coded: no number offered
            assert page.input_value("#salience") == ""
            assert page.get_attribute("#position", "placeholder") == "base 95"
            first = page.inner_text("#suggestions li:first-child")
            assert first == f"line 4: {PLANTED}"
            page.click("#suggestions li:first-child")  # jumps to line 4 of the source
            steps.append(("read the suggested passages, click the best", "MPB"))
            # select the passage in the source, as a drag of the mouse over it would
            page.evaluate("""(text) => {
                const node = document.querySelector('#source .line[data-line="4"] .t').firstChild;
                const start = node.textContent.indexOf(text);
                const range = document.createRange();
                range.setStart(node, start); range.setEnd(node, start + text.length);
                const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
            }""", PLANTED)
            steps.append(("select the passage (drag)", "MPBPB"))
            page.click("#attach")
            steps.append(("attach it as the quote", "PB"))
            page.wait_for_selector("#quote-status[data-found='true']", timeout=30_000)
            assert "quote found at line 4" in page.inner_text("#quote-status")
            assert page.input_value("#quote") == PLANTED
            page.screenshot(path=str(shots / "workbench-attach.png"))

            page.click("#anchors button[data-value='100']")
            steps.append(("read the anchors, click 100 (Crimea and four oblasts)", "MPB"))
            assert page.input_value("#position") == "100"
            page.fill("#salience", "0.95")
            steps.append(("type the salience 0.95", "MPBHKKKKH"))
            page.click("#code-cell")
            steps.append(("code the cell", "PB"))
            page.wait_for_selector(f"#forecast:not([data-version='{version}'])", timeout=60_000)
            after = page.inner_text("#forecast tr[data-issue='territory'] td.view")
            assert float(after) > float(before)  # the forecast updates as the cell is coded
            diff = page.inner_text("#forecast tr[data-issue='territory'] td.diff")
            assert diff.startswith("+")
            assert "coded" in page.get_attribute(
                "#grid td.cell[data-actor='russia'][data-issue='territory']", "class")
            page.screenshot(path=str(shots / "workbench-coded.png"))

            page.click("#save")
            steps.append(("save", "MPB"))
            page.wait_for_selector("#save-status[data-saved]", timeout=30_000)
            assert page.get_attribute("#save-status", "data-saved") == \
                "ukraine-2025/views/smith-2026-edit-1.yaml"

            # the second coder's panel: Fazi as coded, against a second coder's reading
            page.select_option("#wb-view", "fazi-2025")
            page.wait_for_selector("#forecast[data-view='fazi-2025']", timeout=60_000)
            page.select_option("#compare-with", "fazi-2025-b")
            page.click("#compare")
            page.wait_for_selector("#alpha tr[data-unit='overall']", timeout=60_000)
            overall = page.inner_text("#alpha tr[data-unit='overall'] td.num")
            page.screenshot(path=str(shots / "workbench-compare.png"))
        finally:
            browser.close()
    assert errors == []
    saved = data / "ukraine-2025" / "views" / "smith-2026-edit-1.yaml"
    sc = accord.load(data / "ukraine-2025")
    st = sc.view("smith-2026-edit-1").stances[("russia", "territory")]
    assert (st.position.value, st.salience.value) == (100, 0.95)
    assert st.position.evidence[0].quote == PLANTED
    from accord.evidence import check

    report = check(sc)
    assert report.ok, report.problems[:3]
    assert ((report.verified.view == "smith-2026-edit-1") &
            (report.verified.line == 4)).any()
    assert saved.exists() and (shots / "workbench-coded.png").stat().st_size > 20_000
    from accord.analysis.agreement import compare

    expected = compare(sc, sc.views["fazi-2025"], sc.views["fazi-2025-b"]).overall
    assert overall == f"{expected:.3f}" and 0 < expected < 1

    # a first-time coder's time for one cell, from the steps of this flow (KLM) plus reading
    cell_steps = steps[2:-1]  # from clicking the cell to coding it
    ops = "".join(o for _, o in cell_steps)
    words = len(first.split()) * 3 + 6 * 12  # three suggestions, six anchors
    seconds = sum(KLM[o] for o in ops) + words / READ_WPM * 60
    report_ = {"actions": len(cell_steps), "clicks": ops.count("B"),
               "keystrokes": ops.count("K"), "klm_operators": ops,
               "reading_words": words, "seconds": round(seconds, 1)}
    print("one cell:", json.dumps(report_))
    assert len(cell_steps) == 7 and 30 < seconds < 90
