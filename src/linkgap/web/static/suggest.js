/* linkgap web page: link-competitor suggestions under "Your domain" (SPEC 13).
 *
 * Builds on app.js (window.linkgapPage). As you type your domain, once the text has
 * looked like a domain for a moment (debounced), a "Suggest competitors (1 credit)"
 * button appears. A suggestion costs a credit (GET /v1/domains/{domain}/competitors),
 * so it is fetched only when you ask; a domain that is not in the index costs nothing.
 * The answer is kept for the domain, so showing it again is free. Clicking a
 * suggestion adds it to the competitors box.
 */
(function () {
  "use strict";

  var page = window.linkgapPage;
  var DEBOUNCE_MS = 400;
  var LIMIT = 10;
  var state = { timer: null, seq: 0, cache: {}, shown: null };

  function $(id) { return document.getElementById(id); }

  /** The host part of what was typed, or "" when it cannot be a domain: at least two
   * labels of letters, digits, "-" or "_" (or non-ASCII), the last one not all digits.
   * The server decides the rest (the Public Suffix List), and a refusal is free. */
  function typedDomain(text) {
    var host = page.competitorKey(text || "");
    if (!/^[^\s.\/?#:@]+(\.[^\s.\/?#:@]+)+$/.test(host)) return "";
    if (/^[0-9]+$/.test(host.split(".").pop())) return "";  // an IP address
    return host;
  }
  window.linkgapTypedDomain = typedDomain;  // exposed for the page's tests

  function costWords() {
    var pricing = page.pricing();
    var cost = pricing && typeof pricing.competitors_cost === "number"
      ? pricing.competitors_cost : 1;
    return cost === 0 ? "free" : page.plural(cost, "credit", "credits");
  }

  function reset() {
    state.seq += 1;
    state.shown = null;
    $("suggest-status").textContent = "";
    page.showError($("suggest-error"), null);
    page.clearChildren($("suggest-list"));
    page.show($("suggest-list"), false);
  }

  /** After typing stops: offer the button when the text looks like a domain and a key is set. */
  function onDomainInput() {
    clearTimeout(state.timer);
    state.timer = setTimeout(refresh, DEBOUNCE_MS);
  }

  function refresh() {
    var domain = typedDomain($("domain").value);
    var box = $("suggest");
    if (!domain || !page.getKey()) {
      reset();
      page.show(box, false);
      return;
    }
    if (state.shown === domain) return;
    reset();
    var button = $("suggest-competitors");
    button.disabled = false;
    page.show(button, true);
    var cached = state.cache[domain];
    button.textContent = cached ? "Show suggested competitors again (free)"
      : "Suggest competitors (" + costWords() + ")";
    button.title = "Domains that share the most referring domains with " + page.uni(domain) +
      (cached ? "." : "; a domain that is not in the index costs nothing.");
    page.show(box, true);
  }

  function onSuggest() {
    var domain = typedDomain($("domain").value);
    if (!domain) return;
    if (state.cache[domain]) { render(domain, state.cache[domain], false); return; }
    var seq = ++state.seq;
    var button = $("suggest-competitors");
    button.disabled = true;
    $("suggest-status").textContent = "Looking for domains that share referring domains with " +
      page.uni(domain) + "…";
    page.showError($("suggest-error"), null);
    page.api("/v1/domains/" + encodeURIComponent(domain) + "/competitors",
      { query: { limit: LIMIT }, context: { what: "competitors", cost: 1 } })
      .then(function (res) {
        if (seq !== state.seq) return;
        state.cache[domain] = res.body;
        render(domain, res.body, true);
        page.loadAccount().catch(function () { /* the credits line is a courtesy */ });
      }, function (err) {
        if (seq !== state.seq) return;
        button.disabled = false;
        $("suggest-status").textContent = "";
        page.showError($("suggest-error"), { message: errorWords(err, domain) });
      });
  }

  function errorWords(err, domain) {
    if (err.code === "out_links_missing") {
      return "This server's backlink index was built without the out-links that suggestions " +
        "need (linkgap index build --no-out-links), so it cannot suggest competitors. You can " +
        "still type them in. No credit was charged.";
    }
    if (err.status === 422) {
      return "“" + $("domain").value.trim() + "” is not a domain that can be looked up: " +
        page.uni(err.serverMessage || domain) + ". No credit was charged.";
    }
    return err.message;
  }

  function render(domain, body, charged) {
    var meta = body.meta || {};
    var rows = body.data || [];
    var name = page.uni(meta.domain || domain);
    var list = $("suggest-list");
    page.clearChildren(list);
    state.shown = domain;
    page.show($("suggest-competitors"), false);
    var paid = charged && meta.credits_charged
      ? " (" + page.plural(meta.credits_charged, "credit", "credits") + " charged)" : "";
    if (meta.found === false) {
      $("suggest-status").textContent = name + " is not in the backlink index, so there is " +
        "nothing to suggest. No credit was charged.";
      return;
    }
    if (!rows.length) {
      $("suggest-status").textContent = "No other domain shares a referring domain with " +
        name + paid + ".";
      return;
    }
    var capped = meta.capped ? " Based on the strongest " +
      page.fmt(meta.referring_domains_used) + " of its " + page.fmt(meta.referring_domains) +
      " referring domains." : "";
    $("suggest-status").textContent = "Domains sharing the most referring domains with " +
      name + paid + ". Click one to add it to the competitors." + capped;
    rows.forEach(function (row) {
      var button = page.h("button", { type: "button", "data-domain": row.domain }, [
        page.uni(row.domain) + " ",
        page.h("span", { className: "shared",
          text: "— " + page.plural(row.shared_referring_domains, "shared referring domain",
            "shared referring domains") + ", DR " + row.domain_rating })
      ]);
      button.addEventListener("click", function () { addCompetitor(row.domain, button); });
      if (alreadyListed(row.domain)) markAdded(button);
      list.appendChild(page.h("li", {}, [button]));
    });
    page.show(list, true);
  }

  function alreadyListed(domain) {
    var key = page.competitorKey(domain);
    return page.parseCompetitors($("competitors").value).some(function (c) {
      return page.competitorKey(c) === key;
    });
  }

  function markAdded(button) {
    button.disabled = true;
    button.setAttribute("aria-pressed", "true");
    button.title = "Already in the competitors";
  }

  /** Add a suggestion to the competitors box (one per line), as if it had been typed. */
  function addCompetitor(domain, button) {
    var box = $("competitors");
    if (!alreadyListed(domain)) {
      var text = box.value.replace(/\s+$/, "");
      box.value = (text ? text + "\n" : "") + page.uni(domain);
      box.dispatchEvent(new Event("input", { bubbles: true }));  // updates the run's cost
    }
    markAdded(button);
  }

  function init() {
    $("domain").addEventListener("input", onDomainInput);
    $("suggest-competitors").addEventListener("click", onSuggest);
    // The key (and the prices) may arrive after the domain was typed; a forgotten key hides it.
    document.addEventListener("linkgap:account", refresh);
    $("forget-key").addEventListener("click", function () { state.cache = {}; refresh(); });
    $("competitors").addEventListener("input", function () {
      Array.prototype.forEach.call($("suggest-list").querySelectorAll("button"), function (b) {
        if (alreadyListed(b.getAttribute("data-domain"))) markAdded(b);
        else { b.disabled = false; b.removeAttribute("aria-pressed"); b.removeAttribute("title"); }
      });
    });
    refresh();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
