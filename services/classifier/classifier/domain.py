"""Classifier's pure decisions: the versioned keyword rule set, text normalisation, rule matching and
the classification of a ticket (category, business module, priority P1–P4, tags, confidence and an
explanation). No I/O here.

Business rules (seed 000 "服务需求智能分类与优先级判定", seed 002 step 2, seed 004 priority levels):

* categories: 售前咨询 pre_sales, 售后支持 after_sales, 投诉建议 complaint, 需求 requirement, 其他 other;
  modules: product, logistics, after_sales, technical;
* P1 = funds safety or core business outage, P2 = blocks normal use / needs several departments,
  P3 = routine question, P4 = non-urgent suggestion;
* rules are data, kept in a versioned rule set; the rule ORDER is the precedence: the first matching
  rule decides category and module, the most urgent priority of all matching rules wins (a complaint
  about a failed charge is a complaint, and P1), and the tags of all matching rules are kept;
* when nothing matches, the ticket is ``other``/``product``/P3 and flagged for human review.

The result shape (``Classification`` with ``explanation.method`` rule/model/manual/default) is the
same one a learned model or a manual correction will produce later.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

import ahocorasick

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    field_validator,
    model_validator,
)

from contracts import (
    Category,
    Channel,
    CustomerTier,
    KnowledgeSuggestion,
    Module,
    Priority,
    TicketClassified,
    TicketClassifiedPayload,
    TicketCreated,
    TicketCreatedPayload,
)
from contracts.events import ClassificationExplanation

from . import safety

if TYPE_CHECKING:
    from .model import ModelPrediction

PRODUCER = "classifier"

CONFIDENCE_STRONG = 0.9
"""A rule match backed by at least two distinct terms agreeing on the category."""
CONFIDENCE_WEAK = 0.75
"""A rule match backed by a single term."""
CONFIDENCE_DEFAULT = 0.3
"""No rule matched: the fallback is a guess."""
DEFAULT_REVIEW_BELOW = 0.6
"""Results less confident than this are flagged ``needs_review`` (the fallback always is). Checked on the
independent development set (``classifier.evaluate``): at 0.5 review caught 7 of 151 wrong results (9
flagged); at 0.6 it flags 9 % of the texts, 60 % of them wrong, catching 36 of the 151; 0.7 flags 15 %, only
54 % of them wrong. Rule matches (0.75 / 0.9) are not affected."""

Term = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Pattern = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_\-]{0,47}$")]


# ----------------------------------------------------------------------------- text
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Text as rules see it: NFKC (full-width letters, digits and punctuation become half-width),
    casefolded, typographic apostrophes made plain (won’t → won't), whitespace runs collapsed.
    Chinese is not tokenised: phrases are matched as substrings."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text or "").translate(_QUOTES).casefold()).strip()


@lru_cache(maxsize=4096)
def _term_pattern(term: str) -> re.Pattern[str] | None:
    """Terms starting with a latin letter or digit must start a word (``bug`` matches "bugs" but not
    "debug"; ``buy`` matches "buying" but not "ebuy"); other terms (Chinese) are plain substrings."""
    if term[:1].isascii() and term[:1].isalnum():
        return re.compile(r"(?<![0-9a-z])" + re.escape(term))
    return None


@lru_cache(maxsize=4096)
def _normalized_term(term: str) -> str:
    return normalize(term)


def contains(text: str, term: str) -> bool:
    """Whether the normalised ``text`` contains the (raw) rule ``term``."""
    norm = _normalized_term(term)
    if not norm:
        return False
    pattern = _term_pattern(norm)
    return bool(pattern.search(text)) if pattern else norm in text


# ----------------------------------------------------------------------------- rules
class Rule(BaseModel):
    """One keyword rule. It matches when the text contains at least one of ``any_terms``, every one
    of ``all_terms`` and none of ``none_terms``, and the ticket came through one of ``channels``
    (all channels when empty). ``priority`` None means "no opinion on priority"."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,63}$", description="Stable id, cited in explanations.")
    description: str = Field(default="", max_length=500)
    any_terms: list[Term] = Field(default_factory=list, max_length=200)
    patterns: list[Pattern] = Field(
        default_factory=list, max_length=20,
        description="Regular expressions on the normalised text; a match counts like an any_terms hit.",
    )
    all_terms: list[Term] = Field(default_factory=list, max_length=20)
    none_terms: list[Term] = Field(default_factory=list, max_length=50)
    category: Category
    module: Module
    priority: Priority | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    channels: list[Channel] = Field(default_factory=list, description="Only these channels; [] = all.")
    customer_tiers: list[CustomerTier] = Field(default_factory=list, description="Only these tiers; [] = all.")
    has_order_number: bool | None = Field(default=None, description="Only tickets with (True) / without (False) "
                                          "an order number; None = either.")

    @model_validator(mode="after")
    def _some_evidence(self) -> Rule:
        if not self.any_terms and not self.patterns:
            raise ValueError("a rule needs at least one of any_terms or patterns")
        return self

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return patterns

    @field_validator("any_terms", "all_terms", "none_terms")
    @classmethod
    def _terms_survive_normalisation(cls, terms: list[str]) -> list[str]:
        if any(not normalize(t) for t in terms):
            raise ValueError("every term needs visible characters")
        return terms


class RuleSet(BaseModel):
    """A versioned, ordered rule set (order = precedence) and the fallback used when nothing matches."""

    version: int = Field(ge=1)
    description: str = Field(default="", max_length=500)
    rules: list[Rule] = Field(min_length=1, max_length=500)
    default_category: Category = Category.OTHER
    default_module: Module = Module.PRODUCT
    default_priority: Priority = Priority.P3
    active: bool = True
    created_by: str = "system"
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def classifier_version(self) -> str:
        """The version stamped on every result, ``rules-v<version>``."""
        return f"rules-v{self.version}"

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> RuleSet:
        ids = [r.id for r in self.rules]
        if len(ids) != len(set(ids)):
            raise ValueError("rule ids must be unique within a rule set")
        return self


