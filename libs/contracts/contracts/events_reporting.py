"""Additional v1 events owned by the reporting side (new event types only; existing contracts are never
changed here). Every class defined in this module registers itself with the event registry on import.

* ``report.ready`` — a scheduled report (daily 日报, weekly 周报, monthly 月报; seeds 000 七 and 004 四) was
  composed; the dispatcher, which owns notifications, tells each subscribed recipient in-app (with a link to
  the dashboard) and, when they chose one, through their external channel (e-mail / IM) with the CSV
  attached. Published once per report (its id names the period), so a recipient hears of it once."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .envelope import Contract, Event, UtcDatetime
from .events import StaffId

__all__ = ["ReportAttachment", "ReportReady", "ReportReadyPayload", "ReportRecipient"]

MAX_ATTACHMENT_BYTES = 256 * 1024
"""A larger CSV is not attached; the recipients follow the link instead."""

ReportKind = Literal["daily", "weekly", "monthly"]
ExternalChannel = Literal["none", "email", "im"]


class ReportRecipient(Contract):
    staff_id: StaffId = Field(min_length=1, max_length=64)
    external: ExternalChannel = Field(default="none", description="Besides the in-app notification.")


class ReportAttachment(Contract):
    filename: str = Field(min_length=1, max_length=128)
    content_type: str = Field(default="text/csv; charset=utf-8", max_length=64)
    size: int = Field(ge=0, le=MAX_ATTACHMENT_BYTES)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    content_base64: str = Field(max_length=(MAX_ATTACHMENT_BYTES + 2) // 3 * 4)


class ReportReadyPayload(Contract):
    report_id: str = Field(min_length=1, max_length=64, description="``<kind>:<period>``, e.g. daily:2026-12-04.")
    kind: ReportKind
    period: str = Field(min_length=1, max_length=16, description="2026-12-04, 2026-W49 or 2026-11.")
    start: str = Field(description="First local business-zone day covered, YYYY-MM-DD.")
    end: str = Field(description="Last day covered, YYYY-MM-DD.")
    title: str = Field(min_length=1, max_length=200)
    summary: list[str] = Field(default_factory=list, max_length=12, description="A few headline lines.")
    link: str = Field(max_length=512, description="Where the report is seen (a console path).")
    csv_path: str = Field(max_length=512, description="The CSV through the console's API gateway.")
    recipients: list[ReportRecipient] = Field(default_factory=list, max_length=500)
    attachment: ReportAttachment | None = Field(default=None, description="None when the CSV is too large.")
    composed_at: UtcDatetime


class ReportReady(Event):
    """A scheduled report was composed and is to be delivered to its subscribers."""

    event_type: Literal["report.ready"] = "report.ready"
    schema_version: Literal[1] = 1
    payload: ReportReadyPayload
