"""Intake's pure decisions: ticket numbers, customer identification keys, completeness, masking,
ticket lifecycle transitions. No I/O here."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from contracts import (
    Category,
    Channel,
    CustomerContact,
    CustomerMessage,
    CustomerTier,
    Module,
    Priority,
    Event,
    SurveyCompleted,
    TicketAcknowledged,
    TicketAssigned,
    TicketClosed,
    TicketClosedPayload,
    TicketCreated,
    TicketCustomerReplied,
    TicketCustomerRepliedPayload,
    TicketCreatedPayload,
    TicketReopened,
    TicketReopenedPayload,
    TicketResponded,
    TicketRespondedPayload,
    TicketResolved,
    TicketResolvedPayload,
    TicketStatus,
    TicketStatusChanged,
    TicketStatusChangedPayload,
    TicketSubmission,
    TicketTransferred,
)
from servicekit.privacy import mask_email, mask_id_number, mask_name, mask_phone, redact_text

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


# ----------------------------------------------------------------------------- fact extraction
_ORDER_NO = re.compile(r"(?:订单号?|order\s*(?:no\.?|number|#)?)\s*[:：#]?\s*([A-Za-z0-9\-]{6,32})", re.IGNORECASE)
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86[ \-]?)?(1[3-9]\d[ \-]?\d{4}[ \-]?\d{4})(?!\d)")

PRODUCT_KEYWORDS: tuple[str, ...] = (
    "手机", "电脑", "笔记本", "平板", "耳机", "手表", "路由器", "充电器", "电视", "显示器", "打印机", "相机", "音箱",
    "phone", "laptop", "tablet", "headphones", "earbuds", "watch", "router", "charger", "tv", "monitor", "printer",
)
AFTER_SALES_TERMS: tuple[str, ...] = (
    "售后", "退货", "换货", "退款", "维修", "保修", "返修", "补发",
    "refund", "return", "repair", "warranty", "replacement",
)


def extract_order_number(text: str) -> str | None:
    match = _ORDER_NO.search(text or "")
    return match.group(1) if match else None


def extract_phones(text: str) -> list[str]:
    """Mobile numbers written in free text (e-mail bodies), normalised, de-duplicated."""
    return list(dict.fromkeys(normalize_phone(m) for m in _PHONE_IN_TEXT.findall(text or "")))


def extract_products(text: str) -> list[str]:
    lowered = (text or "").lower()
    return [k for k in PRODUCT_KEYWORDS if re.search(rf"(?<![a-z]){re.escape(k)}(?![a-z])", lowered)]


def looks_after_sales(text: str) -> bool:
    lowered = (text or "").lower()
    return any(term in lowered for term in AFTER_SALES_TERMS)


class TicketFacts(BaseModel):
    """Key facts pulled out of the customer's words (seed 000: 留言/邮件 → 自动提取). Phone numbers are
    kept masked only; the real number goes (encrypted) into the customer profile."""

    order_numbers: list[str] = Field(default_factory=list)
    phones_masked: list[str] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)
    after_sales: bool = False


def extract_facts(sub: TicketSubmission) -> TicketFacts:
    text = f"{sub.subject}\n{sub.description}"
    orders = [o for o in [sub.order_number, extract_order_number(text)] if o]
    return TicketFacts(
        order_numbers=list(dict.fromkeys(orders)),
        phones_masked=[m for p in extract_phones(text) if (m := mask_phone(p))],
        products=extract_products(text),
        after_sales=looks_after_sales(text),
    )


# ----------------------------------------------------------------------------- completeness
def missing_information(sub: TicketSubmission) -> list[str]:
    """What a ticket cannot be worked without (seed 000 completeness check): a description, a way to
    reach the customer, and for after-sales requests an order reference."""
    missing: list[str] = []
    if not (sub.description.strip() or sub.subject.strip()):
        missing.append("description")
    if not identity_claims(sub.customer):
        missing.append("contact")
    facts = extract_facts(sub)
    if facts.after_sales and not facts.order_numbers:
        missing.append("order_number")
    return missing


def still_missing(missing: list[str], *, description: str, has_contact: bool, order_number: str | None) -> list[str]:
    """Re-run the completeness check after the customer supplied information."""
    out: list[str] = []
    for name in missing:
        if name == "description" and description.strip():
            continue
        if name == "contact" and has_contact:
            continue
        if name == "order_number" and order_number:
            continue
        out.append(name)
    return out


# ----------------------------------------------------------------------------- the ticket
class SolutionType(StrEnum):
    """How the problem was solved (seed 002 step 3: 知识库文档 / 补偿方案 …)."""

    KNOWLEDGE_BASE = "knowledge_base"
    GUIDANCE = "guidance"
    REPAIR = "repair"
    REPLACEMENT = "replacement"
    REFUND = "refund"
    COMPENSATION_COUPON = "compensation_coupon"
    EXPEDITED_DELIVERY = "expedited_delivery"
    ESCALATED_FIX = "escalated_fix"
    OTHER = "other"


class Compensation(BaseModel):
    kind: Literal["coupon", "discount", "gift"] = "coupon"
    amount_cny: float = Field(ge=0, le=100_000)
    note: str = Field(default="", max_length=500)


ALLOWED_ATTACHMENT_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "audio/mpeg", "audio/wav",
     "video/mp4", "application/zip"}
)
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


class AttachmentMeta(BaseModel):
    """Metadata of a file kept by the channel/file store (the bytes never pass through intake)."""

    name: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=3, max_length=100)
    size_bytes: int = Field(ge=1, le=MAX_ATTACHMENT_BYTES)
    url: str = Field(default="", max_length=2048)


class EvidenceFile(BaseModel):
    """A file staff attached to a ticket as evidence (content in intake's GridFS bucket; see evidence.py)."""

    file_id: str
    name: str = Field(description="The uploader's file name, cleaned (no path, no control characters).")
    content_type: str = Field(description="Detected from the bytes, never from the name.")
    size: int = Field(ge=1)
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class TimelineEntry(BaseModel):
    entry_id: str
    at: datetime
    actor: str
    kind: str = Field(description="note, contacted_customer, reply, status, assignment, result, confirmation …")
    text: str = ""
    visibility: Literal["internal", "customer"] = "internal"
    from_status: TicketStatus | None = None
    to_status: TicketStatus | None = None
    data: dict[str, Any] = Field(default_factory=dict)


def timeline_entry(actor: str, kind: str, now: datetime, text: str = "", **kw: Any) -> TimelineEntry:
    return TimelineEntry(entry_id=uuid.uuid4().hex, at=now, actor=actor, kind=kind, text=redact_text(text), **kw)


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
    facts: TicketFacts = Field(default_factory=TicketFacts)
    status: TicketStatus = TicketStatus.NEW
    missing_fields: list[str] = Field(default_factory=list)
    category: Category | None = None
    module: Module | None = None
    priority: Priority | None = None
    classified_at: datetime | None = None
    assignee_id: str | None = None
    assignee_name: str | None = None
    team: str | None = None
    assignment_at: datetime | None = None
    acknowledged_at: datetime | None = None
    first_response_at: datetime | None = None
    first_response_by: str | None = None
    pending_since: datetime | None = None
    resolution_summary: str | None = None
    solution_type: SolutionType | None = None
    compensation: Compensation | None = None
    attachments: list[AttachmentMeta] = Field(default_factory=list)
    evidence: list[EvidenceFile] = Field(default_factory=list, description="Files staff attached (evidence.py).")
    resolved_by: str | None = None
    customer_confirmed: bool | None = None
    customer_confirmed_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    reopen_count: int = 0
    reopened_at: datetime | None = None
    satisfaction: dict[str, Any] | None = None
    thread_keys: list[str] = Field(default_factory=list, description="Channel conversation keys (channel:key) of this ticket.")
    customer_messages: int = Field(default=0, description="The customer's further messages (after the opening one).")
    awaiting_reply_since: datetime | None = Field(default=None, description="Since when the customer waits for an answer.")
    linked_ticket_id: str | None = Field(default=None, description="The earlier ticket this one continues (a late reply).")
    review_flags: list[str] = Field(default_factory=list, description="Why a supervisor should look at this ticket.")
    incident_id: str | None = Field(default=None, description="The incident (crisis mode) the dispatcher linked it to.")
    incident_title: str | None = None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    version: int = 0


# ----------------------------------------------------------------------------- customers
class CustomerKind(StrEnum):
    INDIVIDUAL = "individual"
    ENTERPRISE = "enterprise"


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    DORMANT = "dormant"  # 待激活: no contact for 6 months (seed 003)


SENSITIVE_FIELDS: tuple[str, ...] = ("name", "phone", "email", "id_number", "address", "contact_person")
"""Personal data kept encrypted at rest and shown in clear only to supervisors and admins."""
PLAIN_FIELDS: tuple[str, ...] = ("kind", "company_name", "credit_code", "industry", "tier", "source", "consent_sensitive")


def mask_address(value: str | None) -> str | None:
    if not value:
        return value
    return value[:6] + "***"


_MASKERS = {
    "name": mask_name, "phone": mask_phone, "email": mask_email, "id_number": mask_id_number,
    "address": mask_address, "contact_person": mask_name,
}


def mask_field(field_name: str, value: Any) -> Any:
    """The masked form of a profile value (non-sensitive fields unchanged)."""
    masker = _MASKERS.get(field_name)
    if masker is None or value is None:
        return value
    return masker(str(value))


class Customer(BaseModel):
    customer_id: str
    customer_no: int
    display: str
    kind: CustomerKind = CustomerKind.INDIVIDUAL
    name_masked: str | None = None
    masked: dict[str, str] = Field(default_factory=dict, description="Masked value of each sensitive field held.")
    encrypted: dict[str, str] = Field(default_factory=dict, description="Ciphertext of each sensitive field held.")
    company_name: str | None = None
    credit_code: str | None = None
    industry: str | None = None
    tier: CustomerTier = CustomerTier.NORMAL
    status: CustomerStatus = CustomerStatus.ACTIVE
    source: str = Field(default="", description="Information source: 电话咨询, 官网注册, 渠道推荐 …")
    consent_sensitive: bool = False
    consent_at: datetime | None = None
    first_contact_at: datetime
    last_contact_at: datetime
    source_channel: Channel
    ticket_count: int = 0
    updated_at: datetime | None = None


CHANNEL_SOURCE = {
    Channel.PHONE: "电话咨询", Channel.ONLINE_CHAT: "在线客服", Channel.EMAIL: "邮件",
    Channel.SOCIAL: "社交媒体", Channel.WEB_FORM: "官网留言",
}


def contact_profile_values(contact: CustomerContact, extra_phone: str | None = None) -> dict[str, str]:
    """Sensitive values a channel contact carries (data minimisation: only what was given)."""
    values: dict[str, str] = {}
    if contact.name:
        values["name"] = contact.name.strip()
    if contact.phone:
        values["phone"] = normalize_phone(contact.phone)
    elif extra_phone:
        values["phone"] = extra_phone
    if contact.email:
        values["email"] = contact.email.strip().lower()
    return values


def new_customer(customer_id: str, customer_no: int, contact: CustomerContact, channel: Channel, now: datetime) -> Customer:
    return Customer(
        customer_id=customer_id,
        customer_no=customer_no,
        display=customer_display(customer_no),
        kind=CustomerKind.ENTERPRISE if contact.company_name else CustomerKind.INDIVIDUAL,
        company_name=contact.company_name,
        name_masked=mask_name(contact.name),
        first_contact_at=now,
        last_contact_at=now,
        source_channel=channel,
        source=CHANNEL_SOURCE[channel],
        updated_at=now,
    )


class FieldChange(BaseModel):
    field: str
    before: Any = None
    after: Any = None


def profile_changes(current: dict[str, Any], wanted: dict[str, Any]) -> list[FieldChange]:
    """Field-by-field differences, with sensitive values masked (the change log never holds clear data)."""
    out: list[FieldChange] = []
    for name, value in wanted.items():
        if current.get(name) != value:
            out.append(FieldChange(field=name, before=mask_field(name, current.get(name)), after=mask_field(name, value)))
    return out


def is_dormant(customer: Customer, now: datetime, dormant_after: timedelta) -> bool:
    return customer.status == CustomerStatus.ACTIVE and customer.last_contact_at <= now - dormant_after


# ----------------------------------------------------------------------------- opening a ticket
def open_ticket(
    sub: TicketSubmission, *, ticket_id: str, ticket_no: str, customer: Customer, now: datetime
) -> tuple[Ticket, list[Event]]:
    """A new ticket from a submission, with its ``ticket.created`` event (and ``ticket.status_changed``
    to ``needs_info`` when the completeness check fails, so the channel can prompt the customer). Free
    text is redacted of phone numbers, e-mails and ID numbers before it is stored or published."""
    missing = missing_information(sub)
    facts = extract_facts(sub)
    subject, description = redact_text(sub.subject.strip()), redact_text(sub.description.strip())
    order_number = facts.order_numbers[0] if facts.order_numbers else None
    created_at = sub.submitted_at or now
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
        facts=facts,
        status=TicketStatus.NEEDS_INFO if missing else TicketStatus.NEW,
        missing_fields=missing,
        thread_keys=thread_keys_for(sub),
        created_at=created_at,
        updated_at=now,
    )
    events: list[Event] = [TicketCreated.new(
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
            tags=[f"product:{p}" for p in facts.products],
            created_at=ticket.created_at,
        ),
        correlation_id=ticket.correlation_id,
        producer=PRODUCER,
        occurred_at=ticket.created_at,
    )]
    if missing:
        events.append(_status_event(ticket, TicketStatus.NEW, TicketStatus.NEEDS_INFO, by="system", now=created_at,
                                    reason="information missing: " + ", ".join(missing), missing=missing))
    return ticket, events


