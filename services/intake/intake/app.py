"""Wiring of the intake service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from pydantic import Field, SecretStr, field_validator

from servicekit import ServiceKit, ServiceSettings
from servicekit.auth import parse_channel_keys, parse_revoked_keys
from servicekit.clock import every
from servicekit.notify import Notifier, notifier_from_settings

from . import handlers
from .api import build_admin_router, build_evidence_router, build_router
from .backup import KeyRing
from .crypto import FieldCipher
from .domain import BackupSchedule, parse_daily_at
from .evidence import EvidenceLimits
from .service import BackupService, EvidenceService, IntakeService, Policy
from .store import BackupStore, EvidenceStore, IntakeStore

log = logging.getLogger(__name__)


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
    http_port: int = 8001
    channel_api_keys: SecretStr = Field(
        default=SecretStr(""), description="`channel=key,…` API keys of channel systems (keys ≥ 16 chars)."
    )
    channel_api_keys_revoked: SecretStr = Field(
        default=SecretStr(""), description="Revoked channel API keys, comma-separated: the key or `sha256:<hex>` "
        "of it. Refused even while still listed in CHANNEL_API_KEYS.",
    )
    customer_lookup_key: SecretStr = Field(
        default=SecretStr(""), description="Key of the hashes customers are looked up by (set it in production)."
    )
    customer_data_keys: SecretStr = Field(
        default=SecretStr(""), description="Fernet key(s), comma-separated, first encrypts: customers' personal data."
    )
    auto_close_days: float = Field(default=7.0, gt=0, description="Resolved tickets close after this many days.")
    dormant_after_days: int = Field(default=182, ge=1, description="No contact for this long → 待激活 (dormant).")
    log_retention_days: int = Field(default=365, ge=30, description="Change log and audit log retention.")
    max_compensation_cny: float = Field(default=200.0, ge=0, description="Agents' compensation limit per ticket.")
    maintenance_interval_seconds: float = Field(default=300.0, gt=0, description="Auto-close/dormancy/retention pass.")
    reply_window_days: float = Field(default=7.0, gt=0, description="A customer message without reference or thread "
                                     "joins their open ticket on the channel touched within this many days.")
    reopen_window_days: float = Field(default=14.0, ge=0, description="A message for a ticket resolved or closed at "
                                      "most this many days ago reopens it; a later one opens a new, linked ticket.")
    reopen_on_reply: bool = Field(default=True, description="Whether a customer's message may reopen an ended ticket.")
    backup_dir: str | None = Field(default=None, description="Directory of the encrypted customer backups (a volume); "
                                   "unset: backups are off (and the admin API says so).")
    backup_keys: SecretStr = Field(default=SecretStr(""), description="`id=base64key,…` AES-256 keys of the backups, "
                                   "the first encrypts; separate from CUSTOMER_DATA_KEYS. Required with BACKUP_DIR.")
    backup_daily_at: str = Field(default="16:30", description="Local time (business zone) of the daily export of new "
                                 "and changed customers; before 17:00.")
    backup_monthly_day: int = Field(default=25, ge=1, le=28, description="Day of the month of the full export.")
    audit_retention_months: int = Field(default=12, ge=12, le=120, description="Audit-log entries are kept this many "
                                        "calendar months (at least 12), then purged by a daily pass.")
    evidence_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024,
                                    description="Largest evidence file (screenshot, document) staff may attach.")
    evidence_max_files: int = Field(default=20, ge=1, le=1000, description="Evidence files per ticket.")
    evidence_max_total_bytes: int = Field(default=50 * 1024 * 1024, ge=1024,
                                          description="All evidence files of one ticket together.")

    @field_validator("backup_daily_at")
    @classmethod
    def _daily_at(cls, value: str) -> str:
        parse_daily_at(value)
        return value


def _periodic(name: str, interval: float, job: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[None]]:
    async def loop() -> None:
        while True:
            try:
                done = await job()
                if done:
                    log.info("%s: %d item(s)", name, done)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s pass failed; retrying", name)
            await asyncio.sleep(interval)

    return loop


def create_app(settings: IntakeSettings | None = None, *, notifier: Notifier | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    kit = ServiceKit(
        settings,
        title="helpdesk intake",
        description="Turns every customer contact into a ticket; system of record for tickets and customers.",
    )
    pepper = settings.customer_lookup_key.get_secret_value()
    if not pepper:
        log.warning("CUSTOMER_LOOKUP_KEY is not set: customer lookup hashes are unkeyed")
    store = IntakeStore(kit.db)
    outbox = kit.use_outbox(store.tickets)
    policy = Policy(
        auto_close_after=timedelta(days=settings.auto_close_days),
        dormant_after=timedelta(days=settings.dormant_after_days),
        retention=timedelta(days=settings.log_retention_days),
        max_compensation_cny=settings.max_compensation_cny,
        reply_window=timedelta(days=settings.reply_window_days),
        reopen_window=timedelta(days=settings.reopen_window_days),
        reopen_on_reply=settings.reopen_on_reply,
    )
    service = IntakeService(store, outbox, timezone=settings.business_timezone, lookup_pepper=pepper,
                            cipher=FieldCipher(settings.customer_data_keys.get_secret_value()), policy=policy,
                            notifier=notifier or notifier_from_settings(settings))
    files = EvidenceStore(kit.db)
    evidence = EvidenceService(service, files, EvidenceLimits(
        max_bytes=settings.evidence_max_bytes, max_files=settings.evidence_max_files,
        max_total_bytes=max(settings.evidence_max_total_bytes, settings.evidence_max_bytes)))
    if not files.available:
        log.warning("evidence files need a MongoDB server (MONGODB_URL): uploads answer 503 in this mode")
    kit.on_startup(store.ensure_indexes)
    kit.on_startup(files.ensure_indexes)
    handlers.register(kit.bus, service)
    interval = settings.maintenance_interval_seconds
    kit.background("auto-close", _periodic("auto-close", interval, service.auto_close_once))
    kit.background("dormancy", _periodic("dormancy", interval, service.dormancy_scan))
    kit.background("retention", _periodic("retention", interval * 12, service.purge_old_logs))
    kit.background("evidence-orphans", _periodic("evidence orphan sweep", interval * 12, evidence.sweep_orphans))
    channel_keys = parse_channel_keys(settings.channel_api_keys.get_secret_value(),
                                      settings.channel_api_keys_revoked.get_secret_value())
    if settings.channel_api_keys_revoked.get_secret_value():
        log.info("%d channel API key(s) revoked by CHANNEL_API_KEYS_REVOKED", len(
            parse_revoked_keys(settings.channel_api_keys_revoked.get_secret_value())))
    kit.app.include_router(build_router(service, channel_keys))
    backups = build_backups(settings, kit, store)
    kit.app.include_router(build_admin_router(backups))
    kit.app.state.backups = backups
    kit.app.include_router(build_evidence_router(evidence))
    kit.app.state.service = service
    kit.app.state.evidence = evidence
    return kit.app


def build_backups(settings: IntakeSettings, kit: ServiceKit, store: IntakeStore) -> BackupService:
    """Backups into BACKUP_DIR under BACKUP_KEYS (both or neither) and the audit-log retention, on the
    kit's clock every SCHEDULE_TICK_SECONDS."""
    keys_text = settings.backup_keys.get_secret_value()
    if settings.backup_dir and not keys_text.strip():
        raise ValueError("BACKUP_DIR is set but BACKUP_KEYS is not: backups must be encrypted (id=base64key,…)")
    keys = KeyRing.parse(keys_text) if keys_text.strip() else None
    directory = Path(settings.backup_dir) if settings.backup_dir else None
    if directory is None:
        log.warning("BACKUP_DIR is not set: customer data is NOT backed up (manual 003 asks for daily and monthly "
                    "encrypted backups)")
    backup_store = BackupStore(kit.db)
    backups = BackupService(
        backup_store, directory=directory, keys=keys,
        schedule=BackupSchedule(parse_daily_at(settings.backup_daily_at), settings.backup_monthly_day,
                                settings.business_timezone),
        retention_months=settings.audit_retention_months, clock=kit.clock, audit=store.audit)
    kit.on_startup(backup_store.ensure_indexes)
    kit.on_startup(backups.load_metrics)
    kit.background("backups", lambda: every(settings.schedule_tick_seconds, "backups", backups.tick))
    kit.on_shutdown(backups.stop)
    return backups
