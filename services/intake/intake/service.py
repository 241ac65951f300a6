"""Intake's use cases: domain decisions + store writes + outbox flush. Called by both the broker
handlers and the HTTP API, so the two doors behave the same."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from contracts import (
    CustomerContact,
    CustomerMessage,
    CustomerTier,
    Event,
    SurveyCompleted,
    TicketAcknowledged,
    TicketAssigned,
    TicketClassified,
    TicketIncidentLinked,
    TicketStatus,
    TicketSubmission,
    TicketTransferred,
)
from prometheus_client import Counter, Gauge

from servicekit.clock import Clock
from servicekit.context import raise_if_cancelling
from servicekit.notify import Notification, Notifier
from servicekit.keyed import KeyedLocks
from servicekit.outbox import Outbox
from servicekit.privacy import redact_text
from servicekit.retention import months_before

from . import domain, evidence
from .backup import FORMAT_NAME, FORMAT_VERSION, BackupWriter, KeyRing, manifest_path_for, write_manifest
from .crypto import FieldCipher
from .domain import Change, Customer, DomainError, Ticket, TimelineEntry
from .evidence import EvidenceLimits
from .store import BackupStore, EvidenceStore, EvidenceUpload, IntakeStore

log = logging.getLogger(__name__)


class NotAssignee(DomainError):
    """An agent acting on a ticket assigned to somebody else (mapped to 403)."""


class ConsumedEventUnknownTicket(Exception):
    pass


@dataclass
class SubmitResult:
    ticket: Ticket
    duplicate: bool


@dataclass
class Policy:
    auto_close_after: timedelta = timedelta(days=7)
    reply_window: timedelta = timedelta(days=7)
    """How far back a message without reference or thread finds the customer's open ticket on the channel."""
    reopen_window: timedelta = timedelta(days=14)
    """A message for a resolved/closed ticket that ended at most this long ago reopens it; a later one opens a
    new ticket linked to it."""
    reopen_on_reply: bool = True
    dormant_after: timedelta = timedelta(days=182)
    retention: timedelta = timedelta(days=365)
    max_compensation_cny: float = 200.0


@dataclass(frozen=True)
class MessageResult:
    """Where a customer message went: ``action`` thread / reopen / new / new_linked / flagged / duplicate."""

    ticket: Ticket
    action: str
    threaded_by: str | None
    duplicate: bool


