"""Crisis mode (issue 19): ``ticket.incident_linked`` re-targets the ticket's clock with the incident's SLA
override — recorded as policy ``incident:<id>``, dues recomputed from the start in calendar minutes, once
(a redelivery or a second incident changes nothing), and a later classification keeps the override."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts import Channel, Event, IncidentSlaOverride, Priority, StaffRole, TicketIncidentLinked, TicketIncidentLinkedPayload
from servicekit.testing import auth_header
from sla_monitor import domain

from .conftest import T0, _ref, at, classified, created

AGENT = auth_header(StaffRole.AGENT)


def linked(incident: str, when: datetime, first: int | None, resolution: int | None, tid: str = "t001") -> TicketIncidentLinked:
    return TicketIncidentLinked.new(
        TicketIncidentLinkedPayload(**_ref(tid), incident_id=incident, incident_title="物流延误",
                                    sla=IncidentSlaOverride(first_response_minutes=first, resolution_minutes=resolution),
                                    linked_at=when),
        correlation_id=f"corr-{tid}", producer="dispatcher", occurred_at=when)


async def _publish(running: dict[str, Any], *events: Event) -> None:
    kit, broker = running["kit"], running["broker"]
    for event in events:
        await broker.publish(event, exchange=kit.bus.events_exchange, routing_key=event.event_type)


def _ts(minutes: float) -> str:
    return at(minutes).isoformat().replace("+00:00", "Z")


async def test_incident_link_retargets_the_clock_once(running: dict[str, Any]) -> None:
    link = linked("INC-20261206-AB12", at(2), first=15, resolution=240)
    await _publish(running, created(channel=Channel.EMAIL), classified(priority=Priority.P3, when=at(1)), link, link)
    clock = (await running["client"].get("/api/v1/clocks/t001", headers=AGENT)).json()
    assert clock["override"]["policy"] == "incident:INC-20261206-AB12"
    assert clock["first_response_target"] == {"minutes": 15, "business": False}
    assert clock["resolution_target"] == {"minutes": 240, "business": False}
    assert clock["first_response_due"] == _ts(15) and clock["resolution_due"] == _ts(240)  # from the start
    doc = await running["service"].store.clocks.find_one({"_id": "t001"})
    assert len(doc["applied_events"]) == 3  # the duplicate was not applied

    # a second incident never replaces the first; a later classification keeps the override
    await _publish(running, linked("INC-20261206-FFFF", at(5), first=5, resolution=None),
                   classified(priority=Priority.P2, when=at(6)))
    clock = (await running["client"].get("/api/v1/clocks/t001", headers=AGENT)).json()
    assert clock["override"]["policy"] == "incident:INC-20261206-AB12" and clock["priority"] == "P2"
    assert clock["first_response_due"] == _ts(15) and clock["resolution_due"] == _ts(240)


async def test_a_missing_target_keeps_the_policy_and_a_link_first_opens_a_provisional_clock(
        running: dict[str, Any]) -> None:
    await _publish(running, linked("INC-1", at(1), first=30, resolution=None, tid="t002"))
    clock = (await running["client"].get("/api/v1/clocks/t002", headers=AGENT)).json()
    assert clock["provisional"] is True and clock["override"]["first_response_minutes"] == 30
    assert clock["first_response_target"] == {"minutes": 30, "business": False}
    assert clock["resolution_target"]["business"] is True  # P3 policy target kept


def test_overridden_rule_is_pure() -> None:
    rule = domain.POLICY_V1.rule_for(Priority.P1)
    assert domain.overridden(rule, None) is rule
    o = domain.SlaOverride(policy="incident:X", resolution_minutes=60, at=T0)
    out = domain.overridden(rule, o)
    assert out.resolution == domain.Target(minutes=60) and out.first_response == rule.first_response
