"""Business vocabulary shared by every service (seeds 000-004)."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """Where the customer contact came from."""

    PHONE = "phone"
    ONLINE_CHAT = "online_chat"
    EMAIL = "email"
    SOCIAL = "social"
    WEB_FORM = "web_form"


class Category(StrEnum):
    """Ticket category: 售前咨询 / 售后支持 / 投诉建议 / 需求 / 其他."""

    PRE_SALES = "pre_sales"
    AFTER_SALES = "after_sales"
    COMPLAINT = "complaint"
    REQUIREMENT = "requirement"
    OTHER = "other"


class Module(StrEnum):
    """Business module the ticket concerns."""

    PRODUCT = "product"
    LOGISTICS = "logistics"
    AFTER_SALES = "after_sales"
    TECHNICAL = "technical"


class Priority(StrEnum):
    """P1 funds safety / core outage; P2 blocks normal use or needs several departments;
    P3 routine question; P4 suggestion."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def rank(self) -> int:
        """1 for P1 … 4 for P4 (lower is more urgent)."""
        return int(self.value[1])


class TicketStatus(StrEnum):
    """Lifecycle states of a ticket, owned by intake."""

    NEW = "new"
    NEEDS_INFO = "needs_info"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    PENDING_CUSTOMER = "pending_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


class CustomerTier(StrEnum):
    """Customer tier used by dispatch (普通 / VIP / 大客户)."""

    NORMAL = "normal"
    VIP = "vip"
    KEY_ACCOUNT = "key_account"


class SlaTarget(StrEnum):
    """Which SLA clock an SLA event is about."""

    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"
    NEXT_RESPONSE = "next_response"
    """The answer owed after each further customer message (ticket.customer_replied); added with the
    conversation contracts — consumers of SLA events are released together with it."""


class StaffRole(StrEnum):
    """Roles carried in staff JWTs and enforced per route."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class SurveySpeed(StrEnum):
    """响应速度: 非常快 / 快 / 一般 / 慢."""

    VERY_FAST = "very_fast"
    FAST = "fast"
    AVERAGE = "average"
    SLOW = "slow"


class SurveyResolution(StrEnum):
    """问题解决: 完全解决 / 部分解决 / 未解决."""

    RESOLVED = "resolved"
    PARTIALLY = "partially"
    UNRESOLVED = "unresolved"


class SurveyAttitude(StrEnum):
    """服务态度: 非常满意 / 满意 / 一般 / 不满意."""

    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    AVERAGE = "average"
    UNSATISFIED = "unsatisfied"
