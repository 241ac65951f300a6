"""Intake's pure decisions: ticket numbers, customer identification keys, completeness, masking,
ticket lifecycle transitions. No I/O here."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from contracts import (
    Category,
    Channel,
    CustomerContact,
    CustomerTier,
    Module,
    Priority,
    TicketCreated,
    TicketCreatedPayload,
    TicketResolved,
    TicketResolvedPayload,
    TicketStatus,
    TicketStatusChanged,
    TicketStatusChangedPayload,
    TicketSubmission,
)
from servicekit.privacy import mask_name, redact_text

PRODUCER = "intake"


class DomainError(Exception):
    """A request the ticket's state does not allow (mapped to 409 by the API)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# ----------------------------------------------------------------------------- numbers and names
def business_day(at: datetime, tz: str) -> date:
    """The calendar day of ``at`` in the business time zone (ticket numbers follow local days)."""
    return at.astimezone(ZoneInfo(tz)).date()


def format_ticket_no(day: date, seq: int) -> str:
    """``GD`` + yyyymmdd + daily sequence, at least 3 digits (GD20261125001, … GD202611251000)."""
    if seq < 1:
        raise ValueError("ticket sequence starts at 1")
    return f"GD{day:%Y%m%d}{seq:03d}"


def ticket_id_for(channel: Channel | str, channel_message_id: str) -> str:
    """The ticket id is derived from (channel, channel message id): a resubmission of the same contact
    finds its ticket by primary key, and two concurrent deliveries cannot both insert."""
    channel_value = channel.value if isinstance(channel, Channel) else channel
    return hashlib.sha256(f"{channel_value}\x00{channel_message_id}".encode()).hexdigest()[:32]


def _letters(n: int) -> str:
    out = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(ord("A") + rem) + out
    return out


def customer_display(customer_seq: int) -> str:
    """Masked display name used in tickets and events: 客户A-0001 … 客户A-9999, 客户B-0000 …"""
    if customer_seq < 1:
        raise ValueError("customer sequence starts at 1")
    return f"客户{_letters(customer_seq // 10_000)}-{customer_seq % 10_000:04d}"


# ----------------------------------------------------------------------------- identification
def normalize_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def identity_claims(contact: CustomerContact) -> list[str]:
    """Normalised identifiers a customer can be recognised by (phone, e-mail, chat session, device,
    social handle, customer number), strongest first."""
    claims: list[str] = []
    if contact.customer_ref:
        claims.append(f"ref:{contact.customer_ref.strip().upper()}")
    if contact.phone:
        claims.append(f"phone:{normalize_phone(contact.phone)}")
    if contact.email:
        claims.append(f"email:{contact.email.strip().lower()}")
    if contact.social_handle:
        claims.append(f"social:{contact.social_handle.strip().lower()}")
    if contact.device_id:
        claims.append(f"device:{contact.device_id.strip()}")
    if contact.chat_session_id:
        claims.append(f"chat:{contact.chat_session_id.strip()}")
    return claims


