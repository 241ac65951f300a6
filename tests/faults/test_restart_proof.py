"""Restart proof over the real broker and the real MongoDB wire server (issue 20, part 4).

A stack of its own, on a SecantusDB of its own whose data directory outlives the processes:

1. a burst of tickets, some of them worked (receipt confirmed, resolved, survey answered);
2. the whole stack and the database server stopped with SIGTERM and started again: every ticket,
   customer, classification, assignment, SLA clock, survey and report count is still there, unchanged;
3. a second burst, and mid-burst every service AND the database server SIGKILLed, then started again:
   every submission is stored, classified and assigned exactly once (faultkit.verify), the first
   burst's state is still unchanged, and no outbox entry is left unpublished.

Prints ``restart: submitted=… present=… lost=… duplicated=…``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from faultkit import (Stream, all_tickets, make_tap, reporting_counts, total_open, verify, wait_all_ready,
                      wait_counted)
from pymongo import MongoClient

from contracts import Namespace, StaffRole
from servicekit.launcher import SERVICES, Stack
from servicekit.localdb import LocalMongo
from servicekit.testing import RecordingWebhook, auth_header, delete_topology, eventually, json_if_ok

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
FIRST, SECOND = 30, 30
WORKED, RESOLVED, ANSWERED = 8, 5, 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def restartable(rabbitmq: str, tmp_path_factory: pytest.TempPathFactory, fault_env: Any) -> Iterator[Any]:
    namespace = f"rst{os.getpid()}{int(time.time()) % 100000}"
    hook = RecordingWebhook()  # the survey service's customer gateway: the links it is asked to send
    logs = ROOT / "artifacts" / "fault-logs" / namespace
    server = LocalMongo(storage=str(tmp_path_factory.mktemp("restart") / "data"), log_path=logs / "secantusd.log")
    server.start()
    env = fault_env(rabbitmq, server.url, namespace)
    env["SURVEY_NOTIFY_WEBHOOK_URL"] = hook.url
    stack = Stack(env=env, ports={s.name: _free_port() for s in SERVICES}, log_dir=logs, echo=False)
    platform = fault_env.platform(stack, namespace, rabbitmq)
    platform.db = server
    platform.gateway = hook
    try:
        stack.start()
        stack.wait_ready(timeout=120)
        platform.queues = stack.declared_queues()
        yield platform
    finally:
        stack.stop(kill=True)
        server.stop()
        hook.close()
        ns = Namespace(namespace)
        asyncio.run(delete_topology(rabbitmq, platform.queues | platform.extra_queues,
                                    [ns.events_exchange, ns.dead_letter_exchange]))


# ------------------------------------------------------------------------------ what must survive
def snapshot(platform: Any, tickets: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything the services hold about these tickets, read through their APIs."""
    ids = [t["ticket_id"] for t in tickets]
    state: dict[str, Any] = {}
    for tid in ids:
        ticket = platform.get("intake", f"/api/v1/tickets/{tid}").json()
        classification = json_if_ok(platform.get("classifier", f"/api/v1/classifications/{tid}")) or {}
        assignment = json_if_ok(platform.get("dispatcher", f"/api/v1/assignments/{tid}")) or {}
        surveys = json_if_ok(platform.get("survey", f"/api/v1/surveys/by-ticket/{tid}")) or []
        state[tid] = {
            "ticket": (ticket["ticket_no"], ticket["status"], ticket.get("customer_id"), ticket.get("category"),
                       ticket.get("priority"), ticket.get("assignee_id")),
            "classification": (classification.get("result") or {}).get("category"),
            "assignment": (assignment.get("agent_id"), assignment.get("status"),
                           assignment.get("acknowledged_at") is not None),
            "surveys": sorted((s["status"], s.get("completed_at") is not None) for s in surveys),
        }
    clocks = platform.get("sla-monitor", "/api/v1/clocks", params=[("ticket_id", t) for t in ids])
    assert clocks.status_code == 200, clocks.text
    for clock in clocks.json():
        state[clock["ticket_id"]]["clock"] = (clock["policy_version"], clock["priority"], clock["status"],
                                              clock["first_response_due"], clock["resolution_due"],
                                              clock.get("first_response_at"), clock.get("resolution_met"))
    assert all("clock" in v for v in state.values()), [t for t, v in state.items() if "clock" not in v][:5]
    customers = {state[t]["ticket"][2] for t in ids}
    found = [c for c in customers if platform.get("intake", f"/api/v1/customers/{c}").status_code == 200]
    return {"tickets": state, "customers": sorted(found), "open": total_open(platform),
            "reports": reporting_counts(platform)}


