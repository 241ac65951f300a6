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
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts import (
    AssignmentUnacknowledged,
    Category,
    Channel,
    CustomerTier,
    Module,
    Priority,
    SlaBreached,
    SlaWarning,
    StaffRole,
    TicketAcknowledged,
    TicketAcknowledgedPayload,
    TicketAssigned,
    TicketAssignedPayload,
    TicketClassified,
    TicketCustomerReplied,
    TicketEscalated,
    TicketTransferred,
    TicketTransferredPayload,
)
from contracts.events_reporting import ReportReady

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
    ADMIN = "admin"  # 系统管理员 (manages the directory; takes no tickets)


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
    on_duty: bool = Field(default=True, description="On shift now (only on-duty staff receive tickets).")
    supervisor_id: str | None = None
    languages: list[str] = Field(default_factory=list, max_length=16, description="Languages spoken, e.g. zh, en.")
    active: bool = Field(default=True, description="False = disabled by an admin: no login, no tickets.")

    @property
    def is_senior(self) -> bool:
        return self.role == Position.SENIOR_AGENT

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
        supervisors = {m.staff_id for m in self.staff if m.role in (Position.SUPERVISOR, Position.ADMIN)}
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
    tags: list[str] = Field(default_factory=list, description="Classifier tags, matched against skill tags.")
    team_override: Team | None = Field(default=None, description="Team chosen by a transfer (beats category).")
    preferred_agent_id: str | None = Field(default=None, description="Reopened: back to the previous agent.")
    excluded_agents: list[str] = Field(default_factory=list, description="Never these (e.g. did not confirm).")

    @classmethod
    def from_event(cls, event: TicketClassified) -> RoutingRequest:
        p = event.payload
        return cls(
            ticket_id=p.ticket_id, ticket_no=p.ticket_no, correlation_id=event.correlation_id,
            category=p.category, module=p.module, priority=p.priority, channel=p.channel,
            customer_tier=p.customer_tier, classified_at=_to_ms(event.occurred_at), tags=list(p.tags)[:32],
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
    preferred: bool = Field(default=False, description="The ticket's previous agent (reopened ticket).")
    skill_matches: int = Field(default=0, description="How many of the ticket's tags are in the skill tags.")
    incident: bool = Field(default=False, description="A member of the ticket's incident team (crisis mode).")

    @property
    def load_text(self) -> str:
        return f"{self.open_count}/{self.capacity}"


class RoutingPlan(BaseModel):
    team: Team
    rule: str
    prefer_senior: bool
    candidates: list[Candidate]


def can_take_tickets(m: StaffMember) -> bool:
    return m.active and m.role in WORKING_POSITIONS and m.on_duty and m.has_room()


def eligible(roster: Iterable[StaffMember], team: Team, channel: Channel,
             excluded: Iterable[str] = ()) -> list[StaffMember]:
    """Active, on-duty agents/senior agents of the team with a free slot who serve the channel."""
    skip = set(excluded)
    return [m for m in roster
            if m.team == team and can_take_tickets(m) and m.serves(channel) and m.staff_id not in skip]


def skill_matches(member: StaffMember, tags: Iterable[str]) -> int:
    """How many of the ticket's tags the member lists as skills (case-insensitive)."""
    skills = {s.casefold() for s in member.skills}
    return len({t.casefold() for t in tags} & skills)


def rank_key(
    member: StaffMember, prefer_senior: bool, tags: Sequence[str] = ()
) -> tuple[int, int, Fraction, int, str]:
    """Seniors first when preferred (P1/P2, VIP / key account), then most matching skill tags, then the
    lowest load ratio, then fewer open tickets, then staff id."""
    senior_first = 0 if (not prefer_senior or member.role == Position.SENIOR_AGENT) else 1
    return (senior_first, -skill_matches(member, tags), member.load, member.open_count, member.staff_id)


def _candidate(m: StaffMember, tags: Sequence[str], **flags: bool) -> Candidate:
    return Candidate(staff_id=m.staff_id, name=m.name, role=m.role, team=m.team, open_count=m.open_count,
                     capacity=m.capacity, skill_matches=skill_matches(m, tags), **flags)


def _ranked(members: Iterable[StaffMember], prefer_senior: bool, fallback: bool,
            tags: Sequence[str] = ()) -> list[Candidate]:
    ordered = sorted(members, key=lambda m: rank_key(m, prefer_senior, tags))
    return [_candidate(m, tags, fallback=fallback) for m in ordered]


def plan_routing(req: RoutingRequest, roster: Sequence[StaffMember]) -> RoutingPlan:
    """The team and every agent who may take the ticket, best first; frontline agents follow as the
    fallback when the ticket belongs to another team. A reopened ticket's previous agent comes first
    when they can take it (seed 002: "优先分配给原处理客服"); excluded agents never appear."""
    team = req.team_override or team_for(req.category, req.module)
    senior = prefers_senior(req.priority, req.customer_tier)
    excluded = set(req.excluded_agents)
    candidates: list[Candidate] = []
    if req.preferred_agent_id and req.preferred_agent_id not in excluded:
        prev = next((m for m in roster if m.staff_id == req.preferred_agent_id), None)
        if prev is not None and can_take_tickets(prev) and prev.serves(req.channel):
            candidates.append(_candidate(prev, req.tags, preferred=True, fallback=prev.team != team))
            excluded.add(prev.staff_id)
    candidates += _ranked(eligible(roster, team, req.channel, excluded), senior, False, req.tags)
    if team != Team.FRONTLINE:
        candidates += _ranked(eligible(roster, Team.FRONTLINE, req.channel, excluded), senior, True, req.tags)
    rule = f"transfer → {team.value}" if req.team_override else team_rule(req.category, req.module)
    return RoutingPlan(team=team, rule=rule, prefer_senior=senior, candidates=candidates)


def _rule_text(plan: RoutingPlan, req: RoutingRequest) -> str:
    skills = f"skills {'/'.join(req.tags[:4])}, " if req.tags else ""
    if not plan.prefer_senior:
        return f"rule: {skills}lowest load"
    why = req.priority.value if req.priority in SENIOR_PRIORITIES else f"{req.customer_tier.value} customer"
    return f"rule: {skills}{why} prefers senior agents, then lowest load"


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
    elif chosen.preferred:
        why = "previous agent of the reopened ticket is on duty"
    elif chosen.incident:
        why = "incident team member with the lowest load"
    elif plan.rule.startswith("incident "):
        why = "no incident team member has a free slot: normal routing"
    elif chosen.fallback:
        why = f"no eligible agent in {plan.team.value}, frontline fallback with the lowest load"
    elif chosen.skill_matches and plan.prefer_senior and chosen.role == Position.SENIOR_AGENT:
        why = f"senior agent matching {chosen.skill_matches} skill tag(s), lowest load"
    elif chosen.skill_matches:
        why = f"matches {chosen.skill_matches} skill tag(s), lowest load"
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
    tags: list[str] = Field(default_factory=list)
    acknowledged_at: datetime | None = Field(default=None, description="When the agent confirmed receipt.")
    previous_agent_id: str | None = None
    team_override: Team | None = Field(default=None, description="Team named by a transfer.")
    preferred_agent_id: str | None = None
    excluded_agents: list[str] = Field(default_factory=list)
    transfer_count: int = 0
    reopen_count: int = 0
    reopened_at: datetime | None = None
    sla_due_at: datetime | None = Field(default=None, description="Nearest SLA deadline the SLA monitor named.")
    sla_target: str | None = None
    expected_done_at: datetime | None = Field(default=None, description="Promised by the last transfer (003).")
    history: list[Decision] = Field(default_factory=list, description="Every routing decision, oldest first.")
    incident_id: str | None = Field(default=None, description="The incident the ticket belongs to (crisis mode).")
    incident_title: str | None = None
    incident_linked_at: datetime | None = None

    def request(self) -> RoutingRequest:
        if self.category is None or self.module is None or self.priority is None or self.channel is None:
            raise DomainError("not_classified", f"ticket {self.ticket_id} has no classification to route by")
        assert self.classified_at is not None
        return RoutingRequest(
            ticket_id=self.ticket_id, ticket_no=self.ticket_no, correlation_id=self.correlation_id,
            category=self.category, module=self.module, priority=self.priority, channel=self.channel,
            customer_tier=self.customer_tier, classified_at=self.classified_at, tags=self.tags,
            team_override=self.team_override, preferred_agent_id=self.preferred_agent_id,
            excluded_agents=self.excluded_agents,
        )


class Decision(BaseModel):
    """One entry of an assignment's decision log (assigned, queued, transferred, reassigned, reopened)."""

    at: datetime
    kind: str
    agent_id: str | None = None
    by: str = "system"
    reason: str = ""


Assignment.model_rebuild()


def decision(kind: str, now: datetime, reason: str, agent_id: str | None = None, by: str = "system") -> Decision:
    return Decision(at=_to_ms(now), kind=kind, agent_id=agent_id, by=by, reason=reason[:2000])


def _classification(req: RoutingRequest) -> dict[str, object]:
    return {
        "category": req.category, "module": req.module, "priority": req.priority,
        "priority_rank": req.priority.rank, "channel": req.channel, "customer_tier": req.customer_tier,
        "team": req.team_override or team_for(req.category, req.module), "classified_at": req.classified_at,
        "tags": req.tags,
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
    req = req.model_copy(update={"team_override": existing.team_override})
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
        "acknowledged_at": None,
    })
    assert a.priority is not None
    event = TicketAssigned.new(
        TicketAssignedPayload(
            ticket_id=a.ticket_id, ticket_no=a.ticket_no, agent_id=chosen.staff_id, agent_name=chosen.name,
            team=chosen.team.value, priority=a.priority, reason=reason, assigned_at=at,
            previous_agent_id=a.previous_agent_id,
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


# ----------------------------------------------------------------------------- after assignment
def acknowledge(a: Assignment, staff_id: str, now: datetime) -> tuple[Assignment, TicketAcknowledged] | None:
    """确认接单 (seed 004): the assignee confirms receipt, which starts the first-response clock. None
    when already confirmed (idempotent); DomainError when the ticket is not in this agent's queue."""
    if a.status != AssignmentStatus.ASSIGNED:
        raise DomainError("not_assigned", f"ticket {a.ticket_no} is {a.status.value}, not in an agent's queue")
    if a.agent_id != staff_id:
        raise DomainError("not_your_ticket", f"ticket {a.ticket_no} is assigned to someone else")
    if a.acknowledged_at is not None:
        return None
    at = _to_ms(now)
    event = TicketAcknowledged.new(
        TicketAcknowledgedPayload(ticket_id=a.ticket_id, ticket_no=a.ticket_no, agent_id=staff_id,
                                  acknowledged_at=at),
        correlation_id=a.correlation_id, producer=PRODUCER, occurred_at=at,
    )
    return a.model_copy(update={"acknowledged_at": at, "updated_at": at}), event


class TransferKind(StrEnum):
    TRANSFER = "transfer"  # the assignee hands it on (beyond authority, 003)
    REASSIGN = "reassign"  # a supervisor moves it
    UNACKNOWLEDGED = "unacknowledged"  # nobody confirmed receipt in time: policy moves it


def check_transfer(a: Assignment, by: str, by_supervisor: bool, to_agent: StaffMember | None) -> None:
    """Only an assigned ticket moves; an agent moves only their own; the target must be able to take it."""
    if a.status != AssignmentStatus.ASSIGNED or a.agent_id is None:
        raise DomainError("not_assigned", f"ticket {a.ticket_no} is {a.status.value}, not in an agent's queue")
    if not by_supervisor and a.agent_id != by:
        raise DomainError("not_your_ticket", f"ticket {a.ticket_no} is assigned to someone else")
    if to_agent is None:
        return
    if to_agent.staff_id == a.agent_id:
        raise DomainError("same_agent", f"ticket {a.ticket_no} is already with {to_agent.staff_id}")
    if not (to_agent.active and to_agent.role in WORKING_POSITIONS):
        raise DomainError("not_an_agent", f"{to_agent.staff_id} does not take tickets")
    if not to_agent.on_duty:
        raise DomainError("agent_off_duty", f"{to_agent.staff_id} is not on duty")
    if not to_agent.has_room():
        raise DomainError("agent_full", f"{to_agent.staff_id} has no free slot ({to_agent.open_count}/{to_agent.capacity})")


def transfer_event(
    a: Assignment, *, to_agent_id: str | None, to_team: Team | None, reason: str, by: str, now: datetime
) -> TicketTransferred:
    at = _to_ms(now)
    return TicketTransferred.new(
        TicketTransferredPayload(
            ticket_id=a.ticket_id, ticket_no=a.ticket_no, from_agent_id=a.agent_id, to_agent_id=to_agent_id,
            to_team=to_team.value if to_team else None, reason=reason, transferred_by=by, transferred_at=at,
        ),
        correlation_id=a.correlation_id, producer=PRODUCER, occurred_at=at,
    )


def transfer_to_agent(
    a: Assignment, target: StaffMember, kind: TransferKind, reason: str, by: str, now: datetime,
    expected_done_at: datetime | None = None,
) -> tuple[Assignment, list[TicketTransferred | TicketAssigned]]:
    """Move an assigned ticket straight into another agent's queue: ticket.transferred then
    ticket.assigned (with previous_agent_id), and a fresh confirmation is awaited."""
    at = _to_ms(now)
    moved = a.model_copy(update={
        "previous_agent_id": a.agent_id, "transfer_count": a.transfer_count + 1,
        "expected_done_at": expected_done_at, "team_override": target.team,
    })
    why = f"{kind.value} by {by}: {reason}; chosen {target.staff_id} {target.name} " \
          f"({target.open_count}/{target.capacity} before)"
    cand = Candidate(staff_id=target.staff_id, name=target.name, role=target.role, team=target.team,
                     open_count=target.open_count, capacity=target.capacity)
    plan = RoutingPlan(team=target.team, rule=kind.value, prefer_senior=False, candidates=[cand])
    updated, assigned = assign(moved, plan, cand, why, at)
    moved_event = transfer_event(a, to_agent_id=target.staff_id, to_team=target.team, reason=reason, by=by, now=at)
    return updated, [moved_event, assigned]


def transfer_to_team(
    a: Assignment, team: Team | None, kind: TransferKind, reason: str, by: str, now: datetime,
    expected_done_at: datetime | None = None,
) -> tuple[Assignment, TicketTransferred]:
    """Take an assigned ticket out of its agent's queue to be routed again (to ``team``, or by its
    category when None), never back to the agent it leaves."""
    at = _to_ms(now)
    assert a.agent_id is not None
    excluded = sorted({*a.excluded_agents, a.agent_id})
    target_team = team or a.team_override or (team_for(a.category, a.module) if a.category and a.module else None)
    updated = a.model_copy(update={
        "status": AssignmentStatus.ROUTING, "previous_agent_id": a.agent_id, "agent_id": None,
        "agent_name": None, "acknowledged_at": None, "transfer_count": a.transfer_count + 1,
        "team_override": team or a.team_override, "team": target_team, "excluded_agents": excluded,
        "preferred_agent_id": None, "waiting_since": at, "updated_at": at, "expected_done_at": expected_done_at,
        "reason": f"{kind.value} by {by}: {reason}",
    })
    event = transfer_event(a, to_agent_id=None, to_team=target_team, reason=reason, by=by, now=at)
    return updated, event


def is_current_unacknowledged(a: Assignment, event: AssignmentUnacknowledged) -> bool:
    """The warning is about the ticket's present, still unconfirmed assignment (not an old one)."""
    p = event.payload
    if a.status != AssignmentStatus.ASSIGNED or a.agent_id != p.agent_id or a.acknowledged_at is not None:
        return False
    return a.assigned_at is None or abs((a.assigned_at - p.assigned_at).total_seconds()) < 1


def reopen(a: Assignment, reopen_count: int, agent_id: str | None, reason: str, now: datetime,
           reopened_at: datetime) -> Assignment | None:
    """A resolved ticket went back to work: route it again, to its previous agent first. None when the
    reopening is already known (duplicate / older) or the ticket is not finished here."""
    if a.status != AssignmentStatus.RELEASED or reopen_count <= a.reopen_count or a.category is None:
        return None
    at = _to_ms(now)
    previous = agent_id or a.agent_id
    return a.model_copy(update={
        "status": AssignmentStatus.ROUTING, "reopen_count": reopen_count, "reopened_at": _to_ms(reopened_at),
        "preferred_agent_id": previous, "previous_agent_id": previous, "agent_id": None, "agent_name": None,
        "acknowledged_at": None, "released_at": None, "release_reason": None, "excluded_agents": [],
        "waiting_since": at, "updated_at": at, "reason": f"reopened: {reason}"[:2000], "sla_due_at": None,
    })


def sla_due(a: Assignment, deadline: datetime, target: str) -> bool:
    """Whether an SLA deadline is nearer than the one known (the queue is ordered by it)."""
    return a.sla_due_at is None or deadline < a.sla_due_at or a.sla_target == target


def my_queue_key(a: Assignment) -> tuple[int, datetime, int, datetime]:
    """An agent's queue: tickets with a known SLA deadline first, nearest first; then priority, age."""
    far = datetime.max.replace(tzinfo=a.waiting_since.tzinfo)
    return (0 if a.sla_due_at else 1, a.sla_due_at or far, a.priority_rank, a.assigned_at or a.waiting_since)


# ----------------------------------------------------------------------------- staff access
PASSWORD_MIN = 8
PASSWORD_MAX = 128


def password_problems(password: str, staff_id: str = "") -> list[str]:
    """The password policy: at least 8 characters with a letter, a digit and a special character, not
    the staff id."""
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append(f"at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        problems.append(f"at most {PASSWORD_MAX} characters")
    if not any(c.isalpha() for c in password):
        problems.append("a letter")
    if not any(c.isdigit() for c in password):
        problems.append("a digit")
    if not any(not c.isalnum() and not c.isspace() for c in password):
        problems.append("a special character")
    if staff_id and staff_id.casefold() in password.casefold():
        problems.append("not containing the staff id")
    return problems


class LockoutPolicy(BaseModel):
    max_failures: int = Field(default=5, ge=1)
    lock_seconds: int = Field(default=900, ge=1)


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now


def after_failure(failures: int, policy: LockoutPolicy, now: datetime) -> datetime | None:
    """Lock the account until this time once ``failures`` consecutive failures are reached."""
    if failures >= policy.max_failures:
        return now + timedelta(seconds=policy.lock_seconds)
    return None


ROLE_BY_POSITION: dict[Position, StaffRole] = {
    Position.AGENT: StaffRole.AGENT,
    Position.SENIOR_AGENT: StaffRole.AGENT,
    Position.SUPERVISOR: StaffRole.SUPERVISOR,
    Position.ADMIN: StaffRole.ADMIN,
}


def roles_of(member: StaffMember) -> frozenset[StaffRole]:
    """JWT roles: a senior agent is an ``agent`` (seniority lives in the directory)."""
    return frozenset({ROLE_BY_POSITION[member.role]})


def supervisor_chain(member: StaffMember | None, roster: dict[str, StaffMember], depth: int = 3) -> list[str]:
    """The member's supervisor, then theirs … (at most ``depth``; cycles stop the walk)."""
    chain: list[str] = []
    current = member
    while current is not None and current.supervisor_id and len(chain) < depth:
        if current.supervisor_id in chain or current.supervisor_id == member.staff_id:  # type: ignore[union-attr]
            break
        chain.append(current.supervisor_id)
        current = roster.get(current.supervisor_id)
    return chain


def team_supervisors(roster: Iterable[StaffMember], team: Team | None) -> list[str]:
    return sorted(m.staff_id for m in roster
                  if m.role == Position.SUPERVISOR and m.active and (team is None or m.team == team))


# ----------------------------------------------------------------------------- notifications
class Note(BaseModel):
    """A notification to be stored and delivered (pure: the service adds ids and delivery)."""

    kind: str
    recipient: str
    subject: str
    body: str
    ticket_id: str | None = None
    correlation_id: str | None = None
    urgent: bool = False
    data: dict[str, Any] = Field(default_factory=dict, description="Structured facts (inbox, gateways).")
    external: Literal["im", "sms", "email", "webhook"] | None = Field(
        default=None, description="The recipient's own external channel for this note (besides in-app), instead "
                                  "of the policy's urgent kinds and channel.")
    external_data: dict[str, Any] = Field(
        default_factory=dict, description="Added to ``data`` of the external delivery only (e.g. an attachment).")


def notes_for_report(event: ReportReady) -> list[Note]:
    """A scheduled report (seeds 000 七, 004 四) to each subscriber: in-app with the link to the dashboard page,
    and, for those who chose e-mail or IM, there too with the CSV attached (the gateway's body carries it)."""
    p = event.payload
    lines = "\n".join(p.summary)
    body = f"{p.title}\n{lines}"[:3900]
    data: dict[str, Any] = {"report_id": p.report_id, "report_kind": p.kind, "period": p.period,
                            "start": p.start, "end": p.end, "link": p.link, "csv_path": p.csv_path}
    attachment = p.attachment.model_dump() if p.attachment is not None else None
    notes = []
    for r in p.recipients:
        external = None if r.external == "none" else r.external
        notes.append(Note(
            kind="report.ready", recipient=r.staff_id, subject=p.title[:200], body=body,
            correlation_id=event.correlation_id, data=data, external=external,
            external_data={"attachments": [attachment]} if attachment and external else {}))
    return notes


def _fmt_seconds(seconds: int) -> str:
    minutes = seconds // 60
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def notes_for_warning(event: SlaWarning, agent_id: str | None, chain: Sequence[str]) -> list[Note]:
    p = event.payload
    who = agent_id or p.agent_id
    text = (f"工单 {p.ticket_no} ({p.priority.value}) {p.target.value} deadline in "
            f"{_fmt_seconds(p.remaining_seconds)} at {p.deadline.isoformat()}")
    recipients = [who] if who else list(chain[:1])
    return [Note(kind="sla.warning", recipient=r, subject=f"SLA warning {p.ticket_no}", body=text,
                 ticket_id=p.ticket_id, correlation_id=event.correlation_id) for r in recipients]


def notes_for_breach(event: SlaBreached, agent_id: str | None, chain: Sequence[str]) -> list[Note]:
    """A breach is escalated (seed 000: 超时自动升级至主管): the assignee and the supervisor; a repeated
    breach also goes one level further up."""
    p = event.payload
    text = (f"工单 {p.ticket_no} ({p.priority.value}) breached its {p.target.value} deadline by "
            f"{_fmt_seconds(p.overdue_seconds)} (breach #{p.breach_count})")
    who = agent_id or p.agent_id
    levels = min(len(chain), 1 + (1 if p.breach_count > 1 else 0))
    recipients = ([who] if who else []) + list(chain[:max(levels, 1 if chain else 0)])
    return [Note(kind="sla.breached", recipient=r, subject=f"SLA breached {p.ticket_no}", body=text,
                 ticket_id=p.ticket_id, correlation_id=event.correlation_id, urgent=r != who)
            for r in dict.fromkeys(recipients)]


def notes_for_escalation(event: TicketEscalated, agent_id: str | None, chain: Sequence[str]) -> list[Note]:
    p = event.payload
    text = f"工单 {p.ticket_no} escalated (level {p.level}): {p.reason}"
    recipients = list(dict.fromkeys([*p.notify_staff_ids, *chain[:p.level], *([agent_id] if agent_id else [])]))
    return [Note(kind="ticket.escalated", recipient=r, subject=f"Escalated {p.ticket_no}", body=text,
                 ticket_id=p.ticket_id, correlation_id=event.correlation_id, urgent=r != agent_id)
            for r in recipients]


def notes_for_unacknowledged(event: AssignmentUnacknowledged, chain: Sequence[str],
                             reassigning: bool) -> list[Note]:
    """Seed 004: not confirmed within 10 minutes → the supervisor is told (and, by policy, it moves on)."""
    p = event.payload
    tail = "; reassigning per policy" if reassigning else ""
    text = f"工单 {p.ticket_no} not confirmed by {p.agent_id} within {_fmt_seconds(p.waited_seconds)}{tail}"
    notes = [Note(kind="assignment.unacknowledged", recipient=r, subject=f"Unconfirmed {p.ticket_no}", body=text,
                  ticket_id=p.ticket_id, correlation_id=event.correlation_id, urgent=True) for r in chain[:1]]
    subject = f"{p.ticket_no} is being reassigned" if reassigning else f"Please confirm {p.ticket_no}"
    notes.append(Note(kind="assignment.unacknowledged", recipient=p.agent_id, subject=subject, body=text,
                      ticket_id=p.ticket_id, correlation_id=event.correlation_id))
    return notes


def reply_target(a: Assignment | None, event_assignee_id: str | None) -> tuple[str | None, Team | None]:
    """Who should read a customer's further message: ``(agent, team)`` — the agent to tell, else (agent
    None) the team whose supervisors watch its unassigned work. The dispatcher's own record beats the
    ``assignee_id`` the event carries (intake learns assignments from us, so it may lag behind):

    * assigned here → its agent;
    * waiting here (routing / queued: a transfer to a team put it back) → nobody holds it: the team;
    * finished here (resolved / closed; a reopening may be on its way) → the agent who last held it —
      the one a reopening goes back to first — else the event's assignee, else the team;
    * unknown here (never classified) → the event's assignee, else nobody.
    """
    if a is None:
        return event_assignee_id, None
    if a.status == AssignmentStatus.ASSIGNED and a.agent_id:
        return a.agent_id, a.team
    if a.status in OPEN_STATUSES:
        return None, a.team
    return a.agent_id or event_assignee_id, a.team


def notes_for_customer_reply(
    event: TicketCustomerReplied, recipients: Sequence[str], *, unassigned: bool
) -> list[Note]:
    """The customer wrote again: the assignee (or, for an unassigned ticket, the team's supervisors) is
    told with the redacted excerpt; ``data`` lets the console word it in the reader's language."""
    p = event.payload
    excerpt = p.excerpt.strip()
    body = excerpt or "（无文字内容）"
    if p.attachments:
        body += f" [附件 {p.attachments} 个]"
    if p.threaded_by == "reopened":
        body = "（客户消息重开了工单）" + body
    subject = f"工单 {p.ticket_no} 客户回复" + ("（未分配）" if unassigned else "")
    data = {"ticket_no": p.ticket_no, "excerpt": excerpt, "channel": p.channel.value,
            "attachments": p.attachments, "reply_count": p.reply_count, "threaded_by": p.threaded_by,
            "status": p.status.value, "replied_at": p.replied_at.isoformat(), "message_id": p.message_id,
            "unassigned": unassigned}
    return [Note(kind="ticket.customer_replied", recipient=r, subject=subject, body=body,
                 ticket_id=p.ticket_id, correlation_id=event.correlation_id, data=data)
            for r in dict.fromkeys(recipients)]


def retry_delay(attempts: int, base_seconds: float, cap_seconds: float = 3600.0) -> timedelta:
    """Exponential back-off between delivery attempts: base, 2·base, 4·base … capped."""
    return timedelta(seconds=min(cap_seconds, base_seconds * (2 ** max(0, attempts - 1))))
