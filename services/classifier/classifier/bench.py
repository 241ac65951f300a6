"""In-process benchmark: ``uv run python -m classifier.bench [--runs N]`` — classifications per second on one
core (normalisation + rules + safety detector + model + decision policy, what the consumer does per
ticket), on two kinds of text: the generated held-out split and the independent sets' hand-written
wording (questions, rambling messages, mixed zh/en: longer). Each figure is the median of ``--runs``
timed passes; the cost of every stage on the real wording follows, so a regression shows where it is.
Through the real RabbitMQ, beside the raw one-hop baseline: ``uv run python services/classifier/bench/bench_broker.py``."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from . import domain, evaluate, model, safety
from .cues import cues


def _rate(items: list[domain.ClassificationInput], step: Callable[[domain.ClassificationInput], object],
          n: int) -> tuple[float, float]:
    """(per second of wall time, per second of CPU) of ``n`` calls of ``step`` over ``items`` in a loop."""
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        step(items[i % len(items)])
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return n / elapsed, n / cpu if cpu else float("inf")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed passes per figure (the median is printed)")
    parser.add_argument("-n", type=int, default=10_000, help="classifications per pass")
    args = parser.parse_args(argv)
    examples = model.load_examples()
    fitted = model.fit([e for e in examples if e.split == "train"])
    ruleset = domain.ruleset_v1(datetime.now(UTC))

    def classify(item: domain.ClassificationInput) -> object:
        text = item.text  # normalised once, shared by the rules, the detector and the model
        return domain.decide(ruleset, item, fitted.predict_normalized(text), "model-v1", text=text)

    sets = {
        "held-out split (generated)": [domain.ClassificationInput(description=e.text) for e in examples
                                       if e.split == "test"],
        "independent sets (hand-written)": [domain.ClassificationInput(description=row.text)
                                            for _, file in evaluate.INDEPENDENT
                                            for row in evaluate.load_independent(file)],
    }
    for name, items in sets.items():
        classify(items[0])  # warm the caches (compiled rules, term index, fast scoring plan)
        runs = [_rate(items, classify, args.n) for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in runs)
        busy = statistics.median(r[1] for r in runs)
        chars = sum(len(i.description) for i in items) / len(items)
        print(f"{name}: {len(items)} texts, {chars:.0f} characters on average — median of {args.runs} passes of "
              f"{args.n}: {wall:,.0f}/s in-process ({busy:,.0f}/s per busy core); "
              f"runs {', '.join(f'{r[0]:,.0f}' for r in runs)}")
    items = sets["independent sets (hand-written)"]
    texts = [i.text for i in items]
    stages: dict[str, Callable[[str], object]] = {
        "normalise": domain.normalize,
        "cue groups": cues,
        "model (features + scoring)": fitted.predict_normalized,
        "rules": lambda t: domain.classify(ruleset, domain.ClassificationInput(), text=t),
        "safety detector": safety.detect,
    }
    print("stage costs on the hand-written wording (µs a text, best of 3 passes):")
    for stage, call in stages.items():
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for text in texts:
                call(text)
            best = min(best, (time.perf_counter() - started) / len(texts) * 1e6)
        print(f"  {stage:28s} {best:7.1f}")


if __name__ == "__main__":
    main()
