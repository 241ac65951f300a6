from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from contracts import ClassifierConfigActivated, ClassifierConfigActivatedPayload, parse_event


def _event(**over: object) -> ClassifierConfigActivated:
    payload = {"kind": "ruleset", "version": 3, "classifier_version": "rules-v3", "activated_by": "A001",
               "change": "rule refund-return: added term 退款申请",
               "activated_at": datetime(2026, 11, 25, 11, 0, tzinfo=timezone(timedelta(hours=8))), **over}
    return ClassifierConfigActivated.new(ClassifierConfigActivatedPayload.model_validate(payload),
                                         correlation_id="classifier-rules-v3", producer="classifier")


def test_round_trip_through_json_and_registry() -> None:
    event = _event()
    back = parse_event(event.model_dump_json().encode())
    assert isinstance(back, ClassifierConfigActivated) and back == event
    assert back.event_type == "classifier.config_activated" and back.schema_version == 1
    assert back.payload.activated_at == datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # normalised to UTC


def test_invalid_payloads_are_rejected() -> None:
    for bad in ({"kind": "weights"}, {"version": 0}, {"classifier_version": ""}, {"activated_by": ""},
                {"activated_at": datetime(2026, 11, 25, 3, 0)}):
        with pytest.raises(ValidationError):
            _event(**bad)
