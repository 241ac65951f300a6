from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import (
    AssignmentUnacknowledged,
    Category,
    Channel,
    CustomerTier,
    Event,
    Priority,
    SlaBreached,
    SlaTarget,
    SlaWarning,
    TicketEscalated,
    TicketStatus,
)
from contracts.events_sla import OverdueReasonCode, SlaOverdueReasonRecorded
from sla_monitor import domain
from sla_monitor.domain import POLICY_V1, Clock, ClockStatus, NextResponseStatus, PolicyRule, Target

from .conftest import (
    T0, acknowledged, assigned, at, classified, closed, created, paused, reopened, replied, resolved, responded,
    resumed, status_changed,
)

PRIORITIES = list(Priority)
CHANNELS = [None, *Channel]
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))
CN = domain.china_calendar()
CN_SCHED = domain.schedule_of(CN)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """A Shanghai wall-clock time as UTC."""
    return datetime(y, mo, d, h, mi, tzinfo=SHANGHAI).astimezone(UTC)


def _clock(priority: Priority = Priority.P3, channel: Channel | None = Channel.EMAIL, start: datetime = T0) -> Clock:
    clock = domain.open_clock(created(when=start, channel=Channel.EMAIL).payload, correlation_id="c", policy=POLICY_V1)
    return domain.reprioritise(clock.model_copy(update={"channel": channel}), priority, POLICY_V1)


def _replay(events: list[Event]) -> Clock:
    clock: Clock | None = None
    for event in events:
        clock = domain.apply_event(clock, event, POLICY_V1)
    assert clock is not None
    return clock


# ----------------------------------------------------------------------------- the policy
def test_policy_v1_is_the_seed_standard() -> None:
    p = POLICY_V1
    assert p.version == 1 and p.default_priority == Priority.P3 and p.calendar_id == "cn-default"
    assert p.warning.lead_minutes == 60 and p.acknowledge_within_minutes == 10
    assert p.pause_statuses == [TicketStatus.PENDING_CUSTOMER]
    assert p.rule_for(Priority.P1, Channel.PHONE).first_response == Target(minutes=15)
    assert p.rule_for(Priority.P1, Channel.ONLINE_CHAT).first_response == Target(minutes=10)
    assert p.rule_for(Priority.P1, Channel.EMAIL).first_response == Target(minutes=15)
    assert p.rule_for(Priority.P1).resolution == Target(minutes=4 * 60)
    for channel in CHANNELS:
        assert p.rule_for(Priority.P2, channel).first_response == Target(minutes=120)
        assert p.rule_for(Priority.P2, channel).resolution == Target(minutes=24 * 60)
        assert p.rule_for(Priority.P3, channel).first_response == Target(minutes=8 * 60, business=True)
        assert p.rule_for(Priority.P3, channel).resolution == Target(minutes=3 * 9 * 60, business=True)  # 3 days
        assert p.rule_for(Priority.P4, channel).resolution.business


def _data() -> dict:
    return POLICY_V1.model_dump(mode="json")


def test_policy_needs_a_default_rule_per_priority_and_unique_cells() -> None:
    data = _data()
    data["rules"] = [r for r in data["rules"] if r["priority"] != "P4"] + [data["rules"][0]]
    with pytest.raises(ValidationError, match="same matrix cell"):
        domain.SlaPolicy.model_validate(data)
    data = _data()
    data["rules"] = [r for r in data["rules"] if r["priority"] != "P4"]
    data["rules"].append({**data["rules"][1], "priority": "P4"})  # P4 only for phone: no default
    with pytest.raises(ValidationError, match="default rule"):
        domain.SlaPolicy.model_validate(data)


def test_policy_rejects_a_more_urgent_priority_with_a_looser_default_target() -> None:
    data = _data()
    p2 = next(r for r in data["rules"] if r["priority"] == "P2")
    p2["resolution"]["minutes"] = 10 * 24 * 60
    data["rules"][3]["resolution"] = {"minutes": 9 * 24 * 60, "business": False}  # P2's cell
    p3 = next(r for r in data["rules"] if r["priority"] == "P3")
    p3["resolution"] = {"minutes": 24 * 60, "business": False}
    with pytest.raises(ValidationError, match="resolution targets must not loosen"):
        domain.SlaPolicy.model_validate(data)


def test_policy_rejects_bad_warning_rules_and_lifecycle_pause_statuses() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        domain.WarningRule(lead_minutes=60, percent=80)
    with pytest.raises(ValidationError, match="exactly one"):
        domain.WarningRule(lead_minutes=None, percent=None)
    with pytest.raises(ValidationError, match="already stop"):
        domain.SlaPolicy.model_validate({**_data(), "pause_statuses": ["resolved"]})


def test_the_most_specific_rule_wins() -> None:
    vip = PolicyRule(priority=Priority.P2, customer_tier=CustomerTier.VIP, first_response=Target(minutes=60),
                     resolution=Target(minutes=12 * 60))
    vip_complaint = PolicyRule(priority=Priority.P2, customer_tier=CustomerTier.VIP, category=Category.COMPLAINT,
                               first_response=Target(minutes=30), resolution=Target(minutes=8 * 60))
    policy = POLICY_V1.model_copy(update={"rules": [*POLICY_V1.rules, vip, vip_complaint]})
    policy = domain.SlaPolicy.model_validate(policy.model_dump())
    assert policy.rule_for(Priority.P2, Channel.EMAIL, CustomerTier.NORMAL, Category.COMPLAINT).first_response.minutes == 120
    assert policy.rule_for(Priority.P2, Channel.EMAIL, CustomerTier.VIP, Category.OTHER) == vip
    assert policy.rule_for(Priority.P2, Channel.PHONE, CustomerTier.VIP, Category.COMPLAINT) == vip_complaint
    assert policy.rule_for(Priority.P2, None, None, None).first_response.minutes == 120


def test_warning_lead_is_capped_at_half_the_target_or_a_percentage() -> None:
    lead = domain.WarningRule(lead_minutes=60)
    assert lead.warn_after(timedelta(hours=2)) == timedelta(hours=1)
    assert lead.warn_after(timedelta(minutes=15)) == timedelta(minutes=7, seconds=30)
    assert domain.WarningRule(lead_minutes=None, percent=80).warn_after(timedelta(hours=10)) == timedelta(hours=8)


def test_policy_round_trips_through_json() -> None:
    assert domain.SlaPolicy.model_validate_json(POLICY_V1.model_dump_json()) == POLICY_V1


