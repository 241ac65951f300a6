from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import Channel, CustomerContact, TicketStatus, TicketSubmission
from intake import domain

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def test_ticket_number_format() -> None:
    assert domain.format_ticket_no(date(2026, 11, 25), 1) == "GD20261125001"
    assert domain.format_ticket_no(date(2026, 11, 25), 1234) == "GD202611251234"
    with pytest.raises(ValueError):
        domain.format_ticket_no(date(2026, 11, 25), 0)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)), st.integers(1, 10**6))
def test_ticket_numbers_are_unique_per_day_and_sequence(day: date, seq: int) -> None:
    no = domain.format_ticket_no(day, seq)
    assert no.startswith("GD" + day.strftime("%Y%m%d"))
    assert int(no[10:]) == seq


def test_business_day_uses_the_business_zone() -> None:
    late_utc = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)  # 01:30 on the 26th in Shanghai
    assert domain.business_day(late_utc, "Asia/Shanghai") == date(2026, 11, 26)
    assert domain.business_day(late_utc, "UTC") == date(2026, 11, 25)


def test_customer_display_is_masked_and_distinct() -> None:
    assert domain.customer_display(1) == "客户A-0001"
    assert domain.customer_display(10_000) == "客户B-0000"
    names = {domain.customer_display(i) for i in range(1, 30_000, 7)}
    assert len(names) == len(range(1, 30_000, 7))


def test_identity_claims_normalise() -> None:
    claims = domain.identity_claims(
        CustomerContact(phone="+86 138-0013-8000", email="Li.Wei@Example.COM", chat_session_id="s-1")
    )
    assert claims == ["phone:13800138000", "email:li.wei@example.com", "chat:s-1"]
    assert domain.lookup_key(claims[0], "k") != domain.lookup_key(claims[0], "other")


def test_missing_information() -> None:
    empty = TicketSubmission(channel=Channel.WEB_FORM, channel_message_id="1")
    assert domain.missing_information(empty) == ["description", "contact"]
    ok = TicketSubmission(channel=Channel.PHONE, channel_message_id="2", description="无法开机",
                          customer=CustomerContact(phone="13800138000"))
    assert domain.missing_information(ok) == []


def _customer() -> domain.Customer:
    return domain.new_customer("c1", 1, CustomerContact(name="张三"), Channel.EMAIL, NOW)


def test_open_ticket_redacts_personal_data_and_extracts_order() -> None:
    sub = TicketSubmission(
        channel=Channel.EMAIL, channel_message_id="m-1",
        description="订单号: A20261125X 无法开机, call me 13800138000 or zhang@example.com, ID 110101199003074512",
        customer=CustomerContact(email="zhang@example.com"),
    )
    ticket, [event] = domain.open_ticket(sub, ticket_id="t1", ticket_no="GD20261125001", customer=_customer(), now=NOW)
    text = event.model_dump_json()
    for raw in ("13800138000", "zhang@example.com", "110101199003074512", "张三"):
        assert raw not in text
        assert raw not in ticket.model_dump_json()
    assert ticket.order_number == "A20261125X"
    assert event.payload.has_order_number
    assert event.payload.customer_display == "客户A-0001"
    assert event.correlation_id == "t1" and event.producer == "intake"
    assert ticket.status == TicketStatus.NEW


def test_incomplete_submission_needs_info() -> None:
    sub = TicketSubmission(channel=Channel.WEB_FORM, channel_message_id="m-2", description="help")
    ticket, [event, changed] = domain.open_ticket(sub, ticket_id="t2", ticket_no="GD20261125002", customer=_customer(), now=NOW)
    assert ticket.status == TicketStatus.NEEDS_INFO
    assert event.payload.missing_fields == ["contact"]
    assert changed.event_type == "ticket.status_changed" and changed.payload.to_status == TicketStatus.NEEDS_INFO
    assert changed.payload.missing_fields == ["contact"]


def test_resolve_transitions() -> None:
    sub = TicketSubmission(channel=Channel.EMAIL, channel_message_id="m-3", description="x",
                           customer=CustomerContact(email="a@b.cn"))
    ticket, _ = domain.open_ticket(sub, ticket_id="t3", ticket_no="GD20261125003", customer=_customer(), now=NOW)
    with pytest.raises(domain.DomainError):
        domain.resolve(ticket, by="A1", summary="done", now=NOW)  # not assigned yet
    assigned = ticket.model_copy(update={"status": domain.status_after_assignment(ticket.status), "assignee_id": "A1"})
    assert assigned.status == TicketStatus.ASSIGNED
    resolved, events = domain.resolve(assigned, by="A1", summary="replaced the battery", now=NOW)
    assert resolved.status == TicketStatus.RESOLVED
    assert [e.event_type for e in events] == ["ticket.status_changed", "ticket.resolved"]
    assert events[1].payload.agent_id == "A1"
    assert domain.status_after_assignment(TicketStatus.RESOLVED) == TicketStatus.RESOLVED


