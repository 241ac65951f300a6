from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import (
    Category,
    Channel,
    CustomerTier,
    Module,
    Priority,
    TicketClassified,
    TicketClassifiedPayload,
)
from contracts.events import ClassificationExplanation
from dispatcher import domain
from dispatcher.domain import AssignmentStatus, Position, StaffMember, Team

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
SEED = Path(domain.__file__).with_name("seed_staff.json")


def member(staff_id: str, team: Team = Team.SPECIALIST, role: Position = Position.AGENT, *,
           open_count: int = 0, capacity: int = 5, on_duty: bool = True,
           channels: list[Channel] | None = None) -> StaffMember:
    return StaffMember(staff_id=staff_id, name=f"员工{staff_id}", role=role, team=team, open_count=open_count,
                       capacity=capacity, on_duty=on_duty, channels=channels or [])


def request(category: Category = Category.AFTER_SALES, module: Module = Module.LOGISTICS,
            priority: Priority = Priority.P3, channel: Channel = Channel.EMAIL,
            tier: CustomerTier = CustomerTier.NORMAL, at: datetime = NOW) -> domain.RoutingRequest:
    return domain.RoutingRequest(ticket_id="t1", ticket_no="GD20261125001", correlation_id="t1",
                                 category=category, module=module, priority=priority, channel=channel,
                                 customer_tier=tier, classified_at=at)


def ids(plan: domain.RoutingPlan) -> list[str]:
    return [c.staff_id for c in plan.candidates]


# ----------------------------------------------------------------------------- team rules
@pytest.mark.parametrize(("category", "module", "team"), [
    (Category.PRE_SALES, Module.PRODUCT, Team.FRONTLINE),
    (Category.PRE_SALES, Module.TECHNICAL, Team.FRONTLINE),
    (Category.AFTER_SALES, Module.LOGISTICS, Team.SPECIALIST),
    (Category.AFTER_SALES, Module.AFTER_SALES, Team.SPECIALIST),
    (Category.AFTER_SALES, Module.TECHNICAL, Team.TECH),
    (Category.COMPLAINT, Module.TECHNICAL, Team.COMPLAINTS),
    (Category.REQUIREMENT, Module.PRODUCT, Team.PRODUCT),
    (Category.OTHER, Module.LOGISTICS, Team.FRONTLINE),
])
def test_team_by_category_and_module(category: Category, module: Module, team: Team) -> None:
    assert domain.team_for(category, module) == team


@pytest.mark.parametrize(("priority", "tier", "senior"), [
    (Priority.P1, CustomerTier.NORMAL, True),
    (Priority.P2, CustomerTier.NORMAL, True),
    (Priority.P3, CustomerTier.NORMAL, False),
    (Priority.P4, CustomerTier.NORMAL, False),
    (Priority.P3, CustomerTier.VIP, True),
    (Priority.P4, CustomerTier.KEY_ACCOUNT, True),
])
def test_who_prefers_senior_agents(priority: Priority, tier: CustomerTier, senior: bool) -> None:
    assert domain.prefers_senior(priority, tier) is senior


# ----------------------------------------------------------------------------- choosing an agent
def test_lowest_load_ratio_wins_then_fewer_open_then_staff_id() -> None:
    roster = [
        member("S3", open_count=2, capacity=4),  # 50 %
        member("S2", open_count=1, capacity=4),  # 25 %
        member("S1", open_count=2, capacity=8),  # 25 %, but more open tickets than S2
        member("S0", open_count=1, capacity=4),  # same as S2: staff id decides
    ]
    assert ids(domain.plan_routing(request(), roster)) == ["S0", "S2", "S1", "S3"]


