"""A ticket's whole life in intake over the real broker: submission → assigned → answered → resolved →
closed → reopened → resolved → closed, with the other services reacting to intake's events."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from contracts import StaffRole
from servicekit.testing import auth_header, eventually, json_if_ok

pytestmark = pytest.mark.e2e


def test_ticket_lifecycle_through_close_and_reopen(platform: Any) -> None:
    cmid = f"web-{uuid.uuid4().hex[:8]}"
    body = {"channel": "web_form", "channel_message_id": cmid, "subject": "申请维修",
            "description": "耳机左边没声音, 申请维修", "customer": {"name": "赵女士", "phone": "13512345678"}}
    key = {"X-API-Key": platform.channel_keys["web_form"]}
    created = platform.post("intake", "/api/v1/submissions", json=body, headers=key)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "needs_info" and created.json()["missing_fields"] == ["order_number"]
    tid = created.json()["ticket_id"]
    supplied = platform.post("intake", f"/api/v1/submissions/web_form/{cmid}/supplement",
                             json={"order_number": "A2026112599"}, headers=key)
    assert supplied.status_code == 200 and supplied.json()["missing_fields"] == [], supplied.text

    ticket = eventually(lambda: (t := json_if_ok(platform.get("intake", f"/api/v1/tickets/{tid}")))
                        and t["assignee_id"] and t["status"] in ("assigned", "in_progress") and t, timeout=30)
    agent = auth_header(StaffRole.AGENT, staff_id=ticket["assignee_id"])

    def act(route: str, payload: dict, headers: dict | None = None) -> dict:
        r = platform.post("intake", f"/api/v1/tickets/{tid}/{route}", json=payload, headers=headers or agent)
        assert r.status_code == 200, r.text
        return r.json()

    assert act("notes", {"text": "已联系客户", "contacted_customer": True})["first_response_at"]
    assert act("resolve", {"summary": "已寄出新耳机", "solution_type": "replacement"})["status"] == "resolved"
    eventually(lambda: json_if_ok(platform.get("survey", f"/api/v1/surveys/by-ticket/{tid}")))
    eventually(lambda: json_if_ok(platform.get("sla-monitor", f"/api/v1/clocks/{tid}"))["status"] == "resolved")
    assert act("close", {"reason": "客户确认"})["status"] == "closed"
    conflict = platform.post("intake", f"/api/v1/tickets/{tid}/resolve", json={"summary": "x"}, headers=agent)
    assert conflict.status_code == 409

    reopened = act("reopen", {"reason": "客户反馈新耳机也没声音"}, headers=platform.staff)
    assert reopened["status"] == "reopened" and reopened["reopen_count"] == 1
    # the second round is worked by the supervisor (whoever dispatch picks after the reopen)
    assert act("resolve", {"summary": "更换为新批次耳机"}, headers=platform.staff)["status"] == "resolved"
    assert act("close", {}, headers=platform.staff)["status"] == "closed"

    timeline = platform.get("intake", f"/api/v1/tickets/{tid}/timeline").json()
    statuses = [e["to_status"] for e in timeline if e["kind"] == "status"]
    assert statuses[0] in ("new", "assigned") and statuses.count("resolved") == 2 and statuses[-1] == "closed"
    assert "reopened" in statuses
    fact = eventually(lambda: (f := json_if_ok(platform.get("reporting", f"/api/v1/facts/{tid}"))) and f, timeout=20)
    assert fact["ticket_id"] == tid
