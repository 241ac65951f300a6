"""The knowledge base in reporting (issue 17, item 4): folding knowledge.suggested / knowledge.feedback into the
ticket facts (replaced suggestions, each agent's last verdict, duplicates and any order), the counters, the
item catalog, the per-item report and the "write an article" list — pure rules first, then the service
over the broker with the in-memory store."""

from __future__ import annotations

import csv
import io
import random
from datetime import date
from functools import reduce
from itertools import permutations
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import Event, StaffRole
from reporting import domain, knowledge, kpi
from reporting import testing as f
from reporting.domain import KnowledgeItemInfo, TicketFact
from reporting.testing import TZ, cells_from_facts, local, stored_cells
from servicekit.testing import auth_header

D1, D2 = "2026-11-25", "2026-11-26"
SUPERVISOR = auth_header(StaffRole.SUPERVISOR, staff_id="S1")
ADMIN = auth_header(StaffRole.ADMIN)


def fold(events: list[Event], tid: str = "k001") -> TicketFact:
    return reduce(lambda fact, e: domain.apply(fact, e, TZ), events, TicketFact(ticket_id=tid))


# ----------------------------------------------------------------------------- the story
def story() -> dict[str, list[Event]]:
    """Five tickets and the knowledge base's own events.

    * k001 (after_sales × product, D1): KB-1 and TPL-2 suggested; A1 uses TPL-2, says KB-1 is not helpful, then
      helpful; reopened, the new matching suggests KB-1 only; survey 5, satisfied.
    * k002 (after_sales × product, D1): KB-1 suggested; A2 says it is not helpful; survey 2, not satisfied.
    * k003 (after_sales × product, D1): the matching found nothing (empty suggestions).
    * k004 (complaint × logistics, D1): TPL-2 suggested and used; survey 4, satisfied.
    * k005 (after_sales × product, D2): no suggestion; A1 found KB-9 by a search and used it.
    * KB-1 published, then renamed; KB-3 published (never suggested); KB-4 archived.
    """
    return {
        "k001": [
            f.created("k001", local(D1, 9)),
            f.classified("k001", local(D1, 9, 1), terms=("开机", "黑屏")),
            f.suggested("k001", local(D1, 9, 2), ["KB-1", "TPL-2"]),
            f.feedback("k001", local(D1, 10), "TPL-2", "used"),
            f.feedback("k001", local(D1, 10, 5), "KB-1", "not_helpful"),
            f.feedback("k001", local(D1, 11), "KB-1", "helpful"),
            f.survey("k001", local(D1, 14), csat=5.0),
            f.suggested("k001", local(D1, 16), ["KB-1"], trigger="reopened"),
        ],
        "k002": [
            f.created("k002", local(D1, 10)),
            f.classified("k002", local(D1, 10, 1), terms=("开机",)),
            f.suggested("k002", local(D1, 10, 2), ["KB-1"]),
            f.feedback("k002", local(D1, 12), "KB-1", "not_helpful", staff="A2"),
            f.survey("k002", local(D1, 18), csat=2.0, satisfied=False),
        ],
        "k003": [
            f.created("k003", local(D1, 11)),
            f.classified("k003", local(D1, 11, 1), terms=("黑屏",)),
            f.suggested("k003", local(D1, 11, 2), []),
        ],
        "k004": [
            f.created("k004", local(D1, 12)),
            f.classified("k004", local(D1, 12, 1), category="complaint", module="logistics"),
            f.suggested("k004", local(D1, 12, 2), ["TPL-2"], category="complaint", module="logistics"),
            f.feedback("k004", local(D1, 13), "TPL-2", "used", staff="A2"),
            f.survey("k004", local(D2, 9), csat=4.0),
        ],
        "k005": [
            f.created("k005", local(D2, 9)),
            f.classified("k005", local(D2, 9, 1), terms=("开机",)),
            f.feedback("k005", local(D2, 10), "KB-9", "used", was_suggested=False, title="=HYPERLINK(\"x\")"),
        ],
        "kb": [
            f.knowledge_changed("KB-1", local(D1, 8), title="开不了机怎么办"),
            f.knowledge_changed("KB-1", local(D1, 20), title="开机故障排查", action="edited", version=2),
            f.knowledge_changed("KB-3", local(D1, 8), title="物流查询", lang="en"),
            f.knowledge_changed("KB-4", local(D1, 8), title="旧政策", status="archived", action="archived"),
        ],
    }


