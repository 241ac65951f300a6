"""Liveness and readiness endpoints. Readiness checks the broker connection and the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

Probe = Callable[[], Awaitable[bool]]


def health_router(service: str, probes: dict[str, Probe], info: dict[str, Any] | None = None) -> APIRouter:
    """``info`` is shown in the readiness answer as it is (e.g. which database backend, and where)."""
    router = APIRouter(tags=["ops"])

    @router.get("/health/live", summary="Liveness: the process answers")
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get("/health/ready", summary="Readiness: broker and database reachable")
    async def ready() -> JSONResponse:
        checks: dict[str, str] = {}
        for name, probe in probes.items():
            try:
                ok = await asyncio.wait_for(probe(), timeout=3.0)
            except Exception:
                ok = False
            checks[name] = "ok" if ok else "failing"
        healthy = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if healthy else "unavailable", "service": service, "checks": checks, **(info or {})},
            status_code=200 if healthy else 503,
        )

    @router.get("/health", summary="Readiness (alias)")
    async def health() -> JSONResponse:
        return await ready()

    return router