def _rule(
    id: str,
    description: str,
    any_terms: list[str],
    category: Category,
    module: Module,
    priority: Priority | None,
    tags: list[str],
    *,
    all_terms: list[str] | None = None,
    none_terms: list[str] | None = None,
    channels: list[Channel] | None = None,
) -> Rule:
    return Rule(
        id=id, description=description, any_terms=any_terms, all_terms=all_terms or [],
        none_terms=none_terms or [], category=category, module=module, priority=priority, tags=tags,
        channels=channels or [],
    )


C, M, P = Category, Module, Priority

_WISHES = ("希望可以", "希望能", "希望售后", "建议增加", "would be nice", "would be great", "it would help",
           "please offer", "please let", "please extend", "please support")
"""Wish phrases: a suggestion about deliveries or returns is a requirement, not an after-sales case."""

RULES_V1: tuple[Rule, ...] = (
    _rule("complaint-escalation", "重大投诉: the customer threatens to go public or to the authorities (seed 001 "
          "危机应对); a supervisor must see it quickly.",
          ["重大投诉", "严重投诉", "投诉升级", "媒体曝光", "找媒体", "曝光你们", "12315", "消协", "消费者协会", "起诉",
           "律师", "lawyer", "lawsuit", "legal action", "工商局", "找你们领导", "找你们经理", "叫你们经理",
           "发微博", "regulator", "consumer association", "your manager", "your supervisor", "the press",
           "找记者", "找电视台", "电视台", "报社", "抖音", "小红书", "微博见", "发到网上", "发网上", "监管部门", "监管局",
           "工信部", "市场监管", "消委会", "消费者委员会", "报警", "法院", "the bbc", "social media", "twitter", "facebook",
           "tiktok", "reddit", "ombudsman", "trading standards", "consumer council", "small claims", "sue you",
           "formal complaint", "escalate", "chargeback", "go public"],
          C.COMPLAINT, M.AFTER_SALES, P.P2, ["complaint", "escalation_risk"]),
    _rule("complaint-public-social", "差评/避雷 posted on a social channel is public criticism (seed 001 公关危机).",
          ["差评", "避雷", "曝光", "吐槽", "bad review"],
          C.COMPLAINT, M.AFTER_SALES, P.P2, ["complaint", "public_opinion"], channels=[Channel.SOCIAL]),
    _rule("complaint-billing", "投诉: charges the customer never agreed to (seed 004: needs finance and service, P2).",
          ["乱收费", "自动续费", "偷偷扣", "还在扣费", "不给保价", "hidden fee", "billed me", "still bill me",
           "charged me without", "paid plan without"],
          C.COMPLAINT, M.AFTER_SALES, P.P2, ["complaint", "billing"]),
    _rule("complaint-service", "投诉建议: dissatisfaction with the service or an explicit complaint "
          "(seed 000/002). Explicit complaint intent decides the category even when it is about a refund "
          "or a delivery.",
          ["投诉", "态度差", "态度恶劣", "态度不好", "态度太差", "不满意", "服务差", "服务太差", "差评", "敷衍",
           "不耐烦", "踢皮球", "推来推去", "失望", "太过分", "太坑", "不讲理", "刁难", "太差", "很差", "垃圾", "生气",
           "没人理", "没人回", "complain", "rude", "dissatisfied", "unsatisfied", "not satisfied", "terrible",
           "poor service", "brushing me off", "very disappointed", "unacceptable", "outrageous", "disgrace", "ridiculous",
           "shameful", "let down", "worst", "awful", "disgusting", "unbelievable", "arrogant"],
          C.COMPLAINT, M.AFTER_SALES, P.P3, ["complaint"], none_terms=["不是投诉", "not a complaint"]),
    _rule("funds-safety", "P1 资金安全 (seed 004): abnormal, failed, repeated or unauthorised charges.",
          ["资金", "扣款异常", "扣款失败", "被扣款", "重复扣款", "多扣", "乱扣", "盗刷", "余额不见", "余额丢失",
           "charged twice", "double charged", "double charge", "unauthorized charge", "unauthorised charge",
           "money was taken", "money disappeared"],
          C.AFTER_SALES, M.AFTER_SALES, P.P1, ["funds_safety"]),
    _rule("account-security", "P1 账户安全 (seed 001 紧急问题): the account was taken over.",
          ["账户被盗", "账号被盗", "盗号", "account hacked", "account was hacked", "account compromised"],
          C.AFTER_SALES, M.TECHNICAL, P.P1, ["account_security"]),
    _rule("core-outage", "P1 核心业务中断 (seed 004) / 系统故障影响大面积用户 (seed 000): nobody can log in or "
          "many users are hit.",
          ["系统无法登录", "大面积", "所有用户", "全部用户", "系统瘫痪", "系统崩溃", "服务中断", "所有员工", "全部门店",
           "整个平台", "全公司", "整个公司", "所有设备", "大家都登不上", "都登录不了", "outage", "all users", "system down",
           "service down", "whole site", "whole platform", "nobody in our", "none of our", "for everyone", "nobody can log in",
           "no one can log in"],
          C.AFTER_SALES, M.TECHNICAL, P.P1, ["core_outage"]),
    _rule("login-blocked", "P2 影响客户正常使用 (seed 004): this customer cannot log in (one account: not a core "
          "outage; several users or the whole system is rule core-outage).",
          ["无法登录", "登录不了", "登不上", "登不进", "进不去", "cannot log in", "can not log in", "can't log in",
           "cannot login", "can't login", "unable to log in", "unable to login", "locked out"],
          C.AFTER_SALES, M.TECHNICAL, P.P2, ["blocks_use", "login"]),
    _rule("safety-risk", "紧急: 安全风险 / 财产损失 (seed 000) — a device endangering the customer.",
          ["安全隐患", "安全风险", "人身安全", "财产损失", "起火", "着火", "冒烟", "火花", "烧焦", "鼓包", "爆炸", "漏电",
           "caught fire", "explode", "electric shock", "got shocked", "smoking", "sparks", "burning smell", "swelling",
           "melted"],
          C.AFTER_SALES, M.AFTER_SALES, P.P1, ["safety_risk"]),
    _rule("hardware-fault", "硬件故障 (seed 000 example 无法开机 → 硬件故障): the device cannot be used at all or a "
          "part of it has failed (seed 004 P2: 影响客户正常使用).",
          ["无法开机", "开不了机", "不能开机", "不开机", "开机没反应", "黑屏", "硬件故障", "充不进电", "无法充电",
           "won't turn on", "wont turn on", "will not turn on", "doesn't turn on", "does not turn on",
           "cannot turn on", "can't turn on", "won't power on", "not turning on", "异响", "杂音", "失灵", "没声音",
           "自动重启", "条纹", "漏液", "掉电", "转不动", "发热", "crackles", "flickers", "no sound", "keeps rebooting",
           "unresponsive", "no longer works", "stopped spinning", "doesn't spin", "fell off"],
          C.AFTER_SALES, M.AFTER_SALES, P.P2, ["hardware_fault"]),
    _rule("refund-not-credited", "退款未到账: the refund was promised but the money has not arrived.",
          ["未到账", "没到账", "没有到账"],
          C.AFTER_SALES, M.AFTER_SALES, P.P2, ["refund", "funds_delay"], all_terms=["退款"]),
    _rule("refund-missing", "退款未到账 without the word 退款: the money of a return has not come back (P2).",
          ["钱还没退", "还不退钱", "钱还没到账", "退的钱少了", "still no refund", "haven't got my refund",
           "haven't received my refund", "refund has not arrived", "money has not arrived", "refund is missing"],
          C.AFTER_SALES, M.AFTER_SALES, P.P2, ["refund", "funds_delay"]),
    _rule("logistics-lost", "物流异常 P2: the parcel is lost or arrived damaged (seed 002 物流延迟, needs the courier).",
          ["丢件", "运输中损坏", "压坏", "摔坏", "lost my parcel", "lost my package",
           "damaged in transit", "arrived crushed", "arrived broken", "显示签收", "显示已签收", "被人拿走", "东西丢了",
           "包裹丢了", "快递丢了", "没有动静", "没动静", "同一条记录", "躺了", "says delivered", "marked as delivered",
           "never came", "never turned up", "arrived smashed", "smashed", "stuck at", "stuck in", "held at customs"],
          C.AFTER_SALES, M.LOGISTICS, P.P2, ["logistics", "parcel_lost"]),
    _rule("refund-return", "售后支持 (seed 000 example 退款流程 → 售后支持, seed 002 退换货申请).",
          ["退款", "退货", "换货", "退换", "退钱", "refund", "money back", "return"],
          C.AFTER_SALES, M.AFTER_SALES, P.P3, ["refund"], none_terms=list(_WISHES)),
    _rule("repair-warranty", "售后支持: 维修进度查询 / warranty (seed 002).",
          ["维修", "保修", "返修", "repair", "warranty"],
          C.AFTER_SALES, M.AFTER_SALES, P.P3, ["repair"]),
    _rule("logistics", "物流 module (seed 002 物流延迟): shipping, delivery, parcels not received.",
          ["物流", "快递", "发货", "没收到货", "未收到货", "没有收到货", "配送", "运单", "包裹", "签收", "deliver",
           "shipping", "shipment", "shipped", "courier", "tracking number", "parcel"],
          C.AFTER_SALES, M.LOGISTICS, P.P3, ["logistics"], none_terms=list(_WISHES)),
    _rule("software-fault", "软件bug / 故障排查 (seed 000): errors and crashes; P2 only when use is blocked "
          "(rule blocks-use).",
          ["报错", "错误提示", "bug", "闪退", "崩溃", "死机", "卡死", "卡顿", "软件故障", "系统故障", "系统异常",
           "程序异常", "crash", "error", "freeze", "frozen", "glitch"],
          C.AFTER_SALES, M.TECHNICAL, P.P3, ["software_fault"]),
    _rule("blocks-use", "P2 影响客户正常使用 (seed 004): the product cannot be used.",
          ["无法使用", "不能使用", "无法正常使用", "用不了", "不能用", "没法用", "cannot use", "can't use",
           "unable to use", "unusable", "not working", "doesn't work", "does not work", "stopped working",
           "keeps crashing", "一打开就闪退", "打不开", "won't open", "won't load"],
          C.AFTER_SALES, M.TECHNICAL, P.P2, ["blocks_use"]),
    _rule("generic-fault", "故障 (seed 000 关键词识别): something is broken, kind unknown; after-sales checks it.",
          ["故障", "坏了", "出问题", "broken", "faulty", "defective"],
          C.AFTER_SALES, M.AFTER_SALES, P.P3, ["fault"]),
    _rule("pre-sales", "售前咨询 (seed 000 产品介绍、价格对比): price, offers and buying questions.",
          ["价格", "优惠", "报价", "购买", "多少钱", "价钱", "折扣", "促销", "产品介绍", "怎么买", "哪里买", "有货吗",
           "price", "pricing", "quote", "buy", "purchase", "discount", "how much", "in stock"],
          C.PRE_SALES, M.PRODUCT, P.P3, ["pricing"]),
    _rule("requirement", "需求反馈 (seed 002): product suggestions and new features, P4 (seed 004 非紧急建议).",
          ["建议", "希望增加", "希望能增加", "新功能", "增加功能", "功能需求", "改进", "feature request", "suggestion",
           "suggest", "please add", "希望有", "希望出", "希望提供", "would love", "please make", "would help",
           "would be useful", "would be good", "will you ever", "would you ever", "any chance you'll", "any plans to",
           "i'd pay extra", "shame there's no", "wish you", "有没有计划", "会不会出", "能不能出", "要是能", *_WISHES],
          C.REQUIREMENT, M.PRODUCT, P.P4, ["feature_request"], none_terms=["购买建议", "选购建议", "buying advice"]),
    _rule("complaint-privacy", "投诉: personal data misused or leaked (seed 003 客户信息保密; seed 004 P2: needs "
          "several departments).",
          ["泄露", "骚扰电话", "营销电话", "推销电话", "个人信息", "隐私", "privacy", "my personal data", "my data",
           "spam calls", "marketing calls", "sold my", "gdpr"],
          C.COMPLAINT, M.TECHNICAL, P.P2, ["complaint", "privacy"]),
    _rule("partnership", "其他: 合作咨询 (seed 000).",
          ["商务合作", "渠道合作", "合作", "代理商", "加盟", "partnership", "cooperation", "reseller", "distributor"],
          C.OTHER, M.PRODUCT, P.P3, ["partnership"]),
    _rule("no-action", "其他, P4: a contact that needs no service action — job applications, test messages "
          "(labelling guideline of the training set).",
          ["简历", "实习", "应聘", "招人", "测试一下", "hiring", "internship", "cv", "just testing"],
          C.OTHER, M.PRODUCT, P.P4, ["no_action"]),
    _rule("thanks-only", "其他, P4: thanks or a case the customer closed themselves — nothing to do (seed 004 P4). "
          "Phrases that say only that, not a closing 'thanks' (last in order: any request matched earlier decides).",
          ["想说声谢谢", "特地感谢", "帮我转达一下感谢", "点个赞", "给他点赞", "已解决,谢谢", "已经解决了", "问题解决了",
           "已经收到了,谢谢", "新年快乐", "just wanted to say thank", "note to say thank", "ignore my last",
           "never mind", "nvm", "sorted it out", "all sorted", "no longer need"],
          C.OTHER, M.PRODUCT, P.P4, ["no_action"]),
)


