"""Dispatcher's HTTP API: staff read assignments, their own queue, the roster's load and the team
queues (JWT; supervisors and admins see the whole floor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from contracts import StaffRole
from servicekit import AnyStaff, ApiError, Principal, Supervisor, require_roles

from .domain import Assignment, StaffMember, Team
from .service import DispatcherService

TicketIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
Limit = Annotated[int, Query(ge=1, le=500)]
AgentOrSupervisor = Annotated[Principal, Depends(require_roles(StaffRole.AGENT, StaffRole.SUPERVISOR))]


class StaffLoad(StaffMember):
    load_ratio: float = Field(description="open_count / capacity (1.0 when the member has no capacity).")

    @classmethod
    def of(cls, member: StaffMember) -> StaffLoad:
        return cls(**member.model_dump(), load_ratio=round(float(member.load), 4))


def build_router(service: DispatcherService) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.get("/assignments/{ticket_id}", response_model=Assignment, tags=["assignments"])
    async def get_assignment(ticket_id: TicketIdPath, _: AnyStaff) -> Assignment:
        """Who has the ticket (or which queue it waits in) and why."""
        assignment = await service.assignment(ticket_id)
        if assignment is None:
            raise ApiError(404, "assignment_not_found", f"no assignment for ticket {ticket_id}")
        return assignment

    @router.get("/queue/mine", response_model=list[Assignment], tags=["assignments"])
    async def my_queue(who: AgentOrSupervisor, limit: Limit = 100) -> list[Assignment]:
        """The caller's open assignments, most urgent first."""
        return await service.agent_queue(who.staff_id, limit)

    @router.get("/staff", response_model=list[StaffLoad], tags=["staff"])
    async def list_staff(_: Supervisor, team: Team | None = None) -> list[StaffLoad]:
        """The roster with each member's current load."""
        return [StaffLoad.of(m) for m in await service.roster(team)]

    @router.get("/queues/{team}", response_model=list[Assignment], tags=["assignments"])
    async def team_queue(team: Team, _: Supervisor, limit: Limit = 100) -> list[Assignment]:
        """Tickets waiting for a free slot in a team, in the order they will be served."""
        return await service.team_queue(team, limit)

    return router
