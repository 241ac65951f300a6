/* Support dashboard: fetches /api/v1/dashboard/live with the staff token kept in sessionStorage,
   renders counters, charts (Chart.js, vendored) and tables; refreshes on a timer; zh / en labels. */
(function () {
  "use strict";
  const body = document.body;
  const API = body.dataset.api;
  const REFRESH = Number(body.dataset.refresh || 30) * 1000;
  const KEY = "helpdesk.reporting.token";
  const I18N = {
    zh: {
      title: "客服数据看板", waiting: "等待数据…", connect: "连接", logout: "退出", needToken: "请输入主管令牌",
      updated: "更新于", failed: "加载失败", trend: "近30天趋势", backlog: "积压工单（按优先级）",
      slaPriority: "今日SLA达成率（按优先级）", channels: "今日新建（按渠道）", distribution: "解决时长分布（近30天）",
      agents: "坐席对比（今日）", agent: "坐席", handled: "已解决", assigned: "今日新建", frt: "平均首响(分)",
      rt: "平均解决(分)", breaches: "超时工单", topCategories: "高频问题（近30天）", spikes: "突增告警（近7天）",
      createdDay: "新建", resolvedDay: "解决", created: "今日新建", resolved: "今日解决", closed: "今日关闭", reopened: "今日重开", backlogNow: "当前积压",
      sla: "SLA达成率", fcr: "一次解决率", csat: "满意度", frtMedian: "首响中位数(分)", rtMedian: "解决中位数(分)",
      none: "暂无数据", other: "其他", pre_sales: "售前咨询", after_sales: "售后支持", complaint: "投诉建议",
      requirement: "需求", unclassified: "未分类", phone: "电话", online_chat: "在线", email: "邮件",
      social: "社交媒体", web_form: "网页表单", lang: "English",
      conversations: "对话往来（近30天）", repliesPerTicket: "每单客户回复", exchangesPerResolved: "每单往返（已解决）",
      nextResponse: "后续响应达成率", customerReplies: "客户回复", agentResponses: "坐席答复", exchanges: "往返",
      incidents: "应急事件（进行中）", incTickets: "工单", incOpen: "未结", incBreached: "超时", incFrt: "平均首响(分)",
    },
    en: {
      title: "Support dashboard", waiting: "Waiting for data…", connect: "Connect", logout: "Sign out",
      needToken: "Enter a supervisor token", updated: "Updated", failed: "Load failed", trend: "Last 30 days",
      backlog: "Backlog by priority", slaPriority: "SLA compliance today by priority", channels: "Created today by channel",
      distribution: "Resolution time distribution (30 days)", agents: "Agents today", agent: "Agent",
      handled: "Resolved", assigned: "New today", frt: "Avg first response (min)", rt: "Avg resolution (min)",
      breaches: "Breached", topCategories: "High-frequency issues (30 days)", spikes: "Spikes (7 days)",
      createdDay: "Created", resolvedDay: "Resolved", created: "Created today", resolved: "Resolved today", closed: "Closed today", reopened: "Reopened today",
      backlogNow: "Open backlog", sla: "SLA compliance", fcr: "First-contact resolution", csat: "CSAT",
      frtMedian: "Median first response (min)", rtMedian: "Median resolution (min)", none: "No data",
      other: "Other", pre_sales: "Pre-sales", after_sales: "After-sales", complaint: "Complaint",
      requirement: "Requirement", unclassified: "Unclassified", phone: "Phone", online_chat: "Online chat",
      email: "E-mail", social: "Social", web_form: "Web form", lang: "中文",
      conversations: "Conversations (30 days)", repliesPerTicket: "Replies per ticket",
      exchangesPerResolved: "Back-and-forth per resolved", nextResponse: "Next-response compliance",
      customerReplies: "Customer replies", agentResponses: "Agent answers", exchanges: "Back-and-forths",
      incidents: "Open incidents", incTickets: "tickets", incOpen: "open", incBreached: "breached", incFrt: "avg first response (min)",
    },
  };
  let lang = body.dataset.lang === "en" ? "en" : "zh";
  let last = null;
  let lastStatus = null;
  const charts = {};
  const t = (k) => (I18N[lang][k] !== undefined ? I18N[lang][k] : k);
  const $ = (id) => document.getElementById(id);

  // a token in the URL fragment (never sent to the server) moves to sessionStorage at once
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }

  function setStatus(text, error) {
    const s = $("status");
    s.textContent = text;
    s.classList.toggle("error", !!error);
  }

  function showUpdated() {
    if (lastStatus) { setStatus(`${t("updated")} ${lastStatus.toLocaleTimeString(lang === "zh" ? "zh-CN" : "en-GB")}`); }
  }

  function applyLabels() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.title = t("title");
    $("lang").textContent = t("lang");
    const signedIn = !!sessionStorage.getItem(KEY);
    $("login").hidden = signedIn;
    $("logout").hidden = !signedIn;
  }

  const pct = (v) => (v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%");
  const num = (v) => (v === null || v === undefined ? "–" : String(Math.round(v * 10) / 10));
  const num2 = (v) => (v === null || v === undefined ? "–" : String(Math.round(v * 100) / 100));

  function chart(id, config) {
    if (charts[id]) { charts[id].destroy(); }
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } } },
      config.options || {});
    charts[id] = new Chart($(id), config);
  }

  function render(d) {
    const k = d.kpis;
    const c = d.conversation;
    const backlog = Object.values(d.backlog_by_priority).reduce((a, b) => a + b, 0);
    const cards = [["created", k.created], ["resolved", k.resolved], ["closed", k.closed], ["reopened", k.reopened],
      ["backlogNow", backlog], ["sla", pct(k.sla_compliance)], ["fcr", pct(k.first_contact_resolution)],
      ["csat", num(k.csat_avg)], ["frtMedian", num(k.first_response_median_min)], ["rtMedian", num(k.resolution_median_min)],
      ["repliesPerTicket", num2(c.replies_per_ticket)], ["exchangesPerResolved", num2(c.exchanges_per_resolved)],
      ["nextResponse", pct(c.next_response_compliance)]];
    $("cards").innerHTML = "";
    for (const [key, value] of cards) {
      const card = document.createElement("div");
      card.className = "card";
      card.dataset.metric = key;
      const label = document.createElement("div"); label.className = "label"; label.textContent = t(key);
      const val = document.createElement("div"); val.className = "value"; val.textContent = value;
      card.append(label, val);
      $("cards").append(card);
    }
    const days = d.trend.map((r) => r.period.slice(5));
    chart("trendChart", { type: "line", data: { labels: days, datasets: [
      { label: t("createdDay"), data: d.trend.map((r) => r.kpis.created), borderColor: "#2f6fb0", backgroundColor: "#2f6fb0" },
      { label: t("resolvedDay"), data: d.trend.map((r) => r.kpis.resolved), borderColor: "#2e9d5b", backgroundColor: "#2e9d5b" },
      { label: t("backlogNow"), data: d.trend.map((r) => r.kpis.backlog), borderColor: "#d9822b", backgroundColor: "#d9822b" },
    ] }, options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } });
    const prios = Object.keys(d.backlog_by_priority);
    chart("backlogChart", { type: "bar", data: { labels: prios.map(t), datasets: [
      { label: t("backlogNow"), data: prios.map((p) => d.backlog_by_priority[p]), backgroundColor: ["#c0392b", "#e67e22", "#2f6fb0", "#7f8c8d", "#bdc3c7"] },
    ] }, options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } });
    chart("slaChart", { type: "bar", data: { labels: d.sla_by_priority.map((r) => t(r.key)), datasets: [
      { label: t("sla"), data: d.sla_by_priority.map((r) => (r.rate === null ? null : Math.round(r.rate * 1000) / 10)), backgroundColor: "#2e9d5b" },
    ] }, options: { plugins: { legend: { display: false } }, scales: { y: { min: 0, max: 100 } } } });
    const chans = Object.keys(d.created_by_channel);
    chart("channelChart", { type: "doughnut", data: { labels: chans.map(t), datasets: [
      { data: chans.map((c) => d.created_by_channel[c]), backgroundColor: ["#2f6fb0", "#2e9d5b", "#d9822b", "#8e44ad", "#16a085"] },
    ] } });
    const colors = { P1: "#c0392b", P2: "#e67e22", P3: "#2f6fb0", P4: "#7f8c8d", unclassified: "#bdc3c7" };
    const hist = d.resolution_histogram;
    const labels = (hist.P1 || Object.values(hist)[0] || []).map((b) => b.label);
    chart("histChart", { type: "bar", data: { labels, datasets: Object.keys(hist).map((p) => ({
      label: t(p), data: hist[p].map((b) => b.count), backgroundColor: colors[p] || "#999" })) },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } } });

    const m = d.conversation_30d;
    $("convSummary").textContent = `${t("repliesPerTicket")} ${num2(m.replies_per_ticket)} · ${t("exchangesPerResolved")} `
      + `${num2(m.exchanges_per_resolved)} · ${t("nextResponse")} ${pct(m.next_response_compliance)}`;
    chart("convChart", { data: { labels: days, datasets: [
      { type: "bar", label: t("customerReplies"), data: d.trend.map((r) => r.conversation.customer_replies), backgroundColor: "#8e44ad", yAxisID: "y" },
      { type: "bar", label: t("agentResponses"), data: d.trend.map((r) => r.conversation.agent_responses), backgroundColor: "#16a085", yAxisID: "y" },
      { type: "line", label: t("nextResponse") + " %", data: d.trend.map((r) => (r.conversation.next_response_compliance === null ? null
        : Math.round(r.conversation.next_response_compliance * 1000) / 10)), borderColor: "#d9822b", backgroundColor: "#d9822b", spanGaps: true, yAxisID: "pct" },
    ] }, options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } },
      pct: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false } } } } });

    const tbody = $("agents").querySelector("tbody");
    tbody.innerHTML = "";
    for (const a of d.agents) {
      const tr = document.createElement("tr");
      for (const v of [a.agent_id, a.handled, a.created_assigned, num(a.first_response_avg_min), num(a.resolution_avg_min),
        num(a.csat_avg), a.breached_tickets, num2(a.replies_per_ticket), num2(a.exchanges_per_resolved),
        pct(a.next_response_compliance)]) {
        const td = document.createElement("td"); td.textContent = v; tr.append(td);
      }
      tbody.append(tr);
    }
    if (!d.agents.length) {
      const tr = document.createElement("tr"); const td = document.createElement("td");
      td.colSpan = 10; td.className = "empty"; td.textContent = t("none"); tr.append(td); tbody.append(tr);
    }
    const list = (id, rows, fmt) => {
      const el = $(id); el.innerHTML = "";
      if (!rows.length) { const li = document.createElement("li"); li.className = "empty"; li.textContent = t("none"); el.append(li); }
      for (const r of rows) { const li = document.createElement("li"); li.textContent = fmt(r); el.append(li); }
    };
    list("topCategories", d.top_categories, (r) => `${t(r.key)} — ${r.count}`);
    list("spikes", d.spikes, (r) => `${r.day} ${t(r.value)}: ${r.count} (×${num(r.ratio)})`);
    list("incidents", d.incidents || [], (r) => `${r.incident_id} ${r.title} — ${t("incTickets")} ${r.figures.tickets}, `
      + `${t("incOpen")} ${r.figures.open}, ${t("incBreached")} ${r.figures.breached}, ${t("incFrt")} ${num(r.figures.first_response_avg_min)}`);
    body.dataset.loaded = "true";
  }

  async function load() {
    const token = sessionStorage.getItem(KEY);
    applyLabels();
    if (!token) { setStatus(t("needToken")); return; }
    try {
      const r = await fetch(API + location.search.replace(/[?&]lang=[^&]*/, "").replace(/^&/, "?"),
        { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
      if (r.status === 401 || r.status === 403) {
        sessionStorage.removeItem(KEY); applyLabels(); setStatus(`${t("failed")}: ${r.status}`, true); return;
      }
      if (!r.ok) { setStatus(`${t("failed")}: ${r.status}`, true); return; }
      last = await r.json();
      render(last);
      lastStatus = new Date();
      showUpdated();
    } catch (e) {
      setStatus(`${t("failed")}: ${e}`, true);
    }
  }

  $("lang").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; applyLabels(); if (last) { render(last); showUpdated(); } });
  $("login").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = $("token").value.trim();
    if (v) { sessionStorage.setItem(KEY, v); $("token").value = ""; load(); }
  });
  $("logout").addEventListener("click", () => { sessionStorage.removeItem(KEY); last = null; lastStatus = null; applyLabels(); setStatus(t("needToken")); });
  applyLabels();
  load();
  setInterval(load, REFRESH);
})();
