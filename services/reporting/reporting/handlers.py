"""Reporting's broker side. Event → handler table:

| queue          | message                          | handler       |
|----------------|----------------------------------|---------------|
| reporting.all  | every event (routing key ``#``)  | on_any_event  |

Publishes: report.spike_detected (from the spike scanner, through the ``spikes`` outbox) and report.ready
(from the report scheduler, through the ``report_runs`` outbox).
The handler returns only after its writes (ticket fact with its aggregate increments, then the event
log); FastStream then acks. A duplicate delivery changes nothing. A well-formed event of a type this
service has no contract for is kept in ``unknown_events`` and counted (not dead-lettered), so a new
event type published by another service never fills the DLQ; a body that is not a valid event (bad
JSON, malformed envelope, a known type with a schema mismatch) is dead-lettered at once with the
reason by servicekit.
"""

from __future__ import annotations

from typing import Any

from contracts import Event, ReportSpikeDetected
from contracts.events_reporting import ReportReady
from servicekit import EventBus

from .service import ReportingService

PUBLISHES: tuple[type[Event], ...] = (ReportSpikeDetected, ReportReady)


def register(bus: EventBus, service: ReportingService) -> None:
    for event in PUBLISHES:
        bus.publisher(event)

    @bus.subscribe_events(
        "#",
        subscription="all",
        description="Every domain event: kept in the raw event log and folded into the ticket facts and "
        "the daily aggregates; unknown types are kept and counted.",
    )
    async def on_any_event(body: dict[str, Any]) -> None:
        await service.record_raw(body)
