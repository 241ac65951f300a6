"""The administrators' backup and audit-retention routes: admins only (401 without a token, 403 for
agents and supervisors), a manual run is accepted (202), runs in the background, shows in the history
and is audited; unconfigured backups say so (and refuse a run with 409); settings refuse an
unencrypted backup directory and a daily time at or after 17:00."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pydantic
import pytest

from contracts import StaffRole
from intake.app import IntakeSettings, create_app
from servicekit.testing import TEST_JWT_SECRET, auth_header, running_app

ADMIN = auth_header(StaffRole.ADMIN, staff_id="AD1")
OTHERS = [auth_header(StaffRole.AGENT, staff_id="A1"), auth_header(StaffRole.SUPERVISOR, staff_id="S1")]
KEYS = "k1=" + base64.b64encode(b"b" * 32).decode()
WEB_KEY = "web-form-key-0123456789"


def settings(**extra: Any) -> IntakeSettings:
    return IntakeSettings(jwt_secret=TEST_JWT_SECRET, channel_api_keys=f"web_form={WEB_KEY}",
                          customer_lookup_key="unit-test-pepper", log_format="text", **extra)


async def test_routes_are_for_admins_and_a_manual_run_is_recorded_and_audited(tmp_path: Path) -> None:
    async with running_app(create_app(settings(backup_dir=str(tmp_path), backup_keys=KEYS))) as running:
        client = running["client"]
        submission = {"channel": "web_form", "channel_message_id": "bk-1", "subject": "退款", "description": "没收到退款",
                      "customer": {"name": "王五", "phone": "13800138000"}}
        assert (await client.post("/api/v1/submissions", json=submission, headers={"X-API-Key": WEB_KEY})).status_code == 201
        for method, path, body in (("get", "/api/v1/admin/backups", None), ("get", "/api/v1/admin/audit/retention", None),
                                   ("post", "/api/v1/admin/backups/run", {"kind": "daily"})):
            assert (await client.request(method, path, json=body)).status_code == 401
            for headers in OTHERS:
                assert (await client.request(method, path, json=body, headers=headers)).status_code == 403
        assert (await client.post("/api/v1/admin/backups/run", json={"kind": "weekly"}, headers=ADMIN)).status_code == 422

        started = await client.post("/api/v1/admin/backups/run", json={"kind": "daily"}, headers=ADMIN)
        assert started.status_code == 202, started.text
        backup_id = started.json()["_id"]
        for _ in range(100):
            doc = (await client.get(f"/api/v1/admin/backups/{backup_id}", headers=ADMIN)).json()
            if doc["status"] != "running":
                break
            await asyncio.sleep(0.05)
        assert doc["status"] == "done" and doc["count"] == 1 and doc["requested_by"] == "AD1", doc
        history = (await client.get("/api/v1/admin/backups", headers=ADMIN)).json()
        assert history["enabled"] is True and history["key_id"] == "k1"
        assert history["schedule"] == {"daily_at": "16:30", "monthly_day": 25, "timezone": "Asia/Shanghai"}
        assert [b["_id"] for b in history["backups"]].count(backup_id) == 1
        manifest = json.loads((tmp_path / doc["manifest"]).read_text())
        assert manifest["sha256"] == doc["sha256"] and manifest["count"] == 1
        assert b"13800138000" not in (tmp_path / doc["file"]).read_bytes()
        audit = [a async for a in running["kit"].db["audit_log"].find({"subject_id": backup_id})]
        assert {a["action"] for a in audit} == {"backup_requested", "backup_written"}
        assert (await client.get("/api/v1/admin/backups/nope", headers=ADMIN)).status_code == 404
        metrics = (await client.get("/metrics")).text
        assert 'helpdesk_backups_total{kind="daily",outcome="done"}' in metrics
        assert 'helpdesk_backup_last_success_timestamp_seconds{kind="daily"}' in metrics

        retention = (await client.get("/api/v1/admin/audit/retention", headers=ADMIN)).json()
        assert retention["retention_months"] == 12 and retention["oldest_entry_at"] is not None


async def test_unconfigured_backups_are_reported_and_refused() -> None:
    async with running_app(create_app(settings())) as running:
        client = running["client"]
        history = (await client.get("/api/v1/admin/backups", headers=ADMIN)).json()
        assert history["enabled"] is False and history["backups"] == []
        refused = await client.post("/api/v1/admin/backups/run", json={"kind": "monthly"}, headers=ADMIN)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "backups_disabled"


def test_settings_refuse_unencrypted_backups_and_late_daily_times(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="BACKUP_KEYS"):
        create_app(settings(backup_dir=str(tmp_path)))
    with pytest.raises(pydantic.ValidationError):
        settings(backup_daily_at="17:30")
    with pytest.raises(pydantic.ValidationError):
        settings(backup_monthly_day=29)
    with pytest.raises(pydantic.ValidationError):
        settings(audit_retention_months=6)
