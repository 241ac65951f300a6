"""Dispatcher's pure decisions: the staff roster, which team a ticket belongs to, which agent gets it
(and why), the waiting order of team queues, and the assignment lifecycle. No I/O here.

Routing rules (seeds 000 §四 "任务自动分配与派单", 001 layered handling, 002 step 2, 004 "工单分配与确认"):
* team by category: 售前 pre_sales → frontline; 售后 after_sales → specialist, or tech when the module is
  technical; 投诉 complaint → complaints; 需求 requirement → product; 其他 other → frontline;
* P1/P2 tickets — and VIP / key-account customers (000: "VIP客户优先分配资深客服") — prefer the team's
  senior agents;
* candidates are on-duty agents and senior agents of the team with a free slot (open < capacity) who
  serve the ticket's channel (an empty channel list serves every channel); the lowest load ratio
  open/capacity wins, ties go to fewer open tickets, then to the smaller staff id;
* when nobody in the team can take it, any eligible frontline agent may (frontline is everybody's
  fallback); when nobody at all can, the ticket waits in its team queue, ordered by priority then age.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts import (
    Category,
    Channel,
    CustomerTier,
    Module,
    Priority,
    TicketAssigned,
    TicketAssignedPayload,
    TicketClassified,
)

PRODUCER = "dispatcher"
MAX_EXPLAINED_CANDIDATES = 8


class DomainError(Exception):
    """An input that contradicts what the dispatcher already knows (dead-lettered by the handlers)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# ----------------------------------------------------------------------------- the roster
class Team(StrEnum):
    """The teams of the service pyramid (seed 001): frontline first, specialists behind it."""

    FRONTLINE = "frontline"  # 一线客服 / 售前组
    SPECIALIST = "specialist"  # 售后专员
    TECH = "tech"  # 技术支持
    PRODUCT = "product"  # 产品专员 (需求)
    COMPLAINTS = "complaints"  # 投诉处理专员


class Position(StrEnum):
    """A staff member's position in the roster (not the JWT role): only agents take tickets."""

    AGENT = "agent"
    SENIOR_AGENT = "senior_agent"  # 资深客服
    SUPERVISOR = "supervisor"  # 主管


WORKING_POSITIONS = frozenset({Position.AGENT, Position.SENIOR_AGENT})


class StaffMember(BaseModel):
    """One person of the roster (seed 004: name, staff number, channels, skill tags) with their load."""

    model_config = ConfigDict(extra="forbid")

    staff_id: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,32}$", description="Staff number (工号), e.g. CS2024015.")
    name: str = Field(min_length=1, max_length=64)
    role: Position
    team: Team
    skills: list[str] = Field(default_factory=list, max_length=32)
    channels: list[Channel] = Field(
        default_factory=list, description="Channels served; empty = all channels."
    )
    capacity: int = Field(default=5, ge=0, le=200, description="Most open tickets at once (待处理任务数).")
    open_count: int = Field(default=0, ge=0, description="Open tickets assigned now.")
    on_duty: bool = True
    supervisor_id: str | None = None

    def serves(self, channel: Channel) -> bool:
        return not self.channels or channel in self.channels

    def has_room(self) -> bool:
        return self.open_count < self.capacity

    @property
    def load(self) -> Fraction:
        """open/capacity as an exact fraction (a member without capacity counts as full)."""
        return Fraction(self.open_count, self.capacity) if self.capacity else Fraction(1)


class RosterFile(BaseModel):
    """The staff seed file: ``{"staff": [...]}``; ids unique, supervisors named by id must exist."""

    model_config = ConfigDict(extra="forbid")

    staff: list[StaffMember] = Field(min_length=1, max_length=10_000)

    @model_validator(mode="after")
    def _consistent(self) -> RosterFile:
        ids = [m.staff_id for m in self.staff]
        if len(ids) != len(set(ids)):
            raise ValueError("staff ids must be unique")
        supervisors = {m.staff_id for m in self.staff if m.role == Position.SUPERVISOR}
        unknown = sorted({m.supervisor_id for m in self.staff if m.supervisor_id} - supervisors)
        if unknown:
            raise ValueError(f"supervisor_id must name a supervisor of the roster: {', '.join(unknown)}")
        return self


def parse_roster(text: str) -> list[StaffMember]:
    """Validate the JSON text of a roster seed file (raises pydantic ValidationError)."""
    return RosterFile.model_validate_json(text).staff


