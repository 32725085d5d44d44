// The coding workbench: renders what /api/workbench/* returns; every number is the server's.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var state = { path: null, view: null, data: null, cells: {}, selected: null,
                opened: null, forecast: null, seq: 0, checkSeq: 0 };

  function api(url, body) {
    var opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" },
                                           body: JSON.stringify(body) };
    return fetch(url, opts).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { throw new Error(j.detail || ("HTTP " + r.status)); }
        return j;
      });
    });
  }
  function status(text) { $("wb-status").textContent = text; }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function fmt(x, d) { return (x === null || x === undefined) ? "—" : Number(x).toFixed(d === undefined ? 1 : d); }
  function key(a, i) { return a + "|" + i; }
  function num(id) { var v = $(id).value; return v === "" ? null : Number(v); }
  function issueOf(id) { return state.data.issues.find(function (i) { return i.id === id; }); }
  function cellOf(a, i) { return state.data.cells.find(function (c) { return c.actor === a && c.issue === i; }); }
  function codedList() { return Object.keys(state.cells).map(function (k) { return state.cells[k]; }); }

  // ---- choosing a scenario and a view ------------------------------------------------------
  function loadScenarios() {
    return api("/api/scenarios").then(function (doc) {
      var sel = $("wb-scenario");
      sel.innerHTML = "";
      doc.scenarios.filter(function (s) { return s.kind === "folder" && s.views && s.views.length; })
        .forEach(function (s) { sel.appendChild(el("option", { value: s.path }, s.path + " — " + s.title)); });
      var q = new URLSearchParams(location.search);
      if (q.get("path")) { sel.value = q.get("path"); }
      return fillViews(doc, q.get("view"));
    });
  }
  function fillViews(doc, wanted) {
    var s = doc.scenarios.find(function (x) { return x.path === $("wb-scenario").value; });
    var sel = $("wb-view");
    sel.innerHTML = "";
    (s ? s.views : []).forEach(function (v) { sel.appendChild(el("option", { value: v.id }, v.id + (v.title ? " — " + v.title : ""))); });
    if (wanted) { sel.value = wanted; }
    state.scenarios = doc;
    return openView();
  }

  function openView() {
    state.path = $("wb-scenario").value; state.view = $("wb-view").value;
    state.cells = {}; state.selected = null; state.opened = null;
    $("editor").hidden = true; $("save").disabled = true; $("save-status").textContent = "";
    if (!state.path || !state.view) { status("no scenario folder with views here (run `accord view new`)"); return Promise.resolve(); }
    status("opening " + state.view + " …");
    var seq = state.openSeq = (state.openSeq || 0) + 1;
    return api("/api/workbench/open?path=" + encodeURIComponent(state.path) + "&view=" + encodeURIComponent(state.view))
      .then(function (d) {
        if (seq !== state.openSeq) { return; }  // another view was chosen meanwhile
        state.data = d;
        renderSource(); renderGrid(); renderCompareChoices();
        status(d.scenario + " · " + d.view.id);
        return refreshForecast();
      }).catch(function (e) { status("error: " + e.message); });
  }

  // ---- the source --------------------------------------------------------------------------
  function renderSource() {
    var box = $("source");
    box.innerHTML = "";
    var s = state.data.source;
    $("source-name").textContent = s.id + " · " + s.file + " · lines " + s.first + "–" + s.last;
    s.lines.forEach(function (pair) {
      var row = el("div", { "class": "line", "data-line": pair[0] });
      row.appendChild(el("span", { "class": "n" }, pair[0]));
      row.appendChild(el("span", { "class": "t" }, pair[1] || "\u00a0"));
      box.appendChild(row);
    });
  }
  function highlight(first, last, scroll) {
    Array.prototype.forEach.call(document.querySelectorAll("#source .line"), function (r) {
      var n = Number(r.getAttribute("data-line"));
      r.classList.toggle("hit", first !== null && n >= first && n <= last);
    });
    if (scroll && first !== null) {
      var r = document.querySelector('#source .line[data-line="' + first + '"]');
      if (r) { r.scrollIntoView({ block: "center" }); }
    }
  }
  function selectedText() {
    var sel = window.getSelection();
    if (!sel || sel.rangeCount === 0) { return ""; }
    var range = sel.getRangeAt(0);
    if (!$("source").contains(range.commonAncestorContainer)) { return ""; }
    // line numbers are not text of the source
    var frag = range.cloneContents();
    Array.prototype.forEach.call(frag.querySelectorAll(".n"), function (n) { n.remove(); });
    var div = document.createElement("div"); div.appendChild(frag);
    var text = div.textContent || sel.toString();
    return text.replace(/\s+/g, " ").trim();
  }

  // ---- the grid ----------------------------------------------------------------------------
  function renderGrid() {
    var d = state.data, t = $("grid");
    t.innerHTML = "";
    var head = el("tr");
    head.appendChild(el("th", {}, "actor \\ issue"));
    d.issues.forEach(function (i) { head.appendChild(el("th", { title: i.question }, i.id)); });
    t.appendChild(head);
    var nFile = 0;
    d.actors.forEach(function (a) {
      var tr = el("tr");
      tr.appendChild(el("th", { "class": "actor", title: a.name }, a.id));
      d.issues.forEach(function (i) {
        var c = cellOf(a.id, i.id), mine = state.cells[key(a.id, i.id)];
        var cls = mine ? "coded" : c.coded ? "file" : c.stance ? "inherited" : "none";
        if (c.coded) { nFile += 1; }
        var shown = mine ? mine.position : c.stance ? c.stance.position : "·";
        var td = el("td", { "class": "cell " + cls, "data-actor": a.id, "data-issue": i.id,
                            title: a.name + " · " + i.id + " (" + cls + ")" }, String(shown));
        if (state.selected === key(a.id, i.id)) { td.classList.add("selected"); }
        td.addEventListener("click", function () { openCell(a.id, i.id); });
        tr.appendChild(td);
      });
      t.appendChild(tr);
    });
    var total = d.actors.length * d.issues.length, here = codedList().length;
    $("grid-count").textContent = here + " coded here · " + nFile + " in the file · " +
      (total - here - nFile) + " of " + total + " not yet coded";
  }

  // ---- the cell editor ---------------------------------------------------------------------
  function openCell(actor, issue) {
    state.selected = key(actor, issue);
    var c = cellOf(actor, issue), i = issueOf(issue), mine = state.cells[state.selected];
    var a = state.data.actors.find(function (x) { return x.id === actor; });
    var st = mine || c.stance || {};
    $("editor").hidden = false;
    $("cell-title").textContent = a.name + " · " + issue;
    $("cell-question").textContent = i.question + " (scale " + i.low + "–" + i.high + ")";
    var slider = $("position-slider");
    slider.min = i.low; slider.max = i.high; slider.step = (i.high - i.low) / 100;
    $("position").value = mine || c.coded ? st.position : "";
    slider.value = st.position !== undefined && st.position !== null ? st.position : (i.low + i.high) / 2;
    $("low").value = mine || c.coded ? (st.low === null || st.low === undefined ? "" : st.low) : "";
    $("high").value = mine || c.coded ? (st.high === null || st.high === undefined ? "" : st.high) : "";
    // a cell not yet coded offers no number: the base's values are shown as placeholders only
    var base = c.stance || {};
    $("position").placeholder = base.position != null ? "base " + base.position : "";
    $("salience").placeholder = base.salience != null ? "base " + base.salience : "";
    $("salience").value = mine || c.coded ? st.salience : "";
    $("salience-low").value = mine || c.coded ? (st.salience_low == null ? "" : st.salience_low) : "";
    $("salience-high").value = mine || c.coded ? (st.salience_high == null ? "" : st.salience_high) : "";
    $("quote").value = mine || c.coded ? (st.quote || "") : "";
    $("judgement").value = mine || c.coded ? (st.judgement || "") : "";
    $("cell-errors").textContent = "";
    var ul = $("anchors"); ul.innerHTML = "";
    i.anchors.forEach(function (an) {
      var li = el("li"), b = el("button", { type: "button", "data-value": an[0] }, an[0] + " = " + an[1]);
      b.addEventListener("click", function () { setPosition(an[0]); });
      li.appendChild(b); ul.appendChild(li);
    });
    var ol = $("suggestions"); ol.innerHTML = "";
    if (!c.suggestions.length) { ol.appendChild(el("li", { "class": "muted" }, "no sentence of the source speaks to this issue")); }
    c.suggestions.forEach(function (s) {
      var li = el("li", { "data-line": s.line, title: "BM25 " + s.score }, "line " + s.line + ": " + s.text);
      li.addEventListener("click", function () { highlight(s.line, s.line, true); });
      ol.appendChild(li);
    });
    markAnchor();
    renderGrid();
    checkQuote();
  }
  function setPosition(x) { $("position").value = x; $("position-slider").value = x; markAnchor(); }
  function markAnchor() {
    var x = num("position"), best = null;
    Array.prototype.forEach.call(document.querySelectorAll("#anchors button"), function (b) {
      var v = Number(b.getAttribute("data-value"));
      if (x !== null && (best === null || Math.abs(v - x) < Math.abs(best.v - x))) { best = { v: v, b: b }; }
      b.classList.remove("near");
    });
    if (best) { best.b.classList.add("near"); }
  }
  var checkTimer = null;
  function checkQuote() {
    clearTimeout(checkTimer);
    var q = $("quote").value, seq = ++state.checkSeq;
    $("quote-status").removeAttribute("data-found");
    if (!q.trim()) { $("quote-status").textContent = ""; $("quote-status").className = "small"; highlight(null); return; }
    checkTimer = setTimeout(function () {
      api("/api/workbench/check", { path: state.path, view: state.view, quote: q }).then(function (r) {
        if (seq !== state.checkSeq) { return; }
        var s = $("quote-status");
        s.setAttribute("data-found", String(r.found));
        if (r.found) {
          s.textContent = "✓ quote found at line " + r.line + (r.end_line !== r.line ? "–" + r.end_line : "");
          s.className = "small ok"; highlight(r.line, r.end_line, true);
        } else {
          s.textContent = "✗ not verbatim in " + state.data.source.id + (r.hint ? " — " + r.hint : "");
          s.className = "small bad"; highlight(r.line || null, r.end_line || null, false);
        }
      }).catch(function (e) { $("quote-status").textContent = "error: " + e.message; });
    }, 200);
  }
  function codeCell() {
    var parts = state.selected.split("|");
    var cell = { actor: parts[0], issue: parts[1], position: num("position"), low: num("low"), high: num("high"),
                 salience: num("salience"), salience_low: num("salience-low"), salience_high: num("salience-high"),
                 quote: $("quote").value.trim() || null, judgement: $("judgement").value.trim() || null };
    var previous = state.cells[state.selected];
    state.cells[state.selected] = cell;
    // the server validates (every problem at once); a refused cell is taken back
    return refreshForecast().then(function (ok) {
      if (!ok) {
        if (previous) { state.cells[state.selected] = previous; } else { delete state.cells[state.selected]; }
      } else { $("cell-errors").textContent = ""; }
      renderGrid();
    });
  }

  // ---- the forecast ------------------------------------------------------------------------
  function refreshForecast() {
    var seq = ++state.seq;
    $("forecast-status").textContent = "computing …";
    return api("/api/workbench/forecast", { path: state.path, view: state.view, cells: codedList() })
      .then(function (r) {
        if (seq !== state.seq) { return true; }
        if (state.opened === null) { state.opened = r.rows; }
        state.forecast = r;
        renderForecast();
        $("forecast-status").textContent = r.cells + " cell(s) coded here · " + r.draws + " draws · " +
          r.ensemble_views.length + " views in the ensemble · " + r.timing.total_ms + " ms";
        $("save").disabled = r.cells === 0;
        return true;
      }).catch(function (e) {
        $("forecast-status").textContent = "";
        $("cell-errors").textContent = e.message.split("; ").join("\n");
        return false;
      });
  }
  function renderForecast() {
    var rows = state.forecast.rows, sel = $("model");
    var models = Array.from(new Set(rows.map(function (r) { return r.model; })));
    if (sel.options.length !== models.length) {
      sel.innerHTML = "";
      models.forEach(function (m) { sel.appendChild(el("option", { value: m }, m)); });
      sel.value = models.indexOf("compromise") >= 0 ? "compromise" : models[0];
    }
    var m = sel.value, t = $("forecast");
    t.innerHTML = "";
    t.setAttribute("data-version", String(Number(t.getAttribute("data-version") || 0) + 1));
    t.setAttribute("data-view", state.view);
    var h = el("tr");
    ["issue", "this view", "10–90%", "ensemble", "view − ens.", "since opened"].forEach(function (x) { h.appendChild(el("th", {}, x)); });
    t.appendChild(h);
    rows.filter(function (r) { return r.model === m; }).forEach(function (r) {
      var before = state.opened.find(function (o) { return o.model === m && o.issue === r.issue; });
      var change = before ? r.view - before.view : null;
      var tr = el("tr", { "data-issue": r.issue });
      tr.appendChild(el("td", { title: r.anchor || "" }, r.issue));
      tr.appendChild(el("td", { "class": "num view" }, fmt(r.view)));
      tr.appendChild(el("td", { "class": "num" }, fmt(r.p10) + "–" + fmt(r.p90)));
      tr.appendChild(el("td", { "class": "num" }, fmt(r.ensemble)));
      var d = el("td", { "class": "num diff " + (r.difference > 0.05 ? "up" : r.difference < -0.05 ? "down" : "") },
                 (r.difference >= 0 ? "+" : "") + fmt(r.difference));
      tr.appendChild(d);
      tr.appendChild(el("td", { "class": "num change" }, change === null ? "—" : (change >= 0 ? "+" : "") + fmt(change)));
      t.appendChild(tr);
    });
  }

  // ---- saving and comparing ----------------------------------------------------------------
  function save() {
    $("save-status").textContent = "saving …";
    return api("/api/workbench/save", { path: state.path, view: state.view, cells: codedList() }).then(function (r) {
      $("save-status").textContent = "saved " + r.saved + " (" + r.cells + " cells coded here; view " + r.view + ")";
      $("save-status").className = "small ok"; $("save-status").setAttribute("data-saved", r.saved);
      return api("/api/scenarios").then(function (doc) { state.scenarios = doc; renderCompareChoices(); });
    }).catch(function (e) { $("save-status").textContent = "not saved: " + e.message; $("save-status").className = "small bad"; });
  }
  function renderCompareChoices() {
    var s = (state.scenarios || { scenarios: [] }).scenarios.find(function (x) { return x.path === state.path; });
    var sel = $("compare-with"); sel.innerHTML = "";
    (s ? s.views : []).filter(function (v) { return v.id !== state.view; })
      .forEach(function (v) { sel.appendChild(el("option", { value: v.id }, v.id)); });
  }
  function compare() {
    var box = $("compare-result"); box.textContent = "computing …";
    return api("/api/workbench/compare", { path: state.path, a: state.view, b: $("compare-with").value, cells: codedList() }).then(function (r) {
      box.innerHTML = "";
      var t = el("table", { id: "alpha" }), h = el("tr");
      ["", "Krippendorff's α (interval)", "cells coded by both"].forEach(function (x) { h.appendChild(el("th", {}, x)); });
      t.appendChild(h);
      r.alpha.forEach(function (a) {
        var tr = el("tr", { "data-unit": a.unit });
        tr.appendChild(el("td", {}, a.unit));
        tr.appendChild(el("td", { "class": "num", title: a.note || "" }, a.alpha === null ? "— " + (a.note || "") : fmt(a.alpha, 3)));
        tr.appendChild(el("td", { "class": "num" }, a.cells_both));
        t.appendChild(tr);
      });
      box.appendChild(t);
      box.appendChild(el("div", { "class": "label" }, "Largest differences (forecast shift: one cell of this view taken from " + r.b + ")"));
      var d = el("table", { id: "differences" }), hh = el("tr");
      var shifts = Object.keys(r.differences[0] || {}).filter(function (k) { return k.indexOf("shift_") === 0; });
      ["actor", "issue", "field", r.a, r.b].concat(shifts.map(function (s) { return "Δ " + s.slice(6); }))
        .forEach(function (x) { hh.appendChild(el("th", {}, x)); });
      d.appendChild(hh);
      r.differences.slice(0, 10).forEach(function (x) {
        var tr = el("tr");
        [x.actor, x.issue || "", x.field, fmt(x.a, 2), fmt(x.b, 2)].forEach(function (v) { tr.appendChild(el("td", {}, v)); });
        shifts.forEach(function (s) { tr.appendChild(el("td", { "class": "num" }, (x[s] >= 0 ? "+" : "") + fmt(x[s], 2))); });
        d.appendChild(tr);
      });
      box.appendChild(d);
    }).catch(function (e) { box.textContent = "error: " + e.message; });
  }

  // ---- wiring ------------------------------------------------------------------------------
  $("wb-scenario").addEventListener("change", function () { fillViews(state.scenarios, null); });
  $("wb-view").addEventListener("change", openView);
  $("position").addEventListener("input", function () { if ($("position").value !== "") { $("position-slider").value = $("position").value; } markAnchor(); });
  $("position-slider").addEventListener("input", function () { $("position").value = $("position-slider").value; markAnchor(); });
  $("quote").addEventListener("input", checkQuote);
  $("attach").addEventListener("click", function () {
    var text = selectedText();
    if (!text) { $("quote-status").textContent = "select a passage in the source first"; $("quote-status").className = "small bad"; return; }
    $("quote").value = text; checkQuote();
  });
  $("code-cell").addEventListener("click", codeCell);
  $("uncode-cell").addEventListener("click", function () { delete state.cells[state.selected]; renderGrid(); refreshForecast(); });
  $("close-editor").addEventListener("click", function () { $("editor").hidden = true; state.selected = null; renderGrid(); highlight(null); });
  $("model").addEventListener("change", renderForecast);
  $("save").addEventListener("click", save);
  $("compare").addEventListener("click", compare);
  loadScenarios().catch(function (e) { status("error: " + e.message); });
})();
