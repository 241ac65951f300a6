"""The notifier port: in-app, SMS, enterprise IM and e-mail notifications leave through one interface.

Adapters: ``LogNotifier`` (default; the notification is logged, personal data redacted) and
``WebhookNotifier`` (POSTs JSON to ``NOTIFY_WEBHOOK_URL``, signed with ``NOTIFY_WEBHOOK_SECRET`` in the
``X-Helpdesk-Signature`` header as ``sha256=<hex>``, retried with back-off). A real SMS/IM/e-mail gateway
plugs in behind the webhook by configuration.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any, Literal, Protocol

import httpx
from pydantic import BaseModel, Field
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from contracts import UtcDatetime, utcnow

from .settings import ServiceSettings

log = logging.getLogger(__name__)

NotificationChannel = Literal["in_app", "sms", "im", "email", "webhook"]


class Notification(BaseModel):
    kind: str = Field(max_length=64, description="e.g. ticket.assigned, sla.warning, survey.invitation")
    channel: NotificationChannel
    recipient: str = Field(max_length=256, description="Staff id, or the delivery address reference of a customer.")
    subject: str = Field(default="", max_length=200)
    body: str = Field(max_length=4000)
    ticket_id: str | None = None
    correlation_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: UtcDatetime = Field(default_factory=utcnow)


class Notifier(Protocol):
    async def send(self, notification: Notification) -> None: ...


class LogNotifier:
    async def send(self, notification: Notification) -> None:
        log.info("notification %s via %s to %s: %s", notification.kind, notification.channel,
                 notification.recipient, notification.subject or notification.body[:80])


class WebhookNotifier:
    def __init__(self, url: str, secret: str | None, *, attempts: int = 3, timeout: float = 5.0) -> None:
        self.url, self.secret, self.attempts, self.timeout = url, secret, attempts, timeout

    def sign(self, body: bytes) -> str | None:
        if not self.secret:
            return None
        return "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()

    async def send(self, notification: Notification) -> None:
        body = json.dumps(notification.model_dump(mode="json"), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if signature := self.sign(body):
            headers["X-Helpdesk-Signature"] = signature
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.attempts), wait=wait_exponential(multiplier=0.2, max=2),
                retry=retry_if_exception_type(httpx.HTTPError), reraise=True,
            ):
                with attempt:
                    response = await client.post(self.url, content=body, headers=headers)
                    response.raise_for_status()


def notifier_from_settings(settings: ServiceSettings) -> Notifier:
    if settings.notify_webhook_url:
        secret = settings.notify_webhook_secret.get_secret_value() if settings.notify_webhook_secret else None
        return WebhookNotifier(settings.notify_webhook_url, secret)
    return LogNotifier()
