"""Test helpers shared by every service's tests and the end-to-end suite (imported by tests only)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import urlparse

import aio_pika
import httpx
from faststream.rabbit import RabbitQueue, TestRabbitBroker
from faststream.rabbit.annotations import RabbitMessage

from contracts import Event, StaffRole

from .app import ServiceKit
from .auth import Principal, TokenService

E = TypeVar("E", bound=Event)
T = TypeVar("T")

TEST_JWT_SECRET = "test-only-secret-" + "x" * 32  # tests only; services get theirs from the environment


@asynccontextmanager
async def in_memory(kit: ServiceKit) -> AsyncIterator[Any]:
    """Run a service's startup hooks and its broker under FastStream's in-memory TestRabbitBroker."""
    for hook in kit._startup:
        await hook()
    dead_letters: list[dict[str, Any]] = []

    def collector(queue: str) -> Any:
        async def collect(message: RabbitMessage) -> None:
            dead_letters.append({"queue": queue, "body": message.body, "headers": dict(message.headers)})

        return collect

    for name in list(kit.bus.queues):
        dlq = RabbitQueue(kit.bus.ns.dead_letter_queue(name), routing_key=name)
        kit.bus.broker.subscriber(dlq, kit.bus.dead_letter_exchange, include_in_schema=False)(collector(name))

    async with TestRabbitBroker(kit.bus.broker) as broker:
        broker.dead_letters = dead_letters  # type: ignore[attr-defined]
        kit.ready = True
        try:
            yield broker
        finally:
            kit.ready = False


def published(kit: ServiceKit, event: type[E]) -> list[E]:
    """Events of one type the service published while under :func:`in_memory`."""
    pub = kit.bus.publisher(event)
    mock = getattr(pub, "mock", None)
    if mock is None:
        return []
    out: list[E] = []
    for call in mock.call_args_list:
        body = call.args[0]
        out.append(event.model_validate(body) if isinstance(body, dict) else event.model_validate_json(body))
    return out


def token(
    roles: list[StaffRole] | StaffRole,
    *,
    staff_id: str = "S001",
    secret: str = TEST_JWT_SECRET,
    must_change_password: bool = False,
    expired: bool = False,
    issuer: str = "helpdesk",
    audience: str = "helpdesk-staff",
) -> str:
    roles = [roles] if isinstance(roles, StaffRole) else roles
    svc = TokenService(secret, issuer=issuer, audience=audience)
    now = datetime.now(UTC) - (timedelta(days=2) if expired else timedelta())
    return svc.issue(
        Principal(staff_id=staff_id, name=staff_id, roles=frozenset(roles), must_change_password=must_change_password),
        now=now,
    )


def auth_header(roles: list[StaffRole] | StaffRole, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(roles, **kwargs)}"}


def rabbitmq_url() -> str:
    return os.environ.get("RABBITMQ_URL", "amqp://guest:guest@localhost:5672/")


def tcp_reachable(url: str, timeout: float = 2.0) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "localhost", parsed.port or 5672), timeout=timeout):
            return True
    except OSError:
        return False


def docker_answers() -> bool:
    """Cheap probe (~0.2 s without an engine) deciding whether testcontainers can be used."""
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:
        return False


def eventually(check: Callable[[], T | None], timeout: float = 20.0, interval: float = 0.1) -> T:
    """Poll until ``check`` returns something truthy (eventual consistency across services)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, AssertionError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"not reached within {timeout}s; last result: {last!r}")


def json_if_ok(response: httpx.Response) -> Any:
    return response.json() if response.status_code == 200 else None


async def publish_raw(url: str, queue: str, body: bytes, **props: Any) -> None:
    """Publish like a channel system would: plain aio-pika, default exchange, persistent, confirmed."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.default_exchange.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, **props), routing_key=queue
        )


async def drain_queue(url: str, queue: str) -> list[tuple[bytes, dict[str, Any]]]:
    """Take (and ack) every message currently in a queue: (body, headers) pairs."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        q = await channel.get_queue(queue)
        out: list[tuple[bytes, dict[str, Any]]] = []
        while (message := await q.get(fail=False)) is not None:
            out.append((message.body, dict(message.headers)))
            await message.ack()
        return out


