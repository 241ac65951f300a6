"""The ticket lifecycle and customer profiles under TestRabbitBroker with an in-memory Mongo."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import (
    StaffRole,
    SurveyCompleted,
    SurveyCompletedPayload,
    TicketAcknowledged,
    TicketAcknowledgedPayload,
    TicketAssigned,
    TicketAssignedPayload,
    TicketClosed,
    TicketReopened,
    TicketResolved,
    TicketResponded,
    TicketStatusChanged,
    TicketTransferred,
    TicketTransferredPayload,
)
from servicekit.testing import auth_header, published

AGENT = auth_header(StaffRole.AGENT, staff_id="A1")
OTHER_AGENT = auth_header(StaffRole.AGENT, staff_id="A2")
SUPERVISOR = auth_header(StaffRole.SUPERVISOR, staff_id="S1")
ADMIN = auth_header(StaffRole.ADMIN, staff_id="AD1")


def sub(cmid: str, **kw: Any) -> dict[str, Any]:
    body = {"channel": "email", "channel_message_id": cmid, "subject": "无法开机",
            "description": "我的手机无法开机, 订单号 A123456789",
            "customer": {"name": "王五", "email": "wangwu@example.com"}}
    body.update(kw)
    return body


async def submit(running: dict[str, Any], keys: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = await running["client"].post("/api/v1/submissions", json=body, headers={"X-API-Key": keys[body["channel"]]})
    assert r.status_code == 201, r.text
    return r.json()


async def emit(running: dict[str, Any], event: Any) -> None:
    kit = running["kit"]
    await running["broker"].publish(event, exchange=kit.bus.events_exchange, routing_key=event.event_type)


def assigned(tid: str, tno: str, agent: str = "A1", at: datetime | None = None) -> TicketAssigned:
    at = at or datetime.now(UTC)
    return TicketAssigned.new(
        TicketAssignedPayload(ticket_id=tid, ticket_no=tno, agent_id=agent, agent_name=agent, team="after_sales",
                              priority="P3", assigned_at=at), correlation_id=tid, producer="dispatcher", occurred_at=at)


def survey(tid: str, tno: str, satisfied: bool, comment: str = "") -> SurveyCompleted:
    return SurveyCompleted.new(SurveyCompletedPayload(
        ticket_id=tid, ticket_no=tno, survey_id=f"sv-{satisfied}", speed="slow" if not satisfied else "fast",
        resolution="unresolved" if not satisfied else "resolved", attitude="average" if not satisfied else "satisfied",
        comment=comment, csat=1.5 if not satisfied else 4.8, satisfied=satisfied, completed_at=datetime.now(UTC),
    ), correlation_id=tid, producer="survey")


async def test_ticket_from_assignment_to_reopen_and_close(running: dict[str, Any], keys: dict[str, str]) -> None:
    kit, client = running["kit"], running["client"]
    t = await submit(running, keys, sub("life-1"))
    tid, tno = t["ticket_id"], t["ticket_no"]
    await emit(running, assigned(tid, tno))
    ack = TicketAcknowledged.new(TicketAcknowledgedPayload(ticket_id=tid, ticket_no=tno, agent_id="A1",
                                                           acknowledged_at=datetime.now(UTC)),
                                 correlation_id=tid, producer="dispatcher")
    await emit(running, ack)
    await emit(running, ack)  # duplicate delivery: no second status change
    ticket = (await client.get(f"/api/v1/tickets/{tid}", headers=AGENT)).json()
    assert ticket["status"] == "in_progress" and ticket["acknowledged_at"]
    changes = [(e.payload.from_status, e.payload.to_status) for e in published(kit, TicketStatusChanged)]
    assert changes == [("new", "assigned"), ("assigned", "in_progress")]

    # another agent may not work it; the assignee can
    r = await client.post(f"/api/v1/tickets/{tid}/notes", json={"text": "x"}, headers=OTHER_AGENT)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_assignee"
    r = await client.post(f"/api/v1/tickets/{tid}/notes", json={"text": "问题排查中"}, headers=AGENT)
    assert r.status_code == 200 and published(kit, TicketResponded) == []
    r = await client.post(f"/api/v1/tickets/{tid}/notes", json={"text": "已联系客户, 回电 13800138000",
                                                                 "contacted_customer": True}, headers=AGENT)
    assert r.status_code == 200 and r.json()["first_response_at"]
    await client.post(f"/api/v1/tickets/{tid}/responses", json={"text": "请您长按电源键 10 秒"}, headers=AGENT)
    [responded] = published(kit, TicketResponded)
    assert responded.payload.agent_id == "A1" and responded.payload.first_response

    r = await client.post(f"/api/v1/tickets/{tid}/status", json={"status": "pending_customer", "reason": "等待客户试机"},
                          headers=AGENT)
    assert r.json()["status"] == "pending_customer" and r.json()["pending_since"]
    r = await client.post(f"/api/v1/tickets/{tid}/status", json={"status": "in_progress"}, headers=AGENT)
    assert r.json()["status"] == "in_progress"

    r = await client.post(f"/api/v1/tickets/{tid}/resolve", headers=AGENT, json={
        "summary": "补发充电器", "solution_type": "replacement",
        "attachments": [{"name": "快递单.jpg", "content_type": "image/jpeg", "size_bytes": 2048}]})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert (await client.post(f"/api/v1/tickets/{tid}/resolve", json={"summary": "x"}, headers=AGENT)).status_code == 409

    # the customer is unhappy: reopened with the survey's reason, once even if the answer comes twice
    unhappy = survey(tid, tno, satisfied=False, comment="还是开不了机, 请打 13800138000")
    await emit(running, unhappy)
    await emit(running, unhappy)
    [reopened] = published(kit, TicketReopened)
    assert reopened.payload.source == "survey" and reopened.payload.reopen_count == 1
    assert "未解决" in reopened.payload.reason and "还是开不了机" in reopened.payload.reason
    assert "13800138000" not in reopened.model_dump_json()
    ticket = (await client.get(f"/api/v1/tickets/{tid}", headers=AGENT)).json()
    assert ticket["status"] == "reopened" and ticket["reopen_count"] == 1

    await emit(running, assigned(tid, tno))
    await client.post(f"/api/v1/tickets/{tid}/resolve", json={"summary": "更换主板"}, headers=AGENT)
    await emit(running, survey(tid, tno, satisfied=True))
    [closed] = published(kit, TicketClosed)
    assert closed.payload.closed_by == "customer"
    assert (await client.get(f"/api/v1/tickets/{tid}", headers=AGENT)).json()["status"] == "closed"
    assert len(published(kit, TicketResolved)) == 2

    timeline = (await client.get(f"/api/v1/tickets/{tid}/timeline", headers=AGENT)).json()
    kinds = [e["kind"] for e in timeline]
    assert kinds[0] == "created" and "contacted_customer" in kinds and "result" in kinds and kinds.count("survey") == 0
    assert "13800138000" not in json.dumps(timeline, ensure_ascii=False)
    customer_view = (await client.get(f"/api/v1/tickets/{tid}/timeline", params={"visibility": "customer"},
                                      headers=AGENT)).json()
    assert {e["visibility"] for e in customer_view} == {"customer"}
    assert (await client.get(f"/api/v1/tickets/{tid}/audit", headers=AGENT)).status_code == 403
    audit = (await client.get(f"/api/v1/tickets/{tid}/audit", headers=SUPERVISOR)).json()
    assert {"create", "resolve", "reopen", "close"} <= {a["action"] for a in audit}
    assert all(a["actor"] and a["at"] for a in audit)
    doc = await running["service"].store.tickets.find_one({"_id": tid})
    assert doc["outbox"] == []


async def test_illegal_transitions_get_409(running: dict[str, Any], keys: dict[str, str]) -> None:
    client = running["client"]
    t = await submit(running, keys, sub("illegal-1"))
    tid = t["ticket_id"]
    r = await client.post(f"/api/v1/tickets/{tid}/resolve", json={"summary": "x"}, headers=AGENT)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    assert (await client.post(f"/api/v1/tickets/{tid}/close", json={}, headers=AGENT)).status_code == 409
    assert (await client.post(f"/api/v1/tickets/{tid}/reopen", json={"reason": "x"}, headers=AGENT)).status_code == 409
    r = await client.post(f"/api/v1/tickets/{tid}/status", json={"status": "pending_customer", "reason": "x"},
                          headers=AGENT)
    assert r.status_code == 409
    r = await client.post(f"/api/v1/tickets/{tid}/confirmation", json={"confirmed": True}, headers=AGENT)
    assert r.status_code == 409
    # a supervisor may close an unresolved ticket, with a reason
    r = await client.post(f"/api/v1/tickets/{tid}/close", json={}, headers=SUPERVISOR)
    assert r.status_code == 422 and r.json()["error"]["code"] == "reason_required"
    r = await client.post(f"/api/v1/tickets/{tid}/close", json={"reason": "重复工单"}, headers=SUPERVISOR)
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert (await client.post(f"/api/v1/tickets/{tid}/notes", json={"text": "x"}, headers=AGENT)).status_code == 409
    r = await client.post(f"/api/v1/tickets/{tid}/reopen", json={"reason": "x"}, headers=AGENT)
    assert r.status_code == 409
    r = await client.post(f"/api/v1/tickets/{tid}/reopen", json={"reason": "客户再次来电"}, headers=SUPERVISOR)
    assert r.json()["status"] == "reopened" and r.json()["reopen_count"] == 1


async def test_compensation_policy_and_attachment_limits(running: dict[str, Any], keys: dict[str, str]) -> None:
    client = running["client"]
    t = await submit(running, keys, sub("comp-1"))
    await emit(running, assigned(t["ticket_id"], t["ticket_no"]))
    url = f"/api/v1/tickets/{t['ticket_id']}/resolve"
    big = {"summary": "补偿", "compensation": {"amount_cny": 500}}
    r = await client.post(url, json=big, headers=AGENT)
    assert r.status_code == 403 and r.json()["error"]["code"] == "compensation_over_policy"
    too_big_file = {"summary": "x", "attachments": [{"name": "a.mp4", "content_type": "video/mp4",
                                                     "size_bytes": 50 * 1024 * 1024}]}
    assert (await client.post(url, json=too_big_file, headers=AGENT)).status_code == 422
    exe = {"summary": "x", "attachments": [{"name": "a.exe", "content_type": "application/x-msdownload", "size_bytes": 1}]}
    r = await client.post(url, json=exe, headers=AGENT)
    assert r.status_code == 422 and r.json()["error"]["code"] == "attachment_type_not_allowed"
    r = await client.post(url, json={"summary": "补偿 30 元无门槛券", "compensation": {"amount_cny": 30}}, headers=AGENT)
    assert r.status_code == 200 and r.json()["solution_type"] == "compensation_coupon"


async def test_needs_info_prompts_and_supplement_resumes(running: dict[str, Any], keys: dict[str, str]) -> None:
    kit, client = running["kit"], running["client"]
    t = await submit(running, keys, sub("info-1", channel="web_form", description="我要退货", customer={}))
    assert t["status"] == "needs_info" and t["missing_fields"] == ["contact", "order_number"]
    [prompt] = published(kit, TicketStatusChanged)
    assert prompt.payload.to_status == "needs_info" and prompt.payload.missing_fields == ["contact", "order_number"]
    url = "/api/v1/submissions/web_form/info-1/supplement"
    assert (await client.post(url, json={"order_number": "A77"}, headers={"X-API-Key": keys["email"]})).status_code == 403
    assert (await client.post(url, json={}, headers={"X-API-Key": keys["web_form"]})).status_code == 422
    assert (await client.post("/api/v1/submissions/web_form/nope/supplement", json={"order_number": "A7"},
                              headers={"X-API-Key": keys["web_form"]})).status_code == 404
    r = await client.post(url, json={"order_number": "A7788990"}, headers={"X-API-Key": keys["web_form"]})
    assert r.json()["status"] == "needs_info" and r.json()["missing_fields"] == ["contact"]
    r = await client.post(url, json={"customer": {"phone": "13700137000"}}, headers={"X-API-Key": keys["web_form"]})
    assert r.json()["status"] == "new" and r.json()["missing_fields"] == []
    last = published(kit, TicketStatusChanged)[-1]
    assert (last.payload.from_status, last.payload.to_status) == ("needs_info", "new")
    # the phone now identifies the same customer
    t2 = await submit(running, keys, sub("info-2", channel="web_form", customer={"phone": "137 0013 7000"}))
    first = (await client.get(f"/api/v1/tickets/{t['ticket_id']}", headers=AGENT)).json()
    second = (await client.get(f"/api/v1/tickets/{t2['ticket_id']}", headers=AGENT)).json()
    assert first["customer_id"] == second["customer_id"]


async def test_transfer_and_out_of_order_assignment(running: dict[str, Any], keys: dict[str, str]) -> None:
    client = running["client"]
    t = await submit(running, keys, sub("xfer-1"))
    tid, tno = t["ticket_id"], t["ticket_no"]
    now = datetime.now(UTC)
    await emit(running, assigned(tid, tno, "A1", now))
    transfer = TicketTransferred.new(TicketTransferredPayload(
        ticket_id=tid, ticket_no=tno, from_agent_id="A1", to_agent_id="A2", to_team="technical", reason="需要技术专家",
        transferred_by="S1", transferred_at=now + timedelta(seconds=5)),
        correlation_id=tid, producer="dispatcher", occurred_at=now + timedelta(seconds=5))
    await emit(running, transfer)
    await emit(running, assigned(tid, tno, "A3", now - timedelta(minutes=1)))  # stale: arrives late
    ticket = (await client.get(f"/api/v1/tickets/{tid}", headers=AGENT)).json()
    assert ticket["assignee_id"] == "A2" and ticket["team"] == "technical"
    assert (await client.post(f"/api/v1/tickets/{tid}/notes", json={"text": "x"}, headers=AGENT)).status_code == 403


async def test_unknown_ticket_events_are_dead_lettered(running: dict[str, Any]) -> None:
    await emit(running, survey("no-such-ticket", "GD20261125999", satisfied=False))
    [dead] = running["broker"].dead_letters
    assert "unknown" in dead["headers"]["x-dead-letter-reason"]


async def test_auto_close_after_configured_days(running: dict[str, Any], keys: dict[str, str]) -> None:
    service, kit = running["service"], running["kit"]
    t = await submit(running, keys, sub("auto-1"))
    await emit(running, assigned(t["ticket_id"], t["ticket_no"]))
    await running["client"].post(f"/api/v1/tickets/{t['ticket_id']}/resolve", json={"summary": "ok"}, headers=AGENT)
    assert await service.auto_close_once(datetime.now(UTC) + timedelta(days=6)) == 0
    assert await service.auto_close_once(datetime.now(UTC) + timedelta(days=7, minutes=1)) == 1
    [closed] = published(kit, TicketClosed)
    assert closed.payload.closed_by == "system" and "auto-closed" in closed.payload.reason
    assert await service.auto_close_once(datetime.now(UTC) + timedelta(days=30)) == 0


async def test_ticket_search_filters_and_cursor(running: dict[str, Any], keys: dict[str, str]) -> None:
    client = running["client"]
    ids = []
    for i in range(7):
        t = await submit(running, keys, sub(f"list-{i}", submitted_at=f"2026-11-2{i}T02:00:00Z"))
        ids.append(t["ticket_id"])
    await emit(running, assigned(ids[0], "GD20261120001", "A9"))
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/api/v1/tickets", params=params, headers=AGENT)
        seen += [t["ticket_id"] for t in r.json()]
        cursor = r.headers.get("x-next-cursor")
        if not cursor:
            break
    assert seen == list(reversed(ids))
    r = await client.get("/api/v1/tickets", params={"assignee_id": "A9"}, headers=AGENT)
    assert [t["ticket_id"] for t in r.json()] == [ids[0]]
    r = await client.get("/api/v1/tickets", params={"created_from": "2026-11-22T00:00:00Z",
                                                    "created_to": "2026-11-24T00:00:00Z"}, headers=AGENT)
    assert [t["ticket_id"] for t in r.json()] == [ids[3], ids[2]]
    r = await client.get("/api/v1/tickets", params={"status": ["assigned", "closed"]}, headers=AGENT)
    assert [t["ticket_id"] for t in r.json()] == [ids[0]]
    customer = r.json()[0]["customer_id"]
    r = await client.get("/api/v1/tickets", params={"customer_id": customer, "channel": "email"}, headers=AGENT)
    assert len(r.json()) == 7
    for bad in ({"cursor": "garbage"}, {"status": "lost"}, {"created_from": "2026-11-22"}, {"limit": 0},
                {"created_from": "2026-11-24T00:00:00Z", "created_to": "2026-11-22T00:00:00Z"}):
        r = await client.get("/api/v1/tickets", params=bad, headers=AGENT)
        assert r.status_code == 422, bad


WORK_ROUTES = [("notes", {"text": "x"}), ("responses", {"text": "x"}), ("status", {"status": "in_progress"}),
               ("resolve", {"summary": "x"}), ("confirmation", {"confirmed": True}), ("close", {}),
               ("reopen", {"reason": "x"}), ("info", {"order_number": "A1234567"})]


@pytest.mark.parametrize(("route", "body"), WORK_ROUTES)
async def test_work_routes_check_auth_and_input(running: dict[str, Any], keys: dict[str, str], route: str,
                                                body: dict[str, Any]) -> None:
    client = running["client"]
    t = await submit(running, keys, sub(f"auth-{route}"))
    url = f"/api/v1/tickets/{t['ticket_id']}/{route}"
    assert (await client.post(url, json=body)).status_code == 401
    assert (await client.post(url, json=body, headers=auth_header(StaffRole.AGENT, expired=True))).status_code == 401
    assert (await client.post(url, json=body, headers=ADMIN)).status_code == 403
    bad = {"status": "sideways", "text": "", "summary": "", "reason": "x" * 1001, "confirmed": "maybe", "order_number": ""}
    r = await client.post(url, json=bad, headers=AGENT)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = await client.post(f"/api/v1/tickets/missing/{route}", json=body, headers=SUPERVISOR)
    assert r.status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/tickets/x/timeline", "/api/v1/tickets/x/audit", "/api/v1/customers/x",
                                  "/api/v1/customers/x/changes", "/api/v1/customers/export", "/api/v1/customers"])
async def test_read_routes_check_tokens(running: dict[str, Any], path: str) -> None:
    client = running["client"]
    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers=auth_header(StaffRole.ADMIN, expired=True))).status_code == 401
    if path.endswith(("audit", "changes", "export")):
        assert (await client.get(path, headers=AGENT)).status_code == 403
    r = await client.get(path, params={"limit": -1, "format": "xml"}, headers=ADMIN)
    assert r.status_code in (404, 422)


# ----------------------------------------------------------------------------- customers
async def test_customer_data_encrypted_and_masked_by_role(running: dict[str, Any], keys: dict[str, str]) -> None:
    client, service = running["client"], running["service"]
    t = await submit(running, keys, sub("cust-1", description="订单号 A1234567 的手机坏了, 回电 13911112222",
                                        customer={"name": "王五", "email": "wangwu@example.com"}))
    ticket = (await client.get(f"/api/v1/tickets/{t['ticket_id']}", headers=AGENT)).json()
    assert ticket["facts"]["phones_masked"] == ["139****2222"] and ticket["facts"]["products"] == ["手机"]
    cid = ticket["customer_id"]
    raw = json.dumps(await service.store.customers.find_one({"_id": cid}), default=str, ensure_ascii=False)
    for clear in ("王五", "wangwu@example.com", "13911112222"):
        assert clear not in raw
    masked = (await client.get(f"/api/v1/customers/{cid}", headers=AGENT)).json()
    assert masked["masked"] and masked["email"] == "w***@example.com" and masked["phone"] == "139****2222"
    clear = (await client.get(f"/api/v1/customers/{cid}", headers=SUPERVISOR)).json()
    assert clear["name"] == "王五" and clear["email"] == "wangwu@example.com" and clear["phone"] == "13911112222"
    assert clear["source"] == "邮件" and clear["tier"] == "normal" and clear["status"] == "active"

    r = await client.patch(f"/api/v1/customers/{cid}", json={"id_number": "110101199003074512"}, headers=AGENT)
    assert r.status_code == 409 and r.json()["error"]["code"] == "consent_required"
    r = await client.patch(f"/api/v1/customers/{cid}", json={"tier": "vip"}, headers=AGENT)
    assert r.status_code == 403
    r = await client.patch(f"/api/v1/customers/{cid}", headers=AGENT,
                           json={"id_number": "110101199003074512", "consent_sensitive": True, "address": "上海市浦东新区某路1号"})
    assert r.status_code == 200 and r.json()["id_number"] == "110***********4512"
    r = await client.patch(f"/api/v1/customers/{cid}", json={"tier": "vip"}, headers=SUPERVISOR)
    assert r.json()["tier"] == "vip"
    changes = (await client.get(f"/api/v1/customers/{cid}/changes", headers=SUPERVISOR)).json()
    assert {c["field"] for c in changes} >= {"id_number", "consent_sensitive", "address", "tier"}
    assert "110101199003074512" not in json.dumps(changes) and all(c["operator"] and c["at"] for c in changes)
    tier = next(c for c in changes if c["field"] == "tier")
    assert (tier["before"], tier["after"], tier["operator"]) == ("normal", "vip", "S1")
    assert (await client.patch(f"/api/v1/customers/{cid}", json={"phone": "abc"}, headers=AGENT)).status_code == 422
    assert (await client.patch(f"/api/v1/customers/{cid}", json={}, headers=AGENT)).status_code == 422
    assert (await client.patch("/api/v1/customers/nobody", json={"industry": "x"}, headers=AGENT)).status_code == 404


async def test_enterprise_profile_and_export(running: dict[str, Any]) -> None:
    client, service = running["client"], running["service"]
    body = {"kind": "enterprise", "company_name": "某科技有限公司", "credit_code": "91310000MA1FL1234X",
            "industry": "制造业", "contact_person": "李经理", "phone": "13600136000", "source": "渠道推荐"}
    assert (await client.post("/api/v1/customers", json={**body, "contact_person": None},
                              headers=AGENT)).status_code == 422
    assert (await client.post("/api/v1/customers", json={**body, "credit_code": "123"}, headers=AGENT)).status_code == 422
    r = await client.post("/api/v1/customers", json=body, headers=AGENT)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["contact_person"] == "李**" and created["company_name"] == "某科技有限公司"
    assert (await client.post("/api/v1/customers", json=body, headers=AGENT)).status_code == 409  # same phone
    assert (await client.get("/api/v1/customers/export", headers=SUPERVISOR)).status_code == 403
    r = await client.get("/api/v1/customers/export", headers=ADMIN)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    row = next(x for x in rows if x["customer_id"] == created["customer_id"])
    assert row["phone"].startswith("enc:") and "13600136000" not in r.text and "李经理" not in r.text
    assert service.cipher.decrypt(row["phone"][4:]) == "13600136000"
    r = await client.get("/api/v1/customers/export", params={"format": "json"}, headers=ADMIN)
    assert r.json()[0]["credit_code"] == "91310000MA1FL1234X"
    r = await client.get("/api/v1/customers", params={"kind": "enterprise"}, headers=AGENT)
    assert [c["customer_id"] for c in r.json()] == [created["customer_id"]] and r.json()[0]["phone"] == "136****6000"


async def test_dormant_customers_and_log_retention(running: dict[str, Any], keys: dict[str, str]) -> None:
    client, service = running["client"], running["service"]
    t = await submit(running, keys, sub("dorm-1"))
    cid = (await client.get(f"/api/v1/tickets/{t['ticket_id']}", headers=AGENT)).json()["customer_id"]
    assert await service.dormancy_scan(datetime.now(UTC) + timedelta(days=100)) == 0
    assert await service.dormancy_scan(datetime.now(UTC) + timedelta(days=183)) == 1
    assert (await client.get(f"/api/v1/customers/{cid}", headers=AGENT)).json()["status"] == "dormant"
    changes = (await client.get(f"/api/v1/customers/{cid}/changes", headers=SUPERVISOR)).json()
    assert changes[0]["field"] == "status" and changes[0]["after"] == "dormant" and changes[0]["operator"] == "system"
    await submit(running, keys, sub("dorm-2"))  # the customer is back
    assert (await client.get(f"/api/v1/customers/{cid}", headers=AGENT)).json()["status"] == "active"
    assert await service.purge_old_logs(datetime.now(UTC) + timedelta(days=200)) == 0
    assert await service.purge_old_logs(datetime.now(UTC) + timedelta(days=183 + 366)) > 0
    assert (await client.get(f"/api/v1/customers/{cid}/changes", headers=SUPERVISOR)).json() == []