# ----------------------------------------------------------------------------- lifecycle
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset({TicketStatus.NEEDS_INFO, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS,
                                 TicketStatus.CLOSED}),
    TicketStatus.NEEDS_INFO: frozenset({TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.CLOSED}),
    TicketStatus.ASSIGNED: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.PENDING_CUSTOMER, TicketStatus.RESOLVED,
                                      TicketStatus.CLOSED}),
    TicketStatus.IN_PROGRESS: frozenset({TicketStatus.PENDING_CUSTOMER, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.PENDING_CUSTOMER: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED, TicketStatus.REOPENED}),
    TicketStatus.CLOSED: frozenset({TicketStatus.REOPENED}),
    TicketStatus.REOPENED: frozenset({TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.PENDING_CUSTOMER,
                                      TicketStatus.RESOLVED, TicketStatus.CLOSED}),
}
RESOLVABLE = frozenset(s for s, targets in TRANSITIONS.items() if TicketStatus.RESOLVED in targets)
OPEN_STATUSES = frozenset(TicketStatus) - {TicketStatus.RESOLVED, TicketStatus.CLOSED}


def can_transition(src: TicketStatus, dst: TicketStatus) -> bool:
    return dst in TRANSITIONS.get(src, frozenset())


@dataclass
class Change:
    """The outcome of one decision: the new ticket, the events it causes, what the timeline records."""

    ticket: Ticket
    events: list[Event] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    action: str = ""


