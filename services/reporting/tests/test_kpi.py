"""The pure KPI rules: contributions, increments, medians, histograms, reports and spikes."""

from __future__ import annotations

import statistics
from datetime import date
from functools import reduce

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import Event
from reporting import domain, kpi
from reporting import testing as f
from reporting.domain import TicketFact
from reporting.testing import TZ, local

from .test_domain import CONVERSATION, CONVERSATION_FACT, STORY

D1, D2 = "2026-11-25", "2026-11-26"


def fold(events: list[Event], tid: str = "t001") -> TicketFact:
    return reduce(lambda fact, e: domain.apply(fact, e, TZ), events, TicketFact(ticket_id=tid))


def test_story_contributions() -> None:
    fact = fold(STORY)
    per_day = kpi.ticket_counters(fact, TZ)
    d1 = per_day[D1]
    assert d1["created"] == 1 and d1["created:channel:phone"] == 1 and d1["created:priority:P2"] == 1
    assert d1["created:category:complaint"] == 1 and d1["created:status:closed"] == 1 and d1["cohort_resolved"] == 1
    assert d1["frt_n"] == 1 and d1["frt_sum"] == 1800 and d1["frt_min:P2:30"] == 1
    assert d1["breached"] == 1 and d1["breaches"] == 2 and d1["overdue:unrecorded"] == 1
    assert d1["resolved"] == 1 and d1["reopened"] == 1 and "csat_n" not in d1
    # last resolution 20 h after creation (05:00 on D2): resolution time, SLA and FCR counted there
    d2 = per_day[D2]
    assert d2["rt_n"] == 1 and d2["rt_sum"] == 20 * 3600 and d2["rt_min:P2:1200"] == 1
    assert "fcr" not in d2 and d2["sla_n:priority:P2"] == 1 and "sla_met:priority:P2" not in d2
    assert d2["closed"] == 1 and d2["csat_n"] == 1 and d2["csat_sum"] == 4.0  # the latest survey (D2 06:00)
    # open 09:00 D1 → resolved 15:00 → reopened 16:30 → resolved 05:00 D2: net 0 on D1, −… on D2
    assert d1.get("open", 0) == 1 - 1 + 1 and d2["open"] == -1
    assert set(kpi.scopes_of(fact)) == {"all", "team=vip", "agent=A2", "teamagent=vip::A2", "channel=phone"}


def test_open_changes_ignore_repeated_closing() -> None:
    fact = TicketFact(ticket_id="t", created_at=local(D1, 9), resolutions=[local(D1, 10), local(D1, 11)],
                      closes=[local(D1, 12)], reopens=[local(D2, 9)])
    assert [c for _, c in kpi.open_changes(fact)] == [1, -1, 1]
    assert kpi.open_changes(TicketFact(ticket_id="t")) == []


def test_fcr_needs_no_reopen_and_no_transfer() -> None:
    base = [f.created("t1", local(D1, 9)), f.resolved("t1", local(D1, 10))]
    assert kpi.ticket_counters(fold(base, "t1"), TZ)[D1]["fcr"] == 1
    moved = fold([*base, f.transferred("t1", local(D1, 9, 30), to_agent="A2")], "t1")
    assert "fcr" not in kpi.ticket_counters(moved, TZ)[D1]


@settings(max_examples=25, deadline=None)
@given(st.permutations(STORY))
def test_increments_telescope_to_the_final_contributions(order: list[Event]) -> None:
    """Whatever the delivery order, the increments written event by event add up to what the final
    fact contributes — the invariant the stored cells rely on."""
    fact, cells = TicketFact(ticket_id="t001"), {}
    for event in order:
        new = domain.apply(fact, event, TZ)
        kpi.add_cells(cells, kpi.diff(kpi.contributions(new, TZ), kpi.contributions(fact, TZ)))
        fact = new
    cells = {c: {k: v for k, v in x.items() if v} for c, x in cells.items()}
    assert {c: x for c, x in cells.items() if x} == kpi.contributions(fold(STORY), TZ)


