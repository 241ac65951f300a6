// The knowledge base in the console, the parts without a screen: filling a reply template's placeholders
// from what the ticket page already loaded, the line that links an article into a reply, and reading the
// reporting figures whatever their exact shape. Pure functions (tested in the browser by import).
import { tIn } from "./i18n.js";

/** The placeholders a template may use (the classifier refuses others): see classifier/knowledge.py. */
export const PLACEHOLDERS = ["customer_name", "salutation", "ticket_no", "order_no", "agent_name", "resolution_due", "company"];

const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;
const PLACEHOLDER_SPACED = /( ?)\{\{\s*([a-z_]+)\s*\}\}( ?)/g;  // with a space either side, if any

/**
 * The template body with its placeholders filled. A placeholder whose value is missing (undefined, null)
 * stays visible as ``{{order_no}}`` so the agent sees what to complete before sending; one whose value is
 * the empty string (an unknown salutation) disappears, taking one neighbouring space with it so that
 * "Dear {{salutation}} {{customer_name}}" does not read "Dear  Qian".
 */
export function fillTemplate(body, values) {
  return String(body ?? "").replace(PLACEHOLDER_SPACED, (whole, before, name, after) => {
    const value = Object.prototype.hasOwnProperty.call(values ?? {}, name) ? values[name] : undefined;
    if (value === undefined || value === null) return `${before}{{${name}}}${after}`;
    if (value === "") return before && after ? " " : "";
    return `${before}${value}${after}`;
  });
}

/** The placeholder names a body uses, in order of first use. */
export function placeholdersOf(body) {
  return [...new Set([...String(body ?? "").matchAll(PLACEHOLDER)].map((m) => m[1]))];
}

const MALE = new Set(["male", "m", "man", "mr", "mr.", "先生", "男"]);
const FEMALE = new Set(["female", "f", "woman", "ms", "ms.", "mrs", "mrs.", "miss", "女士", "女", "小姐"]);

/** 先生/女士 (zh) or Mr/Ms (en) when the customer's gender or title is known, else "". */
export function salutationOf(customer, lang) {
  for (const key of ["salutation", "title", "gender"]) {
    const raw = customer?.[key];
    if (typeof raw !== "string") continue;
    const value = raw.trim().toLowerCase();
    if (MALE.has(value)) return lang === "en" ? "Mr" : "先生";
    if (FEMALE.has(value)) return lang === "en" ? "Ms" : "女士";
  }
  return "";
}

/** A deadline as a person reads it, in the template's language and the business time zone. */
export function formatDue(iso, lang, timeZone = "Asia/Shanghai") {
  if (!iso) return null;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  return d.toLocaleString(lang === "en" ? "en-GB" : "zh-CN", {
    timeZone, month: lang === "en" ? "short" : "long", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false,
  });
}

/**
 * The values of a template's placeholders from the ticket page's data: the customer's masked name (the
 * profile's masked name, else the ticket's masked display name), the salutation when known, the ticket and
 * order numbers, the signed-in staff member's name, the SLA resolution deadline and the company's name
 * (an interface constant). ``lang`` is the template's language (a zh template says 先生, an en one Mr).
 */
export function templateValues({ ticket, customer, clock, staffName, lang, timeZone }) {
  const masked = customer?.name_masked || (customer?.masked ? customer?.name : null) || ticket?.customer_display || null;
  return {
    customer_name: masked,
    salutation: salutationOf(customer, lang),
    ticket_no: ticket?.ticket_no || null,
    order_no: ticket?.order_number || null,
    agent_name: staffName || null,
    resolution_due: formatDue(clock?.resolution_due, lang, timeZone),
    company: tIn(lang, "kb.company"),
  };
}

/** The short line that points the customer to an article (in the article's language). */
export function articleLine(item) {
  return tIn(item.lang, "kb.link_line", { title: item.title, id: item.item_id ?? item.id });
}

/** Text put into the reply box: after what is there, separated by a blank line. */
export function appendText(current, text) {
  const before = String(current ?? "").replace(/\s+$/, "");
  return before ? `${before}\n\n${text}` : text;
}

// ------------------------------------------------------------------------------ reporting figures
/** Rows of a report answer: a list, or a list under items / rows / gaps / data. */
export function rowsOf(answer) {
  if (Array.isArray(answer)) return answer;
  for (const key of ["items", "rows", "gaps", "data"]) if (Array.isArray(answer?.[key])) return answer[key];
  return [];
}

/** Per-item figures of ``reports/knowledge`` keyed by item id. */
export function figuresById(answer) {
  const out = new Map();
  for (const row of rowsOf(answer)) {
    const id = row?.item_id ?? row?.id;
    if (id) out.set(id, row);
  }
  return out;
}

/** A number shown as is, a rate (0..1) as a percentage, anything else as "—". */
export function rate(value) {
  return typeof value === "number" && Number.isFinite(value) ? `${Math.round(value * 100)}%` : "—";
}

/** The satisfaction of the tickets an item was used on: reporting's average CSAT (1–5), the share of satisfied
 * customers and how many answered (``used_csat_avg``, ``used_satisfaction_rate``, ``used_surveyed``); a bare
 * number or an object with an average is read too. */
export function satisfaction(row) {
  const value = row?.used_csat_avg ?? row?.satisfaction ?? (typeof row === "number" ? row : null);
  const avg = typeof value === "number" ? value : value?.avg ?? value?.average ?? value?.mean ?? null;
  if (typeof avg !== "number" || !Number.isFinite(avg)) return "—";
  const share = row?.used_satisfaction_rate;
  const n = row?.used_surveyed ?? value?.responses ?? value?.count;
  return `${avg.toFixed(1)}${typeof share === "number" ? ` · ${rate(share)}` : ""}${typeof n === "number" && n ? ` (${n})` : ""}`;
}

/** The words of a "write an article" gap: reporting's top keywords ({key, count}), or plain words. */
export function gapWords(row) {
  for (const key of ["top_keywords", "keywords", "terms"]) {
    const list = row?.[key];
    if (Array.isArray(list) && list.length) return list.map((x) => (typeof x === "object" && x ? x.key ?? x.term ?? "" : String(x))).filter(Boolean);
  }
  return [];
}