def _ref(ticket: Ticket) -> dict[str, str]:
    return {"ticket_id": ticket.ticket_id, "ticket_no": ticket.ticket_no}


def _status_event(ticket: Ticket, src: TicketStatus, dst: TicketStatus, *, by: str, now: datetime, reason: str = "",
                  missing: list[str] | None = None) -> TicketStatusChanged:
    return TicketStatusChanged.new(
        TicketStatusChangedPayload(**_ref(ticket), from_status=src, to_status=dst, changed_by=by,
                                   reason=redact_text(reason)[:1000], missing_fields=missing or [], changed_at=now),
        correlation_id=ticket.correlation_id, producer=PRODUCER, occurred_at=now,
    )


def transition(ticket: Ticket, to: TicketStatus, *, by: str, now: datetime, reason: str = "",
               updates: dict[str, Any] | None = None, missing: list[str] | None = None) -> Change:
    """Move the ticket to ``to`` (DomainError ``invalid_transition`` when the lifecycle forbids it)."""
    if not can_transition(ticket.status, to):
        raise DomainError("invalid_transition", f"a ticket in status {ticket.status.value} cannot move to {to.value}")
    fields: dict[str, Any] = {"status": to, "updated_at": now, **(updates or {})}
    if to == TicketStatus.PENDING_CUSTOMER:
        fields.setdefault("pending_since", now)
    elif ticket.status == TicketStatus.PENDING_CUSTOMER:
        fields.setdefault("pending_since", None)
    updated = ticket.model_copy(update=fields)
    event = _status_event(ticket, ticket.status, to, by=by, now=now, reason=reason, missing=missing)
    entry = timeline_entry(by, "status", now, reason, from_status=ticket.status, to_status=to)
    return Change(updated, [event], [entry], action=f"status:{to.value}")


AGENT_SETTABLE = frozenset({TicketStatus.IN_PROGRESS, TicketStatus.PENDING_CUSTOMER})


