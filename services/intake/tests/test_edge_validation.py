"""Regressions found by the abuse suite (tests/abuse, schemathesis): requests that used to end in a 500."""

from __future__ import annotations

from typing import Any

from contracts import StaffRole
from servicekit.testing import auth_header

SUPERVISOR = auth_header(StaffRole.SUPERVISOR, staff_id="SUP1")


async def test_customer_edit_with_null_source_clears_it_instead_of_breaking_the_record(
    running: dict[str, Any],
) -> None:
    """``{"source": null}`` was stored as is; the profile (source: str) then failed to load: 500 on the
    edit and on every later read of the customer. Null now clears the source like it clears other text."""
    client = running["client"]
    created = await client.post("/api/v1/customers", headers=SUPERVISOR,
                                json={"name": "赵六", "phone": "13700137000", "source": "电话咨询"})
    assert created.status_code == 201
    cid = created.json()["customer_id"]
    r = await client.patch(f"/api/v1/customers/{cid}", json={"source": None}, headers=SUPERVISOR)
    assert r.status_code == 200 and r.json()["source"] == ""
    assert (await client.get(f"/api/v1/customers/{cid}", headers=SUPERVISOR)).json()["source"] == ""
    changes = await client.get(f"/api/v1/customers/{cid}/changes", headers=SUPERVISOR)
    assert changes.status_code == 200
    newest = next(c for c in changes.json() if c["field"] == "source")  # newest first
    assert newest["after"] == "" and newest["operator"] == "SUP1"
