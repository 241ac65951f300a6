"""Crisis mode in reporting (issue 19): incident.* events make the incident known (newest version wins,
whatever the order); ticket.incident_linked puts the ticket's fact on the incident; the panel and
``GET /reports/incidents/{id}`` count its tickets, open ones, breached ones and the average first response;
a rebuild from the log gives the same figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts import (
    Event,
    IncidentClosed,
    IncidentClosedPayload,
    IncidentMatch,
    IncidentOpened,
    IncidentOpenedPayload,
    IncidentSlaOverride,
    IncidentSpikeRef,
    IncidentUpdated,
    IncidentUpdatedPayload,
    StaffRole,
    TicketIncidentLinked,
    TicketIncidentLinkedPayload,
)
from reporting import testing as f
from reporting.testing import local
from servicekit.testing import auth_header

D1 = "2026-11-25"
SUPERVISOR = auth_header(StaffRole.SUPERVISOR, staff_id="S1")
IID = "INC-20261125-AB12"
STATE = {"incident_id": IID, "title": "物流延误", "match": IncidentMatch(categories=["complaint"]),
         "team": ["P1"], "reply_text": "抱歉", "sla": IncidentSlaOverride(first_response_minutes=15)}


def opened(when: datetime) -> Event:
    spike = IncidentSpikeRef(id=f"{D1}|category|complaint", day=D1, dimension="category", value="complaint")
    return IncidentOpened.new(IncidentOpenedPayload(**STATE, version=1, spike=spike, opened_by="SUP", opened_at=when),
                              correlation_id=IID, producer="dispatcher", occurred_at=when)


def updated(when: datetime) -> Event:
    return IncidentUpdated.new(IncidentUpdatedPayload(**{**STATE, "team": ["P1", "P2"]}, version=2, changed=["team"],
                                                      updated_by="SUP", updated_at=when),
                               correlation_id=IID, producer="dispatcher", occurred_at=when)


def closed(when: datetime) -> Event:
    return IncidentClosed.new(IncidentClosedPayload(incident_id=IID, title="物流延误", version=3, closed_by="SUP",
                                                    closed_at=when), correlation_id=IID, producer="dispatcher",
                              occurred_at=when)


def linked(tid: str, when: datetime) -> Event:
    return TicketIncidentLinked.new(
        TicketIncidentLinkedPayload(ticket_id=tid, ticket_no=f"GD20261125{tid[-3:]}", incident_id=IID,
                                    incident_title="物流延误", linked_at=when),
        correlation_id=f"corr-{tid}", producer="dispatcher", occurred_at=when)


async def deliver(running: dict[str, Any], *events: Event) -> None:
    kit, broker = running["kit"], running["broker"]
    for event in events:
        await broker.publish(event, exchange=kit.bus.events_exchange, routing_key=event.event_type)


async def test_incident_panel_figures(running: dict[str, Any]) -> None:
    client = running["client"]
    # the update arrives before the opening: the newer version wins, the opening's facts are still kept
    await deliver(running, updated(local(D1, 9, 30)), opened(local(D1, 9)))
    await deliver(running,
                  f.created("t001", local(D1, 10)), f.classified("t001", local(D1, 10, 1), category="complaint"),
                  linked("t001", local(D1, 10, 2)), linked("t001", local(D1, 10, 2)),
                  f.responded("t001", local(D1, 10, 10)), f.resolved("t001", local(D1, 11)),
                  f.created("t002", local(D1, 10)), linked("t002", local(D1, 10, 3)),
                  f.responded("t002", local(D1, 10, 30)), f.breached("t002", local(D1, 12)),
                  f.created("t003", local(D1, 10)), linked("t003", local(D1, 10, 4)),
                  f.created("t004", local(D1, 10)))  # not in the incident
    assert (await client.get("/api/v1/reports/incidents", headers=auth_header(StaffRole.AGENT))).status_code == 403
    [panel] = (await client.get("/api/v1/reports/incidents", headers=SUPERVISOR)).json()
    assert panel["incident_id"] == IID and panel["status"] == "open" and panel["version"] == 2
    assert panel["team"] == ["P1", "P2"] and panel["opened_by"] == "SUP" and panel["spike_id"].endswith("complaint")
    assert panel["figures"] == {"tickets": 3, "open": 2, "breached": 1, "resolved": 1,
                                "first_response_avg_min": 20.0}
    assert (await client.get(f"/api/v1/reports/incidents/{IID}", headers=SUPERVISOR)).json() == panel

    await deliver(running, closed(local(D1, 13)), updated(local(D1, 9, 30)))  # an old version changes nothing
    assert (await client.get("/api/v1/reports/incidents", headers=SUPERVISOR)).json() == []
    one = (await client.get(f"/api/v1/reports/incidents/{IID}", headers=SUPERVISOR)).json()
    assert one["status"] == "closed" and one["figures"]["tickets"] == 3
    assert (await client.get("/api/v1/reports/incidents/INC-NONE", headers=SUPERVISOR)).status_code == 404

    # a rebuild from the event log gives the same figures
    await running["service"].rebuild()
    again = (await client.get(f"/api/v1/reports/incidents/{IID}", headers=SUPERVISOR)).json()
    assert again["figures"] == one["figures"]


# ----------------------------------------------------------------------------- the dashboard page (Chromium)
def test_dashboard_shows_the_open_incident_panel(chromium: Any, artifacts_dir: Any) -> None:
    from reporting.app import ReportingSettings, create_app
    from servicekit.testing import TEST_JWT_SECRET, LiveServer, token

    async def prepare(running: dict[str, Any]) -> None:
        running["service"].clock = lambda: local(D1, 15)
        for event in (opened(local(D1, 9)), f.created("t001", local(D1, 10)), linked("t001", local(D1, 10, 2)),
                      f.responded("t001", local(D1, 10, 12)), f.created("t002", local(D1, 10)),
                      linked("t002", local(D1, 10, 3)), f.breached("t002", local(D1, 12))):
            await running["service"].record_raw(event.model_dump(mode="json"))

    settings = ReportingSettings(jwt_secret=TEST_JWT_SECRET, business_timezone="Asia/Shanghai", log_format="text")
    with LiveServer(create_app(settings), prepare=prepare) as live:
        context = chromium.new_context(viewport={"width": 1366, "height": 1400}, locale="zh-CN")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{live.url}/dashboard#token={token(StaffRole.SUPERVISOR, staff_id='S1')}")
        page.wait_for_selector("body[data-loaded='true']")
        [item] = page.locator("#incidents li").all_inner_texts()
        assert item == f"{IID} 物流延误 — 工单 2, 未结 2, 超时 1, 平均首响(分) 12"
        assert page.locator("[data-i18n='incidents']").inner_text() == "应急事件（进行中）"
        page.locator("#incidents").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / "reporting-dashboard-incidents.png"))
        page.click("#lang")
        assert page.locator("#incidents li").inner_text().endswith("tickets 2, open 2, breached 1, avg first response (min) 12")
        context.close()
    assert errors == []
