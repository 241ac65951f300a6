"""Reporting's pure decisions: what each event changes on a ticket's fact, business days, and the
daily report computed from facts. No I/O here.

Reports follow seeds 000 (七 数据统计与分析: 每日客服工作日报) and 004 (四 周期性报表): supervisors see, per
business day, how many tickets came in, were resolved, closed and reopened, and how the day's new
tickets split by category, channel, priority and current status.

Tickets are conversations (issue 18): the fact keeps the times of the customer's further messages
(``ticket.customer_replied``), of the agents' answers (every ``ticket.responded``) and the deadlines of
breached next-response targets; :func:`conversation` derives the back-and-forths and the
next-response targets met / breached from them (a pure function of the fact, so it is order-free too).

The knowledge base (issue 17): the fact keeps the ticket's latest suggestions (``knowledge.suggested``:
a later matching replaces the earlier one), the items agents used on it and every agent's last verdict
per item (``knowledge.feedback``); :func:`knowledge_counters` turns them into per-item and per-problem
counters, :func:`catalog_notes` the items' titles and status (``knowledge.changed``) into the catalog.

How a fact stays right whatever the delivery order:
* every field group that can be overwritten is *last-writer-wins* on a stamp ``occurred_at|event_id``
  (fixed-width, so string order is time order; the event id breaks ties), kept in ``stamps``;
* "first …" times keep the earliest value, "last …" times the latest, day lists are sorted sets,
  counters only grow;
so folding the same events in any order gives the same fact. Applying one event *twice* is prevented
by the store (``applied_events``), not here.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator

from contracts import (
    Category,
    Channel,
    CustomerTier,
    Event,
    KnowledgeChanged,
    KnowledgeFeedback,
    KnowledgeSuggested,
    Module,
    Priority,
    SlaBreached,
    SlaTarget,
    SurveyCompleted,
    TicketAssigned,
    TicketClassified,
    TicketClosed,
    TicketCreated,
    TicketCustomerReplied,
    TicketEscalated,
    TicketReopened,
    TicketResolved,
    TicketResponded,
    TicketStatus,
    TicketStatusChanged,
    TicketTransferred,
)

PRODUCER = "reporting"
UNCLASSIFIED = "unclassified"
"""Breakdown key of tickets the classifier has not decided yet."""


# ----------------------------------------------------------------------------- days and stamps
def business_day(at: datetime, tz: str) -> date:
    """The calendar day of ``at`` in the business time zone: a report day runs 00:00–24:00 local time,
    so 01:30 in Shanghai is already the next day although it is 17:30 UTC."""
    return at.astimezone(ZoneInfo(tz)).date()


def day_key(at: datetime, tz: str) -> str:
    """The business day as stored and queried (``YYYY-MM-DD``; MongoDB has no date type)."""
    return business_day(at, tz).isoformat()


def stamp(event: Event) -> str:
    """Order key of an event for last-writer-wins: fixed-width UTC ``occurred_at`` with microseconds,
    then the event id, so comparing strings compares times and equal times still have one winner."""
    return f"{event.occurred_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}|{event.event_id}"


def ticket_id_of(event: Event) -> str | None:
    """The ticket an event is about (``None`` for events without one, e.g. report.spike_detected)."""
    value = getattr(event.payload, "ticket_id", None)
    return value if isinstance(value, str) else None


# ----------------------------------------------------------------------------- the fact
def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


KnowledgeKind = Literal["article", "template"]
Verdict = Literal["helpful", "not_helpful"]
ItemStatus = Literal["draft", "published", "archived"]


class SuggestedItem(BaseModel):
    """One item of the ticket's latest suggestions (best first)."""

    item_id: str
    kind: KnowledgeKind
    title: str
    score: float


class KnowledgeUse(BaseModel):
    """An item agents used on the ticket (inserted the template, linked the article): once per item."""

    item_id: str
    at: datetime = Field(description="The first use.")
    suggested: bool = Field(description="Whether any use said the item was among the ticket's suggestions.")

    @field_validator("at", mode="after")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)


class KnowledgeVerdict(BaseModel):
    """An agent's last verdict on an item for the ticket (``stamp``: the verdict event's order key)."""

    item_id: str
    staff_id: str
    verdict: Verdict
    at: datetime
    suggested: bool = Field(description="Whether any of this agent's verdicts said the item was suggested.")
    stamp: str

    @field_validator("at", mode="after")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)


