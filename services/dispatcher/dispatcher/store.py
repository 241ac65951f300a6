"""Dispatcher's MongoDB collections (the only MongoDB code of this service).

* ``staff``       — the roster, ``_id`` = staff id; ``open_count`` is the number of slots in use and
                    ``open_tickets`` the tickets holding them. A slot is taken and given back with one
                    conditional update each, so capacity holds under any concurrency and a ticket
                    releases its slot exactly once (``$pull`` + ``$inc`` only while the ticket is listed).
* ``assignments`` — one document per ticket, ``_id`` = ticket id (the claim: a second classification
                    finds it); status changes are compare-and-set on (status, revision); pending events
                    live in the document's ``outbox``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from contracts import Event
from servicekit.documents import from_doc, plain, to_doc
from servicekit.outbox import outbox_entries

from .domain import OPEN_STATUSES, Assignment, AssignmentStatus, StaffMember, Team

_OPEN = [s.value for s in OPEN_STATUSES]
_QUEUE_ORDER = [("priority_rank", ASCENDING), ("waiting_since", ASCENDING), ("_id", ASCENDING)]


class DispatcherStore:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.staff = db["staff"]
        self.assignments = db["assignments"]

    async def ensure_indexes(self) -> None:
        await self.staff.create_index([("team", ASCENDING), ("staff_id", ASCENDING)], name="team_staff")
        await self.assignments.create_index(
            [("status", ASCENDING), ("team", ASCENDING), *_QUEUE_ORDER[:2]], name="team_queue"
        )
        await self.assignments.create_index(
            [("agent_id", ASCENDING), ("status", ASCENDING), ("priority_rank", ASCENDING)], name="agent_queue"
        )

    # ------------------------------------------------------------------ staff
    async def staff_count(self) -> int:
        return int(await self.staff.count_documents({}))

    async def insert_staff(self, member: StaffMember) -> bool:
        """Add a member with no slot in use; False when the staff id already exists."""
        doc = to_doc(member, id_field="staff_id")
        doc["open_tickets"] = []
        try:
            await self.staff.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def roster(self, team: Team | None = None) -> list[StaffMember]:
        query: dict[str, Any] = {"team": team.value} if team else {}
        return [from_doc(StaffMember, d) async for d in self.staff.find(query).sort("_id", ASCENDING)]

    async def reserve_slot(self, staff_id: str, capacity: int, ticket_id: str) -> bool:
        """Take one slot of an on-duty agent for a ticket in a single atomic update; False when the agent
        is full, off duty, changed capacity, or already holds this ticket."""
        doc = await self.staff.find_one_and_update(
            {"_id": staff_id, "on_duty": True, "capacity": capacity, "open_count": {"$lt": capacity},
             "open_tickets": {"$ne": ticket_id}},
            {"$inc": {"open_count": 1}, "$push": {"open_tickets": ticket_id}},
            projection={"_id": 1},
        )
        return doc is not None

    async def release_slot(self, staff_id: str, ticket_id: str) -> bool:
        """Give back the slot a ticket holds; a no-op (False) when it holds none (exactly once)."""
        result = await self.staff.update_one(
            {"_id": staff_id, "open_tickets": ticket_id},
            {"$pull": {"open_tickets": ticket_id}, "$inc": {"open_count": -1}},
        )
        return result.modified_count == 1

    async def slot_holders(self, ticket_id: str) -> list[StaffMember]:
        """Staff holding a slot for the ticket (normally its assignee; leftovers of an interrupted route)."""
        return [from_doc(StaffMember, d) async for d in self.staff.find({"open_tickets": ticket_id})]

    async def open_tickets_of(self, staff_id: str) -> list[str]:
        doc = await self.staff.find_one({"_id": staff_id}, {"open_tickets": 1})
        return list((doc or {}).get("open_tickets") or [])

    # ------------------------------------------------------------------ assignments
    async def get(self, ticket_id: str) -> Assignment | None:
        doc = await self.assignments.find_one({"_id": ticket_id})
        return from_doc(Assignment, doc) if doc else None

    async def insert_claim(self, assignment: Assignment) -> Assignment | None:
        """Insert the first record of a ticket; the existing one when the ticket is already known."""
        doc = to_doc(assignment, id_field="ticket_id")
        doc["outbox"] = []
        try:
            await self.assignments.insert_one(doc)
        except DuplicateKeyError:
            return await self.get(assignment.ticket_id)
        return None

    async def save_reclassification(self, before: Assignment, after: Assignment) -> Assignment | None:
        """Store a newer classification while the ticket still waits; None when it changed meanwhile."""
        fields = {k: v for k, v in to_doc(after).items() if to_doc(before).get(k) != v}
        doc = await self.assignments.find_one_and_update(
            {"_id": before.ticket_id, "status": {"$in": _OPEN}, "revision": before.revision},
            {"$set": fields}, return_document=ReturnDocument.AFTER,
        )
        return from_doc(Assignment, doc) if doc else None

    async def save_assignment(
        self, before: Assignment, after: Assignment, events: list[Event]
    ) -> list[dict[str, Any]] | None:
        """Compare-and-set a waiting ticket into an agent's queue with its events in the outbox; None when
        it was assigned, finished or re-classified meanwhile."""
        entries = outbox_entries(*events)
        fields = {k: v for k, v in to_doc(after).items() if to_doc(before).get(k) != v}
        result = await self.assignments.update_one(
            {"_id": before.ticket_id, "status": {"$in": _OPEN}, "revision": before.revision},
            {"$set": fields, "$push": {"outbox": {"$each": entries}}},
        )
        return entries if result.modified_count == 1 else None

    async def save_queued(self, before: Assignment, reason: str, now: datetime) -> Assignment | None:
        """Leave a ticket waiting in its team queue with the explanation; None when it changed meanwhile."""
        doc = await self.assignments.find_one_and_update(
            {"_id": before.ticket_id, "status": {"$in": _OPEN}, "revision": before.revision},
            {"$set": {"status": AssignmentStatus.QUEUED.value, "reason": reason, "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return from_doc(Assignment, doc) if doc else None

    async def mark_released(self, ticket_id: str, why: str, now: datetime) -> Assignment | None:
        """Flag the ticket finished once; the record as it was before, or None when already finished."""
        doc = await self.assignments.find_one_and_update(
            {"_id": ticket_id, "status": {"$ne": AssignmentStatus.RELEASED.value}},
            {"$set": {"status": AssignmentStatus.RELEASED.value, "released_at": now, "release_reason": why,
                      "updated_at": now}},
            return_document=ReturnDocument.BEFORE,
        )
        return from_doc(Assignment, doc) if doc else None

    async def waiting(self, teams: Sequence[Team], limit: int) -> list[Assignment]:
        """Queued tickets of these teams, most urgent then longest waiting first."""
        cursor = self.assignments.find(
            {"status": AssignmentStatus.QUEUED.value, "team": {"$in": plain(list(teams))}}
        ).sort(_QUEUE_ORDER).limit(limit)
        return [from_doc(Assignment, d) async for d in cursor]

    async def assigned_to(self, staff_id: str, limit: int) -> list[Assignment]:
        cursor = self.assignments.find(
            {"agent_id": staff_id, "status": AssignmentStatus.ASSIGNED.value}
        ).sort([("priority_rank", ASCENDING), ("assigned_at", ASCENDING)]).limit(limit)
        return [from_doc(Assignment, d) async for d in cursor]
