"""Intake's use cases: domain decisions + store writes + outbox flush. Called by both the broker
handlers and the HTTP API, so the two doors behave the same."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from contracts import TicketAssigned, TicketClassified, TicketSubmission
from servicekit.outbox import Outbox

from . import domain
from .domain import Customer, Ticket
from .store import IntakeStore

log = logging.getLogger(__name__)


@dataclass
class SubmitResult:
    ticket: Ticket
    duplicate: bool


class IntakeService:
    def __init__(self, store: IntakeStore, outbox: Outbox, *, timezone: str, lookup_pepper: str) -> None:
        self.store = store
        self.outbox = outbox
        self.timezone = timezone
        self.pepper = lookup_pepper

    async def submit(self, sub: TicketSubmission, *, now: datetime | None = None) -> SubmitResult:
        """Store a submission as a ticket exactly once per (channel, channel message id)."""
        now = now or datetime.now(UTC)
        existing = await self.store.get_ticket(domain.ticket_id_for(sub.channel, sub.channel_message_id))
        if existing is not None:
            await self.outbox.flush(self.store.tickets, existing.ticket_id)  # finish an interrupted publish
            return SubmitResult(existing, duplicate=True)

        customer = await self.identify(sub, now)
        day = domain.business_day(sub.submitted_at or now, self.timezone)
        seq = await self.store.next_sequence(f"ticket:{day:%Y%m%d}")
        ticket, created = domain.open_ticket(
            sub,
            ticket_id=domain.ticket_id_for(sub.channel, sub.channel_message_id),
            ticket_no=domain.format_ticket_no(day, seq),
            customer=customer,
            now=now,
        )
        entries = await self.store.insert_ticket(ticket, [created])
        if entries is None:  # a concurrent delivery of the same submission won the race
            winner = await self.store.get_ticket(domain.ticket_id_for(sub.channel, sub.channel_message_id))
            assert winner is not None
            return SubmitResult(winner, duplicate=True)
        await self.outbox.flush(self.store.tickets, ticket.ticket_id, entries)
        log.info("ticket %s stored (%s, status %s)", ticket.ticket_no, ticket.channel, ticket.status)
        return SubmitResult(ticket, duplicate=False)

    async def identify(self, sub: TicketSubmission, now: datetime) -> Customer:
        """Link the contact to a known customer by any identifier, or create one (seed 000). New
        identifiers of a known customer are remembered; one already owned by another customer is not
        moved."""
        keys = [domain.lookup_key(c, self.pepper) for c in domain.identity_claims(sub.customer)]
        owners = await self.store.key_owners(keys)
        customer_id = next((owners[k] for k in keys if k in owners), None)  # the strongest identifier wins
        if customer_id is None:
            customer_id = uuid.uuid4().hex
            if keys and not await self.store.claim_key(keys[0], customer_id):
                owners = await self.store.key_owners(keys)  # a concurrent contact claimed it first
                customer_id = owners[keys[0]]
        for key in keys:
            if key not in owners:
                await self.store.claim_key(key, customer_id)
        customer = await self.store.get_customer(customer_id)
        if customer is None:
            seq = await self.store.next_sequence("customer")
            customer = await self.store.insert_customer(
                domain.new_customer(customer_id, seq, sub.customer, sub.channel, now)
            )
        else:
            await self.store.touch_customer(customer_id, now)
        return customer

    async def on_classified(self, event: TicketClassified) -> bool:
        p = event.payload
        applied, _ = await self.store.apply_event(
            p.ticket_id,
            str(event.event_id),
            {"category": p.category, "module": p.module, "priority": p.priority, "updated_at": datetime.now(UTC)},
        )
        return applied

    async def on_assigned(self, event: TicketAssigned) -> bool:
        p = event.payload
        ticket = await self.store.get_ticket(p.ticket_id)
        if ticket is None:
            return False
        applied, _ = await self.store.apply_event(
            p.ticket_id,
            str(event.event_id),
            {
                "assignee_id": p.agent_id,
                "assignee_name": p.agent_name,
                "team": p.team,
                "status": domain.status_after_assignment(ticket.status),
                "updated_at": datetime.now(UTC),
            },
        )
        return applied

    async def resolve(self, ticket_id: str, *, by: str, summary: str) -> Ticket | None:
        for _ in range(5):
            ticket = await self.store.get_ticket(ticket_id)
            if ticket is None:
                return None
            updated, events = domain.resolve(ticket, by=by, summary=summary, now=datetime.now(UTC))
            entries = await self.store.save_transition(ticket, updated, list(events))
            if entries is not None:
                await self.outbox.flush(self.store.tickets, ticket_id, entries)
                return updated
        raise domain.DomainError("conflict", "the ticket kept changing; try again")