def pending_outbox(url: str, prefix: str) -> dict[str, int]:
    """Outbox entries still waiting in any collection of this run's databases."""
    client: MongoClient = MongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        out: dict[str, int] = {}
        for name in client.list_database_names():
            if not name.startswith(prefix):
                continue
            for coll in client[name].list_collection_names():
                n = client[name][coll].count_documents({"outbox.0": {"$exists": True}})
                if n:
                    out[f"{name}.{coll}"] = n
        return out
    finally:
        client.close()


def work_some(platform: Any, tickets: list[dict[str, Any]]) -> None:
    """Confirm receipt of WORKED tickets, resolve RESOLVED of them, answer ANSWERED surveys (satisfied)."""
    for i, t in enumerate(tickets[:WORKED]):
        agent = auth_header(StaffRole.AGENT, staff_id=t["assignee_id"])
        acked = httpx.post(f"{platform.url('dispatcher')}/api/v1/assignments/{t['ticket_id']}/ack", headers=agent,
                           timeout=10)
        assert acked.status_code == 200, acked.text
        if i < RESOLVED:
            done = httpx.post(f"{platform.url('intake')}/api/v1/tickets/{t['ticket_id']}/resolve", headers=agent,
                              json={"summary": "fixed during the restart proof"}, timeout=10)
            assert done.status_code == 200, done.text
    for t in tickets[:ANSWERED]:
        link = eventually(lambda t=t: next((n["data"]["link"] for n in platform.gateway.received
                                            if n.get("ticket_id") == t["ticket_id"]), None), timeout=30)
        token = urlparse(link).path.rsplit("/", 1)[-1]
        answer = httpx.post(f"{platform.url('survey')}/api/v1/public/surveys/{token}/answers", timeout=10,
                            json={"speed": "fast", "resolution": "resolved", "attitude": "satisfied"})
        assert answer.status_code == 201, answer.text

    def settled() -> bool:
        for i, t in enumerate(tickets[:WORKED]):
            ticket = platform.get("intake", f"/api/v1/tickets/{t['ticket_id']}").json()
            if i < RESOLVED and ticket["status"] not in ("resolved", "closed"):
                return False
            surveys = json_if_ok(platform.get("survey", f"/api/v1/surveys/by-ticket/{t['ticket_id']}")) or []
            if i < RESOLVED and not surveys:
                return False
            if i < ANSWERED and not any(s["status"] == "completed" for s in surveys):
                return False
        return True

    eventually(settled, timeout=40, interval=0.5)


def restart_all(platform: Any, *, kill: bool) -> None:
    stack, server = platform.stack, platform.db
    stack.stop(kill=kill)
    server.stop(kill=kill)
    server.start()
    stack.start()
    stack.wait_ready(timeout=120)
    wait_all_ready(platform)


