// Small DOM helpers. Every text goes in through textContent (never innerHTML), so ticket contents
// cannot inject markup.
import { t, lang, label } from "./i18n.js";
import { ApiFailure } from "./api.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function mount(root, ...children) {
  root.replaceChildren();
  append(root, children);
}

let zone = "Asia/Shanghai";
export function setTimeZone(value) {
  if (value) zone = value;
}

export function timeZone() {
  return zone;
}

export function when(iso) {
  if (!iso) return t("none");
  const d = new Date(iso);
  return d.toLocaleString(lang() === "en" ? "en-GB" : "zh-CN", {
    timeZone: zone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  });
}

export function duration(seconds) {
  const s = Math.abs(Math.round(seconds));
  const en = lang() === "en";
  if (s < 60) return en ? `${s} s` : `${s} 秒`;
  const m = Math.floor(s / 60);
  if (m < 60) return en ? `${m} min` : `${m} 分钟`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return en ? `${hrs} h ${m % 60} min` : `${hrs} 小时 ${m % 60} 分`;
  return en ? `${Math.floor(hrs / 24)} d ${hrs % 24} h` : `${Math.floor(hrs / 24)} 天 ${hrs % 24} 小时`;
}

/** The SLA state of a clock as the queue shows it: the nearest open target, coloured. */
export function slaState(clock, now = Date.now()) {
  if (!clock) return { level: "none", text: t("sla.none"), due: null };
  const targets = [];
  if (clock.first_response_at == null && ["running", "paused"].includes(clock.status)) {
    targets.push({ name: "first_response", due: clock.first_response_due, warn: clock.first_response_warning_at });
  }
  if (clock.status === "running") {
    targets.push({ name: "resolution", due: clock.resolution_due, warn: clock.resolution_warning_at });
  }
  if (!targets.length) {
    return { level: "ok", text: clock.status === "paused" ? t("sla.paused") : t("sla.met"), due: null };
  }
  targets.sort((a, b) => new Date(a.due) - new Date(b.due));
  const next = targets[0];
  const left = (new Date(next.due).getTime() - now) / 1000;
  const warnAt = next.warn ? new Date(next.warn).getTime() : null;
  const level = left < 0 ? "breached" : warnAt !== null && now >= warnAt ? "warning" : "ok";
  const text = `${t(`sla.${next.name}`)} · ${left < 0 ? t("sla.over", { t: duration(left) }) : t("sla.left", { t: duration(left) })}`;
  return { level, text, due: next.due };
}

/** A channel with its icon (the icons are CSS images: they need no emoji font on the desk). */
export function channelBadge(channel) {
  if (!channel) return null;
  return h("span", { class: `ch ch-${channel}`, title: label("channel", channel) }, label("channel", channel));
}

export function tag(text, cls = "") {
  return h("span", { class: `tag ${cls}` }, text);
}

export function toast(message, kind = "") {
  const el = h("div", { class: `toast ${kind}` }, message);
  document.getElementById("toasts").append(el);
  setTimeout(() => el.remove(), kind === "bad" ? 8000 : 5000);
}

export function errorText(err) {
  if (err instanceof ApiFailure) {
    if (err.status === 0) return t("err.network");
    if (err.status === 403) return `${t("err.forbidden")} (${err.message})`;
    const details = Array.isArray(err.details) ? err.details.map((d) => `${(d.loc ?? []).slice(1).join(".")}: ${d.msg}`).join("; ") : "";
    return t("err.generic", { m: details ? `${err.message} — ${details}` : err.message });
  }
  return t("err.generic", { m: String(err) });
}

/** A form whose submit runs ``action(values)``; errors are shown in the form (``describe`` words them), success
 * as a toast (none when ``done`` is null). ``reset: false`` keeps what was typed (an editor that stays open). */
export function form(fields, action, { submitLabel = t("submit"), done = t("act.done"), id, reset = true,
                                       describe = errorText } = {}) {
  const message = h("div", { class: "notice bad", hidden: true, role: "alert" });
  const button = h("button", { type: "submit" }, submitLabel);
  const el = h("form", { id }, message, fields, h("div", { class: "buttons" }, button));
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.hidden = true;
    button.disabled = true;
    try {
      const values = Object.fromEntries(new FormData(el).entries());
      for (const box of el.querySelectorAll("input[type=checkbox]")) values[box.name] = box.checked;
      await action(values, el);
      if (reset) el.reset();  // nothing typed is left behind (a screen with typed text is not refreshed)
      if (done) toast(done);
    } catch (err) {
      message.textContent = describe(err);
      message.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  return el;
}

export function field(labelText, input) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div", {}, h("label", { for: id }, labelText), input);
}

export function select(name, values, labeller, { selected, blank } = {}) {
  return h("select", { name },
    blank !== undefined ? h("option", { value: "" }, blank) : null,
    values.map((v) => h("option", { value: v, selected: v === selected }, labeller(v))));
}

export function table(columns, rows, { rowClass, onRow, empty } = {}) {
  if (!rows.length) return h("div", { class: "empty panel" }, empty ?? t("none"));
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c.title)))),
    h("tbody", {}, rows.map((row) => h("tr", {
      class: [rowClass ? rowClass(row) : "", onRow ? "clickable" : ""].join(" ").trim() || null,
      onclick: onRow ? (event) => { if (!event.target.closest("button,a,input,select,form")) onRow(row); } : null,
      dataset: row.ticket_id ? { ticketId: row.ticket_id } : undefined,
    }, columns.map((c) => h("td", {}, c.cell(row))))))));
}
