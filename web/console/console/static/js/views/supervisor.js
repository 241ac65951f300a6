// The supervisor's screens: team members and load, team and unassigned queues, overdue approval (the
// dashboard page with the scheduled reports is views/reports.js). Reassigning and correcting a
// classification happen on the ticket page.
import { api } from "../api.js";
import { t, label, options } from "../i18n.js";
import * as session from "../session.js";
import { h, mount, table, tag, when, toast, errorText } from "../ui.js";
import { clocksOf, slaCell, slaRowClass, openTicket } from "./agent.js";
import { overdueForm } from "./ticket.js";

const enc = encodeURIComponent;
let chosenTeam = null;

function teamPicker(value, onChange) {
  return h("label", { class: "inline" }, t("team.pick"),
    h("select", { id: "team-pick", onchange: (e) => onChange(e.target.value) },
      options("team").map((x) => h("option", { value: x, selected: x === value }, label("team", x)))));
}

function loadBar(member) {
  const ratio = Math.min(1, member.load_ratio);
  const fill = h("span");
  fill.style.width = `${Math.round(ratio * 100)}%`;  // CSSOM, allowed by the page's CSP (no inline styles)
  return h("span", {}, h("span", { class: `load ${ratio >= 0.8 ? "high" : ""}` }, fill), ` ${member.open_count}/${member.capacity}`);
}

export async function teamView(root) {
  const admin = session.has("admin");
  const team = (admin ? chosenTeam : session.team()) || chosenTeam || "frontline";
  const [staff, queued] = await Promise.all([
    api("dispatcher", "staff", { query: { team } }),
    api("dispatcher", `queues/${enc(team)}`, { query: { limit: 200 } }),
  ]);
  const agents = staff.filter((m) => ["agent", "senior_agent"].includes(m.role));
  const openTickets = await api("intake", "tickets", { query: { status: ["assigned", "in_progress", "pending_customer", "reopened"], limit: 200 } })
    .catch(() => []);
  const teamIds = new Set(agents.map((a) => a.staff_id));
  const working = openTickets.filter((tk) => teamIds.has(tk.assignee_id));
  const clocks = await clocksOf([...working, ...queued].map((x) => x.ticket_id));
  const duty = async (member, on) => {
    try {
      await api("dispatcher", `staff/${enc(member.staff_id)}/duty`, { method: "PUT", body: { on_duty: on } });
      await teamView(root);
    } catch (err) { toast(errorText(err), "bad"); }
  };
  mount(root,
    h("div", { class: "toolbar" }, h("h1", {}, `${t("team.title")} · ${label("team", team)}`), h("span", { class: "spacer" }),
      admin ? teamPicker(team, (v) => { chosenTeam = v; teamView(root); }) : null),
    h("section", { class: "panel" }, h("h2", {}, t("team.staff")),
      table([
        { title: t("staff.id"), cell: (m) => m.staff_id },
        { title: t("staff.name"), cell: (m) => m.name },
        { title: t("col.role"), cell: (m) => label("position", m.role) },
        { title: t("col.load"), cell: (m) => loadBar(m) },
        { title: t("col.skills"), cell: (m) => m.skills.join("、") },
        { title: t("col.duty"), cell: (m) => [tag(m.on_duty ? t("staff.on") : t("staff.off"), m.on_duty ? "sla-ok" : ""), " ",
          h("button", { type: "button", class: "ghost", onclick: () => duty(m, !m.on_duty) }, m.on_duty ? t("staff.set_off") : t("staff.set_on"))] },
      ], agents)),
    h("section", { class: "panel" }, h("h2", {}, t("nav.team")),
      table([
        { title: t("col.ticket"), cell: (r) => h("a", { href: `#/ticket/${enc(r.ticket_id)}` }, r.ticket_no) },
        { title: t("col.subject"), cell: (r) => r.subject },
        { title: t("col.priority"), cell: (r) => tag(r.priority ?? "—", r.priority) },
        { title: t("col.agent"), cell: (r) => r.assignee_name ? `${r.assignee_name} (${r.assignee_id})` : r.assignee_id },
        { title: t("col.status"), cell: (r) => label("status", r.status) },
        { title: t("col.sla"), cell: (r) => slaCell(clocks.get(r.ticket_id)) },
      ], working, { rowClass: (r) => slaRowClass(clocks.get(r.ticket_id)), onRow: openTicket, empty: t("queue.empty") })),
    h("section", { class: "panel" }, h("h2", {}, t("team.queue")), waitingTable(queued, clocks)));
}

function waitingTable(rows, clocks) {
  return table([
    { title: t("col.ticket"), cell: (r) => h("a", { href: `#/ticket/${enc(r.ticket_id)}` }, r.ticket_no) },
    { title: t("col.priority"), cell: (r) => tag(r.priority ?? "—", r.priority) },
    { title: t("col.category"), cell: (r) => label("category", r.category) },
    { title: t("col.team"), cell: (r) => label("team", r.team) },
    { title: t("col.waiting"), cell: (r) => when(r.waiting_since) },
    { title: t("col.reason"), cell: (r) => r.reason },
    { title: t("col.sla"), cell: (r) => slaCell(clocks.get(r.ticket_id)) },
  ], rows, { rowClass: (r) => slaRowClass(clocks.get(r.ticket_id)), onRow: openTicket, empty: t("waiting.empty") });
}

export async function waitingView(root) {
  const teams = options("team");
  const lists = await Promise.all(teams.map((team) => api("dispatcher", `queues/${enc(team)}`, { query: { limit: 200 } }).catch(() => [])));
  const rows = lists.flat();
  const clocks = await clocksOf(rows.map((r) => r.ticket_id));
  mount(root, h("div", { class: "toolbar" }, h("h1", {}, t("waiting.title")), h("span", { class: "muted small" }, t("waiting.hint"))),
    waitingTable(rows, clocks));
}

let includeApproved = false;

export async function overdueView(root) {
  const admin = session.has("admin");
  const team = admin ? null : session.team();
  const clocks = await api("sla-monitor", "clocks/overdue", { query: { team, unexplained: !includeApproved, limit: 200 } });
  mount(root,
    h("div", { class: "toolbar" }, h("h1", {}, t("overdue.title")), h("span", { class: "spacer" }),
      h("label", { class: "inline" }, h("input", { type: "checkbox", checked: includeApproved,
        onchange: (e) => { includeApproved = e.target.checked; overdueView(root); } }), t("overdue.show_all"))),
    h("p", { class: "muted small" }, t("overdue.hint")),
    table([
      { title: t("col.ticket"), cell: (c) => h("a", { href: `#/ticket/${enc(c.ticket_id)}` }, c.ticket_no) },
      { title: t("col.priority"), cell: (c) => tag(c.priority, c.priority) },
      { title: t("col.team"), cell: (c) => label("team", c.team) },
      { title: t("col.agent"), cell: (c) => c.agent_id ?? "" },
      { title: t("col.sla"), cell: (c) => slaCell(c) },
      { title: t("overdue.code"), cell: (c) => c.overdue_reasons?.length
        ? c.overdue_reasons.map((r) => `${label("overdue", r.code)} · ${r.recorded_by}`).join("; ")
        : overdueForm(c.ticket_id, () => overdueView(root)) },
    ], clocks, { rowClass: () => "row-breached", empty: t("overdue.empty") }));
}
