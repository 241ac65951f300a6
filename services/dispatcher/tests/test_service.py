"""Dispatcher under FastStream's TestRabbitBroker with an in-memory Mongo."""

from __future__ import annotations

import asyncio
import inspect
import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts import (
    Category,
    Channel,
    CustomerTier,
    Event,
    Module,
    Priority,
    StaffRole,
    TicketAssigned,
    TicketClassified,
    TicketClassifiedPayload,
    TicketClosed,
    TicketClosedPayload,
    TicketResolved,
    TicketResolvedPayload,
)
from contracts.events import ClassificationExplanation
from dispatcher.app import DispatcherSettings, create_app
from dispatcher.domain import AssignmentStatus, StaffMember
from servicekit.testing import auth_header, in_memory, published

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def classified(n: int, *, category: Category = Category.AFTER_SALES, module: Module = Module.LOGISTICS,
               priority: Priority = Priority.P3, channel: Channel = Channel.EMAIL,
               tier: CustomerTier = CustomerTier.NORMAL, at: datetime | None = None,
               ticket_no: str | None = None) -> TicketClassified:
    tid = f"t{n:04d}"
    return TicketClassified.new(
        TicketClassifiedPayload(
            ticket_id=tid, ticket_no=ticket_no or f"GD20261125{n:03d}", category=category, module=module,
            priority=priority, confidence=0.9, classifier_version="rules-1", channel=channel,
            customer_tier=tier,
            explanation=ClassificationExplanation(method="rule", rule_id="r1"), classified_at=at or T0,
        ),
        correlation_id=f"corr-{tid}", producer="classifier", occurred_at=at or T0 + timedelta(seconds=n),
    )


def resolved(n: int) -> TicketResolved:
    tid = f"t{n:04d}"
    return TicketResolved.new(
        TicketResolvedPayload(ticket_id=tid, ticket_no=f"GD20261125{n:03d}", channel=Channel.EMAIL,
                              customer_id="c1", customer_display="客户A-0001", resolved_at=T0),
        correlation_id=f"corr-{tid}", producer="intake",
    )


def closed(n: int) -> TicketClosed:
    tid = f"t{n:04d}"
    return TicketClosed.new(
        TicketClosedPayload(ticket_id=tid, ticket_no=f"GD20261125{n:03d}", closed_by="system", closed_at=T0),
        correlation_id=f"corr-{tid}", producer="intake",
    )


async def send(running: dict[str, Any], *events: Event) -> None:
    kit, broker = running["kit"], running["broker"]
    for event in events:
        await broker.publish(event, exchange=kit.bus.events_exchange, routing_key=event.event_type)


async def staff_doc(running: dict[str, Any], staff_id: str) -> dict[str, Any]:
    doc = await running["service"].store.staff.find_one({"_id": staff_id})
    assert doc is not None
    return doc


# ----------------------------------------------------------------------------- routing
async def test_classified_ticket_is_assigned_once_with_its_explanation(running: dict[str, Any]) -> None:
    event = classified(1, module=Module.TECHNICAL, priority=Priority.P1, channel=Channel.PHONE)
    await send(running, event, event)  # the second is a duplicate delivery
    [assigned] = published(running["kit"], TicketAssigned)
    p = assigned.payload
    assert (p.agent_id, p.team, p.priority) == ("CS2022011", "tech", Priority.P1)  # the tech senior agent
    assert assigned.correlation_id == event.correlation_id and assigned.producer == "dispatcher"
    assert "team tech (after_sales/technical → tech)" in p.reason and "P1 prefers senior agents" in p.reason
    stored = await running["service"].store.get("t0001")
    assert stored.status == AssignmentStatus.ASSIGNED
    assert stored.agent_id == "CS2022011" and stored.reason == p.reason
    doc = await running["service"].store.assignments.find_one({"_id": "t0001"})
    assert doc["outbox"] == []
    staff = await staff_doc(running, "CS2022011")
    assert staff["open_count"] == 1 and staff["open_tickets"] == ["t0001"]