def test_only_eligible_staff_are_candidates() -> None:
    roster = [
        member("OK"),
        member("FULL", open_count=5, capacity=5),
        member("OFF", on_duty=False),
        member("SUP", role=Position.SUPERVISOR),
        member("NOCAP", capacity=0),
        member("PHONE", channels=[Channel.PHONE]),
        member("MAIL", channels=[Channel.EMAIL, Channel.PHONE]),
        member("TECH", team=Team.TECH),
    ]
    assert ids(domain.plan_routing(request(channel=Channel.EMAIL), roster)) == ["MAIL", "OK"]


def test_p1_and_p2_prefer_senior_agents_even_when_busier() -> None:
    roster = [member("A1", open_count=0), member("SR", Team.SPECIALIST, Position.SENIOR_AGENT, open_count=3)]
    assert ids(domain.plan_routing(request(priority=Priority.P1), roster)) == ["SR", "A1"]
    assert ids(domain.plan_routing(request(priority=Priority.P2), roster)) == ["SR", "A1"]
    assert ids(domain.plan_routing(request(priority=Priority.P3), roster)) == ["A1", "SR"]
    assert ids(domain.plan_routing(request(tier=CustomerTier.VIP), roster)) == ["SR", "A1"]


def test_full_senior_agents_leave_the_ticket_to_agents() -> None:
    roster = [member("SR", role=Position.SENIOR_AGENT, open_count=5, capacity=5), member("A1", open_count=4)]
    plan = domain.plan_routing(request(priority=Priority.P1), roster)
    assert ids(plan) == ["A1"]
    reason = domain.explain_assignment(plan, request(priority=Priority.P1), plan.candidates[0], [])
    assert "no senior agent free" in reason


def test_frontline_is_the_fallback_after_the_team() -> None:
    roster = [member("F1", Team.FRONTLINE), member("T1", Team.TECH, open_count=4),
              member("T2", Team.TECH, capacity=0)]
    plan = domain.plan_routing(request(module=Module.TECHNICAL), roster)
    assert plan.team == Team.TECH
    assert ids(plan) == ["T1", "F1"]
    assert [c.fallback for c in plan.candidates] == [False, True]
    only_frontline = domain.plan_routing(request(module=Module.TECHNICAL), roster[:1])
    reason = domain.explain_assignment(only_frontline, request(), only_frontline.candidates[0], [])
    assert "no eligible agent in tech, frontline fallback" in reason


def test_frontline_tickets_are_not_listed_twice() -> None:
    roster = [member("F1", Team.FRONTLINE), member("F2", Team.FRONTLINE, open_count=1)]
    assert ids(domain.plan_routing(request(category=Category.PRE_SALES), roster)) == ["F1", "F2"]


def test_nobody_eligible_means_the_ticket_waits() -> None:
    roster = [member("A1", open_count=5), member("F1", Team.FRONTLINE, on_duty=False)]
    plan = domain.plan_routing(request(), roster)
    assert plan.candidates == []
    text = domain.explain_queued(plan, request(), [])
    assert "candidates: none" in text and "waiting in the specialist queue" in text


def test_explanation_names_team_rule_candidates_and_choice() -> None:
    roster = [member("SR", role=Position.SENIOR_AGENT, open_count=1), member("A1")]
    req = request(priority=Priority.P2)
    plan = domain.plan_routing(req, roster)
    reason = domain.explain_assignment(plan, req, plan.candidates[0], ["X9"])
    assert reason.startswith("team specialist (after_sales/logistics → specialist)")
    assert "P2 prefers senior agents" in reason
    assert "SR senior_agent 1/5" in reason and "A1 agent 0/5" in reason
    assert "taken meanwhile: X9" in reason
    assert reason.endswith("chosen SR 员工SR (1/5 before): senior agent with the lowest load")


def test_explanation_lists_a_bounded_number_of_candidates() -> None:
    roster = [member(f"A{i:02d}") for i in range(20)]
    plan = domain.plan_routing(request(), roster)
    text = domain.explain_queued(plan, request(), [])
    assert f"+{20 - domain.MAX_EXPLAINED_CANDIDATES} more" in text
    assert "A19" not in text


