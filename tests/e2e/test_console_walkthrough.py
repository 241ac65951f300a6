"""The web console in real headless Chromium against the running services on the real broker:

* an admin signs in with the initial password, is made to change it, and resets the passwords of the
  agent and the supervisor the dispatcher picked (staff management);
* the agent signs in, changes the temporary password, finds the ticket in the queue (ordered and
  coloured by SLA), confirms receipt, opens it, adds a progress note and records the result;
* the supervisor signs in, sees the team and unassigned queues, reassigns a second ticket to another
  agent and corrects its priority (the correction reaches the classifier and intake);
* English switch, the admin pages (SLA policies, rule sets), 1366×768 and a tablet viewport.

Every step is checked in the services' own APIs too, and each screen is saved under
artifacts/screenshots/console-*.png.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts import StaffRole
from servicekit.testing import auth_header, eventually, json_if_ok, page_faults

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

DESK = {"width": 1366, "height": 768}
TABLET = {"width": 820, "height": 1180}
ADMIN_API = auth_header(StaffRole.ADMIN, staff_id="e2e-admin-api")
TEMP = "Temp-Pass-2026!"
NEW = {"admin": "Admin-Pass-2026#", "agent": "Agent-Pass-2026#", "supervisor": "Super-Pass-2026#"}


def submit(platform: Any, description: str, phone: str) -> dict[str, Any]:
    body = {"channel": "phone", "channel_message_id": f"console-{uuid.uuid4().hex[:10]}", "subject": description[:20],
            "description": description, "customer": {"name": "钱女士", "phone": phone}}
    r = platform.post("intake", "/api/v1/submissions", json=body, headers={"X-API-Key": platform.channel_keys["phone"]})
    assert r.status_code == 201, r.text
    tid = r.json()["ticket_id"]
    return eventually(lambda: (t := json_if_ok(platform.get("intake", f"/api/v1/tickets/{tid}")))
                      and t["assignee_id"] and t, timeout=40)


def api(platform: Any, service: str, path: str) -> Any:
    r = httpx.get(platform.url(service) + path, headers=ADMIN_API, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


class Desk:
    """One browser context (one person at one desk) on the console."""

    def __init__(self, browser: Any, base: str, shots: Path, viewport: dict[str, int] = DESK) -> None:
        self.context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
        self.page = self.context.new_page()
        self.errors = page_faults(self.page)
        self.base, self.shots = base, shots
        self.page.set_default_timeout(20_000)

    def shot(self, name: str) -> None:
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.wait_for_timeout(150)  # let the last render settle
        self.page.screenshot(path=str(self.shots / f"console-{name}.png"), full_page=True)

    def go(self, route: str) -> None:
        self.page.goto(f"{self.base}/#/{route}")

    def sign_in(self, staff_id: str, password: str) -> None:
        self.page.goto(f"{self.base}/#/login")
        self.page.fill("#login-staff", staff_id)
        self.page.fill("#login-password", password)
        self.page.click("#login-submit")

    def change_password(self, current: str, new: str) -> None:
        self.page.wait_for_selector("#pwd-new")
        self.page.fill("#pwd-current", current)
        self.page.fill("#pwd-new", new)
        self.page.fill("#pwd-repeat", new)
        self.page.click("#pwd-submit")
        self.page.wait_for_selector("#nav a")

    def open_action(self, action_id: str) -> Any:
        self.page.click(f"#{action_id} > summary")
        return self.page.locator(f"#{action_id} form")

    def close(self) -> None:
        # the pages must run without script errors (CSP violations included)
        assert not self.errors, self.errors
        self.context.close()


@pytest.fixture
def desks(chromium: Any, artifacts_dir: Path) -> Any:
    """Opens desks; a desk still open at the end was left by a failure: its screen is kept
    (console-failure-*.png) for the CI artifacts."""
    opened: list[Desk] = []

    def open_desk(base: str) -> Desk:
        opened.append(Desk(chromium, base, artifacts_dir))
        return opened[-1]

    yield open_desk
    for n, desk in enumerate(opened):
        if desk.context.pages:
            desk.page.screenshot(path=str(artifacts_dir / f"console-failure-{n}.png"), full_page=True)
            desk.context.close()


def test_agent_and_supervisor_walkthrough(platform: Any, desks: Any) -> None:
    base = platform.url("console")
    first = submit(platform, "双十一满减活动的规则是什么? 优惠券能不能叠加使用", "13700001111")
    second = submit(platform, "请问会员积分怎么兑换优惠券, 活动规则在哪里看", "13700002222")
    agent_id = first["assignee_id"]
    agent = api(platform, "dispatcher", f"/api/v1/staff/{agent_id}")
    supervisor_id = agent["supervisor_id"]
    assert supervisor_id, agent

    # ---------------------------------------------------------------- admin: first login, staff passwords
    admin = desks(base)
    admin.page.goto(base + "/")
    admin.page.wait_for_selector("#login-submit")
    assert admin.page.title() == "客服工作台登录"
    admin.shot("01-login")
    admin.sign_in(platform.admin_id, "wrong-password-1!")
    admin.page.wait_for_selector("text=工号或密码错误")
    admin.sign_in(platform.admin_id, platform.admin_password)
    admin.page.wait_for_selector("text=首次登录")
    admin.page.fill("#pwd-current", platform.admin_password)
    admin.page.fill("#pwd-new", "short1!")
    met = admin.page.locator("#pwd-policy li").evaluate_all("items => items.map(i => i.classList.contains('met'))")
    assert met == [False, True, True, True, True]  # all but the length: shown as the user types
    admin.shot("02-first-login-password")
    admin.page.fill("#pwd-repeat", "short1!")
    admin.page.click("#pwd-submit")
    admin.page.wait_for_selector("[role=alert]:not([hidden])")  # the dispatcher refuses a weak password
    admin.change_password(platform.admin_password, NEW["admin"])
    admin.page.wait_for_selector("text=员工管理")
    for staff_id in (agent_id, supervisor_id):
        form = admin.page.locator(f"#reset-{staff_id}")
        form.locator("input").fill(TEMP)
        form.locator("button").click()
        admin.page.wait_for_selector("text=密码已重置")
        admin.page.locator(".toast").first.wait_for(state="detached", timeout=10_000)
    admin.shot("03-admin-staff")
    admin.go("sla")
    admin.page.wait_for_selector("#policy-rules")
    assert admin.page.locator("#policy-rules tbody tr").count() == 6  # the seeded matrix (P1 phone/chat/other, P2-P4)
    admin.shot("04-admin-sla-policies")
    admin.go("rules")
    admin.page.wait_for_selector("#active-rules")
    admin.page.fill("#dry-run textarea", "手机无法开机, 订单号 A2026112501")
    admin.page.click("#dry-run button[type=submit]")
    admin.page.wait_for_selector("#dry-run-result >> text=售后支持")
    # models: the startup model with its held-out figures; retrain + activate from the page
    admin.page.wait_for_selector("#models >> text=model-v1")
    assert "%" in admin.page.locator("#models tbody tr").first.inner_text()
    admin.page.click("#model-train")
    admin.page.wait_for_selector("#models >> text=model-v2", timeout=90_000)
    newest = admin.page.locator("#models tbody tr").first.inner_text()
    assert "model-v2" in newest and "%" in newest
    admin.shot("05-admin-rules")
    # the queue's colours: the nearest open target decides; amber from its warning time, red once past due
    levels = admin.page.evaluate("""async () => {
      const { slaState } = await import("/static/js/ui.js");
      const now = Date.parse("2026-11-25T10:00:00Z");
      const clock = (due, warn, extra = {}) => ({ status: "running", first_response_at: null,
        first_response_due: due, first_response_warning_at: warn,
        resolution_due: "2026-11-27T10:00:00Z", resolution_warning_at: "2026-11-27T09:00:00Z", ...extra });
      return [
        slaState(clock("2026-11-25T12:00:00Z", "2026-11-25T11:00:00Z"), now).level,
        slaState(clock("2026-11-25T10:30:00Z", "2026-11-25T09:30:00Z"), now).level,
        slaState(clock("2026-11-25T09:59:00Z", "2026-11-25T09:00:00Z"), now).level,
        slaState(clock("2026-11-25T09:00:00Z", null, { first_response_at: "2026-11-25T08:00:00Z" }), now).level,
        slaState(clock("2026-11-25T09:00:00Z", null, { status: "resolved", first_response_at: "x" }), now).level,
        slaState(null, now).level,
      ];
    }""")
    assert levels == ["ok", "warning", "breached", "ok", "ok", "none"]
    admin.close()

    # ---------------------------------------------------------------- agent: queue → confirm → note → resolve
    desk = desks(base)
    desk.sign_in(agent_id, TEMP)
    desk.change_password(TEMP, NEW["agent"])
    row = desk.page.locator(f'tr[data-ticket-id="{first["ticket_id"]}"]')
    row.wait_for()
    assert row.locator(".tag.sla-ok, .tag.sla-warning, .tag.sla-breached").count() == 1  # clock shown
    desk.shot("06-agent-queue")
    row.locator("button.confirm").click()
    row.locator("text=已确认接单").wait_for()
    assignment = api(platform, "dispatcher", f"/api/v1/assignments/{first['ticket_id']}")
    assert assignment["acknowledged_at"], assignment
    row.locator("a").first.click()
    desk.page.wait_for_selector("#classification")
    assert first["ticket_no"] in desk.page.locator("h1").inner_text()
    assert "13700001111" not in desk.page.content()  # an agent sees the customer masked
    assert desk.page.locator("#classification >> text=售前咨询").count() == 1
    desk.shot("07-agent-ticket")
    note = desk.open_action("act-note")
    note.locator("textarea").fill("已联系客户, 说明满减与优惠券可叠加规则")
    note.locator("input[name=contacted_customer]").check()
    note.locator("button[type=submit]").click()
    desk.page.wait_for_selector("#timeline >> text=已联系客户, 说明满减与优惠券可叠加规则")
    # the customer calls again from the same number: the message lands on this ticket, the agent sees the thread
    # and that the customer waits for an answer, and answers from the reply box
    call = {"channel": "phone", "channel_message_id": f"{first['ticket_id']}-call-2", "customer": {"phone": "13700001111"},
            "text": "我再问一下, 优惠券和满减到底能不能一起用"}
    r = platform.post("intake", "/api/v1/messages", json=call, headers={"X-API-Key": platform.channel_keys["phone"]})
    assert r.status_code == 201 and r.json()["ticket_id"] == first["ticket_id"], r.text
    desk.page.reload()
    desk.page.wait_for_selector("#timeline >> text=优惠券和满减到底能不能一起用")
    assert "起在等待你的回复" in desk.page.locator("#awaiting").inner_text()
    desk.shot("07b-agent-conversation")
    desk.page.fill("#reply-form textarea", "可以一起用: 先满减, 再用优惠券")
    desk.page.click("#reply-form button[type=submit]")
    desk.page.wait_for_selector("#timeline >> text=先满减, 再用优惠券")
    assert desk.page.locator("#awaiting").count() == 0
    result = desk.open_action("act-resolve")
    result.locator("textarea").fill("已告知活动规则, 客户表示理解")
    result.locator("select[name=solution_type]").select_option("guidance")
    result.locator("button[type=submit]").click()
    desk.page.wait_for_selector(".toolbar .tag >> text=已解决")
    desk.shot("08-agent-resolved")
    ticket = api(platform, "intake", f"/api/v1/tickets/{first['ticket_id']}")
    assert ticket["status"] == "resolved" and ticket["first_response_at"] and ticket["solution_type"] == "guidance"
    kinds = [e["kind"] for e in api(platform, "intake", f"/api/v1/tickets/{first['ticket_id']}/timeline")]
    assert "contacted_customer" in kinds or "note" in kinds
    desk.go("notifications")
    desk.page.wait_for_selector("h1 >> text=通知")
    desk.shot("09-agent-notifications")
    desk.close()

    # ---------------------------------------------------------------- supervisor: queues, reassign, correct
    sup = desks(base)
    sup.sign_in(supervisor_id, TEMP)
    sup.change_password(TEMP, NEW["supervisor"])
    sup.go("team")
    sup.page.wait_for_selector("text=团队成员与负载")
    sup.shot("11-supervisor-team")
    sup.go("waiting")
    sup.page.wait_for_selector("h1 >> text=待分配工单")
    sup.shot("12-supervisor-unassigned")
    sup.go("overdue")
    sup.page.wait_for_selector("h1 >> text=超时工单审批")
    sup.shot("13-supervisor-overdue")

    team = api(platform, "dispatcher", f"/api/v1/staff?team={agent['team']}")
    holder = second["assignee_id"]
    others = sorted((m for m in team if m["role"] in ("agent", "senior_agent") and m["active"] and m["on_duty"]
                     and m["staff_id"] != holder and m["open_count"] < m["capacity"]), key=lambda m: m["open_count"])
    assert others, team
    target = others[0]["staff_id"]
    sup.go(f"ticket/{second['ticket_id']}")
    sup.page.wait_for_selector("#assignment")
    assert "13700002222" in sup.page.locator("#customer").inner_text()  # a supervisor may see the phone
    move = sup.open_action("act-transfer")
    move.locator("input[name=to_agent_id]").fill(target)
    move.locator("input[name=reason]").fill("平衡负载, 主管重新分配")
    move.locator("button[type=submit]").click()
    sup.page.wait_for_selector(f"#assignment >> text=({target})")
    moved = api(platform, "dispatcher", f"/api/v1/assignments/{second['ticket_id']}")
    assert moved["agent_id"] == target and moved["history"][-1]["kind"] == "reassign", moved
    fix = sup.open_action("act-override")
    fix.locator("select[name=priority]").select_option("P2")
    fix.locator("input[name=reason]").fill("客户为重要活动咨询, 提高优先级")
    fix.locator("button[type=submit]").click()
    sup.page.wait_for_selector("#classification >> text=人工修正")
    record = api(platform, "classifier", f"/api/v1/classifications/{second['ticket_id']}")
    assert record["corrected"] and record["result"]["priority"] == "P2"
    eventually(lambda: api(platform, "intake", f"/api/v1/tickets/{second['ticket_id']}")["priority"] == "P2", timeout=20)
    sup.shot("14-supervisor-reassigned")
    sup.page.set_viewport_size(TABLET)
    sup.page.reload()
    sup.page.wait_for_selector("#assignment")
    sup.shot("10-supervisor-ticket-tablet")
    assert sup.page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]  # no sideways scrolling
    sup.page.set_viewport_size(DESK)

    sup.page.click("#lang")
    sup.page.wait_for_selector("#nav >> text=Team")
    sup.go("team")
    sup.page.wait_for_selector("text=Members and load")
    assert re.search(r"Service Console", sup.page.locator("#brand").inner_text())
    sup.shot("15-supervisor-team-en")
    sup.page.click("#logout")
    sup.page.wait_for_selector("#login-submit")
    assert sup.page.evaluate("sessionStorage.getItem('console.token')") is None
    sup.close()


def test_gateway_forwards_only_service_apis_and_reports_upstreams(platform: Any) -> None:
    base = platform.url("console")
    assert httpx.get(f"{base}/health/ready", timeout=5).status_code == 200
    upstreams = httpx.get(f"{base}/health/upstreams", timeout=10).json()
    assert upstreams == {s: "ok" for s in ("intake", "classifier", "dispatcher", "sla-monitor", "survey", "reporting")}
    r = httpx.get(f"{base}/api/nowhere/v1/tickets", timeout=5)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_service"
    r = httpx.get(f"{base}/api/intake/v1/tickets", timeout=5)  # the service decides: no token, 401
    assert r.status_code == 401 and r.json()["error"]["code"] in ("unauthorized", "missing_token", "not_authenticated")
    r = httpx.get(f"{base}/api/intake/v1/tickets", headers=auth_header(StaffRole.AGENT), timeout=5)
    assert r.status_code == 200 and isinstance(r.json(), list)
    assert r.headers["x-correlation-id"] and r.headers["cache-control"] == "no-store"
    page = httpx.get(f"{base}/", timeout=5)
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert "helpdesk_http_requests_total" in httpx.get(f"{base}/metrics", timeout=5).text
