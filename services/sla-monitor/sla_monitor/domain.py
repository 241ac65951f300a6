"""SLA monitor's pure decisions: the versioned SLA policy, due-time arithmetic and the clock of a
ticket kept from the lifecycle events. No I/O here.

Seed 004 (响应时间标准): P1 funds safety / core outage — first response 15 min by phone, 10 min in
online chat; P2 2 h response / 24 h resolution; P3 8 h / 3 days; P4 is the low-frequency suggestion
tier. Seed 000: warn 1 h before a deadline; an assignment not confirmed in 10 min goes to the
supervisor. Before classification a ticket runs on the routine tier P3.

Events can arrive twice or out of order, so every applier is written to give the same clock whatever
the order: the newest fact wins by the time the event carries (never the arrival time), earliest-wins
for "first" times (start, first response).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts import (
    Channel,
    Event,
    Priority,
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
    TicketReopened,
    TicketReopenedPayload,
    TicketResolved,
    TicketResolvedPayload,
    TicketResponded,
    TicketRespondedPayload,
    UtcDatetime,
)

PRODUCER = "sla-monitor"


class InvalidEvent(ValueError):
    """An event this service can never apply (mapped to a dead letter by the handlers)."""


# ----------------------------------------------------------------------------- the policy
class ChannelTarget(BaseModel):
    """A channel-specific first-response target overriding the priority's default."""

    model_config = ConfigDict(frozen=True)

    channel: Channel
    first_response_minutes: int = Field(gt=0, le=525_600)


class PriorityTarget(BaseModel):
    """First-response and resolution targets of one priority."""

    model_config = ConfigDict(frozen=True)

    priority: Priority
    first_response_minutes: int = Field(gt=0, le=525_600, description="Default for channels not listed below.")
    resolution_minutes: int = Field(gt=0, le=525_600)
    channel_first_response: list[ChannelTarget] = Field(default_factory=list)

    def first_response_for(self, channel: Channel | None) -> int:
        """The channel's own target when the policy names one, else the priority default (also used
        while the channel is still unknown)."""
        return next(
            (t.first_response_minutes for t in self.channel_first_response if t.channel == channel),
            self.first_response_minutes,
        )


class SlaPolicy(BaseModel):
    """A versioned SLA policy. Versions are immutable: a clock keeps the version it started under."""

    model_config = ConfigDict(frozen=True)

    version: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    default_priority: Priority = Field(default=Priority.P3, description="What a ticket runs on before classification.")
    warning_lead_minutes: int = Field(gt=0, le=10_080, description="Warn this long before a deadline (scanner).")
    acknowledge_within_minutes: int = Field(gt=0, le=1440, description="Unconfirmed assignment → supervisor.")
    targets: list[PriorityTarget]

    @model_validator(mode="after")
    def _complete_and_ordered(self) -> SlaPolicy:
        """One target per priority, and a more urgent priority never has a looser target."""
        if sorted(t.priority.rank for t in self.targets) != [p.rank for p in Priority]:
            raise ValueError("a policy needs exactly one target per priority P1…P4")
        ordered = sorted(Priority, key=lambda p: p.rank)
        for channel in [None, *Channel]:
            first = [self.first_response_minutes(p, channel) for p in ordered]
            if first != sorted(first):
                raise ValueError(f"first-response targets must not loosen with urgency (channel {channel})")
        resolution = [self.resolution_minutes(p) for p in ordered]
        if resolution != sorted(resolution):
            raise ValueError("resolution targets must not loosen with urgency")
        return self

    def target(self, priority: Priority) -> PriorityTarget:
        return next(t for t in self.targets if t.priority == priority)

    def first_response_minutes(self, priority: Priority, channel: Channel | None) -> int:
        return self.target(priority).first_response_for(channel)

    def resolution_minutes(self, priority: Priority) -> int:
        return self.target(priority).resolution_minutes