def test_resumed_slot_is_not_counted_twice() -> None:
    holder = member("A1", open_count=3)
    plan = domain.plan_routing(request(), [holder])
    resumed = domain.resumed_candidate(holder, plan)
    assert resumed.resumed and resumed.open_count == 2 and not resumed.fallback
    assert "interrupted attempt" in domain.explain_assignment(plan, request(), resumed, [])


staff_strategy = st.builds(
    member,
    st.text("ABCDEFGH0123", min_size=1, max_size=4),
    st.sampled_from(list(Team)),
    st.sampled_from(list(Position)),
    open_count=st.integers(0, 8),
    capacity=st.integers(0, 8),
    on_duty=st.booleans(),
    channels=st.lists(st.sampled_from(list(Channel)), max_size=3, unique=True),
)


@given(
    st.lists(staff_strategy, max_size=25, unique_by=lambda m: m.staff_id),
    st.sampled_from(list(Category)), st.sampled_from(list(Module)), st.sampled_from(list(Priority)),
    st.sampled_from(list(Channel)),
)
def test_plan_properties(roster: list[StaffMember], category: Category, module: Module, priority: Priority,
                         channel: Channel) -> None:
    req = request(category=category, module=module, priority=priority, channel=channel)
    plan = domain.plan_routing(req, roster)
    by_id = {m.staff_id: m for m in roster}
    chosen_ids = ids(plan)
    assert len(chosen_ids) == len(set(chosen_ids))
    for c in plan.candidates:
        m = by_id[c.staff_id]
        assert m.on_duty and m.role != Position.SUPERVISOR and m.open_count < m.capacity and m.serves(channel)
        assert m.team == (Team.FRONTLINE if c.fallback else plan.team)
    fallbacks = [c.fallback for c in plan.candidates]
    assert fallbacks == sorted(fallbacks)  # the team's agents always come before the fallback
    own = [by_id[c.staff_id] for c in plan.candidates if not c.fallback]
    assert own == sorted(own, key=lambda m: domain.rank_key(m, plan.prefer_senior))
    assert {m.staff_id for m in own} == {m.staff_id for m in domain.eligible(roster, plan.team, channel)}
    if own and not plan.prefer_senior:
        best = min(own, key=lambda m: m.load)
        assert own[0].load == best.load  # nobody with a lower load ratio was passed over


# ----------------------------------------------------------------------------- assignments
def _assignment(**update: object) -> domain.Assignment:
    return domain.claim(request(), NOW).model_copy(update=update)


def test_claim_starts_routing_with_the_routed_team() -> None:
    a = domain.claim(request(module=Module.TECHNICAL, priority=Priority.P2), NOW)
    assert a.status == AssignmentStatus.ROUTING and a.team == Team.TECH and a.priority_rank == 2
    assert a.waiting_since == NOW and a.agent_id is None


def test_from_event_keeps_milliseconds_like_mongodb() -> None:
    event = TicketClassified.new(
        TicketClassifiedPayload(
            ticket_id="t1", ticket_no="GD20261125001", category=Category.OTHER, module=Module.PRODUCT,
            priority=Priority.P4, confidence=0.5, classifier_version="v", channel=Channel.SOCIAL,
            explanation=ClassificationExplanation(method="default"), classified_at=NOW,
        ),
        correlation_id="corr-1", producer="classifier", occurred_at=NOW.replace(microsecond=123456),
    )
    req = domain.RoutingRequest.from_event(event)
    assert req.classified_at.microsecond == 123000 and req.correlation_id == "corr-1"


