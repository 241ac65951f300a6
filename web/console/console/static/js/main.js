// Router and frame: hash routes, a menu by role, the unread badge, live refresh of the current view.
import { api, whenUnauthorized } from "./api.js";
import { lang, setLang, t, translateStatic, label } from "./i18n.js";
import * as session from "./session.js";
import { h, mount, setTimeZone, toast } from "./ui.js";
import { loginView, passwordView } from "./views/auth.js";
import { queueView, notificationsView, collaborationView, notificationSubject } from "./views/agent.js";
import { ticketView } from "./views/ticket.js";
import { teamView, waitingView, overdueView } from "./views/supervisor.js";
import { staffView, slaView, rulesView } from "./views/admin.js";
import { knowledgeView } from "./views/knowledge.js";
import { backupsView } from "./views/backups.js";
import { reportsView } from "./views/reports.js";
import { incidentsView } from "./views/incidents.js";
import { refreshBanner } from "./incidents.js";

const config = { refresh_seconds: 15, dashboard_url: "", time_zone: "Asia/Shanghai" };

const ROUTES = [
  { path: "queue", view: queueView, roles: ["agent", "supervisor"], nav: "nav.queue" },
  { path: "collaboration", view: collaborationView, roles: ["agent", "supervisor", "admin"], nav: "nav.collab" },
  { path: "knowledge", view: knowledgeView, roles: ["agent", "supervisor", "admin"], nav: "nav.knowledge" },
  { path: "team", view: teamView, roles: ["supervisor", "admin"], nav: "nav.team" },
  { path: "waiting", view: waitingView, roles: ["supervisor", "admin"], nav: "nav.waiting" },
  { path: "overdue", view: overdueView, roles: ["supervisor", "admin"], nav: "nav.overdue" },
  { path: "dashboard", view: reportsView, roles: ["supervisor", "admin"], nav: "nav.dashboard" },
  { path: "incidents", view: incidentsView, roles: ["supervisor", "admin"], nav: "nav.incidents" },
  { path: "staff", view: staffView, roles: ["admin"], nav: "nav.staff" },
  { path: "sla", view: slaView, roles: ["supervisor", "admin"], nav: "nav.sla" },
  { path: "rules", view: rulesView, roles: ["supervisor", "admin"], nav: "nav.rules" },
  { path: "backups", view: backupsView, roles: ["admin"], nav: "nav.backups" },
  { path: "notifications", view: notificationsView, roles: ["agent", "supervisor", "admin"] },
  { path: "ticket", view: ticketView, roles: ["agent", "supervisor", "admin"] },
];

let refreshTimer = null;
let generations = 0;
let lastUnread = null;

function home() {
  if (session.has("agent")) return "#/queue";
  if (session.has("supervisor")) return "#/team";
  return "#/staff";
}

