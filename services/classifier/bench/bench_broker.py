"""Classifier through the real RabbitMQ: classifications per second, beside the raw one-hop baseline.

    uv run python services/classifier/bench/bench_broker.py [--tickets 2000] [--runs 3]

Measured in one run, on the same machine and broker:
  (a) raw RabbitMQ one hop (``bench/bench_pipeline.py``'s baseline): aio-pika publishes 1 KB persistent
      messages with publisher confirms to a quorum queue and a consumer acks them: messages/s;
  (b) the classifier service started as a process (``python -m classifier``, in-memory store, fresh
      namespace; it trains its model at start-up): N ``ticket.created`` events (texts of the held-out
      split, so the model and the rules do real work) are published persistent with publisher confirms to
      the namespace's event exchange, which routes them to ``classifier.ticket.created``; a tap queue bound
      to ``ticket.classified`` counts the results. classifications/s = N / (last result − first publish).
Prints each run and the medians, and the ratio classifier / raw. Nothing here is a timed test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aio_pika

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench"))

from bench_pipeline import EventTap, raw_baseline  # noqa: E402

from classifier import model  # noqa: E402
from contracts import Namespace, TicketCreated, TicketCreatedPayload  # noqa: E402
from servicekit.launcher import SERVICES, Stack  # noqa: E402
from servicekit.testing import delete_topology  # noqa: E402

WINDOW = 64
CHANNELS = ("phone", "online_chat", "email", "social", "web_form")


def events(texts: list[str], tag: str, count: int) -> list[tuple[str, bytes]]:
    """(ticket id, JSON body) of ``count`` ticket.created events as intake publishes them."""
    now = datetime.now(UTC)
    out = []
    for i in range(count):
        ticket_id = f"{tag}-{i:06d}"
        subject, _, description = texts[i % len(texts)].rpartition("\n")
        payload = TicketCreatedPayload.model_validate({
            "ticket_id": ticket_id, "ticket_no": f"GD20261125{i:06d}", "channel": CHANNELS[i % len(CHANNELS)],
            "channel_message_id": ticket_id, "customer_id": f"c-{i % 500}", "customer_display": "客户A-2026",
            "customer_tier": "normal", "subject": subject, "description": description, "created_at": now,
        })
        event = TicketCreated.new(payload, correlation_id=ticket_id, producer="intake")
        out.append((ticket_id, event.model_dump_json().encode()))
    return out


async def classify_through_broker(url: str, ns: Namespace, tap: EventTap, texts: list[str], count: int,
                                  tag: str) -> dict[str, float]:
    batch = events(texts, tag, count)  # built before the clock starts
    conn = await aio_pika.connect_robust(url)
    try:
        channel = await conn.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(ns.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        sem = asyncio.Semaphore(WINDOW)

        async def one(body: bytes) -> None:
            async with sem:
                await exchange.publish(aio_pika.Message(body, content_type="application/json",
                                                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                                       routing_key="ticket.created")

        start = time.perf_counter()
        await asyncio.gather(*(one(body) for _, body in batch))
        published = time.perf_counter() - start
        deadline = time.perf_counter() + 600
        ids = [ticket_id for ticket_id, _ in batch]
        while not all(i in tap.seen for i in ids):
            if time.perf_counter() > deadline:
                missing = sum(1 for i in ids if i not in tap.seen)
                raise TimeoutError(f"{missing} of {count} tickets not classified within 600 s")
            await asyncio.sleep(0.02)
        elapsed = max(tap.seen[i] for i in ids) - start
    finally:
        await conn.close()
    return {"per_s": count / elapsed, "publish_per_s": count / published}


async def main_async(args: argparse.Namespace) -> None:
    url = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@localhost:5672/")
    run_id = f"bcls{uuid.uuid4().hex[:6]}"
    ns = Namespace(run_id)
    texts = [e.text for e in model.load_examples() if e.split == "test"]
    env = {**os.environ, "RABBITMQ_URL": url, "HELPDESK_NAMESPACE": run_id, "JWT_SECRET": "b" * 40,
           "LOG_LEVEL": "WARNING", "MONGODB_DATABASE_PREFIX": run_id}
    env.pop("MONGODB_URL", None)  # in-memory store: the broker path is measured, not a database
    stack = Stack(env=env, log_dir=ROOT / "artifacts" / "bench-logs" / run_id, echo=False,
                  ports={s.name: 18100 + i for i, s in enumerate(SERVICES)})
    started = time.perf_counter()
    stack.start(["classifier"])
    queues: set[str] = set()
    rows = []
    try:
        stack.wait_ready(timeout=300)
        print(f"classifier ready in {time.perf_counter() - started:.1f} s (model trained at start-up)", flush=True)
        queues = stack.declared_queues()
        # ticket.classified by ticket id
        tap = EventTap(url, ns, "ticket.classified", lambda body: body["payload"]["ticket_id"], prefetch=512)
        await tap.start()
        await classify_through_broker(url, ns, tap, texts, 200, f"{run_id}-warm")
        for r in range(args.runs):
            raw = await raw_baseline(url, f"{run_id}{r}", args.tickets)
            got = await classify_through_broker(url, ns, tap, texts, args.tickets, f"{run_id}-r{r}")
            rows.append((raw, got))
            print(f"run {r + 1}: raw one hop {raw['msgs_per_s']:.0f} msg/s (p50 {raw['p50_ms']:.1f} ms) | classifier "
                  f"{got['per_s']:.0f} classifications/s (published at {got['publish_per_s']:.0f}/s)", flush=True)
        await tap.close()
    finally:
        stack.stop()
        await delete_topology(url, queues, [ns.events_exchange, ns.dead_letter_exchange])
    med = statistics.median
    raw_rate = med(r[0]["msgs_per_s"] for r in rows)
    rate = med(r[1]["per_s"] for r in rows)
    print(f"\nmedian of {args.runs} runs ({args.tickets} messages per run):")
    print(f"  raw RabbitMQ one hop          : {raw_rate:8.0f} msg/s")
    print(f"  classifier through the broker : {rate:8.0f} classifications/s (ticket.created → ticket.classified)")
    print(f"  ratio classifier / raw        : {rate / raw_rate:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
