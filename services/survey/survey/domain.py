"""Survey's pure decisions: opening a survey for a resolution, one-time link tokens, expiry, which
surveys a newer resolution makes stale, the CSAT scoring of answers (seed 000 "客户满意度调研":
响应速度 / 问题解决 / 服务态度), answering (one time, before expiry), invitation and reminder
messages, per-agent CSAT and the monthly list of issues customers mention in comments (seed 004
"每月整理客户反馈高频问题"). No I/O here."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, Field, field_validator

from contracts import (
    Channel,
    SurveyAttitude,
    SurveyCompleted,
    SurveyCompletedPayload,
    SurveyResolution,
    SurveySpeed,
    TicketResolved,
)
from servicekit.privacy import redact_text

PRODUCER = "survey"


class DomainError(Exception):
    """Input the survey rules can never accept (a handler turns it into a dead letter)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class SurveyStatus(StrEnum):
    """``pending`` until answered; ``completed`` once answered (with the answer endpoint);
    ``expired`` when the link ran out unanswered; ``superseded`` when a newer resolution of the same
    ticket (after a reopen) has its own survey, so this one must no longer be answered."""

    PENDING = "pending"
    COMPLETED = "completed"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


# ----------------------------------------------------------------------------- one-time link tokens
def new_token() -> str:
    """An unguessable one-time token for the customer's survey link (256 bits of randomness)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Only this SHA-256 hex digest is stored: a leaked database does not leak answerable links."""
    return hashlib.sha256(token.encode()).hexdigest()


# ----------------------------------------------------------------------------- the survey
class Survey(BaseModel):
    survey_id: str
    source_event_id: str = Field(description="The ticket.resolved event this survey is for (natural key).")
    ticket_id: str
    ticket_no: str
    correlation_id: str
    agent_id: str | None = None
    channel: Channel
    customer_id: str
    customer_display: str = Field(description="Masked display name, never the real name.")
    status: SurveyStatus = SurveyStatus.PENDING
    token_hash: str = Field(description="SHA-256 of the one-time link token; the token itself is never kept.")
    resolved_at: datetime
    source_occurred_at: datetime = Field(description="occurred_at of the resolution event (orders them).")
    created_at: datetime
    expires_at: datetime
    superseded_at: datetime | None = None
    completed_at: datetime | None = None
    earlier_token_hashes: list[str] = Field(
        default_factory=list,
        description="Hashes of links a resend replaced: the customer may still answer through the first message.",
    )
    invitations_sent: int = Field(default=0, ge=0, description="Invitations handed to the notifier (incl. resends).")
    last_invited_at: datetime | None = None
    last_attempt_at: datetime | None = Field(default=None, description="Last time a link was handed to the notifier.")
    reminded_at: datetime | None = Field(default=None, description="When the one automatic reminder went out.")
    speed: SurveySpeed | None = None
    resolution: SurveyResolution | None = None
    attitude: SurveyAttitude | None = None
    comment: str = ""
    csat: float | None = None
    satisfied: bool | None = None

    def accepts_token_hash(self, digest: str) -> bool:
        return digest == self.token_hash or digest in self.earlier_token_hashes


def survey_id_for(source_event_id: str) -> str:
    """The survey of a resolution is named after its ticket.resolved event (32 hex characters): the
    natural key is the document ``_id``, so a redelivery can never store a second survey."""
    return uuid.UUID(str(source_event_id)).hex


def open_survey(
    event: TicketResolved, *, survey_id: str, token_hash: str, now: datetime, ttl: timedelta
) -> Survey:
    """The survey that goes out after a resolution (seed 000: 服务完成后系统自动发送满意度调研).
    The link stays answerable for ``ttl`` from now (when the survey is sent), not from the resolution:
    a delayed delivery must not hand the customer an already-dead link."""
    p = event.payload
    if not p.ticket_id.strip() or not p.ticket_no.strip():
        raise DomainError("missing_ticket", "ticket.resolved without ticket_id/ticket_no")
    if ttl <= timedelta(0):
        raise ValueError("survey ttl must be positive")
    return Survey(
        survey_id=survey_id,
        source_event_id=str(event.event_id),
        ticket_id=p.ticket_id,
        ticket_no=p.ticket_no,
        correlation_id=event.correlation_id,
        agent_id=p.agent_id,
        channel=p.channel,
        customer_id=p.customer_id,
        customer_display=redact_text(p.customer_display),
        token_hash=token_hash,
        resolved_at=p.resolved_at,
        source_occurred_at=event.occurred_at,
        created_at=now,
        expires_at=now + ttl,
    )


