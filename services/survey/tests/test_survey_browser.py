"""The public survey page in headless Chromium (Playwright, sync API): a phone in Chinese, a desktop in
English, the one-time rule and the messages for dead links. Screenshots go to artifacts_dir."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts import Channel, SurveyCompleted, TicketResolved, TicketResolvedPayload
from servicekit.testing import LiveServer, published
from survey.app import SurveySettings, create_app

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


class LiveSurvey(LiveServer):
    """The survey app served over real HTTP, so the browser talks to it like a customer's phone would."""

    def __init__(self, settings: SurveySettings, notifier: Any) -> None:
        super().__init__(create_app(settings, notifier=notifier))

    def new_link(self, ticket: str, *, now: datetime | None = None) -> str:
        at = datetime.now(UTC).replace(microsecond=0)
        event = TicketResolved.new(
            TicketResolvedPayload(ticket_id=ticket, ticket_no=f"GD20261125{ticket[-3:]}", agent_id="A1",
                                  channel=Channel.PHONE, customer_id="c-secret-42", customer_display="客户B-7788",
                                  resolved_at=at),
            correlation_id=ticket, producer="intake", occurred_at=at,
        )
        result = self.call(self.running["service"].on_resolved(event, now=now), timeout=10)
        assert result.token
        return f"{self.url}/s/{result.token}"

    def completed(self) -> list[SurveyCompleted]:
        return published(self.running["kit"], SurveyCompleted)


@pytest.fixture
def live(settings: SurveySettings, notifier: Any) -> Iterator[LiveSurvey]:
    with LiveSurvey(settings, notifier) as server:
        yield server


def test_a_customer_answers_on_a_phone_in_chinese(live: LiveSurvey, chromium: Any, artifacts_dir: Path) -> None:
    link = live.new_link("t101")
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                   locale="zh-CN")
    page = context.new_page()
    try:
        response = page.goto(link)
        assert response is not None and response.status == 200
        assert page.locator("h1").inner_text() == "服务满意度调研"
        assert "GD20261125101" in page.content()
        assert "客户B-7788" not in page.content() and "c-secret-42" not in page.content()
        # nothing overflows sideways on a 390 px phone
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(artifacts_dir / "survey-phone-zh-form.png"), full_page=True)

        page.get_by_text("非常快", exact=True).click()
        page.get_by_text("部分解决", exact=True).click()
        page.get_by_text("满意", exact=True).click()
        page.fill("textarea[name=comment]", "物流有点慢，其他都很好")
        page.screenshot(path=str(artifacts_dir / "survey-phone-zh-filled.png"), full_page=True)
        page.get_by_role("button", name="提交评价").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "感谢您的评价"
        page.screenshot(path=str(artifacts_dir / "survey-phone-zh-thanks.png"), full_page=True)

        [event] = live.completed()
        p = event.payload
        assert (p.speed.value, p.resolution.value, p.attitude.value) == ("very_fast", "partially", "satisfied")
        assert p.comment == "物流有点慢，其他都很好" and p.csat == 3.7 and p.satisfied  # 0.2×5 + 0.5×3 + 0.3×4

        page.goto(link)  # the link is one-time
        assert "已经提交过了" in page.content()
        page.screenshot(path=str(artifacts_dir / "survey-phone-zh-already-answered.png"), full_page=True)
    finally:
        context.close()


def test_english_on_a_desktop_requires_every_answer_and_reports_dead_links(
    live: LiveSurvey, chromium: Any, artifacts_dir: Path
) -> None:
    link = live.new_link("t102")
    context = chromium.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    try:
        page.goto(link)
        page.get_by_role("link", name="English").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Customer satisfaction survey"
        assert page.get_by_text("Fully solved", exact=True).is_visible()
        page.get_by_text("Not solved", exact=True).click()
        page.get_by_role("button", name="Submit").click()  # two questions unanswered: the browser holds it
        assert page.locator("h1").inner_text() == "Customer satisfaction survey" and live.completed() == []
        page.screenshot(path=str(artifacts_dir / "survey-desktop-en-form.png"), full_page=True)

        page.get_by_text("Slow", exact=True).click()
        page.get_by_text("Average", exact=True).nth(1).click()
        page.get_by_role("button", name="Submit").click()
        page.wait_for_load_state()
        assert "reopened" in page.content()
        page.screenshot(path=str(artifacts_dir / "survey-desktop-en-reopened.png"), full_page=True)
        [event] = live.completed()
        assert event.payload.satisfied is False and event.payload.resolution.value == "unresolved"

        expired = live.new_link("t103", now=datetime.now(UTC) - timedelta(days=8))
        response = page.goto(expired + "?lang=en")
        assert response is not None and response.status == 410 and "expired" in page.content()
        page.screenshot(path=str(artifacts_dir / "survey-desktop-en-expired.png"), full_page=True)
        response = page.goto(f"{live.url}/s/this-link-does-not-exist")
        assert response is not None and response.status == 404 and "链接无效" in page.content()
        page.screenshot(path=str(artifacts_dir / "survey-desktop-zh-unknown.png"), full_page=True)
        assert len(live.completed()) == 1
    finally:
        context.close()
