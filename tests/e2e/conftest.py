"""The six services as real processes against the real RabbitMQ, in a namespace of their own."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from contracts import Namespace, StaffRole
from servicekit.clock import FileClock
from servicekit.launcher import CONSOLE, SERVICES, Stack
from servicekit.testing import TEST_JWT_SECRET, RecordingWebhook, auth_header, delete_topology

ROOT = Path(__file__).resolve().parents[2]
CHANNEL_KEYS = {c: f"e2e-{c}-key-0123456789" for c in ("phone", "online_chat", "email", "social", "web_form")}


async def _declare_tap(url: str, exchange: str, queue: str) -> None:
    """A queue bound to every event of the run, so tests can inspect exactly what was published."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        events = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        tap = await channel.declare_queue(queue, durable=True)
        await tap.bind(events, routing_key="#")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


E2E_ADMIN_ID = "e2e-admin"
E2E_ADMIN_PASSWORD = "Init-Desk-Pass-1!"


class Platform:
    def __init__(self, stack: Stack, namespace: str, rabbitmq: str) -> None:
        self.stack = stack
        self.ns = Namespace(namespace)
        self.rabbitmq = rabbitmq
        self.staff = auth_header([StaffRole.SUPERVISOR, StaffRole.AGENT], staff_id="e2e-supervisor")
        self.channel_keys = dict(CHANNEL_KEYS)
        self.tap_queue = ""
        self.admin_id, self.admin_password = E2E_ADMIN_ID, E2E_ADMIN_PASSWORD  # the dispatcher's first admin
        self.log_dir = stack.log_dir
        self.clock_file = Path(stack.env["CLOCK_FILE"])
        self.backup_dir = Path(stack.env["BACKUP_DIR"])
        self.gateway: RecordingWebhook | None = None

    def set_clock(self, at: datetime) -> None:
        """Move the scheduled duties of every service (report delivery, backups, retention) to ``at``."""
        FileClock.write(self.clock_file, at)

    def reset_clock(self) -> None:
        self.clock_file.unlink(missing_ok=True)

    def url(self, service: str) -> str:
        return self.stack.url(service)

    def get(self, service: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url(service) + path, headers=self.staff, timeout=5, **kw)

    def post(self, service: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.staff, **kw.pop("headers", {})}
        return httpx.post(self.url(service) + path, headers=headers, timeout=5, **kw)


@pytest.fixture(scope="session")
def platform(rabbitmq: str, mongodb_url: str | None) -> Iterator[Platform]:
    namespace = f"e2e{os.getpid()}{int(time.time()) % 100000}"
    run_dir = ROOT / "artifacts" / "e2e-runs" / namespace
    (run_dir / "backups").mkdir(parents=True, exist_ok=True)
    gateway = RecordingWebhook("/staff-gateway")  # the staff notification gateway (e-mail/IM)
    env = {
        **os.environ,
        "RABBITMQ_URL": rabbitmq,
        "HELPDESK_NAMESPACE": namespace,
        "JWT_SECRET": TEST_JWT_SECRET,
        "CHANNEL_API_KEYS": ",".join(f"{c}={k}" for c, k in CHANNEL_KEYS.items()),
        "CUSTOMER_LOOKUP_KEY": "e2e-lookup-key",
        "CUSTOMER_DATA_KEYS": base64.urlsafe_b64encode(b"e2e-customer-data-key-32-bytes!!").decode(),
        "LOG_FORMAT": "json",
        "OUTBOX_GRACE_SECONDS": "2",
        "MONGODB_DATABASE_PREFIX": namespace,
        "DISPATCHER_ADMIN_STAFF_ID": E2E_ADMIN_ID,
        "DISPATCHER_ADMIN_INITIAL_PASSWORD": E2E_ADMIN_PASSWORD,
        "REFRESH_SECONDS": "3",
        "CLOCK_FILE": str(run_dir / "clock.json"),
        "NOTIFY_WEBHOOK_URL": gateway.url,
        "BACKUP_DIR": str(run_dir / "backups"),
        "BACKUP_KEYS": "e2e1=" + base64.b64encode(b"e2e-backup-key-of-32-bytes-long!").decode(),
        "SCHEDULE_TICK_SECONDS": "1",
    }
    if mongodb_url:
        env["MONGODB_URL"] = mongodb_url
    else:
        env.pop("MONGODB_URL", None)
    stack = Stack(env=env, ports={s.name: free_port() for s in (*SERVICES, CONSOLE)},
                  log_dir=ROOT / "artifacts" / "e2e-logs" / namespace, echo=False)
    stack.start()
    queues: set[str] = set()
    try:
        stack.wait_ready(timeout=120)
        queues = stack.declared_queues()
        stack.start_console()
        stack.wait_ready(timeout=60)
        tap = Namespace(namespace).subscription_queue("e2e", "tap")
        asyncio.run(_declare_tap(rabbitmq, Namespace(namespace).events_exchange, tap))
        queues.add(tap)
        platform = Platform(stack, namespace, rabbitmq)
        platform.tap_queue = tap
        platform.gateway = gateway
        yield platform
    finally:
        stack.stop()
        gateway.close()
        ns = Namespace(namespace)
        asyncio.run(delete_topology(rabbitmq, queues, [ns.events_exchange, ns.dead_letter_exchange]))
