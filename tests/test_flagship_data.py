"""The flagship data: the Russia-Ukraine settlement as six published analyses code it.

These tests read the YAML with ruamel.yaml alone (no accord code), so the data are checked even
while the readers change: every quote is found, verbatim, in the analysis it is cited to; every
number has a range on its scale and a quote or a judgement; every view speaks about actors and
issues of the base coding. Source texts are read in place through the ``corpus`` fixture.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path
from typing import Any, Iterator

import pytest
from ruamel.yaml import YAML

FOLDER = Path(__file__).resolve().parents[1] / "scenarios" / "ukraine-2025"
ISSUES = ("territory", "recognition", "nato", "security_guarantees", "guarantee_duration",
          "troops", "sanctions", "us_aid", "rearmament", "resources", "eu_membership",
          "sequencing", "accountability", "independence", "security_order")
ACTORS = ("russia", "ukraine", "usa", "uk_france", "poland_baltics", "germany_eu", "china",
          "india")
VIEWS = ("masses-2026", "elusive-2025", "hudis-2025", "fazi-2025", "conservative-2025",
         "usip-2022")


# ---- reading ------------------------------------------------------------------------------

def _load(path: Path) -> Any:
    return YAML(typ="rt").load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def base() -> Any:
    return _load(FOLDER / "scenario.yaml")


@pytest.fixture(scope="module")
def views() -> dict[str, Any]:
    return {p.stem: _load(p) for p in sorted((FOLDER / "views").glob("*.yaml"))}


def _line(node: Any, key: Any = None) -> int | None:
    """1-based line of a mapping (or of one of its keys) in its YAML file."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    if key is not None:
        try:
            return lc.key(key)[0] + 1
        except (KeyError, TypeError):
            pass
    return lc.line + 1


# ---- quote normalisation (the rule `accord evidence check` applies) -----------------------

_FOLD = {ord(c): "'" for c in "\u2018\u2019\u201a\u201b\u2032\u00b4`"}
_FOLD.update({ord(c): '"' for c in "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"})
_FOLD.update({ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})


def normalise(text: str) -> str:
    """Fold whitespace, quotation marks, apostrophes, dashes and case."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD).lower()
    return re.sub(r"\s+", " ", text).strip()


def source_text(corpus: Path, base: Any, source_id: str) -> str:
    """The normalised text of one source: its file, cut to its `lines` range."""
    src = base["sources"][source_id]
    folder = (FOLDER / base["corpus"]).resolve()
    # the corpus fixture points at ../shared/corpus; the scenario names the subfolder
    path = folder / src["file"]
    if not path.is_file():
        path = corpus / Path(base["corpus"]).name / src["file"]
    lines = path.read_text(encoding="utf-8").splitlines()
    low, high = src.get("lines", [1, len(lines)])
    assert 1 <= low <= high <= len(lines), (
        f"scenario.yaml line {_line(src, 'lines')}: sources.{source_id}.lines {[low, high]} "
        f"is not within the {len(lines)} lines of {src['file']}")
    return normalise(" ".join(lines[low - 1:high]))


def quote_found(quote: str, text: str) -> bool:
    """The quote's parts, split at each ellipsis ("..." marks left-out words), in order."""
    pos = 0
    for part in (p.strip() for p in normalise(quote).split("...")):
        if not part:
            continue
        at = text.find(part, pos)
        if at < 0:
            return False
        pos = at + len(part)
    return True


# ---- walking the codings ------------------------------------------------------------------

def codings(base: Any, views: dict[str, Any]) -> Iterator[tuple[str, Any, str | None]]:
    """(file name, document, default source of its quotes): the base, then each view."""
    yield "scenario.yaml", base, None
    for vid, doc in views.items():
        yield f"views/{vid}.yaml", doc, doc["source"]


def evidence_items(node: Any, default: str | None, where: str) -> Iterator[tuple[str | None, str, str, int | None]]:
    """Every quote under node: (source id, quote, where, line)."""
    if isinstance(node, dict):
        if "quote" in node:
            yield node.get("source", default), str(node["quote"]), where, _line(node, "quote")
        for key, value in node.items():
            yield from evidence_items(value, default, f"{where}.{key}")
    elif isinstance(node, list):
        for k, value in enumerate(node):
            yield from evidence_items(value, default, f"{where}[{k}]")


