/* linkgap web page: "Compare with an earlier run of this domain" (SPEC 13 run diffs).
 *
 * Builds on app.js (window.linkgapPage): when a completed run is open, it lists the
 * account's earlier completed runs of the same domain and shows
 * GET /v1/backlinks/gap/{id}/diff?against=… a page at a time, with the prospect
 * filters and sort of the page applied.
 */
(function () {
  "use strict";

  var page = window.linkgapPage;
  var RUN_PAGES = 10;  // at most 10 pages of 100 runs are searched for earlier runs
  page.fields.against = ["Earlier run", "diff-against"];
  page.fields.kind = ["Show", "diff-kind"];

  var KIND_WORDS = { added: "added", removed: "removed", changed: "changed" };
  var FIELD_WORDS = {
    domain_rating: "domain rating", backlinks: "backlinks", referring_domains: "referring domains",
    competitor_overlap: "overlap", competitors: "links to", dofollow: "dofollow",
    spam_score: "spam", score: "score", rank: "rank"
  };
  var state = { run: null, page: 1, totalPages: 0, seq: 0, runsSeq: 0 };

  function $(id) { return document.getElementById(id); }

  function value(field, v) {
    if (Array.isArray(v)) return v.length ? v.map(page.uni).join(", ") : "none";
    if (typeof v === "boolean") return v ? "yes" : "no";
    return page.fmt(v);
  }

  function changeWords(entry) {
    if (entry.kind === "added") return "new prospect";
    if (entry.kind === "removed") return "no longer a prospect";
    return Object.keys(entry.changes || {}).map(function (f) {
      var c = entry.changes[f];
      return (FIELD_WORDS[f] || f) + " " + value(f, c.old) + " → " + value(f, c.new);
    }).join("; ");
  }

  function reset(run) {
    state.run = run && run.status === "completed" ? run : null;
    state.page = 1;
    state.seq++;
    page.show($("diff-panel"), !!state.run);
    page.show($("diff-results"), false);
    page.showError($("diff-error"), null);
    page.clearChildren($("diff-against"));
    $("diff-kind").value = "";
    if (state.run) loadEarlierRuns(state.run);
  }

  function loadEarlierRuns(run) {
    var seq = ++state.runsSeq;
    var found = [];
    function more(n) {
      return page.api("/v1/backlinks/gap", {
        query: { status: "completed", per_page: 100, page: n }, context: { what: "runs" }
      }).then(function (res) {
        if (seq !== state.runsSeq) return null;
        (res.body.data || []).forEach(function (r) {
          if (r.domain === run.domain && r.id !== run.id && r.created_at < run.created_at) {
            found.push(r);
          }
        });
        var pages = (res.body.meta || {}).total_pages || 0;
        return n < pages && n < RUN_PAGES ? more(n + 1) : found;
      });
    }
    more(1).then(function (runs) {
      if (runs === null) return;
      var select = $("diff-against");
      runs.forEach(function (r) {
        select.appendChild(page.h("option", {
          value: r.id,
          text: page.when(r.created_at) + " · " + page.plural(r.prospect_count || 0, "prospect",
            "prospects") + (r.index_version ? " · index " + r.index_version : "")
        }));
      });
      page.show($("diff-none"), runs.length === 0);
      page.show($("diff-form"), runs.length > 0);
    }, function (err) {
      if (seq === state.runsSeq) page.showError($("diff-error"), err);
    });
  }

  function load() {
    var run = state.run;
    var against = $("diff-against").value;
    if (!run || !against) return;
    var seq = ++state.seq;
    var query = Object.assign({ against: against, kind: $("diff-kind").value, page: state.page },
      page.filterParams(), page.sortParams());
    var table = $("diff-table");
    table.setAttribute("aria-busy", "true");
    page.api("/v1/backlinks/gap/" + encodeURIComponent(run.id) + "/diff",
      { query: query, context: { what: "run" } })
      .then(function (res) {
        if (seq !== state.seq) return;
        page.showError($("diff-error"), null);
        render(res.body.data || [], res.body.meta || {});
      }, function (err) {
        if (seq !== state.seq) return;
        page.show($("diff-results"), false);
        page.showError($("diff-error"), err);
      }).then(function () {
        if (seq === state.seq) table.removeAttribute("aria-busy");
      });
  }

  function render(rows, meta) {
    var tbody = $("diff-body");
    page.clearChildren(tbody);
    rows.forEach(function (e) {
      var shown = page.uni(e.domain);
      var domainCell = page.h("td", { className: "text domain" }, [shown]);
      if (shown !== e.domain) {
        domainCell.title = e.domain;
        domainCell.appendChild(page.h("span", { className: "canonical", text: e.domain }));
      }
      tbody.appendChild(page.h("tr", { className: "diff-" + e.kind }, [
        page.h("td", { className: "text" },
          [page.h("span", { className: "badge diff " + e.kind, text: KIND_WORDS[e.kind] || e.kind })]),
        domainCell,
        page.h("td", { text: page.fmt(e.domain_rating) }),
        page.h("td", {}, [page.h("span", { className: "score", text: page.fmt(e.score) })]),
        page.h("td", { text: page.fmt(e.rank) }),
        page.h("td", { className: "text competitors",
                       text: (e.competitors || []).map(page.uni).join(", ") }),
        page.h("td", { className: "text changes", text: changeWords(e) })
      ]));
    });
    var counts = meta.counts || {};
    $("diff-counts").textContent = page.plural(counts.added || 0, "prospect", "prospects") +
      " added · " + page.fmt(counts.removed || 0) + " removed · " +
      page.fmt(counts.changed || 0) + " changed.";
    var total = meta.total || 0;
    state.totalPages = meta.total_pages || 0;
    page.show($("diff-empty"), rows.length === 0);
    $("diff-empty").textContent = total === 0
      ? "Nothing changed that matches these filters." : "This page is past the last one.";
    $("diff-page-info").textContent = total === 0 ? "No changes"
      : "Page " + page.fmt(state.page) + " of " + page.fmt(state.totalPages) + " · " +
        page.plural(total, "change", "changes");
    $("diff-prev").disabled = state.page <= 1;
    $("diff-next").disabled = state.page >= state.totalPages;
    page.show($("diff-results"), true);
  }

  function go(delta) {
    var next = state.page + delta;
    if (next < 1 || (state.totalPages && next > state.totalPages)) return;
    state.page = next;
    load();
  }

  function init() {
    $("diff-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      state.page = 1;
      load();
    });
    $("diff-kind").addEventListener("change", function () {
      if (!$("diff-results").hidden) { state.page = 1; load(); }
    });
    $("diff-against").addEventListener("change", function () {
      page.show($("diff-results"), false);
    });
    $("diff-prev").addEventListener("click", function () { go(-1); });
    $("diff-next").addEventListener("click", function () { go(1); });
    document.addEventListener("linkgap:run", function (ev) { reset(ev.detail.run); });
    document.addEventListener("linkgap:filters", function () {
      if (state.run && !$("diff-results").hidden) { state.page = 1; load(); }
    });
    // The run may have been opened before this script ran.
    var open = page.currentRun();
    if (open) reset(open);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
