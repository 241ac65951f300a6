"""Run several replicas of one service in ONE process (fault suite only):
``REPLICA_PORTS=8101,8102 python tests/faults/replica_host.py <service module>``.

Each replica is the service's own ``create_app`` with its own ServiceKit — its own broker connection,
consumers on the shared quorum queues (competing consumers), outbox relay and background jobs (the SLA
scanner, the dispatcher's delivery loop, …) — served by its own uvicorn server on its own port, with
the real lifespan. What they share is the database: replicas of a service share one MongoDB, and the
in-memory store (no ``MONGODB_URL``) exists only inside one process, so here the replicas are handed
one in-memory client. With ``MONGODB_URL`` set, each replica opens its own client to the real database.

Replicas start one after the other (as a rolling deployment would), and SIGTERM/SIGINT stop them all
gracefully.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import sys
from typing import Any

import uvicorn

import servicekit.app as kit_app
from servicekit.mongo import MongoHandle, open_mongo
from servicekit.settings import ServiceSettings

log = logging.getLogger("replica_host")


class _SharedHandle(MongoHandle):
    def close(self) -> None:  # the client outlives every replica but the process
        pass


def share_in_memory_database() -> None:
    """Make every ServiceKit of this process use one in-memory client per database name."""
    if os.environ.get("MONGODB_URL"):
        return
    handles: dict[str, MongoHandle] = {}

    def shared(settings: ServiceSettings) -> MongoHandle:
        name = settings.database_name
        if name not in handles:
            handles[name] = open_mongo(settings)
        first = handles[name]
        return _SharedHandle(client=first.client, db=first.db, backend=first.backend)

    kit_app.open_mongo = shared  # type: ignore[assignment]


class _Server(uvicorn.Server):
    """uvicorn would take SIGTERM for the last server started only: the host handles signals itself."""

    def capture_signals(self) -> Any:
        return contextlib.nullcontext()


def settings_class(module: Any) -> type[ServiceSettings]:
    found = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, ServiceSettings)
             and v is not ServiceSettings and v.__module__ == module.__name__]
    if len(found) != 1:
        raise SystemExit(f"{module.__name__}: expected one settings class, found {found}")
    return found[0]


async def serve(service_module: str, ports: list[int]) -> int:
    share_in_memory_database()
    app_module = importlib.import_module(f"{service_module}.app")
    settings_cls = settings_class(app_module)
    servers: list[_Server] = []
    stopping = asyncio.Event()

    def stop() -> None:
        stopping.set()
        for server in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    tasks: list[asyncio.Task[None]] = []
    for number, port in enumerate(ports):
        if stopping.is_set():
            break
        settings = settings_cls(http_port=port, http_host="127.0.0.1")
        app = app_module.create_app(settings)
        server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                                        lifespan="on", timeout_graceful_shutdown=15))
        servers.append(server)
        task = asyncio.create_task(server.serve(), name=f"replica-{number}")
        tasks.append(task)
        while not server.started:
            if task.done():
                stop()
                await asyncio.gather(*tasks, return_exceptions=True)
                log.error("replica %d of %s did not start", number, service_module)
                return 1
            await asyncio.sleep(0.05)
        log.warning("replica %d of %s serving on port %d", number, service_module, port)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    return 1 if failed else 0


def main() -> int:
    if len(sys.argv) != 2 or not os.environ.get("REPLICA_PORTS"):
        raise SystemExit("usage: REPLICA_PORTS=p1,p2 python replica_host.py <service module>")
    ports = [int(p) for p in os.environ["REPLICA_PORTS"].split(",")]
    return asyncio.run(serve(sys.argv[1], ports))


if __name__ == "__main__":
    raise SystemExit(main())
