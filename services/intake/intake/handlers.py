"""Intake's broker side. Event → handler table:

| queue                          | message             | handler           |
|--------------------------------|---------------------|-------------------|
| intake.submissions             | TicketSubmission    | on_submission     |
| intake.ticket.classified       | ticket.classified   | on_classified     |
| intake.ticket.assigned         | ticket.assigned     | on_assigned       |

Publishes: ticket.created, ticket.status_changed, ticket.resolved (through the outbox).
Each handler returns only after its write; FastStream then acks. Duplicates are no-ops.
"""

from __future__ import annotations

from contracts import TicketAssigned, TicketClassified, TicketCreated, TicketResolved, TicketStatusChanged, TicketSubmission
from servicekit import EventBus, PermanentError

from .service import IntakeService

PUBLISHES = (TicketCreated, TicketStatusChanged, TicketResolved)


def register(bus: EventBus, service: IntakeService) -> None:
    for event in PUBLISHES:
        bus.publisher(event)

    @bus.subscribe_command_queue(bus.ns.submissions_queue, description="Customer contacts from channel systems.")
    async def on_submission(submission: TicketSubmission) -> None:
        await service.submit(submission)

    @bus.subscribe_events(TicketClassified, description="Keep the classification on the ticket.")
    async def on_classified(event: TicketClassified) -> None:
        if not await service.on_classified(event) and not await service.store.ticket_exists(event.payload.ticket_id):
            raise PermanentError(f"ticket {event.payload.ticket_id} is unknown to intake")

    @bus.subscribe_events(TicketAssigned, description="Keep the assignee on the ticket.")
    async def on_assigned(event: TicketAssigned) -> None:
        if not await service.on_assigned(event) and not await service.store.ticket_exists(event.payload.ticket_id):
            raise PermanentError(f"ticket {event.payload.ticket_id} is unknown to intake")