def all_events() -> list[Event]:
    return [e for events in story().values() for e in events]


def shuffled_with_duplicates(seed: int = 17) -> list[Event]:
    events = all_events()
    delivered = [*events, *events[::3]]
    random.Random(seed).shuffle(delivered)
    return delivered


EXPECTED_ITEMS = [  # D1..D2, most suggested first
    {"item_id": "KB-1", "kind": "article", "title": "开机故障排查", "topic": "topic-KB-1", "lang": "zh",
     "status": "published", "suggested": 2, "used": 0, "helpful": 1, "not_helpful": 1, "helpful_rate": 0.5,
     "used_surveyed": 0, "used_csat_avg": None, "used_satisfaction_rate": None},
    {"item_id": "TPL-2", "kind": "template", "title": "TPL-2 title", "topic": "topic-TPL-2", "lang": "zh",
     "status": None, "suggested": 1, "used": 2, "helpful": 0, "not_helpful": 0, "helpful_rate": None,
     "used_surveyed": 2, "used_csat_avg": 4.5, "used_satisfaction_rate": 1.0},
    {"item_id": "KB-9", "kind": "article", "title": "=HYPERLINK(\"x\")", "topic": "topic-KB-9", "lang": None,
     "status": None, "suggested": 0, "used": 1, "helpful": 0, "not_helpful": 0, "helpful_rate": None,
     "used_surveyed": 0, "used_csat_avg": None, "used_satisfaction_rate": None},
    {"item_id": "KB-3", "kind": "article", "title": "物流查询", "topic": "topic-KB-3", "lang": "en",
     "status": "published", "suggested": 0, "used": 0, "helpful": 0, "not_helpful": 0, "helpful_rate": None,
     "used_surveyed": 0, "used_csat_avg": None, "used_satisfaction_rate": None},
]
EXPECTED_TOTALS = {"tickets_with_suggestions": 3, "tickets_suggestion_used": 2, "tickets_suggestion_helpful": 1,
                   "used_share": 0.6667, "helpful_share": 0.3333}
EXPECTED_GAP_D1 = {  # k001 helped (used and helpful), k002 and k003 not
    "category": "after_sales", "module": "product", "tickets": 3, "with_suggestion": 2, "helped": 1,
    "without_help": 2, "helped_share": 0.3333,
    "top_keywords": [{"key": "开机", "count": 2}, {"key": "黑屏", "count": 2}]}


# ----------------------------------------------------------------------------- folding
def test_a_later_matching_replaces_the_earlier_suggestions_whatever_the_order() -> None:
    first = f.suggested("k001", local(D1, 9, 2), ["KB-1", "TPL-2", "KB-1"])
    later = f.suggested("k001", local(D1, 16), ["KB-3"], trigger="reopened")
    for order in ([first, later], [later, first], [first, later, first, later]):
        fact = fold(order)
        assert [s.item_id for s in fact.knowledge_suggestions] == ["KB-3"]
        assert (fact.knowledge_trigger, fact.knowledge_suggested_at) == ("reopened", local(D1, 16))
    alone = fold([first]).knowledge_suggestions
    assert [(s.item_id, s.kind, s.score) for s in alone] == [("KB-1", "article", 10.0), ("TPL-2", "template", 9.0)]
    # an empty later matching replaces the earlier one too: nothing is suggested any more
    empty = f.suggested("k001", local(D1, 17), [], trigger="corrected")
    for order in ([first, empty], [empty, first]):
        assert fold(order).knowledge_suggestions == []


def test_the_last_verdict_of_each_agent_counts() -> None:
    no = f.feedback("k001", local(D1, 10, 5), "KB-1", "not_helpful")
    yes = f.feedback("k001", local(D1, 11), "KB-1", "helpful")
    for order in permutations([no, yes, no]):  # a duplicate of the older verdict too
        fact = fold(list(order))
        assert [(v.item_id, v.staff_id, v.verdict) for v in fact.knowledge_verdicts] == [("KB-1", "A1", "helpful")]
        assert domain.ticket_verdicts(fact) == {"KB-1": "helpful"}
    # a second agent's later not_helpful: a tie, the most recent verdict decides
    other = f.feedback("k001", local(D1, 12), "KB-1", "not_helpful", staff="A2")
    assert domain.ticket_verdicts(fold([other, yes, no])) == {"KB-1": "not_helpful"}
    # a third agent's helpful: the majority decides, whatever the times
    third = f.feedback("k001", local(D1, 9), "KB-1", "helpful", staff="A3")
    assert domain.ticket_verdicts(fold([other, third, yes, no])) == {"KB-1": "helpful"}


