// The knowledge base (issue 17) in the console: the suggestions panel above a ticket's reply box (insert a
// reply template with its placeholders filled, open or link an article, say whether it helped, search for
// other items) and the Knowledge page (list and filters, the editor, publish/archive with the version the
// author saw, history, the supervisors' "try a text" dry run, reporting's figures and gaps when reporting
// has them). The classifier owns every rule — who may edit what, which version is live, what is suggested.
//
// HTML: the only markup inserted as HTML is an article's ``body_html``, which the classifier rendered from
// Markdown without raw HTML and sanitised with an allow list; it is parsed inert (a <template>) and checked
// once more here. Every other text — titles, template bodies, what an author is typing — goes in as text.
import { api } from "../api.js";
import { t, label, options } from "../i18n.js";
import * as session from "../session.js";
import { h, mount, table, tag, when, toast, errorText, field, form, select, timeZone } from "../ui.js";
import {
  fillTemplate, templateValues, articleLine, appendText, placeholdersOf, formatDue, figuresById, rowsOf, rate, satisfaction,
  gapWords,
} from "../kb.js";

const enc = encodeURIComponent;
const EDITORS = ["supervisor", "admin"];

// ------------------------------------------------------------------------------ shared pieces
/** An article body from the server's sanitised ``body_html``: parsed inert, then links made to open in a new
 * tab, pictures from elsewhere turned into links (the console's CSP loads images from itself only), and
 * anything active dropped should it ever come through. */
