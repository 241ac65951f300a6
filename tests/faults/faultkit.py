"""Helpers of the fault suite, shared by its test modules (tests/faults/conftest.py puts this directory
on ``sys.path``; pytest runs with ``--import-mode=importlib``, so test modules cannot import each other).

What "exactly once" means, checked by :func:`verify` after every stream:

* intake stores one ticket per submitted ``channel_message_id`` (listing every ticket of the run, not
  only looking them up by id), each classified (category set) and assigned (status ``assigned``);
* the dispatcher holds one assignment per ticket, to the same agent intake shows, and the sum of the
  agents' ``open_count`` equals the number of assigned tickets (a ticket routed twice would take two
  slots);
* a tap queue bound to the events exchange sees, per ticket, one distinct ``ticket.created`` and one
  distinct ``ticket.assigned`` event id (a redelivered copy of the same event is at-least-once delivery
  and allowed; a second event id is a second result and counts as a duplicate);
* reporting counts every ticket once: a fact per ticket, and both the daily report (computed from the
  facts) and the KPI totals (incrementally maintained aggregate cells) grew by exactly the number of
  tickets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import aio_pika
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from servicekit.launcher import SERVICES
from servicekit.testing import drain_queue, eventually, json_if_ok

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
N = 60
TAPPED = ("ticket.created", "ticket.classified", "ticket.assigned")
BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
SUBJECTS = (
    ("手机无法开机", "昨天买的手机无法开机, 订单号 A2026112501"),
    ("退货退款进度", "申请退货一周了还没有退款, 订单号 A2026112502"),
    ("咨询活动规则", "双十一满减活动的规则是什么"),
    ("投诉快递员", "快递员态度很差, 我要投诉"),
    ("功能建议", "希望 APP 增加夜间模式"),
)


# ------------------------------------------------------------------------------ submissions
def submission(cmid: str, i: int, submitted_at: datetime | None = None) -> bytes:
    subject, description = SUBJECTS[i % len(SUBJECTS)]
    body: dict[str, Any] = {
        "schema_version": 1,
        "channel": "phone",
        "channel_message_id": cmid,
        "subject": subject,
        "description": description,
        "customer": {"name": "测试客户", "phone": f"1390000{i % 10000:04d}"},
    }
    if submitted_at is not None:
        body["submitted_at"] = submitted_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(body, ensure_ascii=False).encode()


class Stream:
    """Publishes ``n`` submissions from a background thread, one connection with publisher confirms;
    a failed publish (connection closed under it, broker down) reconnects and resends the same message —
    the resend is safe because intake deduplicates on ``channel_message_id``.

    ``backdate``: each submission says the customer made contact that many seconds before it was sent
    (intake starts the ticket, and so its SLA clock, then)."""

    def __init__(self, url: str, queue: str, prefix: str, n: int = N, interval: float = 0.1,
                 hold_at: int | None = None, backdate: float | None = None, patience: float = 40) -> None:
        self.url, self.queue, self.n, self.interval = url, queue, n, interval
        # the last messages wait for release(): the faults always hit a stream that is still flowing,
        # however long a restart takes on a loaded machine
        self.hold_at = hold_at
        self.backdate = backdate
        self.patience = patience
        self.released = threading.Event()
        self.cmids = [f"{prefix}-{uuid.uuid4().hex[:6]}-{i:03d}" for i in range(n)]
        self.sent = 0
        self.resends = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Stream:
        self.thread.start()
        return self

    def wait_sent(self, count: int, timeout: float = 20) -> None:
        eventually(lambda: self.error is None and self.sent >= count or self.error, timeout=timeout, interval=0.02)
        assert self.error is None, self.error

    def release(self) -> None:
        self.released.set()

    def join(self, timeout: float = 40) -> None:
        self.release()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"publisher still running after {timeout}s ({self.sent}/{self.n})"
        assert self.error is None, self.error
        assert self.sent == self.n

    def _run(self) -> None:
        try:
            asyncio.run(self._publish_all())
        except BaseException as exc:  # noqa: BLE001 — reported to the test thread
            self.error = exc

    async def _publish_all(self) -> None:
        connection: Any = None
        channel: Any = None
        deadline = time.monotonic() + self.patience
        try:
            for i, cmid in enumerate(self.cmids):
                if i == self.hold_at:
                    await asyncio.to_thread(self.released.wait, 60)
                    deadline = time.monotonic() + self.patience
                at = None if self.backdate is None else datetime.now(UTC) - timedelta(seconds=self.backdate)
                body = submission(cmid, i, at)
                while True:
                    try:
                        if connection is None or connection.is_closed:
                            connection = await aio_pika.connect(self.url, timeout=5)
                            channel = await connection.channel(publisher_confirms=True)
                        await channel.default_exchange.publish(
                            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                             content_type="application/json"),
                            routing_key=self.queue, timeout=5,
                        )
                        break
                    except Exception:
                        if time.monotonic() > deadline:
                            raise
                        self.resends += 1
                        if connection is not None:
                            with contextlib.suppress(Exception):
                                await connection.close()
                        connection = None
                        await asyncio.sleep(0.2)
                self.sent = i + 1
                await asyncio.sleep(self.interval)
        finally:
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()


# ------------------------------------------------------------------------------ broker plumbing
async def declare_tap(url: str, exchange: str, name: str, keys: Iterable[str] = TAPPED) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, durable=True)
        for key in keys:
            await queue.bind(exchange, routing_key=key)


def make_tap(platform: Any, keys: Iterable[str] = TAPPED) -> str:
    """A queue of our own bound to the events exchange (removed with the platform's topology)."""
    name = f"{platform.ns.prefix}.faults.tap.{uuid.uuid4().hex[:6]}"
    platform.extra_queues.add(name)
    asyncio.run(declare_tap(platform.rabbitmq, platform.ns.events_exchange, name, keys))
    return name


def tapped_events(platform: Any, tap: str) -> list[dict[str, Any]]:
    return [json.loads(body) for body, _ in asyncio.run(drain_queue(platform.rabbitmq, tap))]


async def publish_many(url: str, messages: list[tuple[str, str, bytes]]) -> None:
    """Publish ``(exchange, routing_key, body)`` messages in order on one confirmed channel
    (exchange ``""``: the default exchange, i.e. straight to the queue named by the routing key)."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchanges: dict[str, Any] = {"": channel.default_exchange}
        for exchange, key, body in messages:
            if exchange not in exchanges:
                exchanges[exchange] = await channel.get_exchange(exchange)
            await exchanges[exchange].publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, content_type="application/json"),
                routing_key=key,
            )


# ------------------------------------------------------------------------------ reading the platform
def all_tickets(platform: Any, prefix: str) -> list[dict[str, Any]]:
    """Every ticket intake holds whose channel message id starts with ``prefix`` (all pages)."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(50):
        params: dict[str, Any] = {"limit": 200, "channel": "phone"}
        if cursor:
            params["cursor"] = cursor
        resp = platform.get("intake", "/api/v1/tickets", params=params)
        assert resp.status_code == 200, resp.text
        out.extend(t for t in resp.json() if t["channel_message_id"].startswith(prefix))
        cursor = resp.headers.get("X-Next-Cursor")
        if not cursor:
            break
    return out


def wait_all_ready(platform: Any, timeout: float = 40) -> None:
    names = [s.name for s in SERVICES]
    eventually(lambda: all(platform.get(n, "/health/ready").status_code == 200 for n in names), timeout=timeout,
               interval=0.3)


def total_open(platform: Any) -> int:
    """Sum of every staff member's open assignments (admin view of the whole roster)."""
    resp = platform.get("dispatcher", "/api/v1/staff")
    assert resp.status_code == 200, resp.text
    return sum(m["open_count"] for m in resp.json())


def report_days() -> list[date]:
    """The business days a run's tickets can fall on (yesterday covers back-dated contacts)."""
    today = datetime.now(BUSINESS_TZ).date()
    return [today - timedelta(days=1), today]


def reporting_counts(platform: Any) -> dict[str, dict[str, int]]:
    """Tickets created per business day as reporting counts them, two ways: the daily report (from the
    per-ticket facts) and the KPI totals (from the incrementally maintained aggregate cells)."""
    daily: dict[str, int] = {}
    kpis: dict[str, int] = {}
    for day in report_days():
        resp = platform.get("reporting", "/api/v1/reports/daily", params={"day": day.isoformat()})
        assert resp.status_code == 200, resp.text
        daily[day.isoformat()] = resp.json()["created"]
        resp = platform.get("reporting", "/api/v1/reports/kpis",
                            params={"start": day.isoformat(), "end": day.isoformat()})
        assert resp.status_code == 200, resp.text
        kpis[day.isoformat()] = resp.json()["totals"]["created"]
    return {"daily": daily, "kpis": kpis}


def counted_delta(platform: Any, before: dict[str, dict[str, int]]) -> dict[str, int]:
    now = reporting_counts(platform)
    return {kind: sum(now[kind].get(d, 0) - before[kind].get(d, 0) for d in now[kind]) for kind in now}


def wait_counted(platform: Any, before: dict[str, dict[str, int]], expected: int, timeout: float = 45) -> dict[str, int]:
    """Wait until reporting counted ``expected`` more tickets both ways (the aggregate cells trail the
    facts by a moment); returns the final deltas — which the caller compares with ``expected``, so a
    double count shows as a number larger than it."""
    try:
        return eventually(lambda: (d := counted_delta(platform, before))["daily"] >= expected
                          and d["kpis"] >= expected and d, timeout=timeout, interval=0.3)
    except AssertionError:
        return counted_delta(platform, before)


def metric_samples(platform: Any, service: str, name: str, url: str | None = None) -> dict[tuple[tuple[str, str], ...], float]:
    """One metric's samples from a service's ``/metrics``: labels → value."""
    text = httpx.get((url or platform.url(service)) + "/metrics", timeout=5).text
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def consumed(platform: Any, service: str, queue: str | None = None) -> float:
    """Messages a service finished with (ok or dead-lettered; retries not counted), on one queue or all."""
    total = 0.0
    for labels, value in metric_samples(platform, service, "helpdesk_messages_consumed_total").items():
        d = dict(labels)
        if d.get("outcome") in ("ok", "dead_lettered") and (queue is None or d.get("queue") == queue):
            total += value
    return total


# ------------------------------------------------------------------------------ the exactly-once check
def verify(platform: Any, stream: Stream, prefix: str, tap: str, *, before: int, counted_before: dict[str, Any],
           dead_lettered: int = 0, timeout: float = 90, extra: str = "") -> dict[str, Any]:
    """Wait until every submission is stored and assigned, then check "exactly once" (module docstring).
    Prints and returns the summary (with the tickets and the tapped events, for further checks)."""
    wanted = set(stream.cmids)

    def settled() -> list[dict[str, Any]] | None:
        tickets = all_tickets(platform, prefix)
        done = [t for t in tickets if t["status"] == "assigned" and t.get("assignee_id") and t.get("category")]
        return tickets if {t["channel_message_id"] for t in done} >= wanted else None

    try:
        tickets = eventually(settled, timeout=timeout, interval=0.5)
    except AssertionError:
        tickets = all_tickets(platform, prefix)
    events = tapped_events(platform, tap)
    time.sleep(1.0)  # late duplicates, if any, would arrive now
    events += tapped_events(platform, tap)

    by_cmid: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in tickets:
        by_cmid[t["channel_message_id"]].append(t)
    stored = {c for c in by_cmid if c in wanted}
    ids = {t["ticket_id"] for t in tickets}
    event_ids: dict[str, dict[str, set[str]]] = {k: defaultdict(set) for k in TAPPED}
    for e in events:
        tid = e.get("payload", {}).get("ticket_id")
        if tid in ids and e["event_type"] in event_ids:
            event_ids[e["event_type"]][tid].add(e["event_id"])

    assigned = 0
    problems: list[str] = []
    for t in tickets:
        a = json_if_ok(platform.get("dispatcher", f"/api/v1/assignments/{t['ticket_id']}"))
        if t["status"] == "assigned" and a and a.get("status") == "assigned" and a.get("agent_id") == t["assignee_id"]:
            assigned += 1
        else:
            problems.append(f"{t['channel_message_id']}: intake {t['status']}/{t.get('assignee_id')}, "
                            f"dispatcher {a and (a.get('status'), a.get('agent_id'))}")
    counted = wait_counted(platform, counted_before, len(tickets))

    def facts_missing() -> list[str]:
        return [t["ticket_id"] for t in tickets
                if not (f := json_if_ok(platform.get("reporting", f"/api/v1/facts/{t['ticket_id']}")))
                or f.get("created_at") is None]

    # reporting is a projection and may trail the dispatcher by a few seconds on a busy machine: wait for
    # it (a lost ticket.created never arrives and still fails below)
    try:
        eventually(lambda: not facts_missing() or None, timeout=30, interval=0.5)
        missing_facts: list[str] = []
    except AssertionError:
        missing_facts = facts_missing()
    duplicated = sum(len(v) - 1 for v in by_cmid.values())
    for kind in ("ticket.created", "ticket.assigned"):
        duplicated += sum(len(v) - 1 for v in event_ids[kind].values() if len(v) > 1)
    duplicated += max(0, counted["daily"] - len(tickets)) + max(0, counted["kpis"] - len(tickets))
    lost = len(wanted - stored)
    summary = {"submitted": len(wanted), "stored": len(stored), "assigned": assigned, "lost": lost,
               "duplicated": duplicated, "dead_lettered": dead_lettered}
    reclassified = sum(1 for v in event_ids["ticket.classified"].values() if len(v) > 1)
    print("\nfaults: " + " ".join(f"{k}={v}" for k, v in summary.items())
          + f" (counted daily={counted['daily']} kpis={counted['kpis']}, publisher resends={stream.resends}, "
          f"classified twice after redelivery={reclassified}{extra})")
    assert lost == 0, f"lost: {sorted(wanted - stored)[:5]}"
    assert duplicated == 0, ({k: {t: v for t, v in m.items() if len(v) > 1} for k, m in event_ids.items()}, counted)
    assert not problems, problems[:5]
    assert assigned == len(wanted)
    for kind in ("ticket.created", "ticket.assigned"):
        assert set(event_ids[kind]) == ids, f"{kind} not seen for {len(ids - set(event_ids[kind]))} tickets"
    # no ticket holds two slots: the roster's load is exactly the number of assigned tickets so far
    assert total_open(platform) == before + assigned, (total_open(platform), before, assigned)
    assert not missing_facts, f"reporting has no fact (or no ticket.created) for {missing_facts[:5]}"
    assert counted == {"daily": len(tickets), "kpis": len(tickets)}, counted
    return {**summary, "tickets": tickets, "events": events}


# ------------------------------------------------------------------------------ rabbitmqctl
def rabbitmqctl(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=timeout, check=False)


def require_rabbitmqctl(platform: Any) -> None:
    """Skip (fail under CI) unless ``rabbitmqctl`` is installed, usable without sudo, and talks to the
    node the tests' broker URL points at (a local one)."""
    if shutil.which("rabbitmqctl") is None:
        message = "rabbitmqctl is not installed"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    host = urlparse(platform.rabbitmq).hostname or "localhost"
    listing = rabbitmqctl("list_connections", "peer_port")
    if listing.returncode != 0 or host not in ("localhost", "127.0.0.1", "::1"):
        message = (f"rabbitmqctl cannot manage the broker at {host}: "
                   f"{listing.stderr.strip()[:300] or 'not a local node'}")
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message + " (not permitted here?)")