def test_ticket_id_is_stable_per_channel_message() -> None:
    a = domain.ticket_id_for(Channel.EMAIL, "m-1")
    assert a == domain.ticket_id_for("email", "m-1") and len(a) == 32
    assert a != domain.ticket_id_for(Channel.PHONE, "m-1")
    assert a != domain.ticket_id_for(Channel.EMAIL, "m-2")


# ----------------------------------------------------------------------------- completeness and facts
def test_after_sales_without_order_reference_needs_it() -> None:
    sub = TicketSubmission(channel=Channel.EMAIL, channel_message_id="m-9", description="我要退货, 手机屏幕坏了",
                           customer=CustomerContact(email="a@b.cn"))
    assert domain.missing_information(sub) == ["order_number"]
    with_order = sub.model_copy(update={"order_number": "A123456"})
    assert domain.missing_information(with_order) == []
    assert domain.missing_information(sub.model_copy(update={"description": "请问 A 型号手机多少钱"})) == []


def test_email_facts_are_extracted_and_phones_masked() -> None:
    sub = TicketSubmission(channel=Channel.EMAIL, channel_message_id="m-10", customer=CustomerContact(email="a@b.cn"),
                           description="您好, 订单号 ORD-778899 的笔记本和充电器都没到, 请打 139 0013 9000 联系我")
    facts = domain.extract_facts(sub)
    assert facts.order_numbers == ["ORD-778899"]
    assert facts.phones_masked == ["139****9000"] and domain.extract_phones(sub.description) == ["13900139000"]
    assert facts.products == ["笔记本", "充电器"]
    ticket, [created] = domain.open_ticket(sub, ticket_id="t", ticket_no="GD20261125009", customer=_customer(), now=NOW)
    assert "13900139000" not in ticket.model_dump_json() and "13900139000" not in created.model_dump_json()
    assert "product:笔记本" in created.payload.tags


def test_supplying_missing_information_resumes() -> None:
    sub = TicketSubmission(channel=Channel.WEB_FORM, channel_message_id="m-11", description="申请维修")
    ticket, _ = domain.open_ticket(sub, ticket_id="t", ticket_no="GD20261125010", customer=_customer(), now=NOW)
    assert ticket.missing_fields == ["contact", "order_number"]
    partial = domain.supply_info(ticket, by="customer", now=NOW, order_number="A99887766")
    assert partial.ticket.status == TicketStatus.NEEDS_INFO and partial.ticket.missing_fields == ["contact"]
    assert partial.events == []
    done = domain.supply_info(partial.ticket, by="customer", now=NOW, has_contact=True)
    assert done.ticket.status == TicketStatus.NEW and done.ticket.missing_fields == []
    [event] = done.events
    assert (event.payload.from_status, event.payload.to_status) == (TicketStatus.NEEDS_INFO, TicketStatus.NEW)
    with pytest.raises(domain.DomainError):
        domain.supply_info(done.ticket, by="customer", now=NOW, description="more")


# ----------------------------------------------------------------------------- lifecycle
def _working(status: TicketStatus = TicketStatus.ASSIGNED, **kw: object) -> domain.Ticket:
    sub = TicketSubmission(channel=Channel.EMAIL, channel_message_id="w", description="x",
                           customer=CustomerContact(email="a@b.cn"))
    ticket, _ = domain.open_ticket(sub, ticket_id="tw", ticket_no="GD20261125011", customer=_customer(), now=NOW)
    return ticket.model_copy(update={"status": status, "assignee_id": "A1", **kw})


@given(st.sampled_from(list(TicketStatus)), st.sampled_from(list(TicketStatus)))
def test_transitions_follow_the_table(src: TicketStatus, dst: TicketStatus) -> None:
    ticket = _working(src)
    if domain.can_transition(src, dst):
        change = domain.transition(ticket, dst, by="A1", now=NOW)
        assert change.ticket.status == dst
        [event] = change.events
        assert (event.payload.from_status, event.payload.to_status) == (src, dst)
        assert change.timeline[0].to_status == dst
    else:
        with pytest.raises(domain.DomainError) as err:
            domain.transition(ticket, dst, by="A1", now=NOW)
        assert err.value.code == "invalid_transition"


def test_closed_is_final_except_reopen_and_resolved_only_by_work() -> None:
    assert domain.TRANSITIONS[TicketStatus.CLOSED] == {TicketStatus.REOPENED}
    assert TicketStatus.NEW not in domain.RESOLVABLE and TicketStatus.NEEDS_INFO not in domain.RESOLVABLE


