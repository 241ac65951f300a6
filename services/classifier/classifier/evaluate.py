"""Evaluation on held-out wordings the model never trained on: accuracy, macro-F1 and confusion matrices
for category and priority — rules alone, model alone and the combination (the decision policy the
service runs).

``uv run python -m classifier.evaluate`` trains a model on the train split of the shipped file, then
prints the figures on the two INDEPENDENT sets first (below), then on its held-out split and on the held-out
splits of training_v2 and training_v1 (the test sets of the earlier versions, for a before/after on the very
same examples). ``--independent`` prints only the independent sets; ``--cv`` is the tuning mode.

The independent sets (``data/eval_independent_dev.jsonl``, ``data/eval_independent_test.jsonl``, ~590 texts
each) were written by two writers who never saw the training generator, its wordings or each other's set,
from the manuals' definitions of the labels: questions, indirect phrasing, typos, mixed zh/en, long rambling
messages and very short ones, with the funds-safety cases said plainly, indirectly and as questions, and
money questions that are not P1 (fees, rates, limits, a refund within its normal time). Neither is ever
trained on (``tests/test_model.py`` checks no training text is a near copy of one). The DEV set is the one
the detector's patterns and the decision thresholds may be checked against; the TEST set is only measured,
once per change, and reported (issue 16's figures). Besides accuracy: P1 recall (funds safety / outage found),
P1 precision and the false-P1 count (a P1 flood is a failure too), and how many errors ``needs_review`` caught.

Protocol (printed by the command):

1. Split by wording, not by example. Every example carries its wording id (``issue:lang:index``);
   every fourth wording of every issue and language (index % 4 == 3) is held out with all its examples.
   v2 and v3 appended their new wordings after the earlier lists, so every v1/v2 held-out wording is
   still held out; v4 only adds train-only wordings after v3's unchanged rows; and
   the generator refuses a train wording that is a near copy of any held-out one (character-trigram
   Jaccard ≥ 0.5, ``data/build_training.py``).
2. Tuning never sees the held-out split. Model choices (features, C, class weights) and the decision
   thresholds (``MODEL_ACCEPT_AT``, ``MODEL_OVERRIDES_AT``) were chosen by 4-fold cross-validation on the
   train split with whole wordings as groups (``--cv``); rule terms added in v2 occur in train wordings.
3. The held-out figures are then measured once per change of the data or the model, and reported.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
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


PROTOCOL = """protocol: held-out = every 4th wording of every issue and language (all its examples), never
trained on; v1's and v2's held-out wordings are still held out (v4 = v3's held-out + train-only wordings); train wordings that are near copies of held-out
ones (char-trigram Jaccard >= 0.5) are refused by the generator. Features, C, class weights and thresholds
were tuned by 4-fold cross-validation on the train split grouped by wording (--cv), never on held-out."""


def evaluate(ruleset: RuleSet, fitted: LinearModel, held_out: list[Example], *, review_below: float,
             model_accept_at: float = domain.MODEL_ACCEPT_AT, rule_wins_at: float = domain.RULE_WINS_AT,
             model_overrides_at: float = domain.MODEL_OVERRIDES_AT, predictions: list[Any] | None = None,
             ) -> dict[str, Any]:
    """Figures of the three strategies on ``held_out``. "rules" counts a non-matching text as the rule
    set's fallback (``other``/P3), as the rules-only service did."""
    out: dict[str, Any] = {"examples": len(held_out)}
    results_of: dict[str, list[domain.Classification]] = {"rules": [], "model": [], "combined": []}
    for n, ex in enumerate(held_out):
        item = ClassificationInput(description=ex.text)
        pred = predictions[n] if predictions is not None else fitted.predict(ex.text)
        results_of["rules"].append(domain.classify(ruleset, item, review_below=review_below))
        results_of["model"].append(domain.Classification(  # the model's own top answers, no rules at all
            category=pred.category.label, module=pred.module.label, priority=pred.priority.label,
            confidence=pred.category.probability, needs_review=pred.category.probability < model_accept_at,
            classifier_version="model", explanation=domain.ClassificationExplanation(method="model")))
        results_of["combined"].append(domain.decide(ruleset, item, pred, "model", rule_wins_at=rule_wins_at,
                                                    model_accept_at=model_accept_at, review_below=review_below,
                                                    model_overrides_at=model_overrides_at))
    for name, results in results_of.items():
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


def report(figures: dict[str, Any], title: str = "held-out") -> str:
    lines = [f"{title} examples: {figures['examples']} (wordings never seen in training)"]
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


def cross_validate(train: list[Example], folds: int = 4) -> tuple[list[Example], list[Any]]:
    """Out-of-fold model predictions on the train split, whole wordings as groups (the tuning harness:
    the held-out split is not touched)."""
    from sklearn.model_selection import GroupKFold

    predictions: list[Any] = [None] * len(train)
    for fit_rows, score_rows in GroupKFold(n_splits=folds).split(train, groups=[e.group for e in train]):
        fitted = model.fit([train[i] for i in fit_rows])
        for i in score_rows:
            predictions[i] = fitted.predict(train[i].text)
    return train, predictions


INDEPENDENT = (("dev", "eval_independent_dev.jsonl"), ("test", "eval_independent_test.jsonl"))
"""The independent sets: (name, file in ``classifier/data``)."""


@dataclass(frozen=True)
class Labelled:
    """One hand-labelled text of an independent set."""

    text: str
    category: str
    module: str
    priority: str
    lang: str = ""
    style: str = ""


def load_independent(file: str) -> list[Labelled]:
    raw = resources.files("classifier.data").joinpath(file).read_text(encoding="utf-8")
    rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
    return [Labelled(r["text"], r["category"], r["module"], r["priority"], r.get("lang", ""), r.get("style", ""))
            for r in rows]


def p1_figures(truth: list[str], predicted: list[str]) -> dict[str, Any]:
    """P1 recall and precision, and the non-P1 texts raised to P1."""
    found = sum(t == "P1" and p == "P1" for t, p in zip(truth, predicted))
    actual = sum(t == "P1" for t in truth)
    raised = sum(p == "P1" for p in predicted)
    false = raised - found
    return {"p1": actual, "found": found, "raised": raised, "false_p1": false,
            "recall": round(found / actual, 4) if actual else 1.0,
            "precision": round(found / raised, 4) if raised else 1.0,
            "false_p1_rate": round(false / max(1, len(truth) - actual), 4)}


def independent_figures(ruleset: RuleSet, fitted: LinearModel, rows: list[Labelled], *,
                        review_below: float = domain.DEFAULT_REVIEW_BELOW, **policy: float) -> dict[str, Any]:
    """The service's decision policy (rules + detector + model) on an independent set."""
    results = []
    started = time.perf_counter()
    for row in rows:
        item = ClassificationInput(description=row.text)
        text = item.text
        results.append(domain.decide(ruleset, item, fitted.predict_normalized(text), "model",
                                     review_below=review_below, text=text, **policy))
    elapsed = time.perf_counter() - started
    out: dict[str, Any] = {"examples": len(rows), "per_second": round(len(rows) / elapsed) if elapsed else 0}
    for head in ("category", "module", "priority"):
        labels = LABELS.get(head) or sorted({getattr(r, head) for r in rows})
        out[head] = _scores([getattr(r, head) for r in rows], [str(getattr(c, head)) for c in results], labels)
    out["p1"] = p1_figures([r.priority for r in rows], [str(c.priority) for c in results])
    wrong = [str(c.category) != r.category or str(c.priority) != r.priority for r, c in zip(rows, results)]
    flagged = [c.needs_review for c in results]
    out["review"] = {"flagged": sum(flagged), "wrong": sum(wrong),
                     "wrong_flagged": sum(w and f for w, f in zip(wrong, flagged)),
                     "right_flagged": sum((not w) and f for w, f in zip(wrong, flagged))}
    by_lang: dict[str, list[bool]] = {}
    for r, c in zip(rows, results):
        by_lang.setdefault(r.lang or "?", []).append(str(c.priority) == r.priority)
    out["priority_by_lang"] = {k: round(sum(v) / len(v), 4) for k, v in sorted(by_lang.items())}
    out["results"] = results
    return out


def independent_summary(ruleset: RuleSet, fitted: LinearModel, *, review_below: float = domain.DEFAULT_REVIEW_BELOW,
                        **policy: float) -> dict[str, Any]:
    """The figures a trained model is stored with (the console's model list): accuracy and P1 recall /
    precision on the independent TEST set, which no training ever sees."""
    name, file = INDEPENDENT[-1]
    f = independent_figures(ruleset, fitted, load_independent(file), review_below=review_below, **policy)
    return {"set": name, "examples": f["examples"], "category": f["category"]["accuracy"],
            "priority": f["priority"]["accuracy"], "p1_recall": f["p1"]["recall"],
            "p1_precision": f["p1"]["precision"], "false_p1": f["p1"]["false_p1"]}


def independent_report(name: str, figures: dict[str, Any]) -> str:
    p1, review = figures["p1"], figures["review"]
    lines = [
        f"== independent {name} set: {figures['examples']} texts (never trained on), decision policy of the service",
        f"   category {figures['category']['accuracy']:.1%}, module {figures['module']['accuracy']:.1%}, "
        f"priority {figures['priority']['accuracy']:.1%} "
        f"(by language: {', '.join(f'{k} {v:.1%}' for k, v in figures['priority_by_lang'].items())})",
        f"   P1 recall {p1['recall']:.1%} ({p1['found']} of {p1['p1']}), P1 precision {p1['precision']:.1%} "
        f"({p1['found']} of {p1['raised']} raised), false P1 {p1['false_p1']} "
        f"({p1['false_p1_rate']:.1%} of the non-P1 texts)",
        f"   needs_review: {review['flagged']} flagged, catching {review['wrong_flagged']} of {review['wrong']} texts "
        f"with a wrong category or priority ({review['right_flagged']} flagged were right)",
        f"-- category (macro-F1 {figures['category']['macro_f1']:.3f})", _matrix(figures["category"]),
        f"-- priority (macro-F1 {figures['priority']['macro_f1']:.3f})", _matrix(figures["priority"]),
    ]
    return "\n".join(lines)


EARLIER = ("training_v2.jsonl", "training_v1.jsonl")
"""The earlier versions' files, whose held-out examples are scored again (before/after on the same texts)."""


def earlier_held_out(train: list[Example], name: str = "training_v1.jsonl") -> list[Example]:
    """An earlier version's held-out examples (a "before" test set), after checking that none of its
    wordings or texts is in ``train``."""
    before = [e for e in model.load_examples(name) if e.split == "test"]
    groups, texts = {e.group for e in train}, {e.text for e in train}
    leaked = [e for e in before if e.group in groups or e.text in texts]
    if leaked:
        raise RuntimeError(f"{len(leaked)} held-out examples of {name} are in the train split, "
                           f"e.g. {leaked[0].text!r}")
    return before


def main() -> None:
    import sys

    args = sys.argv[1:]
    examples = model.load_examples()
    train = [e for e in examples if e.split == "train"]
    held_out = [e for e in examples if e.split == "test"]
    print(f"training file {model.TRAINING_FILE}: {len(train)} train / {len(held_out)} held-out examples")
    print(PROTOCOL)
    ruleset = domain.ruleset_v1(datetime.now(UTC))
    if "--cv" in args:  # tuning mode: out-of-fold predictions on the train split only
        started = time.perf_counter()
        rows, predictions = cross_validate(train)
        print(f"4-fold cross-validation on the train split (grouped by wording) in "
              f"{time.perf_counter() - started:.1f} s")
        figures = evaluate(ruleset, None, rows, review_below=domain.DEFAULT_REVIEW_BELOW,  # type: ignore[arg-type]
                           predictions=predictions)
        print(report(figures, "cross-validation (train split)"))
        return
    if "--validation" in args:  # older tuning mode: fit on part of train, score the validation wordings
        train, held_out = validation_split(train)
        print("validation mode: figures on train wordings held back from fitting (not the test split)")
    started = time.perf_counter()
    fitted = model.fit(train)
    print(f"trained on {len(train)} examples in {time.perf_counter() - started:.1f} s")
    if "--validation" not in args:
        for name, file in INDEPENDENT:
            print("\n" + independent_report(name, independent_figures(ruleset, fitted, load_independent(file))))
        if "--independent" in args:
            return
        print()
    figures = evaluate(ruleset, fitted, held_out, review_below=domain.DEFAULT_REVIEW_BELOW)
    print(report(figures))
    if "--validation" in args:
        return
    for name in EARLIER:
        if name != model.TRAINING_FILE:
            figures = evaluate(ruleset, fitted, earlier_held_out(train, name), review_below=domain.DEFAULT_REVIEW_BELOW)
            print("\n" + report(figures, f"{name} held-out (that version's test set, the same examples as its "
                                          f"figures)"))


if __name__ == "__main__":
    main()
