"""Transactional outbox inside the state document (docs/adr/0004-outbox-in-document.md).

MongoDB without a replica set (and mongomock) has no multi-document transactions, so a state change
and the events it causes are written in *one* document update: the state fields plus entries pushed
to the document's ``outbox`` array. After the write the events are published (publisher confirms) and
pulled from the array. If the process dies in between, the relay finds documents whose outbox holds
entries older than a grace period and publishes them again. Delivery is therefore at-least-once and
every consumer deduplicates on ``event_id`` or a natural key.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import Event

from .context import raise_if_cancelling
from .messaging import EventBus
from .metrics import OUTBOX_PENDING

log = logging.getLogger(__name__)

FIELD = "outbox"


def outbox_entries(*events: Event) -> list[dict[str, Any]]:
    """Entries to ``$push`` (with ``$each``) into a document's outbox in the same update as the state."""
    now = datetime.now(UTC)
    return [{"event_id": str(e.event_id), "created_at": now, "event": e.model_dump(mode="json")} for e in events]


def push_outbox(*events: Event) -> dict[str, Any]:
    """The ``$push`` clause for an update: ``{"$set": …, **push_outbox(evt)}``."""
    return {"$push": {FIELD: {"$each": outbox_entries(*events)}}}


class Outbox:
    """Publishes and clears the outbox entries of the given collections."""

    def __init__(self, bus: EventBus, collections: list[Any], *, grace_seconds: float, batch: int = 200) -> None:
        self.bus = bus
        self.collections = collections
        self.grace = timedelta(seconds=grace_seconds)
        self.batch = batch

    async def ensure_indexes(self) -> None:
        """The relay's query (entries older than the grace period) answered from an index on the entries'
        time, not by scanning every document of the collection on each pass: a sparse multikey index
        holds only the documents with pending entries, so an idle pass costs the same with a million
        tickets as with ten."""
        for collection in self.collections:
            await collection.create_index(f"{FIELD}.created_at", name="outbox_pending", sparse=True)

    async def flush(self, collection: Any, doc_id: Any, entries: list[dict[str, Any]] | None = None) -> int:
        """Publish a document's pending events right after its write. Without ``entries`` they are read
        back from the document (e.g. when a duplicate delivery finds the work already done).

        Best effort: the write has committed, so a broker that is away (restarting, connection lost) must
        not turn it into a failure — an HTTP caller would see a 500 for work that was done and might
        repeat it. What could not be published stays in the outbox and the relay sends it later."""
        if entries is None:
            doc = await collection.find_one({"_id": doc_id}, {FIELD: 1})
            entries = list((doc or {}).get(FIELD) or [])
        if not entries:
            return 0
        published: list[str] = []
        try:
            for entry in entries:
                await self.bus.publish(entry["event"])
                published.append(entry["event_id"])
        except Exception as exc:  # noqa: BLE001 - any publish failure leaves the rest to the relay
            raise_if_cancelling(exc)
            log.warning("outbox: %d event(s) of %s left for the relay (%s: %s)", len(entries) - len(published),
                        doc_id, type(exc).__name__, exc)
        finally:
            if published:
                await collection.update_one({"_id": doc_id}, {"$pull": {FIELD: {"event_id": {"$in": published}}}})
        return len(published)

    async def relay_once(self) -> int:
        """Republish entries older than the grace period (their first flush did not happen)."""
        cutoff = datetime.now(UTC) - self.grace
        total = pending = 0
        for collection in self.collections:
            # $lte: stored datetimes keep milliseconds only, so an entry written in the cutoff's millisecond
            # compares equal to it.
            cursor = collection.find({f"{FIELD}.created_at": {"$lte": cutoff}}, {FIELD: 1}).limit(self.batch)
            async for doc in cursor:
                entries = doc.get(FIELD) or []
                pending += len(entries)
                total += await self.flush(collection, doc["_id"], entries)
        OUTBOX_PENDING.labels(self.bus.service).set(max(0, pending - total))
        return total

    async def run(self, interval: float) -> None:
        while True:
            try:
                sent = await self.relay_once()
                if sent:
                    log.warning("outbox relay republished %d event(s)", sent)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_cancelling(exc)
                log.exception("outbox relay pass failed; retrying")
            await asyncio.sleep(interval)