# ------------------------------------------------------------------------------ the proof
def test_nothing_is_lost_or_doubled_across_stops_and_kills(restartable: Any) -> None:
    platform = restartable
    started = time.monotonic()
    tap = make_tap(platform)
    counted_before = reporting_counts(platform)

    # 1. a burst, then some of it worked
    prefix1, prefix2 = f"r1-{uuid.uuid4().hex[:4]}", f"r2-{uuid.uuid4().hex[:4]}"
    open_at_start = total_open(platform)
    first = Stream(platform.rabbitmq, platform.ns.submissions_queue, prefix1, n=FIRST, interval=0.05).start()
    first.join()
    verify(platform, first, prefix1, tap, before=open_at_start, counted_before=counted_before)
    tickets = sorted(all_tickets(platform, prefix1), key=lambda t: t["channel_message_id"])
    work_some(platform, tickets)
    wait_counted(platform, counted_before, FIRST)
    before = snapshot(platform, tickets)
    assert len(before["customers"]) == len({t["customer_id"] for t in tickets})

    # 2. everything stopped with SIGTERM, database server included, and started again
    restart_all(platform, kill=False)
    after_stop = snapshot(platform, tickets)
    assert after_stop == before, "state changed across a clean stop and start"

    # 3. a second burst; mid-burst every service and the database server are SIGKILLed
    open_before = total_open(platform)
    counted_mid = reporting_counts(platform)
    second = Stream(platform.rabbitmq, platform.ns.submissions_queue, prefix2, n=SECOND, interval=0.05,
                    hold_at=SECOND - 10).start()
    second.wait_sent(10)
    killed_at = second.sent
    restart_all(platform, kill=True)
    second.release()
    second.join()
    assert killed_at < SECOND - 10, "the kill did not happen mid-burst"
    summary = verify(platform, second, prefix2, tap, before=open_before, counted_before=counted_mid,
                     timeout=60, extra=f", killed at sent={killed_at}")
    after_kill = snapshot(platform, tickets)
    assert after_kill["tickets"] == before["tickets"] and after_kill["customers"] == before["customers"]

    databases = platform.stack.env["MONGODB_DATABASE_PREFIX"]
    try:  # every outbox entry is published (then removed) by the writer or, after a kill, by its relay
        eventually(lambda: not pending_outbox(platform.db.url, databases), timeout=30, interval=1.0)
    except AssertionError:
        pytest.fail(f"outbox entries never published: {pending_outbox(platform.db.url, databases)}")
    pending = pending_outbox(platform.db.url, databases)
    present = len(tickets) + summary["stored"]
    print(f"\nrestart: submitted={FIRST + SECOND} present={present} lost={FIRST + SECOND - present} "
          f"duplicated={summary['duplicated']} (worked={WORKED} resolved={RESOLVED} surveys answered={ANSWERED}, "
          f"SIGKILL at sent={killed_at}, outbox pending={pending}, {time.monotonic() - started:.0f}s)")


def test_database_down_mid_stream_holds_messages_and_loses_nothing(restartable: Any) -> None:
    """The database server dies mid-stream and stays down a while: every service reports not ready,
    logs that it is holding messages, dead-letters nothing; once the server is back every submission
    is stored and assigned exactly once."""
    platform = restartable
    tap = make_tap(platform)
    open_before, counted_before = total_open(platform), reporting_counts(platform)
    prefix = f"db-{uuid.uuid4().hex[:4]}"
    stream = Stream(platform.rabbitmq, platform.ns.submissions_queue, prefix, n=SECOND, interval=0.05,
                    hold_at=SECOND - 10).start()
    stream.wait_sent(10)
    platform.db.stop(kill=True)
    down_at = stream.sent
    stream.release()  # the rest arrives while the database is down
    stream.join()
    not_ready = eventually(lambda: all(platform.get(s.name, "/health/ready").status_code == 503 for s in SERVICES),
                           timeout=30, interval=0.5)
    ready = platform.get("intake", "/health/ready").json()
    assert ready["checks"]["database"] == "failing" and ready["database"]["backend"] == "mongodb"
    time.sleep(3)  # down for a while, with deliveries waiting
    platform.db.start()
    wait_all_ready(platform, timeout=60)
    summary = verify(platform, stream, prefix, tap, before=open_before, counted_before=counted_before, timeout=60,
                     extra=f", database killed at sent={down_at}")
    held = [line for s in SERVICES for line in
            (platform.stack.log_dir / f"{s.name}.log").read_text(encoding="utf-8").splitlines()
            if "holding it unacknowledged" in line]
    dead = [line for s in SERVICES for line in
            (platform.stack.log_dir / f"{s.name}.log").read_text(encoding="utf-8").splitlines()
            if "dead-lettered a message" in line]
    print(f"\ndatabase-outage: submitted={summary['submitted']} stored={summary['stored']} "
          f"lost={summary['lost']} duplicated={summary['duplicated']} held-message log lines={len(held)} "
          f"dead-lettered={len(dead)} not-ready seen={bool(not_ready)}")
    assert held, "no service said it was holding messages while the database was down"
    assert not dead, dead[:3]
