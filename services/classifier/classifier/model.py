"""The learned classifier beside the rules: TF-IDF over character n-grams and English word n-grams +
one class-weighted logistic regression per head (category, module, priority), trained from the labelled
file shipped in ``classifier/data`` plus supervisors' corrections. Pure computation, no database: the
service stores the trained model (bytes from :func:`dumps`) with its version and metrics.

Features (one vocabulary, one TF-IDF, sublinear tf): character n-grams of every whitespace-separated
word (``char_wb`` 1–3: no Chinese word segmentation needed; full-width/half-width and case are absorbed
by :func:`classifier.domain.normalize`) plus latin word unigrams and bigrams (``w:refund``,
``w:still haven't``), which carry English phrasing that character trigrams cut apart. Chosen by 4-fold
cross-validation on the train split grouped by wording (see ``classifier.evaluate``): the word n-grams
and balanced class weights (the minority priorities P1/P4 and the small categories are not drowned by
P3/after-sales) gained ~4 points of category and ~3 of priority accuracy over char 1–3 alone; char 1–4
and C other than 10–30 did not help.

Prediction of one text does not go through scikit-learn's sparse-matrix machinery (about 1 ms per call):
:class:`LinearModel` keeps the vocabulary, idf weights and the stacked coefficients and scores a text
with a few numpy operations (the result equals ``predict_proba`` of the fitted estimators; see
tests/test_model.py).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import pickle
import re
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

import numpy as np

from .domain import normalize

HEADS = ("category", "module", "priority")
TRAINING_FILE = "training_v2.jsonl"
TOP_TERMS = 5
CHAR_RANGE = (1, 3)
WORD_RANGE = (1, 2)
C = 20.0
"""Inverse regularisation of the logistic regressions (cross-validated: 10 and 30 within half a point)."""
_WORD = re.compile(r"[a-z][a-z']+")
"""Latin words of normalised text (at least two letters; Chinese has no spaces and is left to the
character n-grams)."""


def grams(normalized: str, char_range: tuple[int, int] = CHAR_RANGE,
          word_range: tuple[int, int] | None = WORD_RANGE) -> list[str]:
    """The features of already normalised text: scikit-learn's ``char_wb`` n-grams (every word padded
    with one space; a word shorter than n counts once, whole) and, with ``word_range``, ``w:``-prefixed
    latin word n-grams."""
    out: list[str] = []
    append = out.append
    min_n, max_n = char_range
    for word in normalized.split():
        w = f" {word} "
        size = len(w)
        for n in range(min_n, max_n + 1):
            if size <= n:
                append(w)
                break
            for start in range(size - n + 1):
                append(w[start:start + n])
    if word_range is not None:
        words = _WORD.findall(normalized)
        lo, hi = word_range
        for n in range(lo, hi + 1):
            for start in range(len(words) - n + 1):
                append("w:" + " ".join(words[start:start + n]))
    return out


def analyze(text: str) -> list[str]:
    """The fitting analyzer: :func:`grams` of the normalised raw text (module level, so picklable)."""
    return grams(normalize(text))


@dataclass(frozen=True)
class Example:
    text: str
    category: str
    module: str
    priority: str
    split: str = "train"
    group: str = ""
    source: str = "file"


def load_examples(name: str = TRAINING_FILE) -> list[Example]:
    """The labelled examples shipped inside the package (``classifier/data/<name>``)."""
    raw = resources.files("classifier.data").joinpath(name).read_text(encoding="utf-8")
    out = []
    for line in raw.splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(Example(row["text"], row["category"], row["module"], row["priority"], row.get("split", "train"),
                               row.get("group", "")))
    return out


def file_digest(name: str = TRAINING_FILE) -> str:
    return hashlib.sha256(resources.files("classifier.data").joinpath(name).read_bytes()).hexdigest()


@dataclass(frozen=True)
class HeadPrediction:
    label: str
    probability: float
    probabilities: dict[str, float]


@dataclass(frozen=True)
class ModelPrediction:
    category: HeadPrediction
    module: HeadPrediction
    priority: HeadPrediction
    top_terms: list[str] = field(default_factory=list)
    """The n-grams that pushed hardest towards the predicted category."""
    evidence: int | None = None
    """How many distinct known n-grams the text had (0: the answer is only the class prior)."""


class LinearModel:
    """A fitted TF-IDF vocabulary and the stacked linear heads; picklable, fast on one text."""

    def __init__(self, analyzer: Any, vocabulary: dict[str, int], idf: np.ndarray,
                 heads: dict[str, tuple[list[str], np.ndarray, np.ndarray]],
                 ngram_range: tuple[int, int] | None = None, word_range: tuple[int, int] | None = None) -> None:
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        """``char_wb`` n-gram range: set for models fitted here, which then extract n-grams of already
        normalised text themselves (no second normalisation, no list of unused n-grams)."""
        self.word_range = word_range
        """Latin word n-gram range (models of training_v2 on); None: character n-grams only."""
        self.vocabulary = vocabulary
        self.idf = idf.astype(np.float64)
        self.terms = [""] * len(vocabulary)
        for term, index in vocabulary.items():
            self.terms[index] = term
        self.classes: dict[str, list[str]] = {}
        self.slices: dict[str, slice] = {}
        weights, biases, start = [], [], 0
        for head, (classes, coef, intercept) in heads.items():
            coef = np.asarray(coef, dtype=np.float64)
            if len(classes) == 2:  # binary logistic regression: one row; make it two (softmax-equivalent)
                coef = np.vstack([-coef[0] / 2, coef[0] / 2])
                intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
            self.classes[head] = [str(c) for c in classes]
            self.slices[head] = slice(start, start + len(classes))
            start += len(classes)
            weights.append(coef.T)
            biases.append(np.asarray(intercept, dtype=np.float64))
        self.weights = np.hstack(weights)  # n_features × (sum of classes)
        self.bias = np.concatenate(biases)

    def _counts(self, normalized: str) -> dict[int, int]:
        """Vocabulary index → count of the known n-grams of ``normalized`` (see :func:`grams`)."""
        vocabulary = self.vocabulary
        counts: dict[int, int] = {}
        if self.ngram_range is None:  # a model pickled before ngram_range existed
            found = self.analyzer(normalized)
        else:
            found = grams(normalized, self.ngram_range, getattr(self, "word_range", None))
        get = vocabulary.get
        for g in found:
            i = get(g)
            if i is not None:
                counts[i] = counts.get(i, 0) + 1
        return counts

    def _features(self, normalized: str) -> tuple[np.ndarray, np.ndarray]:
        counts = self._counts(normalized)
        if not counts:
            return np.empty(0, dtype=np.int64), np.empty(0)
        index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        values = (np.log(tf) + 1.0) * self.idf[index]
        norm = math.sqrt(float(values @ values))
        return index, values / norm if norm else values

    def predict(self, text: str) -> ModelPrediction:
        """Scores of the raw ``text`` (normalised here)."""
        return self.predict_normalized(normalize(text))

    def predict_normalized(self, normalized: str) -> ModelPrediction:
        """Scores of text already passed through :func:`classifier.domain.normalize` (what
        ``ClassificationInput.text`` returns), so the rules and the model share one normalisation."""
        index, values = self._features(normalized)
        scores = (self.bias + values @ self.weights[index] if len(index) else self.bias).tolist()
        heads: dict[str, HeadPrediction] = {}
        for head, sl in self.slices.items():  # a softmax over a handful of classes: plain Python is faster
            s = scores[sl]
            top_score = max(s)
            e = [math.exp(x - top_score) for x in s]
            total = sum(e)
            p = [x / total for x in e]
            best = max(range(len(p)), key=p.__getitem__)
            classes = self.classes[head]
            heads[head] = HeadPrediction(classes[best], p[best], {c: round(x, 4) for c, x in zip(classes, p)})
        top: list[str] = []
        if len(index):
            col = self.slices["category"].start + self.classes["category"].index(heads["category"].label)
            contribution = values * self.weights[index, col]
            for i in np.argsort(-contribution)[:TOP_TERMS]:
                if contribution[i] > 0:
                    top.append(self.terms[int(index[i])].strip() or self.terms[int(index[i])])
        return ModelPrediction(heads["category"], heads["module"], heads["priority"], top, evidence=len(index))


@dataclass
class TrainedModel:
    version: int
    trained_at: datetime
    training_digest: str
    examples: int
    corrections: int
    model: LinearModel
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def classifier_version(self) -> str:
        return f"model-v{self.version}"


def fit(examples: list[Example], *, c: float = C, class_weight: str | None = "balanced") -> LinearModel:
    """Fit the vectoriser and the three heads on ``examples`` (every split given is used)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    if len({e.category for e in examples}) < 2:
        raise ValueError("training needs examples of at least two categories")
    vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, max_df=0.5, min_df=2,
                                 dtype=np.float64)  # min_df=2: same validation accuracy, a quarter fewer
    # n-grams, fitting about 2.5× faster
    x = vectorizer.fit_transform([e.text for e in examples])  # float64: lbfgs converges about twice as fast
    heads: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
    for head in HEADS:
        y = [getattr(e, head) for e in examples]
        if len(set(y)) < 2:  # a head with one label: a constant model
            heads[head] = ([y[0], "__none__"], np.zeros((1, x.shape[1])), np.array([-20.0]))
            continue
        est = LogisticRegression(C=c, max_iter=1000, class_weight=class_weight).fit(x, y)
        heads[head] = (list(est.classes_), est.coef_, est.intercept_)
    return LinearModel(analyze, dict(vectorizer.vocabulary_), vectorizer.idf_, heads, ngram_range=CHAR_RANGE,
                       word_range=WORD_RANGE)


def dumps(model: TrainedModel) -> bytes:
    buffer = io.BytesIO()
    pickle.dump(model, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getvalue()


def loads(blob: bytes) -> TrainedModel:
    """Only ever called on blobs this service wrote into its own collection (checked by sha256 in the store)."""
    model = pickle.loads(blob)  # noqa: S301
    if not isinstance(model, TrainedModel):
        raise TypeError("stored blob is not a classifier model")
    return model
