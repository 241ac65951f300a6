"""Classifier's MongoDB collections (the only MongoDB code of this service).

* ``rulesets``        — one document per rule set version (``_id`` = version), the ordered rules and
                        an ``active`` flag; v1 is seeded when no rule set is active.
* ``classifications`` — one document per ticket (``_id`` = ticket_id): the result, the ticket.created
                        event it answers (``source_event_id``) and the pending events in ``outbox``.
                        The ``_id`` is the natural idempotency key: a ticket is classified once;
                        later changes (manual override, reopen) compare-and-set on ``revision``
                        and keep the earlier results in ``history``. ``corrected`` documents are
                        the supervisors' labelled examples for the next training run.
* ``models``          — one document per trained model version (``_id`` = version): training figures,
                        the sha256, size and chunk count of the pickled model, an ``active`` flag.
* ``model_chunks``    — the pickled model in pieces of ``MODEL_CHUNK_BYTES`` (``_id`` = "<blob_key>:<n>"):
                        a trained model is ~24 MB, over MongoDB's 16 MB document limit. Chunks are
                        written before the model document, so a model is never visible half-stored;
                        the checksum is verified on every load. (Models of earlier releases kept the
                        whole pickle in ``blob`` and still load.)
* ``revisions``       — the change history of rule sets and models (who, what, when), each with the
                        ``classifier.config_activated`` event in its outbox (hot reload of replicas).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from contracts import Event
from servicekit.documents import from_doc, plain, to_doc
from servicekit.outbox import outbox_entries

from .domain import ClassificationRecord, RuleSet

MODEL_CHUNK_BYTES = 4 * 1024 * 1024
"""Well under MongoDB's 16 MB document limit (BSON overhead, and servers that keep a margin)."""


