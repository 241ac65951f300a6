"""The learned model: the fast single-text scorer equals scikit-learn, serialisation, the decision policy."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from classifier import domain, model
from classifier.domain import ClassificationInput, Correction
from contracts import Category, Priority

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
V1 = domain.ruleset_v1(NOW)


@pytest.fixture(scope="module")
def small() -> tuple[model.LinearModel, list[model.Example]]:
    examples = model.load_examples()
    subset = [e for i, e in enumerate(examples) if e.split == "train" and i % 4 == 0]
    return model.fit(subset), subset


def test_shipped_training_file_is_bilingual_and_balanced() -> None:
    examples = model.load_examples()
    for category in Category:
        rows = [e for e in examples if e.category == category]
        assert len(rows) >= 200, category
        assert any(e.split == "test" for e in rows)
    assert {e.priority for e in examples} == {p.value for p in Priority}
    zh = sum(any("\u4e00" <= ch <= "\u9fff" for ch in e.text) for e in examples)
    assert 0.3 < zh / len(examples) < 0.7
    train_groups = {e.group for e in examples if e.split == "train"}
    assert not train_groups & {e.group for e in examples if e.split == "test"}  # held-out wordings never trained


def test_fast_scoring_equals_sklearn(small: tuple[model.LinearModel, list[model.Example]]) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    fitted, subset = small
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, preprocessor=domain.normalize,
                          max_df=0.5, min_df=2, dtype=np.float64)
    x = vec.fit_transform([e.text for e in subset])
    est = LogisticRegression(C=10.0, max_iter=500).fit(x, [e.category for e in subset])
    for text in ("手机无法开机", "I want a refund for my laptop", "你们客服态度太差", "", "zzz"):
        expected = est.predict_proba(vec.transform([text]))[0]
        got = fitted.predict(text).category.probabilities
        assert [got[c] for c in est.classes_] == pytest.approx([float(p) for p in expected], abs=2e-3)


def test_prediction_explains_itself_and_round_trips(small: tuple[model.LinearModel, list[model.Example]]) -> None:
    fitted, _ = small
    pred = fitted.predict("我要退款, 退款流程是什么")
    assert pred.category.label in {c.value for c in Category}
    assert abs(sum(pred.category.probabilities.values()) - 1) < 1e-3 and pred.top_terms
    trained = model.TrainedModel(version=3, trained_at=NOW, training_digest="x", examples=1, corrections=0,
                                 model=fitted)
    back = model.loads(model.dumps(trained))
    assert back.classifier_version == "model-v3" and back.model.predict("退款").category == fitted.predict("退款").category
    with pytest.raises(TypeError):
        model.loads(model.pickle.dumps({"not": "a model"}))


def _prediction(category: str, p: float, priority: str = "P3") -> model.ModelPrediction:
    head = lambda label, prob: model.HeadPrediction(label, prob, {label: prob})  # noqa: E731
    return model.ModelPrediction(head(category, p), head("product", 0.7), head(priority, 0.6), ["价格"])


def test_decision_policy() -> None:
    rule_hit = ClassificationInput(description="手机无法开机")
    r = domain.decide(V1, rule_hit, _prediction("pre_sales", 0.99), "model-v2")
    assert r.explanation.method == "rule" and r.category == Category.AFTER_SALES
    assert r.classifier_version == "rules-v1+model-v2"
    # a stricter rule threshold lets the model decide, but the rule's more urgent priority is kept
    r = domain.decide(V1, ClassificationInput(description="扣款异常"), _prediction("complaint", 0.8, "P3"),
                      "model-v2", rule_wins_at=0.95)
    assert (r.explanation.method, r.category, r.priority) == ("model", Category.COMPLAINT, Priority.P1)
    assert "funds_safety" in r.tags
    free = ClassificationInput(description="随便说点什么")
    r = domain.decide(V1, free, _prediction("pre_sales", 0.8), "model-v2")
    assert (r.category, r.confidence, r.needs_review) == (Category.PRE_SALES, 0.8, False)
    assert r.explanation.matched_terms == ["价格"] and "pre_sales p=0.80" in r.explanation.detail
    r = domain.decide(V1, free, _prediction("pre_sales", 0.4), "model-v2")
    assert (r.category, r.needs_review) == (Category.OTHER, True) and "manual review" in r.explanation.detail
    r = domain.decide(V1, free, None, None)
    assert r.explanation.method == "default" and r.classifier_version == "rules-v1"


def _record(result: domain.Classification) -> domain.ClassificationRecord:
    return domain.ClassificationRecord(ticket_id="t", ticket_no="GD1", correlation_id="c", channel="email",
                                       result=result, source_event_id="e", ticket_created_at=NOW, classified_at=NOW,
                                       description="手机无法开机")


def test_manual_result_and_reopen_policy() -> None:
    base = domain.classify(V1, ClassificationInput(description="手机无法开机"))
    manual = domain.manual_result(base, Correction(priority="P1", reason="VIP 停产线"), "S7", "VIP 停产线")
    assert (manual.category, manual.priority, manual.confidence) == (base.category, Priority.P1, 1.0)
    assert manual.explanation.method == "manual" and "S7" in manual.explanation.detail
    assert "priority P2→P1" in manual.explanation.detail
    with pytest.raises(ValueError):
        Correction(reason="nothing")
    record = _record(base)
    assert domain.reopen_result(_record(manual), base, "customer") is None  # a human decision stands
    fresh = domain.classify(V1, domain.reopen_input(record, "还是开不了机, 而且充电时冒烟了"))
    changed = domain.reopen_result(record, fresh, "customer")
    assert changed is not None and changed.priority == Priority.P1 and "reopen" in changed.explanation.detail
    assert domain.reopen_result(record, base, "customer") is None  # nothing new
    complaint = domain.classify(V1, domain.reopen_input(record, "不满意, 我要投诉"))
    assert domain.reopen_result(record, complaint, "survey") is None  # a rating keeps category, priority same
    lower = domain.classify(V1, ClassificationInput(description="建议增加夜间模式"))
    assert domain.reopen_result(record, lower, "staff").priority == Priority.P2  # never less urgent


def test_new_rule_conditions() -> None:
    rule = domain.Rule(id="vip-order", patterns=[r"订单号?\s*[a-z]?\d{6,}"], category="after_sales",
                       module="logistics", priority="P2", customer_tiers=["vip"], has_order_number=True)
    rs = domain.RuleSet(version=5, rules=[rule], created_at=NOW)
    hit = ClassificationInput(description="我的订单到哪了", customer_tier="vip", has_order_number=True)
    assert domain.classify(rs, hit).explanation.method == "default"  # pattern needs 订单号/订单 + digits
    hit = hit.model_copy(update={"description": "订单号A2026112501到哪了"})
    r = domain.classify(rs, hit)
    assert r.explanation.rule_id == "vip-order" and r.explanation.matched_terms == ["订单号a2026112501"]
    assert domain.classify(rs, hit.model_copy(update={"customer_tier": "normal"})).explanation.method == "default"
    assert domain.classify(rs, hit.model_copy(update={"has_order_number": False})).explanation.method == "default"
    with pytest.raises(ValueError):
        domain.Rule(id="bad", patterns=["(unclosed"], category="other", module="product")
    with pytest.raises(ValueError):
        domain.Rule(id="empty", category="other", module="product")
