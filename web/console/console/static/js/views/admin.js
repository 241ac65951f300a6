// The admin's screens: staff directory, SLA policy versions, classifier rule sets. Supervisors may read
// the policies and rules; only admins change them (the services enforce it either way).
import { api } from "../api.js";
import { t, label, options } from "../i18n.js";
import * as session from "../session.js";
import { h, mount, table, tag, when, toast, errorText, form, field, select } from "../ui.js";

const enc = encodeURIComponent;
const POSITIONS = ["agent", "senior_agent", "supervisor", "admin"];

// ------------------------------------------------------------------------------ staff
let staffTeam = "";

export async function staffView(root) {
  const staff = await api("dispatcher", "staff", { query: { team: staffTeam || undefined } });
  const patch = async (member, body) => {
    try {
      await api("dispatcher", `staff/${enc(member.staff_id)}`, { method: "PATCH", body });
      await staffView(root);
    } catch (err) { toast(errorText(err), "bad"); }
  };
  const resetPassword = (member) => form(
    h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 8,
      placeholder: t("staff.set_password"), class: "reset-password" }),
    async (v) => {
      await api("dispatcher", `staff/${enc(member.staff_id)}/password`, { method: "POST", body: { password: v.password } });
    }, { submitLabel: t("staff.set_password"), done: t("staff.password_set"), id: `reset-${member.staff_id}` });
  const create = form([
    h("div", { class: "row" },
      field(t("staff.id"), h("input", { name: "staff_id", required: true, pattern: "[A-Za-z0-9_\\-]{1,32}" })),
      field(t("staff.name"), h("input", { name: "name", required: true, maxlength: 64 })),
      field(t("col.role"), select("role", POSITIONS, (x) => label("position", x))),
      field(t("col.team"), select("team", options("team"), (x) => label("team", x)))),
    h("div", { class: "row" },
      field(t("col.skills"), h("input", { name: "skills", placeholder: "退换货, 物流异常" })),
      field(t("col.capacity"), h("input", { name: "capacity", type: "number", min: 0, max: 200, value: 5 })),
      field(t("staff.supervisor"), h("input", { name: "supervisor_id", pattern: "[A-Za-z0-9_\\-]{1,32}" })),
      field(t("staff.initial_password"), h("input", { name: "initial_password", type: "password", autocomplete: "new-password" }))),
  ], async (v) => {
    const body = { staff_id: v.staff_id.trim(), name: v.name.trim(), role: v.role, team: v.team,
      skills: v.skills.split(/[,，、]/).map((s) => s.trim()).filter(Boolean), capacity: Number(v.capacity || 0) };
    if (v.supervisor_id) body.supervisor_id = v.supervisor_id.trim();
    if (v.initial_password) body.initial_password = v.initial_password;
    await api("dispatcher", "staff", { method: "POST", body });
    await staffView(root);
  }, { id: "staff-create", done: t("staff.created") });
  mount(root,
    h("div", { class: "toolbar" }, h("h1", {}, t("staff.title")), h("span", { class: "spacer" }),
      h("label", { class: "inline" }, t("team.pick"), h("select", { onchange: (e) => { staffTeam = e.target.value; staffView(root); } },
        h("option", { value: "" }, t("all")), options("team").map((x) => h("option", { value: x, selected: x === staffTeam }, label("team", x)))))),
    h("details", { class: "action panel" }, h("summary", {}, t("staff.new")), create),
    table([
      { title: t("staff.id"), cell: (m) => m.staff_id },
      { title: t("staff.name"), cell: (m) => m.name },
      { title: t("col.role"), cell: (m) => label("position", m.role) },
      { title: t("col.team"), cell: (m) => label("team", m.team) },
      { title: t("col.load"), cell: (m) => `${m.open_count}/${m.capacity}` },
      { title: t("col.duty"), cell: (m) => (m.on_duty ? t("yes") : t("no")) },
      { title: t("col.active"), cell: (m) => h("button", { type: "button", class: m.active ? "ghost" : "danger",
        onclick: () => patch(m, { active: !m.active }) }, m.active ? t("staff.disable") : t("staff.enable")) },
      { title: t("staff.set_password"), cell: (m) => resetPassword(m) },
    ], staff));
}

// ------------------------------------------------------------------------------ SLA policies
let policyShown = null;

function targetText(target) {
  const hours = target.minutes >= 60 && target.minutes % 60 === 0 ? `${target.minutes / 60} h` : `${target.minutes} min`;
  return `${hours}${target.business ? " (工作时间)" : ""}`;
}

