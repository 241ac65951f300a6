"""SLA monitor's HTTP API: staff read a ticket's SLA clock and the policy in force (JWT)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from servicekit import AnyStaff, ApiError

from .domain import Clock, SlaPolicy
from .service import SlaService

TicketIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]


def build_router(service: SlaService) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.get("/clocks/{ticket_id}", response_model=Clock, tags=["clocks"],
                responses={404: {"description": "no clock for this ticket (yet)"}})
    async def get_clock(ticket_id: TicketIdPath, _: AnyStaff) -> Clock:
        """The SLA clock of a ticket: priority, policy version, due times and what has happened."""
        clock = await service.get_clock(ticket_id)
        if clock is None:
            raise ApiError(404, "clock_not_found", f"no SLA clock for ticket {ticket_id}")
        return clock

    @router.get("/policies/active", response_model=SlaPolicy, tags=["policies"],
                responses={404: {"description": "no active policy"}})
    async def active_policy(_: AnyStaff) -> SlaPolicy:
        """The SLA policy new clocks start on (targets by priority and channel, warning lead time)."""
        policy = await service.active_policy()
        if policy is None:
            raise ApiError(404, "policy_not_found", "no active SLA policy")
        return policy

    return router
