"""Evidence files in the console's ticket view, in real headless Chromium (Playwright, sync API): intake on the
real MongoDB wire server (GridFS), the console's gateway in front of it; the other services are not running
(the ticket view shows what it has without them).

The assignee uploads a PNG screenshot: it is listed with its name, type, size, uploader and time and a thumbnail
fetched with the staff token (a blob: URL the page's CSP allows); a text file named ``.png`` is refused with the
detected type named in Chinese; another agent sees no files, only why; the supervisor downloads identical bytes
through the download button. Screenshots: artifacts/screenshots/console-evidence-*.png.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from console.app import ConsoleSettings, create_app as create_console
from contracts import StaffRole, TicketAssigned, TicketAssignedPayload
from intake.app import IntakeSettings, create_app as create_intake
from servicekit.testing import TEST_JWT_SECRET, LiveServer, png_image, token

DESK = {"width": 1366, "height": 768}
KEY = "evidence-web-key-0123456789"
AGENT, OTHER, SUPERVISOR = "ev-agent-1", "ev-agent-2", "ev-super-1"


@pytest.fixture(scope="module")
def servers(mongodb_url: str) -> Iterator[dict[str, Any]]:
    database = f"intake_evidence_web_{uuid.uuid4().hex[:8]}"
    intake = create_intake(IntakeSettings(
        jwt_secret=TEST_JWT_SECRET, channel_api_keys=f"web_form={KEY}", customer_lookup_key="evidence-web",
        log_format="text", mongodb_url=mongodb_url, mongodb_database=database))
    with LiveServer(intake) as live_intake:
        dead = "http://127.0.0.1:9"  # the other services are not running: their panels stay empty
        console = create_console(ConsoleSettings(
            log_format="text", refresh_seconds=600, intake_url=live_intake.url, classifier_url=dead,
            dispatcher_url=dead, sla_monitor_url=dead, survey_url=dead, reporting_url=dead))
        with LiveServer(console) as live_console:
            yield {"intake": live_intake, "console": live_console}

        async def drop() -> None:  # motor calls are made on the server's loop
            await intake.state.kit.mongo.client.drop_database(database)

        live_intake.call(drop())


def assigned_ticket(servers: dict[str, Any]) -> dict[str, Any]:
    intake = servers["intake"]
    r = httpx.post(f"{intake.url}/api/v1/submissions", headers={"X-API-Key": KEY}, timeout=10, json={
        "channel": "web_form", "channel_message_id": f"ev-{uuid.uuid4().hex[:10]}", "subject": "耳机左耳没有声音",
        "description": "收到的耳机左耳没有声音，订单号 A2026120688", "customer": {"name": "孙先生", "phone": "13600001111"}})
    assert r.status_code == 201, r.text
    t = r.json()
    now = datetime.now(UTC)
    event = TicketAssigned.new(TicketAssignedPayload(
        ticket_id=t["ticket_id"], ticket_no=t["ticket_no"], agent_id=AGENT, agent_name="周婷", team="specialist",
        priority="P3", assigned_at=now), correlation_id=t["ticket_id"], producer="dispatcher", occurred_at=now)
    assert intake.call(intake.running["service"].on_assigned(event))
    return t


class Desk:
    def __init__(self, chromium: Any, base: str, staff_id: str, role: StaffRole, shots: Path, lang: str = "zh") -> None:
        self.context = chromium.new_context(viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai",
                                            accept_downloads=True)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda m: m.type == "error" and "Content Security Policy" in m.text
                     and self.errors.append(m.text))
        # the services that are not running answer 502 through the gateway; intake must never fail
        self.page.on("response", lambda r: r.status >= 500 and "/api/intake/" in r.url and self.errors.append(
            f"{r.status} {r.url}"))
        self.page.set_default_timeout(15_000)
        self.base, self.shots = base, shots
        self.page.goto(f"{base}/#/login")
        self.page.evaluate("t => sessionStorage.setItem('console.token', t)", token(role, staff_id=staff_id))
        self.page.evaluate("l => localStorage.setItem('console.lang', l)", lang)

    def open_ticket(self, tid: str) -> None:
        self.page.goto(f"{self.base}/#/ticket/{tid}")
        self.page.wait_for_selector("#evidence")

    def shot(self, name: str) -> Path:
        self.page.evaluate("document.getElementById('toasts').replaceChildren()")
        self.page.locator("#evidence").scroll_into_view_if_needed()
        path = self.shots / f"console-evidence-{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        assert not self.errors, self.errors
        self.context.close()


@pytest.mark.timeout(180)
def test_assignee_uploads_a_screenshot_supervisor_downloads_it_another_agent_sees_nothing(
        servers: dict[str, Any], chromium: Any, artifacts_dir: Path) -> None:
    base = servers["console"].url
    t = assigned_ticket(servers)
    shot = png_image(320, 200, rgb=(30, 110, 220))

    # ---------------------------------------------------------------- the assignee
    desk = Desk(chromium, base, AGENT, StaffRole.AGENT, artifacts_dir)
    desk.open_ticket(t["ticket_id"])
    page = desk.page
    assert page.locator("#evidence h2").inner_text() == "处理凭证"
    assert page.locator("#evidence-empty").is_visible()
    page.set_input_files("#evidence-file", files=[{"name": "退货截图.png", "mimeType": "image/png", "buffer": shot}])
    assert page.locator("#evidence-chosen").inner_text() == f"退货截图.png · {len(shot) / 1024:.1f} KB"
    page.click("#evidence-upload")
    item = page.locator("#evidence-list li")
    item.wait_for()
    assert item.count() == 1
    assert item.locator(".ev-name").inner_text() == "退货截图.png"
    meta = item.locator(".muted").inner_text()
    assert meta.startswith(f"PNG · {len(shot) / 1024:.1f} KB · {AGENT} · "), meta
    thumb = item.locator("img.ev-thumb")
    page.wait_for_function("() => { const i = document.querySelector('#evidence-list img.ev-thumb');"
                           " return i && i.complete && i.naturalWidth === 320; }")
    assert thumb.get_attribute("src").startswith("blob:")
    # the upload is in the conversation's history as well
    assert "上传凭证" in page.locator("#timeline").inner_text() and "退货截图.png" in page.locator("#timeline").inner_text()
    desk.shot("uploaded")

    # a text file named .png: refused, the detected type named, nothing listed
    page.set_input_files("#evidence-file", files=[{"name": "聊天记录.png", "mimeType": "image/png",
                                                   "buffer": "客户: 左耳没声音\n客服: 已登记换货\n".encode()}])
    page.click("#evidence-upload")
    error = page.locator("#evidence-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "文件内容是 TXT，与文件名或声明的类型不符"
    assert page.locator("#evidence-list li").count() == 1
    desk.shot("refused")
    desk.close()

    # ---------------------------------------------------------------- another agent: no files, only why
    other = Desk(chromium, base, OTHER, StaffRole.AGENT, artifacts_dir)
    other.open_ticket(t["ticket_id"])
    assert other.page.locator("#evidence").inner_text().endswith("只有本工单的处理人、主管和管理员可以查看凭证。")
    assert other.page.locator("#evidence-list, #evidence-form").count() == 0
    other.shot("other-agent")
    other.close()

    # ---------------------------------------------------------------- the supervisor (in English) downloads identical bytes
    boss = Desk(chromium, base, SUPERVISOR, StaffRole.SUPERVISOR, artifacts_dir, lang="en")
    boss.open_ticket(t["ticket_id"])
    boss.page.locator("#evidence-list li .ev-download").wait_for()
    assert boss.page.locator("#evidence h2").inner_text() == "Evidence"
    assert boss.page.locator("#evidence-list li .ev-download").inner_text() == "Download"
    with boss.page.expect_download() as download:
        boss.page.click("#evidence-list li .ev-download")
    saved = artifacts_dir / "console-evidence-download.png"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "退货截图.png"
    assert saved.read_bytes() == shot
    assert boss.page.locator("#evidence-list li .ev-remove-box").count() == 1  # supervisors may remove
    boss.shot("supervisor")
    boss.close()
