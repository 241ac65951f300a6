// The agent's screens: my queue (by SLA due, coloured), notifications inbox, collaboration requests.
import { api } from "../api.js";
import { t, label } from "../i18n.js";
import * as session from "../session.js";
import { h, mount, table, tag, when, slaState, toast, errorText, form, field } from "../ui.js";

const OPEN = ["assigned", "in_progress", "pending_customer", "reopened", "needs_info"];

/** Clocks of many tickets in one call per 200, keyed by ticket id. */
export async function clocksOf(ticketIds) {
  const out = new Map();
  for (let i = 0; i < ticketIds.length; i += 200) {
    const chunk = ticketIds.slice(i, i + 200);
    if (!chunk.length) continue;
    try {
      for (const clock of await api("sla-monitor", "clocks", { query: { ticket_id: chunk } })) out.set(clock.ticket_id, clock);
    } catch {
      /* no colours rather than no queue */
    }
  }
  return out;
}

export function slaCell(clock) {
  const s = slaState(clock);
  return tag(s.text, `sla-${s.level}`);
}

export function slaRowClass(clock) {
  const level = slaState(clock).level;
  return level === "breached" ? "row-breached" : level === "warning" ? "row-warning" : "";
}

export function openTicket(row) {
  location.hash = `#/ticket/${encodeURIComponent(row.ticket_id)}`;
}

export async function queueView(root) {
  const [assignments, tickets] = await Promise.all([
    api("dispatcher", "queue/mine", { query: { limit: 200 } }),
    api("intake", "tickets", { query: { assignee_id: session.staffId(), status: OPEN, limit: 200 } }).catch(() => []),
  ]);
  const byId = new Map(tickets.map((tk) => [tk.ticket_id, tk]));
  const clocks = await clocksOf(assignments.map((a) => a.ticket_id));
  const far = 8.64e15;
  const rows = assignments.map((a) => ({ ...a, ticket: byId.get(a.ticket_id), clock: clocks.get(a.ticket_id) }));
  rows.sort((x, y) => {
    const dx = slaState(x.clock).due, dy = slaState(y.clock).due;
    return (dx ? Date.parse(dx) : far) - (dy ? Date.parse(dy) : far) || x.priority_rank - y.priority_rank;
  });
  const confirm = async (row, button) => {
    button.disabled = true;
    try {
      await api("dispatcher", `assignments/${encodeURIComponent(row.ticket_id)}/ack`, { method: "POST" });
      toast(t("queue.confirmed"));
      await queueView(root);
    } catch (err) {
      toast(errorText(err), "bad");
      button.disabled = false;
    }
  };
  mount(root,
    h("div", { class: "toolbar" }, h("h1", {}, t("queue.title")), h("span", { class: "spacer" }),
      h("span", { class: "muted small" }, t("queue.hint")),
      h("button", { class: "ghost", type: "button", onclick: () => queueView(root) }, t("refresh"))),
    table([
      { title: t("col.ticket"), cell: (r) => h("a", { href: `#/ticket/${encodeURIComponent(r.ticket_id)}` }, r.ticket_no) },
      { title: t("col.subject"), cell: (r) => r.ticket?.subject || r.ticket?.description?.slice(0, 40) || "" },
      { title: t("col.priority"), cell: (r) => tag(r.priority ?? "—", r.priority) },
      { title: t("col.category"), cell: (r) => label("category", r.category) },
      { title: t("col.channel"), cell: (r) => label("channel", r.channel) },
      { title: t("col.customer"), cell: (r) => [r.ticket?.customer_display ?? "", " ", r.customer_tier !== "normal" ? tag(label("tier", r.customer_tier)) : null] },
      { title: t("col.status"), cell: (r) => label("status", r.ticket?.status ?? "assigned") },
      { title: t("col.sla"), cell: (r) => slaCell(r.clock) },
      { title: t("actions"), cell: (r) => r.acknowledged_at ? h("span", { class: "muted small" }, t("queue.confirmed"))
        : h("button", { type: "button", class: "confirm", onclick: (e) => confirm(r, e.currentTarget) }, t("queue.confirm")) },
    ], rows, { rowClass: (r) => slaRowClass(r.clock), onRow: openTicket, empty: t("queue.empty") }));
}

export async function notificationsView(root) {
  const inbox = await api("dispatcher", "notifications/mine", { query: { limit: 100 } });
  const markAll = async () => {
    await api("dispatcher", "notifications/read-all", { method: "POST" });
    await notificationsView(root);
  };
  const open = async (n) => {
    if (n.status !== "read") await api("dispatcher", `notifications/${encodeURIComponent(n.id)}/read`, { method: "POST" }).catch(() => null);
    if (n.ticket_id) location.hash = `#/ticket/${encodeURIComponent(n.ticket_id)}`;
    else await notificationsView(root);
  };
  mount(root,
    h("div", { class: "toolbar" }, h("h1", {}, t("notif.title")), tag(t("notif.unread", { n: inbox.unread }), inbox.unread ? "unread" : ""),
      h("span", { class: "spacer" }),
      h("button", { type: "button", class: "ghost", onclick: markAll, disabled: inbox.unread === 0, id: "read-all" }, t("notif.read_all"))),
    table([
      { title: "", cell: (n) => n.read_at ? "" : tag("●", "unread") },
      { title: t("col.due"), cell: (n) => when(n.created_at) },
      { title: t("col.subject"), cell: (n) => h("strong", {}, n.subject) },
      { title: t("col.reason"), cell: (n) => n.body },
      { title: t("actions"), cell: (n) => n.read_at ? "" : h("button", { type: "button", class: "ghost", onclick: () => open({ ...n, ticket_id: null }) }, t("notif.mark")) },
    ], inbox.items, { onRow: open, rowClass: (n) => (n.kind === "sla.breached" && !n.read_at ? "row-breached" : n.kind === "sla.warning" && !n.read_at ? "row-warning" : ""),
      empty: t("notif.empty") }));
}

export async function collaborationView(root) {
  const items = await api("dispatcher", "collaborations/mine", { query: { limit: 100 } });
  const me = session.staffId();
  mount(root, h("h1", {}, t("collab.title")),
    items.length ? items.map((c) => h("div", { class: "panel" },
      h("div", { class: "toolbar" }, h("a", { href: `#/ticket/${encodeURIComponent(c.ticket_id)}` }, c.ticket_no),
        tag(c.status), h("span", { class: "muted small" }, `${t("collab.asked")}: ${c.requester_id} → ${c.responder_id} · ${t("col.due")} ${when(c.due_at)}`)),
      h("p", {}, c.question),
      c.answer ? h("p", { class: "notice" }, c.answer) : null,
      !c.answer && c.responder_id === me ? form(field(t("collab.answer"), h("textarea", { name: "answer", required: true, maxlength: 4000 })),
        async (v) => { await api("dispatcher", `collaborations/${encodeURIComponent(c.id)}/answer`, { method: "POST", body: { answer: v.answer } }); await collaborationView(root); },
        { submitLabel: t("collab.answer") }) : null))
      : h("div", { class: "empty panel" }, t("collab.empty")));
}
