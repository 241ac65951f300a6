"""Dispatcher assignments/s with 1 vs 2 replicas on the real RabbitMQ (never run as a timed test).

    cd /work/main && uv run python services/dispatcher/bench/bench_replicas.py --tickets 600

Replicas run in this one process and share one database handle (mongomock here; with MONGODB_URL set,
a real MongoDB). In one process the replicas share one CPU core (GIL), so the figure shows what
competing consumers cost/gain in coordination, not multi-core scaling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from contracts import Category, Channel  # noqa: E402
from servicekit.testing import rabbitmq_url  # noqa: E402
from tests.test_replicas_real_broker import publish, replicas  # noqa: E402
from tests.test_service import classified  # noqa: E402


def roster(path: Path, tickets: int) -> None:
    staff = [{"staff_id": "SUP", "name": "主管", "role": "supervisor", "team": "frontline", "capacity": 0}]
    staff += [{"staff_id": f"A{i:03d}", "name": f"坐席{i}", "role": "agent", "team": "frontline",
               "capacity": tickets // 20 + 5, "supervisor_id": "SUP"} for i in range(20)]
    path.write_text(json.dumps({"staff": staff}, ensure_ascii=False), encoding="utf-8")


async def run(url: str, replicas_count: int, tickets: int) -> float:
    namespace = f"bdsp{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roster.json"
        roster(path, tickets)
        async with replicas(url, namespace, path, replicas_count) as apps:
            store = apps[0].state.service.store
            events = [classified(n, category=Category.PRE_SALES, channel=Channel.EMAIL) for n in range(1, tickets + 1)]
            await publish(url, namespace, events[:5])  # warm-up
            while await store.assignments.count_documents({"status": "assigned"}) < 5:
                await asyncio.sleep(0.01)
            start = time.perf_counter()
            await publish(url, namespace, events[5:])
            while await store.assignments.count_documents({"status": "assigned"}) < tickets:
                await asyncio.sleep(0.02)
            elapsed = time.perf_counter() - start
            async for s in store.staff.find({}):
                assert s["open_count"] == len(s["open_tickets"]) <= s["capacity"]
            return (tickets - 5) / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=600)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    url = rabbitmq_url()
    for count in (1, 2):
        rates = [await run(url, count, args.tickets) for _ in range(args.runs)]
        print(f"{count} replica(s): {max(rates):7.1f} assignments/s (runs: {', '.join(f'{r:.1f}' for r in rates)})",
              flush=True)


if __name__ == "__main__":
    asyncio.run(main())
