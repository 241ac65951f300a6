"""What the project relies on from the MongoDB wire server, probed directly (not through a service),
so a server upgrade that changes one of them shows here first, by name.

Found on SecantusDB 0.7.0b3: ``{"arr.field": {"$all": [a, b]}}`` over an array of documents matches
nothing (MongoDB matches a document whose array holds both); a single value works. The reporting
store spells that condition as ``$and`` of equalities instead."""

from __future__ import annotations

from typing import Any


async def test_and_of_equalities_over_an_array_of_documents(real_db: Any) -> None:
    col = real_db["probe_all"]
    await col.insert_one({"_id": 1, "pending": [{"id": "1:0"}, {"id": "1:1"}]})
    assert await col.count_documents({"$and": [{"pending.id": "1:0"}, {"pending.id": "1:1"}]}) == 1
    assert await col.count_documents({"$and": [{"pending.id": "1:0"}, {"pending.id": "9:9"}]}) == 0
    assert await col.count_documents({"pending.id": {"$all": ["1:0"]}}) == 1
    both = await col.count_documents({"pending.id": {"$all": ["1:0", "1:1"]}})
    print(f"\n$all with two values over an array of documents matched {both} (MongoDB: 1)")


async def test_a_transaction_commits_all_or_nothing_and_retries_conflicts(real_db: Any) -> None:
    import asyncio

    from servicekit.mongo import atomically

    col = real_db["probe_txn"]
    await col.insert_many([{"_id": 1, "n": 0}, {"_id": 2, "n": 0}])

    async def bump(session: Any) -> None:
        doc = await col.find_one({"_id": 1}, session=session)
        await asyncio.sleep(0.005)
        await col.update_one({"_id": 1}, {"$set": {"n": doc["n"] + 1}}, session=session)
        await col.update_one({"_id": 2}, {"$inc": {"n": 1}}, session=session)

    await asyncio.gather(*(atomically(real_db, bump) for _ in range(8)))
    assert [d["n"] async for d in col.find({}).sort("_id")] == [8, 8]

    class Boom(Exception):
        pass

    async def half(session: Any) -> None:
        await col.update_one({"_id": 2}, {"$inc": {"n": 100}}, session=session)
        raise Boom

    try:
        await atomically(real_db, half)
    except Boom:
        pass
    assert (await col.find_one({"_id": 2}))["n"] == 8


async def test_concurrent_first_use_of_a_counter_numbers_without_gaps(real_db: Any) -> None:
    """SecantusDB 0.7.0b3 answers concurrent upserting find-and-modifies of a missing ``_id`` with
    ``value: null`` for all but one of them, although it applied every increment (MongoDB retries the
    losers as updates and returns their documents). Counters are therefore created by a plain upsert
    first (intake's next_sequence): 12 concurrent first uses get 1..12."""
    import asyncio

    from pymongo import ReturnDocument

    from intake.store import IntakeStore

    col = real_db["probe_upsert"]
    answers = await asyncio.gather(*(col.find_one_and_update(
        {"_id": "k"}, {"$inc": {"n": 1}}, upsert=True, return_document=ReturnDocument.AFTER) for _ in range(6)))
    print(f"\nupserting find-and-modify x6 on a new _id: {sum(a is None for a in answers)} answered no document; "
          f"stored n={(await col.find_one({'_id': 'k'}))['n']} (MongoDB: 0 and 6)")
    store = IntakeStore(real_db)
    numbers = await asyncio.gather(*(store.next_sequence("ticket:20261206") for _ in range(12)))
    assert sorted(numbers) == list(range(1, 13))
