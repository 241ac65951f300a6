"""When scheduled reports are due and what they cover (pure calendar maths, hypothesis-tested)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reporting.schedule import (
    KINDS,
    ReportCalendar,
    daily_period,
    due_now,
    latest_due,
    monthly_period,
    next_business_day,
    next_due,
    parse_holidays,
    parse_workdays,
    weekly_period,
)

CAL = ReportCalendar(holidays=frozenset({date(2026, 10, 1), date(2026, 10, 2)}))

calendars = st.builds(
    ReportCalendar,
    timezone=st.sampled_from(["Asia/Shanghai", "UTC", "Europe/Berlin", "America/New_York"]),
    workdays=st.frozensets(st.integers(1, 7), min_size=1),
    holidays=st.frozensets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=30),
    close=st.sampled_from([time(17, 30), time(18), time(23, 59), time(0, 30)]),
    morning=st.sampled_from([time(9), time(8, 15), time(0, 0)]),
)
instants = st.datetimes(datetime(2026, 1, 15), datetime(2027, 10, 1), timezones=st.just(UTC))


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return CAL.at(day, time(hh, mm))


def test_a_monday_daily_report_covers_the_weekend_and_is_due_at_the_close() -> None:
    p = daily_period(date(2026, 12, 7), CAL)
    assert (p.id, p.start, p.end, p.days) == ("daily:2026-12-07", date(2026, 12, 5), date(2026, 12, 7), 3)
    assert p.due_at == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai


def test_the_day_after_a_holiday_covers_it() -> None:
    p = daily_period(date(2026, 10, 5), CAL)  # Thu 1st and Fri 2nd off, then the weekend
    assert (p.start, p.end) == (date(2026, 10, 1), date(2026, 10, 5))
    with pytest.raises(ValueError):
        daily_period(date(2026, 10, 1), CAL)


def test_weekly_and_monthly_periods_and_their_due_times() -> None:
    w = weekly_period(date(2026, 12, 9), CAL)
    assert (w.id, w.start, w.end) == ("weekly:2026-W49", date(2026, 11, 30), date(2026, 12, 6))
    assert w.due_at == local(date(2026, 12, 7), 9)
    # the week of the national holiday: Monday 28 Sep is a business day; the week from 5 Oct starts Monday
    assert weekly_period(date(2026, 10, 5), CAL).due_at == local(date(2026, 10, 5), 9)
    m = monthly_period(date(2026, 12, 1), CAL)
    assert (m.id, m.start, m.end, m.due_at) == ("monthly:2026-11", date(2026, 11, 1), date(2026, 11, 30),
                                                 local(date(2026, 12, 1), 9))
    assert monthly_period(date(2027, 1, 1), CAL).key == "2026-12"


def test_latest_due_around_the_close() -> None:
    friday, monday = date(2026, 12, 4), date(2026, 12, 7)
    assert latest_due("daily", local(monday, 17, 59), CAL).id == "daily:2026-12-04"
    assert latest_due("daily", local(monday, 18, 0), CAL).id == "daily:2026-12-07"
    assert latest_due("daily", local(date(2026, 12, 6), 12), CAL).id == f"daily:{friday}"
    assert latest_due("weekly", local(monday, 8, 59), CAL).id == "weekly:2026-W48"
    assert latest_due("weekly", local(monday, 9), CAL).id == "weekly:2026-W49"
    assert latest_due("monthly", local(date(2026, 12, 1), 8), CAL).id == "monthly:2026-10"
    assert latest_due("monthly", local(date(2026, 12, 1), 9), CAL).id == "monthly:2026-11"
    assert [p.kind for p in due_now(local(monday, 9), CAL)] == list(KINDS)
    assert next_due("daily", local(friday, 18), CAL).id == "daily:2026-12-07"


def test_settings_parsing() -> None:
    assert parse_workdays("1, 2,3,4,5") == frozenset({1, 2, 3, 4, 5})
    assert parse_holidays("2026-10-01,2026-10-02") == frozenset({date(2026, 10, 1), date(2026, 10, 2)})
    for bad in ("", "0", "8", "mon"):
        with pytest.raises(ValueError):
            parse_workdays(bad)
    with pytest.raises(ValueError):
        ReportCalendar(workdays=frozenset())


@settings(max_examples=60, deadline=None)
@given(cal=calendars, first=st.dates(date(2026, 2, 1), date(2027, 6, 1)), days=st.integers(1, 120))
def test_daily_periods_tile_the_calendar_without_gap_or_overlap(cal: ReportCalendar, first: date, days: int) -> None:
    d = next_business_day(first, cal)
    covered: list[date] = []
    for _ in range(days):
        p = daily_period(d, cal)
        covered.extend(p.start + timedelta(days=i) for i in range(p.days))
        d = next_business_day(d + timedelta(days=1), cal)
    assert covered == [covered[0] + timedelta(days=i) for i in range(len(covered))]


@settings(max_examples=60, deadline=None)
@given(cal=calendars, first=st.dates(date(2026, 2, 1), date(2027, 6, 1)), weeks=st.integers(1, 30))
def test_weekly_and_monthly_periods_tile_too(cal: ReportCalendar, first: date, weeks: int) -> None:
    ws = [weekly_period(first + timedelta(days=7 * i), cal) for i in range(weeks)]
    ms = [monthly_period(date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1), cal)
          for i in range(weeks)]
    for periods in (ws, ms):
        for a, b in zip(periods, periods[1:], strict=False):
            assert b.start == a.end + timedelta(days=1)
            assert b.due_at > a.due_at > datetime.combine(a.end, time(0), tzinfo=UTC) - timedelta(days=1)


@settings(max_examples=40, deadline=None)
@given(cal=calendars, start=instants,
       steps=st.lists(st.integers(1, 4 * 24 * 3600), min_size=1, max_size=80))
def test_every_due_period_is_claimed_exactly_once_over_any_ticks(cal: ReportCalendar, start: datetime,
                                                                 steps: list[int]) -> None:
    """Simulate the scheduler: each tick claims the latest due period of each kind unless it exists.
    Nothing is claimed twice, what is claimed is due, and a kind's claims only move forward; when the ticks
    are dense (≤ 1 h apart) every daily period in between is claimed, none skipped."""
    claimed: dict[str, list[str]] = {k: [] for k in KINDS}
    now = start
    dense = all(s <= 3600 for s in steps)
    for step in steps:
        now += timedelta(seconds=step)
        for p in due_now(now, cal):
            assert p.due_at <= now
            if p.id not in claimed[p.kind]:
                claimed[p.kind].append(p.id)
    for ids in claimed.values():
        assert len(ids) == len(set(ids))
    first = latest_due("daily", start + timedelta(seconds=steps[0]), cal)
    last = latest_due("daily", now, cal)
    if dense:
        expected, d = [], first
        while d.due_at <= last.due_at:
            expected.append(d.id)
            d = daily_period(next_business_day(d.end + timedelta(days=1), cal), cal)
        assert claimed["daily"] == expected


@settings(max_examples=80, deadline=None)
@given(cal=calendars, now=instants, kind=st.sampled_from(KINDS))
def test_a_period_becomes_due_exactly_at_its_due_time(cal: ReportCalendar, now: datetime, kind: str) -> None:
    p = latest_due(kind, now, cal)  # type: ignore[arg-type]
    assert p.due_at <= now
    assert latest_due(kind, p.due_at, cal) == p  # type: ignore[arg-type]
    assert latest_due(kind, p.due_at - timedelta(microseconds=1), cal) != p  # type: ignore[arg-type]
    nxt = next_due(kind, now, cal)  # type: ignore[arg-type]
    assert nxt.due_at > now
    assert latest_due(kind, nxt.due_at, cal) == nxt  # type: ignore[arg-type]
    assert latest_due(kind, nxt.due_at - timedelta(microseconds=1), cal) == p  # type: ignore[arg-type]
