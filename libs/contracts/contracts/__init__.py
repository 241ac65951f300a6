"""Shared contracts of the helpdesk platform: enums, the event envelope, v1 events, commands and
messaging names. Services depend on this package and on nothing of each other."""

from .commands import Attachment, CustomerContact, CustomerMessage, TicketSubmission
from .enums import (
    Category,
    Channel,
    CustomerTier,
    Module,
    Priority,
    SlaTarget,
    StaffRole,
    SurveyAttitude,
    SurveyResolution,
    SurveySpeed,
    TicketStatus,
)
from .envelope import Contract, Event, UnknownEventType, UtcDatetime, event_class, parse_event, utcnow


def registered_events() -> tuple[type[Event], ...]:
    """Every registered event contract (core lifecycle and additions), sorted by type and version."""
    return tuple(Event.registry[key] for key in sorted(Event.registry))
from .events import *  # noqa: F403
from .events import ALL_EVENTS, TICKET_EVENTS
from .events_classifier import *  # noqa: F403
from .events_dispatcher import *  # noqa: F403
from .events_incident import *  # noqa: F403
from .events_intake import *  # noqa: F403
from .events_knowledge import *  # noqa: F403
from .events_reporting import *  # noqa: F403
from .events_sla import *  # noqa: F403
from .events_survey import *  # noqa: F403
from .names import DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE, MESSAGES_QUEUE, SUBMISSIONS_QUEUE, Namespace

__all__ = [
    "ALL_EVENTS",
    "DEAD_LETTER_EXCHANGE",
    "EVENTS_EXCHANGE",
    "MESSAGES_QUEUE",
    "SUBMISSIONS_QUEUE",
    "TICKET_EVENTS",
    "Attachment",
    "Category",
    "Channel",
    "Contract",
    "CustomerContact",
    "CustomerMessage",
    "CustomerTier",
    "Event",
    "Module",
    "Namespace",
    "Priority",
    "SlaTarget",
    "StaffRole",
    "SurveyAttitude",
    "SurveyResolution",
    "SurveySpeed",
    "TicketStatus",
    "TicketSubmission",
    "UnknownEventType",
    "UtcDatetime",
    "event_class",
    "parse_event",
    "registered_events",
    "utcnow",
]

from . import events_knowledge as _knowledge  # noqa: E402

__all__ += list(_knowledge.__all__)

from . import events_incident as _incident  # noqa: E402

__all__ += list(_incident.__all__)
