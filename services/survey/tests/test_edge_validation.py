"""Regressions found by the abuse suite (tests/abuse, schemathesis): requests that used to end in a 500."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts import StaffRole
from servicekit.testing import auth_header
from survey import domain

SUP = auth_header(StaffRole.SUPERVISOR, staff_id="SUP1")


@pytest.mark.parametrize("month", ["0000-01", "0001-01", "9999-12", "1999-12"])
async def test_comment_issues_refuse_months_outside_the_supported_years(running: dict[str, Any], month: str) -> None:
    """``month=0000-01`` raised 'year 0 is out of range' (500); 0001-01 and 9999-12 overflow the time zone
    conversion. Years 2000-2999 only, 422 otherwise."""
    r = await running["client"].get("/api/v1/reports/comment-issues", headers=SUP, params={"month": month})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    with pytest.raises(ValueError):
        domain.month_range(month, ZoneInfo("Asia/Shanghai"))


async def test_comment_issues_edge_years_still_answer(running: dict[str, Any]) -> None:
    for month in ("2000-01", "2999-12"):
        r = await running["client"].get("/api/v1/reports/comment-issues", headers=SUP, params={"month": month})
        assert r.status_code == 200 and r.json() == []
        csv = await running["client"].get("/api/v1/reports/comment-issues", headers=SUP,
                                          params={"month": month, "format": "csv"})
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    documented = (await running["client"].get("/openapi.json")).json()["paths"]["/api/v1/reports/comment-issues"]
    assert "text/csv" in documented["get"]["responses"]["200"]["content"]
