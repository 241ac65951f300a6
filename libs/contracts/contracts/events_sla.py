"""Additional v1 events owned by the sla side (new event types only; existing contracts are never
changed here). Every class defined in this module registers itself with the event registry on import."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from .enums import Priority, SlaTarget
from .envelope import Event, UtcDatetime
from .events import StaffId, TicketRef

__all__ = ["OverdueReasonCode", "SlaOverdueReasonRecorded", "SlaOverdueReasonRecordedPayload"]


class OverdueReasonCode(StrEnum):
    """Why a ticket ran past its SLA (seed 004's 超时工单原因: 信息不全 / 流程复杂 / 资源不足 …)."""

    INCOMPLETE_INFORMATION = "incomplete_information"  # 信息不全
    COMPLEX_PROCESS = "complex_process"  # 流程复杂
    INSUFFICIENT_RESOURCES = "insufficient_resources"  # 资源不足
    PRIORITY_MISJUDGED = "priority_misjudged"  # 优先级判断不准
    CUSTOMER_UNREACHABLE = "customer_unreachable"  # 客户无法联系
    SYSTEM_ISSUE = "system_issue"  # 系统操作繁琐或故障
    OTHER = "other"  # 其他


class SlaOverdueReasonRecordedPayload(TicketRef):
    reason_id: str = Field(min_length=1, max_length=64, description="Unique per recorded reason.")
    target: SlaTarget | None = Field(default=None, description="The breached target it explains; None: the ticket.")
    code: OverdueReasonCode
    label: str = Field(description="The reason in the manual's words, e.g. 信息不全.")
    note: str = Field(default="", max_length=500, description="Free text, redacted of personal data.")
    priority: Priority
    policy_version: int
    agent_id: StaffId | None = None
    recorded_by: StaffId
    recorded_at: UtcDatetime


class SlaOverdueReasonRecorded(Event):
    """An agent or supervisor recorded why a breached ticket ran late (for the overdue-reason report)."""

    event_type: Literal["sla.overdue_reason_recorded"] = "sla.overdue_reason_recorded"
    schema_version: Literal[1] = 1
    payload: SlaOverdueReasonRecordedPayload
