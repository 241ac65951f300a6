"""Prometheus metrics shared by every service (one service per process, so module-level metrics)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

MESSAGES_CONSUMED = Counter(
    "helpdesk_messages_consumed_total",
    "Messages consumed, by queue and outcome (ok, retry, dead_lettered).",
    ["service", "queue", "outcome"],
)
MESSAGE_SECONDS = Histogram(
    "helpdesk_message_processing_seconds",
    "Time spent handling one message.",
    ["service", "queue"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DEAD_LETTERS = Counter(
    "helpdesk_dead_letters_total",
    "Messages this service sent to a dead-letter queue itself (permanent errors), by reason.",
    ["service", "queue", "reason"],
)
EVENTS_PUBLISHED = Counter(
    "helpdesk_events_published_total", "Events published (confirmed by the broker).", ["service", "event_type"]
)
MESSAGE_LAG = Histogram(
    "helpdesk_message_lag_seconds",
    "Queue lag: time from publishing an event to the start of its handling, by queue.",
    ["service", "queue"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
QUEUE_DEPTH = Gauge(
    "helpdesk_queue_depth",
    "Messages ready in a queue this service consumes (and in its dead-letter queue), sampled periodically.",
    ["service", "queue"],
)
OUTBOX_PENDING = Gauge(
    "helpdesk_outbox_pending", "Events waiting in outboxes at the last relay pass.", ["service"]
)
DB_COMMANDS = Counter(
    "helpdesk_db_commands_total",
    "Database round trips (commands sent to MongoDB), by command and collection.",
    ["service", "command", "collection"],
)
DB_COMMAND_SECONDS = Histogram(
    "helpdesk_db_command_seconds",
    "Database command latency as the driver saw it (sent → answer).",
    ["service", "command"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
HTTP_REQUESTS = Counter(
    "helpdesk_http_requests_total", "HTTP requests.", ["service", "method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "helpdesk_http_request_seconds", "HTTP request latency.", ["service", "method", "route"]
)


def install_http_metrics(app: FastAPI, service: str) -> None:
    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(service, request.method, path, str(status)).inc()
            HTTP_SECONDS.labels(service, request.method, path).observe(time.perf_counter() - start)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
