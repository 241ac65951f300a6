from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from classifier.app import ClassifierSettings, create_app
from servicekit.testing import TEST_JWT_SECRET, in_memory


@pytest.fixture
def settings() -> ClassifierSettings:
    return ClassifierSettings(jwt_secret=TEST_JWT_SECRET, log_format="text")


@pytest.fixture
async def running(settings: ClassifierSettings) -> AsyncIterator[dict[str, Any]]:
    app = create_app(settings)
    kit = app.state.kit
    async with in_memory(kit) as broker:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://classifier") as client:
            yield {"app": app, "kit": kit, "broker": broker, "client": client, "service": app.state.service}