def ruleset_v1(created_at: datetime) -> RuleSet:
    """The built-in rule set, seeded when the database has no active one."""
    return RuleSet(
        version=1, description="Keyword rules from the customer-service manuals (seeds 000-004).",
        rules=list(RULES_V1), created_at=created_at,
    )


# ----------------------------------------------------------------------------- matching
class ClassificationInput(BaseModel):
    """What classification looks at: the (already redacted) text and a little context."""

    subject: str = ""
    description: str = ""
    channel: Channel = Channel.WEB_FORM
    customer_tier: CustomerTier = CustomerTier.NORMAL
    has_order_number: bool = False

    @property
    def text(self) -> str:
        return normalize(f"{self.subject}\n{self.description}")


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """A matching rule and the rule's terms found in the text, in rule order (a plain dataclass: it is
    built for every matching rule of every classification, so it skips pydantic validation)."""

    rule: Rule
    terms: list[str]


@lru_cache(maxsize=2048)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_CompiledTerms = tuple[tuple[str, str, "re.Pattern[str] | None"], ...]


def _compile_terms(terms: list[str]) -> _CompiledTerms:
    """(raw term, normalised term, word-start pattern or None) for every term that survives normalisation."""
    out = []
    for term in terms:
        norm = _normalized_term(term)
        if norm:
            out.append((term, norm, _term_pattern(norm)))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    any_terms: _CompiledTerms
    all_terms: _CompiledTerms
    none_terms: _CompiledTerms
    patterns: tuple[re.Pattern[str], ...]
    channels: frozenset[Channel]
    tiers: frozenset[CustomerTier]
    any_norms: frozenset[str]
    """The normalised any-terms: a text holding none of them (and the rule without patterns) cannot match."""


