from __future__ import annotations

from datetime import UTC, date, datetime

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
    ticket, event = domain.open_ticket(sub, ticket_id="t1", ticket_no="GD20261125001", customer=_customer(), now=NOW)
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
    ticket, event = domain.open_ticket(sub, ticket_id="t2", ticket_no="GD20261125002", customer=_customer(), now=NOW)
    assert ticket.status == TicketStatus.NEEDS_INFO
    assert event.payload.missing_fields == ["contact"]


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
