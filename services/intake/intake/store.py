"""Intake's MongoDB collections (the only MongoDB code of this service).

* ``tickets``          — one document per ticket; ``_id`` is derived from (channel, channel_message_id), so
                         a contact can never become two tickets; ticket_no comes from an atomic daily
                         counter; pending events in the document's ``outbox``; ``applied_events`` dedupes
                         consumed events; ``timeline`` holds the agents' notes and every status change
                         (written in the same update as the state, so it never disagrees with it);
                         ``version`` is the compare-and-set guard of every change.
* ``customers``        — customer profiles; personal data only as ciphertext (``encrypted``) + masked copies.
* ``customer_keys``    — keyed hash of each identifier (phone, e-mail, chat session …) → its customer
                         (``_id`` = the hash, so one owner per identifier).
* ``customer_changes`` — the change log of profiles (field, masked before → after, operator, time).
* ``audit_log``        — every key operation on tickets and customers (actor, action, time).
* ``counters``         — atomic daily ticket sequence and the customer sequence.
* ``evidence.files`` / ``evidence.chunks`` — GridFS bucket of the files staff attach to tickets
                         (:class:`EvidenceStore`); the ticket lists them in ``evidence``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from bson import ObjectId
from gridfs.errors import NoFile
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from contracts import Event
from servicekit.documents import from_doc, plain, to_doc
from servicekit.outbox import outbox_entries

from .domain import Customer, Ticket, TimelineEntry


class IntakeStore:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.tickets = db["tickets"]
        self.customers = db["customers"]
        self.customer_keys = db["customer_keys"]
        self.customer_changes = db["customer_changes"]
        self.audit_log = db["audit_log"]
        self.counters = db["counters"]

    async def ensure_indexes(self) -> None:
        # ticket numbers are unique by construction (atomic per-day counter); this index serves look-ups.
        await self.tickets.create_index("ticket_no", name="ticket_no")
        newest = [("created_at", DESCENDING), ("_id", DESCENDING)]
        await self.tickets.create_index(newest, name="created")
        for name in ("status", "priority", "channel", "assignee_id", "customer_id"):
            await self.tickets.create_index([(name, ASCENDING), *newest], name=f"{name}_created")
        await self.tickets.create_index([("status", ASCENDING), ("resolved_at", ASCENDING)], name="status_resolved")
        # conversations: a message's ticket by the channel's thread key, and "was this message applied?"
        await self.tickets.create_index([("thread_keys", ASCENDING), *newest], name="thread_keys")
        await self.tickets.create_index("applied_events", name="applied_events")
        await self.customers.create_index([("status", ASCENDING), ("last_contact_at", ASCENDING)], name="status_contact")
        await self.customers.create_index([("tier", ASCENDING), ("customer_no", ASCENDING)], name="tier_no")
        await self.customer_changes.create_index([("customer_id", ASCENDING), ("at", DESCENDING)], name="customer_at")
        await self.customer_changes.create_index("at", name="at")
        await self.audit_log.create_index([("subject_id", ASCENDING), ("at", DESCENDING)], name="subject_at")
        await self.audit_log.create_index("at", name="at")

    # ------------------------------------------------------------------ counters
    async def next_sequence(self, name: str) -> int:
        """The next number of a counter (ticket numbers per day, customer numbers), with no gap.

        The counter is created by a separate upsert the first time, not by an upserting
        find-and-modify: SecantusDB answers concurrent upserting find-and-modifies of a new ``_id`` with no
        document for all but one although it applied every increment (tests/test_wire_server_probes.py),
        which would burn numbers customers never see. One round trip once the counter exists."""
        for _ in range(2):
            doc = await self.counters.find_one_and_update(
                {"_id": name}, {"$inc": {"seq": 1}}, return_document=ReturnDocument.AFTER)
            if doc is not None:
                return int(doc["seq"])
            try:
                await self.counters.update_one({"_id": name}, {"$setOnInsert": {"seq": 0}}, upsert=True)
            except DuplicateKeyError:
                pass  # a concurrent first use created it
        raise RuntimeError(f"counter {name} could not be created")

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

    async def touch_customer(self, customer_id: str, now: datetime, add_sensitive: dict[str, tuple[str, str]]) -> None:
        """A new contact: reactivates a dormant customer, counts the ticket, fills in identifiers the
        profile did not hold yet (``field → (ciphertext, masked)``), never overwriting known ones."""
        await self.customers.update_one(
            {"_id": customer_id},
            {"$set": {"last_contact_at": now, "status": "active"}, "$inc": {"ticket_count": 1}},
        )
        for name, (token, masked) in add_sensitive.items():
            await self.customers.update_one(
                {"_id": customer_id, f"encrypted.{name}": {"$exists": False}},
                {"$set": {f"encrypted.{name}": token, f"masked.{name}": masked}},
            )

    async def update_customer(self, customer_id: str, set_fields: dict[str, Any], unset: list[str]) -> Customer | None:
        update: dict[str, Any] = {"$set": plain(set_fields)}
        if unset:
            update["$unset"] = {name: "" for name in unset}
        doc = await self.customers.find_one_and_update(
            {"_id": customer_id}, update, return_document=ReturnDocument.AFTER
        )
        return from_doc(Customer, doc) if doc else None

    async def list_customers(self, *, filters: dict[str, Any], limit: int, skip: int) -> list[Customer]:
        cursor = self.customers.find(plain(filters)).sort("customer_no", ASCENDING).skip(skip).limit(limit)
        return [from_doc(Customer, d) async for d in cursor]

    async def iter_customers(self, filters: dict[str, Any]) -> AsyncIterator[Customer]:
        async for doc in self.customers.find(plain(filters)).sort("customer_no", ASCENDING):
            yield from_doc(Customer, doc)

    async def dormant_candidates(self, cutoff: datetime, limit: int) -> list[Customer]:
        cursor = self.customers.find({"status": "active", "last_contact_at": {"$lte": cutoff}}).limit(limit)
        return [from_doc(Customer, d) async for d in cursor]

    async def mark_dormant(self, customer_id: str, cutoff: datetime, now: datetime) -> bool:
        result = await self.customers.update_one(
            {"_id": customer_id, "status": "active", "last_contact_at": {"$lte": cutoff}},
            {"$set": {"status": "dormant", "updated_at": now}},
        )
        return result.modified_count == 1

    async def add_changes(self, entries: list[dict[str, Any]]) -> None:
        if entries:
            await self.customer_changes.insert_many([plain(e) for e in entries])

    async def list_changes(self, customer_id: str, limit: int) -> list[dict[str, Any]]:
        cursor = self.customer_changes.find({"customer_id": customer_id}, {"_id": 0}).sort("at", DESCENDING).limit(limit)
        return [d async for d in cursor]

    # ------------------------------------------------------------------ audit and retention
    async def audit(self, entry: dict[str, Any]) -> None:
        await self.audit_log.insert_one(plain(entry))

    async def list_audit(self, subject_id: str, limit: int) -> list[dict[str, Any]]:
        cursor = self.audit_log.find({"subject_id": subject_id}, {"_id": 0}).sort("at", DESCENDING).limit(limit)
        return [d async for d in cursor]

    async def purge_before(self, cutoff: datetime) -> int:
        """Retention of the change log: drop entries older than ``cutoff`` (the audit log has its own
        retention in calendar months, BackupStore.purge_audit_before)."""
        return int((await self.customer_changes.delete_many({"at": {"$lt": cutoff}})).deleted_count)

    # ------------------------------------------------------------------ tickets
    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        doc = await self.tickets.find_one({"_id": ticket_id}, {"timeline": 0, "outbox": 0, "applied_events": 0})
        return from_doc(Ticket, doc) if doc else None

    async def get_timeline(self, ticket_id: str) -> list[TimelineEntry] | None:
        doc = await self.tickets.find_one({"_id": ticket_id}, {"timeline": 1})
        if doc is None:
            return None
        return [TimelineEntry.model_validate(e) for e in doc.get("timeline") or []]

    async def insert_ticket(
        self, ticket: Ticket, events: list[Event], timeline: list[TimelineEntry] | None = None
    ) -> list[dict[str, Any]] | None:
        """Insert the ticket with its pending events; None when the ticket (same channel message) exists."""
        entries = outbox_entries(*events)
        doc = to_doc(ticket, id_field="ticket_id")
        doc["outbox"] = entries
        doc["applied_events"] = []
        doc["timeline"] = [plain(e.model_dump()) for e in timeline or []]
        try:
            await self.tickets.insert_one(doc)
        except DuplicateKeyError:
            return None
        return entries

    async def commit(
        self, before: Ticket, after: Ticket, events: list[Event], timeline: list[TimelineEntry],
        *, applied_event: str | None = None,
    ) -> list[dict[str, Any]] | None:
        """Compare-and-set on ``version``: the state, its events (outbox) and timeline entries in one
        update. None when the ticket changed meanwhile, or ``applied_event`` was already applied."""
        entries = outbox_entries(*events)
        old, new = to_doc(before), to_doc(after.model_copy(update={"version": before.version + 1}))
        changed = {k: v for k, v in new.items() if old.get(k) != v}
        query: dict[str, Any] = {"_id": before.ticket_id, "version": before.version if before.version else {"$in": [0, None]}}
        push: dict[str, Any] = {}
        if entries:
            push["outbox"] = {"$each": entries}
        if timeline:
            push["timeline"] = {"$each": [plain(e.model_dump()) for e in timeline]}
        if applied_event:
            query["applied_events"] = {"$ne": applied_event}
            push["applied_events"] = applied_event
        update: dict[str, Any] = {"$set": changed}
        if push:
            update["$push"] = push
        result = await self.tickets.update_one(query, update)
        return entries if result.modified_count == 1 else None

    async def load_for_change(self, ticket_id: str, event_id: str | None = None) -> tuple[Ticket, bool] | None:
        """The ticket to decide a change on, and whether ``event_id`` was already applied to it, in one
        round trip (a ticket's applied-event list is short: the events consumed for it)."""
        doc = await self.tickets.find_one({"_id": ticket_id}, {"timeline": 0, "outbox": 0})
        if doc is None:
            return None
        applied_events = doc.pop("applied_events", None) or []
        return from_doc(Ticket, doc), event_id is not None and event_id in applied_events

    _BRIEF = {"timeline": 0, "outbox": 0, "applied_events": 0}

    async def find_by_reference(self, reference: str) -> Ticket | None:
        """The ticket a channel names: by ticket number (GD…) or intake's ticket id."""
        doc = await self.tickets.find_one({"$or": [{"ticket_no": reference}, {"_id": reference}]}, self._BRIEF)
        return from_doc(Ticket, doc) if doc else None

    async def find_by_thread(self, keys: list[str]) -> Ticket | None:
        """The newest ticket answering to one of the channel conversation keys."""
        cursor = self.tickets.find({"thread_keys": {"$in": keys}}, self._BRIEF).sort(
            [("created_at", DESCENDING), ("_id", DESCENDING)]).limit(1)
        docs = [d async for d in cursor]
        return from_doc(Ticket, docs[0]) if docs else None

    async def recent_open(self, customer_id: str, channel: str, statuses: list[str], since: datetime) -> Ticket | None:
        """The customer's most recently created ticket on the channel that is still open and was touched since
        ``since`` (served by the customer_id_created index)."""
        cursor = self.tickets.find({"customer_id": customer_id, "channel": channel, "status": {"$in": statuses},
                                    "updated_at": {"$gte": since}}, self._BRIEF).sort(
            [("created_at", DESCENDING), ("_id", DESCENDING)]).limit(1)
        docs = [d async for d in cursor]
        return from_doc(Ticket, docs[0]) if docs else None

    async def ticket_with_message(self, message_id: str) -> Ticket | None:
        """The ticket a customer message was already applied to (its id is in the applied list)."""
        doc = await self.tickets.find_one({"applied_events": message_id}, self._BRIEF)
        return from_doc(Ticket, doc) if doc else None

    async def ticket_exists(self, ticket_id: str) -> bool:
        return await self.tickets.find_one({"_id": ticket_id}, {"_id": 1}) is not None

    async def list_tickets(
        self, *, filters: dict[str, Any], limit: int, skip: int = 0, after: tuple[datetime, str] | None = None
    ) -> list[Ticket]:
        """Newest first; ``after`` = (created_at, ticket_id) of the last ticket of the previous page."""
        query: dict[str, Any] = plain(filters)
        if after is not None:
            at, tid = after
            query = {"$and": [query, {"$or": [{"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": tid}}]}]}
        cursor = (self.tickets.find(query, {"timeline": 0, "outbox": 0, "applied_events": 0})
                  .sort([("created_at", DESCENDING), ("_id", DESCENDING)]).skip(skip).limit(limit))
        return [from_doc(Ticket, d) async for d in cursor]

    async def due_for_auto_close(self, cutoff: datetime, limit: int) -> list[str]:
        cursor = self.tickets.find({"status": "resolved", "resolved_at": {"$lte": cutoff}}, {"_id": 1}).limit(limit)
        return [d["_id"] async for d in cursor]


