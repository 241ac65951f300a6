from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import (
    Channel,
    SurveyAttitude,
    SurveyResolution,
    SurveySpeed,
    TicketResolved,
    TicketResolvedPayload,
)
from survey import domain
from survey.domain import SurveyStatus

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
TTL = timedelta(hours=168)

# Worst → best, the order the customer reads the options in reverse.
SPEEDS = [SurveySpeed.SLOW, SurveySpeed.AVERAGE, SurveySpeed.FAST, SurveySpeed.VERY_FAST]
RESOLUTIONS = [SurveyResolution.UNRESOLVED, SurveyResolution.PARTIALLY, SurveyResolution.RESOLVED]
ATTITUDES = [
    SurveyAttitude.UNSATISFIED,
    SurveyAttitude.AVERAGE,
    SurveyAttitude.SATISFIED,
    SurveyAttitude.VERY_SATISFIED,
]


def resolved_event(
    *, ticket_id: str = "t1", ticket_no: str = "GD20261125001", at: datetime = NOW, display: str = "客户A-0001"
) -> TicketResolved:
    return TicketResolved.new(
        TicketResolvedPayload(
            ticket_id=ticket_id, ticket_no=ticket_no, agent_id="A1", channel=Channel.EMAIL, customer_id="c1",
            customer_display=display, resolution_summary="replaced the battery", resolved_at=at,
        ),
        correlation_id="corr-1", producer="intake", occurred_at=at,
    )


def opened(
    event: TicketResolved | None = None, *, survey_id: str = "s1", now: datetime = NOW
) -> domain.Survey:
    return domain.open_survey(
        event or resolved_event(), survey_id=survey_id, token_hash="h" * 64, now=now, ttl=TTL
    )


# ----------------------------------------------------------------------------- tokens
def test_tokens_are_unguessable_and_only_hashed() -> None:
    tokens = {domain.new_token() for _ in range(200)}
    assert len(tokens) == 200
    token = next(iter(tokens))
    assert len(token) >= 43 and re.fullmatch(r"[A-Za-z0-9_\-]+", token)
    digest = domain.hash_token(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest) and token not in digest
    assert domain.hash_token(token) == digest  # deterministic: the public page will find the survey by it


# ----------------------------------------------------------------------------- opening a survey
def test_open_survey_from_a_resolution() -> None:
    event = resolved_event(at=NOW - timedelta(hours=2))
    survey = opened(event)
    assert survey.status == SurveyStatus.PENDING
    assert survey.source_event_id == str(event.event_id)
    assert (survey.ticket_id, survey.ticket_no, survey.agent_id) == ("t1", "GD20261125001", "A1")
    assert survey.channel == Channel.EMAIL and survey.customer_display == "客户A-0001"
    assert survey.correlation_id == "corr-1"
    assert survey.created_at == NOW
    assert survey.expires_at == NOW + TTL  # from sending, not from the (earlier) resolution
    assert survey.resolved_at == survey.source_occurred_at == NOW - timedelta(hours=2)
    assert survey.completed_at is None and survey.superseded_at is None


def test_open_survey_never_keeps_personal_data_in_the_display_name() -> None:
    survey = opened(resolved_event(display="张三 13800138000"))
    assert "13800138000" not in survey.model_dump_json()


def test_open_survey_needs_a_ticket() -> None:
    with pytest.raises(domain.DomainError) as err:
        opened(resolved_event(ticket_id=" "))
    assert err.value.code == "missing_ticket"
    with pytest.raises(domain.DomainError):
        opened(resolved_event(ticket_no="  "))
    with pytest.raises(ValueError):
        domain.open_survey(resolved_event(), survey_id="s", token_hash="h", now=NOW, ttl=timedelta(0))


# ----------------------------------------------------------------------------- expiry
def test_expiry_boundaries() -> None:
    survey = opened()
    assert not domain.is_expired(survey, NOW)
    assert not domain.is_expired(survey, survey.expires_at - timedelta(seconds=1))
    assert domain.is_expired(survey, survey.expires_at)
    assert domain.is_expired(survey, survey.expires_at + timedelta(days=30))
    assert domain.effective_status(survey, NOW) == SurveyStatus.PENDING
    assert domain.effective_status(survey, survey.expires_at) == SurveyStatus.EXPIRED


