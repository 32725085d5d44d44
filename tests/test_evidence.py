"""The evidence store and the quote checker, on small documents the tests write themselves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.errors import ScenarioError
from accord.evidence import (check as check_all, document_id, documents, find_quote,
                             get_document, index, load_document, normalise, search, verify_store)
from accord.scenario.model import (Actor, Evidence, Issue, Quantity, Scenario, Source, Stance,
                                   View)

SRC = Path(__file__).resolve().parents[1] / "src"

FAZI = """\
Though this week’s White House meeting yielded no tangible outcomes, it marked a step.
For the first time the discussion has shifted from Ukraine’s “territorial integrity” to
potential “territorial concessions” — a change nobody in Brussels expected.

Russia’s terms are well known: Crimea, plus the four annexed eastern and southern oblasts;
Ukraine never in Nato; no Western military presence… and no ceasefire that lets Ukraine rearm.
The West has effectively lost this war.
"""

USIP = """\
Three weeks into the invasion, Ukraine's resistance has stunned the world.
Kyiv has asked the United States and European nations to guarantee its security.
A neutral status modelled on Finland, Sweden or Austria was discussed in the talks.
"""

# Two analyses in one file: lines 1-3 are one author, lines 5-7 another.
SHARED = """\
Offshore balancing means the US steps back from Europe.
Washington wants Europe to carry the burden of Ukraine's defence.
Rapprochement with Russia is the strategic logic.