# ----------------------------------------------------------------------------- business calendars
def test_the_default_calendar_knows_chinas_holidays_and_make_up_days() -> None:
    assert CN.timezone == "Asia/Shanghai" and CN.holidays_known_until == "2026-12-31"
    assert "2026-10-01" in CN.holidays and "2026-10-10" in CN.makeup_workdays  # National Day; a worked Saturday
    assert CN_SCHED.spans_on(date(2026, 10, 1)) == [] and CN_SCHED.spans_on(date(2026, 10, 10)) == [(540, 1080)]
    assert CN_SCHED.spans_on(date(2026, 11, 28)) == [] and CN_SCHED.spans_on(date(2026, 11, 27)) == [(540, 1080)]


@pytest.mark.parametrize("bad", [
    {"timezone": "Mars/Base"},
    {"weekly": {"mon": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "18:00"}]}},
    {"weekly": {"mon": [{"start": "18:00", "end": "09:00"}]}},
    {"weekly": {"mon": [{"start": "9:00", "end": "18:00"}]}},
    {"weekly": {"sat": []}},
    {"holidays": ["2026-02-30"]},
    {"holidays": ["2026-10-10"], "makeup_workdays": ["2026-10-10"]},
])
def test_calendar_validation(bad: dict) -> None:
    data = {"name": "x", "weekly": {"mon": [{"start": "09:00", "end": "18:00"}]}, **bad}
    with pytest.raises(ValidationError):
        domain.CalendarBody.model_validate(data)


def test_business_time_crosses_nights_weekends_and_holidays() -> None:
    h = timedelta(hours=1)
    assert domain.advance(local(2026, 11, 27, 17), 2 * h, CN_SCHED) == local(2026, 11, 30, 10)  # Fri → Mon
    assert domain.advance(local(2026, 11, 25, 16), 2 * h, CN_SCHED) == local(2026, 11, 25, 18)  # ends at closing
    assert domain.advance(local(2026, 11, 25, 20), h, CN_SCHED) == local(2026, 11, 26, 10)  # after hours
    assert domain.advance(local(2026, 9, 30, 17), 3 * h, CN_SCHED) == local(2026, 10, 8, 11)  # National Day
    assert domain.advance(local(2026, 10, 9, 17), 2 * h, CN_SCHED) == local(2026, 10, 10, 10)  # worked Saturday
    assert domain.counted(local(2026, 9, 30, 9), local(2026, 10, 8, 18), CN_SCHED) == 18 * h
    with pytest.raises(ValueError):
        domain.advance(T0, timedelta(0), CN_SCHED)
    with pytest.raises(ValueError):
        domain.advance(datetime(2026, 11, 25, 9), h, CN_SCHED)


def test_a_calendar_without_working_time_ahead_fails_loudly() -> None:
    cal = domain.BusinessCalendar(calendar_id="x", name="x", weekly={"mon": [domain.Span(start="09:00", end="10:00")]},
                                  holidays=[(date(2026, 11, 30) + timedelta(weeks=w)).isoformat() for w in range(70)])
    with pytest.raises(ValueError, match="no working time"):
        domain.advance(local(2026, 11, 25), timedelta(hours=2), domain.schedule_of(cal))


LUNCH = domain.schedule_of(domain.BusinessCalendar(
    calendar_id="lunch", name="with lunch break", timezone="UTC",
    weekly={"mon": [domain.Span(start="08:30", end="12:00"), domain.Span(start="13:30", end="24:00")],
            "wed": [domain.Span(start="00:00", end="06:15")], "sat": [domain.Span(start="10:00", end="11:00")]},
    holidays=["2026-12-02", "2027-01-04"], makeup_workdays=["2026-12-06"],
    makeup_hours=[domain.Span(start="07:00", end="09:00")],
))
SCHEDULES = st.sampled_from([CN_SCHED, LUNCH, domain.ALWAYS])
starts = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2026, 12, 20), timezones=st.just(UTC))
amounts = st.integers(1, 60 * 24 * 20).map(lambda s: timedelta(seconds=s * 7))


@settings(max_examples=30, deadline=None)
@given(starts, amounts, SCHEDULES)
def test_advance_counts_exactly_the_target(start: datetime, amount: timedelta, schedule: domain.Schedule) -> None:
    due = domain.advance(start, amount, schedule)
    assert due > start
    assert domain.counted(start, due, schedule) == amount
    assert domain.counted(start, due - timedelta(microseconds=1), schedule) < amount  # the first such instant


@settings(max_examples=30, deadline=None)
@given(starts, amounts, amounts, SCHEDULES)
def test_advance_is_additive_and_monotonic(start: datetime, a: timedelta, b: timedelta, schedule: domain.Schedule) -> None:
    assert domain.advance(domain.advance(start, a, schedule), b, schedule) == domain.advance(start, a + b, schedule)
    assert domain.advance(start, min(a, b), schedule) <= domain.advance(start, max(a, b), schedule)


@settings(max_examples=30, deadline=None)
@given(times, st.integers(1, 525_600))
def test_calendar_time_is_plain_addition(start: datetime, minutes: int) -> None:
    assert domain.due_at(start, minutes) == start + timedelta(minutes=minutes)


def _working_minute(schedule: domain.Schedule, at: datetime) -> bool:
    wall = at.astimezone(schedule.zone)
    minute = wall.hour * 60 + wall.minute
    return any(s <= minute < e for s, e in schedule.spans_on(wall.date()))


@settings(max_examples=25, deadline=None)
@given(st.datetimes(min_value=datetime(2025, 12, 25), max_value=datetime(2026, 10, 5)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC)), st.integers(1, 1500), st.sampled_from([CN_SCHED, LUNCH]))
def test_business_time_matches_a_minute_by_minute_reference(start: datetime, minutes: int, schedule: domain.Schedule) -> None:
    t, left = start, minutes
    while left:
        if _working_minute(schedule, t):
            left -= 1
        t += timedelta(minutes=1)
    assert domain.advance(start, timedelta(minutes=minutes), schedule) == t


@settings(max_examples=30, deadline=None)
@given(starts, amounts, st.lists(st.tuples(st.integers(0, 20 * 24 * 60), st.integers(1, 5 * 24 * 60)), max_size=4),
       SCHEDULES)
def test_pauses_never_count(start: datetime, amount: timedelta, raw: list[tuple[int, int]], schedule: domain.Schedule) -> None:
    pauses = [(start + timedelta(minutes=a), start + timedelta(minutes=a + n)) for a, n in raw]
    due = domain.advance(start, amount, schedule, pauses)
    assert due >= domain.advance(start, amount, schedule)
    assert domain.counted(start, due, schedule, pauses) == amount
    overlap = domain.counted(start, due, schedule) - amount
    merged = domain.normalise([(max(a, start), min(b, due)) for a, b in pauses])
    assert overlap == sum((domain.counted(a, b, schedule) for a, b in merged), timedelta(0))


