"""Reporting's store against the real MongoDB wire server (not the mock, which serialises every
operation in one process): the aggregate cells count every event exactly once when consumers race,
redeliver and die between their two writes."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from reporting import testing as f
from reporting.service import ReportingService
from reporting.store import ReportingStore
from reporting.testing import cells_from_facts, local, stored_cells

D1 = "2026-11-25"


def a_day(n: int) -> list[Any]:
    events = []
    for i in range(n):
        tid = f"r{i:03d}"
        events += [f.created(tid, local(D1, 9, i % 60)),
                   f.classified(tid, local(D1, 9, i % 60), category="after_sales", priority="P2"),
                   f.assigned(tid, local(D1, 10, i % 60)),
                   f.resolved(tid, local(D1, 15, i % 60))]
    return events


async def pending_of(service: ReportingService, events: list[Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Fold ``events`` into their facts without applying their cells: the (ticket, pending entries) each
    left, as a consumer that died between its two writes would."""
    store = service.store
    original = store.apply_pending
    captured: list[tuple[str, list[dict[str, Any]]]] = []

    async def hold(ticket_id: str, entries: list[dict[str, Any]]) -> int:
        captured.append((ticket_id, entries))
        return 0

    store.apply_pending = hold  # type: ignore[method-assign]
    try:
        for event in events:
            await service.apply_to_fact(event)
    finally:
        store.apply_pending = original  # type: ignore[method-assign]
    return captured


async def test_racing_replicas_and_redeliveries_count_each_event_once(real_db: Any) -> None:
    store = ReportingStore(real_db)
    await store.ensure_indexes()
    replicas = [ReportingService(ReportingStore(real_db), timezone="Asia/Shanghai") for _ in range(3)]
    events = a_day(12)
    deliveries = events * 3  # every event delivered three times, in any order, to any replica
    random.Random(7).shuffle(deliveries)

    async def consume(replica: ReportingService, share: list[Any]) -> None:
        for event in share:  # a consumer handles one message at a time; the replicas run side by side
            await replica.record(event)

    await asyncio.gather(*(consume(r, deliveries[i::3]) for i, r in enumerate(replicas)))
    # and the relays of all three replicas run at once over whatever might still be pending
    await asyncio.gather(*(r.relay_pending(grace_seconds=0) for r in replicas))
    assert await store.facts.count_documents({"pending.0": {"$exists": True}}) == 0
    cells = await stored_cells(replicas[0])
    assert cells == await cells_from_facts(replicas[0])
    assert cells[f"{D1}|all"]["created"] == 12


async def test_a_relay_racing_the_consumer_applies_the_increments_once(real_db: Any) -> None:
    """The consumer's own apply and every replica's relay hit the same pending entries at once."""
    store = ReportingStore(real_db)
    service = ReportingService(store, timezone="Asia/Shanghai")
    (ticket_id, entries), = await pending_of(service, [f.created("r900", local(D1, 9))])
    results = await asyncio.gather(*(ReportingStore(real_db).apply_pending(ticket_id, entries) for _ in range(6)),
                                   service.relay_pending(grace_seconds=0))
    assert sorted(results[:6]).count(len(entries)) + (results[6] == len(entries)) == 1
    assert (await stored_cells(service))[f"{D1}|all"]["created"] == 1


async def test_a_crash_between_the_claim_and_the_increments_leaves_both_undone(real_db: Any) -> None:
    """The pull from the fact and the cells' increments are one transaction: a failure after the pull
    rolls it back, so the relay still finds the entries and applies them once."""
    store = ReportingStore(real_db)
    service = ReportingService(store, timezone="Asia/Shanghai")

    class Crash(Exception):
        pass

    cells = store.cells

    class Dying:
        def __getattr__(self, name: str) -> Any:
            return getattr(cells, name)

        @property
        def database(self) -> Any:
            return cells.database

        async def bulk_write(self, *_: Any, **__: Any) -> Any:
            raise Crash

    store.cells = Dying()  # type: ignore[assignment]
    try:
        await service.apply_to_fact(f.created("r901", local(D1, 9)))
    except Crash:
        pass
    store.cells = cells
    assert await store.facts.count_documents({"_id": "r901", "pending.0": {"$exists": True}}) == 1
    assert await stored_cells(service) == {}
    assert await service.relay_pending(grace_seconds=0) > 0
    assert await service.relay_pending(grace_seconds=0) == 0
    assert (await stored_cells(service))[f"{D1}|all"]["created"] == 1


async def test_callers_queued_behind_a_cell_transaction_share_the_next_one(real_db: Any) -> None:
    """Group commit: while one cell transaction runs, the facts that queue up are applied together in the
    next (one commit for many events), each still claimed on its own and counted once."""
    from pymongo import monitoring

    class Commits(monitoring.CommandListener):
        n = 0

        def started(self, event: Any) -> None:
            Commits.n += event.command_name == "commitTransaction"

        def succeeded(self, event: Any) -> None: ...

        def failed(self, event: Any) -> None: ...

    from motor.motor_asyncio import AsyncIOMotorClient

    url = f"mongodb://{real_db.client.address[0]}:{real_db.client.address[1]}/?directConnection=true&retryWrites=false"
    client = AsyncIOMotorClient(url, tz_aware=True, event_listeners=[Commits()])
    try:
        db = client[real_db.name]
        store = ReportingStore(db)
        service = ReportingService(store, timezone="Asia/Shanghai")
        captured = await pending_of(service, [f.created(f"g{i:02d}", local(D1, 9)) for i in range(20)])
        before = Commits.n
        results = await asyncio.gather(*(store.apply_pending(t, e) for t, e in captured),
                                       *(store.apply_pending(t, e) for t, e in captured[:5]))  # 5 repeats
        assert [r > 0 for r in results] == [True] * 20 + [False] * 5
        assert Commits.n - before < 20  # batched: fewer commits than facts
        assert (await stored_cells(service))[f"{D1}|all"]["created"] == 20
    finally:
        client.close()