async def test_load_balancing_and_routing_by_category(running: dict[str, Any]) -> None:
    await send(running, *(classified(i) for i in range(1, 5)))  # specialist, P3, e-mail
    agents = Counter(e.payload.agent_id for e in published(running["kit"], TicketAssigned))
    assert agents == {"CS2023023": 2, "CS2024021": 2}  # equal capacity → alternate by load
    await send(running, classified(10, category=Category.REQUIREMENT, channel=Channel.WEB_FORM),
               classified(11, category=Category.COMPLAINT, channel=Channel.SOCIAL, tier=CustomerTier.VIP),
               classified(12, category=Category.PRE_SALES, channel=Channel.PHONE))
    by_ticket = {e.payload.ticket_id: e.payload for e in published(running["kit"], TicketAssigned)}
    assert (by_ticket["t0010"].team, by_ticket["t0010"].agent_id) == ("product", "CS2024040")
    # VIP → senior
    assert (by_ticket["t0011"].team, by_ticket["t0011"].agent_id) == ("complaints", "CS2022019")
    assert by_ticket["t0011"].reason.count("vip customer prefers senior agents") == 1
    # frontline, serving the phone; equal load → the smaller staff id
    assert (by_ticket["t0012"].team, by_ticket["t0012"].agent_id) == ("frontline", "CS2021008")


async def test_full_team_queues_by_priority_and_serves_when_a_slot_frees(small: dict[str, Any]) -> None:
    running = small
    kit, client = running["kit"], running["client"]
    complaint = {"category": Category.COMPLAINT}
    await send(running, classified(1, **complaint), classified(2, **complaint), classified(3, **complaint),
               classified(4, **complaint, priority=Priority.P1),
               classified(5, **complaint, channel=Channel.PHONE))
    by_ticket = {e.payload.ticket_id: e.payload for e in published(kit, TicketAssigned)}
    assert by_ticket["t0001"].agent_id == "C1"
    assert by_ticket["t0005"].agent_id == "F1" and "frontline fallback" in by_ticket["t0005"].reason
    assert set(by_ticket) == {"t0001", "t0005"}
    sup = auth_header(StaffRole.SUPERVISOR, staff_id="SUP")
    queue = (await client.get("/api/v1/queues/complaints", headers=sup)).json()
    assert [a["ticket_id"] for a in queue] == ["t0004", "t0002", "t0003"]  # P1 first, then by age
    assert all(a["status"] == "queued" and "no eligible agent has a free slot" in a["reason"] for a in queue)

    # duplicates and the later close change nothing more
    await send(running, resolved(1), resolved(1), closed(1))
    assigned = published(kit, TicketAssigned)
    assert [e.payload.ticket_id for e in assigned] == ["t0001", "t0005", "t0004"]
    assert assigned[-1].payload.agent_id == "C1" and assigned[-1].correlation_id == "corr-t0004"
    assert (await staff_doc(running, "C1"))["open_count"] == 1
    released = await running["service"].store.get("t0001")
    assert released.status == AssignmentStatus.RELEASED and released.release_reason == "ticket.resolved"
    queue = (await client.get("/api/v1/queues/complaints", headers=sup)).json()
    assert [a["ticket_id"] for a in queue] == ["t0002", "t0003"]

    # A freed frontline slot is offered to the complaints queue too (fallback). F1 serves the phone only:
    # the older e-mail tickets ahead keep waiting and the phone complaint behind them gets the slot.
    await send(running, classified(6, **complaint, channel=Channel.PHONE))
    assert (await running["service"].store.get("t0006")).status == AssignmentStatus.QUEUED
    await send(running, closed(5))
    assert published(kit, TicketAssigned)[-1].payload.ticket_id == "t0006"
    assert published(kit, TicketAssigned)[-1].payload.agent_id == "F1"
    assert (await running["service"].store.get("t0002")).status == AssignmentStatus.QUEUED
    assert (await staff_doc(running, "F1"))["open_tickets"] == ["t0006"]


