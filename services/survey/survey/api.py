"""Survey's HTTP API: staff read the surveys of a ticket (JWT, any staff role). The customer's public
one-time page comes later and will live beside these routes without a login."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from contracts import Channel
from servicekit import AnyStaff, ApiError

from . import domain
from .domain import Survey, SurveyStatus
from .service import SurveyService

SurveyId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Survey id (32 hex characters).")]
TicketId = Annotated[str, Path(min_length=1, max_length=128, description="Intake's ticket id.")]


class SurveyView(BaseModel):
    """What staff see of a survey: never the link token nor its hash."""

    survey_id: str
    ticket_id: str
    ticket_no: str
    agent_id: str | None
    channel: Channel
    customer_id: str
    customer_display: str
    status: SurveyStatus
    resolved_at: datetime
    created_at: datetime
    expires_at: datetime
    superseded_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, survey: Survey, now: datetime) -> SurveyView:
        hidden = {"token_hash", "source_event_id", "source_occurred_at", "correlation_id"}
        data = survey.model_dump(exclude=hidden)
        data["status"] = domain.effective_status(survey, now)
        return cls(**data)


def build_router(service: SurveyService) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.get("/surveys/by-ticket/{ticket_id}", response_model=list[SurveyView], tags=["surveys"])
    async def surveys_of_ticket(
        ticket_id: TicketId, _: AnyStaff, limit: Annotated[int, Query(ge=1, le=100)] = 50
    ) -> list[SurveyView]:
        """A ticket's surveys, one per resolution, oldest first (empty when it has none)."""
        now = datetime.now(UTC)
        return [SurveyView.of(s, now) for s in await service.for_ticket(ticket_id, limit=limit)]

    @router.get("/surveys/{survey_id}", response_model=SurveyView, tags=["surveys"])
    async def get_survey(survey_id: SurveyId, _: AnyStaff) -> SurveyView:
        survey = await service.get(survey_id)
        if survey is None:
            raise ApiError(404, "survey_not_found", f"no survey {survey_id}")
        return SurveyView.of(survey, datetime.now(UTC))

    return router
