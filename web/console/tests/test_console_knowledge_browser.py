"""The knowledge base in the console (issue 17), in real headless Chromium (Playwright, sync API).

* ``test_template_placeholders_and_article_html`` — fast, no service: the console alone serves its modules
  and the page imports them: a reply template's placeholders filled from a ticket page's data (masked name,
  salutation only when known, ticket and order numbers, the staff member's name, the resolution deadline
  in the business time zone, the company; a value missing stays visible as ``{{order_no}}``), and an
  article's server-sanitised HTML made safe to show (no picture from elsewhere, links in a new tab).
* ``test_agent_uses_suggestions_and_supervisor_publishes`` — the six services as real processes on the real
  RabbitMQ and MongoDB wire server, the console in front, as tests/e2e starts them: an agent opens a ticket,
  sees the articles and templates suggested for it, inserts a template (placeholders filled), links and opens
  an article, sends the answer and marks the article helpful; a supervisor creates a draft article on the
  Knowledge page, publishes it, edits it (a new version, the preview rendered by the server), and the
  "try a text" box finds it. Every step is checked in the classifier's own API too.

Screenshots: artifacts/screenshots/console-knowledge-*.png. Under CI=true a missing browser, broker or
database fails the run (the root conftest's fixtures).
"""

from __future__ import annotations

import asyncio
import base64
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from console.app import ConsoleSettings, create_app
from servicekit.localdb import free_port
from servicekit.testing import LiveServer, page_faults

DESK = {"width": 1366, "height": 768}
ROOT = Path(__file__).resolve().parents[3]


