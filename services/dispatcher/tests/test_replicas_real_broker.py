"""Two dispatcher replicas consuming the same queues on the REAL RabbitMQ (sharing one database, as
replicas share one MongoDB): VIP → senior agent, complaint → complaints team, load balanced across
agents, no ticket assigned twice, no agent over capacity, unconfirmed assignment → reassignment."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from contracts import (
    AssignmentUnacknowledged,
    AssignmentUnacknowledgedPayload,
    Category,
    Channel,
    CustomerTier,
    Event,
    Namespace,
    Priority,
)
from dispatcher.app import DispatcherSettings, create_app
from servicekit.testing import TEST_JWT_SECRET, delete_topology

from .test_service import classified

ROSTER = {"staff": [
    {"staff_id": "FSUP", "name": "主管一", "role": "supervisor", "team": "frontline", "capacity": 0},
    *({"staff_id": f"A{i}", "name": f"坐席{i}", "role": "agent", "team": "frontline", "capacity": 30,
       "supervisor_id": "FSUP"} for i in range(1, 4)),
    {"staff_id": "SR1", "name": "资深一", "role": "senior_agent", "team": "frontline", "capacity": 3,
     "supervisor_id": "FSUP"},
    {"staff_id": "CSUP", "name": "投诉主管", "role": "supervisor", "team": "complaints", "capacity": 0},
    {"staff_id": "CP1", "name": "投诉专员", "role": "senior_agent", "team": "complaints", "capacity": 5,
     "supervisor_id": "CSUP"},
]}


@asynccontextmanager
async def replicas(rabbitmq: str, namespace: str, roster: Path, count: int) -> AsyncIterator[list[Any]]:
    """``count`` dispatcher apps, started like the real service, consuming the same queues and sharing
    the first one's database."""
    apps: list[Any] = []
    async with AsyncExitStack() as stack:
        shared = None
        for _ in range(count):
            settings = DispatcherSettings(jwt_secret=TEST_JWT_SECRET, log_format="text", log_level="WARNING",
                                          rabbitmq_url=rabbitmq, helpdesk_namespace=namespace, seed_file=roster,
                                          mongodb_database_prefix=namespace, prefetch_count=16)
            app = create_app(settings, database=shared)
            shared = app.state.service.store.db
            await stack.enter_async_context(app.router.lifespan_context(app))
            apps.append(app)
        try:
            yield apps
        finally:
            queues = set(apps[0].state.kit.bus.queues)
            queues |= {apps[0].state.kit.bus.ns.dead_letter_queue(q) for q in queues}
    ns = Namespace(namespace)
    await delete_topology(rabbitmq, queues, [ns.events_exchange, ns.dead_letter_exchange])


async def publish(rabbitmq: str, namespace: str, events: list[Event]) -> None:
    connection = await aio_pika.connect(rabbitmq)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(Namespace(namespace).events_exchange)
        for event in events:
            await exchange.publish(
                aio_pika.Message(event.model_dump_json().encode(), content_type="application/json",
                                 delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=event.event_type,
            )


async def wait_for(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("not reached in time")


async def test_two_replicas_on_the_real_broker(rabbitmq: str, tmp_path: Path) -> None:
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps(ROSTER, ensure_ascii=False), encoding="utf-8")
    namespace = f"dsp{uuid.uuid4().hex[:8]}"
    async with replicas(rabbitmq, namespace, roster, 2) as apps:
        store = apps[0].state.service.store
        consult = [classified(n, category=Category.PRE_SALES, channel=Channel.ONLINE_CHAT) for n in range(1, 61)]
        vip = classified(100, category=Category.PRE_SALES, tier=CustomerTier.VIP)
        complaint = classified(101, category=Category.COMPLAINT, priority=Priority.P2)
        # every event twice: redeliveries race between the replicas too
        await publish(rabbitmq, namespace, [vip, complaint, *consult, *consult[:20], vip, complaint])

        async def all_assigned() -> list[dict[str, Any]] | None:
            docs = [d async for d in store.assignments.find({"status": "assigned"})]
            return docs if len(docs) == 62 else None

        docs = await wait_for(all_assigned)
        by_ticket = {d["_id"]: d for d in docs}
        assert by_ticket["t0100"]["agent_id"] == "SR1"  # VIP → senior agent
        assert by_ticket["t0101"]["agent_id"] == "CP1" and by_ticket["t0101"]["team"] == "complaints"
        load = Counter(by_ticket[e.payload.ticket_id]["agent_id"] for e in consult)
        agents = [load[a] for a in ("A1", "A2", "A3")]  # same capacity: balanced by load ratio
        assert set(load) <= {"A1", "A2", "A3", "SR1"} and max(agents) - min(agents) <= 2, load
        async for s in store.staff.find({}):  # capacity held, slot bookkeeping exact
            assert s["open_count"] == len(s["open_tickets"]) <= s["capacity"], s
            assert sorted(s["open_tickets"]) == sorted(t for t, d in by_ticket.items() if d["agent_id"] == s["_id"])
        assert all(len(d["history"]) == 1 and not d["outbox"] for d in docs)  # one decision each, all published
        both = [a.state.kit for a in apps]
        assert all(k.ready for k in both)

        # assignment not confirmed in time (the SLA monitor's event) → reassigned to someone else
        moved = by_ticket["t0001"]
        unacked = AssignmentUnacknowledged.new(
            AssignmentUnacknowledgedPayload(ticket_id="t0001", ticket_no=moved["ticket_no"], agent_id=moved["agent_id"],
                                            assigned_at=moved["assigned_at"].replace(tzinfo=UTC)
                                            if moved["assigned_at"].tzinfo is None else moved["assigned_at"],
                                            waited_seconds=600),
            correlation_id="corr-t0001", producer="sla-monitor", occurred_at=datetime.now(UTC))
        await publish(rabbitmq, namespace, [unacked, unacked])

        async def reassigned() -> dict[str, Any] | None:
            d = await store.assignments.find_one({"_id": "t0001"})
            return d if d and d.get("agent_id") not in (None, moved["agent_id"]) and not d["outbox"] else None

        after = await wait_for(reassigned)
        assert after["previous_agent_id"] == moved["agent_id"] and after["transfer_count"] == 1
        inbox = [n async for n in store.notifications.find({"recipient": "FSUP", "channel": "in_app"})]
        assert [n["kind"] for n in inbox] == ["assignment.unacknowledged"]
