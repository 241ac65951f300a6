"""Classifier's MongoDB collections (the only MongoDB code of this service).

* ``rulesets``        — one document per rule set version (``_id`` = version), the ordered rules and
                        an ``active`` flag; v1 is seeded when no rule set is active.
* ``classifications`` — one document per ticket (``_id`` = ticket_id): the result, the ticket.created
                        event it answers (``source_event_id``) and the pending events in ``outbox``.
                        The ``_id`` is the natural idempotency key: a ticket is classified once.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from contracts import Event
from servicekit.documents import from_doc, to_doc
from servicekit.outbox import outbox_entries

from .domain import ClassificationRecord, RuleSet


class ClassifierStore:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.rulesets = db["rulesets"]
        self.classifications = db["classifications"]

    async def ensure_indexes(self) -> None:
        await self.rulesets.create_index(
            [("active", ASCENDING), ("version", DESCENDING)], name="active_version"
        )
        await self.classifications.create_index("ticket_no", name="ticket_no")
        await self.classifications.create_index(
            [("result.category", ASCENDING), ("classified_at", DESCENDING)], name="category_classified"
        )

    # ------------------------------------------------------------------ rule sets
    async def active_ruleset(self) -> RuleSet | None:
        """The newest active rule set."""
        cursor = self.rulesets.find({"active": True}).sort("version", DESCENDING).limit(1)
        async for doc in cursor:
            return from_doc(RuleSet, doc)
        return None

    async def insert_ruleset(self, ruleset: RuleSet) -> bool:
        """Store a rule set version; False when that version already exists (versions are immutable)."""
        try:
            await self.rulesets.insert_one(to_doc(ruleset, id_field="version"))
            return True
        except DuplicateKeyError:
            return False

    async def activate_ruleset(self, version: int) -> bool:
        result = await self.rulesets.update_one({"_id": version}, {"$set": {"active": True}})
        return result.matched_count == 1

    # ------------------------------------------------------------------ classifications
    async def get_classification(self, ticket_id: str) -> ClassificationRecord | None:
        doc = await self.classifications.find_one({"_id": ticket_id})
        return from_doc(ClassificationRecord, doc) if doc else None

    async def insert_classification(
        self, record: ClassificationRecord, events: list[Event]
    ) -> list[dict[str, Any]] | None:
        """Insert the classification with its pending events in one write; None when the ticket is
        already classified (a redelivery or a concurrent replica won)."""
        entries = outbox_entries(*events)
        doc = to_doc(record, id_field="ticket_id")
        doc["outbox"] = entries
        try:
            await self.classifications.insert_one(doc)
        except DuplicateKeyError:
            return None
        return entries
