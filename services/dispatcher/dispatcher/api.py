"""Dispatcher's HTTP API: staff login and password change (JWT issued here, verified everywhere), the
staff directory (admins edit, supervisors see their team), assignments (confirm receipt, transfer,
reassign, request help), agents' queues, team queues and the in-app notification inbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from contracts import Channel, StaffRole
from servicekit import Admin, AnyStaff, ApiError, Principal, ServiceKit, Supervisor, require_roles

from .domain import Assignment, DomainError, Position, StaffMember, Team, TransferKind, roles_of
from .service import DispatcherService

TicketIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
StaffIdPath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
DocIdPath = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_\-:.+]+$")]
Limit = Annotated[int, Query(ge=1, le=500)]
AgentOrSupervisor = Annotated[Principal, Depends(require_roles(StaffRole.AGENT, StaffRole.SUPERVISOR))]
Agent = Annotated[Principal, Depends(require_roles(StaffRole.AGENT))]
Worker = Annotated[Principal, Depends(require_roles(StaffRole.AGENT, StaffRole.SUPERVISOR, StaffRole.ADMIN))]
Anyone = Annotated[Principal, Depends(require_roles(allow_password_change=True))]

STATUS_BY_CODE = {
    "staff_not_found": 404, "assignment_not_found": 404, "notification_not_found": 404,
    "collaboration_not_found": 404, "invalid_credentials": 401, "account_locked": 423, "weak_password": 422,
    "not_your_ticket": 403, "not_your_request": 403, "unknown_supervisor": 422,
}


def _api_error(exc: DomainError) -> ApiError:
    return ApiError(STATUS_BY_CODE.get(exc.code, 409), exc.code, str(exc))


class StaffLoad(StaffMember):
    load_ratio: float = Field(description="open_count / capacity (1.0 when the member has no capacity).")
    senior: bool = Field(default=False, description="Senior agent (资深客服): role agent in tokens.")

    @classmethod
    def of(cls, member: StaffMember) -> StaffLoad:
        return cls(**member.model_dump(), load_ratio=round(float(member.load), 4), senior=member.is_senior)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff_id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    password: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    must_change_password: bool
    staff: StaffLoad


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class PasswordSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=1, max_length=256)


class StaffCreate(StaffMember):
    initial_password: str | None = Field(default=None, min_length=1, max_length=256,
                                         description="Must be changed at first login; unset: no login yet.")


class StaffUpdate(BaseModel):
    """A partial edit: only the fields given change. ``supervisor_id: null`` removes the supervisor; every
    other field may be left out but not set to null (422)."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=64)] | SkipJsonSchema[None] = None
    role: Position | SkipJsonSchema[None] = None
    team: Team | SkipJsonSchema[None] = None
    skills: Annotated[list[Annotated[str, Field(min_length=1, max_length=32)]], Field(max_length=32)] | SkipJsonSchema[
        None] = None
    channels: list[Channel] | SkipJsonSchema[None] = None
    languages: Annotated[list[Annotated[str, Field(min_length=1, max_length=16)]], Field(max_length=16)] | SkipJsonSchema[
        None] = None
    capacity: Annotated[int, Field(ge=0, le=200)] | SkipJsonSchema[None] = None
    on_duty: bool | SkipJsonSchema[None] = None
    supervisor_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-]{1,32}$")
    active: bool | SkipJsonSchema[None] = None

    @field_validator("name", "role", "team", "skills", "channels", "languages", "capacity", "on_duty", "active")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Runs only for values actually sent: an explicit null would wipe a required field of the member.
        if value is None:
            raise ValueError("may be left out but not set to null")
        return value


class DutyChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on_duty: bool


class TransferRequest(BaseModel):
    """转派: to a named agent, or to a team (routed there by skills, tier and load)."""

    model_config = ConfigDict(extra="forbid")
    to_agent_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-]{1,32}$")
    to_team: Team | None = None
    reason: str = Field(min_length=2, max_length=500)
    expected_minutes: int | None = Field(default=None, ge=1, le=30 * 24 * 60,
                                         description="Expected time to finish (seed 003: 预计处理时间).")

    @model_validator(mode="after")
    def _one_target(self) -> TransferRequest:
        if self.to_agent_id and self.to_team:
            raise ValueError("name either to_agent_id or to_team, not both")
        return self


