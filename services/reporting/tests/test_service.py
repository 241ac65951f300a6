"""Reporting under FastStream's TestRabbitBroker with an in-memory Mongo."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from contracts import Event, StaffRole
from reporting import domain
from reporting import testing as f
from reporting.store import ReportingStore
from reporting.testing import cells_from_facts, local, stored_cells
from servicekit.testing import auth_header

D1, D2 = "2026-11-25", "2026-11-26"
SUPERVISOR = auth_header(StaffRole.SUPERVISOR, staff_id="S1")


async def deliver(running: dict[str, Any], *events: Event) -> None:
    kit, broker = running["kit"], running["broker"]
    for event in events:
        await broker.publish(event, exchange=kit.bus.events_exchange, routing_key=event.event_type)


def scripted_day() -> tuple[list[Event], list[Event]]:
    """Four tickets over two business days, in the order the broker hands them over (duplicates and
    late events included), and the distinct events among them."""
    t1 = [
        c1 := f.created("t001", local(D1, 9)),
        f.classified("t001", local(D1, 9, 1), category="after_sales", priority="P2"),
        f.assigned("t001", local(D1, 9, 2)),
        f.responded("t001", local(D1, 9, 20)),
        cl1 := f.closed("t001", local(D2, 10)),
        r1 := f.resolved("t001", local(D1, 15)),
        f.survey("t001", local(D1, 18), csat=5.0),
    ]
    t2 = [
        f.classified("t002", local(D1, 10, 1), category="complaint", priority="P1", channel="phone"),  # before created
        f.created("t002", local(D1, 10), channel="phone"),
        r2 := f.resolved("t002", local(D1, 12), channel="phone"),
        f.reopened("t002", local(D1, 16), count=1),
        f.resolved("t002", local(D2, 9), channel="phone"),
        f.status_changed("t002", local(D1, 11), "in_progress", frm="assigned"),  # older than the resolution
    ]
    t3 = [f.created("t003", local(D1, 23, 30), channel="online_chat"), f.warning("t003", local(D2, 9))]
    t4 = [
        f.created("t004", local(D2, 0, 30), channel="web_form"),  # 16:30 UTC on the 25th: a D2 ticket
        f.classified("t004", local(D2, 0, 31), category="pre_sales", priority="P4", channel="web_form"),
        b4 := f.breached("t004", local(D2, 8)),
        f.breached("t004", local(D2, 9)),
    ]
    distinct = [*t1, *t2, *t3, *t4, f.spike(local(D2, 1))]
    duplicates = [c1, r2, b4, cl1, r1]
    return [*distinct[:9], *duplicates[:2], *distinct[9:], *duplicates[2:]], distinct


EXPECTED_D1 = {
    "day": D1, "created": 3, "resolved": 2, "closed": 0, "reopened": 1,
    "by_category": {"after_sales": 1, "complaint": 1, "unclassified": 1},
    "by_channel": {"email": 1, "phone": 1, "online_chat": 1},
    "by_priority": {"P1": 1, "P2": 1, "unclassified": 1},
    "by_status": {"closed": 1, "resolved": 1, "new": 1},
    # t001: opened, answered (one back-and-forth), last resolved on D1; no further customer messages
    "conversation": {"agent_responses": 1, "exchanges": 1, "exchanges_per_resolved": 1.0},
}
EXPECTED_D2 = {
    "day": D2, "created": 1, "resolved": 1, "closed": 1, "reopened": 0,
    "by_category": {"pre_sales": 1}, "by_channel": {"web_form": 1}, "by_priority": {"P4": 1}, "by_status": {"new": 1},
    "conversation": {},  # t002 last resolved on D2 without an answer: 0 back-and-forths per resolved ticket
}


def nonzero(report: dict[str, Any]) -> dict[str, Any]:
    return {k: ({kk: vv for kk, vv in v.items() if vv} if isinstance(v, dict) else v) for k, v in report.items()}


async def test_scripted_events_give_exact_counts(running: dict[str, Any]) -> None:
    delivered, distinct = scripted_day()
    await deliver(running, *delivered)
    client, store = running["client"], running["service"].store

    for day, expected in ((D1, EXPECTED_D1), (D2, EXPECTED_D2)):
        r = await client.get("/api/v1/reports/daily", params={"day": day}, headers=SUPERVISOR)
        assert r.status_code == 200, r.text
        assert nonzero(r.json()) == expected
        from_facts = domain.daily_report(date.fromisoformat(day), await store.all_facts(), f.TZ)
        assert r.json() == from_facts.model_dump(mode="json")  # the aggregate agrees with the pure rule

    assert await store.events.count_documents({}) == len(distinct)
    assert running["broker"].dead_letters == []


async def test_facts_follow_the_latest_information(running: dict[str, Any]) -> None:
    await deliver(running, *scripted_day()[0])
    store = running["service"].store
    t1, t2, t4 = [await store.get_fact(t) for t in ("t001", "t002", "t004")]
    assert t1 is not None and t1.status == "closed" and t1.agent_id == "A1" and t1.csat == 5.0
    assert t1.first_assigned_at == local(D1, 9, 2) and t1.first_response_at == local(D1, 9, 20)
    assert t2 is not None and t2.status == "resolved" and t2.resolved_days == [D1, D2] and t2.reopen_count == 1
    assert t2.category == "complaint" and t2.day == D1
    assert t4 is not None and t4.sla_breaches == 2  # the duplicate breach is not counted
    doc = await store.facts.find_one({"_id": "t002"})
    assert len(doc["applied_events"]) == len(set(doc["applied_events"])) == 6


async def test_a_redelivery_changes_nothing(running: dict[str, Any]) -> None:
    service = running["service"]
    breach = f.breached("t009", local(D1, 10))
    assert await service.record(breach) is True
    before = await service.store.facts.find_one({"_id": "t009"})
    for _ in range(3):
        assert await service.record(breach) is False
    after = await service.store.facts.find_one({"_id": "t009"})
    assert after == before and after["sla_breaches"] == 1
    assert await service.store.events.count_documents({}) == 1


async def test_crash_between_fact_and_log_is_completed_without_double_count(running: dict[str, Any]) -> None:
    """The fact is written first; a redelivery after a crash before the log write only adds the log."""
    service = running["service"]
    breach = f.breached("t010", local(D1, 10))
    assert await service.apply_to_fact(breach) is True  # … and the process died here
    assert not await service.store.event_logged(str(breach.event_id))
    await deliver(running, breach)  # redelivered
    assert await service.store.event_logged(str(breach.event_id))
    assert (await service.fact("t010")).sla_breaches == 1  # type: ignore[union-attr]


class RacingStore(ReportingStore):
    """A store where another consumer writes the same fact between our read and our write, once."""

    def __init__(self, db: Any, rival: Event, service: Any) -> None:
        super().__init__(db)
        self.rival, self.service, self.raced = rival, service, False

    async def update_fact(self, ticket_id: str, revision: int, event_id: str, changes: dict[str, Any],
                          pending: Any = None) -> bool:
        if not self.raced:
            self.raced = True
            self.service.store = ReportingStore(self.db)
            # as another replica would (this one applies a ticket's events one at a time)
            await self.service._apply_to_fact(self.rival, ticket_id)  # noqa: SLF001
            self.service.store = self
        return await super().update_fact(ticket_id, revision, event_id, changes, pending)


async def test_concurrent_writers_both_count(running: dict[str, Any]) -> None:
    service = running["service"]
    await service.record(f.created("t011", local(D1, 9)))
    mine, rival = f.breached("t011", local(D1, 10)), f.breached("t011", local(D1, 11))
    service.store = RacingStore(service.store.db, rival, service)
    assert await service.apply_to_fact(mine) is True
    assert service.store.raced
    fact = await service.fact("t011")
    assert fact is not None and fact.sla_breaches == 2
    doc = await service.store.facts.find_one({"_id": "t011"})
    assert doc["revision"] == 3


async def test_poison_messages_are_dead_lettered_with_a_reason(running: dict[str, Any]) -> None:
    kit, broker = running["kit"], running["broker"]
    bad_payload = f.created("t020", local(D1, 9)).model_dump(mode="json")
    del bad_payload["payload"]["channel"]
    bad_envelope = {**f.created("t021", local(D1, 9)).model_dump(mode="json"), "event_type": "ticket.teleported"}
    del bad_envelope["event_id"]
    await broker.publish(bad_payload, exchange=kit.bus.events_exchange, routing_key="ticket.created")
    await broker.publish(bad_envelope, exchange=kit.bus.events_exchange, routing_key="ticket.teleported")
    await broker.publish(b"{not json", exchange=kit.bus.events_exchange, routing_key="ticket.created")

    assert len(broker.dead_letters) == 3
    reasons = [d["headers"]["x-dead-letter-reason"] for d in broker.dead_letters]
    assert all(d["queue"] == "reporting.all" for d in broker.dead_letters)
    assert "payload.channel" in reasons[0]
    assert "event_id" in reasons[1]  # an unknown type with a broken envelope is still poison
    assert "body" in reasons[2]  # not JSON: FastStream cannot make a dict of it
    store = running["service"].store
    assert await store.events.count_documents({}) == 0 and await store.facts.count_documents({}) == 0
    assert await store.unknown.count_documents({}) == 0


async def test_unknown_event_types_are_kept_and_counted_not_dead_lettered(running: dict[str, Any]) -> None:
    kit, broker, client = running["kit"], running["broker"], running["client"]
    unknown = {**f.created("t021", local(D1, 9)).model_dump(mode="json"), "event_type": "ticket.teleported"}
    newer = {**f.created("t022", local(D1, 9)).model_dump(mode="json"), "schema_version": 7}
    for body, key in ((unknown, "ticket.teleported"), (unknown, "ticket.teleported"), (newer, "ticket.created")):
        await broker.publish(body, exchange=kit.bus.events_exchange, routing_key=key)
    assert broker.dead_letters == []
    admin = auth_header(StaffRole.ADMIN)
    r = await client.get("/api/v1/admin/unknown-events", headers=admin)
    assert r.status_code == 200 and r.json() == {"ticket.teleported": 1, "ticket.created": 1}
    store = running["service"].store
    assert await store.facts.count_documents({}) == 0  # kept, not projected
    assert (await client.get("/api/v1/admin/unknown-events", headers=SUPERVISOR)).status_code == 403


async def test_report_routes_need_a_supervisor(running: dict[str, Any]) -> None:
    client = running["client"]
    for path in ("/api/v1/reports/daily", "/api/v1/reports/daily.csv", "/api/v1/facts/t001"):
        assert (await client.get(path)).status_code == 401
        r = await client.get(path, headers=auth_header(StaffRole.AGENT))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (await client.get("/api/v1/reports/daily", headers=auth_header(StaffRole.ADMIN))).status_code == 200


async def test_bad_days_get_422(running: dict[str, Any]) -> None:
    client = running["client"]
    for bad in ("2026-13-01", "2026-02-30", "yesterday", "0", "2026-11-25T00:00:00", "1999-12-31", "x" * 500):
        r = await client.get("/api/v1/reports/daily", params={"day": bad}, headers=SUPERVISOR)
        assert r.status_code == 422, bad
        assert r.json()["error"]["code"] == "validation_error"
    r = await client.get("/api/v1/reports/daily.csv", params={"day": "2026-2-3"}, headers=SUPERVISOR)
    assert r.status_code == 422


async def test_default_day_is_today_in_the_business_zone(running: dict[str, Any]) -> None:
    service, client = running["service"], running["client"]
    service.clock = lambda: local(D2, 0, 30)  # still the 25th in UTC
    await deliver(running, f.created("t030", local(D2, 0, 10)))
    body = (await client.get("/api/v1/reports/daily", headers=SUPERVISOR)).json()
    assert body["day"] == D2 and body["created"] == 1


async def test_csv_export(running: dict[str, Any]) -> None:
    await deliver(running, *scripted_day()[0])
    r = await running["client"].get("/api/v1/reports/daily.csv", params={"day": D1}, headers=SUPERVISOR)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert f"daily-report-{D1}.csv" in r.headers["content-disposition"]
    rows = {(row[1], row[2]): float(row[3]) if row[3] else None for row in list(csv.reader(io.StringIO(r.text)))[1:]}
    assert rows[("created", "")] == 3 and rows[("resolved", "")] == 2 and rows[("reopened", "")] == 1
    assert rows[("by_category", "unclassified")] == 1 and rows[("by_channel", "online_chat")] == 1


async def test_fact_route(running: dict[str, Any]) -> None:
    client = running["client"]
    await deliver(running, f.created("t040", local(D1, 9), channel="social"))
    r = await client.get("/api/v1/facts/t040", headers=SUPERVISOR)
    assert r.status_code == 200
    body = r.json()
    assert body["channel"] == "social" and body["day"] == D1 and "stamps" not in body
    r = await client.get("/api/v1/facts/unknown", headers=SUPERVISOR)
    assert r.status_code == 404 and r.json()["error"]["code"] == "fact_not_found"
    assert (await client.get(f"/api/v1/facts/{'x' * 200}", headers=SUPERVISOR)).status_code == 422


async def test_health_and_asyncapi(running: dict[str, Any]) -> None:
    client = running["client"]
    assert (await client.get("/health/live")).json()["status"] == "ok"
    spec = (await client.get("/asyncapi.json")).json()
    assert any("reporting.all" in name for name in spec["channels"])
    assert (await client.get("/openapi.json")).status_code == 200


# ----------------------------------------------------------------------------- KPI reports
async def test_incremental_cells_equal_the_sum_of_fact_contributions(running: dict[str, Any]) -> None:
    await deliver(running, *scripted_day()[0])
    service = running["service"]
    assert await stored_cells(service) == await cells_from_facts(service)
    assert await service.store.facts.count_documents({"pending.0": {"$exists": True}}) == 0


async def test_kpi_report_of_the_scripted_days(running: dict[str, Any]) -> None:
    await deliver(running, *scripted_day()[0])
    client = running["client"]
    r = await client.get("/api/v1/reports/kpis", params={"start": D1, "end": D2}, headers=SUPERVISOR)
    assert r.status_code == 200, r.text
    body = r.json()
    t = body["totals"]
    assert (t["created"], t["resolved"], t["closed"], t["reopened"], t["backlog"]) == (4, 3, 1, 1, 2)
    assert t["first_response_avg_min"] == 20 and t["first_response_median_min"] == 20
    assert t["resolution_avg_min"] == 870 and t["resolution_median_min"] == 870  # 6 h and 23 h
    assert t["resolution_rate"] == 0.5 and t["first_contact_resolution"] == 0.5 and t["sla_compliance"] == 1.0
    assert (t["csat_avg"], t["csat_responses"], t["satisfaction_rate"], t["breached_tickets"]) == (5.0, 1, 1.0, 1)
    d1, d2 = body["series"]
    assert (d1["period"], d1["kpis"]["created"], d1["kpis"]["resolved"], d1["kpis"]["backlog"]) == (D1, 3, 2, 2)
    assert (d2["kpis"]["created"], d2["kpis"]["closed"], d2["kpis"]["backlog"]) == (1, 1, 2)
    assert body["backlog_by_priority"] == {"P1": 0, "P2": 0, "P3": 0, "P4": 1, "unclassified": 1}
    assert body["top_overdue_reasons"] == [{"key": "unrecorded", "count": 1}]
    assert {r["key"]: r["count"] for r in body["top_categories"]} == {
        "after_sales": 1, "complaint": 1, "pre_sales": 1, "unclassified": 1}
    sla_p = {r["key"]: (r["total"], r["met"]) for r in body["sla_by_priority"]}
    assert sla_p["P1"] == (1, 1) and sla_p["P2"] == (1, 1) and sla_p["P4"] == (0, 0)
    hist = {b["label"]: b["count"] for b in body["resolution_histogram"]["P2"]}
    assert hist["4h–8h"] == 1 and sum(hist.values()) == 1
    assert sum(b["count"] for b in body["resolution_histogram"]["P1"]) == 1
    assert body["cells_read"] <= 4  # two days of one scope (counters + backlog): O(days), not O(tickets)

    # filters: one channel, one team, one agent
    phone = (await client.get("/api/v1/reports/kpis", params={"start": D1, "end": D2, "channel": "phone"},
                              headers=SUPERVISOR)).json()["totals"]
    assert (phone["created"], phone["resolution_avg_min"], phone["reopened"]) == (1, 1380, 1)
    team = (await client.get("/api/v1/reports/kpis", params={"start": D1, "end": D2, "team": "general"},
                             headers=SUPERVISOR)).json()["totals"]
    assert (team["created"], team["resolution_avg_min"]) == (1, 360)
    agent = (await client.get("/api/v1/reports/kpis", params={"start": D1, "end": D2, "agent": "A1"},
                              headers=SUPERVISOR)).json()["totals"]
    assert agent["created"] == 2

    agents = (await client.get("/api/v1/reports/agents", params={"start": D1, "end": D2}, headers=SUPERVISOR)).json()
    assert agents == [{"agent_id": "A1", "handled": 2, "created_assigned": 2, "first_response_avg_min": 20.0,
                       "resolution_avg_min": 870.0, "csat_avg": 5.0, "csat_responses": 1, "breached_tickets": 0,
                       "replies_per_ticket": 0.0, "exchanges_per_resolved": 0.5, "next_response_compliance": None}]
    by_team = (await client.get("/api/v1/reports/agents", params={"start": D1, "end": D2, "team": "general"},
                                headers=SUPERVISOR)).json()
    assert [(a["agent_id"], a["handled"]) for a in by_team] == [("A1", 1)]


async def test_weekly_monthly_and_csv(running: dict[str, Any]) -> None:
    await deliver(running, *scripted_day()[0])
    client = running["client"]
    week = (await client.get("/api/v1/reports/weekly", params={"week": D2}, headers=SUPERVISOR)).json()
    assert (week["start"], week["end"]) == ("2026-11-23", "2026-11-29") and len(week["series"]) == 7
    assert week["totals"]["created"] == 4
    month = (await client.get("/api/v1/reports/monthly", params={"month": "2026-11"}, headers=SUPERVISOR)).json()
    assert (month["start"], month["end"], month["granularity"]) == ("2026-11-01", "2026-11-30", "week")
    assert [s["period"] for s in month["series"]][-1] == "2026-11-30" and month["totals"]["created"] == 4
    assert sum(s["kpis"]["created"] for s in month["series"]) == 4
    r = await client.get("/api/v1/reports/kpis.csv", params={"start": D1, "end": D2}, headers=SUPERVISOR)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["period", "metric", "key", "value"]
    parsed = {(row[0], row[1], row[2]): row[3] for row in rows[1:]}
    assert parsed[(f"{D1}..{D2}", "created", "")] == "4" and parsed[(D1, "created", "")] == "3"
    assert parsed[(f"{D1}..{D2}", "top_categories", "complaint")] == "1"
    r = await client.get("/api/v1/reports/agents.csv", params={"start": D1, "end": D2}, headers=SUPERVISOR)
    assert list(csv.reader(io.StringIO(r.text)))[1][:3] == ["A1", "2", "2"]


async def test_rebuild_reproduces_the_numbers(running: dict[str, Any]) -> None:
    await deliver(running, *scripted_day()[0])
    service, client = running["service"], running["client"]
    params = {"start": D1, "end": D2}
    before = (await client.get("/api/v1/reports/kpis", params=params, headers=SUPERVISOR)).json()
    daily_before = (await client.get("/api/v1/reports/daily", params={"day": D1}, headers=SUPERVISOR)).json()
    cells_before = await stored_cells(service)
    await service.store.cells.update_one({"_id": f"{D1}|all"}, {"$inc": {"c.created": 100}})  # drift
    r = await client.post("/api/v1/admin/rebuild", headers=auth_header(StaffRole.ADMIN))
    assert r.status_code == 200 and r.json()["events_replayed"] == len(scripted_day()[1]) and r.json()["facts"] == 4
    assert (await client.get("/api/v1/reports/kpis", params=params, headers=SUPERVISOR)).json() == before
    assert (await client.get("/api/v1/reports/daily", params={"day": D1}, headers=SUPERVISOR)).json() == daily_before
    assert await stored_cells(service) == cells_before
    assert (await client.post("/api/v1/admin/rebuild", headers=SUPERVISOR)).status_code == 403


async def test_rebuild_promotes_kept_events_once_their_contract_exists(running: dict[str, Any]) -> None:
    service = running["service"]
    event = f.breached("t050", local(D1, 10))
    body = {**event.model_dump(mode="json"), "event_type": "sla.later_added"}
    assert await service.record_raw(body) is True
    assert await service.record_raw(body) is False  # kept once
    await service.store.unknown.update_one({}, {"$set": {"body.event_type": "sla.breached"}})  # contract arrives
    result = await service.rebuild()
    assert result["unknown_promoted"] == 1 and (await service.fact("t050")).sla_breaches == 1  # type: ignore[union-attr]
    assert await service.store.unknown.count_documents({}) == 0


async def test_a_crash_before_the_increments_is_finished_by_the_relay(running: dict[str, Any]) -> None:
    service = running["service"]
    store = service.store

    class Crash(Exception):
        pass

    original = store.apply_pending

    async def die(*_: Any) -> int:
        raise Crash

    store.apply_pending = die  # type: ignore[method-assign]
    try:
        await service.apply_to_fact(f.created("t060", local(D1, 9)))
    except Crash:
        pass
    store.apply_pending = original  # type: ignore[method-assign]
    assert await stored_cells(service) == {}
    assert await service.relay_pending(grace_seconds=3600) == 0  # still fresh: the consumer may finish it
    assert await service.relay_pending(grace_seconds=0) == 2  # one day, scopes all and channel=email
    assert await stored_cells(service) == await cells_from_facts(service)
    assert await service.relay_pending(grace_seconds=0) == 0


async def test_spikes_are_published_once(running: dict[str, Any]) -> None:
    import json

    from contracts import ReportSpikeDetected

    service, kit, client = running["service"], running["kit"], running["client"]
    events: list[Event] = []
    for i in range(2):  # baseline: 2 complaints on one of the 7 previous days
        events += [f.created(f"b{i:03d}", local("2026-11-20", 9 + i)),
                   f.classified(f"b{i:03d}", local("2026-11-20", 9 + i), category="complaint")]
    for i in range(12):
        events += [f.created(f"s{i:03d}", local(D1, 9, i)), f.classified(f"s{i:03d}", local(D1, 9, i), category="complaint")]
    await deliver(running, *events)
    r = await client.post("/api/v1/reports/spikes/scan", params={"day": D1}, headers=SUPERVISOR)
    assert r.status_code == 200
    spikes = r.json()
    assert [(s["dimension"], s["value"], s["count"]) for s in spikes] == [("category", "complaint", 12)]
    assert spikes[0]["baseline"] == round(2 / 7, 3)
    assert (await client.post("/api/v1/reports/spikes/scan", params={"day": D1}, headers=SUPERVISOR)).json() == []
    mock = kit.bus.publisher(ReportSpikeDetected).mock  # the events exchange's publisher: filter by type
    bodies = [c.args[0] for c in mock.call_args_list]
    bodies = [json.loads(b) if isinstance(b, bytes | str) else b for b in bodies]
    sent = [ReportSpikeDetected.model_validate(b) for b in bodies if b.get("event_type") == "report.spike_detected"]
    assert len(sent) == 1 and sent[0].payload.value == "complaint" and sent[0].payload.day == D1
    hf = (await client.get("/api/v1/reports/high-frequency", params={"start": D1, "end": D1},
                           headers=SUPERVISOR)).json()
    assert hf["top_categories"][0] == {"key": "complaint", "count": 12} and len(hf["spikes"]) == 1
    assert await service.store.spikes.count_documents({"outbox.0": {"$exists": True}}) == 0


async def test_dashboard_live_and_page(running: dict[str, Any]) -> None:
    service, client = running["service"], running["client"]
    service.clock = lambda: local(D2, 12)
    await deliver(running, *scripted_day()[0])
    r = await client.get("/api/v1/dashboard/live", headers=SUPERVISOR)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["today"] == D2 and body["kpis"]["created"] == 1 and body["kpis"]["backlog"] == 2
    assert body["backlog_by_priority"]["P4"] == 1 and len(body["trend"]) == 30
    assert body["trend"][-2]["kpis"]["created"] == 3
    page = await client.get("/dashboard")
    assert page.status_code == 200 and "客服数据看板" in page.text and "chart.umd.min.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert (await client.get("/dashboard", params={"lang": "fr"})).status_code == 422
    js = await client.get("/static/vendor/chart.umd.min.js")
    assert js.status_code == 200 and "Chart.js v4" in js.text[:200]


NEW_ROUTES = [
    ("GET", "/api/v1/reports/kpis"), ("GET", "/api/v1/reports/kpis.csv"), ("GET", "/api/v1/reports/weekly"),
    ("GET", "/api/v1/reports/monthly"), ("GET", "/api/v1/reports/agents"), ("GET", "/api/v1/reports/agents.csv"),
    ("GET", "/api/v1/reports/high-frequency"), ("POST", "/api/v1/reports/spikes/scan"),
    ("GET", "/api/v1/dashboard/live"), ("POST", "/api/v1/admin/rebuild"), ("GET", "/api/v1/admin/unknown-events"),
]


async def test_new_routes_need_a_valid_token_and_role(running: dict[str, Any]) -> None:
    from servicekit.testing import token

    client = running["client"]
    expired = {"Authorization": "Bearer " + token(StaffRole.ADMIN, expired=True)}
    for method, path in NEW_ROUTES:
        assert (await client.request(method, path)).status_code == 401, path
        assert (await client.request(method, path, headers=expired)).status_code == 401, path
        r = await client.request(method, path, headers=auth_header(StaffRole.AGENT))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", path


async def test_new_routes_reject_bad_input(running: dict[str, Any]) -> None:
    client = running["client"]
    bad = [
        ("/api/v1/reports/kpis", {"start": "2026-13-01"}), ("/api/v1/reports/kpis", {"granularity": "hour"}),
        ("/api/v1/reports/kpis", {"start": D2, "end": D1}), ("/api/v1/reports/kpis", {"start": "2024-01-01", "end": D1}),
        ("/api/v1/reports/kpis", {"team": "a", "agent": "b"}), ("/api/v1/reports/kpis", {"channel": "pigeon"}),
        ("/api/v1/reports/kpis", {"top": 0}), ("/api/v1/reports/kpis.csv", {"agent": "x" * 65}),
        ("/api/v1/reports/weekly", {"week": "2026-W48"}), ("/api/v1/reports/monthly", {"month": "2026-13"}),
        ("/api/v1/reports/monthly", {"month": "2026-11-01"}), ("/api/v1/reports/agents", {"end": "x"}),
        ("/api/v1/reports/high-frequency", {"top": 1000}), ("/api/v1/dashboard/live", {"channel": "fax"}),
    ]
    for path, params in bad:
        r = await client.get(path, params=params, headers=SUPERVISOR)
        assert r.status_code == 422, (path, params, r.text)
        assert r.json()["error"]["code"] == "validation_error"
    r = await client.post("/api/v1/reports/spikes/scan", params={"day": "soon"}, headers=SUPERVISOR)
    assert r.status_code == 422


# ----------------------------------------------------------------------------- conversations (issue 18)
def conversation_events() -> tuple[list[Event], list[Event]]:
    """c001: the domain tests' conversation (agent A1, online chat, resolved on D2); c002 (agent A2, team vip):
    answered, then two customer messages in one turn whose next-response deadline passes unanswered; intake
    sends the first of them twice (a new event id for the same message). Delivered shuffled, with duplicates."""
    import random

    from .test_domain import _conversation_story

    c2 = [
        f.created("c002", local(D1, 9)),
        f.assigned("c002", local(D1, 9, 1), agent="A2", team="vip"),
        f.responded("c002", local(D1, 9, 30), agent="A2"),
        f.customer_replied("c002", local(D1, 10), count=1, assignee="A2"),
        f.customer_replied("c002", local(D1, 10, 30), count=2, assignee="A2"),
        f.warning("c002", local(D1, 10, 45), target="next_response"),
        f.breached("c002", local(D1, 11), target="next_response"),
    ]
    resend = f.customer_replied("c002", local(D1, 10), count=1, assignee="A2")
    distinct = [*_conversation_story("c001"), *c2, resend]
    delivered = [*distinct, *distinct[::4]]
    random.Random(18).shuffle(delivered)
    return delivered, distinct


async def test_conversation_figures_in_the_kpi_daily_and_agent_reports(running: dict[str, Any]) -> None:
    delivered, distinct = conversation_events()
    await deliver(running, *delivered)
    service, client = running["service"], running["client"]
    assert running["broker"].dead_letters == []
    assert await service.store.events.count_documents({}) == len(distinct)
    assert await stored_cells(service) == await cells_from_facts(service)
    fact = await service.fact("c002")
    assert fact is not None and len(fact.customer_replies) == 2  # the resent message is one

    body = (await client.get("/api/v1/reports/kpis", params={"start": D1, "end": D2}, headers=SUPERVISOR)).json()
    assert body["conversation"] == {
        "customer_replies": 7, "agent_responses": 5, "exchanges": 5, "replies_per_ticket": 3.5,
        "exchanges_per_resolved": 4.0, "next_response_met": 2, "next_response_breached": 2,
        "next_response_compliance": 0.5}
    assert "customer_replies" not in body["totals"] and body["totals"]["created"] == 2
    d1, d2 = (row["conversation"] for row in body["series"])
    assert (d1["customer_replies"], d1["agent_responses"], d1["exchanges"]) == (6, 4, 4)
    assert (d1["replies_per_ticket"], d1["exchanges_per_resolved"], d1["next_response_compliance"]) == (3.5, None, 0.3333)
    assert (d2["customer_replies"], d2["replies_per_ticket"], d2["exchanges_per_resolved"]) == (1, None, 4.0)
    assert d2["next_response_compliance"] == 1.0

    a1 = (await client.get("/api/v1/reports/kpis", params={"start": D1, "end": D2, "agent": "A1"},
                           headers=SUPERVISOR)).json()["conversation"]
    assert (a1["replies_per_ticket"], a1["exchanges_per_resolved"], a1["next_response_compliance"]) == (5.0, 4.0, 0.6667)
    vip = (await client.get("/api/v1/reports/kpis", params={"start": D1, "end": D2, "team": "vip"},
                            headers=SUPERVISOR)).json()["conversation"]
    assert (vip["customer_replies"], vip["next_response_breached"], vip["next_response_compliance"]) == (2, 1, 0.0)
    agents = (await client.get("/api/v1/reports/agents", params={"start": D1, "end": D2}, headers=SUPERVISOR)).json()
    assert [(a["agent_id"], a["replies_per_ticket"], a["exchanges_per_resolved"], a["next_response_compliance"])
            for a in agents] == [("A1", 5.0, 4.0, 0.6667), ("A2", 2.0, None, 0.0)]

    daily = (await client.get("/api/v1/reports/daily", params={"day": D1}, headers=SUPERVISOR)).json()
    assert daily["conversation"] == d1  # the day's cell, as in the KPI series
    assert daily == domain.daily_report(date.fromisoformat(D1), await service.store.all_facts(),
                                        f.TZ).model_dump(mode="json")  # … and as the facts give it
    rows = list(csv.reader(io.StringIO((await client.get(
        "/api/v1/reports/kpis.csv", params={"start": D1, "end": D2}, headers=SUPERVISOR)).text)))
    assert [f"{D1}..{D2}", "next_response_compliance", "", "0.5"] in rows and [D2, "customer_replies", "", "1"] in rows

    # the same numbers after a rebuild from the event log
    before_daily = daily
    await service.store.cells.update_one({"_id": f"{D1}|all"}, {"$inc": {"c.cust_replies": 50}})  # drift
    assert (await client.post("/api/v1/admin/rebuild", headers=auth_header(StaffRole.ADMIN))).status_code == 200
    again = (await client.get("/api/v1/reports/kpis", params={"start": D1, "end": D2}, headers=SUPERVISOR)).json()
    assert again == body
    assert (await client.get("/api/v1/reports/daily", params={"day": D1}, headers=SUPERVISOR)).json() == before_daily


async def test_a_redelivered_reply_or_breach_counts_once(running: dict[str, Any]) -> None:
    from datetime import timedelta

    service = running["service"]
    at = local(D1, 10) + timedelta(microseconds=123456)  # real times carry microseconds; MongoDB keeps ms
    events = [f.created("c010", local(D1, 9)), f.responded("c010", local(D1, 9, 10)),
              f.customer_replied("c010", at), f.breached("c010", local(D1, 11), target="next_response",
                                                           deadline=at + timedelta(hours=1))]
    for event in events:
        await service.record(event)
    before = await stored_cells(service)
    for event in events[2:]:
        assert await service.record(event) is False  # the same event again
    # the same message and breach published again under new event ids
    assert await service.record(f.customer_replied("c010", at)) is True
    assert await service.record(f.breached("c010", local(D1, 11, 1), target="next_response",
                                           deadline=at + timedelta(hours=1), count=2)) is True
    after = await stored_cells(service)
    conv = lambda cells: {c: domain.conversation_subset(x) for c, x in cells.items()}  # noqa: E731
    assert conv(after) == conv(before)  # (the ticket's SLA breach count does grow: every breach event counts)
    assert after[f"{D1}|all"]["cust_replies"] == 1 and after[f"{D1}|all"]["nr_breached"] == 1
    assert after[f"{D1}|all"]["breaches"] == 2 and after == await cells_from_facts(service)


async def test_dashboard_live_has_the_conversation_figures(running: dict[str, Any]) -> None:
    service, client = running["service"], running["client"]
    service.clock = lambda: local(D2, 12)
    await deliver(running, *conversation_events()[0])
    body = (await client.get("/api/v1/dashboard/live", headers=SUPERVISOR)).json()
    assert body["conversation"]["customer_replies"] == 1 and body["conversation"]["next_response_compliance"] == 1.0
    assert body["conversation_30d"]["next_response_compliance"] == 0.5
    assert body["trend"][-2]["conversation"]["customer_replies"] == 6
    assert body["agents"][0]["agent_id"] == "A1" and body["agents"][0]["exchanges_per_resolved"] == 4.0
