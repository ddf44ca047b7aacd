// linkgap API reference: renders /openapi.json into plain HTML, offline.
"use strict";

(function () {
  const METHODS = ["get", "post", "put", "patch", "delete"];

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  // Descriptions are Markdown-ish: show `code` spans as code, the rest as text.
  function prose(text) {
    const span = el("span");
    String(text || "").replace(/``/g, "`").split("`").forEach((part, i) => {
      span.append(i % 2 ? el("code", {}, part) : part);
    });
    return span;
  }

  function resolve(doc, schema) {
    let s = schema || {};
    const seen = new Set();
    while (s.$ref && !seen.has(s.$ref)) {
      seen.add(s.$ref);
      s = s.$ref.replace(/^#\//, "").split("/").reduce((o, k) => (o ? o[k] : undefined), doc) || {};
    }
    return s;
  }

  function typeText(doc, schema) {
    const s = resolve(doc, schema);
    if (s.anyOf || s.oneOf) return (s.anyOf || s.oneOf).map((x) => typeText(doc, x)).join(" | ");
    let text = s.type === "array" ? `array of ${typeText(doc, s.items)}` : s.type || "object";
    if (s.enum) text += ` (${s.enum.join(", ")})`;
    const bounds = [];
    if (s.minimum !== undefined) bounds.push(`≥ ${s.minimum}`);
    if (s.maximum !== undefined) bounds.push(`≤ ${s.maximum}`);
    if (s.minLength !== undefined) bounds.push(`length ≥ ${s.minLength}`);
    if (s.maxLength !== undefined) bounds.push(`length ≤ ${s.maxLength}`);
    if (s.minItems !== undefined) bounds.push(`${s.minItems}+ items`);
    if (s.maxItems !== undefined) bounds.push(`at most ${s.maxItems} items`);
    if (bounds.length) text += `, ${bounds.join(", ")}`;
    return text;
  }

  function paramsTable(doc, params) {
    const table = el("table", {},
      el("thead", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "in"),
        el("th", {}, "type"), el("th", {}, "default"), el("th", {}, "meaning"))));
    const body = el("tbody");
    for (const raw of params) {
      const p = resolve(doc, raw);
      const schema = resolve(doc, p.schema);
      body.append(el("tr", {},
        el("td", {}, el("code", {}, p.name), p.required ? " (required)" : ""),
        el("td", {}, p.in), el("td", {}, typeText(doc, schema)),
        el("td", {}, schema.default === undefined ? "" : JSON.stringify(schema.default)),
        el("td", { class: "desc" }, prose(p.description || schema.description))));
    }
    table.append(body);
    return table;
  }

  function bodySection(doc, requestBody) {
    const rb = resolve(doc, requestBody);
    const media = rb.content && (rb.content["application/json"] || Object.values(rb.content)[0]);
    if (!media) return null;
    const schema = resolve(doc, media.schema);
    const rows = el("tbody");
    const required = new Set(schema.required || []);
    for (const [name, prop] of Object.entries(schema.properties || {})) {
      const p = resolve(doc, prop);
      rows.append(el("tr", {}, el("td", {}, el("code", {}, name), required.has(name) ? " (required)" : ""),
        el("td", {}, typeText(doc, p)),
        el("td", {}, p.default === undefined ? "" : JSON.stringify(p.default)),
        el("td", { class: "desc" }, prose(p.description))));
    }
    return el("div", {}, el("h3", {}, "JSON body"),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "field"), el("th", {}, "type"),
        el("th", {}, "default"), el("th", {}, "meaning"))), rows));
  }

  function responsesList(doc, responses) {
    const list = el("ul");
    for (const [status, raw] of Object.entries(responses || {})) {
      const r = resolve(doc, raw);
      const types = Object.keys(r.content || {}).join(", ");
      list.append(el("li", {}, el("strong", {}, status), " — ", prose(r.description),
        types ? el("span", { class: "muted" }, ` (${types})`) : null));
    }
    return list;
  }

  function render(doc) {
    document.getElementById("intro").append(el("p", { class: "desc" }, prose((doc.info || {}).description)));
    const toc = document.getElementById("toc");
    const ops = document.getElementById("operations");
    ops.textContent = "";
    let n = 0;
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        n += 1;
        const id = `op-${n}`;
        toc.append(el("li", {}, el("a", { href: `#${id}` }, `${method.toUpperCase()} ${path}`)));
        const section = el("section", { class: "op", id, "aria-labelledby": `${id}-h` },
          el("h2", { id: `${id}-h` }, el("span", { class: "method" }, method.toUpperCase()),
            el("code", {}, path)),
          op.summary ? el("p", {}, el("strong", {}, op.summary)) : null,
          op.description ? el("p", { class: "desc" }, prose(op.description)) : null);
        const params = [...(item.parameters || []), ...(op.parameters || [])];
        if (params.length) section.append(el("h3", {}, "Parameters"), paramsTable(doc, params));
        if (op.requestBody) section.append(bodySection(doc, op.requestBody));
        section.append(el("h3", {}, "Responses"), responsesList(doc, op.responses));
        ops.append(section);
      }
    }
  }

  fetch("/openapi.json")
    .then((r) => {
      if (!r.ok) throw new Error(`the server answered ${r.status}`);
      return r.json();
    })
    .then(render)
    .catch((err) => {
      document.getElementById("operations").textContent =
        `The API document could not be loaded (${err.message}). It is at /openapi.json.`;
    });
})();