async def test_handlers_cancelled_mid_transaction_leave_nothing_half_done(real_db: Any) -> None:
    """FastStream cancels its running handlers when the broker connection drops. Cancelled callers must not
    cut the cell transaction short (motor cannot stop a command mid-flight: a transaction abandoned between
    commands stays open on the server and stalls every later one on the same cells): the batch finishes,
    each fact counted once, and the next event's cells go through at once."""
    store = ReportingStore(real_db)
    service = ReportingService(store, timezone="Asia/Shanghai")
    captured = await pending_of(service, [f.created(f"x{i:02d}", local(D1, 9)) for i in range(10)])
    callers = [asyncio.ensure_future(store.apply_pending(t, e)) for t, e in captured]
    await asyncio.sleep(0.005)  # the first transaction is under way, the rest queued behind it
    for caller in callers:
        caller.cancel()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    # the next event's cells commit promptly (no transaction left open on the "all" cell)
    await asyncio.wait_for(service.apply_to_fact(f.created("x99", local(D1, 9))), timeout=10)
    # the cancelled callers' work finished on its own; a relay finds nothing left to do
    assert await service.relay_pending(grace_seconds=0) == 0
    assert (await stored_cells(service))[f"{D1}|all"]["created"] == 11
    assert await store.facts.count_documents({"pending.0": {"$exists": True}}) == 0


async def test_knowledge_figures_with_racing_replicas_redeliveries_and_any_order(real_db: Any) -> None:
    """The knowledge story (tests/test_knowledge.py) delivered three times, shuffled, to three replicas at
    once: the facts keep the latest suggestions and each agent's last verdict, the cells count each ticket
    once, the catalog keeps the latest title, and the reports equal the pure rules' figures."""
    from datetime import date

    from .test_knowledge import EXPECTED_GAP_D1, EXPECTED_ITEMS, EXPECTED_TOTALS, all_events

    store = ReportingStore(real_db)
    await store.ensure_indexes()
    replicas = [ReportingService(ReportingStore(real_db), timezone="Asia/Shanghai") for _ in range(3)]
    events = all_events()
    deliveries = events * 3
    random.Random(17).shuffle(deliveries)

    async def consume(replica: ReportingService, share: list[Any]) -> None:
        for event in share:
            await replica.record(event)

    await asyncio.gather(*(consume(r, deliveries[i::3]) for i, r in enumerate(replicas)))
    await asyncio.gather(*(r.relay_pending(grace_seconds=0) for r in replicas))
    service = replicas[0]
    assert await stored_cells(service) == await cells_from_facts(service)
    k001 = await store.get_fact("k001")
    assert k001 is not None and [s.item_id for s in k001.knowledge_suggestions] == ["KB-1"]
    assert [(v.staff_id, v.verdict) for v in k001.knowledge_verdicts] == [("A1", "helpful")]
    d1, d2 = date.fromisoformat(D1), date.fromisoformat("2026-11-26")
    report = await service.knowledge_report(d1, d2)
    assert [r.model_dump() for r in report.items] == EXPECTED_ITEMS
    assert report.totals.model_dump() == EXPECTED_TOTALS
    gaps = await service.knowledge_gaps(d1, d1, min_tickets=3)
    assert [g.model_dump() for g in gaps.gaps] == [EXPECTED_GAP_D1]

    # a rebuild from the log gives the same figures
    await service.rebuild()
    assert (await service.knowledge_report(d1, d2)).model_dump() == report.model_dump()
    assert await stored_cells(service) == await cells_from_facts(service)


async def test_the_item_catalog_keeps_the_latest_title_under_concurrent_writers(real_db: Any) -> None:
    """Many writers note the same new item at once (racing upserts on one _id), with older and newer events:
    the newest event's fields win, the owner's word beats what suggestions said, nothing is lost."""
    store = ReportingStore(real_db)
    titles = [f.knowledge_changed("KB-77", local(D1, 8, i), title=f"title {i}", version=i + 1) for i in range(12)]
    seen = [f.suggested(f"s{i:02d}", local(D1, 9, i), ["KB-77", "TPL-78"], title=f"seen {i}") for i in range(12)]
    batch = [*titles, *seen] * 2
    random.Random(5).shuffle(batch)
    from reporting import domain

    await asyncio.gather(*(ReportingStore(real_db).note_items(domain.catalog_notes(e)) for e in batch))
    catalog = {i.item_id: i for i in await store.knowledge_catalog()}
    assert (catalog["KB-77"].title, catalog["KB-77"].version, catalog["KB-77"].status) == ("title 11", 12, "published")
    assert (catalog["TPL-78"].title, catalog["TPL-78"].kind, catalog["TPL-78"].status) == ("seen 11", "template", None)
    assert await store.items.count_documents({}) == 2
