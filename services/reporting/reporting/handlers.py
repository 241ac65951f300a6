"""Reporting's broker side. Event → handler table:

| queue          | message                          | handler       |
|----------------|----------------------------------|---------------|
| reporting.all  | every event (routing key ``#``)  | on_any_event  |

Publishes: nothing yet (report.spike_detected comes with spike detection; it will be declared here).
The handler returns only after its writes (ticket fact, then event log); FastStream then acks.
A duplicate delivery changes nothing. A body that is not a known, valid event (bad JSON, unknown
type/version, schema mismatch) is dead-lettered at once with the reason by servicekit.
"""

from __future__ import annotations

from typing import Any

from contracts import Event, parse_event
from servicekit import EventBus

from .service import ReportingService

PUBLISHES: tuple[type[Event], ...] = ()


def register(bus: EventBus, service: ReportingService) -> None:
    for event in PUBLISHES:
        bus.publisher(event)

    @bus.subscribe_events(
        "#",
        subscription="all",
        description="Every domain event: kept in the raw event log and folded into the ticket facts.",
    )
    async def on_any_event(body: dict[str, Any]) -> None:
        await service.record(parse_event(body))
