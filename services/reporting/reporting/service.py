"""Reporting's use cases: record every event (fact first, then the log) and compute reports. Called
by the broker handler and the HTTP API."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from contracts import Event, utcnow

from . import domain
from .domain import DailyReport, TicketFact
from .store import ReportingStore

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20


class FactContention(RuntimeError):
    """A fact kept changing under us; the message is retried (redelivered) later."""


class ReportingService:
    def __init__(
        self, store: ReportingStore, *, timezone: str, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.store = store
        self.timezone = timezone
        self.clock = clock

    async def record(self, event: Event) -> bool:
        """Take in one event exactly once. The fact is updated *before* the event enters the log: if
        the process dies in between, the redelivery finds the fact already applied (no double count)
        and only writes the log. Returns False when the event had been fully recorded before."""
        applied = await self.apply_to_fact(event)
        logged = await self.store.log_event(domain.log_entry(event, self.timezone, received_at=self.clock()))
        if not logged:
            log.debug("event %s (%s) already recorded", event.event_id, event.event_type)
        return applied or logged

    async def apply_to_fact(self, event: Event) -> bool:
        """Fold the event into its ticket's fact once (compare-and-set, created on the first event of
        any type, so a ticket.classified arriving before ticket.created is fine). False when the event
        does not concern a fact or was applied before."""
        ticket_id = domain.ticket_id_of(event)
        if ticket_id is None or not domain.changes_fact(event):
            return False
        event_id = str(event.event_id)
        for _ in range(MAX_ATTEMPTS):
            state = await self.store.load_fact(ticket_id, event_id)
            if state.applied:
                return False
            if state.fact is None:
                fact = domain.apply(TicketFact(ticket_id=ticket_id), event, self.timezone)
                if await self.store.insert_fact(fact, event_id):
                    return True
                continue
            changes = domain.fact_changes(state.fact, event, self.timezone)
            if await self.store.update_fact(ticket_id, state.revision, event_id, changes):
                return True
        raise FactContention(f"fact of ticket {ticket_id} kept changing while applying {event.event_type}")

    def today(self) -> date:
        """Today in the business time zone (the default report day)."""
        return domain.business_day(self.clock(), self.timezone)

    async def daily_report(self, day: date | None = None) -> DailyReport:
        return domain.build_daily_report(await self.store.day_counts(day or self.today()))

    async def fact(self, ticket_id: str) -> TicketFact | None:
        return await self.store.get_fact(ticket_id)