class TicketFact(BaseModel):
    """What reporting knows about one ticket, projected from the events seen so far."""

    ticket_id: str
    ticket_no: str | None = None
    day: str | None = Field(default=None, description="Business day the ticket was created (YYYY-MM-DD).")
    created_at: datetime | None = None
    channel: Channel | None = None
    customer_tier: CustomerTier | None = None
    category: Category | None = None
    module: Module | None = None
    priority: Priority | None = None
    status: TicketStatus | None = None
    status_at: datetime | None = Field(default=None, description="When the status event occurred.")
    agent_id: str | None = None
    team: str | None = None
    first_assigned_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = Field(default=None, description="Latest resolution.")
    resolved_days: list[str] = Field(default_factory=list, description="Business days with a resolution.")
    closed_at: datetime | None = None
    closed_days: list[str] = Field(default_factory=list)
    reopen_count: int = 0
    reopened_days: list[str] = Field(default_factory=list)
    transfers: int = 0
    escalation_level: int = 0
    csat: float | None = None
    satisfied: bool | None = None
    sla_breaches: int = 0
    resolutions: list[datetime] = Field(default_factory=list, description="Every resolution time (sorted).")
    reopens: list[datetime] = Field(default_factory=list, description="Every reopening time (sorted).")
    closes: list[datetime] = Field(default_factory=list, description="Every closing time (sorted).")
    surveyed_at: datetime | None = None
    keywords: list[str] = Field(default_factory=list, description="Matched terms and tags of the classification.")
    overdue_reasons: list[str] = Field(default_factory=list, description="Reasons recorded for SLA overruns.")
    customer_replies: list[datetime] = Field(
        default_factory=list, description="Times of the customer's messages after the opening one (sorted).")
    responses: list[datetime] = Field(default_factory=list, description="Times of the agents' answers (sorted).")
    next_response_breaches: list[datetime] = Field(
        default_factory=list, description="Deadlines of breached next-response targets (sorted).")
    knowledge_suggestions: list[SuggestedItem] = Field(
        default_factory=list, description="The latest knowledge suggestions of the ticket, best first (a later "
                                          "matching replaces the earlier one, even with an empty list).")
    knowledge_trigger: str | None = Field(default=None, description="What made the latest matching.")
    knowledge_suggested_at: datetime | None = None
    knowledge_uses: list[KnowledgeUse] = Field(default_factory=list, description="Items used on the ticket (by item).")
    knowledge_verdicts: list[KnowledgeVerdict] = Field(
        default_factory=list, description="Each agent's last verdict per item (by item, then agent).")
    stamps: dict[str, str] = Field(default_factory=dict, description="Last-writer-wins stamp per group.")
    incident_id: str | None = Field(default=None, description="The incident the ticket belongs to (crisis mode).")

    @field_validator(
        "created_at", "status_at", "first_assigned_at", "first_response_at", "resolved_at", "closed_at",
        "surveyed_at", "knowledge_suggested_at", mode="after",
    )
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """Stored datetimes come back as UTC; a naive one (some drivers) is read as UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("resolutions", "reopens", "closes", "customer_replies", "responses", "next_response_breaches",
                     mode="after")
    @classmethod
    def _utc_list(cls, values: list[datetime]) -> list[datetime]:
        return [v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC) for v in values]


class FactUpdate:
    """Collects the ``$set`` fields one event causes on a fact, under the ordering rules above."""

    def __init__(self, fact: TicketFact, event: Event) -> None:
        self.fact = fact
        self.stamp = stamp(event)
        self.fields: dict[str, Any] = {}
        self._stamps: dict[str, str] = {}

    def _current(self, name: str) -> Any:
        return self.fields.get(name, getattr(self.fact, name))

    def set(self, **fields: Any) -> None:
        """Facts only one event type carries (e.g. the creation day): set as they are."""
        self.fields.update(fields)

    def fill(self, **fields: Any) -> None:
        """Values repeated on many events (ticket number, channel): kept once known."""
        self.fields.update({k: v for k, v in fields.items() if v is not None and self._current(k) is None})

    def latest(self, group: str, **fields: Any) -> None:
        """Last writer wins for the group: an older event arriving late changes nothing."""
        if self.stamp > self.fact.stamps.get(group, ""):
            self.fields.update(fields)
            self._stamps[group] = self.stamp

    def earliest(self, name: str, at: datetime) -> None:
        current = self._current(name)
        if current is None or at < current:
            self.fields[name] = at

    def maximum(self, name: str, value: Any) -> None:
        current = self._current(name)
        if current is None or value > current:
            self.fields[name] = value

    def add_day(self, name: str, day: str) -> None:
        days = self._current(name)
        if day not in days:
            self.fields[name] = sorted([*days, day])

    def add_item(self, name: str, value: Any) -> None:
        """Sorted-set semantics (times of resolutions, reopenings …): the same value twice is one."""
        items = self._current(name)
        if value not in items:
            self.fields[name] = sorted([*items, value])

    def increment(self, name: str, by: int = 1) -> None:
        self.fields[name] = self._current(name) + by

    def merge(self, name: str, entry: BaseModel, key: Callable[[Any], Any],
              combine: Callable[[Any, Any], Any]) -> None:
        """Keyed entries (a list sorted by ``key``): add ``entry``, or replace the entry of the same key
        with ``combine(old, entry)``; ``combine`` must not depend on the order the events come in."""
        entries = self._current(name)
        k = key(entry)
        old = next((e for e in entries if key(e) == k), None)
        new = entry if old is None else combine(old, entry)
        if new != old:
            self.fields[name] = sorted([*(e for e in entries if key(e) != k), new], key=key)

    def changes(self) -> dict[str, Any]:
        if self._stamps:
            self.fields["stamps"] = {**self.fact.stamps, **self._stamps}
        return self.fields


# ----------------------------------------------------------------------------- event → fact rules
def _created(u: FactUpdate, e: TicketCreated, tz: str) -> None:
    p = e.payload
    u.set(day=day_key(p.created_at, tz), created_at=p.created_at, channel=p.channel)
    u.set(customer_tier=p.customer_tier)
    u.latest("status", status=p.status, status_at=e.occurred_at)


def _classified(u: FactUpdate, e: TicketClassified, tz: str) -> None:
    """A manual correction re-classifies: the most recent classification counts."""
    p = e.payload
    u.fill(channel=p.channel, customer_tier=p.customer_tier)
    u.latest("classification", category=p.category, module=p.module, priority=p.priority,
             keywords=keywords_of([*p.explanation.matched_terms, *p.tags]))


def _assigned(u: FactUpdate, e: TicketAssigned, tz: str) -> None:
    p = e.payload
    u.latest("agent", agent_id=p.agent_id)
    u.latest("team", team=p.team)
    u.earliest("first_assigned_at", p.assigned_at)


def _responded(u: FactUpdate, e: TicketResponded, tz: str) -> None:
    """Every answer is kept (the first one and the later ones, ``first_response`` true or false); the
    earliest is the first response."""
    u.earliest("first_response_at", e.payload.responded_at)
    u.add_item("responses", stored_time(e.payload.responded_at))


def stored_time(at: datetime) -> datetime:
    """``at`` as MongoDB keeps it (milliseconds): a time compared with stored ones for set semantics must
    be cut the same way, or a second event for the same message would not find its twin."""
    return at.replace(microsecond=at.microsecond - at.microsecond % 1000)


def _customer_replied(u: FactUpdate, e: TicketCustomerReplied, tz: str) -> None:
    """A further customer message: its time joins the conversation; the status after it is the latest
    news about the status; its assignee only fills a gap (assignments and transfers decide the agent)."""
    p = e.payload
    u.fill(channel=p.channel, agent_id=p.assignee_id)
    u.latest("status", status=p.status, status_at=e.occurred_at)
    u.add_item("customer_replies", stored_time(p.replied_at))


def _status_changed(u: FactUpdate, e: TicketStatusChanged, tz: str) -> None:
    u.latest("status", status=e.payload.to_status, status_at=e.occurred_at)


def _resolved(u: FactUpdate, e: TicketResolved, tz: str) -> None:
    """Counted as resolved on the business day of each resolution (a reopened ticket resolved again
    on another day counts on both days, once per day)."""
    p = e.payload
    u.fill(channel=p.channel)
    u.latest("status", status=TicketStatus.RESOLVED, status_at=e.occurred_at)
    if p.agent_id is not None:
        u.latest("agent", agent_id=p.agent_id)
    u.maximum("resolved_at", p.resolved_at)
    u.add_day("resolved_days", day_key(p.resolved_at, tz))
    u.add_item("resolutions", p.resolved_at)


def _closed(u: FactUpdate, e: TicketClosed, tz: str) -> None:
    p = e.payload
    u.latest("status", status=TicketStatus.CLOSED, status_at=e.occurred_at)
    u.maximum("closed_at", p.closed_at)
    u.add_day("closed_days", day_key(p.closed_at, tz))
    u.add_item("closes", p.closed_at)


def _reopened(u: FactUpdate, e: TicketReopened, tz: str) -> None:
    """Intake numbers the reopenings, so the highest number seen is the count (late events are fine)."""
    p = e.payload
    u.latest("status", status=TicketStatus.REOPENED, status_at=e.occurred_at)
    u.maximum("reopen_count", p.reopen_count)
    u.add_day("reopened_days", day_key(p.reopened_at, tz))
    u.add_item("reopens", p.reopened_at)


def _transferred(u: FactUpdate, e: TicketTransferred, tz: str) -> None:
    p = e.payload
    u.latest("agent", agent_id=p.to_agent_id)
    if p.to_team is not None:
        u.latest("team", team=p.to_team)
    u.increment("transfers")


def _escalated(u: FactUpdate, e: TicketEscalated, tz: str) -> None:
    u.maximum("escalation_level", e.payload.level)


def _sla_breached(u: FactUpdate, e: SlaBreached, tz: str) -> None:
    """Every breach counts for the ticket's SLA figures (whatever its target, as before); a
    next-response breach also marks its target, by deadline (a repeat for the same deadline is one)."""
    u.increment("sla_breaches")
    if e.payload.target == SlaTarget.NEXT_RESPONSE:
        u.add_item("next_response_breaches", stored_time(e.payload.deadline))


def _survey_completed(u: FactUpdate, e: SurveyCompleted, tz: str) -> None:
    u.latest("survey", csat=e.payload.csat, satisfied=e.payload.satisfied, surveyed_at=e.payload.completed_at)


def _knowledge_suggested(u: FactUpdate, e: KnowledgeSuggested, tz: str) -> None:
    """The latest matching (by event time) replaces the earlier suggestions, whatever the order they come in;
    an item listed twice counts once, at its best place."""
    p = e.payload
    items: list[SuggestedItem] = []
    for s in p.suggestions:
        if all(i.item_id != s.item_id for i in items):
            items.append(SuggestedItem(item_id=s.item_id, kind=s.kind, title=s.title, score=s.score))
    u.latest("knowledge", knowledge_suggestions=items, knowledge_trigger=p.trigger,
             knowledge_suggested_at=p.suggested_at)


def _first_use(old: KnowledgeUse, new: KnowledgeUse) -> KnowledgeUse:
    return KnowledgeUse(item_id=old.item_id, at=min(old.at, new.at), suggested=old.suggested or new.suggested)


def _last_verdict(old: KnowledgeVerdict, new: KnowledgeVerdict) -> KnowledgeVerdict:
    """The agent's later verdict replaces the earlier one; "suggested" is known once any verdict says so."""
    last = new if new.stamp > old.stamp else old
    return last.model_copy(update={"suggested": old.suggested or new.suggested})


