"""Survey's use cases: domain decisions + store writes. Called by both the broker handlers and the
HTTP API, so the two doors behave the same."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from contracts import TicketResolved

from . import domain
from .domain import Survey
from .store import SurveyStore

log = logging.getLogger(__name__)

SETTLE_SCAN_LIMIT = 1000


@dataclass
class OpenResult:
    survey: Survey
    duplicate: bool
    token: str | None = None
    """The one-time link token, only on the delivery that created the survey (for the later delivery
    step); it is never stored, logged or published."""


class SurveyService:
    def __init__(self, store: SurveyStore, *, ttl: timedelta) -> None:
        self.store = store
        self.ttl = ttl

    async def on_resolved(self, event: TicketResolved, *, now: datetime | None = None) -> OpenResult:
        """Open exactly one survey per resolution event, then make sure only the ticket's latest
        resolution has a pending survey. A redelivery creates nothing; it only finishes the settling
        an interrupted first attempt may have left undone."""
        now = now or datetime.now(UTC)
        existing = await self.store.find_by_source_event(str(event.event_id))
        if existing is not None:
            await self.settle(existing.ticket_id, now)
            return OpenResult(existing, duplicate=True)

        token = domain.new_token()
        survey = domain.open_survey(
            event, survey_id=uuid.uuid4().hex, token_hash=domain.hash_token(token), now=now, ttl=self.ttl
        )
        if not await self.store.insert_survey(survey):  # a concurrent delivery of the same event won
            winner = await self.store.find_by_source_event(survey.source_event_id)
            assert winner is not None
            return OpenResult(winner, duplicate=True)
        await self.settle(survey.ticket_id, now)
        log.info("survey %s opened for ticket %s (expires %s)", survey.survey_id, survey.ticket_no,
                 survey.expires_at.isoformat())
        return OpenResult(survey, duplicate=False, token=token)

    async def settle(self, ticket_id: str, now: datetime) -> list[str]:
        """Supersede the pending surveys of older resolutions of this ticket. Run after every insert,
        so whichever of two racing resolutions is stored last sees both."""
        surveys = await self.store.list_for_ticket(ticket_id, limit=SETTLE_SCAN_LIMIT)
        done = [sid for sid in domain.stale_surveys(surveys) if await self.store.mark_superseded(sid, now)]
        if done:
            log.info("ticket %s: superseded %d older survey(s)", ticket_id, len(done))
        return done

    async def get(self, survey_id: str) -> Survey | None:
        return await self.store.get_survey(survey_id)

    async def for_ticket(self, ticket_id: str, *, limit: int) -> list[Survey]:
        return await self.store.list_for_ticket(ticket_id, limit=limit)
