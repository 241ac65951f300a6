"""Round trips of the crisis-mode events (issue 19) and their limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

import contracts as c

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
STATE = {"incident_id": "INC-20261206-AB12", "title": "物流延误", "version": 1,
         "match": {"categories": ["complaint"], "keywords": ["物流"]}, "team": ["A1", "A2"], "reply_text": "抱歉",
         "sla": {"first_response_minutes": 15, "resolution_minutes": 240}}


@pytest.mark.parametrize("cls, payload", [
    (c.IncidentOpened, {**STATE, "spike": {"id": "2026-12-06|category|complaint", "day": "2026-12-06",
                                          "dimension": "category", "value": "complaint", "count": 40},
                        "opened_by": "S1", "opened_at": NOW}),
    (c.IncidentUpdated, {**STATE, "version": 2, "changed": ["team"], "updated_by": "S1", "updated_at": NOW}),
    (c.IncidentClosed, {"incident_id": "INC-20261206-AB12", "title": "物流延误", "version": 3, "closed_by": "S1",
                        "closed_at": datetime(2026, 12, 6, 10, 0, tzinfo=timezone(timedelta(hours=8)))}),
    (c.TicketIncidentLinked, {"ticket_id": "t1", "ticket_no": "GD20261206001", "incident_id": "INC-20261206-AB12",
                              "incident_title": "物流延误", "sla": {"first_response_minutes": 15}, "linked_at": NOW}),
])
def test_round_trip_through_json_and_the_registry(cls: type[c.Event], payload: dict) -> None:
    event = cls.new(cls.model_fields["payload"].annotation.model_validate(payload), correlation_id="x", producer="dispatcher")
    parsed = c.parse_event(event.model_dump_json())
    assert type(parsed) is cls and parsed == event
    assert c.event_class(event.event_type, 1) is cls and cls in c.registered_events()
    times = [v for v in parsed.payload.model_dump().values() if isinstance(v, datetime)]
    assert times and all(t.utcoffset() == timedelta(0) for t in times)


def test_limits() -> None:
    with pytest.raises(ValidationError):
        c.IncidentSlaOverride(first_response_minutes=0)
    with pytest.raises(ValidationError):
        c.IncidentMatch(categories=["nonsense"])
    with pytest.raises(ValidationError):
        c.IncidentOpenedPayload(**{**STATE, "reply_text": "x" * 4001}, opened_by="S1", opened_at=NOW)