# ----------------------------------------------------------------------------- dues of a clock
@settings(max_examples=30, deadline=None)
@given(times, st.sampled_from(PRIORITIES), st.sampled_from(CHANNELS))
def test_dues_are_always_after_the_start(start: datetime, priority: Priority, channel: Channel | None) -> None:
    clock = _clock(priority, channel, domain.instant(start))
    assert clock.started_at < clock.first_response_due <= clock.resolution_due
    assert clock.started_at < clock.first_response_warning_at <= clock.first_response_due  # type: ignore[operator]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(PRIORITIES), min_size=1, max_size=6), st.sampled_from(CHANNELS), times)
def test_reprioritising_keeps_the_start_and_only_the_last_priority_counts(
    path: list[Priority], channel: Channel | None, start: datetime
) -> None:
    clock = _clock(Priority.P3, channel, domain.instant(start))
    for priority in path:
        clock = domain.reprioritise(clock, priority, POLICY_V1)
    direct = domain.reprioritise(_clock(Priority.P3, channel, domain.instant(start)), path[-1], POLICY_V1)
    assert clock == direct
    assert clock.started_at == domain.instant(start)
    rule = POLICY_V1.rule_for(path[-1], channel)
    assert clock.first_response_target == rule.first_response
    assert clock.first_response_due == domain.advance(
        clock.started_at, timedelta(minutes=rule.first_response.minutes),
        CN_SCHED if rule.first_response.business else domain.ALWAYS)


def test_raising_priority_keeps_elapsed_time() -> None:
    """A P3 ticket raised to P1 (phone) after 20 minutes is already 5 minutes past its first response."""
    clock = domain.apply_event(None, created(channel=Channel.PHONE), POLICY_V1)
    clock = domain.apply_event(clock, classified(priority=Priority.P1, when=at(20)), POLICY_V1)
    assert clock.started_at == T0
    assert clock.first_response_due == at(15) and clock.first_response_due < at(20)
    assert clock.resolution_due == at(4 * 60)


def test_evaluate_refuses_another_policy_version_and_a_missing_calendar() -> None:
    other = POLICY_V1.model_copy(update={"version": 2})
    with pytest.raises(ValueError, match="policy"):
        domain.evaluate(_clock(), other)
    with pytest.raises(domain.CalendarMissing):
        domain.evaluate(_clock(), POLICY_V1, {})
    assert domain.evaluate(_clock(Priority.P2), POLICY_V1, {}).resolution_due == T0 + timedelta(hours=24)


# ----------------------------------------------------------------------------- opening and appliers
def test_open_clock_runs_on_p3_from_creation() -> None:
    clock = domain.apply_event(None, created(channel=Channel.ONLINE_CHAT), POLICY_V1)
    assert (clock.ticket_id, clock.ticket_no, clock.correlation_id) == ("t001", "GD20261125001", "corr-t001")
    assert clock.priority == Priority.P3 and clock.priority_source == "default" and clock.policy_version == 1
    assert clock.started_at == T0 and not clock.provisional and clock.status == ClockStatus.RUNNING
    # P3 counts business time: Wed 09:00 (Shanghai) + 8 h = 17:00; + 3 working days = Fri 18:00
    assert clock.first_response_due == at(8 * 60) == local(2026, 11, 25, 17)
    assert clock.resolution_due == local(2026, 11, 27, 18) and clock.calendar_id == "cn-default"
    assert clock.first_response_warning_at == local(2026, 11, 25, 16)
    assert clock.next_check_at == clock.first_response_warning_at


def test_times_come_from_the_events_at_millisecond_precision() -> None:
    event = created(when=T0 + timedelta(microseconds=123_456))
    assert domain.fact_time(event) == T0 + timedelta(milliseconds=123)
    assert domain.fact_time(responded(when=at(7))) == at(7)


def test_classified_before_created_opens_a_provisional_clock_that_created_corrects() -> None:
    clock = domain.apply_event(None, classified(priority=Priority.P1, when=at(3), channel=Channel.ONLINE_CHAT), POLICY_V1)
    assert clock.provisional and clock.started_at == at(3) and clock.channel == Channel.ONLINE_CHAT
    assert clock.first_response_due == at(13)
    clock = domain.apply_event(clock, assigned(when=at(1)), POLICY_V1)  # an even earlier time is known
    assert clock.started_at == at(1)
    clock = domain.apply_event(clock, created(channel=Channel.ONLINE_CHAT), POLICY_V1)
    assert not clock.provisional and clock.started_at == T0
    assert clock.priority == Priority.P1 and clock.first_response_due == at(10) and clock.resolution_due == at(240)


def test_a_started_clock_is_not_moved_by_earlier_event_times() -> None:
    clock = domain.apply_event(None, created(when=at(10)), POLICY_V1)
    clock = domain.apply_event(clock, responded(when=at(5)), POLICY_V1)  # clock skew between producers
    assert clock.started_at == at(10) and clock.first_responded_at == at(5)


def test_classification_beats_assignment_and_newest_classification_wins() -> None:
    clock = domain.apply_event(None, created(), POLICY_V1)
    clock = domain.apply_event(clock, assigned(priority=Priority.P2, when=at(5)), POLICY_V1)
    assert clock.priority == Priority.P2 and clock.priority_source == "assignment"
    clock = domain.apply_event(clock, classified(priority=Priority.P4, when=at(2)), POLICY_V1)
    assert clock.priority == Priority.P4 and clock.priority_source == "classification"
    clock = domain.apply_event(clock, assigned(agent="A2", priority=Priority.P1, when=at(30)), POLICY_V1)
    assert clock.priority == Priority.P4 and clock.agent_id == "A2"
    clock = domain.apply_event(clock, classified(priority=Priority.P1, when=at(40)), POLICY_V1)  # manual correction
    assert clock.priority == Priority.P1
    clock = domain.apply_event(clock, classified(priority=Priority.P3, when=at(2)), POLICY_V1)  # stale, late
    assert clock.priority == Priority.P1 and clock.priority_at == at(40)


def test_acknowledgement_counts_only_for_the_current_assignment() -> None:
    clock = domain.apply_event(None, created(), POLICY_V1)
    clock = domain.apply_event(clock, assigned(agent="A1", when=at(1)), POLICY_V1)
    clock = domain.apply_event(clock, acknowledged(agent="A1", when=at(4)), POLICY_V1)
    assert (clock.acknowledged_at, clock.acknowledged_by) == (at(4), "A1")
    clock = domain.apply_event(clock, assigned(agent="A2", when=at(20)), POLICY_V1)  # transferred
    assert clock.agent_id == "A2" and clock.assigned_at == at(20) and clock.acknowledged_at is None
    clock = domain.apply_event(clock, acknowledged(agent="A1", when=at(6)), POLICY_V1)  # stale
    assert clock.acknowledged_at is None
    clock = domain.apply_event(clock, assigned(agent="A1", when=at(1)), POLICY_V1)  # old assignment, late
    assert clock.agent_id == "A2"
    clock = domain.apply_event(clock, acknowledged(agent="A2", when=at(25)), POLICY_V1)
    assert (clock.acknowledged_at, clock.acknowledged_by) == (at(25), "A2")


