"""MongoDB access: motor against ``MONGODB_URL``, else an in-memory mongomock store.

Order of choice (docs/adr/0002-mongo-backends.md): ``MONGODB_URL`` when set (a real server — MongoDB
in docker-compose and production; the launcher's and the tests' own SecantusDB locally), else
mongomock-motor, which keeps data only for the life of the process and says so in the log (the
launcher's ``--memory`` mode and the fast service tests). Services touch MongoDB only in their
``store.py`` through the handle returned here.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pymongo.errors import ConnectionFailure
from pymongo.monitoring import CommandFailedEvent, CommandListener, CommandStartedEvent, CommandSucceededEvent

from .metrics import DB_COMMAND_SECONDS, DB_COMMANDS
from .settings import ServiceSettings

log = logging.getLogger(__name__)

Backend = Literal["mongodb", "mongomock"]

DATABASE_UNREACHABLE: tuple[type[BaseException], ...] = (ConnectionFailure,)
"""What the driver raises when the server is down or unreachable (server selection timeout, lost
connection, network timeout): transient, never a reason to dead-letter a message."""


def describe_url(url: str | None) -> str:
    """Where the data lives, for logs and /health/ready: hosts and options, never credentials."""
    if not url:
        return "in memory (mongomock; NOT persistent)"
    parts = urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{hosts}{parts.path or '/'}"


@dataclass
class MongoHandle:
    client: Any
    db: Any
    backend: Backend

    where: str = ""

    async def ping(self) -> None:
        await self.db.command("ping")

    async def wait_until_reachable(self, *, attempts: int | None = None, what: str = "") -> None:
        """Ping until the server answers (back-off up to 5 s, a log line each time); raise the last
        error after ``attempts`` failed pings (None: wait for as long as it takes)."""
        failures = 0
        while True:
            try:
                await self.ping()
                if failures:
                    log.warning("database %s answers again after %d failed attempt(s)", self.where, failures)
                return
            except DATABASE_UNREACHABLE as exc:
                failures += 1
                if attempts is not None and failures >= attempts:
                    raise
                delay = min(5.0, 0.25 * 2 ** min(failures, 5))
                log.warning("database %s is unreachable (%s)%s; retrying in %.1fs (attempt %d)",
                            self.where, type(exc).__name__, f": {what}" if what else "", delay, failures)
                await asyncio.sleep(delay)

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if callable(close):
            close()


class CommandCounter(CommandListener):
    """Counts every command the driver sends (a database round trip) and its latency, per command and
    collection, for ``/metrics`` (helpdesk_db_commands_total, helpdesk_db_command_seconds): what a
    ticket costs the database, and what a service asks of it while idle."""

    def __init__(self, service: str) -> None:
        self.service = service

    def started(self, event: CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        collection = target if isinstance(target, str) else "-"
        if event.command_name == "getMore":
            collection = str(event.command.get("collection", "-"))
        DB_COMMANDS.labels(self.service, event.command_name, collection).inc()

    def succeeded(self, event: CommandSucceededEvent) -> None:
        DB_COMMAND_SECONDS.labels(self.service, event.command_name).observe(event.duration_micros / 1e6)

    def failed(self, event: CommandFailedEvent) -> None:
        DB_COMMAND_SECONDS.labels(self.service, event.command_name).observe(event.duration_micros / 1e6)


def open_mongo(settings: ServiceSettings) -> MongoHandle:
    """Create the client (no I/O yet: both clients connect lazily)."""
    if settings.mongodb_url:
        from motor.motor_asyncio import AsyncIOMotorClient

        # Every write is acknowledged only once it is in the server's journal (j) on a majority of the
        # replica set: a consumer acks its message after that write, so a server killed right after
        # must not lose it (SecantusDB and mongod both keep unjournaled w:1 writes in memory for a
        # moment; measured: 100 w:1 inserts then kill -9 lost all 100, with j:true none).
        client = AsyncIOMotorClient(
            settings.mongodb_url, tz_aware=True, tzinfo=UTC, uuidRepresentation="standard",
            serverSelectionTimeoutMS=5000, w="majority", journal=True,
            event_listeners=[CommandCounter(settings.service_name)],
        )
        backend: Backend = "mongodb"
    else:
        from mongomock_motor import AsyncMongoMockClient

        install_mongomock_id_lookup()
        client = AsyncMongoMockClient(tz_aware=True)
        backend = "mongomock"
        log.warning(
            "MONGODB_URL is not set: using an in-memory store (mongomock). Data is NOT persistent and is "
            "lost when %s stops.", settings.service_name,
        )
    where = f"{describe_url(settings.mongodb_url)} database {settings.database_name}"
    return MongoHandle(client=client, db=client[settings.database_name], backend=backend, where=where)


T = TypeVar("T")


def is_mock(db: Any) -> bool:
    """True for the in-memory mongomock store (one process, every operation serialised, no sessions)."""
    return any(cls.__module__.startswith("mongomock") for cls in type(db).__mro__)


_IN_FLIGHT: set[asyncio.Task[Any]] = set()
"""Transactions whose caller was cancelled, kept referenced until they finish (``atomically``)."""


async def atomically(db: Any, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(session)`` as one multi-document transaction: every write it makes with
    ``session=session`` commits together or not at all. The driver retries the whole callback on a
    transient error (a write conflict with a competing replica, a lost primary) and the commit on an
    unknown result, so ``work`` must decide from what it reads inside the transaction.

    A cancelled caller (FastStream cancels its handlers when the broker connection drops) does not cut
    the transaction short: the transaction runs in its own task and finishes or aborts there, because
    motor runs each command in a thread that a cancellation cannot stop, so a transaction interrupted
    between commands is left open on the server, holding its documents until the server expires it —
    seen as the KPI cells stalling after a broker restart. The caller still gets its cancellation; the
    message is redelivered and finds the work done.

    Needs a replica set (SecantusDB is one; compose runs ``mongo:7`` as a one-node replica set). The
    in-memory mock has no sessions: there ``work(None)`` runs unguarded, which is only acceptable because
    that store lives in one process that serialises every operation (fast service tests)."""
    if is_mock(db):
        return await work(None)

    async def transaction() -> T:
        async with await db.client.start_session() as session:
            return await session.with_transaction(work)

    task = asyncio.ensure_future(transaction())
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            _IN_FLIGHT.add(task)
            task.add_done_callback(_finished_after_cancel)
        raise


