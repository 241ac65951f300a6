"""SLA monitor's use cases: domain decisions + store writes. Called by both the broker handlers and
the HTTP API."""

from __future__ import annotations

import logging

from contracts import Event

from . import domain
from .domain import Clock, SlaPolicy
from .store import SlaStore

log = logging.getLogger(__name__)


class ClockContention(RuntimeError):
    """Other events of the ticket kept winning the write; the message is retried (redelivered)."""


class PolicyMissing(RuntimeError):
    """No usable SLA policy in the store (seeding failed or a version was removed); retried."""


class SlaService:
    def __init__(self, store: SlaStore, *, write_attempts: int = 8) -> None:
        self.store = store
        self.write_attempts = write_attempts
        self._policies: dict[int, SlaPolicy] = {}  # versions are immutable, so they can be cached

    async def seed(self) -> None:
        """Make sure policy v1 exists (start-up hook; an existing version is never overwritten)."""
        if await self.store.seed_policy(domain.POLICY_V1):
            log.info("seeded SLA policy v%d", domain.POLICY_V1.version)

    async def active_policy(self) -> SlaPolicy | None:
        return await self.store.active_policy()

    async def policy(self, version: int) -> SlaPolicy:
        if version not in self._policies:
            policy = await self.store.get_policy(version)
            if policy is None:
                raise PolicyMissing(f"SLA policy v{version} is not in the store")
            self._policies[version] = policy
        return self._policies[version]

    async def _policy_for_new_clock(self) -> SlaPolicy:
        policy = await self.store.active_policy()
        if policy is None:
            raise PolicyMissing("no active SLA policy")
        self._policies.setdefault(policy.version, policy)
        return policy

    async def record(self, event: Event) -> bool:
        """Apply a lifecycle event to its ticket's clock exactly once; False for a duplicate delivery.

        Out of order: an event for a ticket without a clock opens a provisional one (chosen over
        failing and waiting for redelivery, which would lose the event to the dead-letter queue if
        ``ticket.created`` were late by more than the retries). Concurrent events of one ticket are
        serialised by compare-and-set on the clock's revision."""
        ticket_id = event.payload.ticket_id  # type: ignore[attr-defined]
        event_id = str(event.event_id)
        for _ in range(self.write_attempts):
            stored = await self.store.load_clock(ticket_id)
            if stored is None:
                clock = domain.apply_event(None, event, await self._policy_for_new_clock())
                if await self.store.insert_clock(clock, event_id):
                    self._log(event, clock)
                    return True
                continue
            if event_id in stored.applied_events:
                return False
            clock = domain.apply_event(stored.clock, event, await self.policy(stored.clock.policy_version))
            if await self.store.save_clock(clock, revision=stored.revision, event_id=event_id):
                self._log(event, clock)
                return True
        raise ClockContention(f"clock of ticket {ticket_id} kept changing while applying {event.event_type}")

    async def get_clock(self, ticket_id: str) -> Clock | None:
        return await self.store.get_clock(ticket_id)

    @staticmethod
    def _log(event: Event, clock: Clock) -> None:
        log.info(
            "clock %s: %s applied (%s, %s, first response due %s, resolution due %s%s)",
            clock.ticket_no, event.event_type, clock.priority, clock.status, clock.first_response_due.isoformat(),
            clock.resolution_due.isoformat(), ", provisional" if clock.provisional else "",
        )
