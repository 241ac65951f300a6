"""Channel API keys can be revoked: a revoked key is refused even while it is still configured."""

from __future__ import annotations

import hashlib

import pytest

from servicekit.auth import channel_for_key, parse_channel_keys, parse_revoked_keys
from servicekit.errors import ApiError

OLD, NEW, OTHER = "email-old-key-0123456789", "email-new-key-0123456789", "phone-key-0123456789ab"
SPEC = f"email={OLD},email={NEW},phone={OTHER}"


def test_a_channel_may_hold_two_keys_while_rotating() -> None:
    keys = parse_channel_keys(SPEC)
    assert channel_for_key(keys, OLD) == channel_for_key(keys, NEW) == "email"


@pytest.mark.parametrize("revoked", [OLD, f"sha256:{hashlib.sha256(OLD.encode()).hexdigest()}",
                                     f" sha256:{hashlib.sha256(OLD.encode()).hexdigest().upper()} ,"])
def test_revoked_key_is_refused_by_key_or_digest(revoked: str) -> None:
    keys = parse_channel_keys(SPEC, revoked)
    with pytest.raises(ApiError) as refused:
        channel_for_key(keys, OLD)
    assert refused.value.status == 401 and refused.value.code == "invalid_api_key"
    assert channel_for_key(keys, NEW) == "email" and channel_for_key(keys, OTHER) == "phone"


def test_revocation_list_is_checked() -> None:
    assert parse_revoked_keys("") == set() and parse_revoked_keys(" , ") == set()
    with pytest.raises(ValueError):
        parse_revoked_keys("sha256:not-hex")
    with pytest.raises(ValueError):
        parse_revoked_keys("sha256:" + "a" * 63)
    # revoking a key that is not configured changes nothing
    assert parse_channel_keys(SPEC, "never-configured-key-000") == parse_channel_keys(SPEC)
