"""Classifier's broker side. Event → handler table:

| queue                          | message             | handler           |
|--------------------------------|---------------------|-------------------|
| classifier.ticket.created      | ticket.created      | on_ticket_created |

Publishes: ticket.classified (through the outbox), once per ticket — also for incomplete
(needs_info) tickets, which get the reviewed fallback when their text says nothing.
The handler returns only after its write; FastStream then acks. Duplicates are no-ops.
"""

from __future__ import annotations

from contracts import TicketClassified, TicketCreated
from servicekit import EventBus, PermanentError

from .domain import InvalidTicket
from .service import ClassifierService

PUBLISHES = (TicketClassified,)


def register(bus: EventBus, service: ClassifierService) -> None:
    for event in PUBLISHES:
        bus.publisher(event)

    @bus.subscribe_events(TicketCreated, description="Classify every new ticket.")
    async def on_ticket_created(event: TicketCreated) -> None:
        try:
            await service.on_ticket_created(event)
        except InvalidTicket as exc:
            raise PermanentError(str(exc)) from exc