_COMPILED: dict[int, tuple[Rule, _CompiledRule]] = {}


def _compiled(rule: Rule) -> _CompiledRule:
    """The rule's terms normalised and its regular expressions compiled, once per rule object (rules are
    frozen; the entry keeps the rule alive so its id is never reused while cached)."""
    entry = _COMPILED.get(id(rule))
    if entry is not None and entry[0] is rule:
        return entry[1]
    if len(_COMPILED) > 4096:
        _COMPILED.clear()
    any_terms = _compile_terms(rule.any_terms)
    compiled = _CompiledRule(
        any_terms, _compile_terms(rule.all_terms), _compile_terms(rule.none_terms),
        tuple(_regex(p) for p in rule.patterns), frozenset(rule.channels), frozenset(rule.customer_tiers),
        frozenset(norm for _, norm, _ in any_terms),
    )
    _COMPILED[id(rule)] = (rule, compiled)
    return compiled


_WORD_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")
"""What may not precede a latin term (the lookbehind of :func:`_term_pattern`)."""


@dataclass(frozen=True, slots=True)
class _TermIndex:
    """Every normalised term of some rules in one Aho-Corasick automaton (pyahocorasick): one C-level pass
    over the text finds every occurrence, overlapping ones included, so the rules' term checks become set
    lookups — 25 rules of up to 200 terms each were 25 regular-expression screens and a substring scan per
    term. A latin term counts only where it starts a word, as :func:`_term_pattern` says."""

    rules: tuple[Rule, ...]
    """The rules indexed (kept alive: the cache key is their ids)."""
    automaton: ahocorasick.Automaton | None

    def present(self, text: str) -> frozenset[str]:
        """The indexed normalised terms that ``text`` contains (latin ones at a word start)."""
        if self.automaton is None or not text:
            return frozenset()
        found = set()
        for end, (norm, latin) in self.automaton.iter(text):
            if latin:
                at = end - len(norm)
                if at >= 0 and text[at] in _WORD_CHARS:
                    continue
            found.add(norm)
        return frozenset(found)


