"""Classifier under FastStream's TestRabbitBroker with an in-memory Mongo."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from classifier import domain
from classifier.app import ClassifierSettings, create_app
from contracts import (
    Channel,
    CustomerTier,
    KnowledgeSuggested,
    StaffRole,
    TicketClassified,
    TicketCreated,
    TicketCreatedPayload,
)
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
    assert p.classifier_version == "rules-v1+model-v1"
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
    assert p.category == "other" and p.needs_review is True  # nothing to go on: the model is unsure
    assert p.explanation.method == "model" and p.confidence < 0.55


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
        assert result.classifier_version == "rules-v2+model-v1" and result.priority == "P2"
        assert service.classify(domain.ClassificationInput(description="无法开机")).explanation.method == "model"


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
    assert result["classifier_version"] == "rules-v1+model-v1" and result["confidence"] == 0.9
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


# ----------------------------------------------------------------------------- override, reopen, rules, models
from contracts import TicketReopened, TicketReopenedPayload  # noqa: E402
from contracts.events_classifier import ClassifierConfigActivated  # noqa: E402


async def test_supervisor_override(running: dict[str, Any]) -> None:
    client, kit = running["client"], running["kit"]
    await deliver(running, created("t-7"))
    url, body = "/api/v1/classifications/t-7/override", {"priority": "P1", "reason": "停产线, 回电 13800138000"}
    assert (await client.post(url, json=body)).status_code == 401
    expired = auth_header(StaffRole.SUPERVISOR, expired=True)
    assert (await client.post(url, json=body, headers=expired)).json()["error"]["code"] == "token_expired"
    assert (await client.post(url, json=body, headers=auth_header(StaffRole.AGENT))).status_code == 403
    sup = auth_header(StaffRole.SUPERVISOR, staff_id="S9")
    for bad in ({"reason": "x"}, {"priority": "P9", "reason": "x"}, {"priority": "P1"}, {**body, "expected_revision": 0}):
        assert (await client.post(url, json=bad, headers=sup)).status_code == 422, bad
    assert (await client.post("/api/v1/classifications/nope/override", json=body, headers=sup)).status_code == 404
    assert (await client.post(url, json={**body, "expected_revision": 5}, headers=sup)).status_code == 409
    r = await client.post(url, json={**body, "expected_revision": 1}, headers=sup)
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == 2 and r.json()["corrected"] is True
    first, second = published(kit, TicketClassified)
    assert second.payload.priority == "P1" and second.payload.explanation.method == "manual"
    assert "S9" in second.payload.explanation.detail and "13800138000" not in second.model_dump_json()
    corrections = await running["service"].store.corrections()
    assert [c.ticket_id for c in corrections] == ["t-7"]  # a labelled example for the next training run


def reopened(ticket_id: str, reason: str, source: str = "customer", minute: int = 5) -> TicketReopened:
    payload = TicketReopenedPayload(ticket_id=ticket_id, ticket_no="GD20261125001", reason=reason, source=source,
                                    reopen_count=1, reopened_at=NOW.replace(minute=minute))
    return TicketReopened.new(payload, correlation_id=f"corr-{ticket_id}", producer="intake")


async def test_reopen_reclassifies_only_on_new_information(running: dict[str, Any]) -> None:
    kit, broker = running["kit"], running["broker"]
    await deliver(running, created("t-8"))
    event = reopened("t-8", "修好后充电时冒烟了")
    for _ in range(2):  # idempotent on the event id
        await broker.publish(event, exchange=kit.bus.events_exchange, routing_key="ticket.reopened")
    await broker.publish(reopened("t-8", "还是不行", minute=9), exchange=kit.bus.events_exchange,
                         routing_key="ticket.reopened")
    out = published(kit, TicketClassified)
    assert len(out) == 2 and out[1].payload.priority == "P1" and "safety_risk" in out[1].payload.tags
    record = await running["service"].store.get_classification("t-8")
    assert len(record.history) == 1 and len(record.reopen_notes) == 2  # one change of the result
    again = [e for e in published(kit, KnowledgeSuggested) if e.payload.trigger == "reopened"]
    assert len(again) == 2 and record.revision == 3  # a reason that changes only the knowledge suggestions (the
    # second one) is a change too, written and published like one


async def test_rule_crud_history_and_hot_reload(running: dict[str, Any]) -> None:
    client, kit, service = running["client"], running["kit"], running["service"]
    rule = {"id": "vip-gold", "any_terms": ["黄金会员"], "category": "pre_sales", "module": "product",
            "priority": "P2", "tags": ["gold"]}
    body = {"rule": rule, "position": 0, "base_version": 1, "note": "Q4 revision"}
    assert (await client.post("/api/v1/rules", json=body)).status_code == 401
    assert (await client.post("/api/v1/rules", json=body, headers=auth_header(StaffRole.SUPERVISOR))).status_code == 403
    admin = auth_header(StaffRole.ADMIN, staff_id="A1")
    bad = {**body, "rule": {**rule, "patterns": ["(x"]}}
    assert (await client.post("/api/v1/rules", json=bad, headers=admin)).status_code == 422
    r = await client.post("/api/v1/rules", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2 and r.json()["rules"][0]["id"] == "vip-gold"
    assert (await client.post("/api/v1/rules", json=body, headers=admin)).status_code == 409  # stale base / exists
    [activated] = published(kit, ClassifierConfigActivated)
    assert activated.payload.version == 2 and activated.payload.activated_by == "A1"
    assert service.classify(domain.ClassificationInput(description="黄金会员续费")).explanation.rule_id == "vip-gold"
    # another replica activates v1 again (rollback) behind this one's back; the event reloads it
    await service.store.activate_ruleset(1, datetime.now(UTC))
    await running["broker"].publish(activated, exchange=kit.bus.events_exchange,
                                    routing_key="classifier.config_activated")
    assert service.ruleset.version == 1
    r = await client.delete("/api/v1/rules/nope", headers=admin)
    assert r.status_code == 404
    hist = (await client.get("/api/v1/revisions?kind=ruleset", headers=auth_header(StaffRole.SUPERVISOR))).json()
    assert hist["items"][0]["changed_by"] == "A1" and "added rule vip-gold" in hist["items"][-1]["change"]
    listed = (await client.get("/api/v1/rulesets", headers=auth_header(StaffRole.SUPERVISOR))).json()
    assert listed["total"] == 2 and "rules" not in listed["items"][0]


async def test_models_are_listed_with_held_out_figures(running: dict[str, Any]) -> None:
    client = running["client"]
    assert (await client.get("/api/v1/models", headers=auth_header(StaffRole.AGENT))).status_code == 403
    r = await client.get("/api/v1/models", headers=auth_header(StaffRole.SUPERVISOR))
    [m] = r.json()["items"]
    assert m["version"] == 1 and m["active"] is True and "blob" not in m
    assert 0 < m["metrics"]["combined"]["category"]["accuracy"] <= 1
    # and on the independent test set (real wording, never trained on): funds safety found
    independent = m["metrics"]["independent"]
    assert independent["set"] == "test" and independent["examples"] >= 400
    assert independent["p1_recall"] >= 0.9 and independent["p1_precision"] >= 0.75
    assert m["current_training_file"] is True  # trained from the file this build ships
    assert (await client.post("/api/v1/models/train", json={}, headers=auth_header(StaffRole.SUPERVISOR))).status_code == 403
    assert (await client.post("/api/v1/models/9/activate", json={}, headers=auth_header(StaffRole.ADMIN))).status_code == 404


async def test_a_model_from_an_older_training_file_is_flagged(running: dict[str, Any],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """After an upgrade ships a new training file, the stored model is marked so the console suggests a
    retrain (the model itself keeps classifying until an admin retrains)."""
    from classifier.service import ClassifierService

    monkeypatch.setattr(ClassifierService, "shipped_training_digest", staticmethod(lambda: "a-newer-file"))
    r = await running["client"].get("/api/v1/models", headers=auth_header(StaffRole.SUPERVISOR))
    assert [m["current_training_file"] for m in r.json()["items"]] == [False]
