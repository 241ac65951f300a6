"""Wiring of the SLA monitor service."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import Field

from servicekit import ServiceKit, ServiceSettings

from . import handlers
from .api import build_router
from .service import SlaService
from .store import SlaStore


class SlaMonitorSettings(ServiceSettings):
    service_name: str = "sla-monitor"
    http_port: int = 8004
    clock_write_attempts: int = Field(
        default=8, ge=1, le=100,
        description="Compare-and-set attempts on a ticket's clock before the message is left to redelivery.",
    )


def create_app(settings: SlaMonitorSettings | None = None) -> FastAPI:
    settings = settings or SlaMonitorSettings()
    kit = ServiceKit(
        settings,
        title="helpdesk sla-monitor",
        description="Keeps every ticket's SLA clock (first response, resolution) under the versioned SLA policy.",
    )
    store = SlaStore(kit.db)
    service = SlaService(store, write_attempts=settings.clock_write_attempts)
    kit.on_startup(store.ensure_indexes)
    kit.on_startup(service.seed)
    handlers.register(kit.bus, service)
    kit.app.include_router(build_router(service))
    kit.app.state.service = service
    return kit.app