POLICY_V1 = SlaPolicy(
    version=1,
    name="标准响应时间 v1",
    description="Seed 004 response-time standard; warning lead and acknowledgement limit from seed 000.",
    default_priority=Priority.P3,
    warning_lead_minutes=60,
    acknowledge_within_minutes=10,
    targets=[
        PriorityTarget(
            priority=Priority.P1,
            first_response_minutes=15,
            resolution_minutes=4 * 60,
            channel_first_response=[
                ChannelTarget(channel=Channel.PHONE, first_response_minutes=15),
                ChannelTarget(channel=Channel.ONLINE_CHAT, first_response_minutes=10),
            ],
        ),
        PriorityTarget(priority=Priority.P2, first_response_minutes=2 * 60, resolution_minutes=24 * 60),
        PriorityTarget(priority=Priority.P3, first_response_minutes=8 * 60, resolution_minutes=72 * 60),
        PriorityTarget(priority=Priority.P4, first_response_minutes=24 * 60, resolution_minutes=168 * 60),
    ],
)


# ----------------------------------------------------------------------------- time
def instant(at: datetime) -> datetime:
    """A UTC time at MongoDB's millisecond precision, so a clock recomputed from stored values equals
    the one computed from the events."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def due_at(start: datetime, minutes: int) -> datetime:
    """The one place a due time is computed: ``minutes`` of SLA time after ``start``.

    v1 counts wall-clock time (24×7). Business hours, holidays and pauses will come in here as a
    calendar argument; every due time of the service goes through this function."""
    if start.tzinfo is None:
        raise ValueError("SLA times are timezone-aware UTC")
    if minutes <= 0:
        raise ValueError("an SLA target is a positive number of minutes")
    return start + timedelta(minutes=minutes)


# ----------------------------------------------------------------------------- the clock
class ClockStatus(StrEnum):
    RUNNING = "running"
    RESOLVED = "resolved"
    CLOSED = "closed"


PrioritySource = Literal["default", "assignment", "classification"]


class Clock(BaseModel):
    """The SLA clock of one ticket. Dues are always derived from (started_at, priority, channel,
    policy_version) by :func:`with_dues`; the other times record what happened and when."""

    ticket_id: str
    ticket_no: str
    correlation_id: str
    channel: Channel | None = Field(default=None, description="Unknown until ticket.created/classified.")
    priority: Priority = Priority.P3
    priority_source: PrioritySource = "default"
    priority_at: UtcDatetime | None = Field(default=None, description="Time of the event the priority came from.")
    policy_version: int
    started_at: UtcDatetime
    provisional: bool = Field(
        default=False, description="True until ticket.created is seen; started_at is then the earliest time known."
    )
    first_response_due: UtcDatetime
    resolution_due: UtcDatetime
    agent_id: str | None = None
    assigned_at: UtcDatetime | None = None
    acknowledged_at: UtcDatetime | None = None
    acknowledged_by: str | None = None
    first_responded_at: UtcDatetime | None = None
    resolved_at: UtcDatetime | None = None
    closed_at: UtcDatetime | None = None
    reopened_at: UtcDatetime | None = None
    status: ClockStatus = ClockStatus.RUNNING
    status_at: UtcDatetime | None = Field(default=None, description="Time of the event that set the status.")
    reopen_count: int = Field(default=0, ge=0)


def with_dues(clock: Clock, policy: SlaPolicy) -> Clock:
    """Recompute both due times from the start: time already elapsed keeps counting."""
    if clock.policy_version != policy.version:
        raise ValueError(f"clock runs on policy v{clock.policy_version}, not v{policy.version}")
    return clock.model_copy(
        update={
            "first_response_due": due_at(clock.started_at, policy.first_response_minutes(clock.priority, clock.channel)),
            "resolution_due": due_at(clock.started_at, policy.resolution_minutes(clock.priority)),
        }
    )


def _new_clock(
    *, ticket_id: str, ticket_no: str, correlation_id: str, started_at: datetime, channel: Channel | None,
    provisional: bool, policy: SlaPolicy,
) -> Clock:
    start = instant(started_at)
    clock = Clock(
        ticket_id=ticket_id, ticket_no=ticket_no, correlation_id=correlation_id, channel=channel,
        priority=policy.default_priority, policy_version=policy.version, started_at=start, provisional=provisional,
        first_response_due=start, resolution_due=start,
    )
    return with_dues(clock, policy)


def open_clock(p: TicketCreatedPayload, *, correlation_id: str, policy: SlaPolicy) -> Clock:
    """A ticket's clock starts when the ticket was created, on the policy's default priority (P3)."""
    return _new_clock(
        ticket_id=p.ticket_id, ticket_no=p.ticket_no, correlation_id=correlation_id, started_at=p.created_at,
        channel=p.channel, provisional=False, policy=policy,
    )


def provisional_clock(
    ticket_id: str, ticket_no: str, *, correlation_id: str, at: datetime, policy: SlaPolicy
) -> Clock:
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


def reprioritise(clock: Clock, priority: Priority, policy: SlaPolicy) -> Clock:
    """A new priority recomputes both dues from the original start (elapsed time is kept, the clock
    is not restarted): a P3 ticket raised to P1 after 20 minutes is already 5 minutes late."""
    return with_dues(clock.model_copy(update={"priority": priority}), policy)


_SOURCE_RANK: dict[PrioritySource, int] = {"default": 0, "assignment": 1, "classification": 2}


def _priority_wins(clock: Clock, source: PrioritySource, at: datetime) -> bool:
    """Classification is authoritative; the priority an assignment carries only counts until a
    classification is known. Within one source the newest event wins."""
    if _SOURCE_RANK[source] != _SOURCE_RANK[clock.priority_source]:
        return _SOURCE_RANK[source] > _SOURCE_RANK[clock.priority_source]
    return clock.priority_at is None or at >= clock.priority_at


def _take_priority(
    clock: Clock, priority: Priority, source: PrioritySource, at: datetime, policy: SlaPolicy
) -> Clock:
    if not _priority_wins(clock, source, at):
        return clock
    return reprioritise(clock.model_copy(update={"priority_source": source, "priority_at": at}), priority, policy)


# ----------------------------------------------------------------------------- appliers
def apply_created(clock: Clock, p: TicketCreatedPayload, policy: SlaPolicy) -> Clock:
    """``ticket.created`` after other events: it fixes channel, number and start (the earliest time
    known, normally the creation time)."""
    at = instant(p.created_at)
    updated = clock.model_copy(
        update={
            "ticket_no": p.ticket_no, "channel": p.channel, "provisional": False,
            "started_at": min(clock.started_at, at) if clock.provisional else clock.started_at,
        }
    )
    return with_dues(updated, policy)


def apply_classified(clock: Clock, p: TicketClassifiedPayload, policy: SlaPolicy) -> Clock:
    """The classification sets the priority (newest classification wins: manual corrections come later)."""
    at = instant(p.classified_at)
    clock = _seen(clock, at)
    if clock.channel is None:
        clock = clock.model_copy(update={"channel": p.channel})
    return with_dues(_take_priority(clock, p.priority, "classification", at, policy), policy)


def apply_assigned(clock: Clock, p: TicketAssignedPayload, policy: SlaPolicy) -> Clock:
    """The newest assignment names the agent; an acknowledgement older than it belonged to an
    earlier assignment and no longer counts (the 10-minute confirmation starts again)."""
    at = instant(p.assigned_at)
    clock = _take_priority(_seen(clock, at), p.priority, "assignment", at, policy)
    if clock.assigned_at is None or at >= clock.assigned_at:
        update: dict[str, Any] = {"agent_id": p.agent_id, "assigned_at": at}
        if clock.acknowledged_at is not None and clock.acknowledged_at < at:
            update.update(acknowledged_at=None, acknowledged_by=None)
        clock = clock.model_copy(update=update)
    return with_dues(clock, policy)


def apply_acknowledged(clock: Clock, p: TicketAcknowledgedPayload, policy: SlaPolicy) -> Clock:
    """确认接单: the newest acknowledgement not older than the current assignment is kept (one made
    before it answered an earlier assignment)."""
    at = instant(p.acknowledged_at)
    clock = _seen(clock, at)
    current = clock.assigned_at is None or at >= clock.assigned_at
    newer = clock.acknowledged_at is None or at > clock.acknowledged_at
    if current and newer:
        clock = clock.model_copy(update={"acknowledged_at": at, "acknowledged_by": p.agent_id})
    return with_dues(clock, policy)


def apply_responded(clock: Clock, p: TicketRespondedPayload, policy: SlaPolicy) -> Clock:
    """The first response is the earliest answer to the customer; it stops the first-response target."""
    at = instant(p.responded_at)
    clock = _seen(clock, at)
    if clock.first_responded_at is None or at < clock.first_responded_at:
        clock = clock.model_copy(update={"first_responded_at": at})
    return with_dues(clock, policy)


def _status(clock: Clock, status: ClockStatus, at: datetime) -> dict[str, Any]:
    """The status follows the newest lifecycle event (resolved / closed / reopened)."""
    if clock.status_at is None or at >= clock.status_at:
        return {"status": status, "status_at": at}
    return {}


def _undone(clock: Clock, at: datetime) -> bool:
    """A resolution or closure older than the latest reopening no longer counts."""
    return clock.reopened_at is not None and at < clock.reopened_at


def apply_resolved(clock: Clock, p: TicketResolvedPayload, policy: SlaPolicy) -> Clock:
    """The resolution time stops the resolution target (the latest one since the last reopening)."""
    at = instant(p.resolved_at)
    clock = _seen(clock, at)
    if not _undone(clock, at):
        latest = at if clock.resolved_at is None else max(clock.resolved_at, at)
        clock = clock.model_copy(update={"resolved_at": latest, **_status(clock, ClockStatus.RESOLVED, at)})
    return with_dues(clock, policy)


def apply_closed(clock: Clock, p: TicketClosedPayload, policy: SlaPolicy) -> Clock:
    """A closed ticket is finished; its clock stops."""
    at = instant(p.closed_at)
    clock = _seen(clock, at)
    if not _undone(clock, at):
        latest = at if clock.closed_at is None else max(clock.closed_at, at)
        clock = clock.model_copy(update={"closed_at": latest, **_status(clock, ClockStatus.CLOSED, at)})
    return with_dues(clock, policy)


def apply_reopened(clock: Clock, p: TicketReopenedPayload, policy: SlaPolicy) -> Clock:
    """A reopened ticket runs again: a resolution or closure before the reopening is undone. v1 keeps
    the original due times (pausing and renewed targets come with the business calendar)."""
    at = instant(p.reopened_at)
    clock = _seen(clock, at)
    reopened = at if clock.reopened_at is None else max(clock.reopened_at, at)
    update: dict[str, Any] = {"reopened_at": reopened, "reopen_count": max(clock.reopen_count, p.reopen_count)}
    if clock.resolved_at is not None and clock.resolved_at < reopened:
        update["resolved_at"] = None
    if clock.closed_at is not None and clock.closed_at < reopened:
        update["closed_at"] = None
    update.update(_status(clock, ClockStatus.RUNNING, at))
    return with_dues(clock.model_copy(update=update), policy)


Applier = Callable[[Clock, Any, SlaPolicy], Clock]

APPLIERS: dict[str, tuple[Applier, str]] = {
    TicketCreated.type_name(): (apply_created, "created_at"),
    TicketClassified.type_name(): (apply_classified, "classified_at"),
    TicketAssigned.type_name(): (apply_assigned, "assigned_at"),
    TicketAcknowledged.type_name(): (apply_acknowledged, "acknowledged_at"),
    TicketResponded.type_name(): (apply_responded, "responded_at"),
    TicketResolved.type_name(): (apply_resolved, "resolved_at"),
    TicketClosed.type_name(): (apply_closed, "closed_at"),
    TicketReopened.type_name(): (apply_reopened, "reopened_at"),
}
"""Event type → (applier, the payload field holding the time the fact happened)."""


def fact_time(event: Event) -> datetime:
    """When the fact happened according to the event (never the arrival time)."""
    _, field = APPLIERS[event.event_type]
    return instant(getattr(event.payload, field))


def apply_event(clock: Clock | None, event: Event, policy: SlaPolicy) -> Clock:
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
            return open_clock(event.payload, correlation_id=event.correlation_id, policy=policy)
        clock = provisional_clock(
            ticket_id, p.ticket_no, correlation_id=event.correlation_id, at=fact_time(event), policy=policy
        )
    return applier(clock, p, policy)
