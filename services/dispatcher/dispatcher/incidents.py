"""Crisis mode (issue 19; seed 001 "当出现大规模客户投诉、系统故障或公关危机时 … 迅速启动应急预案"): the
dispatcher's pure decisions about incidents. No I/O here (part of the domain, kept in its own module).

* An incident names which new tickets belong to it (``IncidentMatch``: categories, modules, keywords,
  channels — every non-empty list must match), a team of agents from any team (增加人力投入, 设立专门处理小组),
  the approved reply text (统一回应口径) and an SLA override; every change is a new version (compare-and-set)
  and a history entry (who, what, when) — with the events, the audit trail.
* A newly classified ticket that matches open incidents is linked to one of them, chosen
  deterministically: the most specific match (more criteria, then fewer values), then the newest, then the
  smaller id. The link is made once per ticket and never undone: closing the incident stops new links,
  tickets already linked keep the tag and the SLA override.
* A linked ticket is routed to the least-loaded incident-team member with a free slot (seniors first for
  P1/P2 and VIPs, as everywhere); when none has room it falls back to normal routing (the category's team,
  then frontline) and, failing that, waits in its category team's queue — still tagged; a slot an
  incident-team member frees is offered to those waiting tickets too. A crisis must not leave customers
  waiting behind a full team; the supervisor sees the fall-backs in the routing explanations and adds
  people to the team.
* The SLA override a ticket gets is the incident's at the moment it is linked: a later change of the
  override applies to tickets linked from then on (a deadline never moves under an agent's feet).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo
from enum import StrEnum

from pydantic import BaseModel, Field

from contracts import (
    Category,
    IncidentClosed,
    IncidentClosedPayload,
    IncidentMatch,
    IncidentOpened,
    IncidentOpenedPayload,
    IncidentSlaOverride,
    IncidentSpikeRef,
    IncidentUpdated,
    IncidentUpdatedPayload,
    Module,
    TicketClassified,
    TicketIncidentLinked,
    TicketIncidentLinkedPayload,
)

from .domain import (
    PRODUCER,
    WORKING_POSITIONS,
    Assignment,
    DomainError,
    RoutingPlan,
    RoutingRequest,
    StaffMember,
    _candidate,
    _to_ms,
    can_take_tickets,
    plan_routing,
    rank_key,
)

MAX_KEYWORD = 32


class IncidentStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class IncidentEntry(BaseModel):
    """One line of the incident's audit history."""

    at: datetime
    by: str
    action: str  # opened / updated / closed
    version: int
    detail: str = ""


class Incident(BaseModel):
    """An incident (``_id`` = incident_id)."""

    incident_id: str
    title: str
    status: IncidentStatus = IncidentStatus.OPEN
    version: int = 1
    match: IncidentMatch
    team: list[str] = Field(default_factory=list)
    reply_text: str = ""
    sla: IncidentSlaOverride = Field(default_factory=IncidentSlaOverride)
    spike: IncidentSpikeRef | None = None
    opened_by: str
    opened_at: datetime
    updated_at: datetime
    closed_by: str | None = None
    closed_at: datetime | None = None
    close_note: str = ""
    history: list[IncidentEntry] = Field(default_factory=list)


# ----------------------------------------------------------------------------- what matches
def keyword(term: str) -> str:
    """The keyword form reporting counts (trimmed, lower case, bounded), so a spike's keyword matches."""
    return re.sub(r"\s+", " ", term.strip().lower())[:MAX_KEYWORD]


def ticket_keywords(event: TicketClassified) -> list[str]:
    p = event.payload
    return sorted({k for k in (keyword(t) for t in [*p.explanation.matched_terms, *p.tags]) if k})


def clean_match(match: IncidentMatch) -> IncidentMatch:
    """Distinct, normalised values; at least one category, module or keyword (a channel alone, or nothing,
    would pull every ticket of the platform into the incident)."""
    cleaned = IncidentMatch(
        categories=sorted(set(match.categories)), modules=sorted(set(match.modules)),
        keywords=sorted({k for k in (keyword(t) for t in match.keywords) if k}),
        channels=sorted(set(match.channels)),
    )
    if not (cleaned.categories or cleaned.modules or cleaned.keywords):
        raise DomainError("match_too_broad", "an incident must match at least one category, module or keyword")
    return cleaned


