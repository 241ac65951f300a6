"""Scheduled reports in the console (issue 19), in real headless Chromium (Playwright, sync API): a supervisor
subscribes on the Dashboard page (daily + monthly, by e-mail); at the next close reporting composes the daily
report for them; its ``report.ready`` reaches the dispatcher, the supervisor finds it in the notifications and
follows it to the report (highlighted) and downloads its CSV; the English switch; an admin sees everyone's
subscriptions.

Reporting and the dispatcher run as real apps over HTTP (``LiveServer``: each with its in-memory broker, the
test carries the event from one to the other), the console's gateway in front. The scheduler follows a
``FrozenClock`` the test moves. Screenshots: artifacts/screenshots/console-reports-*.png.
"""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Any

import httpx

from console.app import ConsoleSettings, create_app
from contracts import StaffRole
from contracts.events_reporting import ReportReady
from dispatcher.app import DispatcherSettings
from dispatcher.app import create_app as dispatcher_app
from reporting import testing as f
from reporting.app import ReportingSettings
from reporting.app import create_app as reporting_app
from reporting.schedule import ReportCalendar
from servicekit.clock import FrozenClock
from servicekit.testing import (
    TEST_JWT_SECRET,
    LiveServer,
    auth_header,
    eventually,
    page_faults,
    published,
    token,
)

DESK = {"width": 1366, "height": 768}
CAL = ReportCalendar()
MONDAY, TUESDAY = date(2026, 11, 30), date(2026, 12, 1)


class Desk:
    """One person's browser, signed in with a staff token; script errors and CSP violations are faults."""

    def __init__(self, chromium: Any, base: str, shots: Path, staff_token: str) -> None:
        self.context = chromium.new_context(viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai",
                                            accept_downloads=True)
        self.context.add_init_script(f"sessionStorage.setItem('console.token', {staff_token!r});")
        self.page = self.context.new_page()
        self.errors = page_faults(self.page)
        self.page.set_default_timeout(20_000)
        self.base, self.shots = base, shots

    def go(self, route: str) -> None:
        self.page.goto(f"{self.base}/#/{route}")

    def shot(self, name: str) -> Path:
        self.page.evaluate("window.scrollTo(0, 0); document.getElementById('toasts').replaceChildren()")
        self.page.wait_for_timeout(150)
        path = self.shots / f"console-reports-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        errors = list(self.errors)
        self.context.close()
        assert not errors, errors


def test_supervisor_subscribes_gets_the_report_and_downloads_its_csv(chromium: Any, artifacts_dir: Path) -> None:
    clock = FrozenClock(CAL.at(MONDAY, time(18, 1)))
    reporting = reporting_app(ReportingSettings(jwt_secret=TEST_JWT_SECRET, log_format="text"))
    reporting.state.service.schedule_clock = clock
    dispatcher = dispatcher_app(DispatcherSettings(jwt_secret=TEST_JWT_SECRET, log_format="text"))

    async def tickets(running: dict[str, Any]) -> None:
        service = running["service"]
        for event in [f.created("b1", f.local("2026-11-30", 9)), f.assigned("b1", f.local("2026-11-30", 9, 5)),
                      f.resolved("b1", f.local("2026-11-30", 11)), f.created("b2", f.local("2026-12-01", 10)),
                      f.created("b3", f.local("2026-12-01", 11), channel="phone")]:
            await service.record(event)

    sup = auth_header(StaffRole.SUPERVISOR, staff_id="S1")
    with LiveServer(reporting, prepare=tickets) as rep, LiveServer(dispatcher) as disp, LiveServer(create_app(
            ConsoleSettings(log_format="text", refresh_seconds=600, reporting_url=rep.url, dispatcher_url=disp.url,
                            dashboard_url=rep.url + "/dashboard"))) as console:
        scheduler = rep.running["service"]
        # a scheduler pass (the loop's job; LiveServer runs no background loops): Monday's reports, nobody subscribed
        assert "daily:2026-11-30" in rep.call(scheduler.deliver_due_reports())
        desk = Desk(chromium, console.url, artifacts_dir, token(StaffRole.SUPERVISOR, staff_id="S1"))
        try:
            desk.go("dashboard")
            desk.page.wait_for_selector("#subscription-form")
            assert desk.page.locator("tr", has_text="2026-11-30").count() >= 1
            assert desk.page.locator("#dashboard-link").get_attribute("href").startswith(rep.url + "/dashboard")
            desk.page.check("#report-kinds input[data-kind=daily]")
            desk.page.check("#report-kinds input[data-kind=monthly]")
            desk.page.select_option("#subscription-form select[name=external]", "email")
            desk.shot("subscribe")
            desk.page.click("#subscription-form button[type=submit]")
            eventually(lambda: (s := httpx.get(rep.url + "/api/v1/reports/subscriptions/mine", headers=sup).json())
                       and s["daily"] and s["monthly"] and not s["weekly"] and s["external"] == "email", timeout=10)

            # Tuesday's close (and the 1st's monthly): composed for S1; the events reach the dispatcher
            clock.set(CAL.at(TUESDAY, time(18, 1)))
            assert sorted(rep.call(scheduler.deliver_due_reports())) == ["daily:2026-12-01", "monthly:2026-11"]
            run = httpx.get(rep.url + "/api/v1/reports/deliveries/daily:2026-12-01", headers=sup).json()
            assert run["recipients"] == [{"staff_id": "S1", "external": "email"}]
            events = [e for e in published(rep.running["kit"], ReportReady) if e.payload.recipients]
            assert sorted(e.payload.report_id for e in events) == ["daily:2026-12-01", "monthly:2026-11"]
            for event in events:
                disp.call(disp.running["service"].on_report_ready(event))

            desk.go("notifications")
            row = desk.page.locator("tr", has_text="客服工作日报 2026-12-01")
            row.wait_for()
            assert row.locator("a.report-link").get_attribute("href") == "#/dashboard/daily%3A2026-12-01"
            desk.shot("notification")
            row.locator("td").nth(3).click()
            desk.page.wait_for_url(lambda url: url.split("#", 1)[-1] in ("/dashboard/daily%3A2026-12-01",
                                                                          "/dashboard/daily:2026-12-01"))
            selected = desk.page.locator("tr.row-selected")
            selected.wait_for()
            assert "2026-12-01" in selected.inner_text() and "新建工单 2" in selected.inner_text()
            desk.shot("delivered")
            with desk.page.expect_download() as info:
                selected.locator("button.csv").click()
            download = info.value
            assert download.suggested_filename == "daily-report-2026-12-01.csv"
            text = Path(download.path()).read_text(encoding="utf-8")
            assert text.startswith("period,metric,key,value")
            assert "2026-12-01..2026-12-01,created,,2" in text and "created_by_channel,phone,1" in text

            desk.page.click("#lang")
            desk.page.wait_for_selector("text=Scheduled reports")
            assert "New 2 · resolved 0" in desk.page.locator("tr.row-selected").inner_text()
            desk.shot("english")
        finally:
            desk.close()

        admin = Desk(chromium, console.url, artifacts_dir, token(StaffRole.ADMIN, staff_id="root"))
        try:
            admin.go("dashboard")
            admin.page.wait_for_selector("text=全部订阅（管理员）")
            assert admin.page.locator("tr", has_text="S1").filter(has_text="邮件").count() == 1
            admin.shot("admin")
        finally:
            admin.close()
