"""Backups and audit retention against the real MongoDB wire server: the scheduled daily and monthly
exports land in the directory with their manifests; a backup restored into an empty database holds
exactly the documents of the source (byte-for-byte BSON, so datetimes, ciphertext and hashes compare
equal); a non-empty target is refused; two replicas ticking at once make one backup per period; a
failure is recorded and retried after its back-off, not in a loop; the audit purge removes only entries
older than 12 calendar months, once per day."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pymongo import MongoClient

from contracts import Channel
from intake import backup, domain
from intake.backup import BackupError, KeyRing
from intake.crypto import FieldCipher
from intake.domain import BackupSchedule, Customer
from intake.service import BackupService
from intake.store import BackupStore, IntakeStore
from servicekit.clock import FrozenClock

SHANGHAI = ZoneInfo("Asia/Shanghai")
RING = KeyRing.parse("k1=" + base64.b64encode(b"k" * 32).decode())
SCHEDULE = BackupSchedule(domain.parse_daily_at("16:30"), 25, "Asia/Shanghai")
CIPHER = FieldCipher(base64.urlsafe_b64encode(b"d" * 32).decode())
# 2026-12-07 16:31 in Shanghai: the daily backup of the 24 h since 2026-12-06 16:30 is due
NOW = datetime(2026, 12, 7, 16, 31, tzinfo=SHANGHAI).astimezone(UTC)


def customer(n: int, first: datetime, *, updated: datetime | None = None) -> Customer:
    return Customer(customer_id=f"cust{n:03d}", customer_no=n + 1, display=domain.customer_display(n + 1),
                    encrypted={"phone": CIPHER.encrypt(f"1380013{n:04d}"), "name": CIPHER.encrypt(f"客户{n}")},
                    masked={"phone": f"138****{n:04d}"}, first_contact_at=first, last_contact_at=first,
                    source_channel=Channel.EMAIL, updated_at=updated)


async def seed(db: Any) -> None:
    """10 old customers (one of them changed inside the window), 3 new ones inside the window."""
    store = IntakeStore(db)
    await store.ensure_indexes()
    old = NOW - timedelta(days=30)
    for n in range(10):
        await store.insert_customer(customer(n, old + timedelta(minutes=n)))
        await store.claim_key(f"hash-{n}", f"cust{n:03d}")
    for n in range(10, 13):
        await store.insert_customer(customer(n, NOW - timedelta(hours=n)))
        await store.claim_key(f"hash-{n}", f"cust{n:03d}")
    await store.update_customer("cust004", {"tier": "vip", "updated_at": NOW - timedelta(hours=2)}, [])
    await store.add_changes([{"customer_id": "cust004", "field": "tier", "before": "normal", "after": "vip",
                              "operator": "sup1", "at": NOW - timedelta(hours=2)},
                             {"customer_id": "cust001", "field": "tier", "before": "normal", "after": "key",
                              "operator": "sup1", "at": old}])


def service(db: Any, directory: Path | None, clock: FrozenClock, audits: list[dict[str, Any]] | None = None) -> BackupService:
    async def audit(entry: dict[str, Any]) -> None:
        (audits if audits is not None else []).append(entry)
        await db["audit_log"].insert_one(entry)

    return BackupService(BackupStore(db), directory=directory, keys=RING if directory else None, schedule=SCHEDULE,
                         retention_months=12, clock=clock, audit=audit)


@pytest.fixture
def sync_client(mongodb_url: str) -> Any:
    client: Any = MongoClient(mongodb_url, tz_aware=True, uuidRepresentation="standard")
    yield client
    client.close()


def documents(db: Any, name: str) -> list[dict[str, Any]]:
    return list(db[name].find({}).sort("_id", 1))


async def test_scheduled_backups_restore_exactly_into_an_empty_database(
        real_db: Any, tmp_path: Path, sync_client: Any) -> None:
    await seed(real_db)
    clock = FrozenClock(NOW)
    audits: list[dict[str, Any]] = []
    backups = service(real_db, tmp_path, clock, audits)
    await backups.store.ensure_indexes()
    assert await backups.tick() == ["daily:2026-12-07", "monthly:2026-11", "audit-retention"]
    assert await backups.tick() == []  # done: never twice

    history = (await backups.history(10))["backups"]
    assert {h["_id"] for h in history} == {"daily:2026-12-07", "monthly:2026-11"}
    assert all(h["status"] == "done" and h["key_id"] == "k1" and "token" not in h for h in history)
    daily = next(h for h in history if h["kind"] == "daily")
    assert daily["count"] == 4 and daily["collections"] == {"customers": 4, "customer_keys": 4, "customer_changes": 1}
    assert [a["action"] for a in audits] == ["backup_written", "backup_written"]

    manifest = json.loads((tmp_path / daily["manifest"]).read_text())
    assert manifest["sha256"] == daily["sha256"] and manifest["count"] == 4 and manifest["key_id"] == "k1"
    assert manifest["window_from"] == datetime(2026, 12, 6, 8, 30, tzinfo=UTC).isoformat()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left

    source = sync_client[real_db.name]
    monthly = next(h for h in history if h["kind"] == "monthly")
    target_name = f"restore_{uuid.uuid4().hex[:10]}"
    try:
        loaded = backup.restore(tmp_path / monthly["manifest"], RING, sync_client[target_name])
        assert loaded == {"customers": 13, "customer_keys": 13, "customer_changes": 2}
        target = sync_client[target_name]
        for name in ("customers", "customer_keys", "customer_changes"):
            assert documents(target, name) == documents(source, name)
        # the restored ciphertext still opens with the data keys: nothing was decrypted or re-encrypted
        assert CIPHER.decrypt(target["customers"].find_one({"_id": "cust012"})["encrypted"]["name"]) == "客户12"
        with pytest.raises(BackupError, match="not empty"):
            backup.restore(tmp_path / daily["manifest"], RING, target)
        assert target["customers"].count_documents({}) == 13
    finally:
        sync_client.drop_database(target_name)

    daily_target = f"restore_{uuid.uuid4().hex[:10]}"
    try:
        backup.restore(tmp_path / daily["manifest"], RING, sync_client[daily_target])
        ids = [d["_id"] for d in documents(sync_client[daily_target], "customers")]
        assert ids == ["cust004", "cust010", "cust011", "cust012"]
        assert documents(sync_client[daily_target], "customers") == [
            d for d in documents(source, "customers") if d["_id"] in ids]
    finally:
        sync_client.drop_database(daily_target)


async def test_two_replicas_ticking_at_once_make_one_backup_per_period(real_db: Any, tmp_path: Path) -> None:
    await seed(real_db)
    clock = FrozenClock(NOW)
    replicas = [service(real_db, tmp_path, clock) for _ in range(4)]
    await replicas[0].store.ensure_indexes()
    results = await asyncio.gather(*(r.tick() for r in replicas))
    ran = sorted(p for done in results for p in done if p != "audit-retention")
    assert ran == ["daily:2026-12-07", "monthly:2026-11"]
    assert sum("audit-retention" in done for done in results) == 1
    assert len(list(tmp_path.glob("*.hdbk"))) == 2 and len(list(tmp_path.glob("*.manifest.json"))) == 2


async def test_a_failure_is_recorded_and_retried_after_its_back_off(real_db: Any, tmp_path: Path) -> None:
    await seed(real_db)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the backup directory should be")
    clock = FrozenClock(NOW)
    backups = service(real_db, blocked, clock)
    assert await backups.tick() == ["audit-retention"]
    failed = await backups.store.get_backup("daily:2026-12-07")
    assert failed["status"] == "failed" and failed["attempts"] == 1 and "Error" in failed["error"]
    assert failed["retry_at"] == NOW + timedelta(minutes=1)
    clock.advance(seconds=30)
    assert await backups.tick() == []  # waits for its retry time
    blocked.unlink()
    clock.advance(seconds=31)
    assert await backups.tick() == ["daily:2026-12-07", "monthly:2026-11"]
    done = await backups.store.get_backup("daily:2026-12-07")
    assert done["status"] == "done" and done["attempts"] == 2 and done["error"] is None
    # a run whose process died (lease over) is taken over
    await backups.store.backups.insert_one({"_id": "daily:2026-12-08", "kind": "daily", "status": "running",
                                           "token": "dead", "claimed_at": NOW, "lease_until": NOW + timedelta(hours=2)})
    clock.set(datetime(2026, 12, 8, 16, 40, tzinfo=SHANGHAI))
    assert "daily:2026-12-08" in await backups.tick()
    assert (await backups.store.get_backup("daily:2026-12-08"))["status"] == "done"


async def test_manual_runs_and_disabled_backups(real_db: Any, tmp_path: Path) -> None:
    await seed(real_db)
    clock = FrozenClock(NOW)
    off = service(real_db, None, clock)
    assert (await off.history(5))["enabled"] is False
    with pytest.raises(domain.DomainError, match="not configured"):
        await off.run_now("daily", by="admin1")
    assert await off.tick() == ["audit-retention"]  # retention runs without backups

    backups = service(real_db, tmp_path, clock)
    started = await backups.run_now("monthly", by="admin1")
    assert started["status"] == "running" and started["requested_by"] == "admin1" and "~manual-" in started["_id"]
    await asyncio.wait(backups._tasks)
    doc = await backups.store.get_backup(started["_id"])
    assert doc["status"] == "done" and doc["count"] == 13 and doc["trigger"] == "manual"
    actions = [a["action"] async for a in real_db["audit_log"].find({"subject_id": started["_id"]}).sort("at", 1)]
    assert sorted(actions) == ["backup_requested", "backup_written"]


async def test_audit_retention_purges_only_entries_older_than_12_calendar_months(real_db: Any) -> None:
    now = datetime(2028, 2, 29, 3, 0, tzinfo=SHANGHAI).astimezone(UTC)  # leap day: 12 months back is 2027-02-28
    cutoff = datetime(2027, 2, 28, 3, 0, tzinfo=SHANGHAI).astimezone(UTC)
    stamps = [cutoff - timedelta(days=40), cutoff - timedelta(seconds=1), cutoff, cutoff + timedelta(days=1), now]
    await real_db["audit_log"].insert_many([{"subject": "ticket", "subject_id": "t", "action": f"a{i}", "at": at}
                                            for i, at in enumerate(stamps)])
    clock = FrozenClock(now)
    backups = service(real_db, None, clock)
    assert await backups.purge_audit_once() == 2
    assert await backups.purge_audit_once() is None  # once a day
    left = sorted([d["at"] async for d in real_db["audit_log"].find({"subject": "ticket"})])
    assert left == stamps[2:]
    status = await backups.retention_status()
    assert status["retention_months"] == 12 and status["last_purge_count"] == 2
    assert status["last_cutoff"] == cutoff and status["oldest_entry_at"] == cutoff
    assert status["last_purge_at"] == now
    clock.advance(days=1)  # 2028-03-01: the entry of 2027-02-28 is now older than 12 months, 2027-03-01's is not
    assert await backups.purge_audit_once() == 1
    assert sorted([d["at"] async for d in real_db["audit_log"].find({"subject": "ticket"})]) == stamps[3:]


async def test_a_monthly_backup_then_the_later_daily_rebuild_the_current_state(
        real_db: Any, tmp_path: Path, sync_client: Any) -> None:
    """1,200 customers (several export batches) in the monthly backup; a day later one changes and one is
    new; the monthly restored into an empty database, then that day's daily applied over it
    (--update-existing) give exactly the source's customers and lookup keys."""
    from servicekit.documents import to_doc

    monthly_at = datetime(2026, 11, 25, 16, 31, tzinfo=SHANGHAI)
    old = monthly_at - timedelta(days=40)
    await real_db["customers"].insert_many([to_doc(customer(n, old), id_field="customer_id") for n in range(1200)])
    await real_db["customer_keys"].insert_many([{"_id": f"hash-{n}", "customer_id": f"cust{n:03d}"} for n in range(1200)])
    clock = FrozenClock(monthly_at)
    backups = service(real_db, tmp_path, clock)
    await backups.store.ensure_indexes()
    assert await backups.tick() == ["daily:2026-11-25", "monthly:2026-11", "audit-retention"]

    store = IntakeStore(real_db)
    next_day = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)
    await store.update_customer("cust005", {"tier": "key_account", "updated_at": next_day}, [])
    await store.insert_customer(customer(1500, next_day))
    await store.claim_key("hash-1500", "cust1500")
    clock.set(datetime(2026, 11, 26, 16, 31, tzinfo=SHANGHAI))
    assert await backups.tick() == ["daily:2026-11-26", "audit-retention"]

    monthly = await backups.store.get_backup("monthly:2026-11")
    daily = await backups.store.get_backup("daily:2026-11-26")
    assert monthly["count"] == 1200 and daily["count"] == 2
    target_name = f"restore_{uuid.uuid4().hex[:10]}"
    try:
        target = sync_client[target_name]
        assert backup.restore(tmp_path / monthly["manifest"], RING, target)["customers"] == 1200
        with pytest.raises(BackupError, match="not empty"):
            backup.restore(tmp_path / daily["manifest"], RING, target)
        applied = backup.restore(tmp_path / daily["manifest"], RING, target, update_existing=True)
        assert applied == {"customers": 2, "customer_keys": 2, "customer_changes": 0}
        source = sync_client[real_db.name]
        for name in ("customers", "customer_keys"):
            assert documents(target, name) == documents(source, name)
        assert target["customers"].find_one({"_id": "cust005"})["tier"] == "key_account"
    finally:
        sync_client.drop_database(target_name)