def test_newer_classification_reroutes_a_waiting_ticket_only() -> None:
    queued = _assignment(status=AssignmentStatus.QUEUED)
    later = request(category=Category.COMPLAINT, priority=Priority.P1, at=NOW + timedelta(minutes=5))
    updated = domain.reclassify(queued, later, NOW + timedelta(minutes=6))
    assert updated is not None
    assert updated.team == Team.COMPLAINTS and updated.priority_rank == 1 and updated.revision == 1
    assert updated.waiting_since == queued.waiting_since  # keeps its place in the age order
    assert domain.reclassify(queued, request(at=NOW), NOW) is None  # duplicate
    assert domain.reclassify(queued, request(at=NOW - timedelta(seconds=1)), NOW) is None  # older, late
    assert domain.reclassify(_assignment(status=AssignmentStatus.ASSIGNED), later, NOW) is None
    assert domain.reclassify(_assignment(status=AssignmentStatus.RELEASED), later, NOW) is None


def test_ticket_number_mismatch_is_a_domain_error() -> None:
    with pytest.raises(domain.DomainError) as err:
        domain.check_same_ticket(_assignment(), request().model_copy(update={"ticket_no": "GD20261125999"}))
    assert err.value.code == "ticket_no_mismatch"
    domain.check_same_ticket(_assignment(), request())


def test_assign_builds_the_event() -> None:
    a = _assignment(correlation_id="corr-9", priority=Priority.P2)
    plan = domain.plan_routing(request(), [member("F1", Team.FRONTLINE)])
    updated, event = domain.assign(a, plan, plan.candidates[0], "why", NOW)
    assert updated.status == AssignmentStatus.ASSIGNED
    assert updated.agent_id == "F1" and updated.team == Team.FRONTLINE
    assert event.event_type == "ticket.assigned" and event.producer == "dispatcher"
    assert event.correlation_id == "corr-9" and event.occurred_at == NOW
    p = event.payload
    assert (p.agent_id, p.agent_name, p.team) == ("F1", "员工F1", "frontline")
    assert (p.priority, p.reason) == (Priority.P2, "why")


def test_finished_before_classification_is_remembered() -> None:
    tomb = domain.finished_unrouted("t9", "GD20261125009", "t9", "ticket.closed", NOW)
    assert tomb.status == AssignmentStatus.RELEASED and tomb.agent_id is None
    assert tomb.release_reason == "ticket.closed"
    with pytest.raises(domain.DomainError):
        tomb.request()


@given(st.lists(st.tuples(st.sampled_from(list(Priority)), st.integers(0, 10_000)), min_size=1, max_size=30))
def test_queue_order_is_priority_then_age(entries: list[tuple[Priority, int]]) -> None:
    waiting = [
        _assignment(ticket_id=f"t{i}", priority=p, priority_rank=p.rank,
                    waiting_since=NOW + timedelta(seconds=s))
        for i, (p, s) in enumerate(entries)
    ]
    ordered = sorted(waiting, key=domain.queue_key)
    for first, second in zip(ordered, ordered[1:], strict=False):
        assert first.priority_rank <= second.priority_rank
        if first.priority_rank == second.priority_rank:
            assert first.waiting_since <= second.waiting_since


def test_frontline_slots_serve_every_queue() -> None:
    assert set(domain.drain_teams(Team.FRONTLINE)) == set(Team)
    assert domain.drain_teams(Team.TECH) == [Team.TECH]


# ----------------------------------------------------------------------------- roster file
def test_shipped_roster_covers_every_team() -> None:
    roster = domain.parse_roster(SEED.read_text(encoding="utf-8"))
    assert 10 <= len(roster) <= 20
    for team in Team:
        people = [m for m in roster if m.team == team]
        assert any(m.role == Position.SUPERVISOR for m in people), team
        assert any(m.role in domain.WORKING_POSITIONS for m in people), team
    assert sum(m.role == Position.SENIOR_AGENT for m in roster) >= 3
    assert all(m.open_count == 0 for m in roster)


def _roster_text(*staff: dict[str, object]) -> str:
    return json.dumps({"staff": list(staff)})


