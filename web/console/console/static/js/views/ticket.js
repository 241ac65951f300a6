// Ticket detail: the conversation (opening message, customer messages, answers, internal notes, with the
// status/assignment events in between) and the reply box, customer (masked unless the role may see more),
// classification and why, assignment, SLA clock, and the actions the caller's role allows.
import { api } from "../api.js";
import { t, label, options } from "../i18n.js";
import * as session from "../session.js";
import { h, mount, tag, when, duration, slaState, form, field, select, toast, errorText, channelBadge } from "../ui.js";
import { incidentBox } from "../incidents.js";
import { slaCell } from "./agent.js";
import { suggestionPanel } from "./knowledge.js";
import { evidencePanel, loadEvidence } from "./evidence.js";

const enc = encodeURIComponent;

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? t("none"))]));
}

function action(title, content, { id, open = false } = {}) {
  return h("details", { class: "action", id, open }, h("summary", {}, title), content);
}

// the answer owed after the customer's latest message (SLA monitor's next-response target)
function nextResponse(clock) {
  const status = clock.next_response_status;
  if (!status || status === "none") return null;
  const text = {
    running: `${t("col.due")} ${when(clock.next_response_due)}`,
    paused: `${t("sla.paused")} · ${t("col.due")} ${when(clock.next_response_due)}`,
    answered: `${clock.next_response_met ? t("sla.met") : t("sla.late")} · ${when(clock.next_response_at)}`,
    stopped: t("sla.next_stopped"),
  }[status] ?? status;
  return [t("sla.next_response"), text];
}

function clockPanel(clock) {
  if (!clock) return h("p", { class: "muted" }, t("none"));
  const state = slaState(clock);
  return facts([
    [t("col.sla"), slaCell(clock)],
    [t("sla.first_response"), clock.first_response_at ? `${t("sla.met")} · ${when(clock.first_response_at)}` : `${t("col.due")} ${when(clock.first_response_due)}`],
    [t("sla.resolution"), clock.resolved_at ? `${when(clock.resolved_at)}` : `${t("col.due")} ${when(clock.resolution_due)}`],
    nextResponse(clock),
    [t("col.status"), label("clock", clock.status)],
    clock.paused_seconds ? [t("sla.paused"), duration(clock.paused_seconds)] : null,
    clock.breach_count ? [t("sla.breached"), String(clock.breach_count)] : null,
    clock.overdue_reasons?.length ? [t("overdue.code"), clock.overdue_reasons.map((r) => `${label("overdue", r.code)} (${r.recorded_by})`).join("; ")] : null,
    state.level === "none" ? null : [t("sla.policy"), `v${clock.policy_version} · ${clock.calendar_id ?? ""}`],
  ]);
}

function eventLine(e) {
  return [h("div", { class: "when" }, `${when(e.at)} · ${e.actor} · ${label("entry", e.kind)}${e.to_status ? ` → ${label("status", e.to_status)}` : ""}${e.visibility === "customer" ? ` · ${t("act.customer_visible")}` : ""}`),
    e.text ? h("div", { class: "text" }, e.text) : null];
}

/** The ticket's conversation: entries a person wrote to or about the customer. */
const SPOKEN = new Set(["customer_message", "reply", "contacted_customer", "note"]);

