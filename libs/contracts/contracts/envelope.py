"""The event envelope every domain event travels in.

Compatibility rules (see docs/adr/0005-contract-versioning.md):
* consumers ignore unknown fields, so adding an optional field is a compatible change;
* removing or retyping a field, or changing its meaning, needs a new ``schema_version`` class
  registered beside the old one until every consumer understands it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Self
from uuid import UUID, uuid4

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware datetime, normalised to UTC. Naive datetimes are rejected."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class Contract(BaseModel):
    """Base of every payload: unknown fields are ignored (forward compatible), values are frozen."""

    model_config = ConfigDict(extra="ignore", frozen=True, use_enum_values=False)


class Event(Contract):
    """Envelope fields shared by all events. Concrete events fix ``event_type`` and
    ``schema_version`` with ``Literal`` defaults and declare a typed ``payload``."""

    event_id: UUID = Field(default_factory=uuid4, description="Unique id of this event; consumers dedupe on it.")
    event_type: str = Field(description="Routing key and type name, e.g. `ticket.created`.")
    schema_version: int = Field(description="Version of this event's payload schema.")
    occurred_at: UtcDatetime = Field(
        default_factory=utcnow, description="When the fact happened (UTC), not when it was sent."
    )
    correlation_id: str = Field(
        min_length=1, max_length=128, description="The ticket's correlation id, carried end to end."
    )
    producer: str = Field(min_length=1, max_length=64, description="Service that produced the event.")
    payload: Contract

    registry: ClassVar[dict[tuple[str, int], type[Event]]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        event_type = cls.model_fields["event_type"].default
        version = cls.model_fields["schema_version"].default
        if isinstance(event_type, str) and isinstance(version, int):
            key = (event_type, version)
            if key in Event.registry and Event.registry[key] is not cls:
                raise TypeError(f"duplicate event contract {key}")
            Event.registry[key] = cls

    @classmethod
    def type_name(cls) -> str:
        return str(cls.model_fields["event_type"].default)

    @classmethod
    def version(cls) -> int:
        return int(cls.model_fields["schema_version"].default)

    @classmethod
    def new(
        cls,
        payload: Contract,
        *,
        correlation_id: str,
        producer: str,
        occurred_at: datetime | None = None,
        event_id: UUID | None = None,
    ) -> Self:
        data: dict[str, Any] = {"payload": payload, "correlation_id": correlation_id, "producer": producer}
        if occurred_at is not None:
            data["occurred_at"] = occurred_at
        if event_id is not None:
            data["event_id"] = event_id
        return cls(**data)


class UnknownEventType(ValueError):
    """The message names an event type/version no contract is registered for."""


class _Head(BaseModel):
    event_type: str
    schema_version: int


_head = TypeAdapter(_Head)


def event_class(event_type: str, schema_version: int) -> type[Event]:
    try:
        return Event.registry[(event_type, schema_version)]
    except KeyError:
        raise UnknownEventType(f"no contract for {event_type!r} v{schema_version}") from None


def parse_event(raw: bytes | str | dict[str, Any]) -> Event:
    """Validate any registered event from JSON bytes/str or a dict (raises ValidationError /
    UnknownEventType for bad input)."""
    if isinstance(raw, dict):
        head = _head.validate_python(raw)
        return event_class(head.event_type, head.schema_version).model_validate(raw)
    head = _head.validate_json(raw)
    return event_class(head.event_type, head.schema_version).model_validate_json(raw)