def is_expired(survey: Survey, now: datetime) -> bool:
    """An unanswered survey can be answered until ``expires_at`` (exclusive). A completed or
    superseded survey is not "expired": it is finished for another reason."""
    if survey.status == SurveyStatus.EXPIRED:
        return True
    return survey.status == SurveyStatus.PENDING and now >= survey.expires_at


def effective_status(survey: Survey, now: datetime) -> SurveyStatus:
    """The status as of ``now``: a pending survey past its expiry reads as expired even before a
    sweeper has written that down."""
    return SurveyStatus.EXPIRED if is_expired(survey, now) else survey.status


def _resolution_order(survey: Survey) -> tuple[datetime, str]:
    return survey.source_occurred_at, survey.source_event_id


def stale_surveys(surveys: list[Survey]) -> list[str]:
    """Ids of the pending surveys of one ticket that a newer resolution made stale. Only the survey of
    the ticket's most recent resolution (by event ``occurred_at``, ties by event id) may stay pending,
    whatever order the resolutions arrived in: after a reopen the customer judges the latest result."""
    if not surveys:
        return []
    newest = max(surveys, key=_resolution_order)
    return [s.survey_id for s in surveys if s is not newest and s.status == SurveyStatus.PENDING]


def supersede(survey: Survey, now: datetime) -> Survey:
    return survey.model_copy(update={"status": SurveyStatus.SUPERSEDED, "superseded_at": now})


# ----------------------------------------------------------------------------- CSAT scoring
class SurveyAnswers(BaseModel):
    """The three questions of seed 000, plus an optional comment (建议改进方向)."""

    model_config = {"extra": "forbid"}

    speed: SurveySpeed
    resolution: SurveyResolution
    attitude: SurveyAttitude
    comment: str = Field(default="", max_length=2000)

    @field_validator("comment")
    @classmethod
    def _clean_comment(cls, value: str) -> str:
        """Control characters out, whitespace trimmed; personal data the customer typed is redacted
        before the comment is stored or published."""
        value = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", value).strip()
        return redact_text(value)[:2000]


class Score(BaseModel):
    csat: float = Field(ge=1.0, le=5.0)
    satisfied: bool


SPEED_POINTS: dict[SurveySpeed, int] = {
    SurveySpeed.VERY_FAST: 5, SurveySpeed.FAST: 4, SurveySpeed.AVERAGE: 3, SurveySpeed.SLOW: 1,
}
RESOLUTION_POINTS: dict[SurveyResolution, int] = {
    SurveyResolution.RESOLVED: 5, SurveyResolution.PARTIALLY: 3, SurveyResolution.UNRESOLVED: 1,
}
ATTITUDE_POINTS: dict[SurveyAttitude, int] = {
    SurveyAttitude.VERY_SATISFIED: 5, SurveyAttitude.SATISFIED: 4, SurveyAttitude.AVERAGE: 3,
    SurveyAttitude.UNSATISFIED: 1,
}
# Weights in tenths (resolution 0.5, attitude 0.3, speed 0.2): integer arithmetic keeps the score exact.
RESOLUTION_WEIGHT, ATTITUDE_WEIGHT, SPEED_WEIGHT = 5, 3, 2
SATISFIED_THRESHOLD = 3.5


def csat(speed: SurveySpeed, resolution: SurveyResolution, attitude: SurveyAttitude) -> float:
    """CSAT = 0.5 × resolution + 0.3 × attitude + 0.2 × speed, each answer worth 1–5 points, rounded to
    2 decimals; always within [1, 5]."""
    tenths = (
        RESOLUTION_WEIGHT * RESOLUTION_POINTS[resolution]
        + ATTITUDE_WEIGHT * ATTITUDE_POINTS[attitude]
        + SPEED_WEIGHT * SPEED_POINTS[speed]
    )
    return min(5.0, max(1.0, round(tenths / 10, 2)))


