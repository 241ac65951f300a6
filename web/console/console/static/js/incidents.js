// Crisis mode (issue 19) in the frame: the banner every signed-in staff member sees on every page while an
// incident is open (title, since when, the approved reply text), and the ticket page's incident box with the
// button that puts the approved text into the reply box. The supervisor's screen is views/incidents.js.
import { api } from "./api.js";
import { t } from "./i18n.js";
import * as session from "./session.js";
import { h, mount, when, tag } from "./ui.js";

let open = [];
let drawn = "";  // what the banner shows now: redrawn only when it changes (a selection in it survives polling)

/** The open incidents as last read (newest first). */
export function openIncidents() {
  return open;
}

/** Read the open incidents and redraw the banner (hidden when there is none or nobody is signed in). */
export async function refreshBanner() {
  const el = document.getElementById("incident-banner");
  if (!el) return;
  if (!session.claims() || session.mustChangePassword()) {
    open = [];
    drawn = "";
    el.hidden = true;
    return;
  }
  try {
    open = await api("dispatcher", "incidents", { query: { status: "open", limit: 10 } });
  } catch {
    return;  // the banner keeps what it showed
  }
  drawBanner(el);
}

export function drawBanner(el = document.getElementById("incident-banner")) {
  if (!el) return;
  const manage = session.has("supervisor", "admin");
  const key = JSON.stringify([document.documentElement.lang, manage, open.map((i) => [i.incident_id, i.version])]);
  if (key === drawn) return;
  drawn = key;
  el.hidden = open.length === 0;
  mount(el, open.map((i) => h("div", { class: "incident", dataset: { incidentId: i.incident_id } },
    h("div", { class: "incident-head" },
      h("strong", {}, t("inc.banner", { title: i.title })),
      h("span", { class: "incident-meta" }, t("inc.since", { t: when(i.opened_at), id: i.incident_id })),
      manage ? h("a", { href: "#/incidents", class: "incident-manage" }, t("inc.manage")) : null),
    i.reply_text ? h("div", { class: "incident-reply" }, h("span", { class: "incident-label" }, t("inc.reply_label")),
      h("span", { class: "incident-text" }, i.reply_text)) : null)));
}

/** Insert the approved text into a reply box: at the cursor, on its own paragraph when there is text. */
export function insertReply(textarea, text) {
  const start = textarea.selectionStart ?? textarea.value.length;
  const end = textarea.selectionEnd ?? start;
  const before = textarea.value.slice(0, start);
  const glue = before && !before.endsWith("\n") ? "\n" : "";
  textarea.value = `${before}${glue}${text}${textarea.value.slice(end)}`;
  const at = before.length + glue.length + text.length;
  textarea.setSelectionRange(at, at);
  textarea.focus();
  textarea.dispatchEvent(new Event("input", { bubbles: true }));
}

/** The ticket page's box for a ticket of an incident: which incident, its SLA, and the insert button. */
export async function incidentBox(assignment, clock, reply) {
  if (!assignment?.incident_id) return null;
  const id = assignment.incident_id;
  const incident = open.find((i) => i.incident_id === id)
    ?? await api("dispatcher", `incidents/${encodeURIComponent(id)}`).catch(() => null);
  const closed = incident?.status === "closed";
  const override = clock?.override?.policy === `incident:${id}` ? clock.override : null;
  return h("div", { class: "notice incident-box", id: "incident-box", dataset: { incidentId: id } },
    h("div", {}, tag(t("inc.tag"), "incident"), " ", h("strong", {}, incident?.title ?? assignment.incident_title ?? id),
      h("span", { class: "muted small" }, ` · ${id}${closed ? ` · ${t("inc.closed")}` : ""}`)),
    override ? h("div", { class: "small", id: "incident-sla" }, t("inc.sla_applied", {
      fr: override.first_response_minutes ?? "—", res: override.resolution_minutes ?? "—" })) : null,
    reply && incident?.reply_text ? h("button", { type: "button", class: "ghost", id: "insert-incident-reply",
      onclick: () => insertReply(reply, incident.reply_text) }, t("inc.insert")) : null);
}
