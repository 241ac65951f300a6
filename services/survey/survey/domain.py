"""Survey's pure decisions: opening a survey for a resolution, one-time link tokens, expiry, which
surveys a newer resolution makes stale, and the CSAT scoring of answers (seed 000 "客户满意度调研":
响应速度 / 问题解决 / 服务态度). No I/O here."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from contracts import Channel, SurveyAttitude, SurveyResolution, SurveySpeed, TicketResolved
from servicekit.privacy import redact_text

PRODUCER = "survey"


class DomainError(Exception):
    """Input the survey rules can never accept (a handler turns it into a dead letter)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class SurveyStatus(StrEnum):
    """``pending`` until answered; ``completed`` once answered (with the answer endpoint);
    ``expired`` when the link ran out unanswered; ``superseded`` when a newer resolution of the same
    ticket (after a reopen) has its own survey, so this one must no longer be answered."""

    PENDING = "pending"
    COMPLETED = "completed"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


# ----------------------------------------------------------------------------- one-time link tokens
def new_token() -> str:
    """An unguessable one-time token for the customer's survey link (256 bits of randomness)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Only this SHA-256 hex digest is stored: a leaked database does not leak answerable links."""
    return hashlib.sha256(token.encode()).hexdigest()


# ----------------------------------------------------------------------------- the survey
class Survey(BaseModel):
    survey_id: str
    source_event_id: str = Field(description="The ticket.resolved event this survey is for (natural key).")
    ticket_id: str
    ticket_no: str
    correlation_id: str
    agent_id: str | None = None
    channel: Channel
    customer_id: str
    customer_display: str = Field(description="Masked display name, never the real name.")
    status: SurveyStatus = SurveyStatus.PENDING
    token_hash: str = Field(description="SHA-256 of the one-time link token; the token itself is never kept.")
    resolved_at: datetime
    source_occurred_at: datetime = Field(description="occurred_at of the resolution event (orders them).")
    created_at: datetime
    expires_at: datetime
    superseded_at: datetime | None = None
    completed_at: datetime | None = None


def open_survey(
    event: TicketResolved, *, survey_id: str, token_hash: str, now: datetime, ttl: timedelta
) -> Survey:
    """The survey that goes out after a resolution (seed 000: 服务完成后系统自动发送满意度调研).
    The link stays answerable for ``ttl`` from now (when the survey is sent), not from the resolution:
    a delayed delivery must not hand the customer an already-dead link."""
    p = event.payload
    if not p.ticket_id.strip() or not p.ticket_no.strip():
        raise DomainError("missing_ticket", "ticket.resolved without ticket_id/ticket_no")
    if ttl <= timedelta(0):
        raise ValueError("survey ttl must be positive")
    return Survey(
        survey_id=survey_id,
        source_event_id=str(event.event_id),
        ticket_id=p.ticket_id,
        ticket_no=p.ticket_no,
        correlation_id=event.correlation_id,
        agent_id=p.agent_id,
        channel=p.channel,
        customer_id=p.customer_id,
        customer_display=redact_text(p.customer_display),
        token_hash=token_hash,
        resolved_at=p.resolved_at,
        source_occurred_at=event.occurred_at,
        created_at=now,
        expires_at=now + ttl,
    )


def is_expired(survey: Survey, now: datetime) -> bool:
    """An unanswered survey can be answered until ``expires_at`` (exclusive). A completed or
    superseded survey is not "expired": it is finished for another reason."""
    if survey.status == SurveyStatus.EXPIRED:
        return True
    return survey.status == SurveyStatus.PENDING and now >= survey.expires_at


def effective_status(survey: Survey, now: datetime) -> SurveyStatus:
    """The status as of ``now``: a pending survey past its expiry reads as expired even before a
    sweeper has written that down."""
    return SurveyStatus.EXPIRED if is_expired(survey, now) else survey.status


def _resolution_order(survey: Survey) -> tuple[datetime, str]:
    return survey.source_occurred_at, survey.source_event_id


def stale_surveys(surveys: list[Survey]) -> list[str]:
    """Ids of the pending surveys of one ticket that a newer resolution made stale. Only the survey of
    the ticket's most recent resolution (by event ``occurred_at``, ties by event id) may stay pending,
    whatever order the resolutions arrived in: after a reopen the customer judges the latest result."""
    if not surveys:
        return []
    newest = max(surveys, key=_resolution_order)
    return [s.survey_id for s in surveys if s is not newest and s.status == SurveyStatus.PENDING]


def supersede(survey: Survey, now: datetime) -> Survey:
    return survey.model_copy(update={"status": SurveyStatus.SUPERSEDED, "superseded_at": now})


# ----------------------------------------------------------------------------- CSAT scoring
class SurveyAnswers(BaseModel):
    """The three questions of seed 000, plus an optional comment (建议改进方向)."""

    speed: SurveySpeed
    resolution: SurveyResolution
    attitude: SurveyAttitude
    comment: str = Field(default="", max_length=2000)


class Score(BaseModel):
    csat: float = Field(ge=1.0, le=5.0)
    satisfied: bool


SPEED_POINTS: dict[SurveySpeed, int] = {
    SurveySpeed.VERY_FAST: 5, SurveySpeed.FAST: 4, SurveySpeed.AVERAGE: 3, SurveySpeed.SLOW: 1,
}
RESOLUTION_POINTS: dict[SurveyResolution, int] = {
    SurveyResolution.RESOLVED: 5, SurveyResolution.PARTIALLY: 3, SurveyResolution.UNRESOLVED: 1,
}
ATTITUDE_POINTS: dict[SurveyAttitude, int] = {
    SurveyAttitude.VERY_SATISFIED: 5, SurveyAttitude.SATISFIED: 4, SurveyAttitude.AVERAGE: 3,
    SurveyAttitude.UNSATISFIED: 1,
}
# Weights in tenths (resolution 0.5, attitude 0.3, speed 0.2): integer arithmetic keeps the score exact.
RESOLUTION_WEIGHT, ATTITUDE_WEIGHT, SPEED_WEIGHT = 5, 3, 2
SATISFIED_THRESHOLD = 3.5


def csat(speed: SurveySpeed, resolution: SurveyResolution, attitude: SurveyAttitude) -> float:
    """CSAT = 0.5 × resolution + 0.3 × attitude + 0.2 × speed, each answer worth 1–5 points, rounded to
    2 decimals; always within [1, 5]."""
    tenths = (
        RESOLUTION_WEIGHT * RESOLUTION_POINTS[resolution]
        + ATTITUDE_WEIGHT * ATTITUDE_POINTS[attitude]
        + SPEED_WEIGHT * SPEED_POINTS[speed]
    )
    return min(5.0, max(1.0, round(tenths / 10, 2)))


def score(answers: SurveyAnswers) -> Score:
    """A customer counts as satisfied when CSAT ≥ 3.5, the problem is not unresolved and the attitude
    was not rated unsatisfied (one bad answer on either is a dissatisfied customer whatever the mean)."""
    value = csat(answers.speed, answers.resolution, answers.attitude)
    satisfied = (
        value >= SATISFIED_THRESHOLD
        and answers.resolution != SurveyResolution.UNRESOLVED
        and answers.attitude != SurveyAttitude.UNSATISFIED
    )
    return Score(csat=value, satisfied=satisfied)