def test_first_response_only_once_and_starts_work() -> None:
    first = domain.respond(_working(), by="A1", now=NOW, text="您好, 已收到")
    assert first.ticket.status == TicketStatus.IN_PROGRESS and first.ticket.first_response_at == NOW
    assert [e.event_type for e in first.events] == ["ticket.status_changed", "ticket.responded"]
    later = NOW + timedelta(minutes=5)
    second = domain.respond(first.ticket, by="A1", now=later, text="补充说明")
    assert second.events == [] and second.ticket.first_response_at == NOW
    note = domain.add_note(first.ticket, by="A1", now=later, text="问题排查中", visibility="internal")
    assert note.events == [] and note.timeline[0].kind == "note"
    contacted = domain.add_note(_working(), by="A1", now=NOW, text="已联系客户", visibility="internal",
                                contacted_customer=True)
    assert any(e.event_type == "ticket.responded" for e in contacted.events)


def test_pending_customer_pauses_and_resumes() -> None:
    working = _working(TicketStatus.IN_PROGRESS)
    with pytest.raises(domain.DomainError):
        domain.change_status(working, TicketStatus.PENDING_CUSTOMER, by="A1", now=NOW)  # no reason
    paused = domain.change_status(working, TicketStatus.PENDING_CUSTOMER, by="A1", now=NOW, reason="等待客户提供照片")
    assert paused.ticket.pending_since == NOW
    resumed = domain.change_status(paused.ticket, TicketStatus.IN_PROGRESS, by="A1", now=NOW + timedelta(hours=1))
    assert resumed.ticket.pending_since is None and resumed.ticket.status == TicketStatus.IN_PROGRESS
    with pytest.raises(domain.DomainError):
        domain.change_status(working, TicketStatus.RESOLVED, by="A1", now=NOW)


def test_resolve_records_result_within_policy() -> None:
    coupon = domain.Compensation(amount_cny=50)
    change = domain.resolve_change(_working(), by="A1", summary="补偿 50 元无门槛券", now=NOW, compensation=coupon,
                                   attachments=[domain.AttachmentMeta(name="a.png", content_type="image/png", size_bytes=10)])
    assert change.ticket.solution_type == domain.SolutionType.COMPENSATION_COUPON
    assert change.ticket.attachments[0].name == "a.png"
    with pytest.raises(domain.DomainError, match="supervisor"):
        domain.resolve_change(_working(), by="A1", summary="x", now=NOW, compensation=domain.Compensation(amount_cny=500))
    assert domain.resolve_change(_working(), by="S1", summary="x", now=NOW, compensation=domain.Compensation(amount_cny=500),
                                 may_exceed_policy=True).ticket.compensation.amount_cny == 500
    with pytest.raises(domain.DomainError):
        domain.resolve_change(_working(), by="A1", summary="x", now=NOW, attachments=[
            domain.AttachmentMeta(name="x.exe", content_type="application/x-msdownload", size_bytes=10)])


def test_close_and_reopen_rules() -> None:
    with pytest.raises(domain.DomainError):
        domain.close(_working(), by="A1", now=NOW)  # an agent cannot close an unresolved ticket
    with pytest.raises(domain.DomainError):
        domain.close(_working(), by="S1", now=NOW, privileged=True)  # a supervisor needs a reason
    assert domain.close(_working(), by="S1", now=NOW, reason="duplicate", privileged=True).ticket.status == TicketStatus.CLOSED
    resolved = domain.resolve_change(_working(), by="A1", summary="ok", now=NOW).ticket
    closed = domain.close(resolved, by="A1", now=NOW)
    assert [e.event_type for e in closed.events] == ["ticket.status_changed", "ticket.closed"]
    with pytest.raises(domain.DomainError):
        domain.reopen(closed.ticket, by="A1", now=NOW, reason="again", source="staff")
    again = domain.reopen(closed.ticket, by="S1", now=NOW, reason="客户再次来电", source="staff", privileged=True)
    assert again.ticket.reopen_count == 1 and again.events[-1].payload.reopen_count == 1
    assert again.ticket.closed_at is None


def test_customer_confirmation() -> None:
    resolved = domain.resolve_change(_working(), by="A1", summary="ok", now=NOW).ticket
    yes = domain.confirm(resolved, by="A1", now=NOW, confirmed=True)
    assert yes.ticket.customer_confirmed is True and yes.ticket.status == TicketStatus.RESOLVED and yes.events == []
    no = domain.confirm(resolved, by="A1", now=NOW, confirmed=False, note="还是不行")
    assert no.ticket.status == TicketStatus.REOPENED and no.events[-1].payload.source == "customer"


def test_auto_close_due() -> None:
    resolved = domain.resolve_change(_working(), by="A1", summary="ok", now=NOW).ticket
    week = timedelta(days=7)
    assert not domain.auto_close_due(resolved, NOW + week - timedelta(seconds=1), week)
    assert domain.auto_close_due(resolved, NOW + week, week)
    assert not domain.auto_close_due(_working(), NOW + 2 * week, week)


