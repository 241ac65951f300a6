"""Backups and audit retention, pure parts: which period is due when (hypothesis over days, months and
years), the calendar-month retention cutoff, the backup key ring, and the encrypted file format
(round trip, tamper detection: one flipped byte anywhere is refused)."""

from __future__ import annotations

import base64
import calendar
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import bson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake import backup
from intake.backup import BackupError, BackupWriter, KeyRing
from intake.domain import (
    BackupSchedule,
    audit_purge_period,
    backup_file_stem,
    backup_retry_at,
    due_backups,
    manual_backup,
    parse_daily_at,
)
from servicekit.retention import months_before, shift_months

TZ = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TZ)
SCHEDULE = BackupSchedule(time(16, 30), 25, TZ)
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31),
                        timezones=st.just(UTC))


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


# ---------------------------------------------------------------------- due periods
def test_daily_period_turns_at_the_daily_time_and_covers_the_24_hours_before_it() -> None:
    daily, monthly = due_backups(local(2026, 12, 7, 16, 29), SCHEDULE)
    assert daily.period == "2026-12-06" and monthly.period == "2026-11"
    daily, _ = due_backups(local(2026, 12, 7, 16, 30), SCHEDULE)
    assert daily.backup_id == "daily:2026-12-07"
    assert daily.window_from == local(2026, 12, 6, 16, 30) and daily.window_to == local(2026, 12, 7, 16, 30)
    _, monthly = due_backups(local(2026, 12, 25, 16, 30), SCHEDULE)
    assert monthly.backup_id == "monthly:2026-12" and monthly.window_from is None
    _, monthly = due_backups(local(2027, 1, 25, 16, 29), SCHEDULE)
    assert monthly.period == "2026-12"  # across the year


@settings(max_examples=400, deadline=None)
@given(now=instants, hour=st.integers(0, 16), minute=st.integers(0, 59), day=st.integers(1, 28))
def test_the_due_periods_are_the_latest_whose_time_has_come(now: datetime, hour: int, minute: int, day: int) -> None:
    schedule = BackupSchedule(time(hour, minute), day, TZ)
    daily, monthly = due_backups(now, schedule)
    # due, and the latest: the next period's time is still to come
    assert daily.due_at <= now < daily.due_at + timedelta(days=1)
    assert daily.window_to == daily.due_at and daily.window_to - daily.window_from == timedelta(days=1)
    assert datetime.combine(date.fromisoformat(daily.period), schedule.daily_at, SHANGHAI) == daily.due_at
    y, m = map(int, monthly.period.split("-"))
    assert monthly.due_at == datetime.combine(date(y, m, day), schedule.daily_at, SHANGHAI)
    nxt = shift_months(date(y, m, day), 1)
    assert monthly.due_at <= now < datetime.combine(nxt, schedule.daily_at, SHANGHAI)
    # an instant a little later is due the same period, or the next one — never an older one
    later, _ = due_backups(now + timedelta(hours=7), schedule)
    assert later.period >= daily.period


@settings(max_examples=200, deadline=None)
@given(now=instants)
def test_consecutive_daily_windows_leave_no_gap(now: datetime) -> None:
    today, _ = due_backups(now, SCHEDULE)
    tomorrow, _ = due_backups(today.due_at + timedelta(days=1), SCHEDULE)
    assert tomorrow.window_from == today.window_to


def test_settings_of_the_schedule() -> None:
    assert parse_daily_at("16:30") == time(16, 30) and parse_daily_at("7:05") == time(7, 5)
    for bad in ("17:00", "23:10", "16:60", "1630", ""):
        with pytest.raises(ValueError):
            parse_daily_at(bad)


