"""Scheduled reports (seed 000 七, 004 四): composed once per period from the KPI cells, delivered through
``report.ready`` to the subscribers; the subscription and delivery API with its roles."""

from __future__ import annotations

import asyncio
import base64
import csv
import hashlib
import io
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from pydantic import ValidationError

import reporting.service
from contracts import StaffRole, parse_event
from contracts.events_reporting import ReportReady
from reporting import testing as f
from reporting.app import ReportingSettings
from reporting.schedule import ReportCalendar, weekly_period
from reporting.service import ReportingService, Subscription
from reporting.store import ReportingStore
from reporting.testing import local
from servicekit.clock import FrozenClock
from servicekit.testing import auth_header

CAL = ReportCalendar(timezone="Asia/Shanghai")
FRIDAY, SATURDAY, MONDAY = "2026-11-27", "2026-11-28", "2026-11-30"
SUPERVISOR = auth_header(StaffRole.SUPERVISOR, staff_id="S1")


def at_local(day: str, hh: int, mm: int = 0) -> datetime:
    return CAL.at(date.fromisoformat(day), time(hh, mm))


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def value(text: str, metric: str, period: str) -> str:
    return next(r["value"] for r in rows(text) if r["metric"] == metric and r["period"] == period and not r["key"])


async def a_weekend_of_tickets(service: ReportingService) -> None:
    """Two tickets on Friday, one on Saturday (the Monday report covers it), one resolved by A2."""
    for event in [f.created("w1", local(FRIDAY, 9)), f.assigned("w1", local(FRIDAY, 9, 5), agent="A1"),
                  f.responded("w1", local(FRIDAY, 9, 15)), f.resolved("w1", local(FRIDAY, 11)),
                  f.created("w2", local(FRIDAY, 10)),
                  f.created("w3", local(SATURDAY, 10)), f.assigned("w3", local(SATURDAY, 10, 1), agent="A2"),
                  f.resolved("w3", local(MONDAY, 10), agent="A2")]:
        await service.record(event)


async def test_two_replicas_claim_a_period_once_and_the_run_carries_its_event(real_db: Any) -> None:
    clock = FrozenClock(at_local(MONDAY, 18, 1))
    replicas = [ReportingService(ReportingStore(real_db), timezone="Asia/Shanghai", calendar=CAL, schedule_clock=clock)
                for _ in range(2)]
    store = replicas[0].store
    await store.ensure_indexes()
    await a_weekend_of_tickets(replicas[0])
    await replicas[0].save_subscription("S1", "Sun Li", "supervisor", Subscription(daily=True, external="email"))
    await replicas[0].save_subscription("S2", "Admin", "admin", Subscription(weekly=True, monthly=True))

    results = await asyncio.gather(*(r.deliver_due_reports() for r in replicas))
    made = sorted(i for ids in results for i in ids)
    assert made == ["daily:2026-11-30", "monthly:2026-10", "weekly:2026-W48"]
    assert await store.runs.count_documents({}) == 3
    # the claim itself: racing inserts of one period, one winner
    claims = await asyncio.gather(*(ReportingStore(real_db).insert_run({"_id": "daily:2026-12-01", "n": i})
                                    for i in range(8)))
    assert sorted(claims) == [False] * 7 + [True]
    await store.runs.delete_one({"_id": "daily:2026-12-01"})
    # a restart (or the next tick) finds every run and composes nothing
    assert await replicas[1].deliver_due_reports() == []

    doc = await store.runs.find_one({"_id": "daily:2026-11-30"})
    assert (doc["start"], doc["end"]) == (SATURDAY, MONDAY)  # Monday's report covers the weekend
    assert value(doc["csv"], "created", f"{SATURDAY}..{MONDAY}") == "1"
    assert value(doc["csv"], "resolved", MONDAY) == "1"
    assert doc["recipients"] == [{"staff_id": "S1", "external": "email"}]
    [entry] = doc["outbox"]
    event = parse_event(entry["event"])
    assert isinstance(event, ReportReady)
    p = event.payload
    assert (p.report_id, p.kind, p.period, p.start, p.end) == ("daily:2026-11-30", "daily", MONDAY, SATURDAY, MONDAY)
    assert str(event.event_id) == doc["event_id"]
    assert p.attachment is not None and p.attachment.filename == "daily-report-2026-11-30.csv"
    raw = base64.b64decode(p.attachment.content_base64)
    assert raw.decode() == doc["csv"] and hashlib.sha256(raw).hexdigest() == p.attachment.sha256
    assert p.link == "/#/dashboard" and p.csv_path.endswith("/reports/deliveries/daily:2026-11-30.csv")
    assert any("新建工单 1" in line for line in p.summary)

    weekly = await store.runs.find_one({"_id": "weekly:2026-W48"})
    assert (weekly["start"], weekly["end"]) == ("2026-11-23", "2026-11-29")
    assert weekly["recipients"] == [{"staff_id": "S2", "external": "none"}]
    agents = {r["key"]: r["value"] for r in rows(weekly["csv"]) if r["metric"] == "agent:handled"}
    assert agents == {"A1": "1", "A2": "0"}  # A2 holds a ticket of the week but resolved it on Monday, the next week
    assert value(weekly["csv"], "created", "2026-11-23..2026-11-29") == "3"
    # the department analysis: per team (the fixtures' tickets are all team "general")
    teams = {r["metric"]: r["value"] for r in rows(weekly["csv"]) if r["key"] == "general" and r["metric"].startswith("team:")}
    assert (teams["team:created"], teams["team:resolved"]) == ("2", "1") and weekly["teams"]["general"]["resolved"] == 1