The Trump-Putin axis betrays Ukraine's self-determination.
The US demanded $500 billion through half of Ukraine's resource proceeds.
Solidarity with Ukrainians is the left's first duty.
"""

SCENARIO_FILE = "scenario.yaml"


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "fazi.txt").write_text(FAZI, encoding="utf-8")
    (d / "usip.txt").write_text(USIP, encoding="utf-8")
    (d / "shared.txt").write_text(SHARED, encoding="utf-8")
    return d


SOURCES = {
    "fazi": Source("fazi", file="fazi.txt", author="Thomas Fazi"),
    "usip": Source("usip", file="usip.txt"),
    "realist": Source("realist", file="shared.txt", lines=(1, 3)),
    "hudis": Source("hudis", file="shared.txt", lines=(5, 7)),
}


def ev(source: str | None, quote: str, line: int, file: str = SCENARIO_FILE) -> Evidence:
    return Evidence(source=source, quote=quote, file=file, line=line)


def scenario(corpus: Path | None, position_evidence=(), salience_evidence=(),
             views: dict[str, View] | None = None, sources=None) -> Scenario:
    actors = (Actor("russia", "Russia", Quantity(90.0, file=SCENARIO_FILE, line=20)),
              Actor("ukraine", "Ukraine", Quantity(40.0, file=SCENARIO_FILE, line=30)))
    issues = (Issue("territory", "What happens to the occupied territory?", 0.0, 100.0),)
    stances = {
        ("russia", "territory"): Stance(
            Quantity(100.0, 85.0, 100.0, evidence=tuple(position_evidence),
                     file=SCENARIO_FILE, line=24),
            Quantity(0.9, evidence=tuple(salience_evidence), file=SCENARIO_FILE, line=25)),
        ("ukraine", "territory"): Stance(Quantity(0.0), Quantity(1.0)),
    }
    return Scenario(id="test", title="test", actors=actors, issues=issues, stances=stances,
                    sources=SOURCES if sources is None else sources, views=views or {},
                    path=SCENARIO_FILE, corpus=str(corpus) if corpus else None)


# ---- normalisation ------------------------------------------------------------------------

def test_curly_and_straight_quotes_and_apostrophes_compare_equal():
    assert normalise("Ukraine’s “territorial integrity”") == \
        normalise("Ukraine's \"territorial integrity\"")
    assert normalise("‘so-called’ «peace»") == normalise("'so-called' \"peace\"")


def test_every_dash_is_one_hyphen_with_or_without_spaces():
    forms = ["concessions — a change", "concessions - a change", "concessions–a change",
             "concessions -- a change", "concessions―a change"]
    assert len({normalise(f) for f in forms}) == 1


def test_case_whitespace_and_ellipses_are_folded():
    assert normalise("The  West\n has\teffectively LOST") == "the west has effectively lost"
    assert normalise("presence… and") == normalise("presence... and") == \
        normalise("presence . . . and")


def test_normalisation_keeps_words_apart():
    assert normalise("four oblasts") != normalise("fouroblasts")
    assert normalise("Nato") != normalise("NATO’s")


# ---- finding a quote ----------------------------------------------------------------------

def test_a_quote_wrapped_over_two_lines_is_found_at_its_first_line():
    m = find_quote("shifted from Ukraine's \"territorial integrity\" to potential "
                   "\"territorial concessions\" - a change", FAZI)
    assert m.found and (m.line, m.end_line) == (2, 3)
    assert m.passage.startswith("shifted from Ukraine’s “territorial integrity”")


def test_an_ellipsis_in_the_quote_stands_for_left_out_words_nearby():
    m = find_quote("Crimea ... no ceasefire that lets Ukraine rearm", FAZI)
    assert m.found and m.elided and m.line == 5
    far = find_quote("Though this week ... the West has effectively lost", FAZI)
    assert not far.found  # 500+ characters apart: an ellipsis does not stand for that much


def test_a_missing_quote_gets_the_closest_passage_as_hint():
    m = find_quote("Crimea, plus the five annexed eastern and southern oblasts", FAZI)
    assert not m.found
    assert m.line == 5 and m.score > 85
    assert "four annexed eastern" in m.passage
    assert m.hint().startswith("closest passage at line 5 (similarity ")


def test_a_line_range_restricts_the_search_and_says_where_the_quote_is():
    assert find_quote("half of Ukraine's resource proceeds", SHARED, (5, 7)).line == 6
    m = find_quote("half of Ukraine's resource proceeds", SHARED, (1, 3))
    assert not m.found and m.outside == 6


WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(st.lists(WORDS, min_size=1, max_size=6), min_size=1, max_size=8),
       data=st.data())
def test_any_run_of_words_is_found_at_its_first_line_however_it_is_restyled(lines, data):
    words = [(k + 1, w) for k, line in enumerate(lines) for w in line]
    i = data.draw(st.integers(0, len(words) - 1))
    j = data.draw(st.integers(i + 1, len(words)))
    sep = data.draw(st.sampled_from([" ", "  ", "\n", " \t"]))
    quote = sep.join(w for _, w in words[i:j])
    quote = quote.upper() if data.draw(st.booleans()) else quote
    doc = "\n".join(" ".join(line) for line in lines)
    m = find_quote(quote, doc)
    assert m.found
    # the first occurrence may be earlier than the drawn one, never later
    assert m.line <= words[i][0]


# ---- checking a scenario ------------------------------------------------------------------
# These tests are about finding quotes, many of them deliberate fragments; the coding checks
# (a cut quote is an error there) have their own tests in test_coding_checks.py.


def check(scenario, corpus_dir=None):
    return check_all(scenario, corpus_dir=corpus_dir, coding=False)


def test_quotes_in_any_typography_verify_and_report_their_document_line(corpus_dir):
    sc = scenario(corpus_dir, position_evidence=[
        ev("fazi", "Crimea, plus the four annexed eastern and southern oblasts", 26),
        ev("fazi", "from Ukraine's \"territorial integrity\" to potential "
                   "\"territorial concessions\" -- a change", 27),
        ev("fazi", "THE WEST HAS EFFECTIVELY LOST", 28),
        ev("usip", "Ukraine’s resistance has stunned the world", 29),
    ])
    report = check(sc)
    assert report.ok, report.problems
    report.raise_if_failed()
    v = report.verified
    assert list(v["line"]) == [5, 2, 7, 1]
    assert list(v["document"]) == ["fazi.txt", "fazi.txt", "fazi.txt", "usip.txt"]
    assert set(v["field"]) == {"russia.territory.position"}
    assert set(v["scenario_line"]) == {26, 27, 28, 29}
    assert v["document_id"].iloc[0] == load_document(corpus_dir / "fazi.txt").id


def test_changing_one_character_of_a_quote_fails_naming_the_scenario_line(corpus_dir):
    good = "Crimea, plus the four annexed eastern and southern oblasts"
    bad = good.replace("four", "fout")
    assert check(scenario(corpus_dir, [ev("fazi", good, 26)])).ok
    report = check(scenario(corpus_dir, [ev("fazi", bad, 26)]))
    assert not report.ok and report.verified.empty
    (p,) = report.problems
    assert (p.file, p.line, p.field, p.value) == (SCENARIO_FILE, 26,
                                                  "russia.territory.position.evidence.quote", bad)
    assert "closest passage at line 5" in p.expected and "four annexed" in p.expected
    with pytest.raises(ScenarioError) as err:
        report.raise_if_failed()
    assert str(err.value).startswith(f"{SCENARIO_FILE}:26: russia.territory.position")


def test_every_failing_quote_is_reported_at_once(corpus_dir):
    sc = scenario(corpus_dir, [ev("fazi", "Crimea plus the five oblasts", 26),
                               ev("fazi", "no ceasefire that lets Ukraine rearm", 27)],
                  [ev("usip", "Kyiv has asked China to guarantee its security", 31)])
    report = check(sc)
    assert [(p.line, p.field) for p in report.problems] == [
        (26, "russia.territory.position.evidence.quote"),
        (31, "russia.territory.salience.evidence.quote")]
    assert len(report.verified) == 1
    with pytest.raises(ScenarioError) as err:
        report.raise_if_failed()
    assert len(err.value.problems) == 2


def test_a_source_with_a_line_range_is_only_its_own_lines(corpus_dir):
    ok = scenario(corpus_dir, [ev("hudis", "half of Ukraine's resource proceeds", 26)])
    assert check(ok).verified["line"].tolist() == [6]
    wrong = check(scenario(corpus_dir, [ev("realist", "half of Ukraine's resource proceeds",
                                           26)]))
    (p,) = wrong.problems
    assert "shared.txt, lines 1-3" in p.expected
    assert "occurs at line 6, outside the source's lines 1-3" in p.expected


def view(vid: str, source: str | None, *evidence: Evidence) -> View:
    st_ = Stance(Quantity(95.0, 90.0, 100.0, evidence=evidence, file="views/v.yaml", line=8),
                 Quantity(0.95, file="views/v.yaml", line=8))
    return View(vid, source, None, stances={("russia", "territory"): st_},
                file="views/v.yaml", line=1)


def test_a_view_quote_without_source_is_checked_in_the_views_own_source(corpus_dir):
    v = view("fazi-2025", "fazi", Evidence(quote="no Western military presence",
                                            file="views/v.yaml", line=9))
    report = check(scenario(corpus_dir, views={"fazi-2025": v}))
    assert report.ok, report.problems
    row = report.verified.iloc[0]
    assert (row["view"], row["source"], row["line"], row["field"]) == (
        "fazi-2025", "fazi", 6, "views.fazi-2025.russia.territory.position")


def test_a_quote_cited_to_another_analysis_in_a_view_is_an_error(corpus_dir):
    # The quote is genuine, but it is USIP's, and the view codes Fazi's analysis.
    v = view("fazi-2025", "fazi",
             ev("usip", "Ukraine's resistance has stunned the world", 9, "views/v.yaml"))
    report = check(scenario(corpus_dir, views={"fazi-2025": v}))
    (p,) = report.problems
    assert (p.file, p.line, p.value) == ("views/v.yaml", 9, "usip")
    assert p.field == "views.fazi-2025.russia.territory.position.evidence.source"
    assert "wrong analysis" in p.expected and "'fazi'" in p.expected
    assert report.verified.empty


def test_unknown_sources_and_missing_documents_are_located_errors(corpus_dir):
    sources = dict(SOURCES, gone=Source("gone", file="deleted.txt"),
                   nofile=Source("nofile"))
    sc = scenario(corpus_dir, [ev("nobody", "anything", 26), ev("gone", "anything", 27),
                               ev("gone", "anything else", 28), ev("nofile", "x", 29)],
                  sources=sources)
    report = check(sc)
    got = [(p.line, p.field, p.value) for p in report.problems]
    assert got[0] == (26, "russia.territory.position.evidence.source", "nobody")
    assert "a source id declared under sources (fazi, usip" in report.problems[0].expected
    assert got[1] == (27, "sources.gone.file", "deleted.txt")  # once per document
    assert got[2][:2] == (29, "sources.nofile.file")
    assert len(got) == 3


def test_the_corpus_folder_can_be_given_explicitly(corpus_dir, tmp_path):
    sc = scenario(None, [ev("fazi", "The West has effectively lost this war.", 26)])
    assert check(sc, corpus_dir=corpus_dir).ok
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    (p,) = check(sc, corpus_dir=elsewhere).problems
    assert p.field == "sources.fazi.file" and str(elsewhere) in p.expected


def test_a_source_line_range_beyond_the_file_is_an_error(corpus_dir):
    sources = dict(SOURCES, hudis=Source("hudis", file="shared.txt", lines=(5, 70)))
    report = check(scenario(corpus_dir, [ev("hudis", "Solidarity", 26)], sources=sources))
    (p,) = report.problems
    assert p.field == "sources.hudis.lines" and "<= 7" in p.expected


def test_evidence_shared_by_position_and_salience_is_checked_once(corpus_dir):
    shared = ev("fazi", "Crimea, plus the five annexed oblasts", 26)
    report = check(scenario(corpus_dir, [shared], [shared]))
    assert len(report.problems) == 1 and report.quotes == 1


def test_judgement_notes_need_no_document(corpus_dir):
    note = Evidence(judgement="Russia's maximal claim, per its stated terms",
                    file=SCENARIO_FILE, line=26)
    report = check(scenario(corpus_dir, [note]))
    assert report.ok and report.judgements == 1 and report.verified.empty


def test_quotes_from_html_and_markdown_sources(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "a.html").write_text(HTML, encoding="utf-8")
    (d / "b.md").write_text(MARKDOWN, encoding="utf-8")
    sources = {"a": Source("a", file="a.html"), "b": Source("b", file="b.md")}
    sc = scenario(d, [ev("a", "a permanent, legally binding ban on Nato membership", 26),
                      ev("b", "security guarantees of up to 50 years", 27)], sources=sources)
    report = check(sc)
    assert report.ok, report.problems
    assert report.verified["line"].tolist() == [6, 5]


# ---- the document store -------------------------------------------------------------------

HTML = """\
<!doctype html>
<html><head><title>Terms of peace</title>
<style>p { color: red }</style>
<script>var ban = "not text";</script></head>
<body><h1>Russia's demands</h1>
<p>Moscow wants <em>a permanent, legally binding</em> ban on
Nato membership &mdash; and no Western troops.</p>
<p>Sanctions relief comes last.</p>
</body></html>
"""

MARKDOWN = """\
# Ukraine's *position*

