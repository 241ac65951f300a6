"""Shared runtime of the helpdesk services (settings, broker + HTTP app factory, Mongo, logging,
metrics, health, auth, outbox). Services import from here; nothing here imports a service."""

from .app import ServiceKit
from .auth import AnyStaff, Admin, Principal, Supervisor, TokenService, require_roles
from .errors import ApiError, PermanentError
from .messaging import EventBus
from .outbox import Outbox, outbox_entries, push_outbox
from .settings import ServiceSettings

__all__ = [
    "Admin",
    "AnyStaff",
    "ApiError",
    "EventBus",
    "Outbox",
    "PermanentError",
    "Principal",
    "ServiceKit",
    "ServiceSettings",
    "Supervisor",
    "TokenService",
    "outbox_entries",
    "push_outbox",
    "require_roles",
]