async def test_reclassification_moves_a_waiting_ticket_but_never_reassigns(small: dict[str, Any]) -> None:
    running = small
    kit, store = running["kit"], running["service"].store
    await send(running, classified(1, category=Category.COMPLAINT),
               classified(2, category=Category.COMPLAINT))
    assert (await store.get("t0002")).status == AssignmentStatus.QUEUED
    # Re-classified as a P2 pre-sales phone question: it now fits the frontline agent.
    later = T0 + timedelta(hours=1)
    await send(running, classified(2, category=Category.PRE_SALES, priority=Priority.P2,
                                   channel=Channel.PHONE, at=later))
    moved = await store.get("t0002")
    assert moved.status == AssignmentStatus.ASSIGNED and moved.agent_id == "F1" and moved.revision == 1
    # An older classification arriving late, and a re-classification of an assigned ticket: no change.
    await send(running, classified(2, category=Category.COMPLAINT, at=T0 - timedelta(hours=1)),
               classified(1, category=Category.REQUIREMENT, at=later))
    assert [e.payload.ticket_id for e in published(kit, TicketAssigned)] == ["t0001", "t0002"]
    assert (await store.get("t0001")).agent_id == "C1"


async def test_finished_before_classified_is_never_assigned(running: dict[str, Any]) -> None:
    await send(running, closed(7), classified(7))
    assert published(running["kit"], TicketAssigned) == []
    stored = await running["service"].store.get("t0007")
    assert stored.status == AssignmentStatus.RELEASED and stored.release_reason == "ticket.closed"
    assert running["broker"].dead_letters == []


async def test_pending_outbox_is_finished_by_a_redelivery(running: dict[str, Any]) -> None:
    service = running["service"]
    event = classified(3)
    await send(running, event)
    [first] = published(running["kit"], TicketAssigned)
    # Simulate a crash between the write and the publish: the event is back in the outbox.
    from servicekit.outbox import outbox_entries

    await service.store.assignments.update_one(
        {"_id": "t0003"}, {"$push": {"outbox": {"$each": outbox_entries(first)}}}
    )
    await send(running, event)
    again = published(running["kit"], TicketAssigned)
    assert len(again) == 2 and again[1].event_id == first.event_id  # same event, consumers dedupe it
    assert (await service.store.assignments.find_one({"_id": "t0003"}))["outbox"] == []


async def test_an_interrupted_route_reuses_its_slot(running: dict[str, Any]) -> None:
    service = running["service"]
    event = classified(4)
    from dispatcher import domain

    claim = domain.claim(domain.RoutingRequest.from_event(event), datetime.now(UTC))
    assert await service.store.insert_claim(claim) is None
    assert await service.store.reserve_slot("CS2024021", 5, "t0004")  # then the process died
    await send(running, event)
    [assigned] = published(running["kit"], TicketAssigned)
    assert assigned.payload.agent_id == "CS2024021" and "interrupted attempt" in assigned.payload.reason
    assert (await staff_doc(running, "CS2024021"))["open_count"] == 1
    assert (await staff_doc(running, "CS2023023"))["open_count"] == 0


# ----------------------------------------------------------------------------- poison input
async def test_invalid_event_is_dead_lettered_with_the_reason(running: dict[str, Any]) -> None:
    kit, broker = running["kit"], running["broker"]
    body = classified(1).model_dump(mode="json")
    body["payload"]["priority"] = "P9"
    await broker.publish(body, exchange=kit.bus.events_exchange, routing_key="ticket.classified")
    assert published(kit, TicketAssigned) == []
    [dead] = broker.dead_letters
    assert dead["queue"] == kit.bus.ns.subscription_queue("dispatcher", "ticket.classified")
    assert "payload.priority" in dead["headers"]["x-dead-letter-reason"]
    assert await running["service"].store.get("t0001") is None


async def test_conflicting_ticket_number_is_dead_lettered(running: dict[str, Any]) -> None:
    broker = running["broker"]
    await send(running, classified(1), classified(1, ticket_no="GD20261125999", at=T0 + timedelta(hours=1)))
    assert len(published(running["kit"], TicketAssigned)) == 1
    [dead] = broker.dead_letters
    assert "ticket_no_mismatch" in dead["headers"]["x-dead-letter-reason"]
    assert dead["headers"]["x-error-type"] == "PermanentError"


