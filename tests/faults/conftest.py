"""The six services as real processes against the real RabbitMQ, in a namespace of their own, for the
fault suite (a minimal copy of tests/e2e/conftest.py, plus a roster large enough that no ticket waits
in a team queue, so "assigned exactly once" is checkable for every ticket)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts import Namespace, StaffRole
from servicekit.launcher import SERVICES, ServiceSpec, Stack
from servicekit.testing import TEST_JWT_SECRET, auth_header, delete_topology

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "services" / "dispatcher" / "dispatcher" / "seed_staff.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FaultPlatform:
    def __init__(self, stack: Stack, namespace: str, rabbitmq: str, persistent: bool) -> None:
        self.stack = stack
        self.ns = Namespace(namespace)
        self.rabbitmq = rabbitmq
        self.persistent = persistent  # MONGODB_URL set: a killed service keeps its data
        self.staff = auth_header([StaffRole.ADMIN, StaffRole.SUPERVISOR, StaffRole.AGENT], staff_id="fault-admin")
        self.extra_queues: set[str] = set()

    def url(self, service: str) -> str:
        return self.stack.url(service)

    def get(self, service: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url(service) + path, headers=self.staff, timeout=5, **kw)

    def spec(self, name: str) -> tuple[ServiceSpec, int]:
        return next((s, i) for i, s in enumerate(SERVICES) if s.name == name)

    def restart(self, name: str, *, kill: bool = True) -> None:
        """SIGKILL (or stop) one service, start it again on the same port and wait until it is ready."""
        self.stack.stop([name], kill=kill)
        spec, index = self.spec(name)
        self.stack.start_one(spec, index)
        self.stack.wait_ready(timeout=45)


@pytest.fixture(scope="module")
def faults(rabbitmq: str, mongodb_url: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultPlatform]:
    namespace = f"flt{os.getpid()}{int(time.time()) % 100000}"
    roster = json.loads(SEED.read_text(encoding="utf-8"))
    for member in roster if isinstance(roster, list) else roster.get("staff", []):
        member["capacity"] = 200
    seed = tmp_path_factory.mktemp("faults") / "seed_staff.json"
    seed.write_text(json.dumps(roster, ensure_ascii=False), encoding="utf-8")
    env = {
        **os.environ,
        "RABBITMQ_URL": rabbitmq,
        "HELPDESK_NAMESPACE": namespace,
        "JWT_SECRET": TEST_JWT_SECRET,
        "CHANNEL_API_KEYS": "phone=fault-phone-key-0123456789",
        "CUSTOMER_LOOKUP_KEY": "fault-lookup-key",
        "CUSTOMER_DATA_KEYS": base64.urlsafe_b64encode(b"flt-customer-data-key-32-bytes!!").decode(),
        "LOG_FORMAT": "json",
        "OUTBOX_GRACE_SECONDS": "2",
        "MONGODB_DATABASE_PREFIX": namespace,
        "DISPATCHER_SEED_FILE": str(seed),
        # rules only: training model v1 takes ~45 s on this loaded 2-core machine, at every (re)start of
        # an in-memory classifier; the faults under test are about delivery, not classification quality
        "CLASSIFIER_TRAIN_AT_START": "false",
    }
    if mongodb_url:
        env["MONGODB_URL"] = mongodb_url
    else:
        env.pop("MONGODB_URL", None)
    stack = Stack(env=env, ports={s.name: free_port() for s in SERVICES},
                  log_dir=ROOT / "artifacts" / "fault-logs" / namespace, echo=False)
    stack.start()
    queues: set[str] = set()
    platform = FaultPlatform(stack, namespace, rabbitmq, persistent=bool(mongodb_url))
    try:
        stack.wait_ready(timeout=120)
        queues = stack.declared_queues()
        yield platform
    finally:
        stack.stop()
        ns = Namespace(namespace)
        asyncio.run(delete_topology(rabbitmq, queues | platform.extra_queues,
                                    [ns.events_exchange, ns.dead_letter_exchange]))