class BackupStore:
    """Backups of customer data and audit-log retention (manual 003).

    * ``backups``        — one document per backup; ``_id`` names the period (``daily:2026-12-07``,
                           ``monthly:2026-12``; a manual run ``daily:2026-12-07~manual-…``), so two replicas or
                           a restart never run one twice; status, counts, sha256, key id and errors are
                           written into it. The export itself is a file, never a document (16 MB limit).
    * ``retention_runs`` — one document per daily audit-log purge (``audit:2026-12-07``): cutoff, count.

    Documents are read as the server's raw BSON (RawBSONDocument) so a backup holds them byte for byte."""

    def __init__(self, db: Any) -> None:
        from bson.codec_options import CodecOptions
        from bson.raw_bson import RawBSONDocument

        from servicekit.mongo import is_mock

        self.db = db
        self.backups = db["backups"]
        self.retention_runs = db["retention_runs"]
        self.audit_log = db["audit_log"]
        self._mock = is_mock(db)
        raw = CodecOptions(document_class=RawBSONDocument)
        self._raw = {name: db[name] if self._mock else db[name].with_options(codec_options=raw)
                     for name in ("customers", "customer_keys", "customer_changes")}

    async def ensure_indexes(self) -> None:
        await self.backups.create_index([("claimed_at", DESCENDING)], name="claimed")
        await self.backups.create_index([("status", ASCENDING), ("lease_until", ASCENDING)], name="status_lease")
        customers = self.db["customers"]
        for name in ("first_contact_at", "last_contact_at", "updated_at"):
            await customers.create_index(name, name=f"backup_{name}")
        await self.db["customer_keys"].create_index("customer_id", name="customer_id")

    # ------------------------------------------------------------------ claims (backups and purges alike)
    async def claim(self, collection: str, run_id: str, fields: dict[str, Any], *, now: datetime,
                    lease_until: datetime, token: str) -> dict[str, Any] | None:
        """Take the run ``run_id``: a new one, or a failed one whose retry time has come. None when it is
        done, running, or failed and waiting for its retry."""
        target = self.db[collection]
        running = {"status": "running", "token": token, "claimed_at": now, "lease_until": lease_until,
                   "error": None, "retry_at": None}
        try:
            doc = {"_id": run_id, **plain(fields), **running, "attempts": 1}
            await target.insert_one(doc)
            return doc
        except DuplicateKeyError:
            pass
        return await target.find_one_and_update(
            {"_id": run_id, "status": "failed", "retry_at": {"$lte": now}},
            {"$set": running, "$inc": {"attempts": 1}}, return_document=ReturnDocument.AFTER)

    async def finish(self, collection: str, run_id: str, token: str, fields: dict[str, Any]) -> bool:
        """Record a run's result, unless another attempt took it over meanwhile."""
        result = await self.db[collection].update_one({"_id": run_id, "token": token}, {"$set": plain(fields)})
        return result.modified_count == 1

    async def expire_stale(self, collection: str, now: datetime) -> int:
        """Runs whose process stopped mid-way (lease over) become failed, to be retried."""
        result = await self.db[collection].update_many(
            {"status": "running", "lease_until": {"$lt": now}},
            {"$set": {"status": "failed", "error": "interrupted: the process stopped during the run",
                      "retry_at": now, "finished_at": now}})
        return result.modified_count

    async def running_manual(self, kind: str) -> bool:
        return await self.backups.find_one({"kind": kind, "trigger": "manual", "status": "running"}, {"_id": 1}) is not None

    async def list_backups(self, limit: int) -> list[dict[str, Any]]:
        cursor = self.backups.find({}, {"token": 0}).sort([("claimed_at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return [d async for d in cursor]

    async def latest_done(self, kind: str) -> datetime | None:
        docs = [d async for d in self.backups.find({"kind": kind, "status": "done"}, {"finished_at": 1}).sort(
            "finished_at", DESCENDING).limit(1)]
        return docs[0]["finished_at"] if docs else None

    async def get_backup(self, backup_id: str) -> dict[str, Any] | None:
        return await self.backups.find_one({"_id": backup_id}, {"token": 0})

    # ------------------------------------------------------------------ what a backup holds (raw BSON)
    async def _stream(self, collection: str, query: dict[str, Any]) -> AsyncIterator[tuple[Any, bytes]]:
        import bson
        from bson.codec_options import CodecOptions

        options = CodecOptions(tz_aware=True, uuid_representation=4)
        async for doc in self._raw[collection].find(plain(query), batch_size=500):
            raw = doc.raw if hasattr(doc, "raw") else bson.encode(doc, codec_options=options)
            yield doc["_id"], raw

    async def changed_customers(self, start: datetime, end: datetime) -> AsyncIterator[tuple[Any, bytes]]:
        """Customers created, contacted or changed in [start, end) (BSON), then those whose change-log
        entries fall in the window but whose profile says otherwise — each once."""
        seen: set[Any] = set()
        window = {"$gte": start, "$lt": end}
        query = {"$or": [{"first_contact_at": window}, {"last_contact_at": window}, {"updated_at": window}]}
        async for customer_id, raw in self._stream("customers", query):
            seen.add(customer_id)
            yield customer_id, raw
        logged = [c for c in await self.db["customer_changes"].distinct("customer_id", {"at": window}) if c not in seen]
        for i in range(0, len(logged), 500):
            async for customer_id, raw in self._stream("customers", {"_id": {"$in": logged[i:i + 500]}}):
                yield customer_id, raw

    async def keys_of(self, customer_ids: list[Any]) -> AsyncIterator[bytes]:
        for i in range(0, len(customer_ids), 500):
            async for _, raw in self._stream("customer_keys", {"customer_id": {"$in": customer_ids[i:i + 500]}}):
                yield raw

    async def changes_between(self, start: datetime | None, end: datetime | None) -> AsyncIterator[bytes]:
        query = {"at": {"$gte": start, "$lt": end}} if start and end else {}
        async for _, raw in self._stream("customer_changes", query):
            yield raw

    async def all_of(self, collection: str) -> AsyncIterator[bytes]:
        async for _, raw in self._stream(collection, {}):
            yield raw

    # ------------------------------------------------------------------ audit retention
    async def purge_audit_before(self, cutoff: datetime) -> int:
        return int((await self.audit_log.delete_many({"at": {"$lt": cutoff}})).deleted_count)

    async def oldest_audit_at(self) -> datetime | None:
        docs = [d async for d in self.audit_log.find({}, {"at": 1}).sort("at", ASCENDING).limit(1)]
        return docs[0]["at"] if docs else None

    async def last_retention_run(self) -> dict[str, Any] | None:
        docs = [d async for d in self.retention_runs.find({"status": "done"}, {"token": 0}).sort(
            "finished_at", DESCENDING).limit(1)]
        return docs[0] if docs else None


# ---------------------------------------------------------------------------------------------- evidence
EVIDENCE_BUCKET = "evidence"
EVIDENCE_CHUNK_BYTES = 255 * 1024


class EvidenceUpload:
    """One file being written to the bucket: ``write`` chunks, then ``close`` (or ``abort``: nothing stays)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.file_id = str(stream._id)

    async def write(self, data: bytes) -> None:
        await self._stream.write(data)

    async def close(self) -> None:
        await self._stream.close()

    async def abort(self) -> None:
        await self._stream.abort()


class EvidenceStore:
    """Evidence files of tickets in intake's database: GridFS bucket ``evidence`` (``evidence.files`` +
    ``evidence.chunks``, the standard layout any MongoDB tool reads) through motor's GridFS bucket.
    Checked on the SecantusDB wire server: streamed upload, multi-chunk download, delete and abort
    (no chunk left behind) behave as on MongoDB; nothing needed working around. Each file's metadata
    holds its ticket, uploader, detected type and SHA-256; a file is only ever served for the ticket it
    was uploaded to. The in-memory store (mongomock) has no GridFS: ``available`` is False there and the
    API answers 503."""

    def __init__(self, db: Any) -> None:
        from servicekit.mongo import is_mock

        self.available = not is_mock(db)
        self.db = db
        self.files = db[f"{EVIDENCE_BUCKET}.files"]
        self.tickets = db["tickets"]
        self._bucket: Any = None

    @property
    def bucket(self) -> Any:
        """Made on first use, inside the running event loop: motor's bucket binds its client to the loop that
        is current when it is made (one made at wiring time would tie the client to a loop that never runs)."""
        if self._bucket is None:
            from motor.motor_asyncio import AsyncIOMotorGridFSBucket

            self._bucket = AsyncIOMotorGridFSBucket(self.db, bucket_name=EVIDENCE_BUCKET,
                                                    chunk_size_bytes=EVIDENCE_CHUNK_BYTES)
        return self._bucket

    async def ensure_indexes(self) -> None:
        if self.available:
            await self.files.create_index([("metadata.ticket_id", ASCENDING), ("uploadDate", ASCENDING)],
                                          name="ticket_uploaded")
            await self.files.create_index("uploadDate", name="uploaded")

    def open_upload(self, name: str, metadata: dict[str, Any]) -> EvidenceUpload:
        return EvidenceUpload(self.bucket.open_upload_stream(name, metadata=plain(metadata)))

    async def finish(self, file_id: str, content_type: str, size: int, sha256: str) -> None:
        """Record what only the end of the upload knows (type, size, digest) in the file's metadata."""
        await self.files.update_one({"_id": ObjectId(file_id)}, {"$set": {
            "metadata.content_type": content_type, "metadata.size": size, "metadata.sha256": sha256}})

    async def open_download(self, ticket_id: str, file_id: str) -> Any | None:
        """The file's download stream (``readchunk()``, ``length``, ``metadata``); None when there is no such
        file of that ticket."""
        if not ObjectId.is_valid(file_id):
            return None
        doc = await self.files.find_one({"_id": ObjectId(file_id), "metadata.ticket_id": ticket_id}, {"_id": 1})
        if doc is None:
            return None
        try:
            return await self.bucket.open_download_stream(ObjectId(file_id))
        except NoFile:
            return None

    async def delete(self, file_id: str) -> bool:
        """Delete a file and its chunks; False when it was not there (already deleted)."""
        try:
            await self.bucket.delete(ObjectId(file_id))
        except NoFile:
            return False
        return True

    async def stored_before(self, cutoff: datetime, limit: int) -> list[tuple[str, str]]:
        """(file id, ticket id) of files uploaded before ``cutoff``, oldest first (for the orphan sweep)."""
        cursor = self.files.find({"uploadDate": {"$lt": cutoff}}, {"metadata.ticket_id": 1}).sort(
            "uploadDate", ASCENDING).limit(limit)
        return [(str(d["_id"]), (d.get("metadata") or {}).get("ticket_id", "")) async for d in cursor]

    async def ticket_file_ids(self, ticket_id: str) -> set[str]:
        """The file ids the ticket lists (its ``evidence``)."""
        doc = await self.tickets.find_one({"_id": ticket_id}, {"evidence.file_id": 1})
        return {e["file_id"] for e in (doc or {}).get("evidence") or []}
