from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import (
    Category,
    Channel,
    CustomerTier,
    Module,
    Priority,
    TicketAcknowledged,
    TicketAcknowledgedPayload,
    TicketAssigned,
    TicketAssignedPayload,
    TicketClassified,
    TicketClassifiedPayload,
    TicketClosed,
    TicketClosedPayload,
    TicketCreated,
    TicketCreatedPayload,
    TicketCustomerReplied,
    TicketCustomerRepliedPayload,
    TicketReopened,
    TicketReopenedPayload,
    TicketResolved,
    TicketResolvedPayload,
    TicketResponded,
    TicketRespondedPayload,
    TicketStatus,
    TicketStatusChanged,
    TicketStatusChangedPayload,
)
from contracts.events import ClassificationExplanation
from servicekit.testing import TEST_JWT_SECRET, running_app
from sla_monitor.app import SlaMonitorSettings, create_app


@pytest.fixture
def settings() -> SlaMonitorSettings:
    return SlaMonitorSettings(jwt_secret=TEST_JWT_SECRET, log_format="text")


@pytest.fixture
async def running(settings: SlaMonitorSettings) -> AsyncIterator[dict[str, Any]]:
    async with running_app(create_app(settings)) as running:
        running["service"].now = lambda: T0  # alarm schedule filed as of the tests' simulated time
        yield running


# ----------------------------------------------------------------------------- event factories
T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """``minutes`` after T0 (the ticket's creation in most tests)."""
    return T0 + timedelta(minutes=minutes)


def _ref(tid: str) -> dict[str, str]:
    return {"ticket_id": tid, "ticket_no": f"GD20261125{tid[-3:]:0>3}"}


def created(tid: str = "t001", when: datetime = T0, channel: Channel = Channel.PHONE,
            tier: CustomerTier = CustomerTier.NORMAL) -> TicketCreated:
    return TicketCreated.new(
        TicketCreatedPayload(
            **_ref(tid), channel=channel, channel_message_id=f"m-{tid}", customer_id="c1",
            customer_display="客户A-0001", description="无法开机", created_at=when, customer_tier=tier,
        ),
        correlation_id=f"corr-{tid}", producer="intake", occurred_at=when,
    )


def classified(
    tid: str = "t001", priority: Priority = Priority.P1, when: datetime = T0, channel: Channel = Channel.PHONE
) -> TicketClassified:
    return TicketClassified.new(
        TicketClassifiedPayload(
            **_ref(tid), category=Category.COMPLAINT, module=Module.AFTER_SALES, priority=priority, confidence=0.9,
            classifier_version="rules-1", explanation=ClassificationExplanation(method="rule", rule_id="r1"),
            channel=channel, classified_at=when,
        ),
        correlation_id=f"corr-{tid}", producer="classifier", occurred_at=when,
    )


def assigned(
    tid: str = "t001", agent: str = "A1", when: datetime = T0, priority: Priority = Priority.P3
) -> TicketAssigned:
    return TicketAssigned.new(
        TicketAssignedPayload(**_ref(tid), agent_id=agent, agent_name=agent, team="general", priority=priority,
                              assigned_at=when),
        correlation_id=f"corr-{tid}", producer="dispatcher", occurred_at=when,
    )


def acknowledged(tid: str = "t001", agent: str = "A1", when: datetime = T0) -> TicketAcknowledged:
    return TicketAcknowledged.new(
        TicketAcknowledgedPayload(**_ref(tid), agent_id=agent, acknowledged_at=when),
        correlation_id=f"corr-{tid}", producer="dispatcher", occurred_at=when,
    )


def responded(tid: str = "t001", when: datetime = T0, agent: str = "A1") -> TicketResponded:
    return TicketResponded.new(
        TicketRespondedPayload(**_ref(tid), agent_id=agent, responded_at=when),
        correlation_id=f"corr-{tid}", producer="intake", occurred_at=when,
    )


def resolved(tid: str = "t001", when: datetime = T0) -> TicketResolved:
    return TicketResolved.new(
        TicketResolvedPayload(**_ref(tid), agent_id="A1", channel=Channel.PHONE, customer_id="c1",
                              customer_display="客户A-0001", resolved_at=when),
        correlation_id=f"corr-{tid}", producer="intake", occurred_at=when,
    )


def closed(tid: str = "t001", when: datetime = T0) -> TicketClosed:
    return TicketClosed.new(
        TicketClosedPayload(**_ref(tid), closed_by="system", closed_at=when),
        correlation_id=f"corr-{tid}", producer="intake", occurred_at=when,
    )


def reopened(tid: str = "t001", when: datetime = T0, count: int = 1) -> TicketReopened:
    return TicketReopened.new(
        TicketReopenedPayload(**_ref(tid), reason="survey: unresolved", source="survey", reopen_count=count,
                              reopened_at=when),
        correlation_id=f"corr-{tid}", producer="intake", occurred_at=when,
    )


def status_changed(
    tid: str = "t001", when: datetime = T0, to: TicketStatus = TicketStatus.PENDING_CUSTOMER,
    frm: TicketStatus = TicketStatus.IN_PROGRESS,
) -> TicketStatusChanged:
    return TicketStatusChanged.new(
        TicketStatusChangedPayload(**_ref(tid), from_status=frm, to_status=to, changed_by="A1", changed_at=when),
        correlation_id=f"corr-{tid}", producer="intake", occurred_at=when,
    )


def paused(tid: str = "t001", when: datetime = T0) -> TicketStatusChanged:
    return status_changed(tid, when, TicketStatus.PENDING_CUSTOMER, TicketStatus.IN_PROGRESS)


def resumed(tid: str = "t001", when: datetime = T0) -> TicketStatusChanged:
    return status_changed(tid, when, TicketStatus.IN_PROGRESS, TicketStatus.PENDING_CUSTOMER)


def replied(tid: str = "t001", when: datetime = T0, *, status: TicketStatus = TicketStatus.IN_PROGRESS,
            count: int = 1, message: str | None = None) -> TicketCustomerReplied:
    """The customer wrote again (intake's ``ticket.customer_replied``); ``status`` is the ticket's after it."""
    mid = message or f"msg-{tid}-{when.isoformat()}"
    return TicketCustomerReplied.new(
        TicketCustomerRepliedPayload(
            **_ref(tid), message_id=mid[:64], channel=Channel.EMAIL, channel_message_id=f"ch-{mid}",
            threaded_by="thread", excerpt="还是不行", status=status, assignee_id="A1", reply_count=count,
            replied_at=when,
        ),
        correlation_id=f"corr-{tid}", producer="intake", occurred_at=when,
    )
