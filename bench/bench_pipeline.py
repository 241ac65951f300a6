"""Pipeline benchmark: raw RabbitMQ baseline vs. submit → assigned through the running services.

    uv run python bench/bench_pipeline.py [--tickets 2000] [--rate 100] [--seconds 10] [--runs 3] [--profile 20]

Measured in one run, on the same machine and broker:
  (a) raw RabbitMQ one hop: aio-pika publishes 1 KB persistent messages with publisher confirms to a
      quorum queue (as the services' queues are) and a consumer acks them: messages/s and p50/p99 latency;
  (b) end to end: the six services are started as processes (fresh namespace); submissions are
      published to ``intake.submissions`` like a channel system would, and ``ticket.assigned`` events are
      observed: sustained tickets/s (as fast as the pipeline takes them) and p50/p99 submit → assigned
      latency at a fixed offered rate.
Prints each run and the medians, and the ratio end-to-end / raw.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from collections.abc import Callable
from typing import Any

import aio_pika

ROOT = Path(__file__).resolve().parents[1]
from contracts import Namespace  # noqa: E402
from servicekit.launcher import SERVICES, Stack  # noqa: E402
from servicekit.testing import delete_topology  # noqa: E402

WINDOW = 64


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def raw_baseline(url: str, ns: str, count: int) -> dict[str, float]:
    queue_name = f"{ns}.bench.raw"
    latencies: list[float] = []
    done = asyncio.Event()
    consumer_conn = await aio_pika.connect_robust(url)
    publisher_conn = await aio_pika.connect_robust(url)
    try:
        cch = await consumer_conn.channel()
        await cch.set_qos(prefetch_count=WINDOW)
        queue = await cch.declare_queue(queue_name, durable=True, arguments={"x-queue-type": "quorum"})

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            sent = float(message.headers["sent"])  # type: ignore[arg-type]
            await message.ack()
            latencies.append(time.perf_counter() - sent)
            if len(latencies) >= count:
                done.set()

        consumer_tag = await queue.consume(on_message)
        pch = await publisher_conn.channel(publisher_confirms=True)
        filler = b"x" * 1000
        sem = asyncio.Semaphore(WINDOW)
        start = time.perf_counter()

        async def one() -> None:
            async with sem:
                await pch.default_exchange.publish(
                    aio_pika.Message(filler, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                     headers={"sent": str(time.perf_counter())}),
                    routing_key=queue_name,
                )

        await asyncio.gather(*(one() for _ in range(count)))
        await asyncio.wait_for(done.wait(), timeout=120)
        elapsed = time.perf_counter() - start
        await queue.cancel(consumer_tag)
        await cch.queue_delete(queue_name)
    finally:
        await consumer_conn.close()
        await publisher_conn.close()
    return {"msgs_per_s": count / elapsed, "p50_ms": pct(latencies, 0.5) * 1e3, "p99_ms": pct(latencies, 0.99) * 1e3}


class EventTap:
    """An exclusive queue bound to one event type on the run's exchange: the first arrival time of each
    event, keyed by ``key(body)`` (e.g. the correlation id, which is the submission's id)."""

    def __init__(self, url: str, ns: Namespace, routing_key: str, key: Callable[[dict[str, Any]], str],
                 prefetch: int = 256) -> None:
        self.url, self.ns, self.routing_key, self.key, self.prefetch = url, ns, routing_key, key, prefetch
        self.seen: dict[str, float] = {}

    async def start(self) -> None:
        self.conn = await aio_pika.connect_robust(self.url)
        channel = await self.conn.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        exchange = await channel.declare_exchange(self.ns.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, routing_key=self.routing_key)
        await queue.consume(self._on, no_ack=True)

    async def _on(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.seen.setdefault(self.key(json.loads(message.body)), time.perf_counter())

    async def close(self) -> None:
        await self.conn.close()


def assigned_tap(url: str, ns: Namespace) -> EventTap:
    """ticket.assigned by correlation id (= the submission's id)."""
    return EventTap(url, ns, "ticket.assigned", lambda body: body["correlation_id"])


async def submit(channel: aio_pika.abc.AbstractChannel, ns: Namespace, cid: str) -> None:
    body = {
        "channel": "online_chat",
        "channel_message_id": cid,
        "correlation_id": cid,
        "customer": {"chat_session_id": f"s-{cid}"},
        "subject": "退款流程",
        "description": "我想了解退款流程, 订单号 A20261125" + cid[-4:],
    }
    await channel.default_exchange.publish(
        aio_pika.Message(json.dumps(body, ensure_ascii=False).encode(), content_type="application/json",
                         delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
        routing_key=ns.submissions_queue,
    )


async def wait_all(observer: EventTap, ids: list[str], timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not all(i in observer.seen for i in ids):
        if time.perf_counter() > deadline:
            missing = sum(1 for i in ids if i not in observer.seen)
            raise TimeoutError(f"{missing} of {len(ids)} tickets not assigned within {timeout}s")
        await asyncio.sleep(0.02)


async def e2e_throughput(url: str, ns: Namespace, observer: EventTap, count: int, tag: str) -> dict[str, float]:
    conn = await aio_pika.connect_robust(url)
    try:
        channel = await conn.channel(publisher_confirms=True)
        ids = [f"{tag}-{i:06d}" for i in range(count)]
        sent: dict[str, float] = {}
        sem = asyncio.Semaphore(WINDOW)

        async def one(cid: str) -> None:
            async with sem:
                sent[cid] = time.perf_counter()
                await submit(channel, ns, cid)

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in ids))
        await wait_all(observer, ids, timeout=600)
        elapsed = max(observer.seen[i] for i in ids) - start
    finally:
        await conn.close()
    lat = [observer.seen[i] - sent[i] for i in ids]
    return {"tickets_per_s": count / elapsed, "p50_ms": pct(lat, 0.5) * 1e3, "p99_ms": pct(lat, 0.99) * 1e3}


async def e2e_latency(url: str, ns: Namespace, observer: EventTap, rate: float, seconds: float, tag: str) -> dict[str, float]:
    conn = await aio_pika.connect_robust(url)
    try:
        channel = await conn.channel(publisher_confirms=True)
        total = int(rate * seconds)
        ids = [f"{tag}-{i:06d}" for i in range(total)]
        sent: dict[str, float] = {}
        start = time.perf_counter()
        for n, cid in enumerate(ids):
            target = start + n / rate
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[cid] = time.perf_counter()
            await submit(channel, ns, cid)
        await wait_all(observer, ids, timeout=300)
    finally:
        await conn.close()
    lat = [observer.seen[i] - sent[i] for i in ids]
    return {"offered_per_s": rate, "p50_ms": pct(lat, 0.5) * 1e3, "p99_ms": pct(lat, 0.99) * 1e3}


def process_cpu(pid: int) -> float:
    """CPU time (user + system) one process has used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks
    except (OSError, IndexError, ValueError):
        return float("nan")


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU time each service process has used so far."""
    return {name: process_cpu(run.process.pid) for name, run in stack.running.items()}


def start_profiles(stack: Stack, out: Path, seconds: float) -> list[Any]:
    """py-spy (sampling, from outside the process) on every service while the throughput run goes."""
    import shutil
    import subprocess
    import sys

    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([spy, "record", "--pid", str(run.process.pid), "--duration", str(int(seconds)),
                              "--rate", "200", "--format", "raw", "--nonblocking", "--output", str(out / f"{name}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, run in stack.running.items()]


def summarise_profile(path: Path, top: int = 12) -> str:
    """Inclusive share of samples per function (a frame counted once per stack), event-loop plumbing
    left out, so the biggest costs of handling a ticket stand first."""
    inclusive: dict[str, int] = {}
    self_time: dict[str, int] = {}
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].rsplit("/", 2)[-1] + ")" if " (" in f else f
                  for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
        self_time[frames[-1]] = self_time.get(frames[-1], 0) + n
    plumbing = ("_run_once", "run_forever", "run_until_complete", "<module>", "run (", "_run (", "serve (", "main (",
                "run_module", "_run_code", "_run_module_as_main", "select (", "wrapper (", "runner.py")
    rows = sorted(((v, k) for k, v in inclusive.items() if not any(p in k for p in plumbing)), reverse=True)[:top]
    selfs = sorted(((v, k) for k, v in self_time.items()), reverse=True)[:top]
    lines = [f"  {path.stem}: {total} samples", "    inclusive:"]
    lines += [f"      {100 * v / max(total, 1):5.1f}%  {k}" for v, k in rows]
    lines += ["    self:"] + [f"      {100 * v / max(total, 1):5.1f}%  {k}" for v, k in selfs]
    return "\n".join(lines)


def big_roster(path: Path, tickets: int) -> None:
    """A roster with room for every benchmark ticket (they are never resolved), so capacity never makes
    a ticket wait: the benchmark's tickets are after-sales questions, routed to the specialist team."""
    teams = {"frontline": 2, "specialist": tickets // 200 + 2, "tech": 2, "product": 2, "complaints": 2}
    staff = []
    for t_index, (team, size) in enumerate(teams.items()):
        supervisor = f"SUP{t_index}"
        staff.append({"staff_id": supervisor, "name": f"主管{t_index}", "role": "supervisor", "team": team,
                      "capacity": 0, "on_duty": True})
        for i in range(size):
            staff.append({"staff_id": f"B{t_index}-{i:04d}", "name": f"坐席{t_index}-{i}",
                          "role": "senior_agent" if i % 4 == 0 else "agent", "team": team,
                          "capacity": 200, "on_duty": True, "supervisor_id": supervisor})
    path.write_text(json.dumps({"staff": staff}, ensure_ascii=False), encoding="utf-8")


def db_commands(stack: Stack) -> dict[str, dict[tuple[str, str], float]]:
    """Each service's database round trips so far (helpdesk_db_commands_total): (command, collection) → count."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, dict[tuple[str, str], float]] = {}
    for name in stack.running:
        counts: dict[tuple[str, str], float] = {}
        try:
            text = httpx.get(stack.url(name) + "/metrics", timeout=5).text
        except httpx.HTTPError:
            out[name] = counts
            continue
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "helpdesk_db_commands_total":
                    counts[(sample.labels["command"], sample.labels["collection"])] = sample.value
        out[name] = counts
    return out


def db_delta(before: dict[str, dict[tuple[str, str], float]], after: dict[str, dict[tuple[str, str], float]]
             ) -> dict[str, dict[tuple[str, str], float]]:
    return {n: {k: v - before.get(n, {}).get(k, 0.0) for k, v in c.items() if v - before.get(n, {}).get(k, 0.0) > 0}
            for n, c in after.items()}


async def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    """One full measurement (raw baseline, throughput, latency, database round trips) with the services
    on ``backend``: "mock" (in-memory mongomock) or "real" (SecantusDB wire server(s), or MONGODB_URL)."""
    from servicekit.localdb import LocalMongo

    url = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@localhost:5672/")
    run_id = f"bench{uuid.uuid4().hex[:6]}"
    ns = Namespace(run_id)
    servers: list[LocalMongo] = []
    print(f"\n== backend: {backend} ==", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        roster = Path(tmp) / "roster.json"
        big_roster(roster, 200 + args.runs * (args.tickets + int(args.rate * args.seconds)))
        env = {**os.environ, "RABBITMQ_URL": url, "HELPDESK_NAMESPACE": run_id, "JWT_SECRET": "b" * 40,
               "CHANNEL_API_KEYS": "", "CUSTOMER_LOOKUP_KEY": "bench", "LOG_LEVEL": "WARNING",
               "DISPATCHER_SEED_FILE": str(roster), "MONGODB_DATABASE_PREFIX": run_id}
        if backend == "mock":
            env.pop("MONGODB_URL", None)
        per_service_env: dict[str, dict[str, str]] = {}
        if backend == "real" and not os.environ.get("MONGODB_URL"):
            count = len(SERVICES) if args.db_per_service else 1
            for i in range(count):
                servers.append(LocalMongo(storage=str(Path(tmp) / f"db{i}"),
                                          log_path=ROOT / "artifacts" / "bench-logs" / f"{run_id}-secantusd{i}.log").start())
            if args.db_per_service:
                per_service_env = {spec.name: {"MONGODB_URL": servers[i].url} for i, spec in enumerate(SERVICES)}
            else:
                env["MONGODB_URL"] = servers[0].url
            print(f"  database: {count} SecantusDB server(s) ({'one per service' if args.db_per_service else 'shared'})",
                  flush=True)
        elif backend == "real":
            print(f"  database: MONGODB_URL", flush=True)
        stack = Stack(env=env, log_dir=ROOT / "artifacts" / "bench-logs" / run_id, echo=False,
                      ports={s.name: 18000 + i for i, s in enumerate(SERVICES)}, per_service_env=per_service_env)
        stack.start()
        queues: set[str] = set()
        rows = []
        result: dict[str, Any] = {"backend": backend}
        try:
            stack.wait_ready(timeout=120)
            queues = stack.declared_queues()
            observer = assigned_tap(url, ns)
            await observer.start()
            await e2e_throughput(url, ns, observer, 200, f"{run_id}-warm")  # warm-up
            for r in range(args.runs):
                raw = await raw_baseline(url, f"{run_id}{r}", args.tickets)
                cpu_before = cpu_seconds(stack)
                db_cpu_before = sum(process_cpu(s.process.pid) for s in servers if s.process)
                db_before = db_commands(stack)
                profile_dir = ROOT / "artifacts" / "bench-profiles" / run_id
                spies = start_profiles(stack, profile_dir, args.profile) if args.profile and r == 0 else []
                thr = await e2e_throughput(url, ns, observer, args.tickets, f"{run_id}-t{r}")
                cpu_after = cpu_seconds(stack)
                db_cpu = (sum(process_cpu(s.process.pid) for s in servers if s.process) - db_cpu_before) / args.tickets * 1e3
                trips = db_delta(db_before, db_commands(stack))
                for spy in spies:
                    spy.wait(timeout=args.profile + 30)
                if spies:
                    print(f"  profiles (py-spy, {args.profile:.0f} s of the first throughput run) in {profile_dir}:")
                    for name in stack.running:
                        if (profile_dir / f"{name}.txt").exists():
                            print(summarise_profile(profile_dir / f"{name}.txt"), flush=True)
                per_ticket = {n: (cpu_after[n] - cpu_before[n]) / args.tickets * 1e3 for n in cpu_after}
                print("  CPU ms per ticket: " + ", ".join(f"{n} {v:.1f}" for n, v in per_ticket.items())
                      + (f", database server(s) {db_cpu:.1f}" if servers else ""), flush=True)
                trips_per_ticket = {n: sum(c.values()) / args.tickets for n, c in trips.items()}
                if backend == "real":
                    print("  database round trips per ticket: " + ", ".join(
                        f"{n} {v:.1f}" for n, v in trips_per_ticket.items()) + f" (total {sum(trips_per_ticket.values()):.1f})",
                        flush=True)
                    if r == 0:
                        for n, c in trips.items():
                            top = sorted(c.items(), key=lambda kv: -kv[1])[:6]
                            print(f"    {n}: " + ", ".join(f"{cmd} {coll} {v / args.tickets:.1f}" for (cmd, coll), v in top))
                lat = await e2e_latency(url, ns, observer, args.rate, args.seconds, f"{run_id}-l{r}")
                rows.append((raw, thr, lat, sum(trips_per_ticket.values())))
                print(f"run {r + 1}: raw {raw['msgs_per_s']:.0f} msg/s (p50 {raw['p50_ms']:.1f} ms, p99 "
                      f"{raw['p99_ms']:.1f} ms) | e2e {thr['tickets_per_s']:.0f} tickets/s | at {args.rate:.0f}/s "
                      f"submit→assigned p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms", flush=True)
            await observer.close()
            if backend == "real" and args.idle:
                # idle: nothing submitted; what do the services still ask the database, with the data of the runs in it?
                await asyncio.sleep(2)
                idle_before = db_commands(stack)
                await asyncio.sleep(args.idle)
                idle = db_delta(idle_before, db_commands(stack))
                result["idle_per_s"] = {n: sum(c.values()) / args.idle for n, c in idle.items()}
                print(f"  idle ({args.idle:.0f} s, {args.runs * (args.tickets + int(args.rate * args.seconds)) + 200} tickets "
                      "stored): database round trips per second: " + ", ".join(
                          f"{n} {v:.1f}" for n, v in result["idle_per_s"].items()), flush=True)
                for n, c in idle.items():
                    if c:
                        print(f"    {n}: " + ", ".join(f"{cmd} {coll} {v / args.idle:.2f}/s"
                                                       for (cmd, coll), v in sorted(c.items(), key=lambda kv: -kv[1])[:6]))
        finally:
            stack.stop()
            for server in servers:
                server.stop()
            await delete_topology(url, queues, [ns.events_exchange, ns.dead_letter_exchange])
    med = statistics.median
    result.update(raw=med(r[0]["msgs_per_s"] for r in rows), raw_p50=med(r[0]["p50_ms"] for r in rows),
                  raw_p99=med(r[0]["p99_ms"] for r in rows), e2e=med(r[1]["tickets_per_s"] for r in rows),
                  p50=med(r[2]["p50_ms"] for r in rows), p99=med(r[2]["p99_ms"] for r in rows),
                  trips=med(r[3] for r in rows) if backend == "real" else None)
    result["ratio"] = result["e2e"] / result["raw"]
    return result


async def main_async(args: argparse.Namespace) -> None:
    backends = ["mock", "real"] if args.backend == "both" else [args.backend]
    results = [await run_backend(args, b) for b in backends]
    print(f"\nmedian of {args.runs} runs ({args.tickets} messages/tickets per throughput run):")
    print(f"  {'':32}" + "".join(f"{r['backend']:>16}" for r in results))
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("raw RabbitMQ one hop (msg/s)", lambda r: f"{r['raw']:.0f}"),
        ("raw one hop p50 / p99 (ms)", lambda r: f"{r['raw_p50']:.1f} / {r['raw_p99']:.1f}"),
        ("end to end (tickets/s)", lambda r: f"{r['e2e']:.1f}"),
        (f"at {args.rate:.0f}/s offered p50 (ms)", lambda r: f"{r['p50']:.1f}"),
        (f"at {args.rate:.0f}/s offered p99 (ms)", lambda r: f"{r['p99']:.1f}"),
        ("ratio end-to-end / raw", lambda r: f"{r['ratio']:.3f}"),
        ("database round trips / ticket", lambda r: "-" if r["trips"] is None else f"{r['trips']:.1f}"),
    ]
    for label, cell in rows:
        print(f"  {label:32}" + "".join(f"{cell(r):>16}" for r in results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", type=float, default=0.0, metavar="SECONDS",
                        help="sample every service with py-spy for this long during the first throughput run")
    parser.add_argument("--backend", choices=["mock", "real", "both"], default="both",
                        help="services on the in-memory mock, on the real wire server (SecantusDB unless "
                             "MONGODB_URL is set), or both one after the other (default), printed side by side")
    parser.add_argument("--db-per-service", action="store_true",
                        help="real backend: one SecantusDB server per service instead of one shared")
    parser.add_argument("--idle", type=float, default=10.0, metavar="SECONDS",
                        help="real backend: count database round trips while idle for this long after the runs")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