def _has_evidence(node: Any) -> bool:
    return isinstance(node, dict) and any(node.get(k) for k in ("quote", "evidence", "judgement"))


def numbers(doc: Any) -> Iterator[tuple[str, Any, Any, tuple[float, float], Any]]:
    """Every number a coding writes: (where, value, range, scale, node that carries evidence).

    The evidence node is the number's own mapping if it has evidence, else its stance.
    """
    issues = doc.get("issues") or {}
    for aid, actor in (doc.get("actors") or {}).items():
        for key, scale in (("capability", (0.0, float("inf"))), ("no_deal", (0.0, 1.0))):
            if key in actor:
                q = actor[key]
                value = q["value"] if isinstance(q, dict) else q
                rng = q.get("range") if isinstance(q, dict) else None
                yield f"actors.{aid}.{key}", value, rng, scale, q
        for iid, st in (actor.get("stances") or {}).items():
            if st is None:
                continue
            scale = tuple(issues[iid]["scale"]) if "scale" in (issues.get(iid) or {}) \
                else (0.0, 100.0)
            for key, rkey, sc in (("position", "range", scale), ("salience", "salience_range", (0.0, 1.0))):
                q = st[key]
                if isinstance(q, dict):
                    yield (f"actors.{aid}.stances.{iid}.{key}", q["value"], q.get("range"), sc,
                           q if _has_evidence(q) else st)
                else:
                    yield f"actors.{aid}.stances.{iid}.{key}", q, st.get(rkey), sc, st


# ---- the base coding ----------------------------------------------------------------------

def test_the_base_names_the_scenario_its_corpus_and_six_sources(base):
    assert base["scenario"] == "ukraine-2025"
    assert str(base["as_of"]) == "2026-01-15"
    assert base["corpus"] == "../../../shared/corpus/ukraine-2025"
    assert len(base["sources"]) == 6
    files = [s["file"] for s in base["sources"].values()]
    assert files.count("001_91f3ccf1228405ea.txt") == 2, "the 001 file holds two analyses"


def test_the_two_analyses_in_one_file_do_not_overlap(base):
    in_001 = sorted(tuple(s["lines"]) for s in base["sources"].values()
                    if s["file"] == "001_91f3ccf1228405ea.txt")
    (a_low, a_high), (b_low, b_high) = in_001
    assert a_low <= a_high < b_low <= b_high


def test_the_source_line_ranges_cut_where_each_analysis_starts(corpus, base):
    """Elusive ends with its closing paragraph; Hudis starts at his title."""
    lines = (corpus / "ukraine-2025" / "001_91f3ccf1228405ea.txt").read_text(encoding="utf-8").splitlines()
    hudis = base["sources"]["hudis"]["lines"]
    elusive = base["sources"]["elusive"]["lines"]
    assert lines[hudis[0] - 1].startswith("The Trump-Putin axis")
    assert lines[elusive[0] - 1].startswith("From confrontation to engagement")
    assert "Peter Hudis" not in " ".join(lines[elusive[0] - 1:elusive[1]])


@pytest.mark.parametrize("issue", ISSUES)
def test_every_issue_is_0_to_100_with_anchors_and_a_status_quo(base, issue):
    spec = base["issues"][issue]
    assert list(spec["scale"]) == [0, 100], f"issues.{issue}.scale"
    anchors = {float(k): v for k, v in spec["anchors"].items()}
    assert len(anchors) >= 3 and 0 in anchors and 100 in anchors, f"issues.{issue}.anchors"
    assert all(0 <= k <= 100 and str(v).strip() for k, v in anchors.items())
    sq = spec["status_quo"]
    assert 0 <= (sq["value"] if isinstance(sq, dict) else sq) <= 100


