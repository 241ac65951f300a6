"""In-process benchmark: ``uv run python -m classifier.bench`` — classifications per second on one core
(rules + model decision policy, the held-out texts in a loop)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from . import domain, model


def main(n: int = 20_000) -> None:
    examples = model.load_examples()
    fitted = model.fit([e for e in examples if e.split == "train"])
    ruleset = domain.ruleset_v1(datetime.now(UTC))
    items = [domain.ClassificationInput(description=e.text) for e in examples if e.split == "test"]
    started = time.perf_counter()
    for i in range(n):
        item = items[i % len(items)]
        domain.decide(ruleset, item, fitted.predict(f"{item.subject}\n{item.description}"), "model-v1")
    elapsed = time.perf_counter() - started
    print(f"{n} classifications in {elapsed:.2f} s: {n / elapsed:,.0f}/s in-process (rules + model)")


if __name__ == "__main__":
    main()
