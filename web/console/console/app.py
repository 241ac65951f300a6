"""The console's server: serves the single-page app and forwards ``/api/<service>/v1/...`` to that
service's ``/api/v1/...`` unchanged.

Why a gateway and not CORS on six services: the browser talks to one origin (one TLS certificate, one
Content-Security-Policy, no service port exposed to desks), the staff token stays a bearer header the
services verify themselves, and the console adds no business logic — every decision (who may do what,
what a ticket may become) stays in the service that owns it. The gateway forwards only the services'
versioned API paths and a short list of headers; it never reads or changes bodies.

Ops: ``/health/live``; ``/health/ready`` (assets present and the dispatcher, which issues tokens,
reachable); ``/health/upstreams`` (each service's readiness); ``/metrics``; JSON logs with the
correlation id, which is also forwarded to the service called.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicekit.app import install_correlation_middleware
from servicekit.context import get_correlation_id
from servicekit.errors import ApiError, install_error_handlers
from servicekit.health import health_router
from servicekit.logging import configure_logging
from servicekit.metrics import install_http_metrics

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
SERVICES = ("intake", "classifier", "dispatcher", "sla-monitor", "survey", "reporting")
FORWARDED_REQUEST_HEADERS = ("authorization", "content-type", "accept", "accept-language", "if-none-match")
FORWARDED_RESPONSE_HEADERS = ("content-type", "x-next-cursor", "etag", "retry-after", "content-disposition")
Url = Annotated[str, Field(pattern=r"^https?://[^\s]+$")]


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    service_name: str = "console"
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|text)$")
    intake_url: Url = "http://127.0.0.1:8001"
    classifier_url: Url = "http://127.0.0.1:8002"
    dispatcher_url: Url = "http://127.0.0.1:8003"
    sla_monitor_url: Url = "http://127.0.0.1:8004"
    survey_url: Url = "http://127.0.0.1:8005"
    reporting_url: Url = "http://127.0.0.1:8006"
    dashboard_url: str = Field(
        default="http://127.0.0.1:8006/dashboard",
        description="The reporting dashboard as the staff's browsers reach it (linked from the console).",
    )
    business_timezone: str = Field(default="Asia/Shanghai", description="Times on screen are shown in this zone.")
    refresh_seconds: int = Field(default=15, ge=2, le=600, description="Queue and inbox refresh interval.")
    upstream_timeout_seconds: float = Field(default=15.0, gt=0)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_upload_bytes: int = Field(default=11 * 1024 * 1024, ge=1024, description="Largest multipart/form-data "
                                  "body (an evidence file and its envelope); keep it above intake's EVIDENCE_MAX_BYTES.")

    def upstreams(self) -> dict[str, str]:
        return {name: getattr(self, f"{name.replace('-', '_')}_url").rstrip("/") for name in SERVICES}


def create_app(settings: ConsoleSettings | None = None, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per forwarded call is noise; metrics count them
    upstreams = settings.upstreams()
    state: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        state["client"] = httpx.AsyncClient(timeout=settings.upstream_timeout_seconds, limits=limits,
                                            transport=transport, follow_redirects=False)
        log.info("console ready; upstreams: %s", ", ".join(f"{k}={v}" for k, v in upstreams.items()))
        try:
            yield
        finally:
            await state.pop("client").aclose()

    app = FastAPI(title="helpdesk console", version="0.1.0", lifespan=lifespan,
                  description="客服工作台 — the staff web console and its gateway to the services' APIs.")
    install_error_handlers(app)
    install_http_metrics(app, settings.service_name)
    install_correlation_middleware(app)

    async def upstream_ready(name: str) -> bool:
        client = state.get("client")
        if client is None:
            return False
        try:
            r = await client.get(f"{upstreams[name]}/health/ready", timeout=2.5)
        except httpx.HTTPError:
            return False
        return r.status_code == 200

    async def assets_ok() -> bool:
        return (STATIC / "index.html").is_file()

    async def dispatcher_ok() -> bool:
        return await upstream_ready("dispatcher")

    app.include_router(health_router(settings.service_name, {"assets": assets_ok, "dispatcher": dispatcher_ok}))

    @app.get("/health/upstreams", tags=["ops"], summary="Readiness of every service the console calls")
    async def upstream_health() -> dict[str, str]:
        return {name: "ok" if await upstream_ready(name) else "failing" for name in SERVICES}

    @app.get("/config.json", include_in_schema=False)
    async def config() -> JSONResponse:
        """What the page needs to know about its deployment (no secrets)."""
        return JSONResponse({"dashboard_url": settings.dashboard_url, "refresh_seconds": settings.refresh_seconds,
                             "time_zone": settings.business_timezone,
                             "services": list(SERVICES)}, headers={"Cache-Control": "no-store"})

    @app.api_route("/api/{service}/v1/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                   tags=["gateway"], summary="Forward to the named service's /api/v1/{path}")
    async def forward(service: str, path: str, request: Request) -> Response:
        base = upstreams.get(service)
        if base is None:
            raise ApiError(404, "unknown_service", f"no service named {service!r}")
        upload = request.headers.get("content-type", "").lower().startswith("multipart/form-data")
        limit = settings.max_upload_bytes if upload else settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise ApiError(413, "payload_too_large", f"request bodies are limited to {limit} bytes")
        body = await request.body()
        if len(body) > limit:
            raise ApiError(413, "payload_too_large", f"request bodies are limited to {limit} bytes")
        headers = {h: request.headers[h] for h in FORWARDED_REQUEST_HEADERS if h in request.headers}
        headers["x-correlation-id"] = get_correlation_id() or ""
        client = state["client"]
        try:
            upstream = await client.request(request.method, f"{base}/api/v1/{path}", params=request.query_params.multi_items(),
                                            content=body or None, headers=headers)
        except httpx.TimeoutException:
            log.warning("%s %s/%s: upstream timed out", request.method, service, path)
            raise ApiError(504, "upstream_timeout", f"{service} did not answer in time") from None
        except httpx.HTTPError as exc:
            log.warning("%s %s/%s: upstream unreachable (%s)", request.method, service, path, type(exc).__name__)
            raise ApiError(502, "upstream_unavailable", f"{service} is not reachable") from None
        out = {h: upstream.headers[h] for h in FORWARDED_RESPONSE_HEADERS if h in upstream.headers}
        out["Cache-Control"] = "no-store"
        out["X-Content-Type-Options"] = "nosniff"  # a downloaded file is never rendered as something else
        return Response(upstream.content, status_code=upstream.status_code, headers=out)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
                                       "script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
        })

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