def score(answers: SurveyAnswers, threshold: float = SATISFIED_THRESHOLD) -> Score:
    """A customer counts as satisfied when CSAT ≥ ``threshold`` (3.5 by default), the problem is not
    unresolved and the attitude was not rated unsatisfied (one bad answer on either is a dissatisfied
    customer whatever the mean). An unsatisfied answer reopens the ticket (seed 002 step 6/7)."""
    value = csat(answers.speed, answers.resolution, answers.attitude)
    satisfied = (
        value >= threshold
        and answers.resolution != SurveyResolution.UNRESOLVED
        and answers.attitude != SurveyAttitude.UNSATISFIED
    )
    return Score(csat=value, satisfied=satisfied)



# ----------------------------------------------------------------------------- answering
class AnswerRefused(DomainError):
    """The link can no longer take an answer: ``survey_already_answered``, ``survey_expired`` or
    ``survey_superseded`` (a newer resolution of the ticket has its own survey)."""


def check_answerable(survey: Survey, now: datetime) -> None:
    if survey.status == SurveyStatus.COMPLETED:
        raise AnswerRefused("survey_already_answered", "this survey has already been answered")
    if survey.status == SurveyStatus.SUPERSEDED:
        raise AnswerRefused("survey_superseded", "a newer survey replaced this one")
    if is_expired(survey, now):
        raise AnswerRefused("survey_expired", "this survey link has expired")


def complete(
    survey: Survey, answers: SurveyAnswers, *, now: datetime, threshold: float = SATISFIED_THRESHOLD
) -> tuple[Survey, SurveyCompleted]:
    """Record the customer's answers and the survey.completed event they cause (the intake service
    reopens the ticket when ``satisfied`` is false; the dispatcher tells the supervisor)."""
    check_answerable(survey, now)
    result = score(answers, threshold)
    done = survey.model_copy(
        update={
            "status": SurveyStatus.COMPLETED, "completed_at": now, "speed": answers.speed,
            "resolution": answers.resolution, "attitude": answers.attitude, "comment": answers.comment,
            "csat": result.csat, "satisfied": result.satisfied,
        }
    )
    event = SurveyCompleted.new(
        SurveyCompletedPayload(
            ticket_id=survey.ticket_id, ticket_no=survey.ticket_no, survey_id=survey.survey_id,
            agent_id=survey.agent_id, speed=answers.speed, resolution=answers.resolution,
            attitude=answers.attitude, comment=answers.comment, csat=result.csat,
            satisfied=result.satisfied, completed_at=now,
        ),
        correlation_id=survey.correlation_id, producer=PRODUCER, occurred_at=now,
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"survey.completed:{survey.survey_id}"),
    )
    return done, event


# ----------------------------------------------------------------------------- invitations
NOTIFY_CHANNEL: dict[Channel, Literal["sms", "im", "email"]] = {
    Channel.PHONE: "sms",
    Channel.ONLINE_CHAT: "im",
    Channel.SOCIAL: "im",
    Channel.EMAIL: "email",
    Channel.WEB_FORM: "email",
}
"""How the link reaches the customer: through the channel they used (seed 000: 短信或在线问卷)."""


def survey_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/s/{quote(token, safe='')}"


@dataclass(frozen=True)
class Invitation:
    """What the notifier is asked to deliver (built from the fresh token; never stored)."""

    kind: str
    channel: Literal["sms", "im", "email"]
    recipient: str
    subject: str
    body: str
    link: str
    reminder: bool


