"""The wall clock of scheduled duties (report delivery, backups, retention), injectable.

Jobs that run *at a time of day* ask a ``Clock`` instead of ``datetime.now`` so a test can move time
without sleeping:

* ``SystemClock`` — the real UTC time (production).
* ``FileClock`` — the real time plus an offset read from a small JSON file (``CLOCK_FILE``), e.g.
  ``{"offset_seconds": 86400}``. An end-to-end test runs real processes and moves their clock by
  rewriting the file; the file is re-read when it changes (one ``stat`` per call). A missing or
  unreadable file means no offset: the clock never stops a service.
* ``FrozenClock`` — a settable time for unit and service tests.

``every`` is the loop such a job runs in: call the job, sleep, again; a failing pass is logged and
retried on the next tick, cancellation stops it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a FrozenClock needs an aware datetime")
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


class FileClock:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._offset = timedelta(0)

    def offset(self) -> timedelta:
        try:
            st = self.path.stat()
        except OSError:
            self._stamp, self._offset = None, timedelta(0)
            return self._offset
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                value = float(json.loads(self.path.read_text())["offset_seconds"])
                self._offset = timedelta(seconds=value)
            except (OSError, ValueError, KeyError, TypeError):
                log.warning("clock file %s is unreadable; no offset", self.path)
                self._offset = timedelta(0)
            self._stamp = stamp
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset()

    @staticmethod
    def write(path: str | os.PathLike[str], at: datetime) -> None:
        """Make every ``FileClock`` on ``path`` read ``at`` now (and run on from there)."""
        target = Path(path)
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(json.dumps({"offset_seconds": (at - datetime.now(UTC)).total_seconds()}))
        tmp.replace(target)


def clock_from_settings(clock_file: str | None) -> Clock:
    if clock_file:
        log.warning("scheduled duties follow the clock file %s (a test clock), not the system clock", clock_file)
        return FileClock(clock_file)
    return SystemClock()


async def every(seconds: float, name: str, job: Callable[[], Awaitable[object]]) -> None:
    """Run ``job`` now and then every ``seconds``; a failing pass is logged and retried next tick."""
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s pass failed; retrying", name)
        await asyncio.sleep(seconds)
