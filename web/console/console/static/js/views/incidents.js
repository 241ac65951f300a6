// The supervisor's crisis screen (issue 19; seed 001 应急预案): the spikes reporting detected, each with
// "open incident" pre-filled from it; opening one by hand; and for every open incident its figures, the team
// (增加人力投入: agents of any team by staff id), the approved reply text (统一回应口径), the SLA override, the
// history, and closing it. Every change is compare-and-set on the incident's version.
import { api } from "../api.js";
import { t, label, options } from "../i18n.js";
import { refreshBanner } from "../incidents.js";
import { h, mount, table, tag, when, form, field, select, errorText } from "../ui.js";

const enc = encodeURIComponent;

function ids(text) {
  return [...new Set(String(text ?? "").split(/[\s,，、;；]+/).map((s) => s.trim()).filter(Boolean))];
}

function minutes(value) {
  const n = Number(value);
  return value === "" || value === undefined || !Number.isFinite(n) || n <= 0 ? null : Math.round(n);
}

function spikeValue(s) {
  return s.dimension === "category" ? label("category", s.value) : s.dimension === "module" ? label("module", s.value) : s.value;
}

function matchText(m) {
  const parts = [];
  if (m.categories?.length) parts.push(m.categories.map((c) => label("category", c)).join("/"));
  if (m.modules?.length) parts.push(m.modules.map((c) => label("module", c)).join("/"));
  if (m.keywords?.length) parts.push(m.keywords.map((k) => `“${k}”`).join("/"));
  if (m.channels?.length) parts.push(m.channels.map((c) => label("channel", c)).join("/"));
  return parts.join(" + ") || "—";
}

/** Team, reply text and SLA fields, pre-filled from ``init``. */
function detailFields(init = {}) {
  return [
    field(t("inc.team"), h("input", { name: "team", value: (init.team ?? []).join(", "), placeholder: t("inc.team_ph"),
      pattern: "[A-Za-z0-9_\\-,，、;；\\s]*" })),
    field(t("inc.reply"), h("textarea", { name: "reply_text", maxlength: 4000, placeholder: t("inc.reply_ph") }, init.reply_text ?? "")),
    h("div", { class: "row" },
      field(t("inc.sla_first"), h("input", { name: "first", type: "number", min: 1, value: init.sla?.first_response_minutes ?? "" })),
      field(t("inc.sla_resolution"), h("input", { name: "resolution", type: "number", min: 1, value: init.sla?.resolution_minutes ?? "" }))),
  ];
}

function details(v) {
  return { team: ids(v.team), reply_text: (v.reply_text ?? "").trim(),
           sla: { first_response_minutes: minutes(v.first), resolution_minutes: minutes(v.resolution) } };
}

function openForm(root, spike) {
  const title = spike ? t("inc.title_from", { v: spikeValue(spike), d: spike.day }) : "";
  const fields = [field(t("inc.title"), h("input", { name: "title", required: true, minlength: 2, maxlength: 120, value: title }))];
  if (!spike) {
    fields.push(h("div", { class: "row" },
      field(t("col.category"), select("category", options("category"), (x) => label("category", x), { blank: "—" })),
      field(t("ticket.module"), select("module", options("module"), (x) => label("module", x), { blank: "—" })),
      field(t("inc.keywords"), h("input", { name: "keywords", maxlength: 200, placeholder: t("inc.keywords_ph") }))));
  }
  fields.push(...detailFields());
  return form(fields, async (v) => {
    const body = { title: v.title.trim(), ...details(v) };
    if (spike) {
      body.spike = { id: `${spike.day}|${spike.dimension}|${spike.value}`, day: spike.day, dimension: spike.dimension,
                     value: spike.value, count: spike.count };
    } else {
      body.match = { categories: v.category ? [v.category] : [], modules: v.module ? [v.module] : [], keywords: ids(v.keywords) };
    }
    await api("dispatcher", "incidents", { method: "POST", body });
    await refreshBanner();
    await incidentsView(root);
  }, { submitLabel: t("inc.open"), done: t("inc.opened"), id: spike ? `open-from-${spike.dimension}-${spike.value}` : "open-incident" });
}