def _knowledge_feedback(u: FactUpdate, e: KnowledgeFeedback, tz: str) -> None:
    """A use counts once per item (the first time is kept); a verdict is the agent's last one per item."""
    p = e.payload
    if p.action == "used":
        u.merge("knowledge_uses", KnowledgeUse(item_id=p.item_id, at=stored_time(p.at), suggested=p.suggested),
                key=lambda x: x.item_id, combine=_first_use)
    else:
        u.merge("knowledge_verdicts", KnowledgeVerdict(
            item_id=p.item_id, staff_id=p.staff_id, verdict=p.action, at=stored_time(p.at), suggested=p.suggested,
            stamp=u.stamp), key=lambda x: (x.item_id, x.staff_id), combine=_last_verdict)


def _incident_linked(u: FactUpdate, e: Event, tz: str) -> None:
    """Crisis mode: a ticket is linked to one incident, once (the first link is kept)."""
    u.fill(incident_id=e.payload.incident_id)


OVERDUE_REASON_RECORDED = "sla.overdue_reason_recorded"
"""Added by sla-monitor (reason an agent gave for an SLA overrun). Read by attribute name so this
service works whether or not the contract is registered yet."""


def _overdue_reason(u: FactUpdate, e: Event, tz: str) -> None:
    p = e.payload
    reason = getattr(p, "code", None) or getattr(p, "reason_code", None) or getattr(p, "reason", None)
    reason = getattr(reason, "value", reason)  # the contract's OverdueReasonCode enum
    if isinstance(reason, str) and reason.strip():
        u.add_item("overdue_reasons", clean_key(reason.strip())[:64])


