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
    sla_scan_interval_seconds: float = Field(
        default=0.25, gt=0, le=60, description="How often the alarm scanner looks for alarms that came due."
    )
    sla_bucket_seconds: int = Field(default=5, ge=1, le=3600, description="Width of an alarm schedule bucket.")
    sla_grace_buckets: int = Field(
        default=6, ge=1, le=1000, description="Buckets kept after they passed (late writers, clock skew)."
    )
    sla_repair_interval_seconds: float = Field(
        default=300.0, gt=0, description="How often clocks with overdue alarms are re-filed (indexed query)."
    )
    sla_scanner_enabled: bool = Field(default=True, description="Run the alarm scanner in this process.")


def create_app(settings: SlaMonitorSettings | None = None) -> FastAPI:
    settings = settings or SlaMonitorSettings()
    kit = ServiceKit(
        settings,
        title="helpdesk sla-monitor",
        description=(
            "Keeps every ticket's SLA clocks (first response, resolution, next response after each further "
            "customer message) under versioned SLA policies and "
            "business calendars; warns before deadlines, reports breaches and escalates."
        ),
    )
    store = SlaStore(kit.db, bucket_seconds=settings.sla_bucket_seconds)
    outbox = kit.use_outbox(store.clocks)
    service = SlaService(
        store, outbox=outbox, write_attempts=settings.clock_write_attempts, grace_buckets=settings.sla_grace_buckets
    )
    kit.on_startup(store.ensure_indexes)
    kit.on_startup(service.seed)
    if settings.sla_scanner_enabled:
        kit.background(
            "sla-scanner",
            lambda: service.run_scanner(settings.sla_scan_interval_seconds, settings.sla_repair_interval_seconds),
        )
    handlers.register(kit.bus, service)
    kit.app.include_router(build_router(service))
    kit.app.state.service = service
    return kit.app