def match_from_spike(spike: IncidentSpikeRef) -> IncidentMatch:
    """A spike of reporting (category / module / keyword) → the match of the incident opened from it."""
    try:
        if spike.dimension == "category":
            return IncidentMatch(categories=[Category(spike.value)])
        if spike.dimension == "module":
            return IncidentMatch(modules=[Module(spike.value)])
    except ValueError:
        raise DomainError("invalid_spike", f"unknown {spike.dimension} {spike.value!r}") from None
    if spike.dimension == "keyword":
        return IncidentMatch(keywords=[spike.value])
    raise DomainError("invalid_spike", f"a spike by {spike.dimension!r} cannot become an incident")


def matches(match: IncidentMatch, req: RoutingRequest, keywords: Iterable[str]) -> bool:
    words = set(keywords)
    return ((not match.categories or req.category in match.categories)
            and (not match.modules or req.module in match.modules)
            and (not match.channels or req.channel in match.channels)
            and (not match.keywords or bool(words & set(match.keywords))))


def specificity(match: IncidentMatch) -> tuple[int, int]:
    """More criteria is more specific; with as many, fewer accepted values is."""
    lists = (match.categories, match.modules, match.keywords, match.channels)
    return (sum(1 for values in lists if values), -sum(len(values) for values in lists))


def choose_incident(incidents: Iterable[Incident], req: RoutingRequest, keywords: Sequence[str]) -> Incident | None:
    """The open incident a new ticket belongs to: most specific match, then newest, then smaller id."""
    found = [i for i in incidents if i.status == IncidentStatus.OPEN and matches(i.match, req, keywords)]
    if not found:
        return None
    best = max(specificity(i.match) for i in found)
    top = [i for i in found if specificity(i.match) == best]
    return sorted(top, key=lambda i: (-i.opened_at.timestamp(), i.incident_id))[0]


# ----------------------------------------------------------------------------- lifecycle
def new_incident_id(now: datetime, suffix: str, timezone: str = "Asia/Shanghai",
                    spike: IncidentSpikeRef | None = None, closed_before: int = 0) -> str:
    """``INC-<business day>-<suffix>``. From a spike the id is derived from the spike and how many incidents
    its closed incidents, so supervisors opening it at once compute the same id and the store's unique ``_id``
    lets exactly one of them in (the others get ``incident_exists``); after a close, the next is a new id."""
    day = f"{now.astimezone(ZoneInfo(timezone)):%Y%m%d}"
    if spike is None:
        return f"INC-{day}-{suffix[:4].upper()}"
    digest = hashlib.sha256(spike.id.encode()).hexdigest()[:6].upper()
    return f"INC-{day}-{digest}-{closed_before + 1}"


def check_team(team: Sequence[str], roster: dict[str, StaffMember]) -> list[str]:
    """Distinct staff ids of active agents / senior agents (any team)."""
    ids = list(dict.fromkeys(team))
    for staff_id in ids:
        member = roster.get(staff_id)
        if member is None:
            raise DomainError("staff_not_found", f"no staff member {staff_id}")
        if not (member.active and member.role in WORKING_POSITIONS):
            raise DomainError("not_an_agent", f"{staff_id} does not take tickets")
    return ids


def _entry(now: datetime, by: str, action: str, version: int, detail: str) -> IncidentEntry:
    return IncidentEntry(at=_to_ms(now), by=by, action=action, version=version, detail=detail[:2000])


def _summary(i: Incident) -> str:
    sla = i.sla
    return (f"match {i.match.model_dump(mode='json', exclude_defaults=True)}; team {', '.join(i.team) or '-'}; "
            f"SLA first response {sla.first_response_minutes or '-'} min, resolution {sla.resolution_minutes or '-'} min")


def open_incident(
    *, incident_id: str, title: str, match: IncidentMatch, team: list[str], reply_text: str,
    sla: IncidentSlaOverride, spike: IncidentSpikeRef | None, by: str, now: datetime,
) -> tuple[Incident, IncidentOpened]:
    at = _to_ms(now)
    incident = Incident(incident_id=incident_id, title=title.strip(), match=clean_match(match), team=team,
                        reply_text=reply_text.strip(), sla=sla, spike=spike, opened_by=by, opened_at=at,
                        updated_at=at)
    source = f" from spike {spike.id}" if spike else ""
    incident.history.append(_entry(at, by, "opened", 1, f"opened{source}: {_summary(incident)}"))
    event = IncidentOpened.new(
        IncidentOpenedPayload(**_state(incident), spike=spike, opened_by=by, opened_at=at),
        correlation_id=incident_id, producer=PRODUCER, occurred_at=at,
    )
    return incident, event


