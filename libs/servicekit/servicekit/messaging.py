"""RabbitMQ topology, consumers and publishers shared by every service.

* one durable topic exchange for events (routing key = event type);
* one durable **quorum** queue per subscription, ``<service>.<event>``, shared by a service's replicas;
  ``x-delivery-limit`` bounds redeliveries, after which RabbitMQ dead-letters the message;
* one dead-letter queue per queue, ``<queue>.dlq``, bound to the dead-letter exchange;
* messages are acked only after the handler returned, i.e. after its database write
  (``AckPolicy.NACK_ON_ERROR``: an exception nacks with requeue, counting a delivery);
* a message that can never succeed (bad JSON, schema mismatch, unknown event type,
  :class:`~servicekit.errors.PermanentError`) is not retried: the guard publishes it to the DLQ at once
  with the reason in its headers, then acks the original;
* every publish waits for the broker's confirm (publisher confirms are on for the channel).
See docs/adr/0003-queues-acks-dead-letters.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika import ExchangeType
from faststream import AckPolicy
from faststream._internal.middlewares import BaseMiddleware
from faststream.exceptions import HandlerException
from faststream.rabbit import Channel, QueueType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.publisher import RabbitPublisher
from pydantic import ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from contracts import Event, Namespace, UnknownEventType, event_class

from .context import correlation_id_var, raise_if_cancelling
from .errors import PermanentError
from .mongo import DATABASE_UNREACHABLE
from .metrics import DEAD_LETTERS, EVENTS_PUBLISHED, MESSAGE_LAG, MESSAGE_SECONDS, MESSAGES_CONSUMED, QUEUE_DEPTH
from .settings import ServiceSettings

log = logging.getLogger(__name__)

PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    ValidationError,
    json.JSONDecodeError,
    UnicodeDecodeError,
    UnknownEventType,
    PermanentError,
)


def is_permanent(exc: BaseException) -> bool:
    return isinstance(exc, PERMANENT_ERRORS)


def describe_error(exc: BaseException, limit: int = 900) -> str:
    """A short, log-safe reason (validation errors list field paths and messages, not input values)."""
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()[:8]]
        text = f"validation error ({exc.error_count()}): " + "; ".join(parts)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:limit]


class ConsumeGuard(BaseMiddleware):
    """Per-message middleware: correlation id in context, metrics, retry back-off, and immediate
    dead-lettering of permanent failures. It runs inside FastStream's acknowledgement middleware, so a
    suppressed exception here means *ack*, a propagated one means *nack and requeue*."""

    def __init__(self, msg: Any, /, *, context: Any, bus: EventBus) -> None:
        super().__init__(msg, context=context)
        self.bus = bus
        self.started = time.perf_counter()
        self.token: Any = None

    def _queue_name(self) -> str:
        handler = self.context.get_local("handler_") or self.context.get("handler_")
        queue = getattr(handler, "queue", None)
        return getattr(queue, "name", None) or "unknown"

    async def consume_scope(self, call_next: Any, msg: Any) -> Any:
        self.token = correlation_id_var.set(msg.correlation_id or None)
        published = _published_at(self.msg)
        if published is not None:
            MESSAGE_LAG.labels(self.bus.service, self._queue_name()).observe(max(0.0, time.time() - published))
        size = len(getattr(self.msg, "body", b"") or b"")
        if size > self.bus.settings.max_message_bytes:
            raise PermanentError(f"message of {size} bytes exceeds the {self.bus.settings.max_message_bytes}-byte limit")
        while True:
            try:
                return await call_next(msg)
            except DATABASE_UNREACHABLE as exc:
                # Not the message's fault: hold it (unacknowledged, so a crash redelivers it) until the
                # database answers, then handle it again (handlers are idempotent). Never counts a
                # delivery, never dead-letters.
                if self.bus.wait_for_database is None:
                    raise
                log.warning("database unreachable while handling a message from %s (%s): holding it "
                            "unacknowledged until the database answers", self._queue_name(), type(exc).__name__)
                await self.bus.wait_for_database()

    async def __aexit__(self, exc_type: Any = None, exc_val: BaseException | None = None, exc_tb: Any = None) -> bool:
        service = self.bus.service
        queue = self._queue_name()
        try:
            MESSAGE_SECONDS.labels(service, queue).observe(time.perf_counter() - self.started)
            if exc_val is None or isinstance(exc_val, HandlerException):
                MESSAGES_CONSUMED.labels(service, queue, "ok").inc()
                return False
            if isinstance(exc_val, asyncio.CancelledError):
                return False
            if is_permanent(exc_val):
                reason = describe_error(exc_val)
                await self.bus.dead_letter(self.msg, queue=queue, reason=reason, error_type=type(exc_val).__name__)
                MESSAGES_CONSUMED.labels(service, queue, "dead_lettered").inc()
                DEAD_LETTERS.labels(service, queue, type(exc_val).__name__).inc()
                log.error("dead-lettered a message from %s: %s", queue, reason)
                return True  # suppressed: the acknowledgement middleware acks the original
            deliveries = _delivery_count(self.msg)
            MESSAGES_CONSUMED.labels(service, queue, "retry").inc()
            log.warning(
                "handler failed on %s (delivery %d of %d), will retry: %s",
                queue, deliveries + 1, self.bus.settings.delivery_limit + 1, describe_error(exc_val),
            )
            await asyncio.sleep(min(5.0, self.bus.settings.retry_backoff_seconds * (2**deliveries)))
            return False  # propagated: nack + requeue; past x-delivery-limit RabbitMQ dead-letters it
        finally:
            if self.token is not None:
                correlation_id_var.reset(self.token)


def _published_at(raw: Any) -> float | None:
    """The publisher's clock when the message left it (``x-published-at-ms``), in epoch seconds, if stamped."""
    headers = getattr(raw, "headers", None) or {}
    try:
        value = headers.get("x-published-at-ms")
        return None if value is None else int(value) / 1000
    except (TypeError, ValueError):
        return None


