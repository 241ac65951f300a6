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
