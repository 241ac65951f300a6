"""The classifier's store against the real MongoDB wire server (not the mock): a model of the real
shipped size is stored in chunks under the 16 MB document limit and reloads byte for byte."""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import UTC, datetime

import pytest
from pymongo.errors import DocumentTooLarge

from classifier.store import MODEL_CHUNK_BYTES, ClassifierStore


def meta(version: int) -> dict:
    return {"version": version, "trained_at": "2026-12-06T00:00:00Z", "examples": 1}


async def test_model_of_the_shipped_size_round_trips(real_db) -> None:
    store = ClassifierStore(real_db)
    await store.ensure_indexes()
    blob = os.urandom(24 * 1024 * 1024 + 123)  # a trained model is ~24 MB
    with pytest.raises(DocumentTooLarge):  # what the server refused before models were chunked
        await real_db["too_large"].insert_one({"blob": blob})
    assert await store.insert_model(meta(1), blob) is True
    assert await store.activate_model(1, at=datetime.now(UTC))
    doc, loaded = await store.active_model()
    assert loaded == blob and doc["sha256"] == hashlib.sha256(blob).hexdigest()
    assert doc["chunks"] == -(-len(blob) // MODEL_CHUNK_BYTES)
    assert await store.insert_model(meta(1), b"other") is False  # versions are immutable
    assert [m["_id"] for m in await store.list_models(10, 0)] == [1]


async def test_racing_replicas_never_mix_chunks(real_db) -> None:
    store = ClassifierStore(real_db)
    await store.ensure_indexes()
    a, b = os.urandom(9 * 1024 * 1024), os.urandom(9 * 1024 * 1024)
    won = await asyncio.gather(store.insert_model(meta(1), a), store.insert_model(meta(1), b))
    assert sorted(won) == [False, True]
    await store.activate_model(1, at=datetime.now(UTC))
    _, loaded = await store.active_model()
    assert loaded == (a if won[0] else b)
    assert await real_db["model_chunks"].count_documents({}) == 3  # the loser's chunks are gone


async def test_a_missing_chunk_is_refused(real_db) -> None:
    store = ClassifierStore(real_db)
    await store.insert_model(meta(1), os.urandom(MODEL_CHUNK_BYTES * 2 + 1))
    await store.activate_model(1, at=datetime.now(UTC))
    await real_db["model_chunks"].delete_one({"n": 1})
    with pytest.raises(ValueError, match="2 of its 3 chunks"):
        await store.active_model()


# ----------------------------------------------------------------------------- the knowledge base
def _item(item_id: str, status: str = "draft", version: int = 1) -> dict:
    current = {"title": f"title {item_id}", "body": "body", "version": version, "keywords": ["退款"]}
    return {"_id": item_id, "kind": "article", "topic": "refund", "lang": "zh", "status": status, "current": current,
            "published": current if status == "published" else None, "changed_at": datetime.now(UTC),
            "history": [{"version": version, "action": "created"}]}


async def test_knowledge_items_change_by_compare_and_set_with_their_history(real_db) -> None:
    from classifier.store import KnowledgeStore

    store = KnowledgeStore(real_db)
    await store.ensure_indexes()
    assert await store.generation() is None
    assert await store.insert(_item("KB-a"), []) == []
    assert await store.insert(_item("KB-a"), []) is None  # ids are unique
    first = await store.generation()
    racing = await asyncio.gather(*(
        store.change("KB-a", 1, "draft", {"current.version": 2, "current.title": f"edit {n}",
                                          "changed_at": datetime.now(UTC)}, {"version": 2, "action": "edited", "n": n},
                     []) for n in range(6)))
    assert sum(r is not None for r in racing) == 1  # one edit of version 1 wins, the others get a 409
    assert await store.generation() != first
    for version in range(2, 60):  # the history keeps the last 50 versions
        assert await store.change("KB-a", version, "draft", {"current.version": version + 1},
                                  {"version": version + 1, "action": "edited"}, []) is not None
    history = await store.history("KB-a")
    assert len(history) == KnowledgeStore.HISTORY_KEPT and history[-1]["version"] == 60
    assert await store.change("KB-a", 60, "published", {"status": "archived"}, {}, []) is None  # wrong status
    await store.insert(_item("KB-b", "published"), [])
    assert [d["_id"] for d in await store.published()] == ["KB-b"]
    docs, total = await store.find({"current.title": {"$regex": "title kb-b", "$options": "i"}}, 10, 0)
    assert total == 1 and docs[0]["_id"] == "KB-b" and "history" not in docs[0]


async def test_knowledge_feedback_is_recorded_once_per_change(real_db) -> None:
    from classifier.store import KnowledgeStore

    store = KnowledgeStore(real_db)
    await store.ensure_indexes()
    fields = {"ticket_id": "t1", "item_id": "KB-a", "staff_id": "A1", "what": "verdict"}
    key = "t1:KB-a:A1:verdict"
    assert await store.record_feedback(key, fields, {"action": "helpful"}, []) == []
    assert await store.record_feedback(key, fields, {"action": "helpful"}, []) is None  # the same verdict again
    assert await store.record_feedback(key, fields, {"action": "not_helpful"}, []) == []  # changed its mind
    racing = await asyncio.gather(*(store.record_feedback("t1:KB-a:A2:use", {**fields, "staff_id": "A2"},
                                                          {"action": "used"}, []) for _ in range(5)))
    assert sum(r is not None for r in racing) == 1
    mine = await store.feedback_of("t1", "A1")
    assert [(d["what"], d["action"]) for d in mine] == [("verdict", "not_helpful")]
    assert len(await store.feedback_of("t1")) == 2
