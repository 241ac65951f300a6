"""SLA monitor benchmark: scan (tick) cost with 10 k / 100 k / 1 M open clocks and warning latency.

Not a test. ``uv run python bench/bench_sla.py [--sizes 10000,100000,1000000] [--due 200]``
Uses the service's own store and scanner on the in-memory backend (or MONGODB_URL when set). Open
clocks are spread over the next 30 days; ``--due`` of them come due at the measured tick. Warning
latency = time from a warning's due instant to its publication, with the scanner's real loop.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "sla-monitor"))

from mongomock_motor import AsyncMongoMockClient  # noqa: E402

from servicekit.documents import to_doc  # noqa: E402
from servicekit.mongo import install_mongomock_id_lookup  # noqa: E402
from sla_monitor import domain  # noqa: E402
from sla_monitor.service import SlaService  # noqa: E402
from sla_monitor.store import SlaStore  # noqa: E402


class Published:
    def __init__(self) -> None:
        self.times: list[tuple[float, Any]] = []

    async def flush(self, collection: Any, doc_id: Any, entries: list[dict[str, Any]]) -> int:
        now = time.time()
        self.times.extend((now, e["event"]) for e in entries)
        await collection.update_one({"_id": doc_id}, {"$set": {"outbox": []}})
        return len(entries)


def clock_doc(i: int, next_check: datetime, start: datetime) -> dict[str, Any]:
    clock = domain.Clock(ticket_id=f"t{i:07d}", ticket_no=f"GD{i:07d}", correlation_id=f"c{i}", priority=domain.Priority.P2,
                         policy_version=1, started_at=start, first_response_due=start, resolution_due=start)
    clock = domain.evaluate(clock, domain.POLICY_V1)
    doc = to_doc(clock, id_field="ticket_id")
    doc.update(revision=1, applied_events=[], next_check_at=next_check)
    return doc


async def build(n: int, due: int, now: datetime) -> tuple[SlaService, SlaStore]:
    install_mongomock_id_lookup()
    db = AsyncMongoMockClient(tz_aware=True)[f"bench{n}"]
    store = SlaStore(db)
    service = SlaService(store)
    await service.seed()
    template_far = clock_doc(0, now + timedelta(days=30), now)
    docs, buckets = [], {}
    for i in range(n):
        far = now + timedelta(seconds=60 + (i * 2_592_000) // n)  # spread over 30 days
        doc = dict(template_far, _id=f"t{i:07d}", ticket_id=f"t{i:07d}", next_check_at=far)
        docs.append(doc)
        buckets.setdefault(store.bucket(far), []).append(doc["_id"])
        if len(docs) == 50_000:
            await store.clocks.insert_many(docs)
            docs = []
    if docs:
        await store.clocks.insert_many(docs)
    # the clocks due now: P2 started 61 minutes ago → first-response warning due
    start = now - timedelta(minutes=61)
    due_docs = [clock_doc(n + j, start + timedelta(minutes=60), start) for j in range(due)]
    await store.clocks.insert_many(due_docs)
    for d in due_docs:
        buckets.setdefault(store.bucket(now), []).append(d["_id"])  # filed when it became due
    await store.schedule.insert_many([{"_id": b, "tickets": t} for b, t in buckets.items()])
    await store.advance_cursor(store.bucket(now) - 6)
    return service, store


async def tick_cost(n: int, due: int) -> tuple[float, int]:
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    service, _ = await build(n, due, now)
    build_s = time.perf_counter() - t0
    service.outbox = Published()  # type: ignore[assignment]
    r = await service.tick(now)
    assert r.published == due, r
    empty = [((await service.tick(now + timedelta(milliseconds=250 * k))).seconds) for k in range(1, 5)]
    print(f"{n:>9,} open clocks: tick with {due} due {r.seconds * 1000:8.1f} ms "
          f"({r.seconds / due * 1e6:6.0f} µs per alarm); idle tick {statistics.median(empty) * 1000:6.2f} ms; "
          f"load {build_s:.0f} s", flush=True)
    return r.seconds, due


async def latency(count: int, interval: float) -> None:
    install_mongomock_id_lookup()
    store = SlaStore(AsyncMongoMockClient(tz_aware=True)["lat"])
    service = SlaService(store)
    await service.seed()
    pub = Published()
    service.outbox = pub  # type: ignore[assignment]
    now = datetime.now(UTC)
    start = now - timedelta(minutes=60) + timedelta(seconds=2)  # warnings come due over the next seconds
    for j in range(count):
        s = start + timedelta(milliseconds=j * 4000 // count)
        doc = clock_doc(j, s + timedelta(minutes=60), s)
        await store.clocks.insert_one(doc)
        await store.schedule_alarm(doc["_id"], doc["next_check_at"], now)
    task = asyncio.create_task(service.run_scanner(interval, 3600))
    await asyncio.sleep(7)
    task.cancel()
    lat = []
    for at, event in pub.times:
        deadline = datetime.fromisoformat(event["payload"]["deadline"]) - timedelta(minutes=60)
        lat.append(at - deadline.timestamp())
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
    print(f"warning latency over {len(lat)} warnings (scan every {interval}s): "
          f"p50 {p(0.5) * 1000:.0f} ms, p99 {p(0.99) * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--due", type=int, default=200)
    args = parser.parse_args()
    results = [await tick_cost(int(n), args.due) for n in args.sizes.split(",")]
    worst, best = max(r[0] for r in results), min(r[0] for r in results)
    print(f"tick cost spread across sizes: {worst / best:.2f}x (target ≤ 2x)")
    await latency(400, 0.25)


if __name__ == "__main__":
    asyncio.run(main())
