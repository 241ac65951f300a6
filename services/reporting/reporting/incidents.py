"""Crisis mode in reporting (issue 19): the incidents as the dispatcher announces them (incident.opened /
updated / closed, newest version wins) and the figures of each incident's tickets — how many, how many
still open, how many breached an SLA target, the average first response — for the dashboard panel and
``GET /reports/incidents/{id}``. Pure: the store reads, this module computes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from contracts import Event, TicketStatus

from .domain import TicketFact

INCIDENT_EVENTS = ("incident.opened", "incident.updated", "incident.closed")
FINISHED = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})


class IncidentFigures(BaseModel):
    tickets: int = 0
    open: int = Field(default=0, description="Not resolved or closed.")
    breached: int = Field(default=0, description="Tickets with at least one SLA breach.")
    resolved: int = 0
    first_response_avg_min: float | None = Field(default=None, description="Creation → first answer, minutes.")


class IncidentReport(BaseModel):
    incident_id: str
    title: str
    status: str
    version: int
    opened_at: datetime | None = None
    opened_by: str | None = None
    closed_at: datetime | None = None
    spike_id: str | None = None
    sla: dict[str, Any] = Field(default_factory=dict)
    team: list[str] = Field(default_factory=list)
    figures: IncidentFigures


def incident_state(event: Event) -> dict[str, Any] | None:
    """What an incident.* event says about the incident (``version`` orders them); None for other events."""
    if event.event_type not in INCIDENT_EVENTS:
        return None
    p = event.payload
    state: dict[str, Any] = {"_id": p.incident_id, "incident_id": p.incident_id, "title": p.title,
                             "version": p.version}
    if event.event_type == "incident.closed":
        state.update(status="closed", closed_at=p.closed_at, closed_by=p.closed_by)
        return state
    state.update(status="open", team=list(p.team), sla=p.sla.model_dump(mode="json"),
                 match=p.match.model_dump(mode="json"))
    if event.event_type == "incident.opened":  # facts that never change, kept whatever the order
        state["once"] = {"opened_at": p.opened_at, "opened_by": p.opened_by, "spike_id": p.spike.id if p.spike else None}
    return state


def figures(facts: Iterable[TicketFact]) -> IncidentFigures:
    out = IncidentFigures()
    waits: list[float] = []
    for f in facts:
        out.tickets += 1
        if f.status in FINISHED:
            out.resolved += 1
        else:
            out.open += 1
        if f.sla_breaches:
            out.breached += 1
        if f.first_response_at is not None and f.created_at is not None:
            waits.append(max(0.0, (f.first_response_at - f.created_at).total_seconds() / 60))
    if waits:
        out.first_response_avg_min = round(sum(waits) / len(waits), 1)
    return out


def report(doc: dict[str, Any], facts: Iterable[TicketFact]) -> IncidentReport:
    return IncidentReport(
        incident_id=doc["incident_id"], title=doc.get("title") or doc["incident_id"], status=doc.get("status", "open"),
        version=int(doc.get("version") or 1), opened_at=doc.get("opened_at"), opened_by=doc.get("opened_by"),
        closed_at=doc.get("closed_at"), spike_id=doc.get("spike_id"), sla=doc.get("sla") or {},
        team=doc.get("team") or [], figures=figures(facts))