def test_first_response_is_the_earliest_answer() -> None:
    clock = domain.apply_event(None, created(), POLICY_V1)
    clock = domain.apply_event(clock, responded(when=at(30)), POLICY_V1)
    clock = domain.apply_event(clock, responded(when=at(12)), POLICY_V1)
    clock = domain.apply_event(clock, responded(when=at(50)), POLICY_V1)
    assert clock.first_responded_at == at(12)


def test_resolve_reopen_resolve_close() -> None:
    clock = domain.apply_event(None, created(), POLICY_V1)
    clock = domain.apply_event(clock, resolved(when=at(60)), POLICY_V1)
    assert clock.status == ClockStatus.RESOLVED and clock.resolved_at == at(60)
    clock = domain.apply_event(clock, reopened(when=at(120), count=1), POLICY_V1)
    assert clock.status == ClockStatus.RUNNING and clock.resolved_at is None and clock.reopen_count == 1
    due = clock.resolution_due
    clock = domain.apply_event(clock, resolved(when=at(60)), POLICY_V1)  # the undone resolution, redelivered late
    assert clock.status == ClockStatus.RUNNING and clock.resolved_at is None
    clock = domain.apply_event(clock, resolved(when=at(180)), POLICY_V1)
    clock = domain.apply_event(clock, closed(when=at(240)), POLICY_V1)
    assert clock.status == ClockStatus.CLOSED and clock.resolved_at == at(180) and clock.closed_at == at(240)
    assert clock.resolution_due == due == local(2026, 11, 30, 10)  # the hour it stood resolved does not count
    assert clock.paused_seconds == 3600 and clock.resolution_met is True


def test_a_late_older_lifecycle_event_does_not_change_the_status() -> None:
    clock = domain.apply_event(None, created(), POLICY_V1)
    clock = domain.apply_event(clock, closed(when=at(90)), POLICY_V1)
    clock = domain.apply_event(clock, resolved(when=at(60)), POLICY_V1)
    assert clock.status == ClockStatus.CLOSED and clock.resolved_at == at(60) and clock.status_at == at(90)


def test_events_without_a_ticket_id_or_of_other_types_are_invalid() -> None:
    blank = created(tid="   ")
    with pytest.raises(domain.InvalidEvent, match="no ticket id"):
        domain.apply_event(None, blank, POLICY_V1)
    clock = _clock(Priority.P1)
    other = domain.fire(clock, POLICY_V1, at(30))[1][0]
    with pytest.raises(domain.InvalidEvent, match="does not track"):
        domain.apply_event(None, other, POLICY_V1)


# ----------------------------------------------------------------------------- order and duplicates
LIFECYCLE: list[Event] = [
    created(channel=Channel.ONLINE_CHAT),
    classified(priority=Priority.P2, when=at(1), channel=Channel.ONLINE_CHAT),
    assigned(agent="A1", when=at(2), priority=Priority.P2),
    acknowledged(agent="A1", when=at(4)),
    classified(priority=Priority.P1, when=at(6), channel=Channel.ONLINE_CHAT),
    assigned(agent="A2", when=at(7), priority=Priority.P1),
    acknowledged(agent="A2", when=at(8)),
    responded(when=at(9), agent="A2"),
    responded(when=at(15), agent="A2"),
    paused(when=at(20)),
    resumed(when=at(40)),
    resolved(when=at(60)),
    reopened(when=at(90), count=1),
    resolved(when=at(150)),
    closed(when=at(200)),
]


def test_the_lifecycle_in_order() -> None:
    clock = _replay(LIFECYCLE)
    assert clock.priority == Priority.P1 and clock.channel == Channel.ONLINE_CHAT and not clock.provisional
    assert clock.started_at == T0 and clock.first_response_due == at(10)
    assert clock.resolution_due == at(240 + 20 + 30) and clock.paused_seconds == 50 * 60  # pause + reopened gap
    assert clock.first_response_met is True and clock.resolution_met is True and clock.next_check_at is None
    assert (clock.agent_id, clock.assigned_at, clock.acknowledged_at) == ("A2", at(7), at(8))
    assert clock.first_responded_at == at(9) and clock.resolved_at == at(150) and clock.closed_at == at(200)
    assert clock.status == ClockStatus.CLOSED and clock.reopen_count == 1


@settings(max_examples=30, deadline=None)
@given(st.permutations(LIFECYCLE))
def test_any_arrival_order_gives_the_same_clock(order: list[Event]) -> None:
    assert _replay(order) == _replay(LIFECYCLE)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(range(len(LIFECYCLE))), min_size=1, max_size=6), st.randoms())
def test_redelivered_events_change_nothing(extra: list[int], rnd: object) -> None:
    """The service drops duplicates by event id; the appliers are idempotent as well."""
    events = LIFECYCLE + [LIFECYCLE[i] for i in extra]
    rnd.shuffle(events)  # type: ignore[attr-defined]
    assert _replay(events) == _replay(LIFECYCLE)


# ----------------------------------------------------------------------------- pausing
def test_pending_customer_pauses_resolution_and_resuming_shifts_the_due() -> None:
    clock = _replay([created(channel=Channel.EMAIL), classified(priority=Priority.P2, when=at(1))])
    assert clock.resolution_due == at(24 * 60)
    clock = domain.apply_event(clock, paused(when=at(60)), POLICY_V1)
    assert clock.status == ClockStatus.PAUSED and clock.paused_since == at(60)
    assert clock.resolution_due == at(24 * 60)  # as it stood
    assert {a.key for a in domain.pending_alarms(clock, POLICY_V1)} == {
        "first_response.warning", "first_response.breached"}  # a paused resolution raises nothing
    clock = domain.apply_event(clock, resumed(when=at(180)), POLICY_V1)
    assert clock.status == ClockStatus.RUNNING and clock.paused_since is None and clock.paused_seconds == 7200
    assert clock.resolution_due == at(24 * 60 + 120) and clock.first_response_due == at(120)  # response not paused


def test_a_pause_over_the_weekend_only_costs_its_working_hours() -> None:
    start = local(2026, 11, 27, 9)  # Friday
    clock = _replay([created(when=start, channel=Channel.EMAIL)])
    assert clock.resolution_due == local(2026, 12, 1, 18)
    clock = _replay([created(when=start), paused(when=local(2026, 11, 27, 17)), resumed(when=local(2026, 11, 30, 10))])
    assert clock.resolution_due == local(2026, 12, 2, 11)  # Fri 17-18 and Mon 9-10: two working hours


