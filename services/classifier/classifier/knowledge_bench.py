"""Knowledge-base benchmark (issue 17): ``uv run python -m classifier.knowledge_bench [--runs N]``.

1. **Quality** on the held-out labelled set ``data/knowledge_eval.jsonl`` (customer messages, each labelled
   with the topic of its right article; ``dev`` for tuning, ``test`` never looked at while tuning): every text
   is classified as a ticket would be, then matched against the shipped articles and templates exactly as
   the service does; top-1 and top-3 hit rates of the articles, by split and language, and how many texts got
   no article at all.
2. **Latency with 2,000 articles**: the shipped items plus distractor articles written from the training
   file's customer texts (real support vocabulary, every category), so the index has 2,000 articles; the
   suggestion time per ticket (p50 / p99 / max) and the hit rates again among the distractors.
3. **Classification throughput** with the suggestions off the hot path (the decision alone, as
   ``classifier.bench`` measures it) and with the suggestion added, per ticket, on the same texts.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

from . import domain, knowledge, model
from .service import SEED_FILE

EVAL_FILE = "knowledge_eval.jsonl"
ARTICLES_AT_SCALE = 2_000


@dataclass(frozen=True)
class Labelled:
    text: str
    lang: str
    topic: str
    split: str


def load_eval() -> list[Labelled]:
    raw = resources.files("classifier.data").joinpath(EVAL_FILE).read_text(encoding="utf-8")
    rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
    return [Labelled(r["text"], r["lang"], r["topic"], r["split"]) for r in rows]


def shipped_items() -> list[knowledge.Published]:
    raw = json.loads(resources.files("classifier.data").joinpath(SEED_FILE).read_text(encoding="utf-8"))
    return [knowledge.Published(new.item_id(), new.kind, new.topic, new.lang, 1, knowledge.Content.model_validate(
        new.model_dump(include=set(knowledge.Content.model_fields)))) for new, _ in knowledge.seed_items(raw, datetime.now(UTC))]


def distractors(count: int, seed: int = 17) -> list[knowledge.Published]:
    """Articles made of the training file's customer texts (five of one category each): the words of real
    tickets about every subject, none of them the answer to an evaluation text."""
    rng = random.Random(seed)
    examples = [e for e in model.load_examples() if e.split == "train"]
    by_category: dict[str, list[model.Example]] = {}
    for e in examples:
        by_category.setdefault(e.category, []).append(e)
    out = []
    for n in range(count):
        category = rng.choice(sorted(by_category))
        picked = rng.sample(by_category[category], 5)
        lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in picked[0].text) else "en"
        body = "\n\n".join(p.text for p in picked)
        out.append(knowledge.Published(f"KB-distractor-{n}", "article", f"distractor-{n}", lang, 1, knowledge.Content(
            title=picked[0].text[:80].strip() or "x", body=body, category=category, modules=[picked[0].module])))
    return out


def classify_all(texts: list[str]) -> tuple[list[domain.Classification], object]:
    examples = model.load_examples()
    fitted = model.fit([e for e in examples if e.split == "train"])
    ruleset = domain.ruleset_v1(datetime.now(UTC))

    def decide(text: str) -> domain.Classification:
        item = domain.ClassificationInput(description=text)
        norm = item.text
        return domain.decide(ruleset, item, fitted.predict_normalized(norm), "model-v1", text=norm)

    return [decide(t) for t in texts], decide


def hit_rates(index: knowledge.Index, rows: list[Labelled], results: list[domain.Classification]) -> dict[str, object]:
    top1 = top3 = none = 0
    for row, result in zip(rows, results):
        articles = [m.item.topic for m in index.match(row.text, category=result.category, module=result.module,
                                                      articles=3, templates=0)]
        top1 += bool(articles) and articles[0] == row.topic
        top3 += row.topic in articles
        none += not articles
    n = len(rows) or 1
    return {"n": len(rows), "top1": top1 / n, "top3": top3 / n, "none": none}


def _line(name: str, figures: dict[str, object]) -> str:
    return (f"  {name:24s} n={figures['n']:4d}  top-1 {figures['top1']:6.1%}  top-3 {figures['top3']:6.1%}  "
            f"no article {figures['none']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed passes (medians printed)")
    args = parser.parse_args(argv)
    rows = load_eval()
    items = shipped_items()
    results, decide = classify_all([r.text for r in rows])
    shipped = knowledge.Index.build(items)
    articles = sum(i.kind == "article" for i in items)
    print(f"knowledge base: {articles} articles and {len(items) - articles} templates shipped; "
          f"{len(rows)} labelled texts ({sum(r.split == 'dev' for r in rows)} dev, {sum(r.split == 'test' for r in rows)} test)")
    print("quality (the shipped base):")
    for name, subset in (("test (never tuned on)", "test"), ("dev", "dev"), ("all", None)):
        chosen = [(r, c) for r, c in zip(rows, results) if subset is None or r.split == subset]
        print(_line(name, hit_rates(shipped, [r for r, _ in chosen], [c for _, c in chosen])))
    for lang in ("zh", "en", "mixed"):
        chosen = [(r, c) for r, c in zip(rows, results) if r.lang == lang and r.split == "test"]
        print(_line(f"test, {lang}", hit_rates(shipped, [r for r, _ in chosen], [c for _, c in chosen])))

    extra = distractors(ARTICLES_AT_SCALE - articles)
    started = time.perf_counter()
    scaled = knowledge.Index.build(items + extra)
    built = time.perf_counter() - started
    print(f"at scale: {ARTICLES_AT_SCALE} articles + {len(items) - articles} templates, index built in {built:.2f} s")
    print(_line("test, among distractors", hit_rates(
        scaled, [r for r in rows if r.split == "test"], [c for r, c in zip(rows, results) if r.split == "test"])))
    timings: list[float] = []
    for _ in range(args.runs):
        for row, result in zip(rows, results):
            t0 = time.perf_counter()
            scaled.match(row.text, category=result.category, module=result.module)
            timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    p50, p99 = timings[len(timings) // 2], timings[int(len(timings) * 0.99)]
    print(f"  suggestion latency per ticket: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {timings[-1]:.2f} ms "
          f"({len(timings)} suggestions)")

    texts = [r.text for r in rows]
    alone, both = [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        for text in texts:
            decide(text)  # type: ignore[operator]
        alone.append(len(texts) / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for text in texts:
            result = decide(text)  # type: ignore[operator]
            scaled.match(text, category=result.category, module=result.module)
        both.append(len(texts) / (time.perf_counter() - t0))
    print(f"classification throughput: {statistics.median(alone):,.0f}/s alone (suggestions off the hot path); "
          f"{statistics.median(both):,.0f}/s with the suggestion from 2,000 articles added per ticket")


if __name__ == "__main__":
    main()