def _delivery_count(raw: Any) -> int:
    headers = getattr(raw, "headers", None) or {}
    try:
        return int(headers.get("x-delivery-count", 0))
    except (TypeError, ValueError):
        return 0


class EventBus:
    """A service's connection to RabbitMQ: its broker, queues and publishers."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.service = settings.service_name
        self.ns = Namespace(settings.helpdesk_namespace)
        self.broker = RabbitBroker(
            settings.rabbitmq_url,
            default_channel=Channel(prefetch_count=settings.prefetch_count, publisher_confirms=True),
            middlewares=(self._guard,),
            logger=logging.getLogger("faststream.broker"),
            log_level=logging.DEBUG,
            graceful_timeout=10.0,
            app_id=self.service,
            description=f"helpdesk {self.service} service",
        )
        self.events_exchange = RabbitExchange(self.ns.events_exchange, type=ExchangeType.TOPIC, durable=True)
        self.dead_letter_exchange = RabbitExchange(
            self.ns.dead_letter_exchange, type=ExchangeType.DIRECT, durable=True
        )
        self.queues: dict[str, RabbitQueue] = {}
        self._extra_bindings: list[tuple[str, str]] = []
        self._publishers: dict[str, RabbitPublisher] = {}
        self.started = False
        self.wait_for_database: Callable[[], Awaitable[None]] | None = None
        """Set by the service kit: waits until the database answers (see ConsumeGuard)."""

    def _guard(self, msg: Any, /, *, context: Any) -> ConsumeGuard:
        return ConsumeGuard(msg, context=context, bus=self)

    # ------------------------------------------------------------------ topology
    def make_queue(self, name: str, routing_key: str = "") -> RabbitQueue:
        queue = RabbitQueue(
            name,
            queue_type=QueueType.QUORUM,
            durable=True,
            routing_key=routing_key,
            arguments={
                "x-delivery-limit": self.settings.delivery_limit,
                "x-dead-letter-exchange": self.ns.dead_letter_exchange,
                "x-dead-letter-routing-key": name,
            },
        )
        self.queues[name] = queue
        return queue

    def subscribe_events(
        self, *events: type[Event] | str, subscription: str | None = None, description: str | None = None
    ) -> Callable[[Callable[..., Any]], Any]:
        """Subscribe a handler to one or more event types (routing keys, wildcards allowed) through the
        service's own durable queue ``<service>.<subscription>``."""
        keys = [e if isinstance(e, str) else e.type_name() for e in events]
        if not keys:
            raise ValueError("subscribe_events needs at least one event type")
        if subscription is None:
            if len(keys) != 1:
                raise ValueError("name the subscription when a queue takes several event types")
            subscription = keys[0]
        name = self.ns.subscription_queue(self.service, subscription)
        queue = self.make_queue(name, routing_key=keys[0])
        self._extra_bindings.extend((name, key) for key in keys[1:])
        return self.broker.subscriber(
            queue,
            self.events_exchange,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=f"{name}:consume",
            description=description,
        )

    def subscribe_command_queue(self, name: str, description: str | None = None) -> Callable[[Callable[..., Any]], Any]:
        """Subscribe to a command queue fed through the default exchange (e.g. ``intake.submissions``)."""
        queue = self.make_queue(name)
        return self.broker.subscriber(
            queue, ack_policy=AckPolicy.NACK_ON_ERROR, title=f"{name}:consume", description=description
        )

    def publisher(self, event: type[Event]) -> RabbitPublisher:
        """Declare (once) the publisher of an event type; declared publishers appear in AsyncAPI."""
        key = event.type_name()
        if key not in self._publishers:
            self._publishers[key] = self.broker.publisher(
                exchange=self.events_exchange,
                routing_key=key,
                schema=event,
                persist=True,
                title=f"{key}:publish",
                description=(event.__doc__ or "").strip() or None,
            )
        return self._publishers[key]

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self.settings.broker_connect_attempts),
            wait=wait_exponential(multiplier=0.5, max=5),
            retry=retry_if_exception_type(Exception),  # any connect failure: the broker may still be starting
            reraise=True,
        ):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    log.warning("connecting to RabbitMQ, attempt %d", attempt.retry_state.attempt_number)
                await self.broker.connect()
        await self.declare_topology()
        await self.broker.start()
        self.started = True

    async def declare_topology(self) -> None:
        """Exchanges, dead-letter queues (before anything can be dead-lettered) and extra bindings."""
        events = await self.broker.declare_exchange(self.events_exchange)
        dlx = await self.broker.declare_exchange(self.dead_letter_exchange)
        for name in self.queues:
            dlq = await self.broker.declare_queue(
                RabbitQueue(self.ns.dead_letter_queue(name), queue_type=QueueType.QUORUM, durable=True)
            )
            await dlq.bind(dlx, routing_key=name)
        for name, key in self._extra_bindings:
            queue = await self.broker.declare_queue(self.queues[name])
            await queue.bind(events, routing_key=key)

    async def close(self) -> None:
        if self.started:
            await self.broker.stop()
            self.started = False

    async def sample_queue_depths(self, interval: float) -> None:
        """Background job: every ``interval`` seconds, the number of messages ready in each queue this
        service consumes and in its dead-letter queue (passive declarations on a connection of its own,
        so a missing queue never disturbs the consumers)."""
        names = [n for name in self.queues for n in (name, self.ns.dead_letter_queue(name))]
        connection: Any = None
        try:
            while True:
                try:
                    if connection is None or connection.is_closed:
                        connection = await aio_pika.connect(
                            self.settings.rabbitmq_url, client_properties={"connection_name": f"{self.service}-metrics"}
                        )
                    channel = await connection.channel()
                    for name in names:
                        try:
                            declared = await channel.declare_queue(name, passive=True)
                            QUEUE_DEPTH.labels(self.service, name).set(declared.declaration_result.message_count or 0)
                        except aio_pika.exceptions.ChannelClosed as exc:
                            raise_if_cancelling(exc)  # else: not declared (yet), nothing to report;
                            channel = await connection.channel()  # the failed declaration closed the channel
                    await channel.close()
                except Exception as exc:  # noqa: BLE001 - a metrics sampler never takes the service down
                    raise_if_cancelling(exc)
                    log.debug("queue depth sampling failed: %s", exc)
                    connection = None
                await asyncio.sleep(interval)
        finally:
            if connection is not None and not connection.is_closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.close(), timeout=5)

    async def ping(self) -> bool:
        try:
            return bool(await self.broker.ping(timeout=2.0))
        except Exception:
            return False

    # ------------------------------------------------------------------ publishing
    async def publish(self, event: Event | dict[str, Any]) -> None:
        """Publish an event (or its stored JSON form, from an outbox) and wait for the broker's confirm."""
        if isinstance(event, Event):
            data = event.model_dump(mode="json")
            cls: type[Event] = type(event)
        else:
            data = event
            cls = event_class(data["event_type"], int(data["schema_version"]))
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        occurred = datetime.fromisoformat(str(data["occurred_at"]).replace("Z", "+00:00"))
        await self.publisher(cls).publish(
            body,
            content_type="application/json",
            message_id=str(data["event_id"]),
            correlation_id=str(data["correlation_id"]),
            timestamp=occurred,
            message_type=str(data["event_type"]),
            headers={
                "x-event-type": str(data["event_type"]),
                "x-schema-version": int(data["schema_version"]),
                "x-producer": str(data["producer"]),
                # queue lag is measured from here; integer milliseconds (a float header may travel as a
                # 32-bit float, which cannot hold an epoch time to the second)
                "x-published-at-ms": int(time.time() * 1000),
            },
        )
        EVENTS_PUBLISHED.labels(self.service, str(data["event_type"])).inc()

    async def dead_letter(self, raw: Any, *, queue: str, reason: str, error_type: str) -> None:
        """Copy a message to ``<queue>.dlq`` with the reason in its headers (publisher-confirmed)."""
        headers = dict(getattr(raw, "headers", None) or {})
        headers.update(
            {
                "x-dead-letter-reason": reason,
                "x-error-type": error_type,
                "x-original-queue": queue,
                "x-original-exchange": getattr(raw, "exchange", "") or "",
                "x-original-routing-key": getattr(raw, "routing_key", "") or "",
                "x-dead-lettered-by": self.service,
                "x-dead-lettered-at": datetime.now(UTC).isoformat(),
            }
        )
        await self.broker.publish(
            bytes(getattr(raw, "body", b"") or b""),
            exchange=self.dead_letter_exchange,
            routing_key=queue,
            headers=headers,
            content_type=getattr(raw, "content_type", None),
            message_id=getattr(raw, "message_id", None),
            correlation_id=getattr(raw, "correlation_id", None),
            persist=True,
        )
