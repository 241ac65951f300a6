"""Dispatcher's MongoDB collections (the only MongoDB code of this service).

* ``staff``       — the roster, ``_id`` = staff id; ``open_count`` is the number of slots in use and
                    ``open_tickets`` the tickets holding them. A slot is taken and given back with one
                    conditional update each, so capacity holds under any concurrency and a ticket
                    releases its slot exactly once (``$pull`` + ``$inc`` only while the ticket is listed).
                    Credentials live beside the member (``password_hash`` argon2id, ``must_change_password``,
                    ``failed_logins``, ``locked_until``) and never leave this module except to the service.
* ``assignments`` — one document per ticket, ``_id`` = ticket id (the claim: a second classification
                    finds it); status changes are compare-and-set on (status, revision) or (status, agent,
                    assigned_at); pending events live in the document's ``outbox``; ``history`` is the
                    decision log.
* ``notifications`` — ``_id`` = source event id + recipient + channel (idempotent); in-app inbox entries
                    and external deliveries (``status`` pending → sending → sent / failed, retried with
                    back-off by the delivery job; ``lease_until`` keeps two replicas from sending twice).
* ``collaborations`` — cross-department help requests (requester, responder, due time, answer).
* ``incidents``   — crisis mode (``_id`` = incident id): match, team, approved reply, SLA override, status;
                    every change is compare-and-set on ``version`` with its event in the document's
                    ``outbox`` and a line in ``history``. A ticket's link to an incident is written on its
                    assignment (once: only while ``incident_id`` is null) with ``ticket.incident_linked``.
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

from .domain import OPEN_STATUSES, Assignment, AssignmentStatus, Decision, LockoutPolicy, StaffMember, Team
from .incidents import Incident, IncidentStatus

_OPEN = [s.value for s in OPEN_STATUSES]
_QUEUE_ORDER = [("priority_rank", ASCENDING), ("waiting_since", ASCENDING), ("_id", ASCENDING)]


class DispatcherStore:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.staff = db["staff"]
        self.assignments = db["assignments"]
        self.notifications = db["notifications"]
        self.collaborations = db["collaborations"]
        self.incidents = db["incidents"]

    async def ensure_indexes(self) -> None:
        await self.notifications.create_index(
            [("recipient", ASCENDING), ("channel", ASCENDING), ("created_at", ASCENDING)], name="inbox"
        )
        await self.notifications.create_index(
            [("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="delivery"
        )
        await self.collaborations.create_index([("responder_id", ASCENDING), ("status", ASCENDING)], name="responder")
        await self.collaborations.create_index([("requester_id", ASCENDING), ("status", ASCENDING)], name="requester")
        await self.staff.create_index([("team", ASCENDING), ("staff_id", ASCENDING)], name="team_staff")
        # claim_delivery's second look (a sending notification whose lease ran out)
        await self.notifications.create_index([("status", ASCENDING), ("lease_until", ASCENDING)], name="lease")
        await self.assignments.create_index(
            [("status", ASCENDING), ("team", ASCENDING), *_QUEUE_ORDER[:2]], name="team_queue"
        )
        await self.assignments.create_index(
            [("agent_id", ASCENDING), ("status", ASCENDING), ("priority_rank", ASCENDING)], name="agent_queue"
        )
        await self.ensure_incident_indexes()

    # ------------------------------------------------------------------ staff
    async def staff_count(self) -> int:
        return int(await self.staff.count_documents({}))

    async def insert_staff(
        self, member: StaffMember, password_hash: str | None = None, must_change_password: bool = True
    ) -> bool:
        """Add a member with no slot in use; False when the staff id already exists. Without a password
        hash the member cannot log in until an admin sets one."""
        doc = to_doc(member, id_field="staff_id")
        doc["open_tickets"] = []
        doc.update(password_hash=password_hash, must_change_password=must_change_password, failed_logins=0,
                   locked_until=None)
        try:
            await self.staff.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    # what a roster read leaves out: the tickets holding each member's slots (a list as long as the
    # capacity, read for every routed ticket otherwise) and the credentials
    _ROSTER = {"open_tickets": 0, "password_hash": 0}

    async def roster(self, team: Team | None = None) -> list[StaffMember]:
        query: dict[str, Any] = {"team": team.value} if team else {}
        return [from_doc(StaffMember, d) async for d in self.staff.find(query, self._ROSTER).sort("_id", ASCENDING)]

    async def get_staff(self, staff_id: str) -> StaffMember | None:
        doc = await self.staff.find_one({"_id": staff_id})
        return from_doc(StaffMember, doc) if doc else None

    async def credentials(self, staff_id: str) -> dict[str, Any] | None:
        return await self.staff.find_one(
            {"_id": staff_id},
            {"password_hash": 1, "must_change_password": 1, "failed_logins": 1, "locked_until": 1, "active": 1},
        )

    async def login_failed(self, staff_id: str, policy: LockoutPolicy, now: datetime) -> datetime | None:
        """Count a failed login atomically; lock the account (and restart the count) at the limit.
        Returns the lock end when this failure locked it."""
        doc = await self.staff.find_one_and_update(
            {"_id": staff_id}, {"$inc": {"failed_logins": 1}}, projection={"failed_logins": 1},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None or int(doc.get("failed_logins") or 0) < policy.max_failures:
            return None
        from datetime import timedelta

        until = now + timedelta(seconds=policy.lock_seconds)
        await self.staff.update_one({"_id": staff_id}, {"$set": {"locked_until": until, "failed_logins": 0}})
        return until

    async def login_succeeded(self, staff_id: str, now: datetime) -> None:
        await self.staff.update_one(
            {"_id": staff_id}, {"$set": {"failed_logins": 0, "locked_until": None, "last_login_at": now}}
        )

    async def set_password(self, staff_id: str, password_hash: str, must_change: bool, now: datetime) -> bool:
        result = await self.staff.update_one(
            {"_id": staff_id},
            {"$set": {"password_hash": password_hash, "must_change_password": must_change, "failed_logins": 0,
                      "locked_until": None, "password_changed_at": now}},
        )
        return result.matched_count == 1

    async def update_staff(self, staff_id: str, fields: dict[str, Any]) -> StaffMember | None:
        if not fields:
            return await self.get_staff(staff_id)
        doc = await self.staff.find_one_and_update(
            {"_id": staff_id}, {"$set": plain(fields)}, return_document=ReturnDocument.AFTER
        )
        return from_doc(StaffMember, doc) if doc else None

    async def reserve_slot(self, staff_id: str, capacity: int, ticket_id: str) -> bool:
        """Take one slot of an on-duty agent for a ticket in a single atomic update; False when the agent
        is full, off duty, changed capacity, or already holds this ticket."""
        # update_one: only "did it match" is needed, and SecantusDB scans the collection for every
        # findAndModify (tests/test_wire_server_probes.py)
        result = await self.staff.update_one(
            {"_id": staff_id, "on_duty": True, "capacity": capacity, "open_count": {"$lt": capacity},
             "open_tickets": {"$ne": ticket_id}},
            {"$inc": {"open_count": 1}, "$push": {"open_tickets": ticket_id}},
        )
        return result.modified_count == 1

    async def release_slot(self, staff_id: str, ticket_id: str) -> bool:
        """Give back the slot a ticket holds; a no-op (False) when it holds none (exactly once)."""
        result = await self.staff.update_one(
            {"_id": staff_id, "open_tickets": ticket_id},
            {"$pull": {"open_tickets": ticket_id}, "$inc": {"open_count": -1}},
        )
        return result.modified_count == 1

    async def slot_holders(self, ticket_id: str) -> list[StaffMember]:
        """Staff holding a slot for the ticket (normally its assignee; leftovers of an interrupted route)."""
        return [from_doc(StaffMember, d) async for d in self.staff.find({"open_tickets": ticket_id}, self._ROSTER)]

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
        fields = _changed(before, after)
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
        fields = _changed(before, after)
        result = await self.assignments.update_one(
            {"_id": before.ticket_id, "status": {"$in": _OPEN}, "revision": before.revision},
            {"$set": fields, "$push": {"outbox": {"$each": entries}, "history": _decision(after)}},
        )
        return entries if result.modified_count == 1 else None

    async def save_moved(
        self, before: Assignment, after: Assignment, events: list[Event], log_entry: Decision
    ) -> list[dict[str, Any]] | None:
        """Compare-and-set an assigned ticket (still with the same agent since the same moment) into its
        new state — acknowledged, transferred, reassigned — with its events; None when it changed."""
        entries = outbox_entries(*events)
        result = await self.assignments.update_one(
            {"_id": before.ticket_id, "status": AssignmentStatus.ASSIGNED.value, "agent_id": before.agent_id,
             "assigned_at": before.assigned_at, "acknowledged_at": before.acknowledged_at},
            {"$set": _changed(before, after),
             "$push": {"outbox": {"$each": entries}, "history": plain(log_entry.model_dump())}},
        )
        return entries if result.modified_count == 1 else None

    async def save_reopened(self, before: Assignment, after: Assignment, log_entry: Decision) -> Assignment | None:
        """Compare-and-set a finished ticket back to routing; None when another reopening won."""
        doc = await self.assignments.find_one_and_update(
            {"_id": before.ticket_id, "status": AssignmentStatus.RELEASED.value,
             "reopen_count": {"$lt": after.reopen_count}},
            {"$set": _changed(before, after), "$push": {"history": plain(log_entry.model_dump())}},
            return_document=ReturnDocument.AFTER,
        )
        return from_doc(Assignment, doc) if doc else None

    async def note_reopened(self, ticket_id: str, reopen_count: int, reopened_at: datetime) -> None:
        """A reopening of a ticket still in an agent's queue: remember it so an older resolution is ignored."""
        await self.assignments.update_one(
            {"_id": ticket_id, "reopen_count": {"$lt": reopen_count}},
            {"$set": {"reopen_count": reopen_count, "reopened_at": reopened_at}},
        )

    async def set_sla_due(self, ticket_id: str, deadline: datetime, target: str) -> None:
        """Remember the nearest SLA deadline (the agent's queue is ordered by it)."""
        # read, decide, compare-and-set on the values read: the condition spelt as one filter needs a
        # top-level $or, which SecantusDB answers by scanning every assignment (tests/test_wire_server_probes.py)
        for _ in range(8):
            doc = await self.assignments.find_one({"_id": ticket_id}, {"sla_due_at": 1, "sla_target": 1})
            if doc is None:
                return
            due, current = doc.get("sla_due_at"), doc.get("sla_target")
            if not (due is None or due > deadline or current == target):
                return
            result = await self.assignments.update_one(
                {"_id": ticket_id, "sla_due_at": due, "sla_target": current},
                {"$set": {"sla_due_at": deadline, "sla_target": target}},
            )
            if result.matched_count == 1:
                return

    async def save_queued(self, before: Assignment, reason: str, now: datetime) -> Assignment | None:
        """Leave a ticket waiting in its team queue with the explanation; None when it changed meanwhile.
        The decision log gets an entry when the ticket starts waiting (not on every failed drain)."""
        update: dict[str, Any] = {"$set": {"status": AssignmentStatus.QUEUED.value, "reason": reason, "updated_at": now}}
        if before.status != AssignmentStatus.QUEUED:
            update["$push"] = {"history": {"at": now, "kind": "queued", "agent_id": None, "by": "system",
                                           "reason": reason[:2000]}}
        doc = await self.assignments.find_one_and_update(
            {"_id": before.ticket_id, "status": {"$in": _OPEN}, "revision": before.revision},
            update, return_document=ReturnDocument.AFTER,
        )
        return from_doc(Assignment, doc) if doc else None

    async def mark_released(
        self, ticket_id: str, why: str, now: datetime, occurred_at: datetime | None = None
    ) -> Assignment | None:
        """Flag the ticket finished once; the record as it was before, or None when already finished (or
        when the finishing event is older than the ticket's last reopening)."""
        query: dict[str, Any] = {"_id": ticket_id, "status": {"$ne": AssignmentStatus.RELEASED.value}}
        if occurred_at is not None:
            query["$or"] = [{"reopened_at": None}, {"reopened_at": {"$lt": occurred_at}}]
        doc = await self.assignments.find_one_and_update(
            query,
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

    # ------------------------------------------------------------------ notifications
    async def insert_notification(self, doc: dict[str, Any]) -> bool:
        """Store a notification once (``_id`` names its source); False when it already exists."""
        try:
            await self.notifications.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def inbox(self, recipient: str, unread_only: bool, limit: int) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"recipient": recipient, "channel": "in_app"}
        if unread_only:
            query["read_at"] = None
        cursor = self.notifications.find(query).sort([("created_at", -1), ("_id", ASCENDING)]).limit(limit)
        return [d async for d in cursor]

    async def unread_count(self, recipient: str) -> int:
        return int(await self.notifications.count_documents(
            {"recipient": recipient, "channel": "in_app", "read_at": None}))

    async def mark_read(self, notification_id: str, recipient: str, now: datetime) -> dict[str, Any] | None:
        doc = await self.notifications.find_one({"_id": notification_id, "recipient": recipient, "channel": "in_app"})
        if doc is None:
            return None
        if doc.get("read_at") is None:
            doc = await self.notifications.find_one_and_update(
                {"_id": notification_id, "read_at": None}, {"$set": {"read_at": now, "status": "read"}},
                return_document=ReturnDocument.AFTER,
            ) or await self.notifications.find_one({"_id": notification_id})
        return doc

    async def mark_all_read(self, recipient: str, now: datetime) -> int:
        result = await self.notifications.update_many(
            {"recipient": recipient, "channel": "in_app", "read_at": None}, {"$set": {"read_at": now, "status": "read"}}
        )
        return int(result.modified_count)

    async def claim_delivery(self, now: datetime, lease_until: datetime) -> dict[str, Any] | None:
        """Take one due external delivery (pending, or sending with an expired lease) for this replica.

        Polled every few seconds, so it costs what is due, not what is stored: each kind is looked up
        in its index (delivery / lease), then claimed with a conditional update on the same condition
        (a competing replica that claimed it first makes the update match nothing: try the next one).
        No findAndModify and no top-level $or: SecantusDB answers both by scanning the whole collection
        (tests/test_wire_server_probes.py)."""
        for due in ({"status": "pending", "next_attempt_at": {"$lte": now}},
                    {"status": "sending", "lease_until": {"$lte": now}}):
            while True:  # a lost race means another worker took that one: look again
                cursor = self.notifications.find(due).sort("next_attempt_at", ASCENDING).limit(16)
                found = [d async for d in cursor]
                if not found:
                    break
                for doc in found:
                    claimed = await self.notifications.update_one(
                        {"_id": doc["_id"], **due},
                        {"$set": {"status": "sending", "lease_until": lease_until}, "$inc": {"attempts": 1}})
                    if claimed.modified_count == 1:
                        return {**doc, "status": "sending", "lease_until": lease_until,
                                "attempts": int(doc.get("attempts") or 0) + 1}
        return None

    async def delivery_done(self, notification_id: str, now: datetime) -> None:
        await self.notifications.update_one(
            {"_id": notification_id}, {"$set": {"status": "sent", "sent_at": now, "lease_until": None}}
        )

    async def delivery_failed(self, notification_id: str, error: str, retry_at: datetime | None) -> None:
        status = "pending" if retry_at else "failed"
        await self.notifications.update_one(
            {"_id": notification_id},
            {"$set": {"status": status, "last_error": error[:500], "next_attempt_at": retry_at, "lease_until": None}},
        )

    async def notification(self, notification_id: str) -> dict[str, Any] | None:
        return await self.notifications.find_one({"_id": notification_id})

    # ------------------------------------------------------------------ collaborations
    async def insert_collaboration(self, doc: dict[str, Any]) -> None:
        await self.collaborations.insert_one(doc)

    async def collaboration(self, collab_id: str) -> dict[str, Any] | None:
        return await self.collaborations.find_one({"_id": collab_id})

    async def collaborations_of(self, staff_id: str, limit: int) -> list[dict[str, Any]]:
        cursor = self.collaborations.find(
            {"$or": [{"requester_id": staff_id}, {"responder_id": staff_id}]}
        ).sort([("due_at", ASCENDING)]).limit(limit)
        return [d async for d in cursor]

    async def answer_collaboration(self, collab_id: str, responder: str, answer: str,
                                   now: datetime) -> dict[str, Any] | None:
        return await self.collaborations.find_one_and_update(
            {"_id": collab_id, "responder_id": responder, "status": "open"},
            {"$set": {"status": "answered", "answer": answer, "answered_at": now}},
            return_document=ReturnDocument.AFTER,
        )

    # ------------------------------------------------------------------ incidents (crisis mode)
    async def ensure_incident_indexes(self) -> None:
        await self.incidents.create_index([("status", ASCENDING), ("opened_at", ASCENDING)], name="status_opened")
        await self.incidents.create_index("spike.id", name="spike", sparse=True)
        await self.assignments.create_index(
            [("incident_id", ASCENDING), ("waiting_since", ASCENDING)], name="incident_tickets", sparse=True
        )

    async def insert_incident(self, incident: Incident, events: list[Event]) -> list[dict[str, Any]] | None:
        """Insert with its events; None when an incident with this id exists (a concurrent open of one spike)."""
        doc = to_doc(incident, id_field="incident_id")
        entries = outbox_entries(*events)
        doc["outbox"] = entries
        try:
            await self.incidents.insert_one(doc)
        except DuplicateKeyError:
            return None
        return entries

    async def count_spike_incidents(self, spike_id: str) -> int:
        """How many incidents opened from this spike are closed. Closed ones only: a desk that counts after
        another desk's open of the same spike must still compute the same id (and be refused by it)."""
        closed = {"spike.id": spike_id, "status": IncidentStatus.CLOSED.value}
        return int(await self.incidents.count_documents(closed))

    async def get_incident(self, incident_id: str) -> Incident | None:
        doc = await self.incidents.find_one({"_id": incident_id}, {"outbox": 0})
        return from_doc(Incident, doc) if doc else None

    async def incidents_by_status(self, status: IncidentStatus | None, limit: int) -> list[Incident]:
        """Newest first; open incidents are few (the routing reads them for every classified ticket)."""
        query: dict[str, Any] = {"status": status.value} if status else {}
        cursor = self.incidents.find(query, {"outbox": 0}).sort([("opened_at", -1), ("_id", ASCENDING)]).limit(limit)
        return [from_doc(Incident, d) async for d in cursor]

    async def save_incident(self, before: Incident, after: Incident, events: list[Event]) -> list[dict[str, Any]] | None:
        """Compare-and-set on the version the change was made from; None when someone changed it meanwhile."""
        entries = outbox_entries(*events)
        fields = {k: v for k, v in to_doc(after, exclude={"history"}).items() if k != "_id"}
        result = await self.incidents.update_one(
            {"_id": before.incident_id, "version": before.version},
            {"$set": fields, "$push": {"outbox": {"$each": entries},
                                       "history": {"$each": plain([h.model_dump() for h in after.history[len(before.history):]])}}},
        )
        return entries if result.modified_count == 1 else None

    async def save_link(self, before: Assignment, after: Assignment, events: list[Event],
                        log_entry: Decision) -> list[dict[str, Any]] | None:
        """Tag a waiting ticket with its incident once (while untagged and unchanged), with the event."""
        entries = outbox_entries(*events)
        result = await self.assignments.update_one(
            {"_id": before.ticket_id, "status": {"$in": _OPEN}, "revision": before.revision, "incident_id": None},
            {"$set": _changed(before, after),
             "$push": {"outbox": {"$each": entries}, "history": plain(log_entry.model_dump())}},
        )
        return entries if result.modified_count == 1 else None

    async def incident_waiting_teams(self, incident_ids: Sequence[str]) -> set[Team]:
        """The teams whose queues hold waiting tickets of these incidents."""
        teams = await self.assignments.distinct(
            "team", {"status": AssignmentStatus.QUEUED.value, "incident_id": {"$in": list(incident_ids)}})
        return {Team(t) for t in teams if t}

    async def incident_tickets(self, incident_id: str, limit: int) -> list[Assignment]:
        cursor = self.assignments.find({"incident_id": incident_id}).sort(
            [("waiting_since", ASCENDING), ("_id", ASCENDING)]).limit(limit)
        return [from_doc(Assignment, d) async for d in cursor]


def _changed(before: Assignment, after: Assignment) -> dict[str, Any]:
    old, new = to_doc(before, exclude={"history"}), to_doc(after, exclude={"history"})
    return {k: v for k, v in new.items() if old.get(k) != v}


def _decision(a: Assignment) -> dict[str, Any]:
    return {"at": a.updated_at, "kind": "assigned", "agent_id": a.agent_id, "by": "system", "reason": a.reason[:2000]}
