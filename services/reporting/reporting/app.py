"""Wiring of the reporting service."""

from __future__ import annotations

import logging
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from pydantic import Field, field_validator

from servicekit import ServiceKit, ServiceSettings
from servicekit.clock import every

from . import handlers
from .api import build_router
from .dashboard import build_dashboard_router
from .incident_api import build_incident_router
from .schedule import ReportCalendar, parse_holidays, parse_workdays
from .service import ReportingService, SpikeSettings
from .store import ReportingStore

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


class ReportingSettings(ServiceSettings):
    service_name: str = "reporting"
    http_port: int = 8006
    spike_ratio: float = Field(default=3.0, gt=1.0, description="Today ≥ ratio × trailing mean is a spike.")
    spike_min_count: int = Field(default=10, ge=1, description="Fewer tickets than this are never a spike.")
    spike_baseline_days: int = Field(default=7, ge=1, le=90)
    spike_scan_interval_seconds: float = Field(default=60.0, gt=0)
    aggregate_relay_interval_seconds: float = Field(default=5.0, gt=0)
    aggregate_grace_seconds: float = Field(default=30.0, ge=0, description="Age before pending increments are re-applied.")
    dashboard_refresh_seconds: int = Field(default=30, ge=5, le=3600)
    report_workdays: str = Field(default="1,2,3,4,5", description="Business weekdays of the scheduled reports "
                                 "(ISO, Monday = 1), comma separated.")
    report_holidays: str = Field(default="", description="Days off of the scheduled reports, YYYY-MM-DD, comma "
                                 "separated (a daily report after them covers them).")
    report_close_time: time = Field(default=time(18, 0), description="Close of the business day (local): the "
                                    "daily report is composed and delivered then.")
    report_morning_time: time = Field(default=time(9, 0), description="Local time the weekly (first business "
                                      "day of the week) and monthly (the 1st) reports are delivered.")

    @field_validator("report_workdays")
    @classmethod
    def _workdays(cls, value: str) -> str:
        parse_workdays(value)
        return value

    @field_validator("report_holidays")
    @classmethod
    def _holidays(cls, value: str) -> str:
        parse_holidays(value)
        return value

    def report_calendar(self) -> ReportCalendar:
        return ReportCalendar(timezone=self.business_timezone, workdays=parse_workdays(self.report_workdays),
                              holidays=parse_holidays(self.report_holidays), close=self.report_close_time,
                              morning=self.report_morning_time)

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
        description="Keeps every event, a fact per ticket and daily aggregates; KPI reports (JSON, CSV), "
        "high-frequency issues, spike detection and a dashboard for supervisors.",
    )
    store = ReportingStore(kit.db)
    outbox = kit.use_outbox(store.spikes, store.runs)
    service = ReportingService(
        store, timezone=settings.business_timezone, outbox=outbox,
        spikes=SpikeSettings(ratio=settings.spike_ratio, min_count=settings.spike_min_count,
                             baseline_days=settings.spike_baseline_days),
        calendar=settings.report_calendar(), schedule_clock=kit.clock,
    )
    kit.on_startup(store.ensure_indexes)
    handlers.register(kit.bus, service)
    kit.background("spike-scanner", lambda: every(settings.spike_scan_interval_seconds, "spike scan",
                                                  service.scan_spikes))
    kit.background("report-scheduler", lambda: every(settings.schedule_tick_seconds, "report scheduler",
                                                     service.deliver_due_reports))
    kit.background("aggregate-relay", lambda: every(
        settings.aggregate_relay_interval_seconds, "aggregate relay",
        lambda: service.relay_pending(settings.aggregate_grace_seconds)))
    kit.app.include_router(build_router(service))
    kit.app.include_router(build_incident_router(service))
    kit.app.include_router(build_dashboard_router(refresh_seconds=settings.dashboard_refresh_seconds))
    kit.app.mount("/static", StaticFiles(directory=STATIC), name="static")
    kit.app.state.service = service
    return kit.app
