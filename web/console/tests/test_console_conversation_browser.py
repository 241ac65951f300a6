"""The ticket as a conversation, in real headless Chromium (Playwright, sync API): the console served over
HTTP by uvicorn, its gateway answering from fixtures shaped like the services' APIs (intake's ticket with
``awaiting_reply_since`` / ``customer_messages`` and its timeline with ``customer_message`` entries, the
dispatcher's queue and inbox with a ``ticket.customer_replied`` notification) — the services themselves are
not started. Checks the thread (opening message, customer messages with channel and attachments, the
agent's reply, the internal note, the events in between), the waiting marker at the reply box, the queue
with waiting customers first, and the inbox entry, in Chinese and English. Screenshots go to
artifacts/screenshots/console-conversation-*.png."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from console.app import ConsoleSettings, create_app
from servicekit.testing import LiveServer, page_faults

DESK = {"width": 1366, "height": 768}
TABLET = {"width": 820, "height": 1180}
NOW = datetime.now(UTC).replace(microsecond=0)


def iso(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


# ----------------------------------------------------------------------------- fixtures (API shapes)
def ticket(tid: str, no: str, subject: str, *, awaiting: float | None = None, messages: int = 0,
           priority: str = "P3", status: str = "in_progress", channel: str = "email") -> dict[str, Any]:
    return {
        "ticket_id": tid, "ticket_no": no, "correlation_id": tid, "channel": channel, "channel_message_id": f"m-{tid}",
        "customer_id": f"cust-{tid}", "customer_display": "客户A-2024", "customer_tier": "normal",
        "subject": subject, "description": "上周五下单的耳机到现在还没收到，物流一直显示运输中。订单号 A2026112301。",
        "order_number": "A2026112301", "status": status, "priority": priority, "category": "after_sales",
        "assignee_id": "C1", "created_at": iso(180), "updated_at": iso(20), "first_response_at": iso(170),
        "resolution_summary": None,
        "attachments": [{"name": "订单截图.png", "content_type": "image/png", "size_bytes": 53211,
                         "url": "https://files.example/t/订单截图.png"}],
        "awaiting_reply_since": iso(awaiting) if awaiting is not None else None, "customer_messages": messages,
    }


TICKETS = {
    "t-await": ticket("t-await", "GD20261125007", "耳机一直没送到", awaiting=80, messages=2),
    "t-await2": ticket("t-await2", "GD20261125011", "发票抬头写错了", awaiting=20, messages=1, priority="P2"),
    "t-sla": ticket("t-sla", "GD20261125003", "支付后订单消失", priority="P1"),
    "t-plain": ticket("t-plain", "GD20261125015", "建议增加夜间模式", priority="P4"),
}


def assignment(tid: str, rank: int) -> dict[str, Any]:
    tk = TICKETS[tid]
    return {"ticket_id": tid, "ticket_no": tk["ticket_no"], "correlation_id": tid, "status": "assigned",
            "category": "after_sales", "module": "logistics", "priority": tk["priority"], "priority_rank": rank,
            "channel": tk["channel"], "customer_tier": "normal", "team": "specialist", "agent_id": "C1",
            "agent_name": "客服乙", "reason": "team specialist (after_sales/logistics → specialist); lowest load",
            "revision": 0, "classified_at": iso(179), "waiting_since": iso(179), "assigned_at": iso(178),
            "updated_at": iso(178), "acknowledged_at": iso(175), "history": [], "sla_due_at": None}


QUEUE = [assignment("t-sla", 1), assignment("t-plain", 4), assignment("t-await2", 2), assignment("t-await", 3)]


def clock(tid: str, due_minutes: float) -> dict[str, Any]:
    due = (NOW + timedelta(minutes=due_minutes)).isoformat()
    return {"ticket_id": tid, "status": "running", "first_response_at": iso(170), "first_response_due": iso(160),
            "first_response_warning_at": iso(170), "resolution_due": due,
            "resolution_warning_at": (NOW + timedelta(minutes=due_minutes - 60)).isoformat(),
            "policy_version": 1, "calendar_id": "default", "breach_count": 0, "paused_seconds": 0}


CLOCKS = {"t-sla": clock("t-sla", 30), "t-await": {**clock("t-await", 600), "next_response_status": "running",
                                                   "next_response_due": iso(-40)},
          "t-await2": clock("t-await2", 900), "t-plain": clock("t-plain", 3000)}

ATTACHMENTS = [
    {"name": "快递面单.jpg", "content_type": "image/jpeg", "size_bytes": 284211, "url": "https://files.example/m/1.jpg"},
    {"name": "聊天记录.pdf", "content_type": "application/pdf", "size_bytes": 1048576, "url": "javascript:alert(1)"},
]
TIMELINE = [  # oldest first, as intake answers
    {"entry_id": "e1", "at": iso(180), "actor": "channel:email", "kind": "created", "text": "", "visibility": "internal",
     "from_status": None, "to_status": "new", "data": {}},
    {"entry_id": "e2", "at": iso(178), "actor": "dispatcher", "kind": "assignment", "text": "assigned to 客服乙 (specialist)",
     "visibility": "internal", "from_status": "new", "to_status": "assigned", "data": {}},
    {"entry_id": "e3", "at": iso(175), "actor": "C1", "kind": "acknowledged", "text": "agent confirmed receipt",
     "visibility": "internal", "from_status": None, "to_status": None, "data": {}},
    {"entry_id": "e4", "at": iso(170), "actor": "C1", "kind": "status", "text": "agent contacted the customer",
     "visibility": "internal", "from_status": "assigned", "to_status": "in_progress", "data": {}},
    {"entry_id": "e5", "at": iso(170), "actor": "C1", "kind": "reply", "visibility": "customer",
     "text": "您好，已为您查询物流：包裹在杭州转运中心，预计明天送达，请留意电话。", "from_status": None, "to_status": None, "data": {}},
    {"entry_id": "e6", "at": iso(150), "actor": "C1", "kind": "note", "visibility": "internal",
     "text": "已联系顺丰客服核实，包裹疑似滞留，等待回电。", "from_status": None, "to_status": None, "data": {}},
    {"entry_id": "e7", "at": iso(80), "actor": "customer:email", "kind": "customer_message", "visibility": "customer",
     "text": "还是没有收到，能不能直接退款？附上快递面单和聊天记录。", "from_status": None, "to_status": None,
     "data": {"channel": "email", "message_id": "msg-1", "channel_message_id": "<r1@mail.example>",
              "threaded_by": "reference", "attachments": ATTACHMENTS}},
    {"entry_id": "e8", "at": iso(30), "actor": "customer:phone", "kind": "customer_message", "visibility": "customer",
     "text": "客户来电催促：明天要出差，希望今天给答复。", "from_status": None, "to_status": None,
     "data": {"channel": "phone", "message_id": "msg-2", "channel_message_id": "call-77", "threaded_by": "recent",
              "attachments": []}},
]

NOTIFICATIONS = {"unread": 1, "items": [
    {"id": "ev1:C1:in_app", "kind": "ticket.customer_replied", "channel": "in_app",
     "subject": "工单 GD20261125007 客户回复", "body": "客户来电催促：明天要出差，希望今天给答复。", "ticket_id": "t-await",
     "status": "delivered", "created_at": iso(30), "read_at": None,
     "data": {"ticket_no": "GD20261125007", "excerpt": "客户来电催促：明天要出差，希望今天给答复。", "channel": "phone",
              "attachments": 0, "reply_count": 2, "threaded_by": "recent", "status": "in_progress",
              "replied_at": iso(30), "message_id": "msg-2", "unassigned": False}},
    {"id": "ev0:C1:in_app", "kind": "sla.warning", "channel": "in_app", "subject": "SLA warning GD20261125003",
     "body": "工单 GD20261125003 (P1) resolution deadline in 30m", "ticket_id": "t-sla", "status": "read",
     "created_at": iso(40), "read_at": iso(35), "data": {}},
]}


def upstream(seen: list[tuple[str, str, bytes]]) -> httpx.MockTransport:
    def reply(request: httpx.Request) -> httpx.Response:
        host, path = request.url.host, request.url.path.removeprefix("/api/v1/")
        seen.append((request.method, f"{host}/{path}", request.content))
        if request.url.path == "/health/ready":
            return httpx.Response(200, json={"status": "ok"})
        if host == "intake.test":
            if path == "tickets" and request.method == "GET":
                return httpx.Response(200, json=list(TICKETS.values()))
            parts = path.split("/")
            if parts[0] == "tickets" and len(parts) >= 2 and parts[1] in TICKETS:
                if len(parts) == 2:
                    return httpx.Response(200, json=TICKETS[parts[1]])
                if parts[2] == "timeline":
                    return httpx.Response(200, json=TIMELINE if parts[1] == "t-await" else TIMELINE[:1])
                if parts[2] == "responses" and request.method == "POST":
                    return httpx.Response(200, json=TICKETS[parts[1]])
            if parts[0] == "customers":
                return httpx.Response(200, json={"customer_id": parts[1], "name": "钱**", "phone": "137****1111",
                                                 "email": None})
        if host == "dispatcher.test":
            if path == "queue/mine":
                return httpx.Response(200, json=QUEUE)
            if path == "notifications/mine":
                return httpx.Response(200, json=NOTIFICATIONS)
            if path.startswith("assignments/"):
                return httpx.Response(200, json=next(a for a in QUEUE if a["ticket_id"] == path.split("/")[1]))
        if host == "sla.test":
            if path == "clocks":
                wanted = request.url.params.get_list("ticket_id")
                return httpx.Response(200, json=[CLOCKS[t] for t in wanted if t in CLOCKS])
            if path.startswith("clocks/") and path.split("/")[1] in CLOCKS:
                return httpx.Response(200, json=CLOCKS[path.split("/")[1]])
        if host == "classifier.test" and path.startswith("classifications/"):
            return httpx.Response(200, json={"ticket_id": path.split("/")[1], "revision": 1, "result": {
                "category": "after_sales", "module": "logistics", "priority": "P3", "confidence": 0.91,
                "needs_review": False, "classifier_version": "rules-3",
                "explanation": {"method": "rule", "rule_id": "logistics-delay", "matched_terms": ["没收到", "物流"]}}})
        return httpx.Response(404, json={"error": {"code": "not_found", "message": f"{host}/{path}"}})
    return httpx.MockTransport(reply)


def agent_token() -> str:
    """The page only reads the token's claims to shape itself (every service verifies it); the fixture
    upstreams verify nothing, so an unsigned token with the claims is enough here."""
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, ensure_ascii=False).encode()).rstrip(b"=").decode()
    claims = {"sub": "C1", "name": "客服乙", "roles": ["agent"], "team": "specialist", "exp": int(time.time()) + 3600}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.x"


class LiveConsole(LiveServer):
    """The console app served over real HTTP, its upstream services a mock that records what it was sent."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes]] = []
        settings = ConsoleSettings(intake_url="http://intake.test", dispatcher_url="http://dispatcher.test",
                                   sla_monitor_url="http://sla.test", classifier_url="http://classifier.test",
                                   log_format="text", refresh_seconds=600)
        super().__init__(create_app(settings, transport=upstream(self.seen)))