async def test_a_missed_run_is_caught_up_once_latest_only(real_db: Any) -> None:
    clock = FrozenClock(at_local("2026-11-24", 18, 5))
    service = ReportingService(ReportingStore(real_db), timezone="Asia/Shanghai", calendar=CAL, schedule_clock=clock)
    await service.store.ensure_indexes()
    assert "daily:2026-11-24" in await service.deliver_due_reports()
    clock.set(at_local("2026-11-27", 20))  # down Wednesday and Thursday evening: only Friday's comes
    assert await service.deliver_due_reports() == ["daily:2026-11-27"]
    assert await service.deliver_due_reports() == []
    assert [r["id"] for r in await service.deliveries("daily", 10)] == ["daily:2026-11-27", "daily:2026-11-24"]
    # no backlog: Wednesday's and Thursday's reports are not sent late (their figures stay in the KPI reports)
    friday = await service.delivery("daily:2026-11-27")
    assert friday is not None and (friday["start"], friday["end"]) == ("2026-11-27", "2026-11-27")
    assert await service.delivery("daily:2026-11-26") is None


async def test_subscription_and_delivery_api_with_roles(running: dict[str, Any]) -> None:
    client, service = running["client"], running["service"]
    service.schedule_clock = FrozenClock(datetime(2026, 11, 30, 10, 1, tzinfo=UTC))  # Monday 18:01 Shanghai
    agent = auth_header(StaffRole.AGENT, staff_id="A1")
    admin = auth_header(StaffRole.ADMIN, staff_id="root")

    assert (await client.get("/api/v1/reports/subscriptions/mine", headers=agent)).status_code == 403
    r = await client.get("/api/v1/reports/subscriptions/mine", headers=SUPERVISOR)
    assert r.status_code == 200 and r.json()["daily"] is False and r.json()["external"] == "none"
    assert r.json()["next"]["daily"].startswith("2026-12-01T10:00")
    bad = await client.put("/api/v1/reports/subscriptions/mine", headers=SUPERVISOR,
                           json={"daily": True, "external": "fax"})
    assert bad.status_code == 422
    r = await client.put("/api/v1/reports/subscriptions/mine", headers=SUPERVISOR,
                         json={"daily": True, "weekly": True, "external": "im"})
    assert r.status_code == 200 and (r.json()["daily"], r.json()["monthly"], r.json()["external"]) == (True, False, "im")
    assert (await client.get("/api/v1/reports/subscriptions", headers=SUPERVISOR)).status_code == 403
    listed = (await client.get("/api/v1/reports/subscriptions", headers=admin)).json()
    assert [(s["staff_id"], s["role"], s["weekly"]) for s in listed] == [("S1", "supervisor", True)]

    await service.deliver_due_reports()
    runs = (await client.get("/api/v1/reports/deliveries", headers=SUPERVISOR)).json()
    mine = [r for r in runs if r["id"] == "daily:2026-11-30"]
    assert mine and mine[0]["recipients"] == [{"staff_id": "S1", "external": "im"}]
    one = await client.get("/api/v1/reports/deliveries/daily:2026-11-30", headers=SUPERVISOR)
    assert one.status_code == 200 and one.json()["agents"] == []
    csv_r = await client.get("/api/v1/reports/deliveries/daily:2026-11-30.csv", headers=SUPERVISOR)
    assert csv_r.status_code == 200 and csv_r.text.startswith("period,metric,key,value")
    assert hashlib.sha256(csv_r.content).hexdigest() == one.json()["csv_sha256"]
    assert 'filename="daily-report-2026-11-30.csv"' in csv_r.headers["content-disposition"]
    assert (await client.get("/api/v1/reports/deliveries/daily:2026-11-29", headers=SUPERVISOR)).status_code == 404
    assert (await client.get("/api/v1/reports/deliveries/nope", headers=SUPERVISOR)).status_code == 422
    assert (await client.get("/api/v1/reports/deliveries", headers=agent)).status_code == 403


