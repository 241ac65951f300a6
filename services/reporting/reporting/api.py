"""Reporting's HTTP API: daily reports (JSON and CSV) and a ticket's fact, for supervisors and admins
(seed 004: 主管/管理员 look at and export reports)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BeforeValidator

from servicekit import ApiError, Supervisor

from .domain import DailyReport, TicketFact, report_csv
from .service import ReportingService

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


def build_router(service: ReportingService) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.get("/reports/daily", response_model=DailyReport, tags=["reports"])
    async def daily_report(_: Supervisor, day: Day = None) -> DailyReport:
        """客服工作日报: created / resolved / closed / reopened on the day, and the day's new tickets by
        category, channel, priority and current status."""
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

    return router