def test_the_ceasefire_deal_leaves_what_the_masses_says_it_cannot_resolve(base):
    """The Masses: a narrower ceasefire is more plausible than a settlement that firmly
    resolves territory, reparations, accountability and binding security guarantees."""
    deal = base["deals"]["ceasefire"]["issues"]
    pins = base["deals"]["ceasefire"].get("pins") or {}
    assert set(deal) <= set(ISSUES) and pins.get("sequencing") == 0   # "ceasefire first"
    assert not {"territory", "accountability", "security_guarantees"} & set(deal)
    for name, spec in base["deals"].items():
        assert set(spec["issues"]) <= set(base["issues"]), f"deals.{name}"


@pytest.mark.parametrize("actor", ACTORS)
def test_the_required_actors_have_capability_and_a_no_deal_utility(base, actor):
    spec = base["actors"][actor]
    assert isinstance(spec["capability"], dict) and "range" in spec["capability"]
    assert isinstance(spec["no_deal"], dict) and "range" in spec["no_deal"]
    veto = spec.get("veto", False)
    assert isinstance(veto, bool) or isinstance(veto.get("value"), bool)


def _quoted_veto(spec) -> bool:
    """A veto flag that is true and carries at least one quote."""
    v = spec.get("veto")
    if not isinstance(v, dict) or v.get("value") is not True:
        return False
    return bool(v.get("quote")) or any(e.get("quote") for e in v.get("evidence", []))


def _evidenced_veto(spec) -> bool:
    """A veto flag that is true and carries a quote or a judgement note."""
    v = spec.get("veto")
    return isinstance(v, dict) and v.get("value") is True and (
        _quoted_veto(spec) or bool(v.get("judgement")))


def test_russia_ukraine_and_the_us_hold_an_evidenced_veto_in_the_base(base):
    assert all(_evidenced_veto(base["actors"][a]) for a in ("russia", "ukraine", "usa"))


def test_the_belligerents_take_a_stance_on_every_issue_they_fight_over(base):
    for actor in ("russia", "ukraine", "usa"):
        missing = set(ISSUES) - set(base["actors"][actor]["stances"]) - {"resources",
                                                                          "independence"}
        assert not missing, f"{actor} has no stance on {sorted(missing)}"


def test_the_base_stances_name_only_its_issues(base):
    for aid, actor in base["actors"].items():
        unknown = set(actor.get("stances") or {}) - set(base["issues"])
        assert not unknown, f"actors.{aid}.stances: unknown issues {sorted(unknown)}"


# ---- views --------------------------------------------------------------------------------

def test_there_is_one_view_per_analysis(base, views):
    assert set(views) == set(VIEWS)
    assert sorted(v["source"] for v in views.values()) == sorted(base["sources"])


@pytest.mark.parametrize("vid", VIEWS)
def test_a_view_is_dated_and_titled_as_its_source(base, views, vid):
    view = views[vid]
    assert view["view"] == vid, f"views/{vid}.yaml: view id differs from the file name"
    assert view["source"] in base["sources"]
    assert isinstance(view["date"], dt.date) and str(view["title"]).strip()
    assert view["date"] == base["sources"][view["source"]]["date"]


@pytest.mark.parametrize("vid", VIEWS)
def test_a_view_speaks_only_of_base_actors_and_issues(base, views, vid):
    for aid, actor in (views[vid].get("actors") or {}).items():
        assert aid in set(base["actors"]), (
            f"views/{vid}.yaml line {_line(views[vid]['actors'], aid)}: actor {aid!r} is not in the base")
        for iid in actor.get("stances") or {}:
            assert iid in base["issues"], f"views/{vid}.yaml: {aid}.stances.{iid}"


VIEW_KEYS = {"view", "source", "date", "title", "description", "actors", "issues", "durability",
             "events"}
OUTLOOK_KEYS = {"cost", "p_holds", "renewal_cost", "capability_trend", "delivers", "red_lines"}
VIEW_ACTOR_KEYS = {"capability", "veto", "no_deal", "stances"} | OUTLOOK_KEYS
STANCE_KEYS = {"position", "salience", "range", "salience_range", "dist", "evidence", "quote",
               "source", "judgement"}


