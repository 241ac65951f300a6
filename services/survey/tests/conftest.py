from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlparse

import pytest

from servicekit.notify import Notification
from servicekit.testing import TEST_JWT_SECRET, running_app
from survey.app import SurveySettings, create_app


class RecordingNotifier:
    """The notifier port as a test double: records what would go to the customer's gateway, and can be
    told to fail like a gateway that is down."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self.failing = False

    async def send(self, notification: Notification) -> None:
        if self.failing:
            raise ConnectionError("gateway down")
        self.sent.append(notification)

    def token(self, index: int = -1) -> str:
        """The link token of a sent invitation (the only place it ever exists)."""
        return urlparse(self.sent[index].data["link"]).path.rsplit("/", 1)[-1]


@pytest.fixture
def settings() -> SurveySettings:
    return SurveySettings(
        jwt_secret=TEST_JWT_SECRET, survey_ttl_hours=168, log_format="text",
        survey_public_base_url="https://survey.example.test", survey_view_rate_limit="1000/minute",
        survey_answer_rate_limit="1000/minute",
    )


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
async def running(settings: SurveySettings, notifier: RecordingNotifier) -> AsyncIterator[dict[str, Any]]:
    async with running_app(create_app(settings, notifier=notifier)) as running:
        running["notifier"] = notifier
        yield running
