from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from functools import reduce

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import Event
from reporting import domain
from reporting import testing as f
from reporting.domain import TicketFact
from reporting.testing import TZ, local

D1, D2 = "2026-11-25", "2026-11-26"


def fold(events: list[Event], tid: str = "t001") -> TicketFact:
    return reduce(lambda fact, e: domain.apply(fact, e, TZ), events, TicketFact(ticket_id=tid))


# ----------------------------------------------------------------------------- days and stamps
def test_business_day_uses_the_business_zone() -> None:
    late_utc = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)  # 01:30 on the 26th in Shanghai
    assert domain.business_day(late_utc, TZ) == date(2026, 11, 26)
    assert domain.business_day(late_utc, "UTC") == date(2026, 11, 25)
    assert domain.day_key(local(D1, 23, 59), TZ) == D1
    assert domain.day_key(local(D2, 0, 0), TZ) == D2


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2999, 1, 1), timezones=st.just(UTC)),
       st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=400)))
def test_stamps_sort_like_time(at: datetime, delta: timedelta) -> None:
    early, late = f.survey("t001", at), f.survey("t001", at + delta)
    assert domain.stamp(early) < domain.stamp(late)
    assert len(domain.stamp(early)) == len(domain.stamp(late))


def test_equal_times_still_have_one_winner() -> None:
    at = local(D1, 10)
    a, b = f.status_changed("t001", at, "in_progress"), f.status_changed("t001", at, "pending_customer")
    assert fold([a, b]).status == fold([b, a]).status


def test_ticket_id_of() -> None:
    assert domain.ticket_id_of(f.created("t001", local(D1, 9))) == "t001"
    assert domain.ticket_id_of(f.spike(local(D1, 9))) is None
    assert not domain.changes_fact(f.spike(local(D1, 9)))
    assert not domain.changes_fact(f.warning("t001", local(D1, 9)))
    assert not domain.changes_fact(f.acknowledged("t001", local(D1, 9)))
    assert domain.changes_fact(f.breached("t001", local(D1, 9)))


# ----------------------------------------------------------------------------- fact rules
def test_created_sets_day_channel_and_status() -> None:
    fact = fold([f.created("t001", local(D1, 23, 30), channel="phone", status="needs_info")])
    assert fact.day == D1 and fact.channel == "phone" and fact.status == "needs_info"
    assert fact.ticket_no == "GD20261125001"
    assert fact.status_at == local(D1, 23, 30)
    assert fold([f.created("t001", local(D2, 0, 30))]).day == D2  # 16:30 UTC on the 25th


def test_classified_before_created_keeps_both() -> None:
    fact = fold([f.classified("t001", local(D1, 9, 5), category="complaint", priority="P1", channel="phone"),
                 f.created("t001", local(D1, 9), channel="phone")])
    assert (fact.category, fact.priority, fact.channel, fact.day) == ("complaint", "P1", "phone", D1)


def test_latest_classification_wins_whatever_the_order() -> None:
    first = f.classified("t001", local(D1, 9), category="other", priority="P4")
    correction = f.classified("t001", local(D1, 11), category="complaint", priority="P2")
    for order in ([first, correction], [correction, first]):
        fact = fold(order)
        assert (fact.category, fact.priority) == ("complaint", "P2")


def test_an_older_status_never_overwrites_a_newer_one() -> None:
    created = f.created("t001", local(D1, 9))
    progress = f.status_changed("t001", local(D1, 10), "in_progress")
    fact = fold([progress, created])  # created delivered late
    assert fact.status == "in_progress" and fact.status_at == local(D1, 10)
    assert domain.fact_changes(fact, created, TZ).keys() <= {"day", "created_at", "channel", "customer_tier"}


def test_resolution_close_reopen_days_and_times() -> None:
    events = [
        f.created("t001", local(D1, 9)),
        f.resolved("t001", local(D1, 15)),
        f.reopened("t001", local(D1, 16), count=1),
        f.resolved("t001", local(D2, 9)),
        f.resolved("t001", local(D2, 10)),
        f.closed("t001", local(D2, 11)),
    ]
    fact = fold(events)
    assert fact.resolved_days == [D1, D2]  # once per day
    assert fact.resolved_at == local(D2, 10)
    assert fact.reopened_days == [D1] and fact.reopen_count == 1
    assert fact.closed_days == [D2] and fact.closed_at == local(D2, 11)
    assert fact.status == "closed"


def test_reopen_count_is_the_highest_seen() -> None:
    fact = fold([f.reopened("t001", local(D1, 12), count=2), f.reopened("t001", local(D1, 11), count=1)])
    assert fact.reopen_count == 2 and fact.status == "reopened"


