"""Reporting benchmark: a month's KPI report with 1 M tickets in the projection.

    uv run python bench/bench_reporting.py [--tickets 1000000] [--days 30] [--agents 60] [--runs 5]
                                           [--with-facts] [--ingest 2000]

1. Synthetic ticket facts (channels, priorities, categories, teams, agents, first response,
   resolutions, reopenings, breaches, surveys, keywords) are generated for ``--days`` days and folded
   into the daily aggregate cells with the service's own pure rule (``kpi.contributions``) — the cells
   hold exactly what the consumer would have written, without going through the broker. The cells
   are inserted into the store (``MONGODB_URL`` when set, else mongomock in memory); with
   ``--with-facts`` the fact documents are inserted too (so the projection really holds them).
2. The month's report is timed through the service (all tickets by day and by week, one channel, one
   agent, the per-agent comparison, the dashboard's data): median / max ms and the cells read.
3. ``--ingest N``: N events of fresh tickets go through ``ReportingService.record`` (fact,
   increments, log) on the same store: events/s.
Prints the figures; say which Mongo backend ran when quoting them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from reporting import kpi
from reporting import testing as f
from reporting.domain import TicketFact
from reporting.service import ReportingService
from reporting.store import ReportingStore
from servicekit.documents import to_doc

TZ = "Asia/Shanghai"
CHANNELS = ["phone", "online_chat", "email", "social", "web_form"]
PRIORITIES = ["P1", "P2", "P3", "P3", "P3", "P4"]
CATEGORIES = ["pre_sales", "after_sales", "after_sales", "complaint", "requirement", "other"]
MODULES = ["product", "logistics", "after_sales", "technical"]
KEYWORDS = ["退款", "物流", "无法开机", "发票", "账号", "优惠券", "屏幕", "安装", "退货", "价格"]


def synthetic_fact(i: int, rnd: random.Random, start: datetime, days: int, agents: int) -> TicketFact:
    created = start + timedelta(seconds=rnd.randrange(days * 86400))
    agent = rnd.randrange(agents)
    fact = TicketFact(
        ticket_id=f"t{i:08d}", created_at=created, channel=rnd.choice(CHANNELS), priority=rnd.choice(PRIORITIES),
        category=rnd.choice(CATEGORIES), module=rnd.choice(MODULES), agent_id=f"A{agent:03d}",
        team=f"team{agent % 6}", status="new", keywords=sorted(set(rnd.sample(KEYWORDS, rnd.randrange(0, 3)))),
    )
    upd: dict[str, Any] = {"first_response_at": created + timedelta(seconds=rnd.randrange(60, 8 * 3600))}
    if rnd.random() < 0.85:
        done = created + timedelta(seconds=rnd.randrange(600, 5 * 86400))
        upd.update(resolutions=[done], resolved_at=done, status="resolved",
                   resolved_days=[done.astimezone(f.ZoneInfo(TZ)).date().isoformat()])
        if rnd.random() < 0.05:
            again = done + timedelta(hours=2)
            upd.update(reopens=[done + timedelta(hours=1)], reopen_count=1, resolutions=[done, again],
                       reopened_days=[(done + timedelta(hours=1)).astimezone(f.ZoneInfo(TZ)).date().isoformat()])
        if rnd.random() < 0.5:
            upd.update(csat=float(rnd.choice([2, 3, 4, 4, 5, 5])), satisfied=True, surveyed_at=done + timedelta(hours=3))
    if rnd.random() < 0.08:
        upd.update(sla_breaches=1, overdue_reasons=[rnd.choice(["客户未回复", "需跨部门", "备件缺货"])])
    return fact.model_copy(update=upd)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--agents", type=int, default=60)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--with-facts", action="store_true")
    ap.add_argument("--ingest", type=int, default=2000)
    args = ap.parse_args()

    url = os.environ.get("MONGODB_URL")
    if url:
        from motor.motor_asyncio import AsyncIOMotorClient

        client: Any = AsyncIOMotorClient(url)
        db = client[f"bench_reporting_{int(time.time())}"]
        backend = "mongodb (MONGODB_URL)"
    else:
        from mongomock_motor import AsyncMongoMockClient

        client = AsyncMongoMockClient()
        db = client["bench_reporting"]
        backend = "mongomock-motor (in memory)"
    print(f"backend: {backend}")
    store = ReportingStore(db)
    await store.ensure_indexes()
    month_start = date(2026, 11, 1)
    start = datetime(2026, 10, 31, 16, tzinfo=UTC)  # 2026-11-01 00:00 in Shanghai
    service = ReportingService(store, timezone=TZ, clock=lambda: start + timedelta(days=args.days - 1, hours=12))

    rnd = random.Random(42)
    t0 = time.perf_counter()
    cells: kpi.Cells = {}
    batch: list[dict[str, Any]] = []
    for i in range(args.tickets):
        fact = synthetic_fact(i, rnd, start, args.days, args.agents)
        kpi.add_cells(cells, kpi.contributions(fact, TZ))
        if args.with_facts:
            batch.append({**to_doc(fact, id_field="ticket_id"), "revision": 1, "applied_events": [], "pending": []})
            if len(batch) >= 10_000:
                await store.facts.insert_many(batch)
                batch.clear()
    if batch:
        await store.facts.insert_many(batch)
    gen = time.perf_counter() - t0
    docs = []
    for cell, counts in cells.items():
        day, scope = kpi.split_cell(cell)
        c, b = kpi.split_counters(counts)
        docs.append({"_id": cell, "day": day, "scope": scope, "kind": scope.split("=", 1)[0], "c": c, "b": b})
    await store.cells.insert_many(docs)
    facts_n = await store.facts.count_documents({})
    print(f"generated {args.tickets:,} tickets over {args.days} days in {gen:.1f} s -> {len(docs):,} cells "
          f"({facts_n:,} fact documents stored)")

    end = month_start + timedelta(days=args.days - 1)
    cases = {
        "month, all tickets, by day": lambda: service.kpi_report(month_start, end, "day"),
        "month, all tickets, by week": lambda: service.kpi_report(month_start, end, "week"),
        "month, channel=phone": lambda: service.kpi_report(month_start, end, "day", "channel=phone"),
        "month, agent=A007": lambda: service.kpi_report(month_start, end, "day", "agent=A007"),
        "month, per-agent comparison": lambda: service.agent_report(month_start, end),
        "month, per-agent of team team1": lambda: service.agent_report(month_start, end, "team1"),
    }
    report = await service.kpi_report(month_start, end, "day")
    print(f"month totals: created={report.totals.created:,} resolved={report.totals.resolved:,} "
          f"backlog={report.totals.backlog:,} median resolution={report.totals.resolution_median_min} min "
          f"SLA={report.totals.sla_compliance}")
    assert report.totals.created == args.tickets
    for name, call in cases.items():
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            result = await call()
            times.append((time.perf_counter() - t) * 1000)
        read = getattr(result, "cells_read", len(result) if isinstance(result, list) else "")
        print(f"{name:34s} median {statistics.median(times):8.1f} ms  max {max(times):8.1f} ms  "
              f"(cells/rows: {read})")

    if args.ingest:
        events = []
        for n in range(args.ingest // 6 + 1):
            tid, at = f"x{n:06d}", start + timedelta(days=args.days - 1, minutes=n)
            events += [f.created(tid, at), f.classified(tid, at, category="complaint", priority="P2"),
                       f.assigned(tid, at, agent=f"A{n % args.agents:03d}", team=f"team{n % 6}"),
                       f.responded(tid, at + timedelta(minutes=5)), f.resolved(tid, at + timedelta(hours=1)),
                       f.survey(tid, at + timedelta(hours=2))]
        events = events[: args.ingest]
        t = time.perf_counter()
        for e in events:
            await service.record(e)
        secs = time.perf_counter() - t
        print(f"ingest: {len(events)} events through record() in {secs:.2f} s = {len(events) / secs:,.0f} events/s "
              f"({secs / len(events) * 1000:.2f} ms/event)")
    if url:
        await client.drop_database(db.name)


if __name__ == "__main__":
    asyncio.run(main())
