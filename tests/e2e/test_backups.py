"""Manual 003's backups end to end: customers arrive through tickets; at the daily backup time (the
services' clock moved there) intake writes an encrypted backup of the day's new and changed customers
with its manifest into the backup directory; the restore command, run as its own process, verifies it
and loads it into a fresh empty database on the same MongoDB server; the restored customers equal
intake's documents exactly; a second restore into that (no longer empty) database is refused; the
administrators' history lists the backup once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time as time_module
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pymongo import MongoClient

from contracts import StaffRole
from servicekit.testing import auth_header, eventually

pytestmark = pytest.mark.e2e

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAILY_AT = time(16, 30)  # BACKUP_DAILY_AT's default
ADMIN = auth_header(StaffRole.ADMIN, staff_id="e2e-backup-admin")


def next_cut(now: datetime) -> date:
    """The business day whose daily backup window holds ``now`` (the first cut-off after it)."""
    local = now.astimezone(SHANGHAI)
    return local.date() if local.time() < DAILY_AT else local.date() + timedelta(days=1)


def restore_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "intake.backup", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_daily_backup_is_written_restored_into_an_empty_database_and_equal(platform: Any) -> None:
    local = datetime.now(SHANGHAI)
    to_cut = datetime.combine(local.date(), DAILY_AT, SHANGHAI) - local
    if timedelta(0) <= to_cut < timedelta(minutes=2):  # the customers must not straddle a daily cut-off
        time_module.sleep(to_cut.total_seconds() + 1)
    day = next_cut(datetime.now(UTC))
    key = {"X-API-Key": platform.channel_keys["web_form"]}
    tag = uuid.uuid4().hex[:6]
    customers = [("钱先生", "13911112201"), ("孙女士", "13911112202"), ("钱先生", "13911112201")]  # one comes back
    for i, (name, phone) in enumerate(customers):
        body = {"channel": "web_form", "channel_message_id": f"bk-{tag}-{i}", "subject": "发票",
                "description": f"订单 A20261207{i:02d} 需要开发票", "order_number": f"A20261207{i:02d}",
                "customer": {"name": name, "phone": phone}}
        created = platform.post("intake", "/api/v1/submissions", json=body, headers=key)
        assert created.status_code == 201, created.text
    ticket_ids = [platform.get("intake", f"/api/v1/tickets/by-channel/web_form/bk-{tag}-{i}").json()["ticket_id"]
                  for i in range(3)]
    ours = {platform.get("intake", f"/api/v1/tickets/{t}").json()["customer_id"] for t in ticket_ids}
    assert len(ours) == 2

    assert next_cut(datetime.now(UTC)) == day
    period = day.isoformat()
    intake = platform.url("intake")
    try:
        platform.set_clock(datetime.combine(day, DAILY_AT, SHANGHAI) + timedelta(minutes=1))

        def done() -> dict[str, Any] | None:
            history = httpx.get(f"{intake}/api/v1/admin/backups", headers=ADMIN, timeout=5).json()
            found = [b for b in history["backups"] if b["_id"] == f"daily:{period}"]
            return found[0] if found and found[0]["status"] == "done" else None

        backup = eventually(done, timeout=30, interval=0.5)
    finally:
        platform.reset_clock()
    manifest_path = platform.backup_dir / backup["manifest"]
    assert manifest_path.exists() and (platform.backup_dir / backup["file"]).exists()
    manifest = json.loads(manifest_path.read_text())
    assert manifest["kind"] == "daily" and manifest["period"] == period and manifest["count"] == backup["count"] >= 2
    assert manifest["sha256"] == backup["sha256"] and manifest["key_id"] == "e2e1"
    assert b"13911112201" not in (platform.backup_dir / backup["file"]).read_bytes()

    history = httpx.get(f"{intake}/api/v1/admin/backups", headers=ADMIN, timeout=5).json()
    assert [b["_id"] for b in history["backups"]].count(f"daily:{period}") == 1
    assert httpx.get(f"{intake}/api/v1/admin/backups", headers=platform.staff, timeout=5).status_code == 403

    url = platform.stack.env["MONGODB_URL"]
    env = {**os.environ, "BACKUP_KEYS": platform.stack.env["BACKUP_KEYS"]}
    env.pop("MONGODB_URL", None)
    verified = restore_cli("verify", str(manifest_path), env=env)
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["counts"]["customers"] == backup["count"]

    target = f"{platform.stack.env['MONGODB_DATABASE_PREFIX']}_restore_{tag}"
    client: Any = MongoClient(url, tz_aware=True, uuidRepresentation="standard")
    try:
        restored_run = restore_cli("restore", str(manifest_path), "--mongodb-url", url, "--database", target, env=env)
        assert restored_run.returncode == 0, restored_run.stderr
        assert json.loads(restored_run.stdout)["counts"] == backup["collections"]
        restored = {d["_id"]: d for d in client[target]["customers"].find({})}
        assert ours <= set(restored)
        source = client[f"{platform.stack.env['MONGODB_DATABASE_PREFIX']}_intake"]
        live = {d["_id"]: d for d in source["customers"].find({"_id": {"$in": list(restored)}})}
        assert restored == live  # every field, exactly (ciphertext, hashes, datetimes)
        keys = list(client[target]["customer_keys"].find({"customer_id": {"$in": list(ours)}}))
        assert keys and all(k == source["customer_keys"].find_one({"_id": k["_id"]}) for k in keys)

        again = restore_cli("restore", str(manifest_path), "--mongodb-url", url, "--database", target, env=env)
        assert again.returncode == 1 and "not empty" in again.stderr
        assert client[target]["customers"].count_documents({}) == len(restored)
    finally:
        client.drop_database(target)
        client.close()

    retention = httpx.get(f"{intake}/api/v1/admin/audit/retention", headers=ADMIN, timeout=5).json()
    assert retention["retention_months"] == 12 and retention["last_purge_at"] is not None
