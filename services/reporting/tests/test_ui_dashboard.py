"""The dashboard page in headless Chromium (Playwright, sync API), fed by a seeded stream of events
through the in-memory broker: counters, charts with data, per-agent table, the English switch and
the token handling. Screenshots go to artifacts_dir."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts import Event, StaffRole
from reporting import testing as f
from reporting.app import ReportingSettings, create_app
from reporting.testing import local
from servicekit.testing import TEST_JWT_SECRET, LiveServer, token

TODAY = "2026-11-26"
DESKTOP = {"width": 1400, "height": 1500}


def seeded_stream(seed: int = 7, tickets: int = 45) -> list[Event]:
    """``tickets`` tickets over the 30 days up to TODAY: every channel and priority, four agents in two
    teams, responses, further customer messages and their answers (some next-response targets breached),
    resolutions (some after a reopening), closings, surveys and breaches."""
    rnd = random.Random(seed)
    channels = ["phone", "online_chat", "email", "social", "web_form"]
    cats = ["after_sales", "pre_sales", "complaint", "requirement", "other"]
    agents = [("A01", "general"), ("A02", "general"), ("A03", "vip"), ("A04", "vip")]
    out: list[Event] = []
    last = local(TODAY, 14)
    for n in range(tickets):
        tid = f"t{n:04d}"
        span = 14 * 60 if n < 12 else 30 * 24 * 60  # a dozen of them today
        created = last - timedelta(minutes=rnd.randrange(0, span))
        ch, (agent, team) = rnd.choice(channels), rnd.choice(agents)
        out += [f.created(tid, created, channel=ch),
                f.classified(tid, created + timedelta(minutes=1), category=rnd.choice(cats),
                             priority=rnd.choice(["P1", "P2", "P3", "P3", "P4"]), channel=ch),
                f.assigned(tid, created + timedelta(minutes=2), agent=agent, team=team)]
        t = created + timedelta(minutes=rnd.randrange(3, 240))
        if t < last:
            out.append(f.responded(tid, t, agent=agent))
            for n in range(1, 4):  # the customer writes again; most get an answer, some late
                if rnd.random() < 0.45:
                    break
                msg = t + timedelta(minutes=rnd.randrange(5, 180))
                out.append(f.customer_replied(tid, msg, count=n, channel=ch, assignee=agent))
                if rnd.random() < 0.3:
                    out.append(f.breached(tid, msg + timedelta(hours=1), target="next_response"))
                t = msg + timedelta(minutes=rnd.randrange(5, 150))
                out.append(f.responded(tid, t, agent=agent, first=False))
        if rnd.random() < 0.15:
            out.append(f.breached(tid, created + timedelta(hours=8)))
        done = created + timedelta(minutes=rnd.randrange(20, 4 * 24 * 60))
        if done < last and rnd.random() < 0.8:
            out.append(f.resolved(tid, done, agent=agent, channel=ch))
            if rnd.random() < 0.6:
                out.append(f.survey(tid, done + timedelta(hours=1), csat=rnd.choice([3.0, 4.0, 4.5, 5.0]), satisfied=True))
            if done + timedelta(days=3) < last:
                out.append(f.closed(tid, done + timedelta(days=3)))
    return [e for e in out if e.occurred_at <= last]


async def seed(running: dict[str, Any]) -> None:
    running["service"].clock = lambda: local(TODAY, 15)
    for event in seeded_stream():  # what the broker handler does with each message (tested there)
        await running["service"].record_raw(event.model_dump(mode="json"))


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    settings = ReportingSettings(jwt_secret=TEST_JWT_SECRET, business_timezone="Asia/Shanghai", log_format="text",
                                 dashboard_refresh_seconds=5)
    with LiveServer(create_app(settings), prepare=seed) as server:
        yield server


def chart_total(page: Any, canvas: str) -> float:
    return page.evaluate(
        """id => { const c = Chart.getChart(document.getElementById(id));
                  return c ? c.data.datasets.reduce((s, d) => s + d.data.reduce((a, b) => a + (+b || 0), 0), 0) : -1; }""",
        canvas,
    )


def dataset_total(page: Any, canvas: str, index: int) -> float:
    return page.evaluate(
        """([id, i]) => Chart.getChart(document.getElementById(id)).data.datasets[i].data
                         .reduce((a, b) => a + (+b || 0), 0)""",
        [canvas, index],
    )


def pct(value: float | None) -> str:
    """The page's percentage format (one decimal; JS toFixed)."""
    return "–" if value is None else f"{value * 100:.1f}%"