async def test_a_csv_above_the_limit_is_not_attached_and_an_odd_subscription_is_skipped(
        real_db: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(reporting.service, "MAX_ATTACHMENT_BYTES", 100)
    service = ReportingService(ReportingStore(real_db), timezone="Asia/Shanghai", calendar=CAL,
                               schedule_clock=FrozenClock(at_local(MONDAY, 18, 1)))
    await service.save_subscription("S1", "Sun Li", "supervisor", Subscription(daily=True, external="im"))
    await service.save_subscription("x" * 100, "", "supervisor", Subscription(daily=True))  # too long an id
    await service.deliver_due_reports()
    doc = await service.store.runs.find_one({"_id": "daily:2026-11-30"})
    event = parse_event(doc["outbox"][0]["event"])
    assert isinstance(event, ReportReady) and event.payload.attachment is None and doc["attached"] is False
    assert doc["csv_size"] > 100 and event.payload.csv_path.endswith("daily:2026-11-30.csv")
    assert [r.staff_id for r in event.payload.recipients] == ["S1"]


def test_the_calendar_comes_from_the_settings_and_bad_ones_are_refused() -> None:
    settings = ReportingSettings(report_workdays="1,2,3,4,5,6", report_holidays="2026-12-07",
                                 report_close_time="17:30", report_morning_time="08:00", business_timezone="UTC")
    cal = settings.report_calendar()
    assert (cal.timezone, cal.close, cal.morning) == ("UTC", time(17, 30), time(8, 0))
    assert cal.is_business_day(date(2026, 12, 5)) and not cal.is_business_day(date(2026, 12, 7))
    # Monday 7 December off: the weekly report comes on Tuesday morning
    assert weekly_period(date(2026, 12, 7), cal).due_at == datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
    for bad in ({"report_workdays": "0,1"}, {"report_workdays": ""}, {"report_holidays": "2026-02-30"},
                {"report_close_time": "25:00"}):
        with pytest.raises(ValidationError):
            ReportingSettings(**bad)  # type: ignore[arg-type]


async def test_the_evening_after_a_daily_report_is_told_in_the_next_one(real_db: Any) -> None:
    """Friday's report goes out at 18:00 with Friday's two tickets; one more comes in at 20:00 (Friday in
    the KPI cells). Monday's report covers Saturday–Monday and restates Friday's final figures: 3 created,
    1 after its report — so no ticket is left out of the daily reports and none is counted twice."""
    clock = FrozenClock(at_local(FRIDAY, 18, 1))
    service = ReportingService(ReportingStore(real_db), timezone="Asia/Shanghai", calendar=CAL, schedule_clock=clock)
    await service.store.ensure_indexes()
    await a_weekend_of_tickets(service)
    assert "daily:2026-11-27" in await service.deliver_due_reports()
    friday = await service.store.get_run("daily:2026-11-27", with_csv=True)
    assert value(friday["csv"], "created", FRIDAY) == "2"
    assert value(friday["csv"], "final:created", "2026-11-26") == "0"  # Thursday restated: nothing came late
    await service.record(f.created("w4", local(FRIDAY, 20)))  # after Friday's report
    clock.set(at_local(MONDAY, 18, 1))
    assert "daily:2026-11-30" in await service.deliver_due_reports()
    monday = await service.store.get_run("daily:2026-11-30", with_csv=True)
    assert value(monday["csv"], "created", f"{SATURDAY}..{MONDAY}") == "1"  # the period itself: unchanged
    assert value(monday["csv"], "final:created", FRIDAY) == "3"
    assert any(line.startswith(f"上一报告日 {FRIDAY} 终值：新建 3（日报发出后新增 1 单）") for line in monday["summary"])