export async function slaView(root) {
  const admin = session.has("admin");
  const policies = await api("sla-monitor", "policies");
  const active = policies.find((p) => p.status === "active");
  const shown = policies.find((p) => p.version === policyShown) ?? active ?? policies[0];
  const run = async (fn) => {
    try { await fn(); await slaView(root); } catch (err) { toast(errorText(err), "bad"); }
  };
  const editable = (({ version, status, created_by, created_at, updated_at, activated_by, activated_at, retired_at, ...body }) => body)(shown ?? {});
  mount(root,
    h("h1", {}, t("sla.title")),
    table([
      { title: "v", cell: (p) => h("a", { href: "#/sla", onclick: (e) => { e.preventDefault(); policyShown = p.version; slaView(root); } }, `v${p.version}`) },
      { title: t("staff.name"), cell: (p) => p.name },
      { title: t("sla.status"), cell: (p) => tag(label("policy", p.status), p.status === "active" ? "sla-ok" : "") },
      { title: t("sla.author"), cell: (p) => `${p.created_by} · ${when(p.created_at)}` },
      { title: t("sla.active"), cell: (p) => p.activated_at ? `${p.activated_by ?? ""} · ${when(p.activated_at)}` : "" },
      { title: t("actions"), cell: (p) => admin ? [
        p.status !== "active" ? h("button", { type: "button", onclick: () => run(() => api("sla-monitor", `policies/${p.version}/activate`, { method: "POST" })) }, t("sla.activate")) : null,
        p.status === "draft" ? h("button", { type: "button", class: "danger", onclick: () => run(() => api("sla-monitor", `policies/${p.version}`, { method: "DELETE" })) }, t("sla.delete")) : null,
      ] : "" },
    ], policies),
    shown ? h("section", { class: "panel", id: "policy-rules" }, h("h2", {}, `v${shown.version} · ${shown.name} — ${t("sla.rules")}`),
      table([
        { title: t("col.priority"), cell: (r) => tag(r.priority, r.priority) },
        { title: t("col.channel"), cell: (r) => (r.channel ? label("channel", r.channel) : t("all")) },
        { title: t("ticket.tier"), cell: (r) => (r.customer_tier ? label("tier", r.customer_tier) : t("all")) },
        { title: t("col.category"), cell: (r) => (r.category ? label("category", r.category) : t("all")) },
        { title: t("sla.first_response"), cell: (r) => targetText(r.first_response) },
        { title: t("sla.resolution"), cell: (r) => targetText(r.resolution) },
      ], shown.rules)) : null,
    admin && shown ? h("details", { class: "action panel" }, h("summary", {}, t("sla.draft")),
      h("p", { class: "muted small" }, t("sla.draft_hint")),
      form(h("textarea", { name: "body", class: "kv", rows: 18, spellcheck: "false" }, JSON.stringify({ ...editable, name: `${editable.name} (draft)` }, null, 2)),
        async (v) => {
          let body;
          try { body = JSON.parse(v.body); } catch (err) { throw new Error(`JSON: ${err.message}`); }
          const created = await api("sla-monitor", "policies", { method: "POST", body });
          policyShown = created.version;
          await slaView(root);
        }, { id: "policy-draft" })) : null);
}

