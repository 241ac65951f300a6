"""Staff access, confirm receipt, transfers, reopen, SLA notifications, inbox, collaboration — under
the in-memory TestRabbitBroker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import (
    Channel,
    AssignmentUnacknowledged,
    AssignmentUnacknowledgedPayload,
    Category,
    Priority,
    SlaBreached,
    SlaBreachedPayload,
    SlaTarget,
    SlaWarning,
    SlaWarningPayload,
    StaffRole,
    TicketAcknowledged,
    TicketAssigned,
    TicketEscalated,
    TicketEscalatedPayload,
    TicketReopened,
    TicketReopenedPayload,
    TicketTransferred,
)
from dispatcher.app import DispatcherSettings
from servicekit.testing import TEST_JWT_SECRET, auth_header, published

from .conftest import started
from .test_service import classified, resolved, send

ADMIN_PW = "Adm1n!pass"


@pytest.fixture
async def with_admin(small_roster_file: Any) -> Any:
    settings = DispatcherSettings(jwt_secret=TEST_JWT_SECRET, log_format="text", seed_file=small_roster_file,
                                  admin_staff_id="ADMIN1", admin_initial_password=ADMIN_PW,
                                  login_max_failures=3, reassign_unacknowledged=True)
    async with started(settings) as running:
        yield running


async def login(client: Any, staff_id: str, password: str) -> Any:
    return await client.post("/api/v1/auth/login", json={"staff_id": staff_id, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ----------------------------------------------------------------------------- login
async def test_first_login_must_change_password_then_works(with_admin: dict[str, Any]) -> None:
    client = with_admin["client"]
    first = await login(client, "ADMIN1", ADMIN_PW)
    assert first.status_code == 200 and first.json()["must_change_password"] is True
    limited = bearer(first.json()["access_token"])
    r = await client.get("/api/v1/staff", headers=limited)
    assert r.status_code == 403 and r.json()["error"]["code"] == "password_change_required"
    assert (await client.get("/api/v1/auth/me", headers=limited)).json()["role"] == "admin"
    weak = await client.post("/api/v1/auth/password", headers=limited,
                             json={"current_password": ADMIN_PW, "new_password": "password1"})
    assert weak.status_code == 422 and "special character" in weak.json()["error"]["message"]
    wrong = await client.post("/api/v1/auth/password", headers=limited,
                              json={"current_password": "nope", "new_password": "N3w!secret"})
    assert wrong.status_code == 401
    ok = await client.post("/api/v1/auth/password", headers=limited,
                           json={"current_password": ADMIN_PW, "new_password": "N3w!secret"})
    assert ok.status_code == 200 and ok.json()["must_change_password"] is False
    full = bearer(ok.json()["access_token"])
    assert (await client.get("/api/v1/staff", headers=full)).status_code == 200
    assert (await login(client, "ADMIN1", ADMIN_PW)).status_code == 401  # the old one is gone
    again = await login(client, "ADMIN1", "N3w!secret")
    assert again.json()["must_change_password"] is False
    doc = await with_admin["service"].store.staff.find_one({"_id": "ADMIN1"})
    assert doc["password_hash"].startswith("$argon2id$") and "N3w!secret" not in str(doc)


async def test_lockout_after_repeated_failures(with_admin: dict[str, Any]) -> None:
    client = with_admin["client"]
    for _ in range(2):
        assert (await login(client, "ADMIN1", "bad-password")).status_code == 401
    third = await login(client, "ADMIN1", "bad-password")
    assert third.status_code == 423 and third.json()["error"]["code"] == "account_locked"
    assert (await login(client, "ADMIN1", ADMIN_PW)).status_code == 423  # even the right password
    # unknown ids and seeded staff without a password look the same as a wrong password
    assert (await login(client, "NOBODY", ADMIN_PW)).json()["error"]["code"] == "invalid_credentials"
    assert (await login(client, "C1", ADMIN_PW)).status_code == 401
    assert (await client.post("/api/v1/auth/login", json={"staff_id": "bad id", "password": "x"})).status_code == 422


async def test_admin_manages_staff_and_tokens_carry_roles(with_admin: dict[str, Any]) -> None:
    client, kit = with_admin["client"], with_admin["kit"]
    admin = auth_header(StaffRole.ADMIN, staff_id="ADMIN1")
    new = {"staff_id": "S9", "name": "新人", "role": "senior_agent", "team": "complaints", "capacity": 2,
           "skills": ["投诉处理"], "languages": ["zh", "en"], "supervisor_id": "SUP", "initial_password": "Init!word7"}
    r = await client.post("/api/v1/staff", json=new, headers=admin)
    assert r.status_code == 201 and r.json()["senior"] is True and "initial_password" not in r.json()
    assert (await client.post("/api/v1/staff", json=new, headers=admin)).status_code == 409
    bad = await client.post("/api/v1/staff", json={**new, "staff_id": "S8", "initial_password": "short"}, headers=admin)
    assert bad.status_code == 422
    token = (await login(client, "S9", "Init!word7")).json()
    principal = kit.tokens.verify(token["access_token"])
    assert principal.roles == {StaffRole.AGENT} and principal.team == "complaints" and principal.must_change_password
    # the new senior agent takes a VIP complaint; disabling them stops both routing and login
    patched = await client.patch("/api/v1/staff/S9", json={"active": False, "capacity": 3}, headers=admin)
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert (await login(client, "S9", "Init!word7")).status_code == 401
    assert (await client.patch("/api/v1/staff/NOPE", json={"capacity": 1}, headers=admin)).status_code == 404
    assert (await client.patch("/api/v1/staff/S9", json={"capacity": -1}, headers=admin)).status_code == 422
    assert (await client.patch("/api/v1/staff/S9", json={"supervisor_id": "C1"}, headers=admin)).status_code == 422
    pw = await client.post("/api/v1/staff/C1/password", json={"password": "Set!pass1"}, headers=admin)
    assert pw.status_code == 204
    assert (await login(client, "C1", "Set!pass1")).json()["must_change_password"] is True


async def test_staff_routes_check_tokens_and_roles(with_admin: dict[str, Any]) -> None:
    client = with_admin["client"]
    agent, sup = auth_header(StaffRole.AGENT, staff_id="C1"), auth_header(StaffRole.SUPERVISOR, staff_id="SUP")
    expired = auth_header(StaffRole.ADMIN, expired=True)
    calls = [("post", "/api/v1/staff", {"staff_id": "X", "name": "x", "role": "agent", "team": "tech"}),
             ("patch", "/api/v1/staff/C1", {"capacity": 2}), ("post", "/api/v1/staff/C1/password", {"password": "x"}),
             ("put", "/api/v1/staff/F1/duty", {"on_duty": False}), ("post", "/api/v1/assignments/t1/ack", None),
             ("post", "/api/v1/assignments/t1/transfer", {"reason": "xx"}),
             ("post", "/api/v1/assignments/t1/reassign", {"reason": "xx"}),
             ("post", "/api/v1/assignments/t1/help", {"team": "tech", "question": "q?", "due_minutes": 30}),
             ("get", "/api/v1/notifications/mine", None), ("get", "/api/v1/collaborations/mine", None),
             ("post", "/api/v1/notifications/n1/read", None)]
    for method, path, body in calls:
        kw = {"json": body} if body is not None else {}
        assert (await client.request(method, path, **kw)).status_code == 401, path
        r = await client.request(method, path, headers=expired, **kw)
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired", path
    for method, path, body in calls[:3]:
        assert (await client.request(method, path, json=body, headers=sup)).status_code == 403, path
    assert (await client.post("/api/v1/assignments/t1/reassign", json={"reason": "xx"}, headers=agent)).status_code == 403
    assert (await client.post("/api/v1/assignments/t1/ack", headers=sup)).status_code == 403
    assert (await client.put("/api/v1/staff/F1/duty", json={"on_duty": False}, headers=agent)).status_code == 403
    r = await client.post("/api/v1/assignments/t1/transfer", json={"reason": "x"}, headers=agent)
    assert r.status_code == 422
    r = await client.post("/api/v1/assignments/t1/transfer", json={"reason": "xx", "to_team": "tech",
                                                                     "to_agent_id": "F1"}, headers=agent)
    assert r.status_code == 422
    r = await client.post("/api/v1/assignments/t1/help", json={"question": "q?", "due_minutes": 1}, headers=agent)
    assert r.status_code == 422
    assert (await client.put("/api/v1/staff/F1/duty", json={"on_duty": "maybe"}, headers=sup)).status_code == 422
    assert (await client.post("/api/v1/assignments/t1/ack", headers=agent)).status_code == 404
    assert (await client.post("/api/v1/notifications/n1/read", headers=agent)).status_code == 404


# ----------------------------------------------------------------------------- after assignment
async def test_confirm_receipt_publishes_acknowledged_once(small: dict[str, Any]) -> None:
    client, kit = small["client"], small["kit"]
    await send(small, classified(1, category=Category.COMPLAINT))
    other = auth_header(StaffRole.AGENT, staff_id="F1")
    assert (await client.post("/api/v1/assignments/t0001/ack", headers=other)).status_code == 403
    mine = auth_header(StaffRole.AGENT, staff_id="C1")
    r = await client.post("/api/v1/assignments/t0001/ack", headers=mine)
    assert r.status_code == 200 and r.json()["acknowledged_at"]
    assert (await client.post("/api/v1/assignments/t0001/ack", headers=mine)).status_code == 200
    [ack] = published(kit, TicketAcknowledged)
    assert ack.payload.agent_id == "C1" and ack.correlation_id == "corr-t0001"
    assert [h["kind"] for h in r.json()["history"]] == ["assigned", "acknowledged"]
    await send(small, resolved(1))
    assert (await client.post("/api/v1/assignments/t0001/ack", headers=mine)).status_code == 409


async def test_transfer_to_agent_and_to_team(small: dict[str, Any]) -> None:
    client, kit, store = small["client"], small["kit"], small["service"].store
    await send(small, classified(1, category=Category.COMPLAINT), classified(2, category=Category.COMPLAINT))
    assert (await store.get("t0002")).status.value == "queued"
    agent = auth_header(StaffRole.AGENT, staff_id="C1")
    # F1 is phone-only but a named transfer is an explicit decision: F1 has a free slot
    r = await client.post("/api/v1/assignments/t0001/transfer", headers=agent,
                          json={"to_agent_id": "F1", "reason": "needs phone follow-up", "expected_minutes": 60})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["agent_id"] == "F1" and body["previous_agent_id"] == "C1" and body["expected_done_at"]
    [moved] = published(kit, TicketTransferred)
    assert (moved.payload.from_agent_id, moved.payload.to_agent_id, moved.payload.transferred_by) == ("F1", "F1", "C1") \
        or (moved.payload.from_agent_id, moved.payload.to_agent_id) == ("C1", "F1")
    assigned = published(kit, TicketAssigned)
    assert assigned[-2].payload.ticket_id == "t0001" and assigned[-2].payload.previous_agent_id == "C1"
    # C1's freed slot went to the waiting complaint at once
    assert assigned[-1].payload.ticket_id == "t0002" and assigned[-1].payload.agent_id == "C1"
    inbox = (await client.get("/api/v1/notifications/mine", headers=auth_header(StaffRole.AGENT, staff_id="F1"))).json()
    assert inbox["unread"] == 1 and inbox["items"][0]["kind"] == "ticket.transferred"
    # F1 is full now; a transfer to a full agent is a conflict; one not your own is forbidden
    r = await client.post("/api/v1/assignments/t0002/transfer", headers=agent, json={"to_agent_id": "F1", "reason": "xx"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "agent_full"
    r = await client.post("/api/v1/assignments/t0001/transfer", headers=agent, json={"to_team": "tech", "reason": "xx"})
    assert r.status_code == 403
    # the supervisor re-routes t0002 to the complaints team: never back to C1, so it waits
    sup = auth_header(StaffRole.SUPERVISOR, staff_id="SUP")
    r = await client.post("/api/v1/assignments/t0002/reassign", headers=sup, json={"to_team": "complaints", "reason": "xx"})
    assert r.status_code == 200 and r.json()["status"] == "queued" and r.json()["excluded_agents"] == ["C1"]
    assert (await store.get_staff("C1")).open_count == 0
    kinds = [h["kind"] for h in r.json()["history"]]
    assert kinds == ["queued", "assigned", "reassign", "queued"]


async def test_unacknowledged_notifies_supervisor_and_reassigns_once(small: dict[str, Any]) -> None:
    kit, client, store = small["kit"], small["client"], small["service"].store
    await send(small, classified(1, category=Category.COMPLAINT, channel=Channel.PHONE))
    a = await store.get("t0001")
    event = AssignmentUnacknowledged.new(
        AssignmentUnacknowledgedPayload(ticket_id="t0001", ticket_no=a.ticket_no, agent_id="C1",
                                        assigned_at=a.assigned_at, waited_seconds=600),
        correlation_id="corr-t0001", producer="sla-monitor")
    await send(small, event, event)
    moved = await store.get("t0001")
    assert moved.agent_id == "F1" and moved.previous_agent_id == "C1" and "C1" in moved.excluded_agents
    assert [e.payload.agent_id for e in published(kit, TicketAssigned)] == ["C1", "F1"]
    [transferred] = published(kit, TicketTransferred)
    assert transferred.payload.transferred_by == "system" and "not confirmed" in transferred.payload.reason
    sup_inbox = (await client.get("/api/v1/notifications/mine", headers=auth_header(StaffRole.SUPERVISOR, staff_id="SUP"))).json()
    assert [n["kind"] for n in sup_inbox["items"]] == ["assignment.unacknowledged"]
    # urgent notifications also go out through the notifier port (log adapter here), once each,
    # by the delivery job
    docs = [d async for d in store.notifications.find({"channel": "im"})]
    assert sorted(d["recipient"] for d in docs) == ["C1", "SUP"] and {d["status"] for d in docs} == {"pending"}
    assert await small["service"].deliver_due() == 2 and await small["service"].deliver_due() == 0
    assert {d["status"] async for d in store.notifications.find({"channel": "im"})} == {"sent"}
    # a stale warning about the old assignment changes nothing more
    await send(small, event)
    assert len(published(kit, TicketAssigned)) == 2


async def test_reopened_ticket_goes_back_to_its_previous_agent(small: dict[str, Any]) -> None:
    kit, store = small["kit"], small["service"].store
    first_resolution = resolved(1)
    await send(small, classified(1, category=Category.COMPLAINT), first_resolution)
    assert (await store.get_staff("C1")).open_count == 0
    reopen = TicketReopened.new(
        TicketReopenedPayload(ticket_id="t0001", ticket_no="GD20261125001", reason="survey unresolved",
                              source="survey", reopen_count=1, reopened_at=datetime.now(UTC)),
        correlation_id="corr-t0001", producer="intake")
    await send(small, reopen, reopen)
    back = await store.get("t0001")
    assert back.status.value == "assigned" and back.agent_id == "C1" and back.reopen_count == 1
    assert "previous agent" in back.reason
    assert [e.payload.agent_id for e in published(kit, TicketAssigned)] == ["C1", "C1"]
    # the old resolution delivered again (older than the reopening) does not release it
    await send(small, first_resolution)
    assert (await store.get("t0001")).status.value == "assigned"
    assert (await store.get_staff("C1")).open_count == 1
    await send(small, resolved(1))  # a new resolution does
    assert (await store.get("t0001")).status.value == "released"


async def test_sla_events_become_notifications_and_order_the_queue(small: dict[str, Any]) -> None:
    client, store = small["client"], small["service"].store
    await send(small, classified(1, category=Category.PRE_SALES, channel=Channel.PHONE, priority=Priority.P4))
    now = datetime.now(UTC)
    warn = SlaWarning.new(SlaWarningPayload(ticket_id="t0001", ticket_no="GD20261125001",
                                            target=SlaTarget.FIRST_RESPONSE, deadline=now + timedelta(hours=1),
                                            priority=Priority.P4, policy_version=1, remaining_seconds=3600),
                          correlation_id="corr-t0001", producer="sla-monitor")
    breach = SlaBreached.new(SlaBreachedPayload(ticket_id="t0001", ticket_no="GD20261125001",
                                                target=SlaTarget.RESOLUTION, deadline=now - timedelta(minutes=5),
                                                priority=Priority.P4, policy_version=1, overdue_seconds=300),
                             correlation_id="corr-t0001", producer="sla-monitor")
    esc = TicketEscalated.new(TicketEscalatedPayload(ticket_id="t0001", ticket_no="GD20261125001", level=1,
                                                     reason="resolution overdue", notify_staff_ids=["SUP"],
                                                     escalated_at=now),
                              correlation_id="corr-t0001", producer="sla-monitor")
    await send(small, warn, warn, breach, esc)
    f1 = (await client.get("/api/v1/notifications/mine", headers=auth_header(StaffRole.AGENT, staff_id="F1"))).json()
    assert sorted(n["kind"] for n in f1["items"]) == ["sla.breached", "sla.warning", "ticket.escalated"]
    assert (await store.get("t0001")).sla_due_at is not None
    # F1 has no supervisor: the team supervisors are told (none in frontline here); SUP was named
    sup = (await client.get("/api/v1/notifications/mine", headers=auth_header(StaffRole.SUPERVISOR, staff_id="SUP"))).json()
    assert [n["kind"] for n in sup["items"]] == ["ticket.escalated"]
    nid = f1["items"][0]["id"]
    r = await client.post(f"/api/v1/notifications/{nid}/read", headers=auth_header(StaffRole.AGENT, staff_id="F1"))
    assert r.status_code == 200 and r.json()["read_at"]
    unread = (await client.get("/api/v1/notifications/mine?unread=true", headers=auth_header(StaffRole.AGENT, staff_id="F1"))).json()
    assert unread["unread"] == 2 and len(unread["items"]) == 2
    # somebody else cannot read F1's notification
    assert (await client.post(f"/api/v1/notifications/{nid}/read", headers=auth_header(StaffRole.AGENT, staff_id="C1"))).status_code == 404


async def test_failed_delivery_is_retried_with_backoff_then_given_up(small: dict[str, Any]) -> None:
    service = small["service"]

    class Flaky:
        calls = 0

        async def send(self, notification: Any) -> None:
            Flaky.calls += 1
            raise ConnectionError("gateway down")

    service.notifier = Flaky()
    service.policy.delivery_attempts = 2
    from dispatcher.domain import Note

    await service.notify([Note(kind="sla.breached", recipient="SUP", subject="s", body="b", urgent=True)], "src1")
    assert (await service.store.notification("src1:SUP:in_app"))["status"] == "delivered"
    assert await service.deliver_due() == 0
    doc = await service.store.notification("src1:SUP:im")
    assert doc["status"] == "pending" and doc["attempts"] == 1
    assert doc["next_attempt_at"] > datetime.now(UTC) + timedelta(seconds=3)  # backs off before retrying
    assert await service.deliver_due() == 0 and Flaky.calls == 1  # not due yet
    await service.store.notifications.update_one({"_id": "src1:SUP:im"}, {"$set": {"next_attempt_at": datetime.now(UTC)}})
    await service.deliver_due()
    doc = await service.store.notification("src1:SUP:im")
    assert doc["status"] == "failed" and doc["attempts"] == 2 and "gateway down" in doc["last_error"]
    assert Flaky.calls == 2


async def test_collaboration_request_and_answer(small: dict[str, Any]) -> None:
    client = small["client"]
    await send(small, classified(1, category=Category.COMPLAINT))
    agent = auth_header(StaffRole.AGENT, staff_id="C1")
    r = await client.post("/api/v1/assignments/t0001/help", headers=agent,
                          json={"team": "complaints", "question": "可以补偿吗?", "due_minutes": 30})
    assert r.status_code == 201 and r.json()["responder_id"] == "SUP" and r.json()["status"] == "open"
    cid = r.json()["id"]
    sup = auth_header(StaffRole.SUPERVISOR, staff_id="SUP")
    assert (await client.post(f"/api/v1/collaborations/{cid}/answer", headers=agent, json={"answer": "x"})).status_code == 403
    ok = await client.post(f"/api/v1/collaborations/{cid}/answer", headers=sup, json={"answer": "可以, 50元券"})
    assert ok.status_code == 200 and ok.json()["status"] == "answered"
    assert (await client.post(f"/api/v1/collaborations/{cid}/answer", headers=sup, json={"answer": "again"})).status_code == 409
    mine = (await client.get("/api/v1/collaborations/mine", headers=agent)).json()
    assert [c["id"] for c in mine] == [cid]
    inbox = (await client.get("/api/v1/notifications/mine", headers=agent)).json()
    assert inbox["items"][0]["kind"] == "collaboration.answered"


async def test_coming_on_duty_serves_the_waiting_queue(small: dict[str, Any]) -> None:
    client, store = small["client"], small["service"].store
    f1 = auth_header(StaffRole.AGENT, staff_id="F1")
    assert (await client.put("/api/v1/staff/F1/duty", json={"on_duty": False}, headers=f1)).status_code == 200
    await send(small, classified(1, category=Category.PRE_SALES, channel=Channel.PHONE))
    assert (await store.get("t0001")).status.value == "queued"
    sup = auth_header(StaffRole.SUPERVISOR, staff_id="SUP")  # complaints supervisor: not F1's team
    assert (await client.put("/api/v1/staff/F1/duty", json={"on_duty": True}, headers=sup)).status_code == 403
    r = await client.put("/api/v1/staff/F1/duty", json={"on_duty": True}, headers=f1)
    assert r.status_code == 200 and r.json()["open_count"] == 1
    assert (await store.get("t0001")).agent_id == "F1"
