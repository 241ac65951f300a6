"""Evidence files on a ticket across the running platform (issue 19): a customer's ticket is classified and
routed by the dispatcher to one of its agents; that agent uploads a PNG screenshot through the console's
gateway; the agent's supervisor downloads identical bytes; another agent is refused (the ticket itself stays
readable to them, its files do not); ``ticket.evidence_added`` on the broker carries ids and metadata, never
the content or the file name; intake's audit log holds the upload, the download and the refusal.

The staff tokens are the ones the dispatcher would issue to these accounts (signed with the platform's key);
the accounts, the assignment and the supervisor are the dispatcher's real ones."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from typing import Any

import httpx
import pytest

from contracts import StaffRole
from servicekit.testing import auth_header, drain_queue, eventually, json_if_ok, png_image

pytestmark = pytest.mark.e2e

ADMIN = auth_header(StaffRole.ADMIN, staff_id="e2e-evidence-admin")


def dispatcher(platform: Any, path: str) -> Any:
    r = httpx.get(platform.url("dispatcher") + path, headers=ADMIN, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_assignees_screenshot_reaches_the_supervisor_and_no_other_agent(platform: Any) -> None:
    body = {"channel": "online_chat", "channel_message_id": f"evidence-{uuid.uuid4().hex[:10]}",
            "subject": "退货申请", "description": "耳机左耳没有声音, 想退货, 订单号 A2026120699",
            "customer": {"name": "孙先生", "phone": "13600002222"}}
    r = platform.post("intake", "/api/v1/submissions", json=body,
                      headers={"X-API-Key": platform.channel_keys["online_chat"]})
    assert r.status_code == 201, r.text
    tid = r.json()["ticket_id"]
    ticket = eventually(lambda: (t := json_if_ok(platform.get("intake", f"/api/v1/tickets/{tid}")))
                        and t["assignee_id"] and t, timeout=40)
    agent_id = ticket["assignee_id"]
    agent = dispatcher(platform, f"/api/v1/staff/{agent_id}")
    supervisor_id = agent["supervisor_id"]
    assert supervisor_id, agent
    other_id = next(m["staff_id"] for m in dispatcher(platform, "/api/v1/staff")
                    if m["role"] in ("agent", "senior_agent") and m["staff_id"] != agent_id and m["active"])
    as_agent = auth_header(StaffRole.AGENT, staff_id=agent_id)
    as_supervisor = auth_header(StaffRole.SUPERVISOR, staff_id=supervisor_id)
    as_other = auth_header(StaffRole.AGENT, staff_id=other_id)
    console = platform.url("console") + "/api/intake/v1"

    # ---------------------------------------------------------------- the assignee uploads through the console
    shot = png_image(noise_bytes=400 * 1024)  # a screenshot-sized file: two GridFS chunks
    r = httpx.post(f"{console}/tickets/{tid}/evidence", headers=as_agent, timeout=20,
                   files={"file": ("退货截图.png", shot, "image/png")})
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["content_type"] == "image/png" and meta["size"] == len(shot)
    assert meta["sha256"] == hashlib.sha256(shot).hexdigest() and meta["uploaded_by"] == agent_id

    # ---------------------------------------------------------------- the supervisor downloads identical bytes
    r = httpx.get(f"{console}/tickets/{tid}/evidence/{meta['file_id']}", headers=as_supervisor, timeout=20)
    assert r.status_code == 200 and r.content == shot
    assert r.headers["content-type"] == "image/png" and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("attachment;") and "filename*=UTF-8''" in r.headers["content-disposition"]
    direct = httpx.get(f"{platform.url('intake')}/api/v1/tickets/{tid}/evidence/{meta['file_id']}",
                       headers=as_supervisor, timeout=20)
    assert direct.content == shot and direct.headers["cache-control"] == "private, no-store"

    # ---------------------------------------------------------------- another agent: the ticket yes, its files no
    assert httpx.get(f"{console}/tickets/{tid}", headers=as_other, timeout=5).status_code == 200
    for path in (f"tickets/{tid}/evidence/{meta['file_id']}", f"tickets/{tid}/evidence"):
        r = httpx.get(f"{console}/{path}", headers=as_other, timeout=5)
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_assignee", r.text
    r = httpx.post(f"{console}/tickets/{tid}/evidence", headers=as_other, timeout=20,
                   files={"file": ("x.png", png_image(), "image/png")})
    assert r.status_code == 403

    # ---------------------------------------------------------------- the event: ids and metadata only
    events: list[dict[str, Any]] = []

    def evidence_event() -> dict[str, Any] | None:
        events.extend(json.loads(b) for b, _ in asyncio.run(drain_queue(platform.rabbitmq, platform.tap_queue)))
        return next((e for e in events if e["event_type"] == "ticket.evidence_added"
                     and e["payload"]["ticket_id"] == tid), None)

    event = eventually(evidence_event, timeout=20)
    assert event["schema_version"] == 1 and event["producer"] == "intake"
    assert event["correlation_id"] == ticket["correlation_id"]
    payload = event["payload"]
    assert payload["file_id"] == meta["file_id"] and payload["sha256"] == meta["sha256"]
    assert payload["size"] == len(shot) and payload["uploaded_by"] == agent_id and payload["evidence_count"] == 1
    raw = json.dumps(event, ensure_ascii=False)
    assert len(raw) < 2000 and "退货截图" not in raw and "iVBOR" not in raw  # no name, no base64 PNG

    # ---------------------------------------------------------------- the audit log
    r = platform.get("intake", f"/api/v1/tickets/{tid}/audit")
    actions = {(a["action"], a["actor"]) for a in r.json()}
    assert {("evidence_upload", agent_id), ("evidence_download", supervisor_id),
            ("evidence_download_refused", other_id)} <= actions, actions
