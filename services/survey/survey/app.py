"""Wiring of the survey service."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from pydantic import AliasChoices, Field

from servicekit import ServiceKit, ServiceSettings
from servicekit.notify import Notifier, notifier_from_settings

from . import handlers
from .api import RateLimiter, build_router
from .service import SurveyPolicy, SurveyService
from .store import SurveyStore


class SurveySettings(ServiceSettings):
    service_name: str = "survey"
    http_port: int = 8005
    survey_ttl_hours: int = Field(
        default=168, ge=1, le=24 * 90, description="How long a survey link stays answerable (hours)."
    )
    survey_reminder_hours: float = Field(
        default=48, gt=0, le=24 * 90, description="Resend the link once when still unanswered after this long."
    )
    survey_resend_grace_minutes: float = Field(
        default=5, gt=0, description="Retry an invitation the notifier could not take after this long."
    )
    survey_satisfied_threshold: float = Field(
        default=3.5, ge=1.0, le=5.0, description="CSAT below this is unsatisfied (the ticket is reopened)."
    )
    survey_public_base_url: str = Field(
        default="http://localhost:8005", pattern=r"^https?://[^\s]+$",
        description="Public address of this service: survey links are <base>/s/<token>.",
    )
    survey_sweep_interval_seconds: float = Field(default=60, gt=0, description="Reminder/expiry sweep period.")
    survey_view_rate_limit: str = Field(default="30/minute", description="Public page views per client address.")
    survey_answer_rate_limit: str = Field(default="10/minute", description="Public answers per client address.")
    notify_webhook_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("survey_notify_webhook_url", "notify_webhook_url"),
        description="Customer message gateway (SMS/IM/e-mail) for survey links; SURVEY_NOTIFY_WEBHOOK_URL "
        "overrides the staff NOTIFY_WEBHOOK_URL. Unset: logged only.",
    )


def create_app(settings: SurveySettings | None = None, *, notifier: Notifier | None = None) -> FastAPI:
    settings = settings or SurveySettings()
    kit = ServiceKit(
        settings,
        title="helpdesk survey",
        description="Sends a satisfaction survey after each resolution, scores the answers (CSAT), reopens "
        "tickets on a bad answer (survey.completed) and reports per-agent CSAT and comment issues.",
    )
    store = SurveyStore(kit.db)
    outbox = kit.use_outbox(store.surveys)
    policy = SurveyPolicy(
        ttl=timedelta(hours=settings.survey_ttl_hours),
        reminder_after=timedelta(hours=settings.survey_reminder_hours),
        resend_grace=timedelta(minutes=settings.survey_resend_grace_minutes),
        satisfied_threshold=settings.survey_satisfied_threshold,
        public_base_url=settings.survey_public_base_url,
        business_timezone=settings.business_timezone,
    )
    service = SurveyService(
        store, ttl=policy.ttl, notifier=notifier or notifier_from_settings(settings), outbox=outbox, policy=policy
    )
    kit.on_startup(store.ensure_indexes)
    handlers.register(kit.bus, service)
    kit.background("survey-sweeper", lambda: service.run_sweeper(settings.survey_sweep_interval_seconds))
    limiter = RateLimiter(settings.survey_view_rate_limit, settings.survey_answer_rate_limit)
    kit.app.include_router(build_router(service, limiter))
    kit.app.state.service = service
    kit.app.state.limiter = limiter
    return kit.app