function parse() {
  const [, path = "", ...rest] = location.hash.replace(/^#/, "").split("/");
  return { path, args: rest.map(decodeURIComponent) };
}

function frame(active) {
  const signedIn = Boolean(session.claims()) && !session.mustChangePassword();
  document.getElementById("topbar").hidden = !signedIn;
  document.getElementById("lang").textContent = lang() === "en" ? "中文" : "EN";
  translateStatic();
  if (!signedIn) return;
  const c = session.claims();
  const role = ["admin", "supervisor", "agent"].find((r) => session.has(r));
  document.getElementById("me").textContent = `${c.name || c.sub} · ${t(`role.${role}`)}`;
  document.getElementById("brand").href = home();
  mount(document.getElementById("nav"), ROUTES.filter((r) => r.nav && session.has(...r.roles)).map((r) =>
    h("a", { href: `#/${r.path}`, class: r.path === active ? "active" : null, dataset: { nav: r.path } }, t(r.nav))));
}

async function render() {
  clearInterval(refreshTimer);
  const generation = ++generations;  // a render still running for an earlier route never shows
  const { path, args } = parse();
  const view = document.getElementById("view");
  const claims = session.claims();
  if (!claims) {
    refreshBanner();
    frame("");
    document.title = t("login.title");
    return loginView(view, { onSignedIn: () => { location.hash = session.mustChangePassword() ? "#/password" : home(); render(); } });
  }
  if (session.mustChangePassword() || path === "password") {
    frame("");
    document.title = t("pwd.title");
    return passwordView(view, { forced: session.mustChangePassword(), onChanged: () => { location.hash = home(); render(); } });
  }
  const route = ROUTES.find((r) => r.path === path && session.has(...r.roles));
  if (!route) {
    location.replace(home());
    return;
  }
  frame(path);
  refreshBanner();  // crisis mode: every page shows the open incidents
  const ctx = { args, config, refresh: () => run(false) };
  // Each render draws into its own screen element. The first is shown at once; a background refresh
  // draws off-screen and replaces the shown one only if the user is still on this route and has not
  // started working on it (focus in a form, an action panel open, something typed). Buttons inside a
  // screen redraw that same screen, so they keep working after a swap.
  async function run(first) {
    const shown = view.firstElementChild;
    if (!first && (document.hidden || (shown && busy(shown)))) return;
    const screen = h("div", { class: "screen" });
    if (first) mount(view, screen);
    try {
      await route.view(screen, ctx, { first });
    } catch (err) {
      if (first) mount(screen, h("div", { class: "notice bad" }, String(err.message || err)));
      return;
    }
    if (!first) {
      const now = view.firstElementChild;
      if (generation !== generations || !now || busy(now)) return;
      view.replaceChildren(screen);
    }
    document.title = `${t(route.nav || `nav.${route.path === "ticket" ? "queue" : route.path}`)} · ${t("brand")}`;
  }
  mount(view, h("div", { class: "empty" }, t("loading")));
  await run(true);
  if (generation === generations) {
    refreshTimer = setInterval(() => run(false), config.refresh_seconds * 1000);
  }
}

/** The user is working on this screen: focus in a form, an action panel open, or something typed. */
function busy(screen) {
  if (screen.querySelector("form :focus, details[open]")) return true;
  return [...screen.querySelectorAll("input, textarea")].some((el) =>
    (el.type === "checkbox" ? el.checked !== el.defaultChecked : el.value !== el.defaultValue));
}

async function pollUnread() {
  if (!session.claims() || session.mustChangePassword()) return;
  try {
    const inbox = await api("dispatcher", "notifications/mine", { query: { unread: true, limit: 5 } });
    const badge = document.getElementById("unread");
    badge.textContent = String(inbox.unread);
    badge.hidden = inbox.unread === 0;
    if (lastUnread !== null && inbox.unread > lastUnread && inbox.items.length) {
      // the pop-up reminder of seed 004 (超时提醒弹窗)
      toast(t("notif.new", { s: notificationSubject(inbox.items[0]) }), inbox.items[0].kind.includes("breach") ? "bad" : "alert");
    }
    lastUnread = inbox.unread;
  } catch {
    /* the badge simply keeps its last value */
  }
}

async function start() {
  setLang(lang());
  try {
    Object.assign(config, await (await fetch("/config.json")).json());
  } catch {
    /* defaults */
  }
  setTimeZone(config.time_zone);
  whenUnauthorized(() => {
    session.signOut();
    toast(t("login.expired"), "bad");
    location.hash = "#/login";
    render();
  });
  document.getElementById("logout").addEventListener("click", () => {
    session.signOut();
    lastUnread = null;
    location.hash = "#/login";
    render();
  });
  document.getElementById("lang").addEventListener("click", () => {
    setLang(lang() === "en" ? "zh" : "en");
    render();
  });
  window.addEventListener("hashchange", render);
  setInterval(pollUnread, Math.max(5, config.refresh_seconds) * 1000);
  setInterval(refreshBanner, Math.max(5, config.refresh_seconds) * 1000);
  await render();
  pollUnread();
}

export { label };
start();
