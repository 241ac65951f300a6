"""Intake's use cases: domain decisions + store writes + outbox flush. Called by both the broker
handlers and the HTTP API, so the two doors behave the same."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
from servicekit.context import raise_if_cancelling
from servicekit.notify import Notification, Notifier
from servicekit.outbox import Outbox

from . import domain
from .crypto import FieldCipher
from .domain import Change, Customer, DomainError, Ticket, TimelineEntry
from .store import IntakeStore

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
        """Load → decide → compare-and-set (state + events + timeline in one update) → publish → audit."""
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
