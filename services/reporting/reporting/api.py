"""Reporting's HTTP API, for supervisors and admins (seed 004: 主管/管理员 look at and export reports):
daily report (walking skeleton), KPI reports over any date range by day/week/month with a team,
channel or agent filter (JSON and CSV), weekly and monthly shortcuts, the per-agent comparison,
high-frequency issues and spikes, the knowledge-base figures and the "write an article" list (issue 17),
the live dashboard data, and admin rebuild."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, BeforeValidator, Field

from contracts import StaffRole
from servicekit import Admin, ApiError, Supervisor

from . import knowledge, kpi
from .domain import ConversationKpis, DailyReport, TicketFact, report_csv
from .incidents import IncidentReport
from .service import ReportingService, Subscription

MAX_RANGE_DAYS = 400
_ISO_MONTH = re.compile(r"^\d{4}-\d{2}$")

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


def _calendar_day(value: Any) -> Any:
    """Accept a real calendar day written ``YYYY-MM-DD`` only (pydantic alone would also take ``0``
    or a full timestamp), within a sane range."""
    if not isinstance(value, str):
        return value
    if not _ISO_DAY.match(value):
        raise ValueError("day must be a date written YYYY-MM-DD")
    day = date.fromisoformat(value)  # ValueError for 2026-02-30 → 422
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"day must be between {FIRST_DAY} and {LAST_DAY}")
    return day


Day = Annotated[
    date | None,
    BeforeValidator(_calendar_day),
    Query(description="Business day (YYYY-MM-DD, in the business time zone); default today."),
]
TicketId = Annotated[str, Path(min_length=1, max_length=128)]
OptDay = Annotated[date | None, BeforeValidator(_calendar_day), Query(description="YYYY-MM-DD (business zone).")]
Name = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]
Top = Annotated[int, Query(ge=1, le=100)]
MinTickets = Annotated[int, Query(ge=1, le=1_000_000, description="A problem with fewer tickets is not a gap.")]
Keywords = Annotated[int, Query(ge=0, le=50, description="Top keywords shown per problem.")]


def _month(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or not _ISO_MONTH.match(value):
        raise ValueError("month must be written YYYY-MM")
    day = _calendar_day(value + "-01")
    return day


Month = Annotated[date | None, BeforeValidator(_month), Query(description="Month, YYYY-MM.")]


def _range(service: ReportingService, start: date | None, end: date | None, default_days: int) -> tuple[date, date]:
    end = end or service.today()
    start = start or end - timedelta(days=default_days - 1)
    if start > end:
        raise ApiError(422, "validation_error", "start must not be after end")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ApiError(422, "validation_error", f"a report covers at most {MAX_RANGE_DAYS} days")
    return start, end


def _scope(team: str | None, channel: str | None, agent: str | None) -> str:
    given = [(k, v) for k, v in (("team", team), ("channel", channel), ("agent", agent)) if v is not None]
    if len(given) > 1:
        raise ApiError(422, "validation_error", "filter by one of team, channel or agent at a time")
    if channel is not None and channel not in kpi.CHANNEL_KEYS:
        raise ApiError(422, "validation_error", f"unknown channel {channel!r}")
    return f"{given[0][0]}={given[0][1]}" if given else kpi.ALL


def _csv(body: str, name: str) -> Response:
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


class HighFrequency(BaseModel):
    start: date
    end: date
    top_categories: list[kpi.TopRow]
    top_keywords: list[kpi.TopRow]
    spikes: list[dict[str, Any]]


class LiveDashboard(BaseModel):
    today: date
    kpis: kpi.Kpis
    conversation: ConversationKpis = Field(description="Today's conversation figures.")
    conversation_30d: ConversationKpis = Field(description="The last 30 days' conversation figures.")
    sla_by_channel: list[kpi.RateRow]
    sla_by_priority: list[kpi.RateRow]
    backlog_by_priority: dict[str, int]
    created_by_channel: dict[str, int]
    agents: list[kpi.AgentRow]
    trend: list[kpi.PeriodRow] = Field(description="The last 30 days, day by day.")
    resolution_histogram: dict[str, list[kpi.Bucket]] = Field(description="Last 30 days.")
    top_categories: list[kpi.TopRow]
    spikes: list[dict[str, Any]]
    unknown_event_types: dict[str, int]
    incidents: list[IncidentReport] = Field(default_factory=list, description="Open incidents (crisis mode).")


ReportKind = Literal["daily", "weekly", "monthly"]
ReportId = Annotated[str, Path(pattern=r"^(daily:\d{4}-\d{2}-\d{2}|weekly:\d{4}-W\d{2}|monthly:\d{4}-\d{2})$",
                               description="daily:2026-12-04, weekly:2026-W49 or monthly:2026-11.")]
Limit = Annotated[int, Query(ge=1, le=500)]


class SubscriptionView(Subscription):
    staff_id: str
    name: str = ""
    role: str | None = None
    updated_at: datetime | None = None
    next: dict[str, datetime] = Field(description="Next delivery time of each kind (UTC).")


class SubscriptionRow(Subscription):
    staff_id: str
    name: str = ""
    role: str | None = None
    updated_at: datetime | None = None


class Recipient(BaseModel):
    staff_id: str
    external: str


class DeliveryRow(BaseModel):
    id: str
    kind: ReportKind
    period: str
    start: date
    end: date
    due_at: datetime
    composed_at: datetime
    title: str
    summary: list[str]
    totals: kpi.Kpis
    csv_filename: str
    csv_size: int
    attached: bool
    recipients: list[Recipient]


class Delivery(DeliveryRow):
    agents: list[kpi.AgentRow]
    teams: dict[str, kpi.Kpis] = Field(default_factory=dict, description="Per team (weekly and monthly).")
    conversation: ConversationKpis
    csv_sha256: str


def build_router(service: ReportingService) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.get("/reports/daily", response_model=DailyReport, tags=["reports"])
    async def daily_report(_: Supervisor, day: Day = None) -> DailyReport:
        """客服工作日报: created / resolved / closed / reopened on the day, and the day's new tickets by
        category, channel, priority and current status; the day's conversation figures (customer replies,
        agent answers, back-and-forths, replies per new ticket, back-and-forth per resolved ticket,
        next-response targets met / breached and compliance)."""
        return await service.daily_report(day)

    @router.get(
        "/reports/daily.csv", tags=["reports"], response_class=Response,
        responses={200: {"content": {"text/csv": {}}, "description": "`day,metric,key,count` rows."}},
    )
    async def daily_report_csv(_: Supervisor, day: Day = None) -> Response:
        """The daily report as CSV (export)."""
        report = await service.daily_report(day)
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="daily-report-{report.day}.csv"'},
        )

    @router.get(
        "/facts/{ticket_id}", response_model=TicketFact, response_model_exclude={"stamps"}, tags=["facts"]
    )
    async def get_fact(ticket_id: TicketId, _: Supervisor) -> TicketFact:
        """What reporting knows about one ticket (to check a report against the events)."""
        fact = await service.fact(ticket_id)
        if fact is None:
            raise ApiError(404, "fact_not_found", f"no events seen for ticket {ticket_id}")
        return fact

    async def kpis(start: date | None, end: date | None, granularity: kpi.Granularity, team: str | None,
                   channel: str | None, agent: str | None, top: int, default_days: int = 30) -> kpi.KpiReport:
        scope = _scope(team, channel, agent)
        first, last = _range(service, start, end, default_days)
        return await service.kpi_report(first, last, granularity, scope, top)

    @router.get("/reports/kpis", response_model=kpi.KpiReport, tags=["reports"])
    async def kpi_report(
        _: Supervisor, start: OptDay = None, end: OptDay = None, granularity: kpi.Granularity = "day",
        team: Name = None, channel: Name = None, agent: Name = None, top: Top = 10,
    ) -> kpi.KpiReport:
        """KPIs of ``[start, end]`` (default: the last 30 days) with a series per day/week/month: volumes,
        backlog, first-response and resolution times (avg, median), resolution rate, first-contact
        resolution, SLA compliance per channel and priority, resolution-time histogram per priority,
        top overdue reasons, categories and keywords, CSAT; beside the totals (and in each series row) the
        conversation figures: customer replies, agent answers, back-and-forths, replies per ticket,
        back-and-forth per resolved ticket, next-response compliance. Optional filter: one of team,
        channel, agent."""
        return await kpis(start, end, granularity, team, channel, agent, top)

    @router.get("/reports/kpis.csv", tags=["reports"], response_class=Response,
                responses={200: {"content": {"text/csv": {}}, "description": "`period,metric,key,value` rows."}})
    async def kpi_report_csv(
        _: Supervisor, start: OptDay = None, end: OptDay = None, granularity: kpi.Granularity = "day",
        team: Name = None, channel: Name = None, agent: Name = None, top: Top = 10,
    ) -> Response:
        report = await kpis(start, end, granularity, team, channel, agent, top)
        return _csv(kpi.kpi_csv(report), f"kpis-{report.start}-{report.end}")

    @router.get("/reports/weekly", response_model=kpi.KpiReport, tags=["reports"])
    async def weekly_report(
        _: Supervisor, week: OptDay = None, team: Name = None, channel: Name = None, agent: Name = None,
    ) -> kpi.KpiReport:
        """客服周报: the week (Monday–Sunday) containing ``week`` (default: this week), day by day."""
        monday = kpi.period_start(week or service.today(), "week")
        return await kpis(monday, monday + timedelta(days=6), "day", team, channel, agent, 10)

    @router.get("/reports/monthly", response_model=kpi.KpiReport, tags=["reports"])
    async def monthly_report(
        _: Supervisor, month: Month = None, team: Name = None, channel: Name = None, agent: Name = None,
    ) -> kpi.KpiReport:
        """客服月报: the calendar month ``month`` (YYYY-MM, default: this month), week by week."""
        first = month or service.today().replace(day=1)
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return await kpis(first, last, "week", team, channel, agent, 10)

    @router.get("/reports/agents", response_model=list[kpi.AgentRow], tags=["reports"])
    async def agents_report(_: Supervisor, start: OptDay = None, end: OptDay = None, team: Name = None) -> Any:
        """Per-agent comparison over ``[start, end]`` (default: the last 7 days): tickets handled, average
        first response and resolution, CSAT, breached tickets, replies per ticket, back-and-forth per
        resolved ticket, next-response compliance; optionally one team's tickets only."""
        first, last = _range(service, start, end, 7)
        return await service.agent_report(first, last, team)

    @router.get("/reports/agents.csv", tags=["reports"], response_class=Response,
                responses={200: {"content": {"text/csv": {}}}})
    async def agents_report_csv(_: Supervisor, start: OptDay = None, end: OptDay = None, team: Name = None) -> Any:
        first, last = _range(service, start, end, 7)
        return _csv(kpi.agents_csv(await service.agent_report(first, last, team)), f"agents-{first}-{last}")

    @router.get("/reports/high-frequency", response_model=HighFrequency, tags=["reports"])
    async def high_frequency(_: Supervisor, start: OptDay = None, end: OptDay = None, top: Top = 10) -> HighFrequency:
        """高频问题: top categories and keywords of ``[start, end]`` (default: the last 7 days) and the
        spikes detected in it."""
        first, last = _range(service, start, end, 7)
        report = await service.kpi_report(first, last, "day", kpi.ALL, top)
        return HighFrequency(start=first, end=last, top_categories=report.top_categories,
                             top_keywords=report.top_keywords, spikes=await service.spikes(first, last))

    @router.get("/reports/knowledge", response_model=knowledge.KnowledgeReport, tags=["reports"])
    async def knowledge_report(_: Supervisor, start: OptDay = None, end: OptDay = None) -> knowledge.KnowledgeReport:
        """Knowledge base (issue 17): per article / reply template, over the tickets created in ``[start, end]``
        (default: the last 30 days) — tickets it was suggested to (their latest suggestions), used on, judged
        helpful / not helpful (each agent's last verdict) and the helpful rate; the average CSAT and the
        satisfaction rate of the surveyed tickets it was used on. Most suggested first; title, topic, language
        and status from the knowledge base's own events. Totals: tickets with suggestions, and the shares of
        them where a suggestion was used / judged helpful."""
        first, last = _range(service, start, end, 30)
        return await service.knowledge_report(first, last)

    @router.get("/reports/knowledge.csv", tags=["reports"], response_class=Response,
                responses={200: {"content": {"text/csv": {}}, "description": "One row per item."}})
    async def knowledge_report_csv(_: Supervisor, start: OptDay = None, end: OptDay = None) -> Response:
        first, last = _range(service, start, end, 30)
        return _csv(knowledge.knowledge_csv(await service.knowledge_report(first, last)), f"knowledge-{first}-{last}")

    @router.get("/reports/knowledge/gaps", response_model=knowledge.KnowledgeGaps, tags=["reports"])
    async def knowledge_gaps(
        _: Supervisor, start: OptDay = None, end: OptDay = None, min_tickets: MinTickets = 5, keywords: Keywords = 5,
    ) -> knowledge.KnowledgeGaps:
        """"Write an article": the frequent problems (category × module, with their top keywords) of the
        tickets created in ``[start, end]`` (default: the last 30 days) that the knowledge base does not answer
        — at least ``min_tickets`` tickets, fewer than half of them with an item used or judged helpful. Per
        problem: tickets, with a suggestion, helped, without help; most tickets without help first."""
        first, last = _range(service, start, end, 30)
        return await service.knowledge_gaps(first, last, min_tickets, keywords)

    @router.get("/reports/knowledge/gaps.csv", tags=["reports"], response_class=Response,
                responses={200: {"content": {"text/csv": {}}, "description": "One row per gap."}})
    async def knowledge_gaps_csv(
        _: Supervisor, start: OptDay = None, end: OptDay = None, min_tickets: MinTickets = 5, keywords: Keywords = 5,
    ) -> Response:
        first, last = _range(service, start, end, 30)
        report = await service.knowledge_gaps(first, last, min_tickets, keywords)
        return _csv(knowledge.gaps_csv(report), f"knowledge-gaps-{first}-{last}")

    @router.post("/reports/spikes/scan", response_model=list[kpi.Spike], tags=["reports"])
    async def scan_spikes(_: Supervisor, day: OptDay = None) -> Any:
        """Run the spike detector now for ``day`` (default today; it also runs every minute). Returns the
        spikes newly found (each is published once as report.spike_detected)."""
        return await service.scan_spikes(day)

    @router.get("/dashboard/live", response_model=LiveDashboard, tags=["dashboard"])
    async def live(_: Supervisor, team: Name = None, channel: Name = None) -> LiveDashboard:
        """Everything the dashboard page shows, in one call."""
        scope = _scope(team, channel, None)
        today = service.today()
        month = await service.kpi_report(today - timedelta(days=29), today, "day", scope)
        day = await service.kpi_report(today, today, "day", scope)
        return LiveDashboard(
            today=today, kpis=day.totals, conversation=day.conversation, conversation_30d=month.conversation,
            sla_by_channel=day.sla_by_channel, sla_by_priority=day.sla_by_priority,
            backlog_by_priority=day.backlog_by_priority, created_by_channel=day.created_by_channel,
            agents=await service.agent_report(today, today, team), trend=month.series,
            resolution_histogram=month.resolution_histogram, top_categories=month.top_categories,
            spikes=await service.spikes(today - timedelta(days=6), today),
            unknown_event_types=await service.unknown_types(),
            incidents=await service.incident_reports("open"),
        )

    # ------------------------------------------------------------------ scheduled reports
    @router.get("/reports/subscriptions/mine", response_model=SubscriptionView, tags=["scheduled reports"])
    async def my_subscription(who: Supervisor) -> Any:
        """Which scheduled reports I receive (daily 日报 at the close of each business day, weekly 周报 on the
        first business day of the week, monthly 月报 on the 1st) and my external channel; with the next
        delivery time of each kind."""
        return await service.my_subscription(who.staff_id)

    @router.put("/reports/subscriptions/mine", response_model=SubscriptionView, tags=["scheduled reports"])
    async def save_my_subscription(body: Subscription, who: Supervisor) -> Any:
        """Subscribe / unsubscribe. Every report comes in-app with a link; ``external`` e-mail or IM also
        sends it there with the CSV attached (through the dispatcher's notifier)."""
        role = StaffRole.ADMIN.value if StaffRole.ADMIN in who.roles else StaffRole.SUPERVISOR.value
        return await service.save_subscription(who.staff_id, who.name, role, body)

    @router.get("/reports/subscriptions", response_model=list[SubscriptionRow], tags=["scheduled reports"])
    async def all_subscriptions(_: Admin) -> Any:
        """Everyone's subscriptions (admin)."""
        return await service.subscriptions()

    @router.get("/reports/deliveries", response_model=list[DeliveryRow], tags=["scheduled reports"])
    async def deliveries(_: Supervisor, kind: ReportKind | None = None, limit: Limit = 50) -> Any:
        """The composed scheduled reports, newest first (optionally one kind)."""
        return await service.deliveries(kind, limit)

    @router.get("/reports/deliveries/{report_id}.csv", tags=["scheduled reports"], response_class=Response,
                responses={200: {"content": {"text/csv": {}}, "description": "`period,metric,key,value` rows."}})
    async def delivery_csv(report_id: ReportId, _: Supervisor) -> Response:
        """The CSV exactly as it was delivered."""
        run = await service.delivery(report_id, with_csv=True)
        if run is None:
            raise ApiError(404, "report_not_found", f"no report {report_id}")
        return _csv(run["csv"], run["csv_filename"].removesuffix(".csv"))

    @router.get("/reports/deliveries/{report_id}", response_model=Delivery, tags=["scheduled reports"])
    async def delivery(report_id: ReportId, _: Supervisor) -> Any:
        """One scheduled report: period, headline figures, the agent comparison, its recipients."""
        run = await service.delivery(report_id)
        if run is None:
            raise ApiError(404, "report_not_found", f"no report {report_id}")
        return run

    @router.post("/admin/rebuild", tags=["admin"])
    async def rebuild(_: Admin) -> dict[str, int]:
        """Drop the ticket facts and aggregates and replay them from the raw event log (run when the
        projection rules changed or a new contract became known; reports are incomplete meanwhile)."""
        return await service.rebuild()

    @router.get("/admin/unknown-events", tags=["admin"])
    async def unknown_events(_: Admin) -> dict[str, int]:
        """Events kept without projection, by type (types this service has no contract for)."""
        return await service.unknown_types()

    return router