def test_other_statuses_do_not_pause_and_a_policy_can_pause_on_more() -> None:
    events = [created(), status_changed(when=at(10), to=TicketStatus.IN_PROGRESS, frm=TicketStatus.ASSIGNED),
              status_changed(when=at(20), to=TicketStatus.NEEDS_INFO, frm=TicketStatus.IN_PROGRESS),
              status_changed(when=at(80), to=TicketStatus.IN_PROGRESS, frm=TicketStatus.NEEDS_INFO)]
    assert _replay(events).paused_seconds == 0
    policy = domain.SlaPolicy.model_validate({**POLICY_V1.model_dump(), "pause_statuses": ["needs_info", "pending_customer"]})
    clock = None
    for event in events:
        clock = domain.apply_event(clock, event, policy)
    assert clock is not None and clock.paused_seconds == 3600


def test_status_changes_to_lifecycle_states_are_left_to_their_own_events() -> None:
    clock = _replay([created(), status_changed(when=at(5), to=TicketStatus.RESOLVED)])
    assert clock.status == ClockStatus.RUNNING and clock.marks == []


PAUSES: list[Event] = [
    created(channel=Channel.EMAIL), classified(priority=Priority.P2, when=at(1), channel=Channel.EMAIL),
    paused(when=at(30)), resumed(when=at(50)), paused(when=at(90)), resolved(when=at(100)),
    reopened(when=at(130)), paused(when=at(140)), resumed(when=at(200)),
]


@settings(max_examples=30, deadline=None)
@given(st.permutations(PAUSES))
def test_pauses_in_any_order_give_the_same_clock(order: list[Event]) -> None:
    clock = _replay(order)
    assert clock == _replay(PAUSES)
    assert clock.paused_seconds == (20 + 40 + 60) * 60 and clock.resolution_due == at(24 * 60 + 120)


# ----------------------------------------------------------------------------- alarms
def _keys(events: list[Event]) -> list[str]:
    return [e.event_type for e in events]


def test_warning_then_breach_once_each_and_a_second_breach_escalates() -> None:
    clock = _replay([created(channel=Channel.EMAIL), classified(priority=Priority.P2, when=at(1), channel=Channel.EMAIL)])
    assert clock.first_response_warning_at == at(60) and clock.next_check_at == at(60)
    assert domain.fire(clock, POLICY_V1, at(59))[1] == []
    clock, events = domain.fire(clock, POLICY_V1, at(60))
    [warning] = events
    assert isinstance(warning, SlaWarning) and warning.payload.target == SlaTarget.FIRST_RESPONSE
    assert warning.payload.deadline == at(120) and warning.payload.remaining_seconds == 3600
    assert warning.payload.priority == Priority.P2 and warning.payload.policy_version == 1
    assert domain.fire(clock, POLICY_V1, at(61))[1] == [] and clock.next_check_at == at(120)
    clock, events = domain.fire(clock, POLICY_V1, at(121))
    [breach] = events
    assert isinstance(breach, SlaBreached) and breach.payload.overdue_seconds == 60 and breach.payload.breach_count == 1
    assert clock.next_check_at == at(23 * 60)  # the resolution warning
    clock, events = domain.fire(clock, POLICY_V1, at(24 * 60 + 5))  # scanner was down: both are due
    assert _keys(events) == ["sla.breached", "ticket.escalated"]  # no warning after the deadline
    breach, escalation = events
    assert breach.payload.target == SlaTarget.RESOLUTION and breach.payload.breach_count == 2  # type: ignore[attr-defined]
    assert isinstance(escalation, TicketEscalated) and escalation.payload.level == 1
    assert escalation.payload.target == SlaTarget.RESOLUTION and escalation.payload.notify_staff_ids == []
    assert clock.breach_count == 2 and clock.escalation_count == 1 and clock.next_check_at is None
    assert domain.fire(clock, POLICY_V1, at(10_000))[1] == []


def test_a_breached_p1_escalates_at_once() -> None:
    clock = _replay([created(channel=Channel.PHONE), classified(priority=Priority.P1, when=at(20))])
    clock, events = domain.fire(clock, POLICY_V1, at(20))
    assert _keys(events) == ["sla.breached", "ticket.escalated"]
    assert events[0].payload.overdue_seconds == 300  # type: ignore[attr-defined]


def test_alarm_events_have_stable_ids_and_event_times() -> None:
    clock = _clock(Priority.P2)
    _, first = domain.fire(clock, POLICY_V1, at(60))
    _, again = domain.fire(clock, POLICY_V1, at(61))  # a retried scan of the same stored clock
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert first[0].occurred_at == at(60) and first[0].correlation_id == "c"


def test_met_targets_raise_nothing() -> None:
    clock = _replay([created(channel=Channel.EMAIL), classified(priority=Priority.P2, when=at(1)),
                     acknowledged(when=at(5)), resolved(when=at(300))])
    assert clock.first_response_at == at(5) and clock.first_response_met and clock.resolution_met
    assert clock.next_check_at is None and domain.fire(clock, POLICY_V1, at(99_999))[1] == []


def test_an_unconfirmed_assignment_is_reported_once_per_assignment() -> None:
    clock = _replay([created(channel=Channel.EMAIL), assigned(agent="A1", when=at(5), priority=Priority.P3)])
    assert clock.next_check_at == at(15)
    clock, events = domain.fire(clock, POLICY_V1, at(15))
    [event] = events
    assert isinstance(event, AssignmentUnacknowledged) and event.payload.agent_id == "A1"
    assert event.payload.assigned_at == at(5) and event.payload.waited_seconds == 600
    assert domain.fire(clock, POLICY_V1, at(16))[1] == []
    clock = domain.apply_event(clock, assigned(agent="A2", when=at(20)), POLICY_V1)  # transferred: a new 10 minutes
    assert clock.next_check_at == at(30)
    clock = domain.apply_event(clock, acknowledged(agent="A2", when=at(25)), POLICY_V1)
    assert all(not k.startswith("unack") for k in (a.key for a in domain.pending_alarms(clock, POLICY_V1)))


def test_a_warning_percentage_policy() -> None:
    policy = domain.SlaPolicy.model_validate({**POLICY_V1.model_dump(), "warning": {"lead_minutes": None, "percent": 80}})
    clock = domain.apply_event(None, created(channel=Channel.EMAIL), policy)
    clock = domain.apply_event(clock, classified(priority=Priority.P2, when=at(1)), policy)
    assert clock.first_response_warning_at == at(96) and clock.resolution_warning_at == at(24 * 60 * 0.8)