def test_a_use_counts_once_from_its_first_time() -> None:
    late = f.feedback("k001", local(D1, 11), "TPL-2", "used", staff="A2")
    early = f.feedback("k001", local(D1, 10), "TPL-2", "used", was_suggested=False)
    for order in ([late, early], [early, late], [early, late, early]):
        uses = fold(order).knowledge_uses
        assert [(u.item_id, u.at, u.suggested) for u in uses] == [("TPL-2", local(D1, 10), True)]


def test_knowledge_events_change_facts_and_the_catalog() -> None:
    assert domain.changes_fact(f.suggested("k001", local(D1, 9), ["KB-1"]))
    assert domain.changes_fact(f.feedback("k001", local(D1, 9), "KB-1"))
    changed = f.knowledge_changed("KB-1", local(D1, 8), title="t")
    assert not domain.changes_fact(changed)
    notes = domain.catalog_notes(changed)
    assert [(n.item_id, n.source, n.fields["status"], n.fields["title"]) for n in notes] == [
        ("KB-1", "changed", "published", "t")]
    seen = domain.catalog_notes(f.suggested("k001", local(D1, 9), ["KB-1", "TPL-2"]))
    assert [(n.item_id, n.source, n.fields["kind"]) for n in seen] == [("KB-1", "seen", "article"),
                                                                       ("TPL-2", "seen", "template")]
    assert "lang" not in domain.catalog_notes(f.feedback("k001", local(D1, 9), "KB-1"))[0].fields
    assert domain.catalog_notes(f.created("k001", local(D1, 9))) == []
    # the owner's word first, else what the events said (never a status)
    info = domain.item_info("KB-1", {"title": "owner", "status": "archived"}, {"title": "seen", "lang": "en",
                                                                              "status": "published"})
    assert (info.title, info.lang, info.status) == ("owner", "en", "archived")
    assert domain.item_info("KB-1", {}, {"title": "seen", "status": "published"}).status is None


K001 = story()["k001"]


@settings(max_examples=40, deadline=None)
@given(st.permutations(K001), st.lists(st.integers(0, len(K001) - 1), max_size=4))
def test_any_order_with_duplicates_gives_the_same_fact(order: list[Event], repeats: list[int]) -> None:
    events = [*order, *(order[i] for i in repeats)]
    fact = fold(events)
    assert fact == fold(K001)
    assert kpi.contributions(fact, TZ) == kpi.contributions(fold(K001), TZ)


def test_knowledge_counters_of_a_ticket() -> None:
    fact = fold(story()["k001"])
    assert [s.item_id for s in fact.knowledge_suggestions] == ["KB-1"]  # the reopening's matching
    assert domain.knowledge_counters(fact, TZ) == {D1: {
        "kb_sug:KB-1": 1, "kb_used:TPL-2": 1, "kb_csat_n:TPL-2": 1, "kb_csat_sum:TPL-2": 5.0, "kb_csat_sat:TPL-2": 1,
        "kb_help:KB-1": 1, "kb_tickets": 1, "kb_t_used": 1, "kb_t_helpful": 1,  # TPL-2 was a suggestion when used
        "kg_n:after_sales:product": 1, "kg_sug:after_sales:product": 1, "kg_help:after_sales:product": 1,
        "kg_kw:after_sales:product:开机": 1, "kg_kw:after_sales:product:黑屏": 1}}
    cells = kpi.contributions(fact, TZ)
    assert "kb_sug:KB-1" in cells[f"{D1}|all"]
    assert not any(k.startswith(("kb_", "kg_")) for c, x in cells.items() if not c.endswith("|all") for k in x)
    # nothing before ticket.created: the ticket's day is not known yet
    assert domain.knowledge_counters(fold(story()["k001"][1:]), TZ) == {}


def test_a_changed_verdict_moves_the_counters_by_difference() -> None:
    before = fold(story()["k002"], "k002")
    after = domain.apply(before, f.feedback("k002", local(D1, 13), "KB-1", "helpful", staff="A2"), TZ)
    inc = kpi.diff(kpi.contributions(after, TZ), kpi.contributions(before, TZ))
    assert inc == {f"{D1}|all": {"kb_unhelp:KB-1": -1, "kb_help:KB-1": 1, "kb_t_helpful": 1,
                                 "kg_help:after_sales:product": 1}}


