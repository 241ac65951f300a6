"""The customer's public survey page: server-rendered (Jinja2, no script), Chinese by default with an
English switch, usable on a phone. It shows the ticket number and the questions — never the
customer's name, phone number or any other personal data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from contracts import SurveyAttitude, SurveyResolution, SurveySpeed

Lang = Literal["zh", "en"]

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Question:
    field: str
    zh: str
    en: str
    options: tuple[tuple[str, str, str], ...]  # (value, zh, en), best first as in seed 000


QUESTIONS: tuple[Question, ...] = (
    Question("speed", "响应速度", "How fast did we respond?", (
        (SurveySpeed.VERY_FAST.value, "非常快", "Very fast"), (SurveySpeed.FAST.value, "快", "Fast"),
        (SurveySpeed.AVERAGE.value, "一般", "Average"), (SurveySpeed.SLOW.value, "慢", "Slow"),
    )),
    Question("resolution", "问题解决情况", "Was your problem solved?", (
        (SurveyResolution.RESOLVED.value, "完全解决", "Fully solved"),
        (SurveyResolution.PARTIALLY.value, "部分解决", "Partly solved"),
        (SurveyResolution.UNRESOLVED.value, "未解决", "Not solved"),
    )),
    Question("attitude", "客服服务态度", "How was our staff's attitude?", (
        (SurveyAttitude.VERY_SATISFIED.value, "非常满意", "Very satisfied"),
        (SurveyAttitude.SATISFIED.value, "满意", "Satisfied"),
        (SurveyAttitude.AVERAGE.value, "一般", "Average"),
        (SurveyAttitude.UNSATISFIED.value, "不满意", "Unsatisfied"),
    )),
)

TEXTS: dict[str, dict[Lang, str]] = {
    "title": {"zh": "服务满意度调研", "en": "Customer satisfaction survey"},
    "intro": {"zh": "您的工单 {ticket_no} 已处理完成。请花 1 分钟告诉我们本次服务体验。",
              "en": "Your ticket {ticket_no} has been resolved. Please take a minute to tell us how we did."},
    "comment": {"zh": "您的建议（选填）", "en": "Anything we could do better? (optional)"},
    "comment_hint": {"zh": "请勿填写手机号、身份证号等个人信息。", "en": "Please do not enter phone numbers or ID numbers."},
    "submit": {"zh": "提交评价", "en": "Submit"},
    "valid_until": {"zh": "链接有效期至 {when}，仅可提交一次。", "en": "You can answer once, until {when}."},
    "required": {"zh": "请回答全部三个问题后再提交。", "en": "Please answer all three questions."},
    "switch": {"zh": "English", "en": "中文"},
    "thanks_title": {"zh": "感谢您的评价", "en": "Thank you for your feedback"},
    "thanks_ok": {"zh": "您的评价已提交，我们会继续努力。", "en": "Your answers have been recorded."},
    "thanks_bad": {"zh": "很抱歉本次服务未能让您满意。您的工单已重新打开，主管会尽快跟进处理。",
                   "en": "We are sorry we did not get it right. Your ticket has been reopened and a supervisor will follow up."},
    "survey_not_found": {"zh": "链接无效：找不到该调研，请检查链接是否完整。",
                         "en": "This link is not valid: we could not find the survey. Please check that the link is complete."},
    "survey_already_answered": {"zh": "该调研已经提交过了，感谢您的反馈。每个链接只能提交一次。",
                                "en": "This survey has already been answered — thank you. Each link can be used once."},
    "survey_expired": {"zh": "该调研链接已过期，无法再提交。如有问题请联系客服。",
                       "en": "This survey link has expired. Please contact customer service if you need help."},
    "survey_superseded": {"zh": "该工单已有更新的调研，请使用最新收到的链接。",
                          "en": "A newer survey replaced this one. Please use the most recent link you received."},
    "rate_limited": {"zh": "操作过于频繁，请稍后再试。", "en": "Too many requests. Please try again in a moment."},
    "error_title": {"zh": "无法打开调研", "en": "This survey cannot be opened"},
}


def text(key: str, lang: Lang, **kw: str) -> str:
    return TEXTS[key][lang].format(**kw)


def _local(when: datetime, tz: str) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def render_form(
    *, lang: Lang, ticket_no: str, expires_at: datetime, tz: str, chosen: dict[str, str] | None = None,
    comment: str = "", error: str | None = None,
) -> str:
    return _env.get_template("survey.html").render(
        mode="form", lang=lang, t=lambda k, **kw: text(k, lang, **kw), questions=QUESTIONS,
        ticket_no=ticket_no, valid_until=_local(expires_at, tz), chosen=chosen or {}, comment=comment,
        error=error, other_lang="en" if lang == "zh" else "zh",
    )


def render_message(*, lang: Lang, title_key: str, message_key: str, tone: Literal["ok", "warn", "error"]) -> str:
    return _env.get_template("survey.html").render(
        mode="message", lang=lang, t=lambda k, **kw: text(k, lang, **kw), title=text(title_key, lang),
        message=text(message_key, lang), tone=tone, other_lang="en" if lang == "zh" else "zh",
    )
