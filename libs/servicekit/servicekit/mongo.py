"""MongoDB access: motor against ``MONGODB_URL``, else an in-memory mongomock store.

Order of choice (docs/adr/0002-mongo-backends.md): ``MONGODB_URL`` when set (real MongoDB — what
docker-compose and production use; the test suite sets it to a testcontainers MongoDB when a Docker
engine answers), else mongomock-motor, which keeps data only for the life of the process and says so
in the log. Services touch MongoDB only in their ``store.py`` through the handle returned here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Literal

from .settings import ServiceSettings

log = logging.getLogger(__name__)

Backend = Literal["mongodb", "mongomock"]


@dataclass
class MongoHandle:
    client: Any
    db: Any
    backend: Backend

    async def ping(self) -> None:
        await self.db.command("ping")

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if callable(close):
            close()


def open_mongo(settings: ServiceSettings) -> MongoHandle:
    """Create the client (no I/O yet: both clients connect lazily)."""
    if settings.mongodb_url:
        from motor.motor_asyncio import AsyncIOMotorClient

        client = AsyncIOMotorClient(
            settings.mongodb_url, tz_aware=True, tzinfo=UTC, uuidRepresentation="standard",
            serverSelectionTimeoutMS=5000,
        )
        backend: Backend = "mongodb"
    else:
        from mongomock_motor import AsyncMongoMockClient

        client = AsyncMongoMockClient(tz_aware=True)
        backend = "mongomock"
        log.warning(
            "MONGODB_URL is not set: using an in-memory store (mongomock). Data is NOT persistent and is "
            "lost when %s stops.", settings.service_name,
        )
    return MongoHandle(client=client, db=client[settings.database_name], backend=backend)