def invitation(survey: Survey, token: str, *, base_url: str, now: datetime, reminder: bool = False) -> Invitation:
    """The survey message for the ticket's channel. The recipient is the customer's id: the gateway
    behind the notifier resolves the address, so no phone number or e-mail address passes here."""
    link = survey_link(base_url, token)
    days = max(1, round((survey.expires_at - now).total_seconds() / 86400))
    head = "【满意度调研提醒】" if reminder else "【满意度调研】"
    body = (
        f"{head}您好，您的工单 {survey.ticket_no} 已处理完成。请花 1 分钟评价本次服务：{link} "
        f"（{days} 天内有效）\n"
        f"Your ticket {survey.ticket_no} has been resolved. Please rate our service: {link} "
        f"(valid for {days} day{'s' if days != 1 else ''})"
    )
    return Invitation(
        kind="survey.reminder" if reminder else "survey.invitation",
        channel=NOTIFY_CHANNEL[survey.channel],
        recipient=f"customer:{survey.customer_id}",
        subject=f"{head}工单 {survey.ticket_no} / How did we do?",
        body=body,
        link=link,
        reminder=reminder,
    )


def needs_first_invitation(survey: Survey, now: datetime, grace: timedelta) -> bool:
    """A pending survey whose invitation never left (notifier down at creation) after ``grace``."""
    return (
        survey.status == SurveyStatus.PENDING and not is_expired(survey, now)
        and survey.invitations_sent == 0 and now >= (survey.last_attempt_at or survey.created_at) + grace
    )


def reminder_due(survey: Survey, now: datetime, delay: timedelta) -> bool:
    """Resend once (seed 000 survey follow-up) when still unanswered ``delay`` after the first
    invitation, and only while the link is alive."""
    return (
        survey.status == SurveyStatus.PENDING and not is_expired(survey, now)
        and survey.invitations_sent >= 1 and survey.reminded_at is None
        and now >= (survey.created_at + delay)
    )


# ----------------------------------------------------------------------------- agent CSAT
class AgentCsat(BaseModel):
    """An agent's running satisfaction (seed 000: 满意度评分 … 同步至客服人员工作台)."""

    agent_id: str
    surveys: int = Field(ge=0, description="Answered surveys.")
    average_csat: float | None = Field(description="Mean CSAT (1–5) of the answered surveys; null with none.")
    satisfied: int = Field(ge=0)
    satisfaction_rate: float | None = Field(description="Share of satisfied answers (0–1); null with none.")
    unresolved: int = Field(ge=0, description="Answers saying the problem was not solved (未解决).")


def agent_csat(agent_id: str, surveys: int, csat_sum: float, satisfied: int, unresolved: int) -> AgentCsat:
    if surveys <= 0:
        return AgentCsat(agent_id=agent_id, surveys=0, average_csat=None, satisfied=0, satisfaction_rate=None,
                         unresolved=0)
    return AgentCsat(
        agent_id=agent_id, surveys=surveys, average_csat=round(csat_sum / surveys, 2), satisfied=satisfied,
        satisfaction_rate=round(satisfied / surveys, 4), unresolved=unresolved,
    )


# ----------------------------------------------------------------------------- comment issues
@dataclass(frozen=True)
class IssueTopic:
    topic: str
    label_zh: str
    label_en: str
    terms: tuple[str, ...]


ISSUE_TOPICS: tuple[IssueTopic, ...] = (
    IssueTopic("logistics", "物流配送", "Delivery & logistics",
               ("物流", "快递", "发货", "配送", "送货", "到货", "运费", "delivery", "shipping", "courier", "parcel")),
    IssueTopic("refund", "退款退货", "Refunds & returns",
               ("退款", "退货", "退钱", "换货", "refund", "return")),
    IssueTopic("response_time", "响应太慢", "Slow response",
               ("太慢", "很慢", "回复慢", "等了", "等待", "排队", "没人回", "没人理", "slow", "waiting", "waited")),
    IssueTopic("attitude", "服务态度", "Staff attitude",
               ("态度", "不耐烦", "敷衍", "不礼貌", "rude", "impolite", "attitude", "unfriendly")),
    IssueTopic("unresolved", "问题未解决", "Problem not solved",
               ("没解决", "未解决", "没有解决", "还是不行", "仍然", "依然", "not solved", "not fixed", "unresolved")),
    IssueTopic("product_quality", "产品质量", "Product quality",
               ("质量", "故障", "坏了", "损坏", "破损", "无法开机", "quality", "broken", "defect", "faulty")),
    IssueTopic("process", "流程繁琐", "Complicated process",
               ("流程", "繁琐", "复杂", "麻烦", "手续", "process", "complicated", "too many steps")),
    IssueTopic("price", "价格费用", "Prices & charges",
               ("价格", "费用", "收费", "扣费", "太贵", "price", "charge", "fee", "expensive")),
    IssueTopic("app_usage", "系统/App 操作", "App & website use",
               ("app", "网站", "系统", "登录", "界面", "website", "login", "password")),
    IssueTopic("compensation", "补偿赔偿", "Compensation",
               ("补偿", "赔偿", "优惠券", "compensation", "coupon", "voucher")),
)
OTHER_TOPIC = IssueTopic("other", "其他", "Other", ())


