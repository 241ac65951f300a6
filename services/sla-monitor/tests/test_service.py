"""SLA monitor under FastStream's TestRabbitBroker with an in-memory Mongo."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from contracts import Channel, Event, Priority, StaffRole
from servicekit.testing import auth_header
from sla_monitor.domain import POLICY_V1
from sla_monitor.service import ClockContention, SlaService

from .conftest import T0, acknowledged, assigned, at, classified, closed, created, reopened, resolved, responded

AGENT = auth_header(StaffRole.AGENT)


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
    assert clock["first_response_due"] == _ts(8 * 60) and clock["resolution_due"] == _ts(72 * 60)
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
    the compare-and-set makes the losers reload and apply again, so nothing is lost."""
    service: SlaService = running["service"]
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
    results = await asyncio.gather(*(service.record(e) for e in events))
    assert all(results)
    assert conflicts["insert"] == len(events) - 1 and conflicts["save"] > 0
    doc = await _doc(running)
    assert doc["revision"] == len(events) and sorted(doc["applied_events"]) == sorted(str(e.event_id) for e in events)
    assert doc["priority"] == "P2" and doc["status"] == "resolved" and doc["first_responded_at"] == at(4)
    assert doc["started_at"] == T0 and doc["provisional"] is False and doc["acknowledged_at"] == at(3)
    assert await service.record(events[2]) is False  # a duplicate after the fact


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
    assert body["version"] == 1 and body["default_priority"] == "P3" and body["warning_lead_minutes"] == 60
    p1 = next(t for t in body["targets"] if t["priority"] == "P1")
    assert p1["first_response_minutes"] == 15 and p1["resolution_minutes"] == 240
    assert {"channel": "online_chat", "first_response_minutes": 10} in p1["channel_first_response"]

    await service.store.policies.update_one({"_id": 1}, {"$set": {"name": "edited by an admin"}})
    await service.seed()  # a restart
    assert await service.store.policies.count_documents({}) == 1
    assert (await service.active_policy()).name == "edited by an admin"  # type: ignore[union-attr]
    assert (await service.policy(1)).targets == POLICY_V1.targets


async def test_health_and_asyncapi_list_one_queue_per_event(running: dict[str, Any]) -> None:
    client = running["client"]
    assert (await client.get("/health/live")).json() == {"status": "ok", "service": "sla-monitor"}
    spec = (await client.get("/asyncapi.json")).json()
    for event in ("created", "classified", "assigned", "acknowledged", "responded", "resolved", "closed", "reopened"):
        assert any(f"sla-monitor.ticket.{event}" in name for name in spec["channels"])
    assert (await client.get("/openapi.json")).status_code == 200
