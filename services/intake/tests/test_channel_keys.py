"""Channel API keys over HTTP: missing, unknown, other channel's and revoked keys are refused."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from intake.app import IntakeSettings, create_app
from servicekit.testing import TEST_JWT_SECRET, running_app

LIVE = "web-form-live-key-0123456789"
REVOKED = "web-form-leaked-key-0123456"


def submission(cmid: str) -> dict[str, Any]:
    return {"channel": "web_form", "channel_message_id": cmid, "customer": {"phone": "13800138000"},
            "description": "无法登录账户"}


@pytest.mark.parametrize("revocation", [REVOKED, "sha256:" + hashlib.sha256(REVOKED.encode()).hexdigest()])
async def test_revoked_channel_key_is_refused_while_the_live_one_works(revocation: str) -> None:
    settings = IntakeSettings(jwt_secret=TEST_JWT_SECRET, log_format="text", customer_lookup_key="pepper",
                              channel_api_keys=f"web_form={LIVE},web_form={REVOKED}",
                              channel_api_keys_revoked=revocation)
    async with running_app(create_app(settings)) as running:
        client = running["client"]
        refused = await client.post("/api/v1/submissions", json=submission("k-1"), headers={"X-API-Key": REVOKED})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
        for headers, code in (({}, "missing_api_key"), ({"X-API-Key": "x" * 24}, "invalid_api_key")):
            r = await client.post("/api/v1/submissions", json=submission("k-1"), headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == code
        ok = await client.post("/api/v1/submissions", json=submission("k-1"), headers={"X-API-Key": LIVE})
        assert ok.status_code == 201
        supplement = await client.post("/api/v1/submissions/web_form/k-1/supplement", json={"order_number": "A1"},
                                       headers={"X-API-Key": REVOKED})
        assert supplement.status_code == 401
