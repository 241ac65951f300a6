"""SLA monitor's pure decisions: business calendars and business-time arithmetic, the versioned SLA
policy (a channel × priority × tier × category matrix), the clock of a ticket kept from the lifecycle
events, and the alarms (warning, breach, unacknowledged assignment, escalation) it raises. No I/O here.

Three targets per ticket: the first response (from creation), the resolution (from creation, paused
while the ticket waits for the customer) and the next response (issue 18: after each further customer
message, ``ticket.customer_replied``, the agent owes an answer; Zammad's "update time", Zendesk's "next
reply time"). The next response never moves the other two deadlines.

Seed 004 (响应时间标准): P1 funds safety / core outage — first response 15 min by phone, 10 min in
online chat; P2 2 h response / 24 h resolution; P3 8 h / 3 working days; P4 is the low-frequency
suggestion tier. Seed 000: warn 1 h before a deadline; an assignment not confirmed in 10 min goes to the
supervisor. Before classification a ticket runs on the routine tier P3.

Events can arrive twice or out of order, so every applier is written to give the same clock whatever
the order: the newest fact wins by the time the event carries (never the arrival time), earliest-wins
for "first" times (start, first response), and pauses are a set of time-stamped marks folded in time
order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal
from uuid import NAMESPACE_URL, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts import (
    AssignmentUnacknowledged,
    AssignmentUnacknowledgedPayload,
    Category,
    Channel,
    CustomerTier,
    Event,
    Priority,
    SlaBreached,
    SlaBreachedPayload,
    SlaTarget,
    SlaWarning,
    SlaWarningPayload,
    TicketAcknowledged,
    TicketAcknowledgedPayload,
    TicketAssigned,
    TicketAssignedPayload,
    TicketClassified,
    TicketClassifiedPayload,
    TicketClosed,
    TicketClosedPayload,
    TicketCreated,
    TicketCreatedPayload,
    TicketCustomerReplied,
    TicketCustomerRepliedPayload,
    TicketEscalated,
    TicketEscalatedPayload,
    TicketIncidentLinked,
    TicketIncidentLinkedPayload,
    TicketReopened,
    TicketReopenedPayload,
    TicketResolved,
    TicketResolvedPayload,
    TicketResponded,
    TicketRespondedPayload,
    TicketStatus,
    TicketStatusChanged,
    TicketStatusChangedPayload,
    UtcDatetime,
)
from contracts.events_sla import OverdueReasonCode, SlaOverdueReasonRecorded, SlaOverdueReasonRecordedPayload

PRODUCER = "sla-monitor"
DEFAULT_CALENDAR_ID = "cn-default"


class InvalidEvent(ValueError):
    """An event this service can never apply (mapped to a dead letter by the handlers)."""


class CalendarMissing(RuntimeError):
    """A policy names a calendar the store does not have (configuration error; retried)."""


# ============================================================================= business calendars
_HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


class Span(BaseModel):
    """Working hours within one local day, ``start`` inclusive, ``end`` exclusive ("24:00" = midnight)."""

    model_config = ConfigDict(frozen=True)

    start: str = Field(pattern=_HHMM.pattern, examples=["09:00"])
    end: str = Field(pattern=_HHMM.pattern, examples=["18:00"])

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if _minutes(self.start) >= _minutes(self.end):
            raise ValueError(f"working hours {self.start}-{self.end} must start before they end")
        return self


def _date_str(value: str) -> str:
    return date.fromisoformat(value).isoformat()


DateStr = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_date_str)]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NINE_TO_SIX = [Span(start="09:00", end="18:00")]


def _check_spans(spans: list[Span]) -> list[Span]:
    ordered = sorted(spans, key=lambda s: _minutes(s.start))
    for a, b in zip(ordered, ordered[1:], strict=False):
        if _minutes(b.start) < _minutes(a.end):
            raise ValueError(f"working hours {a.start}-{a.end} and {b.start}-{b.end} overlap")
    return ordered


CalendarId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9\-]{0,39}$")]


class CalendarBody(BaseModel):
    """Working hours per weekday in a time zone, with holidays (no work) and make-up working days
    (调休: a weekend day worked, with ``makeup_hours``). Stored and edited by admins."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=100)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    weekly: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[Span]] = Field(
        description="Working hours by weekday; a missing weekday is not worked.",
    )
    holidays: list[DateStr] = Field(default_factory=list, max_length=5000, description="Days not worked.")
    makeup_workdays: list[DateStr] = Field(
        default_factory=list, max_length=2000, description="Otherwise free days that are worked (调休)."
    )
    makeup_hours: list[Span] = Field(default_factory=lambda: list(NINE_TO_SIX))
    holidays_known_until: DateStr | None = Field(
        default=None, description="Holiday data is complete up to this day; add later years before it runs out."
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, value: dict[str, list[Span]]) -> dict[str, list[Span]]:
        value = {day: _check_spans(spans) for day, spans in value.items()}
        if not any(value.values()):
            raise ValueError("a business calendar needs working hours on at least one weekday")
        return value

    @field_validator("makeup_hours")
    @classmethod
    def _makeup(cls, value: list[Span]) -> list[Span]:
        if not value:
            raise ValueError("make-up working days need working hours")
        return _check_spans(value)

    @model_validator(mode="after")
    def _disjoint(self) -> CalendarBody:
        both = set(self.holidays) & set(self.makeup_workdays)
        if both:
            raise ValueError(f"days both holiday and make-up working day: {sorted(both)[:5]}")
        return self


class BusinessCalendar(CalendarBody):
    calendar_id: CalendarId


def china_calendar() -> BusinessCalendar:
    """The default calendar: Mon–Fri 09:00–18:00 Asia/Shanghai, with the State Council's public
    holidays and adjusted working days (调休) from the ``chinesecalendar`` package."""
    from chinese_calendar import constants

    holidays = sorted(d.isoformat() for d in constants.holidays if d.year >= 2020)
    makeup = sorted(d.isoformat() for d in constants.workdays if d.year >= 2020)
    last_year = max(d.year for d in constants.holidays)
    return BusinessCalendar(
        calendar_id=DEFAULT_CALENDAR_ID,
        name="中国工作日 09:00-18:00",
        timezone="Asia/Shanghai",
        weekly={day: list(NINE_TO_SIX) for day in WEEKDAYS[:5]},
        holidays=holidays,
        makeup_workdays=makeup,
        makeup_hours=list(NINE_TO_SIX),
        holidays_known_until=date(last_year, 12, 31).isoformat(),
    )


Interval = tuple[datetime, datetime]
_MAX_IDLE_DAYS = 400  # a calendar with no working time for this long cannot give a due time


