"""Classifier's HTTP API (staff JWT): dry-run classification, a ticket's classification, the active
rule set."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, model_validator

from contracts import Channel, CustomerTier
from servicekit import AnyStaff, ApiError, Supervisor

from .domain import Classification, ClassificationInput, ClassificationRecord, RuleSet
from .service import ClassifierService


class ClassifyRequest(BaseModel):
    """A text to classify without storing anything (same limits as a ticket submission)."""

    subject: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=20_000)
    channel: Channel = Channel.WEB_FORM
    customer_tier: CustomerTier = CustomerTier.NORMAL

    @model_validator(mode="after")
    def _some_text(self) -> ClassifyRequest:
        if not (self.subject.strip() or self.description.strip()):
            raise ValueError("give a subject or a description to classify")
        return self


TicketIdPath = Annotated[str, Path(min_length=1, max_length=64)]


def build_router(service: ClassifierService) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.post("/classify", response_model=Classification, tags=["classification"])
    async def classify(body: ClassifyRequest, _: AnyStaff) -> Classification:
        """Dry run: how the active rule set classifies this text, with the explanation. Nothing is
        stored and nothing is published."""
        return service.classify(ClassificationInput(**body.model_dump()))

    @router.get("/classifications/{ticket_id}", response_model=ClassificationRecord, tags=["classification"])
    async def get_classification(ticket_id: TicketIdPath, _: AnyStaff) -> ClassificationRecord:
        record = await service.store.get_classification(ticket_id)
        if record is None:
            raise ApiError(404, "classification_not_found", f"no classification for ticket {ticket_id}")
        return record

    @router.get("/rulesets/active", response_model=RuleSet, tags=["rules"])
    async def active_ruleset(_: Supervisor) -> RuleSet:
        """The rule set this replica classifies with (supervisors and admins)."""
        return service.ruleset

    return router