_INDEXES: dict[tuple[int, ...], _TermIndex] = {}


def _term_index(rules: list[Rule] | tuple[Rule, ...]) -> _TermIndex:
    """The term index of these rule objects, built once (rule sets are immutable once stored)."""
    key = tuple(map(id, rules))
    index = _INDEXES.get(key)
    if index is not None:
        return index
    if len(_INDEXES) > 256:
        _INDEXES.clear()
    norms = {norm for rule in rules for terms in _terms_of(_compiled(rule)) for _, norm, _ in terms}
    automaton = None
    if norms:
        automaton = ahocorasick.Automaton()
        for norm in norms:
            automaton.add_word(norm, (norm, _term_pattern(norm) is not None))
        automaton.make_automaton()
    index = _INDEXES[key] = _TermIndex(tuple(rules), automaton)
    return index


def _terms_of(c: _CompiledRule) -> tuple[_CompiledTerms, ...]:
    return c.any_terms, c.all_terms, c.none_terms


def match_rule(
    rule: Rule, text: str, channel: Channel, tier: CustomerTier = CustomerTier.NORMAL, has_order_number: bool = False,
    present: frozenset[str] | None = None,
) -> RuleMatch | None:
    """The rule's match on the normalised ``text``, or None. ``present``: the rule set's terms found in
    ``text`` (:class:`_TermIndex`), when the caller matches many rules on one text."""
    c = _compiled(rule)
    if c.channels and channel not in c.channels:
        return None
    if c.tiers and tier not in c.tiers:
        return None
    if rule.has_order_number is not None and rule.has_order_number != has_order_number:
        return None
    if present is None:
        present = _term_index((rule,)).present(text)
    if not c.patterns and c.any_norms.isdisjoint(present):  # the usual case: a set operation in C
        return None
    for _, norm, _ in c.none_terms:
        if norm in present:
            return None
    for _, norm, _ in c.all_terms:
        if norm not in present:
            return None
    found = [term for term, norm, _ in c.any_terms if norm in present]
    for regex in c.patterns:
        hit = regex.search(text)
        if hit and hit.group(0):
            found.append(hit.group(0))
    if not found:
        return None
    return RuleMatch(rule, found + list(rule.all_terms))


def distinct_evidence(terms: list[str]) -> list[str]:
    """Terms that are not merely part of another matched term (退款流程 found also finds 退款: one piece
    of evidence, not two)."""
    norms = [normalize(t) for t in terms]
    unique = list(dict.fromkeys(norms))
    return [t for t in unique if not any(t != other and t in other for other in unique)]


def confidence_for(matches: list[RuleMatch]) -> float:
    """0.9 when at least two distinct terms support the chosen category, 0.75 for one, 0.3 without a
    match. Terms of rules pointing at another category do not add confidence."""
    if not matches:
        return CONFIDENCE_DEFAULT
    category = matches[0].rule.category
    support = [t for m in matches if m.rule.category == category for t in m.terms]
    return CONFIDENCE_STRONG if len(distinct_evidence(support)) >= 2 else CONFIDENCE_WEAK


def priority_rule(matches: list[RuleMatch]) -> Rule | None:
    """The earliest matching rule with the most urgent priority (P1 beats P2 beats P3 beats P4);
    None when no matching rule has an opinion on priority."""
    rated = [m.rule for m in matches if m.rule.priority is not None]
    return min(rated, key=lambda r: r.priority.rank if r.priority else 5, default=None)


def _union(lists: list[list[str]]) -> list[str]:
    return list(dict.fromkeys(item for items in lists for item in items))


# ----------------------------------------------------------------------------- the classification
class Classification(BaseModel):
    """The classifier's decision on one text (the same shape for rules, a model or a manual override)."""

    category: Category
    module: Module
    priority: Priority
    confidence: float = Field(ge=0.0, le=1.0)
    needs_review: bool
    tags: list[str] = Field(default_factory=list)
    matched_rules: list[str] = Field(default_factory=list, description="Every matching rule, in order.")
    classifier_version: str
    explanation: ClassificationExplanation


def classify(
    ruleset: RuleSet, item: ClassificationInput, *, review_below: float = DEFAULT_REVIEW_BELOW,
    text: str | None = None,
) -> Classification:
    """Apply the ordered rule set: category/module from the first matching rule, the most urgent
    priority of all matching rules (the rule set's default when none has one), the union of their
    tags. Without a match: the rule set's fallback, confidence 0.3, flagged for review. ``text`` is
    ``item.text`` when the caller has already normalised it (it is then not normalised twice)."""
    if text is None:
        text = item.text
    present = _term_index(ruleset.rules).present(text)
    matches = [
        m for m in (match_rule(r, text, item.channel, item.customer_tier, item.has_order_number, present)
                    for r in ruleset.rules)
        if m is not None
    ]
    if not matches:
        return _fallback(ruleset)
    first = matches[0].rule
    deciding = priority_rule(matches)
    priority = deciding.priority if deciding and deciding.priority else ruleset.default_priority
    confidence = confidence_for(matches)
    ids = [m.rule.id for m in matches]
    source = f"rule {deciding.id}" if deciding else "the rule set default"
    detail = (
        f"category/module from rule {first.id}; priority {priority.value} from {source}; "
        f"matching rules: {', '.join(ids)}"
    )
    return Classification(
        category=first.category,
        module=first.module,
        priority=priority,
        confidence=confidence,
        needs_review=confidence < review_below,
        tags=_union([m.rule.tags for m in matches]),
        matched_rules=ids,
        classifier_version=ruleset.classifier_version,
        explanation=ClassificationExplanation(
            method="rule",
            rule_id=first.id,
            matched_terms=distinct_evidence(_union([m.terms for m in matches])),
            detail=detail,
        ),
    )


