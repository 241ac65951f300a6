"""The in-memory backend answers `_id` lookups directly and still matches mongomock's own results."""

from __future__ import annotations

from servicekit.mongo import _pinned_ids, open_mongo
from servicekit.settings import ServiceSettings


def test_pinned_ids() -> None:
    assert _pinned_ids({"_id": "a"}) == ["a"]
    assert _pinned_ids({"_id": {"$in": ["a", "b", "a"]}, "x": 1}) == ["a", "b"]
    assert _pinned_ids({"_id": {"$eq": 3}}) == [3]
    assert _pinned_ids({"_id": {"$ne": "a"}}) is None
    assert _pinned_ids({"x": 1}) is None
    assert _pinned_ids({"_id": {"$in": [{"a": 1}]}}) is None


async def test_id_lookups_match_full_scans() -> None:
    mongo = open_mongo(ServiceSettings(service_name="mongo-test"))
    coll = mongo.db["things"]
    await coll.insert_many([{"_id": f"k{i}", "n": i, "tags": ["even" if i % 2 == 0 else "odd"]} for i in range(50)])
    cases = [
        {"_id": "k3"},
        {"_id": "missing"},
        {"_id": {"$in": ["k1", "k2", "nope", "k40"]}},
        {"_id": {"$in": ["k1", "k2"]}, "tags": "even"},
        {"_id": "k4", "n": {"$gt": 10}},
    ]
    for query in cases:
        fast = sorted([d["_id"] async for d in coll.find(query)])
        scan = sorted([d["_id"] async for d in coll.find({"$and": [query]})])
        assert fast == scan, query
    doc = await coll.find_one_and_update({"_id": "k5", "tags": {"$ne": "even"}}, {"$inc": {"n": 100}},
                                         return_document=True)
    assert doc["n"] == 105
    assert await coll.find_one_and_update({"_id": "k6", "tags": {"$ne": "even"}}, {"$inc": {"n": 1}}) is None
    assert (await coll.update_one({"_id": "k7"}, {"$set": {"n": -1}})).modified_count == 1
    assert await coll.count_documents({"_id": {"$in": ["k7", "k8", "zz"]}}) == 2