def _state(i: Incident) -> dict[str, object]:
    return {"incident_id": i.incident_id, "title": i.title, "version": i.version, "match": i.match,
            "team": i.team, "reply_text": i.reply_text, "sla": i.sla}


UPDATABLE = ("title", "match", "team", "reply_text", "sla")


def update_incident(i: Incident, changes: dict[str, object], by: str, now: datetime) -> tuple[Incident, IncidentUpdated] | None:
    """A new version with the given fields changed; None when nothing actually changes."""
    if i.status != IncidentStatus.OPEN:
        raise DomainError("incident_closed", f"incident {i.incident_id} is closed")
    if "match" in changes:
        changes = {**changes, "match": clean_match(changes["match"])}  # type: ignore[arg-type]
    if "title" in changes or "reply_text" in changes:
        changes = {k: (v.strip() if isinstance(v, str) else v) for k, v in changes.items()}
    changed = [k for k in UPDATABLE if k in changes and changes[k] != getattr(i, k)]
    if not changed:
        return None
    at = _to_ms(now)
    updated = i.model_copy(update={**{k: changes[k] for k in changed}, "version": i.version + 1, "updated_at": at})
    detail = f"changed {', '.join(changed)}: {_summary(updated)}"
    updated = updated.model_copy(update={"history": [*i.history, _entry(at, by, "updated", updated.version, detail)]})
    event = IncidentUpdated.new(
        IncidentUpdatedPayload(**_state(updated), changed=changed, updated_by=by, updated_at=at),
        correlation_id=i.incident_id, producer=PRODUCER, occurred_at=at,
    )
    return updated, event


def close_incident(i: Incident, by: str, note: str, now: datetime) -> tuple[Incident, IncidentClosed]:
    if i.status != IncidentStatus.OPEN:
        raise DomainError("incident_closed", f"incident {i.incident_id} is already closed")
    at = _to_ms(now)
    version = i.version + 1
    closed = i.model_copy(update={
        "status": IncidentStatus.CLOSED, "version": version, "closed_by": by, "closed_at": at,
        "close_note": note.strip(), "updated_at": at,
        "history": [*i.history, _entry(at, by, "closed", version, note.strip() or "closed")],
    })
    event = IncidentClosed.new(
        IncidentClosedPayload(incident_id=i.incident_id, title=i.title, version=version, note=note.strip()[:1000],
                              closed_by=by, closed_at=at),
        correlation_id=i.incident_id, producer=PRODUCER, occurred_at=at,
    )
    return closed, event


# ----------------------------------------------------------------------------- tickets
def link(a: Assignment, incident: Incident, now: datetime) -> tuple[Assignment, TicketIncidentLinked]:
    """Tag a waiting ticket with the incident (once): ``ticket.incident_linked`` carries the SLA override."""
    at = _to_ms(now)
    linked = a.model_copy(update={"incident_id": incident.incident_id, "incident_title": incident.title,
                                  "incident_linked_at": at, "updated_at": at})
    event = TicketIncidentLinked.new(
        TicketIncidentLinkedPayload(ticket_id=a.ticket_id, ticket_no=a.ticket_no, incident_id=incident.incident_id,
                                    incident_title=incident.title, sla=incident.sla, linked_at=at),
        correlation_id=a.correlation_id, producer=PRODUCER, occurred_at=at,
    )
    return linked, event


def plan_incident_routing(req: RoutingRequest, incident: Incident, roster: Sequence[StaffMember]) -> RoutingPlan:
    """The incident team's members who can take the ticket, best first, then normal routing's candidates
    as the fall-back (the ticket's own queue stays its category team's)."""
    normal = plan_routing(req, roster)
    members = set(incident.team)
    excluded = set(req.excluded_agents)
    team = sorted((m for m in roster if m.staff_id in members and m.staff_id not in excluded
                   and can_take_tickets(m) and m.serves(req.channel)),
                  key=lambda m: rank_key(m, normal.prefer_senior, req.tags))
    preferred = [c for c in normal.candidates if c.preferred]  # a reopened ticket's previous agent first
    first = [_candidate(m, req.tags, incident=True) for m in team if m.staff_id not in {c.staff_id for c in preferred}]
    rest = [c for c in normal.candidates if c.staff_id not in members and not c.preferred]
    rule = f"incident {incident.incident_id} → its team of {len(incident.team)}, else {normal.rule}"
    return RoutingPlan(team=normal.team, rule=rule, prefer_senior=normal.prefer_senior, candidates=preferred + first + rest)
