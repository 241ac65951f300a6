from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from intake.app import IntakeSettings, create_app
from servicekit.testing import TEST_JWT_SECRET, running_app

WEB_KEY = "web-form-key-0123456789"
EMAIL_KEY = "email-key-0123456789abc"


@pytest.fixture
def keys() -> dict[str, str]:
    """Channel API keys configured in ``settings``."""
    return {"web_form": WEB_KEY, "email": EMAIL_KEY}


@pytest.fixture
def settings() -> IntakeSettings:
    return IntakeSettings(
        jwt_secret=TEST_JWT_SECRET,
        channel_api_keys=f"web_form={WEB_KEY},email={EMAIL_KEY}",
        customer_lookup_key="unit-test-pepper",
        log_format="text",
    )


@pytest.fixture
async def running(settings: IntakeSettings) -> AsyncIterator[dict[str, Any]]:
    async with running_app(create_app(settings)) as running:
        yield running
