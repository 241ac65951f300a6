"""Turning domain models into MongoDB documents and back (enums as their values, datetimes kept)."""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value


def to_doc(model: BaseModel, *, id_field: str | None = None, exclude: set[str] | None = None) -> dict[str, Any]:
    """A model as a document; ``id_field`` (e.g. ``ticket_id``) also becomes ``_id``."""
    doc = plain(model.model_dump(exclude=exclude))
    if id_field:
        doc["_id"] = doc[id_field]
    return doc


def from_doc(cls: type[M], doc: dict[str, Any]) -> M:
    """Validate a stored document back into its model (storage-only fields are ignored)."""
    return cls.model_validate({k: v for k, v in doc.items() if k in cls.model_fields})