class _Redirect(Exception):
    """The ticket changed between the look-up and the write so that the message no longer belongs on it."""

    def __init__(self, decision: domain.ThreadDecision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


class IntakeService:
    def __init__(self, store: IntakeStore, outbox: Outbox, *, timezone: str, lookup_pepper: str,
                 cipher: FieldCipher | None = None, policy: Policy | None = None,
                 notifier: Notifier | None = None) -> None:
        self.store = store
        self.notifier = notifier
        self.outbox = outbox
        self.timezone = timezone
        self.pepper = lookup_pepper
        self.cipher = cipher or FieldCipher("")
        self.policy = policy or Policy()
        self._ticket_locks = KeyedLocks()

    # ================================================================== intake
    async def submit(self, sub: TicketSubmission, *, now: datetime | None = None) -> SubmitResult:
        """Store a submission as a ticket exactly once per (channel, channel message id)."""
        now = now or datetime.now(UTC)
        ticket_id = domain.ticket_id_for(sub.channel, sub.channel_message_id)
        existing = await self.store.get_ticket(ticket_id)
        if existing is not None:
            await self.outbox.flush(self.store.tickets, existing.ticket_id)  # finish an interrupted publish
            return SubmitResult(existing, duplicate=True)

        customer = await self.identify(sub, now)
        day = domain.business_day(sub.submitted_at or now, self.timezone)
        seq = await self.store.next_sequence(f"ticket:{day:%Y%m%d}")
        ticket, events = domain.open_ticket(
            sub, ticket_id=ticket_id, ticket_no=domain.format_ticket_no(day, seq), customer=customer, now=now,
        )
        entry = domain.timeline_entry(f"channel:{sub.channel.value}", "created", ticket.created_at,
                                      "missing: " + ", ".join(ticket.missing_fields) if ticket.missing_fields else "",
                                      to_status=ticket.status)
        entries = await self.store.insert_ticket(ticket, events, [entry])
        if entries is None:  # a concurrent delivery of the same submission won the race
            winner = await self.store.get_ticket(ticket_id)
            assert winner is not None
            return SubmitResult(winner, duplicate=True)
        await self.outbox.flush(self.store.tickets, ticket.ticket_id, entries)
        await self._audit("ticket", ticket.ticket_id, "create", f"channel:{sub.channel.value}", now,
                          {"ticket_no": ticket.ticket_no, "status": ticket.status.value})
        log.info("ticket %s stored (%s, status %s)", ticket.ticket_no, ticket.channel, ticket.status)
        return SubmitResult(ticket, duplicate=False)

    async def identify(self, sub: TicketSubmission, now: datetime) -> Customer:
        """Link the contact to a known customer by any identifier, or create one (seed 000). New
        identifiers of a known customer are remembered; one already owned by another customer is not
        moved. A phone number written in an e-mail body fills an empty phone field of the profile."""
        keys, owners, customer_id = await self._known(sub.customer)
        fresh_id = customer_id is None
        if customer_id is None:
            customer_id = uuid.uuid4().hex
            if keys and not await self.store.claim_key(keys[0], customer_id):
                owners = await self.store.key_owners(keys)  # a concurrent contact claimed it first
                customer_id = owners[keys[0]]
                fresh_id = False
            elif keys:
                owners = {**owners, keys[0]: customer_id}  # claimed just now: not again below
        for key in keys:
            if key not in owners:
                await self.store.claim_key(key, customer_id)
        body_phones = domain.extract_phones(f"{sub.subject}\n{sub.description}") if sub.channel.value == "email" else []
        values = domain.contact_profile_values(sub.customer, body_phones[0] if body_phones else None)
        sensitive = {k: (self.cipher.encrypt(v), domain.mask_field(k, v)) for k, v in values.items()}
        # an id minted just now (its first key claimed by this contact) has no profile yet: no need to look
        customer = None if fresh_id else await self.store.get_customer(customer_id)
        if customer is None:
            seq = await self.store.next_sequence("customer")
            fresh = domain.new_customer(customer_id, seq, sub.customer, sub.channel, now).model_copy(update={
                "encrypted": {k: t for k, (t, _) in sensitive.items()},
                "masked": {k: m for k, (_, m) in sensitive.items()},
                "ticket_count": 1,
            })
            customer = await self.store.insert_customer(fresh)
        else:
            await self.store.touch_customer(customer_id, now, sensitive)
        return customer

    # ================================================================== conversation
    async def receive_message(self, message: CustomerMessage, *, now: datetime | None = None) -> MessageResult:
        """A customer's further message: threaded into its ticket (reference, thread key, recent open ticket),
        reopening one that ended within the window; otherwise a new ticket (linked to an old one, or flagged
        when the message names another customer's ticket) — never lost. Exactly once per channel message."""
        now = now or datetime.now(UTC)
        message_id = domain.message_id_for(message.channel, message.channel_message_id)
        done = await self.store.ticket_with_message(message_id)
        if done is not None:  # a redelivery: finish an interrupted publish, change nothing
            await self.outbox.flush(self.store.tickets, done.ticket_id)
            return MessageResult(done, "duplicate", None, duplicate=True)
        *_, customer_id = await self._known(message.customer)
        reference = domain.reference_in(message)
        keys = domain.message_thread_keys(message)
        by_reference = await self.store.find_by_reference(reference) if reference else None
        by_thread = await self.store.find_by_thread(keys) if keys else None
        recent = (await self.store.recent_open(customer_id, message.channel.value,
                                               [s.value for s in domain.OPEN_STATUSES], now - self.policy.reply_window)
                  if customer_id else None)
        # a redelivery after this message opened its own ticket (and died before noting it): never thread the
        # message into the ticket it opened
        own = domain.ticket_id_for(message.channel, message.channel_message_id)
        by_reference, by_thread, recent = (None if t is not None and t.ticket_id == own else t
                                           for t in (by_reference, by_thread, recent))
        decision = domain.decide_thread(by_reference=by_reference, by_thread=by_thread, recent=recent,
                                        customer_id=customer_id, now=now, reopen_window=self.policy.reopen_window,
                                        reopen_enabled=self.policy.reopen_on_reply, reference=reference)
        if decision.action in ("thread", "reopen") and decision.ticket is not None:
            slot = {"reference": "by_reference", "thread": "by_thread", "recent": "recent"}[decision.threaded_by or "recent"]

            def land(t: Ticket, at: datetime) -> domain.Change:
                # decided again on the ticket as it is now (it may have been closed or reopened meanwhile)
                fresh = domain.decide_thread(**{"by_reference": None, "by_thread": None, "recent": None, slot: t},
                                             customer_id=customer_id, now=at, reopen_window=self.policy.reopen_window,
                                             reopen_enabled=self.policy.reopen_on_reply, reference=reference)
                if fresh.action not in ("thread", "reopen"):
                    raise _Redirect(fresh)
                return domain.customer_message(t, message, message_id=message_id, decision=fresh, now=at)

            try:
                ticket = await self._mutate(decision.ticket.ticket_id, f"customer:{message.channel.value}", True, land,
                                            applied_event=message_id)
            except _Redirect as redirect:
                decision = redirect.decision
            else:
                assert ticket is not None
                log.info("message %s threaded into ticket %s (%s)", message_id, ticket.ticket_no, decision.action)
                return MessageResult(ticket, decision.action, decision.threaded_by, duplicate=False)
        # a ticket of its own: submitted like a first contact, then annotated with why (once per message)
        result = await self.submit(domain.submission_from_message(message), now=now)
        flags = ["reference_of_another_customer"] if decision.action == "flagged" else []
        linked = decision.ticket.ticket_id if decision.action == "new_linked" and decision.ticket else None

        def annotate(t: Ticket, at: datetime) -> domain.Change:
            updated = t.model_copy(update={"review_flags": list(dict.fromkeys([*t.review_flags, *flags])),
                                           "linked_ticket_id": linked or t.linked_ticket_id, "updated_at": at})
            entry = domain.timeline_entry("system", "threading", at, decision.reason,
                                          data={"action": decision.action, "message_id": message_id,
                                                "linked_ticket_id": linked, "flags": flags})
            return domain.Change(updated, [], [entry], action="" if decision.action == "new" else "threading")

        ticket = await self._mutate(result.ticket.ticket_id, "system", True, annotate, applied_event=message_id)
        log.info("message %s opened ticket %s (%s)", message_id, result.ticket.ticket_no, decision.action)
        return MessageResult(ticket or result.ticket, decision.action, None, duplicate=result.duplicate)

    async def _known(self, contact: CustomerContact) -> tuple[list[str], dict[str, str], str | None]:
        """The contact's lookup keys (strongest identifier first), their current owners, and the customer the
        strongest known identifier names — without creating anything."""
        keys = [domain.lookup_key(c, self.pepper) for c in domain.identity_claims(contact)]
        owners = await self.store.key_owners(keys) if keys else {}
        return keys, owners, next((owners[k] for k in keys if k in owners), None)

    async def supply_from_channel(self, channel: str, channel_message_id: str, *, description: str,
                                  order_number: str | None, contact: CustomerContact) -> Ticket | None:
        """The channel system passes on what the customer supplied after a needs_info prompt."""
        ticket_id = domain.ticket_id_for(channel, channel_message_id)
        return await self.supply_info(ticket_id, by=f"channel:{channel}", description=description,
                                      order_number=order_number, contact=contact, privileged=True)

    async def supply_info(self, ticket_id: str, *, by: str, description: str = "", order_number: str | None = None,
                          contact: CustomerContact | None = None, privileged: bool = False) -> Ticket | None:
        ticket = await self.store.get_ticket(ticket_id)
        if ticket is None:
            return None
        has_contact = False
        if contact is not None and domain.identity_claims(contact):
            has_contact = True
            await self._remember_contact(ticket.customer_id, contact)
        return await self._mutate(ticket_id, by, privileged, lambda t, now: domain.supply_info(
            t, by=by, now=now, description=description, order_number=order_number, has_contact=has_contact))

    async def _remember_contact(self, customer_id: str, contact: CustomerContact) -> None:
        for claim in domain.identity_claims(contact):
            await self.store.claim_key(domain.lookup_key(claim, self.pepper), customer_id)
        values = domain.contact_profile_values(contact)
        await self.store.touch_customer(customer_id, datetime.now(UTC), {
            k: (self.cipher.encrypt(v), domain.mask_field(k, v)) for k, v in values.items()})

    # ================================================================== agent work
    async def add_note(self, ticket_id: str, *, by: str, text: str, visibility: Literal["internal", "customer"],
                       contacted_customer: bool, privileged: bool) -> Ticket | None:
        return await self._mutate(ticket_id, by, privileged, lambda t, now: domain.add_note(
            t, by=by, now=now, text=text, visibility=visibility, contacted_customer=contacted_customer))

    async def respond(self, ticket_id: str, *, by: str, text: str, privileged: bool) -> Ticket | None:
        """An agent's answer to the customer: recorded (and ticket.responded published), then handed to the
        notifier for the customer's channel — the e-mail thread, chat session or social thread the ticket
        answers to (the channel system behind the notifier webhook delivers it)."""
        ticket = await self._mutate(ticket_id, by, privileged,
                                    lambda t, now: domain.respond(t, by=by, now=now, text=text))
        if ticket is not None and self.notifier is not None:
            try:
                await self.notifier.send(Notification(
                    kind="ticket.reply", channel=domain.REPLY_CHANNEL[ticket.channel], recipient=ticket.customer_id,
                    subject=f"[{ticket.ticket_no}] {ticket.subject}".strip()[:200], body=text[:4000],
                    ticket_id=ticket.ticket_id, correlation_id=ticket.correlation_id,
                    data={"ticket_no": ticket.ticket_no, "channel": ticket.channel.value,
                          "channel_message_id": ticket.channel_message_id, "thread_keys": ticket.thread_keys,
                          "agent_id": by}))
            except Exception as exc:  # the answer is recorded; the channel delivery is logged for a retry by hand
                raise_if_cancelling(exc)
                log.warning("the reply on ticket %s could not be handed to the notifier: %r", ticket.ticket_no, exc)
        return ticket

    async def change_status(self, ticket_id: str, *, by: str, to: TicketStatus, reason: str,
                            privileged: bool) -> Ticket | None:
        return await self._mutate(ticket_id, by, privileged,
                                  lambda t, now: domain.change_status(t, to, by=by, now=now, reason=reason))

    async def resolve(self, ticket_id: str, *, by: str, summary: str, solution_type: domain.SolutionType | None = None,
                      compensation: domain.Compensation | None = None,
                      attachments: list[domain.AttachmentMeta] | None = None, privileged: bool = True) -> Ticket | None:
        return await self._mutate(ticket_id, by, privileged, lambda t, now: domain.resolve_change(
            t, by=by, summary=summary, now=now, solution_type=solution_type, compensation=compensation,
            attachments=attachments, max_compensation_cny=self.policy.max_compensation_cny,
            may_exceed_policy=privileged))

    async def confirm(self, ticket_id: str, *, by: str, confirmed: bool, note: str, privileged: bool) -> Ticket | None:
        return await self._mutate(ticket_id, by, privileged,
                                  lambda t, now: domain.confirm(t, by=by, now=now, confirmed=confirmed, note=note))

    async def close(self, ticket_id: str, *, by: str, reason: str, privileged: bool) -> Ticket | None:
        return await self._mutate(ticket_id, by, privileged,
                                  lambda t, now: domain.close(t, by=by, now=now, reason=reason, privileged=privileged))

    async def reopen(self, ticket_id: str, *, by: str, reason: str, privileged: bool) -> Ticket | None:
        return await self._mutate(ticket_id, by, privileged, lambda t, now: domain.reopen(
            t, by=by, now=now, reason=reason, source="staff", privileged=privileged))

    async def _mutate(self, ticket_id: str, actor: str, privileged: bool,
                      decide: Callable[[Ticket, datetime], Change], *, applied_event: str | None = None) -> Ticket | None:
        """Load → decide → compare-and-set (state + events + timeline in one update) → publish → audit.
        Changes of one ticket in this replica wait for each other (ticket.classified and ticket.assigned
        arrive together) instead of racing on the compare-and-set, which still decides between replicas."""
        async with self._ticket_locks.hold(ticket_id):
            return await self._mutate_once_at_a_time(ticket_id, actor, privileged, decide, applied_event=applied_event)

    async def _mutate_once_at_a_time(self, ticket_id: str, actor: str, privileged: bool,
                                     decide: Callable[[Ticket, datetime], Change], *,
                                     applied_event: str | None = None) -> Ticket | None:
        for _ in range(8):
            loaded = await self.store.load_for_change(ticket_id, applied_event)
            if loaded is None:
                return None
            ticket, already_applied = loaded
            if already_applied:
                return ticket
            if not privileged and ticket.assignee_id not in (None, actor):
                raise NotAssignee("not_assignee", "this ticket is assigned to another agent")
            now = datetime.now(UTC)
            change = decide(ticket, now)
            entries = await self.store.commit(ticket, change.ticket, change.events, change.timeline,
                                              applied_event=applied_event)
            if entries is None:
                continue  # changed meanwhile (or the event was applied by a competing consumer): reload
            if entries:
                await self.outbox.flush(self.store.tickets, ticket_id, entries)
            if change.action:
                await self._audit("ticket", ticket_id, change.action, actor, now, {
                    "from": ticket.status.value, "to": change.ticket.status.value,
                    "events": [e.event_type for e in change.events]})
            return change.ticket.model_copy(update={"version": ticket.version + 1})
        raise DomainError("conflict", "the ticket kept changing; try again")

    async def timeline(self, ticket_id: str, visibility: str | None = None) -> list[TimelineEntry] | None:
        entries = await self.store.get_timeline(ticket_id)
        if entries is None or visibility is None:
            return entries
        return [e for e in entries if e.visibility == visibility]

    async def _audit(self, subject: str, subject_id: str, action: str, actor: str, at: datetime,
                     detail: dict[str, Any] | None = None) -> None:
        await self.store.audit({"subject": subject, "subject_id": subject_id, "action": action, "actor": actor,
                                "at": at, "detail": detail or {}})

    # ================================================================== consumed events
    async def _consume(self, event: Event, ticket_id: str, decide: Callable[[Ticket], Change]) -> bool:
        """Apply a consumed event once (dedup on event_id); False when the ticket is unknown."""
        actor = event.producer
        result = await self._mutate(ticket_id, actor, True, lambda t, _now: decide(t), applied_event=str(event.event_id))
        return result is not None

    async def on_classified(self, event: TicketClassified) -> bool:
        p = event.payload

        def decide(t: Ticket) -> Change:
            if t.classified_at is not None and event.occurred_at < t.classified_at:
                return Change(t)  # an older classification than the one we hold
            return Change(t.model_copy(update={"category": p.category, "module": p.module, "priority": p.priority,
                                               "classified_at": event.occurred_at,
                                               "updated_at": max(t.updated_at, event.occurred_at)}))

        return await self._consume(event, p.ticket_id, decide)

    async def on_incident_linked(self, event: TicketIncidentLinked) -> bool:
        """Crisis mode: the dispatcher linked the ticket to an incident (once): the tag and a timeline line."""
        p = event.payload

        def decide(t: Ticket) -> Change:
            if t.incident_id is not None:
                return Change(t)
            entry = domain.timeline_entry("dispatcher", "incident", event.occurred_at,
                                          f"incident {p.incident_id}: {p.incident_title}", data={"incident_id": p.incident_id})
            return Change(t.model_copy(update={"incident_id": p.incident_id, "incident_title": p.incident_title}), [], [entry])

        return await self._consume(event, p.ticket_id, decide)

    async def on_assigned(self, event: TicketAssigned) -> bool:
        return await self._consume(event, event.payload.ticket_id, lambda t: domain.apply_assigned(t, event))

    async def on_acknowledged(self, event: TicketAcknowledged) -> bool:
        return await self._consume(event, event.payload.ticket_id, lambda t: domain.apply_acknowledged(t, event))

    async def on_transferred(self, event: TicketTransferred) -> bool:
        return await self._consume(event, event.payload.ticket_id, lambda t: domain.apply_transferred(t, event))

    async def on_survey(self, event: SurveyCompleted) -> bool:
        return await self._consume(event, event.payload.ticket_id, lambda t: domain.apply_survey(t, event))

    # ================================================================== scheduled jobs
    async def auto_close_once(self, now: datetime | None = None, limit: int = 200) -> int:
        """Close resolved tickets nobody reopened within the configured time."""
        now = now or datetime.now(UTC)
        days = self.policy.auto_close_after.total_seconds() / 86400
        closed = 0
        for ticket_id in await self.store.due_for_auto_close(now - self.policy.auto_close_after, limit):
            try:
                result = await self._mutate(ticket_id, "system", True, lambda t, at: domain.close(
                    t, by="system", now=at, reason=f"auto-closed: resolved {days:g} days ago without a reopen"))
            except DomainError:  # reopened meanwhile
                continue
            closed += result is not None and result.status == TicketStatus.CLOSED
        return closed

    async def dormancy_scan(self, now: datetime | None = None, limit: int = 500) -> int:
        """Mark customers without contact for the configured time as 待激活 (dormant)."""
        now = now or datetime.now(UTC)
        cutoff = now - self.policy.dormant_after
        marked = 0
        for customer in await self.store.dormant_candidates(cutoff, limit):
            if await self.store.mark_dormant(customer.customer_id, cutoff, now):
                marked += 1
                await self.store.add_changes([{"customer_id": customer.customer_id, "field": "status", "before": "active",
                                               "after": "dormant", "operator": "system", "at": now}])
        return marked

    async def purge_old_logs(self, now: datetime | None = None) -> int:
        return await self.store.purge_before((now or datetime.now(UTC)) - self.policy.retention)

    # ================================================================== customers
    async def create_customer(self, values: dict[str, Any], *, by: str, now: datetime | None = None) -> Customer:
        now = now or datetime.now(UTC)
        values = {k: v for k, v in values.items() if v is not None}
        self._check_consent(values, consented=False)
        contact = CustomerContact(phone=values.get("phone"), email=values.get("email"))
        keys, owners, _ = await self._known(contact)
        if owners:
            raise DomainError("customer_exists", f"a customer with that contact exists: {next(iter(owners.values()))}")
        customer_id = uuid.uuid4().hex
        for key in keys:
            if not await self.store.claim_key(key, customer_id):
                raise DomainError("customer_exists", "a customer with that contact was just created")
        seq = await self.store.next_sequence("customer")
        sensitive = {k: str(values[k]) for k in domain.SENSITIVE_FIELDS if k in values}
        customer = Customer(
            customer_id=customer_id, customer_no=seq, display=domain.customer_display(seq),
            kind=values.get("kind", domain.CustomerKind.INDIVIDUAL), name_masked=domain.mask_field("name", values.get("name")),
            masked={k: domain.mask_field(k, v) for k, v in sensitive.items()},
            encrypted=self.cipher.encrypt_all(sensitive),
            company_name=values.get("company_name"), credit_code=values.get("credit_code"),
            industry=values.get("industry"), tier=values.get("tier", CustomerTier.NORMAL),
            source=values.get("source", "人工录入"), consent_sensitive=bool(values.get("consent_sensitive")),
            consent_at=now if values.get("consent_sensitive") else None,
            first_contact_at=now, last_contact_at=now, source_channel=values.get("source_channel", "phone"),
            updated_at=now,
        )
        await self.store.insert_customer(customer)
        await self.store.add_changes([{"customer_id": customer_id, **c.model_dump(), "operator": by, "at": now}
                                      for c in domain.profile_changes({}, self._comparable(customer, sensitive))])
        await self._audit("customer", customer_id, "create", by, now)
        return customer

    async def update_customer(self, customer_id: str, values: dict[str, Any], *, by: str,
                              now: datetime | None = None) -> Customer | None:
        now = now or datetime.now(UTC)
        customer = await self.store.get_customer(customer_id)
        if customer is None:
            return None
        self._check_consent(values, consented=customer.consent_sensitive)
        current_clear = self.cipher.decrypt_all(customer.encrypted)
        current = self._comparable(customer, current_clear)
        wanted = {k: (v.value if hasattr(v, "value") else v) for k, v in values.items()}
        changes = domain.profile_changes(current, wanted)
        if not changes:
            return customer
        contact = CustomerContact(phone=values.get("phone"), email=values.get("email"))
        for claim in domain.identity_claims(contact):
            key = domain.lookup_key(claim, self.pepper)
            owner = (await self.store.key_owners([key])).get(key)
            if owner not in (None, customer_id):
                raise DomainError("contact_in_use", f"that {claim.split(':')[0]} belongs to another customer")
            if owner is None:
                await self.store.claim_key(key, customer_id)
        set_fields: dict[str, Any] = {"updated_at": now}
        unset: list[str] = []
        for change in changes:
            name, value = change.field, wanted[change.field]
            if name in domain.SENSITIVE_FIELDS:
                if value in (None, ""):
                    unset += [f"encrypted.{name}", f"masked.{name}"]
                else:
                    set_fields[f"encrypted.{name}"] = self.cipher.encrypt(str(value))
                    set_fields[f"masked.{name}"] = domain.mask_field(name, str(value))
                if name == "name":
                    set_fields["name_masked"] = domain.mask_field("name", value or None)
            else:
                set_fields[name] = value
                if name == "consent_sensitive" and value:
                    set_fields["consent_at"] = now
        if values.get("status") == "active":
            set_fields["last_contact_at"] = now
        updated = await self.store.update_customer(customer_id, set_fields, unset)
        await self.store.add_changes([{"customer_id": customer_id, **c.model_dump(), "operator": by, "at": now}
                                      for c in changes])
        await self._audit("customer", customer_id, "update", by, now, {"fields": [c.field for c in changes]})
        return updated

    @staticmethod
    def _check_consent(values: dict[str, Any], *, consented: bool) -> None:
        if values.get("id_number") and not (consented or values.get("consent_sensitive")):
            raise DomainError("consent_required", "an ID number is kept only with the customer's consent")
        if values.get("consent_sensitive") is False and (values.get("id_number") or consented):
            pass  # withdrawing consent is handled by the caller clearing the ID number

    @staticmethod
    def _comparable(customer: Customer, clear: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(customer, k) for k in domain.PLAIN_FIELDS}
        out = {k: (v.value if hasattr(v, "value") else v) for k, v in out.items()}
        out["status"] = customer.status.value
        out.update(clear)
        return out

    def customer_view(self, customer: Customer, *, reveal: bool) -> dict[str, Any]:
        """The profile as staff see it: clear personal data for supervisors/admins, masked for others."""
        data = customer.model_dump(mode="json", exclude={"encrypted", "masked"})
        personal = self.cipher.decrypt_all(customer.encrypted) if reveal else dict(customer.masked)
        for name in domain.SENSITIVE_FIELDS:
            data[name] = personal.get(name)
        data["masked"] = not reveal
        return data

    def export_row(self, customer: Customer) -> dict[str, Any]:
        """An export row: plain fields as they are, sensitive fields as ciphertext (``enc:`` prefix)."""
        data = customer.model_dump(mode="json", exclude={"encrypted", "masked", "name_masked"})
        for name in domain.SENSITIVE_FIELDS:
            data[name] = f"enc:{customer.encrypted[name]}" if name in customer.encrypted else ""
        return data


# ====================================================================== backups and audit retention
BACKUP_LEASE = timedelta(hours=2)
"""How long a backup may run before another attempt may take it over (its process presumably died)."""
BACKUP_COLLECTIONS = ["customers", "customer_keys", "customer_changes"]
BACKUPS_MADE = Counter("helpdesk_backups_total", "Backups of customer data, by kind and outcome (done, failed).",
                       ["kind", "outcome"])
BACKUP_LAST_DONE = Gauge("helpdesk_backup_last_success_timestamp_seconds",
                         "When the latest successful backup of each kind was written (alert when too old).", ["kind"])
AUDIT_PURGED = Counter("helpdesk_audit_entries_purged_total", "Audit-log entries purged by the retention pass.")
EXPORT_BATCH = 500
"""Documents compressed, encrypted and written per step (in a worker thread): memory stays bounded."""


class BackupsDisabled(DomainError):
    def __init__(self) -> None:
        super().__init__("backups_disabled", "backups are not configured (BACKUP_DIR and BACKUP_KEYS)")


class BackupService:
    """Manual 003: the daily export of new and changed customers, the monthly full export, both encrypted
    into BACKUP_DIR with a manifest; and the 12-month retention of the audit log. Clock-driven
    (``tick``), claimed per period in the database, so replicas and restarts never double a run."""

    def __init__(self, store: BackupStore, *, directory: Path | None, keys: KeyRing | None,
                 schedule: domain.BackupSchedule, retention_months: int, clock: Clock,
                 audit: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self.store = store
        self.directory = directory
        self.keys = keys
        self.schedule = schedule
        self.retention_months = retention_months
        self.clock = clock
        self._audit_write = audit
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def enabled(self) -> bool:
        return self.directory is not None and self.keys is not None

    async def _audit(self, subject_id: str, action: str, actor: str, detail: dict[str, Any]) -> None:
        await self._audit_write({"subject": "backup", "subject_id": subject_id, "action": action, "actor": actor,
                                 "at": self.clock.now(), "detail": detail})

    # ------------------------------------------------------------------ scheduled duties
    async def tick(self) -> list[str]:
        """One look at the clock: run the due backup periods not yet done, and the day's audit purge. Returns
        what it completed (a failed backup is recorded in its document and retried later)."""
        done: list[str] = []
        now = self.clock.now()
        if self.enabled:
            await self.store.expire_stale("backups", now)
            for period in domain.due_backups(now, self.schedule):
                result = await self._claim_and_run(period, trigger="scheduled", actor="system")
                if result is not None and result["status"] == "done":
                    done.append(period.backup_id)
        if await self.purge_audit_once() is not None:
            done.append("audit-retention")
        return done

    async def _claim_and_run(self, period: domain.BackupPeriod, *, trigger: str, actor: str) -> dict[str, Any] | None:
        now = self.clock.now()
        token = uuid.uuid4().hex
        claimed = await self.store.claim("backups", period.backup_id, {
            "kind": period.kind, "period": period.period, "trigger": trigger, "requested_by": actor,
            "due_at": period.due_at, "window_from": period.window_from, "window_to": period.window_to,
        }, now=now, lease_until=now + BACKUP_LEASE, token=token)
        if claimed is None:
            return None
        return await self._run(period, token, int(claimed.get("attempts", 1)), actor)

    async def _run(self, period: domain.BackupPeriod, token: str, attempts: int, actor: str) -> dict[str, Any]:
        assert self.directory is not None and self.keys is not None
        started = self.clock.now()
        stem = domain.backup_file_stem(period, token)
        try:
            manifest = await self._export(period, stem, started)
        except Exception as exc:
            raise_if_cancelling(exc)
            log.exception("backup %s failed (attempt %d)", period.backup_id, attempts)
            now = self.clock.now()
            result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:500], "finished_at": now,
                      "retry_at": domain.backup_retry_at(now, attempts)}
            await self.store.finish("backups", period.backup_id, token, result)
            BACKUPS_MADE.labels(period.kind, "failed").inc()
            await self._audit(period.backup_id, "backup_failed", actor, {"error": result["error"], "attempts": attempts})
            return {"_id": period.backup_id, **result}
        result = {"status": "done", "finished_at": self.clock.now(), "error": None, **{
            k: manifest[k] for k in ("file", "manifest", "bytes", "count", "collections", "sha256", "key_id",
                                     "format_version", "created_at")}}
        BACKUPS_MADE.labels(period.kind, "done").inc()
        BACKUP_LAST_DONE.labels(period.kind).set(result["finished_at"].timestamp())
        if not await self.store.finish("backups", period.backup_id, token, result):
            log.warning("backup %s finished after another attempt took it over; its file stays: %s",
                        period.backup_id, manifest["file"])
        await self._audit(period.backup_id, "backup_written", actor, {
            "file": manifest["file"], "count": manifest["count"], "sha256": manifest["sha256"], "key_id": manifest["key_id"]})
        log.info("backup %s written: %s (%d customers, %d bytes)", period.backup_id, manifest["file"],
                 manifest["count"], manifest["bytes"])
        return {"_id": period.backup_id, **result}

    async def _export(self, period: domain.BackupPeriod, stem: str, started: datetime) -> dict[str, Any]:
        assert self.directory is not None and self.keys is not None
        writer = await asyncio.to_thread(BackupWriter, self.directory, stem, self.keys, kind=period.kind,
                                         period=period.period, collections=BACKUP_COLLECTIONS)
        batch: list[bytes] = []

        async def flush(collection: str) -> None:
            # compression, encryption and the file write of a batch run off the event loop
            if batch:
                await asyncio.to_thread(writer.add_many, collection, batch.copy())
                batch.clear()

        async def write(collection: str, raws: AsyncIterator[bytes]) -> None:
            async for raw in raws:
                batch.append(raw)
                if len(batch) >= EXPORT_BATCH:
                    await flush(collection)
            await flush(collection)

        try:
            if period.window_from is not None and period.window_to is not None:
                ids: list[Any] = []

                async def customers() -> AsyncIterator[bytes]:
                    assert period.window_from is not None and period.window_to is not None
                    async for customer_id, raw in self.store.changed_customers(period.window_from, period.window_to):
                        ids.append(customer_id)
                        yield raw

                await write("customers", customers())
                await write("customer_keys", self.store.keys_of(ids))
                await write("customer_changes", self.store.changes_between(period.window_from, period.window_to))
            else:
                for collection in BACKUP_COLLECTIONS:
                    await write(collection, self.store.all_of(collection))
            sha256, size = await asyncio.to_thread(writer.finish)
        except BaseException:
            writer.abort()
            raise
        manifest = {
            "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "kind": period.kind, "period": period.period,
            "created_at": started.isoformat(), "file": writer.path.name, "bytes": size, "sha256": sha256,
            "key_id": writer.key_id, "cipher": "AES-256-GCM", "compression": "zlib", "encoding": "bson",
            "collections": writer.counts, "count": writer.counts["customers"],
            "window_from": period.window_from.isoformat() if period.window_from else None,
            "window_to": period.window_to.isoformat() if period.window_to else None,
        }
        manifest_file = manifest_path_for(writer.path)
        await asyncio.to_thread(write_manifest, manifest_file, {**manifest, "manifest": manifest_file.name})
        return {**manifest, "manifest": manifest_file.name, "created_at": started}

    # ------------------------------------------------------------------ administrators
    async def run_now(self, kind: domain.BackupKind, *, by: str) -> dict[str, Any]:
        """An administrator's backup, started at once in the background; the history shows its result."""
        if not self.enabled:
            raise BackupsDisabled()
        if await self.store.running_manual(kind):
            raise DomainError("backup_running", f"a manual {kind} backup is still running")
        now = self.clock.now()
        token = uuid.uuid4().hex
        period = domain.manual_backup(kind, now, self.schedule.timezone, token[:6])
        claimed = await self.store.claim("backups", period.backup_id, {
            "kind": period.kind, "period": period.period, "trigger": "manual", "requested_by": by,
            "due_at": period.due_at, "window_from": period.window_from, "window_to": period.window_to,
        }, now=now, lease_until=now + BACKUP_LEASE, token=token)
        assert claimed is not None  # a fresh id
        await self._audit(period.backup_id, "backup_requested", by, {"kind": kind})
        task = asyncio.create_task(self._run(period, token, 1, by), name=f"backup:{period.backup_id}")
        self._tasks.add(task)
        task.add_done_callback(self._settled)
        claimed.pop("token", None)
        return claimed

    async def load_metrics(self) -> None:
        """At start: the latest successful backup of each kind, for the age alert."""
        for kind in ("daily", "monthly"):
            latest = await self.store.latest_done(kind)
            if latest is not None:
                BACKUP_LAST_DONE.labels(kind).set(latest.timestamp())

    async def history(self, limit: int) -> dict[str, Any]:
        return {"enabled": self.enabled, "directory_configured": self.directory is not None,
                "key_id": self.keys.current if self.keys else None,
                "schedule": {"daily_at": self.schedule.daily_at.strftime("%H:%M"),
                             "monthly_day": self.schedule.monthly_day, "timezone": self.schedule.timezone},
                "backups": await self.store.list_backups(limit)}

    def _settled(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # the run could not even record its failure (database gone); its lease expires and shows it
            log.error("manual backup %s could not be recorded: %r", task.get_name(), exc)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)

    # ------------------------------------------------------------------ audit retention
    async def purge_audit_once(self) -> int | None:
        """The day's purge of audit entries older than ``retention_months`` calendar months (once per business
        day, claimed like a backup). The number purged, or None when it already ran today."""
        now = self.clock.now()
        await self.store.expire_stale("retention_runs", now)
        day = domain.audit_purge_period(now, self.schedule.timezone)
        token = uuid.uuid4().hex
        cutoff = months_before(now, self.retention_months, self.schedule.timezone)
        claimed = await self.store.claim("retention_runs", f"audit:{day}", {
            "kind": "audit", "period": day, "retention_months": self.retention_months, "cutoff": cutoff,
        }, now=now, lease_until=now + BACKUP_LEASE, token=token)
        if claimed is None:
            return None
        try:
            purged = await self.store.purge_audit_before(cutoff)
        except Exception as exc:
            raise_if_cancelling(exc)
            await self.store.finish("retention_runs", f"audit:{day}", token, {
                "status": "failed", "error": f"{type(exc).__name__}: {exc}"[:500], "finished_at": self.clock.now(),
                "retry_at": domain.backup_retry_at(self.clock.now(), int(claimed.get("attempts", 1)))})
            raise
        await self.store.finish("retention_runs", f"audit:{day}", token, {
            "status": "done", "purged": purged, "finished_at": self.clock.now()})
        AUDIT_PURGED.inc(purged)
        if purged:
            log.info("audit retention: %d entr%s older than %s purged", purged, "y" if purged == 1 else "ies", cutoff)
            await self._audit(f"audit:{day}", "audit_purged", "system", {"purged": purged, "cutoff": cutoff})
        return purged

    async def retention_status(self) -> dict[str, Any]:
        last = await self.store.last_retention_run()
        now = self.clock.now()
        return {"retention_months": self.retention_months,
                "cutoff_now": months_before(now, self.retention_months, self.schedule.timezone),
                "oldest_entry_at": await self.store.oldest_audit_at(),
                "last_purge_at": last.get("finished_at") if last else None,
                "last_purge_count": last.get("purged") if last else None,
                "last_cutoff": last.get("cutoff") if last else None}


