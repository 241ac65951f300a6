"""Round trips and compatibility rules of the shared contracts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import contracts as c
from contracts.events import ALL_EVENTS

NOW = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)


def sample_payload(event: type[c.Event]) -> c.Contract:
    """A valid payload for any event type, built from the field types."""
    ref = {"ticket_id": "t-1", "ticket_no": "GD20261125001"}
    samples: dict[str, dict] = {
        "ticket.created": {**ref, "channel": "email", "channel_message_id": "m-1", "customer_id": "c-1",
                           "customer_display": "客户A-0001", "description": "无法开机", "created_at": NOW},
        "ticket.classified": {**ref, "category": "after_sales", "module": "technical", "priority": "P2",
                              "confidence": 0.8, "classifier_version": "rules-v1",
                              "explanation": {"method": "rule", "rule_id": "r-1", "matched_terms": ["无法开机"]},
                              "channel": "email", "classified_at": NOW},
        "ticket.assigned": {**ref, "agent_id": "A1", "agent_name": "李娜", "team": "tech", "priority": "P2",
                            "assigned_at": NOW},
        "ticket.acknowledged": {**ref, "agent_id": "A1", "acknowledged_at": NOW},
        "ticket.responded": {**ref, "agent_id": "A1", "responded_at": NOW},
        "ticket.status_changed": {**ref, "from_status": "assigned", "to_status": "in_progress", "changed_by": "A1",
                                  "changed_at": NOW},
        "ticket.resolved": {**ref, "channel": "email", "customer_id": "c-1", "customer_display": "客户A-0001",
                            "resolved_at": NOW},
        "ticket.closed": {**ref, "closed_by": "system", "closed_at": NOW},
        "ticket.reopened": {**ref, "reason": "survey: unresolved", "source": "survey", "reopen_count": 1,
                            "reopened_at": NOW},
        "ticket.transferred": {**ref, "from_agent_id": "A1", "to_team": "tech", "reason": "needs specialist",
                               "transferred_by": "A1", "transferred_at": NOW},
        "ticket.escalated": {**ref, "level": 1, "reason": "P1 breached", "escalated_at": NOW},
        "sla.warning": {**ref, "target": "first_response", "deadline": NOW, "priority": "P1", "policy_version": 1,
                        "remaining_seconds": 600},
        "sla.breached": {**ref, "target": "resolution", "deadline": NOW, "priority": "P2", "policy_version": 1,
                         "overdue_seconds": 1},
        "assignment.unacknowledged": {**ref, "agent_id": "A1", "assigned_at": NOW, "waited_seconds": 600},
        "survey.completed": {**ref, "survey_id": "s-1", "speed": "fast", "resolution": "resolved",
                             "attitude": "satisfied", "csat": 4.4, "satisfied": True, "completed_at": NOW},
        "report.spike_detected": {"day": "2026-11-25", "dimension": "category", "value": "complaint", "count": 40,
                                  "baseline": 8.0, "ratio": 5.0, "detected_at": NOW},
    }
    payload_type = event.model_fields["payload"].annotation
    return payload_type.model_validate(samples[event.type_name()])


@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: e.type_name())
def test_every_event_round_trips_through_json(event: type[c.Event]) -> None:
    original = event.new(sample_payload(event), correlation_id="t-1", producer="test", occurred_at=NOW)
    wire = original.model_dump_json()
    assert c.parse_event(wire) == original
    assert c.parse_event(json.loads(wire)) == original
    data = json.loads(wire)
    assert data["event_type"] == event.type_name() and data["schema_version"] == 1
    assert data["occurred_at"].endswith("Z")


def test_the_registry_knows_the_whole_lifecycle() -> None:
    names = {e.type_name() for e in ALL_EVENTS}
    assert {"ticket.created", "ticket.classified", "ticket.assigned", "ticket.acknowledged", "ticket.responded",
            "ticket.status_changed", "ticket.resolved", "ticket.closed", "ticket.reopened", "ticket.transferred",
            "ticket.escalated", "sla.warning", "sla.breached", "assignment.unacknowledged",
            "survey.completed"} <= names
    assert all(c.event_class(n, 1).type_name() == n for n in names)


def test_unknown_fields_are_ignored_so_adding_fields_is_compatible() -> None:
    event = c.TicketClosed.new(sample_payload(c.TicketClosed), correlation_id="t-1", producer="intake")
    data = json.loads(event.model_dump_json())
    data["new_envelope_field"] = 1
    data["payload"]["new_payload_field"] = "x"
    assert c.parse_event(data) == event


def test_unknown_type_or_version_is_rejected() -> None:
    event = c.TicketClosed.new(sample_payload(c.TicketClosed), correlation_id="t-1", producer="intake")
    data = json.loads(event.model_dump_json())
    with pytest.raises(c.UnknownEventType):
        c.parse_event({**data, "schema_version": 99})
    with pytest.raises(c.UnknownEventType):
        c.parse_event({**data, "event_type": "ticket.vanished"})


def test_naive_datetimes_are_rejected_and_aware_ones_normalised_to_utc() -> None:
    payload = sample_payload(c.TicketClosed)
    with pytest.raises(ValidationError):
        c.TicketClosed.new(payload, correlation_id="t", producer="p", occurred_at=datetime(2026, 1, 1, 8, 0))
    shanghai = timezone(timedelta(hours=8))
    event = c.TicketClosed.new(payload, correlation_id="t", producer="p",
                               occurred_at=datetime(2026, 1, 1, 8, 0, tzinfo=shanghai))
    assert event.occurred_at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC) and event.occurred_at.tzinfo == UTC


def test_envelope_requires_correlation_and_producer() -> None:
    with pytest.raises(ValidationError):
        c.TicketClosed.new(sample_payload(c.TicketClosed), correlation_id="", producer="intake")


@given(
    cmid=st.text(min_size=1, max_size=200),
    description=st.text(max_size=500),
    channel=st.sampled_from(list(c.Channel)),
)
def test_submission_round_trip(cmid: str, description: str, channel: c.Channel) -> None:
    sub = c.TicketSubmission(channel=channel, channel_message_id=cmid, description=description)
    assert c.TicketSubmission.model_validate_json(sub.model_dump_json()) == sub


@pytest.mark.parametrize(
    "bad",
    [
        {"channel": "fax", "channel_message_id": "1"},
        {"channel": "email", "channel_message_id": ""},
        {"channel": "email", "channel_message_id": "1", "customer": {"email": "not-an-address"}},
        {"channel": "email", "channel_message_id": "1", "customer": {"phone": "call me"}},
        {"channel": "email", "channel_message_id": "1", "schema_version": 2},
        {"channel": "email", "channel_message_id": "1", "description": "x" * 20_001},
        {"channel": "email", "channel_message_id": "1", "metadata": {f"k{i}": "v" for i in range(51)}},
    ],
)
def test_bad_submissions_fail_validation(bad: dict) -> None:
    with pytest.raises(ValidationError):
        c.TicketSubmission.model_validate(bad)


def test_namespace_prefixes_every_name() -> None:
    prod, test = c.Namespace(), c.Namespace("run42")
    assert prod.events_exchange == "helpdesk.events" and prod.submissions_queue == "intake.submissions"
    assert prod.subscription_queue("classifier", "ticket.created") == "classifier.ticket.created"
    assert test.events_exchange == "run42.helpdesk.events"
    assert test.subscription_queue("sla-monitor", "ticket.created") == "run42.sla-monitor.ticket.created"
    assert c.Namespace.dead_letter_queue("intake.submissions") == "intake.submissions.dlq"
