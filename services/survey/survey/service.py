"""Survey's use cases: domain decisions + store writes. Called by both the broker handlers and the
HTTP API, so the two doors behave the same."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from contracts import TicketResolved
from servicekit.context import raise_if_cancelling
from servicekit import Outbox
from servicekit.notify import Notification, Notifier

from . import domain
from .domain import AgentCsat, CommentIssue, Survey, SurveyAnswers
from .store import SurveyStore

log = logging.getLogger(__name__)

SETTLE_SCAN_LIMIT = 1000
SWEEP_BATCH = 500


@dataclass
class OpenResult:
    survey: Survey
    duplicate: bool
    token: str | None = None
    """The one-time link token, only on the delivery that created the survey (or re-sent its lost
    invitation); it is never stored, logged or published."""


@dataclass
class SurveyPolicy:
    ttl: timedelta
    reminder_after: timedelta = timedelta(hours=48)
    resend_grace: timedelta = timedelta(minutes=5)
    satisfied_threshold: float = domain.SATISFIED_THRESHOLD
    public_base_url: str = "http://localhost:8005"
    business_timezone: str = "Asia/Shanghai"


@dataclass
class SweepResult:
    invited: int = 0
    reminded: int = 0
    expired: int = 0
    failed: list[str] = field(default_factory=list)


class NotFound(Exception):
    pass


class Conflict(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class SurveyService:
    def __init__(
        self, store: SurveyStore, *, ttl: timedelta, notifier: Notifier | None = None,
        outbox: Outbox | None = None, policy: SurveyPolicy | None = None,
    ) -> None:
        self.store = store
        self.policy = policy or SurveyPolicy(ttl=ttl)
        self.ttl = self.policy.ttl
        self.notifier = notifier
        self.outbox = outbox

    # ------------------------------------------------------------------ opening and delivery
    async def on_resolved(self, event: TicketResolved, *, now: datetime | None = None) -> OpenResult:
        """Open exactly one survey per resolution event, make sure only the ticket's latest resolution
        has a pending survey, and deliver the link. A redelivery creates nothing; it only finishes what
        an interrupted first attempt left undone (settling, an invitation that never left)."""
        now = now or datetime.now(UTC)
        existing = await self.store.find_by_source_event(str(event.event_id))
        if existing is not None:
            await self.settle(existing.ticket_id, now)
            token = None
            fresh = await self.store.get_survey(existing.survey_id)
            if fresh is not None and domain.needs_first_invitation(fresh, now, timedelta(0)):
                try:
                    token = await self._deliver(fresh, now, reminder=False)
                except Conflict:
                    pass
                except Exception as exc:
                    log.warning("survey %s: invitation failed (%s); the sweeper retries", fresh.survey_id,
                                type(exc).__name__)
            return OpenResult(fresh or existing, duplicate=True, token=token)

        token = domain.new_token()
        digest = domain.hash_token(token)
        survey = domain.open_survey(
            event, survey_id=domain.survey_id_for(str(event.event_id)), token_hash=digest, now=now, ttl=self.ttl
        )
        await self.store.add_token(digest, survey.survey_id, now)
        if not await self.store.insert_survey(survey):  # a concurrent delivery of the same event won
            winner = await self.store.find_by_source_event(survey.source_event_id)
            assert winner is not None
            return OpenResult(winner, duplicate=True)
        stale = await self.settle(survey.ticket_id, now)
        log.info("survey %s opened for ticket %s (expires %s)", survey.survey_id, survey.ticket_no,
                 survey.expires_at.isoformat())
        if survey.survey_id not in stale:
            await self.store.mark_attempt(survey.survey_id, now)
            try:
                await self._send(survey, token, now, reminder=False)
            except Exception as exc:  # gateway down: the survey is stored, the sweeper sends a new link
                log.warning("survey %s: invitation failed (%s); the sweeper retries", survey.survey_id,
                            type(exc).__name__)
        return OpenResult(survey, duplicate=False, token=token)

    async def _send(self, survey: Survey, token: str, now: datetime, *, reminder: bool) -> None:
        inv = domain.invitation(survey, token, base_url=self.policy.public_base_url, now=now, reminder=reminder)
        if self.notifier is not None:
            await self.notifier.send(
                Notification(
                    kind=inv.kind, channel=inv.channel, recipient=inv.recipient, subject=inv.subject, body=inv.body,
                    ticket_id=survey.ticket_id, correlation_id=survey.correlation_id,
                    data={"survey_id": survey.survey_id, "link": inv.link, "ticket_no": survey.ticket_no,
                          "expires_at": survey.expires_at.isoformat(), "reminder": reminder},
                )
            )
        await self.store.record_invitation(survey.survey_id, now, reminder=reminder)
        log.info("survey %s: %s sent via %s", survey.survey_id, inv.kind, inv.channel)

    async def _deliver(self, survey: Survey, now: datetime, *, reminder: bool) -> str:
        """Issue a fresh link (only hashes are stored, so a resend cannot repeat the old link; the old
        one stays answerable) and hand it to the notifier."""
        token = domain.new_token()
        digest = domain.hash_token(token)
        await self.store.add_token(digest, survey.survey_id, now)
        if not await self.store.rotate_token(survey.survey_id, survey.token_hash, digest, now):
            raise Conflict("survey_not_pending", "the survey is no longer waiting for an answer")
        await self._send(survey.model_copy(update={"token_hash": digest}), token, now, reminder=reminder)
        return token

    async def resend(self, survey_id: str, *, now: datetime | None = None) -> Survey:
        """Staff resend (customer lost the message): a new link through the ticket's channel."""
        now = now or datetime.now(UTC)
        survey = await self.store.get_survey(survey_id)
        if survey is None:
            raise NotFound(survey_id)
        try:
            domain.check_answerable(survey, now)
        except domain.AnswerRefused as exc:
            raise Conflict(exc.code, str(exc)) from None
        await self._deliver(survey, now, reminder=False)
        updated = await self.store.get_survey(survey_id)
        assert updated is not None
        return updated

    async def sweep(self, *, now: datetime | None = None) -> SweepResult:
        """The periodic job: invitations that never left, the one reminder, expiry written down."""
        now = now or datetime.now(UTC)
        result = SweepResult()
        for survey in await self.store.pending_for_sweep(limit=SWEEP_BATCH):
            try:
                if domain.needs_first_invitation(survey, now, self.policy.resend_grace):
                    await self._deliver(survey, now, reminder=False)
                    result.invited += 1
                elif domain.reminder_due(survey, now, self.policy.reminder_after):
                    await self._deliver(survey, now, reminder=True)
                    result.reminded += 1
            except Conflict:
                continue  # answered or superseded meanwhile
            except Exception as exc:  # the gateway is down: the next pass retries
                await self.store.mark_attempt(survey.survey_id, now)
                result.failed.append(survey.survey_id)
                log.warning("survey %s: delivery failed, will retry: %s", survey.survey_id, type(exc).__name__)
        result.expired = await self.store.mark_expired(now)
        return result

    async def run_sweeper(self, interval: float) -> None:
        while True:
            try:
                result = await self.sweep()
                if result.invited or result.reminded or result.expired or result.failed:
                    log.info("survey sweep: %d invited, %d reminded, %d expired, %d failed", result.invited,
                             result.reminded, result.expired, len(result.failed))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_cancelling(exc)
                log.exception("survey sweep failed; retrying")
            await asyncio.sleep(interval)

    async def settle(self, ticket_id: str, now: datetime) -> list[str]:
        """Supersede the pending surveys of older resolutions of this ticket. Run after every insert,
        so whichever of two racing resolutions is stored last sees both."""
        surveys = await self.store.list_for_ticket(ticket_id, limit=SETTLE_SCAN_LIMIT)
        done = [sid for sid in domain.stale_surveys(surveys) if await self.store.mark_superseded(sid, now)]
        if done:
            log.info("ticket %s: superseded %d older survey(s)", ticket_id, len(done))
        return done

    # ------------------------------------------------------------------ the customer's answer
    async def by_token(self, token: str) -> Survey | None:
        if not token or len(token) > 128:
            return None
        return await self.store.survey_by_token(domain.hash_token(token))

    async def answer(self, token: str, answers: SurveyAnswers, *, now: datetime | None = None) -> Survey:
        """Score the answers, store them with survey.completed in one write, publish. Raises NotFound
        for an unknown link and domain.AnswerRefused when it can no longer be answered."""
        now = now or datetime.now(UTC)
        survey = await self.by_token(token)
        if survey is None:
            raise NotFound("survey")
        done, event = domain.complete(survey, answers, now=now, threshold=self.policy.satisfied_threshold)
        if not await self.store.complete(done, event, now):
            fresh = await self.store.get_survey(survey.survey_id)
            domain.check_answerable(fresh or survey, now)  # raises the reason (answered/superseded)
            raise domain.AnswerRefused("survey_expired", "this survey link has expired")
        if self.outbox is not None:
            await self.outbox.flush(self.store.surveys, done.survey_id)
        log.info("survey %s answered: csat %.2f, %s", done.survey_id, done.csat or 0,
                 "satisfied" if done.satisfied else "NOT satisfied (ticket will be reopened)")
        return done

    # ------------------------------------------------------------------ staff reads
    async def get(self, survey_id: str) -> Survey | None:
        return await self.store.get_survey(survey_id)

    async def for_ticket(self, ticket_id: str, *, limit: int) -> list[Survey]:
        return await self.store.list_for_ticket(ticket_id, limit=limit)

    async def search(self, **filters: object) -> list[Survey]:
        return await self.store.search(**filters)  # type: ignore[arg-type]

    async def agent_scores(
        self, *, agent_id: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[AgentCsat]:
        rows = await self.store.agent_totals(agent_id=agent_id, since=since, until=until)
        scores = [
            domain.agent_csat(str(r["_id"]), int(r["surveys"]), float(r["csat_sum"]), int(r["satisfied"]),
                              int(r.get("unresolved") or 0))
            for r in rows
        ]
        if agent_id is not None and not scores:
            scores = [domain.agent_csat(agent_id, 0, 0.0, 0, 0)]
        return scores

    async def comment_issues(self, month: str) -> list[CommentIssue]:
        since, until = domain.month_range(month, ZoneInfo(self.policy.business_timezone))
        return domain.comment_issues(month, await self.store.comments_between(since, until))
