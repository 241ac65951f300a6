"""The injectable clock of scheduled duties."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest

from servicekit.clock import FileClock, FrozenClock, SystemClock, clock_from_settings, every


def test_file_clock_follows_the_file_and_runs_on(tmp_path):
    path = tmp_path / "clock.json"
    clock = FileClock(path)
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 1  # no file: the system time
    target = datetime(2030, 1, 7, 10, 5, tzinfo=UTC)
    FileClock.write(path, target)
    assert abs((clock.now() - target).total_seconds()) < 1
    later = target + timedelta(days=3, hours=2)
    FileClock.write(path, later)
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 1))
    assert abs((clock.now() - later).total_seconds()) < 1
    path.write_text("not json")
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 1  # unreadable: no offset, no crash


def test_frozen_clock_and_settings():
    at = datetime(2026, 12, 7, 10, tzinfo=UTC)
    clock = FrozenClock(at)
    assert clock.advance(hours=1) == at + timedelta(hours=1) == clock.now()
    with pytest.raises(ValueError):
        FrozenClock(datetime(2026, 1, 1))
    assert isinstance(clock_from_settings(None), SystemClock)
    assert isinstance(clock_from_settings("/nonexistent/clock.json"), FileClock)


async def test_every_survives_a_failing_pass():
    calls: list[int] = []

    async def job() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first pass fails")

    task = asyncio.create_task(every(0.01, "test", job))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(calls) >= 3