# ----------------------------------------------------------------------------- the reports (pure)
def story_cells() -> dict[str, dict[str, float]]:
    cells: dict[str, dict[str, float]] = {}
    for tid, events in story().items():
        if tid != "kb":
            kpi.add_cells(cells, kpi.contributions(fold(events, tid), TZ))
    return cells


CATALOG = [
    KnowledgeItemInfo(item_id="KB-1", kind="article", title="开机故障排查", topic="topic-KB-1", lang="zh",
                      status="published"),
    KnowledgeItemInfo(item_id="TPL-2", kind="template", title="TPL-2 title", topic="topic-TPL-2", lang="zh"),
    KnowledgeItemInfo(item_id="KB-9", kind="article", title="=HYPERLINK(\"x\")", topic="topic-KB-9"),
    KnowledgeItemInfo(item_id="KB-3", kind="article", title="物流查询", topic="topic-KB-3", lang="en", status="published"),
    KnowledgeItemInfo(item_id="KB-4", kind="article", title="旧政策", topic="topic-KB-4", lang="zh", status="archived"),
]


def all_cells(cells: dict[str, dict[str, float]], *days: str) -> list[dict[str, float]]:
    return [cells[f"{d}|all"] for d in days if f"{d}|all" in cells]


def test_the_item_report_from_the_cells() -> None:
    cells = story_cells()
    report = knowledge.build_knowledge_report(start=date.fromisoformat(D1), end=date.fromisoformat(D2),
                                              cells=all_cells(cells, D1, D2), catalog=CATALOG)
    assert [r.model_dump() for r in report.items] == EXPECTED_ITEMS
    assert report.totals.model_dump() == EXPECTED_TOTALS and report.cells_read == 2
    # one day: k005 (D2) and its KB-9 drop out; KB-4 (archived, unused) is never listed
    d1 = knowledge.build_knowledge_report(start=date.fromisoformat(D1), end=date.fromisoformat(D1),
                                          cells=all_cells(cells, D1), catalog=CATALOG)
    assert [r.item_id for r in d1.items] == ["KB-1", "TPL-2", "KB-3"]
    # an item with figures but not in the catalog still has a row
    bare = knowledge.build_knowledge_report(start=date.fromisoformat(D1), end=date.fromisoformat(D1),
                                            cells=[{"kb_sug:KB\uff0e7": 1}], catalog=[])
    assert [(r.item_id, r.kind, r.suggested) for r in bare.items] == [("KB.7", None, 1)]


def test_the_write_an_article_list() -> None:
    cells = story_cells()
    d1 = knowledge.build_gaps(start=date.fromisoformat(D1), end=date.fromisoformat(D1), cells=all_cells(cells, D1),
                              min_tickets=3)
    assert d1.groups == 2 and [g.model_dump() for g in d1.gaps] == [EXPECTED_GAP_D1]
    # with D2, k005 was helped by KB-9: 2 of 4 tickets helped, no longer fewer than half
    both = knowledge.build_gaps(start=date.fromisoformat(D1), end=date.fromisoformat(D2),
                                cells=all_cells(cells, D1, D2), min_tickets=3)
    assert both.gaps == []
    # the default threshold (5 tickets): too few tickets to be a gap
    default = knowledge.build_gaps(start=date.fromisoformat(D1), end=date.fromisoformat(D1), cells=all_cells(cells, D1))
    assert default.gaps == [] and default.min_tickets == 5
    # one ticket is enough when asked; complaint × logistics was helped (TPL-2 used)
    one = knowledge.build_gaps(start=date.fromisoformat(D1), end=date.fromisoformat(D1), cells=all_cells(cells, D1),
                               min_tickets=1, keywords=1)
    assert [(g.category, g.module, [k.key for k in g.top_keywords]) for g in one.gaps] == [
        ("after_sales", "product", ["开机"])]


def test_gaps_sort_by_tickets_without_help() -> None:
    counts = {"kg_n:complaint:logistics": 10, "kg_help:complaint:logistics": 4,
              "kg_n:pre_sales:product": 6, "kg_n:other:technical": 20, "kg_help:other:technical": 10,
              "kg_n:after_sales:technical": 9, "kg_sug:after_sales:technical": 9, "kg_help:after_sales:technical": 1}
    gaps = knowledge.build_gaps(start=date.fromisoformat(D1), end=date.fromisoformat(D1), cells=[counts]).gaps
    # other × technical: half of its tickets helped, not a gap; a tie on tickets without help: more tickets first
    assert [(g.category, g.without_help) for g in gaps] == [("after_sales", 8), ("complaint", 6), ("pre_sales", 6)]