def test_agent_team_and_first_times() -> None:
    fact = fold([
        f.assigned("t001", local(D1, 10), agent="A2", team="vip"),
        f.assigned("t001", local(D1, 9), agent="A1", team="general"),
        f.transferred("t001", local(D1, 11), to_agent="A3"),
        f.responded("t001", local(D1, 12)),
        f.responded("t001", local(D1, 9, 30)),
        f.escalated("t001", local(D1, 13), level=2),
        f.escalated("t001", local(D1, 14), level=1),
    ])
    assert fact.agent_id == "A3" and fact.team == "vip"  # a transfer without a team keeps the team
    assert fact.first_assigned_at == local(D1, 9)
    assert fact.first_response_at == local(D1, 9, 30)
    assert fact.transfers == 1 and fact.escalation_level == 2


def test_counters_and_survey() -> None:
    fact = fold([
        f.breached("t001", local(D1, 10)), f.breached("t001", local(D1, 11)),
        f.survey("t001", local(D1, 18), csat=2.0, satisfied=False),
        f.survey("t001", local(D1, 17), csat=5.0, satisfied=True),  # older answer arrives late
    ])
    assert fact.sla_breaches == 2
    assert (fact.csat, fact.satisfied) == (2.0, False)


def _ticket_story(tid: str, base: datetime) -> list[Event]:
    h = timedelta(hours=1)
    return [
        f.created(tid, base, channel="phone"),
        f.classified(tid, base + 0.1 * h, category="other", priority="P4"),
        f.classified(tid, base + 2 * h, category="complaint", priority="P2"),
        f.assigned(tid, base + 0.2 * h, agent="A1", team="general"),
        f.transferred(tid, base + 3 * h, to_agent="A2", to_team="vip"),
        f.responded(tid, base + 0.5 * h),
        f.status_changed(tid, base + 0.6 * h, "in_progress", frm="assigned"),
        f.breached(tid, base + 4 * h),
        f.breached(tid, base + 5 * h),
        f.resolved(tid, base + 6 * h, agent="A2"),
        f.survey(tid, base + 7 * h, csat=2.0, satisfied=False),
        f.reopened(tid, base + 7.5 * h, count=1),
        f.escalated(tid, base + 8 * h, level=1),
        f.resolved(tid, base + 20 * h, agent="A2"),
        f.survey(tid, base + 21 * h, csat=4.0, satisfied=True),
        f.closed(tid, base + 30 * h),
        f.warning(tid, base + 3.5 * h),
    ]


STORY = _ticket_story("t001", local(D1, 9))
EXPECTED = fold(STORY)


@settings(max_examples=200)
@given(st.permutations(STORY))
def test_any_delivery_order_gives_the_same_fact(order: list[Event]) -> None:
    assert fold(order) == EXPECTED


def test_the_story_fact() -> None:
    assert EXPECTED.status == "closed" and EXPECTED.category == "complaint" and EXPECTED.priority == "P2"
    assert EXPECTED.agent_id == "A2" and EXPECTED.team == "vip"
    assert EXPECTED.resolved_days == [D1, D2] and EXPECTED.reopened_days == [D1] and EXPECTED.closed_days == [D2]
    assert EXPECTED.sla_breaches == 2 and EXPECTED.csat == 4.0 and EXPECTED.transfers == 1


def test_log_entry_keeps_ids_and_day() -> None:
    at = local(D2, 0, 30)
    entry = domain.log_entry(f.created("t001", at), TZ, received_at=at)
    assert entry.day == D2 and entry.ticket_id == "t001" and entry.event_type == "ticket.created"
    assert entry.body["payload"]["customer_display"] == "客户A-0001"
    assert domain.log_entry(f.spike(at), TZ, received_at=at).ticket_id is None


# ----------------------------------------------------------------------------- the daily report
def _facts() -> list[TicketFact]:
    return [
        fold([f.created("t001", local(D1, 9)), f.classified("t001", local(D1, 9, 1), category="after_sales",
              priority="P2"), f.resolved("t001", local(D1, 15)), f.closed("t001", local(D2, 10))], "t001"),
        fold([f.created("t002", local(D1, 10), channel="phone"), f.resolved("t002", local(D1, 12)),
              f.reopened("t002", local(D1, 16))], "t002"),
        fold([f.created("t003", local(D2, 0, 30), channel="web_form")], "t003"),
        fold([f.classified("t004", local(D1, 9))], "t004"),  # created not seen yet: no day
    ]


def test_daily_report_counts() -> None:
    report = domain.daily_report(date(2026, 11, 25), _facts(), TZ)
    assert (report.created, report.resolved, report.closed, report.reopened) == (2, 2, 0, 1)
    assert report.by_category["after_sales"] == 1 and report.by_category["unclassified"] == 1
    assert report.by_category["complaint"] == 0
    assert report.by_channel["email"] == 1 and report.by_channel["phone"] == 1
    assert report.by_priority["P2"] == 1 and report.by_priority["unclassified"] == 1
    assert report.by_status["closed"] == 1 and report.by_status["reopened"] == 1
    d2 = domain.daily_report(date(2026, 11, 26), _facts(), TZ)
    assert (d2.created, d2.resolved, d2.closed, d2.reopened) == (1, 0, 1, 0)
    assert d2.by_channel["web_form"] == 1


