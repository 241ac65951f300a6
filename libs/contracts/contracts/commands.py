"""Commands sent to a service's own queue (not broadcast events)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .enums import Channel
from .envelope import Contract, UtcDatetime


class CustomerContact(Contract):
    """What the channel knows about who is writing or calling. Every field is optional: intake
    identifies (or creates) the customer from whatever is there."""

    name: str | None = Field(default=None, max_length=100, description="Name as given (张先生, Ms Li …).")
    phone: str | None = Field(
        default=None, max_length=32, pattern=r"^\+?[0-9][0-9 \-]{4,30}$", description="Caller number / phone."
    )
    email: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="E-mail address."
    )
    chat_session_id: str | None = Field(default=None, max_length=128, description="Online chat session id.")
    device_id: str | None = Field(default=None, max_length=128, description="Chat/app device id.")
    social_handle: str | None = Field(default=None, max_length=128, description="Social account handle.")
    customer_ref: str | None = Field(default=None, max_length=64, description="Customer number, if known.")
    company_name: str | None = Field(default=None, max_length=200, description="Enterprise customers only.")


class Attachment(Contract):
    name: str = Field(max_length=255)
    url: str = Field(max_length=2048, description="Where the channel system keeps the file.")
    size_bytes: int | None = Field(default=None, ge=0)


class TicketSubmission(Contract):
    """A customer contact from a channel system; published to the durable queue
    ``intake.submissions`` (default exchange) or POSTed to intake's HTTP API."""

    schema_version: Literal[1] = Field(default=1, description="Version of this command's schema.")
    channel: Channel
    channel_message_id: str = Field(
        min_length=1,
        max_length=200,
        description="The channel's own id for this contact; a resubmission with the same id is the same ticket.",
    )
    submitted_at: UtcDatetime | None = Field(default=None, description="When the customer made contact (UTC).")
    customer: CustomerContact = Field(default_factory=CustomerContact)
    subject: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=20_000, description="The customer's words.")
    order_number: str | None = Field(default=None, max_length=64)
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)
    correlation_id: str | None = Field(default=None, max_length=128, description="Channel-side trace id, optional.")
    metadata: dict[str, str] = Field(default_factory=dict, description="Free channel metadata (≤ 50 keys).")

    @model_validator(mode="after")
    def _bounded_metadata(self) -> TicketSubmission:
        if len(self.metadata) > 50:
            raise ValueError("metadata may hold at most 50 keys")
        if any(len(k) > 64 or len(v) > 1024 for k, v in self.metadata.items()):
            raise ValueError("metadata keys are at most 64 and values at most 1024 characters")
        return self


class CustomerMessage(Contract):
    """A customer's further message about a problem — an e-mail reply, the next chat line of a session, a
    social thread reply, a call from the same caller. Published to the durable queue ``intake.messages``
    (default exchange) or POSTed to intake's HTTP API with the channel key. Intake threads it into the
    ticket it belongs to (explicit ticket reference, else the channel's thread key, else the identified
    customer's most recent open ticket on the channel within a window); a message it cannot place opens a
    new ticket — a message is never lost. Idempotent per (channel, channel message id)."""

    schema_version: Literal[1] = Field(default=1, description="Version of this command's schema.")
    channel: Channel
    channel_message_id: str = Field(
        min_length=1, max_length=200,
        description="The channel's own id for this message; a resend with the same id is the same message.",
    )
    sent_at: UtcDatetime | None = Field(default=None, description="When the customer sent it (UTC).")
    customer: CustomerContact = Field(default_factory=CustomerContact)
    ticket_ref: str | None = Field(
        default=None, max_length=64,
        description="The ticket the channel knows this is about: a ticket number (GD…, e.g. from an e-mail "
                    "subject) or intake's ticket id.",
    )
    thread_key: str | None = Field(
        default=None, max_length=200,
        description="The channel's conversation id: chat session id, social thread id, e-mail thread "
                    "(the first Message-ID). Messages with the same key belong together.",
    )
    subject: str = Field(default="", max_length=200)
    text: str = Field(min_length=1, max_length=20_000, description="The customer's words.")
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)
    correlation_id: str | None = Field(default=None, max_length=128, description="Channel-side trace id, optional.")
