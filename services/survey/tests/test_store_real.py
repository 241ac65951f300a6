"""Survey's store against the real MongoDB wire server (not the mock, which serialises every operation
in one process): its indexes build; a resolution event gets one survey even when its deliveries race
(``_id`` = the event), and a link-token entry keeps its first owner (``$setOnInsert`` upsert); the
pending-status compare-and-set lets exactly one of several racing answers or link rotations win, an
expired or superseded survey takes no answer, and the earlier-link list stays capped; datetimes come
back UTC-aware; the list queries sort and page as documented; the per-agent aggregation and the
comment query count what they should."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from contracts import Channel, SurveyAttitude, SurveyResolution, SurveySpeed, TicketResolved, TicketResolvedPayload
from survey import domain
from survey.domain import Survey, SurveyAnswers, SurveyStatus
from survey.store import MAX_EARLIER_TOKENS, SurveyStore

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TTL = timedelta(days=7)


def resolution(ticket_id: str = "t1", *, at: datetime = T0, agent_id: str | None = "A1") -> TicketResolved:
    return TicketResolved.new(
        TicketResolvedPayload(ticket_id=ticket_id, ticket_no="GD20261125001", agent_id=agent_id,
                              channel=Channel.ONLINE_CHAT, customer_id="c1", customer_display="客户A-0001",
                              resolved_at=at),
        correlation_id=ticket_id, producer="intake", occurred_at=at,
    )


def new_survey(ticket_id: str = "t1", *, now: datetime = T0, agent_id: str | None = "A1", token: str = "tok") -> Survey:
    event = resolution(ticket_id, at=now, agent_id=agent_id)
    return domain.open_survey(event, survey_id=domain.survey_id_for(str(event.event_id)),
                              token_hash=domain.hash_token(token), now=now, ttl=TTL)


def answers(resolved: SurveyResolution = SurveyResolution.RESOLVED, comment: str = "") -> SurveyAnswers:
    return SurveyAnswers(speed=SurveySpeed.FAST, resolution=resolved, attitude=SurveyAttitude.SATISFIED,
                         comment=comment)


async def answered(store: SurveyStore, survey: Survey, at: datetime, a: SurveyAnswers) -> bool:
    done, event = domain.complete(survey, a, now=at)
    return await store.complete(done, event, at)


async def test_one_survey_per_resolution_even_when_deliveries_race(real_db: Any) -> None:
    store = SurveyStore(real_db)
    await store.ensure_indexes()
    await store.ensure_indexes()  # a restarted replica runs it again
    names = set(await store.surveys.index_information())
    assert {"_id_", "ticket_created", "status_created", "agent_status", "completed_at"} <= names

    first = new_survey("t1")
    assert await store.insert_survey(first) is True
    assert await store.insert_survey(first.model_copy(update={"ticket_no": "OTHER"})) is False
    racing = new_survey("t2")
    won = await asyncio.gather(*(store.insert_survey(racing.model_copy(update={"token_hash": f"h{i}"}))
                                 for i in range(6)))
    assert sorted(won) == [False] * 5 + [True]
    assert await store.surveys.count_documents({}) == 2
    stored = await store.find_by_source_event(first.source_event_id)
    assert stored is not None and stored.ticket_no == "GD20261125001" and stored.survey_id == first.survey_id

    # a link-token entry keeps its first owner, also when the upserts race
    await asyncio.gather(*(store.add_token("hash-x", f"s{i}", T0 + timedelta(seconds=i)) for i in range(6)))
    entries = [d async for d in store.tokens.find({})]
    assert len(entries) == 1
    owner = entries[0]["survey_id"]
    await store.add_token("hash-x", "late", T0 + timedelta(days=1))
    assert await store.tokens.find_one({"_id": "hash-x"}) == entries[0]
    assert owner != "late" and entries[0]["created_at"].tzinfo is not None

    # an entry alone never opens a survey: the survey must accept the hash
    await store.add_token(first.token_hash, first.survey_id, T0)
    await store.add_token("stray", first.survey_id, T0)
    assert (await store.survey_by_token(first.token_hash)).survey_id == first.survey_id  # type: ignore[union-attr]
    assert await store.survey_by_token("stray") is None
    assert await store.survey_by_token("unknown") is None


async def test_racing_answers_complete_a_survey_once(real_db: Any) -> None:
    store = SurveyStore(real_db)
    survey = new_survey("t1")
    await store.insert_survey(survey)
    at = T0 + timedelta(hours=2)
    choices = [answers(SurveyResolution.RESOLVED, "good"), answers(SurveyResolution.UNRESOLVED, "bad"),
               answers(SurveyResolution.PARTIALLY, "meh")] * 2
    results = await asyncio.gather(*(answered(store, survey, at, a) for a in choices))
    assert sum(results) == 1
    winner = choices[results.index(True)]
    doc = await store.surveys.find_one({"_id": survey.survey_id})
    assert doc["status"] == "completed" and doc["comment"] == winner.comment and doc["completed_at"] == at
    assert doc["unresolved_n"] == (1 if winner.resolution == SurveyResolution.UNRESOLVED else 0)
    assert doc["satisfied_n"] == (1 if doc["satisfied"] else 0)
    assert len(doc["outbox"]) == 1 and doc["outbox"][0]["event"]["payload"]["comment"] == winner.comment
    assert await store.mark_superseded(survey.survey_id, at) is False  # answered: stays answered
    assert await store.rotate_token(survey.survey_id, survey.token_hash, "new", at) is False

    # a pending survey past its expiry takes no answer, and the sweep writes the expiry down once
    expired = new_survey("t3")
    await store.insert_survey(expired)
    after_expiry = expired.expires_at
    done, event = domain.complete(expired, answers(), now=after_expiry - timedelta(seconds=1))
    assert await store.complete(done, event, after_expiry) is False  # expires_at is exclusive
    swept = await asyncio.gather(*(store.mark_expired(after_expiry) for _ in range(3)))
    assert sum(swept) == 1
    assert (await store.get_survey(expired.survey_id)).status == SurveyStatus.EXPIRED  # type: ignore[union-attr]

    # superseded once, then never answerable
    old = new_survey("t4")
    await store.insert_survey(old)
    assert sorted(await asyncio.gather(*(store.mark_superseded(old.survey_id, at) for _ in range(4)))) \
        == [False, False, False, True]
    assert await answered(store, old, at, answers()) is False


async def test_link_rotation_is_compare_and_set_and_keeps_a_capped_history(real_db: Any) -> None:
    store = SurveyStore(real_db)
    survey = new_survey("t1", token="first")
    await store.insert_survey(survey)
    await store.add_token(survey.token_hash, survey.survey_id, T0)
    at = T0 + timedelta(minutes=1)
    rotated = await asyncio.gather(*(store.rotate_token(survey.survey_id, survey.token_hash, f"n{i}", at)
                                     for i in range(5)))
    assert sum(rotated) == 1
    current = await store.get_survey(survey.survey_id)
    assert current is not None and current.token_hash == f"n{rotated.index(True)}"
    assert current.earlier_token_hashes == [survey.token_hash] and current.last_attempt_at == at

    hashes = [current.token_hash]
    for i in range(MAX_EARLIER_TOKENS + 5):
        new = f"r{i:02d}"
        assert await store.rotate_token(survey.survey_id, hashes[-1], new, at) is True
        hashes.append(new)
    current = await store.get_survey(survey.survey_id)
    assert current is not None and current.token_hash == hashes[-1]
    assert current.earlier_token_hashes == hashes[-1 - MAX_EARLIER_TOKENS:-1]  # the newest 20, oldest dropped
    await store.add_token(hashes[-5], survey.survey_id, at)
    assert (await store.survey_by_token(hashes[-5])) is not None
    assert await store.survey_by_token(survey.token_hash) is None  # its entry exists, the survey no longer accepts it

    # invitations counted exactly, even when recorded concurrently
    await asyncio.gather(*(store.record_invitation(survey.survey_id, at, reminder=i == 0) for i in range(10)))
    current = await store.get_survey(survey.survey_id)
    assert current is not None and current.invitations_sent == 10 and current.reminded_at == at


async def test_datetimes_are_utc_and_lists_sort_and_page(real_db: Any) -> None:
    store = SurveyStore(real_db)
    await store.ensure_indexes()
    shanghai = timezone(timedelta(hours=8))
    local = datetime(2026, 11, 25, 17, 30, 15, 123000, tzinfo=shanghai)
    first = new_survey("tz", now=local)
    await store.insert_survey(first)
    got = await store.get_survey(first.survey_id)
    assert got is not None and got.created_at == local and got.expires_at == local + TTL
    assert got.created_at.utcoffset() == timedelta(0) and got.created_at.hour == 9
    assert got.resolved_at.utcoffset() == timedelta(0)
    await store.surveys.delete_one({"_id": first.survey_id})

    surveys = [new_survey("t1" if i % 2 else "t2", now=T0 + timedelta(minutes=i), agent_id=f"A{i % 3}")
               for i in range(8)]
    for s in reversed(surveys):
        await store.insert_survey(s)
    ids = [s.survey_id for s in surveys]
    newest = ids[::-1]
    search = dict(status=None, agent_id=None, satisfied=None, since=None, until=None)
    assert [s.survey_id for s in await store.search(**search, limit=3, skip=0)] == newest[:3]
    assert [s.survey_id for s in await store.search(**search, limit=3, skip=3)] == newest[3:6]
    window = {**search, "since": T0 + timedelta(minutes=2), "until": T0 + timedelta(minutes=5)}
    assert [s.survey_id for s in await store.search(**window, limit=10, skip=0)] == [ids[4], ids[3], ids[2]]
    assert [s.survey_id for s in await store.search(**{**search, "agent_id": "A1"}, limit=10, skip=0)] \
        == [ids[7], ids[4], ids[1]]
    assert [s.survey_id for s in await store.list_for_ticket("t1")] == [ids[1], ids[3], ids[5], ids[7]]
    assert [s.survey_id for s in await store.list_for_ticket("t1", limit=2)] == [ids[1], ids[3]]

    # the sweep wants pending ones not yet reminded, oldest first; a missing reminded_at counts as none
    await store.record_invitation(ids[0], T0, reminder=True)
    await store.mark_superseded(ids[2], T0)
    await store.surveys.update_one({"_id": ids[3]}, {"$unset": {"reminded_at": ""}})
    assert [s.survey_id for s in await store.pending_for_sweep(limit=4)] == [ids[1], ids[3], ids[4], ids[5]]
    assert [s.survey_id for s in await store.search(**{**search, "status": "superseded"}, limit=10, skip=0)] \
        == [ids[2]]


async def test_agent_totals_and_comments_count_completed_answers_only(real_db: Any) -> None:
    store = SurveyStore(real_db)
    await store.ensure_indexes()
    plan = [  # (agent, answers, completed at)
        ("A1", answers(SurveyResolution.RESOLVED, "fast refund"), T0 + timedelta(hours=1)),
        ("A1", answers(SurveyResolution.UNRESOLVED, "still broken"), T0 + timedelta(hours=3)),
        ("A2", answers(SurveyResolution.RESOLVED, ""), T0 + timedelta(hours=2)),
        (None, answers(SurveyResolution.RESOLVED, "no agent"), T0 + timedelta(hours=4)),
        ("A1", answers(SurveyResolution.RESOLVED, "next day"), T0 + timedelta(days=1, hours=1)),
    ]
    expected_csat: dict[str, float] = {}
    for i, (agent, a, at) in enumerate(plan):
        s = new_survey(f"t{i}", agent_id=agent)
        await store.insert_survey(s)
        assert await answered(store, s, at, a)
        if agent and at < T0 + timedelta(days=1):
            expected_csat[agent] = expected_csat.get(agent, 0) + domain.score(a).csat
    await store.insert_survey(new_survey("pending", agent_id="A1"))  # not answered: not counted

    day = {"since": T0, "until": T0 + timedelta(days=1)}
    rows = await store.agent_totals(agent_id=None, **day)
    assert [r["_id"] for r in rows] == ["A1", "A2"]
    a1, a2 = rows
    assert (a1["surveys"], a1["satisfied"], a1["unresolved"]) == (2, 1, 1)
    assert (a2["surveys"], a2["satisfied"], a2["unresolved"]) == (1, 1, 0)
    assert abs(a1["csat_sum"] - expected_csat["A1"]) < 1e-9 and abs(a2["csat_sum"] - expected_csat["A2"]) < 1e-9
    [all_a1] = await store.agent_totals(agent_id="A1", since=None, until=None)
    assert all_a1["surveys"] == 3

    await store.surveys.update_one({"completed_at": T0 + timedelta(hours=4)}, {"$set": {"comment": None}})
    comments = await store.comments_between(T0, T0 + timedelta(days=1))
    assert comments == [("fast refund", True), ("still broken", False)]