function incidentPanel(root, i, figures) {
  const f = figures?.figures;
  const conflict = (err) => (err.status === 409 ? t("inc.conflict") : errorText(err));
  const edit = form([
    field(t("inc.title"), h("input", { name: "title", required: true, minlength: 2, maxlength: 120, value: i.title })),
    ...detailFields(i)], async (v) => {
    await api("dispatcher", `incidents/${enc(i.incident_id)}`, { method: "PATCH", body: { version: i.version, title: v.title.trim(), ...details(v) } });
    await refreshBanner();
    await incidentsView(root);
  }, { submitLabel: t("save"), id: `edit-${i.incident_id}`, describe: conflict });
  const close = form(field(t("inc.close_note"), h("input", { name: "note", maxlength: 1000 })), async (v) => {
    await api("dispatcher", `incidents/${enc(i.incident_id)}/close`, { method: "POST", body: { version: i.version, note: v.note } });
    await refreshBanner();
    await incidentsView(root);
  }, { submitLabel: t("inc.close"), done: t("inc.closed_done"), id: `close-${i.incident_id}`, describe: conflict });
  return h("section", { class: "panel incident-panel", dataset: { incidentId: i.incident_id } },
    h("div", { class: "toolbar" }, h("h2", {}, i.title), tag(i.incident_id, "incident"), h("span", { class: "spacer" }),
      h("span", { class: "muted small" }, t("inc.opened_by", { by: i.opened_by, t: when(i.opened_at), v: i.version }))),
    h("div", { class: "cols" },
      h("div", {}, h("div", { class: "muted small" }, t("inc.match")), matchText(i.match)),
      h("div", {}, h("div", { class: "muted small" }, t("inc.team")), i.team.join("、") || "—"),
      h("div", {}, h("div", { class: "muted small" }, t("inc.sla")),
        `${i.sla.first_response_minutes ?? "—"} / ${i.sla.resolution_minutes ?? "—"} ${t("inc.min")}`),
      h("div", { class: "incident-figures" }, h("div", { class: "muted small" }, t("inc.figures")),
        f ? t("inc.figures_text", { n: f.tickets, o: f.open, b: f.breached, r: f.first_response_avg_min ?? "—" }) : "—")),
    h("details", { class: "action" }, h("summary", {}, t("inc.edit")), edit),
    h("details", { class: "action" }, h("summary", {}, t("inc.close")), close),
    h("details", { class: "action" }, h("summary", {}, t("inc.history")),
      h("ul", { class: "timeline" }, i.history.map((e) => h("li", {},
        h("span", { class: "muted small" }, `${when(e.at)} · ${e.by} · v${e.version} · ${t(`inc.action.${e.action}`)}`),
        h("div", { class: "small" }, e.detail))))));
}

export async function incidentsView(root) {
  const [incidents, spikes, figures] = await Promise.all([
    api("dispatcher", "incidents", { query: { limit: 30 } }),
    api("reporting", "reports/high-frequency").then((r) => r.spikes ?? [], () => []),
    api("reporting", "reports/incidents", { query: { status: "open" } }).catch(() => []),
  ]);
  const openOnes = incidents.filter((i) => i.status === "open");
  const closed = incidents.filter((i) => i.status === "closed");
  const fromSpike = new Map(openOnes.filter((i) => i.spike).map((i) => [i.spike.id, i]));
  const figs = new Map(figures.map((r) => [r.incident_id, r]));
  mount(root,
    h("div", { class: "toolbar" }, h("h1", {}, t("inc.screen")), h("span", { class: "muted small" }, t("inc.hint"))),
    openOnes.map((i) => incidentPanel(root, i, figs.get(i.incident_id))),
    h("section", { class: "panel", id: "spikes" }, h("h2", {}, t("inc.spikes")),
      table([
        { title: t("inc.day"), cell: (s) => s.day },
        { title: t("inc.dimension"), cell: (s) => t(`inc.dim.${s.dimension}`) },
        { title: t("inc.value"), cell: (s) => spikeValue(s) },
        { title: t("inc.count"), cell: (s) => `${s.count} (×${Math.round(s.ratio * 10) / 10})` },
        { title: t("actions"), cell: (s) => {
          const open = fromSpike.get(`${s.day}|${s.dimension}|${s.value}`);
          return open ? tag(t("inc.already", { id: open.incident_id }), "incident")
            : h("details", { class: "action spike-open" }, h("summary", {}, t("inc.open_from_spike")), openForm(root, s));
        } },
      ], spikes, { empty: t("inc.no_spikes") })),
    h("details", { class: "action panel", id: "open-by-hand" }, h("summary", {}, t("inc.open_by_hand")), openForm(root, null)),
    closed.length ? h("section", { class: "panel" }, h("h2", {}, t("inc.closed_list")),
      table([
        { title: "ID", cell: (i) => i.incident_id },
        { title: t("inc.title"), cell: (i) => i.title },
        { title: t("inc.opened_at"), cell: (i) => when(i.opened_at) },
        { title: t("inc.closed_at"), cell: (i) => `${when(i.closed_at)} · ${i.closed_by ?? ""}` },
        { title: t("inc.close_note"), cell: (i) => i.close_note || "—" },
      ], closed)) : null);
}