# ----------------------------------------------------------------------------- overdue reasons, preview
def test_overdue_reasons_need_a_breach() -> None:
    clock = _clock(Priority.P2)
    kwargs = {"reason_id": "r1", "code": OverdueReasonCode.INCOMPLETE_INFORMATION, "note": "缺订单号",
              "staff_id": "S1", "now": at(200)}
    with pytest.raises(domain.NotBreached):
        domain.record_overdue_reason(clock, target=None, **kwargs)  # type: ignore[arg-type]
    clock, _ = domain.fire(clock, POLICY_V1, at(130))
    with pytest.raises(domain.NotBreached, match="resolution"):
        domain.record_overdue_reason(clock, target=SlaTarget.RESOLUTION, **kwargs)  # type: ignore[arg-type]
    clock, event = domain.record_overdue_reason(clock, target=SlaTarget.FIRST_RESPONSE, **kwargs)  # type: ignore[arg-type]
    assert isinstance(event, SlaOverdueReasonRecorded) and event.payload.label == "信息不全"
    assert event.payload.recorded_by == "S1" and event.payload.priority == Priority.P2
    assert [r.code for r in clock.overdue_reasons] == [OverdueReasonCode.INCOMPLETE_INFORMATION]
    assert set(domain.OVERDUE_LABELS) == set(OverdueReasonCode)


def test_preview_of_a_ticket_created_late_on_friday() -> None:
    p = domain.preview(domain.PreviewRequest(priority=Priority.P3, channel=Channel.EMAIL,
                                             start_at=local(2026, 11, 27, 17)), POLICY_V1, T0)
    assert p.first_response_due == local(2026, 11, 30, 16) and p.resolution_due == local(2026, 12, 2, 17)
    assert p.calendar_id == "cn-default" and p.rule.priority == Priority.P3
    chat = domain.preview(domain.PreviewRequest(priority=Priority.P1, channel=Channel.ONLINE_CHAT), POLICY_V1, T0)
    assert chat.start_at == T0 and chat.first_response_due == at(10) and chat.first_response_warning_at == at(5)


# ----------------------------------------------------------------------------- the next response (issue 18)
NR = SlaTarget.NEXT_RESPONSE


def answer(when: datetime) -> Event:
    """A later agent answer (``first_response`` False): it stops the next response just the same."""
    event = responded(when=when)
    return event.model_copy(update={"payload": event.payload.model_copy(update={"first_response": False})})


def _p2(*events: Event) -> Clock:
    """A P2 e-mail ticket (2 h next response, calendar time) answered first at minute 30, then ``events``."""
    return _replay([created(channel=Channel.EMAIL), classified(priority=Priority.P2, when=at(1), channel=Channel.EMAIL),
                    responded(when=at(30)), *events])


def _nr_keys(clock: Clock) -> set[str]:
    return {a.key for a in domain.pending_alarms(clock, POLICY_V1) if a.target == NR}


def test_policy_v1_next_response_targets_and_versions_stored_without_them() -> None:
    for channel in CHANNELS:
        assert POLICY_V1.rule_for(Priority.P1, channel).next_response == Target(minutes=30)
        assert POLICY_V1.rule_for(Priority.P2, channel).next_response == Target(minutes=120)
        assert POLICY_V1.rule_for(Priority.P3, channel).next_response == Target(minutes=8 * 60, business=True)
        assert POLICY_V1.rule_for(Priority.P4, channel).next_response == Target(minutes=24 * 60, business=True)
    assert POLICY_V1.next_response_minutes(Priority.P2) == 120
    old = _data()
    for rule in old["rules"]:
        del rule["next_response"]  # a version stored before the next response existed
    assert domain.SlaPolicy.model_validate(old) == POLICY_V1


def test_next_response_targets_are_editable_and_validated() -> None:
    data = _data()
    p1 = next(r for r in data["rules"] if r["priority"] == "P1" and r["channel"] is None)
    p1["next_response"] = {"minutes": 20, "business": False}
    edited = domain.SlaPolicy.model_validate(data)
    assert edited.rule_for(Priority.P1).next_response == Target(minutes=20)
    assert edited.rule_for(Priority.P1, Channel.PHONE).next_response == Target(minutes=30)  # its own cell
    for bad in ({"minutes": 0}, {"minutes": 525_601}, {"minutes": "soon"}):
        data = _data()
        data["rules"][0]["next_response"] = bad
        with pytest.raises(ValidationError, match="next_response"):
            domain.SlaPolicy.model_validate(data)
    data = _data()
    p1 = next(r for r in data["rules"] if r["priority"] == "P1" and r["channel"] is None)
    p1["next_response"] = {"minutes": 3 * 60, "business": False}  # looser than P2's 2 h
    with pytest.raises(ValidationError, match="next_response targets must not loosen"):
        domain.SlaPolicy.model_validate(data)


def test_a_customer_message_after_the_first_response_starts_the_next_response() -> None:
    before = _p2()
    assert before.next_response_status == NextResponseStatus.NONE and before.next_response_due is None
    clock = domain.apply_event(before, replied(when=at(60)), POLICY_V1)
    assert clock.next_response_status == NextResponseStatus.RUNNING and clock.next_response_since == at(60)
    assert clock.next_response_target == Target(minutes=120)
    assert clock.next_response_due == at(180) and clock.next_response_warning_at == at(120)
    assert clock.next_check_at == at(120) and _nr_keys(clock) == {
        f"next_response.warning@{at(60).isoformat()}", f"next_response.breached@{at(60).isoformat()}"}
    assert clock.customer_replies == 1 and clock.last_customer_reply_at == at(60)
    for field in ("first_response_due", "first_response_warning_at", "first_response_met", "resolution_due",
                  "resolution_warning_at", "status", "paused_seconds"):
        assert getattr(clock, field) == getattr(before, field), field  # the other targets do not move
    assert domain.view(clock, at(100)).next_response_remaining_seconds == 80 * 60


def test_business_hours_next_response_crosses_the_night() -> None:
    clock = _replay([created(when=local(2026, 11, 25, 9), channel=Channel.EMAIL), responded(when=local(2026, 11, 25, 10)),
                     replied(when=local(2026, 11, 25, 16))])  # P3: 8 business hours
    assert clock.next_response_due == local(2026, 11, 26, 15)
    assert clock.next_response_warning_at == local(2026, 11, 26, 14)


def test_a_message_before_the_first_response_is_covered_by_it() -> None:
    events = [created(channel=Channel.EMAIL), classified(priority=Priority.P2, when=at(1), channel=Channel.EMAIL),
              replied(when=at(10))]
    clock = _replay(events)
    assert clock.next_response_status == NextResponseStatus.NONE and _nr_keys(clock) == set()
    assert clock.first_response_due == at(120) and clock.next_check_at == at(60)  # the first response's warning
    clock = domain.apply_event(clock, responded(when=at(50)), POLICY_V1)  # this answer answers both
    assert clock.next_response_status == NextResponseStatus.NONE and clock.next_response_met is None
    # an acknowledgement met the first response: a message after it is owed an answer of its own
    acked = _replay([*events[:2], acknowledged(when=at(5)), replied(when=at(10))])
    assert acked.next_response_status == NextResponseStatus.RUNNING and acked.next_response_due == at(130)


