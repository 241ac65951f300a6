"""Intake's broker side. Event → handler table:

| queue                          | message             | handler           |
|--------------------------------|---------------------|-------------------|
| intake.submissions             | TicketSubmission    | on_submission     |
| intake.messages                | CustomerMessage     | on_message        |
| intake.ticket.classified       | ticket.classified   | on_classified     |
| intake.ticket.assigned         | ticket.assigned     | on_assigned       |
| intake.ticket.acknowledged     | ticket.acknowledged | on_acknowledged   |
| intake.ticket.transferred      | ticket.transferred  | on_transferred    |
| intake.survey.completed        | survey.completed    | on_survey         |
| intake.ticket.incident_linked  | ticket.incident_linked | on_incident_linked |

Publishes (through the outbox, atomically with the state change): ticket.created,
ticket.status_changed, ticket.responded, ticket.resolved, ticket.closed, ticket.reopened,
ticket.customer_replied, ticket.evidence_added, ticket.evidence_removed (evidence files: service.EvidenceService).
Each handler returns only after its write; FastStream then acks. Duplicates (same event_id) are
no-ops; events older than what the ticket holds (occurred_at) do not overwrite it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from contracts import (
    CustomerMessage,
    SurveyCompleted,
    TicketAcknowledged,
    TicketAssigned,
    TicketClassified,
    TicketClosed,
    TicketCreated,
    TicketCustomerReplied,
    TicketEvidenceAdded,
    TicketEvidenceRemoved,
    TicketIncidentLinked,
    TicketReopened,
    TicketResolved,
    TicketResponded,
    TicketStatusChanged,
    TicketSubmission,
    TicketTransferred,
)
from servicekit import EventBus, PermanentError

from .domain import DomainError
from .service import IntakeService

PUBLISHES = (TicketCreated, TicketStatusChanged, TicketResponded, TicketResolved, TicketClosed, TicketReopened,
             TicketCustomerReplied, TicketEvidenceAdded, TicketEvidenceRemoved)


async def _apply(apply: Callable[[Any], Awaitable[bool]], event: Any) -> None:
    try:
        found = await apply(event)
    except DomainError as exc:
        raise PermanentError(f"{event.event_type} cannot be applied to ticket {event.payload.ticket_id}: {exc}") from None
    if not found:
        raise PermanentError(f"ticket {event.payload.ticket_id} is unknown to intake")


def register(bus: EventBus, service: IntakeService) -> None:
    for event in PUBLISHES:
        bus.publisher(event)

    @bus.subscribe_command_queue(bus.ns.submissions_queue, description="Customer contacts from channel systems.")
    async def on_submission(submission: TicketSubmission) -> None:
        await service.submit(submission)

    @bus.subscribe_command_queue(bus.ns.messages_queue, description="Customers' further messages (threaded into their tickets).")
    async def on_message(message: CustomerMessage) -> None:
        await service.receive_message(message)

    @bus.subscribe_events(TicketClassified, description="Keep the classification on the ticket.")
    async def on_classified(event: TicketClassified) -> None:
        await _apply(service.on_classified, event)

    @bus.subscribe_events(TicketAssigned, description="Keep the assignee on the ticket.")
    async def on_assigned(event: TicketAssigned) -> None:
        await _apply(service.on_assigned, event)

    @bus.subscribe_events(TicketAcknowledged, description="The assignee confirmed receipt: assigned → in_progress.")
    async def on_acknowledged(event: TicketAcknowledged) -> None:
        await _apply(service.on_acknowledged, event)

    @bus.subscribe_events(TicketTransferred, description="Keep the new assignee/team on the ticket.")
    async def on_transferred(event: TicketTransferred) -> None:
        await _apply(service.on_transferred, event)

    @bus.subscribe_events(SurveyCompleted, description="Unsatisfied → reopen; satisfied → close the resolved ticket.")
    async def on_survey(event: SurveyCompleted) -> None:
        await _apply(service.on_survey, event)

    @bus.subscribe_events(TicketIncidentLinked, description="Keep the incident tag on the ticket (crisis mode).")
    async def on_incident_linked(event: TicketIncidentLinked) -> None:
        await _apply(service.on_incident_linked, event)