def _fallback(ruleset: RuleSet) -> Classification:
    return Classification(
        category=ruleset.default_category,
        module=ruleset.default_module,
        priority=ruleset.default_priority,
        confidence=CONFIDENCE_DEFAULT,
        needs_review=True,
        classifier_version=ruleset.classifier_version,
        explanation=ClassificationExplanation(
            method="default", detail=f"no rule of {ruleset.classifier_version} matched; fallback applied"
        ),
    )


# ----------------------------------------------------------------------------- tickets
class ClassificationRecord(BaseModel):
    """The classification kept for one ticket (``_id`` = ticket_id). ``revision`` counts changes, so a
    later manual override or reclassification can compare-and-set on it."""

    ticket_id: str
    ticket_no: str
    correlation_id: str
    channel: Channel
    customer_tier: CustomerTier = CustomerTier.NORMAL
    result: Classification
    source_event_id: str = Field(description="The ticket.created event this classification answers.")
    source_event_type: str = "ticket.created"
    ticket_created_at: datetime
    classified_at: datetime
    revision: int = Field(default=1, ge=1)
    subject: str = Field(default="", description="The ticket's (already redacted) subject, for re-classification "
                         "and as the text of a training example when corrected.")
    description: str = ""
    has_order_number: bool = False
    reopen_notes: list[str] = Field(default_factory=list, description="Reasons given when the ticket was reopened.")
    last_reopened_at: datetime | None = None
    corrected: bool = Field(default=False, description="A supervisor corrected it: a labelled training example.")
    history: list[dict[str, Any]] = Field(default_factory=list, description="Earlier results, oldest first.")
    suggestions: list[KnowledgeSuggestion] = Field(
        default_factory=list, description="The knowledge-base articles and reply templates matched to the ticket.")
    suggested_at: datetime | None = None


class InvalidTicket(ValueError):
    """A ticket.created that can never be classified (maps to a dead letter)."""


def check_created(payload: TicketCreatedPayload) -> None:
    """A ticket needs a visible id and number to be classified (the contract already bounds their
    length); anything else can be classified, even an incomplete (needs_info) ticket with no text — it
    simply gets the reviewed fallback."""
    if not payload.ticket_id.strip():
        raise InvalidTicket("ticket.created has a blank ticket_id")
    if not payload.ticket_no.strip():
        raise InvalidTicket(f"ticket.created for {payload.ticket_id} has a blank ticket_no")


def input_from_created(payload: TicketCreatedPayload) -> ClassificationInput:
    return ClassificationInput(
        subject=payload.subject, description=payload.description, channel=payload.channel,
        customer_tier=payload.customer_tier, has_order_number=payload.has_order_number,
    )


def record_input(record: ClassificationRecord, *more_notes: str) -> ClassificationInput:
    """The text and context a stored classification was made from (reopen reasons included), and
    ``more_notes`` after them."""
    notes = "\n".join([*record.reopen_notes, *more_notes])
    return ClassificationInput(
        subject=record.subject, description=f"{record.description}\n{notes}" if notes else record.description,
        channel=record.channel, customer_tier=record.customer_tier, has_order_number=record.has_order_number,
    )


def record_for(event: TicketCreated, result: Classification, now: datetime) -> ClassificationRecord:
    p = event.payload
    return ClassificationRecord(
        ticket_id=p.ticket_id,
        ticket_no=p.ticket_no,
        correlation_id=event.correlation_id,
        channel=p.channel,
        customer_tier=p.customer_tier,
        result=result,
        source_event_id=str(event.event_id),
        ticket_created_at=p.created_at,
        classified_at=now,
        subject=p.subject,
        description=p.description,
        has_order_number=p.has_order_number,
    )


def classified_event(record: ClassificationRecord) -> TicketClassified:
    """``ticket.classified`` for a stored classification; carries ids, the decision and the rule
    explanation only — never the customer's text."""
    r = record.result
    return TicketClassified.new(
        TicketClassifiedPayload(
            ticket_id=record.ticket_id,
            ticket_no=record.ticket_no,
            category=r.category,
            module=r.module,
            priority=r.priority,
            confidence=r.confidence,
            needs_review=r.needs_review,
            tags=r.tags,
            classifier_version=r.classifier_version,
            explanation=r.explanation,
            channel=record.channel,
            customer_tier=record.customer_tier,
            classified_at=record.classified_at,
        ),
        correlation_id=record.correlation_id,
        producer=PRODUCER,
        occurred_at=record.classified_at,
    )


# ----------------------------------------------------------------------------- rules + model
RULE_WINS_AT = 0.75
"""A rule result at least this confident decides (every rule match is, by default)."""
MODEL_ACCEPT_AT = 0.4
"""Below this category probability the model's answer is not trusted: ``other`` + manual review. Tuned by
4-fold cross-validation on the train split (``python -m classifier.evaluate --cv``): with the v2 model
0.55 → 0.4 gains ~1.5 points of category accuracy; 0.3 gains 0.1 more but sends near-coin-flips out
unreviewed. Re-checked with the v3 model (calibrated probabilities): 0.3 +0.1, 0.5 −0.6 — kept."""


MODEL_RAISES_PRIORITY_AT = 0.6
"""When a rule decides but only with a routine priority (P3/P4), the model may make it more urgent when its
priority probability is at least this (the rules know the topic; the model reads the urgency of the
wording: a refund *missing* rather than a refund question). Cross-validated on the train split with the v2
model (``python -m classifier.evaluate --cv``): 0.6 (was 0.5); never raising loses ~0.6 points of priority."""


