"""Reporting's routes of crisis mode (issue 19): the figures of each incident's tickets for supervisors
(the dashboard panel lists the open incidents; one incident in full by id)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from servicekit import ApiError, Supervisor

from .incidents import IncidentReport
from .service import ReportingService

IncidentId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]


def build_incident_router(service: ReportingService) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["incidents"])

    @router.get("/reports/incidents", response_model=list[IncidentReport])
    async def incident_reports(_: Supervisor, status: Literal["open", "closed"] | None = "open",
                               limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[IncidentReport]:
        """Incidents (default: the open ones, newest first) with their tickets, open, breached and the
        average first response — the dashboard's crisis panel."""
        return await service.incident_reports(status, limit)

    @router.get("/reports/incidents/{incident_id}", response_model=IncidentReport)
    async def incident_report(incident_id: IncidentId, _: Supervisor) -> IncidentReport:
        report = await service.incident_report(incident_id)
        if report is None:
            raise ApiError(404, "incident_not_found", f"no incident {incident_id} known to reporting")
        return report

    return router
