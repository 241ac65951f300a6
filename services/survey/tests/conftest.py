from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from servicekit.testing import TEST_JWT_SECRET, in_memory
from survey.app import SurveySettings, create_app


@pytest.fixture
def settings() -> SurveySettings:
    return SurveySettings(jwt_secret=TEST_JWT_SECRET, survey_ttl_hours=168, log_format="text")


@pytest.fixture
async def running(settings: SurveySettings) -> AsyncIterator[dict[str, Any]]:
    app = create_app(settings)
    kit = app.state.kit
    async with in_memory(kit) as broker:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://survey") as client:
            yield {"app": app, "kit": kit, "broker": broker, "client": client, "service": app.state.service}