MAX_KEYWORDS = 12


def clean_key(value: str) -> str:
    """A value usable inside a MongoDB field name (no dots, no leading ``$``)."""
    return value.replace(".", "\uff0e").replace("$", "\uff04")


def keywords_of(terms: Iterable[str]) -> list[str]:
    """Distinct, trimmed, bounded keywords of a ticket (classifier's matched terms and tags)."""
    out: list[str] = []
    for term in terms:
        word = clean_key(term.strip().lower())[:32]
        if word and word not in out:
            out.append(word)
        if len(out) >= MAX_KEYWORDS:
            break
    return sorted(out)


Rule = Callable[[FactUpdate, Any, str], None]

FACT_RULES: dict[str, Rule] = {
    TicketCreated.type_name(): _created,
    TicketClassified.type_name(): _classified,
    TicketAssigned.type_name(): _assigned,
    TicketResponded.type_name(): _responded,
    TicketCustomerReplied.type_name(): _customer_replied,
    TicketStatusChanged.type_name(): _status_changed,
    TicketResolved.type_name(): _resolved,
    TicketClosed.type_name(): _closed,
    TicketReopened.type_name(): _reopened,
    TicketTransferred.type_name(): _transferred,
    TicketEscalated.type_name(): _escalated,
    SlaBreached.type_name(): _sla_breached,
    SurveyCompleted.type_name(): _survey_completed,
    OVERDUE_REASON_RECORDED: _overdue_reason,
    KnowledgeSuggested.type_name(): _knowledge_suggested,
    KnowledgeFeedback.type_name(): _knowledge_feedback,
    "ticket.incident_linked": _incident_linked,
}
"""Event types that change a ticket fact. Every other event (ticket.acknowledged, sla.warning,
assignment.unacknowledged, report.spike_detected …) is only kept in the event log."""


def changes_fact(event: Event) -> bool:
    return event.event_type in FACT_RULES and ticket_id_of(event) is not None


def fact_changes(fact: TicketFact, event: Event, tz: str) -> dict[str, Any]:
    """The ``$set`` fields ``event`` causes on ``fact`` (empty for events that do not concern facts)."""
    rule = FACT_RULES.get(event.event_type)
    if rule is None:
        return {}
    update = FactUpdate(fact, event)
    update.fill(ticket_no=getattr(event.payload, "ticket_no", None))
    rule(update, event, tz)
    return update.changes()


