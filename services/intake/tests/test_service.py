"""Intake under FastStream's TestRabbitBroker with an in-memory Mongo."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts import (
    StaffRole,
    TicketAssigned,
    TicketAssignedPayload,
    TicketClassified,
    TicketClassifiedPayload,
    TicketCreated,
    TicketResolved,
)
from contracts.events import ClassificationExplanation
from servicekit.testing import auth_header, published


SUB = {
    "channel": "email",
    "channel_message_id": "mail-001",
    "subject": "无法开机",
    "description": "我的手机无法开机, 订单号 A123456789",
    "customer": {"name": "王五", "email": "wangwu@example.com", "phone": "13900139000"},
}


async def test_submission_over_the_queue_creates_one_ticket(running: dict[str, Any]) -> None:
    kit, broker = running["kit"], running["broker"]
    await broker.publish(SUB, queue=kit.bus.ns.submissions_queue)
    await broker.publish(SUB, queue=kit.bus.ns.submissions_queue)  # a duplicate delivery
    created = published(kit, TicketCreated)
    assert len(created) == 1
    p = created[0].payload
    assert p.ticket_no.startswith("GD") and len(p.ticket_no) == 13
    assert p.customer_display.startswith("客户")
    assert "13900139000" not in created[0].model_dump_json()
    assert await running["service"].store.tickets.count_documents({}) == 1
    doc = await running["service"].store.tickets.find_one({})
    assert doc["outbox"] == []  # published and cleared


async def test_same_customer_is_recognised_by_any_identifier(running: dict[str, Any]) -> None:
    kit, broker = running["kit"], running["broker"]
    await broker.publish(SUB, queue=kit.bus.ns.submissions_queue)
    second = {**SUB, "channel_message_id": "mail-002", "customer": {"phone": "+86 139 0013 9000"}}
    await broker.publish(second, queue=kit.bus.ns.submissions_queue)
    created = published(kit, TicketCreated)
    assert len(created) == 2
    assert created[0].payload.customer_id == created[1].payload.customer_id
    assert created[0].payload.ticket_no != created[1].payload.ticket_no


async def test_invalid_submission_is_dead_lettered_not_retried(running: dict[str, Any]) -> None:
    kit, broker = running["kit"], running["broker"]
    await broker.publish({"channel": "pigeon", "channel_message_id": ""}, queue=kit.bus.ns.submissions_queue)
    assert published(kit, TicketCreated) == []
    [dead] = broker.dead_letters
    assert dead["queue"] == kit.bus.ns.submissions_queue
    assert "channel" in dead["headers"]["x-dead-letter-reason"]
    from servicekit.metrics import DEAD_LETTERS

    assert DEAD_LETTERS.labels("intake", kit.bus.ns.submissions_queue, "ValidationError")._value.get() >= 1


async def test_http_submission_needs_the_channel_key(running: dict[str, Any], keys: dict[str, str]) -> None:
    client = running["client"]
    WEB_KEY, EMAIL_KEY = keys["web_form"], keys["email"]
    r = await client.post("/api/v1/submissions", json=SUB)
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_api_key"
    r = await client.post("/api/v1/submissions", json=SUB, headers={"X-API-Key": "nope-nope-nope-nope"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    r = await client.post("/api/v1/submissions", json=SUB, headers={"X-API-Key": WEB_KEY})
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_channel"
    r = await client.post("/api/v1/submissions", json=SUB, headers={"X-API-Key": EMAIL_KEY})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["duplicate"] is False and body["ticket_no"].startswith("GD")
    r2 = await client.post("/api/v1/submissions", json=SUB, headers={"X-API-Key": EMAIL_KEY})
    assert r2.json()["duplicate"] is True and r2.json()["ticket_id"] == body["ticket_id"]


async def test_http_rejects_bad_input_with_structured_error(running: dict[str, Any], keys: dict[str, str]) -> None:
    r = await running["client"].post(
        "/api/v1/submissions", json={"channel": "email"}, headers={"X-API-Key": keys["email"]}
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_error" and any("channel_message_id" in d["loc"] for d in err["details"])


async def test_lifecycle_classified_assigned_resolved(running: dict[str, Any], keys: dict[str, str]) -> None:
    kit, broker, client = running["kit"], running["broker"], running["client"]
    r = await client.post("/api/v1/submissions", json=SUB, headers={"X-API-Key": keys["email"]})
    tid, tno = r.json()["ticket_id"], r.json()["ticket_no"]
    now = datetime.now(UTC)
    classified = TicketClassified.new(
        TicketClassifiedPayload(
            ticket_id=tid, ticket_no=tno, category="after_sales", module="after_sales", priority="P2", confidence=0.9,
            classifier_version="rules-1", explanation=ClassificationExplanation(method="rule", rule_id="r1"),
            channel="email", classified_at=now,
        ),
        correlation_id=tid, producer="classifier",
    )
    assigned = TicketAssigned.new(
        TicketAssignedPayload(ticket_id=tid, ticket_no=tno, agent_id="A1", agent_name="Agent One", team="specialist",
                              priority="P2", assigned_at=now),
        correlation_id=tid, producer="dispatcher",
    )
    for event in (classified, assigned, assigned):  # the duplicate is ignored
        await broker.publish(event, exchange=kit.bus.events_exchange, routing_key=event.event_type)

    staff = auth_header(StaffRole.AGENT, staff_id="A1")
    ticket = (await client.get(f"/api/v1/tickets/{tid}", headers=staff)).json()
    assert ticket["category"] == "after_sales" and ticket["priority"] == "P2"
    assert ticket["assignee_id"] == "A1" and ticket["status"] == "assigned"

    assert (await client.post(f"/api/v1/tickets/{tid}/resolve", json={"summary": "fixed"})).status_code == 401
    r = await client.post(f"/api/v1/tickets/{tid}/resolve", json={"summary": "fixed"}, headers=staff)
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    again = await client.post(f"/api/v1/tickets/{tid}/resolve", json={"summary": "fixed"}, headers=staff)
    assert again.status_code == 409
    resolved = published(kit, TicketResolved)
    assert len(resolved) == 1 and resolved[0].payload.agent_id == "A1"


async def test_staff_routes_check_tokens(running: dict[str, Any]) -> None:
    client = running["client"]
    assert (await client.get("/api/v1/tickets")).status_code == 401
    expired = auth_header(StaffRole.AGENT, expired=True)
    r = await client.get("/api/v1/tickets", headers=expired)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    first_login = auth_header(StaffRole.AGENT, must_change_password=True)
    assert (await client.get("/api/v1/tickets", headers=first_login)).status_code == 403
    assert (await client.get("/api/v1/tickets", headers=auth_header(StaffRole.SUPERVISOR))).status_code == 200


async def test_health_and_metrics(running: dict[str, Any]) -> None:
    client = running["client"]
    assert (await client.get("/health/live")).json()["status"] == "ok"
    assert "helpdesk_http_requests_total" in (await client.get("/metrics")).text
    spec = (await client.get("/asyncapi.json")).json()
    assert any("intake.submissions" in name for name in spec["channels"])
    assert (await client.get("/openapi.json")).status_code == 200