def change_status(ticket: Ticket, to: TicketStatus, *, by: str, now: datetime, reason: str = "") -> Change:
    """An agent starts work, waits for the customer (pauses the clock) or resumes."""
    if to not in AGENT_SETTABLE:
        raise DomainError("use_dedicated_action", f"status {to.value} is set by its own action (resolve, close, reopen)")
    if to == TicketStatus.PENDING_CUSTOMER and not reason.strip():
        raise DomainError("reason_required", "say what the customer is expected to provide")
    return transition(ticket, to, by=by, now=now, reason=reason)


def respond(ticket: Ticket, *, by: str, now: datetime, text: str, kind: str = "reply",
            visibility: Literal["internal", "customer"] = "customer") -> Change:
    """An agent contacted or answered the customer. The first one stops the first-response clock
    (``ticket.responded``); a ticket not yet being worked moves to ``in_progress``."""
    if ticket.status in (TicketStatus.CLOSED, TicketStatus.NEEDS_INFO) and kind != "note":
        raise DomainError("invalid_transition", f"a ticket in status {ticket.status.value} cannot be answered")
    change = Change(ticket, action=kind)
    if ticket.status in (TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.REOPENED):
        change = transition(ticket, TicketStatus.IN_PROGRESS, by=by, now=now, reason="agent contacted the customer")
        change.action = kind
    change.timeline.insert(0, timeline_entry(by, kind, now, text, visibility=visibility))
    first = ticket.first_response_at is None
    if first:
        change.ticket = change.ticket.model_copy(update={"first_response_at": now, "first_response_by": by,
                                                          "updated_at": now})
    if first or (visibility == "customer" and ticket.awaiting_reply_since is not None):
        # the first answer stops the first-response target; a later one the next-response target that the
        # customer's last message started (SLA monitor)
        change.events.append(TicketResponded.new(
            TicketRespondedPayload(**_ref(ticket), agent_id=by, responded_at=now, first_response=first),
            correlation_id=ticket.correlation_id, producer=PRODUCER, occurred_at=now,
        ))
    if visibility == "customer" and change.ticket.awaiting_reply_since is not None:
        change.ticket = change.ticket.model_copy(update={"awaiting_reply_since": None, "updated_at": now})
    return change


def add_note(ticket: Ticket, *, by: str, now: datetime, text: str, visibility: Literal["internal", "customer"],
             contacted_customer: bool = False) -> Change:
    """A progress note (已联系客户 / 问题排查中 / 等待配件寄送 …). A note that records contact with the
    customer, or is visible to them, is a response."""
    if ticket.status == TicketStatus.CLOSED:
        raise DomainError("ticket_closed", "a closed ticket takes no more notes; reopen it first")
    if contacted_customer or visibility == "customer":
        return respond(ticket, by=by, now=now, text=text, kind="contacted_customer" if contacted_customer else "reply",
                       visibility=visibility)
    updated = ticket.model_copy(update={"updated_at": now})
    return Change(updated, [], [timeline_entry(by, "note", now, text, visibility=visibility)], action="note")


def resolve(
    ticket: Ticket, *, by: str, summary: str, now: datetime, solution_type: SolutionType | None = None,
    compensation: Compensation | None = None, attachments: list[AttachmentMeta] | None = None,
    max_compensation_cny: float = 200.0, may_exceed_policy: bool = False,
) -> tuple[Ticket, list[Event]]:
    """Record the result of a ticket being worked (seed 002 step 5)."""
    change = resolve_change(ticket, by=by, summary=summary, now=now, solution_type=solution_type,
                            compensation=compensation, attachments=attachments,
                            max_compensation_cny=max_compensation_cny, may_exceed_policy=may_exceed_policy)
    return change.ticket, change.events


def resolve_change(
    ticket: Ticket, *, by: str, summary: str, now: datetime, solution_type: SolutionType | None = None,
    compensation: Compensation | None = None, attachments: list[AttachmentMeta] | None = None,
    max_compensation_cny: float = 200.0, may_exceed_policy: bool = False,
) -> Change:
    if ticket.status not in RESOLVABLE:
        raise DomainError("invalid_transition", f"a ticket in status {ticket.status.value} cannot be resolved")
    if compensation is not None and solution_type is None:
        solution_type = SolutionType.COMPENSATION_COUPON
    if solution_type == SolutionType.COMPENSATION_COUPON and compensation is None:
        raise DomainError("compensation_required", "a compensation coupon result needs the compensation amount")
    if compensation is not None and compensation.amount_cny > max_compensation_cny and not may_exceed_policy:
        raise DomainError("compensation_over_policy",
                          f"compensation above {max_compensation_cny:g} CNY needs a supervisor")
    files = list(attachments or [])
    bad = [a.name for a in files if a.content_type not in ALLOWED_ATTACHMENT_TYPES]
    if bad:
        raise DomainError("attachment_type_not_allowed", f"attachment type not allowed: {', '.join(bad)}")
    summary = redact_text(summary.strip())
    change = transition(ticket, TicketStatus.RESOLVED, by=by, now=now, updates={
        "resolution_summary": summary, "resolved_at": now, "resolved_by": by, "solution_type": solution_type,
        "compensation": compensation, "attachments": [*ticket.attachments, *files], "customer_confirmed": None,
        "customer_confirmed_at": None,
    })
    change.timeline.append(timeline_entry(by, "result", now, summary, data={
        "solution_type": solution_type.value if solution_type else None,
        "compensation": compensation.model_dump() if compensation else None,
        "attachments": [a.model_dump() for a in files],
    }))
    change.events.append(TicketResolved.new(
        TicketResolvedPayload(
            **_ref(ticket), agent_id=ticket.assignee_id or by, channel=ticket.channel, customer_id=ticket.customer_id,
            customer_display=ticket.customer_display, resolution_summary=summary, resolved_at=now,
        ),
        correlation_id=ticket.correlation_id, producer=PRODUCER, occurred_at=now,
    ))
    change.action = "resolve"
    return change


