from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from classifier.app import ClassifierSettings, create_app
from servicekit.testing import TEST_JWT_SECRET, running_app


@pytest.fixture
def settings() -> ClassifierSettings:
    return ClassifierSettings(jwt_secret=TEST_JWT_SECRET, log_format="text")


@pytest.fixture
async def running(settings: ClassifierSettings) -> AsyncIterator[dict[str, Any]]:
    async with running_app(create_app(settings)) as running:
        yield running