def test_roster_file_is_validated() -> None:
    sup = {"staff_id": "S1", "name": "主管甲", "role": "supervisor", "team": "frontline"}
    agent = {"staff_id": "A1", "name": "客服乙", "role": "agent", "team": "frontline", "supervisor_id": "S1"}
    assert [m.staff_id for m in domain.parse_roster(_roster_text(sup, agent))] == ["S1", "A1"]
    bad = [
        _roster_text(sup, sup),  # duplicate id
        _roster_text({**agent, "supervisor_id": "NOPE"}),  # unknown supervisor
        _roster_text(sup, {**agent, "supervisor_id": "A1"}),  # not a supervisor
        _roster_text({**agent, "supervisor_id": None, "capcity": 3}),  # typo
        _roster_text({**agent, "supervisor_id": None, "channels": ["pigeon"]}),
        _roster_text({**agent, "supervisor_id": None, "capacity": -1}),
        _roster_text({**agent, "supervisor_id": None, "team": "sales"}),
        _roster_text(),
        "not json",
    ]
    for text in bad:
        with pytest.raises(ValidationError):
            domain.parse_roster(text)


# ----------------------------------------------------------------------------- skills, reopen, exclusions
def test_skill_tags_rank_before_load_but_after_seniority() -> None:
    a1 = member("A1").model_copy(update={"skills": ["退换货"]})
    a0 = member("A0")
    sr = member("SR", role=Position.SENIOR_AGENT, open_count=3)
    req = request().model_copy(update={"tags": ["退换货"]})
    assert ids(domain.plan_routing(req, [a0, a1])) == ["A1", "A0"]  # skill beats lower staff id
    p1 = req.model_copy(update={"priority": Priority.P1})
    assert ids(domain.plan_routing(p1, [a0, a1, sr])) == ["SR", "A1", "A0"]
    reason = domain.explain_assignment(domain.plan_routing(req, [a0, a1]), req,
                                       domain.plan_routing(req, [a0, a1]).candidates[0], [])
    assert "matches 1 skill tag(s)" in reason and "skills 退换货" in reason


def test_disabled_and_excluded_staff_never_get_tickets_and_preferred_comes_first() -> None:
    gone = member("GONE").model_copy(update={"active": False})
    roster = [member("A1"), member("A2", open_count=2), gone, member("F1", Team.FRONTLINE, open_count=4)]
    req = request().model_copy(update={"excluded_agents": ["A1"]})
    assert ids(domain.plan_routing(req, roster)) == ["A2", "F1"]
    back = request().model_copy(update={"preferred_agent_id": "F1"})
    plan = domain.plan_routing(back, roster)
    assert ids(plan) == ["F1", "A1", "A2"] and plan.candidates[0].preferred
    assert "previous agent" in domain.explain_assignment(plan, back, plan.candidates[0], [])
    off = request().model_copy(update={"preferred_agent_id": "GONE"})
    assert ids(domain.plan_routing(off, roster)) == ["A1", "A2", "F1"]
    moved = request().model_copy(update={"team_override": Team.FRONTLINE})
    assert domain.plan_routing(moved, roster).team == Team.FRONTLINE


@pytest.mark.parametrize(("password", "ok"), [
    ("Abc123!x", True), ("长密码abc1!", True), ("short1!", False), ("abcdefgh1", False),
    ("abcdefgh!", False), ("12345678!", False), ("CS2024015x!", False),
])
def test_password_policy(password: str, ok: bool) -> None:
    assert (domain.password_problems(password, "CS2024015") == []) is ok


def test_lockout_and_roles() -> None:
    policy = domain.LockoutPolicy(max_failures=3, lock_seconds=60)
    assert domain.after_failure(2, policy, NOW) is None
    assert domain.after_failure(3, policy, NOW) == NOW + timedelta(seconds=60)
    assert domain.is_locked(NOW + timedelta(seconds=1), NOW) and not domain.is_locked(NOW, NOW)
    assert domain.roles_of(member("X", role=Position.SENIOR_AGENT)) == {domain.StaffRole.AGENT}
    assert domain.roles_of(member("X", role=Position.ADMIN)) == {domain.StaffRole.ADMIN}