# ----------------------------------------------------------------------------- customers
def test_profile_changes_never_hold_clear_data() -> None:
    changes = domain.profile_changes({"phone": "13800138000", "tier": "normal"},
                                     {"phone": "13900139000", "tier": "vip", "id_number": "110101199003074512"})
    dumped = str([c.model_dump() for c in changes])
    assert "13800138000" not in dumped and "13900139000" not in dumped and "110101199003074512" not in dumped
    assert {c.field for c in changes} == {"phone", "tier", "id_number"}
    assert next(c for c in changes if c.field == "tier").after == "vip"


def test_dormancy() -> None:
    customer = _customer()
    half_year = timedelta(days=182)
    assert not domain.is_dormant(customer, NOW + half_year - timedelta(days=1), half_year)
    assert domain.is_dormant(customer, NOW + half_year, half_year)


# ----------------------------------------------------------------------------- conversation threading
from intake.domain import ThreadDecision, Ticket, decide_thread  # noqa: E402


def _conv_ticket(customer_id: str, status: TicketStatus, ended: datetime | None = None) -> Ticket:
    now = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    return Ticket(ticket_id=f"t-{customer_id}-{status.value}", ticket_no="GD20261206000001", correlation_id="c",
                  channel=Channel.EMAIL, channel_message_id="m", customer_id=customer_id, customer_display="客户A",
                  status=status, created_at=now - timedelta(days=30), updated_at=ended or now,
                  resolved_at=ended if status == TicketStatus.RESOLVED else None,
                  closed_at=ended if status == TicketStatus.CLOSED else None)


NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
WINDOW = timedelta(days=14)


def test_threading_prefers_the_reference_then_the_thread_then_the_recent_ticket() -> None:
    ref, thr, rec = (_conv_ticket("c1", TicketStatus.IN_PROGRESS) for _ in range(3))
    ref = ref.model_copy(update={"ticket_id": "ref"})
    thr = thr.model_copy(update={"ticket_id": "thr"})
    d = decide_thread(by_reference=ref, by_thread=thr, recent=rec, customer_id="c1", now=NOW, reopen_window=WINDOW)
    assert (d.action, d.threaded_by, d.ticket.ticket_id) == ("thread", "reference", "ref")  # type: ignore[union-attr]
    d = decide_thread(by_reference=None, by_thread=thr, recent=rec, customer_id="c1", now=NOW, reopen_window=WINDOW)
    assert (d.action, d.threaded_by) == ("thread", "thread")
    d = decide_thread(by_reference=None, by_thread=None, recent=rec, customer_id="c1", now=NOW, reopen_window=WINDOW)
    assert (d.action, d.threaded_by) == ("thread", "recent")
    assert decide_thread(by_reference=None, by_thread=None, recent=None, customer_id=None, now=NOW,
                         reopen_window=WINDOW).action == "new"


def test_an_ended_ticket_reopens_within_the_window_else_a_linked_one() -> None:
    recent_end = _conv_ticket("c1", TicketStatus.CLOSED, ended=NOW - timedelta(days=3))
    old_end = _conv_ticket("c1", TicketStatus.RESOLVED, ended=NOW - timedelta(days=30))
    assert decide_thread(by_reference=recent_end, by_thread=None, recent=None, customer_id="c1", now=NOW,
                         reopen_window=WINDOW).action == "reopen"
    assert decide_thread(by_reference=recent_end, by_thread=None, recent=None, customer_id="c1", now=NOW,
                         reopen_window=WINDOW, reopen_enabled=False).action == "new_linked"
    d = decide_thread(by_reference=old_end, by_thread=None, recent=None, customer_id="c1", now=NOW, reopen_window=WINDOW)
    assert d.action == "new_linked" and "past the reopen window" in d.reason


@given(status=st.sampled_from(list(TicketStatus)), writer=st.sampled_from(["c2", None]),
       how=st.sampled_from(["by_reference", "by_thread"]), days=st.integers(0, 60))
def test_another_customers_ticket_is_never_threaded_by_reference(status: TicketStatus, writer: str | None, how: str,
                                                                 days: int) -> None:
    """Whatever its status and age, a ticket of customer c1 never takes a message that names it but comes from
    someone else (a reference without any identity neither); only a channel thread key may carry an
    unidentified writer."""
    owned = _conv_ticket("c1", status, ended=NOW - timedelta(days=days))
    d: ThreadDecision = decide_thread(**{"by_reference": None, "by_thread": None, "recent": None, how: owned},
                                      customer_id=writer, now=NOW, reopen_window=WINDOW)
    if how == "by_thread" and writer is None:
        assert d.action in ("thread", "reopen", "new_linked")
    else:
        assert d.action == "flagged" and d.threaded_by is None
