"""Intake's MongoDB collections (the only MongoDB code of this service).

* ``tickets``   — one document per ticket; ``_id`` is derived from (channel, channel_message_id), so a
                  contact can never become two tickets; ticket_no comes from an atomic daily counter;
                  pending events in the document's ``outbox``; ``applied_events`` dedupes consumed events.
* ``customers`` — customer profiles; ``customer_keys`` maps a keyed hash of each identifier (phone,
                  e-mail, chat session …) to its customer (``_id`` = the hash, so one owner per identifier).
* ``counters``  — atomic daily ticket sequence and the customer sequence.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from contracts import Event
from servicekit.documents import from_doc, plain, to_doc
from servicekit.outbox import outbox_entries

from .domain import Customer, Ticket


class IntakeStore:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.tickets = db["tickets"]
        self.customers = db["customers"]
        self.customer_keys = db["customer_keys"]
        self.counters = db["counters"]

    async def ensure_indexes(self) -> None:
        # ticket numbers are unique by construction (atomic per-day counter); this index serves look-ups.
        await self.tickets.create_index("ticket_no", name="ticket_no")
        await self.tickets.create_index([("status", ASCENDING), ("created_at", ASCENDING)], name="status_created")

    # ------------------------------------------------------------------ counters
    async def next_sequence(self, name: str) -> int:
        doc = await self.counters.find_one_and_update(
            {"_id": name}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        return int(doc["seq"])

    # ------------------------------------------------------------------ customers
    async def key_owners(self, keys: list[str]) -> dict[str, str]:
        """identifier key → customer id, for the keys that belong to somebody."""
        if not keys:
            return {}
        return {d["_id"]: d["customer_id"] async for d in self.customer_keys.find({"_id": {"$in": keys}})}

    async def claim_key(self, key: str, customer_id: str) -> bool:
        """Make an identifier point at a customer; False when it already points at one."""
        try:
            await self.customer_keys.insert_one({"_id": key, "customer_id": customer_id})
            return True
        except DuplicateKeyError:
            return False

    async def get_customer(self, customer_id: str) -> Customer | None:
        doc = await self.customers.find_one({"_id": customer_id})
        return from_doc(Customer, doc) if doc else None

    async def insert_customer(self, customer: Customer) -> Customer:
        """Insert (or, for a half-finished earlier attempt, return) the customer."""
        try:
            await self.customers.insert_one(to_doc(customer, id_field="customer_id"))
            return customer
        except DuplicateKeyError:
            existing = await self.get_customer(customer.customer_id)
            assert existing is not None
            return existing

    async def touch_customer(self, customer_id: str, now: datetime) -> None:
        await self.customers.update_one({"_id": customer_id}, {"$set": {"last_contact_at": now}})

    # ------------------------------------------------------------------ tickets
    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        doc = await self.tickets.find_one({"_id": ticket_id})
        return from_doc(Ticket, doc) if doc else None

    async def insert_ticket(self, ticket: Ticket, events: list[Event]) -> list[dict[str, Any]] | None:
        """Insert the ticket with its pending events; None when the ticket (same channel message) exists."""
        entries = outbox_entries(*events)
        doc = to_doc(ticket, id_field="ticket_id")
        doc["outbox"] = entries
        doc["applied_events"] = []
        try:
            await self.tickets.insert_one(doc)
        except DuplicateKeyError:
            return None
        return entries

    async def apply_event(
        self, ticket_id: str, event_id: str, set_fields: dict[str, Any], events: list[Event] | None = None
    ) -> tuple[bool, list[dict[str, Any]]]:
        """Apply a consumed event's changes once: (applied?, outbox entries written)."""
        entries = outbox_entries(*(events or []))
        update: dict[str, Any] = {"$set": plain(set_fields), "$push": {"applied_events": event_id}}
        if entries:
            update["$push"]["outbox"] = {"$each": entries}
        doc = await self.tickets.find_one_and_update(
            {"_id": ticket_id, "applied_events": {"$ne": event_id}}, update, projection={"_id": 1}
        )
        return doc is not None, entries

    async def ticket_exists(self, ticket_id: str) -> bool:
        return await self.tickets.find_one({"_id": ticket_id}, {"_id": 1}) is not None

    async def save_transition(
        self, before: Ticket, after: Ticket, events: list[Event]
    ) -> list[dict[str, Any]] | None:
        """Compare-and-set on status: None when the ticket changed meanwhile (caller reloads)."""
        entries = outbox_entries(*events)
        changed = {k: v for k, v in to_doc(after).items() if to_doc(before).get(k) != v}
        result = await self.tickets.update_one(
            {"_id": before.ticket_id, "status": plain(before.status), "updated_at": before.updated_at},
            {"$set": changed, "$push": {"outbox": {"$each": entries}}},
        )
        return entries if result.modified_count == 1 else None

    async def list_tickets(self, *, status: str | None, limit: int, skip: int) -> list[Ticket]:
        query: dict[str, Any] = {"status": status} if status else {}
        cursor = self.tickets.find(query).sort("created_at", -1).skip(skip).limit(limit)
        return [from_doc(Ticket, d) async for d in cursor]

