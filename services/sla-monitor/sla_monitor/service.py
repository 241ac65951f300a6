"""SLA monitor's use cases: domain decisions + store writes + outbox flush. Called by the broker
handlers, the alarm scanner and the HTTP API."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from contracts import Event, SlaTarget
from contracts.events_sla import OverdueReasonCode
from servicekit.context import raise_if_cancelling
from servicekit.keyed import KeyedLocks
from servicekit import Outbox, outbox_entries
from servicekit.privacy import redact_text

from . import domain
from .domain import (
    BusinessCalendar,
    CalendarBody,
    CalendarRecord,
    Clock,
    OverdueReason,
    PolicyBody,
    PolicyRecord,
    Preview,
    PreviewRequest,
    Schedule,
    SlaPolicy,
)
from .store import SlaStore

log = logging.getLogger(__name__)

SYSTEM = "system"

T = TypeVar("T")


class ClockContention(RuntimeError):
    """Other writers kept winning the clock's compare-and-set; the message is retried (redelivered)."""


class PolicyMissing(RuntimeError):
    """No usable SLA policy in the store (seeding failed or a version was removed); retried."""


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    pass


def utcnow() -> datetime:
    return domain.instant(datetime.now(UTC))


@dataclass
class TickResult:
    buckets: int = 0
    checked: int = 0
    published: int = 0
    seconds: float = 0.0