def _finished_after_cancel(task: asyncio.Task[Any]) -> None:
    _IN_FLIGHT.discard(task)
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("a transaction whose caller was cancelled failed: %r", exc)


async def apply_updates(collection: Any, updates: list[tuple[dict[str, Any], dict[str, Any]]], *,
                        upsert: bool = False, session: Any = None) -> None:
    """Several independent single-document updates in one round trip (an unordered bulk write); on the
    mock, whose bulk API does not take today's pymongo operations, one by one."""
    if not updates:
        return
    if is_mock(collection.database):
        for query, update in updates:
            await collection.update_one(query, update, upsert=upsert)
        return
    from pymongo import UpdateOne

    await collection.bulk_write([UpdateOne(q, u, upsert=upsert) for q, u in updates], ordered=False, session=session)


def _pinned_ids(query: Any) -> list[Any] | None:
    """The ``_id`` values a filter pins (``{"_id": v}``, ``{"_id": {"$eq": v}}``, ``{"_id": {"$in": [...]}}``,
    possibly beside other conditions), or None when it does not pin them."""
    if not isinstance(query, dict) or "_id" not in query:
        return None
    value = query["_id"]
    if isinstance(value, dict):
        if set(value) == {"$in"} and isinstance(value["$in"], list | tuple):
            ids = list(value["$in"])
        elif set(value) == {"$eq"}:
            ids = [value["$eq"]]
        else:
            return None
    else:
        ids = [value]
    try:
        return list(dict.fromkeys(ids))
    except TypeError:  # unhashable (documents as ids): let mongomock scan
        return None


def install_mongomock_id_lookup() -> None:
    """mongomock answers every query by scanning every document, so the in-memory store slows down with
    each document (quadratic over a run). MongoDB answers ``_id`` lookups from its primary index; this
    gives mongomock the same direct path for filters that pin ``_id`` (the remaining conditions are still
    applied by mongomock's own matcher, so results are unchanged)."""
    from mongomock import collection as mongomock_collection
    from mongomock.filtering import filter_applies

    cls = mongomock_collection.Collection
    if getattr(cls, "_helpdesk_id_lookup", False):
        return
    scan = cls._iter_documents

    def _iter_documents(self: Any, query: Any) -> Any:
        ids = _pinned_ids(query)
        if ids is None or self._store.is_empty:
            return scan(self, query)
        docs = [self._store[i] for i in ids if i in self._store]
        return (doc for doc in docs if filter_applies(query, doc))

    cls._iter_documents = _iter_documents
    cls._helpdesk_id_lookup = True
