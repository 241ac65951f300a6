"""Wiring of the intake service."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from pydantic import Field, SecretStr

from servicekit import ServiceKit, ServiceSettings
from servicekit.auth import parse_channel_keys

from . import handlers
from .api import build_router
from .service import IntakeService
from .store import IntakeStore

log = logging.getLogger(__name__)


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
    http_port: int = 8001
    channel_api_keys: SecretStr = Field(
        default=SecretStr(""), description="`channel=key,…` API keys of channel systems (keys ≥ 16 chars)."
    )
    customer_lookup_key: SecretStr = Field(
        default=SecretStr(""), description="Key of the hashes customers are looked up by (set it in production)."
    )


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
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
    service = IntakeService(store, outbox, timezone=settings.business_timezone, lookup_pepper=pepper)
    kit.on_startup(store.ensure_indexes)
    handlers.register(kit.bus, service)
    kit.app.include_router(build_router(service, parse_channel_keys(settings.channel_api_keys.get_secret_value())))
    kit.app.state.service = service
    return kit.app
