"""A ticket crosses all six services over the real RabbitMQ.

The submission is published with plain aio-pika, exactly as a channel system would (not through the
project's helpers), to the durable queue ``intake.submissions``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts import StaffRole
from servicekit.testing import auth_header, drain_queue, eventually, json_if_ok, publish_raw

pytestmark = pytest.mark.e2e


def submission(cmid: str, **overrides: object) -> dict:
    body = {
        "schema_version": 1,
        "channel": "phone",
        "channel_message_id": cmid,
        "subject": "手机无法开机",
        "description": "昨天买的手机无法开机, 订单号 A2026112501, 回电 13800138000",
        "customer": {"name": "张先生", "phone": "13800138000"},
    }
    body.update(overrides)
    return body


def publish_submission(platform: Any, body: dict | bytes) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    asyncio.run(publish_raw(platform.rabbitmq, platform.ns.submissions_queue, raw, content_type="application/json"))


def today() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def test_a_submission_becomes_a_classified_assigned_timed_and_counted_ticket(platform: Any) -> None:
    cmid = f"call-{uuid.uuid4().hex[:8]}"
    publish_submission(platform, submission(cmid))

    ticket = eventually(lambda: json_if_ok(platform.get("intake", f"/api/v1/tickets/by-channel/phone/{cmid}")))
    tid = ticket["ticket_id"]
    assert ticket["ticket_no"].startswith("GD") and ticket["customer_display"].startswith("客户")
    assert "13800138000" not in json.dumps(ticket, ensure_ascii=False)

    record = eventually(lambda: json_if_ok(platform.get("classifier", f"/api/v1/classifications/{tid}")))
    classification = record["result"]
    assert classification["category"] == "after_sales"
    assert classification["explanation"]["method"] == "rule" and "无法开机" in classification["explanation"]["matched_terms"]
    # the knowledge base's answer came with the classification (issue 17), in the customer's language
    assert record["suggestions"][0]["item_id"] == "KB-device-wont-power-on-zh"
    shown = platform.get("classifier", f"/api/v1/tickets/{tid}/suggestions")
    assert shown.status_code == 200 and "<script" not in shown.json()["suggestions"][0]["body_html"]

    assignment = eventually(
        lambda: (a := json_if_ok(platform.get("dispatcher", f"/api/v1/assignments/{tid}"))) and a.get("agent_id") and a
    )
    clock = eventually(lambda: json_if_ok(platform.get("sla-monitor", f"/api/v1/clocks/{tid}")))
    assert clock["status"] == "running"
    assert clock["first_response_due"] and clock["resolution_due"]

    assigned = eventually(
        lambda: (t := json_if_ok(platform.get("intake", f"/api/v1/tickets/{tid}"))) and t["status"] == "assigned" and t
    )
    assert assigned["assignee_id"] == assignment["agent_id"]
    assert assigned["category"] == classification["category"]

    fact = eventually(
        lambda: (f := json_if_ok(platform.get("reporting", f"/api/v1/facts/{tid}"))) and f.get("agent_id") and f
    )
    assert fact["category"] == "after_sales" and fact["channel"] == "phone"
    fact = eventually(lambda: (f := json_if_ok(platform.get("reporting", f"/api/v1/facts/{tid}")))
                      and f.get("knowledge_suggestions") and f)
    assert fact["knowledge_suggestions"][0]["item_id"] == "KB-device-wont-power-on-zh"

    # the agent records a result: the survey service opens a survey for the customer
    agent = assignment["agent_id"]
    resolved = platform.post(
        "intake", f"/api/v1/tickets/{tid}/resolve", json={"summary": "guided a hard reset; phone starts"},
        headers=auth_header(StaffRole.AGENT, staff_id=agent),
    )
    assert resolved.status_code == 200, resolved.text
    surveys = eventually(lambda: json_if_ok(platform.get("survey", f"/api/v1/surveys/by-ticket/{tid}")))
    assert len(surveys) == 1 and surveys[0]["ticket_id"] == tid
    eventually(lambda: json_if_ok(platform.get("sla-monitor", f"/api/v1/clocks/{tid}"))["status"] == "resolved")


def test_a_duplicate_submission_yields_one_ticket(platform: Any) -> None:
    before = json_if_ok(platform.get("reporting", "/api/v1/reports/daily", params={"day": today()}))
    cmid = f"mail-{uuid.uuid4().hex[:8]}"
    body = submission(cmid, channel="email", customer={"email": "li.na@example.com"})
    publish_submission(platform, body)
    publish_submission(platform, body)
    # and the same message once more through the HTTP door
    http = platform.post("intake", "/api/v1/submissions", json=body, headers={"X-API-Key": platform.channel_keys["email"]})
    assert http.status_code == 201, http.text
    ticket = eventually(lambda: json_if_ok(platform.get("intake", f"/api/v1/tickets/by-channel/email/{cmid}")))
    assert http.json()["ticket_id"] == ticket["ticket_id"] and http.json()["duplicate"] is True
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    publish_submission(platform, submission(marker))  # a later, distinct ticket: once it is counted, all are
    eventually(lambda: json_if_ok(platform.get("intake", f"/api/v1/tickets/by-channel/phone/{marker}")))

    def counted() -> dict | None:
        report = json_if_ok(platform.get("reporting", "/api/v1/reports/daily", params={"day": today()}))
        return report if report and report["created"] >= before["created"] + 2 else None

    report = eventually(counted)
    assert report["created"] == before["created"] + 2
    tickets = platform.get("intake", "/api/v1/tickets", params={"limit": 200}).json()
    assert sum(1 for t in tickets if t["channel_message_id"] == cmid) == 1


def test_a_malformed_message_is_dead_lettered_and_intake_keeps_working(platform: Any) -> None:
    publish_submission(platform, b"{this is not json")
    publish_submission(platform, {"channel": "carrier-pigeon", "channel_message_id": "x"})

    dlq = platform.ns.dead_letter_queue(platform.ns.submissions_queue)
    letters: list = []
    eventually(lambda: (letters.extend(asyncio.run(drain_queue(platform.rabbitmq, dlq))) or len(letters) >= 2),
               timeout=20)
    bodies = {body: headers for body, headers in letters}
    assert b"{this is not json" in bodies
    assert "JSONDecodeError" in bodies[b"{this is not json"]["x-dead-letter-reason"]
    pigeon = next(h for b, h in bodies.items() if b"carrier-pigeon" in b)
    assert "channel" in pigeon["x-dead-letter-reason"]

    assert platform.get("intake", "/health/ready").status_code == 200
    cmid = f"after-poison-{uuid.uuid4().hex[:6]}"
    publish_submission(platform, submission(cmid))
    eventually(lambda: json_if_ok(platform.get("intake", f"/api/v1/tickets/by-channel/phone/{cmid}")))
    metrics = platform.get("intake", "/metrics").text
    assert "helpdesk_dead_letters_total" in metrics


def test_every_service_reports_health_metrics_and_contracts(platform: Any) -> None:
    for service in ("intake", "classifier", "dispatcher", "sla-monitor", "survey", "reporting"):
        ready = platform.get(service, "/health/ready")
        assert ready.status_code == 200 and ready.json()["checks"] == {"broker": "ok", "database": "ok", "started": "ok"}
        assert platform.get(service, "/metrics").status_code == 200
        assert platform.get(service, "/openapi.json").json()["info"]["title"].startswith("helpdesk")
        spec = platform.get(service, "/asyncapi.json").json()
        assert spec["channels"], f"{service} declares no channels in AsyncAPI"