@given(st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=60))
def test_median_from_counts_is_the_exact_median(values: list[int]) -> None:
    counts: dict[int, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    assert kpi.median_from_counts(counts) == statistics.median(values)
    assert kpi.median_from_counts({}) is None


@given(st.lists(st.integers(min_value=0, max_value=20000), max_size=60))
def test_histogram_buckets_partition_the_values(values: list[int]) -> None:
    counts: dict[int, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    buckets = kpi.histogram(counts)
    assert sum(b.count for b in buckets) == len(values)
    assert len(buckets) == len(kpi.HISTOGRAM_EDGES_MIN) + 1 and buckets[-1].upper_min is None
    assert buckets[0].count == sum(1 for v in values if v < 30) and buckets[0].label == "0m–30m"


def test_periods() -> None:
    assert kpi.period_start(date(2026, 11, 26), "week") == date(2026, 11, 23)
    assert kpi.period_start(date(2026, 11, 26), "month") == date(2026, 11, 1)
    assert kpi.period_start(date(2026, 11, 26), "day") == date(2026, 11, 26)
    assert len(list(kpi.days_between(date(2026, 11, 1), date(2026, 11, 30)))) == 30


def test_build_report_from_cells_with_backlog_carried_in() -> None:
    cells = {D1: {"created": 3, "resolved": 1, "rt_n": 1, "rt_sum": 600, "rt_min:P1:10": 1,
                  "sla_n:priority:P1": 1, "sla_met:priority:P1": 1, "cohort_resolved": 1},
             D2: {"created": 1, "rt_n": 1, "rt_sum": 1800, "rt_min:P3:30": 1, "sla_n:priority:P3": 1}}
    backlog = {D1: {"open": 2, "open:priority:P1": 2}, D2: {"open": -1, "open:priority:P1": -1}}
    report = kpi.build_report(start=date(2026, 11, 25), end=date(2026, 11, 26), granularity="day", scope="all",
                              cells=cells, backlog_cells=backlog, backlog_before={"open": 5, "open:priority:P1": 5})
    assert [r.kpis.backlog for r in report.series] == [7, 6] and report.totals.backlog == 6
    assert report.backlog_by_priority["P1"] == 6
    assert report.totals.resolution_avg_min == 20 and report.totals.resolution_median_min == 20
    assert report.totals.sla_compliance == 0.5 and report.totals.resolution_rate == 0.25
    assert report.totals.first_response_avg_min is None  # no data is not zero
    weekly = kpi.build_report(start=date(2026, 11, 25), end=date(2026, 11, 26), granularity="week", scope="all",
                              cells=cells, backlog_cells=backlog, backlog_before={})
    assert len(weekly.series) == 1 and weekly.series[0].kpis.created == 4 and weekly.series[0].kpis.backlog == 1


def test_spike_detector() -> None:
    history = [{"created:category:complaint": 2, "kw:退款": 1}] + [{}] * 6
    today = {"created:category:complaint": 12, "kw:退款": 9, "created:category:other": 30, "created:category:unclassified": 50}
    spikes = kpi.detect_spikes(D1, today, history, ratio=3, min_count=10)
    # 退款 (9) is under min_count; unclassified is never a spike; "other" is new (ratio = its count)
    assert [(s.dimension, s.value) for s in spikes] == [("category", "complaint"), ("category", "other")]
    assert spikes[0].baseline == round(2 / 7, 3) and spikes[0].ratio == round(12 / (2 / 7), 3)
    assert spikes[1].baseline == 0 and spikes[1].ratio == 30
    steady = [{"created:category:complaint": 10}] * 7
    assert kpi.detect_spikes(D1, {"created:category:complaint": 25}, steady, ratio=3, min_count=10) == []
    assert len(kpi.detect_spikes(D1, {"created:category:complaint": 30}, steady, ratio=3, min_count=10)) == 1


def test_csv_neutralises_formulas() -> None:
    rows = [kpi.AgentRow(agent_id="=cmd()", handled=1, created_assigned=1, first_response_avg_min=None,
                         resolution_avg_min=-1.5, csat_avg=None, csat_responses=0, breached_tickets=0)]
    text = kpi.agents_csv(rows)
    assert "'=cmd()" in text and ",-1.5," in text


def test_keywords_are_bounded_and_safe() -> None:
    words = domain.keywords_of([" Refund ", "refund", "a.b", "$x", *[f"w{i}" for i in range(30)]])
    assert len(words) == domain.MAX_KEYWORDS and "refund" in words
    assert all("." not in w and not w.startswith("$") for w in words)


def test_unknown_overdue_reason_event_is_read_by_attribute() -> None:
    class Payload:
        ticket_id, reason = "t001", "客户未回复"

    class Fake:
        event_type = domain.OVERDUE_REASON_RECORDED
        payload = Payload()
        occurred_at = local(D1, 9)
        event_id = "e1"

    fact = domain.apply(fold([f.created("t001", local(D1, 9)), f.breached("t001", local(D1, 10))]), Fake(), TZ)  # type: ignore[arg-type]
    assert fact.overdue_reasons == ["客户未回复"]
    assert kpi.ticket_counters(fact, TZ)[D1]["overdue:客户未回复"] == 1


@given(st.integers(min_value=0, max_value=60 * 86400))
def test_time_bins_are_monotone_and_bounded(seconds: int) -> None:
    b = kpi.time_bin(seconds)
    minutes = seconds // 60
    assert b <= minutes and minutes - b < 60
    assert kpi.time_bin(seconds + 60) >= b
    if minutes < 60:
        assert b == minutes
    assert all(edge % 60 == 0 or edge < 60 for edge in kpi.HISTOGRAM_EDGES_MIN)


def test_the_sla_overdue_reason_contract_feeds_the_top_reasons() -> None:
    import contracts

    cls = getattr(contracts, "SlaOverdueReasonRecorded", None)
    if cls is None:  # pragma: no cover - the contract is added by sla-monitor's change
        import pytest

        pytest.skip("sla.overdue_reason_recorded is not registered in this checkout")
    payload = contracts.SlaOverdueReasonRecordedPayload(
        ticket_id="t001", ticket_no="GD20261125001", reason_id="r1", code="customer_unreachable", label="客户无法联系",
        priority="P2", policy_version=1, recorded_by="S1", recorded_at=local(D1, 12))
    event = cls.new(payload, correlation_id="t001", producer="sla-monitor", occurred_at=local(D1, 12))
    fact = fold([f.created("t001", local(D1, 9)), f.breached("t001", local(D1, 10)), event])
    assert fact.overdue_reasons == ["customer_unreachable"]
    assert kpi.ticket_counters(fact, TZ)[D1]["overdue:customer_unreachable"] == 1


# ----------------------------------------------------------------------------- conversations (issue 18)
def test_conversation_counters_join_the_ticket_counters_in_every_scope() -> None:
    per_day = kpi.ticket_counters(CONVERSATION_FACT, TZ)
    assert per_day[D1]["cust_replies"] == 4 and per_day[D1]["cohort_replies"] == 5 and per_day[D1]["created"] == 1
    assert per_day[D1]["nr_met"] == 1 and per_day[D1]["nr_breached"] == 1 and per_day[D1]["exchanges"] == 3
    assert per_day[D2]["res_exchanges"] == 4 and per_day[D2]["rt_n"] == 1 and per_day[D2]["agent_responses"] == 1
    cells = kpi.contributions(CONVERSATION_FACT, TZ)
    for scope in ("all", "agent=A1", "team=general", "teamagent=general::A1", "channel=online_chat"):
        assert cells[f"{D1}|{scope}"]["cust_replies"] == 4, scope


@settings(max_examples=40, deadline=None)
@given(st.permutations(CONVERSATION))
def test_conversation_increments_telescope_whatever_the_order(order: list[Event]) -> None:
    """Out-of-order messages, answers and breaches move counters between days and turns; the increments
    written event by event still add up to what the final fact contributes."""
    fact, cells = TicketFact(ticket_id="c001"), {}
    for event in order:
        new = domain.apply(fact, event, TZ)
        kpi.add_cells(cells, kpi.diff(kpi.contributions(new, TZ), kpi.contributions(fact, TZ)))
        fact = new
    cells = {c: {k: v for k, v in x.items() if v} for c, x in cells.items()}
    assert {c: x for c, x in cells.items() if x} == kpi.contributions(CONVERSATION_FACT, TZ)


def test_build_report_has_the_conversation_figures_beside_the_totals() -> None:
    cells = {D1: {"created": 2, "cohort_replies": 3, "cust_replies": 3, "agent_responses": 4, "exchanges": 3,
                  "nr_met": 2, "nr_breached": 1, "rt_n": 2, "rt_sum": 600, "res_exchanges": 3},
             D2: {"created": 1, "nr_met": 1, "rt_n": 1, "rt_sum": 60, "res_exchanges": 1}}
    report = kpi.build_report(start=date(2026, 11, 25), end=date(2026, 11, 26), granularity="day", scope="all",
                              cells=cells, backlog_cells={}, backlog_before={})
    c = report.conversation
    assert (c.customer_replies, c.agent_responses, c.exchanges) == (3, 4, 3)
    assert (c.replies_per_ticket, c.exchanges_per_resolved) == (1.0, round(4 / 3, 2))
    assert (c.next_response_met, c.next_response_breached, c.next_response_compliance) == (3, 1, 0.75)
    d1, d2 = (row.conversation for row in report.series)
    assert (d1.replies_per_ticket, d1.exchanges_per_resolved, d1.next_response_compliance) == (1.5, 1.5, 0.6667)
    assert (d2.replies_per_ticket, d2.exchanges_per_resolved, d2.next_response_compliance) == (0.0, 1.0, 1.0)
    assert "customer_replies" not in report.totals.model_dump()  # the totals keep their shape
    rows = {(p, m): v for p, m, _, v in kpi.report_rows(report)}
    assert rows[(f"{D1}..{D2}", "next_response_compliance")] == 0.75 and rows[(D2, "exchanges_per_resolved")] == 1.0
    empty = kpi.build_report(start=date(2026, 11, 25), end=date(2026, 11, 25), granularity="day", scope="all",
                             cells={}, backlog_cells={}, backlog_before={})
    assert empty.conversation == domain.ConversationKpis()
    assert rows[(D1, "customer_replies")] == 3 and ("2026-11-25..2026-11-25", "replies_per_ticket") not in rows


def test_agent_rows_have_the_conversation_ratios() -> None:
    rows = kpi.agent_rows({"A1": {"created": 2, "cohort_replies": 3, "rt_n": 1, "res_exchanges": 2, "nr_met": 1,
                                  "nr_breached": 1},
                           "A2": {"created": 1}})
    a1, a2 = rows
    assert (a1.agent_id, a1.replies_per_ticket, a1.exchanges_per_resolved, a1.next_response_compliance) == (
        "A1", 1.5, 2.0, 0.5)
    assert (a2.replies_per_ticket, a2.exchanges_per_resolved, a2.next_response_compliance) == (0.0, None, None)
    header, first = kpi.agents_csv(rows).splitlines()[:2]
    assert header.endswith("replies_per_ticket,exchanges_per_resolved,next_response_compliance")
    assert first.endswith(",1.5,2.0,0.5")
