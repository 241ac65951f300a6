"""Dispatcher's use cases: routing decisions (domain) + slot reservations and assignment records
(store) + the outbox flush. Called by the broker handlers and the HTTP API alike.

Concurrency model (several replicas, many tickets at once, redeliveries):
* a slot is taken with one conditional update per candidate (``reserve_slot``); a failed reservation
  just moves on to the next candidate, so no agent ever goes over capacity;
* the decision is saved with a compare-and-set on (open status, revision), so a ticket is assigned at
  most once; whoever loses that race gives its slot back unless the winner chose the same agent;
* a slot reserved by an attempt that stopped before saving is found again (``slot_holders``) and reused
  by the next attempt, or given back when the ticket finishes.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from contracts import (
    AssignmentUnacknowledged,
    SlaBreached,
    SlaWarning,
    TicketClassified,
    TicketCustomerReplied,
    TicketEscalated,
    TicketReopened,
)
from contracts.events_reporting import ReportReady
from servicekit.context import raise_if_cancelling
from servicekit.notify import LogNotifier, Notification, Notifier
from servicekit.outbox import Outbox

from . import domain
from . import incidents as crisis
from .domain import (
    OPEN_STATUSES,
    Assignment,
    AssignmentStatus,
    Candidate,
    DomainError,
    LockoutPolicy,
    Note,
    Position,
    RoutingPlan,
    StaffMember,
    Team,
    TransferKind,
)
from .incidents import Incident, IncidentStatus
from .store import DispatcherStore

log = logging.getLogger(__name__)

MAX_ROUTE_ATTEMPTS = 5
MAX_OPEN_INCIDENTS = 50


class RoutingContention(RuntimeError):
    """The ticket kept changing while being routed; the message is retried later."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Policy:
    """The dispatcher's configurable rules (see DispatcherSettings)."""

    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    reassign_unacknowledged: bool = True
    external_channel: str = "im"
    external_kinds: frozenset[str] = frozenset(
        {"sla.breached", "ticket.escalated", "assignment.unacknowledged", "collaboration.requested",
         "ticket.customer_replied"}
    )
    delivery_attempts: int = 6
    delivery_backoff_seconds: float = 5.0
    delivery_lease_seconds: float = 60.0


