"""The ticket as a conversation over the real RabbitMQ and the real database (issue 18): an e-mail reply with
the ticket number in its subject, the next chat line of a session and a second call from the same caller
each land on their ticket; a reply while the ticket waits for the customer resumes it and its SLA clock; a
reply to a resolved ticket reopens it; the assignee is told."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from contracts import StaffRole
from servicekit.testing import auth_header, eventually, json_if_ok, publish_raw

pytestmark = pytest.mark.e2e


def submit(platform: Any, body: dict[str, Any]) -> dict[str, Any]:
    r = platform.post("intake", "/api/v1/submissions", json=body,
                      headers={"X-API-Key": platform.channel_keys[body["channel"]]})
    assert r.status_code == 201, r.text
    return r.json()


def message(platform: Any, body: dict[str, Any], *, queue: bool = False) -> dict[str, Any] | None:
    """A customer's further message, through the HTTP door or the intake.messages queue."""
    if queue:
        asyncio.run(publish_raw(platform.rabbitmq, platform.ns.messages_queue,
                                json.dumps(body, ensure_ascii=False).encode(), content_type="application/json"))
        return None
    r = platform.post("intake", "/api/v1/messages", json=body, headers={"X-API-Key": platform.channel_keys[body["channel"]]})
    assert r.status_code == 201, r.text
    return r.json()


def ticket(platform: Any, tid: str) -> dict[str, Any]:
    return platform.get("intake", f"/api/v1/tickets/{tid}").json()


def assigned(platform: Any, tid: str) -> dict[str, Any]:
    return eventually(lambda: (a := json_if_ok(platform.get("dispatcher", f"/api/v1/assignments/{tid}")))
                      and a.get("agent_id") and a, timeout=60)


def test_replies_on_every_channel_land_on_their_ticket(platform: Any) -> None:
    run = uuid.uuid4().hex[:8]
    email = submit(platform, {"channel": "email", "channel_message_id": f"<{run}-first@mail>", "subject": "耳机没声音",
                              "description": f"买的耳机左边没声音, 订单号 E{run}0001",
                              "customer": {"email": f"li.{run}@example.com"}})
    chat = submit(platform, {"channel": "online_chat", "channel_message_id": f"chat-{run}-1",
                             "description": f"快递三天没动, 订单号 C{run}0002", "customer": {"chat_session_id": f"s-{run}"}})
    call = submit(platform, {"channel": "phone", "channel_message_id": f"call-{run}-1",
                             "description": f"路由器坏了, 订单号 P{run}0003",
                             "customer": {"phone": f"139{int(run, 16) % 10**8:08d}"}})
    for t in (email, chat, call):
        eventually(lambda t=t: ticket(platform, t["ticket_id"])["status"] in ("assigned", "in_progress"), timeout=60)

    r = message(platform, {"channel": "email", "channel_message_id": f"<{run}-re1@mail>",
                           "subject": f"Re: [{email['ticket_no']}] 耳机没声音", "text": "换了线也没声音, 附截图",
                           "customer": {"email": f"li.{run}@example.com"},
                           "attachments": [{"name": "shot.png", "url": "https://files.example/shot.png"}]})
    assert r and (r["action"], r["threaded_by"], r["ticket_id"]) == ("thread", "reference", email["ticket_id"])
    message(platform, {"channel": "online_chat", "channel_message_id": f"chat-{run}-2", "text": "快递员还是没来",
                       "thread_key": f"s-{run}", "customer": {"chat_session_id": f"s-{run}"}}, queue=True)
    r = message(platform, {"channel": "phone", "channel_message_id": f"call-{run}-2", "text": "再打来问进度",
                           "customer": {"phone": f"+86 139 {int(run, 16) % 10**8:08d}"}})
    assert r and (r["action"], r["threaded_by"], r["ticket_id"]) == ("thread", "recent", call["ticket_id"])

    for t in (email, chat, call):  # each ticket got exactly its one reply, the customer now waits for an answer
        got = eventually(lambda t=t: (x := ticket(platform, t["ticket_id"]))["customer_messages"] == 1 and x, timeout=30)
        assert got["awaiting_reply_since"]
    timeline = platform.get("intake", f"/api/v1/tickets/{chat['ticket_id']}/timeline").json()
    [line] = [e for e in timeline if e["kind"] == "customer_message"]
    assert line["data"]["threaded_by"] == "thread" and line["text"] == "快递员还是没来"

    # the assignee hears of it (dispatcher inbox)
    agent_id = assigned(platform, email["ticket_id"])["agent_id"]
    inbox = auth_header(StaffRole.AGENT, staff_id=agent_id)

    def told() -> Any:
        r = httpx.get(platform.url("dispatcher") + "/api/v1/notifications/mine", headers=inbox, timeout=5)
        items = r.json().get("items", r.json()) if r.status_code == 200 else []
        return [n for n in items if n.get("kind") == "ticket.customer_replied" and n.get("ticket_id") == email["ticket_id"]]

    assert eventually(told, timeout=30)