def test_supervisor_chain_stops_at_cycles_and_depth() -> None:
    a = member("A").model_copy(update={"supervisor_id": "S1"})
    s1 = member("S1", role=Position.SUPERVISOR).model_copy(update={"supervisor_id": "S2"})
    s2 = member("S2", role=Position.SUPERVISOR).model_copy(update={"supervisor_id": "S1"})
    assert domain.supervisor_chain(a, {"A": a, "S1": s1, "S2": s2}) == ["S1", "S2"]


def _assigned(agent: str = "A1") -> domain.Assignment:
    return _assignment(status=AssignmentStatus.ASSIGNED, agent_id=agent, agent_name="x", assigned_at=NOW)


def test_acknowledge_once_and_only_by_the_assignee() -> None:
    updated, event = domain.acknowledge(_assigned(), "A1", NOW)
    assert updated.acknowledged_at == NOW and event.payload.agent_id == "A1"
    assert domain.acknowledge(updated, "A1", NOW) is None
    for a, who, code in [(_assigned(), "B2", "not_your_ticket"), (_assignment(), "A1", "not_assigned")]:
        with pytest.raises(domain.DomainError) as err:
            domain.acknowledge(a, who, NOW)
        assert err.value.code == code


def test_transfers() -> None:
    a = _assigned()
    target = member("T1", Team.TECH, open_count=1)
    with pytest.raises(domain.DomainError):
        domain.check_transfer(a, "B2", False, target)
    for bad, code in [(member("A1"), "same_agent"), (member("T2", on_duty=False), "agent_off_duty"),
                      (member("T3", open_count=5), "agent_full"), (member("T4", role=Position.SUPERVISOR), "not_an_agent")]:
        with pytest.raises(domain.DomainError) as err:
            domain.check_transfer(a, "A1", False, bad)
        assert err.value.code == code
    domain.check_transfer(a, "SUP", True, target)
    moved, events = domain.transfer_to_agent(a, target, domain.TransferKind.TRANSFER, "beyond authority", "A1", NOW)
    assert moved.agent_id == "T1" and moved.previous_agent_id == "A1" and moved.transfer_count == 1
    assert [e.event_type for e in events] == ["ticket.transferred", "ticket.assigned"]
    assert events[1].payload.previous_agent_id == "A1" and moved.acknowledged_at is None
    routed, event = domain.transfer_to_team(a, Team.TECH, domain.TransferKind.UNACKNOWLEDGED, "late", "system", NOW)
    assert routed.status == AssignmentStatus.ROUTING and routed.excluded_agents == ["A1"]
    assert routed.team == Team.TECH and event.payload.to_team == "tech" and routed.request().team_override == Team.TECH


def test_reopen_only_newer_and_finished() -> None:
    done = _assigned().model_copy(update={"status": AssignmentStatus.RELEASED})
    again = domain.reopen(done, 1, None, "unresolved", NOW, NOW)
    assert again is not None and again.preferred_agent_id == "A1" and again.status == AssignmentStatus.ROUTING
    assert domain.reopen(again.model_copy(update={"status": AssignmentStatus.RELEASED}), 1, None, "x", NOW, NOW) is None
    assert domain.reopen(_assigned(), 2, None, "x", NOW, NOW) is None


def test_breach_escalates_to_the_supervisor_chain() -> None:
    from contracts import SlaBreached, SlaBreachedPayload, SlaTarget

    def breach(count: int) -> SlaBreached:
        return SlaBreached.new(SlaBreachedPayload(
            ticket_id="t1", ticket_no="GD1", target=SlaTarget.RESOLUTION, deadline=NOW, priority=Priority.P2,
            policy_version=1, overdue_seconds=4000, breach_count=count), correlation_id="c", producer="sla")
    first = domain.notes_for_breach(breach(1), "A1", ["S1", "S2"])
    assert [(n.recipient, n.urgent) for n in first] == [("A1", False), ("S1", True)]
    assert "1h06m" in first[0].body
    assert [n.recipient for n in domain.notes_for_breach(breach(2), "A1", ["S1", "S2"])] == ["A1", "S1", "S2"]


