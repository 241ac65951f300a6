"""Dispatcher's HTTP routes of crisis mode (issue 19): supervisors and admins open, change and close
incidents; every staff member reads the open ones (the console's banner with the approved reply text)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from contracts import IncidentMatch, IncidentSlaOverride, IncidentSpikeRef
from servicekit import AnyStaff, ApiError, Supervisor

from .domain import Assignment, DomainError
from .incidents import Incident, IncidentStatus
from .service import DispatcherService

IncidentIdPath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
StaffId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,32}$")]

STATUS_BY_CODE = {
    "incident_not_found": 404, "version_conflict": 409, "incident_closed": 409, "match_too_broad": 422,
    "invalid_spike": 422, "staff_not_found": 422, "not_an_agent": 422,
}


class IncidentCreate(BaseModel):
    """Open an incident from a spike (its match is derived from the spike unless given) or by hand."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=2, max_length=120)
    spike: IncidentSpikeRef | None = None
    match: IncidentMatch | None = None
    team: list[StaffId] = Field(default_factory=list, max_length=100,
                                description="Agents of any team who take the incident's tickets first.")
    reply_text: str = Field(default="", max_length=4000, description="The approved reply (统一回应口径).")
    sla: IncidentSlaOverride = Field(default_factory=IncidentSlaOverride)

    @model_validator(mode="after")
    def _source(self) -> IncidentCreate:
        if self.spike is None and self.match is None:
            raise ValueError("give the spike the incident comes from, or a match")
        return self


class IncidentPatch(BaseModel):
    """A change of an open incident made from ``version`` (409 when it moved on). Fields left out stay."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    title: Annotated[str, Field(min_length=2, max_length=120)] | SkipJsonSchema[None] = None
    match: IncidentMatch | SkipJsonSchema[None] = None
    team: Annotated[list[StaffId], Field(max_length=100)] | SkipJsonSchema[None] = None
    reply_text: Annotated[str, Field(max_length=4000)] | SkipJsonSchema[None] = None
    sla: IncidentSlaOverride | SkipJsonSchema[None] = None

    def changes(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("title", "match", "team", "reply_text", "sla") if k in self.model_fields_set
                and getattr(self, k) is not None}


class IncidentClose(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int | None = Field(default=None, ge=1, description="When given, close only this version (409).")
    note: str = Field(default="", max_length=1000, description="What was done / why it is over.")


def build_incident_router(service: DispatcherService) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["incidents"])

    async def call(coro: Any) -> Any:
        try:
            return await coro
        except DomainError as exc:
            raise ApiError(STATUS_BY_CODE.get(exc.code, 409), exc.code, str(exc)) from None

    @router.post("/incidents", response_model=Incident, status_code=201)
    async def open_incident(body: IncidentCreate, who: Supervisor) -> Incident:
        """启动应急预案: matching new tickets go to the incident team, carry the tag and the SLA override."""
        return await call(service.open_incident(
            title=body.title, match=body.match, spike=body.spike, team=body.team, reply_text=body.reply_text,
            sla=body.sla, by=who.staff_id))

    @router.get("/incidents", response_model=list[Incident])
    async def list_incidents(_: AnyStaff, status: IncidentStatus | None = None,
                             limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[Incident]:
        """Incidents, newest first (``status=open``: the console's banner for every staff member)."""
        return await service.incidents(status, limit)

    @router.get("/incidents/{incident_id}", response_model=Incident)
    async def get_incident(incident_id: IncidentIdPath, _: AnyStaff) -> Incident:
        return await call(service.incident(incident_id))

    @router.get("/incidents/{incident_id}/tickets", response_model=list[Assignment])
    async def incident_tickets(incident_id: IncidentIdPath, _: Supervisor,
                               limit: Annotated[int, Query(ge=1, le=500)] = 200) -> list[Assignment]:
        """The incident's tickets (oldest first) with who holds them."""
        return await call(service.incident_tickets(incident_id, limit))

    @router.patch("/incidents/{incident_id}", response_model=Incident)
    async def update_incident(incident_id: IncidentIdPath, body: IncidentPatch, who: Supervisor) -> Incident:
        """Team (增加人力投入), approved reply, match, SLA override or title; compare-and-set on version."""
        changes = body.changes()
        if not changes:
            raise ApiError(422, "nothing_to_change", "give at least one of title, match, team, reply_text, sla")
        return await call(service.update_incident(incident_id, body.version, changes, who.staff_id))

    @router.post("/incidents/{incident_id}/close", response_model=Incident)
    async def close_incident(incident_id: IncidentIdPath, body: IncidentClose, who: Supervisor) -> Incident:
        """Normal routing again for new tickets; the incident's tickets keep their tag and SLA override."""
        return await call(service.close_incident(incident_id, body.version, body.note, who.staff_id))

    return router