def dec(value: float | None) -> str:
    """The page's two-decimal format (JS String of a number: no trailing zeros)."""
    return "–" if value is None else f"{round(value, 2):g}"


def test_dashboard_renders_live_data_in_chromium(live: LiveServer, chromium: Any, artifacts_dir: Path) -> None:
    expected = live.call(live.running["client"].get(
        "/api/v1/dashboard/live", headers={"Authorization": "Bearer " + token(StaffRole.SUPERVISOR)})).json()
    assert expected["kpis"]["created"] > 0 and sum(expected["backlog_by_priority"].values()) > 0

    context = chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: errors.append("external request " + r.url) if not r.url.startswith(live.url) else None)

    page.goto(live.url + "/dashboard")
    page.wait_for_selector("#status:has-text('请输入主管令牌')")
    assert page.locator("#cards .card").count() == 0  # no token, no data
    page.fill("#token", token(StaffRole.SUPERVISOR, staff_id="S1"))
    page.click("#login button")
    page.wait_for_selector("body[data-loaded='true']")

    created = page.locator("#cards .card[data-metric='created'] .value").inner_text()
    assert created == str(expected["kpis"]["created"])
    backlog = page.locator("#cards .card[data-metric='backlogNow'] .value").inner_text()
    assert backlog == str(sum(expected["backlog_by_priority"].values()))
    trend_total = sum(r["kpis"]["created"] + r["kpis"]["resolved"] + r["kpis"]["backlog"] for r in expected["trend"])
    assert chart_total(page, "trendChart") == trend_total
    assert chart_total(page, "backlogChart") == sum(expected["backlog_by_priority"].values())
    assert chart_total(page, "histChart") == sum(b["count"] for bs in expected["resolution_histogram"].values() for b in bs) > 0
    assert chart_total(page, "channelChart") == expected["kpis"]["created"]
    assert page.locator("#agents tbody tr").count() == len(expected["agents"]) > 0
    assert page.locator("h1").inner_text() == "客服数据看板"
    # the conversation figures: today's cards, the 30-day chart and summary, the agents' columns
    conv, conv30 = expected["conversation"], expected["conversation_30d"]
    assert conv30["customer_replies"] > 0 and conv30["next_response_breached"] > 0
    card = lambda m: page.locator(f"#cards .card[data-metric='{m}'] .value").inner_text()  # noqa: E731
    assert card("nextResponse") == pct(conv["next_response_compliance"])
    assert card("repliesPerTicket") == dec(conv["replies_per_ticket"])
    assert card("exchangesPerResolved") == dec(conv["exchanges_per_resolved"])
    assert dataset_total(page, "convChart", 0) == sum(r["conversation"]["customer_replies"] for r in expected["trend"])
    assert dataset_total(page, "convChart", 1) == sum(r["conversation"]["agent_responses"] for r in expected["trend"])
    assert pct(conv30["next_response_compliance"]) in page.locator("#convSummary").inner_text()
    assert page.locator("#agents thead th").count() == 10
    assert page.locator("#agents tbody tr").first.locator("td").nth(9).inner_text() == pct(
        expected["agents"][0]["next_response_compliance"])
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts_dir / "reporting-dashboard-zh.png"), full_page=True)

    page.click("#lang")
    assert page.locator("h1").inner_text() == "Support dashboard"
    assert page.locator("#cards .card[data-metric='created'] .label").inner_text() == "Created today"
    assert page.locator("#cards .card[data-metric='nextResponse'] .label").inner_text() == "Next-response compliance"
    assert page.locator("[data-i18n='conversations']").inner_text() == "Conversations (30 days)"
    assert page.locator("#status").inner_text().startswith("Updated")
    assert page.evaluate("Chart.getChart(document.getElementById('trendChart')).data.datasets[0].label") == "Created"
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts_dir / "reporting-dashboard-en.png"), full_page=True)

    # the token survives a reload (sessionStorage), a bad one is dropped
    page.reload()
    page.wait_for_selector("body[data-loaded='true']")
    page.evaluate("sessionStorage.setItem('helpdesk.reporting.token', 'garbage')")
    page.reload()
    page.wait_for_selector("#status.error")
    assert page.evaluate("sessionStorage.getItem('helpdesk.reporting.token')") is None
    assert errors == []
    context.close()


def test_a_token_in_the_fragment_is_taken_and_removed(live: LiveServer, chromium: Any) -> None:
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(live.url + "/dashboard?lang=en#token=" + token(StaffRole.ADMIN))
    page.wait_for_selector("body[data-loaded='true']")
    assert "#" not in page.url and page.locator("h1").inner_text() == "Support dashboard"
    context.close()
