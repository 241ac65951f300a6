"""SLA monitor benchmark: scan (tick) cost with 10 k / 100 k / 1 M open clocks and warning latency.

Not a test. ``uv run python bench/bench_sla.py [--sizes 10000,100000,1000000] [--due 200] [--rounds 7]
[--warmup 2000]``
Uses the service's own store and scanner on the in-memory backend (mongomock). A small warm-up size runs
first and is discarded (else the first size pays for the first use of every code path). Per size, open
clocks are spread over 30 days starting an hour ahead; each of ``--rounds`` rounds arms ``--due`` fresh
alarms in fresh buckets and ticks once (all due), then ticks with nothing due; medians are reported.
Warning latency = time from a warning's due instant to its publication, with the scanner's real loop.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "sla-monitor"))

from mongomock_motor import AsyncMongoMockClient  # noqa: E402

from servicekit.documents import to_doc  # noqa: E402
from servicekit.mongo import install_mongomock_id_lookup  # noqa: E402
from sla_monitor import domain  # noqa: E402
from sla_monitor.service import SlaService, TickResult  # noqa: E402
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


FAR_START = timedelta(hours=1)  # open clocks' alarms start after every measured round (rounds span minutes)
ROUND = timedelta(seconds=60)  # each measured round uses fresh schedule buckets


async def build(n: int, now: datetime) -> tuple[SlaService, SlaStore]:
    """A store with ``n`` open clocks whose next alarms are spread over the 30 days after ``now + FAR_START``."""
    install_mongomock_id_lookup()
    db = AsyncMongoMockClient(tz_aware=True)[f"bench{n}"]
    store = SlaStore(db)
    service = SlaService(store)
    await service.seed()
    template_far = clock_doc(0, now + timedelta(days=30), now)
    docs, buckets = [], {}
    for i in range(n):
        far = now + FAR_START + timedelta(seconds=(i * 2_592_000) // n)  # spread over 30 days
        doc = dict(template_far, _id=f"t{i:07d}", ticket_id=f"t{i:07d}", next_check_at=far)
        docs.append(doc)
        buckets.setdefault(store.bucket(far), []).append(doc["_id"])
        if len(docs) == 50_000:
            await store.clocks.insert_many(docs)
            docs = []
    if docs:
        await store.clocks.insert_many(docs)
    await store.schedule.insert_many([{"_id": b, "tickets": t} for b, t in buckets.items()])
    return service, store


async def arm(service: SlaService, store: SlaStore, first: int, due: int, now: datetime) -> None:
    """``due`` new clocks whose alarm is due at ``now`` (P2 started 61 minutes ago → first-response
    warning due), filed in the current bucket as when they became due; the shared scan cursor is where
    a scanner running every few hundred ms would have left it (the grace period behind ``now``)."""
    start = now - timedelta(minutes=61)
    due_docs = [clock_doc(first + j, start + timedelta(minutes=60), start) for j in range(due)]
    await store.clocks.insert_many(due_docs)
    await store.schedule.update_one({"_id": store.bucket(now)},
                                    {"$addToSet": {"tickets": {"$each": [d["_id"] for d in due_docs]}}}, upsert=True)
    await store.advance_cursor(store.bucket(now) - service.grace_buckets)


@dataclass
class SizeResult:
    n: int
    busy: list[float]  # seconds of each tick with ``due`` alarms due
    idle: list[float]  # seconds of each tick with nothing in the scanned buckets
    recheck: list[float]  # seconds of each tick re-reading the previous round's (already raised) entries
    load: float
    busy_cpu: list[float] = field(default_factory=list)  # process CPU seconds of the busy ticks


async def timed_tick(service: SlaService, now: datetime) -> tuple[TickResult, float]:
    """A tick and the process CPU time it took (less sensitive than wall time to other load on the machine)."""
    cpu = time.process_time()
    result = await service.tick(now)
    return result, time.process_time() - cpu


async def tick_cost(n: int, due: int, rounds: int, idle_per_round: int = 4, *, show: bool = True) -> SizeResult:
    """``rounds`` rounds on one store of ``n`` open clocks; each round arms ``due`` fresh alarms in fresh
    buckets and ticks once (all due), then ticks past the grace period (re-reads the raised entries and
    drops their bucket), then ticks ``idle_per_round`` times with nothing due."""
    base = datetime.now(UTC)
    t0 = time.perf_counter()
    service, store = await build(n, base)
    load = time.perf_counter() - t0
    pub = Published()
    service.outbox = pub  # type: ignore[assignment]
    gc.collect()  # the load's garbage is not a tick's cost
    result = SizeResult(n, [], [], [], load)
    grace = timedelta(seconds=(service.grace_buckets + 1) * store.bucket_seconds)
    for r in range(rounds):
        at = base + r * ROUND
        await arm(service, store, n + r * due, due, at)
        busy, cpu = await timed_tick(service, at)
        assert busy.checked == due and busy.published == due, busy
        result.busy.append(busy.seconds)
        result.busy_cpu.append(cpu)
        recheck = await service.tick(at + grace)
        assert recheck.checked == due and recheck.published == 0, recheck
        result.recheck.append(recheck.seconds)
        for k in range(1, idle_per_round + 1):
            idle = await service.tick(at + grace + timedelta(milliseconds=250 * k))
            assert idle.checked == 0 and idle.published == 0, idle
            result.idle.append(idle.seconds)
    assert len(pub.times) == rounds * due, len(pub.times)
    if show:
        med = statistics.median(result.busy)
        print(f"{n:>9,} open clocks: tick with {due} due {med * 1000:7.1f} ms median of {rounds} "
              f"[{min(result.busy) * 1000:.1f}–{max(result.busy) * 1000:.1f}] ({med / due * 1e6:5.0f} µs per alarm, "
              f"CPU {statistics.median(result.busy_cpu) * 1000:.1f} ms); "
              f"nothing due {statistics.median(result.idle) * 1000:6.2f} ms median of {len(result.idle)}; "
              f"re-read of {due} raised {statistics.median(result.recheck) * 1000:6.1f} ms; load {load:.0f} s",
              flush=True)
    del service, store
    gc.collect()
    return result


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
    parser.add_argument("--rounds", type=int, default=7, help="measured ticks per size (the median is reported)")
    parser.add_argument("--warmup", type=int, default=2000, help="open clocks of the discarded warm-up run (0: none)")
    args = parser.parse_args()
    if args.warmup:  # first use of the code paths (imports, caches, specialisation) is not a size's cost
        await tick_cost(args.warmup, args.due, 3, show=False)
    results = [await tick_cost(int(n), args.due, args.rounds) for n in args.sizes.split(",")]
    for label, pick in (("with alarms due", lambda r: r.busy), ("with alarms due, CPU", lambda r: r.busy_cpu),
                        ("nothing due", lambda r: r.idle)):
        medians = [statistics.median(pick(r)) for r in results]
        print(f"tick cost spread across sizes, {label}: {max(medians) / min(medians):.2f}x (target ≤ 2x)")
    await latency(400, 0.25)


if __name__ == "__main__":
    asyncio.run(main())
