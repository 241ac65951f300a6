"""The six services built in-process for the abuse suite: each app with FastStream's in-memory
``TestRabbitBroker``, a database of its own on the real MongoDB wire server of the session (the
``mongodb_url`` fixture: MONGODB_URL, else SecantusDB), and a test JWT secret, so requests reach the
handlers and their real stores without a broker.

``app_factory(name)`` returns a fresh app (``build_app`` without a URL: the in-memory store); ``with_in_memory_lifespan(app)`` makes the app's ASGI lifespan
run :func:`servicekit.testing.in_memory` instead of connecting to RabbitMQ, for clients (schemathesis'
ASGI transport) that drive the lifespan themselves.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from servicekit.testing import TEST_JWT_SECRET, in_memory

SERVICES = ("intake", "classifier", "dispatcher", "sla-monitor", "survey", "reporting")

# Channel API keys of the intake app (the revoked one is configured in CHANNEL_API_KEYS_REVOKED).
WEB_KEY = "abuse-web-form-key-0123456789"
EMAIL_KEY = "abuse-email-key-0123456789ab"
REVOKED_KEY = "abuse-revoked-web-key-0123456"

# Staff of the dispatcher app used by the login checks (passwords set by an admin → first-login change).
ABUSE_ROSTER = [
    {"staff_id": "ABSUP", "name": "主管", "role": "supervisor", "team": "frontline"},
    {"staff_id": "ABAG1", "name": "客服一", "role": "agent", "team": "frontline", "capacity": 2,
     "supervisor_id": "ABSUP"},
    {"staff_id": "ABAG2", "name": "客服二", "role": "agent", "team": "frontline", "capacity": 2,
     "supervisor_id": "ABSUP"},
]
ADMIN_ID = "ABADMIN"
ADMIN_INITIAL_PASSWORD = "Initial#Admin2026"  # satisfies the policy; must be changed at first login


def _common(mongodb_url: str | None, name: str) -> dict[str, Any]:
    database = f"abuse_{name.replace('-', '_')}_{uuid.uuid4().hex[:10]}"
    return {"jwt_secret": TEST_JWT_SECRET, "log_format": "text", "log_level": "WARNING",
            "mongodb_url": mongodb_url, "mongodb_database": database}


def build_app(name: str, tmp_dir: Path | None = None, *, mongodb_url: str | None = None, **overrides: Any) -> Any:
    """A fresh app of service ``name`` configured for tests (nothing started yet), with a fresh database
    on ``mongodb_url`` (None: the in-memory store)."""
    common = _common(mongodb_url, name)
    if name == "intake":
        from intake.app import IntakeSettings, create_app as intake_app

        return intake_app(IntakeSettings(
            **common, channel_api_keys=f"web_form={WEB_KEY},email={EMAIL_KEY},web_form={REVOKED_KEY}",
            channel_api_keys_revoked=REVOKED_KEY, customer_lookup_key="abuse-pepper", **overrides,
        ))
    if name == "classifier":
        from classifier.app import ClassifierSettings, create_app as classifier_app

        return classifier_app(ClassifierSettings(**common, **overrides))
    if name == "dispatcher":
        from dispatcher.app import DispatcherSettings, create_app as dispatcher_app

        kwargs: dict[str, Any] = {"admin_staff_id": ADMIN_ID, "admin_initial_password": ADMIN_INITIAL_PASSWORD}
        if tmp_dir is not None:
            roster = tmp_dir / "abuse-roster.json"
            roster.write_text(json.dumps({"staff": ABUSE_ROSTER}, ensure_ascii=False), encoding="utf-8")
            kwargs["seed_file"] = roster
        kwargs.update(overrides)
        return dispatcher_app(DispatcherSettings(**common, **kwargs))
    if name == "sla-monitor":
        from sla_monitor.app import SlaMonitorSettings, create_app as sla_app

        return sla_app(SlaMonitorSettings(**common, **overrides))
    if name == "survey":
        from survey.app import SurveySettings, create_app as survey_app

        return survey_app(SurveySettings(
            **common, survey_public_base_url="https://survey.example.test",
            survey_view_rate_limit="100000/minute", survey_answer_rate_limit="100000/minute", **overrides,
        ))
    if name == "reporting":
        from reporting.app import ReportingSettings, create_app as reporting_app

        return reporting_app(ReportingSettings(**common, **overrides))
    raise ValueError(f"unknown service {name!r}")


def with_in_memory_lifespan(app: Any) -> Any:
    """Replace the app's lifespan (real broker) by the in-memory broker and store of the service tests."""
    kit = app.state.kit

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        async with in_memory(kit):
            yield

    app.router.lifespan_context = lifespan
    return app


@pytest.fixture(scope="session")
def app_factory(mongodb_url: str) -> Callable[..., Any]:
    """``build_app`` over the session's real MongoDB wire server."""
    return functools.partial(build_app, mongodb_url=mongodb_url)


@pytest.fixture(scope="session")
def in_memory_lifespan() -> Callable[[Any], Any]:
    return with_in_memory_lifespan


@pytest.fixture(scope="session")
def channel_keys() -> dict[str, str]:
    """The intake app's valid channel API keys (``build_app("intake")``)."""
    return {"web_form": WEB_KEY, "email": EMAIL_KEY}


@pytest.fixture(scope="session")
def revoked_channel_key() -> str:
    """Configured for web_form in CHANNEL_API_KEYS and revoked by CHANNEL_API_KEYS_REVOKED."""
    return REVOKED_KEY