# ----------------------------------------------------------------------------- concurrency
class Interleaving:
    """A collection proxy that hands control to the event loop around every database call, so that
    concurrent use cases interleave between their reads and writes (mongomock never suspends)."""

    def __init__(self, inner: Any, rng: random.Random) -> None:
        self._inner, self._rng = inner, rng

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            for _ in range(self._rng.randint(0, 4)):
                await asyncio.sleep(0)
            result = await attr(*args, **kwargs)
            for _ in range(self._rng.randint(0, 2)):
                await asyncio.sleep(0)
            return result

        return call


async def _check_invariants(running: dict[str, Any]) -> dict[str, int]:
    store = running["service"].store
    docs = [d async for d in store.assignments.find({})]
    assert not [d["_id"] for d in docs if d["status"] == "routing"]  # nobody left half-routed
    holding = Counter(d["agent_id"] for d in docs if d["status"] == "assigned")
    async for s in store.staff.find({}):
        assert 0 <= s["open_count"] <= s["capacity"], s["_id"]
        assert s["open_count"] == len(s["open_tickets"]) == holding.get(s["_id"], 0), s["_id"]
    # Never assigned twice: one decision (one event id) per ticket. A duplicate delivery racing the
    # original may flush the same pending event again (at-least-once, same event id: consumers dedupe).
    decisions: dict[str, set[Any]] = {}
    for e in published(running["kit"], TicketAssigned):
        decisions.setdefault(e.payload.ticket_id, set()).add((e.event_id, e.payload.agent_id))
    assert all(len(d) == 1 for d in decisions.values()), decisions
    assert set(decisions) == {d["_id"] for d in docs if d.get("agent_id")}
    return dict(Counter(d["status"] for d in docs))


@pytest.mark.parametrize("seed", [1, 7, 20261125])
async def test_concurrent_classifications_never_exceed_capacity(running: dict[str, Any], seed: int) -> None:
    service, rng = running["service"], random.Random(seed)
    service.store.staff = Interleaving(service.store.staff, rng)
    service.store.assignments = Interleaving(service.store.assignments, rng)
    events = [
        classified(i, category=rng.choice(list(Category)), module=rng.choice(list(Module)),
                   priority=rng.choice(list(Priority)), channel=rng.choice(list(Channel)))
        for i in range(1, 81)
    ]
    duplicates = rng.sample(events, 20)
    results = await asyncio.gather(*(service.on_classified(e) for e in [*events, *duplicates]))
    assert all(r.status in (AssignmentStatus.ASSIGNED, AssignmentStatus.QUEUED) for r in results)
    counts = await _check_invariants(running)
    assert counts["assigned"] + counts["queued"] == 80 and counts["queued"] > 0
    reasons = [d["reason"] async for d in service.store.assignments.find({})]
    assert any("taken meanwhile" in r for r in reasons)  # the race really happened

    finished = sorted({e.payload.ticket_id for e in published(running["kit"], TicketAssigned)})[:30]
    await asyncio.gather(*(service.on_finished(t, "GD", f"corr-{t}", "ticket.resolved") for t in finished),
                         *(service.on_finished(t, "GD", f"corr-{t}", "ticket.closed") for t in finished[:10]))
    after = await _check_invariants(running)
    assert after["released"] == 30 and after["assigned"] > counts["assigned"] - 30  # freed slots were reused


# ----------------------------------------------------------------------------- HTTP
async def test_routes_check_tokens_and_roles(running: dict[str, Any]) -> None:
    client = running["client"]
    agent, sup = auth_header(StaffRole.AGENT, staff_id="CS2024021"), auth_header(StaffRole.SUPERVISOR)
    admin = auth_header(StaffRole.ADMIN)
    for path in ("/api/v1/assignments/t1", "/api/v1/queue/mine", "/api/v1/staff", "/api/v1/queues/tech"):
        r = await client.get(path)
        assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    assert (await client.get("/api/v1/staff", headers=agent)).status_code == 403
    assert (await client.get("/api/v1/queues/tech", headers=agent)).status_code == 403
    assert (await client.get("/api/v1/queue/mine", headers=admin)).status_code == 403
    assert (await client.get("/api/v1/staff", headers=admin)).status_code == 200
    assert (await client.get("/api/v1/staff", headers=sup)).status_code == 403  # not in the directory
    r = await client.get("/api/v1/queues/sales", headers=sup)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert (await client.get("/api/v1/queue/mine?limit=0", headers=agent)).status_code == 422
    assert (await client.get("/api/v1/staff?team=nope", headers=sup)).status_code == 422
    assert (await client.get("/api/v1/assignments/bad%20id", headers=agent)).status_code == 422
    r = await client.get("/api/v1/assignments/unknown", headers=agent)
    assert r.status_code == 404 and r.json()["error"]["code"] == "assignment_not_found"


