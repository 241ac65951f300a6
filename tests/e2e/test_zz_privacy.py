"""Runs after the other end-to-end tests (file order): no raw phone number, e-mail address or ID number
that those tests submitted appears in any event published during the run or in any service's log."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from servicekit.testing import drain_queue

pytestmark = pytest.mark.e2e

# every raw identifier the end-to-end tests put into submissions
RAW_VALUES = ("13800138000", "13512345678", "li.na@example.com")
NAMES = ("张先生", "赵女士")


def _raw_hits(text: str) -> list[str]:
    hits = [v for v in RAW_VALUES if v in text]
    hits += [m for m in re.findall(r"\b\d{17}[\dXx]\b", text)]  # resident ID numbers
    return hits


def test_no_personal_data_in_events_or_logs(platform: Any) -> None:
    events = asyncio.run(drain_queue(platform.rabbitmq, platform.tap_queue))
    assert len(events) > 20, "the tap saw too few events to prove anything"
    for body, _headers in events:
        text = body.decode("utf-8", "replace")
        assert not _raw_hits(text), f"personal data in an event: {_raw_hits(text)} in {text[:200]}"
        assert not any(n in text for n in NAMES), f"a customer's name in an event: {text[:200]}"

    logs = sorted(Path(platform.log_dir).glob("*.log"))
    assert {p.stem for p in logs} >= {"intake", "classifier", "dispatcher", "sla-monitor", "survey", "reporting"}
    lines = 0
    for path in logs:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            lines += 1
            assert not _raw_hits(line), f"personal data in {path.name}: {line[:200]}"
    assert lines > 0
