"""Reporting's use cases: record every event (fact and aggregate increments first, then the log),
keep unknown event types, compute reports, detect spikes and rebuild the projections from the log.
Called by the broker handler, the background jobs and the HTTP API."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field, ValidationError

from contracts import Event, ReportSpikeDetected, ReportSpikeDetectedPayload, UnknownEventType, UtcDatetime, parse_event, utcnow
from contracts.events_reporting import (
    MAX_ATTACHMENT_BYTES,
    ReportAttachment,
    ReportReady,
    ReportReadyPayload,
    ReportRecipient,
)
from servicekit.clock import Clock, SystemClock
from servicekit.keyed import KeyedLocks
from servicekit.outbox import Outbox, outbox_entries

from . import domain, incidents, knowledge, kpi, schedule
from .schedule import Period, ReportCalendar
from .domain import DailyReport, TicketFact
from .store import ReportingStore

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20


class FactContention(RuntimeError):
    """A fact kept changing under us; the message is retried (redelivered) later."""


class RawEnvelope(BaseModel):
    """The envelope every event has, whatever its type: enough to keep an event of an unknown type
    (a malformed envelope is still dead-lettered)."""

    event_id: UUID
    event_type: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
    schema_version: int = Field(ge=1, le=1000)
    occurred_at: UtcDatetime
    correlation_id: str = Field(min_length=1, max_length=128)
    producer: str = Field(min_length=1, max_length=64)
    payload: dict[str, Any]


class SpikeSettings(BaseModel):
    ratio: float = 3.0
    min_count: int = 10
    baseline_days: int = 7


class Subscription(BaseModel):
    """Which scheduled reports a supervisor / admin receives, and through which external channel besides
    the in-app notification (the CSV is attached there)."""

    daily: bool = False
    weekly: bool = False
    monthly: bool = False
    external: schedule.External = "none"


REPORTS_LINK = "/#/dashboard"
"""Where a delivered report is read: the console's dashboard page (the live dashboard, the delivered reports
with their figures and CSV, the subscription)."""


class ReportingService:
    def __init__(
        self, store: ReportingStore, *, timezone: str, clock: Callable[[], datetime] = utcnow,
        outbox: Outbox | None = None, spikes: SpikeSettings | None = None,
        calendar: ReportCalendar | None = None, schedule_clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.timezone = timezone
        self.clock = clock
        self.outbox = outbox
        self.spike_settings = spikes or SpikeSettings()
        self.calendar = calendar or ReportCalendar(timezone=timezone)
        self.schedule_clock: Clock = schedule_clock or SystemClock()
        self._rebuild_lock = asyncio.Lock()
        self._fact_locks = KeyedLocks()

    # ------------------------------------------------------------------ intake of events
    async def record_raw(self, body: dict[str, Any]) -> bool:
        """Take in one message body. Known types are validated and projected; a well-formed event of a
        type without a contract here is kept (and counted), not dead-lettered; anything else raises
        (validation error → dead letter)."""
        try:
            event = parse_event(body)
        except UnknownEventType:
            envelope = RawEnvelope.model_validate(body)
            kept = await self.store.keep_unknown({
                "_id": str(envelope.event_id), "event_type": envelope.event_type,
                "schema_version": envelope.schema_version, "occurred_at": envelope.occurred_at,
                "received_at": self.clock(), "body": body,
            })
            if kept:
                log.info("kept an event of unknown type %s v%d", envelope.event_type, envelope.schema_version)
            return kept
        return await self.record(event)

    async def record(self, event: Event) -> bool:
        """Take in one event exactly once. The fact (and the knowledge item catalog) is updated *before*
        the event enters the log: if the process dies in between, the redelivery finds the fact already
        applied (no double count) and only writes the log. Returns False when the event had been fully
        recorded before."""
        applied = await self.apply_to_fact(event)
        await self.store.note_items(domain.catalog_notes(event))  # idempotent: a redelivery writes it again
        await self.note_incident(event)
        logged = await self.store.log_event(domain.log_entry(event, self.timezone, received_at=self.clock()))
        if not logged:
            log.debug("event %s (%s) already recorded", event.event_id, event.event_type)
        return applied or logged

    def _pending(self, old: TicketFact | None, new: TicketFact, revision: int) -> list[dict[str, Any]]:
        before = kpi.contributions(old, self.timezone) if old is not None else {}
        increments = kpi.diff(kpi.contributions(new, self.timezone), before)
        now = self.clock()
        out = []
        for i, (cell, inc) in enumerate(sorted(increments.items())):
            c, b = kpi.split_counters(inc)
            out.append({"id": f"{revision}:{i}", "cell": cell, "c": c, "b": b, "at": now})
        return out

    async def apply_to_fact(self, event: Event) -> bool:
        """Fold the event into its ticket's fact once (compare-and-set, created on the first event of
        any type, so a ticket.classified arriving before ticket.created is fine), queue the aggregate
        increments in the same write, then apply them. False when the event does not concern a fact
        or was applied before."""
        ticket_id = domain.ticket_id_of(event)
        if ticket_id is None or not domain.changes_fact(event):
            return False
        # the events of a ticket arriving together wait for each other in this replica instead of racing
        # on the fact's compare-and-set (which still decides between replicas)
        async with self._fact_locks.hold(ticket_id):
            return await self._apply_to_fact(event, ticket_id)

    async def _apply_to_fact(self, event: Event, ticket_id: str) -> bool:
        event_id = str(event.event_id)
        for _ in range(MAX_ATTEMPTS):
            state = await self.store.load_fact(ticket_id, event_id)
            if state.applied:
                return False
            if state.fact is None:
                fact = domain.apply(TicketFact(ticket_id=ticket_id), event, self.timezone)
                pending = self._pending(None, fact, 1)
                if await self.store.insert_fact(fact, event_id, pending):
                    await self.store.apply_pending(ticket_id, pending)
                    return True
                continue
            changes = domain.fact_changes(state.fact, event, self.timezone)
            new = state.fact.model_copy(update=changes)
            pending = self._pending(state.fact, new, state.revision + 1)
            if await self.store.update_fact(ticket_id, state.revision, event_id, changes, pending):
                await self.store.apply_pending(ticket_id, pending)
                return True
        raise FactContention(f"fact of ticket {ticket_id} kept changing while applying {event.event_type}")

    async def relay_pending(self, grace_seconds: float) -> int:
        """Apply aggregate increments whose first application did not happen (process died)."""
        done = 0
        for ticket_id, entries in await self.store.stale_pending(self.clock() - timedelta(seconds=grace_seconds)):
            done += await self.store.apply_pending(ticket_id, entries)
        return done

    # ------------------------------------------------------------------ reports
    def today(self) -> date:
        """Today in the business time zone (the default report day)."""
        return domain.business_day(self.clock(), self.timezone)

    async def daily_report(self, day: date | None = None) -> DailyReport:
        """The day's volumes and breakdowns from the facts; its conversation figures from the day's
        ``all`` cell (the same counters the KPI report reads: one document, whatever the volume)."""
        day = day or self.today()
        counts = await self.store.day_counts(day)
        cell = (await self.store.scope_cells(kpi.ALL, day, day)).get(day.isoformat()) or {}
        counts.conversation = domain.conversation_subset(cell.get("c") or {})
        return domain.build_daily_report(counts)

    async def fact(self, ticket_id: str) -> TicketFact | None:
        return await self.store.get_fact(ticket_id)

    async def kpi_report(
        self, start: date, end: date, granularity: kpi.Granularity = "day", scope: str = kpi.ALL, top: int = 10
    ) -> kpi.KpiReport:
        docs = await self.store.scope_cells(scope, start, end)
        return kpi.build_report(
            start=start, end=end, granularity=granularity, scope=scope,
            cells={d: doc.get("c") or {} for d, doc in docs.items()},
            backlog_cells={d: doc.get("b") or {} for d, doc in docs.items() if doc.get("b")},
            backlog_before=await self.store.backlog_before(scope, start), top=top,
        )

    async def agent_report(self, start: date, end: date, team: str | None = None) -> list[kpi.AgentRow]:
        """Per-agent comparison over ``[start, end]`` (optionally the agents' tickets of one team)."""
        per_agent: dict[str, dict[str, float]] = {}
        if team is None:
            for doc in await self.store.kind_cells("agent", start, end):
                kpi.add_cells(per_agent, {doc["scope"].split("=", 1)[1]: doc.get("c") or {}})
        else:
            for doc in await self.store.kind_cells("teamagent", start, end):
                doc_team, agent = kpi.split_team_agent(doc["scope"])
                if doc_team == team:
                    kpi.add_cells(per_agent, {agent: doc.get("c") or {}})
        return kpi.agent_rows(per_agent)

    async def team_report(self, start: date, end: date) -> dict[str, kpi.Kpis]:
        """Per team (部门) over ``[start, end]``: the KPI figures of the tickets each team handled (backlog is not
        split by team here: it stays 0)."""
        per_team: dict[str, dict[str, float]] = {}
        for doc in await self.store.kind_cells("team", start, end):
            kpi.add_cells(per_team, {doc["scope"].split("=", 1)[1]: doc.get("c") or {}})
        return {team: kpi.kpis_of(counts, 0) for team, counts in sorted(per_team.items())}

    async def knowledge_report(self, start: date, end: date) -> knowledge.KnowledgeReport:
        """Per knowledge item over the tickets created in ``[start, end]``: suggested, used, verdicts and the
        satisfaction of the tickets it was used on (the ``all`` cells of the period and the item catalog)."""
        docs = await self.store.scope_cells(kpi.ALL, start, end)
        return knowledge.build_knowledge_report(start=start, end=end, cells=[d.get("c") or {} for d in docs.values()],
                                                catalog=await self.store.knowledge_catalog())

    async def knowledge_gaps(self, start: date, end: date, min_tickets: int = 5,
                             keywords: int = 5) -> knowledge.KnowledgeGaps:
        """The "write an article" list of the tickets created in ``[start, end]``."""
        docs = await self.store.scope_cells(kpi.ALL, start, end)
        return knowledge.build_gaps(start=start, end=end, cells=[d.get("c") or {} for d in docs.values()],
                                    min_tickets=min_tickets, keywords=keywords)

    async def unknown_types(self) -> dict[str, int]:
        return await self.store.unknown_counts()

    # ------------------------------------------------------------------ spikes
    async def scan_spikes(self, day: date | None = None) -> list[kpi.Spike]:
        """Compare the day's categories/keywords with the trailing baseline; publish
        report.spike_detected once per (day, dimension, value)."""
        day = day or self.today()
        s = self.spike_settings
        start = day - timedelta(days=s.baseline_days)
        docs = await self.store.scope_cells(kpi.ALL, start, day)
        history = [(docs.get(d.isoformat()) or {}).get("c") or {} for d in kpi.days_between(start, day - timedelta(days=1))]
        today_counts = (docs.get(day.isoformat()) or {}).get("c") or {}
        found = kpi.detect_spikes(day.isoformat(), today_counts, history, ratio=s.ratio, min_count=s.min_count)
        new = []
        for spike in found:
            event = ReportSpikeDetected.new(
                ReportSpikeDetectedPayload(**spike.model_dump(), detected_at=self.clock()),
                correlation_id=f"spike-{spike.day}-{spike.dimension}-{spike.value}"[:128], producer=domain.PRODUCER,
            )
            entries = outbox_entries(event)
            doc_id = f"{spike.day}|{spike.dimension}|{spike.value}"
            if await self.store.insert_spike({"_id": doc_id, **spike.model_dump(), "detected_at": self.clock(),
                                              "event_id": str(event.event_id), "outbox": entries}):
                new.append(spike)
                log.warning("spike: %s %s = %d today vs %.1f baseline", spike.dimension, spike.value, spike.count,
                            spike.baseline)
                if self.outbox is not None:
                    await self.outbox.flush(self.store.spikes, doc_id, entries)
        return new

    async def spikes(self, start: date, end: date) -> list[dict[str, Any]]:
        docs = await self.store.list_spikes(start, end)
        return [{k: v for k, v in d.items() if k != "_id"} for d in docs]

    # ------------------------------------------------------------------ scheduled reports (000 七, 004 四)
    async def my_subscription(self, staff_id: str) -> dict[str, Any]:
        doc = await self.store.subscription(staff_id)
        return self._subscription_view(staff_id, doc)

    def _subscription_view(self, staff_id: str, doc: dict[str, Any] | None) -> dict[str, Any]:
        sub = Subscription.model_validate(doc or {})
        now = self.schedule_clock.now()
        return {"staff_id": staff_id, "name": (doc or {}).get("name", ""), "role": (doc or {}).get("role"),
                **sub.model_dump(), "updated_at": (doc or {}).get("updated_at"),
                "next": {k: schedule.next_due(k, now, self.calendar).due_at for k in schedule.KINDS}}

    async def save_subscription(self, staff_id: str, name: str, role: str, sub: Subscription) -> dict[str, Any]:
        doc = await self.store.save_subscription(staff_id, {**sub.model_dump(), "name": name[:100], "role": role,
                                                            "updated_at": self.clock()})
        return self._subscription_view(staff_id, doc)

    async def subscriptions(self) -> list[dict[str, Any]]:
        return [{"staff_id": d["_id"], **{k: v for k, v in d.items() if k != "_id"}}
                for d in await self.store.list_subscriptions()]

    async def deliver_due_reports(self) -> list[str]:
        """One scheduler pass: the latest due period of each kind that has no run yet is composed and
        claimed (the run's ``_id`` names the period); its ``report.ready`` goes out through the outbox in the
        same document. A restart or a second replica finds the run and does nothing; a period missed while
        the service was down is the latest due one, so it is caught up once. Returns the new run ids."""
        now = self.schedule_clock.now()
        new = []
        for period in schedule.due_now(now, self.calendar):
            if await self.store.run_exists(period.id):
                continue
            doc = await self.compose(period, now)
            if await self.store.insert_run(doc):
                new.append(period.id)
                log.info("report %s composed for %d recipients", period.id, len(doc["recipients"]))
                if self.outbox is not None:
                    await self.outbox.flush(self.store.runs, period.id, doc["outbox"])
        return new

    async def compose(self, period: Period, now: datetime) -> dict[str, Any]:
        """The run document of ``period``: figures, CSV, recipients as of now, and its event."""
        report = await self.kpi_report(period.start, period.end, "day")
        compare = period.kind != "daily"  # the weekly department analysis and the monthly report compare
        agents = await self.agent_report(period.start, period.end) if compare else []
        teams = await self.team_report(period.start, period.end) if compare else {}
        summary = schedule.summary_lines(report.totals, agents)
        restated = None
        if period.kind == "daily":  # the previous report day after its close: told here, counted there
            before = period.start - timedelta(days=1)
            final = (await self.kpi_report(before, before, "day")).totals
            earlier = await self.store.get_run(f"daily:{before.isoformat()}", with_csv=True)
            reported = schedule.reported(earlier["csv"], before, "created") if earlier else None
            restated = (before, final)
            summary.append(schedule.restated_line(before, final, reported))
        body = schedule.report_csv(report, agents, teams, restated)
        raw = body.encode("utf-8")
        digest = hashlib.sha256(raw).hexdigest()
        filename = f"{period.kind}-report-{period.key}.csv"
        attachment = None
        if len(raw) <= MAX_ATTACHMENT_BYTES:
            attachment = ReportAttachment(filename=filename, size=len(raw), sha256=digest,
                                          content_base64=base64.b64encode(raw).decode())
        else:
            log.warning("report %s: CSV of %d bytes is not attached (limit %d); recipients get the link",
                        period.id, len(raw), MAX_ATTACHMENT_BYTES)
        recipients = []
        for d in await self.store.subscribers(period.kind):
            try:
                recipients.append(ReportRecipient(staff_id=d["_id"], external=d.get("external") or "none"))
            except ValidationError:  # never let one odd subscription stop every report
                log.warning("report %s: subscription %r is not a valid recipient; skipped", period.id, d.get("_id"))
        event = ReportReady.new(ReportReadyPayload(
            report_id=period.id, kind=period.kind, period=period.key, start=period.start.isoformat(),
            end=period.end.isoformat(), title=schedule.title(period), summary=summary, link=REPORTS_LINK,
            csv_path=f"/api/reporting/v1/reports/deliveries/{period.id}.csv", recipients=recipients,
            attachment=attachment, composed_at=now,
        ), correlation_id=f"report-{period.id}", producer=domain.PRODUCER)
        return {
            "_id": period.id, "kind": period.kind, "period": period.key, "start": period.start.isoformat(),
            "end": period.end.isoformat(), "due_at": period.due_at, "composed_at": now,
            "title": schedule.title(period), "summary": summary, "totals": report.totals.model_dump(),
            "conversation": report.conversation.model_dump(), "agents": [a.model_dump() for a in agents],
            "teams": {team: k.model_dump() for team, k in teams.items()},
            "csv": body, "csv_filename": filename, "csv_size": len(raw), "csv_sha256": digest,
            "attached": attachment is not None,
            "recipients": [r.model_dump() for r in recipients], "event_id": str(event.event_id),
            "outbox": outbox_entries(event),
        }

    async def deliveries(self, kind: str | None, limit: int) -> list[dict[str, Any]]:
        return [_run_view(d) for d in await self.store.list_runs(kind, limit)]

    async def delivery(self, run_id: str, *, with_csv: bool = False) -> dict[str, Any] | None:
        doc = await self.store.get_run(run_id, with_csv=with_csv)
        return _run_view(doc) if doc else None

    # ------------------------------------------------------------------ rebuild
    async def rebuild(self) -> dict[str, int]:
        """Drop the facts, aggregates and item catalog and replay the raw event log (and kept unknown-type events
        whose contract is now known): the same events give the same numbers, whatever their order."""
        async with self._rebuild_lock:
            await self.store.clear_projections()
            replayed = promoted = 0
            async for body in self.store.logged_events():
                event = parse_event(body)
                await self.apply_to_fact(event)
                await self.store.note_items(domain.catalog_notes(event))
                await self.note_incident(event)
                replayed += 1
            async for doc in self.store.unknown_bodies():
                try:
                    event = parse_event(doc["body"])
                except UnknownEventType:
                    continue
                await self.record(event)
                await self.store.forget_unknown(doc["_id"])
                promoted += 1
            facts = await self.store.facts.count_documents({})
            log.info("rebuild: %d events replayed, %d promoted, %d facts", replayed, promoted, facts)
            return {"events_replayed": replayed, "unknown_promoted": promoted, "facts": facts}

    # ------------------------------------------------------------------ incidents (crisis mode)
    async def note_incident(self, event: Event) -> None:
        state = incidents.incident_state(event)
        if state is not None:
            await self.store.note_incident(state)

    async def incident_report(self, incident_id: str) -> incidents.IncidentReport | None:
        doc = await self.store.incident(incident_id)
        if doc is None:
            return None
        return incidents.report(doc, await self.store.incident_facts(incident_id))

    async def incident_reports(self, status: str | None, limit: int = 20) -> list[incidents.IncidentReport]:
        docs = await self.store.incidents_by_status(status, limit)
        return [incidents.report(d, await self.store.incident_facts(d["_id"])) for d in docs]


def _run_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], **{k: v for k, v in doc.items() if k not in ("_id", "outbox")}}