# ================================================================== evidence files
class EvidenceService:
    """Evidence files on tickets (rules in evidence.py): upload streams the file into the GridFS bucket
    first (type decided from its first bytes before anything is written; size, UTF-8 text and SHA-256
    checked as it streams), then records it on the ticket with ``ticket.evidence_added`` in the same
    document write (outbox); when that write is refused or fails, the stored file is deleted again. Every
    upload, download, refusal of a download and removal is written to the audit log. A periodic sweep
    deletes files no ticket lists (an upload that died between the two writes, a removal whose delete
    failed)."""

    def __init__(self, intake: IntakeService, files: EvidenceStore, limits: EvidenceLimits | None = None, *,
                 orphan_grace: timedelta = timedelta(hours=1)) -> None:
        self.intake = intake
        self.files = files
        self.limits = limits or EvidenceLimits()
        self.orphan_grace = orphan_grace

    async def _ticket(self, ticket_id: str) -> Ticket | None:
        return await self.intake.store.get_ticket(ticket_id)

    async def list(self, ticket_id: str, *, by: str, privileged: bool) -> list[domain.EvidenceFile] | None:
        ticket = await self._ticket(ticket_id)
        if ticket is None:
            return None
        evidence.check_access(ticket, by, privileged)
        return ticket.evidence

    async def upload(self, ticket_id: str, *, by: str, privileged: bool, name: str | None, claimed: str | None,
                     chunks: AsyncIterator[bytes]) -> domain.EvidenceFile | None:
        """Store one file for the ticket; None when there is no such ticket. Raises EvidenceForbidden,
        EvidenceRefused (size, type, limits, state) — nothing is kept then."""
        ticket = await self._ticket(ticket_id)
        if ticket is None:
            return None
        evidence.check_upload(ticket, by, privileged, self.limits)
        source = aiter(chunks)
        head, complete = bytearray(), False
        while len(head) < evidence.SNIFF_BYTES:
            try:
                head += await anext(source)
            except StopAsyncIteration:
                complete = True
                break
        if not head:
            raise evidence.EvidenceRefused("empty_file", "the file is empty")
        content_type = evidence.decide_type(bytes(head[:evidence.SNIFF_BYTES]), name=name or "", claimed=claimed,
                                            complete=complete and len(head) <= evidence.SNIFF_BYTES)
        clean = evidence.clean_name(name, content_type)
        upload = self.files.open_upload(clean, {"ticket_id": ticket_id, "uploaded_by": by, "content_type": content_type})
        digest, size = hashlib.sha256(), 0
        text = evidence.TextCheck() if content_type == evidence.TEXT else None

        async def put(data: bytes) -> None:
            nonlocal size
            size += len(data)
            if size > self.limits.max_bytes:
                raise evidence.EvidenceRefused("file_too_large", f"a file may have at most {self.limits.max_bytes} bytes",
                                               max_bytes=self.limits.max_bytes)
            if text is not None:
                text.feed(data)
            digest.update(data)
            await upload.write(data)

        try:
            await put(bytes(head))
            if not complete:
                async for data in source:
                    await put(data)
            if text is not None:
                text.feed(b"", final=True)
            await upload.close()
        except BaseException as exc:
            await self._abort(upload, exc)
            raise
        now = datetime.now(UTC)
        file = domain.EvidenceFile(file_id=upload.file_id, name=clean, content_type=content_type, size=size,
                                   sha256=digest.hexdigest(), uploaded_by=by, uploaded_at=now)
        try:
            await self.files.finish(file.file_id, content_type, size, file.sha256)
            recorded = await self.intake._mutate(ticket_id, by, privileged, lambda t, _now: evidence.add(
                t, file, privileged=privileged, limits=self.limits))
        except BaseException:
            await self._forget(file.file_id)
            raise
        if recorded is None:
            await self._forget(file.file_id)
            return None
        await self.intake._audit("ticket", ticket_id, "evidence_upload", by, now, {
            "file_id": file.file_id, "name": file.name, "content_type": content_type, "size": size,
            "sha256": file.sha256})
        log.info("evidence %s (%s, %d bytes) added to ticket %s by %s", file.file_id, content_type, size,
                 ticket.ticket_no, by)
        return file

    async def _abort(self, upload: EvidenceUpload, cause: BaseException) -> None:
        try:
            await asyncio.shield(upload.abort())
        except Exception as exc:  # the chunks stay behind without a file document; logged for the operator
            log.warning("evidence upload %s could not be aborted after %r: %r", upload.file_id, cause, exc)

    async def _forget(self, file_id: str) -> None:
        try:
            await asyncio.shield(self.files.delete(file_id))
        except Exception as exc:  # the orphan sweep deletes it later
            log.warning("evidence %s not recorded on its ticket and not deleted yet (%r); the sweep will", file_id, exc)

    async def open(self, ticket_id: str, file_id: str, *, by: str, privileged: bool) -> tuple[domain.EvidenceFile, Any] | None:
        """The file's metadata and its download stream; None when there is no such ticket."""
        ticket = await self._ticket(ticket_id)
        if ticket is None:
            return None
        now = datetime.now(UTC)
        try:
            evidence.check_access(ticket, by, privileged)
        except evidence.EvidenceForbidden:
            await self.intake._audit("ticket", ticket_id, "evidence_download_refused", by, now, {"file_id": file_id})
            raise
        file = next((f for f in ticket.evidence if f.file_id == file_id), None)
        stream = await self.files.open_download(ticket_id, file_id) if file is not None else None
        if file is None or stream is None:
            if file is not None:
                log.error("evidence %s is listed on ticket %s but its content is missing", file_id, ticket.ticket_no)
            raise evidence.EvidenceRefused("evidence_not_found", "the ticket has no such file")
        await self.intake._audit("ticket", ticket_id, "evidence_download", by, now,
                                 {"file_id": file_id, "name": file.name, "size": file.size})
        return file, stream

    async def remove(self, ticket_id: str, file_id: str, *, by: str, reason: str) -> Ticket | None:
        """Take a file off the ticket (``ticket.evidence_removed``) and delete its content."""
        now = datetime.now(UTC)
        ticket = await self.intake._mutate(ticket_id, by, True, lambda t, at: evidence.remove(
            t, file_id, by=by, reason=reason, now=at))
        if ticket is None:
            return None
        await self._forget(file_id)
        await self.intake._audit("ticket", ticket_id, "evidence_remove", by, now,
                                 {"file_id": file_id, "reason": redact_text(reason)[:500]})
        return ticket

    async def sweep_orphans(self, now: datetime | None = None, limit: int = 500) -> int:
        """Delete stored files older than the grace time that no ticket lists."""
        if not self.files.available:
            return 0
        cutoff = (now or datetime.now(UTC)) - self.orphan_grace
        deleted = 0
        for file_id, ticket_id in await self.files.stored_before(cutoff, limit):
            if file_id not in await self.files.ticket_file_ids(ticket_id):
                deleted += await self.files.delete(file_id)
        return deleted
