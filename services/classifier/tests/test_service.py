"""Classifier under FastStream's TestRabbitBroker with an in-memory Mongo."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from classifier import domain
from classifier.app import ClassifierSettings, create_app
from contracts import Channel, CustomerTier, StaffRole, TicketClassified, TicketCreated, TicketCreatedPayload
from servicekit.documents import to_doc
from servicekit.testing import TEST_JWT_SECRET, auth_header, in_memory, published

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def created(ticket_id: str = "t-1", **over: Any) -> TicketCreated:
    payload = {
        "ticket_id": ticket_id, "ticket_no": "GD20261125001", "channel": Channel.PHONE, "channel_message_id": "call-1",
        "customer_id": "c-1", "customer_display": "客户A-0001", "customer_tier": CustomerTier.VIP,
        "subject": "无法开机", "description": "手机无法开机, 一直黑屏, 回电 [phone]", "created_at": NOW, **over,
    }
    return TicketCreated.new(TicketCreatedPayload.model_validate(payload), correlation_id=f"corr-{ticket_id}",
                             producer="intake")


async def deliver(running: dict[str, Any], event: TicketCreated | dict[str, Any]) -> None:
    kit = running["kit"]
    await running["broker"].publish(event, exchange=kit.bus.events_exchange, routing_key="ticket.created")


# ----------------------------------------------------------------------------- consuming ticket.created
async def test_created_ticket_is_classified_once(running: dict[str, Any]) -> None:
    kit, store = running["kit"], running["service"].store
    event = created()
    await deliver(running, event)
    await deliver(running, event)  # a duplicate delivery
    [out] = published(kit, TicketClassified)
    assert out.correlation_id == "corr-t-1" and out.producer == "classifier"
    p = out.payload
    assert (p.ticket_id, p.ticket_no, p.channel, p.customer_tier) == ("t-1", "GD20261125001", Channel.PHONE,
                                                                        CustomerTier.VIP)
    assert (p.category, p.module, p.priority) == ("after_sales", "after_sales", "P2")
    assert p.confidence == 0.9 and p.needs_review is False and "hardware_fault" in p.tags
    assert p.classifier_version == "rules-v1"
    assert p.explanation.method == "rule" and p.explanation.rule_id == "hardware-fault"
    assert "手机" not in out.model_dump_json()  # no customer text travels on
    doc = await store.classifications.find_one({"_id": "t-1"})
    assert doc["outbox"] == []  # published and cleared
    assert doc["source_event_id"] == str(event.event_id) and doc["result"]["category"] == "after_sales"
    assert await store.classifications.count_documents({}) == 1


async def test_another_created_event_for_a_classified_ticket_changes_nothing(running: dict[str, Any]) -> None:
    await deliver(running, created())
    await deliver(running, created(description="我要投诉", subject=""))  # new event_id, same ticket
    [out] = published(running["kit"], TicketClassified)
    assert out.payload.category == "after_sales"
    record = await running["service"].store.get_classification("t-1")
    assert record is not None and record.result.category == "after_sales"


async def test_incomplete_ticket_is_still_classified_for_review(running: dict[str, Any]) -> None:
    await deliver(running, created("t-2", subject="", description="", status="needs_info",
                                   missing_fields=["description"]))
    [out] = published(running["kit"], TicketClassified)
    p = out.payload
    assert (p.category, p.module, p.priority) == ("other", "product", "P3")
    assert p.needs_review is True and p.confidence == 0.3 and p.explanation.method == "default"


async def test_redelivery_flushes_a_pending_outbox_only(running: dict[str, Any]) -> None:
    service = running["service"]
    event = created("t-3")
    result = service.classify(domain.input_from_created(event.payload))
    record = domain.record_for(event, result, NOW)
    pending = domain.classified_event(record)
    assert await service.store.insert_classification(record, [pending]) is not None  # crashed before the flush
    await deliver(running, event)
    [out] = published(running["kit"], TicketClassified)
    assert out.event_id == pending.event_id  # the stored event, not a new decision
    doc = await service.store.classifications.find_one({"_id": "t-3"})
    assert doc["outbox"] == []


async def test_poison_messages_are_dead_lettered_with_a_reason(running: dict[str, Any]) -> None:
    kit, broker = running["kit"], running["broker"]
    queue = kit.bus.ns.subscription_queue("classifier", "ticket.created")
    await deliver(running, {"event_type": "ticket.created", "schema_version": 1, "correlation_id": "x",
                            "producer": "intake", "payload": {"ticket_id": "t-9"}})
    await deliver(running, created("   "))
    assert published(kit, TicketClassified) == []
    assert [d["queue"] for d in broker.dead_letters] == [queue, queue]
    schema, blank = (d["headers"]["x-dead-letter-reason"] for d in broker.dead_letters)
    assert "payload.ticket_no" in schema and "validation error" in schema
    assert "blank ticket_id" in blank and broker.dead_letters[1]["headers"]["x-error-type"] == "PermanentError"
    assert await running["service"].store.classifications.count_documents({}) == 0


# ----------------------------------------------------------------------------- rule sets
async def test_v1_is_seeded_and_shown_to_supervisors(running: dict[str, Any]) -> None:
    client, store = running["client"], running["service"].store
    assert await store.rulesets.count_documents({"active": True}) == 1
    assert (await client.get("/api/v1/rulesets/active")).status_code == 401
    r = await client.get("/api/v1/rulesets/active", headers=auth_header(StaffRole.AGENT))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    for role in (StaffRole.SUPERVISOR, StaffRole.ADMIN):
        r = await client.get("/api/v1/rulesets/active", headers=auth_header(role))
        assert r.status_code == 200
        body = r.json()
        assert body["version"] == 1 and body["classifier_version"] == "rules-v1"
        assert body["rules"][0]["id"] == domain.RULES_V1[0].id and len(body["rules"]) == len(domain.RULES_V1)


async def test_a_stored_active_ruleset_is_loaded_instead_of_seeding() -> None:
    app = create_app(ClassifierSettings(jwt_secret=TEST_JWT_SECRET, log_format="text"))
    kit, service = app.state.kit, app.state.service
    custom = domain.RuleSet(
        version=2, created_at=NOW,
        rules=[domain.Rule(id="vip-gold", any_terms=["黄金会员"], category="pre_sales", module="product",
                           priority="P2", tags=["gold"])],
    )
    await service.store.rulesets.insert_one(to_doc(custom, id_field="version"))
    async with in_memory(kit):
        assert service.ruleset.version == 2
        assert await service.store.rulesets.count_documents({}) == 1  # v1 was not seeded
        result = service.classify(domain.ClassificationInput(description="黄金会员续费"))
        assert result.classifier_version == "rules-v2" and result.priority == "P2"
        assert service.classify(domain.ClassificationInput(description="无法开机")).explanation.method == "default"


# ----------------------------------------------------------------------------- HTTP
async def test_dry_run_classification(running: dict[str, Any]) -> None:
    client = running["client"]
    body = {"subject": "退款", "description": "扣款失败了, 钱没退回", "channel": "online_chat", "customer_tier": "vip"}
    assert (await client.post("/api/v1/classify", json=body)).status_code == 401
    first_login = auth_header(StaffRole.AGENT, must_change_password=True)
    assert (await client.post("/api/v1/classify", json=body, headers=first_login)).status_code == 403
    r = await client.post("/api/v1/classify", json=body, headers=auth_header(StaffRole.AGENT))
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["category"], result["priority"]) == ("after_sales", "P1")
    assert result["explanation"]["method"] == "rule" and result["explanation"]["rule_id"] == "funds-safety"
    assert {"扣款失败", "退款"} <= set(result["explanation"]["matched_terms"])
    assert result["classifier_version"] == "rules-v1" and result["confidence"] == 0.9
    assert await running["service"].store.classifications.count_documents({}) == 0  # nothing stored
    assert published(running["kit"], TicketClassified) == []  # nothing published


async def test_dry_run_rejects_bad_input(running: dict[str, Any]) -> None:
    client, staff = running["client"], auth_header(StaffRole.AGENT)
    for bad in (
        {"subject": "", "description": "   "},
        {"subject": "x" * 201},
        {"description": "x" * 20_001},
        {"description": "退款", "channel": "pigeon"},
        {"description": "退款", "customer_tier": "platinum"},
    ):
        r = await client.post("/api/v1/classify", json=bad, headers=staff)
        assert r.status_code == 422, bad
        assert r.json()["error"]["code"] == "validation_error"


async def test_classification_of_a_ticket(running: dict[str, Any]) -> None:
    client, staff = running["client"], auth_header(StaffRole.AGENT)
    await deliver(running, created("t-5"))
    assert (await client.get("/api/v1/classifications/t-5")).status_code == 401
    r = await client.get("/api/v1/classifications/t-5", headers=staff)
    assert r.status_code == 200
    body = r.json()
    assert body["ticket_no"] == "GD20261125001" and body["result"]["priority"] == "P2"
    assert body["result"]["explanation"]["rule_id"] == "hardware-fault" and "outbox" not in body
    r = await client.get("/api/v1/classifications/unknown", headers=staff)
    assert r.status_code == 404 and r.json()["error"]["code"] == "classification_not_found"
    assert (await client.get("/api/v1/classifications/" + "x" * 65, headers=staff)).status_code == 422


async def test_health_and_asyncapi(running: dict[str, Any]) -> None:
    client = running["client"]
    assert (await client.get("/health/live")).json()["status"] == "ok"
    spec = (await client.get("/asyncapi.json")).json()
    assert any("classifier.ticket.created" in name for name in spec["channels"])
    assert any("ticket.classified" in name for name in spec["channels"])
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/api/v1/classify", "/api/v1/classifications/{ticket_id}", "/api/v1/rulesets/active"} <= set(paths)