def test_manual_runs_and_retries() -> None:
    now = local(2026, 12, 7, 10, 0).astimezone(UTC)
    run = manual_backup("daily", now, TZ, "abc123")
    assert run.backup_id == "daily:2026-12-07~manual-abc123" and run.window_to == now
    assert run.window_from == now - timedelta(days=1)
    monthly = manual_backup("monthly", now, TZ, "abc123")
    assert monthly.backup_id == "monthly:2026-12~manual-abc123" and monthly.window_from is None
    assert backup_file_stem(run, "abcdef0123456789") == "customers-daily-2026-12-07-manual-abc123-abcdef01"
    assert [backup_retry_at(now, n) - now for n in (1, 2, 3, 10)] == [
        timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=60)]
    assert audit_purge_period(local(2026, 12, 7, 0, 5), TZ) == "2026-12-07"


# ---------------------------------------------------------------------- retention in calendar months
def test_months_before_is_calendar_months_in_the_business_zone() -> None:
    assert months_before(local(2026, 12, 7, 10), 12, TZ) == local(2025, 12, 7, 10)
    assert months_before(local(2028, 2, 29, 1), 12, TZ) == local(2027, 2, 28, 1)  # clamped
    assert months_before(local(2026, 3, 31, 9), 1, TZ) == local(2026, 2, 28, 9)
    with pytest.raises(ValueError):
        months_before(datetime(2026, 1, 1), 12, TZ)


@settings(max_examples=300, deadline=None)
@given(now=instants, months=st.integers(1, 36))
def test_nothing_younger_than_the_retention_is_ever_purged(now: datetime, months: int) -> None:
    cutoff = months_before(now, months, TZ)
    here, there = now.astimezone(SHANGHAI), cutoff.astimezone(SHANGHAI)
    assert (here.year * 12 + here.month) - (there.year * 12 + there.month) == months
    assert there.day == min(here.day, calendar.monthrange(there.year, there.month)[1])
    assert there.time() == here.time()
    # an entry stamped exactly ``months`` months ago (same day, or the month's last day) is kept
    assert cutoff <= now - timedelta(days=28 * months)
    assert cutoff >= now - timedelta(days=31 * months + 1)


# ---------------------------------------------------------------------- key ring
KEY1 = base64.b64encode(bytes(range(32))).decode()
KEY2 = base64.urlsafe_b64encode(b"\xfb" * 32).decode().rstrip("=")


def test_key_ring_parsing() -> None:
    ring = KeyRing.parse(f" k2026={KEY1} , old={KEY2}")
    assert ring.current == "k2026" and ring.keys["old"] == b"\xfb" * 32
    for bad in ("", "k1", f"k1={KEY1},k1={KEY1}", "k1=short", f"bad id={KEY1}", "k1=!!!!"):
        with pytest.raises(ValueError) as caught:
            KeyRing.parse(bad)
        assert KEY1 not in str(caught.value)
    with pytest.raises(BackupError, match="does not hold"):
        ring.key("k1999")
    assert KeyRing.parse(backup.generate_key_ring_entry("x")).current == "x"


# ---------------------------------------------------------------------- file format
RING = KeyRing.parse(f"k1={KEY1},k0={KEY2}")
DOCS = [{"_id": f"c{i}", "n": i, "at": datetime(2026, 12, 7, 8, i, 30, 123000, tzinfo=UTC), "blob": b"\x00\xff" * i,
         "encrypted": {"phone": "gAAAAA-token"}, "name": "张三" * (i % 3)} for i in range(50)]


def write(directory: Path, docs: list[dict] = DOCS, ring: KeyRing = RING) -> Path:
    writer = BackupWriter(directory, "customers-daily-test", ring, kind="daily", period="2026-12-07",
                          collections=["customers", "customer_keys"])
    for d in docs:
        writer.add("customers", bson.encode(d))
    writer.add("customer_keys", bson.encode({"_id": "h1", "customer_id": "c1"}))
    sha, size = writer.finish()
    manifest = {"format": backup.FORMAT_NAME, "format_version": 1, "kind": "daily", "period": "2026-12-07",
                "file": writer.path.name, "bytes": size, "sha256": sha, "key_id": writer.key_id,
                "collections": writer.counts, "count": writer.counts["customers"]}
    path = backup.manifest_path_for(writer.path)
    backup.write_manifest(path, manifest)
    return path


