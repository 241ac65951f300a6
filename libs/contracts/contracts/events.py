"""Version 1 of every domain event of the ticket lifecycle.

Personal data never travels in events: customers appear as an id and a masked display name
(``客户A-2024`` style); free text is redacted of phone numbers, e-mail addresses and ID numbers by
the producer before it is published.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .enums import (
    Category,
    Channel,
    CustomerTier,
    Module,
    Priority,
    SlaTarget,
    SurveyAttitude,
    SurveyResolution,
    SurveySpeed,
    TicketStatus,
)
from .envelope import Contract, Event, UtcDatetime

TicketId = str
StaffId = str


class TicketRef(Contract):
    ticket_id: TicketId = Field(min_length=1, max_length=64, description="Intake's ticket id (stable, opaque).")
    ticket_no: str = Field(min_length=1, max_length=32, description="Human ticket number, `GD` + yyyymmdd + sequence.")


# ---------------------------------------------------------------- ticket.created
class TicketCreatedPayload(TicketRef):
    channel: Channel
    channel_message_id: str = Field(description="The channel system's own id of the submission.")
    customer_id: str = Field(description="Intake's customer id.")
    customer_display: str = Field(description="Masked display name, never the real name.")
    customer_tier: CustomerTier = CustomerTier.NORMAL
    subject: str = Field(default="", description="Subject line, redacted of personal data.")
    description: str = Field(description="Customer's text, redacted of personal data.")
    has_order_number: bool = False
    status: TicketStatus = TicketStatus.NEW
    missing_fields: list[str] = Field(default_factory=list, description="What the completeness check found missing.")
    tags: list[str] = Field(default_factory=list)
    created_at: UtcDatetime


class TicketCreated(Event):
    """A new ticket was stored by intake."""

    event_type: Literal["ticket.created"] = "ticket.created"
    schema_version: Literal[1] = 1
    payload: TicketCreatedPayload


# ---------------------------------------------------------------- ticket.classified
class ClassificationExplanation(Contract):
    method: Literal["rule", "model", "manual", "default"] = Field(description="What decided the result.")
    rule_id: str | None = None
    matched_terms: list[str] = Field(default_factory=list)
    detail: str = ""


class TicketClassifiedPayload(TicketRef):
    category: Category
    module: Module
    priority: Priority
    confidence: float = Field(ge=0.0, le=1.0)
    needs_review: bool = False
    tags: list[str] = Field(default_factory=list)
    classifier_version: str
    explanation: ClassificationExplanation
    channel: Channel
    customer_tier: CustomerTier = CustomerTier.NORMAL
    classified_at: UtcDatetime


class TicketClassified(Event):
    """Classifier decided category, module and priority (again after a manual correction)."""

    event_type: Literal["ticket.classified"] = "ticket.classified"
    schema_version: Literal[1] = 1
    payload: TicketClassifiedPayload


# ---------------------------------------------------------------- ticket.assigned
class TicketAssignedPayload(TicketRef):
    agent_id: StaffId
    agent_name: str
    team: str
    priority: Priority
    previous_agent_id: StaffId | None = None
    reason: str = Field(default="", description="Why this agent: the routing explanation.")
    assigned_at: UtcDatetime


class TicketAssigned(Event):
    """Dispatcher put the ticket in an agent's queue (awaiting confirmation of receipt)."""

    event_type: Literal["ticket.assigned"] = "ticket.assigned"
    schema_version: Literal[1] = 1
    payload: TicketAssignedPayload


# ---------------------------------------------------------------- ticket.acknowledged
class TicketAcknowledgedPayload(TicketRef):
    agent_id: StaffId
    acknowledged_at: UtcDatetime


class TicketAcknowledged(Event):
    """The agent confirmed receipt (确认接单)."""

    event_type: Literal["ticket.acknowledged"] = "ticket.acknowledged"
    schema_version: Literal[1] = 1
    payload: TicketAcknowledgedPayload


# ---------------------------------------------------------------- ticket.responded
class TicketRespondedPayload(TicketRef):
    agent_id: StaffId
    responded_at: UtcDatetime
    first_response: bool = True


class TicketResponded(Event):
    """An agent answered the customer (stops the first-response clock)."""

    event_type: Literal["ticket.responded"] = "ticket.responded"
    schema_version: Literal[1] = 1
    payload: TicketRespondedPayload


# ---------------------------------------------------------------- ticket.status_changed
class TicketStatusChangedPayload(TicketRef):
    from_status: TicketStatus
    to_status: TicketStatus
    changed_by: str = Field(description="Staff id, or `system`/`customer`.")
    reason: str = ""
    missing_fields: list[str] = Field(default_factory=list)
    changed_at: UtcDatetime


class TicketStatusChanged(Event):
    """The ticket moved between lifecycle states."""

    event_type: Literal["ticket.status_changed"] = "ticket.status_changed"
    schema_version: Literal[1] = 1
    payload: TicketStatusChangedPayload


# ---------------------------------------------------------------- ticket.resolved
class TicketResolvedPayload(TicketRef):
    agent_id: StaffId | None = None
    channel: Channel
    customer_id: str
    customer_display: str
    resolution_summary: str = ""
    resolved_at: UtcDatetime


class TicketResolved(Event):
    """The agent recorded a result; the survey goes out."""

    event_type: Literal["ticket.resolved"] = "ticket.resolved"
    schema_version: Literal[1] = 1
    payload: TicketResolvedPayload