def test_empty_day_has_every_key_at_zero() -> None:
    report = domain.daily_report(date(2030, 1, 1), _facts(), TZ)
    assert report.created == 0
    assert set(report.by_priority) == {"P1", "P2", "P3", "P4", "unclassified"}
    assert set(report.by_status) >= {"new", "resolved", "closed", "reopened"}
    assert all(v == 0 for v in report.by_category.values())


_fact_st = st.builds(
    TicketFact,
    ticket_id=st.uuids().map(str),
    day=st.sampled_from([D1, D2, None]),
    channel=st.sampled_from(["email", "phone", "social", None]),
    category=st.sampled_from(["complaint", "other", None]),
    priority=st.sampled_from(["P1", "P3", None]),
    status=st.sampled_from(["new", "resolved", "closed"]),
    resolved_days=st.lists(st.sampled_from([D1, D2]), unique=True).map(sorted),
)


@given(st.lists(_fact_st, max_size=40))
def test_breakdowns_add_up_to_created(facts: list[TicketFact]) -> None:
    report = domain.daily_report(date(2026, 11, 25), facts, TZ)
    assert report.created == sum(1 for x in facts if x.day == D1)
    for breakdown in (report.by_category, report.by_channel, report.by_priority, report.by_status):
        assert sum(breakdown.values()) == report.created
    assert report.resolved == sum(1 for x in facts if D1 in x.resolved_days)


def test_report_csv_round_trips() -> None:
    report = domain.daily_report(date(2026, 11, 25), _facts(), TZ)
    rows = list(csv.reader(io.StringIO(domain.report_csv(report))))
    assert tuple(rows[0]) == domain.CSV_HEADER
    assert rows[1] == [D1, "created", "", "2"]
    parsed = {(r[1], r[2]): float(r[3]) if r[3] else None for r in rows[1:]}
    assert all(r[0] == D1 for r in rows[1:])
    assert parsed[("reopened", "")] == 1
    assert parsed[("by_category", "after_sales")] == 1 and parsed[("by_status", "closed")] == 1
    assert parsed[("customer_replies", "")] == 0 and parsed[("next_response_compliance", "")] is None
    assert len(rows) == 1 + 4 + sum(len(getattr(report, m)) for m in
                                    ("by_category", "by_channel", "by_priority", "by_status")) + len(
        domain.ConversationKpis.model_fields)


# ----------------------------------------------------------------------------- conversations (issue 18)
def _conversation_story(tid: str) -> list[Event]:
    """Opened 09:00, answered 09:20; the customer writes at 10:00 and 10:05 (one turn), answered 11:00;
    writes at 12:00, the next-response deadline 13:00 passes (breach published twice), answered 14:00;
    writes at 15:00 and the ticket is resolved at 16:00; the next morning a message reopens it, answered
    09:30, resolved again 10:00."""
    return [
        f.created(tid, local(D1, 9), channel="online_chat"),
        f.assigned(tid, local(D1, 9, 1), agent="A1", team="general"),
        f.responded(tid, local(D1, 9, 20)),
        f.customer_replied(tid, local(D1, 10), count=1),
        f.customer_replied(tid, local(D1, 10, 5), count=2),
        f.responded(tid, local(D1, 11), first=False),
        f.customer_replied(tid, local(D1, 12), count=3),
        f.breached(tid, local(D1, 13), target="next_response"),
        f.breached(tid, local(D1, 13, 30), target="next_response", deadline=local(D1, 13), count=2),
        f.responded(tid, local(D1, 14), first=False),
        f.customer_replied(tid, local(D1, 15), count=4),
        f.resolved(tid, local(D1, 16)),
        f.customer_replied(tid, local(D2, 9), count=5, status="reopened", threaded_by="reopened"),
        f.reopened(tid, local(D2, 9), count=1),
        f.responded(tid, local(D2, 9, 30), first=False),
        f.resolved(tid, local(D2, 10)),
    ]


CONVERSATION = _conversation_story("c001")
CONVERSATION_FACT = fold(CONVERSATION, "c001")


def test_the_conversation_fact_keeps_every_message_and_answer() -> None:
    fact = CONVERSATION_FACT
    assert fact.customer_replies == [local(D1, 10), local(D1, 10, 5), local(D1, 12), local(D1, 15), local(D2, 9)]
    assert fact.responses == [local(D1, 9, 20), local(D1, 11), local(D1, 14), local(D2, 9, 30)]
    assert fact.first_response_at == local(D1, 9, 20)  # later answers do not move the first response
    assert fact.next_response_breaches == [local(D1, 13)]  # the repeat for the same deadline is one
    assert fact.sla_breaches == 2  # every breach event still counts for the ticket's SLA figures, as before
    assert fact.status == "resolved" and fact.channel == "online_chat" and fact.agent_id == "A1"