def apply(fact: TicketFact, event: Event, tz: str) -> TicketFact:
    """The fact after ``event`` (pure; the store writes the same changes)."""
    return fact.model_copy(update=fact_changes(fact, event, tz))


# ----------------------------------------------------------------------------- the conversation
@dataclass
class _Turn:
    start: datetime
    by_reply: bool
    settled_at: datetime | None = None
    answered: bool = False


@dataclass(frozen=True)
class Conversation:
    """The back-and-forth of one ticket, derived from its fact (:func:`conversation`)."""

    exchanges: list[datetime] = field(default_factory=list)
    """When each exchange was completed (the agent's answer)."""
    next_met: list[datetime] = field(default_factory=list)
    """Next-response targets met: when each was answered, without a breach."""
    next_breached: list[datetime] = field(default_factory=list)
    """Next-response targets breached: the (earliest) breached deadline of each."""
    next_open: int = 0
    """Next-response targets still owed (not answered, ended or breached)."""


_OPENING, _REPLY, _ANSWER, _SETTLE = 0, 1, 2, 3


def conversation(fact: TicketFact) -> Conversation:
    """Walk the ticket's messages in time order. A *turn* starts with a customer message nobody has
    answered yet (the opening message at creation, or a further message); more customer messages
    before an answer belong to the same turn. The next agent answer completes the turn: one
    back-and-forth (exchange). A resolution or closing ends a turn too, without an exchange.

    A turn started by a further message is a *next-response target* (the opening turn is the
    first-response target, reported as before). A next-response breach belongs to the latest turn
    started at or before its deadline; the target is breached once however many breaches name it (the
    SLA monitor restarts the clock at the newest message of a turn, so one turn can be breached twice).
    A breach that falls on no such turn (the message's event not seen yet, or a target the SLA monitor
    started where reporting sees none) still counts as one breached target, so no breach is lost. A
    target answered without a breach is met; one ended by a resolution or closing before any answer
    and not breached counts neither way (nothing is owed on a finished ticket, as the SLA monitor
    stops it)."""
    marks = sorted(
        ([(fact.created_at, _OPENING)] if fact.created_at is not None else [])
        + [(t, _REPLY) for t in fact.customer_replies]
        + [(t, _ANSWER) for t in fact.responses]
        + [(t, _SETTLE) for t in (*fact.resolutions, *fact.closes)]
    )
    turns: list[_Turn] = []
    current: _Turn | None = None
    for at, kind in marks:
        if kind in (_OPENING, _REPLY):
            if current is None:
                current = _Turn(start=at, by_reply=kind == _REPLY)
                turns.append(current)
        elif current is not None:
            current.settled_at, current.answered = at, kind == _ANSWER
            current = None
    starts = [t.start for t in turns]
    breached: dict[int, datetime] = {}
    unmatched: list[datetime] = []
    for deadline in fact.next_response_breaches:  # sorted: the first one seen per turn is its earliest
        i = bisect_right(starts, deadline) - 1
        if i >= 0 and turns[i].by_reply:
            breached.setdefault(i, deadline)
        else:
            unmatched.append(deadline)
    targets = [(i, t) for i, t in enumerate(turns) if t.by_reply and i not in breached]
    return Conversation(
        exchanges=[t.settled_at for t in turns if t.answered and t.settled_at is not None],
        next_met=[t.settled_at for _, t in targets if t.answered and t.settled_at is not None],
        next_breached=sorted([*breached.values(), *unmatched]),
        next_open=sum(1 for _, t in targets if t.settled_at is None),
    )


CONVERSATION_COUNTERS = (
    "cust_replies", "agent_responses", "exchanges", "nr_met", "nr_breached", "cohort_replies", "res_exchanges",
)
"""Day counters of the conversation figures (:func:`conversation_counters`): customer replies, agent
answers and exchanges on the day they happened; next-response targets met on the day of the answer,
breached on the day of the deadline; the replies of the tickets created on the day (``cohort_replies``,
over ``created``) and the exchanges of the tickets last resolved on the day (``res_exchanges``, over
``rt_n``: the resolution-time count of :mod:`reporting.kpi`)."""
CONVERSATION_BASES = ("created", "rt_n")
"""The denominators the conversation figures share with the other KPIs."""


def conversation_counters(fact: TicketFact, tz: str) -> dict[str, dict[str, float]]:
    """Business day → conversation counters this ticket contributes to that day."""
    days: dict[str, dict[str, float]] = {}

    def add(at: datetime, name: str, value: float = 1) -> None:
        bucket = days.setdefault(day_key(at, tz), {})
        bucket[name] = bucket.get(name, 0) + value

    conv = conversation(fact)
    for name, times in (("cust_replies", fact.customer_replies), ("agent_responses", fact.responses),
                        ("exchanges", conv.exchanges), ("nr_met", conv.next_met), ("nr_breached", conv.next_breached)):
        for at in times:
            add(at, name)
    if fact.created_at is not None:
        if fact.customer_replies:
            add(fact.created_at, "cohort_replies", len(fact.customer_replies))
        if fact.resolutions and conv.exchanges:
            add(fact.resolutions[-1], "res_exchanges", len(conv.exchanges))
    return days


