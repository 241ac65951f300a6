"""Wiring of the reporting service."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import FastAPI
from pydantic import field_validator

from servicekit import ServiceKit, ServiceSettings

from . import handlers
from .api import build_router
from .service import ReportingService
from .store import ReportingStore


class ReportingSettings(ServiceSettings):
    service_name: str = "reporting"
    http_port: int = 8006

    @field_validator("business_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """Report days are local business days: refuse to start with a zone that does not exist."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    kit = ServiceKit(
        settings,
        title="helpdesk reporting",
        description="Keeps every event and a fact per ticket; daily reports (JSON, CSV) for supervisors.",
    )
    store = ReportingStore(kit.db)
    service = ReportingService(store, timezone=settings.business_timezone)
    kit.on_startup(store.ensure_indexes)
    handlers.register(kit.bus, service)
    kit.app.include_router(build_router(service))
    kit.app.state.service = service
    return kit.app
