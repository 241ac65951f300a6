"""Retention of logs in calendar months (pure functions, no I/O).

"系统操作日志需保留12个月": an audit entry may be purged only once it is older than N *calendar* months
in the business time zone — a fixed number of days would cut a month short around February or a leap
year. Every service with an audit trail computes its purge cutoff here.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def shift_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months (negative: back), the day clamped to the month's end
    (31 March − 1 month = 28/29 February)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_before(now: datetime, months: int, timezone: str) -> datetime:
    """The instant ``months`` calendar months before ``now`` on the business calendar (same local time of
    day, the day clamped to the month's end), in UTC. Entries stamped before it are older than
    ``months`` months; none at or after it is."""
    if now.tzinfo is None:
        raise ValueError("an aware datetime is required")
    if months < 0:
        raise ValueError("months must not be negative")
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    day = shift_months(local.date(), -months)
    earlier = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=zone)
    return earlier.astimezone(UTC)