@pytest.mark.parametrize("vid", VIEWS)
def test_a_view_uses_only_the_keys_of_the_format(views, vid):
    view = views[vid]
    assert set(view) <= VIEW_KEYS, f"views/{vid}.yaml: unknown keys {sorted(set(view) - VIEW_KEYS)}"
    for aid, actor in (view.get("actors") or {}).items():
        assert set(actor) <= VIEW_ACTOR_KEYS, f"views/{vid}.yaml: actors.{aid}"
        for iid, st in (actor.get("stances") or {}).items():
            assert st is None or set(st) <= STANCE_KEYS, f"views/{vid}.yaml: {aid}.stances.{iid}"


def test_the_base_uses_only_the_keys_of_the_format(base):
    top = {"scenario", "title", "as_of", "description", "corpus", "sources", "issues", "deals",
           "actors", "views", "conflict_start", "durability", "events"}
    assert set(base) <= top
    for aid, actor in base["actors"].items():
        assert set(actor) <= {"name", "capability", "veto", "no_deal", "stances",
                              "description"} | OUTLOOK_KEYS, aid
        for iid, st in actor["stances"].items():
            assert set(st) <= STANCE_KEYS, f"actors.{aid}.stances.{iid}"


@pytest.mark.parametrize("vid", VIEWS)
def test_a_view_writes_the_cells_its_analysis_addresses(views, vid):
    """More than a token, far fewer than the whole matrix: a view writes what its text says."""
    cells = sum(1 for _ in numbers(views[vid]))
    assert 8 <= cells <= 80, f"views/{vid}.yaml writes {cells} numbers"


@pytest.mark.parametrize("vid", VIEWS)
def test_a_view_cites_no_other_analysis(views, vid):
    for src, quote, where, line in evidence_items(views[vid].get("actors"), views[vid]["source"], "actors"):
        assert src == views[vid]["source"], (
            f"views/{vid}.yaml line {line}: {where} cites {src!r}, not its own source")


# ---- numbers ------------------------------------------------------------------------------

def test_every_number_has_a_range_that_contains_it_and_lies_on_its_scale(base, views):
    problems = []
    for name, doc, _ in codings(base, views):
        if doc is not base:
            doc = {**doc, "issues": base["issues"]}
        for where, value, rng, (low, high), _node in numbers(doc):
            if not isinstance(value, (int, float)) or not low <= value <= high:
                problems.append(f"{name}: {where} = {value!r} is not on [{low}, {high}]")
            elif rng is None:
                problems.append(f"{name}: {where} has no range")
            elif not (low <= rng[0] <= value <= rng[1] <= high):
                problems.append(f"{name}: {where} range {list(rng)} does not contain {value} "
                                f"within [{low}, {high}]")
    assert not problems, "\n".join(problems)


def test_every_number_has_a_quote_or_a_judgement(base, views):
    problems = []
    for name, doc, _ in codings(base, views):
        for where, _value, _rng, _scale, node in numbers(doc):
            if not _has_evidence(node):
                problems.append(f"{name}: {where} has neither a quote nor a judgement")
    assert not problems, "\n".join(problems)


# ---- quotes -------------------------------------------------------------------------------

def test_every_quote_occurs_in_its_cited_analysis(corpus, base, views):
    texts = {sid: source_text(corpus, base, sid) for sid in base["sources"]}
    problems, checked = [], 0
    for name, doc, default in codings(base, views):
        for src, quote, where, line in evidence_items(doc.get("actors"), default, "actors"):
            checked += 1
            if src not in texts:
                problems.append(f"{name} line {line}: {where} cites unknown source {src!r}")
            elif not quote_found(quote, texts[src]):
                problems.append(f"{name} line {line}: {where}: not in {src}: {quote!r}")
    assert not problems, "\n".join(problems)
    assert checked >= 150


def test_quotes_are_whole_sentences_of_reasonable_length(base, views):
    """Whole sentences (CODING.md): at least five words, at most a short paragraph."""
    long_or_short = [(name, where, len(q.split()))
                     for name, doc, default in codings(base, views)
                     for _s, q, where, _l in evidence_items(doc.get("actors"), default, "actors")
                     if not 5 <= len(q.split()) <= 90]
    assert not long_or_short


