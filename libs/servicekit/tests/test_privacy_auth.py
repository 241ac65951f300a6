from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import StaffRole
from servicekit.auth import Principal, TokenService, channel_for_key, parse_channel_keys
from servicekit.errors import ApiError
from servicekit.privacy import mask_email, mask_id_number, mask_name, mask_phone, redact_text

SECRET = "s" * 40


@given(
    prefix=st.text(alphabet="你好请联系我订单 abc,.", max_size=20),
    mobile=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    suffix=st.text(alphabet="谢谢 xyz!", max_size=20),
)
def test_mobile_numbers_never_survive_redaction(prefix: str, mobile: str, suffix: str) -> None:
    assert mobile not in redact_text(f"{prefix}{mobile}{suffix}")


def test_redaction_of_emails_ids_and_cards() -> None:
    text = "邮箱 li.na@example.com 身份证 11010119900307451X 卡号 6222020202020202020 电话 010-12345678"
    out = redact_text(text)
    for raw in ("li.na@example.com", "11010119900307451X", "6222020202020202020", "010-12345678"):
        assert raw not in out
    assert redact_text("订单 A123 状态正常") == "订单 A123 状态正常"


def test_masks() -> None:
    assert mask_phone("13800138000") == "138****8000"
    assert mask_email("zhang@example.com") == "z***@example.com"
    assert mask_id_number("110101199003074512") == "110***********4512"
    assert mask_name("张三丰") == "张**"


def test_tokens_round_trip_and_expire() -> None:
    svc = TokenService(SECRET, issuer="helpdesk", audience="helpdesk-staff")
    p = Principal(staff_id="A1", name="Li", roles=frozenset({StaffRole.AGENT}), team="tech")
    assert svc.verify(svc.issue(p)) == p
    old = svc.issue(p, now=datetime.now(UTC) - timedelta(days=1))
    with pytest.raises(ApiError) as err:
        svc.verify(old)
    assert err.value.code == "token_expired"
    other = TokenService("o" * 40, issuer="helpdesk", audience="helpdesk-staff")
    with pytest.raises(ApiError):
        other.verify(svc.issue(p))
    wrong_aud = TokenService(SECRET, issuer="helpdesk", audience="someone-else")
    with pytest.raises(ApiError):
        wrong_aud.verify(svc.issue(p))


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError):
        TokenService("short", issuer="i", audience="a")


def test_channel_keys() -> None:
    keys = parse_channel_keys("email=email-key-0123456789, phone=phone-key-0123456789")
    assert channel_for_key(keys, "email-key-0123456789") == "email"
    for bad in (None, "", "unknown-key-0123456789"):
        with pytest.raises(ApiError):
            channel_for_key(keys, bad)
    with pytest.raises(ValueError):
        parse_channel_keys("email=short")
