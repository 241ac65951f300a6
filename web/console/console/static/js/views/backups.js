// The admin's Backups page (manual 003): the history of intake's encrypted customer backups (daily
// new/changed customers before 17:00, the monthly full copy), "back up now", and the audit-log retention.
import { api } from "../api.js";
import { t, lang } from "../i18n.js";
import { h, mount, table, tag, toast, errorText, timeZone } from "../ui.js";

/** A date with its year (retention spans years; the desk's short ``when`` has none). */
function when(iso) {
  if (!iso) return t("none");
  return new Date(iso).toLocaleString(lang() === "en" ? "en-GB" : "zh-CN", {
    timeZone: timeZone(), year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  });
}

function size(bytes) {
  if (bytes == null) return "—";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function periodText(backup) {
  // a manual run's period reads "2026-12-07~manual-ab12cd": show the date and say "manual" in its own column
  return String(backup.period ?? "").split("~")[0];
}

function statusTag(backup) {
  return tag(t(`bk.status.${backup.status}`), `bk-${backup.status}`);
}

export async function backupsView(root) {
  const [history, retention] = await Promise.all([
    api("intake", "admin/backups", { query: { limit: 60 } }),
    api("intake", "admin/audit/retention"),
  ]);
  const run = async (kind, button) => {
    button.disabled = true;
    try {
      await api("intake", "admin/backups/run", { method: "POST", body: { kind } });
      toast(t("bk.started", { k: t(`bk.kind.${kind}`) }));
      await backupsView(root);
    } catch (err) {
      toast(errorText(err), "bad");
      button.disabled = false;
    }
  };
  const runButton = (kind) => h("button", { type: "button", id: `bk-run-${kind}`, disabled: !history.enabled,
    onclick: (e) => run(kind, e.currentTarget) }, t(`bk.run.${kind}`));
  const s = history.schedule;
  const failed = history.backups.filter((b) => b.status === "failed");
  mount(root,
    h("div", { class: "toolbar" }, h("h1", {}, t("bk.title")), h("span", { class: "spacer" }),
      runButton("daily"), runButton("monthly")),
    history.enabled
      ? h("div", { class: "notice", id: "bk-schedule" },
        t("bk.schedule", { at: s.daily_at, day: s.monthly_day, tz: s.timezone, key: history.key_id }))
      : h("div", { class: "notice bad", id: "bk-schedule" }, t("bk.disabled")),
    failed.length ? h("div", { class: "notice warn", id: "bk-failed" }, t("bk.failed_hint", { n: failed.length })) : null,
    h("section", { class: "panel", id: "bk-retention" },
      h("h2", {}, t("bk.retention")),
      h("dl", { class: "facts" },
        h("dt", {}, t("bk.ret.months")), h("dd", {}, t("bk.ret.months_value", { n: retention.retention_months })),
        h("dt", {}, t("bk.ret.cutoff")), h("dd", {}, when(retention.cutoff_now)),
        h("dt", {}, t("bk.ret.oldest")), h("dd", {}, when(retention.oldest_entry_at)),
        h("dt", {}, t("bk.ret.last")), h("dd", {}, retention.last_purge_at
          ? t("bk.ret.last_value", { at: when(retention.last_purge_at), n: retention.last_purge_count ?? 0 })
          : t("bk.ret.never")))),
    h("h2", {}, t("bk.history")),
    h("div", { id: "bk-history" }, table([
      { title: t("bk.col.kind"), cell: (b) => t(`bk.kind.${b.kind}`) },
      { title: t("bk.col.period"), cell: (b) => periodText(b) },
      { title: t("bk.col.trigger"), cell: (b) => (b.trigger === "manual" ? `${t("bk.manual")} · ${b.requested_by}` : t("bk.scheduled")) },
      { title: t("bk.col.created"), cell: (b) => when(b.created_at ?? b.claimed_at) },
      { title: t("bk.col.count"), cell: (b) => (b.count ?? "—") },
      { title: t("bk.col.size"), cell: (b) => size(b.bytes) },
      { title: t("bk.col.sha"), cell: (b) => (b.sha256 ? h("code", { title: b.sha256 }, b.sha256.slice(0, 12)) : "—") },
      { title: t("bk.col.key"), cell: (b) => b.key_id ?? "—" },
      { title: t("bk.col.status"), cell: (b) => h("span", {}, statusTag(b),
        b.status === "failed" && b.error ? h("span", { class: "bk-error", title: b.error }, ` ${b.error}`) : null) },
    ], history.backups, { empty: t("bk.empty") })));
  root.querySelectorAll("tbody tr").forEach((tr, i) => { tr.dataset.backupId = history.backups[i]._id; });
}
