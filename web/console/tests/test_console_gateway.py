"""The console's gateway and page serving, with the services replaced by an httpx mock transport."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from console.app import ConsoleSettings, create_app

SETTINGS = ConsoleSettings(intake_url="http://intake.test", dispatcher_url="http://dispatcher.test",
                           dashboard_url="https://desk.example/dashboard", refresh_seconds=7, log_format="text")


def upstream(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "dispatcher.test" and request.url.path == "/health/ready":
            return httpx.Response(200, json={"status": "ok"})
        if request.url.path == "/api/v1/slow":
            raise httpx.ReadTimeout("slow", request=request)
        if request.url.host != "intake.test":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(418 if request.url.path.endswith("teapot") else 200,
                              json={"path": request.url.path, "query": str(request.url.query, "ascii")},
                              headers={"X-Next-Cursor": "abc", "Set-Cookie": "x=1", "Server": "intake"})
    return httpx.MockTransport(handle)


@asynccontextmanager
async def running_app(app: Any) -> AsyncIterator[dict[str, Any]]:
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as client:
            yield {"app": app, "client": client}


@pytest.fixture
async def console() -> Any:
    seen: list[httpx.Request] = []
    async with running_app(create_app(SETTINGS, transport=upstream(seen))) as running:
        running["seen"] = seen
        yield running


async def test_forwards_method_path_query_body_and_only_listed_headers(console: dict[str, Any]) -> None:
    client, seen = console["client"], console["seen"]
    r = await client.post("/api/intake/v1/tickets/t1/notes?a=1&a=2&b=x", content=b'{"text": "hi"}',
                          headers={"Authorization": "Bearer tok", "Content-Type": "application/json",
                                   "Cookie": "session=secret", "X-Forwarded-For": "1.2.3.4", "X-Correlation-ID": "corr-1"})
    assert r.status_code == 200
    assert r.json() == {"path": "/api/v1/tickets/t1/notes", "query": "a=1&a=2&b=x"}
    sent = seen[-1]
    assert sent.method == "POST" and sent.content == b'{"text": "hi"}'
    assert sent.headers["authorization"] == "Bearer tok" and sent.headers["x-correlation-id"] == "corr-1"
    assert "cookie" not in sent.headers and "x-forwarded-for" not in sent.headers
    # answers keep their status and useful headers, never the upstream's cookies or server banner
    assert r.headers["x-next-cursor"] == "abc" and r.headers["cache-control"] == "no-store"
    assert "set-cookie" not in r.headers and r.headers.get("server") != "intake"
    assert r.headers["x-correlation-id"] == "corr-1"
    teapot = await client.get("/api/intake/v1/teapot")
    assert teapot.status_code == 418


async def test_unknown_service_unreachable_slow_and_oversized(console: dict[str, Any]) -> None:
    client = console["client"]
    r = await client.get("/api/billing/v1/anything")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_service"
    r = await client.get("/api/classifier/v1/classify")
    assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_unavailable"
    r = await client.get("/api/intake/v1/slow")
    assert r.status_code == 504 and r.json()["error"]["code"] == "upstream_timeout"
    r = await client.post("/api/intake/v1/tickets", content=b"x" * (SETTINGS.max_body_bytes + 1))
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert (await client.get("/api/intake/tickets")).status_code == 404  # only versioned API paths


async def test_file_uploads_may_be_larger_and_downloads_keep_their_type(console: dict[str, Any]) -> None:
    """An evidence file goes through as multipart (up to max_upload_bytes, the boundary untouched); an answer is
    never sniffed by the browser."""
    client, seen = console["client"], console["seen"]
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * (SETTINGS.max_body_bytes + 10)
    r = await client.post("/api/intake/v1/tickets/t1/evidence", files={"file": ("shot.png", data, "image/png")})
    assert r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff"
    sent = seen[-1]
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=") and data in sent.content
    too_big = b"x" * (SETTINGS.max_upload_bytes + 1)
    r = await client.post("/api/intake/v1/tickets/t1/evidence", files={"file": ("big.png", too_big, "image/png")})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


async def test_page_config_health_and_metrics(console: dict[str, Any]) -> None:
    client = console["client"]
    page = await client.get("/")
    assert page.status_code == 200 and '<main id="view"' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert "img-src 'self' data: blob:;" in csp  # thumbnails of evidence files, fetched with the staff token
    assert (await client.get("/static/js/main.js")).status_code == 200
    assert json.loads((await client.get("/config.json")).text) == {
        "dashboard_url": "https://desk.example/dashboard", "refresh_seconds": 7, "time_zone": "Asia/Shanghai",
        "services": ["intake", "classifier", "dispatcher", "sla-monitor", "survey", "reporting"]}
    assert (await client.get("/health/live")).status_code == 200
    ready = await client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["checks"] == {"assets": "ok", "dispatcher": "ok"}
    upstreams = (await client.get("/health/upstreams")).json()
    assert upstreams["dispatcher"] == "ok" and upstreams["classifier"] == "failing"
    assert "helpdesk_http_requests_total" in (await client.get("/metrics")).text


async def test_not_ready_without_the_dispatcher() -> None:
    down = httpx.MockTransport(lambda request: (_ for _ in ()).throw(httpx.ConnectError("down", request=request)))
    async with running_app(create_app(SETTINGS, transport=down)) as running:
        ready = await running["client"].get("/health/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["dispatcher"] == "failing"


def test_every_script_module_the_page_imports_exists() -> None:
    """The page has no build step: a typo in an import path would only show in a browser."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "console" / "static"
    for script in (root / "js").rglob("*.js"):
        for target in re.findall(r'from "(\.[^"]+)"', script.read_text(encoding="utf-8")):
            assert (script.parent / target).resolve().is_file(), f"{script.name} imports missing {target}"