def test_finished_surveys_do_not_expire() -> None:
    late = opened().expires_at + timedelta(days=1)
    completed = opened().model_copy(update={"status": SurveyStatus.COMPLETED, "completed_at": NOW})
    assert not domain.is_expired(completed, late)
    assert domain.effective_status(completed, late) == SurveyStatus.COMPLETED
    superseded = domain.supersede(opened(), NOW)
    assert superseded.status == SurveyStatus.SUPERSEDED and superseded.superseded_at == NOW
    assert not domain.is_expired(superseded, late)
    marked = opened().model_copy(update={"status": SurveyStatus.EXPIRED})
    assert domain.is_expired(marked, NOW)


@given(st.integers(min_value=-10**7, max_value=10**7))
def test_expired_exactly_from_expires_at_on(offset_seconds: int) -> None:
    survey = opened()
    now = survey.expires_at + timedelta(seconds=offset_seconds)
    assert domain.is_expired(survey, now) == (offset_seconds >= 0)


# ----------------------------------------------------------------------------- newer resolutions
def _survey_at(i: int, minutes: int, status: SurveyStatus) -> domain.Survey:
    event = resolved_event(at=NOW + timedelta(minutes=minutes))
    return opened(event, survey_id=f"s{i}").model_copy(update={"status": status})


def test_a_newer_resolution_makes_older_pending_surveys_stale() -> None:
    old = _survey_at(1, 0, SurveyStatus.PENDING)
    answered = _survey_at(2, 10, SurveyStatus.COMPLETED)
    new = _survey_at(3, 20, SurveyStatus.PENDING)
    assert domain.stale_surveys([new, old, answered]) == ["s1"]
    assert domain.stale_surveys([old]) == []
    assert domain.stale_surveys([]) == []
    # the newest arriving first changes nothing: the older one is still the stale one
    newest_first = [_survey_at(3, 20, SurveyStatus.PENDING), _survey_at(1, 0, SurveyStatus.PENDING)]
    assert domain.stale_surveys(newest_first) == ["s1"]


@given(
    st.lists(
        st.tuples(st.integers(0, 50), st.sampled_from(list(SurveyStatus))), min_size=1, max_size=8
    ),
    st.randoms(use_true_random=False),
)
def test_at_most_the_newest_resolution_stays_pending(
    items: list[tuple[int, SurveyStatus]], rnd: object
) -> None:
    surveys = [_survey_at(i, minutes, status) for i, (minutes, status) in enumerate(items)]
    stale = domain.stale_surveys(surveys)
    shuffled = list(surveys)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert sorted(domain.stale_surveys(shuffled)) == sorted(stale)  # arrival order does not matter
    newest = max(surveys, key=lambda s: (s.source_occurred_at, s.source_event_id))
    assert newest.survey_id not in stale
    by_id = {s.survey_id: s for s in surveys}
    assert all(by_id[sid].status == SurveyStatus.PENDING for sid in stale)
    left_pending = [s for s in surveys if s.status == SurveyStatus.PENDING and s.survey_id not in stale]
    assert left_pending in ([], [newest])


# ----------------------------------------------------------------------------- CSAT
def test_csat_examples() -> None:
    assert domain.csat(SurveySpeed.VERY_FAST, SurveyResolution.RESOLVED, SurveyAttitude.VERY_SATISFIED) == 5.0
    assert domain.csat(SurveySpeed.SLOW, SurveyResolution.UNRESOLVED, SurveyAttitude.UNSATISFIED) == 1.0
    # 0.2×3 + 0.5×3 + 0.3×4
    assert domain.csat(SurveySpeed.AVERAGE, SurveyResolution.PARTIALLY, SurveyAttitude.SATISFIED) == 3.3
    # 0.2×4 + 0.5×5 + 0.3×3
    assert domain.csat(SurveySpeed.FAST, SurveyResolution.RESOLVED, SurveyAttitude.AVERAGE) == 4.2


