"""Survey under FastStream's TestRabbitBroker with an in-memory Mongo."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import Channel, StaffRole, SurveyCompleted, TicketResolved, TicketResolvedPayload
from servicekit.metrics import DEAD_LETTERS
from servicekit.testing import auth_header, published
from survey import domain

QUEUE = "survey.ticket.resolved"


def resolved(
    ticket_id: str = "t1",
    *,
    at: datetime | None = None,
    display: str = "客户A-0001",
    ticket_no: str = "GD20261125001",
) -> TicketResolved:
    at = at or datetime.now(UTC).replace(microsecond=0)
    return TicketResolved.new(
        TicketResolvedPayload(
            ticket_id=ticket_id, ticket_no=ticket_no, agent_id="A1", channel=Channel.ONLINE_CHAT,
            customer_id="c1", customer_display=display, resolution_summary="refund sent", resolved_at=at,
        ),
        correlation_id=ticket_id or "corr-x", producer="intake", occurred_at=at,
    )


async def deliver(running: dict[str, Any], event: TicketResolved | dict[str, Any]) -> None:
    kit, broker = running["kit"], running["broker"]
    await broker.publish(event, exchange=kit.bus.events_exchange, routing_key="ticket.resolved")


async def docs(running: dict[str, Any], **query: Any) -> list[dict[str, Any]]:
    return [d async for d in running["service"].store.surveys.find(query).sort("created_at", 1)]


async def test_a_resolution_opens_one_pending_survey(running: dict[str, Any]) -> None:
    event = resolved()
    await deliver(running, event)
    [doc] = await docs(running)
    assert doc["source_event_id"] == str(event.event_id)
    assert doc["ticket_id"] == "t1" and doc["ticket_no"] == "GD20261125001" and doc["agent_id"] == "A1"
    assert doc["channel"] == "online_chat" and doc["customer_display"] == "客户A-0001"
    assert doc["status"] == "pending"
    assert len(doc["survey_id"]) == 32 and doc["_id"] == doc["survey_id"]
    assert len(doc["token_hash"]) == 64 and "token" not in doc
    assert doc["expires_at"] - doc["created_at"] == timedelta(hours=168)
    assert doc["created_at"].tzinfo is not None
    assert doc["_id"] == domain.survey_id_for(str(event.event_id))  # natural key = _id
    assert doc["invitations_sent"] == 1 and doc["reminded_at"] is None
    assert not doc.get("outbox")  # nothing is published before the customer answers
    assert published(running["kit"], SurveyCompleted) == []


async def test_duplicate_delivery_creates_nothing(running: dict[str, Any]) -> None:
    event = resolved()
    await deliver(running, event)
    [before] = await docs(running)
    await deliver(running, event)
    await deliver(running, event.model_dump(mode="json"))
    [after] = await docs(running)
    assert after == before
    assert running["broker"].dead_letters == []


async def test_only_the_token_hash_is_kept_and_the_token_is_never_logged(
    running: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = await running["service"].on_resolved(resolved("t9"))
    assert not result.duplicate and result.token is not None
    [doc] = await docs(running, ticket_id="t9")
    assert doc["token_hash"] == domain.hash_token(result.token)
    assert result.token not in repr(doc)
    assert "opened for ticket GD20261125001" in caplog.text
    assert result.token not in caplog.text
    redelivered = resolved("t9").model_copy(update={"event_id": result.survey.source_event_id})
    again = await running["service"].on_resolved(redelivered)
    assert again.duplicate and again.token is None and again.survey.survey_id == result.survey.survey_id


async def test_a_resolution_after_a_reopen_gets_its_own_survey(running: dict[str, Any]) -> None:
    first_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    await deliver(running, resolved(at=first_at))
    await deliver(running, resolved(at=first_at + timedelta(hours=2)))
    old, new = await docs(running, ticket_id="t1")
    assert old["source_occurred_at"] < new["source_occurred_at"]
    assert old["status"] == "superseded" and old["superseded_at"] is not None
    assert new["status"] == "pending"
    assert old["token_hash"] != new["token_hash"]


async def test_resolutions_arriving_out_of_order_keep_the_newest_pending(running: dict[str, Any]) -> None:
    first_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    newer, older = resolved(at=first_at + timedelta(hours=1)), resolved(at=first_at)
    await deliver(running, newer)
    await deliver(running, older)  # late delivery of the earlier resolution
    by_event = {d["source_event_id"]: d for d in await docs(running, ticket_id="t1")}
    assert by_event[str(newer.event_id)]["status"] == "pending"
    assert by_event[str(older.event_id)]["status"] == "superseded"
    await deliver(running, resolved("t2"))  # other tickets are not touched
    assert [d["status"] for d in await docs(running, ticket_id="t2")] == ["pending"]


async def test_malformed_resolution_is_dead_lettered_at_once(running: dict[str, Any]) -> None:
    kit, broker = running["kit"], running["broker"]
    bad = resolved().model_dump(mode="json")
    del bad["payload"]["ticket_id"]
    await deliver(running, bad)
    assert await docs(running) == []
    [dead] = broker.dead_letters
    assert dead["queue"] == QUEUE == kit.bus.ns.subscription_queue("survey", "ticket.resolved")
    assert "payload.ticket_id" in dead["headers"]["x-dead-letter-reason"]
    assert DEAD_LETTERS.labels("survey", QUEUE, "ValidationError")._value.get() >= 1


async def test_resolution_without_a_ticket_is_dead_lettered_with_the_reason(running: dict[str, Any]) -> None:
    await deliver(running, resolved(ticket_id=" ", ticket_no=" "))
    body = resolved().model_dump(mode="json")
    body["payload"].update(ticket_id="", ticket_no="")
    await deliver(running, body)
    assert await docs(running) == []
    blank, empty = running["broker"].dead_letters
    assert blank["headers"]["x-error-type"] == "PermanentError"
    assert "missing_ticket" in blank["headers"]["x-dead-letter-reason"]
    assert empty["headers"]["x-error-type"] == "ValidationError"
    assert "payload.ticket_id" in empty["headers"]["x-dead-letter-reason"]


async def test_staff_read_a_tickets_surveys_without_tokens(running: dict[str, Any]) -> None:
    client = running["client"]
    first_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    await deliver(running, resolved(at=first_at))
    await deliver(running, resolved(at=first_at + timedelta(hours=1)))
    agent = auth_header(StaffRole.AGENT, staff_id="A1")
    r = await client.get("/api/v1/surveys/by-ticket/t1", headers=agent)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["status"] for s in body] == ["superseded", "pending"]
    assert all(s["ticket_no"] == "GD20261125001" and s["customer_display"] == "客户A-0001" for s in body)
    stored = await docs(running)
    for s in body:
        assert "token_hash" not in s and "token" not in s
    assert not any(d["token_hash"] in r.text for d in stored)

    supervisor = auth_header(StaffRole.SUPERVISOR)
    one = await client.get(f"/api/v1/surveys/{body[1]['survey_id']}", headers=supervisor)
    assert one.status_code == 200 and one.json() == body[1]
    assert (await client.get("/api/v1/surveys/by-ticket/unknown", headers=agent)).json() == []
    limited = await client.get("/api/v1/surveys/by-ticket/t1?limit=1", headers=agent)
    assert len(limited.json()) == 1


async def test_an_unanswered_survey_past_its_expiry_reads_as_expired(running: dict[str, Any]) -> None:
    service, client = running["service"], running["client"]
    long_ago = datetime.now(UTC) - timedelta(hours=169)
    result = await service.on_resolved(resolved("t5", at=long_ago), now=long_ago)
    r = await client.get(f"/api/v1/surveys/{result.survey.survey_id}", headers=auth_header(StaffRole.ADMIN))
    assert r.status_code == 200 and r.json()["status"] == "expired"
    [doc] = await docs(running, ticket_id="t5")
    assert doc["status"] == "pending"  # stored status untouched; reads are computed


async def test_routes_check_tokens_roles_and_input(running: dict[str, Any]) -> None:
    client = running["client"]
    sid = (await running["service"].on_resolved(resolved())).survey.survey_id
    for path in (f"/api/v1/surveys/{sid}", "/api/v1/surveys/by-ticket/t1"):
        r = await client.get(path)
        assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
        r = await client.get(path, headers=auth_header(StaffRole.AGENT, expired=True))
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
        r = await client.get(path, headers=auth_header([]))  # a token without any staff role
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = await client.get(path, headers=auth_header(StaffRole.AGENT, must_change_password=True))
        assert r.status_code == 403 and r.json()["error"]["code"] == "password_change_required"

    agent = auth_header(StaffRole.AGENT)
    r = await client.get("/api/v1/surveys/not-a-survey-id", headers=agent)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = await client.get("/api/v1/surveys/by-ticket/" + "x" * 129, headers=agent)
    assert r.status_code == 422
    r = await client.get("/api/v1/surveys/by-ticket/t1?limit=0", headers=agent)
    assert r.status_code == 422 and any("limit" in d["loc"] for d in r.json()["error"]["details"])
    r = await client.get(f"/api/v1/surveys/{'0' * 32}", headers=agent)
    assert r.status_code == 404 and r.json()["error"]["code"] == "survey_not_found"


async def test_health_and_asyncapi(running: dict[str, Any]) -> None:
    client = running["client"]
    assert (await client.get("/health/live")).json() == {"status": "ok", "service": "survey"}
    spec = (await client.get("/asyncapi.json")).json()
    assert any(QUEUE in name for name in spec["channels"])
    assert (await client.get("/openapi.json")).status_code == 200