class ConversationKpis(BaseModel):
    """Tickets as conversations (issue 18): volumes of the period, back-and-forth per ticket and the
    next-response SLA."""

    customer_replies: int = Field(0, description="Customer messages after the opening one, received in the period.")
    agent_responses: int = Field(0, description="Agents' answers sent in the period.")
    exchanges: int = Field(0, description="Back-and-forths completed in the period: a customer message (or several "
                                          "in a row) answered by an agent.")
    replies_per_ticket: float | None = Field(
        None, description="The period's new tickets: their customer replies so far ÷ those tickets.")
    exchanges_per_resolved: float | None = Field(
        None, description="Tickets last resolved in the period: their back-and-forths ÷ those tickets.")
    next_response_met: int = Field(0, description="Next-response targets answered in time in the period.")
    next_response_breached: int = Field(0, description="Next-response targets whose deadline passed in the period.")
    next_response_compliance: float | None = Field(
        None, description="Next-response targets met ÷ (met + breached).")


def conversation_kpis(counts: Mapping[str, float]) -> ConversationKpis:
    """The conversation figures from summed day counters (one day, a period, a scope, an agent)."""
    g = lambda k: counts.get(k, 0)  # noqa: E731
    met, breached = g("nr_met"), g("nr_breached")
    return ConversationKpis(
        customer_replies=int(g("cust_replies")), agent_responses=int(g("agent_responses")),
        exchanges=int(g("exchanges")),
        replies_per_ticket=round(g("cohort_replies") / g("created"), 2) if g("created") else None,
        exchanges_per_resolved=round(g("res_exchanges") / g("rt_n"), 2) if g("rt_n") else None,
        next_response_met=int(met), next_response_breached=int(breached),
        next_response_compliance=round(met / (met + breached), 4) if met + breached else None,
    )


def conversation_subset(counts: Mapping[str, float]) -> dict[str, float]:
    """The counters :func:`conversation_kpis` reads, out of a whole cell."""
    return {k: counts[k] for k in (*CONVERSATION_COUNTERS, *CONVERSATION_BASES) if counts.get(k)}


# ----------------------------------------------------------------------------- the knowledge base
KNOWLEDGE_ITEM_COUNTERS = ("kb_sug", "kb_used", "kb_help", "kb_unhelp", "kb_csat_n", "kb_csat_sum", "kb_csat_sat")
"""Per-item day counters, ``<name>:<item id>`` (:func:`knowledge_counters`): tickets the item was suggested to
(latest suggestions), used on, judged helpful / not helpful (:func:`ticket_verdicts`); of the tickets it was
used on, those with a survey, the sum of their CSAT and the satisfied ones."""
KNOWLEDGE_TICKET_COUNTERS = ("kb_tickets", "kb_t_used", "kb_t_helpful")
"""Tickets with suggestions; of those, tickets where a suggested item was used / judged helpful."""
KNOWLEDGE_GROUP_COUNTERS = ("kg_n", "kg_sug", "kg_help")
"""Per problem (``<name>:<category>:<module>``): classified tickets, those with suggestions, those where an
item was used or judged helpful; with ``kg_kw:<category>:<module>:<keyword>``, the group's keywords."""


def ticket_verdicts(fact: TicketFact) -> dict[str, Verdict]:
    """Item → the ticket's verdict on it: the majority of its agents' last verdicts (usually one agent);
    a tie goes to the most recent verdict."""
    by_item: dict[str, list[KnowledgeVerdict]] = {}
    for v in fact.knowledge_verdicts:
        by_item.setdefault(v.item_id, []).append(v)
    out: dict[str, Verdict] = {}
    for item, verdicts in by_item.items():
        helpful = sum(v.verdict == "helpful" for v in verdicts)
        if helpful * 2 != len(verdicts):
            out[item] = "helpful" if helpful * 2 > len(verdicts) else "not_helpful"
        else:
            out[item] = max(verdicts, key=lambda v: v.stamp).verdict
    return out


