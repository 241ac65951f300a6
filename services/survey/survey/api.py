"""Survey's HTTP API.

Staff (JWT): a ticket's surveys, one survey, the survey list, a resend, per-agent CSAT (an agent sees
their own; supervisors everyone's) and the monthly comment-issue list (JSON or CSV).

Public (no login, rate-limited per client address): the one-time survey page ``/s/{token}`` (HTML form,
Chinese with an English switch) and its JSON twin ``/api/v1/public/surveys/{token}``. Unknown, answered,
expired or superseded links get a clear message and nothing is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from limits import parse as parse_limit
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from pydantic import BaseModel, ValidationError

from contracts import Channel, StaffRole, SurveyAttitude, SurveyResolution, SurveySpeed
from servicekit import AnyStaff, ApiError, Supervisor

from . import domain, page
from .domain import AgentCsat, CommentIssue, Survey, SurveyAnswers, SurveyStatus
from .service import Conflict, NotFound, SurveyService

SurveyId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Survey id (32 hex characters).")]
TicketId = Annotated[str, Path(min_length=1, max_length=128, description="Intake's ticket id.")]
AgentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")]
Token = Annotated[str, Path(min_length=20, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$",
                            description="The one-time link token from the invitation.")]
Month = Annotated[str, Query(pattern=r"^2\d{3}-(0[1-9]|1[0-2])$",
                            description="yyyy-mm, years 2000-2999 (business time zone).")]

REFUSAL_STATUS = {"survey_already_answered": 409, "survey_expired": 410, "survey_superseded": 410}
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never leak it to another site
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


class SurveyView(BaseModel):
    """What staff see of a survey: never the link token nor its hashes."""

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
    invitations_sent: int
    last_invited_at: datetime | None
    reminded_at: datetime | None
    speed: SurveySpeed | None
    resolution: SurveyResolution | None
    attitude: SurveyAttitude | None
    comment: str
    csat: float | None
    satisfied: bool | None

    @classmethod
    def of(cls, survey: Survey, now: datetime) -> SurveyView:
        data = survey.model_dump(include=set(cls.model_fields))
        data["status"] = domain.effective_status(survey, now)
        return cls(**data)


class PublicQuestion(BaseModel):
    field: str
    label: str
    options: list[dict[str, str]]


class PublicSurvey(BaseModel):
    """The public JSON view: the ticket number and the questions, no personal data."""

    ticket_no: str
    status: SurveyStatus
    expires_at: datetime
    questions: list[PublicQuestion]


class AnswerReceipt(BaseModel):
    status: SurveyStatus
    completed_at: datetime
    satisfied: bool
    reopened: bool


class RateLimiter:
    """Per client address, moving window, in process memory (each replica limits on its own)."""

    def __init__(self, view: str, answer: str) -> None:
        self.storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.view, self.answer = parse_limit(view), parse_limit(answer)

    async def check(self, request: Request, kind: Literal["view", "answer"]) -> None:
        item = self.view if kind == "view" else self.answer
        client = request.client.host if request.client else "unknown"
        if not await self.limiter.hit(item, kind, client):
            stats = await self.limiter.get_window_stats(item, kind, client)
            retry = max(1, int(stats.reset_time - datetime.now(UTC).timestamp()) + 1)
            raise ApiError(429, "rate_limited", "too many requests; try again later", {"retry_after": retry})


def _lang(value: str | None) -> page.Lang:
    return "en" if (value or "").lower().startswith("en") else "zh"


def build_router(service: SurveyService, limiter: RateLimiter) -> APIRouter:
    router = APIRouter()
    tz = service.policy.business_timezone

    # ================================================================== staff
    @router.get("/api/v1/surveys/by-ticket/{ticket_id}", response_model=list[SurveyView], tags=["surveys"])
    async def surveys_of_ticket(
        ticket_id: TicketId, _: AnyStaff, limit: Annotated[int, Query(ge=1, le=100)] = 50
    ) -> list[SurveyView]:
        """A ticket's surveys, one per resolution, oldest first (empty when it has none)."""
        now = datetime.now(UTC)
        return [SurveyView.of(s, now) for s in await service.for_ticket(ticket_id, limit=limit)]

    @router.get("/api/v1/surveys", response_model=list[SurveyView], tags=["surveys"])
    async def list_surveys(
        _: Supervisor,
        status: SurveyStatus | None = None,
        agent_id: Annotated[str | None, Query(max_length=64)] = None,
        satisfied: bool | None = None,
        since: Annotated[datetime | None, Query(alias="from", description="created at or after (UTC, aware)")] = None,
        until: Annotated[datetime | None, Query(alias="to", description="created before (UTC, aware)")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        skip: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> list[SurveyView]:
        """Surveys newest first, filtered by stored status, agent, satisfaction and creation time."""
        for value in (since, until):
            if value is not None and value.tzinfo is None:
                raise ApiError(422, "validation_error", "from/to need a time zone (e.g. 2026-11-01T00:00:00Z)")
        now = datetime.now(UTC)
        found = await service.search(status=status.value if status else None, agent_id=agent_id,
                                     satisfied=satisfied, since=since, until=until, limit=limit, skip=skip)
        return [SurveyView.of(s, now) for s in found]

    @router.get("/api/v1/surveys/{survey_id}", response_model=SurveyView, tags=["surveys"])
    async def get_survey(survey_id: SurveyId, _: AnyStaff) -> SurveyView:
        survey = await service.get(survey_id)
        if survey is None:
            raise ApiError(404, "survey_not_found", f"no survey {survey_id}")
        return SurveyView.of(survey, datetime.now(UTC))

    @router.post("/api/v1/surveys/{survey_id}/resend", response_model=SurveyView, status_code=202, tags=["surveys"])
    async def resend_survey(survey_id: SurveyId, _: Supervisor) -> SurveyView:
        """Send the customer a new link through the ticket's channel (earlier links keep working)."""
        try:
            survey = await service.resend(survey_id)
        except NotFound:
            raise ApiError(404, "survey_not_found", f"no survey {survey_id}") from None
        except Conflict as exc:
            raise ApiError(409, exc.code, str(exc)) from None
        return SurveyView.of(survey, datetime.now(UTC))

    @router.get("/api/v1/agents/csat", response_model=list[AgentCsat], tags=["csat"])
    async def all_agents_csat(
        _: Supervisor,
        since: Annotated[datetime | None, Query(alias="from")] = None,
        until: Annotated[datetime | None, Query(alias="to")] = None,
    ) -> list[AgentCsat]:
        """Every agent's running CSAT (answered surveys; optional completion window)."""
        return await service.agent_scores(since=since, until=until)

    @router.get("/api/v1/agents/{agent_id}/csat", response_model=AgentCsat, tags=["csat"])
    async def agent_csat(
        agent_id: AgentId,
        principal: AnyStaff,
        since: Annotated[datetime | None, Query(alias="from")] = None,
        until: Annotated[datetime | None, Query(alias="to")] = None,
    ) -> AgentCsat:
        """An agent's running CSAT for the workbench: agents read their own, supervisors anyone's."""
        if principal.staff_id != agent_id and not principal.has_any((StaffRole.SUPERVISOR, StaffRole.ADMIN)):
            raise ApiError(403, "forbidden", "agents may only read their own satisfaction score")
        [score] = await service.agent_scores(agent_id=agent_id, since=since, until=until)
        return score

    @router.get("/api/v1/reports/comment-issues", response_model=list[CommentIssue], tags=["reports"],
                responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                                 "description": "JSON rows, or CSV with `format=csv`."}})
    async def comment_issues(
        _: Supervisor, month: Month, format: Annotated[Literal["json", "csv"], Query()] = "json"
    ) -> Any:
        """The month's high-frequency issues in customers' comments, for product/operations (seed 004)."""
        rows = await service.comment_issues(month)
        if format == "csv":
            return Response(
                ("\ufeff" + domain.issues_csv(rows)).encode(), media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="survey-comment-issues-{month}.csv"'},
            )
        return rows

    # ================================================================== public (no login)
    def _public_view(survey: Survey, lang: page.Lang) -> PublicSurvey:
        return PublicSurvey(
            ticket_no=survey.ticket_no, status=domain.effective_status(survey, datetime.now(UTC)),
            expires_at=survey.expires_at,
            questions=[
                PublicQuestion(field=q.field, label=q.zh if lang == "zh" else q.en,
                               options=[{"value": v, "label": zh if lang == "zh" else en} for v, zh, en in q.options])
                for q in page.QUESTIONS
            ],
        )

    async def _open(token: str) -> Survey:
        survey = await service.by_token(token)
        if survey is None:
            raise ApiError(404, "survey_not_found", "no survey for this link")
        try:
            domain.check_answerable(survey, datetime.now(UTC))
        except domain.AnswerRefused as exc:
            raise ApiError(REFUSAL_STATUS[exc.code], exc.code, str(exc)) from None
        return survey

    async def _answer(token: str, answers: SurveyAnswers) -> Survey:
        try:
            return await service.answer(token, answers)
        except NotFound:
            raise ApiError(404, "survey_not_found", "no survey for this link") from None
        except domain.AnswerRefused as exc:
            raise ApiError(REFUSAL_STATUS[exc.code], exc.code, str(exc)) from None

    @router.get("/api/v1/public/surveys/{token}", response_model=PublicSurvey, tags=["public"])
    async def public_survey(
        request: Request, response: Response, token: Token, lang: Annotated[str | None, Query(max_length=8)] = None
    ) -> PublicSurvey:
        """The questions of an answerable survey (no login). 404 unknown, 409 answered, 410 expired."""
        await limiter.check(request, "view")
        response.headers.update(PAGE_HEADERS)
        return _public_view(await _open(token), _lang(lang))

    @router.post("/api/v1/public/surveys/{token}/answers", response_model=AnswerReceipt, status_code=201,
                 tags=["public"])
    async def public_answer(request: Request, response: Response, token: Token,
                            answers: Annotated[SurveyAnswers, Body()]) -> AnswerReceipt:
        """Answer once: speed, resolution, attitude and an optional comment (≤ 2000 characters)."""
        await limiter.check(request, "answer")
        response.headers.update(PAGE_HEADERS)
        done = await _answer(token, answers)
        assert done.completed_at is not None and done.satisfied is not None
        return AnswerReceipt(status=done.status, completed_at=done.completed_at, satisfied=done.satisfied,
                             reopened=not done.satisfied)

    def _html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})

    def _refusal_page(exc: ApiError, lang: page.Lang) -> HTMLResponse:
        key = exc.code if exc.code in page.TEXTS else "survey_not_found"
        tone: Literal["warn", "error"] = "warn" if exc.code in ("survey_already_answered", "rate_limited") else "error"
        title = "thanks_title" if exc.code == "survey_already_answered" else "error_title"
        retry = (exc.details or {}).get("retry_after") if isinstance(exc.details, dict) else None
        return _html(page.render_message(lang=lang, title_key=title, message_key=key, tone=tone), exc.status,
                     {"Retry-After": str(retry)} if retry else None)

    @router.get("/s/{token}", response_class=HTMLResponse, tags=["public"], include_in_schema=True)
    async def survey_page(request: Request, token: str, lang: str | None = None) -> HTMLResponse:
        """The customer's survey page (HTML, Chinese; ``?lang=en`` for English)."""
        language = _lang(lang)
        try:
            await limiter.check(request, "view")
            if len(token) > 128:
                raise ApiError(404, "survey_not_found", "no survey for this link")
            survey = await _open(token)
        except ApiError as exc:
            return _refusal_page(exc, language)
        return _html(page.render_form(lang=language, ticket_no=survey.ticket_no, expires_at=survey.expires_at, tz=tz))

    @router.post("/s/{token}", response_class=HTMLResponse, tags=["public"])
    async def survey_page_submit(request: Request, token: str, lang: str | None = None) -> HTMLResponse:
        """The page's form post (application/x-www-form-urlencoded)."""
        language = _lang(lang)
        try:
            await limiter.check(request, "answer")
            if len(token) > 128:
                raise ApiError(404, "survey_not_found", "no survey for this link")
            raw = await request.body()
            if len(raw) > 16_384:
                raise ApiError(413, "payload_too_large", "form too large")
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}
            fields = {k: form[k] for k in ("speed", "resolution", "attitude", "comment") if k in form}
            try:
                answers = SurveyAnswers.model_validate(fields)
            except ValidationError:
                survey = await _open(token)  # an unusable link says so rather than "answer all questions"
                return _html(page.render_form(
                    lang=language, ticket_no=survey.ticket_no, expires_at=survey.expires_at, tz=tz,
                    chosen={k: v for k, v in fields.items() if k != "comment"}, comment=fields.get("comment", "")[:2000],
                    error=page.text("required", language),
                ), 422)
            done = await _answer(token, answers)
        except ApiError as exc:
            if exc.status == 413:
                return _html(page.render_message(lang=language, title_key="error_title",
                                                 message_key="required", tone="error"), 413)
            return _refusal_page(exc, language)
        message = "thanks_ok" if done.satisfied else "thanks_bad"
        return _html(page.render_message(lang=language, title_key="thanks_title", message_key=message,
                                         tone="ok" if done.satisfied else "warn"), 200)

    return router

