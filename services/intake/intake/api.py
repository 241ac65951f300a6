"""Intake's HTTP API: channel systems submit tickets (API key); staff read and work them (JWT).

| method | path                                              | who                         |
|--------|---------------------------------------------------|-----------------------------|
| POST   | /api/v1/submissions                               | channel API key             |
| POST   | /api/v1/submissions/{channel}/{cmid}/supplement   | channel API key             |
| POST   | /api/v1/messages (a customer's further message)   | channel API key             |
| GET    | /api/v1/tickets (filters, cursor)                 | any staff                   |
| GET    | /api/v1/tickets/{id}, /by-channel/{ch}/{cmid}     | any staff                   |
| GET    | /api/v1/tickets/{id}/timeline                     | any staff                   |
| GET    | /api/v1/tickets/{id}/audit                        | supervisor, admin           |
| POST   | /api/v1/tickets/{id}/notes|responses|status|resolve|confirmation|close|reopen|info | agent, supervisor |
| POST   | /api/v1/customers                                 | agent, supervisor, admin    |
| GET    | /api/v1/customers, /api/v1/customers/{id}         | any staff (clear data: supervisor, admin) |
| PATCH  | /api/v1/customers/{id}                            | agent, supervisor, admin (tier/status: supervisor, admin) |
| GET    | /api/v1/customers/{id}/changes                    | supervisor, admin           |
| GET    | /api/v1/customers/export?format=csv|json          | admin                       |
| GET    | /api/v1/admin/backups, /admin/backups/{id}        | admin                       |
| POST   | /api/v1/admin/backups/run                         | admin                       |
| GET    | /api/v1/admin/audit/retention                     | admin                       |
| POST/GET/DELETE | /api/v1/tickets/{id}/evidence[/{file_id}] | see build_evidence_router      |
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import unicodedata
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as Path_
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel, Field, model_validator
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from contracts import (
    Channel,
    CustomerContact,
    CustomerMessage,
    CustomerTier,
    Priority,
    StaffRole,
    TicketStatus,
    TicketSubmission,
)
from servicekit import Admin, AnyStaff, ApiError, Principal, Supervisor, require_roles
from servicekit.auth import ApiKeyHeader, channel_for_key

from .domain import (
    AttachmentMeta,
    Compensation,
    CustomerKind,
    CustomerStatus,
    DomainError,
    EvidenceFile,
    SolutionType,
    Ticket,
    TimelineEntry,
    ticket_id_for,
)
from .evidence import TEXT, EvidenceRefused
from .service import BackupService, BackupsDisabled, EvidenceService, IntakeService, NotAssignee

Worker = Annotated[Principal, Depends(require_roles(StaffRole.AGENT, StaffRole.SUPERVISOR))]
ProfileEditor = Annotated[Principal, Depends(require_roles(StaffRole.AGENT, StaffRole.SUPERVISOR, StaffRole.ADMIN))]
PRIVILEGED = (StaffRole.SUPERVISOR, StaffRole.ADMIN)

_STATUS_OF_CODE = {"not_assignee": 403, "compensation_over_policy": 403, "reason_required": 422,
                   "compensation_required": 422, "attachment_type_not_allowed": 422}


class SubmissionAccepted(BaseModel):
    ticket_id: str
    ticket_no: str
    status: TicketStatus
    duplicate: bool = Field(description="True when this channel message id was already a ticket.")
    missing_fields: list[str]


class MessageAccepted(BaseModel):
    ticket_id: str
    ticket_no: str
    status: TicketStatus
    action: Literal["thread", "reopen", "new", "new_linked", "flagged", "duplicate"] = Field(
        description="thread: added to its open ticket; reopen: its ended ticket reopened; new: no ticket found, a "
                    "new one; new_linked: its ticket ended too long ago, a new one linked to it; flagged: it named "
                    "another customer's ticket, a new one flagged for review; duplicate: already received.")
    threaded_by: str | None = Field(default=None, description="reference, thread or recent (for thread/reopen).")
    duplicate: bool


class Supplement(BaseModel):
    description: str = Field(default="", max_length=20_000)
    order_number: str | None = Field(default=None, min_length=1, max_length=64)
    customer: CustomerContact = Field(default_factory=CustomerContact)

    @model_validator(mode="after")
    def _something(self) -> Supplement:
        if not (self.description.strip() or self.order_number or self.customer.model_dump(exclude_none=True)):
            raise ValueError("supply at least one of description, order_number, customer")
        return self


class ResolveRequest(BaseModel):
    summary: str = Field(min_length=1, max_length=5000, description="The result recorded for the customer.")
    solution_type: SolutionType | None = None
    compensation: Compensation | None = Field(default=None, description="Coupon/discount per the compensation policy.")
    attachments: list[AttachmentMeta] = Field(default_factory=list, max_length=10)


class NoteRequest(BaseModel):
    text: str = Field(min_length=1, max_length=5000, description="已联系客户 / 问题排查中 / 等待配件寄送 …")
    visibility: Literal["internal", "customer"] = "internal"
    contacted_customer: bool = Field(default=False, description="This note records contact with the customer.")


class ReplyRequest(BaseModel):
    text: str = Field(min_length=1, max_length=5000)


class StatusRequest(BaseModel):
    status: Literal["in_progress", "pending_customer"]
    reason: str = Field(default="", max_length=1000)


class ReasonRequest(BaseModel):
    reason: str = Field(default="", max_length=1000)


class ReopenRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class ConfirmationRequest(BaseModel):
    confirmed: bool
    note: str = Field(default="", max_length=1000)


class CustomerFields(BaseModel):
    kind: CustomerKind | None = None
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9][0-9 \-]{4,30}$")
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    id_number: str | None = Field(default=None, pattern=r"^(\d{17}[\dXx]|\d{15})$")
    address: str | None = Field(default=None, max_length=300)
    company_name: str | None = Field(default=None, max_length=200)
    credit_code: str | None = Field(default=None, pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$",
                                    description="统一社会信用代码 (18 characters).")
    industry: str | None = Field(default=None, max_length=100)
    contact_person: str | None = Field(default=None, max_length=100)
    tier: CustomerTier | None = None
    source: str | None = Field(default=None, max_length=100, description="信息来源: 电话咨询, 官网注册, 渠道推荐 …")
    consent_sensitive: bool | None = Field(default=None, description="Consent to keep sensitive data (ID number).")


class CustomerCreate(CustomerFields):
    @model_validator(mode="after")
    def _complete(self) -> CustomerCreate:
        if self.kind == CustomerKind.ENTERPRISE and not (self.company_name and self.contact_person):
            raise ValueError("an enterprise customer needs company_name and contact_person")
        if not (self.phone or self.email):
            raise ValueError("a customer needs a phone or an e-mail address")
        return self


class CustomerUpdate(CustomerFields):
    status: Literal["active", "dormant"] | None = None


def _encode_cursor(ticket: Ticket) -> str:
    raw = json.dumps([ticket.created_at.isoformat(), ticket.ticket_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, tid = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None or not isinstance(tid, str):
            raise ValueError
        return parsed, tid
    except (ValueError, TypeError):
        raise ApiError(422, "invalid_cursor", "the cursor is not one this API returned") from None


def _privileged(who: Principal) -> bool:
    return who.has_any(PRIVILEGED)


def build_router(service: IntakeService, channel_keys: dict[str, str]) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    async def run(call: Any) -> Any:
        try:
            result = await call
        except NotAssignee as exc:
            raise ApiError(403, exc.code, str(exc)) from None
        except DomainError as exc:
            raise ApiError(_STATUS_OF_CODE.get(exc.code, 409), exc.code, str(exc)) from None
        return result

    async def found(call: Any, what: str = "ticket") -> Any:
        result = await run(call)
        if result is None:
            raise ApiError(404, f"{what}_not_found", f"no such {what}")
        return result

    # ------------------------------------------------------------------ channels
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

    @router.post("/submissions/{channel}/{channel_message_id}/supplement", response_model=SubmissionAccepted,
                 tags=["channels"])
    async def supplement(channel: Channel, channel_message_id: str, body: Supplement,
                         api_key: ApiKeyHeader = None) -> SubmissionAccepted:
        """The customer supplied what a ``needs_info`` ticket was missing; a complete ticket resumes."""
        if channel_for_key(channel_keys, api_key) != channel.value:
            raise ApiError(403, "wrong_channel", "this API key belongs to another channel")
        t = await found(service.supply_from_channel(channel.value, channel_message_id, description=body.description,
                                                    order_number=body.order_number, contact=body.customer))
        return SubmissionAccepted(ticket_id=t.ticket_id, ticket_no=t.ticket_no, status=t.status, duplicate=True,
                                  missing_fields=t.missing_fields)

    @router.post("/messages", status_code=201, response_model=MessageAccepted, tags=["channels"],
                 responses={401: {"description": "missing or unknown API key"}, 403: {"description": "key of another channel"}})
    async def message(body: CustomerMessage, api_key: ApiKeyHeader = None) -> MessageAccepted:
        """A customer's further message (e-mail reply, next chat line, social reply, call from the same caller),
        threaded into its ticket — or a new ticket when none fits; never lost. Idempotent on (channel,
        channel_message_id)."""
        channel = channel_for_key(channel_keys, api_key)
        if channel != body.channel.value:
            raise ApiError(403, "wrong_channel", f"this API key belongs to channel {channel!r}")
        result = await service.receive_message(body)
        t = result.ticket
        return MessageAccepted(ticket_id=t.ticket_id, ticket_no=t.ticket_no, status=t.status,
                               action=result.action, threaded_by=result.threaded_by,  # type: ignore[arg-type]
                               duplicate=result.duplicate)

    # ------------------------------------------------------------------ tickets: read
    @router.get("/tickets", response_model=list[Ticket], tags=["tickets"],
                responses={200: {"headers": {"X-Next-Cursor": {"description": "Pass as `cursor` for the next page."}}}})
    async def list_tickets(
        _: AnyStaff,
        response: Response,
        status: Annotated[list[TicketStatus] | None, Query()] = None,
        priority: Annotated[list[Priority] | None, Query()] = None,
        channel: Channel | None = None,
        assignee_id: Annotated[str | None, Query(max_length=64)] = None,
        customer_id: Annotated[str | None, Query(max_length=64)] = None,
        created_from: AwareDatetime | None = None,
        created_to: AwareDatetime | None = None,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        skip: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> list[Ticket]:
        """Newest first. Filters combine; the next page's cursor is in the ``X-Next-Cursor`` header."""
        filters: dict[str, Any] = {}
        if status:
            filters["status"] = {"$in": [s.value for s in status]}
        if priority:
            filters["priority"] = {"$in": [p.value for p in priority]}
        if channel:
            filters["channel"] = channel.value
        if assignee_id:
            filters["assignee_id"] = assignee_id
        if customer_id:
            filters["customer_id"] = customer_id
        if created_from or created_to:
            if created_from and created_to and created_from > created_to:
                raise ApiError(422, "invalid_range", "created_from is after created_to")
            filters["created_at"] = {k: v for k, v in (("$gte", created_from), ("$lt", created_to)) if v}
        after = _decode_cursor(cursor) if cursor else None
        tickets = await service.store.list_tickets(filters=filters, limit=limit, skip=skip, after=after)
        if len(tickets) == limit:
            response.headers["X-Next-Cursor"] = _encode_cursor(tickets[-1])
        return tickets

    @router.get("/tickets/{ticket_id}", response_model=Ticket, tags=["tickets"])
    async def get_ticket(ticket_id: str, _: AnyStaff) -> Ticket:
        return await found(service.store.get_ticket(ticket_id))

    @router.get("/tickets/by-channel/{channel}/{channel_message_id}", response_model=Ticket, tags=["tickets"])
    async def get_by_channel_message(channel: str, channel_message_id: str, _: AnyStaff) -> Ticket:
        return await found(service.store.get_ticket(ticket_id_for(channel, channel_message_id)))

    @router.get("/tickets/{ticket_id}/timeline", response_model=list[TimelineEntry], tags=["tickets"])
    async def timeline(ticket_id: str, _: AnyStaff,
                       visibility: Literal["internal", "customer"] | None = None) -> list[TimelineEntry]:
        """Notes, replies, status changes, assignments and results, oldest first."""
        return await found(service.timeline(ticket_id, visibility))

    @router.get("/tickets/{ticket_id}/audit", tags=["tickets"])
    async def ticket_audit(ticket_id: str, _: Supervisor,
                           limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
        await found(service.store.get_ticket(ticket_id))
        return await service.store.list_audit(ticket_id, limit)

    # ------------------------------------------------------------------ tickets: work
    @router.post("/tickets/{ticket_id}/notes", response_model=Ticket, tags=["tickets"])
    async def add_note(ticket_id: str, body: NoteRequest, who: Worker) -> Ticket:
        """A progress note; ``contacted_customer`` or a customer-visible note is the first response."""
        return await found(service.add_note(ticket_id, by=who.staff_id, text=body.text, visibility=body.visibility,
                                            contacted_customer=body.contacted_customer, privileged=_privileged(who)))

    @router.post("/tickets/{ticket_id}/responses", response_model=Ticket, tags=["tickets"])
    async def reply(ticket_id: str, body: ReplyRequest, who: Worker) -> Ticket:
        """Answer the customer; the first answer publishes ``ticket.responded``."""
        return await found(service.respond(ticket_id, by=who.staff_id, text=body.text, privileged=_privileged(who)))

    @router.post("/tickets/{ticket_id}/status", response_model=Ticket, tags=["tickets"])
    async def change_status(ticket_id: str, body: StatusRequest, who: Worker) -> Ticket:
        """Start work (in_progress) or wait for the customer (pending_customer pauses the clock) and resume."""
        return await found(service.change_status(ticket_id, by=who.staff_id, to=TicketStatus(body.status),
                                                 reason=body.reason, privileged=_privileged(who)))

    @router.post("/tickets/{ticket_id}/resolve", response_model=Ticket, tags=["tickets"])
    async def resolve(ticket_id: str, body: ResolveRequest, who: Worker) -> Ticket:
        """Record the result; publishes ticket.resolved (the survey goes out)."""
        return await found(service.resolve(ticket_id, by=who.staff_id, summary=body.summary,
                                           solution_type=body.solution_type, compensation=body.compensation,
                                           attachments=body.attachments, privileged=_privileged(who)))

    @router.post("/tickets/{ticket_id}/confirmation", response_model=Ticket, tags=["tickets"])
    async def confirmation(ticket_id: str, body: ConfirmationRequest, who: Worker) -> Ticket:
        """The customer's answer to 'is it solved?': yes is recorded, no reopens the ticket."""
        return await found(service.confirm(ticket_id, by=who.staff_id, confirmed=body.confirmed, note=body.note,
                                           privileged=_privileged(who)))

    @router.post("/tickets/{ticket_id}/close", response_model=Ticket, tags=["tickets"])
    async def close(ticket_id: str, body: ReasonRequest, who: Worker) -> Ticket:
        """Close a resolved ticket (supervisors may close unresolved ones with a reason)."""
        return await found(service.close(ticket_id, by=who.staff_id, reason=body.reason, privileged=_privileged(who)))

    @router.post("/tickets/{ticket_id}/reopen", response_model=Ticket, tags=["tickets"])
    async def reopen(ticket_id: str, body: ReopenRequest, who: Worker) -> Ticket:
        """Back to work (a closed ticket only by a supervisor)."""
        return await found(service.reopen(ticket_id, by=who.staff_id, reason=body.reason, privileged=_privileged(who)))

    @router.post("/tickets/{ticket_id}/info", response_model=Ticket, tags=["tickets"])
    async def supply_info(ticket_id: str, body: Supplement, who: Worker) -> Ticket:
        """Record what the customer supplied for a ``needs_info`` ticket."""
        return await found(service.supply_info(ticket_id, by=who.staff_id, description=body.description,
                                               order_number=body.order_number, contact=body.customer,
                                               privileged=_privileged(who)))

    # ------------------------------------------------------------------ customers
    @router.post("/customers", status_code=201, tags=["customers"])
    async def create_customer(body: CustomerCreate, who: ProfileEditor) -> dict[str, Any]:
        if body.tier not in (None, CustomerTier.NORMAL) and not _privileged(who):
            raise ApiError(403, "forbidden", "only supervisors and admins set a customer tier")
        customer = await run(service.create_customer(body.model_dump(exclude_none=True), by=who.staff_id))
        return service.customer_view(customer, reveal=_privileged(who))

    @router.get("/customers", tags=["customers"])
    async def list_customers(
        who: AnyStaff,
        tier: CustomerTier | None = None,
        status: CustomerStatus | None = None,
        kind: CustomerKind | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        skip: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> list[dict[str, Any]]:
        filters = {k: v.value for k, v in (("tier", tier), ("status", status), ("kind", kind)) if v}
        customers = await service.store.list_customers(filters=filters, limit=limit, skip=skip)
        return [service.customer_view(c, reveal=_privileged(who)) for c in customers]

    @router.get("/customers/export", tags=["customers"],
                responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
    async def export_customers(
        _: Admin, format: Literal["csv", "json"] = "csv", tier: CustomerTier | None = None,
        status: CustomerStatus | None = None,
    ) -> Response:
        """All customers; personal data stays encrypted (``enc:`` + Fernet token) in the file."""
        filters = {k: v.value for k, v in (("tier", tier), ("status", status)) if v}
        rows = [service.export_row(c) async for c in service.store.iter_customers(filters)]
        stamp = datetime.now().strftime("%Y%m%d%H%M%S")
        if format == "json":
            return Response(json.dumps(rows, ensure_ascii=False), media_type="application/json",
                            headers={"Content-Disposition": f'attachment; filename="customers-{stamp}.json"'})
        buffer = io.StringIO()
        fields = list(rows[0]) if rows else ["customer_id"]
        writer = csv.DictWriter(buffer, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
        return StreamingResponse(iter([buffer.getvalue()]), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="customers-{stamp}.csv"'})

    @router.get("/customers/{customer_id}", tags=["customers"])
    async def get_customer(customer_id: str, who: AnyStaff) -> dict[str, Any]:
        """Clear personal data for supervisors and admins; masked values for everyone else."""
        customer = await found(service.store.get_customer(customer_id), "customer")
        return service.customer_view(customer, reveal=_privileged(who))

    @router.patch("/customers/{customer_id}", tags=["customers"])
    async def update_customer(customer_id: str, body: CustomerUpdate, who: ProfileEditor) -> dict[str, Any]:
        values = body.model_dump(exclude_unset=True)
        values = {k: v for k, v in values.items() if v is not None or k not in ("tier", "kind", "status", "consent_sensitive")}
        if "source" in values and values["source"] is None:
            values["source"] = ""  # null clears the information source (the profile keeps a string)
        if not values:
            raise ApiError(422, "nothing_to_change", "name at least one field")
        if ({"tier", "status"} & set(values)) and not _privileged(who):
            raise ApiError(403, "forbidden", "only supervisors and admins change tier or status")
        customer = await found(service.update_customer(customer_id, values, by=who.staff_id), "customer")
        return service.customer_view(customer, reveal=_privileged(who))

    @router.get("/customers/{customer_id}/changes", tags=["customers"])
    async def customer_changes(customer_id: str, _: Supervisor,
                               limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
        """The change log (masked before → after, operator, time), newest first."""
        await found(service.store.get_customer(customer_id), "customer")
        return await service.store.list_changes(customer_id, limit)

    return router


# ====================================================================== backups and audit retention (admin)
class BackupRunRequest(BaseModel):
    kind: Literal["daily", "monthly"] = Field(description="daily: the customers created or changed in the last 24 h; "
                                              "monthly: every customer.")


def build_admin_router(backups: BackupService) -> APIRouter:
    """| GET  /api/v1/admin/backups          | admin | history, newest first (+ whether backups are configured) |
    | POST /api/v1/admin/backups/run      | admin | back up now (202; audited)                               |
    | GET  /api/v1/admin/backups/{id}     | admin | one backup                                               |
    | GET  /api/v1/admin/audit/retention  | admin | retention months, oldest entry, last purge and count      |"""
    router = APIRouter(prefix="/api/v1/admin", tags=["admin"])

    @router.get("/backups")
    async def backup_history(_: Admin, limit: Annotated[int, Query(ge=1, le=500)] = 60) -> dict[str, Any]:
        """The backups (scheduled and manual), newest first, with status, counts, sha256 and key id."""
        return await backups.history(limit)

    @router.post("/backups/run", status_code=202)
    async def run_backup(body: BackupRunRequest, who: Admin) -> dict[str, Any]:
        """Start a backup now; it runs in the background and shows in the history (running → done/failed)."""
        try:
            return await backups.run_now(body.kind, by=who.staff_id)
        except BackupsDisabled as exc:
            raise ApiError(409, exc.code, str(exc)) from None
        except DomainError as exc:
            raise ApiError(409, exc.code, str(exc)) from None

    @router.get("/backups/{backup_id}")
    async def get_backup(backup_id: Annotated[str, Path_(max_length=120)], _: Admin) -> dict[str, Any]:
        doc = await backups.store.get_backup(backup_id)
        if doc is None:
            raise ApiError(404, "backup_not_found", "no such backup")
        return doc

    @router.get("/audit/retention")
    async def audit_retention(_: Admin) -> dict[str, Any]:
        """Audit entries are kept ``retention_months`` calendar months; a daily pass purges older ones."""
        return await backups.retention_status()

    return router


# ---------------------------------------------------------------------------------------------- evidence
_EVIDENCE_STATUS = {"not_assignee": 403, "file_too_large": 413, "type_not_allowed": 415, "type_mismatch": 415,
                    "markup_not_allowed": 415, "evidence_not_found": 404, "empty_file": 422, "ticket_closed": 409,
                    "evidence_limit_reached": 409, "conflict": 409}
_MULTIPART_SLACK = 64 * 1024
"""What a multipart request may carry besides the file (boundaries, part headers, a field or two)."""


class EvidenceRemoval(BaseModel):
    reason: str = Field(min_length=2, max_length=500, description="Why the file is removed (kept in the audit log).")


async def _multipart_events(request: Request) -> AsyncIterator[tuple[str, Any]]:
    """Parse a multipart/form-data body as it arrives: ("headers", {name: value}), ("data", bytes) …, ("end",
    None) per part. Nothing is buffered beyond one received chunk."""
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise ApiError(415, "multipart_required", "send the file as multipart/form-data (field `file`)")
    pending: list[tuple[str, Any]] = []
    headers: dict[str, bytes] = {}
    field, value = bytearray(), bytearray()

    def on_header_end() -> None:
        headers[field.decode("latin-1").lower()] = bytes(value)
        field.clear()
        value.clear()

    def on_headers_finished() -> None:
        pending.append(("headers", dict(headers)))
        headers.clear()

    parser = MultipartParser(params[b"boundary"], {
        "on_header_field": lambda data, start, end: field.extend(data[start:end]),
        "on_header_value": lambda data, start, end: value.extend(data[start:end]),
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
        "on_part_data": lambda data, start, end: pending.append(("data", bytes(data[start:end]))),
        "on_part_end": lambda: pending.append(("end", None)),
    })
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            for item in pending:
                yield item
            pending.clear()
        parser.finalize()
    except MultipartParseError as exc:
        raise ApiError(400, "bad_multipart", f"the multipart body cannot be read: {exc}") from None
    for item in pending:
        yield item


async def _file_part(request: Request) -> tuple[str | None, str | None, AsyncIterator[bytes]]:
    """The first part that carries a file (field ``file``): its file name, claimed type and data stream."""
    events = _multipart_events(request)
    async for kind, value in events:
        if kind != "headers":
            continue
        _, disposition = parse_options_header(value.get("content-disposition", b""))
        if disposition.get(b"name") == b"file" and b"filename" in disposition:
            name = disposition[b"filename"].decode("utf-8", "replace").replace("%22", '"')
            claimed = value.get("content-type", b"").decode("latin-1") or None

            async def data() -> AsyncIterator[bytes]:
                async for part_kind, chunk in events:
                    if part_kind == "data":
                        yield chunk
                    elif part_kind == "end":
                        return

            return name, claimed, data()
    raise ApiError(422, "file_required", "the request has no file in the field `file`")


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the real one as RFC 5987 ``filename*``."""
    stem, dot, ext = name.rpartition(".")
    if not (dot and stem):
        stem, ext = name, ""

    def ascii_only(text: str) -> str:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return re.sub(r"[^A-Za-z0-9._ -]", "_", text).strip(" ._")

    ascii_name = ascii_only(stem) or "evidence"
    if ascii_only(ext):
        ascii_name += f".{ascii_only(ext)}"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def build_evidence_router(service: EvidenceService) -> APIRouter:
    """| method | path                                        | who                                   |
    |--------|---------------------------------------------|---------------------------------------|
    | POST   | /api/v1/tickets/{id}/evidence (multipart)    | the assignee, supervisor, admin       |
    | GET    | /api/v1/tickets/{id}/evidence                | the assignee, supervisor, admin       |
    | GET    | /api/v1/tickets/{id}/evidence/{file_id}      | the assignee, supervisor, admin       |
    | DELETE | /api/v1/tickets/{id}/evidence/{file_id}      | supervisor, admin                     |
    """
    router = APIRouter(prefix="/api/v1", tags=["evidence"])
    limits = service.limits

    def require_storage() -> None:
        if not service.files.available:
            raise ApiError(503, "evidence_unavailable", "files need a MongoDB server (MONGODB_URL); the in-memory "
                           "store keeps none")

    async def run(call: Any) -> Any:
        try:
            result = await call
        except NotAssignee as exc:
            raise ApiError(403, exc.code, str(exc)) from None
        except EvidenceRefused as exc:
            raise ApiError(_EVIDENCE_STATUS.get(exc.code, 409), exc.code, str(exc), exc.details or None) from None
        except DomainError as exc:
            raise ApiError(_EVIDENCE_STATUS.get(exc.code, 409), exc.code, str(exc)) from None
        if result is None:
            raise ApiError(404, "ticket_not_found", "no such ticket")
        return result

    @router.post("/tickets/{ticket_id}/evidence", status_code=201, response_model=EvidenceFile,
                 openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                     "type": "object", "required": ["file"],
                     "properties": {"file": {"type": "string", "format": "binary"}}}}}}},
                 responses={403: {"description": "not the assignee"}, 409: {"description": "ticket closed, or its "
                            "file limits reached"}, 413: {"description": "file too large"},
                            415: {"description": "type not accepted, or the claim/name contradicts the content"}})
    async def upload_evidence(ticket_id: str, request: Request, who: AnyStaff) -> EvidenceFile:
        """Attach a screenshot or document (multipart field ``file``). Its type is detected from the bytes:
        PNG, JPEG, GIF, WebP, PDF, Word (docx), Excel (xlsx), plain UTF-8 text; never HTML or SVG."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limits.max_bytes + _MULTIPART_SLACK:
            raise ApiError(413, "file_too_large", f"a file may have at most {limits.max_bytes} bytes",
                           {"max_bytes": limits.max_bytes})
        require_storage()
        name, claimed, data = await _file_part(request)
        return await run(service.upload(ticket_id, by=who.staff_id, privileged=_privileged(who), name=name,
                                        claimed=claimed, chunks=data))

    @router.get("/tickets/{ticket_id}/evidence", response_model=list[EvidenceFile])
    async def list_evidence(ticket_id: str, who: AnyStaff) -> list[EvidenceFile]:
        """The ticket's files, oldest first."""
        require_storage()
        return await run(service.list(ticket_id, by=who.staff_id, privileged=_privileged(who)))

    @router.get("/tickets/{ticket_id}/evidence/{file_id}", response_class=StreamingResponse,
                responses={200: {"content": {"application/octet-stream": {}}}, 403: {"description": "not the assignee"}})
    async def download_evidence(ticket_id: str, file_id: Annotated[str, Path_(max_length=64)],
                                who: AnyStaff) -> StreamingResponse:
        """The file's bytes as stored, with its detected type, always as an attachment."""
        require_storage()
        file, stream = await run(service.open(ticket_id, file_id, by=who.staff_id, privileged=_privileged(who)))

        async def body() -> AsyncIterator[bytes]:
            while chunk := await stream.readchunk():
                yield chunk

        media = f"{file.content_type}; charset=utf-8" if file.content_type == TEXT else file.content_type
        return StreamingResponse(body(), media_type=media, headers={
            "Content-Length": str(file.size), "Content-Disposition": content_disposition(file.name),
            "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox", "ETag": f'"{file.sha256}"'})

    @router.delete("/tickets/{ticket_id}/evidence/{file_id}", response_model=Ticket)
    async def remove_evidence(ticket_id: str, file_id: Annotated[str, Path_(max_length=64)], body: EvidenceRemoval,
                              who: Supervisor) -> Ticket:
        """Remove a file (its content is deleted); the reason is audited."""
        require_storage()
        return await run(service.remove(ticket_id, file_id, by=who.staff_id, reason=body.reason))

    return router