export function articleBody(html) {
  const box = h("div", { class: "kb-body" });
  const inert = document.createElement("template");
  inert.innerHTML = typeof html === "string" ? html : "";
  const content = inert.content;
  content.querySelectorAll("script, style, iframe, object, embed, link, meta, form, input, button").forEach((el) => el.remove());
  for (const el of content.querySelectorAll("*")) {
    for (const attr of [...el.attributes]) if (/^on/i.test(attr.name) || attr.name === "style") el.removeAttribute(attr.name);
  }
  for (const img of content.querySelectorAll("img")) {
    const src = img.getAttribute("src") ?? "";
    const alt = `[${img.getAttribute("alt") || src}]`;
    img.replaceWith(/^https?:\/\//i.test(src) ? h("a", { href: src }, alt) : document.createTextNode(alt));
  }
  for (const a of content.querySelectorAll("a")) {
    if (!/^(https?:|mailto:)/i.test(a.getAttribute("href") ?? "")) a.removeAttribute("href");
    a.setAttribute("target", "_blank");
    a.setAttribute("rel", "noopener noreferrer nofollow");
  }
  box.append(content);
  return box;
}

function kindTag(kind) {
  return tag(label("kbkind", kind), `kb-${kind}`);
}

function statusTag(status) {
  return tag(label("kbstatus", status), `kb-st-${status}`);
}

function placeholderLine(names) {
  return t("kb.labelled", { what: t("kb.placeholders"), value: names.map((p) => `{{${p}}}`).join(" ") });
}

function scoreBadge(score) {
  if (typeof score !== "number") return null;
  return h("span", { class: "tag kb-score", title: t("kb.score") }, score.toFixed(score >= 10 ? 0 : 1));
}

function terms(list) {
  if (!list?.length) return null;
  return h("div", { class: "kb-terms muted small" }, t("kb.labelled", { what: t("kb.matched"), value: list.join("、") }));
}

// ------------------------------------------------------------------------------ the ticket's suggestions
/**
 * The "Suggestions" panel shown above the reply box. ``answer`` is the classifier's
 * ``tickets/{id}/suggestions`` (or ``failure`` the error it answered); ``reply`` is the reply textarea.
 */
export function suggestionPanel({ ticketId, ticket, customer, clock, answer, failure, reply }) {
  const ctx = { ticketId, ticket, customer, clock, reply };
  let body;
  if (failure) {
    body = h("p", { class: "muted small", id: "kb-suggest-status" },
      failure.code === "classification_not_found" || failure.status === 404 ? t("kb.suggest.unclassified") : errorText(failure));
  } else if (!answer?.suggestions?.length) {
    body = h("p", { class: "muted small", id: "kb-suggest-status" }, t("kb.suggest.none"));
  } else {
    body = h("ul", { class: "kb-list", id: "kb-suggestions" }, answer.suggestions.map((s) => suggestionItem(s, ctx, { votes: true })));
  }
  const results = h("ul", { class: "kb-list", id: "kb-find-results" });
  const query = h("input", { name: "q", type: "search", maxlength: 200, required: true, placeholder: t("kb.search_ph"),
    "aria-label": t("kb.search") });
  const go = h("button", { type: "submit", class: "ghost" }, t("kb.search_go"));
  const find = h("form", { id: "kb-find", class: "kb-find", role: "search" }, query, go);
  find.addEventListener("submit", async (event) => {
    event.preventDefault();
    go.disabled = true;
    try {
      const hits = await api("classifier", "knowledge/search", { query: { q: query.value.trim(), limit: 5 } });
      // the published text of each hit (the search answers ids and scores only)
      const full = await Promise.all(hits.map((hit) => api("classifier", `knowledge/${enc(hit.item_id)}`)
        .then((item) => item.published ? { ...hit, ...item.published, version: item.published.version } : null).catch(() => null)));
      const items = full.filter(Boolean);
      mount(results, items.length ? items.map((s) => suggestionItem({ ...s, used: false, verdict: null }, ctx, { votes: false }))
        : h("li", { class: "muted small" }, t("kb.search_none")));
    } catch (err) {
      mount(results, h("li", { class: "notice bad" }, errorText(err)));
    } finally {
      go.disabled = false;
    }
  });
  return h("section", { class: "kb-panel", id: "kb-suggest", "aria-label": t("kb.suggest.title") },
    h("div", { class: "kb-head" }, h("h3", {}, t("kb.suggest.title")), h("span", { class: "muted small" }, t("kb.suggest.hint"))),
    body,
    h("div", { class: "kb-search" }, find, results));
}

/** The reply box grown to show what was put in (CSSOM: the page's CSP allows no inline style attribute). */
function putInReply(reply, text) {
  reply.value = appendText(reply.value, text);
  reply.style.height = "auto";
  reply.style.height = `${Math.min(reply.scrollHeight + 4, 420)}px`;
  reply.focus();
}

async function feedback(ctx, item, action) {
  return api("classifier", `tickets/${enc(ctx.ticketId)}/suggestions/feedback`, { method: "POST", body: { item_id: item.item_id, action } });
}

async function markUsed(ctx, item, usedTag) {
  try {
    await feedback(ctx, item, "used");
    item.used = true;
    usedTag.hidden = false;
  } catch (err) {
    if (err.code !== "classification_not_found") toast(errorText(err), "bad");
  }
}

function suggestionItem(item, ctx, { votes }) {
  const usedTag = tag(t("kb.used"), "kb-used");
  usedTag.hidden = !item.used;
  const actions = [];
  if (item.kind === "template") {
    actions.push(h("button", { type: "button", class: "kb-insert", onclick: async (event) => {
      const values = templateValues({ ticket: ctx.ticket, customer: ctx.customer, clock: ctx.clock,
        staffName: session.claims()?.name, lang: item.lang, timeZone: timeZone() });
      const text = fillTemplate(item.body, values);
      putInReply(ctx.reply, text);
      const left = placeholdersOf(text);
      toast(left.length ? `${t("kb.inserted")} · ${t("kb.missing", { names: left.map((n) => `{{${n}}}`).join(" ") })}` : t("kb.inserted"),
        left.length ? "alert" : "");
      const button = event.currentTarget;
      button.disabled = true;
      try { await markUsed(ctx, item, usedTag); } finally { button.disabled = false; }
    } }, t("kb.insert")));
  } else {
    actions.push(h("button", { type: "button", class: "ghost kb-link", onclick: async (event) => {
      putInReply(ctx.reply, articleLine(item));
      toast(t("kb.linked"));
      const button = event.currentTarget;
      button.disabled = true;
      try { await markUsed(ctx, item, usedTag); } finally { button.disabled = false; }
    } }, t("kb.link")));
  }
  let voteButtons = [];
  if (votes) {
    const cast = (action) => async () => {
      voteButtons.forEach((b) => { b.disabled = true; });
      try {
        await feedback(ctx, item, action);
        item.verdict = action;
        for (const b of voteButtons) {
          const on = b.dataset.verdict === action;
          b.classList.toggle("on", on);
          b.setAttribute("aria-pressed", String(on));
        }
        toast(t("kb.verdict_saved"));
      } catch (err) {
        toast(errorText(err), "bad");
      } finally {
        voteButtons.forEach((b) => { b.disabled = false; });
      }
    };
    voteButtons = ["helpful", "not_helpful"].map((action) => h("button", {
      type: "button", class: `ghost kb-vote ${action === "helpful" ? "up" : "down"}${item.verdict === action ? " on" : ""}`,
      dataset: { verdict: action }, "aria-pressed": String(item.verdict === action), title: t(`kb.${action}`),
      onclick: cast(action),
    }, t(`kb.${action}`)));
  }
  const opened = item.kind === "article" ? articleBody(item.body_html) : h("div", { class: "kb-template-text" }, item.body ?? "");
  return h("li", { class: `kb-item kb-${item.kind}`, dataset: { itemId: item.item_id, kind: item.kind } },
    h("div", { class: "kb-line" }, kindTag(item.kind), h("span", { class: "kb-title" }, item.title), scoreBadge(item.score), usedTag),
    terms(item.matched_terms),
    h("div", { class: "kb-actions" }, actions, h("span", { class: "spacer" }), voteButtons),
    h("details", { class: "kb-open" }, h("summary", {}, t("kb.open")), opened,
      item.kind === "template" && item.placeholders?.length
        ? h("div", { class: "muted small" }, placeholderLine(item.placeholders)) : null));
}

// ------------------------------------------------------------------------------ the Knowledge page
const filters = { kind: "", status: "", lang: "", q: "" };
const PAGE = 50;
let skip = 0;
let tried = null;    // the last dry run: { text, category, module, answer }
let prefill = null;  // a new item started from a "write an article" gap

const words = (text) => String(text ?? "").split(/[,，、;；\n]/).map((x) => x.trim()).filter(Boolean);

function contentOf(v) {
  return { title: v.title, body: v.body, category: v.category || null, modules: options("module").filter((m) => v[`mod_${m}`]),
    products: words(v.products), keywords: words(v.keywords) };
}

function settle(run) {
  return run.then((ok) => ({ ok }), (err) => ({ err }));
}

export async function knowledgeView(root, ctx) {
  const editor = session.has(...EDITORS);
  const selected = ctx.args[0] || null;
  const existing = selected && selected !== "new" ? selected : null;
  const [list, item, history, figures, gaps] = await Promise.all([
    api("classifier", "knowledge", { query: { ...filters, limit: PAGE, skip } }),
    existing ? settle(api("classifier", `knowledge/${enc(existing)}`)) : null,
    existing && editor ? api("classifier", `knowledge/${enc(existing)}/history`).catch(() => null) : null,
    // reporting's figures and gaps: shown when reporting answers them, left out when it does not (404, down)
    editor ? api("reporting", "reports/knowledge").catch(() => null) : null,
    editor ? api("reporting", "reports/knowledge/gaps").catch(() => null) : null,
  ]);
  const redraw = () => knowledgeView(root, ctx);

  let detail = null;
  if (selected === "new") detail = newItemPanel(redraw);
  else if (item?.err) detail = h("div", { class: "notice bad" }, item.err.status === 404 ? t("kb.not_found") : errorText(item.err));
  else if (item?.ok) detail = itemPanel(item.ok, history, { editor, redraw });

  mount(root,
    h("div", { class: "toolbar" }, h("h1", {}, t("kb.title")), h("span", { class: "spacer" }),
      h("a", { href: "#/knowledge/new", id: "kb-new", class: "button", onclick: () => { prefill = null; } }, t("kb.new"))),
    h("p", { class: "muted small" }, t("kb.hint")),
    detail,
    h("section", { class: "panel", id: "kb-items" }, filterBar(editor, () => { skip = 0; redraw(); }),
      itemTable(list, figures, selected, redraw)),
    editor ? tryPanel(redraw) : null,
    editor && gaps ? gapsPanel(gaps) : null);
}

function filterBar(editor, apply) {
  const statuses = editor ? ["draft", "published", "archived"] : ["draft", "published"];
  const pick = (name, values, labeller) => h("select", { name, "aria-label": t(`kb.col.${name}`) },
    h("option", { value: "" }, t("kb.labelled", { what: t(`kb.col.${name}`), value: t("all") })),
    values.map((v) => h("option", { value: v, selected: filters[name] === v }, labeller(v))));
  const el = h("form", { id: "kb-filters", class: "toolbar kb-filters", role: "search" },
    pick("kind", ["article", "template"], (v) => label("kbkind", v)),
    pick("status", statuses, (v) => label("kbstatus", v)),
    pick("lang", ["zh", "en"], (v) => label("kblang", v)),
    h("input", { name: "q", type: "search", value: filters.q, maxlength: 100, placeholder: t("kb.q_ph"), "aria-label": t("kb.q_ph") }),
    h("button", { type: "submit", class: "ghost" }, t("kb.filter")));
  const read = () => {
    const data = new FormData(el);
    for (const key of Object.keys(filters)) filters[key] = String(data.get(key) ?? "").trim();
    apply();
  };
  el.addEventListener("submit", (event) => { event.preventDefault(); read(); });
  el.querySelectorAll("select").forEach((s) => s.addEventListener("change", read));
  return el;
}

function itemTable(list, figures, selected, redraw) {
  const byId = figures ? figuresById(figures) : null;
  const fig = (r) => byId?.get(r.id) ?? {};
  const num = (v) => (typeof v === "number" ? String(v) : "—");
  const columns = [
    { title: t("kb.col.title"), cell: (r) => [h("a", { href: `#/knowledge/${enc(r.id)}`, class: "kb-item-link", dataset: { itemId: r.id } }, r.title),
      h("div", { class: "muted small" }, r.id)] },
    { title: t("kb.col.kind"), cell: (r) => kindTag(r.kind) },
    { title: t("kb.col.lang"), cell: (r) => label("kblang", r.lang) },
    { title: t("kb.col.status"), cell: (r) => [statusTag(r.status), r.has_unpublished_changes ? [" ", tag(t("kb.unpublished"), "sla-warning")] : null] },
    { title: t("kb.col.version"), cell: (r) => `v${r.version}${r.published_version && r.published_version !== r.version ? ` · ${t("kb.published_v", { v: r.published_version })}` : ""}` },
    { title: t("col.category"), cell: (r) => [r.category ? label("category", r.category) : "—",
      r.modules?.length ? h("div", { class: "muted small" }, r.modules.map((m) => label("module", m)).join("、")) : null] },
    { title: t("kb.col.changed"), cell: (r) => h("span", { class: "small" }, `${r.changed_by ?? ""} · ${when(r.changed_at)}`) },
  ];
  if (byId) {
    columns.push(
      { title: t("kb.col.suggested"), cell: (r) => h("span", { class: "kb-fig" }, num(fig(r).suggested)) },
      { title: t("kb.col.used"), cell: (r) => h("span", { class: "kb-fig" }, num(fig(r).used)) },
      { title: t("kb.col.helpful"), cell: (r) => {
        const f = fig(r);
        const votes = (f.helpful ?? 0) + (f.not_helpful ?? 0);
        return h("span", { class: "kb-fig" }, `${rate(f.helpful_rate)}${votes ? ` (${f.helpful ?? 0}/${votes})` : ""}`);
      } },
      { title: t("kb.col.satisfaction"), cell: (r) => h("span", { class: "kb-fig" }, satisfaction(fig(r))) });
  }
  const total = list.total ?? list.items.length;
  const pager = total > PAGE ? h("span", { class: "kb-pager" },
    h("button", { type: "button", class: "ghost", disabled: skip === 0, onclick: () => { skip = Math.max(0, skip - PAGE); redraw(); } }, t("kb.prev")),
    h("button", { type: "button", class: "ghost", disabled: skip + PAGE >= total, onclick: () => { skip += PAGE; redraw(); } }, t("kb.next")))
    : null;
  return [
    table(columns, list.items, { rowClass: (r) => (r.id === selected ? "kb-selected" : ""),
      onRow: (r) => { location.hash = `#/knowledge/${enc(r.id)}`; }, empty: t("kb.empty") }),
    h("div", { class: "toolbar kb-count" }, h("span", { class: "muted small", id: "kb-total" }, t("kb.total", { n: total })), pager),
    figures?.totals ? h("p", { class: "muted small", id: "kb-totals" }, t("kb.totals", {
      start: figures.start ?? "", end: figures.end ?? "", n: figures.totals.tickets_with_suggestions ?? 0,
      used: figures.totals.tickets_suggestion_used ?? 0, us: rate(figures.totals.used_share),
      helpful: figures.totals.tickets_suggestion_helpful ?? 0, hs: rate(figures.totals.helpful_share) })) : null,
  ];
}

/** The fields an author writes (title, body, tags); disabled for an agent on a published item. */
function contentFields(cur, { disabled = false, onEdit } = {}) {
  const title = h("input", { name: "title", required: true, maxlength: 200, value: cur.title ?? "", disabled });
  const body = h("textarea", { name: "body", required: true, maxlength: 50000, rows: 14, class: "kb-source", disabled, spellcheck: "false" },
    cur.body ?? "");
  if (onEdit) [title, body].forEach((el) => el.addEventListener("input", onEdit));
  return [
    field(t("kb.f.title"), title),
    field(t("kb.f.body"), body),
    h("div", { class: "row" },
      field(t("kb.f.category"), h("select", { name: "category", disabled }, h("option", { value: "" }, "—"),
        options("category").map((c) => h("option", { value: c, selected: c === cur.category }, label("category", c))))),
      field(t("kb.f.keywords"), h("input", { name: "keywords", value: (cur.keywords ?? []).join(", "), disabled })),
      field(t("kb.f.products"), h("input", { name: "products", value: (cur.products ?? []).join(", "), disabled }))),
    h("fieldset", { class: "kb-modules" }, h("legend", {}, t("kb.f.modules")),
      options("module").map((m) => h("label", { class: "inline" },
        h("input", { type: "checkbox", name: `mod_${m}`, checked: (cur.modules ?? []).includes(m), disabled }), label("module", m)))),
  ];
}

/** The service's refusal in words: a version conflict says someone else changed the item meanwhile. */
function refusal(err) {
  return err.status === 409 && err.code === "version_conflict" ? `${t("kb.conflict")} (${err.message})` : errorText(err);
}

/** An author's form: it keeps what was typed when the service refuses it, and the action says what was saved. */
function authorForm(id, fields, submitLabel, action) {
  return form(fields, action, { id, submitLabel, done: null, reset: false, describe: refusal });
}

function newItemPanel(redraw) {
  const start = prefill ?? {};
  const kind = select("kind", ["article", "template"], (v) => label("kbkind", v), { selected: start.kind ?? "article" });
  const lang = select("lang", ["zh", "en"], (v) => label("kblang", v), { selected: start.lang ?? "zh" });
  const formEl = authorForm("kb-form", [
    h("div", { class: "row" },
      field(t("kb.f.kind"), kind), field(t("kb.f.lang"), lang),
      field(t("kb.f.topic"), h("input", { name: "topic", required: true, maxlength: 48, pattern: "[a-z0-9][a-z0-9\\-]*",
        value: start.topic ?? "", placeholder: "refund-delay" })),
      field(t("kb.f.id"), h("input", { name: "id", maxlength: 64, pattern: "(KB|TPL)-[A-Za-z0-9][A-Za-z0-9._\\-]*" }))),
    contentFields(start),
  ], t("kb.save_draft"), async (v) => {
    const body = { kind: v.kind, lang: v.lang, topic: v.topic.trim(), ...contentOf(v) };
    if (v.id?.trim()) body.id = v.id.trim();
    const created = await api("classifier", "knowledge", { method: "POST", body });
    prefill = null;
    toast(t("kb.created"));
    location.hash = `#/knowledge/${enc(created.id)}`;
  });
  return h("div", { class: "grid2 kb-detail" },
    h("section", { class: "panel", id: "kb-editor" }, h("div", { class: "toolbar" }, h("h2", {}, t("kb.editor.new")), h("span", { class: "spacer" }),
      h("a", { href: "#/knowledge", onclick: () => { prefill = null; } }, t("back"))), formEl),
    h("section", { class: "panel", id: "kb-preview" }, h("h2", {}, t("kb.preview")), h("p", { class: "muted small" }, t("kb.select_hint"))));
}

function sampleValues(lang) {
  const due = new Date(Date.now() + 2 * 86400_000).toISOString();
  return { customer_name: lang === "en" ? "Q**" : "钱**", salutation: lang === "en" ? "Ms" : "女士", ticket_no: "GD20260101001",
    order_no: "A2026010101", agent_name: session.claims()?.name || session.staffId(), resolution_due: formatDue(due, lang, timeZone()),
    company: templateValues({ lang }).company };
}

function rendered(kind, version, lang) {
  if (!version) return null;
  if (kind === "article") return articleBody(version.body_html);
  return [h("div", { class: "kb-template-text" }, version.body),
    version.placeholders?.length ? h("div", { class: "muted small" }, placeholderLine(version.placeholders)) : null,
    h("h3", {}, t("kb.sample")), h("div", { class: "kb-template-text kb-sample" }, fillTemplate(version.body, sampleValues(lang)))];
}

function itemPanel(item, history, { editor, redraw }) {
  const cur = item.current;
  const mayEdit = editor || item.status === "draft";
  const stale = h("div", { class: "notice warn", id: "kb-stale", hidden: true }, t("kb.preview_stale"));
  let formEl;
  const onEdit = () => {
    stale.hidden = [...formEl.querySelectorAll("input[name=title], textarea[name=body]")].every((el) => el.value === el.defaultValue);
  };
  formEl = authorForm("kb-form", [
    mayEdit ? null : h("p", { class: "notice", id: "kb-readonly" }, t("kb.readonly")),
    contentFields(cur, { disabled: !mayEdit, onEdit }),
    mayEdit ? field(t("kb.f.note"), h("input", { name: "note", maxlength: 300 })) : null,
  ], t("kb.save_version"), async (v) => {
    if (!mayEdit) return;
    const saved = await api("classifier", `knowledge/${enc(item.id)}`, { method: "PUT",
      body: { ...contentOf(v), base_version: cur.version, note: v.note ?? "" } });
    toast(t("kb.saved", { v: saved.version }));
    await redraw();
  });
  if (!mayEdit) formEl.querySelector("button[type=submit]").hidden = true;

  const lifecycle = h("section", { class: "panel", id: "kb-lifecycle" }, h("h2", {}, t("kb.lifecycle")),
    h("dl", { class: "facts" },
      h("dt", {}, t("kb.col.status")), h("dd", { id: "kb-status" }, statusTag(item.status),
        item.has_unpublished_changes ? [" ", tag(t("kb.unpublished"), "sla-warning")] : null),
      h("dt", {}, t("kb.col.version")), h("dd", {}, `v${cur.version}${item.published_version ? ` · ${t("kb.published_v", { v: item.published_version })}` : ""}`),
      h("dt", {}, t("kb.created_by")), h("dd", {}, `${item.created_by ?? ""} · ${when(item.created_at)}`),
      item.published_at ? [h("dt", {}, label("kbaction", "published")), h("dd", {}, `${item.published_by ?? ""} · ${when(item.published_at)}`)] : null),
    editor ? lifecycleActions(item, redraw) : null);

  const preview = h("section", { class: "panel", id: "kb-preview" }, h("h2", {}, t("kb.preview")), stale,
    h("div", { id: "kb-preview-current" }, rendered(item.kind, cur, item.lang)),
    item.published && item.published.version !== cur.version
      ? h("div", { id: "kb-preview-published" }, h("h3", {}, t("kb.published_copy", { v: item.published.version })),
        rendered(item.kind, item.published, item.lang))
      : null);

  return h("div", { class: "grid2 kb-detail", dataset: { itemId: item.id } },
    h("div", {},
      h("section", { class: "panel", id: "kb-editor" },
        h("div", { class: "toolbar" }, kindTag(item.kind), h("h2", {}, t("kb.editor.edit", { id: item.id, v: cur.version })),
          h("span", { class: "muted small" }, `${label("kblang", item.lang)} · ${item.topic}`), h("span", { class: "spacer" }),
          h("a", { href: "#/knowledge" }, t("back"))),
        formEl)),
    h("div", {}, lifecycle, preview, history ? historyPanel(history) : null));
}

function lifecycleActions(item, redraw) {
  const cur = item.current;
  const note = h("input", { name: "note", maxlength: 300, placeholder: t("kb.action_note"), "aria-label": t("kb.action_note") });
  const act = (what, done) => async (event) => {
    event.currentTarget.disabled = true;
    try {
      await api("classifier", `knowledge/${enc(item.id)}/${what}`, { method: "POST", body: { base_version: cur.version, note: note.value } });
      toast(done);
    } catch (err) {
      toast(refusal(err), "bad");
    }
    note.value = "";
    await redraw();
  };
  const publishable = item.status !== "published" || item.has_unpublished_changes;
  return h("div", { class: "kb-lifecycle-actions" }, note,
    h("div", { class: "buttons" },
      h("button", { type: "button", id: "kb-publish", disabled: !publishable, onclick: act("publish", t("kb.published_ok")) },
        t("kb.publish", { v: cur.version })),
      h("button", { type: "button", id: "kb-archive", class: "danger", disabled: item.status === "archived",
        onclick: act("archive", t("kb.archived_ok")) }, t("kb.archive"))));
}

function historyPanel(entries) {
  return h("section", { class: "panel", id: "kb-history" }, h("h2", {}, t("kb.history")),
    table([
      { title: "v", cell: (e) => `v${e.version}` },
      { title: t("actions"), cell: (e) => label("kbaction", e.action) },
      { title: t("sla.author"), cell: (e) => `${e.by} · ${when(e.at)}` },
      { title: t("kb.col.status"), cell: (e) => statusTag(e.status) },
      { title: t("kb.f.note"), cell: (e) => [e.note || "", e.content ? h("details", { class: "kb-old" }, h("summary", {}, e.content.title),
        h("div", { class: "kb-template-text small" }, e.content.body)) : null] },
    ], entries));
}

function tryPanel(redraw) {
  const text = h("textarea", { name: "text", required: true, maxlength: 20000, rows: 3 }, tried?.text ?? "");
  const category = select("category", options("category"), (c) => label("category", c), { blank: t("kb.try_auto"), selected: tried?.category });
  const module = select("module", options("module"), (m) => label("module", m), { blank: t("kb.try_auto"), selected: tried?.module });
  const button = h("button", { type: "submit" }, t("kb.try_go"));
  const message = h("div", { class: "notice bad", hidden: true, role: "alert" });
  const el = h("form", { id: "kb-try" }, message, field(t("kb.try_text"), text),
    h("div", { class: "row" }, field(t("kb.f.category"), category), field(t("ticket.module"), module)),
    h("div", { class: "buttons" }, button));
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.hidden = true;
    button.disabled = true;
    try {
      const body = { text: text.value };
      if (category.value) body.category = category.value;
      if (module.value) body.module = module.value;
      const answer = await api("classifier", "knowledge/suggest", { method: "POST", body });
      tried = { text: text.value, category: category.value, module: module.value, answer };
      await redraw();
    } catch (err) {
      message.textContent = errorText(err);
      message.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  const answer = tried?.answer;
  const result = answer ? h("div", { id: "kb-try-result" },
    h("p", {}, t("kb.try_result", { c: label("category", answer.category), m: label("module", answer.module) })),
    answer.suggestions.length ? h("ul", { class: "kb-list" }, answer.suggestions.map((s) => h("li", { class: "kb-item", dataset: { itemId: s.item_id } },
      h("div", { class: "kb-line" }, kindTag(s.kind), h("a", { href: `#/knowledge/${enc(s.item_id)}`, class: "kb-title" }, s.title),
        h("span", { class: "muted small" }, s.item_id), scoreBadge(s.score)),
      terms(s.matched_terms))))
      : h("p", { class: "muted" }, t("kb.try_none")))
    : h("div", { id: "kb-try-result" });
  return h("section", { class: "panel", id: "kb-try-panel" }, h("h2", {}, t("kb.try")), h("p", { class: "muted small" }, t("kb.try_hint")),
    el, result);
}

function gapsPanel(answer) {
  const rows = rowsOf(answer);
  const count = (v) => (typeof v === "number" ? String(v) : "—");
  return h("section", { class: "panel", id: "kb-gaps" }, h("h2", {}, t("kb.gaps")),
    h("p", { class: "muted small" }, t("kb.gaps_hint"), typeof answer?.min_tickets === "number" ? ` ${t("kb.gaps_min", { n: answer.min_tickets })}` : ""),
    table([
      { title: t("kb.gaps.problem"), cell: (r) => [h("strong", {}, `${label("category", r.category)} · ${label("module", r.module)}`),
        gapWords(r).length ? h("div", { class: "muted small" }, gapWords(r).join("、")) : null] },
      { title: t("kb.gaps.tickets"), cell: (r) => h("span", { class: "kb-fig" }, count(r.tickets ?? r.ticket_count ?? r.count)) },
      { title: t("kb.gaps.suggested"), cell: (r) => h("span", { class: "kb-fig" }, count(r.with_suggestion)) },
      { title: t("kb.gaps.helped"), cell: (r) => h("span", { class: "kb-fig" }, `${count(r.helped)}${typeof r.helped_share === "number" ? ` (${rate(r.helped_share)})` : ""}`) },
      { title: t("kb.gaps.without"), cell: (r) => h("strong", { class: "kb-fig" }, count(r.without_help)) },
      { title: t("actions"), cell: (r) => h("button", { type: "button", class: "ghost kb-write", onclick: () => {
        prefill = { kind: "article", keywords: gapWords(r), category: r.category ?? null, modules: r.module ? [r.module] : [] };
        if (location.hash === "#/knowledge/new") window.dispatchEvent(new HashChangeEvent("hashchange"));
        else location.hash = "#/knowledge/new";
      } }, t("kb.gaps.write")) },
    ], rows));
}
