"""v1 events of crisis mode (issue 19, seed 001 "应急预案"), owned by the dispatcher: a supervisor turns a
spike (or what they see) into an incident; matching new tickets are routed to the incident team and tagged.
New event types only; every class defined here registers itself with the event registry on import.

* ``incident.opened``       — an incident exists: its match, team, approved reply text and SLA override;
* ``incident.updated``      — a supervisor changed the team, reply text, match or SLA override (new version);
* ``incident.closed``       — normal routing again for new tickets (linked tickets keep their tag and SLA);
* ``ticket.incident_linked`` — a ticket belongs to an incident; the SLA monitor re-targets its clock with the
  override, reporting counts it on the incident's panel, intake shows the tag."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .enums import Category, Channel, Module
from .envelope import Contract, Event, UtcDatetime
from .events import StaffId, TicketRef

__all__ = [
    "IncidentClosed", "IncidentClosedPayload", "IncidentMatch", "IncidentOpened", "IncidentOpenedPayload",
    "IncidentSlaOverride", "IncidentSpikeRef", "IncidentUpdated", "IncidentUpdatedPayload", "TicketIncidentLinked",
    "TicketIncidentLinkedPayload",
]

IncidentId = str
"""``INC-`` + business day yyyymmdd + 4 hex digits, or from a spike 6 hex digits of the spike + a sequence (stable)."""


class IncidentSlaOverride(Contract):
    """The incident's own deadlines (calendar minutes, around the clock); None keeps the policy's target."""

    first_response_minutes: int | None = Field(default=None, ge=1, le=525_600)
    resolution_minutes: int | None = Field(default=None, ge=1, le=525_600)


class IncidentMatch(Contract):
    """Which new tickets belong to the incident: every non-empty list must match (any value of it)."""

    categories: list[Category] = Field(default_factory=list, max_length=5)
    modules: list[Module] = Field(default_factory=list, max_length=4)
    keywords: list[str] = Field(default_factory=list, max_length=20,
                                description="Matched against the classification's tags and matched terms.")
    channels: list[Channel] = Field(default_factory=list, max_length=10)


class IncidentSpikeRef(Contract):
    """The reporting spike the incident was opened from (``id`` = day|dimension|value)."""

    id: str = Field(min_length=1, max_length=200)
    day: str = Field(max_length=10)
    dimension: str = Field(max_length=16)
    value: str = Field(max_length=100)
    count: int | None = Field(default=None, ge=0)


class _IncidentState(Contract):
    incident_id: IncidentId = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=120)
    version: int = Field(ge=1)
    match: IncidentMatch
    team: list[StaffId] = Field(default_factory=list, max_length=100)
    reply_text: str = Field(default="", max_length=4000, description="The approved reply (统一回应口径).")
    sla: IncidentSlaOverride = Field(default_factory=IncidentSlaOverride)


class IncidentOpenedPayload(_IncidentState):
    spike: IncidentSpikeRef | None = None
    opened_by: StaffId
    opened_at: UtcDatetime


class IncidentOpened(Event):
    """A supervisor opened an incident (crisis mode): matching new tickets go to its team."""

    event_type: Literal["incident.opened"] = "incident.opened"
    schema_version: Literal[1] = 1
    payload: IncidentOpenedPayload


class IncidentUpdatedPayload(_IncidentState):
    changed: list[str] = Field(default_factory=list, description="Which of team, reply_text, match, sla, title.")
    updated_by: StaffId
    updated_at: UtcDatetime


class IncidentUpdated(Event):
    """The incident's team, approved reply, match or SLA override changed (a new version)."""

    event_type: Literal["incident.updated"] = "incident.updated"
    schema_version: Literal[1] = 1
    payload: IncidentUpdatedPayload


class IncidentClosedPayload(Contract):
    incident_id: IncidentId = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=120)
    version: int = Field(ge=1)
    note: str = Field(default="", max_length=1000)
    closed_by: StaffId
    closed_at: UtcDatetime


class IncidentClosed(Event):
    """The incident is over: new tickets are routed normally again."""

    event_type: Literal["incident.closed"] = "incident.closed"
    schema_version: Literal[1] = 1
    payload: IncidentClosedPayload


class TicketIncidentLinkedPayload(TicketRef):
    incident_id: IncidentId = Field(min_length=1, max_length=32)
    incident_title: str = Field(min_length=1, max_length=120)
    sla: IncidentSlaOverride = Field(default_factory=IncidentSlaOverride)
    linked_at: UtcDatetime


class TicketIncidentLinked(Event):
    """A ticket belongs to an incident (tagged once, when its classification matched an open incident)."""

    event_type: Literal["ticket.incident_linked"] = "ticket.incident_linked"
    schema_version: Literal[1] = 1
    payload: TicketIncidentLinkedPayload