// ------------------------------------------------------------------------------ rule sets
export async function rulesView(root) {
  const admin = session.has("admin");
  const [active, versions, revisions, models] = await Promise.all([
    api("classifier", "rulesets/active"),
    api("classifier", "rulesets", { query: { limit: 20 } }),
    api("classifier", "revisions", { query: { limit: 20 } }),
    api("classifier", "models", { query: { limit: 20 } }),
  ]);
  const pct = (x) => (typeof x === "number" ? `${(x * 100).toFixed(1)}%` : "—");
  const heldOut = (m) => m.metrics?.combined
    ? `${t("col.category")} ${pct(m.metrics.combined.category?.accuracy)} · ${t("col.priority")} ${pct(m.metrics.combined.priority?.accuracy)}`
    : "—";
  const independent = (m) => m.metrics?.independent
    ? `${t("col.category")} ${pct(m.metrics.independent.category)} · ${t("col.priority")} ${pct(m.metrics.independent.priority)}`
      + ` · ${t("models.p1", { r: pct(m.metrics.independent.p1_recall), p: pct(m.metrics.independent.p1_precision) })}`
    : "—";
  const run = async (fn) => {
    try { await fn(); await rulesView(root); } catch (err) { toast(errorText(err), "bad"); }
  };
  const result = h("div", { id: "dry-run-result" });
  const dryRun = form(field(t("rules.dry_text"), h("textarea", { name: "description", required: true, maxlength: 20000 })),
    async (v) => {
      const c = await api("classifier", "classify", { method: "POST", body: { description: v.description } });
      const ex = c.explanation;
      mount(result, h("p", {}, tag(label("category", c.category)), " ", tag(label("module", c.module)), " ", tag(c.priority, c.priority),
        ` ${Math.round(c.confidence * 100)}% · ${label("method", ex.method)} ${ex.rule_id ?? ""} ${ex.matched_terms?.join("、") ?? ""} ${ex.detail ?? ""} · ${c.classifier_version}`));
    }, { submitLabel: t("rules.dry_run"), done: null, id: "dry-run" });
  mount(root,
    h("h1", {}, t("rules.title")),
    h("section", { class: "panel" }, h("h2", {}, t("rules.dry_run")), dryRun, result),
    h("section", { class: "panel", id: "active-rules" }, h("h2", {}, `${t("rules.active", { v: active.version })} · ${t("rules.count", { n: active.rules.length })}`),
      table([
        { title: "#", cell: (r) => String(active.rules.indexOf(r) + 1) },
        { title: "id", cell: (r) => r.id },
        { title: t("ticket.matched"), cell: (r) => [...r.any_terms, ...r.all_terms.map((x) => `+${x}`), ...r.none_terms.map((x) => `-${x}`), ...r.patterns.map((x) => `/${x}/`)].join("、") },
        { title: t("col.category"), cell: (r) => label("category", r.category) },
        { title: t("ticket.module"), cell: (r) => label("module", r.module) },
        { title: t("col.priority"), cell: (r) => (r.priority ? tag(r.priority, r.priority) : "—") },
        { title: t("col.channel"), cell: (r) => r.channels.map((c) => label("channel", c)).join("、") || t("all") },
      ], active.rules),
      admin ? h("details", { class: "action" }, h("summary", {}, t("rules.new_version")), h("p", { class: "muted small" }, t("rules.edit_hint")),
        form(h("textarea", { name: "rules", class: "kv", rows: 18, spellcheck: "false" }, JSON.stringify(active.rules, null, 2)),
          async (v) => {
            let rules;
            try { rules = JSON.parse(v.rules); } catch (err) { throw new Error(`JSON: ${err.message}`); }
            await api("classifier", "rulesets", { method: "POST", body: { rules, description: active.description, base_version: active.version } });
            await rulesView(root);
          }, { id: "ruleset-save" })) : null),
    h("section", { class: "panel" }, h("h2", {}, t("rules.versions")),
      table([
        { title: "v", cell: (r) => `v${r.version}` },
        { title: t("col.status"), cell: (r) => (r.active ? tag(t("sla.active"), "sla-ok") : "") },
        { title: t("sla.author"), cell: (r) => `${r.created_by} · ${when(r.created_at)}` },
        { title: t("sla.rules"), cell: (r) => String(r.rules?.length ?? "") },
        { title: t("actions"), cell: (r) => admin && !r.active ? h("button", { type: "button",
          onclick: () => run(() => api("classifier", `rulesets/${r.version}/activate`, { method: "POST" })) }, t("sla.activate")) : "" },
      ], versions.items)),
    h("section", { class: "panel", id: "models" }, h("h2", {}, t("models.title")),
      h("p", { class: "muted small" }, t("models.hint")),
      table([
        { title: "v", cell: (m) => m.classifier_version ?? `model-v${m.version}` },
        { title: t("col.status"), cell: (m) => [m.active ? tag(t("sla.active"), "sla-ok") : "",
          m.current_training_file === false ? tag(t("models.stale"), "sla-warning") : ""] },
        { title: t("sla.author"), cell: (m) => `${m.trained_by ?? ""} · ${when(m.trained_at)}` },
        { title: t("models.examples"), cell: (m) => t("models.examples_n", { n: m.examples ?? 0, c: m.corrections ?? 0 }) },
        { title: t("models.held_out"), cell: (m) => heldOut(m) },
        { title: t("models.independent"), cell: (m) => independent(m) },
        { title: t("actions"), cell: (m) => admin && !m.active ? h("button", { type: "button",
          onclick: () => run(() => api("classifier", `models/${m.version}/activate`, { method: "POST" })) }, t("sla.activate")) : "" },
      ], models.items),
      admin ? h("p", {}, h("button", { type: "button", id: "model-train", onclick: async (ev) => {
        ev.target.disabled = true;
        toast(t("models.training"));
        await run(async () => {
          const m = await api("classifier", "models/train", { method: "POST", body: { activate: true } });
          toast(`model-v${m.version}: ${heldOut(m)}`);
        });
      } }, t("models.train"))) : null),
    h("section", { class: "panel" }, h("h2", {}, t("rules.revisions")),
      table([
        { title: t("col.due"), cell: (r) => when(r.at) },
        { title: t("sla.author"), cell: (r) => r.changed_by },
        { title: "v", cell: (r) => `${r.kind} v${r.version}` },
        { title: t("actions"), cell: (r) => r.action },
        { title: t("col.reason"), cell: (r) => r.change },
      ], revisions.items)));
}