def lookup_key(claim: str, pepper: str) -> str:
    """Keyed hash of an identifier: customers are found by it without storing the raw value."""
    return hmac.new(pepper.encode(), claim.encode(), hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------- completeness
_ORDER_NO = re.compile(r"(?:订单号?|order\s*(?:no\.?|number|#)?)\s*[:：#]?\s*([A-Za-z0-9\-]{6,32})", re.IGNORECASE)


def extract_order_number(text: str) -> str | None:
    match = _ORDER_NO.search(text or "")
    return match.group(1) if match else None


def missing_information(sub: TicketSubmission) -> list[str]:
    """What a ticket cannot be worked without (seed 000 completeness check)."""
    missing: list[str] = []
    if not (sub.description.strip() or sub.subject.strip()):
        missing.append("description")
    if not identity_claims(sub.customer):
        missing.append("contact")
    return missing


# ----------------------------------------------------------------------------- the ticket
class Ticket(BaseModel):
    ticket_id: str
    ticket_no: str
    correlation_id: str
    channel: Channel
    channel_message_id: str
    customer_id: str
    customer_display: str
    customer_tier: CustomerTier = CustomerTier.NORMAL
    subject: str = ""
    description: str = ""
    order_number: str | None = None
    status: TicketStatus = TicketStatus.NEW
    missing_fields: list[str] = Field(default_factory=list)
    category: Category | None = None
    module: Module | None = None
    priority: Priority | None = None
    assignee_id: str | None = None
    assignee_name: str | None = None
    team: str | None = None
    resolution_summary: str | None = None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None


class Customer(BaseModel):
    customer_id: str
    customer_no: int
    display: str
    name_masked: str | None = None
    tier: CustomerTier = CustomerTier.NORMAL
    first_contact_at: datetime
    last_contact_at: datetime
    source_channel: Channel


def new_customer(customer_id: str, customer_no: int, contact: CustomerContact, channel: Channel, now: datetime) -> Customer:
    return Customer(
        customer_id=customer_id,
        customer_no=customer_no,
        display=customer_display(customer_no),
        name_masked=mask_name(contact.name),
        first_contact_at=now,
        last_contact_at=now,
        source_channel=channel,
    )


def open_ticket(
    sub: TicketSubmission, *, ticket_id: str, ticket_no: str, customer: Customer, now: datetime
) -> tuple[Ticket, TicketCreated]:
    """A new ticket from a submission, with its ``ticket.created`` event. Free text is redacted of
    phone numbers, e-mails and ID numbers before it is stored on the ticket or put in the event."""
    missing = missing_information(sub)
    subject, description = redact_text(sub.subject.strip()), redact_text(sub.description.strip())
    order_number = sub.order_number or extract_order_number(f"{sub.subject} {sub.description}")
    ticket = Ticket(
        ticket_id=ticket_id,
        ticket_no=ticket_no,
        correlation_id=sub.correlation_id or ticket_id,
        channel=sub.channel,
        channel_message_id=sub.channel_message_id,
        customer_id=customer.customer_id,
        customer_display=customer.display,
        customer_tier=customer.tier,
        subject=subject,
        description=description,
        order_number=order_number,
        status=TicketStatus.NEEDS_INFO if missing else TicketStatus.NEW,
        missing_fields=missing,
        created_at=sub.submitted_at or now,
        updated_at=now,
    )
    event = TicketCreated.new(
        TicketCreatedPayload(
            ticket_id=ticket.ticket_id,
            ticket_no=ticket.ticket_no,
            channel=ticket.channel,
            channel_message_id=ticket.channel_message_id,
            customer_id=ticket.customer_id,
            customer_display=ticket.customer_display,
            customer_tier=ticket.customer_tier,
            subject=ticket.subject,
            description=ticket.description,
            has_order_number=order_number is not None,
            status=ticket.status,
            missing_fields=missing,
            created_at=ticket.created_at,
        ),
        correlation_id=ticket.correlation_id,
        producer=PRODUCER,
        occurred_at=ticket.created_at,
    )
    return ticket, event


RESOLVABLE = {TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.PENDING_CUSTOMER, TicketStatus.REOPENED}


def resolve(
    ticket: Ticket, *, by: str, summary: str, now: datetime
) -> tuple[Ticket, list[TicketStatusChanged | TicketResolved]]:
    """Record the result of a ticket being worked (seed 002 step 5)."""
    if ticket.status not in RESOLVABLE:
        raise DomainError("invalid_transition", f"a ticket in status {ticket.status} cannot be resolved")
    summary = redact_text(summary.strip())
    updated = ticket.model_copy(
        update={"status": TicketStatus.RESOLVED, "resolution_summary": summary, "resolved_at": now, "updated_at": now}
    )
    changed = TicketStatusChanged.new(
        TicketStatusChangedPayload(
            ticket_id=ticket.ticket_id, ticket_no=ticket.ticket_no, from_status=ticket.status,
            to_status=TicketStatus.RESOLVED, changed_by=by, changed_at=now,
        ),
        correlation_id=ticket.correlation_id, producer=PRODUCER, occurred_at=now,
    )
    resolved = TicketResolved.new(
        TicketResolvedPayload(
            ticket_id=ticket.ticket_id, ticket_no=ticket.ticket_no, agent_id=ticket.assignee_id or by,
            channel=ticket.channel, customer_id=ticket.customer_id, customer_display=ticket.customer_display,
            resolution_summary=summary, resolved_at=now,
        ),
        correlation_id=ticket.correlation_id, producer=PRODUCER, occurred_at=now,
    )
    return updated, [changed, resolved]


def status_after_assignment(status: TicketStatus) -> TicketStatus:
    """An assignment moves a waiting ticket to ``assigned``; a ticket already further along keeps its
    status (assignments can arrive late or after a transfer)."""
    if status in (TicketStatus.NEW, TicketStatus.REOPENED):
        return TicketStatus.ASSIGNED
    return status
