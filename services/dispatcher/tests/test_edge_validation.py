"""Regressions found by the abuse suite (tests/abuse, schemathesis): requests that used to end in a 500."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import StaffRole
from servicekit.testing import auth_header

ADMIN = auth_header(StaffRole.ADMIN, staff_id="ADMIN1")


@pytest.mark.parametrize("field", ["name", "role", "team", "skills", "channels", "languages", "capacity",
                                   "on_duty", "active"])
async def test_staff_edit_refuses_null_for_a_required_field(small: dict[str, Any], field: str) -> None:
    """``{"role": null}`` was written to the member's record, which then failed to load: 500 on this and
    every later request about the member. Now 422 at the edge and the member is untouched."""
    client = small["client"]
    r = await client.patch("/api/v1/staff/C1", json={field: None}, headers=ADMIN)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert r.json()["error"]["details"][0]["loc"][-1] == field
    after = await client.get("/api/v1/staff/C1", headers=ADMIN)
    assert after.status_code == 200 and after.json()["role"] == "agent" and after.json()["team"] == "complaints"
    duty = await client.put("/api/v1/staff/C1/duty", json={"on_duty": False}, headers=ADMIN)
    assert duty.status_code == 200 and duty.json()["on_duty"] is False


async def test_staff_edit_still_clears_the_supervisor_with_null(small: dict[str, Any]) -> None:
    client = small["client"]
    r = await client.patch("/api/v1/staff/C1", json={"supervisor_id": None, "capacity": 2}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["supervisor_id"] is None and r.json()["capacity"] == 2
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["StaffUpdate"]["properties"]
    assert "anyOf" not in schema["role"] and schema["capacity"]["type"] == "integer"  # null is not offered