# ----------------------------------------------------------------------------- the service (in-memory store)
async def deliver(running: dict[str, Any], *events: Event) -> None:
    kit, broker = running["kit"], running["broker"]
    for event in events:
        await broker.publish(event, exchange=kit.bus.events_exchange, routing_key=event.event_type)


async def test_knowledge_report_over_the_broker(running: dict[str, Any]) -> None:
    await deliver(running, *shuffled_with_duplicates())
    service, client = running["service"], running["client"]
    assert running["broker"].dead_letters == []
    assert await service.store.events.count_documents({}) == len(all_events())
    assert await stored_cells(service) == await cells_from_facts(service)

    r = await client.get("/api/v1/reports/knowledge", params={"start": D1, "end": D2}, headers=SUPERVISOR)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["items"] == EXPECTED_ITEMS and body["totals"] == EXPECTED_TOTALS
    assert (body["start"], body["end"], body["cells_read"]) == (D1, D2, 2)

    fact = (await client.get("/api/v1/facts/k001", headers=SUPERVISOR)).json()
    assert [s["item_id"] for s in fact["knowledge_suggestions"]] == ["KB-1"] and fact["knowledge_trigger"] == "reopened"
    assert [(u["item_id"], u["suggested"]) for u in fact["knowledge_uses"]] == [("TPL-2", True)]
    verdicts = [(v["item_id"], v["staff_id"], v["verdict"]) for v in fact["knowledge_verdicts"]]
    assert verdicts == [("KB-1", "A1", "helpful")]
    assert fact["csat"] == 5.0

    gaps = (await client.get("/api/v1/reports/knowledge/gaps", params={"start": D1, "end": D1, "min_tickets": 3},
                             headers=SUPERVISOR)).json()
    assert gaps["gaps"] == [EXPECTED_GAP_D1] and gaps["groups"] == 2 and gaps["min_tickets"] == 3
    assert (await client.get("/api/v1/reports/knowledge/gaps", params={"start": D1, "end": D2, "min_tickets": 3},
                             headers=SUPERVISOR)).json()["gaps"] == []

    # CSV: one row per item / gap, the title that looks like a formula is neutralised
    r = await client.get("/api/v1/reports/knowledge.csv", params={"start": D1, "end": D2}, headers=SUPERVISOR)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f"knowledge-{D1}-{D2}.csv" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == list(knowledge.KnowledgeItemRow.model_fields)
    assert [row[0] for row in rows[1:]] == ["KB-1", "TPL-2", "KB-9", "KB-3"]
    assert rows[2][6:9] == ["1", "2", "0"] and rows[2][-2:] == ["4.5", "1.0"]
    assert rows[3][2] == "'=HYPERLINK(\"x\")"
    r = await client.get("/api/v1/reports/knowledge/gaps.csv", params={"start": D1, "end": D1, "min_tickets": 3},
                         headers=SUPERVISOR)
    assert list(csv.reader(io.StringIO(r.text))) == [
        knowledge.GAP_CSV_FIELDS, ["after_sales", "product", "3", "2", "1", "2", "0.3333", "开机 黑屏"]]


async def test_default_period_is_the_last_30_days(running: dict[str, Any]) -> None:
    service, client = running["service"], running["client"]
    service.clock = lambda: local("2026-12-24", 12)  # D1 is the 30th day back
    await deliver(running, *all_events())
    body = (await client.get("/api/v1/reports/knowledge", headers=SUPERVISOR)).json()
    assert (body["start"], body["end"]) == (D1, "2026-12-24") and body["totals"] == EXPECTED_TOTALS
    service.clock = lambda: local("2026-12-25", 12)
    body = (await client.get("/api/v1/reports/knowledge", headers=SUPERVISOR)).json()
    assert body["totals"]["tickets_with_suggestions"] == 0  # D1's tickets are out of the window, D2's k005 is in
    assert [(r["item_id"], r["used"]) for r in body["items"]] == [("KB-9", 1), ("KB-1", 0), ("KB-3", 0)]
    gaps = (await client.get("/api/v1/reports/knowledge/gaps", headers=SUPERVISOR)).json()
    assert gaps["start"] == "2026-11-26" and gaps["min_tickets"] == 5


