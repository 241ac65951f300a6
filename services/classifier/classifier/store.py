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
* ``knowledge``, ``knowledge_feedback`` — the knowledge base, see :class:`KnowledgeStore`.
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


class KnowledgeStore:
    """The knowledge base's collections (issue 17):

    * ``knowledge``          — one document per article or reply template (``_id`` = ``KB-…``/``TPL-…``): its
                               ``status``, the ``current`` version (what authors edit), the ``published``
                               version (what agents and the matcher see; an edit of a published item is a new
                               draft version until it is published), the last 50 versions in ``history`` (who
                               did what, when, with the content: the audit trail) and pending events in
                               ``outbox``. Every change is one compare-and-set on ``current.version`` and
                               ``status``, its ``knowledge.changed`` event in the same write.
    * ``knowledge_feedback`` — one document per (ticket, item, agent, use | verdict): an agent's use of an
                               item and their last verdict on it, each change with its ``knowledge.feedback``
                               event in the same write.
    The suggestions of a ticket live on its classification (``classifications.suggestions``)."""

    HISTORY_KEPT = 50

    def __init__(self, db: Any) -> None:
        self.items = db["knowledge"]
        self.feedback = db["knowledge_feedback"]

    async def ensure_indexes(self) -> None:
        await self.items.create_index([("status", ASCENDING), ("kind", ASCENDING), ("changed_at", DESCENDING)],
                                      name="status_kind_changed")
        await self.items.create_index([("changed_at", DESCENDING)], name="changed_at")
        await self.items.create_index([("topic", ASCENDING), ("lang", ASCENDING)], name="topic_lang")
        await self.feedback.create_index([("ticket_id", ASCENDING), ("staff_id", ASCENDING)], name="ticket_staff")

    async def generation(self) -> tuple[Any, ...] | None:
        """What changes whenever any item changes (the newest change and how many items exist): a replica
        whose index was built at another generation rebuilds it. Two indexed look-ups."""
        async for doc in self.items.find({}, {"changed_at": 1, "current.version": 1}).sort(
                "changed_at", DESCENDING).limit(1):
            return (doc.get("changed_at"), doc["_id"], doc.get("current", {}).get("version"),
                    await self.items.estimated_document_count())
        return None

    async def published(self) -> list[dict[str, Any]]:
        cursor = self.items.find({"status": "published"}, {"kind": 1, "topic": 1, "lang": 1, "published": 1})
        return [doc async for doc in cursor]

    async def get(self, item_id: str, *, history: bool = False) -> dict[str, Any] | None:
        return await self.items.find_one({"_id": item_id}, None if history else {"history": 0, "outbox": 0})

    async def get_many(self, item_ids: list[str]) -> dict[str, dict[str, Any]]:
        cursor = self.items.find({"_id": {"$in": item_ids}}, {"history": 0, "outbox": 0})
        return {doc["_id"]: doc async for doc in cursor}

    async def find(self, query: dict[str, Any], limit: int, skip: int) -> tuple[list[dict[str, Any]], int]:
        cursor = self.items.find(query, {"history": 0, "outbox": 0}).sort(
            [("changed_at", DESCENDING), ("_id", ASCENDING)]).skip(skip).limit(limit)
        return [doc async for doc in cursor], await self.items.count_documents(query)

    async def count(self) -> int:
        return await self.items.count_documents({})

    async def insert(self, doc: dict[str, Any], events: list[Event]) -> list[dict[str, Any]] | None:
        """A new item with its first history entry and events; None when the id exists."""
        entries = outbox_entries(*events)
        try:
            await self.items.insert_one({**plain(doc), "outbox": entries})
        except DuplicateKeyError:
            return None
        return entries

    async def change(
        self, item_id: str, expected_version: int, expected_status: str, fields: dict[str, Any],
        history: dict[str, Any], events: list[Event],
    ) -> list[dict[str, Any]] | None:
        """Compare-and-set an item on its current version and status, with a history entry and its events in
        the same write; None when someone else changed it first."""
        entries = outbox_entries(*events)
        result = await self.items.update_one(
            {"_id": item_id, "current.version": expected_version, "status": expected_status},
            {"$set": plain(fields), "$push": {"history": {"$each": [plain(history)], "$slice": -self.HISTORY_KEPT},
                                              "outbox": {"$each": entries}}})
        return entries if result.modified_count == 1 else None

    async def history(self, item_id: str) -> list[dict[str, Any]] | None:
        doc = await self.items.find_one({"_id": item_id}, {"history": 1})
        return None if doc is None else list(doc.get("history", []))

    async def record_feedback(
        self, key: str, fields: dict[str, Any], changed: dict[str, Any], events: list[Event],
    ) -> list[dict[str, Any]] | None:
        """Upsert an agent's use of / verdict on an item; its events only when ``changed`` (the fields that
        make it news, e.g. the verdict) differ from what is stored. None: nothing changed."""
        entries = outbox_entries(*events)
        differs = {"$or": [{name: {"$ne": value}} for name, value in changed.items()]}
        try:
            result = await self.feedback.update_one(
                {"_id": key, **differs}, {"$set": plain({**fields, **changed}), "$push": {"outbox": {"$each": entries}}},
                upsert=True)
        except DuplicateKeyError:  # the key exists with the same values: the filter missed, the upsert collided
            return None
        return entries if (result.modified_count == 1 or result.upserted_id is not None) else None

    async def feedback_of(self, ticket_id: str, staff_id: str | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"ticket_id": ticket_id}
        if staff_id is not None:
            query["staff_id"] = staff_id
        return [doc async for doc in self.feedback.find(query, {"outbox": 0})]
