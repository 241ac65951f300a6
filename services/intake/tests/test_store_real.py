"""Intake's store against the real MongoDB wire server (not the mock, which serialises every operation
in one process): its indexes build; ``_id`` uniqueness really refuses a second ticket for the same
contact and a second owner for an identifier, also when the writers race; the ``version``
compare-and-set lets exactly one of several concurrent commits from the same state win (and an
already applied event never applies twice); the daily counter hands N racing callers N distinct
consecutive numbers; datetimes come back UTC-aware; tickets list newest first and page through the
``after`` cursor without gaps or repeats, ties on ``created_at`` broken by id; customer updates that
must happen once (dormancy, filling in identifiers) happen once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from contracts import Channel, TicketStatus
from intake import domain
from intake.domain import Customer, Ticket
from intake.store import IntakeStore

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def ticket(n: int, *, created_at: datetime = T0, status: TicketStatus = TicketStatus.NEW) -> Ticket:
    return Ticket(
        ticket_id=f"t{n:03d}", ticket_no=f"GD20261125{n:03d}", correlation_id=f"c{n}", channel=Channel.WEB_FORM,
        channel_message_id=f"m{n}", customer_id="cust1", customer_display="客户A-0001", subject=f"subject {n}",
        status=status, created_at=created_at, updated_at=created_at,
    )


def customer(n: int, *, last_contact_at: datetime = T0) -> Customer:
    return Customer(customer_id=f"cust{n}", customer_no=n, display=domain.customer_display(n),
                    first_contact_at=last_contact_at, last_contact_at=last_contact_at, source_channel=Channel.EMAIL)


async def test_indexes_build_and_ids_refuse_duplicates_even_when_racing(real_db: Any) -> None:
    store = IntakeStore(real_db)
    await store.ensure_indexes()
    await store.ensure_indexes()  # a restarted replica runs it again
    names = set(await store.tickets.index_information())
    assert {"_id_", "ticket_no", "created", "status_created", "customer_id_created", "status_resolved"} <= names
    assert {"_id_", "customer_at", "at"} <= set(await store.customer_changes.index_information())

    # one owner per identifier: the first claim wins, later ones (also racing ones) are told no
    claims = await asyncio.gather(*(store.claim_key("k-phone", f"cust{i}") for i in range(6)))
    assert sorted(claims) == [False] * 5 + [True]
    winner = f"cust{claims.index(True)}"
    assert await store.key_owners(["k-phone", "k-unknown"]) == {"k-phone": winner}
    assert await store.claim_key("k-phone", "someone-else") is False
    assert await store.key_owners([]) == {}

    # one ticket per (channel, message id): the second insert answers "exists" (None)
    first = ticket(1)
    event = domain.transition(first, TicketStatus.ASSIGNED, by="a1", now=T0).events[0]
    entries = await store.insert_ticket(first, [event], [domain.timeline_entry("channel:web_form", "created", T0)])
    assert entries is not None and [e["event_id"] for e in entries] == [str(event.event_id)]
    assert await store.insert_ticket(first.model_copy(update={"subject": "other"}), []) is None
    raced = await asyncio.gather(*(store.insert_ticket(ticket(2).model_copy(update={"subject": f"s{i}"}), [])
                                   for i in range(6)))
    assert sum(r is not None for r in raced) == 1
    assert await store.tickets.count_documents({}) == 2
    assert (await store.get_ticket("t001")).subject == "subject 1"  # type: ignore[union-attr]
    assert len(await store.get_timeline("t001") or []) == 1

    # a half-finished earlier attempt: the existing customer comes back, not the new one
    assert (await store.insert_customer(customer(1))).customer_no == 1
    again = await store.insert_customer(customer(1).model_copy(update={"customer_no": 99}))
    assert again.customer_no == 1


async def test_concurrent_commits_from_the_same_version_have_exactly_one_winner(real_db: Any) -> None:
    store = IntakeStore(real_db)
    await store.ensure_indexes()
    await store.insert_ticket(ticket(1), [])
    before, applied = await store.load_for_change("t001", "evt-1")  # type: ignore[misc]
    assert before.version == 0 and applied is False

    now = T0 + timedelta(minutes=5)
    changes = [domain.transition(before, TicketStatus.ASSIGNED, by=f"agent{i}", now=now,
                                 updates={"assignee_id": f"agent{i}"}) for i in range(8)]
    results = await asyncio.gather(*(store.commit(before, c.ticket, c.events, c.timeline) for c in changes))
    winners = [i for i, r in enumerate(results) if r is not None]
    assert len(winners) == 1
    w = winners[0]
    assert results[w] and [e["event_id"] for e in results[w]] == [str(changes[w].events[0].event_id)]  # type: ignore[index]
    doc = await store.tickets.find_one({"_id": "t001"})
    assert doc["version"] == 1 and doc["assignee_id"] == f"agent{w}" and doc["status"] == "assigned"
    assert [e["event_id"] for e in doc["outbox"]] == [str(changes[w].events[0].event_id)]
    assert [e["actor"] for e in doc["timeline"]] == [f"agent{w}"]

    # a writer still holding version 0 is refused
    late = domain.transition(before, TicketStatus.IN_PROGRESS, by="late", now=now)
    assert await store.commit(before, late.ticket, late.events, late.timeline) is None

    # a consumed event applies once, even when two consumers race with it from the same state
    current, _ = await store.load_for_change("t001")  # type: ignore[misc]
    work = [domain.transition(current, TicketStatus.IN_PROGRESS, by=f"c{i}", now=now) for i in range(2)]
    raced = await asyncio.gather(*(store.commit(current, c.ticket, c.events, c.timeline, applied_event="evt-1")
                                   for c in work))
    assert sum(r is not None for r in raced) == 1
    reloaded, applied = await store.load_for_change("t001", "evt-1")  # type: ignore[misc]
    assert applied is True and reloaded.version == 2 and reloaded.status == TicketStatus.IN_PROGRESS
    # and, with a fresh version, a redelivery is still refused by applied_events alone
    redo = domain.change_status(reloaded, TicketStatus.PENDING_CUSTOMER, by="x", now=now, reason="waiting")
    assert await store.commit(reloaded, redo.ticket, redo.events, redo.timeline, applied_event="evt-1") is None
    assert (await store.get_ticket("t001")).version == 2  # type: ignore[union-attr]


async def test_a_ticket_stored_without_a_version_counts_as_version_zero(real_db: Any) -> None:
    """``{"version": {"$in": [0, None]}}`` must match a document with no ``version`` field at all."""
    store = IntakeStore(real_db)
    await store.insert_ticket(ticket(1), [])
    await store.tickets.update_one({"_id": "t001"}, {"$unset": {"version": ""}})
    before = await store.get_ticket("t001")
    assert before is not None and before.version == 0
    change = domain.transition(before, TicketStatus.CLOSED, by="sup", now=T0)
    assert await store.commit(before, change.ticket, change.events, change.timeline) is not None
    assert (await store.get_ticket("t001")).version == 1  # type: ignore[union-attr]
    assert await store.commit(before, change.ticket, change.events, change.timeline) is None


async def test_racing_sequence_calls_get_distinct_consecutive_numbers(real_db: Any) -> None:
    store = IntakeStore(real_db)
    assert await store.next_sequence("ticket:20261125") == 1
    numbers = await asyncio.gather(*(store.next_sequence("ticket:20261125") for _ in range(25)))
    assert sorted(numbers) == list(range(2, 27))
    assert await store.next_sequence("ticket:20261126") == 1  # each day counts on its own
    assert await store.next_sequence("ticket:20261125") == 27
    assert await store.counters.count_documents({}) == 2


async def test_racing_first_calls_of_a_new_day_each_get_their_number(real_db: Any) -> None:
    """The first tickets of a day race to create that day's counter document. (SecantusDB 0.7.0b3 answers
    racing upserting find-and-modifies of a new ``_id`` with ``value: null`` although it applied the
    increment; next_sequence must still hand out 1..N with no gap.)"""
    store = IntakeStore(real_db)
    numbers = await asyncio.gather(*(store.next_sequence("ticket:20261127") for _ in range(25)))
    assert sorted(numbers) == list(range(1, 26))
    assert (await store.counters.find_one({"_id": "ticket:20261127"}))["seq"] == 25


async def test_datetimes_round_trip_as_utc_and_tickets_page_newest_first(real_db: Any) -> None:
    store = IntakeStore(real_db)
    await store.ensure_indexes()
    shanghai = timezone(timedelta(hours=8))
    local = datetime(2026, 11, 25, 17, 30, 15, 123000, tzinfo=shanghai)  # 09:30:15.123 UTC
    await store.insert_ticket(ticket(50, created_at=local), [])
    got = await store.get_ticket("t050")
    assert got is not None and got.created_at == local
    assert got.created_at.tzinfo is not None and got.created_at.utcoffset() == timedelta(0)
    assert got.created_at.replace(tzinfo=None) == datetime(2026, 11, 25, 9, 30, 15, 123000)
    raw = await store.tickets.find_one({"_id": "t050"})
    assert raw["created_at"].tzinfo is not None and raw["created_at"].hour == 9
    await store.tickets.delete_one({"_id": "t050"})

    # 9 tickets over 4 distinct instants (ties on created_at are ordered by id, descending)
    minutes = [0, 1, 1, 1, 2, 3, 3, 0, 2]
    for n, m in enumerate(minutes, start=1):
        status = TicketStatus.RESOLVED if n % 3 == 0 else TicketStatus.NEW
        await store.insert_ticket(ticket(n, created_at=T0 + timedelta(minutes=m), status=status), [])
    expected = [t for _, t in sorted(((m, f"t{n:03d}") for n, m in enumerate(minutes, start=1)), reverse=True)]
    assert expected[:4] == ["t007", "t006", "t009", "t005"]
    assert [t.ticket_id for t in await store.list_tickets(filters={}, limit=100)] == expected

    pages: list[list[str]] = []
    after = None
    while True:
        page = await store.list_tickets(filters={}, limit=4, after=after)
        if not page:
            break
        pages.append([t.ticket_id for t in page])
        after = (page[-1].created_at, page[-1].ticket_id)
    assert pages == [expected[0:4], expected[4:8], expected[8:9]]
    assert [t.ticket_id for t in await store.list_tickets(filters={}, limit=3, skip=3)] == expected[3:6]

    resolved = [t for t in expected if int(t[1:]) % 3 == 0]
    first = await store.list_tickets(filters={"status": TicketStatus.RESOLVED}, limit=2)
    assert [t.ticket_id for t in first] == resolved[:2]
    rest = await store.list_tickets(filters={"status": TicketStatus.RESOLVED}, limit=10,
                                    after=(first[-1].created_at, first[-1].ticket_id))
    assert [t.ticket_id for t in rest] == resolved[2:]
    # the cursor's instant may come in another zone: it names the same moment
    cut = (first[0].created_at.astimezone(shanghai), first[0].ticket_id)
    assert [t.ticket_id for t in await store.list_tickets(filters={"status": "resolved"}, limit=10, after=cut)] \
        == resolved[1:]


async def test_customer_updates_that_must_happen_once(real_db: Any) -> None:
    store = IntakeStore(real_db)
    await store.ensure_indexes()
    old = T0 - timedelta(days=200)
    for n in (3, 1, 2):
        await store.insert_customer(customer(n, last_contact_at=old))
    assert [c.customer_no for c in await store.list_customers(filters={}, limit=2, skip=1)] == [2, 3]

    # identifiers are filled in, never overwritten, and the contact is counted each time
    await store.touch_customer("cust1", T0, {"phone": ("tok-1", "138****0001")})
    await store.touch_customer("cust1", T0, {"phone": ("tok-2", "139****0002"), "email": ("tok-e", "a***@x.cn")})
    c1 = await store.get_customer("cust1")
    assert c1 is not None and c1.encrypted == {"phone": "tok-1", "email": "tok-e"}
    assert c1.masked == {"phone": "138****0001", "email": "a***@x.cn"} and c1.ticket_count == 2
    assert c1.last_contact_at == T0

    # the dormancy sweep of racing replicas marks each customer once
    cutoff = T0 - timedelta(days=180)
    candidates = await store.dormant_candidates(cutoff, limit=10)
    assert sorted(c.customer_id for c in candidates) == ["cust2", "cust3"]
    marks = await asyncio.gather(*(store.mark_dormant(c.customer_id, cutoff, T0) for c in candidates * 4))
    assert sum(marks) == 2
    assert await store.dormant_candidates(cutoff, limit=10) == []
    assert [c.customer_id for c in await store.list_customers(filters={"status": "dormant"}, limit=10, skip=0)] \
        == ["cust2", "cust3"]

    # change log and audit: newest first, and retention drops only what is older than the cutoff
    await store.add_changes([{"customer_id": "cust1", "field": "tier", "at": T0 - timedelta(days=i)} for i in range(4)])
    for i in range(3):
        await store.audit({"subject": "ticket", "subject_id": "t1", "action": f"a{i}", "at": T0 + timedelta(hours=i)})
    assert [c["at"] for c in await store.list_changes("cust1", 3)] == [T0 - timedelta(days=i) for i in range(3)]
    assert [a["action"] for a in await store.list_audit("t1", 10)] == ["a2", "a1", "a0"]
    assert await store.purge_before(T0 - timedelta(days=1, hours=12)) == 2  # days 2 and 3 of the change log
    assert len(await store.list_changes("cust1", 10)) == 2 and len(await store.list_audit("t1", 10)) == 3


async def test_conversation_lookups(real_db: Any) -> None:
    """A message's ticket by reference (number or id), by the channel's thread key (newest first; multikey
    index), the customer's most recent open ticket on a channel within a window, and the ticket a message id
    was applied to."""
    store = IntakeStore(real_db)
    await store.ensure_indexes()
    assert {"thread_keys", "applied_events"} <= set(await store.tickets.index_information())
    old = ticket(1, created_at=T0).model_copy(update={"thread_keys": ["online_chat:s1"], "channel": Channel.ONLINE_CHAT})
    new = ticket(2, created_at=T0 + timedelta(hours=1)).model_copy(update={
        "thread_keys": ["online_chat:s1", "online_chat:cm2"], "channel": Channel.ONLINE_CHAT})
    closed = ticket(3, created_at=T0 + timedelta(hours=2), status=TicketStatus.CLOSED)
    for t in (old, new, closed):
        assert await store.insert_ticket(t, []) is not None
    assert (await store.find_by_reference("GD20261125001")).ticket_id == "t001"  # type: ignore[union-attr]
    assert (await store.find_by_reference("t002")).ticket_no == "GD20261125002"  # type: ignore[union-attr]
    assert await store.find_by_reference("GD20990101001") is None
    assert (await store.find_by_thread(["online_chat:s1"])).ticket_id == "t002"  # type: ignore[union-attr]
    assert await store.find_by_thread(["email:nothing"]) is None
    open_statuses = [s.value for s in domain.OPEN_STATUSES]
    found = await store.recent_open("cust1", "online_chat", open_statuses, T0 - timedelta(days=1))
    assert found is not None and found.ticket_id == "t002"
    assert await store.recent_open("cust1", "web_form", open_statuses, T0 - timedelta(days=1)) is None  # t003 closed
    assert await store.recent_open("cust1", "online_chat", open_statuses, T0 + timedelta(days=1)) is None  # too old
    # a message applied through the compare-and-set is found by its id, exactly once even when racing
    loaded = await store.load_for_change("t002", "m-abc")
    assert loaded is not None and loaded[1] is False
    results = await asyncio.gather(*(store.commit(loaded[0], loaded[0], [], [], applied_event="m-abc") for _ in range(4)))
    assert sum(r is not None for r in results) == 1
    assert (await store.ticket_with_message("m-abc")).ticket_id == "t002"  # type: ignore[union-attr]
    assert await store.ticket_with_message("m-none") is None