@pytest.fixture
def console() -> Iterator[LiveConsole]:
    with LiveConsole() as live:
        yield live


def test_conversation_thread_waiting_marker_queue_and_inbox(console: LiveConsole, chromium: Any,
                                                            artifacts_dir: Path) -> None:
    context = chromium.new_context(viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.add_init_script(f"sessionStorage.setItem('console.token', {json.dumps(agent_token())});")
    page = context.new_page()
    errors = page_faults(page)
    page.set_default_timeout(15_000)

    def shot(name: str) -> None:
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(150)
        page.screenshot(path=str(artifacts_dir / f"console-conversation-{name}.png"), full_page=True)

    try:
        # ------------------------------------------------------------ the queue: waiting customers first
        page.goto(console.url + "/#/queue")
        page.wait_for_selector("tr[data-ticket-id]")
        order = page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.ticketId)")
        assert order == ["t-await", "t-await2", "t-sla", "t-plain"]  # oldest wait first, then by SLA due
        first = page.locator('tr[data-ticket-id="t-await"]')
        assert "row-awaiting" in (first.get_attribute("class") or "")
        badge = first.locator(".awaiting-line").inner_text()
        assert "客户待回复" in badge and re.search(r"已等 1 小时 \d+ 分", badge) and "客户追问 2 条" in badge
        assert page.locator('tr[data-ticket-id="t-sla"] .tag.awaiting').count() == 0
        assert "客户待回复的工单排在最前" in page.locator(".toolbar").inner_text()
        assert first.locator(".ch-email").inner_text() == "邮件"  # the channel with its icon
        shot("queue-zh")

        # ------------------------------------------------------------ the ticket: the whole conversation
        first.locator("a").first.click()
        page.wait_for_selector("#conversation .thread")
        items = page.locator("#timeline > li")
        kinds = items.evaluate_all("lis => lis.map(li => li.className)")
        assert kinds == ["msg customer opening", "event kind-created", "event kind-assignment", "event kind-acknowledged",
                         "event kind-status", "msg agent kind-reply", "msg agent internal kind-note",
                         "msg customer", "msg customer"], kinds
        opening = items.nth(0).inner_text()
        assert "首条消息" in opening and "耳机一直没送到" in opening and "订单号 A2026112301" in opening
        assert "订单截图.png" in opening and items.nth(0).locator(".ch-email").count() == 1
        reply = items.nth(5)
        assert "客服乙 (C1)" in reply.inner_text() and "回复客户" in reply.inner_text() and "杭州转运中心" in reply.inner_text()
        note = items.nth(6)
        assert "内部备注" in note.inner_text() and "仅内部可见 · 客户看不到" in note.inner_text()
        email = items.nth(7)
        assert email.locator(".ch-email").inner_text() == "邮件" and "按工单号归入" in email.inner_text()
        assert "附件 (2)" in email.inner_text() and "快递面单.jpg" in email.inner_text() and "1.0 MB" in email.inner_text()
        assert email.locator("a[href='https://files.example/m/1.jpg']").count() == 1
        assert email.locator("a[href^='javascript']").count() == 0 and "聊天记录.pdf" in email.inner_text()
        phone = items.nth(8)
        assert phone.locator(".ch-phone").inner_text() == "电话" and "归入客户最近的工单" in phone.inner_text()
        assert "客户追问 2 条" in page.locator("#conversation .toolbar").inner_text()
        # the waiting marker sits right at the reply box, above the answer field
        marker = page.locator("#act-reply #awaiting")
        assert "客户自" in marker.inner_text() and "起在等待你的回复" in marker.inner_text()
        assert re.search(r"已等待 1 小时 \d+ 分", marker.inner_text())
        assert page.locator("#act-reply > *").evaluate_all("els => els.map(e => e.id || e.tagName)") == \
            ["H3", "awaiting", "reply-form"]
        assert page.locator(".toolbar .tag.awaiting").inner_text() == "客户待回复"
        # the SLA panel shows the answer owed for the customer's latest message (next-response target)
        assert "追问回复" in page.locator("body").inner_text()
        # the conversation is the page's first thing and nothing overflows sideways
        assert page.evaluate("document.documentElement.scrollWidth") <= DESK["width"]
        shot("ticket-zh")
        page.set_viewport_size(TABLET)  # a tablet: one column, still no sideways scrolling
        page.wait_for_timeout(150)
        assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
        page.screenshot(path=str(artifacts_dir / "console-conversation-ticket-zh-tablet.png"), full_page=False)
        page.set_viewport_size(DESK)

        # answering goes to intake's responses endpoint, as before
        page.fill("#reply-form textarea", "您好，已为您申请退款，1-3 个工作日到账。")
        page.click("#reply-form button[type=submit]")
        page.wait_for_selector("text=已保存")
        posted = [body for method, where, body in console.seen
                  if method == "POST" and where == "intake.test/tickets/t-await/responses"]
        assert [json.loads(b) for b in posted] == [{"text": "您好，已为您申请退款，1-3 个工作日到账。"}]

        # ------------------------------------------------------------ the inbox: the new kind, readable
        page.goto(console.url + "/#/notifications")
        page.wait_for_selector("h1 >> text=通知")
        row = page.locator("tbody tr").first
        text = row.inner_text()
        assert "客户回复" in text and "客户在工单 GD20261125007 发来新消息（电话）" in text
        assert "“客户来电催促：明天要出差，希望今天给答复。”" in text and "第 2 条追问" in text
        assert "row-awaiting" in (row.get_attribute("class") or "")
        assert "SLA 预警" in page.locator("tbody tr").nth(1).inner_text()
        shot("inbox-zh")

        # ------------------------------------------------------------ English
        page.click("#lang")
        page.wait_for_selector("text=The customer wrote again on GD20261125007 (Phone)")
        assert "Customer replied" in page.locator("tbody tr").first.inner_text()
        page.goto(console.url + "/#/ticket/t-await")
        page.wait_for_selector("#awaiting")
        assert "The customer has been waiting for your answer since" in page.locator("#awaiting").inner_text()
        assert "Internal only · not shown to the customer" in page.locator("#timeline").inner_text()
        assert "Opening message" in page.locator("#timeline").inner_text()
        shot("ticket-en")
        assert not errors, errors
    finally:
        context.close()
