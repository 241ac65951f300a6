"""Additional v1 events owned by the intake side (new event types only; existing contracts are never
changed here). Every class defined in this module registers itself with the event registry on import."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .enums import Channel, TicketStatus
from .envelope import Event, UtcDatetime
from .events import StaffId, TicketRef

__all__ = ["TicketCustomerReplied", "TicketCustomerRepliedPayload", "TicketEvidenceAdded", "TicketEvidenceAddedPayload",
           "TicketEvidenceRemoved", "TicketEvidenceRemovedPayload"]


# ---------------------------------------------------------------- ticket.customer_replied
class TicketCustomerRepliedPayload(TicketRef):
    message_id: str = Field(min_length=1, max_length=64, description="Intake's id of the message (stable per channel message).")
    channel: Channel = Field(description="The channel the customer wrote or called on.")
    channel_message_id: str = Field(max_length=200)
    threaded_by: Literal["reference", "thread", "recent", "reopened"] = Field(
        description="How intake found the ticket: the ticket reference the channel gave, the channel's thread "
                    "key, the customer's most recent open ticket on the channel, or a closed ticket reopened "
                    "by this message (within the reopen window).")
    excerpt: str = Field(default="", max_length=300, description="The start of the message, redacted of personal data.")
    attachments: int = Field(default=0, ge=0, description="How many attachments came with it (metadata stays in intake).")
    status: TicketStatus = Field(description="The ticket's status after the message.")
    assignee_id: StaffId | None = Field(default=None, description="Who should answer (the ticket's assignee), if any.")
    reply_count: int = Field(ge=1, description="Customer messages on the ticket after its opening one, this one included.")
    replied_at: UtcDatetime


class TicketCustomerReplied(Event):
    """The customer wrote again about an open (or just reopened) ticket. Starts the next-response target
    (SLA), tells the assignee (dispatcher), counts a back-and-forth (reporting)."""

    event_type: Literal["ticket.customer_replied"] = "ticket.customer_replied"
    schema_version: Literal[1] = 1
    payload: TicketCustomerRepliedPayload


# ---------------------------------------------------------------- ticket.evidence_added / ticket.evidence_removed
class TicketEvidenceAddedPayload(TicketRef):
    file_id: str = Field(min_length=1, max_length=64, description="Intake's id of the stored file (ask intake's API "
                         "for it; the bytes never travel in events).")
    content_type: str = Field(max_length=127, pattern=r"^[a-z0-9.+-]+/[a-z0-9.+-]+$",
                              description="The media type intake detected from the bytes (image/png, application/pdf, "
                                          "text/plain …; intake decides which it accepts).")
    size: int = Field(ge=1, description="Bytes.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the content (hex).")
    uploaded_by: StaffId = Field(min_length=1, max_length=64)
    uploaded_at: UtcDatetime
    evidence_count: int = Field(ge=1, description="Files on the ticket after this one.")


class TicketEvidenceAdded(Event):
    """A staff member attached a file (screenshot, record of a conversation …) to a ticket as evidence of
    the handling (manual 000 六, 004 三). Ids and metadata only: no content and no file name (names can
    carry personal data); the file stays in intake, served to the staff allowed to work the ticket."""

    event_type: Literal["ticket.evidence_added"] = "ticket.evidence_added"
    schema_version: Literal[1] = 1
    payload: TicketEvidenceAddedPayload


class TicketEvidenceRemovedPayload(TicketRef):
    file_id: str = Field(min_length=1, max_length=64)
    removed_by: StaffId = Field(min_length=1, max_length=64, description="The supervisor or admin who removed it.")
    reason: str = Field(max_length=500, description="Why, redacted of personal data.")
    removed_at: UtcDatetime
    evidence_count: int = Field(ge=0, description="Files left on the ticket.")


class TicketEvidenceRemoved(Event):
    """A supervisor or admin removed a file from a ticket (its content is deleted)."""

    event_type: Literal["ticket.evidence_removed"] = "ticket.evidence_removed"
    schema_version: Literal[1] = 1
    payload: TicketEvidenceRemovedPayload