# ----------------------------------------------------------------------------- what is routed
TEAM_BY_CATEGORY: dict[Category, Team] = {
    Category.PRE_SALES: Team.FRONTLINE,
    Category.AFTER_SALES: Team.SPECIALIST,
    Category.COMPLAINT: Team.COMPLAINTS,
    Category.REQUIREMENT: Team.PRODUCT,
    Category.OTHER: Team.FRONTLINE,
}
SENIOR_PRIORITIES = frozenset({Priority.P1, Priority.P2})
SENIOR_TIERS = frozenset({CustomerTier.VIP, CustomerTier.KEY_ACCOUNT})


def team_for(category: Category, module: Module) -> Team:
    """售后 goes to the after-sales specialists, or to technical support when the module is technical
    (seed 002 step 2: "根据问题类型分配至售后专员或技术支持")."""
    if category == Category.AFTER_SALES and module == Module.TECHNICAL:
        return Team.TECH
    return TEAM_BY_CATEGORY[category]


def team_rule(category: Category, module: Module) -> str:
    return f"{category.value}/{module.value} → {team_for(category, module).value}"


def prefers_senior(priority: Priority, tier: CustomerTier) -> bool:
    """P1/P2 (seed 004) and VIP / key-account customers (seed 000) go to senior agents first."""
    return priority in SENIOR_PRIORITIES or tier in SENIOR_TIERS