def test_round_trip_is_exact_and_nothing_is_left_in_clear(tmp_path: Path) -> None:
    manifest = write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers-daily-test.hdbk",
                                                          "customers-daily-test.manifest.json"]
    data = (tmp_path / "customers-daily-test.hdbk").read_bytes()
    assert b"gAAAAA-token" not in data and "张三".encode() not in data and data.startswith(b"HDBKUP\x01\x02k1")
    checked = backup.verify(manifest, RING)
    assert checked.counts == {"customers": 50, "customer_keys": 1}
    records = list(backup._records(checked.path, RING, "k1"))
    got = [bson.decode(doc, codec_options=bson.CodecOptions(tz_aware=True)) for c, doc in records if c == "customers"]
    assert got == DOCS  # datetimes (ms), bytes, unicode exactly


def test_an_old_key_still_decrypts_and_a_missing_key_is_named(tmp_path: Path) -> None:
    manifest = write(tmp_path, ring=KeyRing.parse(f"k0={KEY2}"))
    assert backup.verify(manifest, RING).counts["customers"] == 50  # k0 is still in the ring
    with pytest.raises(BackupError, match="'k0'"):
        backup.verify(manifest, KeyRing.parse(f"k1={KEY1}"))


@settings(max_examples=40, deadline=None)
@given(where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_one_flipped_byte_anywhere_is_refused(tmp_path_factory: pytest.TempPathFactory, where: float, bit: int) -> None:
    directory = tmp_path_factory.mktemp("tamper")
    manifest = write(directory, DOCS[:5])
    data_file = directory / "customers-daily-test.hdbk"
    data = bytearray(data_file.read_bytes())
    data[int(where * len(data))] ^= 1 << bit
    data_file.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="sha256 mismatch"):
        backup.verify(manifest, RING)
    # even with a manifest that matches the altered file, the GCM tag (or the header) refuses it
    doc = json.loads(manifest.read_text())
    doc["sha256"] = backup._sha256_of(data_file)
    manifest.write_text(json.dumps(doc))
    with pytest.raises(BackupError):
        backup.verify(manifest, RING)


def test_truncation_and_a_lying_manifest_are_refused(tmp_path: Path) -> None:
    manifest = write(tmp_path)
    doc = json.loads(manifest.read_text())
    doc["collections"]["customers"] = 49
    manifest.write_text(json.dumps(doc))
    with pytest.raises(BackupError, match="count mismatch"):
        backup.verify(manifest, RING)
    data_file = tmp_path / doc["file"]
    data_file.write_bytes(data_file.read_bytes()[:-40])
    doc["sha256"] = backup._sha256_of(data_file)
    manifest.write_text(json.dumps(doc))
    with pytest.raises(BackupError, match="authentication"):
        backup.verify(manifest, RING)
    doc["file"] = "../elsewhere.hdbk"
    manifest.write_text(json.dumps(doc))
    with pytest.raises(BackupError, match="outside"):
        backup.verify(manifest, RING)


def test_the_command_line_verifies_and_explains_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write(tmp_path)
    monkeypatch.setenv("BACKUP_KEYS", f"k1={KEY1}")
    assert backup.main(["verify", str(manifest)]) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == {"customers": 50, "customer_keys": 1}
    monkeypatch.setenv("BACKUP_KEYS", f"k9={KEY2}")
    assert backup.main(["verify", str(manifest)]) == 1
    assert "does not hold" in capsys.readouterr().err
    monkeypatch.delenv("BACKUP_KEYS")
    assert backup.main(["verify", str(manifest)]) == 1
    assert "set BACKUP_KEYS" in capsys.readouterr().err
