"""Survey's broker side. Event → handler table:

| queue                    | message          | handler      |
|--------------------------|------------------|--------------|
| survey.ticket.resolved   | ticket.resolved  | on_resolved  |

Publishes: survey.completed (through the outbox on ``surveys``: the answer and the event are one
document update; intake reopens the ticket when ``satisfied`` is false, the dispatcher tells the
supervisor). The handler returns only after its write; FastStream then acks. A duplicate delivery of
the same ticket.resolved (same event_id) creates nothing and publishes nothing. A payload that fails
validation, or names no ticket, is dead-lettered at once with the reason.
"""

from __future__ import annotations

from contracts import Event, SurveyCompleted, TicketResolved
from servicekit import EventBus, PermanentError

from .domain import DomainError
from .service import SurveyService

PUBLISHES: tuple[type[Event], ...] = (SurveyCompleted,)


def register(bus: EventBus, service: SurveyService) -> None:
    for event in PUBLISHES:
        bus.publisher(event)

    @bus.subscribe_events(TicketResolved, description="Open the satisfaction survey of a resolution and send it.")
    async def on_resolved(event: TicketResolved) -> None:
        try:
            await service.on_resolved(event)
        except DomainError as exc:
            raise PermanentError(f"{exc.code}: {exc}") from None
