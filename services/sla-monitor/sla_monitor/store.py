"""SLA monitor's MongoDB collections (the only MongoDB code of this service).

* ``clocks``    — one document per ticket (``_id`` = ticket_id): the :class:`Clock` fields, a
                  ``revision`` for compare-and-set writes (events of one ticket and the scanners of
                  several replicas race on it), ``applied_events`` (event ids) for dedupe and the
                  ``outbox`` of events the clock raised (warnings, breaches …) written in the same update.
* ``policies``  — SLA policy versions, ``_id`` = version, with status draft/active/retired and history.
* ``calendars`` — business calendars, ``_id`` = calendar id, with a revision.
* ``schedule``  — the alarm schedule: ``_id`` = a time bucket (epoch seconds // bucket size), ``tickets`` =
                  the ticket ids whose next alarm falls in it. A scan reads only the buckets that came due
                  (``_id`` lookups), so its cost is the number of alarms due, not of open clocks.
* ``scheduler`` — ``_id: "cursor"``: the first bucket not yet fully processed (shared by the replicas).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from servicekit.documents import from_doc, to_doc

from .domain import (
    BusinessCalendar,
    CalendarRecord,
    Clock,
    ClockStatus,
    PolicyBody,
    PolicyRecord,
    PolicyStatus,
    SlaPolicy,
)


@dataclass(frozen=True)
class StoredClock:
    clock: Clock
    revision: int
    applied_events: frozenset[str]


class SlaStore:
    def __init__(self, db: Any, *, bucket_seconds: int = 5) -> None:
        self.db = db
        self.clocks = db["clocks"]
        self.policies = db["policies"]
        self.calendars = db["calendars"]
        self.schedule = db["schedule"]
        self.scheduler = db["scheduler"]
        self.bucket_seconds = bucket_seconds

    async def ensure_indexes(self) -> None:
        # The repair sweep (start-up and rare) finds clocks whose alarm time passed without a scan.
        await self.clocks.create_index([("next_check_at", ASCENDING)], name="next_check_at")
        # the supervisors' overdue list: breached clocks, soonest due first
        await self.clocks.create_index([("breach_count", ASCENDING), ("resolution_due", ASCENDING)], name="breached")
        await self.policies.create_index([("status", ASCENDING), ("activated_at", DESCENDING)], name="status_activated")

    # ------------------------------------------------------------------ policies
    async def seed_policy(self, policy: SlaPolicy, *, author: str, now: datetime) -> bool:
        """Insert a policy version as the active one unless that version exists; True when inserted."""
        doc = to_doc(policy, id_field="version")
        doc.update(status=PolicyStatus.ACTIVE.value, created_by=author, created_at=now, activated_by=author,
                   activated_at=now)
        try:
            await self.policies.insert_one(doc)
            return True
        except DuplicateKeyError:
            return False

    async def active_policy(self) -> PolicyRecord | None:
        cursor = self.policies.find({"status": PolicyStatus.ACTIVE.value}).sort("activated_at", DESCENDING).limit(1)
        docs = [d async for d in cursor]
        return from_doc(PolicyRecord, docs[0]) if docs else None

    async def get_policy(self, version: int) -> PolicyRecord | None:
        doc = await self.policies.find_one({"_id": version})
        return from_doc(PolicyRecord, doc) if doc else None

    async def list_policies(self, status: PolicyStatus | None = None) -> list[PolicyRecord]:
        query = {} if status is None else {"status": status.value}
        return [from_doc(PolicyRecord, d) async for d in self.policies.find(query).sort("_id", DESCENDING)]

    async def insert_draft(self, body: PolicyBody, *, author: str, now: datetime) -> PolicyRecord:
        """A new draft with the next version number (retried if another admin took it meanwhile)."""
        while True:
            newest = [d async for d in self.policies.find({}, {"_id": 1}).sort("_id", DESCENDING).limit(1)]
            version = (newest[0]["_id"] if newest else 0) + 1
            record = PolicyRecord(**body.model_dump(), version=version, status=PolicyStatus.DRAFT, created_by=author,
                                  created_at=now)
            try:
                await self.policies.insert_one(to_doc(record, id_field="version"))
                return record
            except DuplicateKeyError:
                continue

    async def update_draft(self, version: int, body: PolicyBody, *, now: datetime) -> PolicyRecord | None:
        """Replace a draft's content; None when the version is not (or no longer) a draft."""
        doc = await self.policies.find_one_and_update(
            {"_id": version, "status": PolicyStatus.DRAFT.value},
            {"$set": {**to_doc(body), "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return from_doc(PolicyRecord, doc) if doc else None

    async def activate(self, version: int, *, author: str, now: datetime) -> PolicyRecord | None:
        """Make a draft or retired version the active one, then retire the others. Readers take the
        newest activation, so a crash between the two writes still leaves one policy in force."""
        doc = await self.policies.find_one_and_update(
            {"_id": version, "status": {"$ne": PolicyStatus.ACTIVE.value}},
            {"$set": {"status": PolicyStatus.ACTIVE.value, "activated_by": author, "activated_at": now,
                      "retired_at": None}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        await self.policies.update_many(
            {"_id": {"$ne": version}, "status": PolicyStatus.ACTIVE.value},
            {"$set": {"status": PolicyStatus.RETIRED.value, "retired_at": now}},
        )
        return from_doc(PolicyRecord, doc)

    async def delete_draft(self, version: int) -> bool:
        result = await self.policies.delete_one({"_id": version, "status": PolicyStatus.DRAFT.value})
        return result.deleted_count == 1

    async def policies_using_calendar(self, calendar_id: str) -> list[int]:
        """Versions (draft or active) that name the calendar."""
        query = {"status": {"$ne": PolicyStatus.RETIRED.value},
                 "$or": [{"calendar_id": calendar_id}, {"rules.calendar_id": calendar_id}]}
        return [d["_id"] async for d in self.policies.find(query, {"_id": 1})]

    # ------------------------------------------------------------------ calendars
    async def seed_calendar(self, calendar: BusinessCalendar, *, author: str, now: datetime) -> bool:
        doc = to_doc(calendar, id_field="calendar_id")
        doc.update(revision=1, updated_by=author, updated_at=now)
        try:
            await self.calendars.insert_one(doc)
            return True
        except DuplicateKeyError:
            return False

    async def get_calendar(self, calendar_id: str) -> CalendarRecord | None:
        doc = await self.calendars.find_one({"_id": calendar_id})
        return from_doc(CalendarRecord, doc) if doc else None

    async def list_calendars(self) -> list[CalendarRecord]:
        return [from_doc(CalendarRecord, d) async for d in self.calendars.find({}).sort("_id", ASCENDING)]

    async def put_calendar(self, calendar: BusinessCalendar, *, author: str, now: datetime) -> CalendarRecord:
        """Create or replace a calendar (revision counts the edits)."""
        doc = await self.calendars.find_one_and_update(
            {"_id": calendar.calendar_id},
            {"$set": {**to_doc(calendar), "updated_by": author, "updated_at": now}, "$inc": {"revision": 1}},
            upsert=True, return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            # SecantusDB answers the losers of concurrent upserts of a new _id with no document although
            # their update was applied (tests/test_wire_server_probes.py): read it back
            doc = await self.calendars.find_one({"_id": calendar.calendar_id})
        return from_doc(CalendarRecord, doc)

    async def delete_calendar(self, calendar_id: str) -> bool:
        result = await self.calendars.delete_one({"_id": calendar_id})
        return result.deleted_count == 1

    # ------------------------------------------------------------------ clocks
    async def get_clock(self, ticket_id: str) -> Clock | None:
        doc = await self.clocks.find_one({"_id": ticket_id})
        return from_doc(Clock, doc) if doc else None

    async def get_clocks(self, ticket_ids: list[str]) -> list[Clock]:
        cursor = self.clocks.find({"_id": {"$in": ticket_ids}}, {"outbox": 0, "applied_events": 0})
        return [from_doc(Clock, d) async for d in cursor]

    async def breached_clocks(self, *, team: str | None, unexplained: bool, limit: int) -> list[Clock]:
        """Clocks that breached a target and are not closed, soonest resolution due first; ``unexplained``
        keeps those without an overdue reason yet (waiting for a supervisor's approval)."""
        query: dict[str, Any] = {"breach_count": {"$gt": 0}, "status": {"$ne": ClockStatus.CLOSED.value}}
        if team:
            query["team"] = team
        if unexplained:
            query["overdue_reasons"] = {"$size": 0}
        cursor = self.clocks.find(query, {"outbox": 0, "applied_events": 0}).sort("resolution_due", ASCENDING)
        return [from_doc(Clock, d) async for d in cursor.limit(limit)]

    async def load_clock(self, ticket_id: str) -> StoredClock | None:
        doc = await self.clocks.find_one({"_id": ticket_id}, {"outbox": 0})
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

    async def save_clock(
        self, clock: Clock, *, revision: int, event_id: str | None = None, outbox: list[dict[str, Any]] | None = None
    ) -> bool:
        """Compare-and-set: write the clock (and record the event, and queue the events it raised) only
        if nobody wrote since ``revision``; False otherwise (the caller reloads). This is also the claim
        that keeps replicas from raising an alarm twice."""
        query: dict[str, Any] = {"_id": clock.ticket_id, "revision": revision}
        update: dict[str, Any] = {"$set": {**to_doc(clock), "revision": revision + 1}}
        push: dict[str, Any] = {}
        if event_id is not None:
            query["applied_events"] = {"$ne": event_id}
            push["applied_events"] = event_id
        if outbox:
            push["outbox"] = {"$each": outbox}
        if push:
            update["$push"] = push
        result = await self.clocks.update_one(query, update)
        return result.modified_count == 1

    async def overdue_clocks(self, before: datetime, limit: int) -> list[tuple[str, datetime]]:
        """Clocks whose next alarm time is before ``before`` (repair sweep; indexed)."""
        cursor = self.clocks.find({"next_check_at": {"$lte": before}}, {"_id": 1, "next_check_at": 1}).limit(limit)
        return [(d["_id"], d["next_check_at"]) async for d in cursor]

    # ------------------------------------------------------------------ alarm schedule
    def bucket(self, at: datetime) -> int:
        return int(at.timestamp()) // self.bucket_seconds

    async def schedule_alarm(self, ticket_id: str, at: datetime, now: datetime) -> int:
        """File a ticket under the bucket of its next alarm (a past alarm goes to the current bucket,
        which the scan has not passed yet). Idempotent; stale entries are harmless (the scan re-checks)."""
        bucket = max(self.bucket(at), self.bucket(now))
        await self.schedule.update_one({"_id": bucket}, {"$addToSet": {"tickets": ticket_id}}, upsert=True)
        return bucket

    async def load_buckets(self, buckets: list[int]) -> list[tuple[int, list[str]]]:
        cursor = self.schedule.find({"_id": {"$in": buckets}})
        return sorted([(d["_id"], list(d.get("tickets") or [])) async for d in cursor])

    async def drop_buckets(self, buckets: list[int]) -> None:
        if buckets:
            await self.schedule.delete_many({"_id": {"$in": buckets}})

    async def scan_cursor(self) -> int | None:
        doc = await self.scheduler.find_one({"_id": "cursor"})
        return None if doc is None else int(doc["bucket"])

    async def advance_cursor(self, bucket: int) -> None:
        await self.scheduler.update_one({"_id": "cursor"}, {"$max": {"bucket": bucket}}, upsert=True)