@asynccontextmanager
async def running_app(app: Any) -> AsyncIterator[dict[str, Any]]:
    """A service app under :func:`in_memory` with an HTTP client on its ASGI app:
    ``{"app", "kit", "broker", "client", "service"}``."""
    kit = app.state.kit
    async with in_memory(kit) as broker:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{kit.service}") as client:
            yield {"app": app, "kit": kit, "broker": broker, "client": client, "service": app.state.service}


async def delete_topology(url: str, queues: set[str] | list[str], exchanges: list[str]) -> None:
    """Remove a run's queues and exchanges from the broker (missing ones are ignored)."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for name in [*queues]:
            try:
                await channel.queue_delete(name)
            except aio_pika.exceptions.ChannelClosed:  # not declared: the channel is closed, open another
                channel = await connection.channel()
        for name in exchanges:
            try:
                await channel.exchange_delete(name)
            except aio_pika.exceptions.ChannelClosed:
                channel = await connection.channel()


# ------------------------------------------------------------------------------ browser tests
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's Chromium (Playwright never downloads a browser here)."""
    import shutil

    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None



def page_faults(page: Any) -> list[str]:
    """The faults of a Playwright page as they happen: script errors, console errors (CSP violations
    included) and any 5xx answer. A refused request shows in the console as "Failed to load resource":
    an answer the page handles (a wrong password, a 404 a view tolerates), not a fault."""
    faults: list[str] = []
    page.on("pageerror", lambda exc: faults.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and not msg.text.startswith("Failed to load resource")
            and faults.append(msg.text))
    page.on("response", lambda r: r.status >= 500 and faults.append(f"{r.status} {r.url}"))
    return faults


class LiveServer:
    """A service app (in-memory broker and store, via :func:`running_app`) served over real HTTP by
    uvicorn from a thread of its own — what a browser test talks to. ``prepare`` runs on the server's
    loop before it listens (seed data); :meth:`call` runs a coroutine on that loop. An app that is not a
    service (no ``app.state.kit``, e.g. the console's gateway) is served as it is, its own lifespan run by
    uvicorn.

        with LiveServer(create_app(settings)) as live:
            page.goto(live.url + "/dashboard")
    """

    def __init__(self, app: Any, prepare: Callable[[dict[str, Any]], Any] | None = None,
                 *, start_timeout: float = 60.0) -> None:
        import threading

        self.app, self.prepare, self.start_timeout = app, prepare, start_timeout
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self.running: dict[str, Any] = {}
        self.server: Any = None

    async def _main(self) -> None:
        if getattr(self.app.state, "kit", None) is None:
            self.loop = asyncio.get_running_loop()
            await self._serve("on")
            return
        async with running_app(self.app) as running:
            self.running, self.loop = running, asyncio.get_running_loop()
            if self.prepare is not None:
                result = self.prepare(running)
                if asyncio.iscoroutine(result):
                    await result
            await self._serve("off")

    async def _serve(self, lifespan: str) -> None:
        import uvicorn

        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, lifespan=lifespan, log_config=None,
                                access_log=False)
        self.server = uvicorn.Server(config)
        self.loop.call_later(0.2, self.ready.set)
        await self.server.serve()

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=timeout)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        if not self.ready.wait(self.start_timeout):
            raise TimeoutError("live server did not start")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(10)


# ------------------------------------------------------------------------------ files
def png_image(width: int = 4, height: int = 3, *, noise_bytes: int = 0, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid RGB PNG (a screenshot stand-in): one colour, or ``noise_bytes`` of random pixels (incompressible,
    so the file is about that large)."""
    import os
    import struct
    import zlib

    if noise_bytes:
        width = 1024
        height = max(1, noise_bytes // (width * 3))
    row = bytes(rgb) * width
    raw = b"".join(b"\x00" + (os.urandom(width * 3) if noise_bytes else row) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")


class RecordingWebhook:
    """A notification gateway for tests (the services' notifier webhook, the survey's customer gateway):
    an HTTP server on a free local port that answers 204 and keeps every JSON body POSTed to it."""

    def __init__(self, path: str = "/gateway") -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class _Hook(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    received.append(json.loads(body))
                except ValueError:
                    pass
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [n for n in list(self.received) if n.get("kind") == kind]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
