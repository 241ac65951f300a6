"""EventBus against the real RabbitMQ: retries with a delivery limit, dead letters with reasons,
publisher confirms and the outbox relay."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import pytest

import contracts as c
from servicekit import PermanentError, ServiceKit, ServiceSettings
from servicekit.outbox import outbox_entries


def created(ticket_no: str) -> c.TicketCreated:
    payload = c.TicketCreatedPayload(
        ticket_id=ticket_no, ticket_no=ticket_no, channel=c.Channel.EMAIL, channel_message_id=ticket_no,
        customer_id="c1", customer_display="客户A-0001", description="x", created_at=datetime.now(UTC),
    )
    return c.TicketCreated.new(payload, correlation_id=ticket_no, producer="test")


@pytest.fixture
async def kit(rabbitmq: str, namespace: str) -> AsyncIterator[tuple[ServiceKit, dict[str, Any]]]:
    settings = ServiceSettings(
        service_name="demo", rabbitmq_url=rabbitmq, helpdesk_namespace=namespace, delivery_limit=2,
        retry_backoff_seconds=0.01, log_format="text", outbox_grace_seconds=0.0, outbox_relay_interval_seconds=0.1,
        queue_depth_interval_seconds=0.2,
    )
    kit = ServiceKit(settings, title="demo", description="bus test")
    state: dict[str, Any] = {"seen": [], "attempts": {}}

    @kit.bus.subscribe_events(c.TicketCreated)
    async def on_created(event: c.TicketCreated) -> None:
        no = event.payload.ticket_no
        state["seen"].append(no)
        state["attempts"][no] = state["attempts"].get(no, 0) + 1
        if no.startswith("transient"):
            raise RuntimeError("database unavailable")
        if no.startswith("flaky") and state["attempts"][no] < 2:
            raise RuntimeError("first attempt fails")
        if no.startswith("permanent") and not state.get("fixed"):
            raise PermanentError("ticket refers to nothing")

    kit.bus.publisher(c.TicketCreated)
    state["docs"] = kit.db["docs"]
    kit.use_outbox(state["docs"])
    async with kit._lifespan(kit.app):
        yield kit, state
    connection = await aio_pika.connect(rabbitmq)
    async with connection:
        channel = await connection.channel()
        for name in list(kit.bus.queues):
            await channel.queue_delete(name)
            await channel.queue_delete(c.Namespace.dead_letter_queue(name))
        await channel.exchange_delete(kit.bus.ns.events_exchange)
        await channel.exchange_delete(kit.bus.ns.dead_letter_exchange)


async def drain(url: str, queue: str, expect: int, timeout: float = 15.0) -> list[aio_pika.IncomingMessage]:
    connection = await aio_pika.connect(url)
    got: list[aio_pika.IncomingMessage] = []
    async with connection:
        channel = await connection.channel()
        q = await channel.get_queue(queue)
        deadline = asyncio.get_running_loop().time() + timeout
        while len(got) < expect and asyncio.get_running_loop().time() < deadline:
            message = await q.get(fail=False)
            if message is None:
                await asyncio.sleep(0.1)
                continue
            await message.ack()
            got.append(message)
    return got


async def wait_until(predicate: Any, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_retry_then_success_then_dead_letter(kit: tuple[ServiceKit, dict[str, Any]], rabbitmq: str) -> None:
    service, state = kit
    for no in ("ok-1", "flaky-1", "transient-1", "permanent-1"):
        await service.bus.publish(created(no))
    queue = service.bus.ns.subscription_queue("demo", "ticket.created")
    dead = await drain(rabbitmq, c.Namespace.dead_letter_queue(queue), expect=2)
    reasons = {json.loads(m.body)["payload"]["ticket_no"]: m.headers for m in dead}
    assert set(reasons) == {"transient-1", "permanent-1"}
    assert "PermanentError: ticket refers to nothing" in reasons["permanent-1"]["x-dead-letter-reason"]
    death = reasons["transient-1"]["x-death"][0]
    assert death["reason"] == "delivery_limit" and death["queue"] == queue
    assert state["attempts"] == {"ok-1": 1, "flaky-1": 2, "transient-1": 3, "permanent-1": 1}


async def test_queue_lag_and_depths_are_in_the_metrics(kit: tuple[ServiceKit, dict[str, Any]]) -> None:
    from prometheus_client import REGISTRY

    service, state = kit
    queue = service.bus.ns.subscription_queue("demo", "ticket.created")
    dlq = c.Namespace.dead_letter_queue(queue)

    def sample(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"service": "demo", **labels})

    lag_before = sample("helpdesk_message_lag_seconds_count", queue=queue) or 0
    lag_sum_before = sample("helpdesk_message_lag_seconds_sum", queue=queue) or 0
    await service.bus.publish(created("ok-lag"))
    await service.bus.publish(created("permanent-depth"))
    await wait_until(lambda: "ok-lag" in state["seen"] and "permanent-depth" in state["seen"])
    assert (sample("helpdesk_message_lag_seconds_count", queue=queue) or 0) >= lag_before + 2
    added = (sample("helpdesk_message_lag_seconds_sum", queue=queue) or 0) - lag_sum_before
    assert 0 <= added < 10  # seconds for these two deliveries (a float header lost ~100 s of precision)
    await wait_until(lambda: sample("helpdesk_queue_depth", queue=dlq) == 1)  # the dead letter waits there
    assert sample("helpdesk_queue_depth", queue=queue) == 0
    body = (await __import__("httpx").AsyncClient(transport=__import__("httpx").ASGITransport(app=service.app),
                                                  base_url="http://demo").get("/metrics")).text
    assert f'helpdesk_queue_depth{{queue="{dlq}",service="demo"}} 1.0' in body


async def test_malformed_messages_are_dead_lettered_with_reason(
    kit: tuple[ServiceKit, dict[str, Any]], rabbitmq: str
) -> None:
    service, state = kit
    connection = await aio_pika.connect(rabbitmq)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(service.bus.ns.events_exchange)
        for body in (b"{not json", b'{"event_type": "ticket.created", "schema_version": 1}', b"\xff\xfe"):
            await exchange.publish(aio_pika.Message(body, content_type="application/json"), "ticket.created")
    queue = service.bus.ns.subscription_queue("demo", "ticket.created")
    dead = await drain(rabbitmq, c.Namespace.dead_letter_queue(queue), expect=3)
    assert len(dead) == 3 and all(m.headers.get("x-dead-letter-reason") for m in dead)
    await service.bus.publish(created("ok-after-poison"))
    await wait_until(lambda: "ok-after-poison" in state["seen"])


async def test_outbox_relay_publishes_what_a_crash_left_behind(kit: tuple[ServiceKit, dict[str, Any]]) -> None:
    service, state = kit
    stale = outbox_entries(created("from-outbox"))
    stale[0]["created_at"] = datetime.now(UTC) - timedelta(minutes=1)
    await state["docs"].insert_one({"_id": "doc-1", "outbox": stale})
    await wait_until(lambda: "from-outbox" in state["seen"])
    for _ in range(100):
        doc = await state["docs"].find_one({"_id": "doc-1"})
        if doc["outbox"] == []:
            break
        await asyncio.sleep(0.05)
    assert doc["outbox"] == []
    assert state["seen"].count("from-outbox") == 1


async def test_dead_letters_can_be_listed_and_replayed_once_fixed(
    kit: tuple[ServiceKit, dict[str, Any]], rabbitmq: str
) -> None:
    from servicekit.dlq import list_dead_letters, replay

    service, state = kit
    queue = service.bus.ns.subscription_queue("demo", "ticket.created")
    await service.bus.publish(created("permanent-replay"))
    listed: list[dict[str, Any]] = []
    for _ in range(100):
        listed = await list_dead_letters(rabbitmq, queue, 10)
        if listed:
            break
        await asyncio.sleep(0.1)
    assert [item["reason"] for item in listed] == ["PermanentError: ticket refers to nothing"]
    state["fixed"] = True  # the consumer is repaired
    assert await replay(rabbitmq, queue) == 1
    await wait_until(lambda: state["attempts"].get("permanent-replay") == 2)
    assert await list_dead_letters(rabbitmq, queue, 10) == []
