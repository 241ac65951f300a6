// Interface texts, Chinese first (the desks' language) with an English switch kept per browser.
const zh = {
  brand: "客服工作台", logout: "退出", loading: "加载中…", save: "保存", cancel: "取消", submit: "提交",
  refresh: "刷新", back: "返回", none: "无", yes: "是", no: "否", all: "全部", actions: "操作", open: "打开",
  "nav.queue": "我的工单", "nav.notifications": "通知", "nav.collab": "协作", "nav.team": "团队工单",
  "nav.waiting": "待分配", "nav.overdue": "超时审批", "nav.dashboard": "数据看板", "nav.staff": "员工管理",
  "nav.sla": "SLA 策略", "nav.rules": "分类规则",
  "login.title": "客服工作台登录", "login.staff_id": "工号", "login.password": "密码", "login.submit": "登录",
  "login.failed": "工号或密码错误", "login.locked": "账号已锁定，请稍后再试或联系管理员",
  "login.expired": "登录已过期，请重新登录",
  "pwd.title": "修改密码", "pwd.first": "首次登录（或管理员重置密码后）需要先修改密码，才能继续使用。",
  "pwd.current": "当前密码", "pwd.new": "新密码", "pwd.repeat": "再次输入新密码", "pwd.mismatch": "两次输入的新密码不一致",
  "pwd.rule.length": "至少 8 个字符", "pwd.rule.letter": "包含字母", "pwd.rule.digit": "包含数字",
  "pwd.rule.special": "包含特殊字符（如 !@#$%）", "pwd.rule.same": "不能与当前密码相同", "pwd.done": "密码已修改",
  "queue.title": "我的工单", "queue.hint": "按 SLA 截止时间排序；橙色为即将超时，红色为已超时。",
  "queue.empty": "当前没有分配给你的工单", "queue.confirm": "确认接单", "queue.confirmed": "已确认接单",
  "col.ticket": "工单号", "col.subject": "主题", "col.priority": "优先级", "col.category": "分类", "col.channel": "渠道",
  "col.customer": "客户", "col.status": "状态", "col.assigned": "分配时间", "col.sla": "SLA", "col.agent": "处理人",
  "col.team": "团队", "col.waiting": "等待自", "col.reason": "原因", "col.due": "截止", "col.load": "负载",
  "col.role": "岗位", "col.duty": "在岗", "col.skills": "技能", "col.capacity": "容量", "col.active": "启用",
  "sla.left": "剩余 {t}", "sla.over": "超时 {t}", "sla.met": "已达成", "sla.paused": "已暂停", "sla.none": "—",
  "sla.first_response": "首次响应", "sla.resolution": "解决", "sla.warning": "即将超时", "sla.breached": "已超时",
  "ticket.title": "工单 {no}", "ticket.customer": "客户", "ticket.description": "问题描述", "ticket.order": "订单号",
  "ticket.classification": "分类", "ticket.explanation": "分类依据", "ticket.timeline": "处理记录",
  "ticket.assignment": "分配", "ticket.clock": "SLA 时钟", "ticket.not_found": "找不到该工单",
  "ticket.tier": "客户等级", "ticket.created": "创建时间", "ticket.module": "业务模块", "ticket.confidence": "置信度",
  "ticket.version": "分类器版本", "ticket.needs_review": "需人工复核", "ticket.matched": "命中词",
  "ticket.rule": "规则", "ticket.method": "方式", "ticket.history": "分配记录", "ticket.result": "处理结果",
  "act.note": "添加进度备注", "act.note_text": "备注内容", "act.note_ph": "如：已联系客户，正在排查问题",
  "act.contacted": "本次已联系客户", "act.customer_visible": "客户可见", "act.reply": "回复客户",
  "act.status": "变更状态", "act.status_to": "新状态", "act.reason": "原因", "act.resolve": "记录处理结果",
  "act.summary": "处理结果", "act.solution": "解决方式", "act.compensation": "补偿金额（元，可选）",
  "act.transfer": "转派", "act.to_agent": "转给员工（工号）", "act.to_team": "或转给团队",
  "act.expected": "预计处理时间（分钟）", "act.help": "请求协作", "act.question": "需要协助的内容",
  "act.responder": "协作人工号", "act.due_minutes": "期限（分钟）", "act.close": "关闭工单", "act.reopen": "重新打开",
  "act.reassign": "重新分配", "act.override": "调整分类/优先级", "act.override_hint": "修正会回传分类服务，作为训练样本。",
  "act.overdue": "超时原因审批", "act.done": "已保存", "act.ack": "确认接单",
  "notif.title": "通知", "notif.unread": "未读 {n}", "notif.read_all": "全部标为已读", "notif.mark": "标为已读",
  "notif.empty": "没有通知", "notif.new": "新通知：{s}",
  "collab.title": "协作请求", "collab.empty": "没有协作请求", "collab.answer": "回复", "collab.asked": "提问人",
  "team.title": "团队工单", "team.staff": "团队成员与负载", "team.queue": "团队排队中的工单", "team.pick": "团队",
  "waiting.title": "待分配工单", "waiting.hint": "各团队排队等待空闲客服的工单（按服务顺序）。",
  "waiting.empty": "没有排队中的工单", "overdue.title": "超时工单审批",
  "overdue.hint": "已超时且尚未填写超时原因的工单；填写原因即完成审批，并进入报表的超时原因分析。",
  "overdue.empty": "没有待审批的超时工单", "overdue.approve": "审批", "overdue.code": "超时原因", "overdue.note": "说明",
  "overdue.show_all": "包含已审批", "dashboard.title": "数据看板", "dashboard.open": "在新窗口打开数据看板",
  "staff.title": "员工管理", "staff.new": "新增员工", "staff.name": "姓名", "staff.id": "工号",
  "staff.initial_password": "初始密码（首次登录须修改）", "staff.set_password": "重置密码", "staff.disable": "停用",
  "staff.enable": "启用", "staff.on": "上岗", "staff.off": "下岗", "staff.supervisor": "主管工号",
  "staff.password_set": "密码已重置，对方下次登录时须修改", "staff.created": "员工已创建",
  "sla.title": "SLA 策略版本", "sla.active": "生效中", "sla.activate": "启用此版本", "sla.draft": "基于当前版本起草新版本",
  "sla.draft_hint": "编辑 JSON（规则矩阵、预警、日历），保存为草稿后再启用；运行中的工单保持原版本。",
  "sla.rules": "规则", "sla.author": "作者", "sla.status": "状态", "sla.delete": "删除草稿",
  "rules.title": "分类规则集", "rules.active": "当前规则集 v{v}", "rules.versions": "历史版本",
  "rules.new_version": "保存为新版本并启用", "rules.edit_hint": "编辑规则 JSON（有序，先匹配者优先），保存会生成新版本并热加载到所有实例。",
  "rules.revisions": "修订记录", "rules.dry_run": "试分类", "rules.dry_text": "输入一段客户描述",
  "rules.count": "{n} 条规则",
  "err.network": "网络错误，请重试", "err.forbidden": "没有权限执行此操作", "err.generic": "操作失败：{m}",
  "role.agent": "客服", "role.supervisor": "主管", "role.admin": "管理员", "sla.policy": "SLA 策略",
  "staff.set_on": "设为在岗", "staff.set_off": "设为下岗",
};
const en = {
  brand: "Service Console", logout: "Log out", loading: "Loading…", save: "Save", cancel: "Cancel", submit: "Submit",
  refresh: "Refresh", back: "Back", none: "None", yes: "Yes", no: "No", all: "All", actions: "Actions", open: "Open",
  "nav.queue": "My tickets", "nav.notifications": "Notifications", "nav.collab": "Collaboration", "nav.team": "Team",
  "nav.waiting": "Unassigned", "nav.overdue": "Overdue approval", "nav.dashboard": "Dashboard", "nav.staff": "Staff",
  "nav.sla": "SLA policies", "nav.rules": "Rules",
  "login.title": "Service console sign-in", "login.staff_id": "Staff ID", "login.password": "Password",
  "login.submit": "Sign in", "login.failed": "Wrong staff ID or password",
  "login.locked": "Account locked; try again later or ask an admin", "login.expired": "Session expired, please sign in again",
  "pwd.title": "Change password", "pwd.first": "First sign-in (or after an admin reset): change your password to continue.",
  "pwd.current": "Current password", "pwd.new": "New password", "pwd.repeat": "Repeat new password",
  "pwd.mismatch": "The new passwords differ", "pwd.rule.length": "At least 8 characters", "pwd.rule.letter": "A letter",
  "pwd.rule.digit": "A digit", "pwd.rule.special": "A special character (e.g. !@#$%)",
  "pwd.rule.same": "Not the current password", "pwd.done": "Password changed",
  "queue.title": "My tickets", "queue.hint": "Nearest SLA deadline first; amber = due soon, red = overdue.",
  "queue.empty": "No tickets assigned to you", "queue.confirm": "Confirm", "queue.confirmed": "Receipt confirmed",
  "col.ticket": "Ticket", "col.subject": "Subject", "col.priority": "Priority", "col.category": "Category",
  "col.channel": "Channel", "col.customer": "Customer", "col.status": "Status", "col.assigned": "Assigned",
  "col.sla": "SLA", "col.agent": "Agent", "col.team": "Team", "col.waiting": "Waiting since", "col.reason": "Reason",
  "col.due": "Due", "col.load": "Load", "col.role": "Position", "col.duty": "On duty", "col.skills": "Skills",
  "col.capacity": "Capacity", "col.active": "Active",
  "sla.left": "{t} left", "sla.over": "{t} overdue", "sla.met": "Met", "sla.paused": "Paused", "sla.none": "—",
  "sla.first_response": "First response", "sla.resolution": "Resolution", "sla.warning": "Due soon",
  "sla.breached": "Overdue",
  "ticket.title": "Ticket {no}", "ticket.customer": "Customer", "ticket.description": "Description",
  "ticket.order": "Order no.", "ticket.classification": "Classification", "ticket.explanation": "Why",
  "ticket.timeline": "Timeline", "ticket.assignment": "Assignment", "ticket.clock": "SLA clock",
  "ticket.not_found": "Ticket not found", "ticket.tier": "Tier", "ticket.created": "Created", "ticket.module": "Module",
  "ticket.confidence": "Confidence", "ticket.version": "Classifier version", "ticket.needs_review": "Needs review",
  "ticket.matched": "Matched terms", "ticket.rule": "Rule", "ticket.method": "Method", "ticket.history": "Routing history",
  "ticket.result": "Result",
  "act.note": "Add progress note", "act.note_text": "Note", "act.note_ph": "e.g. contacted the customer, investigating",
  "act.contacted": "I contacted the customer", "act.customer_visible": "Visible to customer", "act.reply": "Reply to customer",
  "act.status": "Change status", "act.status_to": "New status", "act.reason": "Reason", "act.resolve": "Record result",
  "act.summary": "Result", "act.solution": "Solution type", "act.compensation": "Compensation (CNY, optional)",
  "act.transfer": "Transfer", "act.to_agent": "To staff ID", "act.to_team": "or to team",
  "act.expected": "Expected time (minutes)", "act.help": "Request collaboration", "act.question": "What you need",
  "act.responder": "Staff ID asked", "act.due_minutes": "Due in (minutes)", "act.close": "Close ticket",
  "act.reopen": "Reopen", "act.reassign": "Reassign", "act.override": "Correct category / priority",
  "act.override_hint": "The correction goes back to the classifier as a training example.",
  "act.overdue": "Approve overdue", "act.done": "Saved", "act.ack": "Confirm receipt",
  "notif.title": "Notifications", "notif.unread": "{n} unread", "notif.read_all": "Mark all read", "notif.mark": "Mark read",
  "notif.empty": "No notifications", "notif.new": "New: {s}",
  "collab.title": "Collaboration requests", "collab.empty": "No requests", "collab.answer": "Answer", "collab.asked": "Asked by",
  "team.title": "Team", "team.staff": "Members and load", "team.queue": "Waiting in the team queue", "team.pick": "Team",
  "waiting.title": "Unassigned tickets", "waiting.hint": "Tickets waiting in each team's queue for a free agent, in serving order.",
  "waiting.empty": "Nothing waiting", "overdue.title": "Overdue approval",
  "overdue.hint": "Breached tickets without an overdue reason; recording the reason approves them and feeds the overdue-reason report.",
  "overdue.empty": "No overdue tickets waiting", "overdue.approve": "Approve", "overdue.code": "Reason",
  "overdue.note": "Note", "overdue.show_all": "Include approved", "dashboard.title": "Dashboard",
  "dashboard.open": "Open the dashboard in a new window",
  "staff.title": "Staff", "staff.new": "New member", "staff.name": "Name", "staff.id": "Staff ID",
  "staff.initial_password": "Initial password (must be changed at first sign-in)", "staff.set_password": "Reset password",
  "staff.disable": "Disable", "staff.enable": "Enable", "staff.on": "On duty", "staff.off": "Off duty",
  "staff.supervisor": "Supervisor ID", "staff.password_set": "Password reset; they must change it at next sign-in",
  "staff.created": "Member created",
  "sla.title": "SLA policy versions", "sla.active": "Active", "sla.activate": "Activate this version",
  "sla.draft": "Draft a new version from the active one",
  "sla.draft_hint": "Edit the JSON (rule matrix, warning, calendar), save as draft, then activate; running tickets keep their version.",
  "sla.rules": "Rules", "sla.author": "Author", "sla.status": "Status", "sla.delete": "Delete draft",
  "rules.title": "Classifier rule sets", "rules.active": "Active rule set v{v}", "rules.versions": "Versions",
  "rules.new_version": "Save as new version and activate",
  "rules.edit_hint": "Edit the ordered rules (first match wins); saving creates a version hot-reloaded by every replica.",
  "rules.revisions": "Revisions", "rules.dry_run": "Try a text", "rules.dry_text": "A customer's words",
  "rules.count": "{n} rules",
  "err.network": "Network error, please retry", "err.forbidden": "You may not do this", "err.generic": "Failed: {m}",
  "role.agent": "Agent", "role.supervisor": "Supervisor", "role.admin": "Admin", "sla.policy": "SLA policy",
  "staff.set_on": "Put on duty", "staff.set_off": "Take off duty",
};
const enums = {
  zh: {
    status: { new: "新建", needs_info: "待补充信息", assigned: "已分配", in_progress: "处理中", pending_customer: "待客户反馈",
      resolved: "已解决", closed: "已关闭", reopened: "已重开" },
    category: { pre_sales: "售前咨询", after_sales: "售后支持", complaint: "投诉建议", requirement: "需求", other: "其他" },
    module: { product: "产品", logistics: "物流", after_sales: "售后", technical: "技术" },
    channel: { phone: "电话", online_chat: "在线客服", email: "邮件", social: "社交媒体", web_form: "网页表单" },
    team: { frontline: "一线客服", specialist: "售后专员", tech: "技术支持", product: "产品专员", complaints: "投诉处理" },
    tier: { normal: "普通", vip: "VIP", key_account: "大客户" },
    position: { agent: "客服", senior_agent: "资深客服", supervisor: "主管", admin: "管理员" },
    overdue: { incomplete_information: "信息不全", complex_process: "流程复杂", insufficient_resources: "资源不足",
      priority_misjudged: "优先级判断不准", customer_unreachable: "客户无法联系", system_issue: "系统操作繁琐或故障", other: "其他" },
    solution: { knowledge_base: "知识库文档", guidance: "操作指导", repair: "维修", replacement: "换货", refund: "退款",
      compensation_coupon: "补偿优惠券", expedited_delivery: "加急配送", escalated_fix: "升级修复" },
    method: { rule: "规则", model: "模型", manual: "人工修正", default: "默认" },
    assignment: { routing: "分配中", queued: "排队中", assigned: "已分配", released: "已释放" },
    clock: { running: "计时中", paused: "已暂停", resolved: "已解决", closed: "已关闭" },
    policy: { draft: "草稿", active: "生效中", retired: "已停用" },
    entry: { created: "创建", note: "备注", contacted_customer: "联系客户", reply: "回复客户", status: "状态变更",
      assignment: "分配", acknowledged: "确认接单", result: "处理结果", confirmation: "客户确认", info_supplied: "补充信息", survey: "满意度调查",
      transfer: "转派", reassign: "重新分配", reopened: "重开", closed: "关闭", classification: "分类" },
  },
  en: {
    status: { new: "New", needs_info: "Needs info", assigned: "Assigned", in_progress: "In progress",
      pending_customer: "Pending customer", resolved: "Resolved", closed: "Closed", reopened: "Reopened" },
    category: { pre_sales: "Pre-sales", after_sales: "After-sales", complaint: "Complaint", requirement: "Requirement", other: "Other" },
    module: { product: "Product", logistics: "Logistics", after_sales: "After-sales", technical: "Technical" },
    channel: { phone: "Phone", online_chat: "Online chat", email: "E-mail", social: "Social", web_form: "Web form" },
    team: { frontline: "Frontline", specialist: "After-sales specialists", tech: "Tech support", product: "Product",
      complaints: "Complaints" },
    tier: { normal: "Normal", vip: "VIP", key_account: "Key account" },
    position: { agent: "Agent", senior_agent: "Senior agent", supervisor: "Supervisor", admin: "Admin" },
    overdue: { incomplete_information: "Incomplete information", complex_process: "Complex process",
      insufficient_resources: "Insufficient resources", priority_misjudged: "Priority misjudged",
      customer_unreachable: "Customer unreachable", system_issue: "System issue", other: "Other" },
    solution: { knowledge_base: "Knowledge base", guidance: "Guidance", repair: "Repair", replacement: "Replacement",
      refund: "Refund", compensation_coupon: "Coupon", expedited_delivery: "Expedited delivery", escalated_fix: "Escalated fix" },
    method: { rule: "Rule", model: "Model", manual: "Manual", default: "Default" },
    assignment: { routing: "Routing", queued: "Queued", assigned: "Assigned", released: "Released" },
    clock: { running: "Running", paused: "Paused", resolved: "Resolved", closed: "Closed" },
    policy: { draft: "Draft", active: "Active", retired: "Retired" },
    entry: { created: "Created", note: "Note", contacted_customer: "Contacted customer", reply: "Reply", status: "Status",
      assignment: "Assignment", acknowledged: "Receipt confirmed", result: "Result", confirmation: "Customer confirmation",
      info_supplied: "Information supplied", survey: "Survey", transfer: "Transfer", reassign: "Reassign", reopened: "Reopened", closed: "Closed",
      classification: "Classification" },
  },
};
const dictionaries = { zh, en };
const KEY = "console.lang";

export function lang() {
  const v = localStorage.getItem(KEY);
  return v === "en" ? "en" : "zh";
}

export function setLang(value) {
  localStorage.setItem(KEY, value === "en" ? "en" : "zh");
  document.documentElement.lang = value === "en" ? "en" : "zh-CN";
}

export function t(key, vars = {}) {
  const text = dictionaries[lang()][key] ?? dictionaries.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** The label of an enum value (status, category, team …); unknown values show as they are. */
export function label(kind, value) {
  if (value === null || value === undefined || value === "") return t("none");
  return enums[lang()][kind]?.[value] ?? String(value);
}

export function options(kind) {
  return Object.keys(enums.zh[kind]);
}

/** Texts of static elements marked with data-i18n / data-i18n-title. */
export function translateStatic(root = document) {
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
}
