"""ticket.customer_replied (the ticket is a conversation): the customer's further message reaches whoever
should answer it — in the in-app inbox and through the notifier port — under the in-memory
TestRabbitBroker, like the other service tests."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import (
    Category,
    Channel,
    StaffRole,
    TicketCustomerReplied,
    TicketCustomerRepliedPayload,
    TicketStatus,
)
from servicekit.notify import Notification
from servicekit.testing import auth_header

from .test_service import classified, resolved, send

REPLIED_AT = datetime(2026, 11, 25, 3, 5, tzinfo=UTC)


def replied(n: int, *, assignee_id: str | None = None, excerpt: str = "快递还是没到，单号 SF****1234，请尽快处理",
            attachments: int = 1, threaded_by: str = "reference", status: TicketStatus = TicketStatus.IN_PROGRESS,
            reply_count: int = 1) -> TicketCustomerReplied:
    tid = f"t{n:04d}"
    return TicketCustomerReplied.new(
        TicketCustomerRepliedPayload(
            ticket_id=tid, ticket_no=f"GD20261125{n:03d}", message_id=f"m{n}-{reply_count}", channel=Channel.EMAIL,
            channel_message_id=f"<msg-{n}-{reply_count}@mail.example>", threaded_by=threaded_by, excerpt=excerpt,
            attachments=attachments, status=status, assignee_id=assignee_id, reply_count=reply_count,
            replied_at=REPLIED_AT,
        ),
        correlation_id=f"corr-{tid}", producer="intake",
    )


async def inbox(running: dict[str, Any], staff_id: str, role: StaffRole = StaffRole.AGENT) -> list[dict[str, Any]]:
    r = await running["client"].get("/api/v1/notifications/mine", headers=auth_header(role, staff_id=staff_id))
    assert r.status_code == 200, r.text
    return [n for n in r.json()["items"] if n["kind"] == "ticket.customer_replied"]


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    async def send(self, notification: Notification) -> None:
        self.sent.append(notification)


async def test_the_assignee_by_our_record_is_told_once_in_app_and_by_im(small: dict[str, Any]) -> None:
    service, store = small["service"], small["service"].store
    await send(small, classified(1, category=Category.COMPLAINT))
    assert (await store.get("t0001")).agent_id == "C1"
    # intake still names F1 (it lags behind a move, say): the dispatcher's own record wins
    event = replied(1, assignee_id="F1")
    await send(small, event, event)  # the second is a duplicate delivery of the same event_id
    [note] = await inbox(small, "C1")
    assert note["ticket_id"] == "t0001" and note["status"] == "delivered" and note["read_at"] is None
    assert "GD20261125001" in note["subject"] and "快递还是没到" in note["body"] and "附件 1" in note["body"]
    assert note["data"]["ticket_no"] == "GD20261125001" and note["data"]["excerpt"].startswith("快递还是没到")
    assert (note["data"]["channel"], note["data"]["attachments"], note["data"]["reply_count"]) == ("email", 1, 1)
    assert note["data"]["unassigned"] is False
    assert await inbox(small, "F1") == [] and await inbox(small, "SUP", StaffRole.SUPERVISOR) == []
    # and once through the notifier port, on the channel the dispatcher uses for staff (im)
    docs = [d async for d in store.notifications.find({"kind": "ticket.customer_replied"})]
    assert sorted((d["recipient"], d["channel"]) for d in docs) == [("C1", "im"), ("C1", "in_app")]
    recorder = Recorder()
    service.notifier = recorder
    assert await service.deliver_due() == 1 and await service.deliver_due() == 0
    [sent] = recorder.sent
    assert (sent.kind, sent.channel, sent.recipient, sent.ticket_id) == ("ticket.customer_replied", "im", "C1", "t0001")
    assert sent.data["excerpt"].startswith("快递还是没到") and sent.data["notification_id"] == f"{event.event_id}:C1:im"
    # a later message is a new event: a new notification
    await send(small, replied(1, reply_count=2, excerpt="还在等", attachments=0))
    assert [n["data"]["reply_count"] for n in await inbox(small, "C1")] == [2, 1]


async def test_an_unassigned_ticket_goes_to_its_team_supervisors(small: dict[str, Any]) -> None:
    store = small["service"].store
    # C1 (complaints, one slot) is busy with ticket 1; ticket 2 waits in the complaints queue
    await send(small, classified(1, category=Category.COMPLAINT), classified(2, category=Category.COMPLAINT))
    assert (await store.get("t0002")).status.value == "queued"
    # the event still names C1 (say the ticket was moved back to the team): nobody holds it here
    event = replied(2, assignee_id="C1", threaded_by="thread")
    await send(small, event, event)
    [note] = await inbox(small, "SUP", StaffRole.SUPERVISOR)
    assert note["ticket_id"] == "t0002" and note["data"]["unassigned"] is True and "未分配" in note["subject"]
    assert await inbox(small, "C1") == []
    assert [d["channel"] async for d in store.notifications.find({"ticket_id": "t0002"})] == ["in_app", "im"]


async def test_a_finished_ticket_tells_the_agent_who_had_it(small: dict[str, Any]) -> None:
    await send(small, classified(1, category=Category.COMPLAINT), resolved(1))
    assert (await small["service"].store.get("t0001")).status.value == "released"
    # a reply to a resolved ticket (or one that reopens a closed one before ticket.reopened arrives)
    await send(small, replied(1, assignee_id=None, threaded_by="reopened", status=TicketStatus.REOPENED))
    [note] = await inbox(small, "C1")
    assert note["data"]["threaded_by"] == "reopened" and "重开" in note["body"]


async def test_a_ticket_unknown_here_uses_the_event_or_is_only_logged(
    small: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    store = small["service"].store
    await send(small, replied(7, assignee_id="F1"))  # never classified here: the event's assignee
    assert [n["ticket_id"] for n in await inbox(small, "F1")] == ["t0007"]
    with caplog.at_level(logging.WARNING, logger="dispatcher.service"):
        await send(small, replied(8, assignee_id=None, attachments=0, excerpt=""))
    assert await store.notifications.count_documents({"ticket_id": "t0008"}) == 0
    assert any("GD20261125008" in r.getMessage() and "nobody holds" in r.getMessage() for r in caplog.records)


async def test_the_subscription_is_declared(small: dict[str, Any]) -> None:
    spec = json.dumps((await small["client"].get("/asyncapi.json")).json())
    assert "dispatcher.ticket.customer_replied" in spec
