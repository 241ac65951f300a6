from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from dispatcher.app import DispatcherSettings, create_app
from servicekit.testing import TEST_JWT_SECRET, running_app

SMALL_ROSTER = [
    {"staff_id": "SUP", "name": "主管甲", "role": "supervisor", "team": "complaints"},
    {"staff_id": "C1", "name": "客服乙", "role": "agent", "team": "complaints", "capacity": 1,
     "supervisor_id": "SUP"},
    {"staff_id": "F1", "name": "客服丙", "role": "agent", "team": "frontline", "capacity": 1,
     "channels": ["phone"]},
]


@pytest.fixture
def settings() -> DispatcherSettings:
    return DispatcherSettings(jwt_secret=TEST_JWT_SECRET, log_format="text")


@pytest.fixture
def small_roster_file(tmp_path: Path) -> Path:
    """One complaints agent and one phone-only frontline agent, one slot each."""
    path = tmp_path / "roster.json"
    path.write_text(json.dumps({"staff": SMALL_ROSTER}, ensure_ascii=False), encoding="utf-8")
    return path


@asynccontextmanager
async def started(settings: DispatcherSettings) -> AsyncIterator[dict[str, Any]]:
    async with running_app(create_app(settings)) as running:
        yield running


@pytest.fixture
async def running(settings: DispatcherSettings) -> AsyncIterator[dict[str, Any]]:
    async with started(settings) as running:
        yield running


@pytest.fixture
async def small(small_roster_file: Path) -> AsyncIterator[dict[str, Any]]:
    settings = DispatcherSettings(jwt_secret=TEST_JWT_SECRET, log_format="text", seed_file=small_roster_file)
    async with started(settings) as running:
        yield running
