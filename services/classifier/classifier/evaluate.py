"""Evaluation on the held-out split of the shipped training file (wordings the model never trained on):
accuracy, macro-F1 and confusion matrices for category and priority — rules alone, model alone and the
combination (the decision policy the service runs).

``uv run python -m classifier.evaluate`` trains a model on the train split, then prints the figures.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from contracts import Category, Priority

from . import domain, model
from .domain import ClassificationInput, RuleSet
from .model import Example, LinearModel

LABELS = {"category": [c.value for c in Category], "priority": [p.value for p in Priority]}


def _scores(truth: list[str], predicted: list[str], labels: list[str]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    return {
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)), 4),
        "labels": labels,
        "confusion": confusion_matrix(truth, predicted, labels=labels).tolist(),
    }


def evaluate(ruleset: RuleSet, fitted: LinearModel, held_out: list[Example], *, review_below: float,
             model_accept_at: float = domain.MODEL_ACCEPT_AT, rule_wins_at: float = domain.RULE_WINS_AT,
             ) -> dict[str, Any]:
    """Figures of the three strategies on ``held_out``. "rules" counts a non-matching text as the rule
    set's fallback (``other``/P3), as the rules-only service did."""
    out: dict[str, Any] = {"examples": len(held_out)}
    predictions: dict[str, list[domain.Classification]] = {"rules": [], "model": [], "combined": []}
    for ex in held_out:
        item = ClassificationInput(description=ex.text)
        pred = fitted.predict(ex.text)
        predictions["rules"].append(domain.classify(ruleset, item, review_below=review_below))
        predictions["model"].append(domain.Classification(  # the model's own top answers, no rules at all
            category=pred.category.label, module=pred.module.label, priority=pred.priority.label,
            confidence=pred.category.probability, needs_review=pred.category.probability < model_accept_at,
            classifier_version="model", explanation=domain.ClassificationExplanation(method="model")))
        predictions["combined"].append(domain.decide(ruleset, item, pred, "model", rule_wins_at=rule_wins_at,
                                                     model_accept_at=model_accept_at, review_below=review_below))
    for name, results in predictions.items():
        entry: dict[str, Any] = {}
        for head in ("category", "priority"):
            entry[head] = _scores([getattr(e, head) for e in held_out], [str(getattr(r, head)) for r in results],
                                  LABELS[head])
        entry["needs_review"] = sum(r.needs_review for r in results)
        if name == "rules":
            entry["coverage"] = round(sum(r.explanation.method == "rule" for r in results) / max(1, len(results)), 4)
        out[name] = entry
    return out


def _matrix(score: dict[str, Any]) -> str:
    labels = score["labels"]
    width = max(len(x) for x in labels) + 1
    lines = [" " * width + "".join(f"{x[:11]:>12}" for x in labels) + "   ← predicted"]
    for label, row in zip(labels, score["confusion"]):
        lines.append(f"{label:<{width}}" + "".join(f"{v:>12}" for v in row))
    return "\n".join(lines)


def report(figures: dict[str, Any]) -> str:
    lines = [f"held-out examples: {figures['examples']} (wordings never seen in training)"]
    for name in ("rules", "model", "combined"):
        entry = figures[name]
        extra = f", rule coverage {entry['coverage']:.1%}" if "coverage" in entry else ""
        lines.append(f"\n== {name}: needs_review {entry['needs_review']}{extra}")
        for head in ("category", "priority"):
            s = entry[head]
            lines.append(f"-- {head}: accuracy {s['accuracy']:.1%}, macro-F1 {s['macro_f1']:.3f}")
            lines.append(_matrix(s))
    return "\n".join(lines)


def validation_split(train: list[Example]) -> tuple[list[Example], list[Example]]:
    """(fit, validation) carved out of the *train* split by whole wordings (the third wording of every
    four, ``index % 4 == 2``): thresholds and rule terms are tuned here, never on the held-out split."""
    def index(e: Example) -> int:
        tail = e.group.rsplit(":", 1)[-1]
        return int(tail) if tail.isdigit() else 0
    return [e for e in train if index(e) % 4 != 2], [e for e in train if index(e) % 4 == 2]


def main() -> None:
    import sys

    examples = model.load_examples()
    train = [e for e in examples if e.split == "train"]
    held_out = [e for e in examples if e.split == "test"]
    if "--validation" in sys.argv[1:]:  # tuning mode: fit on part of train, score the validation wordings
        train, held_out = validation_split(train)
        print("validation mode: figures on train wordings held back from fitting (not the test split)")
    started = time.perf_counter()
    fitted = model.fit(train)
    print(f"trained on {len(train)} examples in {time.perf_counter() - started:.1f} s")
    figures = evaluate(domain.ruleset_v1(datetime.now(UTC)), fitted, held_out, review_below=domain.DEFAULT_REVIEW_BELOW)
    print(report(figures))


if __name__ == "__main__":
    main()