def test_the_next_answer_stops_it_whatever_its_first_response_flag() -> None:
    clock = _p2(replied(when=at(60)), answer(at(90)))
    assert clock.next_response_status == NextResponseStatus.ANSWERED and clock.next_response_at == at(90)
    assert clock.next_response_met is True and _nr_keys(clock) == set()
    assert clock.next_check_at == clock.resolution_warning_at and clock.first_responded_at == at(30)
    late = _p2(replied(when=at(60)), answer(at(200)), answer(at(400)))
    assert late.next_response_met is False and late.next_response_at == at(200)  # the earliest answer counts
    assert late.answers == [at(200), at(400)]


def test_each_message_restarts_it_and_an_older_one_arriving_late_changes_nothing() -> None:
    clock = _p2(replied(when=at(60), count=1), replied(when=at(100), count=2))
    assert clock.next_response_since == at(100) and clock.next_response_due == at(220)
    late = domain.apply_event(clock, replied(when=at(80), count=1), POLICY_V1)
    derived = ("next_response_status", "next_response_since", "next_response_due", "next_response_warning_at",
               "next_check_at", "customer_replies", "first_response_due", "resolution_due")
    assert {f: getattr(late, f) for f in derived} == {f: getattr(clock, f) for f in derived}
    # an answer between the two messages answered the first only
    clock = _p2(replied(when=at(60)), answer(at(70)), replied(when=at(100)))
    assert clock.next_response_status == NextResponseStatus.RUNNING and clock.next_response_due == at(220)
    assert clock.answers == []  # older than the newest message: it can never answer it


def test_next_response_warns_and_breaches_once_per_message_on_the_escalation_path() -> None:
    clock = _p2(replied(when=at(60)))
    clock, events = domain.fire(clock, POLICY_V1, at(120))
    [warning] = events
    assert isinstance(warning, SlaWarning) and warning.payload.target == NR
    assert warning.payload.deadline == at(180) and warning.payload.remaining_seconds == 3600
    assert domain.fire(clock, POLICY_V1, at(150))[1] == []
    clock, events = domain.fire(clock, POLICY_V1, at(181))
    [breach] = events  # a first breach of a P2: no escalation yet
    assert isinstance(breach, SlaBreached) and breach.payload.target == NR and breach.payload.breach_count == 1
    assert breach.payload.overdue_seconds == 60 and clock.breach_count == 1
    assert domain.fire(clock, POLICY_V1, at(190))[1] == []
    first_ids = {str(warning.event_id), str(breach.event_id)}

    clock = domain.apply_event(clock, replied(when=at(200), count=2), POLICY_V1)  # still unanswered: again
    assert clock.next_response_due == at(320) and clock.next_check_at == at(260)
    clock, events = domain.fire(clock, POLICY_V1, at(321))  # scanner was late: the breach says it
    assert _keys(events) == ["sla.breached", "ticket.escalated"]
    breach, escalation = events
    assert breach.payload.target == NR and breach.payload.breach_count == 2  # type: ignore[attr-defined]
    assert isinstance(escalation, TicketEscalated) and escalation.payload.target == NR
    assert not first_ids & {str(e.event_id) for e in events}  # a new message, new alarm events
    assert domain.breached_targets(clock.alarms) == {NR}
    clock, reason = domain.record_overdue_reason(
        clock, reason_id="r1", code=OverdueReasonCode.INSUFFICIENT_RESOURCES, target=NR, note="", staff_id="S1",
        now=at(400))
    assert reason.payload.target == NR
    with pytest.raises(domain.NotBreached):
        domain.record_overdue_reason(clock, reason_id="r2", code=OverdueReasonCode.OTHER,
                                     target=SlaTarget.FIRST_RESPONSE, note="", staff_id="S1", now=at(400))


def test_a_breached_p1_next_response_escalates_at_once() -> None:
    clock = _replay([created(channel=Channel.PHONE), classified(priority=Priority.P1, when=at(1)),
                     responded(when=at(5)), replied(when=at(10))])
    assert clock.next_response_due == at(40)
    _, events = domain.fire(clock, POLICY_V1, at(40))
    assert _keys(events) == ["sla.breached", "ticket.escalated"] and events[0].payload.target == NR  # type: ignore[attr-defined]


def test_a_paused_ticket_resumes_whichever_of_reply_and_status_change_comes_first() -> None:
    """Intake answers a message on a pending_customer ticket with ticket.customer_replied (status after:
    in_progress) and ticket.status_changed at the same instant; either alone resumes the clocks."""
    start = [paused(when=at(60))]
    reply, resume = replied(when=at(120)), resumed(when=at(120))
    a, b, only = _p2(*start, reply, resume), _p2(*start, resume, reply), _p2(*start, reply)
    assert a == b and only.model_dump(exclude={"marks"}) == a.model_dump(exclude={"marks"})
    for clock in (a, only):
        assert clock.status == ClockStatus.RUNNING and clock.paused_seconds == 3600
        assert clock.resolution_due == at(24 * 60 + 60)
        assert clock.next_response_status == NextResponseStatus.RUNNING and clock.next_response_due == at(240)
    waiting = _p2(*start)
    assert waiting.status == ClockStatus.PAUSED
    stalled = domain.apply_event(waiting, replied(when=at(120), status=TicketStatus.PENDING_CUSTOMER), POLICY_V1)
    assert stalled.next_response_status == NextResponseStatus.PAUSED and _nr_keys(stalled) == set()


def test_pending_customer_pauses_a_running_next_response() -> None:
    clock = _p2(replied(when=at(60)), paused(when=at(90)))
    assert clock.next_response_status == NextResponseStatus.PAUSED and _nr_keys(clock) == set()
    assert domain.view(clock, at(100)).next_response_remaining_seconds is None
    clock = domain.apply_event(clock, resumed(when=at(150)), POLICY_V1)
    assert clock.next_response_status == NextResponseStatus.RUNNING and clock.next_response_due == at(180 + 60)


def test_resolved_and_closed_tickets_owe_no_next_response() -> None:
    clock = _p2(replied(when=at(60)), resolved(when=at(90)))
    assert clock.next_response_status == NextResponseStatus.STOPPED and clock.next_response_met is None
    assert _nr_keys(clock) == set() and clock.next_check_at is None
    clock = domain.apply_event(clock, reopened(when=at(120)), POLICY_V1)  # reopened by the survey
    assert clock.status == ClockStatus.RUNNING and clock.next_response_status == NextResponseStatus.STOPPED
    clock = domain.apply_event(clock, replied(when=at(130), count=2), POLICY_V1)  # the next message: a new clock
    assert clock.next_response_status == NextResponseStatus.RUNNING and clock.next_response_due == at(250)