class Schedule:
    """Working intervals of a calendar in UTC (compiled once per calendar version)."""

    def __init__(self, calendar: BusinessCalendar | None) -> None:
        self.calendar = calendar
        if calendar is None:
            return
        self.zone = ZoneInfo(calendar.timezone)
        self.weekly = [[(_minutes(s.start), _minutes(s.end)) for s in calendar.weekly.get(day, [])] for day in WEEKDAYS]  # type: ignore[call-overload]
        self.holidays = frozenset(date.fromisoformat(d) for d in calendar.holidays)
        self.makeup = frozenset(date.fromisoformat(d) for d in calendar.makeup_workdays)
        self.makeup_spans = [(_minutes(s.start), _minutes(s.end)) for s in calendar.makeup_hours]

    @property
    def always(self) -> bool:
        return self.calendar is None

    def spans_on(self, day: date) -> list[tuple[int, int]]:
        """Working minutes-of-day of a local date."""
        if day in self.holidays:
            return []
        if day in self.makeup:
            return self.makeup_spans
        return self.weekly[day.weekday()]

    def _local(self, day: date, minute: int) -> datetime:
        if minute >= 1440:
            return datetime.combine(day + timedelta(days=1), time(0), self.zone).astimezone(UTC)
        return datetime.combine(day, time(minute // 60, minute % 60), self.zone).astimezone(UTC)

    def intervals_from(self, start: datetime) -> Iterator[Interval]:
        """Working intervals ending after ``start`` in time order, the first clipped to begin at it."""
        if self.always:
            day = datetime(start.year, start.month, start.day, tzinfo=UTC)
            while True:
                a, day = max(day, start), day + timedelta(days=1)
                yield a, day
        day = start.astimezone(self.zone).date()
        idle = 0
        while True:
            spans = self.spans_on(day)
            idle = 0 if spans else idle + 1
            if idle > _MAX_IDLE_DAYS:
                raise ValueError(f"calendar {self.calendar.calendar_id} has no working time after {day}")  # type: ignore[union-attr]
            for s, e in spans:
                a, b = self._local(day, s), self._local(day, e)
                if b > start:
                    yield max(a, start), b
            day += timedelta(days=1)


ALWAYS = Schedule(None)
"""24×7: calendar-time targets."""


@lru_cache(maxsize=64)
def _compiled(calendar_json: str) -> Schedule:
    return Schedule(BusinessCalendar.model_validate_json(calendar_json))


def schedule_of(calendar: BusinessCalendar) -> Schedule:
    return _compiled(calendar.model_dump_json())


def normalise(intervals: Sequence[Interval]) -> list[Interval]:
    """Sorted, merged, non-empty intervals."""
    out: list[Interval] = []
    for a, b in sorted(i for i in intervals if i[1] > i[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _minus(interval: Interval, excluded: list[Interval]) -> Iterator[Interval]:
    a, b = interval
    for x, y in excluded:
        if y <= a:
            continue
        if x >= b:
            break
        if x > a:
            yield a, x
        a = max(a, y)
        if a >= b:
            return
    if a < b:
        yield a, b


def advance(start: datetime, amount: timedelta, schedule: Schedule, excluded: Sequence[Interval] = ()) -> datetime:
    """The instant at which ``amount`` of counted time has passed since ``start``: working time of the
    schedule, minus the ``excluded`` (paused) intervals. Exact to the microsecond; a due time falls at
    the end of a working interval rather than at the start of the next one."""
    if start.tzinfo is None:
        raise ValueError("SLA times are timezone-aware UTC")
    if amount <= timedelta(0):
        raise ValueError("an SLA target is a positive amount of time")
    skip = normalise(excluded)
    remaining = amount
    for interval in schedule.intervals_from(start):
        for a, b in _minus(interval, skip):
            if remaining <= b - a:
                return a + remaining
            remaining -= b - a
    raise AssertionError("unreachable")  # pragma: no cover - intervals_from never ends


def counted(start: datetime, end: datetime, schedule: Schedule, excluded: Sequence[Interval] = ()) -> timedelta:
    """Counted time between two instants (working time of the schedule, outside ``excluded``)."""
    total = timedelta(0)
    if end <= start:
        return total
    skip = normalise(excluded)
    for a, b in schedule.intervals_from(start):
        if a >= end:
            break
        for x, y in _minus((a, min(b, end)), skip):
            total += y - x
    return total


def instant(at: datetime) -> datetime:
    """A UTC time at MongoDB's millisecond precision, so a clock recomputed from stored values equals
    the one computed from the events."""
    return at.astimezone(UTC).replace(microsecond=at.microsecond // 1000 * 1000)


def due_at(start: datetime, minutes: int, schedule: Schedule = ALWAYS, excluded: Sequence[Interval] = ()) -> datetime:
    """``minutes`` of SLA time after ``start`` (calendar time by default)."""
    return advance(start, timedelta(minutes=minutes), schedule, excluded)


# ============================================================================= the policy
class Target(BaseModel):
    """One SLA target: minutes of calendar time (24×7) or of business time (the calendar's hours)."""

    model_config = ConfigDict(frozen=True)

    minutes: int = Field(gt=0, le=525_600)
    business: bool = Field(default=False, description="Count only the business calendar's working time.")


_H = 60
_BUSINESS_DAY = 9 * _H  # the default calendar's working day, 09:00–18:00

DEFAULT_NEXT_RESPONSE: dict[Priority, Target] = {
    Priority.P1: Target(minutes=30),
    Priority.P2: Target(minutes=2 * _H),
    Priority.P3: Target(minutes=8 * _H, business=True),
    Priority.P4: Target(minutes=24 * _H, business=True),
}
"""The answer owed after a further customer message when a rule does not say: P1 and P2 run day and
night like their first response, P3 and P4 in business hours. Policy versions stored before the next
response existed read with these values, so they mean the same as before for the other two targets."""


def _default_next_response(data: dict[str, Any]) -> Target:
    # a rule whose priority failed validation reports that error; any value does here
    priority = data.get("priority")
    return DEFAULT_NEXT_RESPONSE[priority] if priority in DEFAULT_NEXT_RESPONSE else DEFAULT_NEXT_RESPONSE[Priority.P3]


class PolicyRule(BaseModel):
    """A cell of the matrix: priority, optionally narrowed by channel, customer tier and category. The
    most specific matching rule wins (ties: the first listed)."""

    model_config = ConfigDict(frozen=True)

    priority: Priority
    channel: Channel | None = None
    customer_tier: CustomerTier | None = None
    category: Category | None = None
    first_response: Target
    resolution: Target
    next_response: Target = Field(
        default_factory=_default_next_response,
        description="The answer owed after each further customer message (started by ticket.customer_replied, "
                    "stopped by the next agent answer). Default by priority: P1 30 min, P2 2 h, P3 8 business "
                    "hours, P4 24 business hours.",
    )
    calendar_id: CalendarId | None = Field(default=None, description="Overrides the policy's calendar for this rule.")

    @property
    def specificity(self) -> int:
        return sum(v is not None for v in (self.channel, self.customer_tier, self.category))

    def key(self) -> tuple[Any, ...]:
        return (self.priority, self.channel, self.customer_tier, self.category)

    def matches(self, priority: Priority, channel: Channel | None, tier: CustomerTier | None,
                category: Category | None) -> bool:
        return (
            self.priority == priority
            and (self.channel is None or self.channel == channel)
            and (self.customer_tier is None or self.customer_tier == tier)
            and (self.category is None or self.category == category)
        )


class WarningRule(BaseModel):
    """When to warn: a lead time before the deadline (capped at half the target, so a 15-minute
    target is not warned about at its start), or once a percentage of the target has elapsed."""

    model_config = ConfigDict(frozen=True)

    lead_minutes: int | None = Field(default=60, gt=0, le=10_080)
    percent: int | None = Field(default=None, ge=1, le=99, description="Warn when this % of the target elapsed.")

    @model_validator(mode="after")
    def _one(self) -> WarningRule:
        if (self.lead_minutes is None) == (self.percent is None):
            raise ValueError("set exactly one of lead_minutes and percent")
        return self

    def warn_after(self, target: timedelta) -> timedelta:
        """Counted time after which the warning is due."""
        if self.percent is not None:
            after = target * self.percent / 100
        else:
            after = target - min(timedelta(minutes=self.lead_minutes or 0), target / 2)
        return max(timedelta(seconds=1), timedelta(seconds=int(after.total_seconds())))


class PolicyBody(BaseModel):
    """The editable content of a policy (what an admin drafts)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    default_priority: Priority = Field(default=Priority.P3, description="What a ticket runs on before classification.")
    calendar_id: CalendarId = DEFAULT_CALENDAR_ID
    warning: WarningRule = Field(default_factory=WarningRule)
    acknowledge_within_minutes: int = Field(gt=0, le=1440, description="Unconfirmed assignment → supervisor.")
    pause_statuses: list[TicketStatus] = Field(
        default_factory=lambda: [TicketStatus.PENDING_CUSTOMER],
        description="Ticket statuses that pause the resolution and next-response clocks (leaving them resumes).",
    )
    rules: list[PolicyRule] = Field(min_length=4, max_length=500)

    @field_validator("pause_statuses")
    @classmethod
    def _pausable(cls, value: list[TicketStatus]) -> list[TicketStatus]:
        lifecycle = {TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.REOPENED}
        if lifecycle & set(value):
            raise ValueError("resolved/closed/reopened already stop and resume the clock")
        return sorted(set(value))

    @model_validator(mode="after")
    def _complete(self) -> PolicyBody:
        """A default rule (no narrowing) per priority, no duplicate cells, and a more urgent priority
        never has a looser default target of the same kind."""
        keys = [r.key() for r in self.rules]
        if len(keys) != len(set(keys)):
            raise ValueError("two rules for the same matrix cell")
        defaults = {r.priority: r for r in self.rules if r.specificity == 0}
        if set(defaults) != set(Priority):
            raise ValueError("a policy needs a default rule (no channel/tier/category) for each priority P1…P4")
        ordered = [defaults[p] for p in sorted(Priority, key=lambda p: p.rank)]
        for attr in ("first_response", "resolution", "next_response"):
            for a, b in zip(ordered, ordered[1:], strict=False):
                ta, tb = getattr(a, attr), getattr(b, attr)
                if ta.business == tb.business and ta.minutes > tb.minutes:
                    raise ValueError(f"{attr} targets must not loosen with urgency ({a.priority} vs {b.priority})")
        return self

    def calendar_ids(self) -> set[str]:
        return {self.calendar_id} | {r.calendar_id for r in self.rules if r.calendar_id}


class SlaPolicy(PolicyBody):
    """A versioned SLA policy. Versions are immutable once active: a clock keeps the version it
    started under."""

    version: int = Field(ge=1)

    def rule_for(self, priority: Priority, channel: Channel | None = None, tier: CustomerTier | None = None,
                 category: Category | None = None) -> PolicyRule:
        candidates = [r for r in self.rules if r.matches(priority, channel, tier, category)]
        return max(candidates, key=lambda r: r.specificity)  # max keeps the first of equals

    def first_response_minutes(self, priority: Priority, channel: Channel | None = None) -> int:
        return self.rule_for(priority, channel).first_response.minutes

    def resolution_minutes(self, priority: Priority, channel: Channel | None = None) -> int:
        return self.rule_for(priority, channel).resolution.minutes

    def next_response_minutes(self, priority: Priority, channel: Channel | None = None) -> int:
        return self.rule_for(priority, channel).next_response.minutes


def _rule(priority: Priority, first: Target, resolution: Target, **narrow: Any) -> PolicyRule:
    return PolicyRule(priority=priority, first_response=first, resolution=resolution,
                      next_response=DEFAULT_NEXT_RESPONSE[priority], **narrow)


# The next-response targets of v1 are DEFAULT_NEXT_RESPONSE: a v1 stored before they existed reads the same.
POLICY_V1 = SlaPolicy(
    version=1,
    name="标准响应时间 v1",
    description=(
        "Seed 004 response-time standard: P1 15 min (phone) / 10 min (online chat) first response, "
        "4 h resolution; P2 2 h / 24 h; P3 8 business hours / 3 business days; P4 3 / 5 business days. "
        "Warning 1 h before a deadline and unconfirmed assignment after 10 min (seed 000)."
    ),
    default_priority=Priority.P3,
    calendar_id=DEFAULT_CALENDAR_ID,
    warning=WarningRule(lead_minutes=60),
    acknowledge_within_minutes=10,
    rules=[
        _rule(Priority.P1, Target(minutes=15), Target(minutes=4 * _H)),
        _rule(Priority.P1, Target(minutes=15), Target(minutes=4 * _H), channel=Channel.PHONE),
        _rule(Priority.P1, Target(minutes=10), Target(minutes=4 * _H), channel=Channel.ONLINE_CHAT),
        _rule(Priority.P2, Target(minutes=2 * _H), Target(minutes=24 * _H)),
        _rule(Priority.P3, Target(minutes=8 * _H, business=True), Target(minutes=3 * _BUSINESS_DAY, business=True)),
        _rule(Priority.P4, Target(minutes=3 * _BUSINESS_DAY, business=True),
              Target(minutes=5 * _BUSINESS_DAY, business=True)),
    ],
)


# ============================================================================= the clock
class ClockStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    RESOLVED = "resolved"
    CLOSED = "closed"


class NextResponseStatus(StrEnum):
    """Where the answer owed for the customer's newest further message stands."""

    NONE = "none"  # no further message, or the first response (still owed or given after it) answers it
    RUNNING = "running"
    PAUSED = "paused"  # the ticket waits for the customer (a pausing status)
    ANSWERED = "answered"  # an agent answered after the message (``next_response_met``: in time or not)
    STOPPED = "stopped"  # resolved or closed before an answer: nothing is owed any more


PrioritySource = Literal["default", "assignment", "classification"]
MarkKind = Literal["pause", "active", "resolved", "reopened", "closed"]
_STOPS = {"pause", "resolved", "closed"}
_MARK_ORDER = {"active": 0, "reopened": 1, "pause": 2, "resolved": 3, "closed": 4}


class Mark(BaseModel):
    """A time-stamped lifecycle fact that stops or resumes the resolution clock."""

    model_config = ConfigDict(frozen=True)

    at: UtcDatetime
    kind: MarkKind


class OverdueReason(BaseModel):
    """Why a breached ticket ran late (seed 004: 信息不全 / 流程复杂 / 资源不足 …), for reporting."""

    reason_id: str
    target: SlaTarget | None = None
    code: OverdueReasonCode
    note: str = Field(default="", max_length=500)
    recorded_by: str
    recorded_at: UtcDatetime


class SlaOverride(BaseModel):
    """Deadlines that replace the policy's for one ticket (crisis mode: the incident's own SLA, issue 19).
    ``policy`` names where they come from (``incident:<id>``); a None target keeps the policy's. Override
    targets run on calendar time (a crisis is worked around the clock)."""

    model_config = ConfigDict(frozen=True)

    policy: str = Field(min_length=1, max_length=64)
    first_response_minutes: int | None = Field(default=None, ge=1, le=525_600)
    resolution_minutes: int | None = Field(default=None, ge=1, le=525_600)
    at: UtcDatetime


class Clock(BaseModel):
    """The SLA clock of one ticket. Derived fields (targets, dues, warnings, status, next check) are
    always recomputed from the recorded facts by :func:`evaluate`."""

    ticket_id: str
    ticket_no: str
    correlation_id: str
    channel: Channel | None = Field(default=None, description="Unknown until ticket.created/classified.")
    customer_tier: CustomerTier | None = None
    category: Category | None = None
    team: str | None = None
    priority: Priority = Priority.P3
    priority_source: PrioritySource = "default"
    priority_at: UtcDatetime | None = Field(default=None, description="Time of the event the priority came from.")
    policy_version: int
    started_at: UtcDatetime
    provisional: bool = Field(
        default=False, description="True until ticket.created is seen; started_at is then the earliest time known."
    )
    # --- derived by evaluate()
    calendar_id: str | None = None
    first_response_target: Target | None = None
    resolution_target: Target | None = None
    first_response_due: UtcDatetime
    resolution_due: UtcDatetime = Field(description="While paused: the due as it stood; resuming moves it later.")
    first_response_warning_at: UtcDatetime | None = None
    resolution_warning_at: UtcDatetime | None = None
    first_response_at: UtcDatetime | None = Field(default=None, description="Acknowledgement or answer, the earlier.")
    first_response_met: bool | None = None
    resolution_met: bool | None = None
    next_response_target: Target | None = None
    next_response_status: NextResponseStatus = NextResponseStatus.NONE
    next_response_since: UtcDatetime | None = Field(
        default=None, description="The customer message the next answer is owed for (None: status none).")
    next_response_due: UtcDatetime | None = Field(
        default=None, description="While paused: the due as it stood; resuming moves it later.")
    next_response_warning_at: UtcDatetime | None = None
    next_response_at: UtcDatetime | None = Field(default=None, description="The agent's answer to that message.")
    next_response_met: bool | None = None
    paused_seconds: int = Field(default=0, ge=0, description="Wall-clock time the resolution clock stood still.")
    paused_since: UtcDatetime | None = None
    next_check_at: UtcDatetime | None = Field(default=None, description="Earliest pending alarm.")
    # --- facts
    agent_id: str | None = None
    assigned_at: UtcDatetime | None = None
    acknowledged_at: UtcDatetime | None = None
    acknowledged_by: str | None = None
    first_acknowledged_at: UtcDatetime | None = None
    first_responded_at: UtcDatetime | None = None
    answers: list[UtcDatetime] = Field(
        default_factory=list,
        description="Agent answers (ticket.responded) not older than the newest customer message: the earliest "
                    "answers it. Older ones can never answer a later message and are dropped.")
    last_customer_reply_at: UtcDatetime | None = Field(
        default=None, description="The newest further customer message (ticket.customer_replied).")
    customer_replies: int = Field(default=0, ge=0, description="Further customer messages (intake's reply_count).")
    resolved_at: UtcDatetime | None = None
    closed_at: UtcDatetime | None = None
    reopened_at: UtcDatetime | None = None
    status: ClockStatus = ClockStatus.RUNNING
    status_at: UtcDatetime | None = Field(default=None, description="Time of the event that set the status.")
    reopen_count: int = Field(default=0, ge=0)
    marks: list[Mark] = Field(default_factory=list)
    # --- alarms
    alarms: list[str] = Field(default_factory=list, description="Alarms already raised (never raised twice).")
    breach_count: int = Field(default=0, ge=0)
    escalation_count: int = Field(default=0, ge=0)
    overdue_reasons: list[OverdueReason] = Field(default_factory=list)
    override: SlaOverride | None = Field(default=None, description="Targets replacing the policy's (incident).")


Calendars = Mapping[str, Schedule]
_DEFAULT_SCHEDULES: dict[str, Schedule] = {}


def default_schedules() -> dict[str, Schedule]:
    if not _DEFAULT_SCHEDULES:
        _DEFAULT_SCHEDULES[DEFAULT_CALENDAR_ID] = schedule_of(china_calendar())
    return _DEFAULT_SCHEDULES


@dataclass(frozen=True)
class Fold:
    stops: list[Interval]  # closed intervals during which the resolution clock stood still
    open_stop: Mark | None  # the stop still in force
    status: ClockStatus
    status_at: datetime | None


def fold_marks(marks: Sequence[Mark]) -> Fold:
    """Replay the marks in time order: pause/resolved/closed stop the resolution clock, active and
    reopened resume it. The same set of marks gives the same result in any arrival order."""
    stops: list[Interval] = []
    stop: Mark | None = None
    changed: datetime | None = None
    for mark in sorted(set(marks), key=lambda m: (m.at, _MARK_ORDER[m.kind])):
        if mark.kind in _STOPS:
            if stop is None:
                stop, changed = mark, mark.at
            elif _MARK_ORDER[mark.kind] > _MARK_ORDER[stop.kind]:
                stop, changed = Mark(at=stop.at, kind=mark.kind), mark.at  # still stopped, a stronger reason
        elif stop is not None and not (stop.kind in ("resolved", "closed") and mark.kind == "active"):
            stops.append((stop.at, mark.at))
            stop, changed = None, mark.at
    status = ClockStatus.RUNNING
    if stop is not None:
        status = {"pause": ClockStatus.PAUSED, "resolved": ClockStatus.RESOLVED, "closed": ClockStatus.CLOSED}[stop.kind]
    return Fold(stops, stop, status, changed)


def _next_response(clock: Clock, target: Target, cal: Schedule, fold: Fold, first: datetime | None,
                   warning: WarningRule) -> dict[str, Any]:
    """The next-response target of the newest further customer message, from the facts alone (so any
    arrival order gives the same answer). Like Zammad's update time it counts from the customer's last
    contact (issue 18: "a next-response target after each customer message"):

    * a message before the first response (acknowledgement or answer) is answered by it — the
      first-response clock already covers it, no second clock;
    * the due counts from the message, in the target's business hours, without the time the ticket
      stood paused, resolved or closed (pausing never shortens it);
    * the earliest agent answer at or after the message stops it (met if not after the due);
    * a resolution or closure at or after the message, before any answer, stops it for good (nothing
      is owed on a finished ticket; after a reopening the next message starts a new one);
    * a resolved/closed ticket has no running next response: a message that reopened it counts from
      when ``ticket.reopened`` is applied (the time it stood resolved or closed does not count);
    * otherwise it runs, or stands still while the ticket is paused (pending_customer)."""
    since = clock.last_customer_reply_at
    derived: dict[str, Any] = {
        "next_response_target": target, "next_response_status": NextResponseStatus.NONE,
        "next_response_since": None, "next_response_due": None, "next_response_warning_at": None,
        "next_response_at": None, "next_response_met": None,
    }
    if since is None or first is None or since <= first:
        return derived
    schedule = cal if target.business else ALWAYS
    amount = timedelta(minutes=target.minutes)
    due = advance(since, amount, schedule, fold.stops)
    answer = min((t for t in clock.answers if t >= since), default=None)
    ended = min((m.at for m in clock.marks if m.kind in ("resolved", "closed") and m.at >= since), default=None)
    met: bool | None = None
    if answer is not None and (ended is None or answer <= ended):
        status, met = NextResponseStatus.ANSWERED, answer <= due
    elif ended is not None or fold.status in (ClockStatus.RESOLVED, ClockStatus.CLOSED):
        status, answer = NextResponseStatus.STOPPED, None
    else:
        status = NextResponseStatus.PAUSED if fold.status == ClockStatus.PAUSED else NextResponseStatus.RUNNING
    return derived | {
        "next_response_status": status, "next_response_since": since, "next_response_due": due,
        "next_response_warning_at": advance(since, warning.warn_after(amount), schedule, fold.stops),
        "next_response_at": answer, "next_response_met": met,
    }


def evaluate(clock: Clock, policy: SlaPolicy, calendars: Calendars | None = None) -> Clock:
    """Recompute every derived field from the facts: the matched rule, the three dues (business time
    and pauses included), warning times, status, met flags and the next alarm time."""
    if clock.policy_version != policy.version:
        raise ValueError(f"clock runs on policy v{clock.policy_version}, not v{policy.version}")
    calendars = default_schedules() if calendars is None else calendars
    rule = overridden(policy.rule_for(clock.priority, clock.channel, clock.customer_tier, clock.category),
                      clock.override)
    calendar_id = rule.calendar_id or policy.calendar_id
    if calendar_id not in calendars and (rule.first_response.business or rule.resolution.business
                                         or rule.next_response.business):
        raise CalendarMissing(f"business calendar {calendar_id!r} is not in the store")
    cal = calendars.get(calendar_id, ALWAYS)
    fr_sched = cal if rule.first_response.business else ALWAYS
    res_sched = cal if rule.resolution.business else ALWAYS
    fold = fold_marks(clock.marks)
    fr_amount, res_amount = timedelta(minutes=rule.first_response.minutes), timedelta(minutes=rule.resolution.minutes)
    start = clock.started_at
    fr_due = advance(start, fr_amount, fr_sched)
    res_due = advance(start, res_amount, res_sched, fold.stops)
    fr_warn = advance(start, policy.warning.warn_after(fr_amount), fr_sched)
    res_warn = advance(start, policy.warning.warn_after(res_amount), res_sched, fold.stops)
    first = min((t for t in (clock.first_responded_at, clock.first_acknowledged_at) if t is not None), default=None)
    res_met = None
    if fold.status in (ClockStatus.RESOLVED, ClockStatus.CLOSED) and clock.resolved_at is not None:
        res_met = clock.resolved_at <= res_due
    paused = sum(((b - a) for a, b in fold.stops), timedelta(0))
    updated = clock.model_copy(
        update={
            "calendar_id": calendar_id,
            "first_response_target": rule.first_response,
            "resolution_target": rule.resolution,
            "first_response_due": fr_due,
            "resolution_due": res_due,
            "first_response_warning_at": fr_warn,
            "resolution_warning_at": res_warn,
            "first_response_at": first,
            "first_response_met": None if first is None else first <= fr_due,
            "resolution_met": res_met,
            "paused_seconds": int(paused.total_seconds()),
            "paused_since": fold.open_stop.at if fold.open_stop and fold.open_stop.kind == "pause" else None,
            "status": fold.status,
            "status_at": fold.status_at,
            **_next_response(clock, rule.next_response, cal, fold, first, policy.warning),
        }
    )
    pending = pending_alarms(updated, policy)
    return updated.model_copy(update={"next_check_at": min((a.at for a in pending), default=None)})


def overridden(rule: PolicyRule, override: SlaOverride | None) -> PolicyRule:
    """The rule with an override's targets in place of the policy's (calendar minutes)."""
    if override is None:
        return rule
    update: dict[str, Target] = {}
    if override.first_response_minutes:
        update["first_response"] = Target(minutes=override.first_response_minutes)
    if override.resolution_minutes:
        update["resolution"] = Target(minutes=override.resolution_minutes)
    return rule.model_copy(update=update)


# ============================================================================= alarms
@dataclass(frozen=True)
class Alarm:
    key: str
    kind: Literal["warning", "breached", "unacknowledged"]
    at: datetime
    target: SlaTarget | None = None
    deadline: datetime | None = None


def _ack_key(assigned_at: datetime) -> str:
    return f"unacknowledged:{assigned_at.isoformat()}"


def _alarm_key(target: SlaTarget, kind: str, cycle: datetime | None = None) -> str:
    """``first_response.warning``; the next response runs again after every customer message, so its
    keys name the message (``next_response.breached@<time>``): each one is warned and breached once."""
    return f"{target}.{kind}" if cycle is None else f"{target}.{kind}@{cycle.isoformat()}"


def breached_targets(alarms: Sequence[str]) -> set[SlaTarget]:
    """The targets a clock's raised alarms say were breached."""
    out: set[SlaTarget] = set()
    for key in alarms:
        target, _, kind = key.split("@", 1)[0].partition(".")
        if kind == "breached" and target in {t.value for t in SlaTarget}:
            out.add(SlaTarget(target))
    return out


def pending_alarms(clock: Clock, policy: SlaPolicy) -> list[Alarm]:
    """Alarms not raised yet that still apply, whatever their time."""
    out: list[Alarm] = []
    live = clock.status in (ClockStatus.RUNNING, ClockStatus.PAUSED)
    if live and clock.first_response_at is None:
        t = SlaTarget.FIRST_RESPONSE
        out.append(Alarm(_alarm_key(t, "warning"), "warning",
                         clock.first_response_warning_at or clock.first_response_due, t, clock.first_response_due))
        out.append(Alarm(_alarm_key(t, "breached"), "breached", clock.first_response_due, t,
                         clock.first_response_due))
    if clock.status == ClockStatus.RUNNING:
        t = SlaTarget.RESOLUTION
        out.append(Alarm(_alarm_key(t, "warning"), "warning", clock.resolution_warning_at or clock.resolution_due,
                         t, clock.resolution_due))
        out.append(Alarm(_alarm_key(t, "breached"), "breached", clock.resolution_due, t, clock.resolution_due))
    due, since = clock.next_response_due, clock.next_response_since
    if clock.next_response_status == NextResponseStatus.RUNNING and due is not None and since is not None:
        t = SlaTarget.NEXT_RESPONSE
        out.append(Alarm(_alarm_key(t, "warning", since), "warning", clock.next_response_warning_at or due, t,
                         due))
        out.append(Alarm(_alarm_key(t, "breached", since), "breached", due, t, due))
    if (
        live and clock.assigned_at is not None and clock.agent_id is not None and clock.acknowledged_at is None
        and (clock.first_responded_at is None or clock.first_responded_at < clock.assigned_at)
    ):
        out.append(Alarm(_ack_key(clock.assigned_at), "unacknowledged",
                         clock.assigned_at + timedelta(minutes=policy.acknowledge_within_minutes)))
    fired = set(clock.alarms)
    return [a for a in out if a.key not in fired]


def _event_id(clock: Clock, key: str) -> Any:
    """Deterministic id of an alarm's event: a retried scan republishes the same event id."""
    return uuid5(NAMESPACE_URL, f"sla-monitor/{clock.ticket_id}/{key}")


def fire(clock: Clock, policy: SlaPolicy, now: datetime) -> tuple[Clock, list[Event]]:
    """Raise every alarm due at ``now`` once: a warning before its deadline, a breach at it (the warning
    is then skipped), an unconfirmed assignment, and an escalation for a breached P1 or a second breach."""
    due = [a for a in pending_alarms(clock, policy) if a.at <= now]
    if not due:
        return clock, []
    fired, events = list(clock.alarms), []
    breached = {a.target for a in due if a.kind == "breached"}
    breach_count, escalations = clock.breach_count, clock.escalation_count
    ref = {"ticket_id": clock.ticket_id, "ticket_no": clock.ticket_no}
    common = {"correlation_id": clock.correlation_id, "producer": PRODUCER, "occurred_at": now}
    for alarm in sorted(due, key=lambda a: (a.at, a.kind != "warning")):
        fired.append(alarm.key)
        if alarm.kind == "warning":
            if alarm.target in breached:
                continue  # the deadline has passed as well: the breach says it
            assert alarm.deadline is not None and alarm.target is not None
            events.append(SlaWarning.new(
                SlaWarningPayload(**ref, target=alarm.target, deadline=alarm.deadline, priority=clock.priority,
                                  policy_version=clock.policy_version, agent_id=clock.agent_id,
                                  remaining_seconds=max(0, int((alarm.deadline - now).total_seconds()))),
                event_id=_event_id(clock, alarm.key), **common))
        elif alarm.kind == "breached":
            assert alarm.deadline is not None and alarm.target is not None
            breach_count += 1
            events.append(SlaBreached.new(
                SlaBreachedPayload(**ref, target=alarm.target, deadline=alarm.deadline, priority=clock.priority,
                                   policy_version=clock.policy_version, agent_id=clock.agent_id,
                                   overdue_seconds=max(0, int((now - alarm.deadline).total_seconds())),
                                   breach_count=breach_count),
                event_id=_event_id(clock, alarm.key), **common))
            if clock.priority == Priority.P1 or breach_count >= 2:
                escalations += 1
                reason = (f"{alarm.target.value} deadline {alarm.deadline.isoformat()} breached "
                          f"({clock.priority.value}, breach {breach_count})")
                events.append(TicketEscalated.new(
                    TicketEscalatedPayload(**ref, level=min(escalations, 3), reason=reason, target=alarm.target,
                                           escalated_at=now),
                    event_id=_event_id(clock, f"escalated.{escalations}"), **common))
        else:
            assert clock.assigned_at is not None and clock.agent_id is not None
            events.append(AssignmentUnacknowledged.new(
                AssignmentUnacknowledgedPayload(**ref, agent_id=clock.agent_id, assigned_at=clock.assigned_at,
                                                waited_seconds=max(0, int((now - clock.assigned_at).total_seconds()))),
                event_id=_event_id(clock, alarm.key), **common))
    updated = clock.model_copy(update={"alarms": fired, "breach_count": breach_count, "escalation_count": escalations})
    pending = pending_alarms(updated, policy)
    return updated.model_copy(update={"next_check_at": min((a.at for a in pending), default=None)}), events


# ============================================================================= overdue reasons
OVERDUE_LABELS: dict[OverdueReasonCode, str] = {
    OverdueReasonCode.INCOMPLETE_INFORMATION: "信息不全",
    OverdueReasonCode.COMPLEX_PROCESS: "流程复杂",
    OverdueReasonCode.INSUFFICIENT_RESOURCES: "资源不足",
    OverdueReasonCode.PRIORITY_MISJUDGED: "优先级判断不准",
    OverdueReasonCode.CUSTOMER_UNREACHABLE: "客户无法联系",
    OverdueReasonCode.SYSTEM_ISSUE: "系统操作繁琐或故障",
    OverdueReasonCode.OTHER: "其他",
}


class NotBreached(ValueError):
    """An overdue reason for a ticket (or target) that never breached."""


def record_overdue_reason(
    clock: Clock, *, reason_id: str, code: OverdueReasonCode, target: SlaTarget | None, note: str, staff_id: str,
    now: datetime,
) -> tuple[Clock, Event]:
    """Record why a breached ticket ran late; the event carries it to reporting. ``note`` must already
    be redacted of personal data."""
    breached = breached_targets(clock.alarms)
    if not breached:
        raise NotBreached(f"ticket {clock.ticket_no} has not breached an SLA target")
    if target is not None and target not in breached:
        raise NotBreached(f"ticket {clock.ticket_no} has not breached its {target.value} target")
    reason = OverdueReason(reason_id=reason_id, target=target, code=code, note=note, recorded_by=staff_id,
                           recorded_at=instant(now))
    event = SlaOverdueReasonRecorded.new(
        SlaOverdueReasonRecordedPayload(
            ticket_id=clock.ticket_id, ticket_no=clock.ticket_no, reason_id=reason_id, target=target, code=code,
            label=OVERDUE_LABELS[code], note=note, priority=clock.priority, policy_version=clock.policy_version,
            agent_id=clock.agent_id, recorded_by=staff_id, recorded_at=reason.recorded_at,
        ),
        correlation_id=clock.correlation_id, producer=PRODUCER, occurred_at=reason.recorded_at,
        event_id=uuid5(NAMESPACE_URL, f"sla-monitor/{clock.ticket_id}/overdue/{reason_id}"),
    )
    return clock.model_copy(update={"overdue_reasons": [*clock.overdue_reasons, reason]}), event


# ============================================================================= opening and appliers
def _new_clock(
    *, ticket_id: str, ticket_no: str, correlation_id: str, started_at: datetime, channel: Channel | None,
    provisional: bool, policy: SlaPolicy, tier: CustomerTier | None = None,
) -> Clock:
    start = instant(started_at)
    return Clock(
        ticket_id=ticket_id, ticket_no=ticket_no, correlation_id=correlation_id, channel=channel, customer_tier=tier,
        priority=policy.default_priority, policy_version=policy.version, started_at=start, provisional=provisional,
        first_response_due=start, resolution_due=start,
    )


def open_clock(p: TicketCreatedPayload, *, correlation_id: str, policy: SlaPolicy) -> Clock:
    """A ticket's clock starts when the ticket was created, on the policy's default priority (P3)."""
    return _new_clock(
        ticket_id=p.ticket_id, ticket_no=p.ticket_no, correlation_id=correlation_id, started_at=p.created_at,
        channel=p.channel, provisional=False, policy=policy, tier=p.customer_tier,
    )


def provisional_clock(ticket_id: str, ticket_no: str, *, correlation_id: str, at: datetime, policy: SlaPolicy) -> Clock:
    """A clock for a ticket whose ``ticket.created`` has not arrived yet (events out of order): it
    starts at the earliest time known so far and ``ticket.created`` corrects it when it comes."""
    return _new_clock(
        ticket_id=ticket_id, ticket_no=ticket_no, correlation_id=correlation_id, started_at=at, channel=None,
        provisional=True, policy=policy,
    )


def _seen(clock: Clock, at: datetime) -> Clock:
    """While provisional, the start is the earliest time any event of the ticket carries."""
    if clock.provisional and at < clock.started_at:
        return clock.model_copy(update={"started_at": at})
    return clock


def _mark(clock: Clock, at: datetime, kind: MarkKind) -> Clock:
    mark = Mark(at=at, kind=kind)
    if mark in clock.marks:
        return clock
    return clock.model_copy(update={"marks": sorted([*clock.marks, mark], key=lambda m: (m.at, _MARK_ORDER[m.kind]))})


def reprioritise(clock: Clock, priority: Priority, policy: SlaPolicy, calendars: Calendars | None = None) -> Clock:
    """A new priority recomputes both dues from the original start (elapsed time is kept, the clock
    is not restarted): a P3 ticket raised to P1 after 20 minutes is already 5 minutes late."""
    return evaluate(clock.model_copy(update={"priority": priority}), policy, calendars)


_SOURCE_RANK: dict[PrioritySource, int] = {"default": 0, "assignment": 1, "classification": 2}


def _priority_wins(clock: Clock, source: PrioritySource, at: datetime) -> bool:
    """Classification is authoritative; the priority an assignment carries only counts until a
    classification is known. Within one source the newest event wins."""
    if _SOURCE_RANK[source] != _SOURCE_RANK[clock.priority_source]:
        return _SOURCE_RANK[source] > _SOURCE_RANK[clock.priority_source]
    return clock.priority_at is None or at >= clock.priority_at


def _take(clock: Clock, source: PrioritySource, at: datetime, **fields: Any) -> Clock:
    if _priority_wins(clock, source, at):
        return clock.model_copy(update={**fields, "priority_source": source, "priority_at": at})
    return clock


def apply_created(clock: Clock, p: TicketCreatedPayload) -> Clock:
    """``ticket.created`` after other events: it fixes channel, number and start (the earliest time
    known, normally the creation time)."""
    at = instant(p.created_at)
    return clock.model_copy(
        update={
            "ticket_no": p.ticket_no, "channel": p.channel, "provisional": False,
            "customer_tier": clock.customer_tier or p.customer_tier,
            "started_at": min(clock.started_at, at) if clock.provisional else clock.started_at,
        }
    )


def apply_classified(clock: Clock, p: TicketClassifiedPayload) -> Clock:
    """The classification sets priority, category and tier (newest classification wins: manual
    corrections come later); the dues are recomputed from the start."""
    at = instant(p.classified_at)
    clock = _seen(clock, at)
    if clock.channel is None:
        clock = clock.model_copy(update={"channel": p.channel})
    return _take(clock, "classification", at, priority=p.priority, category=p.category, customer_tier=p.customer_tier)


def apply_assigned(clock: Clock, p: TicketAssignedPayload) -> Clock:
    """The newest assignment names the agent; an acknowledgement older than it belonged to an
    earlier assignment and no longer counts (the 10-minute confirmation starts again)."""
    at = instant(p.assigned_at)
    clock = _take(_seen(clock, at), "assignment", at, priority=p.priority)
    if clock.assigned_at is None or at >= clock.assigned_at:
        update: dict[str, Any] = {"agent_id": p.agent_id, "assigned_at": at, "team": p.team}
        if clock.acknowledged_at is not None and clock.acknowledged_at < at:
            update.update(acknowledged_at=None, acknowledged_by=None)
        clock = clock.model_copy(update=update)
    return clock


def apply_acknowledged(clock: Clock, p: TicketAcknowledgedPayload) -> Clock:
    """确认接单: the newest acknowledgement not older than the current assignment is kept (one made
    before it answered an earlier assignment). The earliest one ever stops the first-response target."""
    at = instant(p.acknowledged_at)
    clock = _seen(clock, at)
    current = clock.assigned_at is None or at >= clock.assigned_at
    newer = clock.acknowledged_at is None or at > clock.acknowledged_at
    if current and newer:
        clock = clock.model_copy(update={"acknowledged_at": at, "acknowledged_by": p.agent_id})
    if clock.first_acknowledged_at is None or at < clock.first_acknowledged_at:
        clock = clock.model_copy(update={"first_acknowledged_at": at})
    return clock


_MAX_ANSWERS = 50


def _answers(times: Sequence[datetime], since: datetime | None) -> list[datetime]:
    """The agent answers that may still answer a customer message: those not older than the newest one
    (``since``). Newest messages win, so an older answer can never answer a later message. Bounded:
    intake publishes an answer only when one is owed, so more than a handful is already unusual; before
    any message is known the newest are kept (a late message is newer than most of them)."""
    kept = sorted({t for t in times if since is None or t >= since})
    return kept[:_MAX_ANSWERS] if since is not None else kept[-_MAX_ANSWERS:]


def apply_responded(clock: Clock, p: TicketRespondedPayload) -> Clock:
    """The first response is the earliest answer to the customer; it stops the first-response target.
    Every answer (whatever its ``first_response`` flag) is also kept for the next-response target: the
    earliest one at or after the customer's newest message answers it."""
    at = instant(p.responded_at)
    clock = _seen(clock, at)
    if clock.first_responded_at is None or at < clock.first_responded_at:
        clock = clock.model_copy(update={"first_responded_at": at})
    return clock.model_copy(update={"answers": _answers([*clock.answers, at], clock.last_customer_reply_at)})


def apply_customer_replied(clock: Clock, p: TicketCustomerRepliedPayload, policy: SlaPolicy) -> Clock:
    """The customer wrote again: the newest message (by the time it carries, so an older one arriving
    late changes nothing) starts the next-response target again. The message also carries the ticket's
    status after it: a pending_customer ticket is back in progress at that instant, so the resolution
    clock resumes even when intake's ``ticket.status_changed`` comes later (or never) — both give the
    same time-stamped mark. Resolved/closed/reopened are left to their own events, as for status changes."""
    at = instant(p.replied_at)
    clock = _seen(clock, at)
    newest = at if clock.last_customer_reply_at is None else max(clock.last_customer_reply_at, at)
    clock = clock.model_copy(update={
        "last_customer_reply_at": newest,
        "customer_replies": max(clock.customer_replies, p.reply_count),
        "answers": _answers(clock.answers, newest),
    })
    if p.status in _STATUS_MARKS:
        return clock
    return _mark(clock, at, status_mark(p.status, policy))


def _undone(clock: Clock, at: datetime) -> bool:
    """A resolution or closure older than the latest reopening no longer counts."""
    return clock.reopened_at is not None and at < clock.reopened_at


def apply_incident_linked(clock: Clock, p: TicketIncidentLinkedPayload) -> Clock:
    """The ticket belongs to an incident: its targets are the incident's SLA override from now on, the
    dues recomputed from the start (like a new priority). A ticket is linked once; a second link (another
    incident) never replaces the first."""
    at = instant(p.linked_at)
    clock = _seen(clock, at)
    if clock.override is not None:
        return clock
    override = SlaOverride(policy=f"incident:{p.incident_id}", first_response_minutes=p.sla.first_response_minutes,
                           resolution_minutes=p.sla.resolution_minutes, at=at)
    return clock.model_copy(update={"override": override})


def apply_resolved(clock: Clock, p: TicketResolvedPayload) -> Clock:
    """The resolution stops the resolution target (the latest one since the last reopening)."""
    at = instant(p.resolved_at)
    clock = _mark(_seen(clock, at), at, "resolved")
    if not _undone(clock, at):
        latest = at if clock.resolved_at is None else max(clock.resolved_at, at)
        clock = clock.model_copy(update={"resolved_at": latest})
    return clock


def apply_closed(clock: Clock, p: TicketClosedPayload) -> Clock:
    """A closed ticket is finished; its clock stops."""
    at = instant(p.closed_at)
    clock = _mark(_seen(clock, at), at, "closed")
    if not _undone(clock, at):
        latest = at if clock.closed_at is None else max(clock.closed_at, at)
        clock = clock.model_copy(update={"closed_at": latest})
    return clock


def apply_reopened(clock: Clock, p: TicketReopenedPayload) -> Clock:
    """A reopened ticket runs again: a resolution or closure before the reopening is undone, and the
    time it stood resolved does not count (the resolution due moves later by it)."""
    at = instant(p.reopened_at)
    clock = _mark(_seen(clock, at), at, "reopened")
    reopened = at if clock.reopened_at is None else max(clock.reopened_at, at)
    update: dict[str, Any] = {"reopened_at": reopened, "reopen_count": max(clock.reopen_count, p.reopen_count)}
    if clock.resolved_at is not None and clock.resolved_at < reopened:
        update["resolved_at"] = None
    if clock.closed_at is not None and clock.closed_at < reopened:
        update["closed_at"] = None
    return clock.model_copy(update=update)


_STATUS_MARKS: dict[TicketStatus, MarkKind] = {
    TicketStatus.RESOLVED: "resolved", TicketStatus.CLOSED: "closed", TicketStatus.REOPENED: "reopened",
}


def status_mark(to_status: TicketStatus, policy: SlaPolicy) -> MarkKind:
    if to_status in _STATUS_MARKS:
        return _STATUS_MARKS[to_status]
    return "pause" if to_status in policy.pause_statuses else "active"


def apply_status_changed(clock: Clock, p: TicketStatusChangedPayload, policy: SlaPolicy) -> Clock:
    """Entering a pausing status (pending_customer) pauses the resolution and next-response clocks;
    leaving it resumes them.
    Resolved/closed/reopened are left to their own events (they carry the facts)."""
    at = instant(p.changed_at)
    clock = _seen(clock, at)
    if p.to_status in _STATUS_MARKS:
        return clock
    return _mark(clock, at, status_mark(p.to_status, policy))


Applier = Callable[[Clock, Any], Clock]

APPLIERS: dict[str, tuple[Applier | None, str]] = {
    TicketCreated.type_name(): (apply_created, "created_at"),
    TicketClassified.type_name(): (apply_classified, "classified_at"),
    TicketAssigned.type_name(): (apply_assigned, "assigned_at"),
    TicketAcknowledged.type_name(): (apply_acknowledged, "acknowledged_at"),
    TicketResponded.type_name(): (apply_responded, "responded_at"),
    TicketStatusChanged.type_name(): (None, "changed_at"),  # needs the policy's pausing statuses
    TicketCustomerReplied.type_name(): (None, "replied_at"),  # the same
    TicketResolved.type_name(): (apply_resolved, "resolved_at"),
    TicketClosed.type_name(): (apply_closed, "closed_at"),
    TicketReopened.type_name(): (apply_reopened, "reopened_at"),
    TicketIncidentLinked.type_name(): (apply_incident_linked, "linked_at"),
}
"""Event type → (applier, the payload field holding the time the fact happened); None: in POLICY_APPLIERS."""

POLICY_APPLIERS: dict[str, Callable[[Clock, Any, SlaPolicy], Clock]] = {
    TicketStatusChanged.type_name(): apply_status_changed,
    TicketCustomerReplied.type_name(): apply_customer_replied,
}


def fact_time(event: Event) -> datetime:
    """When the fact happened according to the event (never the arrival time)."""
    _, field = APPLIERS[event.event_type]
    return instant(getattr(event.payload, field))


def apply_event(clock: Clock | None, event: Event, policy: SlaPolicy, calendars: Calendars | None = None) -> Clock:
    """The clock after one lifecycle event. Without a clock, ``ticket.created`` opens one and any
    other event opens a provisional one (it must not be lost while ``ticket.created`` is late).
    ``policy`` is the clock's own version, or the active one when there is no clock yet."""
    if event.event_type not in APPLIERS:
        raise InvalidEvent(f"sla-monitor does not track {event.event_type}")
    p = event.payload
    ticket_id = getattr(p, "ticket_id", "")
    if not ticket_id or not ticket_id.strip():
        raise InvalidEvent(f"{event.event_type} {event.event_id} carries no ticket id")
    applier, _ = APPLIERS[event.event_type]
    if clock is None:
        if isinstance(event, TicketCreated):
            return evaluate(open_clock(event.payload, correlation_id=event.correlation_id, policy=policy), policy,
                            calendars)
        clock = provisional_clock(
            ticket_id, p.ticket_no, correlation_id=event.correlation_id, at=fact_time(event), policy=policy
        )
    if applier is None:
        clock = POLICY_APPLIERS[event.event_type](clock, p, policy)
    else:
        clock = applier(clock, p)
    return evaluate(clock, policy, calendars)


# ============================================================================= records and views
class PolicyStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


class PolicyRecord(SlaPolicy):
    """A stored policy version with its history: who drafted and activated it, and when."""

    status: PolicyStatus
    created_by: str
    created_at: UtcDatetime
    updated_at: UtcDatetime | None = None
    activated_by: str | None = None
    activated_at: UtcDatetime | None = None
    retired_at: UtcDatetime | None = None

    def policy(self) -> SlaPolicy:
        return SlaPolicy.model_validate(self.model_dump(include=set(SlaPolicy.model_fields)))


class CalendarRecord(BusinessCalendar):
    revision: int = Field(ge=1)
    updated_by: str
    updated_at: UtcDatetime


class ClockView(Clock):
    """A clock as the API shows it: with the time left (negative: overdue) as of the request."""

    as_of: UtcDatetime
    first_response_remaining_seconds: int | None = Field(default=None, description="None once met or stopped.")
    resolution_remaining_seconds: int | None = Field(default=None, description="None while stopped or paused.")
    next_response_remaining_seconds: int | None = Field(default=None, description="None unless running.")


def view(clock: Clock, now: datetime) -> ClockView:
    live = clock.status in (ClockStatus.RUNNING, ClockStatus.PAUSED)
    fr = int((clock.first_response_due - now).total_seconds()) if live and clock.first_response_at is None else None
    res = int((clock.resolution_due - now).total_seconds()) if clock.status == ClockStatus.RUNNING else None
    nr = None
    if clock.next_response_status == NextResponseStatus.RUNNING and clock.next_response_due is not None:
        nr = int((clock.next_response_due - now).total_seconds())
    return ClockView(**clock.model_dump(), as_of=now, first_response_remaining_seconds=fr,
                     resolution_remaining_seconds=res, next_response_remaining_seconds=nr)


class PreviewRequest(BaseModel):
    """What would the deadlines be for a ticket like this, created at ``start_at`` (default: now)?"""

    priority: Priority
    channel: Channel | None = None
    customer_tier: CustomerTier | None = None
    category: Category | None = None
    start_at: UtcDatetime | None = None
    policy_version: int | None = Field(default=None, ge=1, description="Default: the active policy.")


class Preview(BaseModel):
    policy_version: int
    rule: PolicyRule
    calendar_id: str
    start_at: UtcDatetime
    first_response_due: UtcDatetime
    first_response_warning_at: UtcDatetime
    resolution_due: UtcDatetime
    resolution_warning_at: UtcDatetime
    next_response_due: UtcDatetime = Field(
        description="The answer owed to a further customer message written at start_at (after the first response).")
    acknowledge_by_minutes: int


def preview(request: PreviewRequest, policy: SlaPolicy, now: datetime, calendars: Calendars | None = None) -> Preview:
    start = instant(request.start_at or now)
    clock = _new_clock(ticket_id="preview", ticket_no="preview", correlation_id="preview", started_at=start,
                       channel=request.channel, provisional=False, policy=policy, tier=request.customer_tier)
    clock = evaluate(clock.model_copy(update={"priority": request.priority, "category": request.category}), policy,
                     calendars)
    assert clock.first_response_warning_at is not None and clock.resolution_warning_at is not None
    rule = policy.rule_for(request.priority, request.channel, request.customer_tier, request.category)
    known = default_schedules() if calendars is None else calendars
    schedule = known.get(clock.calendar_id or policy.calendar_id, ALWAYS)
    next_due = due_at(start, rule.next_response.minutes, schedule if rule.next_response.business else ALWAYS)
    return Preview(
        policy_version=policy.version,
        rule=rule, calendar_id=clock.calendar_id or policy.calendar_id, start_at=start,
        first_response_due=clock.first_response_due, first_response_warning_at=clock.first_response_warning_at,
        resolution_due=clock.resolution_due, resolution_warning_at=clock.resolution_warning_at,
        next_response_due=next_due,
        acknowledge_by_minutes=policy.acknowledge_within_minutes,
    )