def _to_ms(at: datetime) -> datetime:
    """MongoDB keeps milliseconds: truncate so a stored value compares equal to the computed one."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


class RoutingRequest(BaseModel):
    """What a classification tells the dispatcher about a ticket."""

    ticket_id: str
    ticket_no: str
    correlation_id: str
    category: Category
    module: Module
    priority: Priority
    channel: Channel
    customer_tier: CustomerTier = CustomerTier.NORMAL
    classified_at: datetime = Field(description="occurred_at of the classification (newest wins).")

    @classmethod
    def from_event(cls, event: TicketClassified) -> RoutingRequest:
        p = event.payload
        return cls(
            ticket_id=p.ticket_id, ticket_no=p.ticket_no, correlation_id=event.correlation_id,
            category=p.category, module=p.module, priority=p.priority, channel=p.channel,
            customer_tier=p.customer_tier, classified_at=_to_ms(event.occurred_at),
        )


# ----------------------------------------------------------------------------- choosing an agent
class Candidate(BaseModel):
    """An eligible agent in the order they are tried, with the load seen when deciding."""

    staff_id: str
    name: str
    role: Position
    team: Team
    open_count: int
    capacity: int
    fallback: bool = False
    resumed: bool = Field(default=False, description="Slot reserved by an earlier, interrupted attempt.")

    @property
    def load_text(self) -> str:
        return f"{self.open_count}/{self.capacity}"


class RoutingPlan(BaseModel):
    team: Team
    rule: str
    prefer_senior: bool
    candidates: list[Candidate]


def eligible(roster: Iterable[StaffMember], team: Team, channel: Channel) -> list[StaffMember]:
    """On-duty agents/senior agents of the team with a free slot who serve the channel."""
    return [
        m for m in roster
        if m.team == team and m.role in WORKING_POSITIONS and m.on_duty and m.has_room() and m.serves(channel)
    ]


def rank_key(member: StaffMember, prefer_senior: bool) -> tuple[int, Fraction, int, str]:
    """Seniors first when preferred, then lowest load ratio, then fewer open tickets, then staff id."""
    senior_first = 0 if (not prefer_senior or member.role == Position.SENIOR_AGENT) else 1
    return (senior_first, member.load, member.open_count, member.staff_id)


def _ranked(members: Iterable[StaffMember], prefer_senior: bool, fallback: bool) -> list[Candidate]:
    ordered = sorted(members, key=lambda m: rank_key(m, prefer_senior))
    return [
        Candidate(staff_id=m.staff_id, name=m.name, role=m.role, team=m.team, open_count=m.open_count,
                  capacity=m.capacity, fallback=fallback)
        for m in ordered
    ]


def plan_routing(req: RoutingRequest, roster: Sequence[StaffMember]) -> RoutingPlan:
    """The team and every agent who may take the ticket, best first; frontline agents follow as the
    fallback when the ticket belongs to another team."""
    team = team_for(req.category, req.module)
    senior = prefers_senior(req.priority, req.customer_tier)
    candidates = _ranked(eligible(roster, team, req.channel), senior, fallback=False)
    if team != Team.FRONTLINE:
        candidates += _ranked(eligible(roster, Team.FRONTLINE, req.channel), senior, fallback=True)
    return RoutingPlan(team=team, rule=team_rule(req.category, req.module), prefer_senior=senior,
                       candidates=candidates)


def _rule_text(plan: RoutingPlan, req: RoutingRequest) -> str:
    if not plan.prefer_senior:
        return "rule: lowest load"
    why = req.priority.value if req.priority in SENIOR_PRIORITIES else f"{req.customer_tier.value} customer"
    return f"rule: {why} prefers senior agents, then lowest load"


def _candidates_text(plan: RoutingPlan) -> str:
    shown = [f"{c.staff_id} {c.role.value}{' (fallback)' if c.fallback else ''} {c.load_text}"
             for c in plan.candidates[:MAX_EXPLAINED_CANDIDATES]]
    more = len(plan.candidates) - len(shown)
    return "candidates: " + (", ".join(shown) if shown else "none") + (f", +{more} more" if more > 0 else "")


def resumed_candidate(holder: StaffMember, plan: RoutingPlan) -> Candidate:
    """The agent already holding a slot for this ticket (an attempt that stopped before saving its
    decision): the ticket goes to them, no second slot is taken."""
    return Candidate(
        staff_id=holder.staff_id, name=holder.name, role=holder.role, team=holder.team,
        open_count=max(0, holder.open_count - 1), capacity=holder.capacity,
        fallback=holder.team != plan.team, resumed=True,
    )


def explain_assignment(
    plan: RoutingPlan, req: RoutingRequest, chosen: Candidate, skipped: Sequence[str]
) -> str:
    """The routing explanation kept on the assignment and sent as ``ticket.assigned.reason``."""
    parts = [f"team {plan.team.value} ({plan.rule})", _rule_text(plan, req), _candidates_text(plan)]
    if skipped:
        parts.append(f"taken meanwhile: {', '.join(skipped)}")
    if chosen.resumed:
        why = "slot already reserved for this ticket by an interrupted attempt"
    elif chosen.fallback:
        why = f"no eligible agent in {plan.team.value}, frontline fallback with the lowest load"
    elif plan.prefer_senior and chosen.role == Position.SENIOR_AGENT:
        why = "senior agent with the lowest load"
    elif plan.prefer_senior:
        why = "no senior agent free, agent with the lowest load"
    else:
        why = "lowest load"
    parts.append(f"chosen {chosen.staff_id} {chosen.name} ({chosen.load_text} before): {why}")
    return "; ".join(parts)


def explain_queued(plan: RoutingPlan, req: RoutingRequest, skipped: Sequence[str]) -> str:
    parts = [f"team {plan.team.value} ({plan.rule})", _rule_text(plan, req), _candidates_text(plan)]
    if skipped:
        parts.append(f"taken meanwhile: {', '.join(skipped)}")
    parts.append(f"no eligible agent has a free slot: waiting in the {plan.team.value} queue")
    return "; ".join(parts)


# ----------------------------------------------------------------------------- assignments
class AssignmentStatus(StrEnum):
    ROUTING = "routing"  # claimed by a classification, the decision is being made
    QUEUED = "queued"  # waiting in the team queue for a free slot
    ASSIGNED = "assigned"  # in an agent's queue, holding one of their slots
    RELEASED = "released"  # resolved/closed: holds no slot and waits nowhere


OPEN_STATUSES = frozenset({AssignmentStatus.ROUTING, AssignmentStatus.QUEUED})


class Assignment(BaseModel):
    """The dispatcher's record of one ticket (``_id`` = ticket_id)."""

    ticket_id: str
    ticket_no: str
    correlation_id: str
    status: AssignmentStatus
    category: Category | None = None
    module: Module | None = None
    priority: Priority | None = None
    priority_rank: int = Field(default=9, description="1 for P1 … 4 for P4: the queue order.")
    channel: Channel | None = None
    customer_tier: CustomerTier = CustomerTier.NORMAL
    team: Team | None = Field(default=None, description="Team whose queue/agent holds the ticket.")
    agent_id: str | None = None
    agent_name: str | None = None
    reason: str = ""
    revision: int = Field(default=0, description="Bumped by every re-classification (compare-and-set).")
    classified_at: datetime | None = None
    waiting_since: datetime
    assigned_at: datetime | None = None
    released_at: datetime | None = None
    release_reason: str | None = None
    updated_at: datetime

    def request(self) -> RoutingRequest:
        if self.category is None or self.module is None or self.priority is None or self.channel is None:
            raise DomainError("not_classified", f"ticket {self.ticket_id} has no classification to route by")
        assert self.classified_at is not None
        return RoutingRequest(
            ticket_id=self.ticket_id, ticket_no=self.ticket_no, correlation_id=self.correlation_id,
            category=self.category, module=self.module, priority=self.priority, channel=self.channel,
            customer_tier=self.customer_tier, classified_at=self.classified_at,
        )