MODEL_P1_AT = 0.8
"""The model's P1 probability from which a text is P1 even when its most likely priority is another (a
funds-safety wording the detector does not know). Checked on the independent development set
(``python -m classifier.evaluate``): 0.6 → 18 false P1s, 0.8 → 15 at the same recall (98.4 %), 0.9 loses
recall; never (the detector and rules alone) → 97.9 % recall."""


MODEL_OVERRIDES_AT = 0.5
"""A rule match that carries no urgent signal (every matching rule routine, P3/P4: a topic keyword such as
退款 or "delivery") does not win against a model at least this sure of another category: "退款拖了一个月
你们到底什么意思" is a complaint about a refund, not a refund request (seed 000: 投诉建议 = dissatisfaction
with the service). Rules with a P1/P2 signal (资金/扣款异常, 大面积无法登录, 无法开机 …) always win. Tuned by
cross-validation on the train split (``python -m classifier.evaluate --cv``): 0.6 with the v2 model; with
the v3 model (calibrated, cue words) the rules' routine topic matches no longer add category accuracy on top
of the model, and 0.6 → 0.5 gains 0.5 point of category (0.4: +0.4, 0.7: −0.9; priority within 0.1)."""


def combined_version(ruleset: RuleSet, model_version: str | None) -> str:
    return f"{ruleset.classifier_version}+{model_version}" if model_version else ruleset.classifier_version


def _most_urgent(*priorities: Priority | None) -> Priority:
    return min((p for p in priorities if p is not None), key=lambda p: p.rank)


def decide(
    ruleset: RuleSet,
    item: ClassificationInput,
    prediction: ModelPrediction | None,
    model_version: str | None,
    *,
    rule_wins_at: float = RULE_WINS_AT,
    model_accept_at: float = MODEL_ACCEPT_AT,
    review_below: float = DEFAULT_REVIEW_BELOW,
    text: str | None = None,
    model_raises_priority_at: float = MODEL_RAISES_PRIORITY_AT,
    model_overrides_at: float = MODEL_OVERRIDES_AT,
    model_p1_at: float = MODEL_P1_AT,
) -> Classification:
    """The decision policy. A matching rule at least ``rule_wins_at`` confident wins (its id and terms are
    the explanation); the model can only make its routine priority more urgent (``model_raises_priority_at``). Otherwise the model decides with its probability as confidence; a weaker rule
    match still contributes its tags and can only make the priority more urgent (a P1 keyword is never
    lost). When the model's category probability is below ``model_accept_at`` the category is ``other``
    and the ticket is flagged for manual review (module and priority keep the model's best guess).
    Without a model the rules' own result (or fallback) stands.

    Funds safety is never lowered (seed 004: P1 涉及客户资金安全): whatever was decided, a text in which
    the safety detector (:mod:`classifier.safety`: money, account or person at risk) finds a signal, or in
    which the model gives P1 at least ``model_p1_at``, is P1, and the explanation names the evidence."""
    if text is None:
        text = item.text
    by_rules = classify(ruleset, item, review_below=review_below, text=text)
    version = combined_version(ruleset, model_version)
    ruled = by_rules.explanation.method == "rule"
    overridden = (  # a routine topic match (no P1/P2 signal) against a model sure of another category
        ruled and prediction is not None and Priority(by_rules.priority).rank >= Priority.P3.rank
        and prediction.category.label != by_rules.category and prediction.category.probability >= model_overrides_at
    )
    if prediction is None or (ruled and by_rules.confidence >= rule_wins_at and not overridden):
        update: dict[str, Any] = {"classifier_version": version}
        pri = prediction.priority if prediction is not None else None
        if (ruled and pri is not None and pri.probability >= model_raises_priority_at
                and Priority(by_rules.priority).rank >= Priority.P3.rank
                and Priority(pri.label).rank < Priority(by_rules.priority).rank):
            update["priority"] = Priority(pri.label)
            update["explanation"] = by_rules.explanation.model_copy(update={"detail": (
                f"{by_rules.explanation.detail}; priority raised {by_rules.priority}→{pri.label} by {model_version} "
                f"(p={pri.probability:.2f})")})
        return _safety_first(_suggestion_priority(by_rules.model_copy(update=update)), text, prediction,
                             model_version, model_p1_at)
    cat, mod, pri = prediction.category, prediction.module, prediction.priority
    # a text without a single known n-gram only gets the class prior: never trusted
    trusted = cat.probability >= model_accept_at and prediction.evidence != 0
    category = Category(cat.label) if trusted else Category.OTHER
    priority = Priority(pri.label)
    if ruled:
        priority = _most_urgent(priority, Priority(by_rules.priority))
    ranked = sorted(cat.probabilities.items(), key=lambda kv: -kv[1])[:3]
    detail = (
        f"{model_version}: category {cat.label} p={cat.probability:.2f} "
        f"({', '.join(f'{k} {v:.2f}' for k, v in ranked)}); module {mod.label} p={mod.probability:.2f}; "
        f"priority {pri.label} p={pri.probability:.2f}"
    )
    if not trusted:
        detail += (f"; below the acceptance threshold {model_accept_at:.2f}: category other, manual review"
                   if prediction.evidence != 0 else "; no known wording in the text: category other, manual review")
    if ruled:
        rule_id = by_rules.explanation.rule_id
        how = (f"routine rule match {rule_id} overridden (model p>={model_overrides_at:.2f})"
               if overridden and by_rules.confidence >= rule_wins_at else f"weaker rule match {rule_id}")
        detail += f"; {how} kept its tags and priority {by_rules.priority}"
    confidence = round(cat.probability, 4)
    return _safety_first(_suggestion_priority(Classification(
        category=category,
        module=Module(mod.label),
        priority=priority,
        confidence=confidence,
        needs_review=(not trusted) or confidence < review_below,
        tags=by_rules.tags if ruled else [],
        matched_rules=by_rules.matched_rules,
        classifier_version=version,
        explanation=ClassificationExplanation(method="model", rule_id=None, matched_terms=prediction.top_terms,
                                              detail=detail),
    )), text, prediction, model_version, model_p1_at)


