"""The conversation contracts: a customer's further message (command) and ticket.customer_replied (event)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from contracts import CustomerMessage, Namespace, TicketCustomerReplied, parse_event


def test_a_message_needs_a_channel_an_id_and_words() -> None:
    m = CustomerMessage.model_validate({"channel": "email", "channel_message_id": "<r1@mail>", "text": "still broken",
                                        "ticket_ref": "GD20261206000123", "thread_key": "<first@mail>",
                                        "customer": {"email": "li@example.com"}})
    assert m.schema_version == 1 and m.customer.email == "li@example.com"
    for bad in ({"channel": "email", "channel_message_id": "x", "text": ""},           # no words
                {"channel": "fax", "channel_message_id": "x", "text": "hi"},          # unknown channel
                {"channel": "online_chat", "channel_message_id": "", "text": "hi"},         # no id
                {"channel": "online_chat", "channel_message_id": "x", "text": "a" * 20_001},
                {"channel": "online_chat", "channel_message_id": "x", "text": "hi", "attachments": [{"name": "a", "url": "u"}] * 21}):
        with pytest.raises(ValidationError):
            CustomerMessage.model_validate(bad)


def test_the_replied_event_round_trips_through_the_registry() -> None:
    event = TicketCustomerReplied.model_validate({
        "producer": "intake", "correlation_id": "c1",
        "payload": {"ticket_id": "t1", "ticket_no": "GD20261206000123", "message_id": "m1", "channel": "online_chat",
                    "channel_message_id": "s1-7", "threaded_by": "thread", "excerpt": "the courier still has not come",
                    "status": "in_progress", "assignee_id": "A1", "reply_count": 2,
                    "replied_at": datetime(2026, 12, 6, 3, 0, tzinfo=UTC)}})
    again = parse_event(event.model_dump(mode="json"))
    assert isinstance(again, TicketCustomerReplied) and again.payload.threaded_by == "thread"
    assert Namespace("p").messages_queue == "p.intake.messages"