@settings(max_examples=150)
@given(st.permutations(CONVERSATION))
def test_any_delivery_order_gives_the_same_conversation(order: list[Event]) -> None:
    assert fold(order, "c001") == CONVERSATION_FACT


def test_turns_exchanges_and_next_response_targets() -> None:
    conv = domain.conversation(CONVERSATION_FACT)
    # opening answered 09:20; 10:00+10:05 answered 11:00; 12:00 answered 14:00; D2 09:00 answered 09:30
    assert conv.exchanges == [local(D1, 9, 20), local(D1, 11), local(D1, 14), local(D2, 9, 30)]
    # next-response targets: 10:00 met (11:00), 12:00 breached (deadline 13:00), 15:00 ended by the
    # resolution at 16:00 (nothing owed any more: neither met nor breached, no exchange), D2 09:00 met (09:30)
    assert conv.next_met == [local(D1, 11), local(D2, 9, 30)]
    assert conv.next_breached == [local(D1, 13)] and conv.next_open == 0


def test_messages_before_the_first_answer_are_the_first_response_turn() -> None:
    fact = fold([f.created("t1", local(D1, 9)), f.customer_replied("t1", local(D1, 9, 30)),
                 f.responded("t1", local(D1, 10))], "t1")
    conv = domain.conversation(fact)
    assert conv.exchanges == [local(D1, 10)] and conv.next_met == [] and conv.next_breached == []
    waiting = fold([f.created("t1", local(D1, 9)), f.responded("t1", local(D1, 9, 10)),
                    f.customer_replied("t1", local(D1, 10))], "t1")
    assert domain.conversation(waiting).next_open == 1  # owed, neither met nor breached yet


def test_a_breach_is_counted_once_whether_its_message_arrived_or_not() -> None:
    base = [f.created("t1", local(D1, 9)), f.responded("t1", local(D1, 9, 10)),
            f.breached("t1", local(D1, 10, 30), target="next_response")]
    reply, answer = f.customer_replied("t1", local(D1, 10)), f.responded("t1", local(D1, 11), first=False)
    for events in (base, [*base, reply], [*base, reply, answer]):
        conv = domain.conversation(fold(events, "t1"))
        assert conv.next_breached == [local(D1, 10, 30)] and conv.next_met == [] and conv.next_open == 0
    assert domain.conversation(fold([*base, reply, answer], "t1")).exchanges == [local(D1, 9, 10), local(D1, 11)]
    # other targets' breaches are no next-response breaches
    other = fold([*base[:2], reply, f.breached("t1", local(D1, 10, 30), target="first_response")], "t1")
    assert other.next_response_breaches == [] and other.sla_breaches == 1
    assert domain.conversation(other).next_open == 1


def test_conversation_counters_fall_on_their_days() -> None:
    per_day = domain.conversation_counters(CONVERSATION_FACT, TZ)
    assert per_day[D1] == {"cust_replies": 4, "agent_responses": 3, "exchanges": 3, "nr_met": 1, "nr_breached": 1,
                           "cohort_replies": 5}  # every reply of the ticket, on its creation day
    assert per_day[D2] == {"cust_replies": 1, "agent_responses": 1, "exchanges": 1, "nr_met": 1,
                           "res_exchanges": 4}  # the ticket's back-and-forths, on its last resolution day


def test_the_daily_report_has_the_days_conversation() -> None:
    facts = [CONVERSATION_FACT, fold([f.created("t2", local(D1, 11)), f.resolved("t2", local(D1, 12))], "t2")]
    d1 = domain.daily_report(date(2026, 11, 25), facts, TZ).conversation
    assert (d1.customer_replies, d1.agent_responses, d1.exchanges) == (4, 3, 3)
    assert d1.replies_per_ticket == 2.5  # 5 replies over the day's 2 new tickets
    assert d1.exchanges_per_resolved == 0.0  # t2, last resolved on D1, had no back-and-forth
    assert (d1.next_response_met, d1.next_response_breached, d1.next_response_compliance) == (1, 1, 0.5)
    d2 = domain.daily_report(date(2026, 11, 26), facts, TZ).conversation
    assert (d2.customer_replies, d2.exchanges, d2.replies_per_ticket, d2.exchanges_per_resolved) == (1, 1, None, 4.0)
    assert d2.next_response_compliance == 1.0
    empty = domain.daily_report(date(2030, 1, 1), facts, TZ).conversation
    assert empty == domain.ConversationKpis()  # no data is not zero: ratios stay None
