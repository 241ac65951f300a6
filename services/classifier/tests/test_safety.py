"""The safety detector (money, account or person at risk → P1) and the decision policy's promise that nothing
lowers it. Examples written for these tests from the failure classes of issue 16 (not taken from the
independent evaluation sets)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import Category, Priority
from classifier import domain, safety
from classifier.domain import ClassificationInput, decide, normalize
from classifier.model import HeadPrediction, ModelPrediction


def kind(text: str) -> str | None:
    signal = safety.detect(normalize(text))
    return signal.kind if signal else None


@pytest.mark.parametrize(("text", "expected"), [
    # unrecognised: plainly, indirectly, as a question, zh and en
    ("why was my account deducted when I didn't approve it?", "unrecognised"),
    ("there is a 7.49 payment to some streaming site, never signed up for that", "unrecognised"),
    ("What's this £19.99 debit on my statement?", "unrecognised"),
    ("我没买东西怎么扣了我钱", "unrecognised"),
    ("账单里有一笔不认识的消费,388元", "unrecognised"),
    ("我的card上有一笔莫名其妙的charge", "unrecognised"),
    ("会员取消了还在每个月扣钱", "unrecognised"),
    # duplicate
    ("I was charged twice for one order", "duplicate"),
    ("同一个订单扣了两次钱", "duplicate"),
    ("paid once but there are two identical debits", "duplicate"),
    # money that left and did not arrive
    ("I sent 500 euros to my landlord on Monday, it left my account but he never got it", "missing"),
    ("转账显示成功但对方没收到", "missing"),
    ("topped up 200 from my bank, bank was debited but the wallet balance didn't change", "missing"),
    ("you said the refund was sent a week ago but it is not in my account", "missing"),
    ("支付成功了但是订单没有生成", "missing"),
    ("提现显示已完成,银行卡里没有这笔钱", "missing"),
    ("ATM said error and no cash came out but the app shows -100 plus a fee", "missing"),
    # vanished / frozen
    ("余额少了两百", "vanished"),
    ("my balance dropped by 300 overnight and I did nothing", "vanished"),
    ("账户资金被冻结了", "vanished"),
    # card, wallet, phone lost or stolen
    ("my card was stolen yesterday", "card_lost"),
    ("卡丢了怎么办", "card_lost"),
    ("the ATM swallowed my card", "card_lost"),
    ("钱包被偷了,里面有两张卡", "card_lost"),
    ("someone has used my card at a petrol station in another city", "card_lost"),
    # takeover
    ("someone logged into my account from a new device", "takeover"),
    ("my password was changed and it wasn't me", "takeover"),
    ("收到修改支付密码成功的短信,可我根本没操作", "takeover"),
    ("账号被盗了", "takeover"),
    ("I gave the verification code to a caller who said he was from your bank", "takeover"),
    # danger
    ("the charger is smoking", "danger"),
    ("电池鼓包了,后盖都翘起来了", "danger"),
    ("the back of the tablet is bulging and it is warm", "danger"),
])
def test_signals(text: str, expected: str) -> None:
    assert kind(text) == expected


@pytest.mark.parametrize("text", [
    # money words without an anomaly: pre-sales questions, routine after-sales questions
    "how much is the fee to transfer to the UK?",
    "what's the exchange rate for euros today",
    "最多能转多少钱？",
    "手续费是多少",
    "how do I add a card to my wallet",
    "my refund hasn't arrived yet, I returned it two days ago",  # a status question: nothing says money left
    "where can I download my statement",
    # hypotheticals
    "what happens if my card is stolen?",
    "如果卡丢了怎么办",
    "In case my phone gets lost, can I block the card from the website?",
    # other problems
    "lost my parcel",
    "the courier lost my package",
    "I can't log in, I forgot my password",
    "my account is locked after three wrong passwords",
    "the screen is cracked",
    "收到的耳机没声音",
    "我想分两次付款可以吗",
])
def test_no_signal(text: str) -> None:
    assert kind(text) is None


def test_the_explanation_names_the_evidence() -> None:
    signal = safety.detect(normalize("why was my account deducted when I didn't approve it?"))
    assert signal is not None and signal.tag == "funds_safety"
    assert "deducted" in signal.describe() and "didn't approve" in signal.describe()
    assert safety.detect(normalize("账号被盗了")).tag == "account_security"  # type: ignore[union-attr]
    assert safety.detect(normalize("the charger is smoking")).tag == "safety_risk"  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- the decision policy
RULES = domain.ruleset_v1(datetime(2026, 1, 1, tzinfo=UTC))


def prediction(category: str, priority: str, p: float = 0.95) -> ModelPrediction:
    def head(label: str, labels: list[str]) -> HeadPrediction:
        rest = (1 - p) / (len(labels) - 1)
        return HeadPrediction(label, p, {x: (p if x == label else rest) for x in labels})
    return ModelPrediction(head(category, [c.value for c in Category]), head("after_sales", ["product", "logistics",
                                                                                          "after_sales", "technical"]),
                           head(priority, [x.value for x in Priority]), top_terms=["x"], evidence=3)


def test_a_confident_model_cannot_lower_a_funds_signal() -> None:
    item = ClassificationInput(description="what is this 12.99 payment, I never bought anything there")
    result = decide(RULES, item, prediction("pre_sales", "P3", 0.99), "m1")
    assert result.priority == Priority.P1
    assert result.category == Category.AFTER_SALES  # money at risk is not a pre-sales question
    assert "funds_safety" in result.tags
    assert "funds safety: unrecognised" in result.explanation.detail
    assert "P3→P1" in result.explanation.detail


def test_a_complaint_about_money_taken_stays_a_complaint_and_is_p1() -> None:
    item = ClassificationInput(description="你们太过分了,没经过我同意就扣了我三百块,我要投诉")
    result = decide(RULES, item, prediction("complaint", "P3"), "m1")
    assert (result.category, result.priority) == (Category.COMPLAINT, Priority.P1)


def test_a_routine_rule_cannot_lower_it_either() -> None:
    # "refund" matches the routine refund rule (P3); the detector sees the refund marked sent and missing
    item = ClassificationInput(description="the refund shows completed on your site but nothing is in my bank account")
    for pred in (None, prediction("after_sales", "P3")):
        result = decide(RULES, item, pred, "m1" if pred else None)
        assert result.priority == Priority.P1, result.explanation


def test_the_model_alone_can_raise_p1() -> None:
    item = ClassificationInput(description="hmm something odd with my thing")
    assert decide(RULES, item, prediction("after_sales", "P1", 0.7), "m1").priority == Priority.P1
    assert decide(RULES, item, prediction("after_sales", "P3", 0.7), "m1").priority != Priority.P1


SIGNALS = ["my card was stolen yesterday", "扣了两次钱", "账号被盗了", "the charger is smoking",
           "I don't recognise this charge of 40 dollars"]


@settings(max_examples=200, deadline=None)
@given(signal=st.sampled_from(SIGNALS), before=st.text(max_size=40), after=st.text(max_size=40),
       category=st.sampled_from([c.value for c in Category]), priority=st.sampled_from([p.value for p in Priority]),
       p=st.floats(0.3, 1.0))
def test_nothing_lowers_a_safety_signal(signal: str, before: str, after: str, category: str, priority: str,
                                        p: float) -> None:
    """Whatever surrounds the words and whatever the model thinks, a text the detector flags is P1."""
    text = f"{before}。{signal}。{after}"
    if safety.detect(normalize(text)) is None:  # the surrounding text made it hypothetical ("如果…")
        return
    result = decide(RULES, ClassificationInput(description=text), prediction(category, priority, p), "m1")
    assert result.priority == Priority.P1


_SCREENED = [*(p for _, p in safety._SINGLE), *(p for pair in safety._PAIRS for p in (pair.first, pair.second)),
             safety._LEFT_RE, safety._MISSING_ALONE]
_WORDS = sorted(safety._SCREEN.automaton.keys())
"""The literal words the screen knows, and pieces that make near misses of them."""


def _never_skips_a_match(text: str) -> None:
    possible = safety._SCREEN.possible(text)
    for pattern in _SCREENED:
        if id(pattern) not in possible:
            assert pattern.search(text) is None, (pattern.pattern[:60], text)


def test_the_screen_reads_literal_words_from_every_pattern() -> None:
    """Every detector pattern is screened (none falls back to always running), through words of its own."""
    assert not safety._SCREEN.always
    assert {"charg", "扣款", "hack", "冒烟", "twice"} <= set(_WORDS)
    leads = safety._leads(list(safety._parse.parse(r"(?<![a-z])ab(?:c|d)|[$£]\s?\d|\b\d+x|(?:e|f)?g")))
    assert leads is safety._STOP  # an optional start: may begin anywhere
    assert safety._leads(list(safety._parse.parse(r"(?<![a-z])ab(?:c|d)|[$£]\s?\d|\b\d+x"))) == {
        "ab", "$", "£", *"0123456789"}


def test_the_screen_never_skips_a_search_that_would_match_on_real_wording() -> None:
    from classifier import evaluate, model

    texts = [e.text for e in model.load_examples()]
    texts += [row.text for _, file in evaluate.INDEPENDENT for row in evaluate.load_independent(file)]
    for text in texts:
        _never_skips_a_match(normalize(text))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_WORDS), st.sampled_from(_WORDS).map(lambda w: w[:-1] or w),
                          st.text(alphabet="abcdeilmnorstuy 0123456789$.,!?扣钱卡了没到账被盗两次", max_size=12)),
                max_size=12))
def test_the_screen_never_skips_a_search_that_would_match(parts: list[str]) -> None:
    """Texts made of the screen's own words, their truncations and noise: a pattern the screen rules out
    never matches (the screen only saves time, it never changes a decision)."""
    _never_skips_a_match(" ".join(parts))
    _never_skips_a_match("".join(parts))
