"""The ticket as a conversation (issue 18): a customer's further messages find their ticket — by reference, by
the channel's thread, by the customer's recent open ticket — resume a paused ticket, reopen an ended one within
the window, open a new (linked or flagged) ticket otherwise; never lost, never doubled. Under TestRabbitBroker
with the in-memory store; the store's new queries also run on the real server (test_store_real.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import (
    StaffRole,
    TicketAssigned,
    TicketAssignedPayload,
    TicketCustomerReplied,
    TicketReopened,
    TicketResponded,
    TicketStatusChanged,
)
from servicekit.testing import auth_header, published

EMAIL = {"channel": "email", "channel_message_id": "<first@mail>", "subject": "耳机没声音",
         "description": "买的耳机左边没声音, 订单号 A123456789", "customer": {"email": "li@example.com"}}
CHAT = {"channel": "online_chat", "channel_message_id": "chat-s1-1", "subject": "",
        "description": "快递三天没动, 订单号 B987654321", "customer": {"chat_session_id": "s1"}}


async def open_ticket(running: dict[str, Any], sub: dict[str, Any]) -> dict[str, Any]:
    service = running["service"]
    from contracts import TicketSubmission

    result = await service.submit(TicketSubmission.model_validate(sub))
    return {"ticket_id": result.ticket.ticket_id, "ticket_no": result.ticket.ticket_no}


async def send(running: dict[str, Any], message: dict[str, Any]) -> Any:
    from contracts import CustomerMessage

    return await running["service"].receive_message(CustomerMessage.model_validate(message))


async def test_an_email_reply_with_the_ticket_number_lands_on_its_ticket(running: dict[str, Any]) -> None:
    t = await open_ticket(running, EMAIL)
    reply = {"channel": "email", "channel_message_id": "<reply1@mail>", "subject": f"Re: [{t['ticket_no']}] 耳机没声音",
             "text": "还是没声音, 附上截图", "customer": {"email": "li@example.com"},
             "attachments": [{"name": "shot.png", "url": "https://files.example/shot.png", "size_bytes": 1200}]}
    result = await send(running, reply)
    assert (result.action, result.threaded_by, result.ticket.ticket_id) == ("thread", "reference", t["ticket_id"])
    again = await send(running, reply)  # a redelivery: nothing doubled
    assert again.duplicate and again.ticket.ticket_id == t["ticket_id"]
    [event] = published(running["kit"], TicketCustomerReplied)
    p = event.payload
    assert (p.threaded_by, p.reply_count, p.attachments, p.channel.value) == ("reference", 1, 1, "email")
    ticket = await running["service"].store.get_ticket(t["ticket_id"])
    assert ticket.customer_messages == 1 and ticket.awaiting_reply_since is not None
    timeline = await running["service"].timeline(t["ticket_id"])
    [entry] = [e for e in timeline if e.kind == "customer_message"]
    assert entry.visibility == "customer" and entry.data["threaded_by"] == "reference"
    assert entry.data["attachments"][0]["name"] == "shot.png"


async def test_chat_lines_of_the_same_session_thread_and_an_agent_answer_clears_the_wait(
        running: dict[str, Any]) -> None:
    kit, client = running["kit"], running["client"]
    t = await open_ticket(running, CHAT)
    assigned = TicketAssigned.new(TicketAssignedPayload(ticket_id=t["ticket_id"], ticket_no=t["ticket_no"], agent_id="A1",
                                                        agent_name="A", team="t", priority="P3",
                                                        assigned_at=datetime.now(UTC)),
                                  correlation_id=t["ticket_id"], producer="dispatcher")
    await running["broker"].publish(assigned, exchange=kit.bus.events_exchange, routing_key=assigned.event_type)
    staff = auth_header(StaffRole.AGENT, staff_id="A1")
    assert (await client.post(f"/api/v1/tickets/{t['ticket_id']}/responses", json={"text": "我们查一下"},
                              headers=staff)).status_code == 200
    line = {"channel": "online_chat", "channel_message_id": "chat-s1-2", "text": "快递员还是没来",
            "thread_key": "s1", "customer": {"chat_session_id": "s1"}}
    await running["broker"].publish(line, queue=kit.bus.ns.messages_queue)  # the queue door
    ticket = (await client.get(f"/api/v1/tickets/{t['ticket_id']}", headers=staff)).json()
    assert ticket["customer_messages"] == 1 and ticket["awaiting_reply_since"]
    [replied] = published(kit, TicketCustomerReplied)
    assert replied.payload.threaded_by == "thread" and replied.payload.assignee_id == "A1"
    # the agent's next answer: ticket.responded (not the first) and the customer no longer waits
    assert (await client.post(f"/api/v1/tickets/{t['ticket_id']}/responses", json={"text": "已催快递"},
                              headers=staff)).status_code == 200
    responded = published(kit, TicketResponded)
    assert [r.payload.first_response for r in responded] == [True, False]
    ticket = (await client.get(f"/api/v1/tickets/{t['ticket_id']}", headers=staff)).json()
    assert ticket["awaiting_reply_since"] is None


async def test_a_call_from_the_same_caller_finds_the_recent_open_ticket(running: dict[str, Any]) -> None:
    phone = {"channel": "phone", "channel_message_id": "call-1", "description": "路由器坏了, 订单号 C555666777",
             "customer": {"phone": "13800138000"}}
    t = await open_ticket(running, phone)
    result = await send(running, {"channel": "phone", "channel_message_id": "call-2", "text": "我再打来问问进度",
                                  "customer": {"phone": "+86 138 0013 8000"}})
    assert (result.action, result.threaded_by, result.ticket.ticket_id) == ("thread", "recent", t["ticket_id"])
    # another caller's call is not theirs
    other = await send(running, {"channel": "phone", "channel_message_id": "call-3", "text": "我的电饭煲坏了",
                                 "customer": {"phone": "13700137000"}})
    assert other.action == "new" and other.ticket.ticket_id != t["ticket_id"]


async def test_a_reply_while_pending_customer_resumes_the_ticket(running: dict[str, Any]) -> None:
    kit, client = running["kit"], running["client"]
    t = await open_ticket(running, EMAIL)
    staff = auth_header(StaffRole.SUPERVISOR, staff_id="S1")
    r = await client.post(f"/api/v1/tickets/{t['ticket_id']}/status", json={"status": "in_progress"}, headers=staff)
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/tickets/{t['ticket_id']}/status",
                          json={"status": "pending_customer", "reason": "need the serial number"}, headers=staff)
    assert r.status_code == 200, r.text
    result = await send(running, {"channel": "email", "channel_message_id": "<reply2@mail>", "text": "SN12345678",
                                  "ticket_ref": t["ticket_no"], "customer": {"email": "li@example.com"}})
    assert result.ticket.status.value == "in_progress"
    changes = [(e.payload.from_status.value, e.payload.to_status.value) for e in published(kit, TicketStatusChanged)]
    assert changes[-1] == ("pending_customer", "in_progress")
    assert published(kit, TicketCustomerReplied)[-1].payload.status.value == "in_progress"


async def test_a_reply_to_a_closed_ticket_reopens_it_within_the_window_else_opens_a_linked_one(
        running: dict[str, Any]) -> None:
    service, kit = running["service"], running["kit"]
    t = await open_ticket(running, EMAIL)
    staff = auth_header(StaffRole.SUPERVISOR, staff_id="S1")
    client = running["client"]
    assert (await client.post(f"/api/v1/tickets/{t['ticket_id']}/status", json={"status": "in_progress"},
                              headers=staff)).status_code == 200
    assert (await client.post(f"/api/v1/tickets/{t['ticket_id']}/resolve", json={"summary": "换货"},
                              headers=staff)).status_code == 200
    result = await send(running, {"channel": "email", "channel_message_id": "<reply3@mail>", "text": "换的这个也坏了",
                                  "ticket_ref": t["ticket_no"], "customer": {"email": "li@example.com"}})
    assert (result.action, result.ticket.status.value) == ("reopen", "reopened")
    [reopened] = published(kit, TicketReopened)
    assert reopened.payload.source == "customer"
    assert published(kit, TicketCustomerReplied)[-1].payload.threaded_by == "reopened"
    # resolved and closed long ago: a new ticket linked to the old one
    r = await client.post(f"/api/v1/tickets/{t['ticket_id']}/resolve", json={"summary": "再次换货"}, headers=staff)
    assert r.status_code == 200, r.text
    assert (await client.post(f"/api/v1/tickets/{t['ticket_id']}/close", json={"reason": "done"},
                              headers=staff)).status_code == 200
    long_ago = datetime.now(UTC) - timedelta(days=60)
    await service.store.tickets.update_one({"_id": t["ticket_id"]}, {"$set": {"closed_at": long_ago}})
    late = await send(running, {"channel": "email", "channel_message_id": "<reply4@mail>", "text": "又坏了",
                                "ticket_ref": t["ticket_no"], "customer": {"email": "li@example.com"}})
    assert late.action == "new_linked" and late.ticket.ticket_id != t["ticket_id"]
    fresh = await service.store.get_ticket(late.ticket.ticket_id)
    assert fresh.linked_ticket_id == t["ticket_id"]
    notes = [e for e in await service.timeline(late.ticket.ticket_id) if e.kind == "threading"]
    assert notes and "past the reopen window" in notes[0].text


async def test_a_guessed_reference_to_another_customers_ticket_is_not_threaded(running: dict[str, Any]) -> None:
    t = await open_ticket(running, EMAIL)
    result = await send(running, {"channel": "email", "channel_message_id": "<guess@mail>",
                                  "subject": f"[{t['ticket_no']}]", "text": "我也要退款",
                                  "customer": {"email": "someone.else@example.com"}})
    assert result.action == "flagged" and result.ticket.ticket_id != t["ticket_id"]
    fresh = await running["service"].store.get_ticket(result.ticket.ticket_id)
    assert fresh.review_flags == ["reference_of_another_customer"]
    original = await running["service"].store.get_ticket(t["ticket_id"])
    assert original.customer_messages == 0  # nothing landed on the other customer's ticket


async def test_an_unknown_reference_opens_a_new_ticket_never_loses_the_message(running: dict[str, Any],
                                                                                keys: dict[str, str]) -> None:
    client = running["client"]
    body = {"channel": "email", "channel_message_id": "<lost@mail>", "ticket_ref": "GD20990101000001",
            "text": "上次的问题还没解决", "customer": {"email": "new.person@example.com"}}
    r = await client.post("/api/v1/messages", json=body, headers={"X-API-Key": keys["email"]})
    assert r.status_code == 201 and r.json()["action"] == "new", r.text
    again = await client.post("/api/v1/messages", json=body, headers={"X-API-Key": keys["email"]})
    assert again.json()["ticket_id"] == r.json()["ticket_id"] and again.json()["duplicate"]
    # the wrong channel's key, a missing key, malformed or huge input: clear 4xx
    assert (await client.post("/api/v1/messages", json=body, headers={"X-API-Key": keys["web_form"]})).status_code == 403
    assert (await client.post("/api/v1/messages", json=body)).status_code == 401
    huge = {**body, "channel_message_id": "<huge@mail>", "text": "x" * 20_001}
    bad = await client.post("/api/v1/messages", json=huge, headers={"X-API-Key": keys["email"]})
    assert bad.status_code == 422 and "text" in bad.text


async def test_a_malformed_message_on_the_queue_is_dead_lettered_with_a_reason(running: dict[str, Any]) -> None:
    kit, broker = running["kit"], running["broker"]
    await broker.publish({"channel": "email", "channel_message_id": "x"}, queue=kit.bus.ns.messages_queue)
    [dead] = broker.dead_letters
    assert dead["queue"] == kit.bus.ns.messages_queue and "text" in dead["headers"]["x-dead-letter-reason"]


async def test_an_agent_answer_goes_back_through_the_notifier_to_the_customers_channel(running: dict[str, Any]) -> None:
    sent: list[Any] = []

    class Recorder:
        async def send(self, notification: Any) -> None:
            sent.append(notification)

    running["service"].notifier = Recorder()
    t = await open_ticket(running, CHAT)
    staff = auth_header(StaffRole.SUPERVISOR, staff_id="S1")
    r = await running["client"].post(f"/api/v1/tickets/{t['ticket_id']}/responses", json={"text": "快递明天到"},
                                     headers=staff)
    assert r.status_code == 200
    [n] = sent
    assert (n.kind, n.channel, n.recipient, n.body) == ("ticket.reply", "webhook", r.json()["customer_id"], "快递明天到")
    assert n.subject.startswith(f"[{t['ticket_no']}]") and "online_chat:s1" in n.data["thread_keys"]