def _classification(req: RoutingRequest) -> dict[str, object]:
    return {
        "category": req.category, "module": req.module, "priority": req.priority,
        "priority_rank": req.priority.rank, "channel": req.channel, "customer_tier": req.customer_tier,
        "team": team_for(req.category, req.module), "classified_at": req.classified_at,
    }


def claim(req: RoutingRequest, now: datetime) -> Assignment:
    """The first record of a classified ticket: it starts waiting now."""
    return Assignment(
        ticket_id=req.ticket_id, ticket_no=req.ticket_no, correlation_id=req.correlation_id,
        status=AssignmentStatus.ROUTING, waiting_since=_to_ms(now), updated_at=_to_ms(now),
        **_classification(req),  # type: ignore[arg-type]
    )


def check_same_ticket(existing: Assignment, req: RoutingRequest) -> None:
    """A ticket id never changes its number; a mismatch is a corrupt reference, not a retryable error."""
    if existing.ticket_no != req.ticket_no:
        raise DomainError(
            "ticket_no_mismatch",
            f"ticket {req.ticket_id} is {existing.ticket_no} here but the event says {req.ticket_no}",
        )


def reclassify(existing: Assignment, req: RoutingRequest, now: datetime) -> Assignment | None:
    """A newer classification of a ticket that is not yet in an agent's queue updates how it is routed;
    an older or duplicate one, or one for an assigned/finished ticket, changes nothing (a re-classified
    assigned ticket is not reassigned now — transfers are a separate, explicit action)."""
    if existing.status not in OPEN_STATUSES or existing.classified_at is None:
        return None
    if req.classified_at <= existing.classified_at:
        return None
    return existing.model_copy(
        update={**_classification(req), "revision": existing.revision + 1, "updated_at": _to_ms(now)}
    )


def assign(
    a: Assignment, plan: RoutingPlan, chosen: Candidate, reason: str, now: datetime
) -> tuple[Assignment, TicketAssigned]:
    """Put the ticket in the chosen agent's queue, with its ``ticket.assigned`` event."""
    at = _to_ms(now)
    updated = a.model_copy(update={
        "status": AssignmentStatus.ASSIGNED, "team": chosen.team, "agent_id": chosen.staff_id,
        "agent_name": chosen.name, "reason": reason, "assigned_at": at, "updated_at": at,
    })
    assert a.priority is not None
    event = TicketAssigned.new(
        TicketAssignedPayload(
            ticket_id=a.ticket_id, ticket_no=a.ticket_no, agent_id=chosen.staff_id, agent_name=chosen.name,
            team=chosen.team.value, priority=a.priority, reason=reason, assigned_at=at,
        ),
        correlation_id=a.correlation_id, producer=PRODUCER, occurred_at=at,
    )
    return updated, event


def finished_unrouted(
    ticket_id: str, ticket_no: str, correlation_id: str, why: str, now: datetime
) -> Assignment:
    """A ticket resolved/closed before its classification reached us (events out of order): remember
    it as finished so a late classification does not put it in anyone's queue."""
    at = _to_ms(now)
    return Assignment(
        ticket_id=ticket_id, ticket_no=ticket_no, correlation_id=correlation_id,
        status=AssignmentStatus.RELEASED, waiting_since=at, released_at=at, release_reason=why, updated_at=at,
    )


def queue_key(a: Assignment) -> tuple[int, datetime, str]:
    """Team queue order: most urgent priority first, then the longest waiting, then ticket id."""
    return (a.priority_rank, a.waiting_since, a.ticket_id)


def drain_teams(released_team: Team) -> list[Team]:
    """Whose waiting tickets a freed slot may serve: its own team's; a frontline slot also serves the
    other teams' queues, since frontline is every team's fallback."""
    if released_team == Team.FRONTLINE:
        return list(Team)
    return [released_team]