def knowledge_counters(fact: TicketFact, tz: str) -> dict[str, dict[str, float]]:
    """Business day → the knowledge counters of this ticket. All of them count on the day the ticket was
    created (the period's tickets, like the high-frequency issues), so every figure of a report is about
    the same tickets; nothing before ``ticket.created`` is seen. A pure function of the fact: the aggregate
    follows any change (a replaced suggestion, a changed verdict, a later survey) by difference."""
    if fact.created_at is None:
        return {}
    c: dict[str, float] = {}
    suggested = [clean_key(s.item_id) for s in fact.knowledge_suggestions]
    used = {clean_key(u.item_id) for u in fact.knowledge_uses}
    verdicts = {clean_key(item): v for item, v in ticket_verdicts(fact).items()}
    for item in suggested:
        c[f"kb_sug:{item}"] = 1
    for item in used:
        c[f"kb_used:{item}"] = 1
        if fact.csat is not None:
            c[f"kb_csat_n:{item}"] = 1
            c[f"kb_csat_sum:{item}"] = fact.csat
            c[f"kb_csat_sat:{item}"] = 1 if fact.satisfied else 0
    for item, verdict in verdicts.items():
        c[f"{'kb_help' if verdict == 'helpful' else 'kb_unhelp'}:{item}"] = 1
    helpful = {item for item, v in verdicts.items() if v == "helpful"}
    if suggested:
        offered = {*suggested, *(clean_key(u.item_id) for u in fact.knowledge_uses if u.suggested),
                   *(clean_key(v.item_id) for v in fact.knowledge_verdicts if v.suggested)}
        c["kb_tickets"] = 1
        c["kb_t_used"] = 1 if used & offered else 0
        c["kb_t_helpful"] = 1 if helpful & offered else 0
    if fact.category is not None and fact.module is not None:
        group = f"{clean_key(_value(fact.category))}:{clean_key(_value(fact.module))}"
        c[f"kg_n:{group}"] = 1
        c[f"kg_sug:{group}"] = 1 if suggested else 0
        c[f"kg_help:{group}"] = 1 if used or helpful else 0
        for word in fact.keywords:
            c[f"kg_kw:{group}:{word}"] = 1
    counts = {k: v for k, v in c.items() if v}
    return {day_key(fact.created_at, tz): counts} if counts else {}


class KnowledgeItemInfo(BaseModel):
    """What reporting knows about a knowledge item: from ``knowledge.changed``, else (no status then) the
    latest suggestion or feedback that named it."""

    item_id: str
    kind: KnowledgeKind | None = None
    title: str | None = None
    topic: str | None = None
    lang: str | None = None
    status: ItemStatus | None = None
    version: int | None = None


@dataclass(frozen=True)
class ItemNote:
    """Fields of the catalog entry of an item, last writer wins per field on ``stamp``; ``source`` says
    whether the item's owner said it (``changed``) or an event only named it (``seen``)."""

    item_id: str
    source: Literal["changed", "seen"]
    stamp: str
    fields: dict[str, Any]


def catalog_notes(event: Event) -> list[ItemNote]:
    """What ``event`` tells about knowledge items (empty for other events)."""
    at = stamp(event)
    if event.event_type == KnowledgeChanged.type_name():
        p = event.payload
        return [ItemNote(p.item_id, "changed", at, {"kind": p.kind, "title": p.title, "topic": p.topic,
                                                       "lang": p.lang, "status": p.status, "version": p.version})]
    if event.event_type == KnowledgeSuggested.type_name():
        return [ItemNote(s.item_id, "seen", at, {"kind": s.kind, "title": s.title, "lang": s.lang, "version": s.version,
                                                 **({"topic": s.topic} if s.topic else {})})
                for s in event.payload.suggestions]
    if event.event_type == KnowledgeFeedback.type_name():
        p = event.payload
        return [ItemNote(p.item_id, "seen", at, {"kind": p.kind, "title": p.title, "version": p.version,
                                                 **({"topic": p.topic} if p.topic else {})})]
    return []


def item_info(item_id: str, changed: Mapping[str, Any], seen: Mapping[str, Any]) -> KnowledgeItemInfo:
    """The catalog entry of an item: the owner's word (``knowledge.changed``) field by field, else what the
    latest suggestion or feedback said (never a status)."""
    values = {**{k: v for k, v in seen.items() if k != "status"}, **changed, "item_id": item_id}
    return KnowledgeItemInfo.model_validate({k: v for k, v in values.items() if k in KnowledgeItemInfo.model_fields})


# ----------------------------------------------------------------------------- the event log
class LoggedEvent(BaseModel):
    """One entry of the raw event log (``_id`` = event id): the source any projection or aggregate
    can be rebuilt from. Events carry no personal data, so the whole body is kept."""

    event_id: str
    event_type: str
    schema_version: int
    occurred_at: datetime
    day: str
    ticket_id: str | None
    correlation_id: str
    producer: str
    received_at: datetime
    body: dict[str, Any]


def log_entry(event: Event, tz: str, received_at: datetime) -> LoggedEvent:
    return LoggedEvent(
        event_id=str(event.event_id),
        event_type=event.event_type,
        schema_version=event.schema_version,
        occurred_at=event.occurred_at,
        day=day_key(event.occurred_at, tz),
        ticket_id=ticket_id_of(event),
        correlation_id=event.correlation_id,
        producer=event.producer,
        received_at=received_at,
        body=event.model_dump(mode="json"),
    )


# ----------------------------------------------------------------------------- the daily report
DIMENSIONS = ("category", "channel", "priority", "status")


class CreatedGroup(BaseModel):
    """Tickets created on a day sharing one (category, channel, priority, status) combination."""

    category: str | None = None
    channel: str | None = None
    priority: str | None = None
    status: str | None = None
    count: int = Field(ge=0)


