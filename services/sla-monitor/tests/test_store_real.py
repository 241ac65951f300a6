"""The SLA monitor's store against the real MongoDB wire server (not the mock, which serialises every
operation in one process): the indexes are accepted; a ticket's clock is created once and its
compare-and-set on ``revision`` has exactly one winner among concurrent writers (and an event is
recorded once); concurrent scheduling into the same alarm buckets loses no ticket and the shared scan
cursor only moves forward; datetimes come back UTC-aware at the same instant (also inside lists: the
agent answers a next response is measured by); the overdue list and the policy/calendar lists come back in
their documented order; the calendar upsert counts every edit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts import Channel, Priority
from servicekit.documents import to_doc
from sla_monitor import domain
from sla_monitor.domain import Clock, ClockStatus, PolicyBody, PolicyStatus
from sla_monitor.store import SlaStore

from .conftest import at, classified, created, replied, responded

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def clock(tid: str, *, started: datetime = T0, resolution_due: datetime | None = None, **fields: Any) -> Clock:
    return Clock(ticket_id=tid, ticket_no=f"GD{tid}", correlation_id=f"corr-{tid}", policy_version=1,
                 started_at=started, first_response_due=started + timedelta(minutes=15),
                 resolution_due=resolution_due or started + timedelta(hours=4), **fields)


async def test_a_clock_is_created_once_and_each_revision_has_one_writer(real_db: Any) -> None:
    store = SlaStore(real_db)
    await store.ensure_indexes()
    names = {i["name"] async for i in store.clocks.list_indexes()}
    assert {"next_check_at", "breached"} <= names

    # the ticket's first events race to create its clock: one insert wins
    local = datetime(2026, 11, 25, 9, 0, 0, 250000, tzinfo=SHANGHAI)  # = 01:00:00.250 UTC
    created = await asyncio.gather(*(SlaStore(real_db).insert_clock(clock("t1", started=local), f"e{i}")
                                     for i in range(8)))
    assert created.count(True) == 1
    first = f"e{created.index(True)}"
    stored = await store.load_clock("t1")
    assert stored.revision == 1 and stored.applied_events == {first}
    raw = await store.clocks.find_one({"_id": "t1"})
    assert raw["started_at"].utcoffset() == timedelta(0)  # UTC-aware from the driver, same instant
    assert raw["started_at"] == datetime(2026, 11, 25, 1, 0, 0, 250000, tzinfo=UTC)
    assert stored.clock.started_at == local and stored.clock.started_at.tzinfo is not None

    # ten writers saw revision 1 and write at once: exactly one compare-and-set lands
    writers = [stored.clock.model_copy(update={"agent_id": f"A{i}"}) for i in range(10)]
    saved = await asyncio.gather(*(SlaStore(real_db).save_clock(c, revision=1, event_id=f"s{i}",
                                                                outbox=[{"n": i}])
                                   for i, c in enumerate(writers)))
    assert saved.count(True) == 1
    won = saved.index(True)
    after = await store.load_clock("t1")
    assert after.revision == 2 and after.clock.agent_id == f"A{won}"
    assert after.applied_events == {first, f"s{won}"}
    assert (await store.clocks.find_one({"_id": "t1"}))["outbox"] == [{"n": won}]

    # the same event is never applied twice, even at the current revision; a stale revision loses
    assert await store.save_clock(after.clock, revision=2, event_id=f"s{won}") is False
    assert await store.save_clock(after.clock, revision=1) is False
    assert await store.save_clock(after.clock, revision=2) is True  # an alarm scan (no event id)
    assert (await store.load_clock("t1")).revision == 3
    assert await store.get_clock("nope") is None and await store.load_clock("nope") is None


async def test_concurrent_scheduling_loses_no_alarm(real_db: Any) -> None:
    store = SlaStore(real_db, bucket_seconds=5)
    now = T0
    assert await store.scan_cursor() is None

    # 60 tickets filed at once (each twice) into three buckets none of which exists yet
    jobs = [(f"t{i:02d}", now + timedelta(seconds=5 * (i % 3))) for i in range(60)]
    filed = await asyncio.gather(*(SlaStore(real_db, bucket_seconds=5).schedule_alarm(t, at, now)
                                   for t, at in jobs + jobs[::-1]))
    b0 = store.bucket(now)
    assert sorted(set(filed)) == [b0, b0 + 1, b0 + 2]
    loaded = await store.load_buckets([b0 - 1, b0, b0 + 1, b0 + 2, b0 + 7])
    assert [b for b, _ in loaded] == [b0, b0 + 1, b0 + 2]  # ascending; missing buckets left out
    for k, (_, tickets) in enumerate(loaded):
        assert sorted(tickets) == sorted(t for i, (t, _) in enumerate(jobs) if i % 3 == k)  # each once
    assert await store.schedule.count_documents({}) == 3

    # an alarm already past goes to the current bucket (the scan has not passed it)
    assert await store.schedule_alarm("late", now - timedelta(hours=1), now) == b0
    # a dropped bucket is refilled by a later scheduling, not lost
    await store.drop_buckets([b0, b0 + 1])
    await store.drop_buckets([])
    assert [b for b, _ in await store.load_buckets([b0, b0 + 1, b0 + 2])] == [b0 + 2]
    await store.schedule_alarm("again", now, now)
    assert await store.load_buckets([b0]) == [(b0, ["again"])]

    # replicas advance the shared cursor at once: it ends at the furthest and never goes back
    await asyncio.gather(*(SlaStore(real_db).advance_cursor(b0 + k) for k in [3, 9, 1, 7, 9, 2, 5]))
    assert await store.scan_cursor() == b0 + 9
    await store.advance_cursor(b0)
    assert await store.scan_cursor() == b0 + 9
    assert await store.scheduler.count_documents({}) == 1


async def test_lists_come_back_in_their_order(real_db: Any) -> None:
    store = SlaStore(real_db)
    await store.ensure_indexes()
    h = timedelta(hours=1)
    for tid, due, fields in [
        ("late", T0 + 9 * h, {"breach_count": 1, "team": "tech"}),
        ("soon", T0 + 2 * h, {"breach_count": 2, "team": "tech"}),
        ("mid", T0 + 5 * h, {"breach_count": 1, "team": "frontline"}),
        ("explained", T0 + h, {"breach_count": 1, "team": "tech", "overdue_reasons": [domain.OverdueReason(
            reason_id="r1", code=next(iter(domain.OverdueReasonCode)), recorded_by="S", recorded_at=T0)]}),
        ("closed", T0, {"breach_count": 1, "status": ClockStatus.CLOSED}),
        ("fine", T0, {"next_check_at": T0 + 3 * h}),
    ]:
        assert await store.insert_clock(clock(tid, resolution_due=due, **fields), f"e-{tid}")
    assert [c.ticket_id for c in await store.breached_clocks(team=None, unexplained=False, limit=10)] == [
        "explained", "soon", "mid", "late"]
    assert [c.ticket_id for c in await store.breached_clocks(team="tech", unexplained=True, limit=10)] == [
        "soon", "late"]
    assert [c.ticket_id for c in await store.breached_clocks(team=None, unexplained=False, limit=2)] == [
        "explained", "soon"]
    assert await store.overdue_clocks(T0 + 3 * h, 10) == [("fine", T0 + 3 * h)]
    assert await store.overdue_clocks(T0 + 2 * h, 10) == []
    assert sorted(c.ticket_id for c in await store.get_clocks(["mid", "gone", "late"])) == ["late", "mid"]

    # policies: the seed once; racing drafts get distinct versions; newest version first
    assert await store.seed_policy(domain.POLICY_V1, author="system", now=T0) is True
    assert await store.seed_policy(domain.POLICY_V1, author="system", now=T0) is False
    body = PolicyBody.model_validate(domain.POLICY_V1.model_dump(exclude={"version"}))
    drafts = await asyncio.gather(*(SlaStore(real_db).insert_draft(body, author="a", now=T0) for _ in range(5)))
    assert sorted(d.version for d in drafts) == [2, 3, 4, 5, 6]
    assert [p.version for p in await store.list_policies()] == [6, 5, 4, 3, 2, 1]
    activated = await asyncio.gather(*(store.activate(4, author="a", now=T0 + h) for _ in range(3)))
    assert [a is not None for a in activated].count(True) == 1
    active = await store.active_policy()
    assert active.version == 4 and active.activated_at == T0 + h and active.activated_at.tzinfo is not None
    assert [p.version for p in await store.list_policies(PolicyStatus.ACTIVE)] == [4]
    assert [p.version for p in await store.list_policies(PolicyStatus.RETIRED)] == [1]


async def test_calendar_upsert_counts_every_edit(real_db: Any) -> None:
    store = SlaStore(real_db)
    cals = [domain.china_calendar().model_copy(update={"calendar_id": cid}) for cid in ["zz", "aa", "mm"]]
    first = await store.put_calendar(cals[1], author="u", now=T0)
    assert first.revision == 1 and first.updated_at == T0 and first.updated_at.tzinfo is not None
    assert (await store.put_calendar(cals[1], author="v", now=T0)).revision == 2
    await store.put_calendar(cals[2], author="u", now=T0)
    await store.put_calendar(cals[0], author="u", now=T0)
    assert [(c.calendar_id, c.revision) for c in await store.list_calendars()] == [("aa", 2), ("mm", 1), ("zz", 1)]
    # several admins edit the same calendar at once: every edit counts once
    edits = await asyncio.gather(*(SlaStore(real_db).put_calendar(cals[0], author=f"u{i}", now=T0) for i in range(4)))
    assert sorted(r.revision for r in edits) == [2, 3, 4, 5]


async def test_racing_creators_of_a_new_calendar_all_get_it_back(real_db: Any) -> None:
    """Admins create the same new calendar at once (the upsert race on an absent _id): each gets the
    calendar back and every edit counts once. Eight calendars, six creators each."""
    base = domain.china_calendar()
    for k in range(8):
        cal = base.model_copy(update={"calendar_id": f"new-{k}"})
        made = await asyncio.gather(*(SlaStore(real_db).put_calendar(cal, author=f"u{i}", now=T0) for i in range(6)))
        # every admin gets the calendar back; the six edits are all counted (on SecantusDB a loser reads
        # the stored record back, so two may see the same, later revision)
        assert all(r.calendar_id == cal.calendar_id and 1 <= r.revision <= 6 for r in made)
        assert max(r.revision for r in made) == 6
        assert (await SlaStore(real_db).get_calendar(cal.calendar_id)).revision == 6  # type: ignore[union-attr]


async def test_a_conversation_clock_reads_back_as_it_was_computed(real_db: Any) -> None:
    """The next-response facts and derived fields (an answer list of datetimes, the message it is owed
    for, the per-message alarm keys) survive the real server unchanged, so a clock recomputed from the
    stored facts equals the stored one; a policy version stored without next-response targets (before
    they existed) reads with the defaults."""
    policy = domain.POLICY_V1
    events = [created(channel=Channel.EMAIL), classified(priority=Priority.P2, when=at(1)), responded(when=at(30)),
              replied(when=at(60)), responded(when=at(200)), responded(when=at(90)), replied(when=at(80))]
    computed = None
    for event in events:
        computed = domain.apply_event(computed, event, policy)
    assert computed is not None and computed.answers == [at(90), at(200)]
    computed, _ = domain.fire(computed, policy, at(30))  # nothing due; a clock as the scanner leaves it
    store = SlaStore(real_db)
    assert await store.insert_clock(computed, "e1")
    stored = (await store.load_clock("t001")).clock  # type: ignore[union-attr]
    assert stored == computed and all(t.tzinfo is not None for t in stored.answers)
    assert domain.evaluate(stored, policy) == computed
    assert stored.next_response_status == domain.NextResponseStatus.ANSWERED and stored.next_response_met is True

    # a next-response alarm key with the message time in it round-trips too
    late = domain.apply_event(stored, replied(when=at(300)), policy)
    late, events = domain.fire(late, policy, at(421))
    assert [e.event_type for e in events] == ["sla.breached"]
    assert await store.save_clock(late, revision=1, event_id="e2")
    assert (await store.load_clock("t001")).clock == late  # type: ignore[union-attr]

    old = to_doc(policy, id_field="version")
    for rule in old["rules"]:
        del rule["next_response"]
    old.update(status="active", created_by="system", created_at=T0)
    await store.policies.insert_one(old)
    assert (await store.get_policy(policy.version)).policy() == policy  # type: ignore[union-attr]