def close(ticket: Ticket, *, by: str, now: datetime, reason: str = "", privileged: bool = False) -> Change:
    """Close a resolved ticket; only a supervisor (``privileged``) may close one that was never resolved
    (spam, duplicate, withdrawn), and then a reason is required."""
    if ticket.status != TicketStatus.RESOLVED:
        if ticket.status == TicketStatus.CLOSED or not privileged:
            raise DomainError("invalid_transition", f"a ticket in status {ticket.status.value} cannot be closed"
                              + ("" if privileged or ticket.status == TicketStatus.CLOSED else " by an agent"))
        if not reason.strip():
            raise DomainError("reason_required", "closing an unresolved ticket needs a reason")
    change = transition(ticket, TicketStatus.CLOSED, by=by, now=now, reason=reason,
                        updates={"closed_at": now, "closed_by": by, "close_reason": redact_text(reason)})
    change.events.append(TicketClosed.new(
        TicketClosedPayload(**_ref(ticket), closed_by=by, reason=redact_text(reason)[:1000], closed_at=now),
        correlation_id=ticket.correlation_id, producer=PRODUCER, occurred_at=now,
    ))
    change.action = "close"
    return change


def reopen(ticket: Ticket, *, by: str, now: datetime, reason: str, source: Literal["survey", "customer", "staff"],
           privileged: bool = False) -> Change:
    """Back to work after a bad survey answer, the customer, or staff (seed 002 step 6-7: 二次处理)."""
    if not reason.strip():
        raise DomainError("reason_required", "a reopen needs a reason")
    if ticket.status == TicketStatus.CLOSED and source == "staff" and not privileged:
        raise DomainError("invalid_transition", "only a supervisor can reopen a closed ticket")
    count = ticket.reopen_count + 1
    change = transition(ticket, TicketStatus.REOPENED, by=by, now=now, reason=reason, updates={
        "reopen_count": count, "reopened_at": now, "closed_at": None, "closed_by": None, "close_reason": None,
    })
    change.events.append(TicketReopened.new(
        TicketReopenedPayload(**_ref(ticket), reason=redact_text(reason)[:1000], source=source, reopen_count=count,
                              agent_id=ticket.assignee_id, reopened_at=now),
        correlation_id=ticket.correlation_id, producer=PRODUCER, occurred_at=now,
    ))
    change.action = "reopen"
    return change


def confirm(ticket: Ticket, *, by: str, now: datetime, confirmed: bool, note: str = "") -> Change:
    """The customer's confirmation of the result (seed 002 step 6): yes is recorded; no reopens."""
    if ticket.status != TicketStatus.RESOLVED:
        raise DomainError("invalid_transition", "only a resolved ticket can be confirmed by the customer")
    if not confirmed:
        change = reopen(ticket, by=by, now=now, reason=note or "customer says the problem is not solved",
                        source="customer")
        change.ticket = change.ticket.model_copy(update={"customer_confirmed": False, "customer_confirmed_at": now})
        return change
    updated = ticket.model_copy(update={"customer_confirmed": True, "customer_confirmed_at": now, "updated_at": now})
    return Change(updated, [], [timeline_entry(by, "confirmation", now, note or "customer confirmed the result",
                                               visibility="customer")], action="confirm")


def supply_info(ticket: Ticket, *, by: str, now: datetime, description: str = "", order_number: str | None = None,
                has_contact: bool = False) -> Change:
    """Information the completeness check asked for arrived: a complete ticket resumes."""
    if ticket.status != TicketStatus.NEEDS_INFO:
        raise DomainError("invalid_transition", f"a ticket in status {ticket.status.value} is not waiting for information")
    text = redact_text(description.strip())
    new_description = f"{ticket.description}\n{text}".strip() if text else ticket.description
    order = order_number or ticket.order_number or extract_order_number(description)
    missing = still_missing(ticket.missing_fields, description=new_description, has_contact=has_contact,
                            order_number=order)
    updates: dict[str, Any] = {"description": new_description, "order_number": order, "missing_fields": missing,
                               "updated_at": now}
    if order and order not in ticket.facts.order_numbers:
        updates["facts"] = ticket.facts.model_copy(update={"order_numbers": [*ticket.facts.order_numbers, order]})
    if missing:
        updated = ticket.model_copy(update=updates)
        entry = timeline_entry(by, "info_supplied", now, "still missing: " + ", ".join(missing), data={"missing": missing})
        return Change(updated, [], [entry], action="supply_info")
    target = TicketStatus.ASSIGNED if ticket.assignee_id else TicketStatus.NEW
    return transition(ticket, target, by=by, now=now, reason="missing information supplied", updates=updates)


# ----------------------------------------------------------------------------- consumed events
def status_after_assignment(status: TicketStatus) -> TicketStatus:
    """An assignment moves a waiting ticket to ``assigned``; a ticket already further along keeps its
    status (assignments can arrive late or after a transfer)."""
    if status in (TicketStatus.NEW, TicketStatus.REOPENED):
        return TicketStatus.ASSIGNED
    return status


def _is_stale(at: datetime | None, occurred: datetime) -> bool:
    return at is not None and occurred < at


