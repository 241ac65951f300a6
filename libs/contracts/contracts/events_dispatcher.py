"""Additional v1 events owned by the dispatcher side (new event types only; existing contracts are never
changed here). Every class defined in this module registers itself with the event registry on import."""

from __future__ import annotations
