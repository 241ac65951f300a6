"""Wiring of the dispatcher service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from pydantic import AliasChoices, Field

from servicekit import ServiceKit, ServiceSettings

from . import handlers
from .api import build_router
from .domain import parse_roster
from .service import DispatcherService
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


def create_app(settings: DispatcherSettings | None = None) -> FastAPI:
    settings = settings or DispatcherSettings()
    kit = ServiceKit(
        settings,
        title="helpdesk dispatcher",
        description="Owns the staff roster and puts every classified ticket in front of the right agent.",
    )
    roster = parse_roster(settings.seed_file.read_text(encoding="utf-8"))  # fail fast on a bad seed file
    store = DispatcherStore(kit.db)
    outbox = kit.use_outbox(store.assignments)
    service = DispatcherService(store, outbox, drain_batch=settings.queue_drain_batch)

    async def seed() -> None:
        await service.seed_staff(roster)

    kit.on_startup(store.ensure_indexes)
    kit.on_startup(seed)
    handlers.register(kit.bus, service)
    kit.app.include_router(build_router(service))
    kit.app.state.service = service
    return kit.app
