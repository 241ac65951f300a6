"""Staff routes of the survey service: list, resend, per-agent CSAT, monthly comment issues, and the
server-rendered public page's form flow (without a browser)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts import Channel, StaffRole, SurveyCompleted, TicketResolved, TicketResolvedPayload
from servicekit.testing import auth_header, published

SUP = auth_header(StaffRole.SUPERVISOR, staff_id="SUP1")


def resolved(ticket_id: str, agent_id: str = "A1") -> TicketResolved:
    at = datetime.now(UTC).replace(microsecond=0)
    return TicketResolved.new(
        TicketResolvedPayload(ticket_id=ticket_id, ticket_no=f"GD20261125{ticket_id[-3:]}", agent_id=agent_id,
                              channel=Channel.EMAIL, customer_id="c1", customer_display="客户A-0001", resolved_at=at),
        correlation_id=ticket_id, producer="intake", occurred_at=at,
    )


async def answered(running: dict[str, Any], ticket_id: str, agent_id: str, answers: dict[str, str]) -> str:
    result = await running["service"].on_resolved(resolved(ticket_id, agent_id))
    r = await running["client"].post(f"/api/v1/public/surveys/{result.token}/answers", json=answers)
    assert r.status_code == 201, r.text
    return result.survey.survey_id


async def test_agent_csat_is_counted_for_the_workbench(running: dict[str, Any]) -> None:
    client = running["client"]
    await answered(running, "t001", "A1", {"speed": "very_fast", "resolution": "resolved", "attitude": "very_satisfied"})
    await answered(running, "t002", "A1", {"speed": "slow", "resolution": "unresolved", "attitude": "average"})
    await answered(running, "t003", "A2", {"speed": "fast", "resolution": "resolved", "attitude": "satisfied"})
    await running["service"].on_resolved(resolved("t004", "A1"))  # unanswered: not counted

    own = await client.get("/api/v1/agents/A1/csat", headers=auth_header(StaffRole.AGENT, staff_id="A1"))
    assert own.status_code == 200, own.text
    assert own.json() == {"agent_id": "A1", "surveys": 2, "average_csat": 3.3, "satisfied": 1,
                          "satisfaction_rate": 0.5, "unresolved": 1}  # (5.0 + 1.6) / 2
    other = await client.get("/api/v1/agents/A1/csat", headers=auth_header(StaffRole.AGENT, staff_id="A2"))
    assert other.status_code == 403
    assert (await client.get("/api/v1/agents/A1/csat", headers=SUP)).json()["surveys"] == 2
    none = await client.get("/api/v1/agents/A9/csat", headers=SUP)
    assert none.json()["surveys"] == 0 and none.json()["average_csat"] is None
    everyone = await client.get("/api/v1/agents/csat", headers=SUP)
    assert [(a["agent_id"], a["surveys"], a["average_csat"]) for a in everyone.json()] == [("A1", 2, 3.3), ("A2", 1, 4.5)]  # 0.2×4 + 0.5×5 + 0.3×4
    future = await client.get("/api/v1/agents/csat", headers=SUP, params={"from": "2099-01-01T00:00:00Z"})
    assert future.json() == []


async def test_supervisors_list_and_resend(running: dict[str, Any]) -> None:
    client, notifier = running["client"], running["notifier"]
    done = await answered(running, "t001", "A1", {"speed": "slow", "resolution": "unresolved", "attitude": "average"})
    open_one = (await running["service"].on_resolved(resolved("t002", "A2"))).survey.survey_id
    listed = await client.get("/api/v1/surveys", headers=SUP, params={"satisfied": "false"})
    assert [s["survey_id"] for s in listed.json()] == [done]
    assert listed.json()[0]["csat"] == 1.6 and listed.json()[0]["resolution"] == "unresolved"
    assert "token_hash" not in listed.text and "earlier_token_hashes" not in listed.text
    pending = await client.get("/api/v1/surveys", headers=SUP, params={"status": "pending"})
    assert [s["survey_id"] for s in pending.json()] == [open_one]

    before = len(notifier.sent)
    r = await client.post(f"/api/v1/surveys/{open_one}/resend", headers=SUP)
    assert r.status_code == 202 and r.json()["invitations_sent"] == 2
    assert len(notifier.sent) == before + 1 and notifier.sent[-1].recipient == "customer:c1"
    assert (await client.get(f"/api/v1/public/surveys/{notifier.token()}")).status_code == 200
    r = await client.post(f"/api/v1/surveys/{done}/resend", headers=SUP)
    assert r.status_code == 409 and r.json()["error"]["code"] == "survey_already_answered"
    r = await client.post(f"/api/v1/surveys/{'0' * 32}/resend", headers=SUP)
    assert r.status_code == 404


async def test_monthly_comment_issues_as_json_and_csv(running: dict[str, Any]) -> None:
    client = running["client"]
    bad = {"speed": "slow", "resolution": "partially", "attitude": "average"}
    await answered(running, "t001", "A1", {**bad, "comment": "快递太慢了，等了一周"})
    await answered(running, "t002", "A1", {**bad, "comment": "物流信息一直不更新，客服态度也不耐烦"})
    await answered(running, "t003", "A1", {**bad, "comment": "=HYPERLINK(\"x\") refund took ages"})
    await answered(running, "t004", "A1", {"speed": "fast", "resolution": "resolved", "attitude": "satisfied",
                                           "comment": "谢谢"})
    month = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    r = await client.get("/api/v1/reports/comment-issues", headers=SUP, params={"month": month})
    assert r.status_code == 200, r.text
    rows = {row["topic"]: row for row in r.json()}
    assert r.json()[0]["topic"] == "logistics" and rows["logistics"]["mentions"] == 2
    assert rows["logistics"]["unsatisfied"] == 2 and rows["logistics"]["share"] == 0.5
    assert rows["attitude"]["mentions"] == 1 and rows["refund"]["mentions"] == 1 and rows["other"]["mentions"] == 1
    c = await client.get("/api/v1/reports/comment-issues", headers=SUP, params={"month": month, "format": "csv"})
    assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
    assert f"survey-comment-issues-{month}.csv" in c.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(c.content.decode("utf-8-sig"))))
    assert table[0] == ["month", "topic", "label_zh", "label_en", "mentions", "unsatisfied", "share", "sample"]
    assert table[1][:5] == [month, "logistics", "物流配送", "Delivery & logistics", "2"]
    refund = next(row for row in table if row[1] == "refund")
    assert refund[7].startswith("'=")  # no formula injection into the ops team's spreadsheet
    empty = await client.get("/api/v1/reports/comment-issues", headers=SUP, params={"month": "2001-01"})
    assert empty.json() == []


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/v1/surveys", StaffRole.SUPERVISOR),
        ("POST", f"/api/v1/surveys/{'0' * 32}/resend", StaffRole.SUPERVISOR),
        ("GET", "/api/v1/agents/csat", StaffRole.SUPERVISOR),
        ("GET", "/api/v1/agents/A1/csat", StaffRole.AGENT),
        ("GET", "/api/v1/reports/comment-issues?month=2026-11", StaffRole.SUPERVISOR),
    ],
)
async def test_staff_routes_check_tokens_and_roles(running: dict[str, Any], method: str, path: str,
                                                   allowed: StaffRole) -> None:
    client = running["client"]
    r = await client.request(method, path)
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    r = await client.request(method, path, headers=auth_header(StaffRole.SUPERVISOR, expired=True))
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    wrong = [] if allowed == StaffRole.AGENT else [StaffRole.AGENT]
    r = await client.request(method, path, headers=auth_header(wrong, staff_id="A1"))
    assert r.status_code == 403
    r = await client.request(method, path, headers=auth_header(allowed, staff_id="A1"))
    assert r.status_code in (200, 404)


async def test_staff_routes_reject_bad_input(running: dict[str, Any]) -> None:
    client = running["client"]
    for path in ("/api/v1/reports/comment-issues?month=2026-13", "/api/v1/reports/comment-issues",
                 "/api/v1/reports/comment-issues?month=2026-11&format=xls", "/api/v1/surveys?status=lost",
                 "/api/v1/surveys?limit=0", "/api/v1/surveys?from=yesterday", "/api/v1/agents/csat?from=nope",
                 "/api/v1/surveys?from=2026-11-01T00:00:00"):
        r = await client.get(path, headers=SUP)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", path
    r = await client.post("/api/v1/surveys/not-an-id/resend", headers=SUP)
    assert r.status_code == 422
    r = await client.get("/api/v1/agents/bad%20id/csat", headers=SUP)
    assert r.status_code == 422


async def test_the_public_page_form_flow(running: dict[str, Any]) -> None:
    client, kit = running["client"], running["kit"]
    result = await running["service"].on_resolved(resolved("t001"))
    url = f"/s/{result.token}"
    page = await client.get(url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "服务满意度调研" in page.text and "GD20261125001" in page.text and "非常快" in page.text
    assert "客户A-0001" not in page.text and "c1" not in page.text.replace("lc1", "")
    assert page.headers["referrer-policy"] == "no-referrer" and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    english = await client.get(url, params={"lang": "en"})
    assert "Customer satisfaction survey" in english.text and "Fully solved" in english.text

    missing = await client.post(url, content="speed=fast&comment=%E5%BE%88%E5%A5%BD",
                                headers={"content-type": "application/x-www-form-urlencoded"})
    assert missing.status_code == 422 and "请回答全部三个问题" in missing.text
    assert "很好" in missing.text  # what the customer typed is kept
    assert published(kit, SurveyCompleted) == []

    form = "speed=slow&resolution=unresolved&attitude=unsatisfied&comment=%E6%B2%A1%E8%A7%A3%E5%86%B3"
    done = await client.post(url, content=form, headers={"content-type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200 and "工单已重新打开" in done.text
    [event] = published(kit, SurveyCompleted)
    assert event.payload.satisfied is False and event.payload.comment == "没解决"
    twice = await client.post(url, params={"lang": "en"}, content=form,
                              headers={"content-type": "application/x-www-form-urlencoded"})
    assert twice.status_code == 409 and "already been answered" in twice.text
    assert len(published(kit, SurveyCompleted)) == 1
    unknown = await client.get("/s/not-a-real-token")
    assert unknown.status_code == 404 and "链接无效" in unknown.text