# ---------------------------------------------------------------- ticket.closed
class TicketClosedPayload(TicketRef):
    closed_by: str
    reason: str = ""
    closed_at: UtcDatetime


class TicketClosed(Event):
    """The ticket is finished for good."""

    event_type: Literal["ticket.closed"] = "ticket.closed"
    schema_version: Literal[1] = 1
    payload: TicketClosedPayload


# ---------------------------------------------------------------- ticket.reopened
class TicketReopenedPayload(TicketRef):
    reason: str
    source: Literal["survey", "customer", "staff"]
    reopen_count: int = Field(ge=1)
    agent_id: StaffId | None = None
    reopened_at: UtcDatetime


class TicketReopened(Event):
    """A resolved ticket went back to work (bad survey answer, customer, staff)."""

    event_type: Literal["ticket.reopened"] = "ticket.reopened"
    schema_version: Literal[1] = 1
    payload: TicketReopenedPayload


# ---------------------------------------------------------------- ticket.transferred
class TicketTransferredPayload(TicketRef):
    from_agent_id: StaffId | None
    to_agent_id: StaffId | None = None
    to_team: str | None = None
    reason: str
    transferred_by: StaffId
    transferred_at: UtcDatetime


class TicketTransferred(Event):
    """The ticket was handed to another agent or team."""

    event_type: Literal["ticket.transferred"] = "ticket.transferred"
    schema_version: Literal[1] = 1
    payload: TicketTransferredPayload


# ---------------------------------------------------------------- ticket.escalated
class TicketEscalatedPayload(TicketRef):
    level: int = Field(ge=1, description="1 = team supervisor, 2 = the supervisor's manager …")
    reason: str
    target: SlaTarget | None = None
    notify_staff_ids: list[StaffId] = Field(default_factory=list)
    escalated_at: UtcDatetime


class TicketEscalated(Event):
    """The ticket was raised to the supervisor chain."""

    event_type: Literal["ticket.escalated"] = "ticket.escalated"
    schema_version: Literal[1] = 1
    payload: TicketEscalatedPayload


# ---------------------------------------------------------------- sla.*
class SlaDeadlinePayload(TicketRef):
    target: SlaTarget
    deadline: UtcDatetime
    priority: Priority
    policy_version: int
    agent_id: StaffId | None = None


class SlaWarningPayload(SlaDeadlinePayload):
    remaining_seconds: int = Field(ge=0)


class SlaWarning(Event):
    """A deadline is near (lead time reached)."""

    event_type: Literal["sla.warning"] = "sla.warning"
    schema_version: Literal[1] = 1
    payload: SlaWarningPayload


class SlaBreachedPayload(SlaDeadlinePayload):
    overdue_seconds: int = Field(ge=0)
    breach_count: int = Field(default=1, ge=1)


class SlaBreached(Event):
    """A deadline passed without the target being met."""

    event_type: Literal["sla.breached"] = "sla.breached"
    schema_version: Literal[1] = 1
    payload: SlaBreachedPayload


class AssignmentUnacknowledgedPayload(TicketRef):
    agent_id: StaffId
    assigned_at: UtcDatetime
    waited_seconds: int = Field(ge=0)


class AssignmentUnacknowledged(Event):
    """The assignee did not confirm receipt in time; the supervisor is told."""

    event_type: Literal["assignment.unacknowledged"] = "assignment.unacknowledged"
    schema_version: Literal[1] = 1
    payload: AssignmentUnacknowledgedPayload


# ---------------------------------------------------------------- survey.completed
class SurveyCompletedPayload(TicketRef):
    survey_id: str
    agent_id: StaffId | None = None
    speed: SurveySpeed
    resolution: SurveyResolution
    attitude: SurveyAttitude
    comment: str = Field(default="", max_length=2000)
    csat: float = Field(ge=1.0, le=5.0)
    satisfied: bool
    completed_at: UtcDatetime


class SurveyCompleted(Event):
    """The customer answered the satisfaction survey."""

    event_type: Literal["survey.completed"] = "survey.completed"
    schema_version: Literal[1] = 1
    payload: SurveyCompletedPayload


# ---------------------------------------------------------------- report.spike_detected
class ReportSpikeDetectedPayload(Contract):
    day: str = Field(description="Business day, yyyy-mm-dd in the business time zone.")
    dimension: Literal["category", "keyword", "module"]
    value: str
    count: int = Field(ge=0)
    baseline: float = Field(ge=0.0)
    ratio: float = Field(ge=0.0)
    detected_at: UtcDatetime


class ReportSpikeDetected(Event):
    """Today's volume of a category/keyword is far above its trailing baseline (crisis mode)."""

    event_type: Literal["report.spike_detected"] = "report.spike_detected"
    schema_version: Literal[1] = 1
    payload: ReportSpikeDetectedPayload


TICKET_EVENTS: tuple[type[Event], ...] = (
    TicketCreated,
    TicketClassified,
    TicketAssigned,
    TicketAcknowledged,
    TicketResponded,
    TicketStatusChanged,
    TicketResolved,
    TicketClosed,
    TicketReopened,
    TicketTransferred,
    TicketEscalated,
)
ALL_EVENTS: tuple[type[Event], ...] = (
    *TICKET_EVENTS,
    SlaWarning,
    SlaBreached,
    AssignmentUnacknowledged,
    SurveyCompleted,
    ReportSpikeDetected,
)
