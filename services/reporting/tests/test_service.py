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
from reporting.testing import local
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
}
EXPECTED_D2 = {
    "day": D2, "created": 1, "resolved": 1, "closed": 1, "reopened": 0,
    "by_category": {"pre_sales": 1}, "by_channel": {"web_form": 1}, "by_priority": {"P4": 1}, "by_status": {"new": 1},
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
        from_facts = domain.daily_report(date.fromisoformat(day), await store.all_facts())
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

    async def update_fact(self, ticket_id: str, revision: int, event_id: str, changes: dict[str, Any]) -> bool:
        if not self.raced:
            self.raced = True
            self.service.store = ReportingStore(self.db)
            await self.service.apply_to_fact(self.rival)
            self.service.store = self
        return await super().update_fact(ticket_id, revision, event_id, changes)


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
    unknown = {**f.created("t021", local(D1, 9)).model_dump(mode="json"), "event_type": "ticket.teleported"}
    await broker.publish(bad_payload, exchange=kit.bus.events_exchange, routing_key="ticket.created")
    await broker.publish(unknown, exchange=kit.bus.events_exchange, routing_key="ticket.teleported")
    await broker.publish(b"{not json", exchange=kit.bus.events_exchange, routing_key="ticket.created")

    assert len(broker.dead_letters) == 3
    reasons = [d["headers"]["x-dead-letter-reason"] for d in broker.dead_letters]
    assert all(d["queue"] == "reporting.all" for d in broker.dead_letters)
    assert "payload.channel" in reasons[0]
    assert "ticket.teleported" in reasons[1] and broker.dead_letters[1]["headers"]["x-error-type"] == "UnknownEventType"
    assert "body" in reasons[2]  # not JSON: FastStream cannot make a dict of it
    store = running["service"].store
    assert await store.events.count_documents({}) == 0 and await store.facts.count_documents({}) == 0


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
    rows = {(row[1], row[2]): int(row[3]) for row in list(csv.reader(io.StringIO(r.text)))[1:]}
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
