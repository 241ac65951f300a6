"""Dispatcher's broker side. Event → handler table:

| queue                                  | message                    | handler             |
|----------------------------------------|----------------------------|---------------------|
| dispatcher.ticket.classified           | ticket.classified          | on_classified       |
| dispatcher.ticket.resolved             | ticket.resolved            | on_resolved         |
| dispatcher.ticket.closed               | ticket.closed              | on_closed           |
| dispatcher.ticket.reopened             | ticket.reopened            | on_reopened         |
| dispatcher.assignment.unacknowledged   | assignment.unacknowledged  | on_unacknowledged   |
| dispatcher.sla.warning                 | sla.warning                | on_sla_warning      |
| dispatcher.sla.breached                | sla.breached               | on_sla_breached     |
| dispatcher.ticket.escalated            | ticket.escalated           | on_escalated        |
| dispatcher.ticket.customer_replied     | ticket.customer_replied    | on_customer_replied |
| dispatcher.report.ready                | report.ready               | on_report_ready     |

Publishes: ticket.assigned, ticket.acknowledged, ticket.transferred, ticket.incident_linked (through the
outbox of the ``assignments`` document); incident.opened, incident.updated, incident.closed (through the
outbox of the ``incidents`` document; crisis mode needs no subscription: open incidents are read from the
store for every classified ticket). Each handler returns only after its write; FastStream then acks. Duplicates
are no-ops: a ticket is claimed once (``_id`` = ticket id), a slot is given back only while the ticket
still holds it, moves are compare-and-set on (agent, assigned_at), and notifications are keyed by the
source event id (a scheduled report's by its report id; a customer reply tells the assignee by the
dispatcher's own record, or the team's supervisors when nobody holds the ticket).
"""

from __future__ import annotations

from contracts import (
    AssignmentUnacknowledged,
    IncidentClosed,
    IncidentOpened,
    IncidentUpdated,
    SlaBreached,
    SlaWarning,
    TicketAcknowledged,
    TicketAssigned,
    TicketClassified,
    TicketClosed,
    TicketCustomerReplied,
    TicketEscalated,
    TicketIncidentLinked,
    TicketReopened,
    TicketResolved,
    TicketTransferred,
)
from contracts.events_reporting import ReportReady
from servicekit import EventBus, PermanentError

from .domain import DomainError
from .service import DispatcherService

PUBLISHES = (TicketAssigned, TicketAcknowledged, TicketTransferred, TicketIncidentLinked, IncidentOpened,
             IncidentUpdated, IncidentClosed)


def register(bus: EventBus, service: DispatcherService) -> None:
    for event in PUBLISHES:
        bus.publisher(event)

    @bus.subscribe_events(TicketClassified, description="Route the ticket to an agent or its team queue.")
    async def on_classified(event: TicketClassified) -> None:
        try:
            await service.on_classified(event)
        except DomainError as exc:
            raise PermanentError(f"{exc.code}: {exc}") from None

    @bus.subscribe_events(TicketResolved, description="Give the agent's slot back; serve the team queue.")
    async def on_resolved(event: TicketResolved) -> None:
        p = event.payload
        await service.on_finished(p.ticket_id, p.ticket_no, event.correlation_id, event.event_type, event.occurred_at)

    @bus.subscribe_events(TicketClosed, description="Give the agent's slot back; serve the team queue.")
    async def on_closed(event: TicketClosed) -> None:
        p = event.payload
        await service.on_finished(p.ticket_id, p.ticket_no, event.correlation_id, event.event_type, event.occurred_at)

    @bus.subscribe_events(TicketReopened, description="Back to the previous agent when on duty, else re-route.")
    async def on_reopened(event: TicketReopened) -> None:
        await service.on_reopened(event)

    @bus.subscribe_events(AssignmentUnacknowledged,
                          description="Tell the supervisor; reassign per policy (not confirmed in time).")
    async def on_unacknowledged(event: AssignmentUnacknowledged) -> None:
        await service.on_unacknowledged(event)

    @bus.subscribe_events(SlaWarning, description="Notify the assignee; order their queue by the deadline.")
    async def on_sla_warning(event: SlaWarning) -> None:
        await service.on_sla_warning(event)

    @bus.subscribe_events(SlaBreached, description="Escalate to the assignee's supervisor chain.")
    async def on_sla_breached(event: SlaBreached) -> None:
        await service.on_sla_breached(event)

    @bus.subscribe_events(TicketEscalated, description="Notify the named staff and the supervisor chain.")
    async def on_escalated(event: TicketEscalated) -> None:
        await service.on_escalated(event)

    @bus.subscribe_events(TicketCustomerReplied,
                          description="Tell the assignee (else the team's supervisors): the customer wrote.")
    async def on_customer_replied(event: TicketCustomerReplied) -> None:
        await service.on_customer_replied(event)

    @bus.subscribe_events(ReportReady, description="Deliver a scheduled report to its subscribers: in-app with the "
                          "link, e-mail / IM with the CSV attached.")
    async def on_report_ready(event: ReportReady) -> None:
        await service.on_report_ready(event)
