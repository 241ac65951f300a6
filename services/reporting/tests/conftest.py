from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from reporting.app import ReportingSettings, create_app
from servicekit.testing import TEST_JWT_SECRET, in_memory


@pytest.fixture
def settings() -> ReportingSettings:
    return ReportingSettings(jwt_secret=TEST_JWT_SECRET, business_timezone="Asia/Shanghai", log_format="text")


@pytest.fixture
async def running(settings: ReportingSettings) -> AsyncIterator[dict[str, Any]]:
    app = create_app(settings)
    kit = app.state.kit
    async with in_memory(kit) as broker:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://reporting") as client:
            yield {"app": app, "kit": kit, "broker": broker, "client": client, "service": app.state.service}
