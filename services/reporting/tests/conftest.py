from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from reporting.app import ReportingSettings, create_app
from servicekit.testing import TEST_JWT_SECRET, running_app


@pytest.fixture
def settings() -> ReportingSettings:
    return ReportingSettings(jwt_secret=TEST_JWT_SECRET, business_timezone="Asia/Shanghai", log_format="text")


@pytest.fixture
async def running(settings: ReportingSettings) -> AsyncIterator[dict[str, Any]]:
    async with running_app(create_app(settings)) as running:
        yield running
