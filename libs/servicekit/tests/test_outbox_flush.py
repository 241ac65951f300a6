"""The flush after a committed write is best effort: a broker that is away leaves the events to the relay
instead of failing the caller (an HTTP 500 for work that was done)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiormq
from mongomock_motor import AsyncMongoMockClient

import contracts as c
from servicekit.outbox import Outbox, outbox_entries


def created(no: str) -> c.TicketCreated:
    payload = c.TicketCreatedPayload(
        ticket_id=no, ticket_no=no, channel=c.Channel.EMAIL, channel_message_id=no, customer_id="c1",
        customer_display="客户A-0001", description="x", created_at=datetime.now(UTC),
    )
    return c.TicketCreated.new(payload, correlation_id=no, producer="test")


class BrokerGoneAfter:
    service = "test"

    def __init__(self, ok: int) -> None:
        self.ok, self.sent = ok, []

    async def publish(self, event: dict[str, Any]) -> None:
        if len(self.sent) >= self.ok:
            raise aiormq.exceptions.ChannelInvalidStateError("channel closed")
        self.sent.append(event["event_id"])


async def test_a_failed_publish_leaves_the_rest_in_the_outbox_without_raising() -> None:
    docs = AsyncMongoMockClient()["db"]["docs"]
    entries = outbox_entries(created("a"), created("b"), created("c"))
    await docs.insert_one({"_id": "d1", "outbox": entries})
    bus = BrokerGoneAfter(ok=1)
    outbox = Outbox(bus, [docs], grace_seconds=0)  # type: ignore[arg-type]
    assert await outbox.flush(docs, "d1", entries) == 1
    doc = await docs.find_one({"_id": "d1"})
    assert [e["event_id"] for e in doc["outbox"]] == [entries[1]["event_id"], entries[2]["event_id"]]
    bus.ok = 10  # the broker is back: the relay sends the rest, once
    assert await outbox.relay_once() == 2
    assert (await docs.find_one({"_id": "d1"}))["outbox"] == []
    assert bus.sent == [e["event_id"] for e in entries]


async def test_an_idle_relay_pass_reads_only_documents_with_pending_entries(real_db: Any) -> None:
    """On the real server: the relay's query is answered from the sparse index on the entries' time, so
    its cost is the pending entries, not the collection (explain: no collection scan, 3 documents read
    among 400)."""
    docs = real_db["docs"]
    bus = BrokerGoneAfter(ok=10_000)
    outbox = Outbox(bus, [docs], grace_seconds=0)  # type: ignore[arg-type]
    await outbox.ensure_indexes()
    await docs.insert_many([{"_id": f"done{i}", "outbox": []} for i in range(397)])
    for name in ("p1", "p2", "p3"):
        await docs.insert_one({"_id": name, "outbox": outbox_entries(created(name))})
    plan = await docs.find({"outbox.created_at": {"$lte": datetime.now(UTC)}}, {"outbox": 1}).limit(200).explain()
    assert "COLLSCAN" not in str(plan["queryPlanner"]["winningPlan"]), plan["queryPlanner"]
    assert plan["executionStats"]["totalDocsExamined"] == 3, plan["executionStats"]
    assert await outbox.relay_once() == 3
    assert await docs.count_documents({"outbox.0": {"$exists": True}}) == 0


async def test_pulls_of_published_entries_are_gathered_into_one_write_and_the_relay_leaves_them_alone() -> None:
    """In a running service the pulls are queued and written together; an entry queued for its pull is
    never republished by the relay meanwhile; what is left at a stop is pulled on the way out."""
    import asyncio

    docs = AsyncMongoMockClient()["db"]["docs"]
    bus = BrokerGoneAfter(ok=100)
    outbox = Outbox(bus, [docs], grace_seconds=0)  # type: ignore[arg-type]
    pulls = asyncio.create_task(outbox.run_pulls(delay=0.05))
    await asyncio.sleep(0)
    all_entries = []
    for name in ("d1", "d2", "d3"):
        entries = outbox_entries(created(name), created(name + "b"))
        all_entries += entries
        await docs.insert_one({"_id": name, "outbox": entries})
        assert await outbox.flush(docs, name, entries) == 2
    assert await docs.count_documents({"outbox.0": {"$exists": True}}) == 3  # not pulled yet
    assert await outbox.relay_once() == 0  # queued for the pull: not sent again
    assert await outbox.flush(docs, "d1") == 0  # a redelivery's flush leaves them alone too
    await asyncio.sleep(0.2)
    assert await docs.count_documents({"outbox.0": {"$exists": True}}) == 0
    assert bus.sent == [e["event_id"] for e in all_entries]
    entries = outbox_entries(created("d4"))
    await docs.insert_one({"_id": "d4", "outbox": entries})
    await outbox.flush(docs, "d4", entries)
    pulls.cancel()
    try:
        await pulls
    except asyncio.CancelledError:
        pass
    assert (await docs.find_one({"_id": "d4"}))["outbox"] == []