function size(bytes) {
  if (!Number.isFinite(bytes)) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10240 ? 1 : 0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function attachmentList(files) {
  if (!files?.length) return null;
  return h("div", { class: "attachments" }, h("span", { class: "muted small" }, `${t("conv.attachments")} (${files.length})`),
    h("ul", {}, files.map((f) => {
      const name = f.name || f.url || "—";
      // only web links are clickable (a customer's attachment never runs script in the console)
      const link = /^https?:\/\//i.test(f.url ?? "") ? h("a", { href: f.url, target: "_blank", rel: "noopener noreferrer" }, name) : name;
      return h("li", {}, link, f.size_bytes ? h("span", { class: "muted small" }, ` · ${size(f.size_bytes)}`) : null,
        f.content_type ? h("span", { class: "muted small" }, ` · ${f.content_type}`) : null);
    })));
}

/** The opening message's files: the ticket's attachments minus those a result added later. */
function openingFiles(ticket, entries) {
  const later = new Set(entries.filter((e) => e.kind === "result").flatMap((e) => e.data?.attachments ?? [])
    .map((f) => `${f.name}|${f.url}`));
  return (ticket.attachments ?? []).filter((f) => !later.has(`${f.name}|${f.url}`));
}

/** How intake threaded a message into this ticket (an unknown way shows as it is). */
function threadedBy(how) {
  const key = `conv.threaded.${how}`;
  const text = t(key);
  return text === key ? how : text;
}

function who(actor, assignment) {
  if (assignment?.agent_id && actor === assignment.agent_id && assignment.agent_name) return `${assignment.agent_name} (${actor})`;
  return actor;
}

function bubble(side, head, body, { internal = false, cls = "" } = {}) {
  return h("li", { class: `msg ${side}${internal ? " internal" : ""} ${cls}`.trim() },
    h("div", { class: "bubble" }, h("div", { class: "head" }, head), body));
}

/**
 * One chronological thread: the opening message (the ticket's subject and description), the customer's
 * further messages and the agents' answers as chat bubbles (customer left, staff right; internal notes
 * marked as internal), and every other timeline entry — status, assignment, result … — as a compact
 * line in between, so nothing of the old timeline is lost.
 */
function threadList(ticket, entries, assignment) {
  const items = [{ at: ticket.created_at, order: 0, opening: true }, ...entries.map((e, i) => ({ ...e, order: i + 1 }))];
  items.sort((a, b) => (Date.parse(a.at) - Date.parse(b.at)) || a.order - b.order);
  return h("ol", { class: "thread", id: "timeline" }, items.map((e) => {
    if (e.opening) {
      return bubble("customer", [channelBadge(ticket.channel), h("strong", {}, t("conv.customer")),
        h("span", {}, ticket.customer_display ?? ""), h("span", { class: "muted" }, `${t("conv.opening")} · ${when(ticket.created_at)}`)],
      [ticket.subject ? h("div", { class: "subject" }, ticket.subject) : null, h("div", { class: "text" }, ticket.description || t("conv.no_text")),
        attachmentList(openingFiles(ticket, entries))], { cls: "opening" });
    }
    if (e.kind === "customer_message") {
      const d = e.data ?? {};
      const channel = d.channel ?? (e.actor?.startsWith("customer:") ? e.actor.slice(9) : null);
      return bubble("customer", [channelBadge(channel), h("strong", {}, t("conv.customer")),
        h("span", { class: "muted" }, when(e.at)),
        d.threaded_by ? h("span", { class: "muted small" }, `· ${threadedBy(d.threaded_by)}`) : null],
      [h("div", { class: "text" }, e.text || t("conv.no_text")), attachmentList(d.attachments)]);
    }
    if (SPOKEN.has(e.kind)) {
      const internal = e.visibility !== "customer";
      return bubble("agent", [h("strong", {}, who(e.actor, assignment)), h("span", {}, label("entry", e.kind)),
        h("span", { class: "muted" }, when(e.at)), internal ? h("span", { class: "tag internal" }, t("conv.internal")) : null],
      [h("div", { class: "text" }, e.text), attachmentList(e.data?.attachments)], { internal, cls: `kind-${e.kind}` });
    }
    return h("li", { class: `event kind-${e.kind}` }, eventLine(e));
  }));
}

/** The marker next to the reply box: since when the customer waits for an answer. */
export function awaitingNotice(since) {
  if (!since) return null;
  const waited = (Date.now() - Date.parse(since)) / 1000;
  return h("div", { class: "notice warn awaiting", id: "awaiting", role: "status" },
    h("strong", {}, t("conv.awaiting", { t: when(since) })), h("span", {}, ` · ${t("conv.waited", { d: duration(waited) })}`));
}

export async function ticketView(root, ctx) {
  const id = ctx.args[0];
  const supervisor = session.has("supervisor", "admin");
  const worker = session.has("agent", "supervisor");
  let ticket;
  try {
    ticket = await api("intake", `tickets/${enc(id)}`);
  } catch (err) {
    mount(root, h("div", { class: "notice bad" }, err.status === 404 ? t("ticket.not_found") : errorText(err)));
    return;
  }
  const soft = (p) => p.catch(() => null);
  const active = !["resolved", "closed"].includes(ticket.status);
  const awaiting = ticket.awaiting_reply_since ?? null;
  // the answer box sits under the conversation; a customer who wrote on a resolved ticket may be answered too
  const canReply = worker && (active || (awaiting && ticket.status !== "closed"));
  const [timeline, classification, assignment, clock, customer, suggested, evidence] = await Promise.all([
    soft(api("intake", `tickets/${enc(id)}/timeline`)),
    soft(api("classifier", `classifications/${enc(id)}`)),
    soft(api("dispatcher", `assignments/${enc(id)}`)),
    soft(api("sla-monitor", `clocks/${enc(id)}`)),
    soft(api("intake", `customers/${enc(ticket.customer_id)}`)),
    // the knowledge base's suggestions for the answer (404 until the ticket is classified)
    canReply ? api("classifier", `tickets/${enc(id)}/suggestions`).then((answer) => ({ answer }), (failure) => ({ failure })) : null,
    loadEvidence(id),
  ]);
  const reload = () => ticketView(root, ctx);
  const post = (service, path, body) => api(service, path, { method: "POST", body });
  const mine = assignment && assignment.agent_id === session.staffId() && assignment.status === "assigned";
  const result = classification?.result;

  const actions = [];
  if (mine && !assignment.acknowledged_at) {
    actions.push(h("button", { type: "button", id: "ack", onclick: async (e) => {
      e.currentTarget.disabled = true;
      try { await post("dispatcher", `assignments/${enc(id)}/ack`); toast(t("queue.confirmed")); } catch (err) { toast(errorText(err), "bad"); }
      reload();
    } }, t("act.ack")));
  }
  const replyText = h("textarea", { name: "text", required: true, maxlength: 5000, placeholder: t("conv.reply_ph"), "aria-label": t("act.reply") });
  const replyBox = canReply
    ? h("div", { class: "reply-box", id: "act-reply" }, h("h3", {}, t("act.reply")), awaitingNotice(awaiting),
      form(replyText,
        async (v) => { await post("intake", `tickets/${enc(id)}/responses`, { text: v.text }); reload(); },
        { id: "reply-form", submitLabel: t("conv.send") }))
    : awaitingNotice(awaiting);
  const suggestions = canReply && suggested
    ? suggestionPanel({ ticketId: id, ticket, customer, clock, answer: suggested.answer, failure: suggested.failure, reply: replyText })
    : null;
  if (worker && active) {
    actions.push(action(t("act.note"), form([
      field(t("act.note_text"), h("textarea", { name: "text", required: true, maxlength: 5000, placeholder: t("act.note_ph") })),
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "contacted_customer" }), t("act.contacted")),
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "customer_visible" }), t("act.customer_visible")),
    ], async (v) => {
      await post("intake", `tickets/${enc(id)}/notes`, { text: v.text, contacted_customer: v.contacted_customer,
        visibility: v.customer_visible ? "customer" : "internal" });
      reload();
    }, { id: "note-form" }), { id: "act-note" }));
    actions.push(action(t("act.status"), form(h("div", { class: "row" },
      field(t("act.status_to"), select("status", ["in_progress", "pending_customer"], (s) => label("status", s))),
      field(t("act.reason"), h("input", { name: "reason", maxlength: 1000 }))),
    async (v) => { await post("intake", `tickets/${enc(id)}/status`, { status: v.status, reason: v.reason }); reload(); },
    { id: "status-form" }), { id: "act-status" }));
    actions.push(action(t("act.resolve"), form([
      field(t("act.summary"), h("textarea", { name: "summary", required: true, maxlength: 5000 })),
      h("div", { class: "row" },
        field(t("act.solution"), select("solution_type", options("solution"), (s) => label("solution", s), { blank: "—" })),
        field(t("act.compensation"), h("input", { name: "amount", type: "number", min: 0, step: "0.01" }))),
    ], async (v) => {
      const body = { summary: v.summary };
      if (v.solution_type) body.solution_type = v.solution_type;
      if (v.amount) body.compensation = { kind: "coupon", amount_cny: Number(v.amount) };
      await post("intake", `tickets/${enc(id)}/resolve`, body);
      reload();
    }, { id: "resolve-form" }), { id: "act-resolve" }));
    const teams = options("team");
    actions.push(action(t("act.transfer"), form([
      h("div", { class: "row" },
        field(t("act.to_agent"), h("input", { name: "to_agent_id", pattern: "[A-Za-z0-9_\\-]{1,32}" })),
        field(t("act.to_team"), select("to_team", teams, (x) => label("team", x), { blank: "—" }))),
      h("div", { class: "row" },
        field(t("act.reason"), h("input", { name: "reason", required: true, minlength: 2, maxlength: 500 })),
        field(t("act.expected"), h("input", { name: "expected_minutes", type: "number", min: 1 }))),
    ], async (v) => {
      const body = { reason: v.reason };
      if (v.to_agent_id) body.to_agent_id = v.to_agent_id.trim();
      if (v.to_team) body.to_team = v.to_team;
      if (v.expected_minutes) body.expected_minutes = Number(v.expected_minutes);
      const path = supervisor ? "reassign" : "transfer";
      await post("dispatcher", `assignments/${enc(id)}/${path}`, body);
      reload();
    }, { id: "transfer-form", submitLabel: supervisor ? t("act.reassign") : t("act.transfer") }),
    { id: "act-transfer" }));
    actions.push(action(t("act.help"), form([
      h("div", { class: "row" },
        field(t("act.responder"), h("input", { name: "responder_id", pattern: "[A-Za-z0-9_\\-]{1,32}" })),
        field(t("act.to_team"), select("team", teams, (x) => label("team", x), { blank: "—" })),
        field(t("act.due_minutes"), h("input", { name: "due_minutes", type: "number", min: 5, value: 120, required: true }))),
      field(t("act.question"), h("textarea", { name: "question", required: true, minlength: 2, maxlength: 2000 })),
    ], async (v) => {
      const body = { question: v.question, due_minutes: Number(v.due_minutes) };
      if (v.responder_id) body.responder_id = v.responder_id.trim();
      if (v.team) body.team = v.team;
      await post("dispatcher", `assignments/${enc(id)}/help`, body);
      reload();
    }, { id: "help-form" }), { id: "act-help" }));
  }
  if (worker && ticket.status === "resolved") {
    actions.push(action(t("act.close"), form(field(t("act.reason"), h("input", { name: "reason", maxlength: 1000 })),
      async (v) => { await post("intake", `tickets/${enc(id)}/close`, { reason: v.reason }); reload(); }, { id: "close-form" }), { id: "act-close" }));
  }
  if (worker && ["resolved", "closed"].includes(ticket.status)) {
    actions.push(action(t("act.reopen"), form(field(t("act.reason"), h("input", { name: "reason", required: true, maxlength: 1000 })),
      async (v) => { await post("intake", `tickets/${enc(id)}/reopen`, { reason: v.reason }); reload(); }, { id: "reopen-form" }), { id: "act-reopen" }));
  }
  if (supervisor && result) {
    actions.push(action(t("act.override"), form([
      h("p", { class: "muted small" }, t("act.override_hint")),
      h("div", { class: "row" },
        field(t("col.category"), select("category", options("category"), (x) => label("category", x), { selected: result.category })),
        field(t("ticket.module"), select("module", options("module"), (x) => label("module", x), { selected: result.module })),
        field(t("col.priority"), select("priority", ["P1", "P2", "P3", "P4"], (x) => x, { selected: result.priority }))),
      field(t("act.reason"), h("input", { name: "reason", required: true, maxlength: 500 })),
    ], async (v) => {
      const body = { reason: v.reason, expected_revision: classification.revision };
      for (const k of ["category", "module", "priority"]) if (v[k] !== result[k]) body[k] = v[k];
      await post("classifier", `classifications/${enc(id)}/override`, body);
      reload();
    }, { id: "override-form" }), { id: "act-override" }));
  }
  if (clock && clock.breach_count > 0) {
    actions.push(action(t("act.overdue"), overdueForm(id, reload), { id: "act-overdue", open: supervisor && !clock.overdue_reasons?.length }));
  }

  const crisis = await incidentBox(assignment, clock, canReply ? replyText : null);
  const ex = result?.explanation;
  mount(root,
    h("div", { class: "toolbar" }, h("a", { href: "#/queue" }, `← ${t("back")}`),
      h("h1", {}, t("ticket.title", { no: ticket.ticket_no })), tag(ticket.priority ?? "—", ticket.priority),
      tag(label("status", ticket.status)), awaiting ? tag(t("queue.awaiting"), "awaiting") : null,
      h("span", { class: "spacer" }), clock ? slaCell(clock) : null),
    h("div", { class: "grid2" },
      h("div", {},
        h("section", { class: "panel", id: "conversation" },
          h("div", { class: "toolbar" }, h("h2", {}, ticket.subject || t("ticket.description")), h("span", { class: "spacer" }),
            ticket.customer_messages ? h("span", { class: "muted small" }, t("conv.count", { n: ticket.customer_messages })) : null),
          facts([[t("col.channel"), channelBadge(ticket.channel)], [t("ticket.order"), ticket.order_number],
            [t("ticket.created"), when(ticket.created_at)],
            ticket.resolution_summary ? [t("ticket.result"), ticket.resolution_summary] : null]),
          h("h3", {}, t("conv.title")),
          threadList(ticket, timeline ?? [], assignment),
          crisis,
          suggestions,
          replyBox),
        evidencePanel(ticket, evidence, reload),
        actions.length ? h("section", { class: "panel" }, h("h2", {}, t("actions")), h("div", { class: "actions", id: "actions" }, actions)) : null),
      h("div", {},
        h("section", { class: "panel", id: "customer" }, h("h2", {}, t("ticket.customer")),
          facts([[t("staff.name"), customer?.name ?? ticket.customer_display], ["☎", customer?.phone], ["✉", customer?.email],
            [t("ticket.tier"), label("tier", ticket.customer_tier)],
            customer?.company_name ? ["🏢", customer.company_name] : null])),
        h("section", { class: "panel", id: "classification" }, h("h2", {}, t("ticket.classification")),
          result ? facts([
            [t("col.category"), label("category", result.category)], [t("ticket.module"), label("module", result.module)],
            [t("col.priority"), tag(result.priority, result.priority)],
            [t("ticket.confidence"), `${Math.round(result.confidence * 100)}%${result.needs_review ? " · " : ""}`],
            result.needs_review ? [t("ticket.needs_review"), tag(t("yes"), "review")] : null,
            [t("ticket.method"), label("method", ex?.method)], ex?.rule_id ? [t("ticket.rule"), ex.rule_id] : null,
            ex?.matched_terms?.length ? [t("ticket.matched"), ex.matched_terms.join("、")] : null,
            ex?.detail ? [t("ticket.explanation"), ex.detail] : null,
            [t("ticket.version"), result.classifier_version],
          ]) : h("p", { class: "muted" }, t("none"))),
        h("section", { class: "panel", id: "assignment" }, h("h2", {}, t("ticket.assignment")),
          assignment ? [facts([[t("col.status"), label("assignment", assignment.status)],
            [t("col.agent"), assignment.agent_name ? `${assignment.agent_name} (${assignment.agent_id})` : null],
            [t("col.team"), label("team", assignment.team)], [t("col.reason"), assignment.reason],
            [t("queue.confirm"), assignment.acknowledged_at ? when(assignment.acknowledged_at) : t("no")]]),
            h("details", {}, h("summary", {}, t("ticket.history")), h("ul", {}, assignment.history.map((d) =>
              h("li", { class: "small" }, `${when(d.at)} ${d.kind} ${d.agent_id ?? ""} — ${d.reason} (${d.by})`))))]
            : h("p", { class: "muted" }, t("none"))),
        h("section", { class: "panel", id: "clock" }, h("h2", {}, t("ticket.clock")), clockPanel(clock)))));
}

export function overdueForm(ticketId, after) {
  return form([
    h("div", { class: "row" },
      field(t("overdue.code"), select("code", options("overdue"), (x) => label("overdue", x))),
      field(t("overdue.note"), h("input", { name: "note", maxlength: 500 }))),
  ], async (v) => {
    await api("sla-monitor", `clocks/${enc(ticketId)}/overdue-reasons`, { method: "POST", body: { code: v.code, note: v.note } });
    await after();
  }, { submitLabel: t("overdue.approve"), id: `overdue-${ticketId}` });
}
