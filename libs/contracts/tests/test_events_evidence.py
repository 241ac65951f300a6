"""Round trips of intake's evidence events: ids and metadata only, never a file name or content."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

import contracts as c

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
ADDED = {"ticket_id": "t-1", "ticket_no": "GD20261206001", "file_id": "6b15a91a1ec854fdb750e865",
         "content_type": "image/png", "size": 202946, "sha256": "ab" * 32, "uploaded_by": "CS2024015",
         "uploaded_at": NOW, "evidence_count": 1}


def test_evidence_added_and_removed_round_trip_through_the_registry() -> None:
    added = c.TicketEvidenceAdded.new(c.TicketEvidenceAddedPayload.model_validate(ADDED), correlation_id="corr-1",
                                      producer="intake")
    assert c.parse_event(json.loads(added.model_dump_json())) == added
    assert c.event_class("ticket.evidence_added", 1) is c.TicketEvidenceAdded
    removed = c.TicketEvidenceRemoved.new(c.TicketEvidenceRemovedPayload(
        ticket_id="t-1", ticket_no="GD20261206001", file_id=ADDED["file_id"], removed_by="S1", reason="wrong customer",
        removed_at=NOW, evidence_count=0), correlation_id="corr-1", producer="intake")
    assert c.parse_event(removed.model_dump_json()) == removed
    assert {c.TicketEvidenceAdded, c.TicketEvidenceRemoved} <= set(c.registered_events())


def test_evidence_added_has_no_place_for_a_name_or_content() -> None:
    """Contracts are tolerant readers (unknown fields ignored): a name or content a producer might add is dropped."""
    payload = c.TicketEvidenceAddedPayload.model_validate({**ADDED, "name": "截图.png", "content": "iVBORw0KGgo="})
    assert set(payload.model_dump()) == set(ADDED)
    assert "截图" not in payload.model_dump_json() and "iVBOR" not in payload.model_dump_json()


@pytest.mark.parametrize("change", [{"sha256": "not-hex"}, {"size": 0}, {"content_type": "image/png; charset=x"},
                                    {"evidence_count": 0}, {"uploaded_at": "2026-12-06T10:00:00"}])
def test_evidence_added_checks_its_fields(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        c.TicketEvidenceAddedPayload.model_validate({**ADDED, **change})
