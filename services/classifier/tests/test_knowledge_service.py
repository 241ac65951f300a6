"""The knowledge base through both doors (TestRabbitBroker + in-memory Mongo): authors' lifecycle and roles,
suggestions stored and published with the classification, agents' use and verdicts, replicas' reload."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from classifier.app import ClassifierSettings, create_app
from contracts import (
    Channel,
    KnowledgeChanged,
    KnowledgeFeedback,
    KnowledgeSuggested,
    StaffRole,
    TicketClassified,
    TicketCreated,
    TicketCreatedPayload,
    TicketReopened,
    TicketReopenedPayload,
)
from servicekit.testing import TEST_JWT_SECRET, auth_header, published, running_app

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
AGENT, SUPERVISOR = auth_header(StaffRole.AGENT, staff_id="A1"), auth_header(StaffRole.SUPERVISOR, staff_id="S1")
REFUND = {"kind": "article", "topic": "refund-timeline", "lang": "zh", "title": "退款多久到账",
          "body": "## 到账时间\n\n退款审核通过后原路退回：\n\n- 支付宝/微信 1-3 个工作日\n- 银行卡 3-5 个工作日\n\n<script>alert(1)</script>",
          "category": "after_sales", "modules": ["after_sales"], "keywords": ["退款", "到账", "退钱", "钱没收到"]}
PARCEL = {"kind": "article", "topic": "parcel-signed-not-received", "lang": "zh", "title": "快递显示签收但没收到",
          "body": "请先查看快递柜、驿站和门卫，仍未找到请在 48 小时内联系我们核实签收记录。", "category": "after_sales",
          "modules": ["logistics"], "keywords": ["签收", "快递", "没收到", "丢件"]}
SORRY = {"kind": "template", "topic": "refund-delay-apology", "lang": "zh", "title": "退款延迟致歉",
         "body": "{{customer_name}}{{salutation}}您好，您的退款（工单 {{ticket_no}}）已加急处理，预计 {{resolution_due}} 前到账。"
                 "—— {{agent_name}}", "category": "after_sales", "modules": ["after_sales"], "keywords": ["退款", "延迟", "到账"]}


@pytest.fixture
async def running() -> AsyncIterator[dict[str, Any]]:
    # a three-item base has small idf, hence small BM25 scores: the threshold is lowered for it
    settings = ClassifierSettings(jwt_secret=TEST_JWT_SECRET, log_format="text", classifier_seed_knowledge=False,
                                  classifier_knowledge_min_score=0.2)
    async with running_app(create_app(settings)) as running:
        yield running


async def publish(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    created = await client.post("/api/v1/knowledge", json=body, headers=AGENT)
    assert created.status_code == 201, created.text
    item = created.json()
    done = await client.post(f"/api/v1/knowledge/{item['id']}/publish", json={"base_version": item["version"]},
                             headers=SUPERVISOR)
    assert done.status_code == 200, done.text
    return done.json()


def ticket(ticket_id: str, description: str, subject: str = "") -> TicketCreated:
    return TicketCreated.new(TicketCreatedPayload.model_validate({
        "ticket_id": ticket_id, "ticket_no": f"GD20261206{ticket_id[-3:]}", "channel": Channel.ONLINE_CHAT,
        "channel_message_id": f"m-{ticket_id}", "customer_id": "c-1", "customer_display": "客户A-0001",
        "subject": subject, "description": description, "created_at": NOW}), correlation_id=ticket_id, producer="intake")


async def deliver(running: dict[str, Any], event: Any, key: str = "ticket.created") -> None:
    await running["broker"].publish(event, exchange=running["kit"].bus.events_exchange, routing_key=key)


async def test_lifecycle_roles_versions_and_audit(running: dict[str, Any]) -> None:
    client, kit = running["client"], running["kit"]
    r = await client.post("/api/v1/knowledge", json=REFUND, headers=AGENT)
    assert r.status_code == 201 and r.json()["status"] == "draft" and r.json()["id"] == "KB-refund-timeline-zh"
    assert (await client.post("/api/v1/knowledge", json=REFUND, headers=AGENT)).status_code == 409
    body_html = r.json()["current"]["body_html"]
    assert "<h2>到账时间</h2>" in body_html and "<script" not in body_html  # sanitised when rendered
    url = "/api/v1/knowledge/KB-refund-timeline-zh"
    assert (await client.post(f"{url}/publish", json={"base_version": 1}, headers=AGENT)).status_code == 403
    edit = {**{k: v for k, v in REFUND.items() if k not in ("kind", "topic", "lang")}, "title": "退款到账时间",
            "base_version": 1, "note": "clearer title"}
    assert (await client.put(url, json=edit, headers=AGENT)).json()["version"] == 2  # agents edit drafts
    assert (await client.put(url, json=edit, headers=AGENT)).status_code == 409  # base_version 1 is stale
    assert (await client.post(f"{url}/publish", json={"base_version": 1}, headers=SUPERVISOR)).status_code == 409
    live = (await client.post(f"{url}/publish", json={"base_version": 2}, headers=SUPERVISOR)).json()
    assert live["status"] == "published" and live["published_version"] == 2
    edit3 = {**edit, "title": "退款到账要多久", "base_version": 2}
    assert (await client.put(url, json=edit3, headers=AGENT)).status_code == 403  # published: supervisors edit
    after = (await client.put(url, json=edit3, headers=SUPERVISOR)).json()
    assert (after["version"], after["published_version"], after["has_unpublished_changes"]) == (3, 2, True)
    assert after["published"]["title"] == "退款到账时间"  # agents still see version 2 until it is published
    history = (await client.get(f"{url}/history", headers=SUPERVISOR)).json()
    assert [(h["version"], h["action"], h["by"]) for h in history] == [
        (3, "edited", "S1"), (2, "published", "S1"), (2, "edited", "A1"), (1, "created", "A1")]
    assert (await client.get(f"{url}/history", headers=AGENT)).status_code == 403
    assert (await client.post(f"{url}/archive", json={"base_version": 3}, headers=SUPERVISOR)).json()["status"] == \
        "archived"
    assert (await client.get(url, headers=AGENT)).status_code == 404  # archived: gone for agents
    assert (await client.get("/api/v1/knowledge?status=archived", headers=AGENT)).status_code == 403
    listed = (await client.get("/api/v1/knowledge?status=archived&q=退款", headers=SUPERVISOR)).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == "KB-refund-timeline-zh"
    changes = [(e.payload.action, e.payload.version, e.payload.status) for e in published(kit, KnowledgeChanged)]
    assert changes == [("created", 1, "draft"), ("edited", 2, "draft"), ("published", 2, "published"),
                       ("edited", 3, "published"), ("archived", 3, "archived")]
    bad = {**SORRY, "body": "您好 {{password}}"}
    r = await client.post("/api/v1/knowledge", json=bad, headers=AGENT)
    assert r.status_code == 422 and "unknown placeholders password" in r.text


async def test_a_new_ticket_gets_suggestions_with_its_classification(running: dict[str, Any]) -> None:
    client, kit, service = running["client"], running["kit"], running["service"]
    for body in (REFUND, PARCEL, SORRY):
        await publish(client, body)
    event = ticket("t-001", "我上周申请的退款到现在还没到账，钱什么时候能退回来？")
    await deliver(running, event)
    await deliver(running, event)  # a redelivery suggests nothing twice
    [classified] = published(kit, TicketClassified)
    [suggested] = published(kit, KnowledgeSuggested)
    p = suggested.payload
    assert (p.ticket_id, p.trigger, p.category) == ("t-001", "classified", classified.payload.category)
    ids = [s.item_id for s in p.suggestions]
    assert ids[0] == "KB-refund-timeline-zh" and ids[-1] == "TPL-refund-delay-apology-zh"  # articles, then templates
    assert {"退款", "到账"} <= set(p.suggestions[0].matched_terms)
    assert "上周" not in suggested.model_dump_json()  # ids, titles, scores: never the customer's words
    record = await service.store.get_classification("t-001")
    assert [s.item_id for s in record.suggestions] == [s.item_id for s in p.suggestions]

    view = (await client.get("/api/v1/tickets/t-001/suggestions", headers=AGENT)).json()
    article, template = view["suggestions"][0], view["suggestions"][-1]
    assert "<li>银行卡 3-5 个工作日</li>" in article["body_html"] and "<script" not in article["body_html"]
    assert template["placeholders"] == ["customer_name", "salutation", "ticket_no", "resolution_due", "agent_name"]
    assert (article["used"], article["verdict"]) == (False, None)
    assert (await client.get("/api/v1/tickets/t-404/suggestions", headers=AGENT)).status_code == 404

    url = "/api/v1/tickets/t-001/suggestions/feedback"
    steps = [("TPL-refund-delay-apology-zh", "used"), ("TPL-refund-delay-apology-zh", "used"),
             ("KB-refund-timeline-zh", "not_helpful"), ("KB-refund-timeline-zh", "helpful"),
             ("KB-refund-timeline-zh", "helpful")]
    recorded = [(await client.post(url, json={"item_id": i, "action": a}, headers=AGENT)).json()["recorded"]
                for i, a in steps]
    assert recorded == [True, False, True, True, False]  # repeats change nothing
    feedback = published(kit, KnowledgeFeedback)
    assert [(f.payload.item_id, f.payload.action, f.payload.suggested) for f in feedback] == [
        ("TPL-refund-delay-apology-zh", "used", True), ("KB-refund-timeline-zh", "not_helpful", True),
        ("KB-refund-timeline-zh", "helpful", True)]
    assert feedback[0].payload.title == "退款延迟致歉" and feedback[0].correlation_id == "t-001"
    view = (await client.get("/api/v1/tickets/t-001/suggestions", headers=AGENT)).json()
    mine = {s["item_id"]: (s["used"], s["verdict"]) for s in view["suggestions"]}
    assert (mine["KB-refund-timeline-zh"], mine["TPL-refund-delay-apology-zh"]) == ((False, "helpful"), (True, None))
    r = await client.post(url, json={"item_id": "KB-nope", "action": "used"}, headers=AGENT)
    assert r.status_code == 404


async def test_reopen_and_correction_suggest_again_when_the_words_change(running: dict[str, Any]) -> None:
    client, kit, service = running["client"], running["kit"], running["service"]
    for body in (REFUND, PARCEL):
        await publish(client, body)
    await deliver(running, ticket("t-002", "想问一下你们的产品"))  # nothing to suggest yet
    assert published(kit, KnowledgeSuggested) == []
    reopened = TicketReopened.new(TicketReopenedPayload.model_validate({
        "ticket_id": "t-002", "ticket_no": "GD20261206002", "source": "customer", "reason": "快递显示签收了但我没收到",
        "reopened_at": NOW, "reopen_count": 1}), correlation_id="t-002", producer="intake")
    await deliver(running, reopened, "ticket.reopened")
    [again] = published(kit, KnowledgeSuggested)
    assert again.payload.trigger == "reopened" and again.payload.suggestions[0].item_id == \
        "KB-parcel-signed-not-received-zh"
    await deliver(running, reopened, "ticket.reopened")  # the same reopen twice: applied once
    assert len(published(kit, KnowledgeSuggested)) == 1
    record = await service.store.get_classification("t-002")
    assert record.suggestions[0].item_id == "KB-parcel-signed-not-received-zh"


async def test_archiving_withdraws_an_item_from_matching_and_from_tickets(running: dict[str, Any]) -> None:
    client, kit = running["client"], running["kit"]
    item = await publish(client, REFUND)
    await deliver(running, ticket("t-003", "退款还没到账"))
    assert published(kit, KnowledgeSuggested)[0].payload.suggestions[0].item_id == item["id"]
    await client.post(f"/api/v1/knowledge/{item['id']}/archive", json={"base_version": 1}, headers=SUPERVISOR)
    assert (await client.get("/api/v1/tickets/t-003/suggestions", headers=AGENT)).json()["suggestions"] == []
    assert (await client.get("/api/v1/knowledge/search?q=退款到账", headers=AGENT)).json() == []
    await deliver(running, ticket("t-004", "退款还没到账"))
    assert len(published(kit, KnowledgeSuggested)) == 1  # nothing left to suggest for the second ticket


async def test_search_and_dry_run(running: dict[str, Any]) -> None:
    client = running["client"]
    for body in (REFUND, PARCEL, SORRY):
        await publish(client, body)
    found = (await client.get("/api/v1/knowledge/search", params={"q": "签收了没收到"}, headers=AGENT)).json()
    assert found[0]["item_id"] == "KB-parcel-signed-not-received-zh"
    templates = (await client.get("/api/v1/knowledge/search", params={"q": "退款", "kind": "template"},
                                  headers=AGENT)).json()
    assert [t["item_id"] for t in templates] == ["TPL-refund-delay-apology-zh"]
    body = {"text": "钱退了一周还没到"}
    assert (await client.post("/api/v1/knowledge/suggest", json=body, headers=AGENT)).status_code == 403
    dry = (await client.post("/api/v1/knowledge/suggest", json=body, headers=SUPERVISOR)).json()
    assert dry["category"] == "after_sales" and dry["suggestions"][0]["item_id"] == "KB-refund-timeline-zh"


async def test_another_replica_reloads_on_the_changed_event(running: dict[str, Any]) -> None:
    """A second replica's index follows a publish made through the first (the knowledge.changed event on its
    own queue; the periodic reload is the backup)."""
    client, service = running["client"], running["service"]
    assert len(service.knowledge.index) == 0
    await publish(client, REFUND)
    assert len(service.knowledge.index) == 1  # this replica rebuilt at once
    service.knowledge.index, service.knowledge._generation = type(service.knowledge.index)(), None  # as a replica
    # that missed the change
    await service.reload()
    assert [i.item_id for i in service.knowledge.index.items] == ["KB-refund-timeline-zh"]
