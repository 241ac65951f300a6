"""Fault suite (issue 10): two replicas of every service consume the same stream on the real RabbitMQ.

Each service runs two ServiceKits in one process (tests/faults/replica_host.py, see conftest.py): two
broker connections competing on every quorum queue, two outbox relays, two SLA scanners, sharing the
service's database. After a stream of back-dated submissions under a short SLA policy (first response
due 1 minute after contact, warned at half of it) the check is the suite's "exactly once" (faultkit.verify:
no ticket lost or doubled, no duplicate assignment, one slot per ticket, reporting counts each ticket
once) plus: every ticket warned once and breached once — one ``sla.warning`` and one ``sla.breached``
publication, not one per replica — and reporting counted that breach once.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from typing import Any

import httpx
import pytest
from faultkit import (
    TAPPED,
    Stream,
    make_tap,
    queue_table,
    rabbitmqctl,
    reporting_counts,
    require_rabbitmqctl,
    service_amqp_ports,
    tapped_events,
    total_open,
    verify,
)

from servicekit.launcher import SERVICES
from servicekit.testing import eventually, json_if_ok

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

N = 60
BACKDATE = 40.0  # seconds: the warning (30 s after contact) is due on arrival, the breach (60 s) 20 s later
SHORT_POLICY = {
    "name": "fault suite: 1-minute first response",
    "description": "Short targets so warnings and breaches happen within the test.",
    "warning": {"lead_minutes": None, "percent": 50},
    "acknowledge_within_minutes": 1440,  # no unconfirmed-assignment moves: assignments stay put
    "rules": [{"priority": p, "first_response": {"minutes": 1}, "resolution": {"minutes": 600}}
              for p in ("P1", "P2", "P3", "P4")],
}
SLA_EVENTS = ("sla.warning", "sla.breached", "ticket.escalated")
BUSY = ("intake", "classifier", "dispatcher", "sla-monitor", "reporting")  # survey gets no ticket.resolved here


def received_bytes(platform: Any) -> dict[str, dict[int, int]]:
    """Bytes the broker sent to each AMQP connection of each service process (by local port), leaving
    out the queue-depth samplers' connections (named ``<service>-metrics``), which consume nothing."""
    listing = rabbitmqctl("list_connections", "--no-table-headers", "peer_port", "send_oct", "client_properties")
    assert listing.returncode == 0, listing.stderr
    sent = {int(parts[0]): int(parts[1]) for parts in (line.split() for line in listing.stdout.splitlines())
            if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit() and "-metrics" not in " ".join(parts[2:])}
    return {name: {port: sent[port] for port in service_amqp_ports([run.process.pid], platform.rabbitmq) if port in sent}
            for name, run in platform.stack.running.items()}


