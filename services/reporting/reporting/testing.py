"""Event builders for reporting's tests (imported by tests only, like ``servicekit.testing``): every
event of a ticket's life with just the fields reports care about."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from contracts import (
    Event,
    KnowledgeChanged,
    KnowledgeChangedPayload,
    KnowledgeFeedback,
    KnowledgeFeedbackPayload,
    KnowledgeSuggested,
    KnowledgeSuggestedPayload,
    KnowledgeSuggestion,
    ReportSpikeDetected,
    ReportSpikeDetectedPayload,
    SlaBreached,
    SlaBreachedPayload,
    SlaWarning,
    SlaWarningPayload,
    SurveyCompleted,
    SurveyCompletedPayload,
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
    TicketEscalated,
    TicketEscalatedPayload,
    TicketReopened,
    TicketReopenedPayload,
    TicketResolved,
    TicketResolvedPayload,
    TicketResponded,
    TicketRespondedPayload,
    TicketStatusChanged,
    TicketStatusChangedPayload,
    TicketTransferred,
    TicketTransferredPayload,
)
from contracts.events import ClassificationExplanation

TZ = "Asia/Shanghai"


def local(day: str, hh: int, mm: int = 0) -> datetime:
    """A wall-clock time in the business zone, as UTC."""
    y, m, d = (int(x) for x in day.split("-"))
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(TZ)).astimezone(UTC)


def _ref(tid: str) -> dict[str, str]:
    return {"ticket_id": tid, "ticket_no": f"GD20261125{tid[-3:]}"}


def _new(cls: type[Event], payload: object, tid: str, when: datetime, producer: str) -> Event:
    return cls.new(payload, correlation_id=tid, producer=producer, occurred_at=when)  # type: ignore[arg-type]


def created(tid: str, when: datetime, *, channel: str = "email", status: str = "new") -> Event:
    p = TicketCreatedPayload(
        **_ref(tid), channel=channel, channel_message_id=f"m-{tid}", customer_id="c1", customer_display="客户A-0001",
        description="无法开机", status=status, created_at=when,
    )
    return _new(TicketCreated, p, tid, when, "intake")


def classified(tid: str, when: datetime, *, category: str = "after_sales", priority: str = "P3",
               module: str = "product", channel: str = "email", terms: tuple[str, ...] = ()) -> Event:
    p = TicketClassifiedPayload(
        **_ref(tid), category=category, module=module, priority=priority, confidence=0.9, classifier_version="r1",
        explanation=ClassificationExplanation(method="rule", matched_terms=list(terms)), channel=channel,
        classified_at=when,
    )
    return _new(TicketClassified, p, tid, when, "classifier")


def assigned(tid: str, when: datetime, *, agent: str = "A1", team: str = "general") -> Event:
    p = TicketAssignedPayload(**_ref(tid), agent_id=agent, agent_name=agent, team=team, priority="P3",
                              assigned_at=when)
    return _new(TicketAssigned, p, tid, when, "dispatcher")


def acknowledged(tid: str, when: datetime, *, agent: str = "A1") -> Event:
    return _new(TicketAcknowledged, TicketAcknowledgedPayload(**_ref(tid), agent_id=agent, acknowledged_at=when),
                tid, when, "dispatcher")


def responded(tid: str, when: datetime, *, agent: str = "A1", first: bool = True) -> Event:
    p = TicketRespondedPayload(**_ref(tid), agent_id=agent, responded_at=when, first_response=first)
    return _new(TicketResponded, p, tid, when, "intake")


def customer_replied(tid: str, when: datetime, *, count: int = 1, channel: str = "email", status: str = "in_progress",
                     assignee: str | None = "A1", threaded_by: str = "thread") -> Event:
    p = TicketCustomerRepliedPayload(
        **_ref(tid), message_id=f"msg-{tid}-{count}", channel=channel, channel_message_id=f"cm-{tid}-{count}",
        threaded_by=threaded_by, status=status, assignee_id=assignee, reply_count=count, replied_at=when)
    return _new(TicketCustomerReplied, p, tid, when, "intake")


def status_changed(tid: str, when: datetime, to: str, *, frm: str = "new") -> Event:
    p = TicketStatusChangedPayload(**_ref(tid), from_status=frm, to_status=to, changed_by="A1", changed_at=when)
    return _new(TicketStatusChanged, p, tid, when, "intake")


def resolved(tid: str, when: datetime, *, agent: str | None = "A1", channel: str = "email") -> Event:
    p = TicketResolvedPayload(**_ref(tid), agent_id=agent, channel=channel, customer_id="c1",
                              customer_display="客户A-0001", resolved_at=when)
    return _new(TicketResolved, p, tid, when, "intake")


def closed(tid: str, when: datetime) -> Event:
    return _new(TicketClosed, TicketClosedPayload(**_ref(tid), closed_by="system", closed_at=when), tid, when, "intake")


def reopened(tid: str, when: datetime, *, count: int = 1) -> Event:
    p = TicketReopenedPayload(**_ref(tid), reason="survey unresolved", source="survey", reopen_count=count,
                              reopened_at=when)
    return _new(TicketReopened, p, tid, when, "intake")


def transferred(tid: str, when: datetime, *, to_agent: str | None, to_team: str | None = None) -> Event:
    p = TicketTransferredPayload(**_ref(tid), from_agent_id="A1", to_agent_id=to_agent, to_team=to_team,
                                 reason="skills", transferred_by="S1", transferred_at=when)
    return _new(TicketTransferred, p, tid, when, "dispatcher")


def escalated(tid: str, when: datetime, *, level: int = 1) -> Event:
    p = TicketEscalatedPayload(**_ref(tid), level=level, reason="sla", escalated_at=when)
    return _new(TicketEscalated, p, tid, when, "dispatcher")


def breached(tid: str, when: datetime, *, target: str = "resolution", deadline: datetime | None = None,
             count: int = 1) -> Event:
    p = SlaBreachedPayload(**_ref(tid), target=target, deadline=deadline or when, priority="P3", policy_version=1,
                           overdue_seconds=60, breach_count=count)
    return _new(SlaBreached, p, tid, when, "sla-monitor")


def warning(tid: str, when: datetime, *, target: str = "resolution") -> Event:
    p = SlaWarningPayload(**_ref(tid), target=target, deadline=when, priority="P3", policy_version=1,
                          remaining_seconds=3600)
    return _new(SlaWarning, p, tid, when, "sla-monitor")


def survey(tid: str, when: datetime, *, csat: float = 4.5, satisfied: bool = True) -> Event:
    p = SurveyCompletedPayload(**_ref(tid), survey_id=f"s-{tid}", speed="fast", resolution="resolved",
                               attitude="satisfied", csat=csat, satisfied=satisfied, completed_at=when)
    return _new(SurveyCompleted, p, tid, when, "survey")


def _kind(item: str) -> str:
    return "template" if item.startswith("TPL-") else "article"


def suggested(tid: str, when: datetime, items: list[str], *, trigger: str = "classified",
              category: str = "after_sales", module: str = "product", title: str | None = None) -> Event:
    """knowledge.suggested for ``items`` (best first; titles ``<item> title`` unless given)."""
    p = KnowledgeSuggestedPayload(
        **_ref(tid), trigger=trigger, category=category, module=module, suggested_at=when,
        suggestions=[KnowledgeSuggestion(kind=_kind(i), item_id=i, version=1, topic=f"topic-{i}", lang="zh",
                                         title=title or f"{i} title", score=10.0 - n, matched_terms=["开机"])
                     for n, i in enumerate(items)])
    return _new(KnowledgeSuggested, p, tid, when, "classifier")


def feedback(tid: str, when: datetime, item: str, action: str = "used", *, staff: str = "A1",
             was_suggested: bool = True, title: str | None = None) -> Event:
    p = KnowledgeFeedbackPayload(**_ref(tid), kind=_kind(item), item_id=item, version=1, topic=f"topic-{item}",
                                 title=title or f"{item} title", action=action, staff_id=staff,
                                 suggested=was_suggested, at=when)
    return _new(KnowledgeFeedback, p, tid, when, "classifier")


def knowledge_changed(item: str, when: datetime, *, title: str, status: str = "published", action: str = "published",
                      lang: str = "zh", version: int = 1) -> Event:
    p = KnowledgeChangedPayload(kind=_kind(item), item_id=item, version=version, topic=f"topic-{item}", lang=lang,
                                title=title, status=status, action=action, changed_by="S1", changed_at=when)
    return _new(KnowledgeChanged, p, f"kb-{item}", when, "classifier")


def spike(when: datetime) -> Event:
    p = ReportSpikeDetectedPayload(day="2026-11-25", dimension="category", value="complaint", count=40,
                                   baseline=8.0, ratio=5.0, detected_at=when)
    return _new(ReportSpikeDetected, p, "spike-2026-11-25", when, "reporting")


async def cells_from_facts(service: Any) -> dict[str, dict[str, float]]:
    """The aggregates as they must be: the sum of every fact's contributions (computed from scratch)."""
    from . import kpi

    total: dict[str, dict[str, float]] = {}
    for fact in await service.store.all_facts():
        kpi.add_cells(total, kpi.contributions(fact, service.timezone))
    return {cell: {k: v for k, v in c.items() if v} for cell, c in total.items()}


async def stored_cells(service: Any) -> dict[str, dict[str, float]]:
    """The aggregates as stored (cells with their non-zero counters)."""
    out = {}
    async for doc in service.store.cells.find({}):
        counts = {k: v for k, v in {**(doc.get("c") or {}), **(doc.get("b") or {})}.items() if v}
        if counts:
            out[doc["_id"]] = counts
    return out