def apply_assigned(ticket: Ticket, event: TicketAssigned) -> Change:
    p, at = event.payload, event.occurred_at
    if _is_stale(ticket.assignment_at, at):  # an older assignment than the one we know: keep ours
        return Change(ticket)
    updates = {"assignee_id": p.agent_id, "assignee_name": p.agent_name, "team": p.team, "assignment_at": at,
               "acknowledged_at": None if p.agent_id != ticket.assignee_id else ticket.acknowledged_at}
    entry = timeline_entry("dispatcher", "assignment", at, f"assigned to {p.agent_name} ({p.team})",
                           data={"agent_id": p.agent_id, "team": p.team})
    target = status_after_assignment(ticket.status)
    if target != ticket.status:
        change = transition(ticket, target, by="dispatcher", now=at, reason=p.reason, updates=updates)
        change.timeline.insert(0, entry)
        return change
    return Change(ticket.model_copy(update={**updates, "updated_at": max(ticket.updated_at, at)}), [], [entry])


def apply_acknowledged(ticket: Ticket, event: TicketAcknowledged) -> Change:
    """确认接单: the assigned ticket is now being worked."""
    p, at = event.payload, event.occurred_at
    updates = {"acknowledged_at": p.acknowledged_at}
    entry = timeline_entry(p.agent_id, "acknowledged", at, "agent confirmed receipt")
    if ticket.status in (TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.REOPENED):
        if ticket.assignee_id is None:
            updates["assignee_id"] = p.agent_id
        change = transition(ticket, TicketStatus.IN_PROGRESS, by=p.agent_id, now=at, reason="assignment acknowledged",
                            updates=updates)
        change.timeline.insert(0, entry)
        return change
    return Change(ticket.model_copy(update={**updates, "updated_at": max(ticket.updated_at, at)}), [], [entry])


def apply_transferred(ticket: Ticket, event: TicketTransferred) -> Change:
    p, at = event.payload, event.occurred_at
    if _is_stale(ticket.assignment_at, at):
        return Change(ticket)
    updates: dict[str, Any] = {"assignee_id": p.to_agent_id, "assignment_at": at, "acknowledged_at": None,
                               "updated_at": max(ticket.updated_at, at)}
    if p.to_agent_id != ticket.assignee_id:
        updates["assignee_name"] = None
    if p.to_team:
        updates["team"] = p.to_team
    entry = timeline_entry(p.transferred_by, "transfer", at, p.reason,
                           data={"from_agent_id": p.from_agent_id, "to_agent_id": p.to_agent_id, "to_team": p.to_team})
    return Change(ticket.model_copy(update=updates), [], [entry])


_SPEED = {"very_fast": "非常快", "fast": "快", "average": "一般", "slow": "慢"}
_RESOLUTION = {"resolved": "完全解决", "partially": "部分解决", "unresolved": "未解决"}
_ATTITUDE = {"very_satisfied": "非常满意", "satisfied": "满意", "average": "一般", "unsatisfied": "不满意"}


def survey_reason(event: SurveyCompleted) -> str:
    """Why the customer was unhappy, in the words of the survey (seed 000 dimensions)."""
    p = event.payload
    parts = [f"满意度调查不满意 (CSAT {p.csat:g})", f"问题解决: {_RESOLUTION[p.resolution.value]}",
             f"响应速度: {_SPEED[p.speed.value]}", f"服务态度: {_ATTITUDE[p.attitude.value]}"]
    if p.comment.strip():
        parts.append(f"客户留言: {redact_text(p.comment.strip())[:500]}")
    return "; ".join(parts)


def apply_survey(ticket: Ticket, event: SurveyCompleted) -> Change:
    """Unsatisfied → reopen (seed 002 step 7); satisfied → the resolved ticket is closed."""
    p, at = event.payload, event.occurred_at
    satisfaction = {"survey_id": p.survey_id, "csat": p.csat, "satisfied": p.satisfied, "speed": p.speed.value,
                    "resolution": p.resolution.value, "attitude": p.attitude.value, "completed_at": p.completed_at}
    if ticket.reopened_at is not None and at < ticket.reopened_at:
        return Change(ticket.model_copy(update={"updated_at": ticket.updated_at}))  # answer about an earlier round
    if not p.satisfied:
        if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            entry = timeline_entry("customer", "survey", at, survey_reason(event), data=satisfaction)
            return Change(ticket.model_copy(update={"satisfaction": satisfaction}), [], [entry])
        change = reopen(ticket, by="customer", now=at, reason=survey_reason(event), source="survey")
        change.ticket = change.ticket.model_copy(update={"satisfaction": satisfaction})
        return change
    if ticket.status == TicketStatus.RESOLVED:
        change = close(ticket, by="customer", now=at, reason=f"customer satisfied (CSAT {p.csat:g})")
        change.ticket = change.ticket.model_copy(update={"satisfaction": satisfaction})
        return change
    entry = timeline_entry("customer", "survey", at, f"survey answered (CSAT {p.csat:g})", data=satisfaction)
    return Change(ticket.model_copy(update={"satisfaction": satisfaction}), [], [entry])


def auto_close_due(ticket: Ticket, now: datetime, after: timedelta) -> bool:
    """A resolved ticket nobody reopened within ``after`` is closed by the system."""
    return ticket.status == TicketStatus.RESOLVED and ticket.resolved_at is not None and ticket.resolved_at <= now - after


# ----------------------------------------------------------------------------- conversation
REPLY_CHANNEL: dict[Channel, Any] = {
    Channel.EMAIL: "email", Channel.PHONE: "sms", Channel.ONLINE_CHAT: "webhook", Channel.SOCIAL: "webhook",
    Channel.WEB_FORM: "email",
}
"""How an agent's answer goes back to the customer (the notifier's channel) for each ticket channel: a phone
ticket gets an SMS, chat and social go to the channel system's webhook, a web form is answered by e-mail."""


def message_id_for(channel: Channel | str, channel_message_id: str) -> str:
    """A customer message's id, stable per (channel, channel message id): a resend is the same message."""
    value = channel.value if isinstance(channel, Channel) else channel
    return "m" + hashlib.sha256(f"{value}\x00{channel_message_id}".encode()).hexdigest()[:24]


