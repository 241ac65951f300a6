"""Crisis mode (issue 19): the pure decisions (matching, choice among incidents, team routing and its
fall-back), the HTTP use cases under TestRabbitBroker (open from a spike → a matching classified ticket
goes to the incident team with ticket.incident_linked; roles; compare-and-set; close restores normal
routing) and the concurrent routing to the incident team on the real MongoDB wire server."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts import (
    Category,
    Channel,
    IncidentClosed,
    IncidentMatch,
    IncidentOpened,
    IncidentSlaOverride,
    IncidentSpikeRef,
    IncidentUpdated,
    Module,
    Priority,
    StaffRole,
    TicketAssigned,
    TicketClassified,
    TicketClassifiedPayload,
    TicketIncidentLinked,
)
from contracts.events import ClassificationExplanation
from dispatcher import incidents as crisis
from dispatcher.app import DispatcherSettings, create_app
from dispatcher.domain import (
    Assignment,
    AssignmentStatus,
    DomainError,
    Position,
    RoutingRequest,
    StaffMember,
    Team,
    claim,
    explain_assignment,
)
from dispatcher.service import DispatcherService
from dispatcher.store import DispatcherStore
from servicekit.testing import TEST_JWT_SECRET, auth_header, published, running_app

T0 = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
SUP = auth_header(StaffRole.SUPERVISOR, staff_id="SUP")
AGENT = auth_header(StaffRole.AGENT, staff_id="S1")

ROSTER = [
    {"staff_id": "SUP", "name": "主管甲", "role": "supervisor", "team": "complaints"},
    {"staff_id": "C1", "name": "投诉乙", "role": "agent", "team": "complaints", "capacity": 5, "supervisor_id": "SUP"},
    {"staff_id": "S1", "name": "售后丙", "role": "agent", "team": "specialist", "capacity": 5},
    {"staff_id": "P1", "name": "产品丁", "role": "agent", "team": "product", "capacity": 1},
    {"staff_id": "P2", "name": "产品戊", "role": "agent", "team": "product", "capacity": 1},
    {"staff_id": "F1", "name": "一线己", "role": "agent", "team": "frontline", "capacity": 5},
]


def member(staff_id: str, team: Team, capacity: int = 2, open_count: int = 0, role: Position = Position.AGENT,
           **kw: Any) -> StaffMember:
    return StaffMember(staff_id=staff_id, name=f"客服{staff_id}", role=role, team=team, capacity=capacity,
                       open_count=open_count, **kw)


def request(category: Category = Category.COMPLAINT, module: Module = Module.LOGISTICS,
            channel: Channel = Channel.EMAIL, priority: Priority = Priority.P3) -> RoutingRequest:
    return RoutingRequest(ticket_id="t1", ticket_no="GD20261206001", correlation_id="c", category=category,
                          module=module, priority=priority, channel=channel, classified_at=T0)


def incident(iid: str, match: IncidentMatch, team: list[str] | None = None, opened: datetime = T0) -> crisis.Incident:
    inc, _ = crisis.open_incident(incident_id=iid, title=f"事件{iid}", match=match, team=team or [], reply_text="",
                                  sla=IncidentSlaOverride(), spike=None, by="SUP", now=opened)
    return inc


# ----------------------------------------------------------------------------- domain
def test_matching_needs_every_given_criterion() -> None:
    m = IncidentMatch(categories=[Category.COMPLAINT], keywords=["物流延误"])
    assert crisis.matches(m, request(), ["物流延误", "退款"])
    assert not crisis.matches(m, request(), ["退款"])  # keyword missing
    assert not crisis.matches(m, request(Category.AFTER_SALES), ["物流延误"])  # category differs
    assert crisis.matches(IncidentMatch(modules=[Module.LOGISTICS], channels=[Channel.EMAIL]), request(), [])
    assert not crisis.matches(IncidentMatch(modules=[Module.LOGISTICS], channels=[Channel.PHONE]), request(), [])
    with pytest.raises(DomainError) as err:
        crisis.clean_match(IncidentMatch(channels=[Channel.PHONE]))
    assert err.value.code == "match_too_broad"
    assert crisis.clean_match(IncidentMatch(keywords=[" Outage ", "outage", ""])).keywords == ["outage"]


def test_spike_becomes_the_match() -> None:
    ref = IncidentSpikeRef(id="2026-12-06|category|complaint", day="2026-12-06", dimension="category", value="complaint")
    assert crisis.match_from_spike(ref).categories == [Category.COMPLAINT]
    kw = ref.model_copy(update={"dimension": "keyword", "value": "发货"})
    assert crisis.match_from_spike(kw).keywords == ["发货"]
    with pytest.raises(DomainError):
        crisis.match_from_spike(ref.model_copy(update={"value": "nonsense"}))


def test_most_specific_then_newest_incident_wins() -> None:
    broad = incident("INC-A", IncidentMatch(categories=[Category.COMPLAINT]), opened=T0 + timedelta(hours=1))
    narrow = incident("INC-B", IncidentMatch(categories=[Category.COMPLAINT], modules=[Module.LOGISTICS]))
    newer_narrow = incident("INC-C", IncidentMatch(categories=[Category.COMPLAINT], modules=[Module.LOGISTICS]),
                            opened=T0 + timedelta(minutes=5))
    wide = incident("INC-D", IncidentMatch(categories=[Category.COMPLAINT, Category.AFTER_SALES],
                                           modules=[Module.LOGISTICS]), opened=T0 + timedelta(hours=2))
    assert crisis.choose_incident([broad, narrow], request(), []) is narrow
    assert crisis.choose_incident([broad, narrow, newer_narrow, wide], request(), []) is newer_narrow
    closed, _ = crisis.close_incident(newer_narrow, "SUP", "over", T0 + timedelta(hours=3))
    assert crisis.choose_incident([broad, narrow, closed], request(), []) is narrow
    assert crisis.choose_incident([broad], request(Category.PRE_SALES), []) is None


def test_incident_team_first_then_normal_routing_as_the_fall_back() -> None:
    roster = [member("C1", Team.COMPLAINTS), member("X1", Team.PRODUCT, open_count=1),
              member("X2", Team.TECH), member("X3", Team.PRODUCT, capacity=1, open_count=1),
              member("F1", Team.FRONTLINE)]
    inc = incident("INC-A", IncidentMatch(categories=[Category.COMPLAINT]), team=["X1", "X2", "X3"])
    plan = crisis.plan_incident_routing(request(), inc, roster)
    # the members with room, lowest load first (X3 is full); then the category team and frontline
    assert [(c.staff_id, c.incident) for c in plan.candidates] == [
        ("X2", True), ("X1", True), ("C1", False), ("F1", False)]
    assert plan.team == Team.COMPLAINTS and plan.rule.startswith("incident INC-A")
    reason = explain_assignment(plan, request(), plan.candidates[0], [])
    assert "incident team member with the lowest load" in reason
    full = crisis.plan_incident_routing(request(), inc, [m for m in roster if m.staff_id != "X2" and m.staff_id != "X1"])
    assert [c.staff_id for c in full.candidates] == ["C1", "F1"]
    assert "no incident team member has a free slot: normal routing" in explain_assignment(
        full, request(), full.candidates[0], [])


def test_lifecycle_versions_and_history() -> None:
    inc = incident("INC-A", IncidentMatch(categories=[Category.COMPLAINT]), team=["X1"])
    assert (inc.version, [h.action for h in inc.history]) == (1, ["opened"])
    result = crisis.update_incident(inc, {"team": ["X1", "X2"], "reply_text": " 统一口径 "}, "SUP", T0)
    assert result is not None
    updated, event = result
    assert updated.version == 2 and updated.reply_text == "统一口径" and event.payload.changed == ["team", "reply_text"]
    assert crisis.update_incident(updated, {"team": ["X1", "X2"]}, "SUP", T0) is None  # no change, no version
    closed, ev = crisis.close_incident(updated, "SUP2", "resolved upstream", T0)
    assert closed.status == crisis.IncidentStatus.CLOSED and ev.payload.version == 3
    assert [(h.action, h.by, h.version) for h in closed.history] == [
        ("opened", "SUP", 1), ("updated", "SUP", 2), ("closed", "SUP2", 3)]
    with pytest.raises(DomainError):
        crisis.update_incident(closed, {"reply_text": "x"}, "SUP", T0)
    with pytest.raises(DomainError):
        crisis.close_incident(closed, "SUP", "", T0)


def test_link_carries_the_override() -> None:
    inc = incident("INC-A", IncidentMatch(categories=[Category.COMPLAINT]))
    inc = inc.model_copy(update={"sla": IncidentSlaOverride(first_response_minutes=15, resolution_minutes=240)})
    a = claim(request(), T0)
    linked, event = crisis.link(a, inc, T0)
    assert linked.incident_id == "INC-A" and event.payload.sla.first_response_minutes == 15
    assert event.correlation_id == a.correlation_id


# ----------------------------------------------------------------------------- service (TestRabbitBroker)
def classified(n: int, category: Category = Category.COMPLAINT, tags: tuple[str, ...] = ()) -> TicketClassified:
    tid = f"t{n:04d}"
    return TicketClassified.new(
        TicketClassifiedPayload(
            ticket_id=tid, ticket_no=f"GD20261206{n:03d}", category=category, module=Module.LOGISTICS,
            priority=Priority.P3, confidence=0.9, classifier_version="rules-1", channel=Channel.EMAIL,
            tags=list(tags), explanation=ClassificationExplanation(method="rule", rule_id="r1"), classified_at=T0),
        correlation_id=f"corr-{tid}", producer="classifier", occurred_at=T0 + timedelta(seconds=n))


@pytest.fixture
async def crisis_app(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    path = tmp_path / "roster.json"
    path.write_text(json.dumps({"staff": ROSTER}, ensure_ascii=False), encoding="utf-8")
    settings = DispatcherSettings(jwt_secret=TEST_JWT_SECRET, log_format="text", seed_file=path)
    async with running_app(create_app(settings)) as running:
        yield running


async def send(running: dict[str, Any], *events: TicketClassified) -> None:
    kit, broker = running["kit"], running["broker"]
    for event in events:
        await broker.publish(event, exchange=kit.bus.events_exchange, routing_key=event.event_type)


async def test_incident_from_a_spike_routes_matching_tickets_to_its_team_until_closed(
        crisis_app: dict[str, Any]) -> None:
    kit, client = crisis_app["kit"], crisis_app["client"]
    body = {"title": "物流大面积延误", "spike": {"id": "2026-12-06|category|complaint", "day": "2026-12-06",
                                           "dimension": "category", "value": "complaint", "count": 42},
            "team": ["P1", "P2"], "reply_text": "非常抱歉，物流延误正在处理中。",
            "sla": {"first_response_minutes": 15, "resolution_minutes": 240}}
    assert (await client.post("/api/v1/incidents", json=body, headers=AGENT)).status_code == 403
    r = await client.post("/api/v1/incidents", json=body, headers=SUP)
    assert r.status_code == 201, r.text
    inc = r.json()
    iid = inc["incident_id"]
    assert inc["match"]["categories"] == ["complaint"] and inc["version"] == 1 and inc["status"] == "open"
    [opened] = published(kit, IncidentOpened)
    again = await client.post("/api/v1/incidents", json=body, headers=SUP)
    assert again.status_code == 409 and again.json()["error"]["code"] == "incident_exists"
    assert opened.payload.incident_id == iid and opened.payload.spike.id.endswith("complaint")

    # every staff member sees it (the banner)
    banner = (await client.get("/api/v1/incidents?status=open", headers=AGENT)).json()
    assert [i["incident_id"] for i in banner] == [iid] and banner[0]["reply_text"].startswith("非常抱歉")

    # three matching tickets (one redelivered): the two team members take one each (capacity 1), the third
    # falls back to the complaints team — all tagged once; a non-matching ticket is not tagged
    await send(crisis_app, classified(1), classified(1), classified(2), classified(3),
               classified(4, category=Category.AFTER_SALES))
    by_ticket = {e.payload.ticket_id: e.payload for e in published(kit, TicketAssigned)}
    assert {by_ticket["t0001"].agent_id, by_ticket["t0002"].agent_id} == {"P1", "P2"}
    assert "incident team member" in by_ticket["t0001"].reason
    assert by_ticket["t0003"].agent_id == "C1" and "normal routing" in by_ticket["t0003"].reason
    assert by_ticket["t0004"].agent_id == "S1"
    links = published(kit, TicketIncidentLinked)
    assert Counter(e.payload.ticket_id for e in links) == {"t0001": 1, "t0002": 1, "t0003": 1}
    assert all(e.payload.sla.resolution_minutes == 240 and e.payload.incident_id == iid for e in links)
    a = await crisis_app["service"].store.get("t0003")
    assert a.incident_id == iid and any(h.kind == "incident" for h in a.history)
    tickets = (await client.get(f"/api/v1/incidents/{iid}/tickets", headers=SUP)).json()
    assert [t["ticket_id"] for t in tickets] == ["t0001", "t0002", "t0003"]

    # 增加人力: add S1 (another team) with compare-and-set on the version
    r = await client.patch(f"/api/v1/incidents/{iid}", json={"version": 1, "team": ["P1", "P2", "S1"]}, headers=SUP)
    assert r.status_code == 200 and r.json()["version"] == 2
    stale = await client.patch(f"/api/v1/incidents/{iid}", json={"version": 1, "reply_text": "x"}, headers=SUP)
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "version_conflict"
    bad = await client.patch(f"/api/v1/incidents/{iid}", json={"version": 2, "team": ["NOPE"]}, headers=SUP)
    assert bad.status_code == 422
    assert [e.payload.changed for e in published(kit, IncidentUpdated)] == [["team"]]
    await send(crisis_app, classified(5))
    assert published(kit, TicketAssigned)[-1].payload.agent_id == "S1"

    # closing restores normal routing for new tickets; linked tickets keep the tag
    assert (await client.post(f"/api/v1/incidents/{iid}/close", json={"note": "x"}, headers=AGENT)).status_code == 403
    r = await client.post(f"/api/v1/incidents/{iid}/close", json={"version": 2, "note": "物流恢复"}, headers=SUP)
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert [h["action"] for h in r.json()["history"]] == ["opened", "updated", "closed"]
    assert published(kit, IncidentClosed)[0].payload.closed_by == "SUP"
    assert (await client.get("/api/v1/incidents?status=open", headers=AGENT)).json() == []
    await send(crisis_app, classified(6))
    last = published(kit, TicketAssigned)[-1].payload
    assert last.ticket_id == "t0006" and last.agent_id == "C1" and "incident" not in last.reason
    assert len(published(kit, TicketIncidentLinked)) == 4
    assert (await crisis_app["service"].store.get("t0001")).incident_id == iid


async def test_open_by_hand_validation(crisis_app: dict[str, Any]) -> None:
    client = crisis_app["client"]
    r = await client.post("/api/v1/incidents", json={"title": "x-ray"}, headers=SUP)
    assert r.status_code == 422
    r = await client.post("/api/v1/incidents", json={"title": "渠道故障", "match": {"channels": ["phone"]}}, headers=SUP)
    assert r.status_code == 422 and r.json()["error"]["code"] == "match_too_broad"
    r = await client.post("/api/v1/incidents", json={"title": "系统故障", "match": {"keywords": ["登录失败"]},
                                                     "team": ["SUP"]}, headers=SUP)
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_an_agent"
    r = await client.post("/api/v1/incidents", json={"title": "系统故障", "match": {"keywords": ["登录失败"]},
                                                     "team": ["F1"]}, headers=SUP)
    assert r.status_code == 201
    iid = r.json()["incident_id"]
    assert (await client.get(f"/api/v1/incidents/{iid}", headers=AGENT)).json()["match"]["keywords"] == ["登录失败"]
    assert (await client.get("/api/v1/incidents/INC-NOPE", headers=AGENT)).status_code == 404
    # keyword match through the classification's tags
    await send(crisis_app, classified(7, category=Category.AFTER_SALES, tags=("登录失败",)))
    [link] = published(crisis_app["kit"], TicketIncidentLinked)
    assert link.payload.incident_id == iid
    assert published(crisis_app["kit"], TicketAssigned)[-1].payload.agent_id == "F1"
    # the team member was told
    inbox = (await client.get("/api/v1/notifications/mine", headers=auth_header(StaffRole.AGENT, staff_id="F1"))).json()
    assert any(n["kind"] == "incident.team" for n in inbox["items"])


async def test_a_freed_incident_member_serves_the_incident_tickets_waiting_elsewhere(tmp_path: Path) -> None:
    """Team and normal routing full: the third incident ticket waits in the complaints queue; when the
    incident member finishes a ticket, the freed slot goes to it (not only to the member's own team queue)."""
    roster = [{"staff_id": "SUP", "name": "主管甲", "role": "supervisor", "team": "complaints"},
              {"staff_id": "C1", "name": "投诉乙", "role": "agent", "team": "complaints", "capacity": 1},
              {"staff_id": "P1", "name": "产品丁", "role": "agent", "team": "product", "capacity": 1}]
    path = tmp_path / "roster.json"
    path.write_text(json.dumps({"staff": roster}, ensure_ascii=False), encoding="utf-8")
    settings = DispatcherSettings(jwt_secret=TEST_JWT_SECRET, log_format="text", seed_file=path)
    async with running_app(create_app(settings)) as running:
        r = await running["client"].post("/api/v1/incidents", headers=SUP, json={
            "title": "投诉激增", "match": {"categories": ["complaint"]}, "team": ["P1"]})
        assert r.status_code == 201
        await send(running, classified(1), classified(2), classified(3))
        store = running["service"].store
        assert [(await store.get(t)).agent_id for t in ("t0001", "t0002")] == ["P1", "C1"]
        waiting = await store.get("t0003")
        assert waiting.status == AssignmentStatus.QUEUED and waiting.team == Team.COMPLAINTS and waiting.incident_id
        await running["service"].on_finished("t0001", "GD20261206001", "corr-t0001", "ticket.resolved")
        served = await store.get("t0003")
        assert served.status == AssignmentStatus.ASSIGNED and served.agent_id == "P1"
        assert "incident team member" in published(running["kit"], TicketAssigned)[-1].payload.reason


# ----------------------------------------------------------------------------- real wire server
async def test_concurrent_routing_to_the_incident_team_respects_capacity(real_db: Any) -> None:
    """12 matching tickets routed at once by 4 "replicas": the two team members (capacity 2 each) take
    exactly 4, the rest fall back to normal routing; then every ticket redelivered twice at once changes
    nothing (a racing duplicate may briefly hold a slot, never a second one): each is tagged exactly once."""
    store = DispatcherStore(real_db)
    await store.ensure_indexes()
    for m in (member("X1", Team.PRODUCT, capacity=2), member("X2", Team.TECH, capacity=2),
              member("C1", Team.COMPLAINTS, capacity=50)):
        await store.insert_staff(m)
    names = {i["name"] async for i in store.incidents.list_indexes()}
    assert "status_opened" in names

    class Outbox:
        async def flush(self, *_: Any, **__: Any) -> int:
            return 0

    services = [DispatcherService(DispatcherStore(real_db), Outbox()) for _ in range(4)]  # type: ignore[arg-type]
    inc = await services[0].open_incident(title="大面积投诉", match=IncidentMatch(categories=[Category.COMPLAINT]),
                                          spike=None, team=["X1", "X2"], reply_text="统一口径",
                                          sla=IncidentSlaOverride(first_response_minutes=10), by="SUP")
    events = [classified(n) for n in range(1, 13)]
    results: list[Assignment] = await asyncio.gather(*(services[n % 4].on_classified(e) for n, e in enumerate(events)))
    assert all(r.status == AssignmentStatus.ASSIGNED for r in results)
    docs = {d["_id"]: d async for d in store.staff.find({})}
    assert docs["X1"]["open_count"] == 2 and docs["X2"]["open_count"] == 2 and docs["C1"]["open_count"] == 8
    # every ticket redelivered twice at once: nothing moves, no slot is taken twice, each is tagged once
    await asyncio.gather(*(services[(n + k) % 4].on_classified(e) for n, e in enumerate(events) for k in (1, 2)))
    assert {d["_id"]: d["open_count"] async for d in store.staff.find({})} == {"X1": 2, "X2": 2, "C1": 8}
    assert await store.assignments.count_documents({"status": "assigned"}) == 12
    tagged = [d async for d in store.assignments.find({"incident_id": inc.incident_id})]
    assert len(tagged) == 12
    assert all(sum(1 for e in d["outbox"] if e["event"]["event_type"] == "ticket.incident_linked") == 1 for d in tagged)
    assert all(d["assigned_at"].tzinfo is not None for d in tagged)
    await store.assignments.insert_one({"_id": "tq", "status": "queued", "team": "complaints", "incident_id": inc.incident_id})
    assert await store.incident_waiting_teams([inc.incident_id]) == {Team.COMPLAINTS}
    assert await store.incident_waiting_teams(["INC-none"]) == set()
    stored = await store.get_incident(inc.incident_id)
    assert stored is not None and stored.opened_at.tzinfo is not None and stored.history[0].action == "opened"


async def test_one_spike_opened_by_two_supervisors_at_once_gives_one_incident(real_db: Any) -> None:
    """Four opens of the same spike at the same moment (the button clicked on four desks): exactly one
    incident, the others get incident_exists; once it is closed, the spike can be opened again (a new id)."""
    store = DispatcherStore(real_db)
    await store.ensure_indexes()
    await store.insert_staff(member("X1", Team.PRODUCT, capacity=2))

    class Outbox:
        async def flush(self, *_: Any, **__: Any) -> int:
            return 0

    services = [DispatcherService(DispatcherStore(real_db), Outbox()) for _ in range(4)]  # type: ignore[arg-type]
    spike = IncidentSpikeRef(id="2026-12-07|category|complaint", day="2026-12-07", dimension="category",
                             value="complaint", count=40)

    async def open_on(service: DispatcherService) -> Any:
        try:
            return await service.open_incident(title="投诉激增", match=None, spike=spike, team=["X1"],
                                               reply_text="统一口径", sla=IncidentSlaOverride(), by="SUP")
        except DomainError as refused:
            return refused

    results = await asyncio.gather(*(open_on(s) for s in services))
    opened = [r for r in results if not isinstance(r, DomainError)]
    assert len(opened) == 1 and all(r.code == "incident_exists" for r in results if isinstance(r, DomainError))
    assert await store.incidents.count_documents({"spike.id": spike.id}) == 1
    assert opened[0].incident_id.endswith("-1")
    await services[1].close_incident(opened[0].incident_id, opened[0].version, "处理完毕", "SUP")
    again = await services[2].open_incident(title="投诉再次激增", match=None, spike=spike, team=["X1"],
                                            reply_text="统一口径", sla=IncidentSlaOverride(), by="SUP")
    assert again.incident_id != opened[0].incident_id and again.incident_id.endswith("-2")
