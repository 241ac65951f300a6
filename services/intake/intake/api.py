"""Intake's HTTP API: channel systems submit tickets (API key); staff read and work them (JWT)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from contracts import StaffRole, TicketStatus, TicketSubmission
from servicekit import AnyStaff, ApiError, Principal, require_roles
from servicekit.auth import ApiKeyHeader, channel_for_key

from .domain import DomainError, Ticket, ticket_id_for
from .service import IntakeService


class SubmissionAccepted(BaseModel):
    ticket_id: str
    ticket_no: str
    status: TicketStatus
    duplicate: bool = Field(description="True when this channel message id was already a ticket.")
    missing_fields: list[str]


class ResolveRequest(BaseModel):
    summary: str = Field(min_length=1, max_length=5000, description="The result recorded for the customer.")


def build_router(service: IntakeService, channel_keys: dict[str, str]) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.post("/submissions", status_code=201, response_model=SubmissionAccepted, tags=["channels"],
                 responses={401: {"description": "missing or unknown API key"}, 403: {"description": "key of another channel"}})
    async def submit(submission: TicketSubmission, api_key: ApiKeyHeader = None) -> SubmissionAccepted:
        """Submit a customer contact. Idempotent on (channel, channel_message_id)."""
        channel = channel_for_key(channel_keys, api_key)
        if channel != submission.channel.value:
            raise ApiError(403, "wrong_channel", f"this API key belongs to channel {channel!r}")
        result = await service.submit(submission)
        t = result.ticket
        return SubmissionAccepted(
            ticket_id=t.ticket_id, ticket_no=t.ticket_no, status=t.status, duplicate=result.duplicate,
            missing_fields=t.missing_fields,
        )

    @router.get("/tickets", response_model=list[Ticket], tags=["tickets"])
    async def list_tickets(
        _: AnyStaff,
        status: TicketStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        skip: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> list[Ticket]:
        return await service.store.list_tickets(status=status.value if status else None, limit=limit, skip=skip)

    @router.get("/tickets/{ticket_id}", response_model=Ticket, tags=["tickets"])
    async def get_ticket(ticket_id: str, _: AnyStaff) -> Ticket:
        ticket = await service.store.get_ticket(ticket_id)
        if ticket is None:
            raise ApiError(404, "ticket_not_found", f"no ticket {ticket_id}")
        return ticket

    @router.get("/tickets/by-channel/{channel}/{channel_message_id}", response_model=Ticket, tags=["tickets"])
    async def get_by_channel_message(channel: str, channel_message_id: str, _: AnyStaff) -> Ticket:
        ticket = await service.store.get_ticket(ticket_id_for(channel, channel_message_id))
        if ticket is None:
            raise ApiError(404, "ticket_not_found", "no ticket for that channel message")
        return ticket

    @router.post("/tickets/{ticket_id}/resolve", response_model=Ticket, tags=["tickets"])
    async def resolve(
        ticket_id: str,
        body: ResolveRequest,
        who: Annotated[Principal, Depends(require_roles(StaffRole.AGENT, StaffRole.SUPERVISOR))],
    ) -> Ticket:
        """Record the result; publishes ticket.resolved (the survey goes out)."""
        try:
            ticket = await service.resolve(ticket_id, by=who.staff_id, summary=body.summary)
        except DomainError as exc:
            raise ApiError(409, exc.code, str(exc)) from None
        if ticket is None:
            raise ApiError(404, "ticket_not_found", f"no ticket {ticket_id}")
        return ticket

    return router
