"""Round trips of the sla side's added events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest
from pydantic import ValidationError

import contracts as c
from contracts.events_sla import OverdueReasonCode, SlaOverdueReasonRecorded, SlaOverdueReasonRecordedPayload

NOW = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)


def _event(**overrides: object) -> SlaOverdueReasonRecorded:
    payload = {
        "ticket_id": "t-1", "ticket_no": "GD20261125001", "reason_id": "r-1", "target": "resolution",
        "code": "incomplete_information", "label": "信息不全", "note": "客户未提供订单号", "priority": "P2",
        "policy_version": 3, "agent_id": "A1", "recorded_by": "S9", "recorded_at": NOW,
        **overrides,
    }
    return SlaOverdueReasonRecorded.new(
        SlaOverdueReasonRecordedPayload.model_validate(payload), correlation_id="corr-1", producer="sla-monitor"
    )


def test_overdue_reason_round_trips_through_json_and_the_registry() -> None:
    event = _event()
    raw = event.model_dump_json()
    parsed = c.parse_event(raw)
    assert isinstance(parsed, SlaOverdueReasonRecorded) and parsed == event
    assert c.parse_event(json.loads(raw)) == event
    assert parsed.payload.code is OverdueReasonCode.INCOMPLETE_INFORMATION
    assert parsed.payload.target is c.SlaTarget.RESOLUTION
    assert c.event_class("sla.overdue_reason_recorded", 1) is SlaOverdueReasonRecorded
    assert SlaOverdueReasonRecorded in c.registered_events()


def test_overdue_reason_normalises_times_and_allows_a_ticket_wide_reason() -> None:
    event = _event(target=None, recorded_at=datetime(2026, 11, 25, 16, 30, tzinfo=timezone(timedelta(hours=8))))
    assert event.payload.recorded_at == NOW and event.payload.target is None


def test_overdue_reason_ignores_unknown_fields_and_rejects_bad_values() -> None:
    data = json.loads(_event().model_dump_json())
    data["payload"]["added_later"] = 1
    assert c.parse_event(data).payload == _event().payload  # type: ignore[attr-defined]
    for bad in ({"code": "lazy"}, {"note": "x" * 501}, {"recorded_at": "2026-11-25T08:30:00"}, {"reason_id": ""}):
        with pytest.raises(ValidationError):
            _event(**bad)
    data["event_id"] = str(uuid4())
    data["payload"]["code"] = "nope"
    with pytest.raises(ValidationError):
        c.parse_event(data)
