// A ticket's evidence files (处理凭证: screenshots, records of the conversation with the customer): the list with
// name, type, size, who and when, image thumbnails, download, upload, and removal for supervisors. The files are
// fetched with the staff token (never by a plain link), so the thumbnails are blob: URLs; intake decides who may
// see them (the assignee, supervisors, admins) and what a file is (from its bytes).
import { api, apiBlob, ApiFailure } from "../api.js";
import { t } from "../i18n.js";
import * as session from "../session.js";
import { h, when, toast, errorText } from "../ui.js";

const enc = encodeURIComponent;
const IMAGES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
const TYPE_NAMES = {
  "image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WebP", "application/pdf": "PDF",
  "text/plain": "TXT", "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
};
export const ACCEPT = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,.txt,.csv,.log,.docx,.xlsx";

// thumbnails by file id: a file's content never changes, so a refresh of the screen does not fetch (and audit) again
const thumbs = new Map();
const THUMBS_KEPT = 60;

function remember(fileId, url) {
  thumbs.set(fileId, url);
  while (thumbs.size > THUMBS_KEPT) {
    const [oldest, old] = thumbs.entries().next().value;
    URL.revokeObjectURL(old);
    thumbs.delete(oldest);
  }
}

export function size(bytes) {
  if (!Number.isFinite(bytes)) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10240 ? 1 : 0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function typeName(type) {
  return TYPE_NAMES[type] ?? type;
}

/** A refusal of intake worded for the desk (the service's message stays in the details). */
export function evidenceError(err) {
  if (!(err instanceof ApiFailure)) return errorText(err);
  const d = err.details ?? {};
  const known = {
    file_too_large: () => t("ev.err.too_large", { max: size(d.max_bytes) || "" }),
    payload_too_large: () => t("ev.err.too_large", { max: "" }),
    type_mismatch: () => t("ev.err.mismatch", { detected: typeName(d.detected ?? "?") }),
    type_not_allowed: () => t("ev.err.type", { detected: typeName(d.detected ?? "?") }),
    markup_not_allowed: () => t("ev.err.markup"),
    evidence_limit_reached: () => (d.limit === "files" ? t("ev.err.count", { n: d.max_files })
      : t("ev.err.total", { max: size(d.max_total_bytes) })),
    ticket_closed: () => t("ev.err.closed"),
    not_assignee: () => t("ev.err.forbidden"),
    empty_file: () => t("ev.err.empty"),
    evidence_unavailable: () => t("ev.err.unavailable"),
  }[err.code];
  return known ? known() : errorText(err);
}

/** The ticket's files, or why they cannot be shown (``{ files }`` / ``{ failure }``). */
export function loadEvidence(ticketId) {
  return api("intake", `tickets/${enc(ticketId)}/evidence`).then((files) => ({ files }), (failure) => ({ failure }));
}

async function download(ticketId, file, button) {
  button.disabled = true;
  try {
    const { blob } = await apiBlob("intake", `tickets/${enc(ticketId)}/evidence/${enc(file.file_id)}`);
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: file.name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (err) {
    toast(evidenceError(err), "bad");
  } finally {
    button.disabled = false;
  }
}

function thumbnail(ticketId, file) {
  if (!IMAGES.has(file.content_type)) {
    return h("span", { class: "ev-type", "aria-hidden": "true" }, typeName(file.content_type));
  }
  const img = h("img", { class: "ev-thumb", alt: file.name, loading: "lazy" });
  const cached = thumbs.get(file.file_id);
  if (cached) {
    img.src = cached;
  } else {
    apiBlob("intake", `tickets/${enc(ticketId)}/evidence/${enc(file.file_id)}`).then(({ blob }) => {
      const url = URL.createObjectURL(blob);
      remember(file.file_id, url);
      img.src = url;
    }, () => img.replaceWith(h("span", { class: "ev-type" }, typeName(file.content_type))));
  }
  return img;
}

function removeForm(ticketId, file, after) {
  const reason = h("input", { name: "reason", required: true, minlength: 2, maxlength: 500, placeholder: t("ev.remove_reason") });
  const message = h("div", { class: "notice bad", hidden: true, role: "alert" });
  const form = h("form", { class: "ev-remove" }, message, reason, h("button", { type: "submit", class: "danger" }, t("ev.remove")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("intake", `tickets/${enc(ticketId)}/evidence/${enc(file.file_id)}`, { method: "DELETE", body: { reason: reason.value } });
      toast(t("ev.removed"));
      after();
    } catch (err) {
      message.textContent = evidenceError(err);
      message.hidden = false;
    }
  });
  return h("details", { class: "ev-remove-box" }, h("summary", {}, t("ev.remove")), form);
}

function uploadForm(ticketId, after) {
  const input = h("input", { type: "file", name: "file", accept: ACCEPT, required: true, id: "evidence-file",
    "aria-label": t("ev.choose") });
  const chosen = h("span", { class: "muted small", id: "evidence-chosen" }, t("ev.hint"));
  const message = h("div", { class: "notice bad", hidden: true, role: "alert", id: "evidence-error" });
  const button = h("button", { type: "submit", id: "evidence-upload" }, t("ev.upload"));
  input.addEventListener("change", () => {
    const file = input.files?.[0];
    message.hidden = true;
    chosen.textContent = file ? `${file.name} · ${size(file.size)}` : t("ev.hint");
  });
  // the browser's own file button speaks the browser's language: a label in the desk's language opens it instead
  const form = h("form", { class: "ev-upload", id: "evidence-form" }, message,
    h("div", { class: "row" }, h("label", { class: "file-pick" }, input, h("span", {}, t("ev.choose"))), chosen, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files?.[0];
    if (!file) return;
    message.hidden = true;
    button.disabled = true;
    button.textContent = t("ev.uploading");
    try {
      const body = new FormData();
      body.append("file", file, file.name);
      await api("intake", `tickets/${enc(ticketId)}/evidence`, { method: "POST", body });
      toast(t("ev.uploaded", { name: file.name }));
      form.reset();
      after();
    } catch (err) {
      message.textContent = evidenceError(err);
      message.hidden = false;
    } finally {
      button.disabled = false;
      button.textContent = t("ev.upload");
    }
  });
  return form;
}

/**
 * The Evidence section of the ticket view. ``loaded`` is what {@link loadEvidence} answered; ``after`` redraws the
 * ticket (a new file also appears in the timeline).
 */
export function evidencePanel(ticket, loaded, after) {
  const supervisor = session.has("supervisor", "admin");
  const head = h("div", { class: "toolbar" }, h("h2", {}, t("ev.title")), h("span", { class: "spacer" }),
    h("span", { class: "muted small" }, t("ev.count", { n: (loaded?.files ?? ticket.evidence ?? []).length })));
  if (!loaded || loaded.failure) {
    const forbidden = loaded?.failure?.status === 403;
    return h("section", { class: "panel", id: "evidence" }, head,
      h("p", { class: forbidden ? "muted" : "notice bad" }, forbidden ? t("ev.forbidden") : evidenceError(loaded?.failure)));
  }
  const files = loaded.files;
  const list = files.length
    ? h("ul", { class: "evidence-list", id: "evidence-list" }, files.map((f) => h("li", { dataset: { fileId: f.file_id } },
      thumbnail(ticket.ticket_id, f),
      h("div", { class: "ev-meta" },
        h("div", { class: "ev-name" }, f.name),
        h("div", { class: "muted small" }, `${typeName(f.content_type)} · ${size(f.size)} · ${f.uploaded_by} · ${when(f.uploaded_at)}`)),
      h("div", { class: "ev-actions" },
        h("button", { type: "button", class: "ghost ev-download", onclick: (e) => download(ticket.ticket_id, f, e.currentTarget) },
          t("ev.download")),
        supervisor ? removeForm(ticket.ticket_id, f, after) : null))))
    : h("p", { class: "muted", id: "evidence-empty" }, t("ev.empty"));
  const mayUpload = ticket.status !== "closed" || supervisor;
  return h("section", { class: "panel", id: "evidence" }, head, list,
    mayUpload ? uploadForm(ticket.ticket_id, after) : h("p", { class: "muted small" }, t("ev.closed")));
}
