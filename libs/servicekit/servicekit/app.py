"""The service factory: one process = one FastStream RabbitBroker + one FastAPI app.

A service's ``app.py`` builds a :class:`ServiceKit`, gives its store the database handle, registers its
handlers on ``kit.bus`` and its routes on ``kit.app``, and returns ``kit.app``. The kit adds what every
service needs: JSON logs with the correlation id, structured errors, ``/metrics``, ``/health/*``,
OpenAPI at ``/docs``, AsyncAPI at ``/asyncapi`` and ``/asyncapi.json``, the outbox relay, and an
orderly start (indexes → broker topology → consumers → background jobs) and stop.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.site import get_asyncapi_html

from .auth import TokenService
from .clock import Clock, clock_from_settings
from .context import correlation_id_var
from .errors import install_error_handlers
from .health import health_router
from .logging import configure_logging
from .messaging import EventBus
from .metrics import install_http_metrics
from .mongo import open_mongo
from .outbox import Outbox
from .settings import ServiceSettings

log = logging.getLogger(__name__)

_CORRELATION_OK = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

Hook = Callable[[], Awaitable[Any]]


def install_correlation_middleware(app: FastAPI) -> None:
    """Take the caller's ``X-Correlation-ID`` (when well-formed) or make one, keep it in the logging
    context for the request, and echo it on the response."""

    @app.middleware("http")
    async def _correlation(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        given = request.headers.get("x-correlation-id", "")
        cid = given if _CORRELATION_OK.match(given) else uuid.uuid4().hex
        token = correlation_id_var.set(cid)
        try:
            response = await call_next(request)
        finally:
            correlation_id_var.reset(token)
        response.headers["X-Correlation-ID"] = cid
        return response


class ServiceKit:
    def __init__(self, settings: ServiceSettings, *, title: str, description: str, version: str = "0.1.0") -> None:
        configure_logging(settings.service_name, settings.log_level, settings.log_format)
        self.settings = settings
        self.service = settings.service_name
        self.bus = EventBus(settings)
        self.mongo = open_mongo(settings)
        self.db = self.mongo.db
        self.bus.wait_for_database = lambda: self.mongo.wait_until_reachable(what="messages held")
        self.tokens: TokenService | None = None
        if settings.jwt_secret is not None:
            self.tokens = TokenService(
                settings.jwt_secret.get_secret_value(), issuer=settings.jwt_issuer, audience=settings.jwt_audience
            )
        else:
            log.warning("JWT_SECRET is not set: every staff route of %s will answer 503", self.service)
        self.clock: Clock = clock_from_settings(settings.clock_file)
        self.outbox: Outbox | None = None
        self._startup: list[Hook] = []
        self._shutdown: list[Hook] = []
        self._background: list[tuple[str, Hook]] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self.ready = False

        self.app = FastAPI(title=title, description=description, version=version, lifespan=self._lifespan)
        self.app.state.kit = self
        self.app.state.tokens = self.tokens
        install_error_handlers(self.app)
        install_http_metrics(self.app, self.service)
        install_correlation_middleware(self.app)
        self.app.include_router(
            health_router(self.service, {"broker": self.bus.ping, "database": self._db_ok, "started": self._started},
                          info={"database": {"backend": self.mongo.backend, "where": self.mongo.where}})
        )
        self._install_asyncapi(title, version, description)
        if settings.queue_depth_interval_seconds > 0:
            interval = settings.queue_depth_interval_seconds
            self.background("queue-depth", lambda: self.bus.sample_queue_depths(interval))

    # ------------------------------------------------------------------ wiring API
    def on_startup(self, hook: Hook) -> None:
        """Run before the broker starts consuming (e.g. create indexes, seed data)."""
        self._startup.append(hook)

    def on_shutdown(self, hook: Hook) -> None:
        self._shutdown.append(hook)

    def background(self, name: str, loop: Hook) -> None:
        """A long-running coroutine started after the broker (scanners, schedulers, relays)."""
        self._background.append((name, loop))

    def use_outbox(self, *collections: Any) -> Outbox:
        """Enable the outbox relay over these collections and return the outbox for flushing."""
        self.outbox = Outbox(self.bus, list(collections), grace_seconds=self.settings.outbox_grace_seconds)
        outbox = self.outbox
        self.on_startup(outbox.ensure_indexes)
        self.background("outbox-relay", lambda: outbox.run(self.settings.outbox_relay_interval_seconds))
        self.background("outbox-pulls", outbox.run_pulls)
        return outbox

    # ------------------------------------------------------------------ lifecycle
    @asynccontextmanager
    async def _lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        log.info("starting %s (database: %s, %s)", self.service, self.mongo.backend, self.mongo.where)
        await self.mongo.wait_until_reachable(attempts=self.settings.database_connect_attempts, what="starting")
        for hook in self._startup:
            await hook()
        await self.bus.start()
        for name, loop in self._background:
            self._tasks.append(asyncio.create_task(loop(), name=f"{self.service}:{name}"))
        self.ready = True
        log.info("%s ready", self.service)
        try:
            yield
        finally:
            self.ready = False
            await self._stop_background()
            await self.bus.close()
            for hook in self._shutdown:
                await hook()
            self.mongo.close()
            log.info("%s stopped", self.service)

    async def _stop_background(self, timeout: float = 10.0) -> None:
        """Cancel the background jobs and wait for them, but never forever: a job whose cancellation a
        library swallowed is cancelled again, and after ``timeout`` the shutdown goes on without it."""
        pending = {t for t in self._tasks if not t.done()}
        deadline = asyncio.get_running_loop().time() + timeout
        while pending:
            for task in pending:
                task.cancel()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                log.error("background job(s) did not stop: %s", ", ".join(t.get_name() for t in pending))
                break
            _, pending = await asyncio.wait(pending, timeout=min(1.0, left))
        self._tasks.clear()

    async def _db_ok(self) -> bool:
        await self.mongo.ping()
        return True

    async def _started(self) -> bool:
        return self.ready

    # ------------------------------------------------------------------ HTTP extras
    def _install_asyncapi(self, title: str, version: str, description: str) -> None:
        cache: dict[str, Any] = {}

        def spec() -> Any:
            if "spec" not in cache:
                cache["spec"] = AsyncAPI(
                    self.bus.broker, title=f"{title} events", version=version, description=description
                ).to_specification()
            return cache["spec"]

        @self.app.get("/asyncapi.json", include_in_schema=False)
        async def asyncapi_json() -> JSONResponse:
            return JSONResponse(spec().to_jsonable())

        @self.app.get("/asyncapi", include_in_schema=False)
        async def asyncapi_html() -> HTMLResponse:
            return HTMLResponse(get_asyncapi_html(spec(), try_it_out_path=None))
