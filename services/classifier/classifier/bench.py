"""In-process benchmark: ``uv run python -m classifier.bench`` — classifications per second on one core
(rules + model decision policy, the held-out texts in a loop). Through the real RabbitMQ, beside the raw
one-hop baseline: ``uv run python services/classifier/bench/bench_broker.py``."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from . import domain, model


def main(n: int = 20_000) -> None:
    examples = model.load_examples()
    fitted = model.fit([e for e in examples if e.split == "train"])
    ruleset = domain.ruleset_v1(datetime.now(UTC))
    items = [domain.ClassificationInput(description=e.text) for e in examples if e.split == "test"]
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        item = items[i % len(items)]
        text = item.text  # normalised once, shared by the rules and the model
        domain.decide(ruleset, item, fitted.predict_normalized(text), "model-v1", text=text)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"{n} classifications in {elapsed:.2f} s: {n / elapsed:,.0f}/s in-process (rules + model); "
          f"{cpu:.2f} s of CPU: {n / cpu:,.0f}/s per busy core")


if __name__ == "__main__":
    main()
