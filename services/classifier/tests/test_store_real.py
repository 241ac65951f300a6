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
