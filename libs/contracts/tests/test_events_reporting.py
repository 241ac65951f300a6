"""report.ready (scheduled reports): registered, round-trips through JSON, bounded."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from contracts import event_class, parse_event
from contracts.events_reporting import (
    MAX_ATTACHMENT_BYTES,
    ReportAttachment,
    ReportReady,
    ReportReadyPayload,
    ReportRecipient,
)

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def payload(**over: object) -> ReportReadyPayload:
    raw = b"period,metric,key,value\r\n"
    base = dict(report_id="daily:2026-12-07", kind="daily", period="2026-12-07", start="2026-12-05", end="2026-12-07",
                title="客服工作日报 2026-12-07", summary=["新建工单 3"], link="/#/dashboard",
                csv_path="/api/reporting/v1/reports/deliveries/daily:2026-12-07.csv",
                recipients=[ReportRecipient(staff_id="S1", external="email")],
                attachment=ReportAttachment(filename="daily-report-2026-12-07.csv", size=len(raw),
                                            sha256=hashlib.sha256(raw).hexdigest(),
                                            content_base64=base64.b64encode(raw).decode()),
                composed_at=NOW)
    return ReportReadyPayload(**{**base, **over})  # type: ignore[arg-type]


def test_report_ready_is_registered_and_round_trips() -> None:
    assert event_class("report.ready", 1) is ReportReady
    event = ReportReady.new(payload(), correlation_id="report-daily:2026-12-07", producer="reporting")
    again = parse_event(event.model_dump(mode="json"))
    assert again == event and isinstance(again, ReportReady)


def test_bounds() -> None:
    with pytest.raises(ValidationError):
        payload(kind="yearly")
    with pytest.raises(ValidationError):
        ReportRecipient(staff_id="S1", external="fax")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ReportAttachment(filename="x.csv", size=MAX_ATTACHMENT_BYTES + 1, sha256="0" * 64, content_base64="")
    with pytest.raises(ValidationError):
        payload(summary=["x"] * 13)
    assert payload(attachment=None).attachment is None