async def test_rebuild_reproduces_the_knowledge_figures(running: dict[str, Any]) -> None:
    await deliver(running, *shuffled_with_duplicates(3))
    service, client = running["service"], running["client"]
    params = {"start": D1, "end": D2}
    before = (await client.get("/api/v1/reports/knowledge", params=params, headers=SUPERVISOR)).json()
    gaps_before = (await client.get("/api/v1/reports/knowledge/gaps", params={**params, "min_tickets": 1},
                                    headers=SUPERVISOR)).json()
    cells_before = await stored_cells(service)
    await service.store.cells.update_one({"_id": f"{D1}|all"}, {"$inc": {"c.kb_sug:KB-1": 7}})  # drift
    await service.store.items.delete_many({})  # a lost catalog
    r = await client.post("/api/v1/admin/rebuild", headers=ADMIN)
    assert r.status_code == 200 and r.json()["events_replayed"] == len(all_events())
    assert (await client.get("/api/v1/reports/knowledge", params=params, headers=SUPERVISOR)).json() == before
    assert (await client.get("/api/v1/reports/knowledge/gaps", params={**params, "min_tickets": 1},
                             headers=SUPERVISOR)).json() == gaps_before
    assert await stored_cells(service) == cells_before


async def test_knowledge_events_kept_before_their_contract_are_promoted_by_a_rebuild(running: dict[str, Any]) -> None:
    """Events that arrived while reporting had no contract for them were kept as unknown types: a rebuild
    projects them into the facts and the catalog."""
    service = running["service"]
    for event in story()["k004"][:2]:
        await service.record(event)
    for event in (story()["k004"][2], story()["kb"][2]):
        body = {**event.model_dump(mode="json"), "event_type": "knowledge.not_yet_known"}
        assert await service.record_raw(body) is True
        await service.store.unknown.update_one({"_id": str(event.event_id)},
                                               {"$set": {"body.event_type": event.event_type}})
    result = await service.rebuild()
    assert result["unknown_promoted"] == 2
    report = await service.knowledge_report(date.fromisoformat(D1), date.fromisoformat(D1))
    assert [(r.item_id, r.suggested, r.title) for r in report.items] == [("TPL-2", 1, "TPL-2 title"),
                                                                         ("KB-3", 0, "物流查询")]


KNOWLEDGE_ROUTES = ["/api/v1/reports/knowledge", "/api/v1/reports/knowledge.csv",
                    "/api/v1/reports/knowledge/gaps", "/api/v1/reports/knowledge/gaps.csv"]


async def test_knowledge_routes_need_a_supervisor_and_good_input(running: dict[str, Any]) -> None:
    client = running["client"]
    for path in KNOWLEDGE_ROUTES:
        assert (await client.get(path)).status_code == 401, path
        r = await client.get(path, headers=auth_header(StaffRole.AGENT))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", path
        assert (await client.get(path, headers=ADMIN)).status_code == 200, path
        for bad in ({"start": "2026-13-01"}, {"start": D2, "end": D1}, {"start": "2024-01-01", "end": D1}):
            r = await client.get(path, params=bad, headers=SUPERVISOR)
            assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", (path, bad)
    for bad in ({"min_tickets": 0}, {"min_tickets": "many"}, {"keywords": 51}):
        r = await client.get("/api/v1/reports/knowledge/gaps", params=bad, headers=SUPERVISOR)
        assert r.status_code == 422, bad


async def test_openapi_describes_the_knowledge_reports(running: dict[str, Any]) -> None:
    spec = (await running["client"].get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    ok = lambda path: spec["paths"][path]["get"]["responses"]["200"]["content"]  # noqa: E731
    assert ok("/api/v1/reports/knowledge")["application/json"]["schema"]["$ref"].endswith("/KnowledgeReport")
    assert ok("/api/v1/reports/knowledge/gaps")["application/json"]["schema"]["$ref"].endswith("/KnowledgeGaps")
    assert "text/csv" in ok("/api/v1/reports/knowledge.csv") and "text/csv" in ok("/api/v1/reports/knowledge/gaps.csv")
    row = schemas["KnowledgeItemRow"]["properties"]
    assert {"suggested", "used", "helpful", "not_helpful", "helpful_rate", "used_csat_avg"} <= set(row)
    assert "description" in row["helpful"] and {"without_help", "top_keywords"} <= set(schemas["GapRow"]["properties"])
    assert "knowledge_verdicts" in schemas["TicketFact"]["properties"]
