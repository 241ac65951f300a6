"""Survey → reopen across the running services over the real RabbitMQ (seed 002 step 6/7): the agent
resolves, the customer gets the survey link through the survey gateway (a webhook here), answers
"未解决" on the public page, and intake reopens the ticket from survey.completed.

The survey service sends customer links to ``SURVEY_NOTIFY_WEBHOOK_URL``; this module points it at a
small recording webhook before the session's services start (the ``platform`` fixture copies the
environment), because the link token exists nowhere else: only its hash is stored.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from contracts import StaffRole
from servicekit.testing import RecordingWebhook, auth_header, eventually, json_if_ok, publish_raw

pytestmark = pytest.mark.e2e

CUSTOMER_GATEWAY = RecordingWebhook("/survey-gateway")
os.environ.setdefault("SURVEY_NOTIFY_WEBHOOK_URL", CUSTOMER_GATEWAY.url)


def test_an_unsatisfied_survey_answer_reopens_the_ticket(platform: Any) -> None:
    cmid = f"survey-{uuid.uuid4().hex[:8]}"
    body = {"schema_version": 1, "channel": "online_chat", "channel_message_id": cmid,
            "subject": "退款没有到账", "description": "申请退款一周了还没到账，订单号 A2026112509",
            "customer": {"chat_session_id": f"chat-{cmid}"}, "order_number": "A2026112509"}
    asyncio.run(publish_raw(platform.rabbitmq, platform.ns.submissions_queue,
                            json.dumps(body, ensure_ascii=False).encode(), content_type="application/json"))
    ticket = eventually(lambda: json_if_ok(platform.get("intake", f"/api/v1/tickets/by-channel/online_chat/{cmid}")))
    tid = ticket["ticket_id"]
    assignment = eventually(
        lambda: (a := json_if_ok(platform.get("dispatcher", f"/api/v1/assignments/{tid}"))) and a.get("agent_id") and a
    )
    eventually(lambda: (t := json_if_ok(platform.get("intake", f"/api/v1/tickets/{tid}"))) and t["status"] == "assigned")
    agent = auth_header(StaffRole.AGENT, staff_id=assignment["agent_id"])
    resolved = platform.post("intake", f"/api/v1/tickets/{tid}/resolve", json={"summary": "refund re-sent"},
                             headers=agent)
    assert resolved.status_code == 200, resolved.text

    invitation = eventually(lambda: next((n for n in CUSTOMER_GATEWAY.received if n.get("ticket_id") == tid), None), timeout=30)
    assert invitation["kind"] == "survey.invitation" and invitation["channel"] == "im"
    assert invitation["recipient"].startswith("customer:")
    link = invitation["data"]["link"]
    token = urlparse(link).path.rsplit("/", 1)[-1]
    survey_url = platform.url("survey")
    page = httpx.get(f"{survey_url}/s/{token}", timeout=5)
    assert page.status_code == 200 and ticket["ticket_no"] in page.text

    answer = httpx.post(f"{survey_url}/api/v1/public/surveys/{token}/answers", timeout=5,
                        json={"speed": "slow", "resolution": "unresolved", "attitude": "average",
                              "comment": "钱还是没有到账"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["reopened"] is True
    again = httpx.post(f"{survey_url}/api/v1/public/surveys/{token}/answers", timeout=5,
                       json={"speed": "fast", "resolution": "resolved", "attitude": "satisfied"})
    assert again.status_code == 409

    [survey] = platform.get("survey", f"/api/v1/surveys/by-ticket/{tid}").json()
    assert survey["status"] == "completed" and survey["satisfied"] is False and survey["csat"] == 1.6

    # intake reopens (resolved → reopened by the customer), then the dispatcher may at once reassign it,
    # so the proof is the ticket's timeline rather than its current status
    def reopen_entry() -> dict[str, Any] | None:
        timeline = json_if_ok(platform.get("intake", f"/api/v1/tickets/{tid}/timeline")) or []
        return next((e for e in timeline if e.get("from_status") == "resolved" and e.get("to_status") == "reopened"),
                    None)

    entry = eventually(reopen_entry, timeout=30)
    assert entry["actor"] == "customer" and "未解决" in entry["text"]
    assert json_if_ok(platform.get("intake", f"/api/v1/tickets/{tid}"))["status"] != "resolved"
    score = platform.get("survey", f"/api/v1/agents/{assignment['agent_id']}/csat").json()
    assert score["surveys"] >= 1 and score["unresolved"] >= 1
