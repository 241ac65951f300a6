"""Reporting's MongoDB collections (the only MongoDB code of this service).

* ``events``       — the raw event log, ``_id`` = event id (a duplicate insert = already processed).
* ``ticket_facts`` — one projection per ticket, ``_id`` = ticket id; ``applied_events`` lists the events
                     already folded in and ``revision`` guards read-modify-write (compare-and-set), so
                     an event changes a fact exactly once even with competing consumers and no
                     transactions.

* ``daily_cells``  — incremental aggregates, ``_id`` = ``<day>|<scope>`` (see :mod:`reporting.kpi`):
                     ``c`` counters and ``b`` backlog changes, kept up to date with ``$inc``.
                     The increments an event causes are written into the fact document
                     (``pending``) in the same update as the fact, then applied and pulled, so a crash
                     in between is finished by the aggregate relay, never lost.
* ``unknown_events`` — well-formed events of types this service has no contract for (kept, counted,
                     replayed by a rebuild once the contract is known).
* ``spikes``       — detected spikes, ``_id`` = ``<day>|<dimension>|<value>``, with their outbox.
* ``report_subscriptions`` — who receives the scheduled reports, ``_id`` = staff id: name, role, the
                     kinds (daily / weekly / monthly) and the external channel (none / email / im).
* ``report_runs``  — one document per scheduled report, ``_id`` = ``<kind>:<period>`` (``daily:2026-12-04``):
                     the period, the composed figures, the CSV, the recipients as they were, and the outbox
                     entry of its ``report.ready``. The insert is the claim: two replicas or a restart
                     composing the same period → one document, one event.
* ``knowledge_items`` — the knowledge-base item catalog, ``_id`` = item id: ``changed.<field>`` (from
                     ``knowledge.changed``) and ``seen.<field>`` (from suggestions and feedback), each
                     ``<stamp>\n<JSON value>`` written with ``$max``: the fixed-width stamp leads, so the
                     latest event wins per field in one atomic write, whatever the order, duplicates and
                     replicas (:meth:`ReportingStore.note_items`).

The daily report (walking skeleton) is still computed from the facts' own aggregate (its conversation
figures come from the day's ``all`` cell); it is checked against the cells in the tests.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pydantic import BaseModel
from pymongo.errors import BulkWriteError, DuplicateKeyError

from servicekit.documents import from_doc, plain, to_doc
from servicekit.mongo import apply_updates, atomically

from .domain import DIMENSIONS, CreatedGroup, DayCounts, ItemNote, KnowledgeItemInfo, LoggedEvent, TicketFact, item_info
from .kpi import split_cell


@dataclass(frozen=True)
class FactState:
    """A fact as loaded for an update: ``revision`` 0 means it does not exist yet."""

    fact: TicketFact | None
    revision: int
    applied: bool


def _storable(value: Any) -> Any:
    """Fact changes as a document: nested models (knowledge entries) become plain values."""
    if isinstance(value, BaseModel):
        return plain(value.model_dump())
    if isinstance(value, dict):
        return {k: _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return plain(value)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a finished future's exception as seen (its caller may have been cancelled)."""
    if not future.cancelled():
        future.exception()


