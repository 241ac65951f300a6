"""Crisis mode end to end (issue 19; seed 001 应急预案) on the six services over the real RabbitMQ, with the
console in real headless Chromium:

1. a burst of complaints makes reporting detect a spike (category complaint);
2. a supervisor opens an incident from that spike in the console (team of two agents created for the run,
   the approved reply, an SLA override of 15 / 240 minutes);
3. the next complaints are routed to the incident team, carry the incident tag, and their SLA clocks run
   on the override (policy ``incident:<id>``); reporting counts them on the incident's panel;
4. an agent of the team sees the banner with the approved reply on every page and inserts it into the
   reply box of the incident's ticket (screenshots: artifacts/screenshots/console-crisis-*.png);
5. the supervisor closes the incident: the banner goes, the next complaint is routed normally, untagged.
The run's tickets are closed at the end so later tests find the seeded agents' slots free.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from contracts import StaffRole
from servicekit.testing import auth_header, eventually, json_if_ok, page_faults

pytestmark = pytest.mark.e2e

ADMIN = auth_header(StaffRole.ADMIN, staff_id="e2e-crisis-admin")
DESK = {"width": 1366, "height": 768}
TEMP, NEW = "Temp-Pass-2026!", "Crisis-Pass-2026#"
SUFFIX = uuid.uuid4().hex[:5]
SUP, A1, A2 = f"crs-sup-{SUFFIX}", f"crs-a1-{SUFFIX}", f"crs-a2-{SUFFIX}"
REPLY = "非常抱歉！受暴雨影响部分快递延误，我们已安排专人跟进，48 小时内给您答复。"
COMPLAINT = "我要投诉，快递三天没有更新，客服也没人理，太差了"


def today() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def call(platform: Any, method: str, service: str, path: str, who: dict[str, str] | None = None, **kw: Any) -> Any:
    r = httpx.request(method, f"{platform.url(service)}/api/v1/{path}", headers=who or platform.staff, timeout=10, **kw)
    assert r.status_code < 300, f"{method} {service}/{path}: {r.status_code} {r.text}"
    return r.json() if r.content else None


def submit(platform: Any, n: int) -> str:
    body = {"channel": "email", "channel_message_id": f"crisis-{SUFFIX}-{n}", "subject": "投诉：物流延误",
            "description": f"{COMPLAINT}（第{n}单）", "customer": {"name": f"客户{n}", "email": f"crisis{n}.{SUFFIX}@example.com"}}
    r = platform.post("intake", "/api/v1/submissions", json=body, headers={"X-API-Key": platform.channel_keys["email"]})
    assert r.status_code == 201, r.text
    return str(r.json()["ticket_id"])


def assignment(platform: Any, tid: str) -> dict[str, Any]:
    return eventually(lambda: (a := json_if_ok(platform.get("dispatcher", f"/api/v1/assignments/{tid}")))
                      and a["status"] in ("assigned", "queued") and a, timeout=40)


class Desk:
    def __init__(self, chromium: Any, base: str, shots: Path) -> None:
        self.context = chromium.new_context(viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai")
        self.page = self.context.new_page()
        self.errors = page_faults(self.page)
        self.page.set_default_timeout(20_000)
        self.base, self.shots = base, shots

    def sign_in(self, staff_id: str) -> None:
        self.page.goto(f"{self.base}/#/login")
        self.page.fill("#login-staff", staff_id)
        self.page.fill("#login-password", TEMP)
        self.page.click("#login-submit")
        self.page.wait_for_selector("#pwd-new")
        self.page.fill("#pwd-current", TEMP)
        self.page.fill("#pwd-new", NEW)
        self.page.fill("#pwd-repeat", NEW)
        self.page.click("#pwd-submit")
        self.page.wait_for_selector("#nav a")

    def go(self, route: str) -> None:
        self.page.goto(f"{self.base}/#/{route}")

    def shot(self, name: str, at: str | None = None) -> None:
        """The desk as seen (1366×768): from the top, or with ``at`` scrolled into view under the banner."""
        self.page.evaluate("window.scrollTo(0, 0); document.getElementById('toasts').replaceChildren()")
        if at:
            self.page.locator(at).scroll_into_view_if_needed()
        self.page.wait_for_timeout(200)
        self.page.screenshot(path=str(self.shots / f"console-crisis-{name}.png"), full_page=False)

    def close(self) -> None:
        assert not self.errors, self.errors
        self.context.close()


@pytest.mark.timeout(420)
def test_incident_from_a_spike_routes_to_its_team_shows_the_banner_and_closing_restores_routing(
        platform: Any, chromium: Any, artifacts_dir: Path) -> None:
    base = platform.url("console")
    for staff_id, role, team in ((SUP, "supervisor", "complaints"), (A1, "agent", "product"), (A2, "agent", "tech")):
        call(platform, "POST", "dispatcher", "staff", who=ADMIN, json={
            "staff_id": staff_id, "name": f"应急{staff_id[-7:]}", "role": role, "team": team, "capacity": 3,
            "initial_password": TEMP})
    tickets: list[str] = []
    incident_id = None
    desks: list[Desk] = []
    try:
        # ---------------------------------------------------------------- 1. a burst of complaints → a spike
        tickets += [submit(platform, n) for n in range(1, 11)]
        for tid in tickets:
            assert assignment(platform, tid)["category"] == "complaint"
        spike_id = f"{today()}|category|complaint"

        def spike() -> Any:
            call(platform, "POST", "reporting", "reports/spikes/scan")
            found = call(platform, "GET", "reporting", "reports/high-frequency")["spikes"]
            return next((s for s in found if f"{s['day']}|{s['dimension']}|{s['value']}" == spike_id), None)
        assert eventually(spike, timeout=40)["count"] >= 10

        # ---------------------------------------------------------------- 2. the supervisor opens the incident
        sup = Desk(chromium, base, artifacts_dir)
        desks.append(sup)
        sup.sign_in(SUP)
        sup.go("incidents")
        page = sup.page
        row_form = page.locator("#open-from-category-complaint")
        page.locator("details.spike-open", has=row_form).locator("summary").click()
        assert row_form.locator("input[name=title]").input_value().startswith("投诉建议突增")
        row_form.locator("input[name=title]").fill("物流延误集中投诉")
        row_form.locator("input[name=team]").fill(f"{A1}, {A2}")
        row_form.locator("textarea[name=reply_text]").fill("您好，物流延误问题正在处理中。")  # a draft, approved below
        row_form.locator("input[name=first]").fill("15")
        row_form.locator("input[name=resolution]").fill("240")
        row_form.locator("button[type=submit]").click()
        panel = page.locator(".incident-panel")
        panel.wait_for()
        page.locator("#incident-banner .incident").wait_for()
        # the approved wording replaces the draft (统一回应口径): a new version, one more history line
        edit = page.locator("form[id^=edit-]")
        page.locator(".incident-panel details", has=edit).locator("summary").click()
        edit.locator("textarea[name=reply_text]").fill(REPLY)
        edit.locator("button[type=submit]").click()
        page.locator("#incident-banner .incident-text").filter(has_text=REPLY).wait_for()
        incident = eventually(lambda: next(iter(call(platform, "GET", "dispatcher", "incidents?status=open")), None))
        incident_id = incident["incident_id"]
        assert incident["version"] == 2 and [h["action"] for h in incident["history"]] == ["opened", "updated"]
        assert incident["spike"]["id"] == spike_id and incident["team"] == [A1, A2]
        assert incident["match"]["categories"] == ["complaint"] and incident["reply_text"] == REPLY
        assert incident["sla"] == {"first_response_minutes": 15, "resolution_minutes": 240}
        assert incident["opened_by"] == SUP and incident["history"][1]["by"] == SUP
        assert page.locator("#spikes .tag.incident").inner_text() == f"已启动 {incident_id}"

        # ---------------------------------------------------------------- 3. the next complaints go to the team
        crisis_tickets = [submit(platform, 11), submit(platform, 12)]
        tickets += crisis_tickets
        routed = [eventually(lambda t=tid: (a := assignment(platform, t)) and a["status"] == "assigned" and a, timeout=40)
                  for tid in crisis_tickets]
        assert sorted(a["agent_id"] for a in routed) == sorted([A1, A2]), routed
        assert all(a["incident_id"] == incident_id and "incident team member" in a["reason"] for a in routed)
        for tid in crisis_tickets:
            clock = eventually(lambda t=tid: (c := json_if_ok(platform.get("sla-monitor", f"/api/v1/clocks/{t}")))
                               and c.get("override") and c, timeout=30)
            assert clock["override"]["policy"] == f"incident:{incident_id}"
            assert clock["first_response_target"] == {"minutes": 15, "business": False}
            assert clock["resolution_target"] == {"minutes": 240, "business": False}
        figures = eventually(lambda: (r := json_if_ok(httpx.get(
            f"{platform.url('reporting')}/api/v1/reports/incidents/{incident_id}", headers=platform.staff, timeout=5)))
            and r["figures"]["tickets"] == 2 and r, timeout=30)
        assert figures["status"] == "open" and figures["figures"]["open"] == 2
        sup.go("incidents")
        page.locator(".incident-figures").filter(has_text="2 单").wait_for()
        sup.shot("01-supervisor-incident")

        # ---------------------------------------------------------------- 4. the agent: banner, approved reply
        mine = next(a for a in routed if a["agent_id"] == A1)
        agent = Desk(chromium, base, artifacts_dir)
        desks.append(agent)
        agent.sign_in(A1)
        banner = agent.page.locator("#incident-banner")
        banner.locator(f'.incident[data-incident-id="{incident_id}"]').wait_for()
        assert "物流延误集中投诉" in banner.inner_text() and REPLY in banner.inner_text()
        agent.shot("02-agent-queue-banner")
        agent.go(f"ticket/{mine['ticket_id']}")
        box = agent.page.locator("#incident-box")
        box.wait_for()
        assert incident_id in box.inner_text() and "15" in agent.page.locator("#incident-sla").inner_text()
        agent.page.click("#insert-incident-reply")
        assert REPLY in agent.page.input_value("#reply-form textarea")
        assert banner.is_visible()
        agent.shot("03-agent-ticket-reply", at="#reply-form")
        agent.page.click("#lang")  # English: the same banner and box, worded in English
        banner.filter(has_text="Incident in progress").wait_for()
        assert "Approved reply: " in banner.inner_text() and REPLY in banner.inner_text()
        assert agent.page.locator("#insert-incident-reply").inner_text() == "Insert the approved reply"
        agent.shot("04-agent-ticket-en")
        agent.page.click("#lang")

        # ---------------------------------------------------------------- 5. closing restores normal routing
        sup.go("incidents")
        close_form = page.locator(f"#close-{incident_id}")
        page.locator(".incident-panel details", has=close_form).locator("summary").click()
        close_form.locator("input[name=note]").fill("物流恢复正常")
        close_form.locator("button[type=submit]").click()
        page.locator("#incident-banner").wait_for(state="hidden")
        closed = call(platform, "GET", "dispatcher", f"incidents/{incident_id}")
        assert closed["status"] == "closed" and closed["closed_by"] == SUP
        assert [h["action"] for h in closed["history"]] == ["opened", "updated", "closed"]
        incident_id = None
        after = submit(platform, 13)
        tickets.append(after)
        normal = eventually(lambda: (a := assignment(platform, after)) and a, timeout=40)
        assert normal["incident_id"] is None and normal["agent_id"] not in (A1, A2)
        assert "incident" not in normal["reason"]
        clock = eventually(lambda: json_if_ok(platform.get("sla-monitor", f"/api/v1/clocks/{after}")), timeout=30)
        assert clock["override"] is None
        agent.go("queue")
        agent.page.locator("#incident-banner").wait_for(state="hidden")
        for desk in desks:
            desk.close()
        desks.clear()
    finally:
        for desk in desks:
            desk.page.screenshot(path=str(artifacts_dir / "console-crisis-failure.png"), full_page=True)
            desk.context.close()
        if incident_id:
            httpx.post(f"{platform.url('dispatcher')}/api/v1/incidents/{incident_id}/close", headers=platform.staff,
                       json={"note": "e2e cleanup"}, timeout=10)
        for tid in tickets:  # free the seeded agents' slots for the tests that follow
            httpx.post(f"{platform.url('intake')}/api/v1/tickets/{tid}/close", headers=platform.staff,
                       json={"reason": "e2e crisis cleanup"}, timeout=10)