class DayCounts(BaseModel):
    """The raw numbers of one business day, however they were computed (facts scan, aggregate, or —
    later — incrementally maintained daily aggregates)."""

    day: date
    created: list[CreatedGroup] = Field(default_factory=list)
    resolved: int = 0
    closed: int = 0
    reopened: int = 0
    conversation: dict[str, float] = Field(
        default_factory=dict, description="The day's conversation counters (:func:`conversation_subset`).")


class DailyReport(BaseModel):
    """客服工作日报: volumes of one business day and the breakdown of that day's new tickets."""

    day: date
    created: int = Field(description="Tickets created on the day.")
    resolved: int = Field(description="Tickets with a resolution recorded on the day.")
    closed: int = Field(description="Tickets closed on the day.")
    reopened: int = Field(description="Tickets reopened on the day.")
    by_category: dict[str, int] = Field(description="The day's new tickets by current category.")
    by_channel: dict[str, int]
    by_priority: dict[str, int]
    by_status: dict[str, int] = Field(description="The day's new tickets by current status.")
    conversation: ConversationKpis = Field(
        default_factory=ConversationKpis,
        description="Customer replies, agent answers and back-and-forths of the day, replies per new ticket, "
                    "back-and-forth per ticket last resolved on the day, next-response targets met / breached.")


def _zeros(keys: Iterable[str]) -> dict[str, int]:
    return dict.fromkeys(keys, 0)


def _empty_breakdowns() -> dict[str, dict[str, int]]:
    """Every known key present (zero when none), so charts and CSV columns are stable day to day."""
    return {
        "category": _zeros([*(c.value for c in Category), UNCLASSIFIED]),
        "channel": _zeros(c.value for c in Channel),
        "priority": _zeros([*(p.value for p in Priority), UNCLASSIFIED]),
        "status": _zeros(s.value for s in TicketStatus),
    }


def build_daily_report(counts: DayCounts) -> DailyReport:
    breakdowns = _empty_breakdowns()
    for group in counts.created:
        for dim in DIMENSIONS:
            key = getattr(group, dim) or UNCLASSIFIED
            breakdowns[dim][key] = breakdowns[dim].get(key, 0) + group.count
    return DailyReport(
        day=counts.day,
        created=sum(g.count for g in counts.created),
        resolved=counts.resolved,
        closed=counts.closed,
        reopened=counts.reopened,
        by_category=breakdowns["category"],
        by_channel=breakdowns["channel"],
        by_priority=breakdowns["priority"],
        by_status=breakdowns["status"],
        conversation=conversation_kpis(counts.conversation),
    )


def _value(v: Any) -> str | None:
    return None if v is None else getattr(v, "value", v)


def day_counts(day: date, facts: Iterable[TicketFact], tz: str) -> DayCounts:
    """The numbers of ``day`` from a list of facts (the store computes the same with an aggregate, and
    the conversation counters are the day's ``all`` cell)."""
    key = day.isoformat()
    groups: dict[tuple[str | None, ...], int] = {}
    resolved = closed = reopened = 0
    conv: dict[str, float] = {}
    for fact in facts:
        if fact.day == key:
            combo = tuple(_value(getattr(fact, dim)) for dim in DIMENSIONS)
            groups[combo] = groups.get(combo, 0) + 1
            conv["created"] = conv.get("created", 0) + 1
        resolved += key in fact.resolved_days
        closed += key in fact.closed_days
        reopened += key in fact.reopened_days
        if fact.created_at is not None and fact.resolutions and day_key(fact.resolutions[-1], tz) == key:
            conv["rt_n"] = conv.get("rt_n", 0) + 1
        for name, value in conversation_counters(fact, tz).get(key, {}).items():
            conv[name] = conv.get(name, 0) + value
    created = [
        CreatedGroup(**dict(zip(DIMENSIONS, combo, strict=True)), count=n) for combo, n in groups.items()
    ]
    return DayCounts(day=day, created=created, resolved=resolved, closed=closed, reopened=reopened,
                     conversation=conversation_subset(conv))


def daily_report(day: date, facts: Iterable[TicketFact], tz: str) -> DailyReport:
    return build_daily_report(day_counts(day, facts, tz))


CSV_HEADER = ("day", "metric", "key", "count")


def report_csv(report: DailyReport) -> str:
    """The report as long-format CSV (one number per row: ``day,metric,key,count``), which pivots
    directly in a spreadsheet; totals have an empty key. The conversation figures come last (their
    ratios are decimals, empty when there is nothing to divide by)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    day = report.day.isoformat()
    for metric in ("created", "resolved", "closed", "reopened"):
        writer.writerow((day, metric, "", getattr(report, metric)))
    for metric in ("by_category", "by_channel", "by_priority", "by_status"):
        for key, count in getattr(report, metric).items():
            writer.writerow((day, metric, key, count))
    for metric, value in report.conversation.model_dump().items():
        writer.writerow((day, metric, "", "" if value is None else value))
    return out.getvalue()
