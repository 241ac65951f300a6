"""Additional v1 events owned by the classifier side (new event types only; existing contracts are never
changed here). Every class defined in this module registers itself with the event registry on import."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .envelope import Contract, Event, UtcDatetime


class ClassifierConfigActivatedPayload(Contract):
    kind: Literal["ruleset", "model"] = Field(description="What was activated.")
    version: int = Field(ge=1, description="The rule set or model version now active.")
    classifier_version: str = Field(min_length=1, max_length=64, description="`rules-v<n>` or `model-v<n>`.")
    activated_by: str = Field(min_length=1, max_length=64, description="Staff id of the admin, or `system`.")
    change: str = Field(default="", max_length=500, description="Short summary of the change (no personal data).")
    activated_at: UtcDatetime


class ClassifierConfigActivated(Event):
    """A rule set or model version became active; every classifier replica reloads it (hot reload)."""

    event_type: Literal["classifier.config_activated"] = "classifier.config_activated"
    schema_version: Literal[1] = 1
    payload: ClassifierConfigActivatedPayload


__all__ = ["ClassifierConfigActivated", "ClassifierConfigActivatedPayload"]
