"""Incremental KPI aggregates and the reports built from them (pure; no I/O).

Seeds 000 (七 数据统计与分析), 002 and 004 (四 周期性报表) ask for: volumes (created / resolved / closed /
reopened / backlog), first-response and resolution times (average and median), resolution rate,
first-contact resolution, SLA compliance per channel and per priority, the resolution-time
distribution per priority, a per-agent comparison, the top overdue reasons, the CSAT trend and the
high-frequency issues. Issue 18 adds the conversation figures (:class:`~reporting.domain.ConversationKpis`:
replies per ticket, back-and-forth per resolved ticket, next-response compliance), kept in the same cells;
issue 17 the knowledge-base counters (``all`` cells only), read by :mod:`reporting.knowledge`.

How the numbers stay cheap and right
------------------------------------
* Every ticket fact *contributes* a set of counters to a few aggregate cells; a cell is one business
  day × one scope (``all``, ``team=<t>``, ``agent=<a>``, ``channel=<c>``). :func:`contributions` is a
  pure function of the fact, so the cell totals always equal "sum of contributions of all facts".
* When an event changes a fact, the store writes the fact and the *difference* of its contributions
  (:func:`diff`) in the same document update (pending increments, like an outbox), then applies the
  increments to the cells with ``$inc``. Redeliveries never reach this point (the fact dedupes on the
  event id), out-of-order events only change the fact, and the diff follows.
* A report over N days reads N × (scopes asked) cells: its cost depends on the days asked, never on
  the number of tickets.
* Times are kept as exact sums (averages are exact) and as a binned count map (:data:`TIME_BINS`:
  medians are exact to the minute under an hour, to 5 minutes under 8 hours, 15 minutes under 3
  days, an hour beyond; the histograms come from the same map, their edges fall on bin bounds).
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts import Category, Channel, Priority, TicketStatus

from .domain import (
    UNCLASSIFIED,
    ConversationKpis,
    TicketFact,
    clean_key,
    conversation_counters,
    conversation_kpis,
    day_key,
    knowledge_counters,
)

Counts = dict[str, float]
Cells = dict[str, Counts]
"""cell id (``<day>|<scope>``) → counter name → value."""

ALL = "all"
SCOPE_KINDS = ("team", "agent", "channel")
BACKLOG = "open"
"""Counters starting with this prefix are day-to-day *changes* of the open backlog; they live in a
separate field of the cell so the running backlog can be read without the other counters."""

HISTOGRAM_EDGES_MIN: tuple[int, ...] = (30, 60, 120, 240, 480, 1440, 4320)
"""Upper edges (minutes) of the resolution-time distribution buckets; the last bucket is open."""
CLOSED_STATES = {TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value}


def cell_id(day: str, scope: str) -> str:
    return f"{day}|{scope}"


def split_cell(cell: str) -> tuple[str, str]:
    day, scope = cell.split("|", 1)
    return day, scope


def _v(value: Any) -> str:
    return UNCLASSIFIED if value is None else clean_key(str(getattr(value, "value", value)))


TIME_BINS: tuple[tuple[int, int], ...] = ((60, 1), (480, 5), (4320, 15), (10**9, 60))
"""(below this many minutes, bin width in minutes): exact minutes under an hour, 5-minute bins under
8 hours, 15-minute bins under 3 days, hourly beyond — a cell stays small whatever the volume."""


def time_bin(seconds: float) -> int:
    """The duration's bin (its lower bound in minutes) for medians and histograms."""
    minutes = max(0, int(seconds // 60))
    for below, width in TIME_BINS:
        if minutes < below:
            return minutes - minutes % width
    return minutes - minutes % 60


_minutes = time_bin


def open_changes(fact: TicketFact) -> list[tuple[datetime, int]]:
    """+1 when the ticket becomes open (creation, reopening), -1 when it stops being open (resolution,
    closing), walking its milestones in time order; repeated closes/opens change nothing."""
    if fact.created_at is None:
        return []
    marks = sorted(
        [(fact.created_at, 0, 1)]
        + [(t, 1, -1) for t in fact.resolutions]
        + [(t, 1, -1) for t in fact.closes]
        + [(t, 2, 1) for t in fact.reopens]
    )
    is_open, out = False, []
    for at, _, change in marks:
        if change > 0 and not is_open:
            is_open = True
            out.append((at, 1))
        elif change < 0 and is_open:
            is_open = False
            out.append((at, -1))
    return out


def ticket_counters(fact: TicketFact, tz: str) -> dict[str, Counts]:
    """Business day → counters this ticket contributes to that day (the same in every scope)."""
    days: dict[str, Counts] = {}

    def add(day: str, name: str, value: float = 1) -> None:
        bucket = days.setdefault(day, {})
        bucket[name] = bucket.get(name, 0) + value

    pr, ch = _v(fact.priority), _v(fact.channel)
    if fact.created_at is not None:
        d = day_key(fact.created_at, tz)
        add(d, "created")
        add(d, f"created:channel:{ch}")
        add(d, f"created:priority:{pr}")
        add(d, f"created:category:{_v(fact.category)}")
        add(d, f"created:module:{_v(fact.module)}")
        add(d, f"created:status:{_v(fact.status)}")
        if _v(fact.status) in CLOSED_STATES:
            add(d, "cohort_resolved")
        if fact.sla_breaches:
            add(d, "breached")
            add(d, "breaches", fact.sla_breaches)
            for reason in fact.overdue_reasons or ["unrecorded"]:
                add(d, f"overdue:{reason}")
        for word in fact.keywords:
            add(d, f"kw:{word}")
        if fact.first_response_at is not None:
            secs = max(0.0, (fact.first_response_at - fact.created_at).total_seconds())
            r = day_key(fact.first_response_at, tz)
            add(r, "frt_n")
            add(r, "frt_sum", secs)
            add(r, f"frt_min:{pr}:{_minutes(secs)}")
        if fact.resolutions:
            last = fact.resolutions[-1]
            secs = max(0.0, (last - fact.created_at).total_seconds())
            r = day_key(last, tz)
            add(r, "rt_n")
            add(r, "rt_sum", secs)
            add(r, f"rt_min:{pr}:{_minutes(secs)}")
            if fact.reopen_count == 0 and not fact.reopens and fact.transfers == 0:
                add(r, "fcr")
            met = 0 if fact.sla_breaches else 1
            for dim, val in (("channel", ch), ("priority", pr)):
                add(r, f"sla_n:{dim}:{val}")
                add(r, f"sla_met:{dim}:{val}", met)
        for at, change in open_changes(fact):
            o = day_key(at, tz)
            add(o, BACKLOG, change)
            add(o, f"{BACKLOG}:priority:{pr}", change)
    for day in fact.resolved_days:
        add(day, "resolved")
    for day in fact.closed_days:
        add(day, "closed")
    for day in fact.reopened_days:
        add(day, "reopened")
    if fact.surveyed_at is not None and fact.csat is not None:
        s = day_key(fact.surveyed_at, tz)
        add(s, "csat_n")
        add(s, "csat_sum", fact.csat)
        if fact.satisfied:
            add(s, "csat_sat")
    for day, counts in conversation_counters(fact, tz).items():
        for name, value in counts.items():
            add(day, name, value)
    return {d: {k: v for k, v in c.items() if v} for d, c in days.items() if any(c.values())}


TEAM_AGENT_SEP = "::"


def split_team_agent(scope: str) -> tuple[str, str]:
    team, agent = scope.split("=", 1)[1].split(TEAM_AGENT_SEP, 1)
    return team, agent


def scopes_of(fact: TicketFact) -> list[str]:
    scopes = [ALL]
    if fact.team:
        scopes.append(f"team={fact.team}")
    if fact.agent_id:
        scopes.append(f"agent={fact.agent_id}")
        if fact.team:
            scopes.append(f"teamagent={fact.team}{TEAM_AGENT_SEP}{fact.agent_id}")
    if fact.channel is not None:
        scopes.append(f"channel={_v(fact.channel)}")
    return scopes


def contributions(fact: TicketFact, tz: str) -> Cells:
    """Cell id → counters: what this ticket adds to the aggregates. The knowledge-base counters
    (:func:`~reporting.domain.knowledge_counters`, one per item and problem) go to the ``all`` scope only:
    their reports have no filter, and the other scopes' cells stay as small as before."""
    per_day = ticket_counters(fact, tz)
    cells = {cell_id(day, scope): dict(counts) for day, counts in per_day.items() for scope in scopes_of(fact)}
    return add_cells(cells, {cell_id(day, ALL): counts for day, counts in knowledge_counters(fact, tz).items()})


def diff(new: Cells, old: Cells) -> Cells:
    """Increments turning the cells of ``old`` into those of ``new`` (zeros left out)."""
    out: Cells = {}
    for cell in new.keys() | old.keys():
        a, b = new.get(cell, {}), old.get(cell, {})
        inc = {k: a.get(k, 0) - b.get(k, 0) for k in a.keys() | b.keys()}
        inc = {k: v for k, v in inc.items() if v}
        if inc:
            out[cell] = inc
    return out


def add_cells(into: Cells, more: Cells) -> Cells:
    for cell, counts in more.items():
        target = into.setdefault(cell, {})
        for k, v in counts.items():
            target[k] = target.get(k, 0) + v
    return into


def split_counters(counts: Mapping[str, float]) -> tuple[Counts, Counts]:
    """(other counters, backlog changes): the two fields of a stored cell."""
    c = {k: v for k, v in counts.items() if not k.startswith(BACKLOG)}
    b = {k: v for k, v in counts.items() if k.startswith(BACKLOG)}
    return c, b


# ----------------------------------------------------------------------------- periods
Granularity = Literal["day", "week", "month"]


def period_start(day: date, granularity: Granularity) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())  # weeks start on Monday
    if granularity == "month":
        return day.replace(day=1)
    return day


def days_between(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


# ----------------------------------------------------------------------------- report models
class Kpis(BaseModel):
    created: int = 0
    resolved: int = 0
    closed: int = 0
    reopened: int = 0
    backlog: int = Field(0, description="Open tickets at the end of the period.")
    first_response_avg_min: float | None = None
    first_response_median_min: float | None = None
    resolution_avg_min: float | None = None
    resolution_median_min: float | None = None
    resolution_rate: float | None = Field(None, description="Share of the period's new tickets resolved/closed now.")
    first_contact_resolution: float | None = Field(
        None, description="Share of resolutions without reopening or transfer.")
    sla_compliance: float | None = Field(None, description="Share of resolutions without an SLA breach.")
    csat_avg: float | None = None
    csat_responses: int = 0
    satisfaction_rate: float | None = None
    breached_tickets: int = 0


class PeriodRow(BaseModel):
    period: date
    kpis: Kpis
    conversation: ConversationKpis = Field(default_factory=ConversationKpis)


class RateRow(BaseModel):
    key: str
    total: int
    met: int
    rate: float | None


class Bucket(BaseModel):
    label: str
    upper_min: int | None
    count: int


class AgentRow(BaseModel):
    agent_id: str
    handled: int = Field(description="Tickets resolved (last resolution in the period).")
    created_assigned: int = Field(description="The period's new tickets currently assigned to the agent.")
    first_response_avg_min: float | None
    resolution_avg_min: float | None
    csat_avg: float | None
    csat_responses: int
    breached_tickets: int
    replies_per_ticket: float | None = Field(None, description="The agent's new tickets: customer replies per ticket.")
    exchanges_per_resolved: float | None = Field(None, description="Back-and-forths per ticket the agent resolved.")
    next_response_compliance: float | None = Field(None, description="Next-response targets met ÷ (met + breached).")


class TopRow(BaseModel):
    key: str
    count: int


class KpiReport(BaseModel):
    start: date
    end: date
    granularity: Granularity
    scope: str
    totals: Kpis
    conversation: ConversationKpis = Field(
        default_factory=ConversationKpis,
        description="Conversation figures of the whole period (the series has them per period). Beside the totals, "
                    "not inside them, so the totals keep their shape for existing readers.")
    series: list[PeriodRow]
    created_by_channel: dict[str, int]
    created_by_priority: dict[str, int]
    created_by_category: dict[str, int]
    backlog_by_priority: dict[str, int]
    sla_by_channel: list[RateRow]
    sla_by_priority: list[RateRow]
    resolution_histogram: dict[str, list[Bucket]] = Field(description="Per priority, resolution-time buckets.")
    top_overdue_reasons: list[TopRow]
    top_categories: list[TopRow]
    top_keywords: list[TopRow]
    cells_read: int = Field(description="Aggregate cells read (cost of the query).")


def _ratio(a: float, b: float, digits: int = 4) -> float | None:
    return round(a / b, digits) if b else None


def median_from_counts(counts: Mapping[int, float]) -> float | None:
    """Exact median of the values a value→count map describes (mean of the two middle values)."""
    total = int(sum(counts.values()))
    if total <= 0:
        return None
    items = sorted((k, int(v)) for k, v in counts.items() if v > 0)

    def nth(n: int) -> int:
        seen = 0
        for value, count in items:
            seen += count
            if seen > n:
                return value
        return items[-1][0]

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


def minute_map(counts: Mapping[str, float], prefix: str, priority: str | None = None) -> Counter[int]:
    out: Counter[int] = Counter()
    for key, value in counts.items():
        if key.startswith(prefix + ":"):
            _, pr, minute = key.split(":", 2)
            if priority is None or pr == priority:
                out[int(minute)] += int(value)
    return out


def kpis_of(counts: Mapping[str, float], backlog: float) -> Kpis:
    g = lambda k: counts.get(k, 0)  # noqa: E731
    frt, rt = minute_map(counts, "frt_min"), minute_map(counts, "rt_min")
    resolved_n = g("rt_n")
    return Kpis(
        created=int(g("created")),
        resolved=int(g("resolved")),
        closed=int(g("closed")),
        reopened=int(g("reopened")),
        backlog=int(backlog),
        first_response_avg_min=_ratio(g("frt_sum"), 60 * g("frt_n"), 2),
        first_response_median_min=median_from_counts(frt),
        resolution_avg_min=_ratio(g("rt_sum"), 60 * resolved_n, 2),
        resolution_median_min=median_from_counts(rt),
        resolution_rate=_ratio(g("cohort_resolved"), g("created")),
        first_contact_resolution=_ratio(g("fcr"), resolved_n),
        sla_compliance=_ratio(
            sum(v for k, v in counts.items() if k.startswith("sla_met:priority:")),
            sum(v for k, v in counts.items() if k.startswith("sla_n:priority:")),
        ),
        csat_avg=_ratio(g("csat_sum"), g("csat_n"), 2),
        csat_responses=int(g("csat_n")),
        satisfaction_rate=_ratio(g("csat_sat"), g("csat_n")),
        breached_tickets=int(g("breached")),
    )


def sum_counts(rows: Iterable[Mapping[str, float]]) -> Counts:
    total: Counts = {}
    for row in rows:
        for k, v in row.items():
            total[k] = total.get(k, 0) + v
    return total


def _prefixed(counts: Mapping[str, float], prefix: str) -> dict[str, int]:
    return {k[len(prefix):]: int(v) for k, v in counts.items() if k.startswith(prefix) and v}


def _with_keys(values: dict[str, int], keys: Iterable[str]) -> dict[str, int]:
    return {**dict.fromkeys(keys, 0), **values}


def _top(values: Mapping[str, int], n: int) -> list[TopRow]:
    rows = sorted(((k, v) for k, v in values.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))
    return [TopRow(key=k, count=v) for k, v in rows[:n]]


def _rates(counts: Mapping[str, float], dim: str, keys: Iterable[str]) -> list[RateRow]:
    totals, met = _prefixed(counts, f"sla_n:{dim}:"), _prefixed(counts, f"sla_met:{dim}:")
    return [RateRow(key=k, total=totals.get(k, 0), met=met.get(k, 0), rate=_ratio(met.get(k, 0), totals.get(k, 0)))
            for k in dict.fromkeys([*keys, *totals])]


def histogram(minutes: Mapping[int, float]) -> list[Bucket]:
    buckets, lower = [], 0
    for upper in (*HISTOGRAM_EDGES_MIN, None):
        count = sum(int(n) for m, n in minutes.items() if m >= lower and (upper is None or m < upper))
        label = f"{_human(lower)}–{_human(upper)}" if upper is not None else f"≥{_human(lower)}"
        buckets.append(Bucket(label=label, upper_min=upper, count=count))
        lower = upper or 0
    return buckets


def _human(minutes: int) -> str:
    if minutes >= 1440 and minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes >= 60 and minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


PRIORITY_KEYS = [*(p.value for p in Priority), UNCLASSIFIED]
CHANNEL_KEYS = [c.value for c in Channel]
CATEGORY_KEYS = [*(c.value for c in Category), UNCLASSIFIED]


def build_report(
    *, start: date, end: date, granularity: Granularity, scope: str,
    cells: Mapping[str, Counts], backlog_cells: Mapping[str, Counts], backlog_before: Counts, top: int = 10,
) -> KpiReport:
    """The KPI report of ``[start, end]`` from the day cells of one scope (``cells``: day → counters,
    ``backlog_cells``: day → backlog changes, ``backlog_before``: backlog changes summed over every
    day before ``start``)."""
    running = dict(backlog_before)
    periods: dict[date, list[Counts]] = {}
    period_backlog: dict[date, float] = {}
    for day in days_between(start, end):
        key = day.isoformat()
        for k, v in backlog_cells.get(key, {}).items():
            running[k] = running.get(k, 0) + v
        p = period_start(day, granularity)
        periods.setdefault(p, []).append(cells.get(key, {}))
        period_backlog[p] = running.get(BACKLOG, 0)
    series = []
    for p, rows in periods.items():
        summed = sum_counts(rows)
        series.append(PeriodRow(period=p, kpis=kpis_of(summed, period_backlog[p]),
                                conversation=conversation_kpis(summed)))
    total = sum_counts(cells.get(d.isoformat(), {}) for d in days_between(start, end))
    return KpiReport(
        start=start, end=end, granularity=granularity, scope=scope,
        totals=kpis_of(total, running.get(BACKLOG, 0)), conversation=conversation_kpis(total),
        series=series,
        created_by_channel=_with_keys(_prefixed(total, "created:channel:"), CHANNEL_KEYS),
        created_by_priority=_with_keys(_prefixed(total, "created:priority:"), PRIORITY_KEYS),
        created_by_category=_with_keys(_prefixed(total, "created:category:"), CATEGORY_KEYS),
        backlog_by_priority=_with_keys(_prefixed(running, f"{BACKLOG}:priority:"), PRIORITY_KEYS),
        sla_by_channel=_rates(total, "channel", CHANNEL_KEYS),
        sla_by_priority=_rates(total, "priority", PRIORITY_KEYS),
        resolution_histogram={p: histogram(minute_map(total, "rt_min", p)) for p in PRIORITY_KEYS},
        top_overdue_reasons=_top(_prefixed(total, "overdue:"), top),
        top_categories=_top(_prefixed(total, "created:category:"), top),
        top_keywords=_top(_prefixed(total, "kw:"), top),
        cells_read=len(cells) + len(backlog_cells),
    )


def agent_rows(per_agent: Mapping[str, Counts]) -> list[AgentRow]:
    rows = []
    for agent, c in per_agent.items():
        g = lambda k, c=c: c.get(k, 0)  # noqa: E731
        conv = conversation_kpis(c)
        rows.append(AgentRow(
            agent_id=agent, handled=int(g("rt_n")), created_assigned=int(g("created")),
            first_response_avg_min=_ratio(g("frt_sum"), 60 * g("frt_n"), 2),
            resolution_avg_min=_ratio(g("rt_sum"), 60 * g("rt_n"), 2),
            csat_avg=_ratio(g("csat_sum"), g("csat_n"), 2), csat_responses=int(g("csat_n")),
            breached_tickets=int(g("breached")), replies_per_ticket=conv.replies_per_ticket,
            exchanges_per_resolved=conv.exchanges_per_resolved,
            next_response_compliance=conv.next_response_compliance,
        ))
    return sorted(rows, key=lambda r: (-r.handled, r.agent_id))


# ----------------------------------------------------------------------------- spikes
class Spike(BaseModel):
    day: str
    dimension: Literal["category", "keyword"]
    value: str
    count: int
    baseline: float
    ratio: float


def detect_spikes(
    today: str, today_counts: Mapping[str, float], history: list[Mapping[str, float]], *,
    ratio: float = 3.0, min_count: int = 10,
) -> list[Spike]:
    """Today's categories/keywords whose count is at least ``min_count`` and ``ratio`` times their mean
    over the trailing days (``history``; a value never seen before has baseline 0 and spikes as soon as
    it reaches ``min_count``) — the seed's "crisis mode" trigger for mass complaints."""
    days = max(1, len(history))
    spikes = []
    for prefix, dim in (("created:category:", "category"), ("kw:", "keyword")):
        for key, count in _prefixed(today_counts, prefix).items():
            if dim == "category" and key == UNCLASSIFIED:
                continue
            baseline = sum(h.get(prefix + key, 0) for h in history) / days
            if count >= min_count and count >= ratio * baseline:
                r = count / baseline if baseline else float(count)
                spikes.append(Spike(day=today, dimension=dim, value=key, count=count,
                                    baseline=round(baseline, 3), ratio=round(r, 3)))  # type: ignore[arg-type]
    return sorted(spikes, key=lambda s: (-s.ratio, s.dimension, s.value))


# ----------------------------------------------------------------------------- CSV
def report_rows(report: KpiReport) -> Iterator[tuple[str, str, str, Any]]:
    """Long-format rows ``period,metric,key,value`` (one number per row; pivots in a spreadsheet)."""
    whole = f"{report.start}..{report.end}"
    for name, value in (report.totals.model_dump() | report.conversation.model_dump()).items():
        yield whole, name, "", "" if value is None else value
    for row in report.series:
        for name, value in (row.kpis.model_dump() | row.conversation.model_dump()).items():
            yield row.period.isoformat(), name, "", "" if value is None else value
    for metric in ("created_by_channel", "created_by_priority", "created_by_category", "backlog_by_priority"):
        for key, value in getattr(report, metric).items():
            yield whole, metric, key, value
    for metric in ("sla_by_channel", "sla_by_priority"):
        for r in getattr(report, metric):
            yield whole, metric, r.key, "" if r.rate is None else r.rate
    for pr, buckets in report.resolution_histogram.items():
        for b in buckets:
            yield whole, f"resolution_histogram:{pr}", b.label, b.count
    for metric in ("top_overdue_reasons", "top_categories", "top_keywords"):
        for t in getattr(report, metric):
            yield whole, metric, t.key, t.count


def kpi_csv(report: KpiReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("period", "metric", "key", "value"))
    for row in report_rows(report):
        writer.writerow(_safe_csv(row))
    return out.getvalue()


def agents_csv(rows: list[AgentRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    fields = list(AgentRow.model_fields)
    writer.writerow(fields)
    for r in rows:
        writer.writerow(_safe_csv(tuple("" if v is None else v for v in r.model_dump().values())))
    return out.getvalue()


def _safe_csv(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Neutralise spreadsheet formulas in text cells (keywords and agent ids come from outside)."""
    return tuple(f"'{v}" if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") and not _number(v) else v
                 for v in row)


def _number(v: str) -> bool:
    try:
        return math.isfinite(float(v))
    except ValueError:
        return False
