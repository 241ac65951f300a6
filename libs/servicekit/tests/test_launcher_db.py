"""The launcher's restart back-off, the database description shown in logs and /health/ready, and the
local database server's lifecycle (a real SecantusDB process)."""

from __future__ import annotations

import time
from pathlib import Path

from pymongo import MongoClient, WriteConcern

from servicekit.launcher import Restarts
from servicekit.localdb import LocalMongo
from servicekit.mongo import describe_url


def test_back_off_doubles_to_thirty_seconds_and_resets_after_a_stable_minute() -> None:
    book = Restarts()
    delays = [round(book.exited(uptime=1.0)) for _ in range(8)]
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]
    assert book.count == 8
    assert round(book.exited(uptime=120.0)) == 1 and book.count == 9  # stayed up: back to a quick restart
    assert book.due is not None and book.due > time.monotonic()


def test_database_description_never_shows_credentials() -> None:
    assert describe_url("mongodb://app:s3cret@db1:27017,db2:27017/?replicaSet=rs0") == "mongodb://db1:27017,db2:27017/"
    assert describe_url(None).startswith("in memory")


def test_local_server_keeps_journaled_writes_across_a_kill(tmp_path: Path) -> None:
    """What servicekit.mongo's write concern (majority, j) buys: writes acknowledged by the server
    survive its SIGKILL right after (plain w:1 writes did not, seen on SecantusDB 0.7.0b3)."""
    server = LocalMongo(storage=str(tmp_path / "data"), log_path=tmp_path / "secantusd.log").start()
    try:
        with MongoClient(server.url, serverSelectionTimeoutMS=5000) as client:
            client.t.get_collection("c", write_concern=WriteConcern(w="majority", j=True)).insert_many(
                [{"_id": i} for i in range(100)])
        port = server.port
        server.stop(kill=True)
        assert not server.alive()
        server.start()
        assert server.port == port
        with MongoClient(server.url, serverSelectionTimeoutMS=5000) as client:
            assert client.t.c.count_documents({}) == 100
    finally:
        server.stop()


async def test_services_write_with_a_journaled_write_concern(mongodb_url: str) -> None:
    from servicekit.mongo import open_mongo
    from servicekit.settings import ServiceSettings

    handle = open_mongo(ServiceSettings(mongodb_url=mongodb_url, mongodb_database="wc_probe"))
    try:
        concern = handle.db["c"].write_concern
        assert concern.document == {"w": "majority", "j": True}
        await handle.db["c"].insert_one({"ok": 1})  # the server accepts it
    finally:
        await handle.client.drop_database("wc_probe")
        handle.close()