def test_pending_customer_resumes_on_a_reply_and_a_late_reply_reopens(platform: Any) -> None:
    run = uuid.uuid4().hex[:8]
    t = submit(platform, {"channel": "email", "channel_message_id": f"<{run}-p@mail>", "subject": "扫地机不转",
                          "description": f"扫地机买了一周不转了, 订单号 R{run}0004",
                          "customer": {"email": f"wang.{run}@example.com"}})
    tid = t["ticket_id"]
    agent = auth_header(StaffRole.AGENT, staff_id=assigned(platform, tid)["agent_id"])
    eventually(lambda: ticket(platform, tid)["status"] == "assigned", timeout=30)
    assert platform.post("intake", f"/api/v1/tickets/{tid}/responses", json={"text": "请提供序列号"},
                         headers=agent).status_code == 200
    r = platform.post("intake", f"/api/v1/tickets/{tid}/status",
                      json={"status": "pending_customer", "reason": "waiting for the serial number"}, headers=agent)
    assert r.status_code == 200, r.text
    eventually(lambda: (c := json_if_ok(platform.get("sla-monitor", f"/api/v1/clocks/{tid}"))) and c.get("paused_since"),
               timeout=30)

    reply = message(platform, {"channel": "email", "channel_message_id": f"<{run}-p2@mail>", "text": "序列号 SN778899",
                               "ticket_ref": t["ticket_no"], "customer": {"email": f"wang.{run}@example.com"}})
    assert reply and reply["status"] == "in_progress"
    clock = eventually(lambda: (c := json_if_ok(platform.get("sla-monitor", f"/api/v1/clocks/{tid}")))
                       and c.get("paused_since") is None and c, timeout=30)
    assert clock["paused_seconds"] >= 0

    # the agent answers and resolves; the customer writes again: the ticket reopens
    assert platform.post("intake", f"/api/v1/tickets/{tid}/responses", json={"text": "已安排换新"},
                         headers=agent).status_code == 200
    assert ticket(platform, tid)["awaiting_reply_since"] is None
    assert platform.post("intake", f"/api/v1/tickets/{tid}/resolve", json={"summary": "换新"},
                         headers=agent).status_code == 200
    again = message(platform, {"channel": "email", "channel_message_id": f"<{run}-p3@mail>", "text": "新的也不转",
                               "subject": f"Re: [{t['ticket_no']}]", "customer": {"email": f"wang.{run}@example.com"}})
    assert again and (again["action"], again["status"]) == ("reopen", "reopened")
    assert ticket(platform, tid)["reopen_count"] == 1