def test_resolution_weighs_most() -> None:
    base = (SurveySpeed.AVERAGE, SurveyResolution.PARTIALLY, SurveyAttitude.AVERAGE)
    gain_resolution = domain.csat(base[0], SurveyResolution.RESOLVED, base[2]) - domain.csat(*base)
    gain_attitude = domain.csat(base[0], base[1], SurveyAttitude.VERY_SATISFIED) - domain.csat(*base)
    gain_speed = domain.csat(SurveySpeed.VERY_FAST, base[1], base[2]) - domain.csat(*base)
    assert gain_resolution > gain_attitude > gain_speed > 0


def test_satisfied_rule() -> None:
    def sat(speed: SurveySpeed, resolution: SurveyResolution, attitude: SurveyAttitude) -> domain.Score:
        return domain.score(domain.SurveyAnswers(speed=speed, resolution=resolution, attitude=attitude))

    at_threshold = sat(SurveySpeed.FAST, SurveyResolution.PARTIALLY, SurveyAttitude.SATISFIED)
    assert at_threshold == domain.Score(csat=3.5, satisfied=True)
    below = sat(SurveySpeed.VERY_FAST, SurveyResolution.PARTIALLY, SurveyAttitude.AVERAGE)
    assert below == domain.Score(csat=3.4, satisfied=False)
    rude = sat(SurveySpeed.VERY_FAST, SurveyResolution.RESOLVED, SurveyAttitude.UNSATISFIED)
    assert rude.csat == 3.8 and not rude.satisfied
    unresolved = sat(SurveySpeed.VERY_FAST, SurveyResolution.UNRESOLVED, SurveyAttitude.VERY_SATISFIED)
    assert unresolved.csat == 3.0 and not unresolved.satisfied
    assert sat(SurveySpeed.VERY_FAST, SurveyResolution.RESOLVED, SurveyAttitude.VERY_SATISFIED).satisfied


def test_every_answer_combination_scores_within_range() -> None:
    for speed, resolution, attitude in product(SurveySpeed, SurveyResolution, SurveyAttitude):
        value = domain.csat(speed, resolution, attitude)
        assert 1.0 <= value <= 5.0 and round(value, 2) == value


def test_answers_are_validated() -> None:
    with pytest.raises(ValidationError):
        domain.SurveyAnswers.model_validate(
            {"speed": "quick", "resolution": "resolved", "attitude": "satisfied"}
        )
    with pytest.raises(ValidationError):
        domain.SurveyAnswers.model_validate(
            {"speed": "fast", "resolution": "resolved", "attitude": "satisfied", "comment": "x" * 2001}
        )


answer_indexes = st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 3))


def _score(idx: tuple[int, int, int]) -> domain.Score:
    s, r, a = idx
    answers = domain.SurveyAnswers(speed=SPEEDS[s], resolution=RESOLUTIONS[r], attitude=ATTITUDES[a])
    return domain.score(answers)


@given(answer_indexes)
def test_csat_always_within_one_and_five(idx: tuple[int, int, int]) -> None:
    result = _score(idx)
    assert 1.0 <= result.csat <= 5.0
    assert round(result.csat, 2) == result.csat
    if result.satisfied:
        assert result.csat >= domain.SATISFIED_THRESHOLD


@given(answer_indexes, st.integers(0, 2), st.integers(1, 3))
def test_csat_is_monotone_in_each_answer(idx: tuple[int, int, int], which: int, step: int) -> None:
    limits = (len(SPEEDS) - 1, len(RESOLUTIONS) - 1, len(ATTITUDES) - 1)
    better = list(idx)
    better[which] = min(limits[which], better[which] + step)
    worse, improved = _score(idx), _score((better[0], better[1], better[2]))
    assert improved.csat >= worse.csat
    if better[which] > idx[which]:
        assert improved.csat > worse.csat  # every step of every answer counts
    assert improved.satisfied >= worse.satisfied  # a better answer never turns satisfied into unsatisfied