def test_two_replicas_of_every_service_process_the_stream_once(replicated: Any) -> None:
    platform = replicated
    require_rabbitmqctl(platform)
    started = time.monotonic()
    urls = [url for spec in SERVICES for url in platform.stack.replica_urls(spec.name)]
    eventually(lambda: all(httpx.get(u + "/health/ready", timeout=3).status_code == 200 for u in urls),
               timeout=30, interval=0.3)
    # every shared queue has two competing consumers: one per replica
    shared = sorted(q for q in platform.queues if not q.endswith(".dlq") and ".reload." not in q)
    # (the broker's consumer counts of quorum queues are statistics, refreshed every few seconds)

    def two_each() -> dict[str, str] | None:
        table = queue_table(platform.ns.prefix, "consumers")
        counts = {q: table.get(q, ["0"])[0] for q in shared}
        return counts if all(c == "2" for c in counts.values()) else None

    eventually(two_each, timeout=20, interval=1.0)
    print(f"\n  {len(SERVICES)} services x 2 replicas; {len(shared)} queues with 2 consumers each "
          f"({time.monotonic() - started:.1f}s)")

    draft = platform.post("sla-monitor", "/api/v1/policies", SHORT_POLICY)
    assert draft.status_code == 201, draft.text
    version = draft.json()["version"]
    active = platform.post("sla-monitor", f"/api/v1/policies/{version}/activate")
    assert active.status_code == 200, active.text

    tap = make_tap(platform, [*TAPPED, *SLA_EVENTS])
    bytes_before = received_bytes(platform)
    before = total_open(platform)
    counted_before = reporting_counts(platform)
    prefix = f"rep-{uuid.uuid4().hex[:4]}"
    stream = Stream(platform.rabbitmq, platform.ns.submissions_queue, prefix, n=N, interval=0.1,
                    backdate=BACKDATE).start()
    stream.join(timeout=60)
    result = verify(platform, stream, prefix, tap, before=before, counted_before=counted_before,
                    extra=", 2 replicas of every service")
    tickets = {t["ticket_id"]: t for t in result["tickets"]}
    # both replicas of each busy service took deliveries: each of its two connections received data
    bytes_after = received_bytes(platform)
    split = {name: sorted(bytes_after[name].get(port, 0) - n for port, n in bytes_before[name].items())
             for name in BUSY}
    print("  bytes the broker sent per replica connection during the stream: " + ", ".join(
        f"{name} {'/'.join(str(b) for b in v)}" for name, v in split.items()))
    assert all(len(v) == 2 and v[0] >= 2048 for v in split.values()), split
    print(f"  exactly once with 2 replicas ({time.monotonic() - started:.1f}s)")

    # every clock warned and breached (the breach is due BACKDATE + 20 s after the first submission)
    def all_breached() -> list[dict[str, Any]] | None:
        resp = platform.get("sla-monitor", "/api/v1/clocks", params=[("ticket_id", t) for t in tickets])
        clocks = resp.json() if resp.status_code == 200 else []
        done = [c for c in clocks if c["breach_count"] >= 1]
        return clocks if len(done) == len(tickets) else None

    clocks = eventually(all_breached, timeout=45, interval=0.5)
    time.sleep(2.0)  # a second replica's duplicate, if any, would be published now
    events = [e for e in [*result["events"], *tapped_events(platform, tap)] if e["event_type"] in SLA_EVENTS]
    copies: dict[tuple[str, str, str], int] = defaultdict(int)
    ids: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for e in events:
        p = e["payload"]
        if p["ticket_id"] in tickets:
            key = (p["ticket_id"], e["event_type"], str(p.get("target")))
            copies[key] += 1
            ids[key].add(e["event_id"])
    warned = sum(1 for (_, kind, target) in copies if kind == "sla.warning" and target == "first_response")
    breached = sum(1 for (_, kind, target) in copies if kind == "sla.breached" and target == "first_response")
    escalated = sum(1 for (_, kind, _) in copies if kind == "ticket.escalated")
    doubled = {key: n for key, n in copies.items() if n > 1 or len(ids[key]) > 1}
    p1 = sum(1 for c in clocks if c["priority"] == "P1")
    facts = {t: json_if_ok(platform.get("reporting", f"/api/v1/facts/{t}")) or {} for t in tickets}
    breaches_counted = sum(f.get("sla_breaches", 0) for f in facts.values())
    print(f"  sla: warned={warned} breached={breached} escalated={escalated} (P1 tickets {p1}) "
          f"duplicate alarm publications={sum(n - 1 for n in doubled.values())}; reporting counted "
          f"{breaches_counted} breaches ({time.monotonic() - started:.1f}s)")
    assert not doubled, doubled
    assert all(c["alarms"].count(a) == 1 for c in clocks for a in c["alarms"]), "an alarm raised twice"
    assert warned == breached == len(tickets), (warned, breached, len(tickets))
    assert escalated == p1  # a breached P1 escalates once; other priorities need a second breach
    assert breaches_counted == len(tickets), {t: f.get("sla_breaches") for t, f in facts.items()}
    assert time.monotonic() - started < 90
