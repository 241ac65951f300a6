"""Wiring of the classifier service."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import Field

from servicekit import ServiceKit, ServiceSettings

from . import handlers
from .api import build_router
from .domain import DEFAULT_REVIEW_BELOW, MODEL_ACCEPT_AT, RULE_WINS_AT
from .knowledge import MIN_SCORE
from .service import ClassifierService, KnowledgeBase
from .store import ClassifierStore, KnowledgeStore


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
    classifier_train_at_start: bool = Field(
        default=True, description="Train model v1 from the shipped file at startup when no model is stored.",
    )
    classifier_rule_wins_at: float = Field(
        default=RULE_WINS_AT, ge=0.0, le=1.0, description="A rule match at least this confident decides.",
    )
    classifier_model_accept_at: float = Field(
        default=MODEL_ACCEPT_AT, ge=0.0, le=1.0,
        description="Below this model probability: category other + manual review.",
    )
    classifier_seed_knowledge: bool = Field(
        default=True, description="Publish the shipped starter articles and reply templates on an empty knowledge base.",
    )
    classifier_knowledge_min_score: float = Field(
        default=MIN_SCORE, ge=0.0, description="BM25 score a knowledge item needs to be suggested for a ticket "
        "(higher: fewer, surer suggestions).",
    )
    classifier_reload_interval_seconds: float = Field(
        default=30.0, gt=0, description="Periodic check for a newly activated rule set/model (event backup).",
    )


def create_app(settings: ClassifierSettings | None = None) -> FastAPI:
    settings = settings or ClassifierSettings()
    kit = ServiceKit(
        settings,
        title="helpdesk classifier",
        description="Classifies every ticket (category, module, priority P1-P4) with versioned rules and a learned "
        "model, explained; supervisors correct, admins edit rules and retrain. Keeps the knowledge base (articles "
        "and reply templates) and suggests the best of it for every ticket.",
    )
    store = ClassifierStore(kit.db)
    knowledge_store = KnowledgeStore(kit.db)
    outbox = kit.use_outbox(store.classifications, store.revisions, knowledge_store.items, knowledge_store.feedback)
    knowledge_base = KnowledgeBase(knowledge_store, outbox, seed=settings.classifier_seed_knowledge,
                                   min_score=settings.classifier_knowledge_min_score)
    service = ClassifierService(
        store,
        outbox,
        review_below=settings.classifier_review_below,
        seed_default_rules=settings.classifier_seed_rules,
        train_at_start=settings.classifier_train_at_start,
        rule_wins_at=settings.classifier_rule_wins_at,
        model_accept_at=settings.classifier_model_accept_at,
        knowledge_base=knowledge_base,
    )
    kit.on_startup(store.ensure_indexes)
    kit.on_startup(knowledge_store.ensure_indexes)
    kit.on_startup(knowledge_base.seed)
    kit.on_startup(knowledge_base.load)
    kit.on_startup(service.load_ruleset)
    kit.on_startup(service.load_model)
    kit.background("reload", lambda: service.reload_periodically(settings.classifier_reload_interval_seconds))
    handlers.register(kit.bus, service)
    kit.app.include_router(build_router(service))
    kit.app.state.service = service
    return kit.app