def queue_table(prefix: str, *columns: str) -> dict[str, list[str]]:
    """``rabbitmqctl list_queues name <columns>`` for the queues whose name starts with ``prefix``."""
    listing = rabbitmqctl("list_queues", "--no-table-headers", "name", *columns)
    assert listing.returncode == 0, listing.stderr
    out: dict[str, list[str]] = {}
    for line in listing.stdout.splitlines():
        cols = line.split("\t") if "\t" in line else line.split()
        if cols and cols[0].startswith(prefix + "."):
            out[cols[0]] = [c.strip() for c in cols[1:]]
    return out


def service_amqp_ports(pids: Iterable[int], rabbitmq: str) -> set[int]:
    """Local TCP ports of these processes' connections to the broker (from /proc)."""
    inodes: set[str] = set()
    for pid in pids:
        with contextlib.suppress(OSError):  # a process that just exited has no fd directory
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    link = os.readlink(fd)
                    if link.startswith("socket:["):
                        inodes.add(link[8:-1])
    amqp_port = urlparse(rabbitmq).port or 5672
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table, encoding="ascii") as fh:
            for line in fh.readlines()[1:]:
                cols = line.split()
                local, remote, inode = cols[1], cols[2], cols[9]
                if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == amqp_port:
                    ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def stack_amqp_ports(platform: Any) -> set[int]:
    return service_amqp_ports([r.process.pid for r in platform.stack.running.values()], platform.rabbitmq)


def log_lines(platform: Any, needle: str) -> list[str]:
    """Lines of the stack's service logs (artifacts/fault-logs/<namespace>/) containing ``needle``."""
    out: list[str] = []
    log_dir = getattr(platform.stack, "log_dir", None)
    for path in sorted(Path(log_dir).glob("*.log")) if log_dir else []:
        with contextlib.suppress(OSError):
            out.extend(line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if needle in line)
    return out


def relay_resends(platform: Any) -> int:
    """Events the services' outbox relays republished so far (from their log lines)."""
    total = 0
    for line in log_lines(platform, "outbox relay republished"):
        with contextlib.suppress(ValueError, KeyError):
            total += int(json.loads(line)["message"].split("republished ")[1].split()[0])
    return total
