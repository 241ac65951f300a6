"""Scheduled report delivery (issue 19; seeds 000 七 客服工作日报, 004 四 自动日报) over the real broker and
database, with the clock the test controls: a supervisor subscribes to the daily report with e-mail; at the
next business day's close the report is composed once, the supervisor finds it once in the in-app inbox and
the staff gateway receives it once with the CSV attached (its figures are today's tickets). Reporting is then
stopped across the next close and started again: that report is caught up once; another restart doubles
nothing.

The business calendar is reporting's default (Monday–Friday, no holidays, close 18:00 Asia/Shanghai)."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import time as clock_time
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from contracts import StaffRole
from servicekit.testing import auth_header, eventually, json_if_ok

pytestmark = pytest.mark.e2e
TZ = ZoneInfo("Asia/Shanghai")
CLOSE = time(18, 0)


def business(day: date) -> bool:
    return day.isoweekday() <= 5


def next_close_after(moment: datetime) -> date:
    """The first business day whose close is after ``moment``."""
    day = moment.astimezone(TZ).date()
    while not (business(day) and datetime.combine(day, CLOSE, tzinfo=TZ) > moment):
        day += timedelta(days=1)
    return day


def previous_business(day: date) -> date:
    day -= timedelta(days=1)
    while not business(day):
        day -= timedelta(days=1)
    return day


def submit(platform: Any, n: int, run: str) -> str:
    body = {"schema_version": 1, "channel": "web_form", "channel_message_id": f"rep-{run}-{n}",
            "subject": "发票抬头开错了", "description": f"发票抬头需要重开 #{n}",
            "customer": {"email": f"rep-{run}-{n}@example.com"}}
    r = httpx.post(platform.url("intake") + "/api/v1/submissions", json=body, timeout=10,
                   headers={"X-API-Key": platform.channel_keys["web_form"]})
    assert r.status_code == 201, r.text
    return r.json()["ticket_id"]


def test_the_daily_report_reaches_a_subscribed_supervisor_once_also_across_restarts(platform: Any) -> None:
    run = uuid.uuid4().hex[:8]
    sup = f"e2e-rep-{run}"
    me = auth_header([StaffRole.SUPERVISOR], staff_id=sup)
    reporting, dispatcher = platform.url("reporting"), platform.url("dispatcher")

    def my_reports() -> list[dict[str, Any]]:
        r = httpx.get(dispatcher + "/api/v1/notifications/mine", headers=me, params={"limit": 100}, timeout=5)
        assert r.status_code == 200, r.text
        return [n for n in r.json()["items"] if n["kind"] == "report.ready"]

    def mailed(report_id: str) -> list[dict[str, Any]]:
        return [n for n in platform.gateway.of_kind("report.ready")
                if n["recipient"] == sup and n["data"].get("report_id") == report_id]

    # a few tickets today, settled in reporting's facts
    tids = [submit(platform, n, run) for n in range(3)]
    eventually(lambda: all(json_if_ok(platform.get("reporting", f"/api/v1/facts/{t}")) for t in tids), timeout=30)

    r = httpx.put(reporting + "/api/v1/reports/subscriptions/mine", headers=me, timeout=5,
                  json={"daily": True, "weekly": False, "monthly": False, "external": "email"})
    assert r.status_code == 200 and r.json()["daily"] is True, r.text

    now = datetime.now(UTC)
    today = now.astimezone(TZ).date()
    # the next close that has no report yet (a test before this one may have moved the clock further)
    newest = httpx.get(reporting + "/api/v1/reports/deliveries", headers=me, params={"kind": "daily", "limit": 1},
                       timeout=5).json()
    after = max([now + timedelta(minutes=2), *(datetime.fromisoformat(r["due_at"]) for r in newest)])
    day = next_close_after(after)
    start = previous_business(day) + timedelta(days=1)
    covers_today = start <= today <= day
    expected = platform.get("reporting", "/api/v1/reports/kpis",
                            params={"start": start.isoformat(), "end": day.isoformat()}).json()["totals"]["created"]
    if covers_today:
        assert expected >= len(tids)
    report_id = f"daily:{day.isoformat()}"
    try:
        # ---- the close of that business day, plus a minute: composed once, delivered once
        platform.set_clock(datetime.combine(day, CLOSE, tzinfo=TZ) + timedelta(minutes=1))
        run_doc = eventually(lambda: json_if_ok(httpx.get(f"{reporting}/api/v1/reports/deliveries/{report_id}",
                                                          headers=me, timeout=5)), timeout=30)
        assert (run_doc["start"], run_doc["end"]) == (start.isoformat(), day.isoformat())
        assert {"staff_id": sup, "external": "email"} in run_doc["recipients"]
        [note] = eventually(lambda: [n for n in my_reports() if n["data"]["report_id"] == report_id], timeout=30)
        assert note["data"]["link"] == "/#/dashboard" and note["channel"] == "in_app"
        assert note["subject"].startswith("客服工作日报") and "新建工单" in note["body"]
        [sent] = eventually(lambda: mailed(report_id), timeout=30)
        [attachment] = sent["data"]["attachments"]
        raw = base64.b64decode(attachment["content_base64"])
        assert hashlib.sha256(raw).hexdigest() == attachment["sha256"] == run_doc["csv_sha256"]
        rows = list(csv.DictReader(io.StringIO(raw.decode())))
        whole = f"{start}..{day}"
        created = {r["period"]: r["value"] for r in rows if r["metric"] == "created" and not r["key"]}
        assert int(created[whole]) == expected
        if covers_today:  # today's tickets are in the report's day-by-day rows
            assert int(created[today.isoformat()]) >= len(tids)
        else:  # after today's close: the next report restates today's final figures, today's tickets included
            assert start - timedelta(days=1) == today
            final = {r["period"]: r["value"] for r in rows if r["metric"] == "final:created"}
            assert int(final[today.isoformat()]) >= len(tids)
        csv_r = httpx.get(f"{reporting}/api/v1/reports/deliveries/{report_id}.csv", headers=me, timeout=5)
        assert csv_r.content == raw

        # ---- reporting is down across the next close; started again, it catches that report up once
        platform.stack.stop(["reporting"])
        nxt = day + timedelta(days=1)
        while not business(nxt):
            nxt += timedelta(days=1)
        next_id = f"daily:{nxt.isoformat()}"
        platform.set_clock(datetime.combine(nxt, CLOSE, tzinfo=TZ) + timedelta(minutes=3))
        platform.stack.start(["reporting"])
        platform.stack.wait_ready(timeout=90)
        eventually(lambda: [n for n in my_reports() if n["data"]["report_id"] == next_id], timeout=30)
        eventually(lambda: mailed(next_id), timeout=30)

        # ---- and once more: a restart at the same time doubles nothing
        platform.stack.stop(["reporting"])
        platform.stack.start(["reporting"])
        platform.stack.wait_ready(timeout=90)
        clock_time.sleep(4)  # several scheduler ticks (SCHEDULE_TICK_SECONDS=1) and dispatcher delivery passes
        notes = my_reports()
        assert sorted(n["data"]["report_id"] for n in notes) == sorted([report_id, next_id])
        assert len(mailed(report_id)) == 1 and len(mailed(next_id)) == 1
        runs = httpx.get(reporting + "/api/v1/reports/deliveries", headers=me, params={"kind": "daily"},
                         timeout=5).json()
        ids = [r["id"] for r in runs]
        assert ids.count(report_id) == 1 and ids.count(next_id) == 1 and ids.index(next_id) < ids.index(report_id)
    finally:
        platform.reset_clock()