class HelpRequest(BaseModel):
    """跨部门协作: who is asked (a person, or a team's supervisor), what, and by when."""

    model_config = ConfigDict(extra="forbid")
    responder_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-]{1,32}$")
    team: Team | None = None
    question: str = Field(min_length=2, max_length=2000)
    due_minutes: int = Field(ge=5, le=30 * 24 * 60)

    @model_validator(mode="after")
    def _one_target(self) -> HelpRequest:
        if bool(self.responder_id) == bool(self.team):
            raise ValueError("name exactly one of responder_id or team")
        return self


class HelpAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: str = Field(min_length=1, max_length=4000)


class Collaboration(BaseModel):
    id: str
    ticket_id: str
    ticket_no: str
    requester_id: str
    responder_id: str
    team: str
    question: str
    status: str
    created_at: datetime
    due_at: datetime
    answer: str | None = None
    answered_at: datetime | None = None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Collaboration:
        return cls(id=doc["_id"], **{k: v for k, v in doc.items() if k in cls.model_fields and k != "id"})


class NotificationView(BaseModel):
    id: str
    kind: str
    channel: str
    subject: str
    body: str
    ticket_id: str | None = None
    status: str
    created_at: datetime
    read_at: datetime | None = None
    data: dict[str, Any] = Field(
        default_factory=dict, description="Structured facts of the kind (ticket.customer_replied: ticket_no, "
                                          "excerpt, channel, attachments, reply_count, threaded_by, unassigned).")

    @classmethod
    def of(cls, doc: dict[str, Any]) -> NotificationView:
        return cls(id=doc["_id"], **{k: v for k, v in doc.items() if k in cls.model_fields and k != "id"})


class Inbox(BaseModel):
    unread: int
    items: list[NotificationView]


