from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import (
    Channel,
    Event,
    Priority,
    TicketStatus,
    TicketStatusChanged,
    TicketStatusChangedPayload,
)
from sla_monitor import domain
from sla_monitor.domain import POLICY_V1, Clock, ClockStatus

from .conftest import T0, acknowledged, assigned, at, classified, closed, created, reopened, resolved, responded

PRIORITIES = list(Priority)
CHANNELS = [None, *Channel]
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))


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
    assert p.version == 1 and p.default_priority == Priority.P3
    assert p.warning_lead_minutes == 60 and p.acknowledge_within_minutes == 10
    assert p.first_response_minutes(Priority.P1, Channel.PHONE) == 15
    assert p.first_response_minutes(Priority.P1, Channel.ONLINE_CHAT) == 10
    assert p.first_response_minutes(Priority.P1, Channel.EMAIL) == 15
    assert p.first_response_minutes(Priority.P1, None) == 15
    assert p.resolution_minutes(Priority.P1) == 4 * 60
    for priority, first, resolution in ((Priority.P2, 2, 24), (Priority.P3, 8, 72), (Priority.P4, 24, 168)):
        for channel in CHANNELS:
            assert p.first_response_minutes(priority, channel) == first * 60
        assert p.resolution_minutes(priority) == resolution * 60


def test_policy_needs_every_priority_once() -> None:
    data = POLICY_V1.model_dump()
    data["targets"] = data["targets"][:3]
    with pytest.raises(ValidationError, match="one target per priority"):
        domain.SlaPolicy.model_validate(data)
    data = POLICY_V1.model_dump()
    data["targets"] = [*data["targets"], data["targets"][0]]
    with pytest.raises(ValidationError, match="one target per priority"):
        domain.SlaPolicy.model_validate(data)


def test_policy_rejects_a_more_urgent_priority_with_a_looser_target() -> None:
    data = POLICY_V1.model_dump()
    data["targets"][0]["channel_first_response"].append({"channel": "email", "first_response_minutes": 600})
    with pytest.raises(ValidationError, match="first-response"):
        domain.SlaPolicy.model_validate(data)
    data = POLICY_V1.model_dump()
    data["targets"][1]["resolution_minutes"] = 100 * 60  # P2 looser than P3's 72 h
    with pytest.raises(ValidationError, match="resolution"):
        domain.SlaPolicy.model_validate(data)


def test_policy_round_trips_through_json() -> None:
    assert domain.SlaPolicy.model_validate_json(POLICY_V1.model_dump_json()) == POLICY_V1


# ----------------------------------------------------------------------------- due-time arithmetic
def test_due_at_needs_aware_times_and_positive_targets() -> None:
    assert domain.due_at(T0, 15) == datetime(2026, 11, 25, 1, 15, tzinfo=UTC)
    with pytest.raises(ValueError):
        domain.due_at(datetime(2026, 11, 25, 1, 0), 15)
    with pytest.raises(ValueError):
        domain.due_at(T0, 0)


@given(times, st.integers(1, 525_600))
def test_due_is_start_plus_target(start: datetime, minutes: int) -> None:
    due = domain.due_at(start, minutes)
    assert due > start
    assert due - start == timedelta(minutes=minutes)


@given(times, st.sampled_from(PRIORITIES), st.sampled_from(CHANNELS))
def test_dues_are_always_after_the_start(start: datetime, priority: Priority, channel: Channel | None) -> None:
    clock = _clock(priority, channel, domain.instant(start))
    assert clock.started_at < clock.first_response_due <= clock.resolution_due


@given(times, st.sampled_from(PRIORITIES), st.sampled_from(PRIORITIES), st.sampled_from(CHANNELS))
def test_more_urgent_priority_never_gets_a_later_due(
    start: datetime, a: Priority, b: Priority, channel: Channel | None
) -> None:
    urgent, relaxed = sorted((a, b), key=lambda p: p.rank)
    x, y = _clock(urgent, channel, domain.instant(start)), _clock(relaxed, channel, domain.instant(start))
    assert x.first_response_due <= y.first_response_due
    assert x.resolution_due <= y.resolution_due


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
    assert clock.first_response_due == clock.started_at + timedelta(
        minutes=POLICY_V1.first_response_minutes(path[-1], channel)
    )


