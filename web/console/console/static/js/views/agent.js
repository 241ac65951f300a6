// The agent's screens: my queue (customers waiting for an answer first, then by SLA due, coloured),
// notifications inbox, collaboration requests.
import { api } from "../api.js";
import { t, label } from "../i18n.js";
import * as session from "../session.js";
import { h, mount, table, tag, when, duration, slaState, toast, errorText, form, field, channelBadge } from "../ui.js";

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

/** When the customer started waiting for an answer (ms), or null: intake's ``awaiting_reply_since``. */
function awaitingSince(row) {
  const since = row.ticket?.awaiting_reply_since;
  const ms = since ? Date.parse(since) : NaN;
  return Number.isFinite(ms) ? ms : null;
}

function awaitingBadge(row) {
  const since = awaitingSince(row);
  if (since === null) return null;
  const n = row.ticket?.customer_messages;
  return h("div", { class: "awaiting-line" }, tag(t("queue.awaiting"), "awaiting"),
    h("span", { class: "small", title: when(row.ticket.awaiting_reply_since) }, ` ${t("queue.waiting_for", { d: duration((Date.now() - since) / 1000) })}`),
    n ? h("span", { class: "muted small" }, ` · ${t("queue.messages", { n })}`) : null);
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
  // a customer waiting for an answer comes first (the longest wait first); the rest by SLA due, then priority
  rows.sort((x, y) => {
    const wx = awaitingSince(x), wy = awaitingSince(y);
    if ((wx === null) !== (wy === null)) return wx === null ? 1 : -1;
    if (wx !== null && wx !== wy) return wx - wy;
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
      { title: t("col.ticket"), cell: (r) => [h("a", { href: `#/ticket/${encodeURIComponent(r.ticket_id)}` }, r.ticket_no),
        awaitingBadge(r)] },
      { title: t("col.subject"), cell: (r) => r.ticket?.subject || r.ticket?.description?.slice(0, 40) || "" },
      { title: t("col.priority"), cell: (r) => tag(r.priority ?? "—", r.priority) },
      { title: t("col.category"), cell: (r) => label("category", r.category) },
      { title: t("col.channel"), cell: (r) => channelBadge(r.channel) },
      { title: t("col.customer"), cell: (r) => [r.ticket?.customer_display ?? "", " ", r.customer_tier !== "normal" ? tag(label("tier", r.customer_tier)) : null] },
      { title: t("col.status"), cell: (r) => label("status", r.ticket?.status ?? "assigned") },
      { title: t("col.sla"), cell: (r) => slaCell(r.clock) },
      { title: t("actions"), cell: (r) => r.acknowledged_at ? h("span", { class: "muted small" }, t("queue.confirmed"))
        : h("button", { type: "button", class: "confirm", onclick: (e) => confirm(r, e.currentTarget) }, t("queue.confirm")) },
    ], rows, { rowClass: (r) => [awaitingSince(r) !== null ? "row-awaiting" : "", slaRowClass(r.clock)].join(" ").trim(),
      onRow: openTicket, empty: t("queue.empty") }));
}

/** A notification's headline in the reader's language when its kind carries structured facts. */
export function notificationSubject(n) {
  const d = n.data ?? {};
  if (n.kind === "ticket.customer_replied" && d.ticket_no) {
    return t("notif.customer_replied", { no: d.ticket_no, ch: label("channel", d.channel) }) + (d.unassigned ? t("notif.unassigned") : "");
  }
  return n.subject;
}

export function notificationBody(n) {
  const d = n.data ?? {};
  if (n.kind === "report.ready" && d.report_id) {
    // a scheduled report: its headline lines (the first line of the body is the title, shown as the subject)
    return [n.body.split("\n").slice(1).map((line) => h("div", { class: "small" }, line)),
      h("a", { href: `#/dashboard/${encodeURIComponent(d.report_id)}`, class: "report-link" }, t("reports.open"))];
  }
  if (n.kind !== "ticket.customer_replied" || !d.ticket_no) return n.body;
  const facts = [d.attachments ? t("notif.attachments", { n: d.attachments }) : null,
    d.reply_count ? t("notif.nth", { n: d.reply_count }) : null,
    d.threaded_by === "reopened" ? t("conv.threaded.reopened") : null].filter(Boolean);
  return [h("div", { class: "excerpt" }, d.excerpt ? `“${d.excerpt}”` : t("conv.no_text")),
    facts.length ? h("div", { class: "muted small" }, facts.join(" · ")) : null];
}

export async function notificationsView(root) {
  const inbox = await api("dispatcher", "notifications/mine", { query: { limit: 100 } });
  const markAll = async () => {
    await api("dispatcher", "notifications/read-all", { method: "POST" });
    await notificationsView(root);
  };
  const open = async (n, follow = true) => {
    if (n.status !== "read") await api("dispatcher", `notifications/${encodeURIComponent(n.id)}/read`, { method: "POST" }).catch(() => null);
    if (follow && n.ticket_id) location.hash = `#/ticket/${encodeURIComponent(n.ticket_id)}`;
    else if (follow && n.kind === "report.ready" && n.data?.report_id) location.hash = `#/dashboard/${encodeURIComponent(n.data.report_id)}`;
    else await notificationsView(root);
  };
  mount(root,
    h("div", { class: "toolbar" }, h("h1", {}, t("notif.title")), tag(t("notif.unread", { n: inbox.unread }), inbox.unread ? "unread" : ""),
      h("span", { class: "spacer" }),
      h("button", { type: "button", class: "ghost", onclick: markAll, disabled: inbox.unread === 0, id: "read-all" }, t("notif.read_all"))),
    table([
      { title: "", cell: (n) => n.read_at ? "" : tag("●", "unread") },
      { title: t("col.time"), cell: (n) => when(n.created_at) },
      { title: t("col.kind"), cell: (n) => tag(label("notif", n.kind), `kind-${n.kind.replace(/\./g, "-")}`) },
      { title: t("col.subject"), cell: (n) => h("strong", {}, notificationSubject(n)) },
      { title: t("col.details"), cell: (n) => notificationBody(n) },
      { title: t("actions"), cell: (n) => n.read_at ? "" : h("button", { type: "button", class: "ghost", onclick: () => open(n, false) }, t("notif.mark")) },
    ], inbox.items, { onRow: open, rowClass: (n) => (n.read_at ? "" : n.kind === "sla.breached" ? "row-breached"
      : n.kind === "sla.warning" ? "row-warning" : n.kind === "ticket.customer_replied" ? "row-awaiting" : ""),
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
