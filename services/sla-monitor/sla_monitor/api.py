"""SLA monitor's HTTP API (staff JWT):

* clocks — any staff reads a ticket's clock; agents/supervisors record why a breached ticket ran late;
* policies — supervisors list and read versions; admins draft, edit, activate and delete drafts;
* calendars — supervisors read; admins create, replace and delete business calendars;
* preview — any staff: "what would the deadlines be" for a ticket like this.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field, StringConstraints

from contracts import SlaTarget
from contracts.events_sla import OverdueReasonCode
from servicekit import Admin, AnyStaff, ApiError, Supervisor

from .domain import (
    CalendarBody,
    CalendarRecord,
    ClockView,
    OverdueReason,
    PolicyBody,
    PolicyRecord,
    Preview,
    PreviewRequest,
    view,
)
from .service import Conflict, NotFound, PolicyMissing, SlaService, utcnow

TicketIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]
TicketIdItem = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]
VersionPath = Annotated[int, Path(ge=1, le=1_000_000)]
CalendarIdPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9\-]{0,39}$")]

T = TypeVar("T")


class OverdueReasonRequest(BaseModel):
    code: OverdueReasonCode = Field(description="信息不全 incomplete_information, 流程复杂 complex_process, …")
    target: SlaTarget | None = Field(default=None, description="The breached target it explains (default: ticket).")
    note: str = Field(default="", max_length=500, description="Free text; personal data is redacted.")


async def _call(awaitable: Awaitable[T], code: str = "not_found") -> T:
    try:
        return await awaitable
    except NotFound as exc:
        raise ApiError(404, code, str(exc)) from None
    except Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except PolicyMissing as exc:
        raise ApiError(404, "policy_not_found", str(exc)) from None


def build_router(service: SlaService) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    # ------------------------------------------------------------------ clocks
    @router.get("/clocks", response_model=list[ClockView], tags=["clocks"])
    async def list_clocks(
        _: AnyStaff, ticket_id: Annotated[list[TicketIdItem], Query(min_length=1, max_length=200)]
    ) -> list[ClockView]:
        """Clocks of several tickets at once (``?ticket_id=a&ticket_id=b``, up to 200), in the order asked;
        tickets without a clock are left out. For queue screens that colour tickets by time left."""
        now = utcnow()
        return [view(c, now) for c in await service.get_clocks(ticket_id)]

    @router.get("/clocks/overdue", response_model=list[ClockView], tags=["clocks"])
    async def overdue_clocks(
        _: Supervisor,
        team: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")] = None,
        unexplained: bool = True,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[ClockView]:
        """Tickets that breached a target and are not closed, soonest due first — by default only those
        still waiting for an overdue reason (the supervisor's approval of the overdue ticket)."""
        now = utcnow()
        return [view(c, now) for c in await service.breached_clocks(team=team, unexplained=unexplained, limit=limit)]

    @router.get("/clocks/{ticket_id}", response_model=ClockView, tags=["clocks"],
                responses={404: {"description": "no clock for this ticket (yet)"}})
    async def get_clock(ticket_id: TicketIdPath, _: AnyStaff) -> ClockView:
        """The SLA clock of a ticket: targets, due times, warnings, paused time, state, alarms raised — the
        first response, the resolution, and the next response owed after the customer's newest message
        (``next_response_status``, ``next_response_due``, ``next_response_remaining_seconds``)."""
        clock = await service.get_clock(ticket_id)
        if clock is None:
            raise ApiError(404, "clock_not_found", f"no SLA clock for ticket {ticket_id}")
        return view(clock, utcnow())

    @router.post("/clocks/{ticket_id}/overdue-reasons", response_model=OverdueReason, status_code=201,
                 tags=["clocks"], responses={404: {"description": "no clock"}, 409: {"description": "not breached"}})
    async def add_overdue_reason(ticket_id: TicketIdPath, body: OverdueReasonRequest, who: AnyStaff) -> OverdueReason:
        """Record why a breached ticket ran late (agent or supervisor); published for reporting."""
        return await _call(service.record_overdue_reason(
            ticket_id, code=body.code, target=body.target, note=body.note, staff_id=who.staff_id,
        ), "clock_not_found")

    # ------------------------------------------------------------------ policies
    @router.get("/policies/active", response_model=PolicyRecord, tags=["policies"],
                responses={404: {"description": "no active policy"}})
    async def active_policy(_: AnyStaff) -> PolicyRecord:
        """The SLA policy new clocks start on (rules matrix, warning rule, calendar)."""
        policy = await service.active_policy()
        if policy is None:
            raise ApiError(404, "policy_not_found", "no active SLA policy")
        return policy

    @router.get("/policies", response_model=list[PolicyRecord], tags=["policies"])
    async def list_policies(_: Supervisor) -> list[PolicyRecord]:
        """Every version, newest first, with its status, author and times."""
        return await service.list_policies()

    @router.get("/policies/{version}", response_model=PolicyRecord, tags=["policies"])
    async def get_policy(version: VersionPath, _: Supervisor) -> PolicyRecord:
        return await _call(service.get_policy(version), "policy_not_found")

    @router.post("/policies", response_model=PolicyRecord, status_code=201, tags=["policies"])
    async def draft_policy(body: PolicyBody, who: Admin) -> PolicyRecord:
        """Draft the next version (quarterly revision); it takes effect when activated."""
        return await _call(service.draft_policy(body, who.staff_id))

    @router.put("/policies/{version}", response_model=PolicyRecord, tags=["policies"])
    async def update_policy(version: VersionPath, body: PolicyBody, _: Admin) -> PolicyRecord:
        """Edit a draft (active and retired versions are immutable: 409)."""
        return await _call(service.update_draft(version, body), "policy_not_found")

    @router.post("/policies/{version}/activate", response_model=PolicyRecord, tags=["policies"])
    async def activate_policy(version: VersionPath, who: Admin) -> PolicyRecord:
        """New clocks start on this version; running clocks keep theirs. Also rolls back to a retired one."""
        return await _call(service.activate_policy(version, who.staff_id), "policy_not_found")

    @router.delete("/policies/{version}", status_code=204, tags=["policies"])
    async def delete_policy(version: VersionPath, _: Admin) -> Response:
        """Delete a draft (versions that were ever active are kept for their clocks: 409)."""
        await _call(service.delete_draft(version), "policy_not_found")
        return Response(status_code=204)

    # ------------------------------------------------------------------ calendars
    @router.get("/calendars", response_model=list[CalendarRecord], tags=["calendars"])
    async def list_calendars(_: Supervisor) -> list[CalendarRecord]:
        return await service.list_calendars()

    @router.get("/calendars/{calendar_id}", response_model=CalendarRecord, tags=["calendars"])
    async def get_calendar(calendar_id: CalendarIdPath, _: Supervisor) -> CalendarRecord:
        return await _call(service.get_calendar(calendar_id), "calendar_not_found")

    @router.put("/calendars/{calendar_id}", response_model=CalendarRecord, tags=["calendars"])
    async def put_calendar(calendar_id: CalendarIdPath, body: CalendarBody, who: Admin) -> CalendarRecord:
        """Create or replace a calendar (working hours, time zone, holidays, make-up working days).
        Running clocks use the edit from their next event or alarm check."""
        return await service.put_calendar(calendar_id, body, who.staff_id)

    @router.delete("/calendars/{calendar_id}", status_code=204, tags=["calendars"])
    async def delete_calendar(calendar_id: CalendarIdPath, _: Admin) -> Response:
        """Delete a calendar no draft or active policy uses (409 otherwise; the default stays)."""
        await _call(service.delete_calendar(calendar_id), "calendar_not_found")
        return Response(status_code=204)

    # ------------------------------------------------------------------ preview
    @router.post("/preview", response_model=Preview, tags=["preview"])
    async def preview(body: PreviewRequest, _: AnyStaff) -> Preview:
        """What would the deadlines be for a ticket of this priority/channel/tier/category created now
        (or at ``start_at``), under the active policy or a given version (drafts included)."""
        return await _call(service.preview(body), "policy_not_found")

    return router
