"""The knowledge-base events (issue 17): registered, round-trip through the registry, bounded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from contracts import KnowledgeChanged, KnowledgeFeedback, KnowledgeSuggested, parse_event

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
SUGGESTION = {"kind": "article", "item_id": "KB-0001", "version": 2, "topic": "refund-timeline", "lang": "zh",
              "title": "退款多久到账", "score": 7.5, "matched_terms": ["退款", "到账"]}


def test_suggested_round_trips_through_the_registry() -> None:
    event = KnowledgeSuggested.model_validate({
        "event_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "occurred_at": NOW, "correlation_id": "t1",
        "producer": "classifier", "payload": {
            "ticket_id": "t1", "ticket_no": "GD20261206001", "trigger": "classified", "category": "after_sales",
            "module": "after_sales", "suggestions": [SUGGESTION], "suggested_at": NOW}})
    again = parse_event(event.model_dump_json().encode())
    assert isinstance(again, KnowledgeSuggested) and again.payload.suggestions[0].item_id == "KB-0001"
    with pytest.raises(ValidationError):
        KnowledgeSuggested.model_validate({**event.model_dump(), "payload": {
            **event.payload.model_dump(), "suggestions": [SUGGESTION] * 11}})


def test_feedback_and_changed_validate_their_actions() -> None:
    base = {"event_id": "7c9e6679-7425-40de-944b-e07fc1f90ae8", "occurred_at": NOW, "correlation_id": "t1",
            "producer": "classifier"}
    feedback = {"ticket_id": "t1", "ticket_no": "GD20261206001", "kind": "template", "item_id": "TPL-0001",
                "version": 1, "title": "致歉模板", "action": "used", "staff_id": "A1", "suggested": True, "at": NOW}
    assert KnowledgeFeedback.model_validate({**base, "payload": feedback}).payload.action == "used"
    with pytest.raises(ValidationError):
        KnowledgeFeedback.model_validate({**base, "payload": {**feedback, "action": "liked"}})
    changed = {"kind": "article", "item_id": "KB-0001", "version": 3, "lang": "en", "title": "Refund times",
               "status": "published", "action": "published", "changed_by": "S1", "changed_at": NOW}
    event = parse_event(KnowledgeChanged.model_validate({**base, "payload": changed}).model_dump_json().encode())
    assert isinstance(event, KnowledgeChanged) and event.payload.status == "published"
