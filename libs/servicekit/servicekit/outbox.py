"""Transactional outbox inside the state document (docs/adr/0004-outbox-in-document.md).

MongoDB without a replica set (and mongomock) has no multi-document transactions, so a state change
and the events it causes are written in *one* document update: the state fields plus entries pushed
to the document's ``outbox`` array. After the write the events are published (publisher confirms) and
pulled from the array. If the process dies in between, the relay finds documents whose outbox holds
entries older than a grace period and publishes them again. Delivery is therefore at-least-once and
every consumer deduplicates on ``event_id`` or a natural key.

In a running service (``run_pulls``) the pulls of published entries are not one write each: they are
gathered for a few milliseconds and written as one unordered bulk update (one round trip for all the
documents flushed meanwhile). The relay leaves entries queued for a pull alone. A process that dies with
pulls still queued leaves those entries to the relay of the next start: published twice, which every
consumer already takes (the same as a death between the publish and the pull).
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
from .mongo import apply_updates

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
        # published entries waiting for their pull: (collection name, document id) → (collection, ids)
        self._to_pull: dict[tuple[str, Any], tuple[Any, list[str]]] = {}
        self._queued: set[str] = set()  # their event ids (also while their pull is being written)
        self._wake = asyncio.Event()
        self._batching = False

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
            entries = [e for e in (doc or {}).get(FIELD) or [] if e.get("event_id") not in self._queued]
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
                if self._batching:
                    key = (getattr(collection, "full_name", None) or str(id(collection)), doc_id)
                    self._to_pull.setdefault(key, (collection, []))[1].extend(published)
                    self._queued.update(published)
                    self._wake.set()
                else:
                    await collection.update_one({"_id": doc_id}, {"$pull": {FIELD: {"event_id": {"$in": published}}}})
        return len(published)

    async def pull_queued(self) -> int:
        """Write the queued pulls now: one bulk update per collection. Returns the documents updated. A
        failed write leaves its entries in their documents, and the relay republishes them."""
        if not self._to_pull:
            return 0
        batch, self._to_pull = self._to_pull, {}
        per_collection: dict[str, tuple[Any, list[tuple[dict[str, Any], dict[str, Any]]], list[str]]] = {}
        for (name, doc_id), (collection, ids) in batch.items():
            _, updates, all_ids = per_collection.setdefault(name, (collection, [], []))
            updates.append(({"_id": doc_id}, {"$pull": {FIELD: {"event_id": {"$in": ids}}}}))
            all_ids.extend(ids)
        try:
            for collection, updates, _ in per_collection.values():
                try:
                    await apply_updates(collection, updates)
                except Exception as exc:  # noqa: BLE001 - the relay republishes what stays
                    raise_if_cancelling(exc)
                    log.warning("outbox: pulling %d published document(s) failed (%s: %s); the relay "
                                "republishes them", len(updates), type(exc).__name__, exc)
        finally:
            for _, _, ids in per_collection.values():
                self._queued.difference_update(ids)
        return len(batch)

    async def run_pulls(self, delay: float = 0.02) -> None:
        """Gather the pulls of published entries and write them together (started by the service kit)."""
        self._batching = True
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                await asyncio.sleep(delay)
                await self.pull_queued()
        finally:
            self._batching = False
            try:
                await self.pull_queued()  # what is left at a stop (else the relay of the next start sends it)
            except BaseException:  # noqa: BLE001 - stopping: never block the shutdown on it
                pass

    async def relay_once(self) -> int:
        """Republish entries older than the grace period (their first flush did not happen)."""
        cutoff = datetime.now(UTC) - self.grace
        total = pending = 0
        for collection in self.collections:
            # $lte: stored datetimes keep milliseconds only, so an entry written in the cutoff's millisecond
            # compares equal to it.
            cursor = collection.find({f"{FIELD}.created_at": {"$lte": cutoff}}, {FIELD: 1}).limit(self.batch)
            async for doc in cursor:
                entries = [e for e in doc.get(FIELD) or [] if e.get("event_id") not in self._queued]
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
