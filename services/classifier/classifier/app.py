"""Wiring of the classifier service."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import Field

from servicekit import ServiceKit, ServiceSettings

from . import handlers
from .api import build_router
from .domain import DEFAULT_REVIEW_BELOW
from .service import ClassifierService
from .store import ClassifierStore


class ClassifierSettings(ServiceSettings):
    service_name: str = "classifier"
    http_port: int = 8002
    classifier_review_below: float = Field(
        default=DEFAULT_REVIEW_BELOW, ge=0.0, le=1.0,
        description="Results less confident than this are flagged needs_review (the fallback always is).",
    )
    classifier_seed_rules: bool = Field(
        default=True, description="Seed the built-in rule set v1 at startup when no rule set is active.",
    )


def create_app(settings: ClassifierSettings | None = None) -> FastAPI:
    settings = settings or ClassifierSettings()
    kit = ServiceKit(
        settings,
        title="helpdesk classifier",
        description="Classifies every new ticket (category, module, priority P1-P4) with versioned rules.",
    )
    store = ClassifierStore(kit.db)
    outbox = kit.use_outbox(store.classifications)
    service = ClassifierService(
        store,
        outbox,
        review_below=settings.classifier_review_below,
        seed_default_rules=settings.classifier_seed_rules,
    )
    kit.on_startup(store.ensure_indexes)
    kit.on_startup(service.load_ruleset)
    handlers.register(kit.bus, service)
    kit.app.include_router(build_router(service))
    kit.app.state.service = service
    return kit.app