_NOT_A_CASE = (Category.PRE_SALES, Category.REQUIREMENT, Category.OTHER)
"""Categories that cannot hold a customer's money at risk: a funds-safety text read as one of them is an
after-sales case (a complaint stays a complaint)."""


def _safety_first(result: Classification, text: str, prediction: ModelPrediction | None, model_version: str | None,
                  model_p1_at: float) -> Classification:
    """P1 when the safety detector sees money, an account or a person at risk, or the model is at least
    ``model_p1_at`` sure of P1 — whatever the rules or the model's most likely priority said; the explanation
    names the evidence."""
    signal = safety.detect(text)
    p1 = prediction.priority.probabilities.get(Priority.P1.value, 0.0) if prediction is not None else 0.0
    if signal is None and (p1 < model_p1_at or result.priority == Priority.P1):
        return result
    update: dict[str, Any] = {}
    terms = list(result.explanation.matched_terms)
    if signal is not None:
        note = signal.describe()
        update["tags"] = _union([result.tags, [signal.tag]])
        terms = list(dict.fromkeys([*signal.evidence, *terms]))
    else:
        note = f"{model_version} gives P1 p={p1:.2f} (>= {model_p1_at:.2f})"
    if result.priority != Priority.P1:
        update["priority"] = Priority.P1
        note += f": priority {result.priority}→P1"
    if signal is not None and result.category in _NOT_A_CASE:
        update["category"] = Category.AFTER_SALES
        update["module"] = Module.TECHNICAL if signal.tag == "account_security" else Module.AFTER_SALES
        note += f", category {result.category}→after_sales"
    update["explanation"] = result.explanation.model_copy(update={
        "detail": f"{result.explanation.detail}; {note}", "matched_terms": terms})
    return result.model_copy(update=update)


def _suggestion_priority(result: Classification) -> Classification:
    """需求 is a suggestion, and a suggestion is P4 (seed 004: P4 非紧急建议、优化类反馈): a requirement left
    at the routine P3 (another topic rule matched too, or the priority head hesitated) becomes P4; an
    urgent P1/P2 signal is kept. Cross-validated on the train split: +1 point of priority accuracy."""
    if result.category != Category.REQUIREMENT or result.priority != Priority.P3:
        return result
    return result.model_copy(update={"priority": Priority.P4, "explanation": result.explanation.model_copy(
        update={"detail": f"{result.explanation.detail}; requirement = suggestion: priority P3→P4"})})


# ----------------------------------------------------------------------------- manual override
class Correction(BaseModel):
    """A supervisor's correction of a ticket's classification (at least one field)."""

    category: Category | None = None
    module: Module | None = None
    priority: Priority | None = None
    reason: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _something(self) -> Correction:
        if self.category is None and self.module is None and self.priority is None:
            raise ValueError("give at least one of category, module, priority")
        return self


def manual_result(previous: Classification, correction: Correction, staff_id: str, reason: str) -> Classification:
    """The corrected result: the supervisor's fields over the previous ones, confidence 1, no review.
    ``reason`` must already be redacted of personal data."""
    changed = [
        f"{name} {getattr(previous, name)}→{getattr(correction, name)}"
        for name in ("category", "module", "priority")
        if getattr(correction, name) is not None and getattr(correction, name) != getattr(previous, name)
    ]
    return Classification(
        category=correction.category or previous.category,
        module=correction.module or previous.module,
        priority=correction.priority or previous.priority,
        confidence=1.0,
        needs_review=False,
        tags=previous.tags,
        matched_rules=previous.matched_rules,
        classifier_version=f"manual+{previous.classifier_version}".removeprefix("manual+manual+"),
        explanation=ClassificationExplanation(
            method="manual", rule_id=None, matched_terms=[],
            detail=f"corrected by {staff_id}: {', '.join(changed) or 'confirmed unchanged'}; reason: {reason}",
        ),
    )


def history_entry(record: ClassificationRecord) -> dict[str, Any]:
    return {"revision": record.revision, "at": record.classified_at, "result": record.result.model_dump(mode="json")}


# ----------------------------------------------------------------------------- reopen
def reopen_input(record: ClassificationRecord, reason: str) -> ClassificationInput:
    """The ticket's text plus every reopen reason so far (the new one last)."""
    return record_input(record, reason)


def reopen_result(record: ClassificationRecord, fresh: Classification, source: str) -> Classification | None:
    """What a reopen changes, or None to keep the previous result.

    * a supervisor's manual result is never overridden by the machine;
    * a fresh result that is only a guess (fallback, or flagged for review) adds no information;
    * a reopen from a survey carries a rating, not a new description of the problem: it may make the
      priority more urgent but keeps category and module;
    * a reopen by the customer or staff may change category, module and priority — the priority never
      becomes less urgent (the problem came back);
    * nothing changes when the outcome is the same as before."""
    old = record.result
    if old.explanation.method == "manual" or fresh.needs_review or fresh.explanation.method == "default":
        return None
    priority = _most_urgent(Priority(old.priority), Priority(fresh.priority))
    if source == "survey":
        if priority == old.priority:
            return None
        update = {"priority": priority, "classifier_version": fresh.classifier_version,
                  "explanation": fresh.explanation.model_copy(update={
                      "detail": f"reopened after a survey: priority raised to {priority.value}; {fresh.explanation.detail}"})}
        return old.model_copy(update=update)
    result = fresh.model_copy(update={"priority": priority})
    if (result.category, result.module, result.priority) == (old.category, old.module, old.priority):
        return None
    return result.model_copy(update={"explanation": result.explanation.model_copy(
        update={"detail": f"re-classified on reopen ({source}); {result.explanation.detail}"})})