def test_the_next_response_target_warns_then_breaches(platform: Any) -> None:
    """An admin's policy version gives web-form tickets a one-minute next-response target (calendar time); after
    the first answer the customer writes again and nobody answers: the assignee is warned (half-way: the
    default lead is capped at half the target), then told of the breach, and reporting counts it. The
    first-response deadline does not move."""
    admin = auth_header(StaffRole.ADMIN, staff_id="e2e-admin")
    active = httpx.get(platform.url("sla-monitor") + "/api/v1/policies/active", headers=admin, timeout=5).json()
    body = {k: active[k] for k in ("name", "description", "default_priority", "calendar_id", "warning",
                                   "acknowledge_within_minutes", "pause_statuses", "rules")}
    defaults = [r for r in active["rules"] if not (r.get("channel") or r.get("customer_tier") or r.get("category"))]
    # web_form: the social channel belongs to the reporting test (it counts that channel's tickets alone)
    body["rules"] = [*active["rules"], *({**r, "channel": "web_form", "next_response": {"minutes": 1, "business": False}}
                                          for r in defaults if not any(x.get("channel") == "web_form"
                                                                       and x["priority"] == r["priority"]
                                                                       for x in active["rules"]))]
    body["name"] = "e2e: one-minute next response on web forms"
    r = httpx.post(platform.url("sla-monitor") + "/api/v1/policies", json=body, headers=admin, timeout=5)
    assert r.status_code == 201, r.text
    version = r.json()["version"]
    r = httpx.post(platform.url("sla-monitor") + f"/api/v1/policies/{version}/activate", headers=admin, timeout=5)
    assert r.status_code == 200, r.text

    run = uuid.uuid4().hex[:8]
    t = submit(platform, {"channel": "web_form", "channel_message_id": f"form-{run}", "description":
                          f"耳机充不进电, 订单号 S{run}0005", "customer": {"email": f"fan.{run}@example.com"},
                          "metadata": {"thread_key": f"thread-{run}"}})
    tid = t["ticket_id"]
    agent_id = assigned(platform, tid)["agent_id"]
    agent = auth_header(StaffRole.AGENT, staff_id=agent_id)
    eventually(lambda: ticket(platform, tid)["status"] == "assigned", timeout=30)
    assert platform.post("intake", f"/api/v1/tickets/{tid}/responses", json={"text": "请问是哪个型号"},
                         headers=agent).status_code == 200
    first_due = eventually(lambda: (c := json_if_ok(platform.get("sla-monitor", f"/api/v1/clocks/{tid}")))
                           and c.get("first_responded_at") and c, timeout=30)["first_response_due"]
    reply = message(platform, {"channel": "web_form", "channel_message_id": f"form-{run}-2", "text": "型号X2, 还是充不进",
                               "thread_key": f"thread-{run}", "customer": {"email": f"fan.{run}@example.com"}})
    assert reply and reply["threaded_by"] == "thread"
    clock = eventually(lambda: (c := json_if_ok(platform.get("sla-monitor", f"/api/v1/clocks/{tid}")))
                       and c.get("next_response_status") == "running" and c, timeout=30)
    assert clock["policy_version"] == version and clock["first_response_due"] == first_due

    def inbox(kind: str) -> list[dict[str, Any]]:
        r = httpx.get(platform.url("dispatcher") + "/api/v1/notifications/mine", headers=agent, timeout=5)
        items = r.json().get("items", r.json()) if r.status_code == 200 else []
        return [n for n in items if n.get("kind") == kind and n.get("ticket_id") == tid and "next_response" in n["body"]]

    assert eventually(lambda: inbox("sla.warning"), timeout=60)
    assert eventually(lambda: inbox("sla.breached"), timeout=60)
    clock = json_if_ok(platform.get("sla-monitor", f"/api/v1/clocks/{tid}"))
    assert clock["first_response_due"] == first_due and clock["next_response_status"] == "running"
    fact = eventually(lambda: (f := json_if_ok(platform.get("reporting", f"/api/v1/facts/{tid}")))
                      and f.get("next_response_breaches") and f, timeout=30)
    assert len(fact["next_response_breaches"]) == 1
    # answering now stops it (late): nothing more is owed
    assert platform.post("intake", f"/api/v1/tickets/{tid}/responses", json={"text": "已安排换货"},
                         headers=agent).status_code == 200
    eventually(lambda: json_if_ok(platform.get("sla-monitor", f"/api/v1/clocks/{tid}"))["next_response_status"]
               == "answered", timeout=30)
