"""When the scheduled reports are due and what each covers (pure: no I/O, no clock of its own).

Seed 000 七 (客服工作日报 each day, 部门分析报告 each week) and 004 四 (自动日报、周报、月报), in the business
time zone and the business calendar of reporting (working weekdays, holidays, the close of the business day
and the morning hour):

* daily   — the report of business day D is due at D's close and covers every calendar day after the
            previous business day up to D (a Monday report also covers the weekend; a day after a
            holiday covers the holiday): the daily periods tile the calendar, nothing left out.
* weekly  — the previous ISO week (Monday–Sunday), due at the morning hour of the first business day
            of the week (the Monday when the whole week is off).
* monthly — the previous calendar month, due on the 1st at the morning hour.

``latest_due`` gives the newest period of a kind whose due time has passed: the service claims it once
(the run's ``_id`` is :attr:`Period.id`), so a restart or a second replica does nothing twice and a run
missed while the service was down is caught up once (only the latest, never a backlog).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from .kpi import AgentRow, KpiReport, Kpis, _safe_csv, report_rows

Kind = Literal["daily", "weekly", "monthly"]
External = Literal["none", "email", "im"]
KINDS: tuple[Kind, ...] = ("daily", "weekly", "monthly")
MAX_SEARCH_DAYS = 800
"""How far a business-day search looks (a calendar with no business day at all is refused up front)."""


@dataclass(frozen=True)
class ReportCalendar:
    timezone: str = "Asia/Shanghai"
    workdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    """ISO weekdays (Monday = 1) that are business days, unless a holiday."""
    holidays: frozenset[date] = frozenset()
    close: time = time(18, 0)
    morning: time = time(9, 0)

    def __post_init__(self) -> None:
        if not self.workdays or not self.workdays <= set(range(1, 8)):
            raise ValueError("workdays must be a non-empty set of ISO weekdays 1..7")
        ZoneInfo(self.timezone)

    def is_business_day(self, day: date) -> bool:
        return day.isoweekday() in self.workdays and day not in self.holidays

    def at(self, day: date, hour: time) -> datetime:
        """``hour`` local time on ``day``, in UTC (a wall time skipped by a DST change moves forward)."""
        local = datetime.combine(day, hour, tzinfo=ZoneInfo(self.timezone))
        return local.astimezone(UTC)

    def local_day(self, at: datetime) -> date:
        return at.astimezone(ZoneInfo(self.timezone)).date()


@dataclass(frozen=True)
class Period:
    kind: Kind
    key: str
    """``2026-12-04`` (the business day), ``2026-W49`` (the ISO week covered), ``2026-11`` (the month)."""
    start: date
    end: date
    due_at: datetime

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.key}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def previous_business_day(day: date, cal: ReportCalendar) -> date:
    """The last business day strictly before ``day``."""
    d = day - timedelta(days=1)
    for _ in range(MAX_SEARCH_DAYS):
        if cal.is_business_day(d):
            return d
        d -= timedelta(days=1)
    raise ValueError(f"no business day in the {MAX_SEARCH_DAYS} days before {day}")


def next_business_day(day: date, cal: ReportCalendar) -> date:
    """The first business day on or after ``day``."""
    d = day
    for _ in range(MAX_SEARCH_DAYS):
        if cal.is_business_day(d):
            return d
        d += timedelta(days=1)
    raise ValueError(f"no business day in the {MAX_SEARCH_DAYS} days from {day}")


def daily_period(day: date, cal: ReportCalendar) -> Period:
    """The daily report of business day ``day``."""
    if not cal.is_business_day(day):
        raise ValueError(f"{day} is not a business day")
    return Period("daily", day.isoformat(), previous_business_day(day, cal) + timedelta(days=1), day,
                  cal.at(day, cal.close))


def _monday(day: date) -> date:
    return day - timedelta(days=day.isoweekday() - 1)


def weekly_period(monday: date, cal: ReportCalendar) -> Period:
    """The weekly report delivered in the week starting ``monday``: it covers the week before."""
    monday = _monday(monday)
    due_day = next((monday + timedelta(days=i) for i in range(7) if cal.is_business_day(monday + timedelta(days=i))),
                   monday)
    start = monday - timedelta(days=7)
    year, week, _ = start.isocalendar()
    return Period("weekly", f"{year}-W{week:02d}", start, monday - timedelta(days=1), cal.at(due_day, cal.morning))


def monthly_period(first: date, cal: ReportCalendar) -> Period:
    """The monthly report delivered on the 1st ``first``: it covers the month before."""
    first = first.replace(day=1)
    end = first - timedelta(days=1)
    return Period("monthly", f"{end.year}-{end.month:02d}", end.replace(day=1), end, cal.at(first, cal.morning))


def latest_due(kind: Kind, now: datetime, cal: ReportCalendar) -> Period:
    """The newest period of ``kind`` whose due time is at or before ``now``."""
    today = cal.local_day(now)
    if kind == "daily":
        if cal.is_business_day(today) and cal.at(today, cal.close) <= now:
            return daily_period(today, cal)
        candidate = daily_period(previous_business_day(today, cal), cal)
        if candidate.due_at <= now:
            return candidate
        # only when a DST change puts yesterday's close after now (never in practice)
        return daily_period(previous_business_day(candidate.end, cal), cal)
    if kind == "weekly":
        period = weekly_period(_monday(today), cal)
        return period if period.due_at <= now else weekly_period(_monday(today) - timedelta(days=7), cal)
    if kind == "monthly":
        period = monthly_period(today, cal)
        if period.due_at <= now:
            return period
        return monthly_period((today.replace(day=1) - timedelta(days=1)).replace(day=1), cal)
    raise ValueError(f"unknown report kind {kind!r}")


def next_due(kind: Kind, now: datetime, cal: ReportCalendar) -> Period:
    """The first period of ``kind`` due strictly after ``now`` (shown to subscribers)."""
    today = cal.local_day(now)
    for offset in range(MAX_SEARCH_DAYS):
        day = today + timedelta(days=offset)
        if kind == "daily":
            if not cal.is_business_day(day):
                continue
            period = daily_period(day, cal)
        elif kind == "weekly":
            period = weekly_period(_monday(day), cal)
        else:
            period = monthly_period(day if day.day == 1 else (day.replace(day=28) + timedelta(days=4)).replace(day=1),
                                    cal)
        if period.due_at > now:
            return period
    raise ValueError(f"no {kind} report due in the next {MAX_SEARCH_DAYS} days")


def due_now(now: datetime, cal: ReportCalendar) -> list[Period]:
    """What the scheduler should make sure exists now: the latest due period of each kind."""
    return [latest_due(kind, now, cal) for kind in KINDS]


def parse_workdays(spec: str) -> frozenset[int]:
    """``"1,2,3,4,5"`` (ISO weekdays, Monday = 1) → a set; refuses anything else."""
    days = frozenset(int(p) for p in spec.replace(" ", "").split(",") if p)
    if not days or not days <= set(range(1, 8)):
        raise ValueError("workdays are ISO weekdays 1..7, e.g. 1,2,3,4,5")
    return days


def parse_holidays(spec: str) -> frozenset[date]:
    """``"2026-10-01,2026-10-02"`` → dates."""
    return frozenset(date.fromisoformat(p) for p in spec.replace(" ", "").split(",") if p)


# ----------------------------------------------------------------------------- what a report says
TITLES: dict[str, str] = {"daily": "客服工作日报", "weekly": "客服周报 · 部门分析", "monthly": "客服月报"}


def title(period: Period) -> str:
    span = period.key if period.start == period.end else f"{period.key} ({period.start} – {period.end})"
    return f"{TITLES[period.kind]} {span}"


def _minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} 分钟"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def summary_lines(totals: Kpis, agents: list[AgentRow]) -> list[str]:
    """The headline figures of seed 000 七 (处理任务总数、平均响应时间、问题解决率、满意度评分) and SLA, then,
    when the report compares agents, the most and the least productive."""
    csat = "—" if totals.csat_avg is None else f"{totals.csat_avg:.2f} ({totals.csat_responses} 份评价)"
    lines = [
        f"新建工单 {totals.created} · 已解决 {totals.resolved} · 已关闭 {totals.closed} · 重开 {totals.reopened}",
        f"平均首次响应 {_minutes(totals.first_response_avg_min)} · 平均解决 {_minutes(totals.resolution_avg_min)}",
        f"问题解决率 {_share(totals.resolution_rate)} · 一次解决率 {_share(totals.first_contact_resolution)}",
        f"满意度 {csat} · 满意率 {_share(totals.satisfaction_rate)}",
        f"SLA 达标率 {_share(totals.sla_compliance)} · 超时工单 {totals.breached_tickets} · 未结 {totals.backlog}",
    ]
    if agents:
        ranked = sorted(agents, key=lambda r: (-r.handled, r.agent_id))
        lines.append(f"客服 {len(agents)} 人 · 解决最多 {ranked[0].agent_id} ({ranked[0].handled})"
                     + (f" · 最少 {ranked[-1].agent_id} ({ranked[-1].handled})" if len(ranked) > 1 else ""))
    return lines


def restated_line(day: date, final: Kpis, reported: int | None) -> str:
    """The previous report day's final figures: its report went out at the close, so what came in later
    that evening is told here (no ticket is left out of the daily reports, none is counted twice)."""
    late = "" if reported is None else f"（日报发出后新增 {max(final.created - reported, 0)} 单）"
    return (f"上一报告日 {day.isoformat()} 终值：新建 {final.created}{late} · 已解决 {final.resolved}"
            f" · 未结 {final.backlog}")


def reported(body: str, day: date, metric: str) -> int | None:
    """What a delivered report's CSV said of one day's ``metric`` (its day-by-day row), if it said it."""
    for row in csv.DictReader(io.StringIO(body)):
        if row["period"] == day.isoformat() and row["metric"] == metric and not row["key"]:
            try:
                return int(float(row["value"]))
            except ValueError:
                return None
    return None


TEAM_FIGURES = ("created", "resolved", "closed", "reopened", "first_response_avg_min", "resolution_avg_min",
                "resolution_rate", "first_contact_resolution", "sla_compliance", "csat_avg", "csat_responses",
                "satisfaction_rate", "breached_tickets")


def report_csv(report: KpiReport, agents: list[AgentRow], teams: dict[str, Kpis] | None = None,
               restated: tuple[date, Kpis] | None = None) -> str:
    """The report's CSV: the KPI export's long rows ``period,metric,key,value`` (totals, the series, the
    breakdowns) and, for the comparisons, one row per agent and figure (``agent:<figure>``, key = the agent)
    and per team and figure (``team:<figure>``, key = the team) — one table that pivots in a spreadsheet.
    A daily report also restates the previous report day's final figures (``final:<figure>``, period = that
    day): tickets that came in after that report's close."""
    whole = f"{report.start}..{report.end}"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("period", "metric", "key", "value"))
    for row in report_rows(report):
        writer.writerow(_safe_csv(row))
    for agent in agents:
        for name, value in agent.model_dump().items():
            if name != "agent_id":
                writer.writerow(_safe_csv((whole, f"agent:{name}", agent.agent_id, "" if value is None else value)))
    for team, figures in (teams or {}).items():
        values = figures.model_dump()
        for name in TEAM_FIGURES:
            value = values[name]
            writer.writerow(_safe_csv((whole, f"team:{name}", team, "" if value is None else value)))
    if restated is not None:
        day, final = restated
        values = final.model_dump()
        for name in TEAM_FIGURES:
            value = values[name]
            writer.writerow(_safe_csv((day.isoformat(), f"final:{name}", "", "" if value is None else value)))
    return out.getvalue()