Kyiv will not trade land for a ceasefire.

Zelensky seeks **security guarantees** of up to 50 years,
as [reported](https://example.org) by the press.

- Reparations from frozen Russian assets
"""


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, Path]:
    d = tmp_path / "docs"
    (d / "sub").mkdir(parents=True)
    (d / "guarantees.txt").write_text(
        "Security guarantees are the core of any deal.\n"
        "Without security guarantees, no ceasefire lasts.\n"
        "Guarantees must be binding security guarantees.\n", encoding="utf-8")
    (d / "territory.txt").write_text(
        "Territory is the hardest issue.\n\nA freeze on the line of contact.\n"
        "Security was mentioned once.\n", encoding="utf-8")
    (d / "sub" / "terms.html").write_text(HTML, encoding="utf-8")
    (d / "position.md").write_text(MARKDOWN, encoding="utf-8")
    (d / "notes.docx").write_bytes(b"not read")
    (d / ".hidden.txt").write_text("security guarantees hidden", encoding="utf-8")
    return d, tmp_path / "store" / "evidence.db"


def test_search_ranks_passages_by_bm25(store):
    d, db = store
    report = index(d, db)
    assert set(report.added) == {"guarantees.txt", "territory.txt", "sub/terms.html",
                                 "position.md"}
    hits = search(db, "security guarantees")
    assert hits[0].file == "guarantees.txt" and hits[0].line_start == 1
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    files = [h.file for h in hits]
    assert files.index("position.md") < files.index("territory.txt")
    assert "[security] [guarantees]" in hits[0].snippet.lower()
    assert search(db, "   ") == []
    assert search(db, "security", limit=1)[0].file == "guarantees.txt"


def test_search_within_one_source(store):
    d, db = store
    index(d, db)
    hits = search(db, "security guarantees", source="territory.txt")
    assert [(h.file, h.line_start) for h in hits] == [("territory.txt", 3)]
    doc_id = documents(db).set_index("file").loc["territory.txt", "id"]
    assert search(db, "freeze", source=doc_id)[0].line_start == 3
    assert search(db, "freeze", source="territory.txt", lines=(1, 1)) == []
    with pytest.raises(KeyError, match="no document 'nowhere.txt'"):
        search(db, "x", source="nowhere.txt")


def test_html_is_indexed_as_text_on_its_own_lines(store):
    d, db = store
    index(d, db)
    (hit,) = search(db, "legally binding", source="terms.html")
    assert hit.file == "sub/terms.html"
    doc = get_document(db, "sub/terms.html")
    assert doc.lines[5] == "Moscow wants a permanent, legally binding ban on"   # line 6
    assert doc.lines[6] == "Nato membership — and no Western troops."
    # script and style content is not text
    assert search(db, "color red var", source="terms.html") == []


def test_markdown_is_indexed_without_its_markup(store):
    d, db = store
    index(d, db)
    doc = get_document(db, "position.md")
    assert doc.lines[0] == "Ukraine's position"
    assert doc.lines[4] == "Zelensky seeks security guarantees of up to 50 years,"
    assert doc.lines[5] == "as reported by the press."
    assert doc.lines[7] == "Reparations from frozen Russian assets"
    assert search(db, "example org") == []


def test_document_ids_are_stable_and_follow_content(store, tmp_path):
    d, db = store
    ids = documents(index(d, db).db_path).set_index("file")["id"]
    data = (d / "territory.txt").read_bytes()
    import hashlib
    assert ids["territory.txt"] == document_id("territory.txt", hashlib.sha256(data).hexdigest())
    # the same folder indexed elsewhere gives the same ids
    assert documents(index(d, tmp_path / "other.db").db_path).set_index("file")["id"].equals(ids)
    (d / "territory.txt").write_text("Territory changed.\n", encoding="utf-8")
    (d / "position.md").unlink()
    report = index(d, db)
    assert report.updated == ("territory.txt",) and report.removed == ("position.md",)
    assert set(report.unchanged) == {"guarantees.txt", "sub/terms.html"}
    new = documents(db).set_index("file")["id"]
    assert new["territory.txt"] != ids["territory.txt"]
    assert new["guarantees.txt"] == ids["guarantees.txt"]
    assert search(db, "reparations") == [] and verify_store(db) == []


def test_a_file_that_is_not_utf8_leaves_the_store_unchanged(store):
    d, db = store
    index(d, db)
    before = documents(db)
    (d / "bad.txt").write_bytes(b"fine line\nbad \xff byte\n")
    (d / "new.txt").write_text("new document\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        index(d, db)
    assert (err.value.first.file, err.value.first.line) == ("bad.txt", 2)
    assert documents(db).equals(before) and search(db, "new document") == []


def test_long_lines_are_cut_into_sentence_passages(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    filler = " ".join(f"Sentence number {k} says little about anything at all." for k in range(60))
    (d / "long.txt").write_text(f"Title\n{filler} Reparations are owed.\n", encoding="utf-8")
    db = tmp_path / "s.db"
    report = index(d, db)
    assert report.documents[0][4] > 3  # passages
    (hit,) = search(db, "reparations")
    assert hit.line_start == hit.line_end == 2 and len(hit.text) < len(filler) / 2


WRITER = """
import sys, time
from accord.evidence import index

def progress(done, total, name):
    print(done, flush=True)
    time.sleep(0.2)

index(sys.argv[1], sys.argv[2], progress=progress)
print("committed", flush=True)
"""


def test_a_writer_killed_mid_index_leaves_the_store_readable_and_as_it_was(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    for k in range(3):
        (d / f"old{k}.txt").write_text(f"Old document {k} on security.\n", encoding="utf-8")
    db = tmp_path / "evidence.db"
    index(d, db)
    before = documents(db)
    (d / "old0.txt").write_text("Old document 0 rewritten on territory.\n", encoding="utf-8")
    for k in range(40):
        (d / f"new{k:02d}.txt").write_text(textwrap.fill(
            f"New document {k} on sanctions relief. " * 50), encoding="utf-8")

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get(
        "PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(d), str(db)],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        done = 0
        while done < 10:
            line = proc.stdout.readline()
            assert line, "writer ended before it was killed"
            done = int(line)
        # mid-transaction: a reader still sees the old store, and is not blocked
        assert documents(db).equals(before)
        assert search(db, "sanctions") == []
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    assert verify_store(db) == []
    assert documents(db).equals(before)
    assert [h.file for h in search(db, "security")] == ["old0.txt", "old1.txt", "old2.txt"]
    assert search(db, "sanctions") == []

    report = index(d, db)  # the next writer finishes the job
    assert len(report.added) == 40 and report.updated == ("old0.txt",)
    assert verify_store(db) == []
    assert len(search(db, "sanctions", limit=100)) >= 40


def test_searching_a_store_that_does_not_exist_says_how_to_build_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="accord evidence index"):
        search(tmp_path / "none.db", "x")
    assert not (tmp_path / "none.db").exists()


def test_a_corpus_folder_that_does_not_exist_is_one_error(tmp_path):
    sc = scenario(tmp_path / "nowhere", [ev("fazi", "a", 26), ev("usip", "b", 27)])
    (p,) = check(sc).problems
    assert (p.field, p.value, p.line) == ("corpus", str(tmp_path / "nowhere"), 26)


def test_a_database_that_is_not_a_store_is_refused(tmp_path):
    import sqlite3
    con = sqlite3.connect(tmp_path / "other.db")
    con.execute("CREATE TABLE t(x)")
    con.close()
    with pytest.raises(ValueError, match="not an accord evidence store"):
        search(tmp_path / "other.db", "x")