# ----------------------------------------------------------------------------- natural key
def test_the_survey_id_is_the_resolution_event_id() -> None:
    event = resolved_event()
    assert domain.survey_id_for(str(event.event_id)) == event.event_id.hex
    assert re.fullmatch(r"[0-9a-f]{32}", domain.survey_id_for(str(event.event_id)))


# ----------------------------------------------------------------------------- answering
GOOD = domain.SurveyAnswers(speed=SurveySpeed.FAST, resolution=SurveyResolution.RESOLVED,
                            attitude=SurveyAttitude.SATISFIED, comment="  谢谢  ")


def test_complete_records_answers_score_and_the_event() -> None:
    survey = opened()
    done, event = domain.complete(survey, GOOD, now=NOW + timedelta(hours=1))
    assert done.status == SurveyStatus.COMPLETED and done.completed_at == NOW + timedelta(hours=1)
    assert (done.csat, done.satisfied, done.comment) == (4.5, True, "谢谢")  # 0.2×4 + 0.5×5 + 0.3×4
    p = event.payload
    assert (p.ticket_id, p.ticket_no, p.survey_id, p.agent_id) == ("t1", "GD20261125001", "s1", "A1")
    assert (p.csat, p.satisfied, p.comment) == (done.csat, True, "谢谢")
    assert event.correlation_id == "corr-1" and event.producer == "survey" and event.occurred_at == done.completed_at
    again, event2 = domain.complete(survey, GOOD, now=NOW + timedelta(hours=2))
    assert event2.event_id == event.event_id  # one survey, one completion event id


def test_complete_refuses_answered_expired_and_superseded_surveys() -> None:
    survey = opened()
    done, _ = domain.complete(survey, GOOD, now=NOW)
    cases = {
        "survey_already_answered": (done, NOW),
        "survey_expired": (survey, survey.expires_at),
        "survey_superseded": (domain.supersede(survey, NOW), NOW),
    }
    for code, (target, when) in cases.items():
        with pytest.raises(domain.AnswerRefused) as err:
            domain.complete(target, GOOD, now=when)
        assert err.value.code == code
    domain.complete(survey, GOOD, now=survey.expires_at - timedelta(microseconds=1))  # last instant still fine


def test_a_stricter_threshold_turns_a_middling_answer_unsatisfied() -> None:
    answers = domain.SurveyAnswers(speed=SurveySpeed.FAST, resolution=SurveyResolution.PARTIALLY,
                                   attitude=SurveyAttitude.SATISFIED)
    assert domain.score(answers).satisfied and domain.score(answers).csat == 3.5
    assert not domain.score(answers, threshold=4.0).satisfied


def test_comments_are_cleaned_and_redacted() -> None:
    answers = domain.SurveyAnswers(speed="fast", resolution="resolved", attitude="satisfied",
                                   comment="\x00 call 13800138000, mail a.b@example.com \x07")
    assert answers.comment == "call [phone], mail [email]"
    with pytest.raises(ValidationError):
        domain.SurveyAnswers.model_validate({"speed": "fast", "resolution": "resolved", "attitude": "satisfied",
                                             "csat": 5})


# ----------------------------------------------------------------------------- delivery
def test_invitation_uses_the_channel_and_names_no_customer() -> None:
    survey = opened(resolved_event(display="张三"))
    inv = domain.invitation(survey, "TOKEN123", base_url="https://s.example.com/", now=NOW)
    assert inv.link == "https://s.example.com/s/TOKEN123" and inv.link in inv.body
    assert inv.channel == "email" and inv.recipient == "customer:c1" and inv.kind == "survey.invitation"
    assert "张三" not in inv.body + inv.subject and "7 天内有效" in inv.body and "7 days" in inv.body
    phone = survey.model_copy(update={"channel": Channel.PHONE})
    reminder = domain.invitation(phone, "T", base_url="https://s", now=NOW + timedelta(days=6, hours=1), reminder=True)
    assert reminder.channel == "sms" and reminder.kind == "survey.reminder" and "1 day)" in reminder.body
    assert {domain.NOTIFY_CHANNEL[c] for c in Channel} <= {"sms", "im", "email"}