@given(st.integers(1, 30), st.floats(0.1, 100))
def test_retry_backoff_grows_and_is_capped(attempts: int, base: float) -> None:
    d1, d2 = domain.retry_delay(attempts, base), domain.retry_delay(attempts + 1, base)
    assert timedelta(0) < d1 <= d2 <= timedelta(hours=1)


def test_my_queue_orders_by_sla_due_then_priority() -> None:
    a = _assigned().model_copy(update={"ticket_id": "a", "priority_rank": 1})
    b = _assigned().model_copy(update={"ticket_id": "b", "priority_rank": 4, "sla_due_at": NOW + timedelta(hours=2)})
    c = _assigned().model_copy(update={"ticket_id": "c", "priority_rank": 3, "sla_due_at": NOW + timedelta(hours=1)})
    assert [x.ticket_id for x in sorted([a, b, c], key=domain.my_queue_key)] == ["c", "b", "a"]


# ----------------------------------------------------------------------------- customer replies
def test_a_customer_reply_goes_to_our_assignee_else_the_team() -> None:
    assigned = _assigned("A1")  # team specialist (after-sales / logistics)
    assert domain.reply_target(assigned, "B2") == ("A1", Team.SPECIALIST)  # our record beats the event
    assert domain.reply_target(_assignment(status=AssignmentStatus.QUEUED), "B2") == (None, Team.SPECIALIST)
    assert domain.reply_target(_assignment(), None) == (None, Team.SPECIALIST)  # still routing
    released = assigned.model_copy(update={"status": AssignmentStatus.RELEASED})
    assert domain.reply_target(released, "B2") == ("A1", Team.SPECIALIST)  # the agent a reopening goes back to
    never_routed = domain.finished_unrouted("t1", "GD20261125001", "t1", "ticket.closed", NOW)
    assert domain.reply_target(never_routed, "B2") == ("B2", None)
    assert domain.reply_target(never_routed, None) == (None, None)
    assert domain.reply_target(None, "B2") == ("B2", None) and domain.reply_target(None, None) == (None, None)


def test_customer_reply_notes_carry_the_excerpt_and_facts() -> None:
    from contracts import TicketCustomerReplied, TicketCustomerRepliedPayload, TicketStatus

    event = TicketCustomerReplied.new(
        TicketCustomerRepliedPayload(ticket_id="t1", ticket_no="GD20261125001", message_id="m1", channel=Channel.SOCIAL,
                                     channel_message_id="wx-1", threaded_by="recent", excerpt="  还没收到退款  ",
                                     attachments=2, status=TicketStatus.IN_PROGRESS, assignee_id="A1", reply_count=3,
                                     replied_at=NOW),
        correlation_id="t1", producer="intake")
    [note] = domain.notes_for_customer_reply(event, ["A1", "A1"], unassigned=False)
    assert (note.kind, note.recipient, note.ticket_id, note.correlation_id) == ("ticket.customer_replied", "A1", "t1", "t1")
    assert note.subject == "工单 GD20261125001 客户回复" and note.body == "还没收到退款 [附件 2 个]"
    assert note.data == {"ticket_no": "GD20261125001", "excerpt": "还没收到退款", "channel": "social", "attachments": 2,
                         "reply_count": 3, "threaded_by": "recent", "status": "in_progress",
                         "replied_at": NOW.isoformat(), "message_id": "m1", "unassigned": False}
    silent = event.model_copy(update={"payload": event.payload.model_copy(update={"excerpt": "", "attachments": 0})})
    notes = domain.notes_for_customer_reply(silent, ["S1", "S2"], unassigned=True)
    assert [n.recipient for n in notes] == ["S1", "S2"] and notes[0].body == "（无文字内容）"
    assert notes[0].subject.endswith("（未分配）")