class Browser:
    """One browser context (one person at one desk); script errors, CSP violations and 5xx are faults."""

    def __init__(self, chromium: Any, base: str, shots: Path) -> None:
        self.context = chromium.new_context(viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai")
        self.page = self.context.new_page()
        self.errors = page_faults(self.page)
        self.page.set_default_timeout(20_000)
        self.base, self.shots = base, shots

    def shot(self, name: str) -> Path:
        self.page.evaluate("window.scrollTo(0, 0); document.getElementById('toasts').replaceChildren()")  # no passing toast
        self.page.wait_for_timeout(150)
        path = self.shots / f"console-knowledge-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def go(self, route: str) -> None:
        self.page.goto(f"{self.base}/#/{route}")

    def sign_in(self, staff_id: str, password: str, new_password: str) -> None:
        """Sign in with the password an admin set, then change it as the console insists."""
        self.page.goto(f"{self.base}/#/login")
        self.page.fill("#login-staff", staff_id)
        self.page.fill("#login-password", password)
        self.page.click("#login-submit")
        self.page.wait_for_selector("#pwd-new")
        self.page.fill("#pwd-current", password)
        self.page.fill("#pwd-new", new_password)
        self.page.fill("#pwd-repeat", new_password)
        self.page.click("#pwd-submit")
        self.page.wait_for_selector("#nav a")

    def close(self) -> None:
        assert not self.errors, self.errors
        self.context.close()


@pytest.fixture
def desks(chromium: Any, artifacts_dir: Path) -> Iterator[Any]:
    """Opens desks; one still open at the end was left by a failure: its screen is kept for CI."""
    opened: list[Browser] = []

    def open_desk(base: str) -> Browser:
        opened.append(Browser(chromium, base, artifacts_dir))
        return opened[-1]

    yield open_desk
    for n, desk in enumerate(opened):
        if desk.context.pages:
            desk.page.screenshot(path=str(artifacts_dir / f"console-knowledge-failure-{n}.png"), full_page=True)
            desk.context.close()


# ============================================================================= fast: the page's own logic
FILL = """async () => {
  const kb = await import("/static/js/kb.js");
  const ticket = { ticket_no: "GD20261206001", order_number: "A2026120601", customer_display: "客户A-0001" };
  const clock = { resolution_due: "2026-12-09T10:00:00Z" };
  const zhBody = "{{customer_name}}{{salutation}}您好！工单 {{ticket_no}}（订单 {{order_no}}）将在 {{resolution_due}} 前处理完毕。——{{agent_name}}（{{company}}）";
  const enBody = "Dear {{salutation}} {{customer_name}}, your ticket {{ticket_no}} (order {{order_no}}) is due {{resolution_due}}. {{agent_name}}, {{company}} {{unknown_thing}}";
  const values = (extra) => kb.templateValues({ ticket, clock, staffName: "郑雅婷", timeZone: "Asia/Shanghai", lang: "zh", ...extra });
  return {
    zh: kb.fillTemplate(zhBody, values({ customer: { name_masked: "钱**", name: "钱**", masked: true } })),
    zhKnown: kb.fillTemplate(zhBody, values({ customer: { name_masked: "钱**", gender: "female" } })),
    zhNoOrder: kb.fillTemplate(zhBody, values({ ticket: { ...ticket, order_number: null }, clock: null, customer: null })),
    supervisorSees: kb.fillTemplate("{{customer_name}}", values({ customer: { name: "钱女士", name_masked: "钱**", masked: false } })),
    en: kb.fillTemplate(enBody, values({ lang: "en", customer: { name_masked: "Q**" } })),
    enKnown: kb.fillTemplate(enBody, values({ lang: "en", customer: { name_masked: "Q**", title: "Mr" } })),
    placeholders: kb.placeholdersOf(enBody),
    link: [kb.articleLine({ lang: "zh", title: "发票重开", item_id: "KB-invoice-zh" }),
           kb.articleLine({ lang: "en", title: "Invoices", item_id: "KB-invoice-en" })],
    appended: [kb.appendText("", "B"), kb.appendText("A  \\n", "B")],
    figures: [kb.rate(0.756), kb.rate(null), kb.satisfaction(4.25), kb.satisfaction(null),
              kb.satisfaction({ used_csat_avg: 4.5, used_satisfaction_rate: 0.875, used_surveyed: 8 }),
              kb.satisfaction({ used_csat_avg: null, used_surveyed: 0 })],
    byId: [...kb.figuresById({ totals: {}, items: [{ item_id: "KB-a", used: 3 }] }).keys()],
    gap: kb.gapWords({ category: "after_sales", module: "after_sales", top_keywords: [{ key: "发票", count: 7 }, { key: "抬头", count: 5 }] }),
  };
}"""

SANITISE = """async () => {
  const { articleBody } = await import("/static/js/views/knowledge.js");
  const box = articleBody('<h2>标题</h2><p>正文 <strong>要点</strong></p><img src="https://elsewhere.example/x.png" alt="图">'
    + '<a href="https://help.example/a">帮助</a><a href="javascript:alert(1)">坏链接</a><p onclick="alert(2)" style="color:red">x</p>');
  return { html: box.innerHTML, imgs: box.querySelectorAll("img").length,
           targets: [...box.querySelectorAll("a")].map((a) => [a.getAttribute("href"), a.target, a.rel]) };
}"""


def test_template_placeholders_and_article_html(chromium: Any) -> None:
    with LiveServer(create_app(ConsoleSettings(log_format="text", refresh_seconds=600))) as console:
        context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(console.url + "/")
            page.wait_for_selector("#login-submit")
            out = page.evaluate(FILL)
            html = page.evaluate(SANITISE)
        finally:
            context.close()
    # zh: the masked name, no salutation when unknown (您好 reads fine), every number, the deadline in Beijing time
    assert out["zh"] == "钱**您好！工单 GD20261206001（订单 A2026120601）将在 12月9日 18:00 前处理完毕。——郑雅婷（客户服务中心）"
    assert out["zhKnown"].startswith("钱**女士您好！")
    # what is not known stays visible for the agent to complete; the ticket's masked display name stands in
    assert out["zhNoOrder"] == "客户A-0001您好！工单 GD20261206001（订单 {{order_no}}）将在 {{resolution_due}} 前处理完毕。——郑雅婷（客户服务中心）"
    assert out["supervisorSees"] == "钱**"  # a reply carries the masked name, whoever inserts it
    # en: no double space where the unknown salutation was; Mr when known; unknown placeholders untouched
    assert out["en"] == ("Dear Q**, your ticket GD20261206001 (order A2026120601) is due 9 Dec, 18:00. "
                         "郑雅婷, Customer Service Center {{unknown_thing}}"), out["en"]
    assert out["enKnown"].startswith("Dear Mr Q**, your ticket")
    assert out["placeholders"] == ["salutation", "customer_name", "ticket_no", "order_no", "resolution_due", "agent_name",
                                   "company", "unknown_thing"]
    assert out["link"] == ["参考文章：《发票重开》（编号 KB-invoice-zh）", "See our article “Invoices” (ref. KB-invoice-en)."]
    assert out["appended"] == ["B", "A\n\nB"]
    # reporting's figures as it answers them (reports/knowledge, reports/knowledge/gaps)
    assert out["figures"] == ["76%", "—", "4.3", "—", "4.5 · 88% (8)", "—"]
    assert out["byId"] == ["KB-a"] and out["gap"] == ["发票", "抬头"]
    # the article: the server's markup kept, nothing that loads from elsewhere or runs
    assert "<strong>要点</strong>" in html["html"] and html["imgs"] == 0 and "[图]" in html["html"]
    assert "onclick" not in html["html"] and "style=" not in html["html"]
    assert ["https://help.example/a", "_blank", "noopener noreferrer nofollow"] in html["targets"]
    assert [None, "_blank", "noopener noreferrer nofollow"] in html["targets"]  # the javascript: link lost its href
    assert not errors, errors


# ============================================================================= the real services
CHANNEL_KEYS = {c: f"kb-{c}-key-0123456789" for c in ("phone", "online_chat", "email", "social", "web_form")}
ADMIN_ID, ADMIN_PASSWORD = "kb-admin", "Init-Desk-Pass-1!"
TEMP, NEW_AGENT, NEW_SUPERVISOR = "Temp-Pass-2026!", "Agent-Pass-2026#", "Super-Pass-2026#"


class Platform:
    def __init__(self, stack: Any) -> None:
        from contracts import StaffRole
        from servicekit.testing import auth_header

        self.stack = stack
        self.supervisor = auth_header(StaffRole.SUPERVISOR, staff_id="kb-e2e-supervisor")
        self.admin = auth_header(StaffRole.ADMIN, staff_id="kb-e2e-admin")

    def url(self, service: str) -> str:
        return self.stack.url(service)

    def call(self, method: str, service: str, path: str, *, who: dict[str, str] | None = None, **kw: Any) -> Any:
        r = httpx.request(method, f"{self.url(service)}/api/v1/{path}", headers=who or self.supervisor, timeout=10, **kw)
        assert r.status_code < 300, f"{method} {service}/{path}: {r.status_code} {r.text}"
        return r.json() if r.content else None


@pytest.fixture(scope="module")
def platform(rabbitmq: str, mongodb_url: str | None) -> Iterator[Platform]:
    """The six services and the console as real processes, as tests/e2e starts them, in a namespace of their
    own. The classifier starts with an empty knowledge base (no shipped starter content): the test writes the
    articles and templates it expects, so what is suggested does not hang on content edited elsewhere."""
    from contracts import Namespace
    from servicekit.launcher import CONSOLE, SERVICES, Stack
    from servicekit.testing import TEST_JWT_SECRET, delete_topology

    namespace = f"kbc{os.getpid()}{int(time.time()) % 100000}"
    env = {
        **os.environ,
        "RABBITMQ_URL": rabbitmq, "HELPDESK_NAMESPACE": namespace, "JWT_SECRET": TEST_JWT_SECRET,
        "CHANNEL_API_KEYS": ",".join(f"{c}={k}" for c, k in CHANNEL_KEYS.items()),
        "CUSTOMER_LOOKUP_KEY": "kb-lookup-key",
        "CUSTOMER_DATA_KEYS": base64.urlsafe_b64encode(b"kb-e2e-customer-data-key-32byte!").decode(),
        "LOG_FORMAT": "json", "OUTBOX_GRACE_SECONDS": "2", "MONGODB_DATABASE_PREFIX": namespace,
        "DISPATCHER_ADMIN_STAFF_ID": ADMIN_ID, "DISPATCHER_ADMIN_INITIAL_PASSWORD": ADMIN_PASSWORD,
        "REFRESH_SECONDS": "600",  # no background redraw in the middle of a step
        "CLASSIFIER_SEED_KNOWLEDGE": "false",
    }
    if mongodb_url:
        env["MONGODB_URL"] = mongodb_url
    else:
        env.pop("MONGODB_URL", None)
    stack = Stack(env=env, ports={s.name: free_port() for s in (*SERVICES, CONSOLE)},
                  log_dir=ROOT / "artifacts" / "e2e-logs" / namespace, echo=False)
    stack.start()
    queues: set[str] = set()
    try:
        stack.wait_ready(timeout=120)
        queues = stack.declared_queues()
        stack.start_console()
        stack.wait_ready(timeout=60)
        yield Platform(stack)
    finally:
        stack.stop()
        ns = Namespace(namespace)
        # in a thread of its own: Playwright's sync API keeps its loop registered on this one while a browser is open
        cleanup = threading.Thread(target=lambda: asyncio.run(
            delete_topology(rabbitmq, queues, [ns.events_exchange, ns.dead_letter_exchange])))
        cleanup.start()
        cleanup.join(60)


ARTICLE = {
    "kind": "article", "topic": "invoice-reissue", "lang": "zh", "title": "电子发票抬头填错如何换开",
    "body": "## 换开电子发票\n\n1. 在订单详情页点击**申请换开**\n2. 填写正确的抬头和税号\n\n原发票红冲后 *24 小时内* 重新开具。"
            "\n\n![示意图](https://img.example/invoice.png)",
    "category": "after_sales", "modules": ["after_sales"], "keywords": ["发票抬头", "换开发票", "税号"],
}
TEMPLATE = {
    "kind": "template", "topic": "invoice-reissue", "lang": "zh", "title": "发票换开受理答复",
    "body": "{{customer_name}}{{salutation}}您好！您的工单 {{ticket_no}}（订单 {{order_no}}）的发票换开申请已受理，"
            "我们会在 {{resolution_due}} 前完成。——{{agent_name}}（{{company}}）",
    "category": "after_sales", "modules": ["after_sales"], "keywords": ["发票", "换开", "抬头"],
}
OTHERS = [  # a knowledge base of a few items, so that matching has something to tell apart
    {"kind": "article", "topic": "logistics-delay", "lang": "zh", "title": "物流长时间未更新怎么办",
     "body": "请先联系快递公司核实包裹位置，超过 72 小时未更新可申请补发。", "category": "after_sales",
     "modules": ["logistics"], "keywords": ["物流", "快递", "未更新"]},
    {"kind": "article", "topic": "coupon-stack", "lang": "zh", "title": "满减与优惠券叠加规则",
     "body": "先满减，再用优惠券；每单限用一张。", "category": "pre_sales", "modules": ["product"],
     "keywords": ["满减", "优惠券", "叠加"]},
    {"kind": "template", "topic": "greeting", "lang": "zh", "title": "通用问候",
     "body": "{{customer_name}}您好，我是{{agent_name}}，很高兴为您服务。", "category": "other", "keywords": ["问候"]},
]


def publish(platform: Platform, item: dict[str, Any]) -> str:
    created = platform.call("POST", "classifier", "knowledge", json=item)
    platform.call("POST", "classifier", f"knowledge/{created['id']}/publish", json={"base_version": 1, "note": "e2e"})
    return str(created["id"])


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_agent_uses_suggestions_and_supervisor_publishes(platform: Platform, desks: Any) -> None:
    from servicekit.testing import eventually, json_if_ok

    base = platform.url("console")
    article_id, template_id = publish(platform, ARTICLE), publish(platform, TEMPLATE)
    for item in OTHERS:
        publish(platform, item)

    # ---------------------------------------------------------------- a customer's ticket, classified and assigned
    submission = {"channel": "phone", "channel_message_id": f"kb-{uuid.uuid4().hex[:10]}", "subject": "发票抬头写错了",
                  "description": "发票抬头写错了，税号也不对，能帮我换开一张吗？订单号 A2026120601",
                  "customer": {"name": "钱女士", "phone": "13700005555"}}
    r = httpx.post(platform.url("intake") + "/api/v1/submissions", json=submission,
                   headers={"X-API-Key": CHANNEL_KEYS["phone"]}, timeout=10)
    assert r.status_code == 201, r.text
    tid = r.json()["ticket_id"]
    ticket = eventually(lambda: (t := json_if_ok(httpx.get(f"{platform.url('intake')}/api/v1/tickets/{tid}",
                                                           headers=platform.supervisor, timeout=5)))
                        and t["assignee_id"] and t, timeout=40)
    clock = eventually(lambda: json_if_ok(httpx.get(f"{platform.url('sla-monitor')}/api/v1/clocks/{tid}",
                                                    headers=platform.supervisor, timeout=5)), timeout=30)
    suggested = platform.call("GET", "classifier", f"tickets/{tid}/suggestions")
    assert {article_id, template_id} <= {s["item_id"] for s in suggested["suggestions"]}, suggested
    agent_id = ticket["assignee_id"]
    agent = platform.call("GET", "dispatcher", f"staff/{agent_id}", who=platform.admin)
    supervisor_id = agent["supervisor_id"]
    for staff_id in (agent_id, supervisor_id):
        platform.call("POST", "dispatcher", f"staff/{staff_id}/password", who=platform.admin, json={"password": TEMP})

    # ---------------------------------------------------------------- the agent: suggestions beside the answer
    desk = desks(base)
    desk.sign_in(agent_id, TEMP, NEW_AGENT)
    desk.go(f"ticket/{tid}")
    page = desk.page
    panel = page.locator("#kb-suggest")
    template = panel.locator(f'#kb-suggestions li[data-item-id="{template_id}"]')
    article = panel.locator(f'#kb-suggestions li[data-item-id="{article_id}"]')
    template.wait_for()
    assert panel.locator("h3").inner_text() == "推荐知识"
    assert article.locator(".kb-title").inner_text() == ARTICLE["title"] and "文章" in article.locator(".tag.kb-article").inner_text()
    assert template.locator(".kb-title").inner_text() == TEMPLATE["title"]
    for item in (article, template):
        assert float(item.locator(".kb-score").inner_text()) > 0   # the score as a small badge
        assert "命中：" in item.locator(".kb-terms").inner_text() and "发票" in item.locator(".kb-terms").inner_text()
        assert not item.locator(".kb-used").is_visible()
    # the panel sits right above the reply box
    assert page.locator("#conversation > #kb-suggest + #act-reply").count() == 1

    # insert the template: every placeholder filled from the page's data
    template.locator("button.kb-insert").click()
    template.locator(".kb-used").wait_for(state="visible")
    reply = page.input_value("#reply-form textarea")
    assert ticket["ticket_no"] in reply and "{{ticket_no}}" not in reply and "{{" not in reply, reply
    assert reply.startswith("钱**您好！") and "A2026120601" in reply and "客户服务中心" in reply
    assert f"——{agent['name']}（" in reply  # the signed-in agent's name, from the dispatcher's directory
    assert reply.count("月") == 1 and "日 " in reply  # the resolution deadline, e.g. 12月9日 18:00
    assert clock["resolution_due"]
    # open the article (the server's sanitised HTML) and link it into the answer
    article.locator("details.kb-open > summary").click()
    body = article.locator(".kb-body")
    assert body.locator("strong").inner_text() == "申请换开" and body.locator("ol li").count() == 2
    assert body.locator("img").count() == 0 and body.locator("a[href='https://img.example/invoice.png']").count() == 1
    article.locator("button.kb-link").click()
    article.locator(".kb-used").wait_for(state="visible")
    reply = page.input_value("#reply-form textarea")
    assert reply.endswith(f"参考文章：《{ARTICLE['title']}》（编号 {article_id}）"), reply
    used = {s["item_id"]: s for s in platform.call("GET", "classifier", f"tickets/{tid}/suggestions",
                                                   who=_as(agent_id))["suggestions"]}
    assert used[template_id]["used"] and used[article_id]["used"], used
    # the search box finds other items
    panel.locator("#kb-find input").fill("快递 物流")
    panel.locator("#kb-find button").click()
    panel.locator('#kb-find-results li[data-item-id="KB-logistics-delay-zh"]').wait_for()
    desk.shot("01-agent-suggestions")

    # send the answer, then say the article helped
    page.click("#reply-form button[type=submit]")
    page.wait_for_selector(f"#timeline >> text=您的工单 {ticket['ticket_no']}")
    timeline = platform.call("GET", "intake", f"tickets/{tid}/timeline")
    sent = [e["text"] for e in timeline if e["kind"] == "reply"]
    assert sent and ticket["ticket_no"] in sent[-1] and "{{" not in sent[-1] and article_id in sent[-1], sent
    article = page.locator(f'#kb-suggestions li[data-item-id="{article_id}"]')
    helpful = article.locator("button.kb-vote.up")
    helpful.click()
    page.wait_for_selector(f'#kb-suggestions li[data-item-id="{article_id}"] button.kb-vote.up[aria-pressed="true"]')
    verdicts = {s["item_id"]: s["verdict"] for s in platform.call("GET", "classifier", f"tickets/{tid}/suggestions",
                                                                  who=_as(agent_id))["suggestions"]}
    assert verdicts[article_id] == "helpful" and verdicts[template_id] is None, verdicts
    page.reload()  # the verdict and the use come back from the classifier
    page.wait_for_selector(f'#kb-suggestions li[data-item-id="{article_id}"] button.kb-vote.up.on')
    assert page.locator(f'#kb-suggestions li[data-item-id="{article_id}"] button.kb-vote.down.on').count() == 0
    assert page.locator(f'#kb-suggestions li[data-item-id="{template_id}"] .kb-used').is_visible()
    desk.shot("02-agent-answered-helpful")

    # the agent's Knowledge page: the list, no publishing, no dry run
    page.click('#nav a[data-nav="knowledge"]')
    page.wait_for_selector("#kb-items tbody tr")
    assert page.locator("#kb-try-panel").count() == 0 and page.locator("#kb-gaps").count() == 0
    page.click(f'a.kb-item-link[data-item-id="{article_id}"]')
    page.wait_for_selector("#kb-readonly")  # published: edited by supervisors
    assert page.locator("#kb-publish").count() == 0 and page.locator("#kb-history").count() == 0
    desk.shot("03-agent-knowledge")
    desk.close()

    # ---------------------------------------------------------------- the supervisor: write, publish, try
    sup = desks(base)
    sup.sign_in(supervisor_id, TEMP, NEW_SUPERVISOR)
    page = sup.page
    page.click('#nav a[data-nav="knowledge"]')
    page.wait_for_selector(f'a.kb-item-link[data-item-id="{article_id}"]')
    assert page.locator("#kb-try-panel").count() == 1
    # reporting's figures and gaps are shown when reporting answers them and left out when it does not
    figures = httpx.get(f"{platform.url('reporting')}/api/v1/reports/knowledge", headers=platform.supervisor, timeout=5)
    gaps = httpx.get(f"{platform.url('reporting')}/api/v1/reports/knowledge/gaps", headers=platform.supervisor, timeout=5)
    headers = page.locator("#kb-items th").all_inner_texts()
    assert ("推荐次数" in headers) == (figures.status_code == 200), (headers, figures.status_code)
    assert page.locator("#kb-gaps").count() == (1 if gaps.status_code == 200 else 0)
    page.click("#kb-new")
    form = page.locator("#kb-form")
    form.wait_for()
    form.locator("select[name=kind]").select_option("article")
    form.locator("select[name=lang]").select_option("zh")
    form.locator("input[name=topic]").fill("paper-invoice-mail")
    form.locator("input[name=title]").fill("纸质发票邮寄进度查询")
    form.locator("textarea[name=body]").fill("## 纸质发票何时寄出\n\n开票后 **3 个工作日内** 通过顺丰寄出，可在订单详情查看运单号。")
    form.locator("select[name=category]").select_option("after_sales")
    form.locator("input[name=keywords]").fill("纸质发票, 邮寄, 运单号")
    form.locator("input[name=mod_after_sales]").check()
    form.locator("button[type=submit]").click()
    new_id = "KB-paper-invoice-mail-zh"
    page.wait_for_selector(f'.kb-detail[data-item-id="{new_id}"]')
    assert "草稿" in page.locator("#kb-status").inner_text()
    assert page.locator("#kb-preview-current .kb-body strong").inner_text() == "3 个工作日内"  # rendered by the server
    assert platform.call("GET", "classifier", f"knowledge/{new_id}")["status"] == "draft"
    sup.shot("04-supervisor-draft")
    page.click("#kb-publish")
    page.wait_for_selector("#kb-status >> text=已发布")
    assert platform.call("GET", "classifier", f"knowledge/{new_id}")["published_version"] == 1
    # a second version: the agents keep the published one until it is published
    form = page.locator("#kb-form")
    form.locator("textarea[name=body]").fill("## 纸质发票何时寄出\n\n开票后 **2 个工作日内** 通过顺丰寄出，可在订单详情查看运单号。")
    page.wait_for_selector("#kb-stale:not([hidden])")  # the preview says it is not the typed text yet
    form.locator("input[name=note]").fill("寄出时效改为 2 天")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#kb-preview-current .kb-body >> text=2 个工作日内")
    assert "有未发布的修改" in page.locator("#kb-status").inner_text()
    assert "3 个工作日内" in page.locator("#kb-preview-published").inner_text()
    page.click("#kb-publish")
    page.wait_for_selector("#kb-history tbody tr:nth-child(4)")
    actions = page.locator("#kb-history tbody tr td:nth-child(2)").all_inner_texts()
    assert actions == ["发布", "编辑", "发布", "创建"], actions
    item = platform.call("GET", "classifier", f"knowledge/{new_id}")
    assert item["published_version"] == 2 and not item["has_unpublished_changes"], item
    # try a text: the new article is what a customer asking this would be suggested
    page.fill("#kb-try textarea[name=text]", "我的纸质发票什么时候邮寄？想查一下运单号")
    page.click("#kb-try button[type=submit]")
    page.wait_for_selector(f'#kb-try-result li[data-item-id="{new_id}"]')
    assert "售后支持" in page.locator("#kb-try-result p").first.inner_text()
    sup.shot("05-supervisor-published-try")
    # the list filtered to drafts no longer holds it; English labels
    page.locator("#kb-filters select[name=status]").select_option("draft")
    page.wait_for_selector("#kb-total >> text=共 0 条")
    page.locator("#kb-filters select[name=status]").select_option("")
    page.wait_for_selector(f'a.kb-item-link[data-item-id="{new_id}"]')
    page.click("#lang")
    page.wait_for_selector("h1 >> text=Knowledge base")
    assert "Published" in page.locator("#kb-status").inner_text()
    sup.shot("06-supervisor-en")
    sup.close()


def _as(staff_id: str) -> dict[str, str]:
    """A header for the classifier's API as this agent (the suggestions carry the caller's use and verdict)."""
    from contracts import StaffRole
    from servicekit.testing import auth_header

    return auth_header(StaffRole.AGENT, staff_id=staff_id)