def topics_of(comment: str, topics: Iterable[IssueTopic] = ISSUE_TOPICS) -> list[str]:
    """The issue topics a comment mentions (case-insensitive term match; English terms on word
    boundaries); ``["other"]`` for a comment that names none."""
    text = comment.lower()
    found = []
    for topic in topics:
        for term in topic.terms:
            t = term.lower()
            hit = re.search(rf"\b{re.escape(t)}\b", text) if t.isascii() else t in text
            if hit:
                found.append(topic.topic)
                break
    return found or [OTHER_TOPIC.topic]


class CommentIssue(BaseModel):
    month: str
    topic: str
    label_zh: str
    label_en: str
    mentions: int = Field(description="Comments mentioning the topic.")
    unsatisfied: int = Field(description="Of those, from unsatisfied customers.")
    share: float = Field(description="Share of the month's comments (0–1).")
    sample: str = Field(description="One (redacted) comment as an example.")


def comment_issues(month: str, comments: Iterable[tuple[str, bool]]) -> list[CommentIssue]:
    """The month's high-frequency issues (seed 004: 每月整理客户反馈高频问题 → 产品/运营部门) from
    ``(comment, satisfied)`` pairs: most mentioned first, topics nobody mentioned left out."""
    by_topic = {t.topic: t for t in (*ISSUE_TOPICS, OTHER_TOPIC)}
    mentions: dict[str, int] = {}
    unsatisfied: dict[str, int] = {}
    sample: dict[str, str] = {}
    total = 0
    for comment, satisfied in comments:
        comment = comment.strip()
        if not comment:
            continue
        total += 1
        for topic in topics_of(comment):
            mentions[topic] = mentions.get(topic, 0) + 1
            unsatisfied[topic] = unsatisfied.get(topic, 0) + (0 if satisfied else 1)
            sample.setdefault(topic, redact_text(comment)[:120])
    rows = [
        CommentIssue(
            month=month, topic=topic, label_zh=by_topic[topic].label_zh, label_en=by_topic[topic].label_en,
            mentions=n, unsatisfied=unsatisfied[topic], share=round(n / total, 4), sample=sample[topic],
        )
        for topic, n in mentions.items()
    ]
    return sorted(rows, key=lambda r: (-r.mentions, r.topic == OTHER_TOPIC.topic, r.topic))


CSV_COLUMNS = ("month", "topic", "label_zh", "label_en", "mentions", "unsatisfied", "share", "sample")


def issues_csv(rows: list[CommentIssue]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        # a leading =,+,-,@ would run as a formula in a spreadsheet: neutralise it
        sample = ("'" + row.sample) if row.sample[:1] in ("=", "+", "-", "@") else row.sample
        writer.writerow([row.month, row.topic, row.label_zh, row.label_en, row.mentions, row.unsatisfied,
                         f"{row.share:.4f}", sample])
    return out.getvalue()


_MONTH = re.compile(r"^(2\d{3})-(0[1-9]|1[0-2])$")  # years 2000-2999: no datetime overflow at the edges


def month_range(month: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """``yyyy-mm`` (years 2000-2999) in the business time zone → [start, end) in UTC."""
    m = _MONTH.match(month)
    if not m:
        raise ValueError("month must be yyyy-mm")
    year, mon = int(m.group(1)), int(m.group(2))
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), 1 if mon == 12 else mon + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)
