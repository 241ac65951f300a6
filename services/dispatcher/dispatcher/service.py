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

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from contracts import TicketClassified
from servicekit.outbox import Outbox

from . import domain
from .domain import OPEN_STATUSES, Assignment, AssignmentStatus, Candidate, RoutingPlan, StaffMember, Team
from .store import DispatcherStore

log = logging.getLogger(__name__)

MAX_ROUTE_ATTEMPTS = 5


class RoutingContention(RuntimeError):
    """The ticket kept changing while being routed; the message is retried later."""


def _now() -> datetime:
    return datetime.now(UTC)


class DispatcherService:
    def __init__(self, store: DispatcherStore, outbox: Outbox, *, drain_batch: int = 20) -> None:
        self.store = store
        self.outbox = outbox
        self.drain_batch = drain_batch

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
        fresh = domain.claim(req, _now())
        current = await self.store.insert_claim(fresh)
        if current is None:
            return await self.route(fresh)
        for _ in range(MAX_ROUTE_ATTEMPTS):
            domain.check_same_ticket(current, req)
            newer = domain.reclassify(current, req, _now())
            if newer is None:
                if current.status == AssignmentStatus.ROUTING:
                    return await self.route(current)
                await self.outbox.flush(self.store.assignments, current.ticket_id)
                return current
            saved = await self.store.save_reclassification(current, newer)
            if saved is not None:
                log.info("ticket %s re-classified while waiting (%s)", saved.ticket_no, saved.priority)
                return await self.route(saved)
            current = await self._reload(current.ticket_id)
        raise RoutingContention(f"ticket {req.ticket_id} kept changing while being re-classified")

    async def route(self, waiting: Assignment) -> Assignment:
        """Assign a waiting ticket to the best agent with a free slot, or leave it in its team queue."""
        for _ in range(MAX_ROUTE_ATTEMPTS):
            result, settled = await self._route_once(waiting)
            if settled:
                return result
            waiting = result
        raise RoutingContention(f"ticket {waiting.ticket_id} kept changing while being routed")

    async def _route_once(self, a: Assignment) -> tuple[Assignment, bool]:
        req = a.request()
        plan = domain.plan_routing(req, await self.store.roster())
        chosen, skipped = await self._take_slot(plan, a.ticket_id)
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
        await self._release_others(a.ticket_id, keep=chosen.staff_id)
        await self.outbox.flush(self.store.assignments, a.ticket_id, entries)
        log.info("ticket %s assigned to %s (%s)", a.ticket_no, chosen.staff_id, chosen.team)
        return updated, True

    async def _take_slot(self, plan: RoutingPlan, ticket_id: str) -> tuple[Candidate | None, list[str]]:
        """Reuse a slot an interrupted attempt already holds, else reserve the best free one."""
        holders = await self.store.slot_holders(ticket_id)
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

    # ------------------------------------------------------------------ ticket.resolved / ticket.closed
    async def on_finished(self, ticket_id: str, ticket_no: str, correlation_id: str, why: str) -> Assignment:
        """The ticket is resolved or closed: flag it finished once, give its slot back exactly once, then
        hand the freed capacity to the most urgent, longest-waiting ticket of the agent's team."""
        now = _now()
        await self.store.mark_released(ticket_id, why, now)
        current = await self.store.get(ticket_id)
        if current is None:  # finished before its classification reached us
            tomb = domain.finished_unrouted(ticket_id, ticket_no, correlation_id, why, now)
            if await self.store.insert_claim(tomb) is None:
                return tomb
            await self.store.mark_released(ticket_id, why, now)  # a classification claimed it meanwhile
            current = await self._reload(ticket_id)
        teams: set[Team] = {current.team} if current.team and current.agent_id else set()
        for holder in await self.store.slot_holders(ticket_id):
            if await self.store.release_slot(holder.staff_id, ticket_id):
                log.info("ticket %s gave back its slot of %s (%s)", current.ticket_no, holder.staff_id, why)
                teams.add(holder.team)
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
        return await self.store.assigned_to(staff_id, limit)

    async def roster(self, team: Team | None = None) -> list[StaffMember]:
        return await self.store.roster(team)

    async def team_queue(self, team: Team, limit: int) -> list[Assignment]:
        return await self.store.waiting([team], limit)