# argon2id with OWASP's minimum parameters (19 MiB, 2 passes): ~20 ms per hash on these machines.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = HASHER.hash("not-a-password-0!")  # verified for unknown ids so timing does not tell


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class DispatcherService:
    def __init__(self, store: DispatcherStore, outbox: Outbox, *, drain_batch: int = 20,
                 notifier: Notifier | None = None, policy: Policy | None = None,
                 timezone: str = "Asia/Shanghai") -> None:
        self.store = store
        self.timezone = timezone
        self.outbox = outbox
        self.drain_batch = drain_batch
        self.notifier: Notifier = notifier or LogNotifier()
        self.policy = policy or Policy()

    # ------------------------------------------------------------------ roster
    async def seed_staff(self, members: Sequence[StaffMember]) -> int:
        """Load the seed roster into an empty staff collection (a roster already there is kept)."""
        if await self.store.staff_count():
            return 0
        added = 0
        for member in members:
            added += await self.store.insert_staff(member.model_copy(update={"open_count": 0}))
        log.info("staff roster seeded with %d member(s)", added)
        return added

    # ------------------------------------------------------------------ ticket.classified
    async def on_classified(self, event: TicketClassified) -> Assignment:
        """Route a classified ticket once. A redelivery finds the claim: an assigned/finished ticket only
        gets a pending publish finished; a newer classification of a waiting ticket re-routes it; an
        interrupted attempt (still ``routing``) is resumed."""
        req = domain.RoutingRequest.from_event(event)
        keywords = crisis.ticket_keywords(event)
        fresh = domain.claim(req, _now())
        current = await self.store.insert_claim(fresh)
        if current is None:
            return await self.route(await self._link_incident(fresh, keywords), fresh=True)
        for _ in range(MAX_ROUTE_ATTEMPTS):
            domain.check_same_ticket(current, req)
            newer = domain.reclassify(current, req, _now())
            if newer is None:
                if current.status == AssignmentStatus.ROUTING:
                    return await self.route(await self._link_incident(current, keywords))
                await self.outbox.flush(self.store.assignments, current.ticket_id)
                return current
            saved = await self.store.save_reclassification(current, newer)
            if saved is not None:
                log.info("ticket %s re-classified while waiting (%s)", saved.ticket_no, saved.priority)
                return await self.route(await self._link_incident(saved, keywords))
            current = await self._reload(current.ticket_id)
        raise RoutingContention(f"ticket {req.ticket_id} kept changing while being re-classified")

    async def route(self, waiting: Assignment, *, fresh: bool = False) -> Assignment:
        """Assign a waiting ticket to the best agent with a free slot, or leave it in its team queue.

        ``fresh``: this call inserted the ticket's claim just now, so no earlier attempt can hold a slot
        for it (a slot is only ever reserved after the claim exists): the first attempt skips looking
        for slot holders, which reads every staff document with its ticket list (two reads per ticket,
        growing with the tickets held). A concurrent attempt of another replica that reserved meanwhile
        gives its slot back when its save loses, as always; a retry after a lost race looks again."""
        for attempt in range(MAX_ROUTE_ATTEMPTS):
            result, settled = await self._route_once(waiting, fresh=fresh and attempt == 0)
            if settled:
                return result
            waiting = result
        raise RoutingContention(f"ticket {waiting.ticket_id} kept changing while being routed")

    async def _route_once(self, a: Assignment, *, fresh: bool = False) -> tuple[Assignment, bool]:
        req = a.request()
        roster = await self.store.roster()
        incident = await self._routing_incident(a)
        plan = crisis.plan_incident_routing(req, incident, roster) if incident else domain.plan_routing(req, roster)
        chosen, skipped = await self._take_slot(plan, a.ticket_id, fresh=fresh)
        if chosen is None:
            queued = await self.store.save_queued(a, domain.explain_queued(plan, req, skipped), _now())
            if queued is not None:
                log.info("ticket %s waits in the %s queue", a.ticket_no, plan.team)
                return queued, True
            return await self._after_lost_race(a.ticket_id, None)
        reason = domain.explain_assignment(plan, req, chosen, skipped)
        updated, event = domain.assign(a, plan, chosen, reason, _now())
        entries = await self.store.save_assignment(a, updated, [event])
        if entries is None:
            return await self._after_lost_race(a.ticket_id, chosen)
        if not fresh:
            await self._release_others(a.ticket_id, keep=chosen.staff_id)
        await self.outbox.flush(self.store.assignments, a.ticket_id, entries)
        log.info("ticket %s assigned to %s (%s)", a.ticket_no, chosen.staff_id, chosen.team)
        return updated, True

    async def _take_slot(self, plan: RoutingPlan, ticket_id: str, *, fresh: bool = False
                         ) -> tuple[Candidate | None, list[str]]:
        """Reuse a slot an interrupted attempt already holds, else reserve the best free one."""
        holders = [] if fresh else await self.store.slot_holders(ticket_id)
        if holders:
            return domain.resumed_candidate(holders[0], plan), []
        skipped: list[str] = []
        for candidate in plan.candidates:
            if await self.store.reserve_slot(candidate.staff_id, candidate.capacity, ticket_id):
                return candidate, skipped
            skipped.append(candidate.staff_id)
        return None, skipped

    async def _after_lost_race(self, ticket_id: str, chosen: Candidate | None) -> tuple[Assignment, bool]:
        """Someone else changed the ticket first. Still waiting (re-classified): route again, reusing
        our slot. Assigned to another agent or finished: give our slot back."""
        current = await self._reload(ticket_id)
        if current.status in OPEN_STATUSES:
            return current, False
        if chosen is not None and current.agent_id != chosen.staff_id:
            await self.store.release_slot(chosen.staff_id, ticket_id)
        return current, True

    async def _release_others(self, ticket_id: str, keep: str) -> None:
        for holder in await self.store.slot_holders(ticket_id):
            if holder.staff_id != keep:
                await self.store.release_slot(holder.staff_id, ticket_id)

    async def _reload(self, ticket_id: str) -> Assignment:
        current = await self.store.get(ticket_id)
        if current is None:  # assignments are never deleted
            raise RoutingContention(f"assignment {ticket_id} vanished")
        return current

    # ------------------------------------------------------------------ crisis mode: tickets
    async def _link_incident(self, a: Assignment, keywords: Sequence[str]) -> Assignment:
        """Tag a newly classified, still waiting ticket with the open incident it matches (once, with
        ``ticket.incident_linked`` in the same write). Open incidents are read from the store for every
        classification (a small indexed query), so every replica sees an opening or closing at once."""
        if a.incident_id is not None or a.status not in OPEN_STATUSES:
            return a
        incidents = await self.store.incidents_by_status(IncidentStatus.OPEN, MAX_OPEN_INCIDENTS)
        chosen = crisis.choose_incident(incidents, a.request(), keywords)
        if chosen is None:
            return a
        now = _now()
        linked, event = crisis.link(a, chosen, now)
        entry = domain.decision("incident", now, f"linked to incident {chosen.incident_id} ({chosen.title})")
        entries = await self.store.save_link(a, linked, [event], entry)
        if entries is None:  # re-classified, routed or linked meanwhile: go on with what it is now
            return await self._reload(a.ticket_id)
        await self.outbox.flush(self.store.assignments, a.ticket_id, entries)
        log.info("ticket %s linked to incident %s", a.ticket_no, chosen.incident_id)
        return linked

    async def _routing_incident(self, a: Assignment) -> Incident | None:
        """The open incident whose team routes this ticket: none once it is closed, or when a transfer
        named a team (an explicit move beats the incident)."""
        if a.incident_id is None or a.team_override is not None:
            return None
        incident = await self.store.get_incident(a.incident_id)
        return incident if incident is not None and incident.status == IncidentStatus.OPEN else None

    async def _incident_queues(self, freed: Sequence[str]) -> set[Team]:
        """A slot freed by an incident-team member also serves the queues its incident's tickets wait in
        (they wait in their category team's queue when the incident team and normal routing were full)."""
        if not freed:
            return set()
        incidents = [i.incident_id for i in await self.store.incidents_by_status(IncidentStatus.OPEN, MAX_OPEN_INCIDENTS)
                     if set(i.team) & set(freed)]
        return await self.store.incident_waiting_teams(incidents) if incidents else set()

    # ------------------------------------------------------------------ crisis mode: incidents
    async def open_incident(
        self, *, title: str, match: crisis.IncidentMatch | None, spike: crisis.IncidentSpikeRef | None,
        team: Sequence[str], reply_text: str, sla: crisis.IncidentSlaOverride, by: str,
    ) -> Incident:
        """启动应急预案: a new open incident (from a spike, or by hand), published as incident.opened."""
        if match is None:
            if spike is None:
                raise DomainError("match_too_broad", "give a match or the spike the incident comes from")
            match = crisis.match_from_spike(spike)
        closed_before = 0
        if spike is not None:  # a second click on the same spike (the console hides the button once opened)
            same = [i for i in await self.store.incidents_by_status(IncidentStatus.OPEN, MAX_OPEN_INCIDENTS)
                    if i.spike is not None and i.spike.id == spike.id]
            if same:
                raise DomainError("incident_exists", f"incident {same[0].incident_id} is already open for this spike")
            closed_before = await self.store.count_spike_incidents(spike.id)
        roster = {m.staff_id: m for m in await self.store.roster()}
        members = crisis.check_team(team, roster)
        now = _now()
        incident, event = crisis.open_incident(
            incident_id=crisis.new_incident_id(now, uuid.uuid4().hex, self.timezone, spike, closed_before),
            title=title, match=match, team=members, reply_text=reply_text, sla=sla, spike=spike, by=by, now=now)
        entries = await self.store.insert_incident(incident, [event])
        if entries is None:  # the same spike opened by someone else at the same moment: one incident only
            raise DomainError("incident_exists", f"incident {incident.incident_id} is already open for this spike")
        await self.outbox.flush(self.store.incidents, incident.incident_id, entries)
        await self._tell_team(incident, members)
        log.warning("incident %s opened by %s: %s", incident.incident_id, by, incident.title)
        return incident

    async def update_incident(self, incident_id: str, version: int, changes: dict[str, Any], by: str) -> Incident:
        """A new version of an open incident (compare-and-set on ``version``: 409 when it moved on)."""
        current = await self.incident(incident_id)
        if current.version != version:
            raise DomainError("version_conflict", f"incident {incident_id} is at version {current.version}, not {version}")
        if "team" in changes:
            changes["team"] = crisis.check_team(changes["team"], {m.staff_id: m for m in await self.store.roster()})
        result = crisis.update_incident(current, changes, by, _now())
        if result is None:
            return current
        updated, event = result
        entries = await self.store.save_incident(current, updated, [event])
        if entries is None:
            raise DomainError("version_conflict", f"incident {incident_id} changed meanwhile; reload it")
        await self.outbox.flush(self.store.incidents, incident_id, entries)
        await self._tell_team(updated, [s for s in updated.team if s not in current.team])
        log.info("incident %s v%d: %s by %s", incident_id, updated.version, ", ".join(event.payload.changed), by)
        return updated

    async def close_incident(self, incident_id: str, version: int | None, note: str, by: str) -> Incident:
        """Normal routing again for new tickets; linked tickets keep their tag and SLA override."""
        current = await self.incident(incident_id)
        if version is not None and current.version != version:
            raise DomainError("version_conflict", f"incident {incident_id} is at version {current.version}, not {version}")
        closed, event = crisis.close_incident(current, by, note, _now())
        entries = await self.store.save_incident(current, closed, [event])
        if entries is None:
            raise DomainError("version_conflict", f"incident {incident_id} changed meanwhile; reload it")
        await self.outbox.flush(self.store.incidents, incident_id, entries)
        log.warning("incident %s closed by %s", incident_id, by)
        return closed

    async def incident(self, incident_id: str) -> Incident:
        incident = await self.store.get_incident(incident_id)
        if incident is None:
            raise DomainError("incident_not_found", f"no incident {incident_id}")
        return incident

    async def incidents(self, status: IncidentStatus | None, limit: int) -> list[Incident]:
        return await self.store.incidents_by_status(status, limit)

    async def incident_tickets(self, incident_id: str, limit: int) -> list[Assignment]:
        await self.incident(incident_id)
        return await self.store.incident_tickets(incident_id, limit)

    async def _tell_team(self, incident: Incident, staff_ids: Sequence[str]) -> None:
        """Members joining the incident team hear it in their inbox (and by IM: it is urgent)."""
        notes = [Note(kind="incident.team", recipient=s, urgent=True,
                      subject=f"应急小组 {incident.incident_id}: {incident.title}"[:200],
                      body=incident.reply_text or incident.title, data={"incident_id": incident.incident_id})
                 for s in staff_ids]
        if notes:
            await self.notify(notes, f"{incident.incident_id}:v{incident.version}")

    # ------------------------------------------------------------------ ticket.resolved / ticket.closed
    async def on_finished(self, ticket_id: str, ticket_no: str, correlation_id: str, why: str,
                          occurred_at: datetime | None = None) -> Assignment:
        """The ticket is resolved or closed: flag it finished once, give its slot back exactly once, then
        hand the freed capacity to the most urgent, longest-waiting ticket of the agent's team. A
        resolution older than the ticket's last reopening changes nothing."""
        now = _now()
        await self.store.mark_released(ticket_id, why, now, occurred_at)
        current = await self.store.get(ticket_id)
        if current is not None and current.status != AssignmentStatus.RELEASED:
            log.info("ticket %s: %s older than its reopening, ignored", current.ticket_no, why)
            return current
        if current is None:  # finished before its classification reached us
            tomb = domain.finished_unrouted(ticket_id, ticket_no, correlation_id, why, now)
            if await self.store.insert_claim(tomb) is None:
                return tomb
            await self.store.mark_released(ticket_id, why, now)  # a classification claimed it meanwhile
            current = await self._reload(ticket_id)
        teams: set[Team] = {current.team} if current.team and current.agent_id else set()
        freed: list[str] = []
        for holder in await self.store.slot_holders(ticket_id):
            if await self.store.release_slot(holder.staff_id, ticket_id):
                log.info("ticket %s gave back its slot of %s (%s)", current.ticket_no, holder.staff_id, why)
                teams.add(holder.team)
                freed.append(holder.staff_id)
        teams |= await self._incident_queues(freed)
        await self.assign_waiting(teams)
        return current

    async def assign_waiting(self, teams: Iterable[Team]) -> list[Assignment]:
        """Offer freed capacity to the queued tickets these teams' slots may serve, most urgent and
        longest waiting first."""
        scope = sorted({t for team in teams for t in domain.drain_teams(team)})
        if not scope:
            return []
        assigned: list[Assignment] = []
        for waiting in await self.store.waiting(scope, limit=self.drain_batch):
            result = await self.route(waiting)
            if result.status == AssignmentStatus.ASSIGNED:
                assigned.append(result)
        return assigned

    # ------------------------------------------------------------------ reads
    async def assignment(self, ticket_id: str) -> Assignment | None:
        return await self.store.get(ticket_id)

    async def agent_queue(self, staff_id: str, limit: int) -> list[Assignment]:
        """The agent's open tickets, nearest SLA deadline first (then priority, then age)."""
        return sorted(await self.store.assigned_to(staff_id, 1000), key=domain.my_queue_key)[:limit]

    async def roster(self, team: Team | None = None) -> list[StaffMember]:
        return await self.store.roster(team)

    async def team_queue(self, team: Team, limit: int) -> list[Assignment]:
        return await self.store.waiting([team], limit)

    # ------------------------------------------------------------------ staff directory & access
    async def staff_member(self, staff_id: str) -> StaffMember:
        member = await self.store.get_staff(staff_id)
        if member is None:
            raise DomainError("staff_not_found", f"no staff member {staff_id}")
        return member

    async def seed_admin(self, staff_id: str, password: str) -> bool:
        """The initial admin from configuration: created once, must change the password at first login."""
        problems = domain.password_problems(password, staff_id)
        if problems:
            raise ValueError(f"DISPATCHER_ADMIN_INITIAL_PASSWORD must have {', '.join(problems)}")
        admin = StaffMember(staff_id=staff_id, name="系统管理员", role=Position.ADMIN, team=domain.Team.FRONTLINE,
                            capacity=0, on_duty=False)
        created = await self.store.insert_staff(admin, await asyncio.to_thread(hash_password, password), True)
        if created:
            log.info("initial admin %s created (password change required at first login)", staff_id)
        return created

    async def seed_passwords(self, password: str) -> int:
        """Give seeded staff without a password this initial one (must change it at first login)."""
        members = [m for m in await self.store.roster() if m.active]
        count = 0
        for m in members:
            creds = await self.store.credentials(m.staff_id) or {}
            if not creds.get("password_hash"):
                await self.store.set_password(m.staff_id, await asyncio.to_thread(hash_password, password), True, _now())
                count += 1
        return count

    async def login(self, staff_id: str, password: str) -> tuple[StaffMember, bool]:
        """Check a staff id + password; (member, must change password). Lockout after repeated failures."""
        now = _now()
        creds = await self.store.credentials(staff_id)
        if creds and domain.is_locked(_aware(creds.get("locked_until")), now):
            raise DomainError("account_locked", "too many failed logins; try again later")
        ok = await asyncio.to_thread(_verify, (creds or {}).get("password_hash"), password)
        if not creds or not ok or not creds.get("active", True):
            if creds and not ok:
                until = await self.store.login_failed(staff_id, self.policy.lockout, now)
                if until is not None:
                    log.warning("staff %s locked after %d failed logins", staff_id, self.policy.lockout.max_failures)
                    raise DomainError("account_locked", "too many failed logins; try again later")
            raise DomainError("invalid_credentials", "staff id or password is wrong, or the account is disabled")
        await self.store.login_succeeded(staff_id, now)
        return await self.staff_member(staff_id), bool(creds.get("must_change_password"))

    async def change_password(self, staff_id: str, current: str, new: str) -> StaffMember:
        creds = await self.store.credentials(staff_id)
        if not creds or not await asyncio.to_thread(_verify, creds.get("password_hash"), current):
            raise DomainError("invalid_credentials", "the current password is wrong")
        if current == new:
            raise DomainError("weak_password", "the new password must differ from the current one")
        self._check_policy(new, staff_id)
        await self.store.set_password(staff_id, await asyncio.to_thread(hash_password, new), False, _now())
        return await self.staff_member(staff_id)

    async def admin_set_password(self, staff_id: str, password: str) -> None:
        await self.staff_member(staff_id)
        self._check_policy(password, staff_id)
        await self.store.set_password(staff_id, await asyncio.to_thread(hash_password, password), True, _now())

    @staticmethod
    def _check_policy(password: str, staff_id: str) -> None:
        problems = domain.password_problems(password, staff_id)
        if problems:
            raise DomainError("weak_password", f"the password needs {', '.join(problems)}")

    async def create_staff(self, member: StaffMember, initial_password: str | None) -> StaffMember:
        if member.supervisor_id:
            boss = await self.store.get_staff(member.supervisor_id)
            if boss is None or boss.role not in (Position.SUPERVISOR, Position.ADMIN):
                raise DomainError("unknown_supervisor", f"{member.supervisor_id} is not a supervisor")
        pw_hash = None
        if initial_password is not None:
            self._check_policy(initial_password, member.staff_id)
            pw_hash = await asyncio.to_thread(hash_password, initial_password)
        if not await self.store.insert_staff(member.model_copy(update={"open_count": 0}), pw_hash, True):
            raise DomainError("staff_exists", f"staff id {member.staff_id} already exists")
        await self.assign_waiting([member.team])
        return await self.staff_member(member.staff_id)

    async def update_staff(self, staff_id: str, fields: dict[str, Any]) -> StaffMember:
        """Edit a member (name, role, team, skills, channels, languages, capacity, duty, supervisor,
        active). More room or coming on duty serves the waiting tickets at once."""
        before = await self.staff_member(staff_id)
        if fields.get("supervisor_id"):
            boss = await self.store.get_staff(fields["supervisor_id"])
            if boss is None or boss.role not in (Position.SUPERVISOR, Position.ADMIN) or boss.staff_id == staff_id:
                raise DomainError("unknown_supervisor", f"{fields['supervisor_id']} is not a supervisor")
        after = await self.store.update_staff(staff_id, fields)
        if after is None:
            raise DomainError("staff_not_found", f"no staff member {staff_id}")
        if domain.can_take_tickets(after) and (not domain.can_take_tickets(before) or after.capacity > before.capacity
                                               or after.team != before.team or after.channels != before.channels):
            await self.assign_waiting([after.team])
            return await self.staff_member(staff_id)
        return after

    async def set_duty(self, staff_id: str, on_duty: bool) -> StaffMember:
        return await self.update_staff(staff_id, {"on_duty": on_duty})

    # ------------------------------------------------------------------ confirm receipt
    async def acknowledge(self, ticket_id: str, staff_id: str) -> Assignment:
        """确认接单: publishes ticket.acknowledged once (a repeated confirmation changes nothing)."""
        a = await self._assignment(ticket_id)
        result = domain.acknowledge(a, staff_id, _now())
        if result is None:
            return a
        updated, event = result
        entry = domain.decision("acknowledged", _now(), "receipt confirmed", staff_id, staff_id)
        entries = await self.store.save_moved(a, updated, [event], entry)
        if entries is None:
            raise DomainError("assignment_changed", f"ticket {a.ticket_no} changed meanwhile; reload it")
        await self.outbox.flush(self.store.assignments, ticket_id, entries)
        return await self._reload(ticket_id)

    # ------------------------------------------------------------------ transfer / reassign
    async def transfer(
        self, ticket_id: str, *, by: str, by_supervisor: bool, reason: str, to_agent_id: str | None = None,
        to_team: Team | None = None, expected_minutes: int | None = None, kind: TransferKind = TransferKind.TRANSFER,
    ) -> Assignment:
        """Hand an assigned ticket to a named agent (slot reserved atomically first) or back to routing for
        a team; ticket.transferred (+ ticket.assigned when it lands) are published; the old slot is given
        back and offered to the old team's queue."""
        a = await self._assignment(ticket_id)
        target = await self.staff_member(to_agent_id) if to_agent_id else None
        domain.check_transfer(a, by, by_supervisor, target)
        now = _now()
        expected = now + timedelta(minutes=expected_minutes) if expected_minutes else None
        old_agent, old_team = a.agent_id, a.team
        assert old_agent is not None
        if target is not None:
            if not await self.store.reserve_slot(target.staff_id, target.capacity, ticket_id):
                raise DomainError("agent_full", f"{target.staff_id} has no free slot")
            updated, events = domain.transfer_to_agent(a, target, kind, reason, by, now, expected)
            entry = domain.decision(kind.value, now, updated.reason, target.staff_id, by)
            entries = await self.store.save_moved(a, updated, list(events), entry)
            if entries is None:
                await self.store.release_slot(target.staff_id, ticket_id)
                raise DomainError("assignment_changed", f"ticket {a.ticket_no} changed meanwhile; reload it")
            await self.store.release_slot(old_agent, ticket_id)
            await self.outbox.flush(self.store.assignments, ticket_id, entries)
            await self._notify_assigned(updated, kind)
            result = updated
        else:
            moved, event = domain.transfer_to_team(a, to_team, kind, reason, by, now, expected)
            entry = domain.decision(kind.value, now, moved.reason, None, by)
            entries = await self.store.save_moved(a, moved, [event], entry)
            if entries is None:
                raise DomainError("assignment_changed", f"ticket {a.ticket_no} changed meanwhile; reload it")
            await self.store.release_slot(old_agent, ticket_id)
            await self.outbox.flush(self.store.assignments, ticket_id, entries)
            result = await self.route(moved)
            if result.status == AssignmentStatus.ASSIGNED:
                await self._notify_assigned(result, kind)
        log.info("ticket %s %s from %s (%s)", a.ticket_no, kind.value, old_agent, result.agent_id or result.status)
        if old_team is not None:
            await self.assign_waiting([old_team])
        return result

    async def _notify_assigned(self, a: Assignment, kind: TransferKind) -> None:
        if not a.agent_id:
            return
        note = Note(kind="ticket.transferred", recipient=a.agent_id, subject=f"工单 {a.ticket_no} transferred to you",
                    body=f"{kind.value}: {a.reason}"[:4000], ticket_id=a.ticket_id, correlation_id=a.correlation_id)
        await self.notify([note], f"{a.ticket_id}:{a.assigned_at.isoformat() if a.assigned_at else ''}")

    # ------------------------------------------------------------------ events from the SLA monitor
    async def _chain(self, agent_id: str | None, team: Team | None) -> list[str]:
        roster = {m.staff_id: m for m in await self.store.roster()}
        chain = domain.supervisor_chain(roster.get(agent_id) if agent_id else None, roster)
        return chain or domain.team_supervisors(roster.values(), team)

    async def on_unacknowledged(self, event: AssignmentUnacknowledged) -> Assignment | None:
        """Not confirmed in time: tell the supervisor (and the agent); by policy move the ticket on to
        another agent. A warning about an assignment that already changed is ignored."""
        a = await self.store.get(event.payload.ticket_id)
        if a is None or not domain.is_current_unacknowledged(a, event):
            return a
        reassign = self.policy.reassign_unacknowledged
        chain = await self._chain(a.agent_id, a.team)
        await self.notify(domain.notes_for_unacknowledged(event, chain, reassign), str(event.event_id))
        if not reassign:
            return a
        try:
            return await self.transfer(
                a.ticket_id, by="system", by_supervisor=True, kind=TransferKind.UNACKNOWLEDGED,
                reason=f"not confirmed within {event.payload.waited_seconds // 60} min",
            )
        except DomainError as exc:  # it changed meanwhile (confirmed/finished): nothing to move
            log.info("ticket %s not reassigned: %s", a.ticket_no, exc)
            return await self.store.get(a.ticket_id)

    async def on_sla_warning(self, event: SlaWarning) -> None:
        await self._on_sla_deadline(event, domain.notes_for_warning)

    async def on_sla_breached(self, event: SlaBreached) -> None:
        await self._on_sla_deadline(event, domain.notes_for_breach)

    async def _on_sla_deadline(self, event: Any, notes_for: Any) -> None:
        """Record the deadline on the assignment and notify the assignee and the supervisor chain."""
        p = event.payload
        a = await self.store.get(p.ticket_id)
        if a is not None:
            await self.store.set_sla_due(p.ticket_id, p.deadline, p.target.value)
        agent = a.agent_id if a and a.status == AssignmentStatus.ASSIGNED else p.agent_id
        chain = await self._chain(agent, a.team if a else None)
        await self.notify(notes_for(event, agent, chain), str(event.event_id))

    async def on_report_ready(self, event: ReportReady) -> int:
        """A scheduled report is out: tell its subscribers (in-app, and their e-mail / IM with the CSV).
        Ids derive from the report id, so a redelivery or a republished event adds nothing."""
        return await self.notify(domain.notes_for_report(event), f"report:{event.payload.report_id}")

    async def on_escalated(self, event: TicketEscalated) -> None:
        a = await self.store.get(event.payload.ticket_id)
        agent = a.agent_id if a and a.status == AssignmentStatus.ASSIGNED else None
        chain = await self._chain(agent, a.team if a else None)
        await self.notify(domain.notes_for_escalation(event, agent, chain), str(event.event_id))

    # ------------------------------------------------------------------ the customer wrote again
    async def on_customer_replied(self, event: TicketCustomerReplied) -> list[str]:
        """Tell whoever should answer: the ticket's agent by the dispatcher's own record (the event's
        ``assignee_id`` only when the ticket is unknown here or finished without one), else the
        supervisors of the team whose queue holds it. In-app plus the external channel; the ids derive
        from the event id, so a redelivery adds nothing. Returns the recipients."""
        p = event.payload
        a = await self.store.get(p.ticket_id)
        agent, team = domain.reply_target(a, p.assignee_id)
        if agent and p.assignee_id and agent != p.assignee_id:
            log.info("ticket %s: customer reply goes to %s (our assignment), not %s (the event's)",
                     p.ticket_no, agent, p.assignee_id)
        recipients = [agent] if agent else (await self._chain(None, team) if team else [])
        if not recipients:
            log.warning("ticket %s: the customer wrote again (%s, %s) but nobody holds the ticket and no "
                        "supervisor can be told", p.ticket_no, p.channel.value, p.message_id)
            return []
        await self.notify(domain.notes_for_customer_reply(event, recipients, unassigned=agent is None),
                          str(event.event_id))
        return recipients

    # ------------------------------------------------------------------ reopened
    async def on_reopened(self, event: TicketReopened) -> Assignment | None:
        """Back to work: to the previous agent when they are on duty with room, else routed afresh."""
        p = event.payload
        a = await self.store.get(p.ticket_id)
        if a is None:
            return None  # never classified here: its classification will route it
        if a.status == AssignmentStatus.ROUTING:
            return await self.route(a)
        if a.status != AssignmentStatus.RELEASED:
            await self.store.note_reopened(p.ticket_id, p.reopen_count, p.reopened_at)
            return a
        now = _now()
        updated = domain.reopen(a, p.reopen_count, p.agent_id, p.reason, now, p.reopened_at)
        if updated is None:
            return a
        saved = await self.store.save_reopened(a, updated, domain.decision("reopened", now, updated.reason))
        if saved is None:
            return await self.store.get(p.ticket_id)
        return await self.route(saved)

    # ------------------------------------------------------------------ collaboration (001, 004)
    async def request_help(self, ticket_id: str, requester: str, question: str, due_minutes: int,
                           responder_id: str | None, team: Team | None) -> dict[str, Any]:
        a = await self._assignment(ticket_id)
        if responder_id is None:
            supervisors = domain.team_supervisors(await self.store.roster(team), team)
            if not supervisors:
                raise DomainError("no_responder", f"team {team} has no supervisor to route the request to")
            responder_id = supervisors[0]
        responder = await self.staff_member(responder_id)
        if not responder.active:
            raise DomainError("staff_not_found", f"{responder_id} is disabled")
        now = _now()
        doc = {"_id": uuid.uuid4().hex, "ticket_id": a.ticket_id, "ticket_no": a.ticket_no,
               "requester_id": requester, "responder_id": responder.staff_id, "team": (team or responder.team).value,
               "question": question, "status": "open", "created_at": now,
               "due_at": now + timedelta(minutes=due_minutes), "answer": None, "answered_at": None}
        await self.store.insert_collaboration(doc)
        await self.notify([Note(kind="collaboration.requested", recipient=responder.staff_id,
                                subject=f"协助请求 {a.ticket_no} (due in {due_minutes} min)", body=question,
                                ticket_id=a.ticket_id, correlation_id=a.correlation_id)], doc["_id"])
        return doc

    async def answer_help(self, collab_id: str, responder: str, answer: str) -> dict[str, Any]:
        doc = await self.store.collaboration(collab_id)
        if doc is None:
            raise DomainError("collaboration_not_found", f"no collaboration request {collab_id}")
        if doc["responder_id"] != responder:
            raise DomainError("not_your_request", "only the responder answers a collaboration request")
        answered = await self.store.answer_collaboration(collab_id, responder, answer, _now())
        if answered is None:
            raise DomainError("already_answered", "the request was already answered")
        await self.notify([Note(kind="collaboration.answered", recipient=doc["requester_id"],
                                subject=f"协助答复 {doc['ticket_no']}", body=answer, ticket_id=doc["ticket_id"])],
                          f"{collab_id}:answer")
        return answered

    async def collaborations(self, staff_id: str, limit: int) -> list[dict[str, Any]]:
        return await self.store.collaborations_of(staff_id, limit)

    # ------------------------------------------------------------------ notifications
    async def notify(self, notes: Sequence[Note], source_id: str) -> int:
        """Store each note in the recipient's in-app inbox, plus an external delivery (IM/SMS/e-mail via
        the notifier port) for urgent kinds; ids derive from the source, so a redelivery adds nothing."""
        now, added = _now(), 0
        for note in notes:
            base = {"kind": note.kind, "recipient": note.recipient, "subject": note.subject[:200],
                    "body": note.body[:4000], "ticket_id": note.ticket_id, "correlation_id": note.correlation_id,
                    "created_at": now, "source": source_id, "data": note.data}
            added += await self.store.insert_notification(
                {**base, "_id": f"{source_id}:{note.recipient}:in_app", "channel": "in_app", "status": "delivered",
                 "read_at": None, "attempts": 0})
            channel = note.external or (self.policy.external_channel
                                        if note.urgent or note.kind in self.policy.external_kinds else None)
            if channel is not None:
                added += await self.store.insert_notification(
                    {**base, "data": {**note.data, **note.external_data},
                     "_id": f"{source_id}:{note.recipient}:{channel}", "channel": channel,
                     "status": "pending", "attempts": 0, "next_attempt_at": now, "lease_until": None})
        return added

    async def deliver_due(self, max_items: int = 50) -> int:
        """Send due external notifications through the notifier; failures retry with back-off, then stop
        as ``failed`` after the configured attempts."""
        sent = 0
        for _ in range(max_items):
            now = _now()
            doc = await self.store.claim_delivery(now, now + timedelta(seconds=self.policy.delivery_lease_seconds))
            if doc is None:
                break
            note = Notification(kind=doc["kind"], channel=doc["channel"], recipient=doc["recipient"],
                                subject=doc["subject"], body=doc["body"], ticket_id=doc.get("ticket_id"),
                                correlation_id=doc.get("correlation_id"),
                                data={**(doc.get("data") or {}), "notification_id": doc["_id"]})
            try:
                await self.notifier.send(note)
            except Exception as exc:  # any gateway failure is retried later
                attempts = int(doc.get("attempts") or 1)
                retry = (now + domain.retry_delay(attempts, self.policy.delivery_backoff_seconds)
                         if attempts < self.policy.delivery_attempts else None)
                await self.store.delivery_failed(doc["_id"], f"{type(exc).__name__}: {exc}", retry)
                log.warning("notification %s delivery failed (attempt %d)%s", doc["_id"], attempts,
                            "" if retry else "; giving up")
                continue
            await self.store.delivery_done(doc["_id"], _now())
            sent += 1
        return sent

    async def run_delivery(self, interval: float) -> None:
        while True:
            try:
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_cancelling(exc)
                log.exception("notification delivery pass failed; retrying")
            await asyncio.sleep(interval)

    async def inbox(self, staff_id: str, unread_only: bool, limit: int) -> list[dict[str, Any]]:
        return await self.store.inbox(staff_id, unread_only, limit)

    async def mark_read(self, notification_id: str, staff_id: str) -> dict[str, Any]:
        doc = await self.store.mark_read(notification_id, staff_id, _now())
        if doc is None:
            raise DomainError("notification_not_found", f"no notification {notification_id} in your inbox")
        return doc

    async def _assignment(self, ticket_id: str) -> Assignment:
        a = await self.store.get(ticket_id)
        if a is None:
            raise DomainError("assignment_not_found", f"no assignment for ticket {ticket_id}")
        return a


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
