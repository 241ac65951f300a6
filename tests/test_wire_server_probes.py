"""What the project relies on from the MongoDB wire server, probed directly (not through a service),
so a server upgrade that changes one of them shows here first, by name.

Found on SecantusDB 0.7.0b3: ``{"arr.field": {"$all": [a, b]}}`` over an array of documents matches
nothing (MongoDB matches a document whose array holds both); a single value works. The reporting
store spells that condition as ``$all`` of ``$elemMatch`` instead.

Also found there (issue 20): a filter with any top-level operator (``$and``, ``$or``) is answered by a
scan of the whole collection even when it pins ``_id``, and so is every ``findAndModify`` (the server
re-asserts the query under a ``$and`` for its write): measured 1 ms of server CPU for an ``update`` by
``_id`` against 12–30 ms for a ``findAndModify`` or a ``$and`` by ``_id`` in 1,000–3,000 documents.
Per-message writes therefore use ``update_one`` (its matched/modified count is the answer) on any
collection that grows with the tickets, and spell conditions without a top-level operator."""

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
    # the spelling the reporting store uses: $all of $elemMatch, no top-level operator
    assert await col.count_documents({"_id": 1, "pending": {"$all": [{"$elemMatch": {"id": "1:0"}},
                                                                      {"$elemMatch": {"id": "1:1"}}]}}) == 1
    assert await col.count_documents({"_id": 1, "pending": {"$all": [{"$elemMatch": {"id": "1:0"}},
                                                                      {"$elemMatch": {"id": "9:9"}}]}}) == 0


async def test_top_level_operators_and_find_and_modify_scan_the_collection(real_db: Any) -> None:
    """Printed, not asserted (a benchmark is never a timed test): server time of an update by ``_id``
    against the same update spelt with a top-level ``$and`` and as a ``findAndModify``."""
    import time

    col = real_db["probe_scan"]
    await col.insert_many([{"_id": i, "n": 0} for i in range(2000)])

    async def timed(op: Any) -> float:
        start = time.perf_counter()
        for i in range(20):
            await op(i)
        return (time.perf_counter() - start) / 20 * 1e3

    plain_ms = await timed(lambda i: col.update_one({"_id": i}, {"$inc": {"n": 1}}))
    and_ms = await timed(lambda i: col.update_one({"_id": i, "$and": [{"n": {"$gte": 0}}]}, {"$inc": {"n": 1}}))
    fam_ms = await timed(lambda i: col.find_one_and_update({"_id": i}, {"$inc": {"n": 1}}))
    print(f"\n2,000 documents: update by _id {plain_ms:.1f} ms, with a top-level $and {and_ms:.1f} ms, "
          f"findAndModify by _id {fam_ms:.1f} ms (MongoDB: all three an _id lookup)")
    assert (await col.find_one({"_id": 5}))["n"] == 3


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