def thread_key(channel: Channel | str, key: str) -> str:
    value = channel.value if isinstance(channel, Channel) else channel
    return f"{value}:{key.strip()}"


def thread_keys_for(sub: TicketSubmission) -> list[str]:
    """The conversation keys a new ticket answers to: its own channel message id (an e-mail reply names the
    first Message-ID as its thread), the chat session, and a social/other thread id the channel passes in
    ``metadata["thread_key"]``."""
    keys = [thread_key(sub.channel, sub.channel_message_id)]
    if sub.customer.chat_session_id:
        keys.append(thread_key(sub.channel, sub.customer.chat_session_id))
    if sub.metadata.get("thread_key"):
        keys.append(thread_key(sub.channel, sub.metadata["thread_key"]))
    return list(dict.fromkeys(keys))


_TICKET_NO_IN_TEXT = re.compile(r"\bGD\d{8}\d{3,6}\b")


def reference_in(message: CustomerMessage) -> str | None:
    """The ticket the message names: the channel's ``ticket_ref``, else a ticket number in the subject (an
    e-mail reply keeps "[GD20261206000123]" in its subject)."""
    if message.ticket_ref and message.ticket_ref.strip():
        return message.ticket_ref.strip()
    found = _TICKET_NO_IN_TEXT.search(message.subject or "")
    return found.group(0) if found else None


def message_thread_keys(message: CustomerMessage) -> list[str]:
    keys = []
    if message.thread_key:
        keys.append(thread_key(message.channel, message.thread_key))
    if message.customer.chat_session_id:
        keys.append(thread_key(message.channel, message.customer.chat_session_id))
    return list(dict.fromkeys(keys))


ThreadedBy = Literal["reference", "thread", "recent"]


@dataclass(frozen=True)
class ThreadDecision:
    """Where a customer message goes, and why (the reason is written on the timeline).

    ``thread`` — onto ``ticket`` (open); ``reopen`` — ``ticket`` was resolved/closed within the reopen window:
    reopen it and add the message; ``new_linked`` — ``ticket`` ended too long ago: a new ticket linked to it;
    ``new`` — no ticket found: a new ticket; ``flagged`` — the message names another customer's ticket: a
    new ticket, not threaded, flagged for review."""

    action: Literal["thread", "reopen", "new_linked", "new", "flagged"]
    ticket: Ticket | None
    threaded_by: ThreadedBy | None
    reason: str


def decide_thread(
    *, by_reference: Ticket | None, by_thread: Ticket | None, recent: Ticket | None, customer_id: str | None,
    now: datetime, reopen_window: timedelta, reopen_enabled: bool = True, reference: str | None = None,
) -> ThreadDecision:
    """Explicit reference first, then the channel's thread key, then the identified customer's most recent
    open ticket on the channel (the caller looked it up within its window). A reference or thread of another
    customer is never followed: someone may have guessed a ticket number (issue 18: not threaded, flagged)."""
    for how, ticket in (("reference", by_reference), ("thread", by_thread), ("recent", recent)):
        if ticket is None:
            continue
        if ticket.customer_id != customer_id and (how == "reference" or customer_id is not None):
            return ThreadDecision("flagged", ticket, None, (
                f"the message names ticket {ticket.ticket_no} ({how}) of another customer"
                if customer_id is not None else
                f"the message names ticket {ticket.ticket_no} but does not identify its customer"))
        by: ThreadedBy = how  # type: ignore[assignment]
        label = {"reference": f"ticket reference {reference or ticket.ticket_no}",
                 "thread": "the channel's conversation", "recent": "the customer's most recent open ticket on this channel"}[how]
        if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            return ThreadDecision("thread", ticket, by, f"threaded by {label}")
        ended = ticket.closed_at or ticket.resolved_at or ticket.updated_at
        if reopen_enabled and now - ended <= reopen_window:
            return ThreadDecision("reopen", ticket, by, f"threaded by {label}; the ticket ended "
                                  f"{_ago(now - ended)} ago, within the reopen window: reopened")
        return ThreadDecision("new_linked", ticket, by, f"found by {label}, but the ticket ended {_ago(now - ended)} "
                              "ago, past the reopen window: a new ticket linked to it")
    return ThreadDecision("new", None, None, "no ticket found for this message: a new ticket")


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"


def customer_message(
    ticket: Ticket, message: CustomerMessage, *, message_id: str, decision: ThreadDecision, now: datetime,
) -> Change:
    """The customer's message lands on the ticket: a resolved/closed ticket within the window is reopened,
    a paused one (pending_customer) resumes — the clock restarts by itself — a needs_info one takes the text
    as the information asked for; the message goes on the timeline and ``ticket.customer_replied`` is
    published. The customer now waits for an answer (``awaiting_reply_since``, kept from the oldest unanswered
    message)."""
    by = f"customer:{message.channel.value}"
    reopened = decision.action == "reopen"
    if reopened:
        change = reopen(ticket, by=by, now=now, source="customer",
                        reason="the customer wrote again: " + redact_text(message.text)[:200])
    elif ticket.status == TicketStatus.PENDING_CUSTOMER:
        change = transition(ticket, TicketStatus.IN_PROGRESS, by=by, now=now, reason="the customer replied")
    elif ticket.status == TicketStatus.NEEDS_INFO:
        change = supply_info(ticket, by=by, now=now, description=message.text)
    else:
        change = Change(ticket)
    count = ticket.customer_messages + 1
    current = change.ticket
    change.ticket = current.model_copy(update={
        "customer_messages": count, "awaiting_reply_since": current.awaiting_reply_since or now, "updated_at": now,
        "thread_keys": list(dict.fromkeys([*current.thread_keys, *message_thread_keys(message)])),
    })
    change.timeline.append(timeline_entry(by, "customer_message", now, message.text, visibility="customer", data={
        "channel": message.channel.value, "message_id": message_id, "channel_message_id": message.channel_message_id,
        "threaded_by": "reopened" if reopened else decision.threaded_by, "reason": decision.reason,
        "attachments": [a.model_dump(mode="json") for a in message.attachments]}))
    change.events.append(TicketCustomerReplied.new(
        TicketCustomerRepliedPayload(
            **_ref(ticket), message_id=message_id, channel=message.channel,
            channel_message_id=message.channel_message_id,
            threaded_by="reopened" if reopened else (decision.threaded_by or "recent"),
            excerpt=redact_text(message.text)[:300], attachments=len(message.attachments),
            status=change.ticket.status, assignee_id=ticket.assignee_id, reply_count=count, replied_at=now),
        correlation_id=ticket.correlation_id, producer=PRODUCER, occurred_at=now,
    ))
    change.action = change.action or "customer_message"
    return change


