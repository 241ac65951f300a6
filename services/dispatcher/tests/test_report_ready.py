"""report.ready (scheduled reports, seeds 000 七 and 004 四): each subscriber gets the report in-app with the
link, and by e-mail / IM with the CSV attached when they chose one — once, whatever the redeliveries."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

from contracts import StaffRole
from contracts.events_reporting import ReportAttachment, ReportReady, ReportReadyPayload, ReportRecipient
from dispatcher import domain
from servicekit.testing import auth_header

from .test_customer_replied import Recorder
from .test_service import send

CSV = "period,metric,key,value\r\n2026-11-30,created,,3\r\n".encode()


def report_ready(*recipients: tuple[str, str], attach: bool = True) -> ReportReady:
    attachment = ReportAttachment(filename="daily-report-2026-11-30.csv", size=len(CSV),
                                  sha256=hashlib.sha256(CSV).hexdigest(),
                                  content_base64=base64.b64encode(CSV).decode()) if attach else None
    return ReportReady.new(ReportReadyPayload(
        report_id="daily:2026-11-30", kind="daily", period="2026-11-30", start="2026-11-28", end="2026-11-30",
        title="客服工作日报 2026-11-30 (2026-11-28 – 2026-11-30)", summary=["新建工单 3 · 已解决 1", "满意度 —"],
        link="/#/dashboard", csv_path="/api/reporting/v1/reports/deliveries/daily:2026-11-30.csv",
        recipients=[ReportRecipient(staff_id=s, external=e) for s, e in recipients],  # type: ignore[arg-type]
        attachment=attachment, composed_at=datetime(2026, 11, 30, 10, 0, 5, tzinfo=UTC),
    ), correlation_id="report-daily:2026-11-30", producer="reporting")


def test_notes_carry_the_link_and_attach_the_csv_to_external_deliveries_only() -> None:
    notes = domain.notes_for_report(report_ready(("S1", "email"), ("S2", "none"), ("S3", "im")))
    assert [(n.recipient, n.external) for n in notes] == [("S1", "email"), ("S2", None), ("S3", "im")]
    for n in notes:
        assert n.kind == "report.ready" and n.data["link"] == "/#/dashboard" and "新建工单 3" in n.body
        assert "attachments" not in n.data and len(n.body) <= 4000 and len(n.subject) <= 200
    assert notes[0].external_data["attachments"][0]["filename"] == "daily-report-2026-11-30.csv"
    assert notes[1].external_data == {}
    too_big = domain.notes_for_report(report_ready(("S1", "email"), attach=False))
    assert too_big[0].external == "email" and too_big[0].external_data == {}


async def test_each_subscriber_is_told_once_in_app_and_on_their_channel_with_the_csv(running: dict[str, Any]) -> None:
    service, store = running["service"], running["service"].store
    event = report_ready(("S1", "email"), ("S2", "none"))
    await send(running, event, event)  # a redelivery of the same event
    again = event.model_copy(update={"event_id": report_ready().event_id})  # republished under a new event id
    await send(running, again)
    docs = [d async for d in store.notifications.find({"kind": "report.ready"})]
    assert sorted((d["recipient"], d["channel"]) for d in docs) == [("S1", "email"), ("S1", "in_app"), ("S2", "in_app")]

    r = await running["client"].get("/api/v1/notifications/mine",
                                    headers=auth_header(StaffRole.SUPERVISOR, staff_id="S1"))
    [note] = [n for n in r.json()["items"] if n["kind"] == "report.ready"]
    assert note["data"]["link"] == "/#/dashboard" and note["data"]["report_id"] == "daily:2026-11-30"
    assert "attachments" not in note["data"]  # the inbox keeps the link, not the file

    recorder = Recorder()
    service.notifier = recorder
    assert await service.deliver_due() == 1 and await service.deliver_due() == 0
    [sent] = recorder.sent
    assert (sent.kind, sent.channel, sent.recipient) == ("report.ready", "email", "S1")
    [attachment] = sent.data["attachments"]
    assert base64.b64decode(attachment["content_base64"]) == CSV
    assert attachment["sha256"] == hashlib.sha256(CSV).hexdigest()
    assert sent.data["csv_path"].endswith("daily:2026-11-30.csv")
    assert running["broker"].dead_letters == []