def test_reminder_and_redelivery_schedule() -> None:
    delay, grace = timedelta(hours=48), timedelta(minutes=5)
    survey = opened()
    assert domain.needs_first_invitation(survey, NOW + grace, grace)
    assert not domain.needs_first_invitation(survey, NOW + grace - timedelta(seconds=1), grace)
    tried = survey.model_copy(update={"last_attempt_at": NOW + timedelta(minutes=30)})
    assert not domain.needs_first_invitation(tried, NOW + timedelta(minutes=31), grace)
    sent = survey.model_copy(update={"invitations_sent": 1})
    assert not domain.needs_first_invitation(sent, NOW + timedelta(hours=1), grace)
    assert not domain.reminder_due(sent, NOW + delay - timedelta(seconds=1), delay)
    assert domain.reminder_due(sent, NOW + delay, delay)
    assert not domain.reminder_due(survey, NOW + delay, delay)  # never invited: no "reminder"
    assert not domain.reminder_due(sent.model_copy(update={"reminded_at": NOW}), NOW + delay, delay)
    assert not domain.reminder_due(sent, sent.expires_at, delay)
    done, _ = domain.complete(sent, GOOD, now=NOW)
    assert not domain.reminder_due(done, NOW + delay, delay)


# ----------------------------------------------------------------------------- agent CSAT
def test_agent_csat_averages() -> None:
    score = domain.agent_csat("A1", 3, 11.0, 2, 1)
    assert (score.average_csat, score.satisfaction_rate, score.unresolved) == (3.67, 0.6667, 1)
    empty = domain.agent_csat("A2", 0, 0.0, 0, 0)
    assert empty.average_csat is None and empty.satisfaction_rate is None


# ----------------------------------------------------------------------------- comment issues
def test_topics_of_comments() -> None:
    assert domain.topics_of("快递太慢了") == ["logistics", "response_time"]
    assert domain.topics_of("Refund never arrived, the courier was rude") == ["logistics", "refund", "attitude"]
    assert domain.topics_of("returned") == ["other"]  # English terms match whole words only
    assert domain.topics_of("谢谢") == ["other"]


def test_comment_issues_rank_and_csv() -> None:
    rows = domain.comment_issues("2026-11", [("快递太慢", False), ("物流很差", False), ("退款慢吞吞", True),
                                             ("", False), ("=1+1 好", True)])
    assert [(r.topic, r.mentions) for r in rows][:2] == [("logistics", 2), ("refund", 1)]  # ties by name
    assert rows[-1].topic == "other" and rows[0].share == 0.5 and rows[0].unsatisfied == 2
    text = domain.issues_csv(rows)
    assert text.splitlines()[0] == ",".join(domain.CSV_COLUMNS)
    assert "'=1+1 好" in text


@given(st.lists(st.tuples(st.text(max_size=40), st.booleans()), max_size=30))
def test_comment_issue_counts_are_consistent(comments: list[tuple[str, bool]]) -> None:
    rows = domain.comment_issues("2026-11", comments)
    answered = sum(1 for c, _ in comments if c.strip())
    assert sum(r.mentions for r in rows) >= answered  # every comment lands in at least one topic
    assert all(r.unsatisfied <= r.mentions <= answered and 0 < r.share <= 1 for r in rows)
    assert [r.mentions for r in rows] == sorted((r.mentions for r in rows), reverse=True)


def test_month_range_in_the_business_time_zone() -> None:
    from zoneinfo import ZoneInfo

    start, end = domain.month_range("2026-12", ZoneInfo("Asia/Shanghai"))
    assert start == datetime(2026, 11, 30, 16, tzinfo=UTC) and end == datetime(2026, 12, 31, 16, tzinfo=UTC)
    with pytest.raises(ValueError):
        domain.month_range("2026-13", ZoneInfo("Asia/Shanghai"))