def test_raising_priority_keeps_elapsed_time() -> None:
    """A P3 ticket raised to P1 (phone) after 20 minutes is already 5 minutes past its first response."""
    clock = domain.apply_event(None, created(channel=Channel.PHONE), POLICY_V1)
    clock = domain.apply_event(clock, classified(priority=Priority.P1, when=at(20)), POLICY_V1)
    assert clock.started_at == T0
    assert clock.first_response_due == at(15) and clock.first_response_due < at(20)
    assert clock.resolution_due == at(4 * 60)


def test_with_dues_refuses_another_policy_version() -> None:
    other = POLICY_V1.model_copy(update={"version": 2})
    with pytest.raises(ValueError, match="policy"):
        domain.with_dues(_clock(), other)


# ----------------------------------------------------------------------------- opening and appliers
def test_open_clock_runs_on_p3_from_creation() -> None:
    clock = domain.apply_event(None, created(channel=Channel.ONLINE_CHAT), POLICY_V1)
    assert (clock.ticket_id, clock.ticket_no, clock.correlation_id) == ("t001", "GD20261125001", "corr-t001")
    assert clock.priority == Priority.P3 and clock.priority_source == "default" and clock.policy_version == 1
    assert clock.started_at == T0 and not clock.provisional and clock.status == ClockStatus.RUNNING
    assert clock.first_response_due == at(8 * 60) and clock.resolution_due == at(72 * 60)


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
    assert clock.resolution_due == due  # v1: reopening does not move the dues


def test_a_late_older_lifecycle_event_does_not_change_the_status() -> None:
    clock = domain.apply_event(None, created(), POLICY_V1)
    clock = domain.apply_event(clock, closed(when=at(90)), POLICY_V1)
    clock = domain.apply_event(clock, resolved(when=at(60)), POLICY_V1)
    assert clock.status == ClockStatus.CLOSED and clock.resolved_at == at(60) and clock.status_at == at(90)


def test_events_without_a_ticket_id_or_of_other_types_are_invalid() -> None:
    blank = created(tid="   ")
    with pytest.raises(domain.InvalidEvent, match="no ticket id"):
        domain.apply_event(None, blank, POLICY_V1)
    other = TicketStatusChanged.new(
        TicketStatusChangedPayload(ticket_id="t001", ticket_no="GD20261125001", from_status=TicketStatus.NEW,
                                   to_status=TicketStatus.ASSIGNED, changed_by="system", changed_at=T0),
        correlation_id="c", producer="intake",
    )
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
    resolved(when=at(60)),
    reopened(when=at(90), count=1),
    resolved(when=at(150)),
    closed(when=at(200)),
]


def test_the_lifecycle_in_order() -> None:
    clock = _replay(LIFECYCLE)
    assert clock.priority == Priority.P1 and clock.channel == Channel.ONLINE_CHAT and not clock.provisional
    assert clock.started_at == T0 and clock.first_response_due == at(10) and clock.resolution_due == at(240)
    assert (clock.agent_id, clock.assigned_at, clock.acknowledged_at) == ("A2", at(7), at(8))
    assert clock.first_responded_at == at(9) and clock.resolved_at == at(150) and clock.closed_at == at(200)
    assert clock.status == ClockStatus.CLOSED and clock.reopen_count == 1


@given(st.permutations(LIFECYCLE))
def test_any_arrival_order_gives_the_same_clock(order: list[Event]) -> None:
    assert _replay(order) == _replay(LIFECYCLE)


@given(st.lists(st.sampled_from(range(len(LIFECYCLE))), min_size=1, max_size=6), st.randoms())
def test_redelivered_events_change_nothing(extra: list[int], rnd: object) -> None:
    """The service drops duplicates by event id; the appliers are idempotent as well."""
    events = LIFECYCLE + [LIFECYCLE[i] for i in extra]
    rnd.shuffle(events)  # type: ignore[attr-defined]
    assert _replay(events) == _replay(LIFECYCLE)
