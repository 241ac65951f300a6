"""Wiring of the survey service."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from pydantic import Field

from servicekit import ServiceKit, ServiceSettings

from . import handlers
from .api import build_router
from .service import SurveyService
from .store import SurveyStore


class SurveySettings(ServiceSettings):
    service_name: str = "survey"
    http_port: int = 8005
    survey_ttl_hours: int = Field(
        default=168, ge=1, le=24 * 90, description="How long a survey link stays answerable (hours)."
    )


def create_app(settings: SurveySettings | None = None) -> FastAPI:
    settings = settings or SurveySettings()
    kit = ServiceKit(
        settings,
        title="helpdesk survey",
        description="Sends a satisfaction survey after each resolution and scores the answers (CSAT).",
    )
    store = SurveyStore(kit.db)
    # No outbox yet: nothing is published until survey.completed arrives
    # (then: outbox = kit.use_outbox(store.surveys)).
    service = SurveyService(store, ttl=timedelta(hours=settings.survey_ttl_hours))
    kit.on_startup(store.ensure_indexes)
    handlers.register(kit.bus, service)
    kit.app.include_router(build_router(service))
    kit.app.state.service = service
    return kit.app
