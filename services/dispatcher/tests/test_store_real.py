"""The dispatcher's store against the real MongoDB wire server (not the mock, which serialises every
operation in one process): the indexes are accepted; an agent's slots are taken by one conditional
update, so many replicas claiming at once never put more than ``capacity`` tickets on an agent and a
ticket holds (and gives back) at most one slot; a ticket is claimed once and its compare-and-set writes
have one winner; concurrent delivery workers never take the same notification; datetimes come back
UTC-aware; the queue and inbox lists come back in their documented order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dispatcher.domain import Assignment, AssignmentStatus, Position, StaffMember, Team
from dispatcher.store import DispatcherStore

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def agent(staff_id: str, capacity: int, team: Team = Team.FRONTLINE, on_duty: bool = True) -> StaffMember:
    return StaffMember(staff_id=staff_id, name=f"客服{staff_id}", role=Position.AGENT, team=team, capacity=capacity,
                       on_duty=on_duty)


def waiting(tid: str, *, rank: int = 3, since: datetime = T0, team: Team = Team.FRONTLINE,
            status: AssignmentStatus = AssignmentStatus.QUEUED, agent_id: str | None = None,
            assigned_at: datetime | None = None) -> Assignment:
    return Assignment(ticket_id=tid, ticket_no=f"GD{tid}", correlation_id=f"corr-{tid}", status=status,
                      priority_rank=rank, team=team, waiting_since=since, updated_at=since, agent_id=agent_id,
                      assigned_at=assigned_at)


async def test_concurrent_slot_claims_never_exceed_capacity(real_db: Any) -> None:
    store = DispatcherStore(real_db)
    await store.ensure_indexes()
    names = {i["name"] async for i in store.assignments.list_indexes()}
    assert {"team_queue", "agent_queue"} <= names
    assert await store.insert_staff(agent("A1", capacity=3)) is True
    assert await store.insert_staff(agent("A1", capacity=9)) is False  # the staff id is the key

    # 30 replicas (own store objects, one connection pool) each claim a slot for a different ticket
    tickets = [f"t{i:03d}" for i in range(30)]
    won = await asyncio.gather(*(DispatcherStore(real_db).reserve_slot("A1", 3, t) for t in tickets))
    winners = sorted(t for t, ok in zip(tickets, won) if ok)
    assert len(winners) == 3
    doc = await store.staff.find_one({"_id": "A1"})
    assert doc["open_count"] == 3 and sorted(doc["open_tickets"]) == winners
    assert await store.reserve_slot("A1", 3, "late") is False  # full

    # one ticket raced onto a roomy agent takes one slot, not ten
    await store.insert_staff(agent("A2", capacity=5))
    won = await asyncio.gather(*(store.reserve_slot("A2", 5, "same") for _ in range(10)))
    assert won.count(True) == 1
    assert await store.open_tickets_of("A2") == ["same"]
    assert [m.staff_id for m in await store.slot_holders("same")] == ["A2"]

    # a capacity the caller did not see, or an agent off duty, gives no slot
    assert await store.reserve_slot("A2", 4, "other") is False
    await store.insert_staff(agent("OFF", capacity=5, on_duty=False))
    assert await store.reserve_slot("OFF", 5, "other") is False

    # the slot is given back exactly once, however many releases race
    released = await asyncio.gather(*(store.release_slot("A1", winners[0]) for _ in range(8)))
    assert released.count(True) == 1
    doc = await store.staff.find_one({"_id": "A1"})
    assert doc["open_count"] == 2 and sorted(doc["open_tickets"]) == winners[1:]
    assert (await store.get_staff("A1")).open_count == 2


async def test_a_ticket_is_claimed_once_and_its_compare_and_set_has_one_winner(real_db: Any) -> None:
    store = DispatcherStore(real_db)
    await store.ensure_indexes()
    local = datetime(2026, 11, 25, 9, 30, 15, 123000, tzinfo=SHANGHAI)  # = 01:30:15.123 UTC
    claims = [waiting("t1", since=local).model_copy(update={"status": AssignmentStatus.ROUTING, "reason": f"r{i}"})
              for i in range(8)]
    results = await asyncio.gather(*(DispatcherStore(real_db).insert_claim(c) for c in claims))
    assert results.count(None) == 1  # one insert won; every other caller got the stored record back
    stored = next(r for r in results if r is not None)
    assert await store.assignments.count_documents({"_id": "t1"}) == 1
    assert stored.reason == claims[results.index(None)].reason
    assert await store.insert_claim(claims[0]) is not None  # refused later as well

    # datetimes come back UTC-aware, the same instant
    current = await store.get("t1")
    assert current is not None
    assert current.waiting_since.tzinfo is not None and current.waiting_since.utcoffset() == timedelta(0)
    assert current.waiting_since == datetime(2026, 11, 25, 1, 30, 15, 123000, tzinfo=UTC)

    # two routers assign the same waiting ticket (same revision) at once: one wins
    a1 = current.model_copy(update={"status": AssignmentStatus.ASSIGNED, "agent_id": "A1", "assigned_at": T0})
    a2 = current.model_copy(update={"status": AssignmentStatus.ASSIGNED, "agent_id": "A2", "assigned_at": T0})
    saved = await asyncio.gather(store.save_assignment(current, a1, []), store.save_assignment(current, a2, []))
    assert [s is not None for s in saved].count(True) == 1
    after = await store.get("t1")
    assert after.agent_id == ("A1" if saved[0] is not None else "A2")
    assert len(after.history) == 1

    # finishing it races too: exactly one caller sees the record as it was before
    finished = await asyncio.gather(*(store.mark_released("t1", "resolved", T0) for _ in range(5)))
    assert [f is not None for f in finished].count(True) == 1
    assert (await store.get("t1")).status == AssignmentStatus.RELEASED


async def test_queue_lists_come_back_in_their_order(real_db: Any) -> None:
    store = DispatcherStore(real_db)
    await store.ensure_indexes()
    m = timedelta(minutes=1)
    for a in [waiting("q-late-p1", rank=1, since=T0 + 5 * m), waiting("q-p3", rank=3, since=T0),
              waiting("q-early-p1", rank=1, since=T0 + m), waiting("q-tie-b", rank=2, since=T0),
              waiting("q-tie-a", rank=2, since=T0), waiting("q-tech", rank=1, since=T0, team=Team.TECH),
              waiting("routing", rank=1, since=T0, status=AssignmentStatus.ROUTING),
              waiting("mine-p2-late", rank=2, status=AssignmentStatus.ASSIGNED, agent_id="A1", assigned_at=T0 + 9 * m),
              waiting("mine-p2-early", rank=2, status=AssignmentStatus.ASSIGNED, agent_id="A1", assigned_at=T0 + m),
              waiting("mine-p1", rank=1, status=AssignmentStatus.ASSIGNED, agent_id="A1", assigned_at=T0 + 20 * m),
              waiting("theirs", rank=1, status=AssignmentStatus.ASSIGNED, agent_id="A2", assigned_at=T0)]:
        assert await store.insert_claim(a) is None

    assert [a.ticket_id for a in await store.waiting([Team.FRONTLINE], 10)] == [
        "q-early-p1", "q-late-p1", "q-tie-a", "q-tie-b", "q-p3"]
    assert [a.ticket_id for a in await store.waiting([Team.FRONTLINE, Team.TECH], 3)] == [
        "q-tech", "q-early-p1", "q-late-p1"]
    assert [a.ticket_id for a in await store.assigned_to("A1", 10)] == ["mine-p1", "mine-p2-early", "mine-p2-late"]

    for sid in ["C9", "A1", "B5"]:
        await store.insert_staff(agent(sid, capacity=1, team=Team.TECH if sid == "B5" else Team.FRONTLINE))
    assert [s.staff_id for s in await store.roster()] == ["A1", "B5", "C9"]
    assert [s.staff_id for s in await store.roster(Team.FRONTLINE)] == ["A1", "C9"]


async def test_notifications_are_stored_once_and_claimed_by_one_worker(real_db: Any) -> None:
    store = DispatcherStore(real_db)
    await store.ensure_indexes()
    for i in range(12):
        base = {"kind": "assigned", "recipient": "A1", "subject": f"s{i}", "body": "b", "ticket_id": f"t{i}",
                "created_at": T0 + timedelta(seconds=i % 4), "attempts": 0}
        assert await store.insert_notification({**base, "_id": f"e{i}:A1:in_app", "channel": "in_app",
                                                "status": "delivered", "read_at": None})
        assert await store.insert_notification({**base, "_id": f"e{i}:A1:im", "channel": "im", "status": "pending",
                                                "next_attempt_at": T0 + timedelta(seconds=i), "lease_until": None})
    assert await store.insert_notification({"_id": "e0:A1:in_app", "channel": "in_app"}) is False

    inbox = await store.inbox("A1", unread_only=False, limit=5)  # newest first, then by id
    assert [d["_id"] for d in inbox] == ["e11:A1:in_app", "e3:A1:in_app", "e7:A1:in_app",
                                         "e10:A1:in_app", "e2:A1:in_app"]
    assert inbox[0]["created_at"] == T0 + timedelta(seconds=3) and inbox[0]["created_at"].tzinfo is not None

    # 20 delivery workers race over 12 due deliveries: each is taken by exactly one
    now = T0 + timedelta(minutes=1)
    taken = await asyncio.gather(*(DispatcherStore(real_db).claim_delivery(now, now + timedelta(seconds=30))
                                   for _ in range(20)))
    ids = [d["_id"] for d in taken if d is not None]
    assert len(ids) == 12 and len(set(ids)) == 12
    assert all(d["attempts"] == 1 and d["status"] == "sending" for d in taken if d is not None)
    assert await store.claim_delivery(now, now) is None  # leases still hold
    # once the lease runs out the earliest-due one is retaken first
    again = await store.claim_delivery(now + timedelta(minutes=1), now + timedelta(minutes=2))
    assert again["_id"] == "e0:A1:im" and again["attempts"] == 2

    read = await asyncio.gather(*(store.mark_read("e5:A1:in_app", "A1", now + timedelta(seconds=i))
                                  for i in range(4)))
    assert len({d["read_at"] for d in read}) == 1  # the first reader's time sticks
    assert await store.unread_count("A1") == 11
    assert await store.mark_all_read("A1", now) == 11
