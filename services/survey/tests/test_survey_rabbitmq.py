"""The reopen path over the real RabbitMQ: ticket.resolved in → invitation out through the notifier →
the customer answers "未解决" → survey.completed (satisfied=false) reaches the events exchange, routed
to whoever binds ``survey.completed`` (intake reopens, the dispatcher tells the supervisor)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import aio_pika
import httpx

from contracts import Channel, Namespace, SurveyCompleted, TicketResolved, TicketResolvedPayload, parse_event
from servicekit.testing import TEST_JWT_SECRET, delete_topology
from survey.app import SurveySettings, create_app


async def wait_for(check: Any, timeout: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if result := check():
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("not reached in time")


async def test_an_unsatisfied_answer_publishes_survey_completed_over_rabbitmq(
    rabbitmq: str, namespace: str, notifier: Any
) -> None:
    ns = Namespace(namespace)
    settings = SurveySettings(
        jwt_secret=TEST_JWT_SECRET, rabbitmq_url=rabbitmq, helpdesk_namespace=namespace, log_format="text",
        survey_public_base_url="https://survey.example.test", survey_sweep_interval_seconds=3600,
    )
    app = create_app(settings, notifier=notifier)
    kit = app.state.kit
    try:
        async with app.router.lifespan_context(app):
            connection = await aio_pika.connect(rabbitmq)
            async with connection:
                channel = await connection.channel(publisher_confirms=True)
                exchange = await channel.get_exchange(ns.events_exchange)
                probe = await channel.declare_queue(exclusive=True)
                await probe.bind(exchange, routing_key="survey.completed")

                at = datetime.now(UTC).replace(microsecond=0)
                event = TicketResolved.new(
                    TicketResolvedPayload(ticket_id="rt1", ticket_no="GD20261125901", agent_id="A7",
                                          channel=Channel.ONLINE_CHAT, customer_id="c9",
                                          customer_display="客户C-0009", resolved_at=at),
                    correlation_id="rt1-corr", producer="intake", occurred_at=at,
                )
                body = event.model_dump_json().encode()
                for _ in range(2):  # a redelivery must not send a second invitation
                    await exchange.publish(aio_pika.Message(body, content_type="application/json"),
                                           routing_key="ticket.resolved")
                await wait_for(lambda: notifier.sent)
                await asyncio.sleep(0.5)
                assert len(notifier.sent) == 1 and notifier.sent[0].channel == "im"

                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://survey") as client:
                    r = await client.post(f"/api/v1/public/surveys/{notifier.token()}/answers",
                                          json={"speed": "fast", "resolution": "unresolved",
                                                "attitude": "satisfied", "comment": "还是连不上网"})
                    assert r.status_code == 201 and r.json()["reopened"] is True

                message = await wait_for_message(probe)
                completed = parse_event(message.body)
                assert isinstance(completed, SurveyCompleted)
                assert completed.correlation_id == "rt1-corr" and message.correlation_id == "rt1-corr"
                p = completed.payload
                assert (p.ticket_id, p.agent_id, p.satisfied, p.resolution.value) == ("rt1", "A7", False, "unresolved")
                assert p.csat == 2.5 and p.comment == "还是连不上网"  # 0.2×4 + 0.5×1 + 0.3×4
                assert json.loads(message.body)["producer"] == "survey"
                await asyncio.sleep(0.3)
                assert await probe.get(fail=False) is None  # published exactly once
                doc = await kit.db["surveys"].find_one({"ticket_id": "rt1"})
                assert doc["status"] == "completed" and doc["outbox"] == []
    finally:
        queues = set(kit.bus.queues) | {ns.dead_letter_queue(q) for q in kit.bus.queues}
        await delete_topology(rabbitmq, queues, [ns.events_exchange, ns.dead_letter_exchange])


async def wait_for_message(queue: aio_pika.abc.AbstractQueue, timeout: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        message = await queue.get(fail=False)
        if message is not None:
            await message.ack()
            return message
        await asyncio.sleep(0.05)
    raise AssertionError("no survey.completed on the broker")