def test_a_message_that_reopens_a_closed_ticket_counts_once_it_is_reopened() -> None:
    events = [closed(when=at(100)), replied(when=at(150), status=TicketStatus.REOPENED), reopened(when=at(150))]
    clock = _p2(*events)
    assert clock.status == ClockStatus.RUNNING and clock.next_response_status == NextResponseStatus.RUNNING
    assert clock.next_response_due == at(270)
    waiting = _p2(*events[:2])  # ticket.reopened still on its way
    assert waiting.next_response_status == NextResponseStatus.STOPPED and waiting.next_check_at is None
    assert _p2(events[2], events[0], events[1]) == clock


CONVERSATION: list[Event] = [
    created(channel=Channel.EMAIL),
    classified(priority=Priority.P2, when=at(1), channel=Channel.EMAIL),
    acknowledged(when=at(3)),
    responded(when=at(20)),
    replied(when=at(40), count=1),
    answer(at(70)),
    paused(when=at(80)),
    replied(when=at(100), count=2),
    resumed(when=at(100)),
    replied(when=at(130), count=3),
    answer(at(200)),
    resolved(when=at(300)),
    reopened(when=at(320)),
    replied(when=at(330), count=4),
]


def test_the_conversation_in_order() -> None:
    clock = _replay(CONVERSATION)
    assert clock.first_response_due == at(120) and clock.first_response_met is True
    assert clock.paused_seconds == 40 * 60 and clock.resolution_due == at(24 * 60 + 40)
    assert clock.customer_replies == 4 and clock.next_response_since == at(330)
    assert clock.next_response_status == NextResponseStatus.RUNNING and clock.next_response_due == at(450)
    assert clock.answers == []


@settings(max_examples=40, deadline=None)
@given(st.permutations(CONVERSATION))
def test_a_conversation_in_any_order_gives_the_same_clock(order: list[Event]) -> None:
    assert _replay(order) == _replay(CONVERSATION)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(range(len(CONVERSATION))), min_size=1, max_size=6), st.randoms())
def test_redelivered_replies_and_answers_change_nothing(extra: list[int], rnd: object) -> None:
    events = CONVERSATION + [CONVERSATION[i] for i in extra]
    rnd.shuffle(events)  # type: ignore[attr-defined]
    assert _replay(events) == _replay(CONVERSATION)


reply_starts = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2026, 12, 1), timezones=st.just(UTC))
minutes_after = st.integers(2, 14 * 24 * 60)
pause_spans = st.lists(st.tuples(st.integers(1, 20 * 24 * 60), st.integers(1, 3 * 24 * 60)), max_size=4)


def _conversation(start: datetime, priority: Priority, reply_after: int, pauses: list[tuple[int, int]]) -> Clock:
    t = lambda m: start + timedelta(minutes=m)  # noqa: E731
    events: list[Event] = [created(when=start, channel=Channel.EMAIL),
                           classified(priority=priority, when=start, channel=Channel.EMAIL), acknowledged(when=t(1))]
    for a, n in pauses:
        events += [paused(when=t(a)), resumed(when=t(a + n))]
    return _replay([*events, replied(when=t(reply_after))])


@settings(max_examples=40, deadline=None)
@given(reply_starts, st.sampled_from(PRIORITIES), minutes_after, pause_spans)
def test_the_next_response_due_is_never_before_the_message_and_pauses_never_shorten_it(
    start: datetime, priority: Priority, reply_after: int, pauses: list[tuple[int, int]]
) -> None:
    start = domain.instant(start)
    clock = _conversation(start, priority, reply_after, pauses)
    plain = _conversation(start, priority, reply_after, [])
    since = start + timedelta(minutes=reply_after)
    assert clock.next_response_since == plain.next_response_since == since
    assert plain.next_response_due is not None and clock.next_response_due is not None
    assert since < plain.next_response_warning_at <= plain.next_response_due  # type: ignore[operator]
    assert since < clock.next_response_due and clock.next_response_due >= plain.next_response_due
    target = POLICY_V1.rule_for(priority, Channel.EMAIL).next_response
    schedule = CN_SCHED if target.business else domain.ALWAYS
    stops = domain.fold_marks(clock.marks).stops
    assert domain.counted(since, clock.next_response_due, schedule, stops) == timedelta(minutes=target.minutes)


@settings(max_examples=40, deadline=None)
@given(reply_starts, st.sampled_from(PRIORITIES), st.lists(minutes_after, min_size=1, max_size=5), pause_spans)
def test_messages_never_move_the_first_response_or_resolution_deadline(
    start: datetime, priority: Priority, replies: list[int], pauses: list[tuple[int, int]]
) -> None:
    """A message only ever carries the status intake also announces with ticket.status_changed at the same
    instant (a pending_customer ticket is back in progress): with those status changes the resolution is
    exactly what they alone make it, and the first response never depends on messages at all."""
    start = domain.instant(start)
    t = lambda m: start + timedelta(minutes=m)  # noqa: E731
    base: list[Event] = [created(when=start, channel=Channel.EMAIL),
                         classified(priority=priority, when=start, channel=Channel.EMAIL)]
    base += [e for a, n in pauses for e in (paused(when=t(a)), resumed(when=t(a + n)))]
    intake_resumes = [resumed(when=t(m)) for m in replies]
    quiet = _replay(base)
    without = _replay([*base, *intake_resumes])
    with_replies = _replay([*base, *intake_resumes, *(replied(when=t(m), count=i + 1) for i, m in enumerate(replies))])
    for field in ("first_response_due", "first_response_warning_at", "first_response_target"):
        assert getattr(with_replies, field) == getattr(without, field) == getattr(quiet, field)
    for field in ("resolution_due", "resolution_warning_at", "resolution_target", "paused_seconds", "status"):
        assert getattr(with_replies, field) == getattr(without, field)
    if not pauses:
        assert (with_replies.resolution_due, with_replies.resolution_warning_at) == (
            quiet.resolution_due, quiet.resolution_warning_at)


def test_preview_shows_the_next_response_for_a_message_at_the_start() -> None:
    p = domain.preview(domain.PreviewRequest(priority=Priority.P3, channel=Channel.EMAIL,
                                             start_at=local(2026, 11, 27, 17)), POLICY_V1, T0)
    assert p.next_response_due == local(2026, 11, 30, 16) and p.rule.next_response.business
    chat = domain.preview(domain.PreviewRequest(priority=Priority.P1, channel=Channel.ONLINE_CHAT), POLICY_V1, T0)
    assert chat.next_response_due == at(30)
