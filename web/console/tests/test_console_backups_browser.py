"""The admin's Backups page (issue 19, manual 003) in real headless Chromium (Playwright, sync API), in
front of the real intake service (its app served over HTTP with the in-memory broker and store, backups
into a temporary directory under a test key): the history lists the scheduled daily and monthly backups
and a failed one with its error; "daily backup now" starts a backup that turns up done in the list with
the sha256 and key id intake recorded; the audit-log retention figures are shown; English switch;
supervisors get no Backups menu and are sent home from its address.

Screenshots: artifacts/screenshots/console-backups-*.png. Under CI=true a missing browser fails the run."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from console.app import ConsoleSettings, create_app
from contracts import Channel, CustomerContact, StaffRole, TicketSubmission
from intake.app import IntakeSettings
from intake.app import create_app as create_intake
from servicekit.testing import TEST_JWT_SECRET, LiveServer, page_faults, token

DESK = {"width": 1366, "height": 768}
KEYS = "k2026=" + base64.b64encode(b"console-backup-test-key-32bytes!").decode()


class Upstreams(httpx.AsyncBaseTransport):
    """intake is the real service over HTTP; the dispatcher's inbox (polled by every page) a fixture."""

    def __init__(self, intake_host: str) -> None:
        self.intake_host = intake_host
        self.real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if f"{request.url.host}:{request.url.port}" == self.intake_host:
            return await self.real.handle_async_request(request)
        if request.url.path == "/health/ready":
            return httpx.Response(200, json={"status": "ok"})
        if request.url.path == "/api/v1/notifications/mine":
            return httpx.Response(200, json={"unread": 0, "items": []})
        return httpx.Response(404, json={"error": {"code": "not_found", "message": request.url.path}})


async def prepare(running: dict[str, Any], blocked: Path) -> None:
    """Two customers through tickets, the scheduled backups due now, and a real failure: a manual full
    backup into a 'directory' that is a file."""
    service, backups = running["service"], running["app"].state.backups
    for i, (name, phone) in enumerate([("钱先生", "13911112301"), ("孙女士", "13911112302")]):
        await service.submit(TicketSubmission(channel=Channel.WEB_FORM, channel_message_id=f"ui-bk-{i}", subject="发票",
                                              description="需要开发票", order_number=f"A2026120{i}",
                                              customer=CustomerContact(name=name, phone=phone)))
    await backups.tick()
    directory, backups.directory = backups.directory, blocked
    failed = await backups.run_now("monthly", by="AD1")
    while (await backups.store.get_backup(failed["_id"]))["status"] == "running":
        await asyncio.sleep(0.05)
    backups.directory = directory


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where a directory should be")
    intake_app = create_intake(IntakeSettings(
        jwt_secret=TEST_JWT_SECRET, channel_api_keys="web_form=web-form-key-0123456789", customer_lookup_key="ui-pepper",
        customer_data_keys=base64.urlsafe_b64encode(b"d" * 32).decode(), log_format="text",
        backup_dir=str(tmp_path / "backups"), backup_keys=KEYS))
    with LiveServer(intake_app, lambda running: prepare(running, blocked)) as intake:
        settings = ConsoleSettings(intake_url=intake.url, dispatcher_url="http://dispatcher.test", log_format="text",
                                   refresh_seconds=600)
        with LiveServer(create_app(settings, transport=Upstreams(intake.url.removeprefix("http://")))) as console:
            yield intake, console


def open_page(chromium: Any, url: str, roles: list[StaffRole], staff_id: str) -> tuple[Any, Any, list[str]]:
    context = chromium.new_context(viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.add_init_script(f"sessionStorage.setItem('console.token', {json.dumps(token(roles, staff_id=staff_id))});")
    page = context.new_page()
    errors = page_faults(page)
    page.set_default_timeout(15_000)
    return context, page, errors


def test_backups_page_history_run_now_and_retention(stack: tuple[LiveServer, LiveServer], chromium: Any,
                                                    artifacts_dir: Path) -> None:
    intake, console = stack
    admin = {"Authorization": f"Bearer {token([StaffRole.ADMIN], staff_id='AD1')}"}
    context, page, errors = open_page(chromium, console.url, [StaffRole.ADMIN], "AD1")

    def shot(name: str) -> None:
        page.evaluate("window.scrollTo(0, 0); document.getElementById('toasts').replaceChildren()")
        page.wait_for_timeout(150)
        page.screenshot(path=str(artifacts_dir / f"console-backups-{name}.png"), full_page=True)

    try:
        page.goto(console.url + "/#/backups")
        page.wait_for_selector("#bk-retention")
        assert page.locator('#nav a[data-nav="backups"]').inner_text() == "数据备份"
        schedule = page.locator("#bk-schedule").inner_text()
        assert "16:30" in schedule and "25 日" in schedule and "k2026" in schedule
        rows = page.locator("tbody tr")
        texts = rows.all_inner_texts()
        assert len(texts) == 3, texts
        assert any("日备份" in r and "定时" in r and "已完成" in r for r in texts)
        assert any("月度全量" in r and "定时" in r and "已完成" in r for r in texts)
        failed = next(r for r in texts if "失败" in r)
        assert "手动 · AD1" in failed and "Error" in failed  # the error intake recorded, shown
        assert "有 1 次备份失败" in page.locator("#bk-failed").inner_text()
        retention = page.locator("#bk-retention").inner_text()
        assert "12 个月" in retention and "清理 0 条" in retention

        page.click("#bk-run-daily")
        deadline = time.monotonic() + 20
        while True:
            history = httpx.get(f"{intake.url}/api/v1/admin/backups", headers=admin, timeout=5).json()["backups"]
            manual = [b for b in history if b["trigger"] == "manual" and b["kind"] == "daily"]
            if manual and manual[0]["status"] == "done":
                break
            assert time.monotonic() < deadline, history
            time.sleep(0.2)
        done = manual[0]
        assert done["count"] == 2 and done["requested_by"] == "AD1"
        page.reload()
        row = page.locator(f'tbody tr[data-backup-id="{done["_id"]}"]')
        text = row.inner_text()
        assert "日备份" in text and "手动 · AD1" in text and "已完成" in text and "k2026" in text
        assert done["sha256"][:12] in text and done["sha256"] == row.locator("code").get_attribute("title")
        assert page.locator("tbody tr").count() == 4
        shot("zh")

        page.click("#lang")
        page.wait_for_selector("text=Backup history")
        assert "Daily backup now" in page.locator("#bk-run-daily").inner_text()
        assert "12 months" in page.locator("#bk-retention").inner_text()
        shot("en")
        page.click("#lang")
        assert not errors, errors
    finally:
        context.close()

    # supervisors: no menu entry, and the address sends them home
    context, page, errors = open_page(chromium, console.url, [StaffRole.SUPERVISOR], "S1")
    try:
        page.goto(console.url + "/#/backups")
        page.wait_for_selector("#nav a")
        page.wait_for_function("location.hash !== '#/backups'")
        assert page.locator('#nav a[data-nav="backups"]').count() == 0
    finally:
        context.close()
