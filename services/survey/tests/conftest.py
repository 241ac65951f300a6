from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from servicekit.testing import TEST_JWT_SECRET, running_app
from survey.app import SurveySettings, create_app


@pytest.fixture
def settings() -> SurveySettings:
    return SurveySettings(jwt_secret=TEST_JWT_SECRET, survey_ttl_hours=168, log_format="text")


@pytest.fixture
async def running(settings: SurveySettings) -> AsyncIterator[dict[str, Any]]:
    async with running_app(create_app(settings)) as running:
        yield running
