"""Classifier's broker side. Event → handler table:

| queue                                   | message                      | handler            |
|-----------------------------------------|------------------------------|--------------------|
| classifier.ticket.created               | ticket.created               | on_ticket_created  |
| classifier.ticket.reopened              | ticket.reopened              | on_ticket_reopened |
| classifier.reload.<replica> (exclusive) | classifier.config_activated  | on_config_activated|
| classifier.reload.knowledge.<replica>   | knowledge.changed            | on_knowledge_changed|

Publishes (all through the outbox): knowledge.suggested beside ticket.classified when the knowledge base has
something for the ticket, knowledge.feedback, knowledge.changed; ticket.classified once per new ticket — also for incomplete
(needs_info) tickets, which get the reviewed fallback — and again after a manual correction or a
reopen that changed the result; classifier.config_activated when an admin activates a rule set or a
model. The reload queue is per replica (auto-delete, exclusive), so EVERY replica reloads — unlike the
shared competing-consumer queues. A periodic check (CLASSIFIER_RELOAD_INTERVAL_SECONDS) covers a missed
event. Handlers return only after their write; FastStream then acks. Duplicates are no-ops.
"""

from __future__ import annotations

import uuid

from faststream.rabbit import RabbitQueue

from contracts import (
    ClassifierConfigActivated,
    KnowledgeChanged,
    KnowledgeFeedback,
    KnowledgeSuggested,
    TicketClassified,
    TicketCreated,
    TicketReopened,
)
from servicekit import EventBus, PermanentError

from .domain import InvalidTicket
from .service import ClassifierService

PUBLISHES = (TicketClassified, ClassifierConfigActivated, KnowledgeSuggested, KnowledgeFeedback, KnowledgeChanged)


def register(bus: EventBus, service: ClassifierService) -> None:
    for event in PUBLISHES:
        bus.publisher(event)

    @bus.subscribe_events(TicketCreated, description="Classify every new ticket.")
    async def on_ticket_created(event: TicketCreated) -> None:
        try:
            await service.on_ticket_created(event)
        except InvalidTicket as exc:
            raise PermanentError(str(exc)) from exc

    @bus.subscribe_events(TicketReopened, description="Re-classify a reopened ticket when the reason adds "
                          "information (never over a supervisor's correction).")
    async def on_ticket_reopened(event: TicketReopened) -> None:
        await service.on_ticket_reopened(event)

    def replica_queue(name: str, event: type[ClassifierConfigActivated | KnowledgeChanged]) -> RabbitQueue:
        """This replica's own queue of ``event`` (auto-delete, exclusive): every replica reloads, unlike the
        shared competing-consumer queues."""
        return RabbitQueue(bus.ns.subscription_queue(bus.service, f"{name}.{uuid.uuid4().hex[:12]}"),
                           routing_key=event.type_name(), auto_delete=True, exclusive=True, durable=False)

    @bus.broker.subscriber(replica_queue("reload", ClassifierConfigActivated), bus.events_exchange,
                           title="classifier.reload:consume",
                           description="Hot reload of the active rule set / model in this replica.")
    async def on_config_activated(event: ClassifierConfigActivated) -> None:
        await service.reload()

    @bus.broker.subscriber(replica_queue("reload.knowledge", KnowledgeChanged), bus.events_exchange,
                           title="classifier.knowledge:consume",
                           description="Rebuild this replica's knowledge index after an article or template changed.")
    async def on_knowledge_changed(event: KnowledgeChanged) -> None:
        if service.knowledge is not None:
            await service.knowledge.load()
