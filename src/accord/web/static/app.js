/* accord serve: vanilla JS, no build step, no network beyond this server. */
"use strict";
(function () {
  var state = { scenarios: [], path: null, view: "base", detail: null, ensemble: {},
                whatifs: [], version: 0, token: 0, editing: null, def: null,
                before: null, full: null, summaryBase: null };
  var $ = function (id) { return document.getElementById(id); };

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fmt(x, d) { return x == null ? "—" : Number(x).toFixed(d == null ? 1 : d); }
  function g(x) { return x == null ? "" : String(Math.round(x * 1000) / 1000); }
  function status(text, isError) {
    var s = $("status"); s.textContent = text; s.style.color = isError ? "#b3261e" : "";
  }

  function api(method, url, body) {
    var opts = { method: method, headers: {} };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { throw new Error(data.detail ? (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail)) : ("HTTP " + r.status)); }
        return data;
      });
    });
  }
  function q(params) {
    return Object.keys(params).filter(function (k) { return params[k] != null && params[k] !== ""; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
  }

  function loadScenarios(select) {
    return api("GET", "/api/scenarios").then(function (data) {
      state.scenarios = data.scenarios;
      $("folder").textContent = "data folder: " + data.data_folder + " · accord " + data.accord_version;
      var sel = $("scenario-select");
      sel.innerHTML = state.scenarios.map(function (s) {
        return "<option value=\"" + esc(s.path) + "\"" + (s.error ? " disabled" : "") + ">" +
          esc(s.path) + (s.error ? " (unreadable)" : " — " + esc(s.title)) + "</option>";
      }).join("");
      state.def = data.default;
      state.allModels = data.models || [];
      var want = select || state.path || data.default || (state.scenarios.find(function (s) { return !s.error; }) || {}).path;
      if (want) { sel.value = want; }
      return want;
    });
  }

  function scenarioEntry(path) {
    return state.scenarios.find(function (s) { return s.path === path; }) || { views: [] };
  }

  function selectScenario(path, view) {
    state.path = path;
    state.whatifs = [];
    var entry = scenarioEntry(path);
    var ids = (entry.views || []).map(function (v) { return v.id; });
    if (!state.ensemble[path]) { state.ensemble[path] = ids.filter(function (v) { return !/-edit-\d+$/.test(v); }); }
    state.view = view || (ids.length ? ids[ids.length - 1] : "base");
    renderViews();
    return loadView();
  }

  function renderViews() {
    var entry = scenarioEntry(state.path);
    var views = entry.views || [];
    $("view-select").innerHTML = "<option value=\"base\">base coding</option>" + views.map(function (v) {
      return "<option value=\"" + esc(v.id) + "\">" + esc(v.id) + (v.date ? " (" + esc(v.date) + ")" : "") + "</option>";
    }).join("");
    $("view-select").value = state.view;
    var ens = state.ensemble[state.path] || [];
    $("ensemble-box").hidden = !views.length;
    $("ensemble-views").innerHTML = views.map(function (v) {
      return "<label><input type=\"checkbox\" value=\"" + esc(v.id) + "\"" + (ens.indexOf(v.id) >= 0 ? " checked" : "") + "> " + esc(v.id) + "</label>";
    }).join("");
  }

  function loadView() {
    history.replaceState(null, "", "#" + q({ scenario: state.path, view: state.view }));
    return api("GET", "/api/scenario?" + q({ path: state.path, view: state.view })).then(function (d) {
      state.detail = d;
      $("levers-out").innerHTML = "";
      $("title").textContent = d.title + " · " + (d.view === "base" ? "base coding" : "view " + d.view);
      $("dl-report").textContent = "HTML report";
      renderCells();
      return runForecast();
    }).catch(function (e) { status(e.message, true); });
  }

  function forecastViews() {
    if (state.view === "base") { return null; }
    var ens = (state.ensemble[state.path] || []).slice();
    if (ens.indexOf(state.view) < 0) { ens.push(state.view); }
    return ens;
  }

  function runForecast() {
    var t0 = performance.now();
    status("forecasting …");
    $("conclusion").setAttribute("data-pending", "1");
    $("summary-progress").innerHTML = "<progress></progress>forecasting the one-shot models; every model follows in the background …";
    var body = { path: state.path, view: state.view, views: forecastViews(), changes: state.whatifs };
    var token = ++state.token;
    $("feasibility").setAttribute("data-pending", "1");
    $("feasibility").style.opacity = "0.5";
    function feasibility() {  // after the forecast, so that the two do not share the CPU
      if (token !== state.token) { return; }
      api("POST", "/api/feasibility", body).then(function (f) {
        if (token === state.token) { renderFeasibility(f); }
      }).catch(function (e) { if (token === state.token) { $("feasibility").removeAttribute("data-pending"); $("feasibility").innerHTML = "<p class=\"muted small\">feasibility: " + esc(e.message) + "</p>"; } });
    }
    state.full = null;
    var before = state.whatifs.length ?
      api("POST", "/api/forecast", { path: state.path, view: state.view, views: forecastViews(), changes: [] })
        .then(function (b) { return b; }, function () { return null; }) : Promise.resolve(null);
    return before.then(function (b) {
      state.before = b;
      return api("POST", "/api/forecast", body);
    }).then(function (f) {
      setTimeout(feasibility, 0);
      if (token !== state.token) { return; }
      var ms = Math.round(performance.now() - t0);
      state.version += 1;
      state.quick = f;
      renderForecast(f);
      startSummary(body, token);
      $("timing").textContent = "· updated in " + ms + " ms (forecast " + Math.round(f.timing.forecast_ms) + " ms on the server)";
      $("forecast-table").setAttribute("data-version", String(state.version));
      $("forecast-table").setAttribute("data-ms", String(ms));
      status("");
      updateDownloads();
    }).catch(function (e) { status(e.message, true); feasibility(); });
  }

  function cellText(r) {
    if (!r) { return "—"; }
    return fmt(r.median) + (r.p10 === r.p90 || r.p10 == null ? "" : "<span class=\"iv\">[" + fmt(r.p10, 0) + "–" + fmt(r.p90, 0) + "]</span>");
  }

  function renderForecast(f) {
    var d = state.detail;
    var by = {}, was = {};
    f.rows.forEach(function (r) { by[r.issue + "|" + r.model + "|" + r.view] = r; });
    if (state.whatifs.length && state.before) {
      state.before.rows.forEach(function (r) { was[r.issue + "|" + r.model + "|" + r.view] = r; });
    }
    if (state.whatifs.length && state.full && state.full.before) {
      state.full.before.forEach(function (r) { was[r.issue + "|" + r.model + "|" + r.view] = r; });
    }
    if (state.editBefore && state.editBefore.view === f.view) {  // just saved: the view it came from
      state.editBefore.rows.forEach(function (r) {
        var v = r.view === state.editBefore.parent ? f.view : r.view;
        was[r.issue + "|" + r.model + "|" + v] = r;
      });
    }
    var viewKey = f.view;
    var pending = (state.allModels || []).filter(function (m) { return f.models.indexOf(m) < 0; });
    var models = f.models.concat(pending);
    var html = "<tr><th>issue</th>" + models.map(function (m) {
      return "<th data-model=\"" + esc(m) + "\">" + esc(m) + (pending.indexOf(m) >= 0 ? " <span class=\"pending\">…</span>" : "") + "</th>";
    }).join("") + "<th>nearest labelled point (compromise)</th></tr>";
    d.issues.forEach(function (i) {
      html += "<tr><td title=\"" + esc(i.question) + "\">" + esc(i.id) + "<span class=\"iv\">" + esc(i.unit || "") + "</span></td>";
      models.forEach(function (m) {
        var k = i.id + "|" + m + "|" + viewKey;
        var r = by[k], e = by[i.id + "|" + m + "|ensemble"], w = was[k];
        var cell;
        if (pending.indexOf(m) >= 0) { cell = "<span class=\"pending\">computing</span>"; }
        else if (w && r && Math.abs(w.median - r.median) > 1e-9) {
          cell = "<span class=\"was\">" + fmt(w.median) + "</span>→ <span class=\"now\">" + fmt(r.median) + "</span>";
        } else { cell = cellText(r); }
        if (e && viewKey !== "base" && pending.indexOf(m) < 0) { cell += "<span class=\"iv\">ens. " + fmt(e.median) + "</span>"; }
        html += "<td class=\"num\" data-issue=\"" + esc(i.id) + "\" data-model=\"" + esc(m) + "\">" + cell + "</td>";
      });
      var c = by[i.id + "|compromise|" + viewKey];
      html += "<td class=\"small anchor\">" + esc(c && c.anchor ? c.anchor : "") + "</td></tr>";
    });
    var t = $("forecast-table");
    t.innerHTML = html;
    t.setAttribute("data-models", models.filter(function (m) { return pending.indexOf(m) < 0; }).join(","));
    t.classList.remove("flash"); void t.offsetWidth; t.classList.add("flash");
    $("forecast-meta").textContent = f.draws.toLocaleString("en") + " draws per view · seed " + f.seed + " · views: " +
      f.views.join(", ") + (f.changes ? " · " + f.changes + " unsaved what-if(s): before → after" : "") +
      (state.editBefore && state.editBefore.view === f.view ? " · saved edit: " + state.editBefore.parent + " → " + f.view : "");
    renderWhatifs();
  }

  // ---- the summary: every model, computed in the background --------------------------------
  function pollJob(body, onProgress) {
    return api("POST", "/api/summary", body).then(function poll(job) {
      if (job.state === "running") {
        if (onProgress) { onProgress(job); }
        return new Promise(function (res) { setTimeout(res, 400); }).then(function () {
          return api("GET", "/api/job?id=" + encodeURIComponent(job.id));
        }).then(poll);
      }
      if (job.state !== "done") { throw new Error(job.error || job.state); }
      return job;
    });
  }

  function startSummary(body, token) {
    var box = $("summary-progress");
    var key = summaryKey();
    box.innerHTML = "<progress max=\"1\" value=\"0\"></progress>computing every model, feasibility and the levers in the background …";
    $("conclusion").setAttribute("data-pending", "1");
    var base = Promise.resolve(null);
    if (body.changes.length && !(state.summaryBase && state.summaryBase.key === key)) {
      base = pollJob(Object.assign({}, body, { changes: [] })).then(function (job) {
        state.summaryBase = { key: key, result: job.result };
      }, function () { return null; });
    }
    var run = pollJob(body, function (job) {
      if (token !== state.token) { return; }
      box.innerHTML = "<progress max=\"" + job.total + "\" value=\"" + job.done + "\"></progress>" +
        "computing in the background: " + esc(job.step || "starting") + " (" + job.done + " of " + job.total + " steps)";
    });
    Promise.all([run, base]).then(function (both) {
      if (token !== state.token) { return; }
      var job = both[0], r = job.result;
      if (!body.changes.length) { state.summaryBase = { key: key, result: r }; }
      state.full = r;
      if (body.changes.length && state.summaryBase && state.summaryBase.key === key) {
        state.full.before = state.summaryBase.result.rows;
      }
      state.allModels = r.models;
      renderSummary(r.summary);
      renderForecast({ rows: r.rows, models: r.models, view: r.view, views: r.views, draws: r.draws,
                       seed: r.seed, changes: r.changes });
      $("conclusion").removeAttribute("data-pending");
      box.textContent = "every model: " + r.draws.toLocaleString("en") + " draws per view (" +
        r.summary.dynamic_draws.toLocaleString("en") + " for dynamic models" +
        (r.summary.lever_draws ? ", " + r.summary.lever_draws.toLocaleString("en") +
         " for the levers" : "") + ") · seed " + r.seed +
        " · " + job.seconds + " s" + (r.summary.precision ? " · " + r.summary.precision : "");
    }).catch(function (e) {
      if (token !== state.token) { return; }
      $("conclusion").removeAttribute("data-pending");
      box.textContent = "summary: " + e.message;
    });
  }

  function summaryKey() { return state.path + "|" + state.view + "|" + (forecastViews() || []).join(","); }

  function renderSummary(s) {
    $("headline").innerHTML = s.headline.map(function (h) { return "<li>" + esc(h) + "</li>"; }).join("");
    var base = state.whatifs.length && state.summaryBase && state.summaryBase.key === summaryKey() ?
      state.summaryBase.result.summary : null;
    var was = {};
    if (base) { base.issues.forEach(function (x) { was[x.issue] = x; }); }
    var html = "<tr><th>issue</th><th>most likely settlement (nearest labelled point)</th><th>median</th><th>80% interval</th><th>unit</th></tr>";
    var scale = {};
    (state.detail ? state.detail.issues : []).forEach(function (i) { scale[i.id] = i.high - i.low; });
    s.issues.forEach(function (x) {
      var w = was[x.issue];
      var d = scale[x.issue] != null && scale[x.issue] <= 20 ? 1 : 0;  // as the CLI and the report
      var fmt = function (v) { return v == null ? "—" : Number(v).toFixed(d); };
      var med = w && fmt(w.median) !== fmt(x.median) ?
        "<span class=\"was\">" + fmt(w.median) + "</span>→ <span class=\"now\">" + fmt(x.median) + "</span>" : fmt(x.median);
      html += "<tr><td title=\"" + esc(x.question) + "\">" + esc(x.issue) + "</td><td class=\"words small\">" +
        esc(x.anchor_point != null ? x.anchor_point + ": " + x.anchor : "—") + "</td><td class=\"num\">" + med +
        "</td><td class=\"num\">" + fmt(x.p10) + "–" + fmt(x.p90) + "</td><td class=\"small\">" + esc(x.unit) + "</td></tr>";
    });
    $("settlement-table").innerHTML = html;
  }

  function renderFeasibility(f) {
    var box = $("feasibility");
    box.removeAttribute("data-pending");
    box.style.opacity = "";
    if (!f.available) { box.innerHTML = ""; return; }
    if (f.error) { box.innerHTML = "<p class=\"muted small\">feasibility: " + esc(f.error) + "</p>"; return; }
    var html = "<h2>Is a deal possible? <span class=\"muted small\">(share of coding draws in which some settlement suits every veto player; not a probability of a deal · " + f.draws.toLocaleString("en") + " draws per view · seed " + (f.seed == null ? "" : f.seed) + " · " +
      Math.round(f.timing.total_ms) + " ms)</span></h2><table><tr><th>view</th><th>deal</th><th>zone of agreement (share of draws)</th><th>95% interval</th><th>median slack (utility, 0–1)</th></tr>";
    f.summary.forEach(function (r) {
      html += "<tr><td>" + esc(r.view) + "</td><td>" + esc(r.deal) + "</td><td class=\"num\">" + fmt(r.p_feasible * 100, 0) +
        "%</td><td class=\"num\">" + fmt(r.p_low * 100, 0) + "–" + fmt(r.p_high * 100, 0) + "%</td><td class=\"num\">" + fmt(r.median_slack, 3) + "</td></tr>";
    });
    html += "</table>";
    var blockers = (f.spoilers || []).filter(function (r) { return r.p_blocks >= 0.005; });
    if (blockers.length) {
      html += "<p class=\"small\">Who blocks: " + blockers.slice(0, 8).map(function (r) {
        return esc(r.actor) + " (" + esc(r.deal) + ", " + esc(r.view) + ": " + fmt(r.p_blocks * 100, 0) + "%)";
      }).join(" · ") + "</p>";
    }
    (f.notes || []).forEach(function (n) { html += "<p class=\"muted small\">note: " + esc(n) + "</p>"; });
    box.innerHTML = html;
  }

  function renderCells() {
    var d = state.detail;
    var cells = {};
    d.cells.forEach(function (c) { cells[c.actor + "|" + c.issue] = c; });
    // issues down, actors across: a scenario has more issues than actors, and this fits the page
    var html = "<tr><th>issue <span class=\"muted small\">pos / sal</span></th>" + d.actors.map(function (a) {
      return "<th title=\"" + esc(a.name) + "\">" + esc(a.id) + (a.veto ? " ⚑" : "") + "</th>";
    }).join("") + "</tr>";
    html += "<tr><td>capability</td>" + d.actors.map(function (a) {
      return "<td class=\"num" + (a.inherited ? " inh" : "") + "\"><button type=\"button\" data-actor=\"" + esc(a.id) +
        "\" data-field=\"capability\">" + g(a.capability.value) + "</button></td>";
    }).join("") + "</tr>";
    d.issues.forEach(function (i) {
      html += "<tr><th title=\"" + esc(i.question) + "\">" + esc(i.id) + "</th>";
      d.actors.forEach(function (a) {
        var c = cells[a.id + "|" + i.id];
        if (!c) { html += "<td class=\"muted\">—</td>"; return; }
        html += "<td class=\"num" + (c.inherited ? " inh" : "") + "\">" +
          "<button type=\"button\" data-actor=\"" + esc(a.id) + "\" data-issue=\"" + esc(i.id) + "\" data-field=\"position\">" + g(c.position.value) + "</button>/" +
          "<button type=\"button\" data-actor=\"" + esc(a.id) + "\" data-issue=\"" + esc(i.id) + "\" data-field=\"salience\">" + g(c.salience.value) + "</button></td>";
      });
      html += "</tr>";
    });
    $("cells-table").innerHTML = html;
  }

  function quantityOf(actor, issue, field) {
    var d = state.detail;
    if (field === "capability") { return d.actors.find(function (a) { return a.id === actor; }).capability; }
    var c = d.cells.find(function (x) { return x.actor === actor && x.issue === issue; });
    return c ? c[field] : null;
  }

  function openEditor(actor, issue, field) {
    var qy = quantityOf(actor, issue, field);
    if (!qy) { return; }
    state.editing = { actor: actor, issue: issue, q: qy, field: field };
    $("edit-title").textContent = actor + (field === "capability" ? "" : " · " + issue);
    $("edit-field").value = field;
    $("edit-value").value = g(qy.value);
    $("edit-low").value = g(qy.low);
    $("edit-high").value = g(qy.high);
    $("edit-quote").value = "";
    $("edit-judgement").value = "";
    $("edit-error").textContent = "";
    var ev = (qy.evidence || []).map(function (e) {
      return e.quote ? "“" + e.quote + "” (" + (e.source || "?") + ")" : "judgement: " + e.judgement;
    }).join(" · ");
    $("edit-current").textContent = "now " + g(qy.value) + (qy.low != null ? " [" + g(qy.low) + "–" + g(qy.high) + "]" : "") + (ev ? " — " + ev : " — no evidence");
    var d = state.detail;
    $("edit-source").innerHTML = "<option value=\"\">(the view's source" + (d.view_source ? ": " + esc(d.view_source) : "") + ")</option>" +
      d.sources.map(function (s) { return "<option value=\"" + esc(s.id) + "\">" + esc(s.id) + (s.author ? " — " + esc(s.author) : "") + "</option>"; }).join("");
    $("edit-save").disabled = !d.editable;
    $("edit-save").textContent = scenarioEntry(state.path).kind === "folder" ? "Save as a new view" : "Save as a new scenario file";
    $("editor").hidden = false;
    $("edit-value").focus();
  }

  function changeFromForm() {
    var num = function (id) { var v = $(id).value.trim(); return v === "" ? null : Number(v); };
    return { actor: state.editing.actor, issue: $("edit-field").value === "capability" ? null : state.editing.issue,
             field: $("edit-field").value, value: num("edit-value"), low: num("edit-low"), high: num("edit-high"),
             quote: $("edit-quote").value.trim() || null, source: $("edit-source").value || null,
             judgement: $("edit-judgement").value.trim() || null };
  }

  function renderWhatifs() {
    if (state.detail) { renderCells(); }
    state.whatifs.forEach(function (c) {
      var sel = "#cells-table button[data-actor=\"" + CSS.escape(c.actor) + "\"][data-field=\"" + c.field + "\"]" +
        (c.issue ? "[data-issue=\"" + CSS.escape(c.issue) + "\"]" : "");
      var b = document.querySelector(sel);
      if (b) { b.textContent = g(c.value); b.classList.add("whatif"); b.title = "unsaved what-if"; }
    });
    $("whatif-box").hidden = !state.whatifs.length;
    $("whatif-list").innerHTML = state.whatifs.map(function (c) {
      return "<li>" + esc(c.actor) + (c.issue ? "." + esc(c.issue) : "") + "." + esc(c.field) + " = " + esc(c.value) + "</li>";
    }).join("");
  }

  function updateDownloads() {
    var views = forecastViews();
    var p = { path: state.path, view: state.view, views: views ? views.join(",") : null };
    $("dl-json").href = "/api/download?" + q(Object.assign({ kind: "json" }, p));
    $("dl-csv").href = "/api/download?" + q(Object.assign({ kind: "csv" }, p));
    $("dl-report").href = "/api/download?" + q(Object.assign({ kind: "report" }, p));
  }

  function runLevers() {
    var out = $("levers-out");
    out.innerHTML = "<p class=\"muted small\">running the levers …</p>";
    var body = { path: state.path, view: state.view, views: forecastViews(), changes: state.whatifs };
    // the background summary already ran them, with the same draws and seed: show its numbers
    var done = state.full && state.full.levers ?
      Promise.resolve(Object.assign({ timing: { total_ms: 0 } }, state.full.levers)) : null;
    return (done || api("POST", "/api/levers", body)).then(function (r) {
      if (!r.available) { out.innerHTML = "<p class=\"muted small\">" + esc(r.reason) + "</p>"; return; }
      var issues = state.detail.issues.map(function (i) { return i.id; });
      var shift = {}, feas = {}, deals = [];
      r.forecast.forEach(function (x) { shift[x.lever + "|" + x.issue] = x.shift; });
      r.feasibility.forEach(function (x) {
        feas[x.lever + "|" + x.deal] = x.p_feasible;
        if (deals.indexOf(x.deal) < 0) { deals.push(x.deal); }
      });
      var names = ["none"].concat(r.levers.map(function (l) { return l.name; }));
      var titles = {};
      r.levers.forEach(function (l) { titles[l.name] = l.title; });
      var html = "<p class=\"muted small\">" + esc(r.file) + " · the compromise forecast (" + esc(r.view) + ") and the zone of agreement, before → after each lever · " +
        r.draws.toLocaleString("en") + " draws per view · seed " + r.seed + " · " + (r.timing.total_ms ? Math.round(r.timing.total_ms) + " ms" : "from the background run") + "</p><table><tr><th>lever</th><th>largest shift of the forecast</th>" +
        deals.map(function (d) { return "<th>" + esc(d) + " deal: zone of agreement</th>"; }).join("") + "</tr>";
      names.forEach(function (n) {
        var best = null;
        issues.forEach(function (i) {
          var v = shift[n + "|" + i];
          if (v != null && (best === null || Math.abs(v) > Math.abs(best.v))) { best = { i: i, v: v }; }
        });
        html += "<tr><td class=\"title\" title=\"" + esc(n) + "\">" + esc(titles[n] || (n === "none" ? "none (as coded)" : n)) + "</td><td class=\"num\">" +
          (n === "none" || !best || Math.abs(best.v) < 0.05 ? "—" : esc(best.i) + " " + (best.v > 0 ? "+" : "") + fmt(best.v)) + "</td>" +
          deals.map(function (d) {
            var p = feas[n + "|" + d], p0 = feas["none|" + d];
            if (p == null) { return "<td class=\"num\">—</td>"; }
            return "<td class=\"num\">" + (n === "none" || p0 == null || Math.abs(p - p0) < 1e-9 ? fmt(p * 100, 0) + "%" :
              "<span class=\"was\">" + fmt(p0 * 100, 0) + "%</span>→ <span class=\"now\">" + fmt(p * 100, 0) + "%</span>") + "</td>";
          }).join("") + "</tr>";
      });
      out.innerHTML = html + "</table>";
    }).catch(function (e) { out.innerHTML = "<p class=\"error\">" + esc(e.message) + "</p>"; });
  }

  // ---- events -----------------------------------------------------------------------------
  $("levers-run").addEventListener("click", runLevers);
  $("scenario-select").addEventListener("change", function (e) { selectScenario(e.target.value); });
  $("view-select").addEventListener("change", function (e) { state.view = e.target.value; state.whatifs = []; state.editBefore = null; loadView(); });
  $("ensemble-views").addEventListener("change", function () {
    state.ensemble[state.path] = Array.prototype.map.call(
      document.querySelectorAll("#ensemble-views input:checked"), function (x) { return x.value; });
    runForecast();
  });
  $("cells-table").addEventListener("click", function (e) {
    var b = e.target.closest("button");
    if (b) { openEditor(b.dataset.actor, b.dataset.issue, b.dataset.field); }
  });
  $("edit-cancel").addEventListener("click", function () { $("editor").hidden = true; });
  function effectiveRange(ch) {  // an empty box keeps the number's current range
    var q = (state.editing && state.editing.q) || {};
    var field = $("edit-field").value, same = q && state.editing && field === (state.editing.field || field);
    return { low: ch.low != null ? ch.low : (same ? q.low : null),
             high: ch.high != null ? ch.high : (same ? q.high : null) };
  }
  function outsideRange(ch) {
    var r = effectiveRange(ch);
    if (ch.value == null || r.low == null || r.high == null) { return false; }
    return ch.value < r.low || ch.value > r.high;
  }
  function offerRange(ch) {
    var r = effectiveRange(ch);
    var lo = Math.min(r.low, ch.value), hi = Math.max(r.high, ch.value);
    $("edit-error").innerHTML = esc("value " + g(ch.value) + " lies outside its range [" + g(r.low) + ", " + g(r.high) + "].") +
      " <button type=\"button\" id=\"edit-move-range\">Move the range to [" + esc(g(lo)) + ", " + esc(g(hi)) + "]</button>";
    $("edit-move-range").addEventListener("click", function () {
      $("edit-low").value = g(lo); $("edit-high").value = g(hi); $("edit-error").textContent = "";
    });
  }
  $("edit-whatif").addEventListener("click", function () {
    var ch = changeFromForm();
    if (ch.value == null || isNaN(ch.value)) { $("edit-error").textContent = "value: a number"; return; }
    if (outsideRange(ch)) { offerRange(ch); return; }
    state.whatifs = state.whatifs.filter(function (c) { return !(c.actor === ch.actor && c.issue === ch.issue && c.field === ch.field); });
    state.whatifs.push(ch);
    $("editor").hidden = true;
    runForecast().then(function () {
      if ($("status").style.color) {  // refused: undo it and show why, in the editor
        state.whatifs.pop(); renderWhatifs();
        $("edit-error").textContent = $("status").textContent;
        $("editor").hidden = false;
        runForecast();
      }
    });
  });
  $("whatif-clear").addEventListener("click", function () { state.whatifs = []; runForecast(); });
  $("edit-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var ch = changeFromForm();
    if (outsideRange(ch)) { offerRange(ch); return; }
    var body = Object.assign({ path: state.path, view: state.view }, ch);
    $("edit-error").textContent = "";
    status("saving …");
    var prev = state.full || state.quick, parent = state.view;
    api("POST", "/api/edit", body).then(function (res) {
      $("editor").hidden = true;
      state.editBefore = prev && res.view ? { rows: prev.rows, parent: parent, view: res.view } : null;
      status("saved " + res.saved);
      var ens = state.ensemble[state.path] || [];
      var newEns = ens.map(function (v) { return v === res.parent ? res.view : v; });
      if (res.view && newEns.indexOf(res.view) < 0 && res.parent === "base") { /* the edited base stays out of the ensemble */ }
      return loadScenarios(res.path).then(function () {
        if (res.path !== state.path) { state.ensemble[res.path] = newEns; }
        else { state.ensemble[state.path] = newEns; }
        return selectScenario(res.path, res.view || "base");
      }).then(function () { status("saved " + res.saved); });
    }).catch(function (err) { $("edit-error").textContent = err.message; status(""); });
  });

  function fromHash() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) { out[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1)); }
    });
    return out;
  }
  var wanted = fromHash();
  loadScenarios(wanted.scenario).then(function (p) {
    if (p) { return selectScenario(p, wanted.scenario === p ? wanted.view : null); }
    status("no scenario in the data folder");
  })
    .catch(function (e) { status(e.message, true); });
})();
