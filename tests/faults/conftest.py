"""The six services as real processes against the real RabbitMQ, in a namespace of their own, for the
fault suite (a minimal copy of tests/e2e/conftest.py, plus a roster large enough that no ticket waits
in a team queue, so "assigned exactly once" is checkable for every ticket).

Two platforms: ``faults`` (one process per service, shared by test_faults.py) and ``replicated`` (two
replicas of every service, for test_replicas.py). Replicas of a service must share its database; the
in-memory store (no ``MONGODB_URL``) lives in one process, so each service's replicas run in ONE process
(tests/faults/replica_host.py): separate ServiceKits — separate broker connections, consumers, outbox
relays and background jobs, each serving HTTP on its own port — over one shared in-memory client.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from contracts import Namespace, StaffRole
from servicekit.launcher import _COLOURS, SERVICES, Running, ServiceSpec, Stack, _pump
from servicekit.testing import TEST_JWT_SECRET, auth_header, delete_topology

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SEED = ROOT / "services" / "dispatcher" / "dispatcher" / "seed_staff.json"
REPLICA_HOST = HERE / "replica_host.py"

if str(HERE) not in sys.path:  # the test modules share tests/faults/faultkit.py
    sys.path.insert(0, str(HERE))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ReplicaStack(Stack):
    """A :class:`Stack` whose every service runs ``replicas`` ServiceKits in one process (replica_host.py);
    ``ports[name]`` is replica 0's HTTP port, ``extra_ports[name]`` the others'."""

    replicas: int = 2
    extra_ports: dict[str, list[int]] = field(default_factory=dict)

    def replica_urls(self, name: str) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in [self.ports[name], *self.extra_ports.get(name, [])]]

    def start_one(self, spec: ServiceSpec, index: int = 0) -> Running:
        ports = [self.ports[spec.name], *self.extra_ports.setdefault(
            spec.name, [free_port() for _ in range(self.replicas - 1)])]
        env = {**self.env, "HTTP_PORT": str(ports[0]), "HTTP_HOST": "127.0.0.1",
               "REPLICA_PORTS": ",".join(str(p) for p in ports)}
        process = subprocess.Popen([sys.executable, str(REPLICA_HOST), spec.module], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        run = Running(spec, ports[0], process)
        sink: IO[str] | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            sink = open(self.log_dir / f"{spec.name}.log", "a", encoding="utf-8")  # noqa: SIM115
        run.pump = threading.Thread(target=_pump, args=(process, spec.name, _COLOURS[index % 6], sink, self.echo),
                                    daemon=True)
        run.pump.start()
        self.running[spec.name] = run
        return run


class FaultPlatform:
    def __init__(self, stack: Stack, namespace: str, rabbitmq: str, persistent: bool) -> None:
        self.stack = stack
        self.ns = Namespace(namespace)
        self.rabbitmq = rabbitmq
        self.persistent = persistent  # MONGODB_URL set: a killed service keeps its data
        self.staff = auth_header([StaffRole.ADMIN, StaffRole.SUPERVISOR, StaffRole.AGENT], staff_id="fault-admin")
        self.extra_queues: set[str] = set()
        self.queues: set[str] = set()

    def url(self, service: str) -> str:
        return self.stack.url(service)

    def get(self, service: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url(service) + path, headers=self.staff, timeout=5, **kw)

    def post(self, service: str, path: str, json: Any = None, headers: dict[str, str] | None = None,
             **kw: Any) -> httpx.Response:
        return httpx.post(self.url(service) + path, json=json, headers=headers or self.staff, timeout=10, **kw)

    def spec(self, name: str) -> tuple[ServiceSpec, int]:
        return next((s, i) for i, s in enumerate(SERVICES) if s.name == name)

    def restart(self, name: str, *, kill: bool = True) -> None:
        """SIGKILL (or stop) one service, start it again on the same port and wait until it is ready."""
        self.stack.stop([name], kill=kill)
        spec, index = self.spec(name)
        self.stack.start_one(spec, index)
        self.stack.wait_ready(timeout=45)


def platform_env(rabbitmq: str, mongodb_url: str | None, namespace: str, seed: Path) -> dict[str, str]:
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
    return env


def roomy_roster(directory: Path) -> Path:
    roster = json.loads(SEED.read_text(encoding="utf-8"))
    for member in roster if isinstance(roster, list) else roster.get("staff", []):
        member["capacity"] = 200
    seed = directory / "seed_staff.json"
    seed.write_text(json.dumps(roster, ensure_ascii=False), encoding="utf-8")
    return seed


def run_platform(stack_of: Any, tag: str, rabbitmq: str, mongodb_url: str | None,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultPlatform]:
    namespace = f"{tag}{os.getpid()}{int(time.time()) % 100000}"
    seed = roomy_roster(tmp_path_factory.mktemp(tag))
    stack = stack_of(env=platform_env(rabbitmq, mongodb_url, namespace, seed),
                     ports={s.name: free_port() for s in SERVICES},
                     log_dir=ROOT / "artifacts" / "fault-logs" / namespace, echo=False)
    platform = FaultPlatform(stack, namespace, rabbitmq, persistent=bool(mongodb_url))
    stack.start()
    try:
        stack.wait_ready(timeout=120)
        platform.queues = stack.declared_queues()
        yield platform
    finally:
        stack.stop()
        ns = Namespace(namespace)
        asyncio.run(delete_topology(rabbitmq, platform.queues | platform.extra_queues,
                                    [ns.events_exchange, ns.dead_letter_exchange]))


@pytest.fixture(scope="module")
def faults(rabbitmq: str, mongodb_url: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultPlatform]:
    yield from run_platform(Stack, "flt", rabbitmq, mongodb_url, tmp_path_factory)


@pytest.fixture(scope="module")
def replicated(rabbitmq: str, mongodb_url: str | None,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultPlatform]:
    """Two replicas of every service (see the module docstring)."""
    yield from run_platform(ReplicaStack, "rep", rabbitmq, mongodb_url, tmp_path_factory)


class FaultEnv:
    """For tests that run a stack of their own (test_restart_proof.py): the fault suite's environment
    (``fault_env(rabbitmq, mongodb_url, namespace)``) and platform wrapper (``fault_env.platform(...)``)."""

    def __init__(self, directory: Path) -> None:
        self.seed = roomy_roster(directory)

    def __call__(self, rabbitmq: str, mongodb_url: str, namespace: str) -> dict[str, str]:
        return platform_env(rabbitmq, mongodb_url, namespace, self.seed)

    def platform(self, stack: Stack, namespace: str, rabbitmq: str) -> FaultPlatform:
        return FaultPlatform(stack, namespace, rabbitmq, persistent=True)


@pytest.fixture
def fault_env(tmp_path_factory: pytest.TempPathFactory) -> FaultEnv:
    return FaultEnv(tmp_path_factory.mktemp("fault-env"))
