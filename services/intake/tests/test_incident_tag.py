"""Crisis mode (issue 19): intake keeps the incident tag the dispatcher gives a ticket (ticket.incident_linked),
once, with a line in the ticket's timeline; a redelivery or a second link changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts import StaffRole, TicketCreated, TicketIncidentLinked, TicketIncidentLinkedPayload
from servicekit.testing import auth_header, published

SUB = {"channel": "email", "channel_message_id": "mail-crisis-1", "subject": "物流延误",
       "description": "我要投诉，快递三天没有更新", "customer": {"name": "王五", "email": "wangwu@example.com"}}
SUPERVISOR = auth_header(StaffRole.SUPERVISOR, staff_id="SUP")


def linked(tid: str, tno: str, incident: str) -> TicketIncidentLinked:
    at = datetime.now(UTC)
    return TicketIncidentLinked.new(
        TicketIncidentLinkedPayload(ticket_id=tid, ticket_no=tno, incident_id=incident, incident_title="物流延误",
                                    linked_at=at), correlation_id=f"corr-{tid}", producer="dispatcher", occurred_at=at)


async def test_incident_tag_is_kept_once_with_a_timeline_line(running: dict[str, Any]) -> None:
    kit, broker, client = running["kit"], running["broker"], running["client"]
    await broker.publish(SUB, queue=kit.bus.ns.submissions_queue)
    [created] = published(kit, TicketCreated)
    tid, tno = created.payload.ticket_id, created.payload.ticket_no
    first = linked(tid, tno, "INC-20261206-AB12")
    for event in (first, first, linked(tid, tno, "INC-20261206-FFFF")):
        await broker.publish(event, exchange=kit.bus.events_exchange, routing_key=event.event_type)
    ticket = (await client.get(f"/api/v1/tickets/{tid}", headers=SUPERVISOR)).json()
    assert (ticket["incident_id"], ticket["incident_title"]) == ("INC-20261206-AB12", "物流延误")
    timeline = (await client.get(f"/api/v1/tickets/{tid}/timeline", headers=SUPERVISOR)).json()
    assert [e["data"]["incident_id"] for e in timeline if e["kind"] == "incident"] == ["INC-20261206-AB12"]
