"""SLA monitor under FastStream's TestRabbitBroker with an in-memory Mongo."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import (
    AssignmentUnacknowledged,
    Channel,
    Event,
    Priority,
    SlaBreached,
    SlaWarning,
    StaffRole,
    TicketEscalated,
)
from contracts.events_sla import SlaOverdueReasonRecorded
from servicekit.testing import auth_header, published
from sla_monitor.app import create_app
from sla_monitor.domain import POLICY_V1
from sla_monitor.service import ClockContention, SlaService

from .conftest import (
    T0, acknowledged, assigned, at, classified, closed, created, paused, reopened, replied, resolved, responded,
    resumed,
)

AGENT = auth_header(StaffRole.AGENT)
SUPERVISOR = auth_header(StaffRole.SUPERVISOR)
ADMIN = auth_header(StaffRole.ADMIN, staff_id="ADM1")
EXPIRED = auth_header(StaffRole.ADMIN, expired=True)


async def _publish(running: dict[str, Any], *events: Event) -> None:
    kit, broker = running["kit"], running["broker"]
    for event in events:
        await broker.publish(event, exchange=kit.bus.events_exchange, routing_key=event.event_type)


async def _clock(running: dict[str, Any], tid: str = "t001") -> dict[str, Any]:
    r = await running["client"].get(f"/api/v1/clocks/{tid}", headers=AGENT)
    assert r.status_code == 200, r.text
    return r.json()


async def _doc(running: dict[str, Any], tid: str = "t001") -> dict[str, Any]:
    doc = await running["service"].store.clocks.find_one({"_id": tid})
    assert doc is not None
    return doc


def _ts(minutes: float) -> str:
    return at(minutes).isoformat().replace("+00:00", "Z")


async def test_created_starts_a_p3_clock_on_policy_v1(running: dict[str, Any]) -> None:
    await _publish(running, created(channel=Channel.EMAIL))
    clock = await _clock(running)
    assert clock["priority"] == "P3" and clock["policy_version"] == 1 and clock["status"] == "running"
    assert clock["started_at"] == _ts(0) and clock["provisional"] is False
    # P3 is business time: Wed 09:00 Shanghai + 8 h / + 3 working days (Fri 18:00)
    assert clock["first_response_due"] == _ts(8 * 60) and clock["resolution_due"] == _ts(2 * 24 * 60 + 9 * 60)
    assert clock["first_response_target"] == {"minutes": 480, "business": True}
    assert clock["first_response_remaining_seconds"] is not None and clock["as_of"]
    doc = await _doc(running)
    assert doc["revision"] == 1 and len(doc["applied_events"]) == 1
    assert "outbox" not in doc  # publishes nothing yet


async def test_classification_recomputes_dues_from_the_start_and_duplicates_change_nothing(
    running: dict[str, Any],
) -> None:
    p1 = classified(priority=Priority.P1, when=at(3), channel=Channel.ONLINE_CHAT)
    await _publish(running, created(channel=Channel.ONLINE_CHAT), p1)
    clock = await _clock(running)
    assert clock["priority"] == "P1" and clock["started_at"] == _ts(0)
    assert clock["first_response_due"] == _ts(10) and clock["resolution_due"] == _ts(4 * 60)
    before = await _doc(running)

    await _publish(running, p1, p1)  # redelivered twice
    assert await _doc(running) == before

    stale = classified(priority=Priority.P4, when=at(1), channel=Channel.ONLINE_CHAT)  # older, arrives late
    await _publish(running, stale)
    after = await _doc(running)
    assert after["priority"] == "P1" and after["revision"] == before["revision"] + 1
    assert str(stale.event_id) in after["applied_events"]


async def test_events_before_created_open_a_provisional_clock(running: dict[str, Any]) -> None:
    await _publish(
        running,
        classified(priority=Priority.P2, when=at(2)),
        assigned(agent="A7", when=at(5), priority=Priority.P2),
    )
    clock = await _clock(running)
    assert clock["provisional"] is True and clock["started_at"] == _ts(2) and clock["priority"] == "P2"
    assert clock["agent_id"] == "A7" and clock["first_response_due"] == _ts(2 + 120)

    await _publish(running, created(channel=Channel.PHONE))
    clock = await _clock(running)
    assert clock["provisional"] is False and clock["started_at"] == _ts(0) and clock["channel"] == "phone"
    assert clock["priority"] == "P2" and clock["first_response_due"] == _ts(120)
    assert clock["resolution_due"] == _ts(24 * 60) and clock["agent_id"] == "A7"
    assert await running["service"].store.clocks.count_documents({}) == 1


async def test_full_lifecycle_over_the_queues(running: dict[str, Any]) -> None:
    await _publish(
        running,
        created(channel=Channel.PHONE),
        classified(priority=Priority.P1, when=at(1)),
        assigned(agent="A1", when=at(2), priority=Priority.P1),
        acknowledged(agent="A1", when=at(3)),
        responded(when=at(9)),
        resolved(when=at(100)),
    )
    clock = await _clock(running)
    assert clock["first_response_due"] == _ts(15) and clock["first_responded_at"] == _ts(9)
    assert clock["acknowledged_at"] == _ts(3) and clock["status"] == "resolved" and clock["resolved_at"] == _ts(100)

    await _publish(running, reopened(when=at(130), count=1))
    clock = await _clock(running)
    assert clock["status"] == "running" and clock["resolved_at"] is None and clock["reopen_count"] == 1

    await _publish(running, resolved(when=at(200)), closed(when=at(260)))
    clock = await _clock(running)
    assert clock["status"] == "closed" and clock["resolved_at"] == _ts(200) and clock["closed_at"] == _ts(260)
    assert len((await _doc(running))["applied_events"]) == 9


async def test_concurrent_events_of_one_ticket_are_all_applied(running: dict[str, Any], monkeypatch: Any) -> None:
    """Every handler reads the clock before any of them writes (forced by yielding after the read):
    the compare-and-set makes the losers reload and apply again, so nothing is lost. Each event goes to
    its own replica (one replica applies the events of a ticket one after the other: see below)."""
    service: SlaService = running["service"]
    replicas = [SlaService(service.store, outbox=service.outbox) for _ in range(6)]
    load, save, insert = service.store.load_clock, service.store.save_clock, service.store.insert_clock
    conflicts = {"save": 0, "insert": 0}

    async def slow_load(ticket_id: str) -> Any:
        stored = await load(ticket_id)
        await asyncio.sleep(0)  # let the other handlers read the same revision
        return stored

    async def counting_save(*args: Any, **kwargs: Any) -> bool:
        ok = await save(*args, **kwargs)
        conflicts["save"] += not ok
        return ok

    async def counting_insert(*args: Any, **kwargs: Any) -> bool:
        ok = await insert(*args, **kwargs)
        conflicts["insert"] += not ok
        return ok

    monkeypatch.setattr(service.store, "load_clock", slow_load)
    monkeypatch.setattr(service.store, "save_clock", counting_save)
    monkeypatch.setattr(service.store, "insert_clock", counting_insert)
    events = [
        created(), classified(priority=Priority.P2, when=at(1)), assigned(when=at(2)),
        acknowledged(when=at(3)), responded(when=at(4)), resolved(when=at(50)),
    ]
    results = await asyncio.gather(*(r.record(e) for r, e in zip(replicas, events)))
    assert all(results)
    assert conflicts["insert"] == len(events) - 1 and conflicts["save"] > 0
    doc = await _doc(running)
    assert doc["revision"] == len(events) and sorted(doc["applied_events"]) == sorted(str(e.event_id) for e in events)
    assert doc["priority"] == "P2" and doc["status"] == "resolved" and doc["first_responded_at"] == at(4)
    assert doc["started_at"] == T0 and doc["provisional"] is False and doc["acknowledged_at"] == at(3)
    assert await service.record(events[2]) is False  # a duplicate after the fact


async def test_one_replica_applies_the_events_of_a_ticket_one_after_the_other(running: dict[str, Any],
                                                                              monkeypatch: Any) -> None:
    """Events of one ticket arriving together in one replica wait for each other instead of racing on the
    compare-and-set: no lost race, no second insert, every event applied once."""
    service: SlaService = running["service"]
    load, save, insert = service.store.load_clock, service.store.save_clock, service.store.insert_clock
    conflicts = {"save": 0, "insert": 0}

    async def slow_load(ticket_id: str) -> Any:
        stored = await load(ticket_id)
        await asyncio.sleep(0)
        return stored

    async def counting_save(*args: Any, **kwargs: Any) -> bool:
        ok = await save(*args, **kwargs)
        conflicts["save"] += not ok
        return ok

    async def counting_insert(*args: Any, **kwargs: Any) -> bool:
        ok = await insert(*args, **kwargs)
        conflicts["insert"] += not ok
        return ok

    monkeypatch.setattr(service.store, "load_clock", slow_load)
    monkeypatch.setattr(service.store, "save_clock", counting_save)
    monkeypatch.setattr(service.store, "insert_clock", counting_insert)
    events = [created(), classified(priority=Priority.P2, when=at(1)), assigned(when=at(2)), acknowledged(when=at(3))]
    assert all(await asyncio.gather(*(service.record(e) for e in events)))
    assert conflicts == {"save": 0, "insert": 0}
    doc = await _doc(running)
    assert doc["revision"] == len(events) and doc["acknowledged_at"] == at(3)
    assert len(service._ticket_locks) == 0  # noqa: SLF001 - forgotten once idle
    assert await service.record(events[1]) is False


async def test_write_contention_raises_a_retryable_error(running: dict[str, Any], monkeypatch: Any) -> None:
    service: SlaService = running["service"]
    await service.record(created())

    async def always_conflicts(*_: Any, **__: Any) -> bool:
        return False

    monkeypatch.setattr(service.store, "save_clock", always_conflicts)
    with pytest.raises(ClockContention):
        await service.record(responded(when=at(5)))


async def test_malformed_event_is_dead_lettered_with_a_reason(running: dict[str, Any]) -> None:
    kit, broker = running["kit"], running["broker"]
    body = created().model_dump(mode="json")
    del body["payload"]["created_at"]
    await broker.publish(body, exchange=kit.bus.events_exchange, routing_key="ticket.created")
    [dead] = broker.dead_letters
    assert dead["queue"] == "sla-monitor.ticket.created"
    assert "created_at" in dead["headers"]["x-dead-letter-reason"]
    assert await running["service"].store.clocks.count_documents({}) == 0


async def test_event_without_ticket_id_is_dead_lettered_not_retried(running: dict[str, Any]) -> None:
    broker = running["broker"]
    await _publish(running, responded(tid=" ", when=at(5)))
    [dead] = broker.dead_letters
    assert dead["queue"] == "sla-monitor.ticket.responded"
    assert "no ticket id" in dead["headers"]["x-dead-letter-reason"]
    assert dead["headers"]["x-error-type"] == "PermanentError"
    assert await running["service"].store.clocks.count_documents({}) == 0


async def test_clock_route_checks_tokens_roles_and_input(running: dict[str, Any]) -> None:
    client = running["client"]
    await _publish(running, created())
    assert (await client.get("/api/v1/clocks/t001")).status_code == 401
    no_role = await client.get("/api/v1/clocks/t001", headers=auth_header([]))
    assert no_role.status_code == 403 and no_role.json()["error"]["code"] == "forbidden"
    first_login = auth_header(StaffRole.AGENT, must_change_password=True)
    assert (await client.get("/api/v1/clocks/t001", headers=first_login)).status_code == 403
    r = await client.get(f"/api/v1/clocks/{'x' * 129}", headers=AGENT)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = await client.get("/api/v1/clocks/unknown-ticket", headers=AGENT)
    assert r.status_code == 404 and r.json()["error"]["code"] == "clock_not_found"
    for role in StaffRole:
        assert (await client.get("/api/v1/clocks/t001", headers=auth_header(role))).status_code == 200


async def test_active_policy_is_seeded_once(running: dict[str, Any]) -> None:
    client, service = running["client"], running["service"]
    assert (await client.get("/api/v1/policies/active")).status_code == 401
    assert (await client.get("/api/v1/policies/active", headers=auth_header([]))).status_code == 403
    r = await client.get("/api/v1/policies/active", headers=auth_header(StaffRole.SUPERVISOR))
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == 1 and body["default_priority"] == "P3" and body["warning"]["lead_minutes"] == 60
    assert body["status"] == "active" and body["created_by"] == "system" and body["activated_at"]
    chat = next(r for r in body["rules"] if r["priority"] == "P1" and r["channel"] == "online_chat")
    assert chat["first_response"] == {"minutes": 10, "business": False}

    await service.store.policies.update_one({"_id": 1}, {"$set": {"name": "edited by an admin"}})
    await service.seed()  # a restart
    assert await service.store.policies.count_documents({}) == 1
    assert (await service.active_policy()).name == "edited by an admin"  # type: ignore[union-attr]
    assert (await service.policy(1)).rules == POLICY_V1.rules


async def test_health_and_asyncapi_list_one_queue_per_event(running: dict[str, Any]) -> None:
    client = running["client"]
    assert (await client.get("/health/live")).json() == {"status": "ok", "service": "sla-monitor"}
    spec = (await client.get("/asyncapi.json")).json()
    for event in ("created", "classified", "assigned", "acknowledged", "responded", "resolved", "closed", "reopened",
                  "status_changed", "customer_replied"):
        assert any(f"sla-monitor.ticket.{event}" in name for name in spec["channels"])
    assert (await client.get("/openapi.json")).status_code == 200


# ----------------------------------------------------------------------------- pausing over the queue
async def test_pending_customer_pauses_and_resuming_moves_the_resolution_due(running: dict[str, Any]) -> None:
    await _publish(running, created(channel=Channel.EMAIL), classified(priority=Priority.P2, when=at(1)),
                   paused(when=at(60)))
    clock = await _clock(running)
    assert clock["status"] == "paused" and clock["paused_since"] == _ts(60)
    assert clock["resolution_remaining_seconds"] is None and clock["resolution_due"] == _ts(24 * 60)
    await _publish(running, resumed(when=at(150)))
    clock = await _clock(running)
    assert clock["status"] == "running" and clock["paused_seconds"] == 90 * 60
    assert clock["resolution_due"] == _ts(24 * 60 + 90)


# ----------------------------------------------------------------------------- the alarm scanner
async def test_scanner_raises_each_alarm_once_through_the_outbox(running: dict[str, Any]) -> None:
    kit, service = running["kit"], running["service"]
    await _publish(running, created(channel=Channel.PHONE), classified(priority=Priority.P1, when=at(1)),
                   assigned(agent="A1", when=at(2), priority=Priority.P1))
    assert (await service.tick(at(1))).published == 0
    r = await service.tick(at(7.5))  # P1 phone: warn at half of the 15 minutes
    assert r.published == 1 and r.checked == 1
    [warning] = published(kit, SlaWarning)
    assert warning.payload.deadline == at(15) and warning.payload.remaining_seconds == 450
    assert warning.payload.agent_id == "A1" and warning.correlation_id == "corr-t001"
    assert (await service.tick(at(8))).published == 0
    await service.tick(at(12))
    [unack] = published(kit, AssignmentUnacknowledged)
    assert unack.payload.agent_id == "A1" and unack.payload.waited_seconds == 600
    await service.tick(at(15))
    [breach] = published(kit, SlaBreached)
    [escalation] = published(kit, TicketEscalated)  # a breached P1 goes to the supervisor chain
    assert breach.payload.target == "first_response" and escalation.payload.level == 1
    for minute in (16, 17, 30):
        await service.tick(at(minute))
    assert len(published(kit, SlaWarning)) == 1 and len(published(kit, SlaBreached)) == 1
    doc = await _doc(running)
    assert doc["outbox"] == [] and doc["breach_count"] == 1 and doc["next_check_at"] == at(4 * 60 - 60)
    clock = await _clock(running)
    assert "first_response.breached" in clock["alarms"] and clock["first_response_met"] is None


async def test_a_met_target_raises_nothing(running: dict[str, Any]) -> None:
    kit, service = running["kit"], running["service"]
    await _publish(running, created(channel=Channel.EMAIL), classified(priority=Priority.P2, when=at(1)),
                   responded(when=at(30)), resolved(when=at(90)))
    for minute in (60, 120, 23 * 60, 25 * 60):
        await service.tick(at(minute))
    assert published(kit, SlaWarning) == [] and published(kit, SlaBreached) == []
    assert (await _clock(running))["resolution_met"] is True


async def test_replicas_never_raise_an_alarm_twice(running: dict[str, Any], settings: Any, monkeypatch: Any) -> None:
    """Two scanners over the same store, both reading before either writes: the compare-and-set lets
    one write; the other reloads and finds the alarm raised."""
    kit, service = running["kit"], running["service"]
    other = SlaService(service.store, outbox=service.outbox)
    await _publish(running, created(channel=Channel.EMAIL), classified(priority=Priority.P2, when=at(1)))
    load = service.store.load_clock

    async def slow_load(ticket_id: str) -> Any:
        stored = await load(ticket_id)
        await asyncio.sleep(0)
        return stored

    monkeypatch.setattr(service.store, "load_clock", slow_load)
    results = await asyncio.gather(service.tick(at(60)), other.tick(at(60)), service.tick(at(60)))
    assert sum(r.published for r in results) == 1
    assert len(published(kit, SlaWarning)) == 1


async def test_tick_reads_only_the_buckets_due_and_drops_past_ones(running: dict[str, Any]) -> None:
    service = running["service"]
    for i in range(30):
        await _publish(running, created(tid=f"t{i:03d}", when=at(i), channel=Channel.EMAIL))
    r = await service.tick(at(0))
    assert r.checked == 0
    r = await service.tick(at(7 * 60))  # the first P3 warning (7 business hours) of t000 only
    assert r.checked == 1 and r.published == 1
    assert r.buckets == 1  # the one bucket that came due, not the 29 filed for later
    r = await service.tick(at(7 * 60 + 10))
    assert r.published == 10 and r.checked <= 11  # plus t000 again, still in the grace buckets


async def test_repair_refiles_a_lost_schedule_entry(running: dict[str, Any]) -> None:
    kit, service = running["kit"], running["service"]
    await _publish(running, created(channel=Channel.EMAIL), classified(priority=Priority.P2, when=at(1)))
    await service.store.schedule.delete_many({})
    await service.tick(at(0))  # the cursor starts here
    assert (await service.tick(at(61))).published == 0  # lost: nothing filed
    assert await service.repair(at(62)) == 1
    assert (await service.tick(at(62))).published == 1 and len(published(kit, SlaWarning)) == 1


async def test_the_scanner_runs_in_the_background_of_the_app(settings: Any) -> None:
    from servicekit.testing import running_app

    app = create_app(settings.model_copy(update={"sla_scan_interval_seconds": 0.01}))
    async with running_app(app) as running:
        kit = running["kit"]
        now = datetime.now(UTC)
        event = created(when=now - timedelta(minutes=14, seconds=59), channel=Channel.PHONE)
        await _publish(running, event, classified(priority=Priority.P1, when=now))
        task = asyncio.create_task(running["service"].run_scanner(0.01, 60))
        try:
            async def breached() -> bool:
                while not published(kit, SlaBreached):
                    await asyncio.sleep(0.02)
                return True

            assert await asyncio.wait_for(breached(), timeout=5)
        finally:
            task.cancel()


# ----------------------------------------------------------------------------- overdue reasons
async def test_overdue_reasons_for_breached_tickets_reach_reporting(running: dict[str, Any]) -> None:
    client, kit, service = running["client"], running["kit"], running["service"]
    await _publish(running, created(channel=Channel.EMAIL), classified(priority=Priority.P2, when=at(1)))
    url = "/api/v1/clocks/t001/overdue-reasons"
    body = {"code": "incomplete_information", "target": "first_response", "note": "客户电话 13800138000 未接"}
    assert (await client.post(url, json=body)).status_code == 401
    assert (await client.post(url, json=body, headers=auth_header(StaffRole.AGENT, expired=True))).status_code == 401
    assert (await client.post(url, json=body, headers=auth_header([]))).status_code == 403
    r = await client.post(url, json=body, headers=AGENT)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    await service.tick(at(0))
    await service.tick(at(121))
    for bad in ({"code": "lazy"}, {"code": "other", "note": "x" * 501}, {"code": "other", "target": "lunch"}):
        assert (await client.post(url, json=bad, headers=AGENT)).status_code == 422
    assert (await client.post("/api/v1/clocks/nope/overdue-reasons", json=body, headers=AGENT)).status_code == 404
    r = await client.post(url, json=body, headers=SUPERVISOR)
    assert r.status_code == 201, r.text
    assert r.json()["code"] == "incomplete_information" and "13800138000" not in r.json()["note"]
    [event] = published(kit, SlaOverdueReasonRecorded)
    assert event.payload.label == "信息不全" and event.payload.recorded_by == "S001"
    assert "13800138000" not in event.model_dump_json()
    assert len((await _clock(running))["overdue_reasons"]) == 1


async def test_queue_screens_read_clocks_in_batches_and_the_overdue_list(running: dict[str, Any]) -> None:
    client, service = running["client"], running["service"]
    await _publish(running, created(channel=Channel.EMAIL), classified(priority=Priority.P2, when=at(1)))
    await _publish(running, created("t002", channel=Channel.EMAIL))
    url = "/api/v1/clocks?ticket_id=t002&ticket_id=unknown&ticket_id=t001&ticket_id=t002"
    assert (await client.get(url)).status_code == 401
    r = await client.get(url, headers=AGENT)
    assert r.status_code == 200, r.text
    assert [c["ticket_id"] for c in r.json()] == ["t002", "t001"]  # asked order, unknown left out, no doubles
    assert r.json()[1]["priority"] == "P2" and r.json()[1]["resolution_remaining_seconds"] is not None
    too_many = "&".join(f"ticket_id=t{i}" for i in range(201))
    assert (await client.get(f"/api/v1/clocks?{too_many}", headers=AGENT)).status_code == 422
    assert (await client.get("/api/v1/clocks", headers=AGENT)).status_code == 422
    assert (await client.get("/api/v1/clocks?ticket_id=a%20b", headers=AGENT)).status_code == 422

    overdue = "/api/v1/clocks/overdue"
    assert (await client.get(overdue, headers=AGENT)).status_code == 403
    assert (await client.get(overdue, headers=SUPERVISOR)).json() == []
    await service.tick(at(0))
    await service.tick(at(121))  # t001 (P2, 2 h first response) breached; t002 (P3 business hours) not
    r = await client.get(overdue, headers=SUPERVISOR)
    assert [c["ticket_id"] for c in r.json()] == ["t001"] and r.json()[0]["breach_count"] >= 1
    assert (await client.get(f"{overdue}?team=complaints", headers=SUPERVISOR)).json() == []
    body = {"code": "complex_process", "target": "first_response"}
    assert (await client.post("/api/v1/clocks/t001/overdue-reasons", json=body, headers=SUPERVISOR)).status_code == 201
    assert (await client.get(overdue, headers=SUPERVISOR)).json() == []  # approved: off the waiting list
    r = await client.get(f"{overdue}?unexplained=false", headers=SUPERVISOR)
    assert [c["ticket_id"] for c in r.json()] == ["t001"]


# ----------------------------------------------------------------------------- policies admin
def _draft(**changes: Any) -> dict[str, Any]:
    body = POLICY_V1.model_dump(mode="json", exclude={"version"})
    body.update(name="标准响应时间 v2 (Q1)", **changes)
    return body


async def test_policy_versions_are_drafted_activated_and_kept(running: dict[str, Any]) -> None:
    client = running["client"]
    draft = _draft()
    p2 = next(r for r in draft["rules"] if r["priority"] == "P2")
    p2["first_response"]["minutes"] = 60
    for headers, code in ((None, 401), (EXPIRED, 401), (SUPERVISOR, 403), (AGENT, 403)):
        assert (await client.post("/api/v1/policies", json=draft, headers=headers or {})).status_code == code
    bad = _draft(rules=draft["rules"][:2])
    assert (await client.post("/api/v1/policies", json=bad, headers=ADMIN)).status_code == 422
    unknown = _draft(calendar_id="nowhere")
    assert (await client.post("/api/v1/policies", json=unknown, headers=ADMIN)).status_code == 409

    await _publish(running, created(tid="old", channel=Channel.EMAIL), classified(tid="old", priority=Priority.P2))
    r = await client.post("/api/v1/policies", json=draft, headers=ADMIN)
    assert r.status_code == 201 and r.json()["version"] == 2 and r.json()["status"] == "draft"
    assert r.json()["created_by"] == "ADM1"
    p2["resolution"]["minutes"] = 12 * 60
    r = await client.put("/api/v1/policies/2", json=draft, headers=ADMIN)
    assert r.status_code == 200 and r.json()["updated_at"]
    assert (await client.put("/api/v1/policies/9", json=draft, headers=ADMIN)).status_code == 404
    assert (await client.put("/api/v1/policies/1", json=draft, headers=ADMIN)).status_code == 409  # immutable

    preview = {"priority": "P2", "channel": "email", "start_at": _ts(0), "policy_version": 2}
    r = await client.post("/api/v1/preview", json=preview, headers=AGENT)
    assert r.status_code == 200 and r.json()["first_response_due"] == _ts(60)
    assert (await client.get("/api/v1/policies/active", headers=AGENT)).json()["version"] == 1

    assert (await client.post("/api/v1/policies/2/activate", headers=SUPERVISOR)).status_code == 403
    r = await client.post("/api/v1/policies/2/activate", headers=ADMIN)
    assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["activated_by"] == "ADM1"
    assert (await client.post("/api/v1/policies/2/activate", headers=ADMIN)).status_code == 409
    assert (await client.post("/api/v1/policies/77/activate", headers=ADMIN)).status_code == 404
    listed = (await client.get("/api/v1/policies", headers=SUPERVISOR)).json()
    assert [(p["version"], p["status"]) for p in listed] == [(2, "active"), (1, "retired")]
    assert (await client.get("/api/v1/policies", headers=AGENT)).status_code == 403
    assert (await client.get("/api/v1/policies/1", headers=SUPERVISOR)).json()["retired_at"]
    assert (await client.get("/api/v1/policies/0", headers=SUPERVISOR)).status_code == 422

    await _publish(running, created(tid="new", channel=Channel.EMAIL), classified(tid="new", priority=Priority.P2))
    await _publish(running, classified(tid="old", priority=Priority.P2, when=at(2)))
    old, new = await _clock(running, "old"), await _clock(running, "new")
    assert old["policy_version"] == 1 and old["first_response_due"] == _ts(120)  # keeps its version
    assert new["policy_version"] == 2 and new["first_response_due"] == _ts(60)
    assert new["resolution_due"] == _ts(12 * 60)

    r = await client.post("/api/v1/policies", json=_draft(), headers=ADMIN)
    assert r.json()["version"] == 3
    assert (await client.delete("/api/v1/policies/2", headers=ADMIN)).status_code == 409
    assert (await client.delete("/api/v1/policies/3", headers=SUPERVISOR)).status_code == 403
    assert (await client.delete("/api/v1/policies/3", headers=ADMIN)).status_code == 204
    assert (await client.delete("/api/v1/policies/3", headers=ADMIN)).status_code == 404
    r = await client.post("/api/v1/policies/1/activate", headers=ADMIN)  # roll back
    assert r.status_code == 200 and (await client.get("/api/v1/policies/active", headers=AGENT)).json()["version"] == 1


# ----------------------------------------------------------------------------- calendars admin
async def test_calendars_are_editable_and_move_business_dues(running: dict[str, Any]) -> None:
    client = running["client"]
    listed = await client.get("/api/v1/calendars", headers=SUPERVISOR)
    assert listed.status_code == 200 and [c["calendar_id"] for c in listed.json()] == ["cn-default"]
    default = (await client.get("/api/v1/calendars/cn-default", headers=SUPERVISOR)).json()
    assert "2026-10-01" in default["holidays"] and "2026-10-10" in default["makeup_workdays"]
    assert default["revision"] == 1 and default["holidays_known_until"] == "2026-12-31"
    assert (await client.get("/api/v1/calendars/cn-default", headers=AGENT)).status_code == 403
    assert (await client.get("/api/v1/calendars/nope", headers=SUPERVISOR)).status_code == 404
    assert (await client.get("/api/v1/calendars/Bad_Id", headers=SUPERVISOR)).status_code == 422

    preview = {"priority": "P3", "channel": "email", "start_at": _ts(0)}
    before = (await client.post("/api/v1/preview", json=preview, headers=AGENT)).json()
    assert before["first_response_due"] == _ts(8 * 60)
    body = {k: v for k, v in default.items() if k not in ("calendar_id", "revision", "updated_by", "updated_at")}
    body["holidays"] = [*body["holidays"], "2026-11-25"]  # declared a holiday after the fact
    for headers, code in ((None, 401), (EXPIRED, 401), (SUPERVISOR, 403)):
        assert (await client.put("/api/v1/calendars/cn-default", json=body, headers=headers or {})).status_code == code
    assert (await client.put("/api/v1/calendars/cn-default", json={**body, "timezone": "Mars/Base"},
                             headers=ADMIN)).status_code == 422
    r = await client.put("/api/v1/calendars/cn-default", json=body, headers=ADMIN)
    assert r.status_code == 200 and r.json()["revision"] == 2 and r.json()["updated_by"] == "ADM1"
    after = (await client.post("/api/v1/preview", json=preview, headers=AGENT)).json()
    assert after["first_response_due"] == _ts(24 * 60 + 8 * 60)  # counted from Thursday 09:00

    team = {"name": "7x24 hotline", "timezone": "Asia/Shanghai",
            "weekly": {d: [{"start": "00:00", "end": "24:00"}] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
    assert (await client.put("/api/v1/calendars/hotline", json=team, headers=ADMIN)).status_code == 200
    draft = _draft(calendar_id="hotline")
    assert (await client.post("/api/v1/policies", json=draft, headers=ADMIN)).status_code == 201
    assert (await client.delete("/api/v1/calendars/hotline", headers=ADMIN)).status_code == 409  # in use
    assert (await client.delete("/api/v1/calendars/cn-default", headers=ADMIN)).status_code == 409
    assert (await client.delete("/api/v1/policies/2", headers=ADMIN)).status_code == 204
    assert (await client.delete("/api/v1/calendars/hotline", headers=SUPERVISOR)).status_code == 403
    assert (await client.delete("/api/v1/calendars/hotline", headers=ADMIN)).status_code == 204


async def test_preview_checks_tokens_and_input(running: dict[str, Any]) -> None:
    client = running["client"]
    body = {"priority": "P1", "channel": "online_chat", "start_at": _ts(0)}
    assert (await client.post("/api/v1/preview", json=body)).status_code == 401
    assert (await client.post("/api/v1/preview", json=body, headers=EXPIRED)).status_code == 401
    assert (await client.post("/api/v1/preview", json=body, headers=auth_header([]))).status_code == 403
    assert (await client.post("/api/v1/preview", json={"priority": "P9"}, headers=AGENT)).status_code == 422
    naive = {"priority": "P1", "start_at": "2026-11-25T01:00:00"}
    assert (await client.post("/api/v1/preview", json=naive, headers=AGENT)).status_code == 422
    missing = {**body, "policy_version": 42}
    assert (await client.post("/api/v1/preview", json=missing, headers=AGENT)).status_code == 404
    r = await client.post("/api/v1/preview", json=body, headers=AGENT)
    assert r.status_code == 200 and r.json()["first_response_due"] == _ts(10)
    assert r.json()["resolution_due"] == _ts(240) and r.json()["acknowledge_by_minutes"] == 10


# ----------------------------------------------------------------------------- the next response (issue 18)
def _metric(text: str, name: str, **labels: str) -> float:
    """A sample of the Prometheus text exposition (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            got = ",".join(sorted(line[len(name) + 1:line.index("}")].split(",")))
            if got == want:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


async def _p2_answered(running: dict[str, Any], tid: str = "t001") -> None:
    """A P2 e-mail ticket (next response: 2 h, calendar time) first answered at minute 30."""
    await _publish(running, created(tid, channel=Channel.EMAIL), classified(tid, priority=Priority.P2, when=at(1)),
                   responded(tid, when=at(30)))


async def test_a_customer_message_starts_the_next_response_and_the_next_answer_stops_it(
    running: dict[str, Any],
) -> None:
    await _p2_answered(running)
    clock = await _clock(running)
    assert clock["next_response_status"] == "none" and clock["next_response_due"] is None
    assert clock["next_response_target"] == {"minutes": 120, "business": False}

    message = replied(when=at(60))
    await _publish(running, message)
    clock = await _clock(running)
    assert clock["next_response_status"] == "running" and clock["next_response_since"] == _ts(60)
    assert clock["next_response_due"] == _ts(180) and clock["next_response_warning_at"] == _ts(120)
    assert clock["next_response_remaining_seconds"] is not None and clock["customer_replies"] == 1
    assert clock["first_response_due"] == _ts(120) and clock["resolution_due"] == _ts(24 * 60)  # unmoved
    before = await _doc(running)

    await _publish(running, message, message)  # redelivered: same event id
    assert await _doc(running) == before
    older = replied(when=at(45))  # an older message, late
    await _publish(running, older)
    after = await _doc(running)
    assert after["revision"] == before["revision"] + 1 and str(older.event_id) in after["applied_events"]
    assert (after["next_response_due"], after["next_response_since"], after["next_check_at"]) == (
        at(180), at(60), at(120))

    await _publish(running, responded(when=at(90), agent="A2"))
    clock = await _clock(running)
    assert clock["next_response_status"] == "answered" and clock["next_response_at"] == _ts(90)
    assert clock["next_response_met"] is True and clock["next_response_remaining_seconds"] is None
    assert clock["first_responded_at"] == _ts(30)


async def test_the_scanner_warns_and_breaches_the_next_response(running: dict[str, Any]) -> None:
    client, kit, service = running["client"], running["kit"], running["service"]
    metrics = (await client.get("/metrics")).text
    breached_before = _metric(metrics, "helpdesk_events_published_total", service="sla-monitor",
                              event_type="sla.breached")
    await _p2_answered(running)
    await _publish(running, replied(when=at(60)))
    assert (await service.tick(at(59))).published == 0
    assert (await service.tick(at(120))).published == 1
    [warning] = published(kit, SlaWarning)
    assert warning.payload.target == "next_response" and warning.payload.deadline == at(180)
    await service.tick(at(181))
    [breach] = published(kit, SlaBreached)
    assert breach.payload.target == "next_response" and breach.payload.overdue_seconds == 60
    assert published(kit, TicketEscalated) == []  # a first breach of a P2
    for minute in (182, 200):
        await service.tick(at(minute))
    assert len(published(kit, SlaBreached)) == 1
    metrics = (await client.get("/metrics")).text
    assert _metric(metrics, "helpdesk_events_published_total", service="sla-monitor",
                   event_type="sla.breached") == breached_before + 1

    r = await client.get("/api/v1/clocks/overdue", headers=SUPERVISOR)
    assert [c["ticket_id"] for c in r.json()] == ["t001"] and r.json()[0]["next_response_status"] == "running"
    body = {"code": "insufficient_resources", "target": "next_response"}
    r = await client.post("/api/v1/clocks/t001/overdue-reasons", json=body, headers=AGENT)
    assert r.status_code == 201, r.text

    await _publish(running, replied(when=at(200), count=2))  # unanswered still: a new message, a new clock
    await service.tick(at(260))
    assert len(published(kit, SlaWarning)) == 2 and published(kit, SlaWarning)[1].payload.deadline == at(320)
    await service.tick(at(321))
    assert len(published(kit, SlaBreached)) == 2
    [escalation] = published(kit, TicketEscalated)  # the second breach of the ticket escalates
    assert escalation.payload.target == "next_response"
    clock = await _clock(running)
    assert clock["breach_count"] == 2 and clock["escalation_count"] == 1


async def test_a_paused_ticket_resumes_whichever_of_reply_and_status_change_arrives_first(
    running: dict[str, Any],
) -> None:
    for tid, first, second in (("t001", "reply", "status"), ("t002", "status", "reply")):
        await _p2_answered(running, tid)
        await _publish(running, paused(tid, when=at(60)))
        events = {"reply": replied(tid, when=at(120)), "status": resumed(tid, when=at(120))}
        await _publish(running, events[first])
        clock = await _clock(running, tid)
        assert clock["status"] == "running" and clock["paused_seconds"] == 3600  # resumed by either
        await _publish(running, events[second], events[first])  # and the other, and a duplicate
    a, b = await _clock(running, "t001"), await _clock(running, "t002")
    for clock in (a, b):
        assert clock["next_response_status"] == "running" and clock["next_response_due"] == _ts(240)
        assert clock["resolution_due"] == _ts(24 * 60 + 60) and clock["first_response_due"] == _ts(120)
    same = ("status", "paused_seconds", "resolution_due", "next_response_due", "next_response_warning_at",
            "next_check_at", "marks")
    assert {k: a[k] for k in same} == {k: b[k] for k in same}


async def test_resolved_tickets_owe_no_next_response_until_a_message_after_reopening(running: dict[str, Any]) -> None:
    kit, service = running["kit"], running["service"]
    await _p2_answered(running)
    await _publish(running, replied(when=at(60)), resolved(when=at(90)))
    clock = await _clock(running)
    assert clock["next_response_status"] == "stopped" and clock["next_check_at"] is None
    await _publish(running, reopened(when=at(120)))
    assert (await _clock(running))["next_response_status"] == "stopped"
    await service.tick(at(119))
    await service.tick(at(200))
    assert published(kit, SlaWarning) == []
    await _publish(running, replied(when=at(130), count=2))
    clock = await _clock(running)
    assert clock["next_response_status"] == "running" and clock["next_response_due"] == _ts(250)


async def test_a_message_for_an_unknown_ticket_opens_a_provisional_clock(running: dict[str, Any]) -> None:
    await _publish(running, replied(when=at(60)))
    clock = await _clock(running)
    assert clock["provisional"] is True and clock["next_response_status"] == "none"  # no first response known
    await _p2_answered(running)
    clock = await _clock(running)
    assert clock["provisional"] is False and clock["next_response_due"] == _ts(180)


async def test_next_response_targets_are_part_of_each_policy_version(running: dict[str, Any]) -> None:
    client = running["client"]
    active = (await client.get("/api/v1/policies/active", headers=AGENT)).json()
    assert {r["priority"]: r["next_response"] for r in active["rules"] if r["channel"] is None} == {
        "P1": {"minutes": 30, "business": False}, "P2": {"minutes": 120, "business": False},
        "P3": {"minutes": 480, "business": True}, "P4": {"minutes": 1440, "business": True}}
    draft = _draft()
    p2 = next(r for r in draft["rules"] if r["priority"] == "P2")
    p2["next_response"] = {"minutes": 0}
    assert (await client.post("/api/v1/policies", json=draft, headers=ADMIN)).status_code == 422
    p2["next_response"] = {"minutes": 45}
    r = await client.post("/api/v1/policies", json=draft, headers=ADMIN)
    assert r.status_code == 201, r.text
    omitted = _draft()
    for rule in omitted["rules"]:
        del rule["next_response"]  # an admin tool that does not know the field yet: the defaults
    r = await client.post("/api/v1/policies", json=omitted, headers=ADMIN)
    assert r.status_code == 201 and r.json()["rules"] == active["rules"]
    preview = {"priority": "P2", "channel": "email", "start_at": _ts(0), "policy_version": 2}
    assert (await client.post("/api/v1/preview", json=preview, headers=AGENT)).json()["next_response_due"] == _ts(45)

    await _p2_answered(running, "old")
    assert (await client.post("/api/v1/policies/2/activate", headers=ADMIN)).status_code == 200
    await _p2_answered(running, "new")
    await _publish(running, replied("old", when=at(60)), replied("new", when=at(60)))
    assert (await _clock(running, "old"))["next_response_due"] == _ts(180)  # keeps its version
    assert (await _clock(running, "new"))["next_response_due"] == _ts(105)