class ReportingStore:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.events = db["events"]
        self.facts = db["ticket_facts"]
        self.cells = db["daily_cells"]
        self.unknown = db["unknown_events"]
        self.spikes = db["spikes"]
        self.items = db["knowledge_items"]
        self.subscriptions = db["report_subscriptions"]
        self.runs = db["report_runs"]
        self.incidents = db["incidents"]
        # cell transactions: one at a time in this process, run by one task (apply_pending); callers
        # queued meanwhile go together in the next one
        self._cell_queue: list[tuple[str, list[dict[str, Any]], asyncio.Future[int]]] = []
        self._cell_runner: asyncio.Task[None] | None = None

    async def ensure_indexes(self) -> None:
        await self.events.create_index(
            [("event_type", ASCENDING), ("occurred_at", ASCENDING)], name="type_time"
        )
        await self.events.create_index("ticket_id", name="ticket")
        await self.events.create_index("day", name="day")
        await self.facts.create_index("day", name="created_day")
        for field in ("resolved_days", "closed_days", "reopened_days"):
            await self.facts.create_index(field, name=field)
        await self.facts.create_index("pending.at", name="pending", sparse=True)
        await self.cells.create_index([("scope", ASCENDING), ("day", ASCENDING)], name="scope_day")
        await self.cells.create_index([("kind", ASCENDING), ("day", ASCENDING)], name="kind_day")
        await self.unknown.create_index("event_type", name="type")
        await self.runs.create_index([("due_at", DESCENDING)], name="due")
        await self.runs.create_index([("kind", ASCENDING), ("due_at", DESCENDING)], name="kind_due")
        await self.facts.create_index("incident_id", name="incident", sparse=True)
        await self.incidents.create_index([("status", ASCENDING), ("opened_at", ASCENDING)], name="status_opened")

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

    async def insert_fact(self, fact: TicketFact, event_id: str, pending: list[dict[str, Any]] | None = None) -> bool:
        """Create the fact from its first event; False when another consumer created it meanwhile."""
        doc = to_doc(fact, id_field="ticket_id")
        doc.update({"revision": 1, "applied_events": [event_id], "pending": pending or []})
        try:
            await self.facts.insert_one(doc)
            return True
        except DuplicateKeyError:
            return False

    async def update_fact(
        self, ticket_id: str, revision: int, event_id: str, changes: dict[str, Any],
        pending: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Compare-and-set: apply the changes, record the event and queue the aggregate increments it
        causes, only if the fact is still at ``revision`` and the event not applied yet. False →
        reload and decide again."""
        push: dict[str, Any] = {"applied_events": event_id}
        if pending:
            push["pending"] = {"$each": pending}
        # update_one, not find_one_and_update: the answer needed is only "did it match", and SecantusDB
        # answers every findAndModify by scanning the whole collection (tests/test_wire_server_probes.py)
        result = await self.facts.update_one(
            {"_id": ticket_id, "revision": revision, "applied_events": {"$ne": event_id}},
            {"$set": {**_storable(changes), "revision": revision + 1}, "$push": push},
        )
        return result.modified_count == 1

    # ------------------------------------------------------------------ aggregates
    async def apply_pending(self, ticket_id: str, entries: list[dict[str, Any]]) -> int:
        """Apply a fact's queued increments to their cells exactly once; the number applied (0 when
        another consumer got there first).

        The fact's pull of the entries and the cells' ``$inc`` commit together (one transaction); the
        pull is guarded on every entry still being pending, so a relay, a competing replica or a
        redelivery that comes second matches nothing and increments nothing, and a crash in between
        leaves neither done. Every event touches the day's ``all`` cell, so concurrent transactions on
        it only abort each other (measured: 3,226 aborts for 214 commits with 32 messages in flight):
        this process runs one at a time, and the callers that queue up meanwhile go together in the
        next one (group commit: a guarded pull per fact, one bulk write for the summed cells, one commit)."""
        if not entries:
            return 0
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        done.add_done_callback(_retrieve)  # a cancelled caller no longer reads its answer
        self._cell_queue.append((ticket_id, entries, done))
        if self._cell_runner is None or self._cell_runner.done():
            self._cell_runner = asyncio.create_task(self._run_cells(), name="reporting-cells")
        # the batch runs in its own task: a handler cancelled when the broker connection drops leaves
        # the transaction to finish (its redelivery then finds the entries applied), never half-run
        return await asyncio.shield(done)

    async def _run_cells(self) -> None:
        """Take everything queued, apply it in one transaction, answer each caller; until the queue is empty."""
        while self._cell_queue:
            batch, self._cell_queue = self._cell_queue, []
            try:
                applied = await atomically(self.db, lambda session: self._apply_batch(batch, session))
            except BaseException as exc:
                for _, _, waiter in batch:
                    if not waiter.done():
                        waiter.set_exception(exc if isinstance(exc, Exception)
                                             else RuntimeError("the cell transaction was interrupted"))
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, _, waiter), n in zip(batch, applied):
                if not waiter.done():
                    waiter.set_result(n)

    async def _apply_batch(self, batch: list[tuple[str, list[dict[str, Any]], Any]], session: Any) -> list[int]:
        """One transaction's work: claim each request's entries (guarded pull), then add up the claimed
        increments per cell and write them in one bulk update. Decides only from what it reads inside the
        transaction (the driver may run it again after a conflict)."""
        applied: list[int] = []
        totals: dict[str, dict[str, float]] = {}
        for ticket_id, entries, _ in batch:
            ids = [e["id"] for e in entries]
            # every id still pending; spelt as $all of $elemMatch, not {"pending.id": {"$all": ids}}
            # (SecantusDB 0.7.0b3 matches that only for a single value) nor a top-level $and (it then
            # scans the whole collection instead of taking the _id): tests/test_wire_server_probes.py
            claimed = await self.facts.update_one(
                {"_id": ticket_id, "pending": {"$all": [{"$elemMatch": {"id": i}} for i in ids]}},
                {"$pull": {"pending": {"id": {"$in": ids}}}}, session=session)
            if claimed.modified_count == 0:
                applied.append(0)
                continue
            applied.append(len(entries))
            for e in entries:
                cell = totals.setdefault(e["cell"], {})
                for prefix in ("c", "b"):
                    for k, v in (e.get(prefix) or {}).items():
                        cell[f"{prefix}.{k}"] = cell.get(f"{prefix}.{k}", 0) + v
        updates = []
        for cell_id, inc in totals.items():
            if not inc:
                continue
            day, scope = split_cell(cell_id)
            updates.append(({"_id": cell_id}, {
                "$inc": inc, "$setOnInsert": {"day": day, "scope": scope, "kind": scope.split("=", 1)[0]}}))
        await apply_updates(self.cells, updates, upsert=True, session=session)
        return applied

    async def stale_pending(self, before: datetime, limit: int = 200) -> list[tuple[str, list[dict[str, Any]]]]:
        # $lte: MongoDB keeps datetimes to the millisecond, so an entry written in the same millisecond as
        # ``before`` compares equal to it, not earlier.
        cursor = self.facts.find({"pending.at": {"$lte": before}}, {"pending": 1}).limit(limit)
        return [(d["_id"], list(d.get("pending") or [])) async for d in cursor]

    async def scope_cells(self, scope: str, start: date, end: date) -> dict[str, dict[str, Any]]:
        """Day → cell document of one scope within ``[start, end]``."""
        cursor = self.cells.find({"scope": scope, "day": {"$gte": start.isoformat(), "$lte": end.isoformat()}})
        return {d["day"]: d async for d in cursor}

    async def backlog_before(self, scope: str, start: date) -> dict[str, float]:
        """Backlog changes of one scope summed over every day before ``start``."""
        total: dict[str, float] = {}
        async for d in self.cells.find({"scope": scope, "day": {"$lt": start.isoformat()}}, {"b": 1}):
            for k, v in (d.get("b") or {}).items():
                total[k] = total.get(k, 0) + v
        return total

    async def kind_cells(self, kind: str, start: date, end: date) -> list[dict[str, Any]]:
        cursor = self.cells.find({"kind": kind, "day": {"$gte": start.isoformat(), "$lte": end.isoformat()}},
                                 {"b": 0})
        return [d async for d in cursor]

    # ------------------------------------------------------------------ knowledge item catalog
    async def note_items(self, notes: list[ItemNote]) -> None:
        """Record what events say about knowledge items, last writer wins per field (``$max`` on
        ``<stamp>\n<JSON value>``; the stamp is fixed-width). Idempotent and order-free, so a redelivery or a
        rebuild simply writes it again. Two replicas upserting a new item at once: the loser's insert fails
        on the unique ``_id`` and its retry updates the document the winner made."""
        if not notes:
            return
        updates = [({"_id": n.item_id}, {"$max": {
            f"{n.source}.{field}": f"{n.stamp}\n{json.dumps(value, ensure_ascii=False)}"
            for field, value in n.fields.items()}}) for n in notes]
        for attempt in range(3):
            try:
                await apply_updates(self.items, updates, upsert=True)
                return
            except (BulkWriteError, DuplicateKeyError):
                if attempt == 2:
                    raise

    async def knowledge_catalog(self) -> list[KnowledgeItemInfo]:
        """Every known item (the knowledge base is small: hundreds to thousands of items)."""
        def values(part: Any) -> dict[str, Any]:
            return {k: json.loads(v.split("\n", 1)[1]) for k, v in (part or {}).items()}

        return [item_info(d["_id"], values(d.get("changed")), values(d.get("seen"))) async for d in self.items.find({})]

    # ------------------------------------------------------------------ unknown event types
    async def keep_unknown(self, doc: dict[str, Any]) -> bool:
        try:
            await self.unknown.insert_one(doc)
            return True
        except DuplicateKeyError:
            return False

    async def unknown_counts(self) -> dict[str, int]:
        pipeline = [{"$group": {"_id": "$event_type", "count": {"$sum": 1}}}]
        return {row["_id"]: row["count"] async for row in self.unknown.aggregate(pipeline)}

    # ------------------------------------------------------------------ spikes
    async def insert_spike(self, doc: dict[str, Any]) -> bool:
        try:
            await self.spikes.insert_one(doc)
            return True
        except DuplicateKeyError:
            return False

    async def list_spikes(self, start: date, end: date) -> list[dict[str, Any]]:
        cursor = self.spikes.find({"day": {"$gte": start.isoformat(), "$lte": end.isoformat()}}, {"outbox": 0})
        return [d async for d in cursor.sort([("day", -1), ("ratio", -1)]).limit(500)]

    # ------------------------------------------------------------------ rebuild
    async def logged_events(self, batch: int = 1000) -> Any:
        """The raw log in time order (for a rebuild)."""
        async for d in self.events.find({}, {"body": 1}).sort([("occurred_at", ASCENDING), ("_id", ASCENDING)]):
            yield d["body"]

    async def unknown_bodies(self) -> Any:
        async for d in self.unknown.find({}, {"body": 1, "event_type": 1, "schema_version": 1}):
            yield d

    async def forget_unknown(self, event_id: str) -> None:
        await self.unknown.delete_one({"_id": event_id})

    async def clear_projections(self) -> None:
        await self.facts.delete_many({})
        await self.cells.delete_many({})
        await self.items.delete_many({})

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

    # ------------------------------------------------------------------ scheduled reports
    async def subscription(self, staff_id: str) -> dict[str, Any] | None:
        return await self.subscriptions.find_one({"_id": staff_id})

    async def save_subscription(self, staff_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(2):  # two first saves racing: the loser's upsert fails on _id, its retry updates
            try:
                doc = await self.subscriptions.find_one_and_update(
                    {"_id": staff_id}, {"$set": fields}, upsert=True, return_document=ReturnDocument.AFTER)
                return dict(doc)
            except DuplicateKeyError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def list_subscriptions(self, limit: int = 1000) -> list[dict[str, Any]]:
        return [d async for d in self.subscriptions.find({}).sort("_id", ASCENDING).limit(limit)]

    async def subscribers(self, kind: str) -> list[dict[str, Any]]:
        """Everyone subscribed to ``kind`` (a staff team: hundreds at most)."""
        return [d async for d in self.subscriptions.find({kind: True}).sort("_id", ASCENDING).limit(500)]

    async def run_exists(self, run_id: str) -> bool:
        return await self.runs.find_one({"_id": run_id}, {"_id": 1}) is not None

    async def insert_run(self, doc: dict[str, Any]) -> bool:
        """Claim the period: False when it was composed before (another replica, an earlier start)."""
        try:
            await self.runs.insert_one(doc)
            return True
        except DuplicateKeyError:
            return False

    async def list_runs(self, kind: str | None, limit: int) -> list[dict[str, Any]]:
        query = {"kind": kind} if kind else {}
        cursor = self.runs.find(query, {"csv": 0, "outbox": 0, "agents": 0, "report": 0})
        return [d async for d in cursor.sort([("due_at", DESCENDING), ("_id", DESCENDING)]).limit(limit)]

    async def get_run(self, run_id: str, *, with_csv: bool = False) -> dict[str, Any] | None:
        projection = {"outbox": 0} if with_csv else {"outbox": 0, "csv": 0}
        return await self.runs.find_one({"_id": run_id}, projection)

    # ------------------------------------------------------------------ incidents (crisis mode)
    async def note_incident(self, state: dict[str, Any]) -> bool:
        """Keep an incident as its newest version says (an older or repeated version changes nothing)."""
        fields = {k: v for k, v in state.items() if k not in ("_id", "once")}
        try:
            result = await self.incidents.update_one(
                {"_id": state["_id"], "version": {"$lt": state["version"]}}, {"$set": fields}, upsert=True)
            changed = bool(result.modified_count or result.upserted_id)
        except DuplicateKeyError:  # the stored version is as new or newer
            changed = False
        if state.get("once"):  # the opening's facts, even when a later version arrived first
            await self.incidents.update_one({"_id": state["_id"]}, {"$set": state["once"]})
        return changed

    async def incident(self, incident_id: str) -> dict[str, Any] | None:
        return await self.incidents.find_one({"_id": incident_id})

    async def incidents_by_status(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"status": status} if status else {}
        cursor = self.incidents.find(query).sort([("opened_at", -1), ("_id", ASCENDING)]).limit(limit)
        return [d async for d in cursor]

    async def incident_facts(self, incident_id: str) -> list[TicketFact]:
        fields = {"ticket_id": 1, "status": 1, "sla_breaches": 1, "created_at": 1, "first_response_at": 1}
        return [from_doc(TicketFact, d) async for d in self.facts.find({"incident_id": incident_id}, fields)]
