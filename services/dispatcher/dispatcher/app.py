"""Wiring of the dispatcher service."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import AliasChoices, Field, SecretStr

from servicekit import ServiceKit, ServiceSettings
from servicekit.notify import notifier_from_settings

from . import handlers
from .api import build_router
from .incident_api import build_incident_router
from .domain import LockoutPolicy, parse_roster
from .service import DispatcherService, Policy
from .store import DispatcherStore

DEFAULT_SEED_FILE = Path(__file__).with_name("seed_staff.json")


class DispatcherSettings(ServiceSettings):
    service_name: str = "dispatcher"
    http_port: int = 8003
    seed_file: Path = Field(
        default=DEFAULT_SEED_FILE,
        validation_alias=AliasChoices("dispatcher_seed_file", "seed_file"),
        description="Staff roster JSON loaded when the staff collection is empty (DISPATCHER_SEED_FILE).",
    )
    queue_drain_batch: int = Field(
        default=20, ge=1, le=1000, description="Queued tickets offered freed capacity per release."
    )
    admin_staff_id: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_\-]{1,32}$",
        validation_alias=AliasChoices("dispatcher_admin_staff_id", "admin_staff_id"),
        description="Initial admin created at start-up when missing (DISPATCHER_ADMIN_STAFF_ID).",
    )
    admin_initial_password: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("dispatcher_admin_initial_password", "admin_initial_password"),
        description="Its first password (DISPATCHER_ADMIN_INITIAL_PASSWORD); must be changed at first login.",
    )
    staff_initial_password: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("dispatcher_staff_initial_password", "staff_initial_password"),
        description="Given to seeded staff without a password (DISPATCHER_STAFF_INITIAL_PASSWORD); unset: "
                    "seeded staff cannot log in until an admin sets their password.",
    )
    login_max_failures: int = Field(default=5, ge=1, le=100, description="Failed logins before a lockout.")
    login_lock_seconds: int = Field(default=900, ge=1, description="How long a locked account stays locked.")
    access_token_ttl_seconds: int = Field(default=8 * 3600, ge=60, le=7 * 86400)
    reassign_unacknowledged: bool = Field(
        default=True, description="Move a ticket on when its assignee did not confirm receipt in time."
    )
    notify_external_channel: Literal["im", "sms", "email", "webhook"] = Field(
        default="im", description="Channel of urgent notifications sent through the notifier (webhook/log)."
    )
    notify_delivery_attempts: int = Field(default=6, ge=1, le=50)
    notify_backoff_seconds: float = Field(default=5.0, gt=0)
    notify_delivery_interval_seconds: float = Field(default=2.0, gt=0)


def create_app(settings: DispatcherSettings | None = None, *, database: Any = None) -> FastAPI:
    """``database``: a handle to share between replicas started in one process (tests, benchmark);
    by default the kit's own MongoDB database."""
    settings = settings or DispatcherSettings()
    kit = ServiceKit(
        settings,
        title="helpdesk dispatcher",
        description="Owns the staff roster and puts every classified ticket in front of the right agent.",
    )
    roster = parse_roster(settings.seed_file.read_text(encoding="utf-8"))  # fail fast on a bad seed file
    store = DispatcherStore(kit.db if database is None else database)
    outbox = kit.use_outbox(store.assignments, store.incidents)
    policy = Policy(
        lockout=LockoutPolicy(max_failures=settings.login_max_failures, lock_seconds=settings.login_lock_seconds),
        reassign_unacknowledged=settings.reassign_unacknowledged,
        external_channel=settings.notify_external_channel,
        delivery_attempts=settings.notify_delivery_attempts,
        delivery_backoff_seconds=settings.notify_backoff_seconds,
    )
    service = DispatcherService(store, outbox, drain_batch=settings.queue_drain_batch,
                                notifier=notifier_from_settings(settings), policy=policy,
                                timezone=settings.business_timezone)
    if bool(settings.admin_staff_id) != bool(settings.admin_initial_password):
        raise ValueError("set DISPATCHER_ADMIN_STAFF_ID and DISPATCHER_ADMIN_INITIAL_PASSWORD together")

    async def seed() -> None:
        await service.seed_staff(roster)
        if settings.admin_staff_id and settings.admin_initial_password:
            await service.seed_admin(settings.admin_staff_id, settings.admin_initial_password.get_secret_value())
        if settings.staff_initial_password:
            await service.seed_passwords(settings.staff_initial_password.get_secret_value())

    kit.on_startup(store.ensure_indexes)
    kit.on_startup(seed)
    kit.background("notification-delivery", lambda: service.run_delivery(settings.notify_delivery_interval_seconds))
    handlers.register(kit.bus, service)
    kit.app.include_router(build_router(service, kit, settings.access_token_ttl_seconds))
    kit.app.include_router(build_incident_router(service))
    kit.app.state.service = service
    return kit.app
