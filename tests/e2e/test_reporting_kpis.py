"""Reporting's KPIs over the real services: a scripted set of tickets goes through intake, classifier,
dispatcher and sla-monitor on the real RabbitMQ; every KPI of the reporting service is checked
against values the test computes itself from the tickets' milestones, then the admin rebuild must
reproduce the same numbers.

The tickets come in on the ``social`` channel, which no other end-to-end test uses, and the report
is read for that channel: other tests' tickets cannot disturb the numbers.
"""

from __future__ import annotations

import json
import statistics
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from contracts import StaffRole
from servicekit.testing import auth_header, eventually, json_if_ok

pytestmark = pytest.mark.e2e
TZ = ZoneInfo("Asia/Shanghai")


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def bin_minutes(seconds: float) -> int:
    """The report's time bins (exact minutes under an hour — all of this script's times)."""
    minutes = int(seconds // 60)
    assert minutes < 60
    return minutes


def submit(platform: Any, n: int) -> str:
    cmid = f"kpi-{uuid.uuid4().hex[:8]}-{n}"
    body = {"schema_version": 1, "channel": "social", "channel_message_id": cmid, "subject": "手机无法开机",
            "description": f"新买的手机无法开机 #{n}", "customer": {"social_handle": f"weibo-{cmid}"}}
    r = httpx.post(platform.url("intake") + "/api/v1/submissions", json=body, timeout=10,
                   headers={"X-API-Key": platform.channel_keys["social"]})
    assert r.status_code == 201, r.text
    return r.json()["ticket_id"]


def act(platform: Any, tid: str, action: str, body: dict[str, Any]) -> None:
    r = platform.post("intake", f"/api/v1/tickets/{tid}/{action}", json=body)
    assert r.status_code == 200, (action, r.text)


def test_every_kpi_matches_an_independent_computation_and_survives_a_rebuild(platform: Any) -> None:
    report_params = {"channel": "social"}
    before = platform.get("reporting", "/api/v1/reports/kpis", params=report_params).json()
    assert before["totals"]["created"] == 0, "another test used the social channel today"

    # the script: 0 answered + resolved; 1 answered, resolved, reopened, resolved; 2 answered; 3 untouched
    tids = [submit(platform, n) for n in range(4)]
    for tid in tids:
        eventually(lambda tid=tid: (t := json_if_ok(platform.get("intake", f"/api/v1/tickets/{tid}")))
                   and t.get("assignee_id") and t["status"] == "assigned" and t, timeout=30)
    for tid in tids[:3]:
        act(platform, tid, "responses", {"text": "您好，请长按电源键 10 秒"})
    act(platform, tids[0], "resolve", {"summary": "hard reset"})
    act(platform, tids[1], "resolve", {"summary": "hard reset"})
    act(platform, tids[1], "reopen", {"reason": "still dead"})
    act(platform, tids[1], "resolve", {"summary": "replaced"})

    def settled() -> list[dict[str, Any]] | None:
        facts = [json_if_ok(platform.get("reporting", f"/api/v1/facts/{tid}")) for tid in tids]
        if not all(facts):
            return None
        ok = (all(f["agent_id"] and f["category"] and f["created_at"] for f in facts)
              and all(f["first_response_at"] for f in facts[:3])
              and len(facts[0]["resolutions"]) == 1 and len(facts[1]["resolutions"]) == 2
              and facts[1]["reopen_count"] == 1)
        return facts if ok else None

    facts = eventually(settled, timeout=30)
    tickets = {tid: platform.get("intake", f"/api/v1/tickets/{tid}").json() for tid in tids}
    for fact in facts:  # the projection agrees with intake, the owner of the tickets
        ticket = tickets[fact["ticket_id"]]
        assert fact["agent_id"] == ticket["assignee_id"] and fact["status"] == ticket["status"]
        assert fact["category"] == ticket["category"] and fact["channel"] == "social"

    # independent computation from the milestones
    days = {at(f["created_at"]).astimezone(TZ).date().isoformat() for f in facts}
    assert len(days) == 1, "the script crossed midnight; run it again"
    day = days.pop()
    frt = [(at(f["first_response_at"]) - at(f["created_at"])).total_seconds() for f in facts[:3]]
    rt = [(at(f["resolutions"][-1]) - at(f["created_at"])).total_seconds() for f in facts[:2]]
    expected = {
        "created": 4, "resolved": 2, "reopened": 1, "closed": 0, "backlog": 2,
        "first_response_avg_min": round(sum(frt) / len(frt) / 60, 2),
        "first_response_median_min": float(statistics.median(bin_minutes(s) for s in frt)),
        "resolution_avg_min": round(sum(rt) / len(rt) / 60, 2),
        "resolution_median_min": float(statistics.median(bin_minutes(s) for s in rt)),
        "resolution_rate": 0.5, "first_contact_resolution": 0.5, "sla_compliance": 1.0,
        "csat_avg": None, "csat_responses": 0, "satisfaction_rate": None, "breached_tickets": 0,
    }
    priorities: dict[str, int] = {}
    for f in facts[2:]:
        priorities[f["priority"]] = priorities.get(f["priority"], 0) + 1
    categories: dict[str, int] = {}
    for f in facts:
        categories[f["category"]] = categories.get(f["category"], 0) + 1
    agents: dict[str, int] = {}
    for f in facts[:2]:
        agents[f["agent_id"]] = agents.get(f["agent_id"], 0) + 1

    def report() -> dict[str, Any]:
        r = platform.get("reporting", "/api/v1/reports/kpis", params={**report_params, "start": day, "end": day})
        assert r.status_code == 200, r.text
        return r.json()

    def check(body: dict[str, Any]) -> None:
        assert body["totals"] == expected
        assert {k: v for k, v in body["backlog_by_priority"].items() if v} == priorities
        assert {t["key"]: t["count"] for t in body["top_categories"]} == categories
        assert sum(r["total"] for r in body["sla_by_priority"]) == 2
        assert {r["key"]: (r["total"], r["met"]) for r in body["sla_by_channel"]}["social"] == (2, 2)
        assert sum(b["count"] for bs in body["resolution_histogram"].values() for b in bs) == 2

    first = eventually(lambda: (b := report()) and b["totals"] == expected and b, timeout=20)
    check(first)
    rows = platform.get("reporting", "/api/v1/reports/agents", params={"start": day, "end": day}).json()
    handled = {r["agent_id"]: r["handled"] for r in rows}
    assert all(handled.get(a, 0) >= n for a, n in agents.items())
    csv_text = platform.get("reporting", "/api/v1/reports/kpis.csv",
                            params={**report_params, "start": day, "end": day}).text
    assert f"{day}..{day},created,,4" in csv_text

    admin = auth_header(StaffRole.ADMIN, staff_id="e2e-admin")
    r = httpx.post(platform.url("reporting") + "/api/v1/admin/rebuild", headers=admin, timeout=60)
    assert r.status_code == 200, r.text
    again = report()
    assert json.dumps(again, sort_keys=True) == json.dumps(first, sort_keys=True)
