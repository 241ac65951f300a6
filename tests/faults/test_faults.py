"""Fault suite (issue 10): the platform under SIGKILLs, broker connection loss, a broker node restart,
poison messages, duplicate and out-of-order deliveries, against the real RabbitMQ, each test bounded
(< 90 s) and printing one summary line

    faults: submitted=N stored=N assigned=N lost=0 duplicated=0 dead_lettered=K

Submissions are published with plain aio-pika, as a channel system would. What "exactly once" means
is in faultkit.py (:func:`faultkit.verify`): one stored, classified and assigned ticket per submission,
one assignment and one slot per ticket, one ``ticket.created``/``ticket.assigned`` event id per ticket,
and reporting counting each ticket once (facts, daily report, KPI aggregates).
Two replicas of every service: test_replicas.py.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import time
import uuid
from collections import defaultdict
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import aio_pika
import pytest
from faultkit import (
    N,
    Stream,
    all_tickets,
    consumed,
    log_lines,
    make_tap,
    metric_samples,
    publish_many,
    queue_table,
    rabbitmqctl,
    relay_resends,
    reporting_counts,
    require_rabbitmqctl,
    stack_amqp_ports,
    submission,
    tapped_events,
    total_open,
    verify,
    wait_all_ready,
    wait_counted,
)

from contracts import StaffRole
from servicekit.launcher import SERVICES
from servicekit.testing import auth_header, drain_queue, eventually, json_if_ok, publish_raw

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture
def tap(faults: Any) -> str:
    """A queue of our own bound to the events exchange: every created/classified/assigned event."""
    return make_tap(faults)


# ------------------------------------------------------------------------------ (a) SIGKILL
def test_services_killed_mid_stream_lose_and_duplicate_nothing(faults: Any, tap: str) -> None:
    """SIGKILL a service mid-stream, restart it on the same port, then check exactly-once.

    Without a persistent database (no ``MONGODB_URL``, no Docker for testcontainers) every service keeps
    its data in its own process memory, so killing intake or the dispatcher would wipe the very tickets
    and assignments the check reads. Then only services whose data the check does not read are killed:
    the classifier (twice) and the sla-monitor. That still exercises the hard part — unacked
    ``ticket.created`` deliveries come back to a fresh classifier with an empty memory, which classifies
    them again; the dispatcher (idempotent per ticket) must not route any ticket twice, and intake must
    not lose or double any ticket. With a persistent MongoDB (``MONGODB_URL`` or testcontainers) intake and then the dispatcher are
    killed instead. The classifier runs rules-only here (see conftest.py): a restart takes ~7 s, and
    the stream (60 submissions, one per 0.1 s) holds its last 10 until both kills are done."""
    started = time.monotonic()
    before = total_open(faults)
    counted_before = reporting_counts(faults)
    prefix = f"kill-{uuid.uuid4().hex[:4]}"
    stream = Stream(faults.rabbitmq, faults.ns.submissions_queue, prefix, hold_at=N - 10).start()
    victims = ["intake", "dispatcher"] if faults.persistent else ["classifier", "classifier"]
    for k, name in enumerate(victims):
        stream.wait_sent((k + 1) * 10)
        killed_at = stream.sent
        faults.restart(name, kill=True)
        print(f"\n  SIGKILLed {name} at sent={killed_at}, ready again at sent={stream.sent} "
              f"({time.monotonic() - started:.1f}s)")
        assert killed_at < N, "the kill did not happen mid-stream"
    stream.release()
    stream.join()
    wait_all_ready(faults)
    print(f"  stream done, all ready ({time.monotonic() - started:.1f}s)")
    verify(faults, stream, prefix, tap, before=before, counted_before=counted_before)
    assert time.monotonic() - started < 60


# ------------------------------------------------------------------------------ (b) broker connections
def close_stack_connections(faults: Any) -> int:
    """Close, on the broker side, every AMQP connection of this stack's services.

    ``rabbitmqctl close_all_connections`` would also cut every other client of this shared broker (other
    test runs in their own namespaces), so the connections are picked by the services' local ports and
    closed one by one with ``rabbitmqctl close_connection`` — the same fault, seen from the services."""
    require_rabbitmqctl(faults)
    listing = rabbitmqctl("list_connections", "pid", "peer_port")
    assert listing.returncode == 0, listing.stderr
    ports = stack_amqp_ports(faults)
    pids = [line.split()[0] for line in listing.stdout.splitlines()
            if len(line.split()) == 2 and line.split()[1].isdigit() and int(line.split()[1]) in ports]
    procs = [subprocess.Popen(["rabbitmqctl", "-q", "close_connection", pid, "fault test"], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for pid in pids]
    closed = 0
    for proc in procs:
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 or "not found" in err.lower(), err
        closed += proc.returncode == 0
    return closed


def test_broker_connections_closed_mid_stream(faults: Any, tap: str) -> None:
    """Every service's broker connection is closed by the broker while submissions flow: each reconnects
    (health ready again), and every ticket is stored, classified and assigned exactly once."""
    started = time.monotonic()
    before = total_open(faults)
    counted_before = reporting_counts(faults)
    prefix = f"conn-{uuid.uuid4().hex[:4]}"
    stream = Stream(faults.rabbitmq, faults.ns.submissions_queue, prefix, hold_at=N - 10).start()
    stream.wait_sent(10)
    old_ports = stack_amqp_ports(faults)
    closed_at = stream.sent
    closed = close_stack_connections(faults)
    print(f"\n  closed {closed} service connections at sent={closed_at}, done at sent={stream.sent} "
          f"({time.monotonic() - started:.1f}s)")
    assert closed >= len(SERVICES), f"closed only {closed} connections"
    assert stream.sent < N, "the connections were not closed mid-stream"
    stream.release()
    stream.join()
    wait_all_ready(faults)
    # every service is on a new connection (and the stream's tail went through them)
    eventually(lambda: (ports := stack_amqp_ports(faults)) and not ports & old_ports, timeout=20)
    verify(faults, stream, prefix, tap, before=before, counted_before=counted_before)
    assert time.monotonic() - started < 60


# ------------------------------------------------------------------------------ (c) poison messages
def _poison(faults: Any, kind: str, cmid: str) -> bytes:
    good = json.loads(submission(cmid, 0))
    if kind == "invalid_json":
        return b'{"schema_version": 1, "channel": "phone", ' + cmid.encode()
    if kind == "wrong_schema_version":
        return json.dumps({**good, "schema_version": 99}).encode()
    if kind == "missing_fields":
        return json.dumps({"schema_version": 1, "subject": cmid}).encode()
    if kind == "huge":
        return json.dumps({**good, "description": "很长" * (1024 * 1024 // 3)}).encode()  # ~2 MB UTF-8
    raise ValueError(kind)


def _poison_event(kind: str, marker: str) -> bytes:
    event = {
        "event_id": str(uuid.uuid4()), "event_type": "ticket.created", "schema_version": 1,
        "occurred_at": "2026-11-25T02:15:00Z", "correlation_id": marker, "producer": "intake",
        "payload": {"ticket_id": uuid.uuid4().hex, "ticket_no": "GD20261125999999"},
    }
    complete = {**event["payload"], "channel": "phone", "channel_message_id": marker, "customer_id": "C1",
                "customer_display": "客户*", "description": "x",
                "created_at": "2026-11-25T02:15:00Z"}
    if kind == "invalid_json":
        return b'{"event_type": "ticket.created", ' + marker.encode()
    if kind == "wrong_schema_version":
        return json.dumps({**event, "schema_version": 99, "payload": complete}).encode()
    if kind == "missing_fields":
        return json.dumps(event).encode()  # payload lacks channel, customer, description …
    if kind == "huge":
        # otherwise valid: only the size is wrong
        return json.dumps({**event, "payload": {**complete, "description": "x" * (2 * 1024 * 1024)}}).encode()
    raise ValueError(kind)


KINDS = ("invalid_json", "wrong_schema_version", "missing_fields", "huge")
EVENT_KINDS = ("invalid_json", "wrong_schema_version", "missing_fields")  # "huge": see the next test


def dead_letter_count(faults: Any, service: str, queue: str) -> float:
    """``helpdesk_dead_letters_total`` of one service and queue (all reasons) from its /metrics."""
    return sum(v for labels, v in metric_samples(faults, service, "helpdesk_dead_letters_total").items()
               if dict(labels).get("service") == service and dict(labels).get("queue") == queue)


def test_poison_messages_are_dead_lettered_with_a_reason(faults: Any) -> None:
    """Each kind of poison, on intake's command queue and on the classifier's ``ticket.created`` event
    queue, lands in that queue's DLQ with ``x-dead-letter-reason`` and is counted in the service's
    ``/metrics`` (``helpdesk_dead_letters_total`` for that queue rises by exactly the number sent); both
    services stay healthy and keep working. (Replay with ``python -m servicekit.dlq replay`` is covered
    by servicekit's tests.)"""
    started = time.monotonic()
    marker = f"poison-{uuid.uuid4().hex[:6]}"
    targets = {
        faults.ns.submissions_queue: ("intake", lambda kind: _poison(faults, kind, f"{marker}-{kind}")),
        faults.ns.subscription_queue("classifier", "ticket.created"):
            ("classifier", lambda kind: _poison_event(kind, f"{marker}-{kind}")),
    }
    kinds = {faults.ns.submissions_queue: KINDS, faults.ns.subscription_queue("classifier", "ticket.created"): EVENT_KINDS}
    counted_before = {queue: dead_letter_count(faults, service, queue) for queue, (service, _) in targets.items()}
    sent: dict[str, dict[str, bytes]] = {}
    for queue, (_, make) in targets.items():
        sent[queue] = {}
        for kind in kinds[queue]:
            body = make(kind)
            sent[queue][kind] = body
            asyncio.run(publish_raw(faults.rabbitmq, queue, body, content_type="application/json"))

    dead_lettered = 0
    for queue, (service, _) in targets.items():
        dlq = faults.ns.dead_letter_queue(queue)
        letters: list[tuple[bytes, dict[str, Any]]] = []
        eventually(lambda: letters.extend(asyncio.run(drain_queue(faults.rabbitmq, dlq)))  # noqa: B023
                   or len(letters) >= len(kinds[queue]), timeout=20, interval=0.3)
        bodies = {body: headers for body, headers in letters}
        for kind, body in sent[queue].items():
            assert body in bodies, f"{kind} poison not dead-lettered from {queue}"
            reason = bodies[body].get("x-dead-letter-reason")
            assert reason, f"{kind} on {queue}: no x-dead-letter-reason"
            print(f"\n  {queue} {kind}: {str(reason)[:110]}", end="")
            dead_lettered += 1
        assert faults.get(service, "/health/ready").status_code == 200
        counted = dead_letter_count(faults, service, queue) - counted_before[queue]
        print(f"\n  {service} /metrics helpdesk_dead_letters_total{{queue={queue!r}}}: +{counted:g}", end="")
        assert counted == len(kinds[queue]), f"{service} /metrics counted {counted} dead letters on {queue}"
        assert faults.stack.running[service].process.poll() is None, f"{service} exited"

    # intake and the pipeline still work after the poison
    prefix = f"after-{marker}"
    stream = Stream(faults.rabbitmq, faults.ns.submissions_queue, prefix, n=3, interval=0).start()
    stream.join()
    tickets = eventually(lambda: (t := all_tickets(faults, prefix)) and len(t) == 3
                         and all(x["status"] == "assigned" for x in t) and t, timeout=20, interval=0.3)
    total = sum(len(k) for k in kinds.values())
    print(f"\nfaults: submitted={total} stored=0 assigned=0 lost=0 duplicated=0 "
          f"dead_lettered={dead_lettered} (then {len(tickets)} good submissions stored and assigned)")
    assert dead_lettered == total
    assert time.monotonic() - started < 60


def test_a_huge_but_valid_event_is_dead_lettered(faults: Any) -> None:
    """A well-formed 2 MB event is refused unread by the consume guard (MAX_MESSAGE_BYTES, 1 MB by
    default), dead-lettered with the reason and counted in /metrics — the classifier never sees it."""
    queue = faults.ns.subscription_queue("classifier", "ticket.created")
    counted_before = dead_letter_count(faults, "classifier", queue)
    body = _poison_event("huge", f"huge-{uuid.uuid4().hex[:6]}")
    asyncio.run(publish_raw(faults.rabbitmq, queue, body, content_type="application/json"))
    dlq = faults.ns.dead_letter_queue(queue)
    letters: list[tuple[bytes, dict[str, Any]]] = []
    try:
        eventually(lambda: letters.extend(asyncio.run(drain_queue(faults.rabbitmq, dlq))) or letters,
                   timeout=8, interval=0.3)
    finally:
        assert faults.get("classifier", "/health/ready").status_code == 200
    assert any(b == body and h.get("x-dead-letter-reason") for b, h in letters)
    assert dead_letter_count(faults, "classifier", queue) - counted_before == 1
    print("\nfaults: submitted=1 stored=0 assigned=0 lost=0 duplicated=0 dead_lettered=1 (2 MB event)")


# ------------------------------------------------------------------------------ (d) broker node restart
def test_broker_node_restarted_mid_stream(faults: Any, tap: str) -> None:
    """``rabbitmqctl stop_app`` then ``start_app`` on the local node while submissions flow.

    The quorum queues (and their messages) survive the node restart on this single node; every service's
    robust connection comes back (health ready, new connections), unconfirmed publishes are resent —
    the channel's by its own retry loop, the services' by their outbox relays — and every ticket is
    stored, classified, assigned and counted exactly once. The node is started again whatever happens
    (``finally``). NOTE: this restarts the whole shared broker, so other clients of it (other test runs)
    lose their connections for a few seconds too."""
    require_rabbitmqctl(faults)
    started = time.monotonic()
    before = total_open(faults)
    counted_before = reporting_counts(faults)
    # the durable quorum queues (not the classifier's exclusive per-replica reload queue)
    ours = {q for q in faults.queues if ".classifier.reload." not in q}
    types_before = queue_table(faults.ns.prefix, "type", "durable")
    assert ours <= set(types_before), f"queues missing before the restart: {sorted(ours - set(types_before))[:5]}"
    assert all(types_before[q][0] == "quorum" for q in ours), {q: types_before[q] for q in ours}

    relayed_before = relay_resends(faults)
    failed_before = len(log_lines(faults, "will retry"))
    prefix = f"node-{uuid.uuid4().hex[:4]}"
    stream = Stream(faults.rabbitmq, faults.ns.submissions_queue, prefix, hold_at=N - 10, patience=75).start()
    stream.wait_sent(10)
    old_ports = stack_amqp_ports(faults)
    stopped = False
    try:
        stopped, at_stop = True, stream.sent
        stop = rabbitmqctl("stop_app")
        assert stop.returncode == 0, stop.stderr
        down_at, down = stream.sent, time.monotonic()
        time.sleep(2.0)  # services and the channel system see the node gone
    finally:
        if stopped:
            start = rabbitmqctl("start_app")
            awaited = rabbitmqctl("await_startup", timeout=90)
    assert start.returncode == 0, start.stderr
    assert awaited.returncode == 0, awaited.stderr
    up = time.monotonic()
    print(f"\n  stop_app at sent={at_stop}, node down at sent={down_at}, running again after {up - down:.1f}s "
          f"at sent={stream.sent} ({up - started:.1f}s)")
    assert at_stop < N - 10, "the node was not stopped mid-stream"  # the last 10 wait for the restart

    # quorum queues survived the restart (same names, still quorum, durable)
    types_after = queue_table(faults.ns.prefix, "type", "durable")
    assert ours <= set(types_after), f"queues lost in the restart: {sorted(ours - set(types_after))[:5]}"
    assert all(types_after[q] == types_before[q] for q in ours)
    wait_all_ready(faults, timeout=60)
    eventually(lambda: (ports := stack_amqp_ports(faults)) and not ports & old_ports, timeout=30)
    # every subscription queue has its consumer back
    # (the broker's consumer counts of quorum queues are statistics, refreshed every few seconds)
    def idle() -> list[str]:
        consumers = queue_table(faults.ns.prefix, "consumers")
        return [q for q in ours if not q.endswith(".dlq") and consumers.get(q, ["0"])[0] == "0"]

    eventually(lambda: not idle() or None, timeout=30, interval=1.0)
    print(f"  all services reconnected ({time.monotonic() - started:.1f}s)")
    stream.release()
    stream.join(timeout=60)
    verify(faults, stream, prefix, tap, before=before, counted_before=counted_before, timeout=60,
           extra=f", quorum queues kept={len(ours)}, outbox relay resends={relay_resends(faults) - relayed_before}, "
                 f"handler retries={len(log_lines(faults, 'will retry')) - failed_before}")
    assert time.monotonic() - started < 90


# ------------------------------------------------------------------------------ (e) duplicates, out of order
HELD = ("ticket.classified", "ticket.assigned", "ticket.acknowledged")
SLA_TYPES = ("ticket.created", "ticket.classified", "ticket.assigned", "ticket.acknowledged", "ticket.responded",
             "ticket.status_changed", "ticket.resolved", "ticket.closed", "ticket.reopened")
VOLATILE_CLOCK = ("as_of", "first_response_remaining_seconds", "resolution_remaining_seconds", "ticket_id")


async def _hold(url: str, exchange: str, hold: str, queues: dict[str, str], *, holding: bool) -> None:
    """``holding``: take intake's queues off the exchange and catch their events in ``hold``; else put
    them back and unbind ``hold``."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        held = await channel.declare_queue(hold, durable=True)
        for key, name in queues.items():
            queue = await channel.get_queue(name, ensure=False)
            if holding:
                await held.bind(exchange, routing_key=key)
                await queue.unbind(exchange, routing_key=key)
            else:
                await queue.bind(exchange, routing_key=key)
                await held.unbind(exchange, routing_key=key)


def deliver_in_steps(faults: Any, steps: list[list[tuple[str, str, dict[str, Any]]]], timeout: float = 15) -> int:
    """Publish ``(service, queue, event)`` straight to the queues (default exchange), one step at a time:
    a step is published, then awaited until each service's ``/metrics`` shows the step's messages
    consumed from those queues — so the order across steps is the order the services saw."""
    sent = 0
    for step in steps:
        if not step:
            continue
        wanted: dict[tuple[str, str], int] = defaultdict(int)
        for service, queue, _ in step:
            wanted[(service, queue)] += 1
        base = {key: consumed(faults, *key) for key in wanted}
        asyncio.run(publish_many(faults.rabbitmq, [("", queue, json.dumps(e, ensure_ascii=False).encode())
                                                   for _, queue, e in step]))
        eventually(lambda: all(consumed(faults, *key) >= base[key] + n for key, n in wanted.items()),  # noqa: B023
                   timeout=timeout, interval=0.05)
        sent += len(step)
    return sent


def twin(event: dict[str, Any], suffix: str) -> dict[str, Any]:
    """The same event about a twin ticket (``<ticket_id><suffix>``), with its own deterministic id."""
    copy = json.loads(json.dumps(event))
    copy["event_id"] = str(uuid5(NAMESPACE_URL, f"faults-twin/{suffix}/{event['event_id']}"))
    copy["payload"]["ticket_id"] = event["payload"]["ticket_id"] + suffix
    return copy


def snapshot(faults: Any, ticket_ids: list[str]) -> dict[str, Any]:
    """Everything the services hold about these tickets, and the totals."""
    out: dict[str, Any] = {"open": total_open(faults), "counted": reporting_counts(faults)}
    for tid in ticket_ids:
        clock = json_if_ok(faults.get("sla-monitor", f"/api/v1/clocks/{tid}")) or {}
        surveys = json_if_ok(faults.get("survey", f"/api/v1/surveys/by-ticket/{tid}")) or []
        out[tid] = {
            "intake": json_if_ok(faults.get("intake", f"/api/v1/tickets/{tid}")),
            "dispatcher": json_if_ok(faults.get("dispatcher", f"/api/v1/assignments/{tid}")),
            "clock": {k: v for k, v in clock.items() if k not in VOLATILE_CLOCK},
            "fact": {k: v for k, v in (json_if_ok(faults.get("reporting", f"/api/v1/facts/{tid}")) or {}).items()
                     if k != "ticket_id"},
            "surveys": sorted(s["survey_id"] for s in surveys),
        }
    return out


def test_duplicate_and_out_of_order_events_change_nothing(faults: Any) -> None:
    """Duplicate deliveries and events in a shuffled order, injected straight into the services' queues
    (and the exchange), leave every service in the state the in-order run gives.

    1. intake out of order, with real events: intake's ``ticket.classified/assigned/acknowledged`` queues
       are taken off the exchange while K tickets are submitted, classified, assigned and acknowledged;
       the held events are then delivered to intake in order for half the tickets and reversed (the
       acknowledgement before the assignment before the classification), each twice, for the others.
       Every ticket must end as the in-order run leaves it (in progress, assignee, classification).
    2. The tickets are answered and resolved through intake's API; the '#' tap keeps every event.
    3. sla-monitor, reporting and survey out of order: each ticket's events are replayed for a *twin*
       ticket id straight into those services' queues in shuffled orders (reversed; random;
       ``ticket.resolved`` before ``ticket.acknowledged`` and ``ticket.assigned`` before
       ``ticket.classified``), with duplicates; the twin's SLA clock, reporting fact and survey must
       equal the original's. The dispatcher gets a twin's ``ticket.resolved`` before its
       ``ticket.classified``: the ticket must end released, routed to nobody, holding no slot.
    4. Duplicates: a copy of every event of the run (same event ids) is published to the exchange again
       in random order: nothing any service holds changes, and no service publishes a new event.
    """
    started = time.monotonic()
    ns, k = faults.ns, 6
    rng = random.Random(20261125)
    before_open = total_open(faults)
    counted_before = reporting_counts(faults)
    everything = make_tap(faults, ["#"])
    hold = f"{ns.prefix}.faults.hold.{uuid.uuid4().hex[:6]}"
    faults.extra_queues.add(hold)
    intake_queues = {key: ns.subscription_queue("intake", key) for key in HELD}
    prefix = f"ooo-{uuid.uuid4().hex[:4]}"

    # 1 ---------------------------------------------------------------- intake sees them late and out of order
    asyncio.run(_hold(faults.rabbitmq, ns.events_exchange, hold, intake_queues, holding=True))
    try:
        Stream(faults.rabbitmq, ns.submissions_queue, prefix, n=k, interval=0).start().join()
        tickets = eventually(lambda: (t := all_tickets(faults, prefix)) and len(t) == k and t, timeout=20)
        ids = sorted(t["ticket_id"] for t in tickets)
        for tid in ids:
            a = eventually(lambda: (x := json_if_ok(faults.get("dispatcher", f"/api/v1/assignments/{tid}")))  # noqa: B023
                           and x["status"] == "assigned" and x, timeout=20)
            ack = faults.post("dispatcher", f"/api/v1/assignments/{tid}/ack",
                              headers=auth_header([StaffRole.AGENT], staff_id=a["agent_id"]))
            assert ack.status_code == 200, ack.text
        held: dict[tuple[str, str], dict[str, Any]] = {}

        def all_held() -> bool:
            for body, _ in asyncio.run(drain_queue(faults.rabbitmq, hold)):
                e = json.loads(body)
                held.setdefault((e["payload"]["ticket_id"], e["event_type"]), e)
            return len(held) == k * len(HELD)

        eventually(all_held, timeout=20, interval=0.2)
        assert all(t["status"] == "new" for t in all_tickets(faults, prefix)), "intake saw an event it should not"
    finally:
        asyncio.run(_hold(faults.rabbitmq, ns.events_exchange, hold, intake_queues, holding=False))
    in_order, shuffled = ids[: k // 2], ids[k // 2:]
    steps: list[list[tuple[str, str, dict[str, Any]]]] = [[] for _ in range(2 * len(HELD))]
    for tid in ids:
        order = list(HELD) if tid in in_order else [*reversed(HELD), *reversed(HELD)]  # reversed, each twice
        for i, key in enumerate(order):
            steps[i].append(("intake", intake_queues[key], held[(tid, key)]))
    delivered = deliver_in_steps(faults, steps)
    for tid in ids:
        t = json_if_ok(faults.get("intake", f"/api/v1/tickets/{tid}"))
        c, a, ack = (held[(tid, key)]["payload"] for key in HELD)
        got = {key: t[key] for key in ("status", "assignee_id", "assignee_name", "team", "category", "module",
                                       "priority")}
        assert got == {"status": "in_progress", "assignee_id": a["agent_id"], "assignee_name": a["agent_name"],
                       "team": a["team"], "category": c["category"], "module": c["module"],
                       "priority": c["priority"]}, (tid in shuffled, got)
        assert t["acknowledged_at"] is not None and t["classified_at"] is not None, t
    print(f"\n  intake: {delivered} held events delivered (half reversed, twice), every ticket in_progress "
          f"({time.monotonic() - started:.1f}s)")

    # 2 ---------------------------------------------------------------- answered and resolved, in order
    for tid in ids:
        assert faults.post("intake", f"/api/v1/tickets/{tid}/responses", {"text": "已联系客户, 正在处理"}).status_code == 200
        assert faults.post("intake", f"/api/v1/tickets/{tid}/resolve", {"summary": "已解决"}).status_code == 200

    def finished() -> bool:
        s = snapshot(faults, ids)
        return s["open"] == before_open and all(
            s[t]["dispatcher"]["status"] == "released" and s[t]["clock"].get("status") == "resolved"
            and s[t]["fact"].get("status") == "resolved" and len(s[t]["surveys"]) == 1 for t in ids)

    eventually(finished, timeout=30, interval=0.3)
    time.sleep(1.0)
    events: dict[str, dict[str, Any]] = {}
    for e in tapped_events(faults, everything):
        if e.get("payload", {}).get("ticket_id") in ids:
            events.setdefault(e["event_id"], e)
    reference = snapshot(faults, ids)
    print(f"  resolved: {len(events)} distinct events of the run ({time.monotonic() - started:.1f}s)")

    # 3 ---------------------------------------------------------------- twins in shuffled orders
    declared = faults.queues
    suffix = "-twin"
    steps = []
    for n, tid in enumerate(ids):
        own = [twin(e, suffix) for e in events.values() if e["payload"]["ticket_id"] == tid]
        if n % 3 == 0:
            own.reverse()
        elif n % 3 == 1:
            rng.shuffle(own)
        else:  # the lifecycle crossed: resolved before acknowledged, assigned before classified
            rank = {"ticket.resolved": 0, "ticket.assigned": 1, "ticket.classified": 2, "ticket.acknowledged": 3}
            own.sort(key=lambda e: rank.get(e["event_type"], 4))
        for e in rng.sample(own, 3):  # copies of events already delivered
            own.insert(rng.randint(own.index(e) + 1, len(own)), e)
        for i, e in enumerate(own):
            if i == len(steps):
                steps.append([])
            targets = [("reporting", ns.subscription_queue("reporting", "all"))]
            if e["event_type"] in SLA_TYPES:
                targets.append(("sla-monitor", ns.subscription_queue("sla-monitor", e["event_type"])))
            if e["event_type"] == "ticket.resolved":
                targets.append(("survey", ns.subscription_queue("survey", e["event_type"])))
            steps[i].extend((service, queue, e) for service, queue in targets if queue in declared)
    # the dispatcher: a twin finished before its classification reached it (then that classification, twice)
    by_type = {(e["payload"]["ticket_id"], e["event_type"]): e for e in events.values()}
    lone = f"{ids[0]}-late"
    steps.append([("dispatcher", ns.subscription_queue("dispatcher", "ticket.resolved"),
                   twin(by_type[(ids[0], "ticket.resolved")], "-late"))])
    steps.append([("dispatcher", ns.subscription_queue("dispatcher", "ticket.classified"),
                   twin(by_type[(ids[0], "ticket.classified")], "-late"))] * 2)
    delivered = deliver_in_steps(faults, steps)
    twins = snapshot(faults, [t + suffix for t in ids])
    for tid in ids:
        original, copy = reference[tid], twins[tid + suffix]
        assert copy["clock"] == original["clock"], (tid, copy["clock"], original["clock"])
        assert copy["fact"] == original["fact"], (tid, copy["fact"], original["fact"])
        assert len(copy["surveys"]) == len(original["surveys"]) == 1
    late = json_if_ok(faults.get("dispatcher", f"/api/v1/assignments/{lone}"))
    assert late and late["status"] == "released" and late["agent_id"] is None, late
    assert total_open(faults) == before_open
    published = [e for e in tapped_events(faults, everything)
                 if e.get("payload", {}).get("ticket_id", "").endswith((suffix, "-late"))]
    assert not published, f"services published events about the twins: {[e['event_type'] for e in published]}"
    print(f"  twins: {delivered} shuffled/duplicated deliveries to sla-monitor, reporting, survey, dispatcher; "
          f"clocks, facts and surveys equal the originals ({time.monotonic() - started:.1f}s)")

    # 4 ---------------------------------------------------------------- every event of the run again
    counted_twins = wait_counted(faults, counted_before, 2 * k)  # each ticket and each twin, once
    assert counted_twins == {"daily": 2 * k, "kpis": 2 * k}, counted_twins
    counted_mid = reporting_counts(faults)
    copies = list(events.values())
    rng.shuffle(copies)
    expected: dict[tuple[str, str], int] = defaultdict(int)
    for e in copies:
        for queue in declared:
            service = next((s.name for s in SERVICES if queue.startswith(f"{ns.prefix}.{s.name}.")), None)
            if service and queue in (ns.subscription_queue(service, e["event_type"]),
                                     ns.subscription_queue("reporting", "all")):
                expected[(service, queue)] += 1
    base = {key: consumed(faults, *key) for key in expected}
    asyncio.run(publish_many(faults.rabbitmq, [(ns.events_exchange, e["event_type"],
                                                json.dumps(e, ensure_ascii=False).encode()) for e in copies]))
    eventually(lambda: all(consumed(faults, *key) >= base[key] + n for key, n in expected.items()),
               timeout=30, interval=0.2)
    time.sleep(1.0)
    after = snapshot(faults, ids)
    for tid in ids:
        for part in reference[tid]:
            assert after[tid][part] == reference[tid][part], (tid, part, after[tid][part], reference[tid][part])
    assert after["open"] == reference["open"] == before_open
    assert after["counted"] == counted_mid
    new = {e["event_id"] for e in tapped_events(faults, everything)
           if e.get("payload", {}).get("ticket_id") in ids} - set(events)
    assert not new, f"services published {len(new)} new events after duplicates"
    counted = wait_counted(faults, counted_before, 2 * k)  # each ticket and each twin, once
    assert counted == {"daily": 2 * k, "kpis": 2 * k}, counted
    duplicated = sum(max(0, v - 2 * k) for v in counted.values())
    print(f"  duplicates: {len(copies)} events republished to the exchange, "
          f"{sum(expected.values())} deliveries, nothing changed ({time.monotonic() - started:.1f}s)")
    print(f"faults: submitted={k} stored={k} assigned={k} lost=0 duplicated={duplicated} dead_lettered=0 "
          f"(injected: intake {2 * len(HELD) * len(shuffled) + len(HELD) * len(in_order)} reordered, "
          f"twins {delivered}, duplicates {sum(expected.values())}; counted daily={counted['daily']} "
          f"kpis={counted['kpis']} incl. {k} twins)")
    assert time.monotonic() - started < 90
