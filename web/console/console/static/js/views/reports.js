// The dashboard page: the live dashboard (reporting's page, in a new window) and the scheduled reports (issue 19; seeds 000 七 日报/周报, 004 四 自动日报、周报、月报): a supervisor's or admin's
// subscription (which reports, and e-mail / IM besides the in-app notification), the reports delivered so
// far with their headline figures and the CSV, the dashboard link; an admin also sees everyone's subscriptions.
import { api } from "../api.js";
import { t, label } from "../i18n.js";
import * as session from "../session.js";
import { h, mount, when, tag, table, form, field, select, toast, errorText } from "../ui.js";

const KINDS = ["daily", "weekly", "monthly"];
const CHANNELS = ["none", "email", "im"];
const enc = encodeURIComponent;

/** Save the CSV of a delivered report (fetched with the staff token, handed to the browser as a file). */
async function download(run) {
  try {
    const text = await api("reporting", `reports/deliveries/${enc(run.id)}.csv`);
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
    const a = h("a", { href: url, download: run.csv_filename, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (err) {
    toast(errorText(err), "bad");
  }
}

const minutes = (v) => (v === null || v === undefined ? "—" : t("reports.min", { n: v.toFixed(1) }));
const share = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);

/** The headline figures of seed 000 七 (处理任务总数、平均响应时间、问题解决率、满意度评分) and SLA, in the console's language. */
export function figures(k) {
  return [
    t("reports.f.volume", { c: k.created, r: k.resolved, cl: k.closed, o: k.reopened }),
    t("reports.f.times", { fr: minutes(k.first_response_avg_min), res: minutes(k.resolution_avg_min) }),
    t("reports.f.rates", { rr: share(k.resolution_rate), fcr: share(k.first_contact_resolution) }),
    t("reports.f.csat", { csat: k.csat_avg === null || k.csat_avg === undefined ? "—" : `${k.csat_avg.toFixed(2)} (${k.csat_responses})`,
      sat: share(k.satisfaction_rate) }),
    t("reports.f.sla", { sla: share(k.sla_compliance), b: k.breached_tickets, open: k.backlog }),
  ];
}

function dashboardLink(config) {
  const url = config.dashboard_url;
  if (!url) return null;
  const href = `${url}${url.includes("?") ? "&" : "?"}lang=${document.documentElement.lang === "en" ? "en" : "zh"}#token=${enc(session.token())}`;
  return h("a", { href, target: "_blank", rel: "noopener", id: "dashboard-link" }, t("dashboard.open"));
}

function subscriptionForm(sub, root, ctx) {
  const boxes = KINDS.map((k) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: k, checked: sub[k], dataset: { kind: k } }), ` ${label("reportkind", k)}`,
    h("span", { class: "muted small" }, ` · ${t("reports.next")} ${when(sub.next?.[k])}`)));
  return form([
    h("div", { class: "checks", id: "report-kinds" }, boxes),
    field(t("reports.external"), select("external", CHANNELS, (c) => label("reportchannel", c), { selected: sub.external })),
    h("p", { class: "muted small" }, t("reports.external_hint")),
  ], async (v) => {
    await api("reporting", "reports/subscriptions/mine", { method: "PUT",
      body: { daily: v.daily, weekly: v.weekly, monthly: v.monthly, external: v.external } });
    await reportsView(root, ctx);
  }, { submitLabel: t("reports.save"), done: t("reports.saved"), reset: false, id: "subscription-form" });
}

export async function reportsView(root, ctx) {
  const selected = ctx.args?.[0] ?? null;
  const admin = session.has("admin");
  const [sub, runs, everyone] = await Promise.all([
    api("reporting", "reports/subscriptions/mine"),
    api("reporting", "reports/deliveries", { query: { limit: 60 } }),
    admin ? api("reporting", "reports/subscriptions").catch(() => null) : null,
  ]);
  const summary = (r) => h("div", { class: "report-summary" }, figures(r.totals).map((line) => h("div", {}, line)));
  mount(root,
    h("h1", {}, t("dashboard.title")),
    h("div", { class: "panel" }, dashboardLink(ctx.config) ?? t("none")),
    h("h2", {}, t("reports.title")),
    h("div", { class: "panel" }, h("h3", {}, t("reports.mine")), subscriptionForm(sub, root, ctx)),
    h("h3", {}, t("reports.delivered")),
    table([
      { title: t("reports.kind"), cell: (r) => tag(label("reportkind", r.kind), `report-${r.kind}`) },
      { title: t("reports.period"), cell: (r) => h("div", {}, h("strong", {}, r.period),
        h("div", { class: "muted small" }, r.start === r.end ? r.start : `${r.start} – ${r.end}`)) },
      { title: t("reports.figures"), cell: summary },
      { title: t("reports.sent"), cell: (r) => h("div", {}, when(r.composed_at),
        h("div", { class: "muted small" }, t("reports.recipients", { n: r.recipients.length }))) },
      { title: "CSV", cell: (r) => h("button", { type: "button", class: "ghost csv", dataset: { report: r.id },
        onclick: () => download(r) }, t("reports.csv")) },
    ], runs, { rowClass: (r) => (r.id === selected ? "row-selected" : ""), empty: t("reports.none") }),
    everyone ? [h("h3", {}, t("reports.everyone")), table([
      { title: t("col.agent"), cell: (s) => `${s.name || s.staff_id} (${s.staff_id})` },
      { title: t("reports.role"), cell: (s) => (s.role ? t(`role.${s.role}`) : "") },
      { title: t("reports.kinds"), cell: (s) => KINDS.filter((k) => s[k]).map((k) => label("reportkind", k)).join(" · ") || t("none") },
      { title: t("reports.external"), cell: (s) => label("reportchannel", s.external) },
      { title: t("col.time"), cell: (s) => when(s.updated_at) },
    ], everyone, { empty: t("reports.nobody") })] : null);
}