def build_router(service: DispatcherService, kit: ServiceKit | None = None, ttl_seconds: int = 8 * 3600) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    async def call(coro: Any) -> Any:
        try:
            return await coro
        except DomainError as exc:
            raise _api_error(exc) from None

    def issue(member: StaffMember, must_change: bool) -> TokenResponse:
        tokens = kit.tokens if kit else None
        if tokens is None:
            raise ApiError(503, "auth_unavailable", "staff authentication is not configured (JWT_SECRET)")
        principal = Principal(staff_id=member.staff_id, name=member.name, roles=roles_of(member),
                              team=member.team.value, must_change_password=must_change)
        return TokenResponse(access_token=tokens.issue(principal, ttl_seconds=ttl_seconds), expires_in=ttl_seconds,
                             must_change_password=must_change, staff=StaffLoad.of(member))

    async def visible_team(who: Principal) -> Team | None:
        """Admins see everyone (None); a supervisor sees their own team."""
        if StaffRole.ADMIN in who.roles:
            return None
        me = await service.store.get_staff(who.staff_id)
        if me is None:
            raise ApiError(403, "not_in_directory", "your staff id is not in the staff directory")
        return me.team

    # ------------------------------------------------------------------ auth
    @router.post("/auth/login", response_model=TokenResponse, tags=["auth"])
    async def login(body: LoginRequest) -> TokenResponse:
        """Staff id + password → access token. A first login (or an admin-set password) must change the
        password before anything else works; repeated failures lock the account for a while."""
        member, must_change = await call(service.login(body.staff_id, body.password))
        return issue(member, must_change)

    @router.post("/auth/password", response_model=TokenResponse, tags=["auth"])
    async def change_password(body: PasswordChange, who: Anyone) -> TokenResponse:
        """Change your own password (≥ 8 characters with a letter, a digit and a special character)."""
        member = await call(service.change_password(who.staff_id, body.current_password, body.new_password))
        return issue(member, False)

    @router.get("/auth/me", response_model=StaffLoad, tags=["auth"])
    async def me(who: Anyone) -> StaffLoad:
        return StaffLoad.of(await call(service.staff_member(who.staff_id)))

    # ------------------------------------------------------------------ assignments
    @router.get("/assignments/{ticket_id}", response_model=Assignment, tags=["assignments"])
    async def get_assignment(ticket_id: TicketIdPath, _: AnyStaff) -> Assignment:
        """Who has the ticket (or which queue it waits in), why, and every decision so far."""
        assignment = await service.assignment(ticket_id)
        if assignment is None:
            raise ApiError(404, "assignment_not_found", f"no assignment for ticket {ticket_id}")
        return assignment

    @router.post("/assignments/{ticket_id}/ack", response_model=Assignment, tags=["assignments"])
    async def acknowledge(ticket_id: TicketIdPath, who: Agent) -> Assignment:
        """确认接单: the assignee confirms receipt (publishes ticket.acknowledged once)."""
        return await call(service.acknowledge(ticket_id, who.staff_id))

    @router.post("/assignments/{ticket_id}/transfer", response_model=Assignment, tags=["assignments"])
    async def transfer(ticket_id: TicketIdPath, body: TransferRequest, who: Worker) -> Assignment:
        """The assignee hands the ticket on (beyond their authority) to an agent or a team, with a reason
        and the expected time; supervisors and admins may transfer any ticket."""
        sup = who.has_any({StaffRole.SUPERVISOR, StaffRole.ADMIN})
        return await call(service.transfer(ticket_id, by=who.staff_id, by_supervisor=sup, reason=body.reason,
                                           to_agent_id=body.to_agent_id, to_team=body.to_team,
                                           expected_minutes=body.expected_minutes))

    @router.post("/assignments/{ticket_id}/reassign", response_model=Assignment, tags=["assignments"])
    async def reassign(ticket_id: TicketIdPath, body: TransferRequest, who: Supervisor) -> Assignment:
        """A supervisor moves a ticket manually (to an agent, or re-routed within a team)."""
        return await call(service.transfer(ticket_id, by=who.staff_id, by_supervisor=True, reason=body.reason,
                                           to_agent_id=body.to_agent_id, to_team=body.to_team,
                                           expected_minutes=body.expected_minutes, kind=TransferKind.REASSIGN))

    @router.post("/assignments/{ticket_id}/help", response_model=Collaboration, status_code=201,
                 tags=["collaboration"])
    async def request_help(ticket_id: TicketIdPath, body: HelpRequest, who: AgentOrSupervisor) -> Collaboration:
        """Ask another person or department for help on a ticket, with a due time."""
        doc = await call(service.request_help(ticket_id, who.staff_id, body.question, body.due_minutes,
                                              body.responder_id, body.team))
        return Collaboration.of(doc)

    @router.get("/collaborations/mine", response_model=list[Collaboration], tags=["collaboration"])
    async def my_collaborations(who: Worker, limit: Limit = 100) -> list[Collaboration]:
        """Help requests you made or were asked, earliest due first."""
        return [Collaboration.of(d) for d in await service.collaborations(who.staff_id, limit)]

    @router.post("/collaborations/{collab_id}/answer", response_model=Collaboration, tags=["collaboration"])
    async def answer_help(collab_id: DocIdPath, body: HelpAnswer, who: Worker) -> Collaboration:
        return Collaboration.of(await call(service.answer_help(collab_id, who.staff_id, body.answer)))

    @router.get("/queue/mine", response_model=list[Assignment], tags=["assignments"])
    async def my_queue(who: AgentOrSupervisor, limit: Limit = 100) -> list[Assignment]:
        """The caller's open assignments: nearest SLA deadline first, then priority, then age."""
        return await service.agent_queue(who.staff_id, limit)

    @router.get("/queues/{team}", response_model=list[Assignment], tags=["assignments"])
    async def team_queue(team: Team, _: Supervisor, limit: Limit = 100) -> list[Assignment]:
        """Tickets waiting for a free slot in a team, in the order they will be served."""
        return await service.team_queue(team, limit)

    # ------------------------------------------------------------------ staff directory
    @router.get("/staff", response_model=list[StaffLoad], tags=["staff"])
    async def list_staff(who: Supervisor, team: Team | None = None) -> list[StaffLoad]:
        """The roster with each member's current load: admins see everyone, supervisors their team."""
        allowed = await visible_team(who)
        if allowed is not None and team not in (None, allowed):
            raise ApiError(403, "forbidden", f"supervisors see their own team ({allowed.value})")
        return [StaffLoad.of(m) for m in await service.roster(team or allowed)]

    @router.post("/staff", response_model=StaffLoad, status_code=201, tags=["staff"])
    async def create_staff(body: StaffCreate, _: Admin) -> StaffLoad:
        member = StaffMember(**body.model_dump(exclude={"initial_password"}))
        return StaffLoad.of(await call(service.create_staff(member, body.initial_password)))

    @router.get("/staff/{staff_id}", response_model=StaffLoad, tags=["staff"])
    async def get_staff(staff_id: StaffIdPath, who: Supervisor) -> StaffLoad:
        member = await call(service.staff_member(staff_id))
        allowed = await visible_team(who)
        if allowed is not None and member.team != allowed:
            raise ApiError(403, "forbidden", f"supervisors see their own team ({allowed.value})")
        return StaffLoad.of(member)

    @router.patch("/staff/{staff_id}", response_model=StaffLoad, tags=["staff"])
    async def update_staff(staff_id: StaffIdPath, body: StaffUpdate, _: Admin) -> StaffLoad:
        """Edit or disable (``active: false``) a member."""
        return StaffLoad.of(await call(service.update_staff(staff_id, body.model_dump(exclude_unset=True))))

    @router.post("/staff/{staff_id}/password", status_code=204, tags=["staff"])
    async def set_password(staff_id: StaffIdPath, body: PasswordSet, _: Admin) -> None:
        """Set a member's password (they must change it at their next login); unlocks the account."""
        await call(service.admin_set_password(staff_id, body.password))

    @router.put("/staff/{staff_id}/duty", response_model=StaffLoad, tags=["staff"])
    async def set_duty(staff_id: StaffIdPath, body: DutyChange, who: Worker) -> StaffLoad:
        """Start or end a shift: yourself, or a member of your team as supervisor, or anyone as admin.
        Coming on duty serves the waiting tickets at once."""
        if staff_id != who.staff_id:
            if not who.has_any({StaffRole.SUPERVISOR, StaffRole.ADMIN}):
                raise ApiError(403, "forbidden", "agents change only their own duty status")
            member = await call(service.staff_member(staff_id))
            allowed = await visible_team(who)
            if allowed is not None and member.team != allowed:
                raise ApiError(403, "forbidden", f"supervisors manage their own team ({allowed.value})")
        return StaffLoad.of(await call(service.set_duty(staff_id, body.on_duty)))

    # ------------------------------------------------------------------ notifications
    @router.get("/notifications/mine", response_model=Inbox, tags=["notifications"])
    async def inbox(who: AnyStaff, unread: bool = False, limit: Limit = 50) -> Inbox:
        """Your in-app notifications, newest first, with the unread count."""
        items = await service.inbox(who.staff_id, unread, limit)
        return Inbox(unread=await service.store.unread_count(who.staff_id),
                     items=[NotificationView.of(d) for d in items])

    @router.post("/notifications/{notification_id}/read", response_model=NotificationView, tags=["notifications"])
    async def mark_read(notification_id: DocIdPath, who: AnyStaff) -> NotificationView:
        return NotificationView.of(await call(service.mark_read(notification_id, who.staff_id)))

    @router.post("/notifications/read-all", tags=["notifications"])
    async def mark_all_read(who: AnyStaff) -> dict[str, int]:
        return {"marked": await service.store.mark_all_read(who.staff_id, datetime.now(UTC))}

    return router
