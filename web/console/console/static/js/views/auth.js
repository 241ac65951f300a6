// Sign-in and password change (first sign-in is forced to change, with the policy shown live).
import { api } from "../api.js";
import { t } from "../i18n.js";
import * as session from "../session.js";
import { h, mount, field, errorText, toast } from "../ui.js";

export function loginView(root, { onSignedIn }) {
  const staff = h("input", { name: "staff_id", autocomplete: "username", required: true, maxlength: 32, id: "login-staff" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true,
    id: "login-password" });
  const message = h("div", { class: "notice bad", hidden: true, role: "alert" });
  const button = h("button", { type: "submit", id: "login-submit" }, t("login.submit"));
  const formEl = h("form", { class: "panel" }, message, field(t("login.staff_id"), staff),
    field(t("login.password"), password), h("div", { class: "buttons" }, button));
  formEl.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    message.hidden = true;
    try {
      const res = await api("dispatcher", "auth/login", { method: "POST",
        body: { staff_id: staff.value.trim(), password: password.value } });
      session.signIn(res.access_token);
      onSignedIn();
    } catch (err) {
      message.textContent = err.status === 401 ? t("login.failed") : err.status === 423 ? t("login.locked") : errorText(err);
      message.hidden = false;
      password.value = "";
    } finally {
      button.disabled = false;
    }
  });
  mount(root, h("div", { class: "login" }, h("h1", {}, t("login.title")), formEl));
  staff.focus();
}

const RULES = [
  ["pwd.rule.length", (p) => p.length >= 8],
  ["pwd.rule.letter", (p) => /[A-Za-z]/.test(p)],
  ["pwd.rule.digit", (p) => /\d/.test(p)],
  ["pwd.rule.special", (p) => /[^A-Za-z0-9]/.test(p)],
];

export function passwordView(root, { forced, onChanged }) {
  const current = h("input", { name: "current_password", type: "password", autocomplete: "current-password", required: true, id: "pwd-current" });
  const next = h("input", { name: "new_password", type: "password", autocomplete: "new-password", required: true, id: "pwd-new" });
  const again = h("input", { type: "password", autocomplete: "new-password", required: true, id: "pwd-repeat" });
  const items = RULES.map(([key]) => h("li", {}, t(key)));
  const sameRule = h("li", {}, t("pwd.rule.same"));
  const update = () => {
    RULES.forEach(([, ok], i) => items[i].classList.toggle("met", ok(next.value)));
    sameRule.classList.toggle("met", next.value.length > 0 && next.value !== current.value);
  };
  next.addEventListener("input", update);
  current.addEventListener("input", update);
  const message = h("div", { class: "notice bad", hidden: true, role: "alert" });
  const button = h("button", { type: "submit", id: "pwd-submit" }, t("save"));
  const formEl = h("form", { class: "panel" },
    forced ? h("div", { class: "notice warn" }, t("pwd.first")) : null, message,
    field(t("pwd.current"), current), field(t("pwd.new"), next), h("ul", { class: "policy", id: "pwd-policy" }, items, sameRule),
    field(t("pwd.repeat"), again),
    h("div", { class: "buttons" }, button,
      forced ? h("button", { type: "button", class: "ghost", onclick: () => { session.signOut(); location.hash = "#/login"; location.reload(); } }, t("logout"))
        : h("a", { href: "#/queue" }, t("cancel"))));
  formEl.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.hidden = true;
    if (next.value !== again.value) {
      message.textContent = t("pwd.mismatch");
      message.hidden = false;
      return;
    }
    button.disabled = true;
    try {
      const res = await api("dispatcher", "auth/password", { method: "POST",
        body: { current_password: current.value, new_password: next.value } });
      session.signIn(res.access_token);
      toast(t("pwd.done"));
      onChanged();
    } catch (err) {
      message.textContent = err.status === 401 ? t("login.failed") : errorText(err);
      message.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  mount(root, h("div", { class: "login" }, h("h1", {}, t("pwd.title")), formEl));
  current.focus();
}