class SlaService:
    def __init__(
        self, store: SlaStore, *, outbox: Outbox | None = None, write_attempts: int = 8, grace_buckets: int = 6,
        max_buckets_per_tick: int = 17_280, calendar_ttl_seconds: float = 5.0, check_concurrency: int = 32,
        active_policy_ttl_seconds: float = 1.0,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.write_attempts = write_attempts
        self.grace_buckets = grace_buckets
        self.max_buckets_per_tick = max_buckets_per_tick
        self.calendar_ttl = calendar_ttl_seconds
        self.check_concurrency = check_concurrency
        self._policies: dict[int, SlaPolicy] = {}  # active/retired versions are immutable: cached
        self._calendars: tuple[float, dict[str, Schedule]] | None = None
        # which version new clocks start on: re-read at most once a second (every new ticket asked the
        # database before: 2.7 reads per ticket); this replica forgets it when it activates a version
        self.active_policy_ttl = active_policy_ttl_seconds
        self._active: tuple[float, SlaPolicy] | None = None
        # one refresh at a time: the messages in flight when a cache expires share one read instead of
        # each reading the same documents (seen: 0.5 policy and 0.5 calendar reads per ticket)
        self._refreshing: dict[str, asyncio.Future[object]] = {}
        # events of one ticket arriving together (created, classified, assigned) are applied one after
        # the other in this replica instead of racing on the clock's compare-and-set (seen: 1.8 inserts
        # and 5.8 reads per ticket, most of them lost races); replicas still race safely on the revision
        self._ticket_locks = KeyedLocks()
        self.now: Callable[[], datetime] = utcnow  # the wall clock (tests pin it)

    async def _single_flight(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        """``load()`` once for all the callers that ask while it runs."""
        running = self._refreshing.get(key)
        if running is None:
            running = asyncio.ensure_future(load())
            self._refreshing[key] = running
            running.add_done_callback(lambda _: self._refreshing.pop(key, None))
        return await asyncio.shield(running)  # type: ignore[return-value]

    # ------------------------------------------------------------------ start-up
    async def seed(self) -> None:
        """Make sure the default calendar and policy v1 exist (an existing one is never overwritten)."""
        now = utcnow()
        if await self.store.seed_calendar(domain.china_calendar(), author=SYSTEM, now=now):
            log.info("seeded business calendar %s", domain.DEFAULT_CALENDAR_ID)
        if await self.store.seed_policy(domain.POLICY_V1, author=SYSTEM, now=now):
            log.info("seeded SLA policy v%d", domain.POLICY_V1.version)
        default = await self.store.get_calendar(domain.DEFAULT_CALENDAR_ID)
        if default and default.holidays_known_until and default.holidays_known_until < now.date().isoformat():
            log.warning("calendar %s has holidays only up to %s: add the new year's holidays",
                        default.calendar_id, default.holidays_known_until)

    # ------------------------------------------------------------------ policies
    async def active_policy(self) -> PolicyRecord | None:
        return await self.store.active_policy()

    async def policy(self, version: int) -> SlaPolicy:
        if version not in self._policies:
            record = await self.store.get_policy(version)
            if record is None:
                raise PolicyMissing(f"SLA policy v{version} is not in the store")
            if record.status == domain.PolicyStatus.DRAFT:
                return record.policy()  # a draft (preview) may still change: not cached
            self._policies[version] = record.policy()
        return self._policies[version]

    async def _policy_for_new_clock(self) -> SlaPolicy:
        if self._active is not None and time.monotonic() - self._active[0] < self.active_policy_ttl:
            return self._active[1]

        async def load() -> SlaPolicy:
            record = await self.store.active_policy()
            if record is None:
                raise PolicyMissing("no active SLA policy")
            policy = record.policy()
            self._policies.setdefault(policy.version, policy)
            self._active = (time.monotonic(), policy)
            return policy

        return await self._single_flight("active_policy", load)

    async def list_policies(self) -> list[PolicyRecord]:
        return await self.store.list_policies()

    async def get_policy(self, version: int) -> PolicyRecord:
        record = await self.store.get_policy(version)
        if record is None:
            raise NotFound(f"no SLA policy v{version}")
        return record

    async def _check_calendars(self, body: PolicyBody) -> None:
        missing = sorted([c for c in body.calendar_ids() if await self.store.get_calendar(c) is None])
        if missing:
            raise Conflict(f"the policy names unknown calendars: {', '.join(missing)}")

    async def draft_policy(self, body: PolicyBody, author: str) -> PolicyRecord:
        await self._check_calendars(body)
        record = await self.store.insert_draft(body, author=author, now=utcnow())
        log.info("SLA policy v%d drafted by %s", record.version, author)
        return record

    async def update_draft(self, version: int, body: PolicyBody) -> PolicyRecord:
        await self.get_policy(version)
        await self._check_calendars(body)
        record = await self.store.update_draft(version, body, now=utcnow())
        if record is None:
            raise Conflict(f"SLA policy v{version} is not a draft: versions are immutable once activated")
        return record

    async def activate_policy(self, version: int, author: str) -> PolicyRecord:
        current = await self.get_policy(version)
        await self._check_calendars(current)
        record = await self.store.activate(version, author=author, now=utcnow())
        self._active = None
        if record is None:
            raise Conflict(f"SLA policy v{version} is already active")
        log.info("SLA policy v%d activated by %s: new clocks start on it", version, author)
        return record

    async def delete_draft(self, version: int) -> None:
        await self.get_policy(version)
        if not await self.store.delete_draft(version):
            raise Conflict(f"SLA policy v{version} is not a draft and is kept for the clocks that use it")

    # ------------------------------------------------------------------ calendars
    async def calendars(self) -> dict[str, Schedule]:
        """Compiled calendars, re-read every few seconds so an admin's edit reaches every replica."""
        if self._calendars is not None and time.monotonic() - self._calendars[0] <= self.calendar_ttl:
            return self._calendars[1]

        async def load() -> dict[str, Schedule]:
            records = await self.store.list_calendars()
            schedules = {r.calendar_id: domain.schedule_of(BusinessCalendar(**r.model_dump(
                include=set(BusinessCalendar.model_fields)))) for r in records}
            self._calendars = (time.monotonic(), schedules)
            return schedules

        return await self._single_flight("calendars", load)

    async def list_calendars(self) -> list[CalendarRecord]:
        return await self.store.list_calendars()

    async def get_calendar(self, calendar_id: str) -> CalendarRecord:
        record = await self.store.get_calendar(calendar_id)
        if record is None:
            raise NotFound(f"no business calendar {calendar_id}")
        return record

    async def put_calendar(self, calendar_id: str, body: CalendarBody, author: str) -> CalendarRecord:
        calendar = BusinessCalendar(**body.model_dump(), calendar_id=calendar_id)
        record = await self.store.put_calendar(calendar, author=author, now=utcnow())
        self._calendars = None
        log.info("business calendar %s saved by %s (revision %d)", calendar_id, author, record.revision)
        return record

    async def delete_calendar(self, calendar_id: str) -> None:
        await self.get_calendar(calendar_id)
        if calendar_id == domain.DEFAULT_CALENDAR_ID:
            raise Conflict("the default calendar cannot be deleted (edit it instead)")
        users = await self.store.policies_using_calendar(calendar_id)
        if users:
            raise Conflict(f"calendar {calendar_id} is used by policy versions {users}")
        await self.store.delete_calendar(calendar_id)
        self._calendars = None

    # ------------------------------------------------------------------ lifecycle events
    async def record(self, event: Event) -> bool:
        """Apply a lifecycle event to its ticket's clock exactly once; False for a duplicate delivery.

        Out of order: an event for a ticket without a clock opens a provisional one. Concurrent events
        of one ticket are serialised by compare-and-set on the clock's revision. The clock's next alarm
        is filed in the schedule before the clock is written, so no alarm can be lost."""
        ticket_id = event.payload.ticket_id  # type: ignore[attr-defined]
        async with self._ticket_locks.hold(ticket_id):
            return await self._record(event, ticket_id)

    async def _record(self, event: Event, ticket_id: str) -> bool:
        event_id = str(event.event_id)
        for _ in range(self.write_attempts):
            stored = await self.store.load_clock(ticket_id)
            calendars = await self.calendars()
            if stored is None:
                clock = domain.apply_event(None, event, await self._policy_for_new_clock(), calendars)
                await self._schedule(clock)
                if await self.store.insert_clock(clock, event_id):
                    self._log(event, clock)
                    return True
                continue
            if event_id in stored.applied_events:
                return False
            clock = domain.apply_event(stored.clock, event, await self.policy(stored.clock.policy_version), calendars)
            if clock.next_check_at != stored.clock.next_check_at:
                await self._schedule(clock)
            if await self.store.save_clock(clock, revision=stored.revision, event_id=event_id):
                self._log(event, clock)
                return True
        raise ClockContention(f"clock of ticket {ticket_id} kept changing while applying {event.event_type}")

    async def _schedule(self, clock: Clock, now: datetime | None = None) -> None:
        if clock.next_check_at is not None:
            await self.store.schedule_alarm(clock.ticket_id, clock.next_check_at, now or self.now())

    async def get_clock(self, ticket_id: str) -> Clock | None:
        return await self.store.get_clock(ticket_id)

    async def get_clocks(self, ticket_ids: list[str]) -> list[Clock]:
        """Clocks of several tickets (a queue screen), in the order asked; unknown ids are left out."""
        asked = list(dict.fromkeys(ticket_ids))  # asked order, each once
        found = {c.ticket_id: c for c in await self.store.get_clocks(asked)}
        return [found[t] for t in asked if t in found]

    async def breached_clocks(self, *, team: str | None, unexplained: bool, limit: int) -> list[Clock]:
        return await self.store.breached_clocks(team=team, unexplained=unexplained, limit=limit)

    # ------------------------------------------------------------------ alarms
    async def tick(self, now: datetime | None = None) -> TickResult:
        """One scan: read the schedule buckets from the shared cursor up to now, raise the alarms that
        came due, and drop the buckets that are safely in the past. Cost: the buckets and tickets due."""
        started = time.perf_counter()
        now = now or self.now()
        current = self.store.bucket(now)
        cursor = await self.store.scan_cursor()
        if cursor is None:
            cursor = current - self.grace_buckets
        last = min(current, cursor + self.max_buckets_per_tick - 1)
        wanted = list(range(cursor, last + 1))
        buckets = await self.store.load_buckets(wanted)
        tickets = list(dict.fromkeys(t for _, ids in buckets for t in ids))
        result = TickResult(buckets=len(buckets), checked=len(tickets))
        limit = asyncio.Semaphore(self.check_concurrency)

        async def check(ticket_id: str) -> int:
            async with limit:
                try:
                    return await self.check_clock(ticket_id, now)
                except Exception:
                    log.exception("alarm check of ticket %s failed; rescheduled", ticket_id)
                    await self.store.schedule_alarm(ticket_id, now, now)
                    return 0

        result.published = sum(await asyncio.gather(*(check(t) for t in tickets)))
        done = [b for b in wanted if b <= current - self.grace_buckets]
        if done:
            await self.store.drop_buckets([b for b, _ in buckets if b in set(done)])
            await self.store.advance_cursor(done[-1] + 1)
        result.seconds = time.perf_counter() - started
        return result

    async def check_clock(self, ticket_id: str, now: datetime) -> int:
        """Raise a clock's due alarms once (the compare-and-set is the claim: of several replicas only
        one writes, the others reload and find nothing left to raise). Returns the events published."""
        for _ in range(self.write_attempts):
            stored = await self.store.load_clock(ticket_id)
            if stored is None or stored.clock.next_check_at is None or stored.clock.next_check_at > now:
                return 0
            policy = await self.policy(stored.clock.policy_version)
            clock = domain.evaluate(stored.clock, policy, await self.calendars())  # calendar edits apply here
            clock, events = domain.fire(clock, policy, now)
            if clock.next_check_at is not None:
                await self.store.schedule_alarm(ticket_id, clock.next_check_at, now)
            entries = outbox_entries(*events)
            if await self.store.save_clock(clock, revision=stored.revision, outbox=entries):
                for event in events:
                    log.info("clock %s: %s raised", clock.ticket_no, event.event_type)
                if entries and self.outbox is not None:
                    await self.outbox.flush(self.store.clocks, ticket_id, entries)
                return len(events)
        raise ClockContention(f"clock of ticket {ticket_id} kept changing while raising its alarms")

    async def repair(self, now: datetime | None = None, limit: int = 10_000) -> int:
        """Re-file clocks whose alarm time passed without being raised (a bucket lost to a crash or a
        clock skewed past the grace period). Runs at start-up and rarely after; uses the index."""
        now = now or self.now()
        lag = self.grace_buckets * self.store.bucket_seconds
        overdue = await self.store.overdue_clocks(datetime.fromtimestamp(now.timestamp() - lag, UTC), limit)
        for ticket_id, _ in overdue:
            await self.store.schedule_alarm(ticket_id, now, now)
        if overdue:
            log.warning("re-filed %d clock(s) with overdue alarms", len(overdue))
        return len(overdue)

    async def run_scanner(self, interval: float, repair_every: float) -> None:
        next_repair = 0.0
        while True:
            try:
                if time.monotonic() >= next_repair:
                    await self.repair()
                    next_repair = time.monotonic() + repair_every
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_cancelling(exc)
                log.exception("SLA scan failed; retrying")
            await asyncio.sleep(interval)

    # ------------------------------------------------------------------ overdue reasons
    async def record_overdue_reason(
        self, ticket_id: str, *, code: OverdueReasonCode, target: SlaTarget | None, note: str, staff_id: str
    ) -> OverdueReason:
        reason_id = uuid.uuid4().hex
        for _ in range(self.write_attempts):
            stored = await self.store.load_clock(ticket_id)
            if stored is None:
                raise NotFound(f"no SLA clock for ticket {ticket_id}")
            try:
                clock, event = domain.record_overdue_reason(
                    stored.clock, reason_id=reason_id, code=code, target=target, note=redact_text(note.strip()),
                    staff_id=staff_id, now=utcnow(),
                )
            except domain.NotBreached as exc:
                raise Conflict(str(exc)) from None
            entries = outbox_entries(event)
            if await self.store.save_clock(clock, revision=stored.revision, outbox=entries):
                if self.outbox is not None:
                    await self.outbox.flush(self.store.clocks, ticket_id, entries)
                log.info("clock %s: overdue reason %s recorded by %s", clock.ticket_no, code.value, staff_id)
                return clock.overdue_reasons[-1]
        raise ClockContention(f"clock of ticket {ticket_id} kept changing")

    # ------------------------------------------------------------------ preview
    async def preview(self, request: PreviewRequest) -> Preview:
        if request.policy_version is None:
            record = await self.store.active_policy()
            if record is None:
                raise PolicyMissing("no active SLA policy")
            policy = record.policy()
        else:
            policy = (await self.get_policy(request.policy_version)).policy()
        calendars = await self.calendars()
        try:
            return domain.preview(request, policy, utcnow(), calendars)
        except domain.CalendarMissing as exc:
            raise Conflict(str(exc)) from None

    @staticmethod
    def _log(event: Event, clock: Clock) -> None:
        nr = clock.next_response_status
        log.info(
            "clock %s: %s applied (%s, %s, first response due %s, resolution due %s, next response %s%s%s)",
            clock.ticket_no, event.event_type, clock.priority, clock.status, clock.first_response_due.isoformat(),
            clock.resolution_due.isoformat(), nr.value,
            f" due {clock.next_response_due.isoformat()}" if clock.next_response_due and nr in (
                domain.NextResponseStatus.RUNNING, domain.NextResponseStatus.PAUSED) else "",
            ", provisional" if clock.provisional else "",
        )
