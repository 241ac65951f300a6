"""SLA monitor's MongoDB collections (the only MongoDB code of this service).

* ``clocks``   — one document per ticket (``_id`` = ticket_id): the :class:`Clock` fields, a
                 ``revision`` for compare-and-set writes (each event queue is consumed concurrently, so
                 two events of one ticket can race) and ``applied_events`` (event ids) for dedupe.
* ``policies`` — SLA policies, ``_id`` = version; the newest with ``active: true`` is in force.
                 Version 1 is seeded at start-up when absent.

Nothing is published yet, so no outbox; warnings and breaches will add one on ``clocks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from servicekit.documents import from_doc, to_doc

from .domain import Clock, SlaPolicy


@dataclass(frozen=True)
class StoredClock:
    clock: Clock
    revision: int
    applied_events: frozenset[str]


class SlaStore:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.clocks = db["clocks"]
        self.policies = db["policies"]

    async def ensure_indexes(self) -> None:
        # For the coming warning/breach scanner: running clocks by due time.
        await self.clocks.create_index(
            [("status", ASCENDING), ("first_response_due", ASCENDING)], name="status_first_response_due"
        )
        await self.clocks.create_index([("status", ASCENDING), ("resolution_due", ASCENDING)], name="status_resolution_due")
        await self.policies.create_index([("active", ASCENDING), ("version", DESCENDING)], name="active_version")

    # ------------------------------------------------------------------ policies
    async def seed_policy(self, policy: SlaPolicy) -> bool:
        """Insert a policy version (active) unless that version exists; True when inserted."""
        doc = to_doc(policy, id_field="version")
        doc.update(active=True, created_at=datetime.now(UTC))
        try:
            await self.policies.insert_one(doc)
            return True
        except DuplicateKeyError:
            return False

    async def active_policy(self) -> SlaPolicy | None:
        cursor = self.policies.find({"active": True}).sort("version", DESCENDING).limit(1)
        docs = [d async for d in cursor]
        return from_doc(SlaPolicy, docs[0]) if docs else None

    async def get_policy(self, version: int) -> SlaPolicy | None:
        doc = await self.policies.find_one({"_id": version})
        return from_doc(SlaPolicy, doc) if doc else None

    # ------------------------------------------------------------------ clocks
    async def get_clock(self, ticket_id: str) -> Clock | None:
        doc = await self.clocks.find_one({"_id": ticket_id})
        return from_doc(Clock, doc) if doc else None

    async def load_clock(self, ticket_id: str) -> StoredClock | None:
        doc = await self.clocks.find_one({"_id": ticket_id})
        if doc is None:
            return None
        return StoredClock(
            clock=from_doc(Clock, doc),
            revision=int(doc.get("revision", 0)),
            applied_events=frozenset(doc.get("applied_events") or []),
        )

    async def insert_clock(self, clock: Clock, event_id: str) -> bool:
        """Create a ticket's clock with the event that opened it; False when it exists already
        (another event of the ticket created it meanwhile: the caller reloads and applies)."""
        doc = to_doc(clock, id_field="ticket_id")
        doc.update(revision=1, applied_events=[event_id])
        try:
            await self.clocks.insert_one(doc)
            return True
        except DuplicateKeyError:
            return False

    async def save_clock(self, clock: Clock, *, revision: int, event_id: str) -> bool:
        """Compare-and-set: write the clock and record the event only if nobody wrote since
        ``revision`` and the event was not applied; False otherwise (the caller reloads)."""
        result = await self.clocks.update_one(
            {"_id": clock.ticket_id, "revision": revision, "applied_events": {"$ne": event_id}},
            {"$set": {**to_doc(clock), "revision": revision + 1}, "$push": {"applied_events": event_id}},
        )
        return result.modified_count == 1
