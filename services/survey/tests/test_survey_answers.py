"""The customer's side under the in-memory broker: invitation → one-time link → answer → score →
survey.completed (outbox), and every way a link can be refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import Channel, SurveyCompleted, TicketResolved, TicketResolvedPayload
from servicekit.testing import published
from survey import domain

GOOD = {"speed": "very_fast", "resolution": "resolved", "attitude": "very_satisfied", "comment": "很好"}
BAD = {"speed": "slow", "resolution": "unresolved", "attitude": "average", "comment": "还是无法开机"}


def resolved(ticket_id: str = "t1", *, at: datetime | None = None, channel: Channel = Channel.PHONE,
             agent_id: str | None = "A1") -> TicketResolved:
    at = at or datetime.now(UTC).replace(microsecond=0)
    return TicketResolved.new(
        TicketResolvedPayload(
            ticket_id=ticket_id, ticket_no="GD20261125007", agent_id=agent_id, channel=channel,
            customer_id="c42", customer_display="客户A-0042", resolved_at=at,
        ),
        correlation_id=f"corr-{ticket_id}", producer="intake", occurred_at=at,
    )


async def deliver(running: dict[str, Any], event: TicketResolved) -> None:
    await running["broker"].publish(event, exchange=running["kit"].bus.events_exchange, routing_key="ticket.resolved")


async def stored(running: dict[str, Any], ticket_id: str = "t1") -> list[dict[str, Any]]:
    return [d async for d in running["service"].store.surveys.find({"ticket_id": ticket_id}).sort("created_at", 1)]


async def test_the_invitation_goes_through_the_tickets_channel_with_a_fresh_link(running: dict[str, Any]) -> None:
    notifier = running["notifier"]
    await deliver(running, resolved(channel=Channel.PHONE))
    [note] = notifier.sent
    assert note.kind == "survey.invitation" and note.channel == "sms" and note.recipient == "customer:c42"
    assert note.data["link"].startswith("https://survey.example.test/s/")
    assert note.data["link"] in note.body and "GD20261125007" in note.body
    token = notifier.token()
    [doc] = await stored(running)
    assert doc["token_hash"] == domain.hash_token(token) and token not in repr(doc)
    assert "客户A-0042" not in note.body  # the message names the ticket, not the customer
    # a redelivery of the same resolution sends nothing more
    await deliver(running, resolved().model_copy(update={"event_id": doc["source_event_id"]}))
    assert len(notifier.sent) == 1


async def test_a_satisfied_answer_is_scored_stored_and_published_once(running: dict[str, Any]) -> None:
    client, notifier, kit = running["client"], running["notifier"], running["kit"]
    await deliver(running, resolved())
    token = notifier.token()
    view = await client.get(f"/api/v1/public/surveys/{token}")
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["ticket_no"] == "GD20261125007" and body["status"] == "pending"
    assert [q["field"] for q in body["questions"]] == ["speed", "resolution", "attitude"]
    assert [o["label"] for o in body["questions"][1]["options"]] == ["完全解决", "部分解决", "未解决"]
    assert "c42" not in view.text and "客户A" not in view.text and "A1" not in view.text
    assert view.headers["referrer-policy"] == "no-referrer" and view.headers["cache-control"] == "no-store"

    r = await client.post(f"/api/v1/public/surveys/{token}/answers", json=GOOD)
    assert r.status_code == 201, r.text
    assert r.json()["satisfied"] is True and r.json()["reopened"] is False
    [event] = published(kit, SurveyCompleted)
    p = event.payload
    assert (p.ticket_id, p.ticket_no, p.agent_id) == ("t1", "GD20261125007", "A1")
    assert (p.speed.value, p.resolution.value, p.attitude.value, p.comment) == ("very_fast", "resolved", "very_satisfied", "很好")
    assert p.csat == 5.0 and p.satisfied is True and event.correlation_id == "corr-t1"
    [doc] = await stored(running)
    assert doc["status"] == "completed" and doc["csat"] == 5.0 and doc["satisfied"] is True
    assert doc["outbox"] == []  # flushed right after the write

    again = await client.post(f"/api/v1/public/surveys/{token}/answers", json=BAD)
    assert again.status_code == 409 and again.json()["error"]["code"] == "survey_already_answered"
    assert (await client.get(f"/api/v1/public/surveys/{token}")).status_code == 409
    [after] = await stored(running)
    assert after["csat"] == 5.0 and after["resolution"] == "resolved"  # the second answer stored nothing
    assert len(published(kit, SurveyCompleted)) == 1


async def test_an_unsatisfied_answer_asks_for_a_reopen(running: dict[str, Any]) -> None:
    client, notifier, kit = running["client"], running["notifier"], running["kit"]
    await deliver(running, resolved())
    r = await client.post(f"/api/v1/public/surveys/{notifier.token()}/answers",
                          json={**BAD, "comment": "请回电 13800138000 或 li.na@example.com"})
    assert r.status_code == 201 and r.json() == {**r.json(), "satisfied": False, "reopened": True}
    [event] = published(kit, SurveyCompleted)
    assert event.payload.satisfied is False and event.payload.csat == 1.6  # 0.5×1 + 0.3×3 + 0.2×1
    assert "13800138000" not in event.payload.comment and "example.com" not in event.payload.comment
    assert "[phone]" in event.payload.comment
    [doc] = await stored(running)
    assert "13800138000" not in repr(doc)


async def test_unknown_expired_and_superseded_links_are_refused_and_store_nothing(running: dict[str, Any]) -> None:
    client, notifier, service = running["client"], running["notifier"], running["service"]
    r = await client.get(f"/api/v1/public/surveys/{domain.new_token()}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "survey_not_found"
    r = await client.post(f"/api/v1/public/surveys/{domain.new_token()}/answers", json=GOOD)
    assert r.status_code == 404

    long_ago = datetime.now(UTC) - timedelta(hours=169)
    await service.on_resolved(resolved("old", at=long_ago), now=long_ago)
    expired = notifier.token()
    r = await client.post(f"/api/v1/public/surveys/{expired}/answers", json=GOOD)
    assert r.status_code == 410 and r.json()["error"]["code"] == "survey_expired"
    assert (await client.get(f"/api/v1/public/surveys/{expired}")).status_code == 410
    [doc] = await stored(running, "old")
    assert doc["status"] == "pending" and doc.get("csat") is None

    first_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    await deliver(running, resolved("t7", at=first_at))
    first = notifier.token()
    await deliver(running, resolved("t7", at=first_at + timedelta(hours=1)))  # reopened, resolved again
    r = await client.post(f"/api/v1/public/surveys/{first}/answers", json=GOOD)
    assert r.status_code == 410 and r.json()["error"]["code"] == "survey_superseded"
    r = await client.post(f"/api/v1/public/surveys/{notifier.token()}/answers", json=GOOD)
    assert r.status_code == 201
    assert published(running["kit"], SurveyCompleted)[0].payload.ticket_id == "t7"
    assert len(published(running["kit"], SurveyCompleted)) == 1


async def test_bad_answers_get_a_structured_error(running: dict[str, Any]) -> None:
    client, notifier = running["client"], running["notifier"]
    await deliver(running, resolved())
    url = f"/api/v1/public/surveys/{notifier.token()}/answers"
    for body in (
        {"speed": "fast", "resolution": "resolved"},  # a question unanswered
        {**GOOD, "speed": "lightning"},  # not an option
        {**GOOD, "comment": "x" * 2001},
        {**GOOD, "csat": 5},  # the customer does not get to set the score
    ):
        r = await client.post(url, json=body)
        assert r.status_code == 422, body
        assert r.json()["error"]["code"] == "validation_error" and r.json()["error"]["details"]
    assert (await client.post(url, content=b"not json", headers={"content-type": "application/json"})).status_code == 422
    assert (await client.get("/api/v1/public/surveys/short")).status_code == 422
    [doc] = await stored(running)
    assert doc["status"] == "pending"
    assert published(running["kit"], SurveyCompleted) == []


async def test_a_failed_invitation_is_retried_with_a_new_link(running: dict[str, Any]) -> None:
    notifier, service = running["notifier"], running["service"]
    notifier.failing = True
    event = resolved("t3")
    await deliver(running, event)
    [doc] = await stored(running, "t3")  # the survey is kept although the gateway was down
    assert doc["invitations_sent"] == 0 and notifier.sent == []
    notifier.failing = False
    later = datetime.now(UTC) + timedelta(minutes=6)
    result = await service.sweep(now=later)
    assert result.invited == 1 and result.reminded == 0
    [note] = notifier.sent
    [doc] = await stored(running, "t3")
    assert doc["invitations_sent"] == 1 and doc["token_hash"] == domain.hash_token(notifier.token())
    assert (await service.sweep(now=later)).invited == 0


async def test_one_reminder_after_the_delay_and_both_links_work(running: dict[str, Any]) -> None:
    notifier, service, client = running["notifier"], running["service"], running["client"]
    await deliver(running, resolved())
    first = notifier.token()
    now = datetime.now(UTC)
    assert (await service.sweep(now=now + timedelta(hours=47))).reminded == 0
    assert (await service.sweep(now=now + timedelta(hours=49))).reminded == 1
    assert (await service.sweep(now=now + timedelta(hours=100))).reminded == 0  # only once
    assert [n.kind for n in notifier.sent] == ["survey.invitation", "survey.reminder"]
    second = notifier.token()
    assert second != first
    assert (await client.get(f"/api/v1/public/surveys/{first}")).status_code == 200
    assert (await client.post(f"/api/v1/public/surveys/{second}/answers", json=GOOD)).status_code == 201
    assert (await client.post(f"/api/v1/public/surveys/{first}/answers", json=GOOD)).status_code == 409


async def test_expiry_is_written_down_by_the_sweep(running: dict[str, Any]) -> None:
    service, notifier = running["service"], running["notifier"]
    await deliver(running, resolved())
    result = await service.sweep(now=datetime.now(UTC) + timedelta(hours=169))
    assert result.expired == 1 and result.reminded == 0
    [doc] = await stored(running)
    assert doc["status"] == "expired"
    assert len(notifier.sent) == 1


async def test_public_endpoints_are_rate_limited(settings: Any, notifier: Any) -> None:
    from servicekit.testing import running_app
    from survey.app import create_app

    tight = settings.model_copy(update={"survey_view_rate_limit": "3/minute", "survey_answer_rate_limit": "2/minute"})
    async with running_app(create_app(tight, notifier=notifier)) as run:
        client = run["client"]
        token = domain.new_token()
        codes = [(await client.get(f"/api/v1/public/surveys/{token}")).status_code for _ in range(5)]
        assert codes == [404, 404, 404, 429, 429]
        r = await client.get(f"/s/{token}")
        assert r.status_code == 429 and "操作过于频繁" in r.text
        answers = [(await client.post(f"/api/v1/public/surveys/{token}/answers", json=GOOD)).status_code
                   for _ in range(3)]
        assert answers == [404, 404, 429]
        last = await client.post(f"/api/v1/public/surveys/{token}/answers", json=GOOD)
        assert last.json()["error"]["code"] == "rate_limited" and last.json()["error"]["details"]["retry_after"] >= 1