async def test_reading_assignments_queue_and_roster(running: dict[str, Any]) -> None:
    client = running["client"]
    await send(running, classified(1), classified(2, priority=Priority.P2), classified(3))
    mine = auth_header(StaffRole.AGENT, staff_id="CS2023023")
    r = await client.get("/api/v1/queue/mine", headers=mine)
    assert r.status_code == 200
    assert [a["ticket_id"] for a in r.json()] == ["t0002", "t0001"]  # most urgent first
    assert "outbox" not in r.json()[0]
    other = await client.get("/api/v1/queue/mine", headers=auth_header(StaffRole.AGENT, staff_id="CS2024021"))
    assert [a["ticket_id"] for a in other.json()] == ["t0003"]
    one = (await client.get("/api/v1/assignments/t0003", headers=mine)).json()
    assert one["agent_id"] == "CS2024021" and one["status"] == "assigned"
    assert one["reason"].startswith("team specialist")
    sup = auth_header(StaffRole.SUPERVISOR, staff_id="CS2019003")  # the specialist team's supervisor
    roster = (await client.get("/api/v1/staff?team=specialist", headers=sup)).json()
    load = {m["staff_id"]: (m["open_count"], m["load_ratio"]) for m in roster}
    assert load == {"CS2019003": (0, 0.0), "CS2023023": (2, 0.4), "CS2024021": (1, 0.2)}
    assert (await client.get("/api/v1/staff", headers=sup)).json() == roster  # a supervisor sees their team
    assert (await client.get("/api/v1/staff?team=tech", headers=sup)).status_code == 403
    queue = await client.get("/api/v1/queues/specialist", headers=auth_header(StaffRole.ADMIN))
    assert queue.status_code == 200 and queue.json() == []


# ----------------------------------------------------------------------------- wiring
async def test_roster_is_seeded_once(running: dict[str, Any]) -> None:
    service = running["service"]
    roster = await service.roster()
    assert len(roster) == 15 and all(isinstance(m, StaffMember) for m in roster)
    assert await service.seed_staff(roster) == 0  # a roster already there is kept


def test_seed_file_comes_from_the_environment(
    tmp_path: Path, small_roster_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = small_roster_file
    monkeypatch.setenv("DISPATCHER_SEED_FILE", str(path))
    settings = DispatcherSettings()
    assert settings.seed_file == path and settings.http_port == 8003 and settings.service_name == "dispatcher"
    bad = tmp_path / "bad.json"
    bad.write_text('{"staff": [{"staff_id": "X"}]}', encoding="utf-8")
    with pytest.raises(ValueError):
        create_app(DispatcherSettings(seed_file=bad, log_format="text"))


async def test_custom_seed_file_is_used(small: dict[str, Any]) -> None:
    assert [m.staff_id for m in await small["service"].roster()] == ["C1", "F1", "SUP"]


async def test_health_and_asyncapi(running: dict[str, Any]) -> None:
    client = running["client"]
    assert (await client.get("/health/live")).json()["status"] == "ok"
    spec = json.dumps((await client.get("/asyncapi.json")).json())
    for name in ("dispatcher.ticket.classified", "dispatcher.ticket.resolved", "dispatcher.ticket.closed",
                 "ticket.assigned:publish"):
        assert name in spec


async def test_in_memory_app_runs_twice_independently(settings: DispatcherSettings) -> None:
    app = create_app(settings)
    async with in_memory(app.state.kit):
        assert len(await app.state.service.roster()) == 15