def test_a_quote_with_one_character_changed_is_not_found(corpus, base, views):
    """The check above can fail: altering any quote by one letter makes it miss."""
    texts = {sid: source_text(corpus, base, sid) for sid in base["sources"]}
    for name, doc, default in codings(base, views):
        for src, quote, where, _line_no in evidence_items(doc.get("actors"), default, "actors"):
            k = next(i for i, c in enumerate(quote) if c.isalpha())
            altered = quote[:k] + ("q" if quote[k].lower() != "q" else "z") + quote[k + 1:]
            assert not quote_found(altered, texts[src]), f"{name}: {where}"


def test_a_quote_outside_its_sources_lines_is_not_found(corpus, base):
    """Hudis's words are not Elusive's although both are in the 001 file."""
    hudis_words = "Trump demanded that the Ukrainian government repay $500 billion"
    assert quote_found(hudis_words, source_text(corpus, base, "hudis"))
    assert not quote_found(hudis_words, source_text(corpus, base, "elusive"))


def test_normalising_folds_typography_but_keeps_words():
    assert normalise("Kyiv\u2019s  \u201cvictory\u201d \u2014 NOW") == normalise("kyiv's \"victory\" - now")
    assert normalise("Ukraine's") != normalise("Ukraines")


# ---- the disagreement the views are meant to capture --------------------------------------

def _cell(base, views, vid, actor, key, issue=None):
    """A view's value, or the base's when the view does not write it."""
    def get(doc):
        a = (doc.get("actors") or {}).get(actor) or {}
        node = a.get(key) if issue is None else ((a.get("stances") or {}).get(issue) or {}).get(key)
        return node["value"] if isinstance(node, dict) else node
    found = get(views[vid])
    return get(base) if found is None else found


def test_fazi_codes_russia_stronger_and_the_us_weaker_than_usip(base, views):
    assert _cell(base, views, "fazi-2025", "russia", "capability") > \
        _cell(base, views, "usip-2022", "russia", "capability") + 20
    assert _cell(base, views, "fazi-2025", "usa", "capability") < \
        _cell(base, views, "usip-2022", "usa", "capability")


def test_usip_codes_ukraine_strongest_and_fazi_weakest(base, views):
    caps = {v: _cell(base, views, v, "ukraine", "capability") for v in VIEWS}
    assert max(caps, key=caps.get) == "usip-2022"
    assert min(caps, key=caps.get) == "fazi-2025"


def test_fazi_makes_europe_a_spoiler(views):
    assert _quoted_veto(views["fazi-2025"]["actors"]["germany_eu"])
    assert _quoted_veto(views["fazi-2025"]["actors"]["uk_france"])


def test_russias_territorial_demand_runs_from_the_donbas_offer_to_four_oblasts(base, views):
    assert _cell(base, views, "conservative-2025", "russia", "position", "territory") == 75
    assert _cell(base, views, "fazi-2025", "russia", "position", "territory") == 100


def test_hudis_codes_the_us_deal_as_taking_ukraines_resources(base, views):
    assert _cell(base, views, "hudis-2025", "usa", "position", "resources") >= 90
    assert _cell(base, views, "hudis-2025", "usa", "position", "security_guarantees") < \
        _cell(base, views, "conservative-2025", "usa", "position", "security_guarantees")


# ---- accord's own reader ------------------------------------------------------------------

def test_accord_reads_the_flagship_with_zero_errors(views):
    """The scenario loads through accord's YAML reader (which rejects unknown keys), and each
    view resolves to its own cells over the inherited base."""
    import numpy as np

    from accord.scenario import load

    sc = load(FOLDER)
    assert sc.id == "ukraine-2025" and set(sc.issue_ids) == set(ISSUES)
    assert set(ACTORS) <= set(sc.actor_ids) and set(sc.views) == set(VIEWS)
    assert sc.deals["ceasefire"] and not sc.notes
    for vid in VIEWS:
        coded = sc.view(vid)
        has = ~np.isnan(coded.position)
        written = sum(len(a.get("stances") or {}) for a in (views[vid].get("actors") or {}).values())
        assert int((has & ~coded.inherited).sum()) == written, vid
        assert int((has & coded.inherited).sum()) > 0, vid
