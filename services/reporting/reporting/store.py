"""Reporting's MongoDB collections (the only MongoDB code of this service).

* ``events``       — the raw event log, ``_id`` = event id (a duplicate insert = already processed).
* ``ticket_facts`` — one projection per ticket, ``_id`` = ticket id; ``applied_events`` lists the events
                     already folded in and ``revision`` guards read-modify-write (compare-and-set), so
                     an event changes a fact exactly once even with competing consumers and no
                     transactions.

Report numbers are computed from the facts (an aggregate over the day), never from free-running
counters, so a redelivered event can never be counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from servicekit.documents import from_doc, plain, to_doc

from .domain import DIMENSIONS, CreatedGroup, DayCounts, LoggedEvent, TicketFact


@dataclass(frozen=True)
class FactState:
    """A fact as loaded for an update: ``revision`` 0 means it does not exist yet."""

    fact: TicketFact | None
    revision: int
    applied: bool


class ReportingStore:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.events = db["events"]
        self.facts = db["ticket_facts"]

    async def ensure_indexes(self) -> None:
        await self.events.create_index(
            [("event_type", ASCENDING), ("occurred_at", ASCENDING)], name="type_time"
        )
        await self.events.create_index("ticket_id", name="ticket")
        await self.events.create_index("day", name="day")
        await self.facts.create_index("day", name="created_day")
        for field in ("resolved_days", "closed_days", "reopened_days"):
            await self.facts.create_index(field, name=field)

    # ------------------------------------------------------------------ event log
    async def log_event(self, entry: LoggedEvent) -> bool:
        """Keep the event in the log; False when it is already there (a redelivery)."""
        try:
            await self.events.insert_one(to_doc(entry, id_field="event_id"))
            return True
        except DuplicateKeyError:
            return False

    async def event_logged(self, event_id: str) -> bool:
        return await self.events.find_one({"_id": event_id}, {"_id": 1}) is not None

    # ------------------------------------------------------------------ ticket facts
    async def load_fact(self, ticket_id: str, event_id: str) -> FactState:
        doc = await self.facts.find_one({"_id": ticket_id})
        if doc is None:
            return FactState(fact=None, revision=0, applied=False)
        return FactState(
            fact=from_doc(TicketFact, doc),
            revision=int(doc.get("revision", 0)),
            applied=event_id in (doc.get("applied_events") or []),
        )

    async def insert_fact(self, fact: TicketFact, event_id: str) -> bool:
        """Create the fact from its first event; False when another consumer created it meanwhile."""
        doc = to_doc(fact, id_field="ticket_id")
        doc.update({"revision": 1, "applied_events": [event_id]})
        try:
            await self.facts.insert_one(doc)
            return True
        except DuplicateKeyError:
            return False

    async def update_fact(
        self, ticket_id: str, revision: int, event_id: str, changes: dict[str, Any]
    ) -> bool:
        """Compare-and-set: apply the changes and record the event, only if the fact is still at
        ``revision`` and the event not applied yet. False → reload and decide again."""
        doc = await self.facts.find_one_and_update(
            {"_id": ticket_id, "revision": revision, "applied_events": {"$ne": event_id}},
            {"$set": {**plain(changes), "revision": revision + 1}, "$push": {"applied_events": event_id}},
            projection={"_id": 1},
        )
        return doc is not None

    async def get_fact(self, ticket_id: str) -> TicketFact | None:
        doc = await self.facts.find_one({"_id": ticket_id})
        return from_doc(TicketFact, doc) if doc else None

    async def all_facts(self) -> list[TicketFact]:
        """Every fact (tests and small rebuilds only: reports use :meth:`day_counts`)."""
        return [from_doc(TicketFact, d) async for d in self.facts.find({})]

    # ------------------------------------------------------------------ reports
    async def day_counts(self, day: date) -> DayCounts:
        """The numbers of one business day: the day's new tickets grouped by category, channel,
        priority and status, and the tickets resolved / closed / reopened on the day."""
        key = day.isoformat()
        pipeline = [
            {"$match": {"day": key}},
            {"$group": {"_id": {dim: f"${dim}" for dim in DIMENSIONS}, "count": {"$sum": 1}}},
        ]
        created = [
            CreatedGroup(**(row["_id"] or {}), count=row["count"])
            async for row in self.facts.aggregate(pipeline)
        ]
        return DayCounts(
            day=day,
            created=created,
            resolved=await self.facts.count_documents({"resolved_days": key}),
            closed=await self.facts.count_documents({"closed_days": key}),
            reopened=await self.facts.count_documents({"reopened_days": key}),
        )