class ClassifierStore:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.rulesets = db["rulesets"]
        self.classifications = db["classifications"]
        self.models = db["models"]
        self.model_chunks = db["model_chunks"]
        self.revisions = db["revisions"]

    async def ensure_indexes(self) -> None:
        await self.rulesets.create_index(
            [("active", ASCENDING), ("version", DESCENDING)], name="active_version"
        )
        await self.classifications.create_index("ticket_no", name="ticket_no")
        await self.classifications.create_index(
            [("result.category", ASCENDING), ("classified_at", DESCENDING)], name="category_classified"
        )
        await self.classifications.create_index("corrected", name="corrected")
        await self.models.create_index([("active", ASCENDING), ("version", DESCENDING)], name="active_version")
        await self.model_chunks.create_index([("blob_key", ASCENDING), ("n", ASCENDING)], name="blob_key_n")
        await self.revisions.create_index([("at", DESCENDING)], name="at")

    # ------------------------------------------------------------------ rule sets
    async def active_ruleset(self) -> RuleSet | None:
        """The most recently activated rule set (the newest version when none records its activation)."""
        cursor = self.rulesets.find({"active": True}).sort([("activated_at", DESCENDING), ("version", DESCENDING)])
        async for doc in cursor.limit(1):
            return from_doc(RuleSet, doc)
        return None

    async def get_ruleset(self, version: int) -> RuleSet | None:
        doc = await self.rulesets.find_one({"_id": version})
        return from_doc(RuleSet, doc) if doc else None

    async def list_rulesets(self, limit: int, skip: int) -> list[dict[str, Any]]:
        cursor = self.rulesets.find({}, {"rules": 0}).sort("version", DESCENDING).skip(skip).limit(limit)
        return [doc async for doc in cursor]

    async def count_rulesets(self) -> int:
        return await self.rulesets.count_documents({})

    async def next_ruleset_version(self) -> int:
        async for doc in self.rulesets.find({}, {"_id": 1}).sort("_id", DESCENDING).limit(1):
            return int(doc["_id"]) + 1
        return 1

    async def insert_ruleset(self, ruleset: RuleSet) -> bool:
        """Store a rule set version; False when that version already exists (versions are immutable)."""
        try:
            await self.rulesets.insert_one(to_doc(ruleset, id_field="version"))
            return True
        except DuplicateKeyError:
            return False

    async def activate_ruleset(self, version: int, at: datetime | None = None) -> bool:
        """Make ``version`` the active rule set (it is marked first, the others are cleared after, so
        there is never a moment without an active rule set)."""
        fields: dict[str, Any] = {"active": True}
        if at is not None:
            fields["activated_at"] = at
        result = await self.rulesets.update_one({"_id": version}, {"$set": fields})
        if result.matched_count != 1:
            return False
        await self.rulesets.update_many({"_id": {"$ne": version}, "active": True}, {"$set": {"active": False}})
        return True

    # ------------------------------------------------------------------ models
    async def insert_model(self, meta: dict[str, Any], blob: bytes) -> bool:
        """Store a model version: its chunks first (keyed by the blob's checksum, so replicas racing on
        one version never mix their pieces), then the document that makes it visible. False when that
        version already exists; the loser's chunks are removed."""
        version = meta["version"]
        if await self.models.count_documents({"_id": version}, limit=1):
            return False
        sha = hashlib.sha256(blob).hexdigest()
        key = f"{version}:{sha[:16]}"
        pieces = [blob[i:i + MODEL_CHUNK_BYTES] for i in range(0, len(blob), MODEL_CHUNK_BYTES)] or [b""]
        for n, piece in enumerate(pieces):
            await self.model_chunks.replace_one(
                {"_id": f"{key}:{n}"}, {"blob_key": key, "n": n, "data": piece}, upsert=True)
        doc = {**meta, "_id": version, "sha256": sha, "size": len(blob), "blob_key": key,
               "chunks": len(pieces), "active": False}
        try:
            await self.models.insert_one(doc)
            return True
        except DuplicateKeyError:
            winner = await self.models.find_one({"_id": version}, {"blob_key": 1})
            if not winner or winner.get("blob_key") != key:
                await self.model_chunks.delete_many({"blob_key": key})
            return False

    async def _model_blob(self, doc: dict[str, Any]) -> bytes:
        if "blob" in doc:  # stored whole by an earlier release
            return bytes(doc.pop("blob"))
        cursor = self.model_chunks.find({"blob_key": doc["blob_key"]}).sort("n", ASCENDING)
        parts = [chunk async for chunk in cursor]
        if [p["n"] for p in parts] != list(range(int(doc["chunks"]))):
            raise ValueError(f"model v{doc['_id']} has {len(parts)} of its {doc['chunks']} chunks")
        return b"".join(bytes(p["data"]) for p in parts)

    async def next_model_version(self) -> int:
        async for doc in self.models.find({}, {"_id": 1}).sort("_id", DESCENDING).limit(1):
            return int(doc["_id"]) + 1
        return 1

    async def active_model(self) -> tuple[dict[str, Any], bytes] | None:
        """Metadata and the verified blob of the most recently activated model."""
        cursor = self.models.find({"active": True}).sort([("activated_at", DESCENDING), ("version", DESCENDING)])
        async for doc in cursor.limit(1):
            blob = await self._model_blob(doc)
            if hashlib.sha256(blob).hexdigest() != doc.get("sha256"):
                raise ValueError(f"model v{doc['_id']} fails its checksum")
            return doc, blob
        return None

    async def active_model_version(self) -> int | None:
        cursor = self.models.find({"active": True}, {"_id": 1}).sort(
            [("activated_at", DESCENDING), ("version", DESCENDING)])
        async for doc in cursor.limit(1):
            return int(doc["_id"])
        return None

    async def activate_model(self, version: int, at: datetime) -> bool:
        result = await self.models.update_one({"_id": version}, {"$set": {"active": True, "activated_at": at}})
        if result.matched_count != 1:
            return False
        await self.models.update_many({"_id": {"$ne": version}, "active": True}, {"$set": {"active": False}})
        return True

    async def list_models(self, limit: int, skip: int) -> list[dict[str, Any]]:
        cursor = self.models.find({}, {"blob": 0, "outbox": 0}).sort("_id", DESCENDING).skip(skip).limit(limit)
        return [doc async for doc in cursor]

    async def count_models(self) -> int:
        return await self.models.count_documents({})

    # ------------------------------------------------------------------ revisions
    async def insert_revision(self, revision: dict[str, Any], events: list[Event]) -> list[dict[str, Any]]:
        entries = outbox_entries(*events)
        await self.revisions.insert_one({**revision, "outbox": entries})
        return entries

    async def list_revisions(self, kind: str | None, limit: int, skip: int) -> list[dict[str, Any]]:
        query = {"kind": kind} if kind else {}
        cursor = self.revisions.find(query, {"outbox": 0}).sort("at", DESCENDING).skip(skip).limit(limit)
        return [doc async for doc in cursor]

    async def count_revisions(self, kind: str | None) -> int:
        return await self.revisions.count_documents({"kind": kind} if kind else {})

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

    async def update_classification(
        self, ticket_id: str, expected_revision: int, fields: dict[str, Any], *, history: dict[str, Any] | None,
        events: list[Event], applied_event: str | None = None,
    ) -> list[dict[str, Any]] | None:
        """Compare-and-set a classification on its ``revision`` with its pending events in the same
        write; None when the revision moved on (a concurrent change won)."""
        entries = outbox_entries(*events)
        update: dict[str, Any] = {"$set": plain(fields), "$inc": {"revision": 1}}
        push: dict[str, Any] = {}
        if entries:
            push["outbox"] = {"$each": entries}
        if history is not None:
            push["history"] = history
        if applied_event:
            push["applied_events"] = applied_event
        if push:
            update["$push"] = push
        result = await self.classifications.update_one({"_id": ticket_id, "revision": expected_revision}, update)
        return entries if result.modified_count == 1 else None

    async def note_applied_event(self, ticket_id: str, event_id: str, fields: dict[str, Any]) -> None:
        """Remember an event that changed nothing (idempotency), with bookkeeping fields."""
        await self.classifications.update_one(
            {"_id": ticket_id}, {"$addToSet": {"applied_events": event_id}, "$set": plain(fields)}
        )

    async def has_applied(self, ticket_id: str, event_id: str) -> bool:
        return await self.classifications.count_documents({"_id": ticket_id, "applied_events": event_id}) > 0

    async def corrections(self, limit: int = 50_000) -> list[ClassificationRecord]:
        """Supervisor-corrected classifications: labelled examples for the next training run."""
        cursor = self.classifications.find({"corrected": True}, {"outbox": 0, "history": 0}).limit(limit)
        return [from_doc(ClassificationRecord, doc) async for doc in cursor]
