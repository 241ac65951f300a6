"""Inspect and replay dead letters: ``python -m servicekit.dlq``.

    python -m servicekit.dlq list   --queue classifier.ticket.created       # what is there, and why
    python -m servicekit.dlq replay --queue classifier.ticket.created [--limit N]

``replay`` moves messages from ``<queue>.dlq`` back into ``<queue>`` (through the default exchange,
persistent, publisher-confirmed), removing the dead-letter headers, and acks each one only after the
broker confirmed its republication — nothing is lost if the command is interrupted. Fix the cause first
(deploy the corrected consumer, or repair the producer); a message that still fails returns to the DLQ.
``RABBITMQ_URL`` and ``HELPDESK_NAMESPACE`` are read from the environment like the services do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

import aio_pika

from contracts import Namespace

DEAD_LETTER_HEADERS = (
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
    "x-delivery-count",
    "x-dead-letter-reason",
    "x-error-type",
    "x-original-queue",
    "x-original-exchange",
    "x-original-routing-key",
    "x-dead-lettered-by",
    "x-dead-lettered-at",
)


def _queue_name(queue: str) -> str:
    prefix = os.environ.get("HELPDESK_NAMESPACE", "")
    return f"{prefix}.{queue}" if prefix and not queue.startswith(f"{prefix}.") else queue


def reason_of(headers: dict[str, Any]) -> str:
    if headers.get("x-dead-letter-reason"):
        return str(headers["x-dead-letter-reason"])
    deaths = headers.get("x-death") or []
    if deaths:
        first = deaths[0]
        return f"{first.get('reason')} (queue {first.get('queue')}, {first.get('count')} time(s))"
    return "unknown"


async def list_dead_letters(url: str, queue: str, limit: int) -> list[dict[str, Any]]:
    """Peek at up to ``limit`` dead letters (they are requeued, not removed)."""
    connection = await aio_pika.connect(url)
    out: list[dict[str, Any]] = []
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=limit)
        dlq = await channel.get_queue(Namespace.dead_letter_queue(queue))
        held = []
        for _ in range(limit):
            message = await dlq.get(fail=False, no_ack=False)
            if message is None:
                break
            held.append(message)
            out.append(
                {
                    "message_id": message.message_id,
                    "correlation_id": message.correlation_id,
                    "reason": reason_of(dict(message.headers)),
                    "size": len(message.body),
                    "body": message.body[:300].decode("utf-8", "replace"),
                }
            )
        for message in held:
            await message.nack(requeue=True)
    return out


async def replay(url: str, queue: str, limit: int | None = None) -> int:
    """Move dead letters back to their queue; returns how many were replayed."""
    connection = await aio_pika.connect(url)
    moved = 0
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        dlq = await channel.get_queue(Namespace.dead_letter_queue(queue))
        while limit is None or moved < limit:
            message = await dlq.get(fail=False, no_ack=False)
            if message is None:
                break
            headers = {k: v for k, v in dict(message.headers).items() if k not in DEAD_LETTER_HEADERS}
            headers["x-replayed-from-dlq"] = True
            await channel.default_exchange.publish(
                aio_pika.Message(
                    message.body,
                    headers=headers,
                    content_type=message.content_type,
                    message_id=message.message_id,
                    correlation_id=message.correlation_id,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=queue,
            )
            await message.ack()
            moved += 1
    return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicekit.dlq", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("--queue", required=True, help="the service queue, e.g. intake.submissions")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    url = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@localhost:5672/")
    queue = _queue_name(args.queue)
    if args.command == "list":
        for item in asyncio.run(list_dead_letters(url, queue, args.limit or 50)):
            print(json.dumps(item, ensure_ascii=False))
        return 0
    moved = asyncio.run(replay(url, queue, args.limit))
    print(f"replayed {moved} message(s) from {Namespace.dead_letter_queue(queue)} to {queue}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
