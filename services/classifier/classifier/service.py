"""Classifier's use cases: domain decisions + store writes + outbox flush. Called by both the broker
handlers and the HTTP API, so the two doors classify the same way."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from contracts import TicketCreated
from servicekit.outbox import Outbox

from . import domain
from .domain import Classification, ClassificationInput, ClassificationRecord, RuleSet
from .store import ClassifierStore

log = logging.getLogger(__name__)


@dataclass
class ClassifyOutcome:
    record: ClassificationRecord
    duplicate: bool


class ClassifierService:
    def __init__(
        self, store: ClassifierStore, outbox: Outbox, *, review_below: float = domain.DEFAULT_REVIEW_BELOW,
        seed_default_rules: bool = True,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.review_below = review_below
        self.seed_default_rules = seed_default_rules
        self.ruleset: RuleSet = domain.ruleset_v1(datetime.now(UTC))

    async def load_ruleset(self) -> RuleSet:
        """Use the newest active rule set; seed the built-in v1 first when none is active (a fresh
        database). Runs at startup, before the broker consumes."""
        active = await self.store.active_ruleset()
        if active is None and self.seed_default_rules:
            builtin = domain.ruleset_v1(datetime.now(UTC))
            if not await self.store.insert_ruleset(builtin):  # v1 exists but was deactivated by hand
                await self.store.activate_ruleset(builtin.version)
            active = await self.store.active_ruleset()
        if active is None:
            log.warning("no active rule set stored; using the built-in %s", self.ruleset.classifier_version)
            return self.ruleset
        self.ruleset = active
        log.info("classifying with %s (%d rules)", active.classifier_version, len(active.rules))
        return active

    def classify(self, item: ClassificationInput) -> Classification:
        """Dry-run classification with the loaded rule set (nothing stored, nothing published)."""
        return domain.classify(self.ruleset, item, review_below=self.review_below)

    async def on_ticket_created(
        self, event: TicketCreated, *, now: datetime | None = None
    ) -> ClassifyOutcome:
        """Classify a new ticket once and publish ``ticket.classified`` through the outbox. A ticket that
        is already classified (redelivery, relay republish, concurrent replica) is not classified again:
        only a still-pending outbox is flushed."""
        domain.check_created(event.payload)
        ticket_id = event.payload.ticket_id
        existing = await self.store.get_classification(ticket_id)
        if existing is not None:
            return await self._already_classified(existing, event)
        result = self.classify(domain.input_from_created(event.payload))
        record = domain.record_for(event, result, now or datetime.now(UTC))
        entries = await self.store.insert_classification(record, [domain.classified_event(record)])
        if entries is None:  # a concurrent delivery stored it first
            winner = await self.store.get_classification(ticket_id)
            assert winner is not None
            return await self._already_classified(winner, event)
        await self.outbox.flush(self.store.classifications, ticket_id, entries)
        log.info(
            "ticket %s classified %s/%s/%s by %s (confidence %.2f)", record.ticket_no, result.category,
            result.module, result.priority, result.explanation.rule_id or result.explanation.method,
            result.confidence,
        )
        return ClassifyOutcome(record, duplicate=False)

    async def _already_classified(
        self, record: ClassificationRecord, event: TicketCreated
    ) -> ClassifyOutcome:
        await self.outbox.flush(self.store.classifications, record.ticket_id)  # finish an interrupted publish
        if record.source_event_id != str(event.event_id):
            log.warning(
                "ticket %s already classified from event %s; ignoring ticket.created %s",
                record.ticket_no, record.source_event_id, event.event_id,
            )
        return ClassifyOutcome(record, duplicate=True)
