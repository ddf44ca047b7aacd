/* linkgap web page: a thin client of the linkgap JSON API (/v1).
 *
 * Plain JavaScript, no build step and no third-party code. The API key lives in
 * sessionStorage only and travels in the Authorization header; every request goes
 * to this page's own origin. Charts are inline SVG drawn from the summary endpoint.
 */
(function () {
  "use strict";

  var KEY_STORAGE = "linkgap.apiKey";
  var RUNS_PER_PAGE = 10;
  var POLL_FIRST_MS = 400;
  var POLL_MAX_MS = 5000;
  var WEBHOOK_POLL_MAX_MS = 30000;  // retries are 30 s to an hour apart: no need to hurry

  function $(id) { return document.getElementById(id); }
  var numberFormat = new Intl.NumberFormat();
  function fmt(n) { return n === null || n === undefined ? "—" : numberFormat.format(n); }

  /* ---------------------------------------------------------------- punycode */
  // RFC 3492 decoding, enough to show xn-- labels in their Unicode form.
  var Punycode = (function () {
    var BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700, INITIAL_BIAS = 72, INITIAL_N = 128;

    function adapt(delta, numPoints, firstTime) {
      var k = 0;
      delta = firstTime ? Math.floor(delta / DAMP) : delta >> 1;
      delta += Math.floor(delta / numPoints);
      while (delta > ((BASE - TMIN) * TMAX) >> 1) {
        delta = Math.floor(delta / (BASE - TMIN));
        k += BASE;
      }
      return k + Math.floor(((BASE - TMIN + 1) * delta) / (delta + SKEW));
    }

    function digitOf(code) {
      if (code >= 48 && code <= 57) return code - 22;   // 0-9 -> 26-35
      if (code >= 65 && code <= 90) return code - 65;   // A-Z -> 0-25
      if (code >= 97 && code <= 122) return code - 97;  // a-z -> 0-25
      return BASE;
    }

    /** Decode one punycode string (without the xn-- prefix); throws on bad input. */
    function decode(input) {
      var output = [];
      var basic = input.lastIndexOf("-");
      if (basic < 0) basic = 0;
      for (var j = 0; j < basic; j++) {
        if (input.charCodeAt(j) >= 0x80) throw new RangeError("not basic");
        output.push(input.charCodeAt(j));
      }
      var n = INITIAL_N, bias = INITIAL_BIAS, i = 0;
      for (var idx = basic > 0 ? basic + 1 : 0; idx < input.length;) {
        var oldi = i, w = 1;
        for (var k = BASE; ; k += BASE) {
          if (idx >= input.length) throw new RangeError("truncated");
          var digit = digitOf(input.charCodeAt(idx++));
          if (digit >= BASE) throw new RangeError("bad digit");
          i += digit * w;
          var t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
          if (digit < t) break;
          w *= BASE - t;
          if (i > 0x7fffffff || w > 0x7fffffff) throw new RangeError("overflow");
        }
        var len = output.length + 1;
        bias = adapt(i - oldi, len, oldi === 0);
        n += Math.floor(i / len);
        i %= len;
        if (n > 0x10ffff) throw new RangeError("overflow");
        output.splice(i++, 0, n);
      }
      return String.fromCodePoint.apply(null, output);
    }

    /** The Unicode form of a canonical domain; labels that do not decode stay as they are. */
    function toUnicode(domain) {
      if (typeof domain !== "string" || domain.indexOf("xn--") < 0) return domain;
      return domain.split(".").map(function (label) {
        if (label.slice(0, 4).toLowerCase() !== "xn--") return label;
        try {
          var decoded = decode(label.slice(4));
          // Show only what a real IDN label can hold (letters, marks, digits, hyphens);
          // anything else stays in its xn-- form, as linkgap's own display does.
          return /^[\p{L}\p{M}\p{N}-]+$/u.test(decoded) ? decoded : label;
        } catch (e) { return label; }
      }).join(".");
    }

    return { decode: decode, toUnicode: toUnicode };
  })();
  window.linkgapPunycode = Punycode;  // exposed for the page's tests
  var uni = Punycode.toUnicode;

  /* ------------------------------------------------------------------ errors */
  var FIELDS = {
    domain: ["Your domain", "domain"],
    competitors: ["Competitors", "competitors"],
    mode: ["Mode", "mode"],
    min_overlap: ["Minimum overlap", "min-overlap"],
    limit: ["Limit", "limit"],
    "filters.min_authority": ["Minimum domain rating (before the limit)", "run-min-authority"],
    "filters.max_spam": ["Maximum spam score (before the limit)", "run-max-spam"],
    "filters.dofollow": ["Dofollow (before the limit)", "run-dofollow"],
    exclude: ["Exclude domains", "exclude"],
    callback_url: ["Notify URL (webhook)", "callback-url"],
    min_authority: ["Minimum domain rating", "f-min-authority"],
    max_spam: ["Maximum spam score", "f-max-spam"],
    dofollow: ["Dofollow", "f-dofollow"],
    competitor: ["Competitor", "f-competitor"],
    q: ["Search", "f-q"],
    sort: ["Sort by", "f-sort"],
    order: ["Order", "f-order"],
    per_page: ["Per page", "f-per-page"],
    page: ["Page", null]
  };

  // The API's parameter and field names, as the page calls them: a person reads the
  // page's words, never `min_overlap`.
  var WORDS = {
    min_overlap: "“Minimum overlap”", min_authority: "“Minimum domain rating”",
    max_spam: "“Maximum spam score”", per_page: "“Per page”", domain_rating: "domain rating",
    callback_url: "“Notify URL”", spam_score: "spam score", referring_domains: "referring domains",
    competitor_overlap: "overlap", competitor_count: "number of competitors"
  };
  var WORD_RE = new RegExp("\\b(" + Object.keys(WORDS).join("|") + ")\\b", "g");

  function inWords(text) {
    return String(text || "").replace(WORD_RE, function (name) { return WORDS[name]; });
  }
  window.linkgapInWords = inWords;  // exposed for the page's tests

  /** A server message as the end of a sentence: in the page's words, with a full stop. */
  function clause(text) {
    text = inWords(text).trim();
    if (!text) return "";
    return /[.!?]$/.test(text) ? text : text + ".";
  }

  /** A server message as a sentence of its own; a leading domain name keeps its case. */
  function sentence(text) {
    text = clause(text);
    var first = text.split(/\s/)[0];
    if (/^[a-z]/.test(first) && !/[.:_\d]/.test(first.replace(/[.,;:]$/, ""))) {
      text = text.charAt(0).toUpperCase() + text.slice(1);
    }
    return text;
  }

  function plural(n, one, many) { return fmt(n) + " " + (n === 1 ? one : many); }

  /** An API failure explained in words; `status` 0 means the server could not be reached. */
  function ApiError(status, body, headers, context) {
    var err = (body && body.error) || {};
    this.status = status;
    this.code = err.code || null;
    this.param = err.param || null;
    this.details = err.details || {};
    this.serverMessage = err.message || "";
    this.retryAfter = headers ? parseInt(headers.get("Retry-After") || "", 10) : NaN;
    this.message = describe(this, context || {});
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.name = "ApiError";

  function describe(e, context) {
    var server = sentence(e.serverMessage);
    switch (e.status) {
      case 0:
        return "Could not reach the linkgap server. Check your connection and that the server " +
          "is still running, then try again.";
      case 400:
        return "The server could not read the request. " + server;
      case 401:
        return "This API key was not recognised: it may be mistyped, incomplete or revoked. " +
          "Paste the whole key again, or ask your linkgap operator for a new one.";
      case 402:
        return describeCredits(e, context);
      case 404:
        return context.what === "run"
          ? "This run was not found. It may have been started with another account's key."
          : "The server has no such page (404). " + server;
      case 409:
        if (e.code === "run_not_completed") {
          return "This run has not finished yet" +
            (e.details.status ? " (it is " + e.details.status + ")" : "") +
            ", so its prospects cannot be shown yet.";
        }
        if (e.code === "idempotency_conflict") {
          return "This request clashes with an earlier one that used the same request key " +
            "but different values. Reload the page and try again.";
        }
        return "The request conflicts with the current state of the server. " + server;
      case 413:
        return "The request is too large for the server (over 64 KiB). Use fewer or shorter names.";
      case 415:
        return "The server did not accept the request's format. " + server;
      case 422:
        return describeInvalid(e, context);
      case 429:
        var wait = isFinite(e.retryAfter) && e.retryAfter > 0 ? e.retryAfter : null;
        return "Too many requests with this key in a short time. Please wait " +
          (wait ? plural(wait, "second", "seconds") : "a minute") + " and try again.";
      case 503:
        return "The server has no backlink index yet, so nothing can be looked up. Ask your " +
          "linkgap operator to build one (linkgap index build), then try again.";
      default:
        return "The server had a problem (error " + e.status + "). Please try again in a moment." +
          (server ? " It said: " + server : "");
    }
  }

  function describeCredits(e, context) {
    var d = e.details || {};
    var cost = firstNumber(d, ["required", "cost", "credits_required", "needed", "price"]);
    if (cost === null && typeof context.cost === "number") cost = context.cost;
    var available = firstNumber(d, ["available", "balance", "credits_available"]);
    var parts = ["Not enough credits."];
    if (cost !== null) {
      parts.push((context.what === "run-create" ? "This run costs " : "This costs ") +
        plural(cost, "credit", "credits") +
        (available !== null ? " and your account has " + fmt(available) + " available." : "."));
    } else if (e.serverMessage) {
      parts.push(sentence(e.serverMessage));
    }
    parts.push("A top-up is needed: ask your linkgap operator to add credits to your account" +
      (context.what === "run-create" ? ", or choose a smaller limit or fewer competitors." : "."));
    return parts.join(" ");
  }

  function describeInvalid(e, context) {
    if (e.code === "competitors_not_indexed" && Array.isArray(e.details.missing)) {
      var missing = e.details.missing.map(uni);
      return (missing.length === 1 ? "The competitor " + missing[0] + " is"
        : "The competitors " + missing.join(", ") + " are") +
        " not in the backlink index, so no prospect can be found. Check the spelling" +
        (missing.length === 1 ? "" : "s") + ". The run was not started and no credits were " +
        "charged.";
    }
    var param = e.param || "";
    var m = /^([a-z_]+)\[(\d+)\]$/.exec(param);
    var base = m ? m[1] : param;
    var field = FIELDS[base];
    var label = field ? field[0] : param;
    var where = "";
    if (m && context.sent && Array.isArray(context.sent[base])) {
      var item = context.sent[base][parseInt(m[2], 10)];
      if (item !== undefined) where = " (“" + item + "”)";
    }
    var msg = clause(e.serverMessage) || "this value is not valid.";
    var allowed = e.details && Array.isArray(e.details.allowed)
      ? " Valid choices: " + e.details.allowed.map(uni).join(", ") + "." : "";
    if (!label) return "Please check the values you entered. " + msg + allowed;
    return "Please check “" + label + "”" + where + ": " + msg + allowed;
  }

  function firstNumber(obj, keys) {
    for (var i = 0; i < keys.length; i++) {
      if (typeof obj[keys[i]] === "number") return obj[keys[i]];
    }
    return null;
  }

  /* --------------------------------------------------------------------- api */
  function getKey() {
    try { return sessionStorage.getItem(KEY_STORAGE) || ""; } catch (e) { return ""; }
  }

  function buildQuery(params) {
    var parts = [];
    Object.keys(params || {}).forEach(function (k) {
      var v = params[k];
      if (v === undefined || v === null || v === "") return;
      parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(String(v)));
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  /** Call the API; resolves to {body, response} or rejects with an ApiError. */
  function api(path, opts) {
    opts = opts || {};
    var headers = { "Accept": opts.accept || "application/json" };
    var key = getKey();
    if (key) headers["Authorization"] = "Bearer " + key;
    var init = { method: opts.method || "GET", headers: headers, cache: "no-store",
                 credentials: "omit" };
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
    var context = opts.context || {};
    return fetch(path + buildQuery(opts.query), init).then(function (response) {
      if (opts.raw && response.ok) return { body: null, response: response };
      return response.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        if (!response.ok) throw new ApiError(response.status, body, response.headers, context);
        return { body: body, response: response };
      });
    }, function () {
      throw new ApiError(0, null, null, context);
    });
  }

  function randomId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }

  /* ------------------------------------------------------------------- state */
  var state = {
    run: null,          // the open run (API object)
    pollTimer: null,
    webhookTimer: null, // refreshes the webhook line of an ended run while delivery is pending
    pollDelay: POLL_FIRST_MS,
    page: 1,
    totalPages: 0,
    prospectsSeq: 0,
    summarySeq: 0,
    runsPage: 1,
    pendingCreate: null, // {body, key}: reuse the Idempotency-Key when a failed start is retried
    pricing: null,      // GET /v1/account's pricing: the run cost shown before starting
    available: null     // credits available to the key's account
  };

  function show(el, on) { el.hidden = !on; }

  function showError(el, err) {
    if (!err) { el.textContent = ""; show(el, false); return; }
    el.textContent = err.message || String(err);
    show(el, true);
  }

  function clearChildren(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") el.textContent = attrs[k];
      else if (k === "className") el.className = attrs[k];
      else el.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return el;
  }

  function when(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    return isNaN(d.getTime()) ? iso : d.toLocaleString();
  }

  /* --------------------------------------------------------------------- key */
  function setKeyUi() {
    var has = !!getKey();
    show($("forget-key"), has);
    $("runs-empty").textContent = has ? "No runs yet." : "Enter your API key to see your runs.";
  }

  function loadAccount() {
    return api("/v1/account").then(function (res) {
      var c = (res.body && res.body.data && res.body.data.credits) || {};
      var el = $("credits");
      el.textContent = "";
      el.appendChild(h("span", { className: "credits-number", text: fmt(c.available) }));
      el.appendChild(document.createTextNode(" credits available"));
      var title = [];
      if (c.monthly_quota) {
        title.push(fmt(c.monthly_used) + " of " + fmt(c.monthly_quota) + " monthly credits used");
      }
      if (c.topup_balance) title.push(fmt(c.topup_balance) + " top-up credits");
      if (c.resets_at) title.push("the monthly quota resets " + when(c.resets_at));
      el.title = title.join("; ");
      show(el, true);
      state.pricing = res.body.data.pricing || null;
      state.available = typeof c.available === "number" ? c.available : null;
      if (state.pricing) $("limit").max = String(state.pricing.max_run_limit);
      updateCost();
      announce("account", null);
      return res.body.data;
    });
  }

  function onKeySubmit(ev) {
    ev.preventDefault();
    var value = $("api-key").value.trim();
    var status = $("key-status");
    status.className = "status-line";
    if (!value) {
      status.textContent = "Paste your API key first.";
      status.className = "status-line bad";
      return;
    }
    sessionStorage.setItem(KEY_STORAGE, value);
    setKeyUi();
    status.textContent = "Checking the key…";
    loadAccount().then(function (account) {
      status.textContent = "Key accepted" +
        (account && account.name ? " for the account “" + account.name + "”." : ".");
      status.className = "status-line good";
      loadRuns(true);
      openFromHash();
    }, function (err) {
      if (err.status === 401) {
        sessionStorage.removeItem(KEY_STORAGE);
        setKeyUi();
      }
      status.textContent = err.message;
      status.className = "status-line bad";
    });
  }

  function forgetKey() {
    sessionStorage.removeItem(KEY_STORAGE);
    $("api-key").value = "";
    stopPolling();
    stopWebhookPolling();
    state.run = null;
    show($("credits"), false);
    state.pricing = null;
    state.available = null;
    updateCost();
    clearChildren($("runs-list"));
    show($("more-runs"), false);
    show($("run-panel"), false);
    show($("prospects-panel"), false);
    show($("welcome"), true);
    announce("run", null);
    $("key-status").textContent = "The key has been forgotten by this tab.";
    $("key-status").className = "status-line";
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
    setKeyUi();
    $("api-key").focus();
  }

  function requireKey(errorEl) {
    if (getKey()) return true;
    showError(errorEl, { message: "Enter your API key first (at the top of this column)." });
    $("api-key").focus();
    return false;
  }

  /* --------------------------------------------------------------- run cost */
  /** What the server will count as one competitor: the same name without scheme, user,
   * port, path, "www." or trailing dot, in lower case. (The server also folds a
   * subdomain into its registrable domain; the page cannot know the suffix list, so a
   * list with sub.rival.com and rival.com may cost less than shown, never more.) */
  function competitorKey(text) {
    return text.trim().toLowerCase().replace(/^[a-z][a-z0-9+.-]*:\/\//, "")
      .replace(/^[^\/?#]*@/, "").split(/[\/?#]/)[0].replace(/:\d*$/, "")
      .replace(/\.$/, "").replace(/^www\./, "");
  }

  function distinctCompetitors(text) {
    var seen = {};
    parseCompetitors(text).forEach(function (c) { seen[competitorKey(c)] = true; });
    return Object.keys(seen).length;
  }

  /** The credits a run costs, as the API states: max(1, ceil(k × limit / D)). */
  function runCost(k, limit, divisor) {
    return Math.max(1, Math.ceil(k * limit / divisor));
  }
  window.linkgapRunCost = runCost;  // exposed for the page's tests

  /** Show, under the run form, what the run being filled in will cost. */
  function updateCost() {
    var el = $("run-cost");
    var pricing = state.pricing;
    var k = distinctCompetitors($("competitors").value);
    var limit = intField("limit");
    var limitValue = limit.value === null ? 100 : limit.value;
    if (!pricing || !getKey() || !k || limit.bad || limitValue < 10 ||
        limitValue > pricing.max_run_limit || k > pricing.max_competitors) {
      show(el, false);
      return;
    }
    var cost = runCost(k, limitValue, pricing.run_cost_divisor);
    el.textContent = "";
    el.appendChild(document.createTextNode("This run will cost "));
    el.appendChild(h("strong", { text: plural(cost, "credit", "credits") }));
    el.appendChild(document.createTextNode(
      ": " + plural(k, "competitor", "competitors") + " × limit " + fmt(limitValue) + " ÷ " +
      fmt(pricing.run_cost_divisor) + ", rounded up (at least 1)." +
      (state.available !== null ? " You have " + fmt(state.available) + " available." : "")));
    var short = state.available !== null && cost > state.available;
    if (short) {
      el.appendChild(document.createTextNode(" That is not enough: choose a smaller limit or " +
        "fewer competitors, or ask your linkgap operator for a top-up."));
    }
    el.className = short ? "cost short" : "cost";
    show(el, true);
  }

  /* ------------------------------------------------------------- run create */
  function parseCompetitors(text) {
    return text.split(/[\n,;]+/).map(function (s) { return s.trim(); })
      .filter(function (s) { return s.length > 0; });
  }

  function intField(id) {
    var el = $(id);
    if (el.validity && el.validity.badInput) return { bad: true };
    var v = el.value.trim();
    if (v === "") return { value: null };
    var n = Number(v);
    if (!Number.isInteger(n)) return { bad: true };
    return { value: n };
  }

  var RUN_FIELDS = ["domain", "competitors", "mode", "min_overlap", "limit",
    "filters.min_authority", "filters.max_spam", "filters.dofollow", "exclude", "callback_url"];

  /** Mark the field named by `param` invalid (and focus it), clearing the other fields of
   * the same form: the run form's fields, or the prospect filters. */
  function markInvalid(param, group) {
    Object.keys(FIELDS).forEach(function (k) {
      var id = FIELDS[k][1];
      var isRun = RUN_FIELDS.indexOf(k) >= 0;
      if (id && isRun === (group === "run")) $(id).removeAttribute("aria-invalid");
    });
    if (!param) return;
    var base = param.replace(/\[\d+\]$/, "");
    var field = FIELDS[base];
    if (field && field[1]) {
      var el = $(field[1]);
      el.setAttribute("aria-invalid", "true");
      var box = el.closest("details");  // the Notify URL sits in a disclosure: show it
      if (box) box.open = true;
      el.focus();
    }
  }

  function onRunSubmit(ev) {
    ev.preventDefault();
    var errEl = $("run-form-error");
    showError(errEl, null);
    markInvalid(null, "run");
    if (!requireKey(errEl)) return;
    var domain = $("domain").value.trim();
    var competitors = parseCompetitors($("competitors").value);
    var mode = $("mode").value;
    var limit = intField("limit");
    var overlap = intField("min-overlap");
    var minAuthority = intField("run-min-authority");
    var maxSpam = intField("run-max-spam");
    var dofollow = $("run-dofollow").value;
    var exclude = parseCompetitors($("exclude").value);
    var local = null;
    if (!domain) local = ["domain", "Enter your domain, for example mysite.com."];
    else if (!competitors.length) local = ["competitors", "Enter at least one competitor."];
    else if (limit.bad) local = ["limit", "Limit must be a whole number."];
    else if (mode === "union" && overlap.bad) {
      local = ["min_overlap", "Minimum overlap must be a whole number."];
    } else if (minAuthority.bad) {
      local = ["filters.min_authority", "Minimum domain rating must be a whole number."];
    } else if (maxSpam.bad) {
      local = ["filters.max_spam", "Maximum spam score must be a whole number."];
    }
    if (local && local[0].indexOf("filters.") === 0) $("run-narrow").open = true;
    if (local) {
      showError(errEl, { message: local[1] });
      markInvalid(local[0], "run");
      return;
    }
    var body = { domain: domain, competitors: competitors, mode: mode };
    if (limit.value !== null) body.limit = limit.value;
    if (mode === "union" && overlap.value !== null) body.min_overlap = overlap.value;
    var filters = {};
    if (minAuthority.value !== null) filters.min_authority = minAuthority.value;
    if (maxSpam.value !== null) filters.max_spam = maxSpam.value;
    if (dofollow) filters.dofollow = dofollow === "true";
    if (Object.keys(filters).length) body.filters = filters;
    if (exclude.length) body.exclude = exclude;
    // Only a filled-in URL is sent: the server checks it (scheme, public address) and a
    // refusal comes back as a 422 for `callback_url`, shown like any other field's.
    var callbackUrl = $("callback-url").value.trim();
    if (callbackUrl) body.callback_url = callbackUrl;

    // A retry of the very same request (after a network failure) reuses its
    // Idempotency-Key, so the server never charges twice for one intended run.
    var bodyText = JSON.stringify(body);
    if (!state.pendingCreate || state.pendingCreate.body !== bodyText) {
      state.pendingCreate = { body: bodyText, key: randomId() };
    }
    var button = $("start-run");
    button.disabled = true;
    button.textContent = "Starting…";
    api("/v1/backlinks/gap", {
      method: "POST", body: body, idempotencyKey: state.pendingCreate.key,
      context: { what: "run-create", sent: body }
    }).then(function (res) {
      state.pendingCreate = null;
      var run = res.body.data;
      var charged = res.body.meta ? res.body.meta.credits_charged : null;
      showRun(run, charged);
      loadAccount().catch(function () { /* the credits line is a courtesy */ });
      loadRuns(true);
    }, function (err) {
      if (err.status !== 0) state.pendingCreate = null;
      showError(errEl, err);
      if (err.status === 422) {
        // A filter or exclusion the server refused: show the fields it is in.
        if (/^(filters\.|exclude)/.test(err.param || "")) $("run-narrow").open = true;
        markInvalid(err.param, "run");
      }
    }).then(function () {
      button.disabled = false;
      button.textContent = "Find prospects";
    });
  }

  function onModeChange() {
    var intersect = $("mode").value === "intersect";
    $("min-overlap").disabled = intersect;
  }

  /* ------------------------------------------------------------ run display */
  var STATUS_WORDS = {
    queued: "Queued: waiting for a worker to pick the run up…",
    running: "Running: comparing the competitors’ backlinks with yours…",
    completed: "Completed.",
    failed: "Failed."
  };

  function setHash(id) {
    var want = "#run=" + encodeURIComponent(id);
    if (location.hash !== want) history.replaceState(null, "", want);
  }

  function showRun(run, chargedNow) {
    stopPolling();
    stopWebhookPolling();
    state.run = run;
    state.pollDelay = POLL_FIRST_MS;
    setHash(run.id);
    show($("welcome"), false);
    show($("run-panel"), true);
    resetFilters(run);
    renderRun(run, chargedNow);
    markCurrentRun();
    announce("run", run);
    if (run.status === "queued" || run.status === "running") {
      show($("prospects-panel"), false);
      schedulePoll();
    } else if (run.status === "completed") {
      show($("prospects-panel"), true);
      state.page = 1;
      loadProspects();
    } else {
      show($("prospects-panel"), false);
    }
    if (run.status !== "queued" && run.status !== "running") scheduleWebhookPoll(run);
  }

  /** The run-time filters and exclusions of a run, in words ("none" when it had none). */
  function narrowing(run) {
    var f = run.filters || {};
    var parts = [];
    if (f.min_authority !== null && f.min_authority !== undefined) {
      parts.push("domain rating at least " + f.min_authority);
    }
    if (f.max_spam !== null && f.max_spam !== undefined) {
      parts.push("spam score at most " + f.max_spam);
    }
    if (f.dofollow === true) parts.push("dofollow links only");
    if (f.dofollow === false) parts.push("nofollow links only");
    var ex = run.exclude || [];
    if (ex.length) parts.push("excluding " + ex.map(uni).join(", ") + " and the sites linking to " +
      (ex.length === 1 ? "it" : "them"));
    return parts.length ? parts.join("; ") : "no filters, nothing excluded";
  }

  function renderRun(run, chargedNow) {
    $("run-title").textContent = "Prospects for " + uni(run.domain);
    var badge = $("run-badge");
    badge.textContent = run.status;
    badge.className = "badge " + run.status;
    var status = STATUS_WORDS[run.status] || run.status;
    if (run.status === "completed") {
      status = "Completed: " + plural(run.prospect_count || 0, "prospect", "prospects") + " kept" +
        (run.total_found !== null && run.total_found !== undefined
          ? " of " + fmt(run.total_found) + " found." : ".");
    }
    if (typeof chargedNow === "number") {
      status = "Run started: " + plural(chargedNow, "credit", "credits") + " charged. " + status;
    }
    $("run-status").textContent = status;

    var facts = $("run-facts");
    clearChildren(facts);
    var mode = run.mode === "union"
      ? "union (at least " + (run.min_overlap || 1) + " of " + run.competitor_count + ")"
      : "intersect (all " + run.competitor_count + ")";
    var rows = [
      ["Your domain", uni(run.domain)],
      ["Competitors", (run.competitors || []).map(uni).join(", ")],
      ["Mode", mode],
      ["Limit", fmt(run.limit)],
      ["Before the limit", narrowing(run)],
      ["Credits charged", fmt(run.credits_charged)],
      ["Requested", when(run.created_at)]
    ];
    if (run.finished_at) rows.push(["Finished", when(run.finished_at)]);
    if (run.index_version) rows.push(["Index version", run.index_version]);
    rows.forEach(function (r) {
      facts.appendChild(h("div", {}, [h("dt", { text: r[0] }), h("dd", { text: r[1] })]));
    });

    renderWebhook(run.webhook);

    var warnings = $("run-warnings");
    clearChildren(warnings);
    (run.warnings || []).forEach(function (w) {
      warnings.appendChild(h("li", { text: warningWords(w, run) }));
    });

    var errEl = $("run-error");
    if (run.status === "failed") {
      var e = run.error || {};
      showError(errEl, { message: "The run could not be completed" +
        (e.message ? ": " + clause(e.message) : ".") +
        " Its credits were given back to your account." });
    } else {
      showError(errEl, null);
    }
  }

  // The server's warnings are written for people; these words stand in when one has none.
  function warningWords(w, run) {
    if (w.message) return sentence(w.message);
    if (w.code === "target_not_indexed") {
      return "Nothing in the index links to " + uni(run.domain) + ", so this list has not " +
        "been narrowed by your own backlinks: every domain linking to the competitors is listed.";
    }
    if (w.code === "competitor_not_indexed") {
      return "A competitor is not in the index: it adds no prospects but still counts as one " +
        "of the " + run.competitor_count + " competitors.";
    }
    return sentence(String(w.code || "").replace(/_/g, " "));
  }

  /* --------------------------------------------------------- webhook status */
  var WEBHOOK_WORDS = {
    pending: "pending",
    delivered: "delivered",
    failed: "failed (given up 24 hours after the first attempt)"
  };

  /** The delivery line of a run with a callback URL; hidden for a run without one. The
   * receiver's error is the server's text, set as text (never parsed as HTML). */
  function renderWebhook(hook) {
    var el = $("run-webhook");
    if (!hook) { el.textContent = ""; show(el, false); return; }
    var parts = ["Webhook: " + (WEBHOOK_WORDS[hook.status] || hook.status) + " after " +
      plural(hook.attempts || 0, "attempt", "attempts") + "."];
    if (hook.last_error) parts.push("Last error: " + clause(hook.last_error));
    if (hook.status === "pending" && hook.next_attempt_at) {
      parts.push("Next attempt: " + when(hook.next_attempt_at) + ".");
    }
    el.textContent = parts.join(" ");
    el.setAttribute("data-status", hook.status);
    show(el, true);
  }

  function stopWebhookPolling() {
    if (state.webhookTimer) clearTimeout(state.webhookTimer);
    state.webhookTimer = null;
  }

  /** After a run has ended its webhook may still be pending (the first attempt, or retries
   * up to an hour apart): keep its line current without reloading the prospects. */
  function scheduleWebhookPoll(run, delay) {
    stopWebhookPolling();
    if (!run.webhook || run.webhook.status !== "pending") return;
    var wait = delay || POLL_FIRST_MS;
    state.webhookTimer = setTimeout(function () {
      api("/v1/backlinks/gap/" + encodeURIComponent(run.id), { context: { what: "run" } })
        .then(function (res) {
          if (!state.run || state.run.id !== run.id) return;
          var fresh = res.body.data;
          state.run.webhook = fresh.webhook;
          renderWebhook(fresh.webhook);
          scheduleWebhookPoll(fresh, Math.min(Math.round(wait * 1.6), WEBHOOK_POLL_MAX_MS));
        }, function () {
          // A failed look is no news about the delivery: look again later.
          if (state.run && state.run.id === run.id) scheduleWebhookPoll(run, WEBHOOK_POLL_MAX_MS);
        });
    }, wait);
  }

  function stopPolling() {
    if (state.pollTimer) clearTimeout(state.pollTimer);
    state.pollTimer = null;
  }

  function schedulePoll(delay) {
    stopPolling();
    var wait = delay || state.pollDelay;
    state.pollDelay = Math.min(Math.round(state.pollDelay * 1.6), POLL_MAX_MS);
    state.pollTimer = setTimeout(poll, wait);
  }

  function poll() {
    var run = state.run;
    if (!run) return;
    api("/v1/backlinks/gap/" + encodeURIComponent(run.id), { context: { what: "run" } })
      .then(function (res) {
        if (!state.run || state.run.id !== run.id) return;
        var fresh = res.body.data;
        if (fresh.status === "queued" || fresh.status === "running") {
          state.run = fresh;
          renderRun(fresh);
          schedulePoll();
        } else {
          showRun(fresh);
          loadRuns(true);
          if (fresh.status === "failed") loadAccount().catch(function () {});
        }
      }, function (err) {
        if (!state.run || state.run.id !== run.id) return;
        if (err.status === 429 || err.status === 0 || err.status >= 500) {
          // Transient: say so and keep watching, slower.
          $("run-status").textContent = err.message + " Still watching the run…";
          var wait = err.status === 429 && isFinite(err.retryAfter) ? err.retryAfter * 1000 : null;
          schedulePoll(wait || state.pollDelay);
        } else {
          showError($("run-error"), err);
        }
      });
  }

  /* ---------------------------------------------------------------- filters */
  function resetFilters(run) {
    var sel = $("f-competitor");
    clearChildren(sel);
    sel.appendChild(h("option", { value: "", text: "any" }));
    (run.competitors || []).forEach(function (c) {
      sel.appendChild(h("option", { value: c, text: uni(c) }));
    });
    $("filters").reset();
    state.page = 1;
    markInvalid(null, "filters");
    showError($("prospects-error"), null);
  }

  function filterParams() {
    var params = {};
    [["min_authority", "f-min-authority"], ["max_spam", "f-max-spam"], ["dofollow", "f-dofollow"],
     ["competitor", "f-competitor"], ["q", "f-q"]].forEach(function (pair) {
      var v = $(pair[1]).value.trim();
      if (v !== "") params[pair[0]] = v;
    });
    return params;
  }

  function listParams() {
    var params = filterParams();
    params.sort = $("f-sort").value;
    params.order = $("f-order").value;
    params.per_page = $("f-per-page").value;
    params.page = state.page;
    return params;
  }

  function badFilter() {
    var checks = [["min_authority", "f-min-authority", FIELDS.min_authority[0]],
                  ["max_spam", "f-max-spam", FIELDS.max_spam[0]]];
    for (var i = 0; i < checks.length; i++) {
      var el = $(checks[i][1]);
      if (el.validity && el.validity.badInput) {
        return { param: checks[i][0],
                 message: "Please check “" + checks[i][2] + "”: enter a whole number from 0 to 100." };
      }
    }
    return null;
  }

  var debounceTimer = null;
  function onFilterChange(ev) {
    var typing = ev && ev.type === "input";
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(function () {
      state.page = 1;
      loadProspects();
      announce("filters", state.run);
    }, typing ? 350 : 0);
  }

  function onHeaderSort(key) {
    var sortEl = $("f-sort"), orderEl = $("f-order");
    if (sortEl.value === key) {
      orderEl.value = orderEl.value === "desc" ? "asc" : "desc";
    } else {
      sortEl.value = key;
      orderEl.value = "desc";
    }
    state.page = 1;
    loadProspects();
    announce("filters", state.run);
  }

  function renderSortHeaders() {
    var sort = $("f-sort").value, order = $("f-order").value;
    var ths = document.querySelectorAll("#prospects th[data-sort]");
    Array.prototype.forEach.call(ths, function (th) {
      var active = th.getAttribute("data-sort") === sort;
      if (active) th.setAttribute("aria-sort", order === "asc" ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
      var arrow = th.querySelector(".arrow");
      if (arrow) arrow.textContent = active ? (order === "asc" ? "▲" : "▼") : "";
    });
  }

  /* --------------------------------------------------------------- prospects */
  function loadProspects() {
    var run = state.run;
    if (!run || run.status !== "completed") return;
    var errEl = $("prospects-error");
    var bad = badFilter();
    renderSortHeaders();
    if (bad) {
      showError(errEl, bad);
      markInvalid(bad.param, "filters");
      return;
    }
    showError(errEl, null);
    markInvalid(null, "filters");
    var seq = ++state.prospectsSeq;
    var table = $("prospects");
    table.setAttribute("aria-busy", "true");
    var base = "/v1/backlinks/gap/" + encodeURIComponent(run.id);
    api(base + "/prospects", { query: listParams(), context: { what: "run" } })
      .then(function (res) {
        if (seq !== state.prospectsSeq) return;
        renderProspects(res.body.data || [], res.body.meta || {});
      }, function (err) {
        if (seq !== state.prospectsSeq) return;
        showError(errEl, err);
        if (err.status === 422) markInvalid(err.param, "filters");
      }).then(function () {
        if (seq === state.prospectsSeq) table.removeAttribute("aria-busy");
      });
    loadSummary(base);
  }

  /* -------------------------------------------------------- prospect links */
  var COLUMNS = 11;

  /** A date of the links as its UTC day, YYYY-MM-DD (days are what the index keeps). */
  function day(iso) {
    return iso ? String(iso).slice(0, 10) : "unknown";
  }

  /** A linking page: a link that opens in a new tab and passes on nothing, for http(s)
   * addresses only; anything else is shown as text. */
  function pageLink(url) {
    if (!/^https?:\/\//i.test(url)) return h("span", { className: "url", text: url });
    return h("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow",
                    className: "url", text: url });
  }

  function renderLinks(box, data) {
    clearChildren(box);
    box.appendChild(h("p", { className: "help", text: data.links_frozen
      ? "These links were saved with the run (index version " + data.links_index_version +
        "): they do not change when the index is rebuilt."
      : "This prospect is beyond the ones saved with the run: its links are read from the " +
        "current index (version " + data.links_index_version + ")." }));
    (data.links || []).forEach(function (entry) {
      var head = "To " + uni(entry.competitor) + ": " +
        plural(entry.links_total, "link", "links") + " (" + fmt(entry.dofollow_links) +
        " dofollow), first seen " + day(entry.first_seen) + ", last seen " +
        day(entry.last_seen) + ".";
      box.appendChild(h("h3", { className: "links-head", text: head }));
      if (!entry.samples.length) {
        box.appendChild(h("p", { className: "muted", text: "No sample link is kept for " +
          "these links (the index was built without them)." }));
        return;
      }
      var list = h("ul", { className: "links-list" });
      entry.samples.forEach(function (s) {
        // Anchors are text, never markup: textContent only.
        var anchor = s.anchor === null || s.anchor === undefined
          ? h("span", { className: "muted", text: "no anchor text" })
          : h("q", { className: "anchor", text: s.anchor });
        list.appendChild(h("li", {}, [
          pageLink(s.source_url), " → ", h("span", { className: "url", text: s.target_url }),
          h("br"), anchor, " · " + (s.dofollow ? "dofollow" : "nofollow") + " · seen " +
          day(s.first_seen) + (s.last_seen && s.last_seen !== s.first_seen
            ? " to " + day(s.last_seen) : "")
        ]));
      });
      box.appendChild(list);
    });
  }

  /** Open (or close) the links of the prospect in `row`, below it. */
  function toggleLinks(row, p, button) {
    var next = row.nextElementSibling;
    if (next && next.classList.contains("links-row")) {
      closeLinks(next, button);
      return;
    }
    var id = "links-" + p.domain.replace(/[^a-z0-9-]/gi, "_");
    var box = h("div", { id: id, className: "links", role: "region", tabindex: "-1",
                         "aria-label": "Links from " + uni(p.domain) });
    box.appendChild(h("p", { className: "muted", text: "Loading the links…" }));
    var detail = h("tr", { className: "links-row" }, [h("td", { colspan: String(COLUMNS) },
                                                         [box])]);
    row.parentNode.insertBefore(detail, row.nextSibling);
    button.setAttribute("aria-expanded", "true");
    button.setAttribute("aria-controls", id);
    button.textContent = "Hide links";
    box.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") { ev.preventDefault(); closeLinks(detail, button); }
    });
    var run = state.run;
    api("/v1/backlinks/gap/" + encodeURIComponent(run.id) + "/prospects/" +
        encodeURIComponent(p.domain), { context: { what: "run" } })
      .then(function (res) {
        renderLinks(box, res.body.data || {});
      }, function (err) {
        clearChildren(box);
        box.appendChild(h("p", { className: "error", role: "alert",
                                 text: "The links could not be loaded. " + err.message }));
      }).then(function () {
        if (detail.parentNode) box.focus();
      });
  }

  function closeLinks(detail, button) {
    detail.parentNode.removeChild(detail);
    button.setAttribute("aria-expanded", "false");
    button.removeAttribute("aria-controls");
    button.textContent = "Links";
    button.focus();
  }

  function renderProspects(rows, meta) {
    var tbody = $("prospects-body");
    clearChildren(tbody);
    rows.forEach(function (p) {
      var shown = uni(p.domain);
      var button = h("button", { type: "button", className: "links-toggle",
                                 "aria-expanded": "false",
                                 "aria-label": "Links from " + shown, text: "Links" });
      var domainCell = h("td", { className: "text domain" }, [shown]);
      if (shown !== p.domain) {
        domainCell.title = p.domain;
        domainCell.appendChild(h("span", { className: "canonical", text: p.domain }));
      }
      var tr = h("tr", { className: "prospect" }, [
        domainCell,
        h("td", { text: fmt(p.domain_rating) }),
        h("td", { text: fmt(p.backlinks) }),
        h("td", { text: fmt(p.referring_domains) }),
        h("td", { text: fmt(p.competitor_overlap) }),
        h("td", { className: "text competitors", text: (p.competitors || []).map(uni).join(", ") }),
        h("td", { className: "text", text: p.dofollow ? "yes" : "no" }),
        h("td", { text: fmt(p.spam_score) }),
        h("td", {}, [h("span", { className: "score", text: fmt(p.score) })]),
        h("td", { text: fmt(p.rank) }),
        h("td", { className: "text" }, [button])
      ]);
      button.addEventListener("click", function (ev) {
        ev.stopPropagation();
        toggleLinks(tr, p, button);
      });
      // A click anywhere on the row opens its links too (the button is the keyboard way).
      tr.addEventListener("click", function (ev) {
        if (ev.target.closest("a, button, input, select, textarea")) return;
        if (window.getSelection && String(window.getSelection())) return;  // selecting text
        toggleLinks(tr, p, button);
      });
      tbody.appendChild(tr);
    });
    var total = meta.total || 0;
    state.totalPages = meta.total_pages || 0;
    state.page = meta.page || state.page;
    show($("no-prospects"), rows.length === 0);
    $("no-prospects").textContent = total === 0
      ? (hasFilters() ? "No prospects match these filters." : "This run found no prospects.")
      : "This page is past the last one.";
    $("page-info").textContent = total === 0
      ? "No prospects"
      : "Page " + fmt(state.page) + " of " + fmt(state.totalPages) + " · " +
        plural(total, "prospect", "prospects");
    $("prev-page").disabled = state.page <= 1;
    $("next-page").disabled = state.page >= state.totalPages;
  }

  function hasFilters() { return Object.keys(filterParams()).length > 0; }

  function gotoPage(delta) {
    var next = state.page + delta;
    if (next < 1 || (state.totalPages && next > state.totalPages)) return;
    state.page = next;
    loadProspects();
  }

  /* ----------------------------------------------------------------- summary */
  function loadSummary(base) {
    var seq = ++state.summarySeq;
    api(base + "/summary", { query: filterParams(), context: { what: "run" } })
      .then(function (res) {
        if (seq !== state.summarySeq) return;
        renderCharts(normalizeSummary(res.body.data || {}, state.run));
      }, function (err) {
        if (seq !== state.summarySeq) return;
        var box = $("chart-dr");
        clearChildren(box);
        clearChildren($("chart-overlap"));
        $("dofollow-split").textContent = "";
        // A rejected filter is already explained above the table; say it once.
        if (err.status === 422) return;
        box.appendChild(h("p", { className: "error", text: "The charts are unavailable. " +
          err.message }));
      });
  }

  /** Chart bars from the summary: every DR band and every overlap 1..k, zeros included. */
  function normalizeSummary(data, run) {
    var bands = (data.domain_rating || []).map(function (b) {
      return { label: b.band || b.min + "-" + b.max, count: b.count || 0 };
    });
    var byOverlap = {};
    (data.competitor_overlap || []).forEach(function (o) { byOverlap[o.overlap] = o.count || 0; });
    var k = run ? run.competitor_count || (run.competitors || []).length : 0;
    var overlap = [];
    for (var o = 1; o <= k; o++) overlap.push({ label: String(o), count: byOverlap[o] || 0 });
    return { total: data.total || 0, bands: bands, overlap: overlap, dofollow: data.dofollow || {} };
  }

  var SVG_NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    var el = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text !== undefined) el.textContent = text;
    return el;
  }

  var chartCount = 0;
  /** A labelled bar chart as inline SVG: every bar carries its count and its label as text. */
  function barChart(box, title, axis, bars, unitWord) {
    clearChildren(box);
    var id = "chart" + (++chartCount);
    var width = 470, height = 156, top = 20, bottom = 38, left = 8, right = 8;
    var plotH = height - top - bottom;
    var max = Math.max.apply(null, bars.map(function (b) { return b.count; }).concat([1]));
    var slot = (width - left - right) / Math.max(bars.length, 1);
    var barW = Math.min(44, slot * 0.7);
    var total = bars.reduce(function (s, b) { return s + b.count; }, 0);
    var desc = bars.map(function (b) { return axis + " " + b.label + ": " + fmt(b.count); })
      .join("; ") + ".";
    var root = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img",
                            "aria-labelledby": id + "-t " + id + "-d", class: "bars" });
    root.appendChild(svg("title", { id: id + "-t" }, title));
    root.appendChild(svg("desc", { id: id + "-d" }, desc));
    root.appendChild(svg("line", { x1: left, x2: width - right, y1: top + plotH, y2: top + plotH,
                                   class: "axis" }));
    bars.forEach(function (b, i) {
      var x = left + slot * i + (slot - barW) / 2;
      var bh = b.count ? Math.max(2, Math.round((b.count / max) * plotH)) : 0;
      var g = svg("g", { class: "bar", "data-label": b.label, "data-count": String(b.count) });
      var rect = svg("rect", { x: x.toFixed(1), y: top + plotH - bh, width: barW.toFixed(1),
                               height: bh, rx: 3 });
      rect.appendChild(svg("title", {}, axis + " " + b.label + ": " +
        plural(b.count, unitWord, unitWord + "s")));
      g.appendChild(rect);
      g.appendChild(svg("text", { x: (x + barW / 2).toFixed(1), y: top + plotH - bh - 6,
                                  class: "count" }, fmt(b.count)));
      g.appendChild(svg("text", { x: (x + barW / 2).toFixed(1), y: top + plotH + 16,
                                  class: "label" }, b.label));
      root.appendChild(g);
    });
    root.appendChild(svg("text", { x: width / 2, y: height - 4, class: "axis-title" }, axis));
    box.appendChild(h("figcaption", { text: title + " (" + plural(total, unitWord, unitWord + "s") +
      ")" }));
    box.appendChild(root);
  }

  function renderCharts(summary) {
    barChart($("chart-dr"), "Prospects by domain rating", "Domain rating", summary.bands,
             "prospect");
    barChart($("chart-overlap"), "Prospects by overlap", "Overlap (competitors linked to)",
             summary.overlap, "prospect");
    var d = summary.dofollow;
    $("dofollow-split").textContent = summary.total
      ? plural(d.dofollow || 0, "prospect has", "prospects have") + " a dofollow link to a " +
        "competitor; " + plural(d.nofollow || 0, "has", "have") + " none."
      : "";
  }

  /* ---------------------------------------------------------------- CSV export */
  // withLinks: one row per sample link behind each prospect (include=links)
  function exportCsv(withLinks) {
    var run = state.run;
    if (!run) return;
    var errEl = $("prospects-error");
    var bad = badFilter();
    if (bad) { showError(errEl, bad); return; }
    var params = listParams();
    delete params.page;
    delete params.per_page;
    params.format = "csv";
    if (withLinks) params.include = "links";
    var button = $(withLinks ? "export-csv-links" : "export-csv");
    var label = button.textContent;
    button.disabled = true;
    button.textContent = "Exporting…";
    api("/v1/backlinks/gap/" + encodeURIComponent(run.id) + "/prospects",
        { query: params, accept: "text/csv", raw: true, context: { what: "run" } })
      .then(function (res) {
        var name = filenameFrom(res.response.headers.get("Content-Disposition")) ||
          "linkgap-" + run.domain + "-" + run.id + ".csv";
        return res.response.blob().then(function (blob) {
          var url = URL.createObjectURL(blob);
          var a = h("a", { href: url, download: name });
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
          showError(errEl, null);
        });
      }, function (err) { showError(errEl, err); })
      .then(function () {
        button.disabled = false;
        button.textContent = label;
      });
  }

  function filenameFrom(disposition) {
    if (!disposition) return null;
    var star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
    if (star) { try { return decodeURIComponent(star[1]); } catch (e) { /* fall through */ } }
    var plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
    return plain ? plain[1] : null;
  }

  /* -------------------------------------------------------------------- runs */
  function loadRuns(fresh) {
    if (!getKey()) return Promise.resolve();
    if (fresh) state.runsPage = 1;
    var errEl = $("runs-error");
    return api("/v1/backlinks/gap", { query: { page: state.runsPage, per_page: RUNS_PER_PAGE } })
      .then(function (res) {
        showError(errEl, null);
        var list = $("runs-list");
        if (fresh) clearChildren(list);
        (res.body.data || []).forEach(function (run) { list.appendChild(runItem(run)); });
        var meta = res.body.meta || {};
        show($("more-runs"), (meta.total_pages || 0) > state.runsPage);
        show($("runs-empty"), list.children.length === 0);
        markCurrentRun();
      }, function (err) { showError(errEl, err); });
  }

  function runItem(run) {
    var rivals = (run.competitors || []).map(uni).join(", ");
    var button = h("button", { type: "button", className: "run-open", "data-run": run.id }, [
      h("span", { className: "run-name", text: uni(run.domain) }),
      h("span", { className: "run-rivals", title: rivals, text: "vs " + rivals }),
      h("span", { className: "run-meta" }, [
        h("span", { className: "badge " + run.status, text: run.status }),
        " " + (run.status === "completed" && run.prospect_count !== null
          ? plural(run.prospect_count, "prospect", "prospects") + " · " : "") + when(run.created_at)
      ])
    ]);
    button.addEventListener("click", function () { openRun(run.id); });
    return h("li", {}, [button]);
  }

  function markCurrentRun() {
    var id = state.run ? state.run.id : null;
    Array.prototype.forEach.call(document.querySelectorAll(".run-open"), function (b) {
      if (b.getAttribute("data-run") === id) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    });
  }

  function openRun(id) {
    var errEl = $("runs-error");
    return api("/v1/backlinks/gap/" + encodeURIComponent(id), { context: { what: "run" } })
      .then(function (res) {
        showError(errEl, null);
        showRun(res.body.data);
        $("results").focus({ preventScroll: true });
      }, function (err) { showError(errEl, err); });
  }

  function openFromHash() {
    var m = /^#run=([A-Za-z0-9_\-]+)$/.exec(location.hash);
    if (m && getKey() && (!state.run || state.run.id !== m[1])) openRun(m[1]);
  }

  /* ------------------------------------------------------------ extensions */
  // The page's other scripts (compare.js, suggest.js) build on these helpers and
  // hear about the open run through "linkgap:run" and "linkgap:filters" events.
  function announce(what, run) {
    document.dispatchEvent(new CustomEvent("linkgap:" + what, { detail: { run: run } }));
  }
  window.linkgapPage = {
    api: api, h: h, fmt: fmt, uni: uni, plural: plural, when: when, show: show,
    showError: showError, clearChildren: clearChildren, getKey: getKey,
    filterParams: filterParams, fields: FIELDS,
    currentRun: function () { return state.run; },
    pricing: function () { return state.pricing; },
    loadAccount: loadAccount,
    competitorKey: competitorKey,
    parseCompetitors: parseCompetitors,
    sortParams: function () {
      return { sort: $("f-sort").value, order: $("f-order").value,
               per_page: $("f-per-page").value };
    }
  };

  /* -------------------------------------------------------------------- init */
  function init() {
    // Sortable headers become buttons, so they work from the keyboard.
    Array.prototype.forEach.call(document.querySelectorAll("#prospects th[data-sort]"),
      function (th) {
        var key = th.getAttribute("data-sort");
        var button = h("button", { type: "button", className: "sort" },
          [th.textContent, h("span", { className: "arrow", "aria-hidden": "true" })]);
        button.addEventListener("click", function () { onHeaderSort(key); });
        th.textContent = "";
        th.appendChild(button);
      });

    $("key-form").addEventListener("submit", onKeySubmit);
    $("forget-key").addEventListener("click", forgetKey);
    $("run-form").addEventListener("submit", onRunSubmit);
    $("mode").addEventListener("change", onModeChange);
    $("competitors").addEventListener("input", updateCost);
    $("limit").addEventListener("input", updateCost);
    $("refresh-runs").addEventListener("click", function () {
      loadRuns(true);
      if (getKey()) loadAccount().catch(function () {});
    });
    $("more-runs").addEventListener("click", function () { state.runsPage += 1; loadRuns(false); });
    var filters = $("filters");
    filters.addEventListener("submit", function (ev) { ev.preventDefault(); onFilterChange(); });
    filters.addEventListener("change", onFilterChange);
    filters.addEventListener("input", function (ev) {
      if (ev.target.tagName === "INPUT") onFilterChange(ev);
    });
    filters.addEventListener("reset", function () { setTimeout(onFilterChange, 0); });
    $("prev-page").addEventListener("click", function () { gotoPage(-1); });
    $("next-page").addEventListener("click", function () { gotoPage(1); });
    $("export-csv").addEventListener("click", function () { exportCsv(false); });
    $("export-csv-links").addEventListener("click", function () { exportCsv(true); });
    window.addEventListener("hashchange", openFromHash);
    onModeChange();

    var key = getKey();
    setKeyUi();
    if (key) {
      $("api-key").value = key;
      loadAccount().then(function () {
        loadRuns(true);
        openFromHash();
      }, function (err) {
        $("key-status").textContent = err.message;
        $("key-status").className = "status-line bad";
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
