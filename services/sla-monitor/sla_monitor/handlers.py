"""SLA monitor's broker side. Event → handler table:

| queue                               | message                 | handler             |
|-------------------------------------|-------------------------|---------------------|
| sla-monitor.ticket.created          | ticket.created          | on_created          |
| sla-monitor.ticket.classified       | ticket.classified       | on_classified       |
| sla-monitor.ticket.assigned         | ticket.assigned         | on_assigned         |
| sla-monitor.ticket.acknowledged     | ticket.acknowledged     | on_acknowledged     |
| sla-monitor.ticket.responded        | ticket.responded        | on_responded        |
| sla-monitor.ticket.status_changed   | ticket.status_changed   | on_status_changed   |
| sla-monitor.ticket.resolved         | ticket.resolved         | on_resolved         |
| sla-monitor.ticket.closed           | ticket.closed           | on_closed           |
| sla-monitor.ticket.reopened         | ticket.reopened         | on_reopened         |
| sla-monitor.ticket.customer_replied | ticket.customer_replied | on_customer_replied |
| sla-monitor.ticket.incident_linked  | ticket.incident_linked  | on_incident_linked  |

Publishes (from the alarm scanner and the overdue-reason route, through the clock's outbox):
sla.warning, sla.breached, ticket.escalated, assignment.unacknowledged, sla.overdue_reason_recorded.
Each handler returns only after its clock write; FastStream then acks. Duplicates (same event_id) are
no-ops. An event for a ticket without a clock opens a provisional clock (see ``SlaService.record``).
An event that can never apply (no ticket id) is dead-lettered at once; write contention or a missing
policy raises a normal exception, so the message is retried and, past the delivery limit, dead-lettered.
"""

from __future__ import annotations

from contracts import (
    AssignmentUnacknowledged,
    Event,
    SlaBreached,
    SlaWarning,
    TicketAcknowledged,
    TicketAssigned,
    TicketClassified,
    TicketClosed,
    TicketCreated,
    TicketCustomerReplied,
    TicketEscalated,
    TicketIncidentLinked,
    TicketReopened,
    TicketResolved,
    TicketResponded,
    TicketStatusChanged,
)
from contracts.events_sla import SlaOverdueReasonRecorded
from servicekit import EventBus, PermanentError

from .domain import InvalidEvent
from .service import SlaService

PUBLISHES = (SlaWarning, SlaBreached, TicketEscalated, AssignmentUnacknowledged, SlaOverdueReasonRecorded)


def register(bus: EventBus, service: SlaService) -> None:
    for event_type in PUBLISHES:
        bus.publisher(event_type)  # declared up front: listed in AsyncAPI

    async def record(event: Event) -> None:
        try:
            await service.record(event)
        except InvalidEvent as exc:
            raise PermanentError(str(exc)) from None

    @bus.subscribe_events(TicketCreated, description="Start the ticket's SLA clock (P3 until classified).")
    async def on_created(event: TicketCreated) -> None:
        await record(event)

    @bus.subscribe_events(TicketClassified, description="Set the priority; dues recomputed from the start.")
    async def on_classified(event: TicketClassified) -> None:
        await record(event)

    @bus.subscribe_events(TicketAssigned, description="Record the assignee (the confirmation clock starts).")
    async def on_assigned(event: TicketAssigned) -> None:
        await record(event)

    @bus.subscribe_events(TicketAcknowledged, description="Record the agent's confirmation of receipt.")
    async def on_acknowledged(event: TicketAcknowledged) -> None:
        await record(event)

    @bus.subscribe_events(TicketResponded, description="Stop the first-response target, or the next-response one.")
    async def on_responded(event: TicketResponded) -> None:
        await record(event)

    @bus.subscribe_events(
        TicketStatusChanged,
        description="pending_customer pauses the resolution and next-response clocks; leaving it resumes.",
    )
    async def on_status_changed(event: TicketStatusChanged) -> None:
        await record(event)

    @bus.subscribe_events(TicketResolved, description="Stop the resolution target.")
    async def on_resolved(event: TicketResolved) -> None:
        await record(event)

    @bus.subscribe_events(TicketClosed, description="Stop the clock for good.")
    async def on_closed(event: TicketClosed) -> None:
        await record(event)

    @bus.subscribe_events(TicketReopened, description="Run the clock again.")
    async def on_reopened(event: TicketReopened) -> None:
        await record(event)

    @bus.subscribe_events(
        TicketCustomerReplied,
        description="Start (again) the next-response target; a paused ticket is back in progress.",
    )
    async def on_customer_replied(event: TicketCustomerReplied) -> None:
        await record(event)

    @bus.subscribe_events(
        TicketIncidentLinked,
        description="The incident's SLA override replaces the policy's targets (policy incident:<id>).",
    )
    async def on_incident_linked(event: TicketIncidentLinked) -> None:
        await record(event)