def submission_from_message(message: CustomerMessage) -> TicketSubmission:
    """A message that opens a new ticket is submitted like any first contact (same channel message id: a
    resend finds the same ticket)."""
    return TicketSubmission(
        channel=message.channel, channel_message_id=message.channel_message_id, submitted_at=message.sent_at,
        customer=message.customer, subject=message.subject, description=message.text,
        attachments=message.attachments, correlation_id=message.correlation_id,
        metadata={"thread_key": message.thread_key} if message.thread_key else {},
    )


# ====================================================================== backups and audit retention
# Manual 003: "每日17:00前,客服主管导出当日新增/变更客户信息,加密后至企业云盘,每月28日前完成全量数据异地备份";
# "系统操作日志需保留12个月". Pure decisions: which backup period is due at a given instant, and what it holds.

BackupKind = Literal["daily", "monthly"]


@dataclass(frozen=True)
class BackupSchedule:
    daily_at: time
    """Local time of the daily export (and of the monthly one on its day); before 17:00."""
    monthly_day: int
    """Day of the month of the full export (≤ 28, so every month has it)."""
    timezone: str


@dataclass(frozen=True)
class BackupPeriod:
    kind: BackupKind
    period: str
    """``2026-12-07`` (daily) or ``2026-12`` (monthly)."""
    due_at: datetime
    """When the period's backup became due (UTC)."""
    window_from: datetime | None = None
    window_to: datetime | None = None
    """Daily: the customers created or changed in [window_from, window_to) (UTC); monthly: None (all)."""

    @property
    def backup_id(self) -> str:
        return f"{self.kind}:{self.period}"


def parse_daily_at(value: str) -> time:
    """``HH:MM`` of a daily backup; it must fall before 17:00 (manual 003)."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
    if not match:
        raise ValueError("BACKUP_DAILY_AT must be HH:MM (24-hour clock)")
    at = time(int(match.group(1)), int(match.group(2)))
    if at >= time(17, 0):
        raise ValueError("BACKUP_DAILY_AT must be before 17:00 (the daily export is due before 17:00)")
    return at


def _local_at(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


def due_backups(now: datetime, schedule: BackupSchedule) -> list[BackupPeriod]:
    """The latest daily and the latest monthly period whose time has come at ``now``: a service that was
    down at the hour catches up exactly once, with the latest period only (no backlog).

    The daily export of day D covers the 24 hours up to D's export time (from the day before's export
    time), so consecutive daily files leave no gap and never overlap. The monthly export is a full copy
    of every customer, made on ``monthly_day`` at the daily time."""
    zone = ZoneInfo(schedule.timezone)
    local = now.astimezone(zone)
    day = local.date()
    if local < _local_at(day, schedule.daily_at, zone):
        day -= timedelta(days=1)
    cut = _local_at(day, schedule.daily_at, zone)
    daily = BackupPeriod("daily", day.isoformat(), cut.astimezone(UTC),
                         _local_at(day - timedelta(days=1), schedule.daily_at, zone).astimezone(UTC), cut.astimezone(UTC))
    year, month = local.year, local.month
    monthly_cut = _local_at(date(year, month, schedule.monthly_day), schedule.daily_at, zone)
    if local < monthly_cut:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        monthly_cut = _local_at(date(year, month, schedule.monthly_day), schedule.daily_at, zone)
    monthly = BackupPeriod("monthly", f"{year:04d}-{month:02d}", monthly_cut.astimezone(UTC))
    return [daily, monthly]


def manual_backup(kind: BackupKind, now: datetime, timezone: str, token: str) -> BackupPeriod:
    """An administrator's "back up now": a daily one covers the 24 hours up to now, a monthly one every
    customer. Its id never collides with a scheduled period's."""
    local = now.astimezone(ZoneInfo(timezone))
    period = local.date().isoformat() if kind == "daily" else f"{local.year:04d}-{local.month:02d}"
    window = (now - timedelta(days=1), now) if kind == "daily" else (None, None)
    return BackupPeriod(kind, f"{period}~manual-{token}", now, *window)


def backup_retry_at(now: datetime, attempts: int) -> datetime:
    """When a failed backup may be tried again: 1, 2, 4 … minutes, at most an hour (a broken disk or key
    is retried, never in a tight loop)."""
    return now + timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def backup_file_stem(period: BackupPeriod, token: str) -> str:
    """``customers-daily-2026-12-07-1a2b3c4d``: readable, sortable, unique per attempt."""
    safe = re.sub(r"[^0-9A-Za-z\-]", "-", period.period)
    return f"customers-{period.kind}-{safe}-{token[:8]}"


def audit_purge_period(now: datetime, timezone: str) -> str:
    """The audit-log purge runs once per business day: its period is the local date."""
    return now.astimezone(ZoneInfo(timezone)).date().isoformat()
