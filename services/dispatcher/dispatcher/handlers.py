"""Dispatcher's broker side. Event → handler table:

| queue                          | message             | handler        |
|--------------------------------|---------------------|----------------|
| dispatcher.ticket.classified   | ticket.classified   | on_classified  |
| dispatcher.ticket.resolved     | ticket.resolved     | on_resolved    |
| dispatcher.ticket.closed       | ticket.closed       | on_closed      |

Publishes: ticket.assigned (through the outbox of the ``assignments`` document).
Each handler returns only after its write; FastStream then acks. Duplicates are no-ops: a ticket is
claimed once (``_id`` = ticket id) and a slot is given back only while the ticket still holds it.
"""

from __future__ import annotations

from contracts import TicketAssigned, TicketClassified, TicketClosed, TicketResolved
from servicekit import EventBus, PermanentError

from .domain import DomainError
from .service import DispatcherService

PUBLISHES = (TicketAssigned,)


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
        await service.on_finished(p.ticket_id, p.ticket_no, event.correlation_id, event.event_type)

    @bus.subscribe_events(TicketClosed, description="Give the agent's slot back; serve the team queue.")
    async def on_closed(event: TicketClosed) -> None:
        p = event.payload
        await service.on_finished(p.ticket_id, p.ticket_no, event.correlation_id, event.event_type)
