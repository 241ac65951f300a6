"""The knowledge base (issue 17): articles and standard reply templates, their lifecycle, and matching them
to a ticket's words. Pure decisions and computation, no I/O (the store keeps the items, the service wires
them to tickets).

Manual 000 (二/1): the system matches the knowledge base and pushes standard reply suggestions to the agent;
manual 002 step 3 answers consultations from 标准话术或知识库文档, step 7 updates the documents when a
problem recurs. Zendesk, Zammad and Freshdesk all suggest articles beside the reply box; so does this.

* **Items**: an article (Markdown body, shown to agents and linked into replies) or a reply template (plain
  text with ``{{placeholders}}`` the console fills from the ticket). Each has a ``topic`` shared by its
  language versions, tags (category, modules, products, keywords) and a version that grows with every edit.
  Lifecycle: draft → published (by a supervisor) → archived; editing a published item makes a new draft
  version while the published one stays live until the next publish.
* **Matching**: BM25 (the ``bm25s`` library) over the published items' title, keywords and body. Chinese is
  not segmented into words: it is indexed as characters and character bigrams (particles dropped), which
  needs no dictionary, finds 退款/到账 in 退款还没到账 and still relates 钱退了 to 退款; latin words are lower-cased, stop words dropped and stemmed
  (Snowball, ``PyStemmer``: refunds → refund). The ticket's classification nudges the ranking (same category,
  same module) and the ticket's language comes first.
* **Rendering**: article bodies are Markdown rendered with raw HTML disabled and then sanitised by an allow
  list (``nh3``): no script, no event handler, no javascript: link can come through an article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

import bm25s
import nh3
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from markdown_it import MarkdownIt
from pydantic import BaseModel, Field, field_validator, model_validator

from contracts import Category, KnowledgeSuggested, KnowledgeSuggestedPayload, KnowledgeSuggestion, Module

from .domain import PRODUCER, ClassificationRecord, normalize

Kind = Literal["article", "template"]
Lang = Literal["zh", "en"]
Status = Literal["draft", "published", "archived"]

PLACEHOLDERS = ("customer_name", "salutation", "ticket_no", "order_no", "agent_name", "resolution_due", "company")
"""What a reply template may ask the console to fill in (the customer's masked name, 先生/女士 or Mr/Ms, the
ticket and order numbers, the agent's name, the resolution deadline, the company's name)."""
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
ID = re.compile(r"^(KB|TPL)-[A-Za-z0-9][A-Za-z0-9._-]{0,58}$")

ARTICLES_SHOWN = 3
TEMPLATES_SHOWN = 2
MIN_SCORE = 1.0
"""A suggestion needs at least this BM25 score: "hello" or "test" matches nothing worth showing."""
CATEGORY_BOOST = 0.15
MODULE_BOOST = 0.10
OTHER_LANGUAGE = 0.6
"""Score factor of an item in the other language (a bilingual desk still prefers the customer's own)."""


# ----------------------------------------------------------------------------- items
class Content(BaseModel):
    """What an author writes: one version of an item."""

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=50_000)
    category: Category | None = None
    modules: list[Module] = Field(default_factory=list, max_length=4)
    products: list[str] = Field(default_factory=list, max_length=30)
    keywords: list[str] = Field(default_factory=list, max_length=40)

    @field_validator("title")
    @classmethod
    def _one_line(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("the title is empty")
        return value

    @field_validator("products", "keywords")
    @classmethod
    def _short_words(cls, values: list[str]) -> list[str]:
        out = [" ".join(v.split()) for v in values if v.strip()]
        if any(len(v) > 60 for v in out):
            raise ValueError("keywords and product names are at most 60 characters")
        return list(dict.fromkeys(out))


class NewItem(Content):
    """A new article or template (its first version, a draft)."""

    id: str | None = Field(default=None, description="KB-… / TPL-…; generated from the topic when absent.")
    kind: Kind
    topic: str = Field(min_length=1, max_length=48, pattern=r"^[a-z0-9][a-z0-9-]*$",
                       description="What the item answers, shared by its language versions (the id is built from it).")
    lang: Lang

    @model_validator(mode="after")
    def _valid(self) -> NewItem:
        if self.id is not None:
            if not ID.match(self.id):
                raise ValueError("an id is KB-… for an article or TPL-… for a template (letters, digits, . _ -)")
            if self.id.startswith("KB-") != (self.kind == "article"):
                raise ValueError("articles are KB-…, templates TPL-…")
        if self.kind == "template":
            check_placeholders(self.body)
        return self

    def item_id(self) -> str:
        return self.id or f"{'KB' if self.kind == 'article' else 'TPL'}-{self.topic}-{self.lang}"


def check_placeholders(body: str) -> None:
    unknown = sorted({name for name in _PLACEHOLDER.findall(body)} - set(PLACEHOLDERS))
    if unknown:
        raise ValueError(f"unknown placeholders {', '.join(unknown)}; allowed: {', '.join(PLACEHOLDERS)}")


def placeholders(body: str) -> list[str]:
    """The placeholders a template body uses, in order of first use."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(body)))


def fill(body: str, values: dict[str, str]) -> str:
    """A template body with its placeholders filled; one without a value stays visible (``{{order_no}}``) so
    the agent sees what to complete before sending."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1)) or m.group(0), body)


@dataclass(frozen=True)
class Published:
    """A published item as the matcher sees it."""

    item_id: str
    kind: Kind
    topic: str
    lang: Lang
    version: int
    content: Content


def transition(status: Status, action: str) -> Status:
    """The item's status after ``action`` (edit keeps it; a published item being edited stays published, its
    new version a draft until published). Raises ValueError for a move the lifecycle does not allow."""
    allowed: dict[str, dict[str, Status]] = {
        "edit": {"draft": "draft", "published": "published"},
        "publish": {"draft": "published", "published": "published", "archived": "published"},
        "archive": {"draft": "archived", "published": "archived"},
    }
    if status not in allowed.get(action, {}):
        raise ValueError(f"cannot {action} an item that is {status}")
    return allowed[action][status]


# ----------------------------------------------------------------------------- text → tokens
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[a-z0-9][a-z0-9']*")
_STOP = frozenset(STOPWORDS_EN) | {"hi", "hello", "please", "thanks", "thank", "pls", "thx", "i'm", "it's", "can",
                                   "could", "would", "my", "me", "i", "you", "your", "we", "our", "get", "got"}
_ZH_STOP = frozenset("的了吗呢啊吧呀哦嘛是我你他她它们这那在有和就也都很还又要会能")
"""Characters too common to mean anything on their own (bigrams holding them are kept)."""


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokens(text: str) -> list[str]:
    """Index terms of ``text``: the characters (particles dropped) and character bigrams of every Chinese run,
    and stemmed latin words without stop words. Text is normalised first (full-width,
    case)."""
    norm = normalize(text)
    out: list[str] = []
    for run in _CJK.findall(norm):
        out.extend(ch for ch in run if ch not in _ZH_STOP)  # characters: 退了 still shares 退 with 退款
        out.extend(run[i:i + 2] for i in range(len(run) - 1))  # bigrams: 退款 outranks 退 + 款 apart
    words = [w.strip("'") for w in _LATIN.findall(norm)]
    words = [w for w in words if w and w not in _STOP and not (len(w) == 1 and w.isalpha())]
    out.extend(_stemmer().stemWords(words))
    return out


def language(text: str) -> Lang | None:
    """zh, en, or None for mixed text (more than a quarter of its letters in the other script)."""
    norm = normalize(text)
    zh = sum(len(run) for run in _CJK.findall(norm))
    en = sum(len(w) for w in re.findall(r"[a-z]+", norm)) / 2.5  # ~2.5 latin letters carry what one hanzi does
    if zh + en == 0:
        return None
    share = zh / (zh + en)
    return "zh" if share >= 0.75 else "en" if share <= 0.25 else None


def document(content: Content, topic: str) -> list[str]:
    """An item's index terms: title and keywords count twice (they say what it is about), then the body
    (without a template's placeholders)."""
    head = " ".join([content.title, *content.keywords, *content.products, topic.replace("-", " ")])
    return tokens(head) * 2 + tokens(_PLACEHOLDER.sub(" ", content.body))


# ----------------------------------------------------------------------------- matching
@dataclass(frozen=True)
class Match:
    item: Published
    score: float
    matched_terms: list[str]

    def suggestion(self) -> KnowledgeSuggestion:
        return KnowledgeSuggestion(kind=self.item.kind, item_id=self.item.item_id, version=self.item.version,
                                   topic=self.item.topic, lang=self.item.lang, title=self.item.content.title,
                                   score=round(self.score, 3), matched_terms=self.matched_terms)


@dataclass
class Index:
    """BM25 over the published items (built once per change of the knowledge base, queried per ticket)."""

    items: list[Published] = field(default_factory=list)
    _bm25: Any = None
    _vocabulary: dict[str, int] = field(default_factory=dict)
    _kinds: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    _factors: dict[tuple[str | None, Category | None, Module | None], np.ndarray] = field(default_factory=dict)
    _terms: list[frozenset[str]] = field(default_factory=list)

    @classmethod
    def build(cls, items: list[Published]) -> Index:
        index = cls(items=list(items))
        if not index.items:
            return index
        corpus = [document(item.content, item.topic) for item in index.items]
        retriever = bm25s.BM25()
        retriever.index(corpus, show_progress=False)
        index._bm25 = retriever
        index._vocabulary = dict(retriever.vocab_dict)
        index._kinds = np.array([item.kind == "article" for item in index.items])
        index._terms = [frozenset(doc) for doc in corpus]
        return index

    def __len__(self) -> int:
        return len(self.items)

    def _factor(self, lang: Lang | None, category: Category | None, module: Module | None) -> np.ndarray:
        """Per item: the classification's nudge and the language preference (cached per combination)."""
        key = (lang, category, module)
        found = self._factors.get(key)
        if found is None:
            found = np.array([
                (1 + (CATEGORY_BOOST if category is not None and item.content.category == category else 0)
                 + (MODULE_BOOST if module is not None and module in item.content.modules else 0))
                * (OTHER_LANGUAGE if lang is not None and item.lang != lang else 1.0)
                for item in self.items])
            self._factors[key] = found
        return found

    def match(self, text: str, *, category: Category | None = None, module: Module | None = None,
              articles: int = ARTICLES_SHOWN, templates: int = TEMPLATES_SHOWN,
              min_score: float = MIN_SCORE, kind: Kind | None = None, lang: Lang | None = None) -> list[Match]:
        """The best articles and templates for ``text`` (articles first, each best first), at most
        ``articles`` + ``templates``, each scoring at least ``min_score`` before the nudges."""
        if self._bm25 is None:
            return []
        query = [t for t in dict.fromkeys(tokens(text)) if t in self._vocabulary]
        if not query:
            return []
        raw = np.asarray(self._bm25.get_scores(query), dtype=np.float64)
        scores = raw * self._factor(lang if lang is not None else language(text), category, module)
        scores[raw < min_score] = 0.0
        out: list[Match] = []
        for wanted, limit in (("article", articles), ("template", templates)):
            if limit <= 0 or (kind is not None and kind != wanted):
                continue
            mask = self._kinds if wanted == "article" else ~self._kinds
            ranked = np.where(mask, scores, 0.0)
            for i in np.argsort(-ranked, kind="stable")[:limit]:
                if ranked[i] <= 0:
                    break
                terms = _readable([t for t in query if t in self._terms[int(i)]])
                out.append(Match(self.items[int(i)], float(ranked[i]), terms))
        return out


def _readable(terms: list[str]) -> list[str]:
    """Matched terms as evidence: words and bigrams; lone characters and digits (they help the ranking, they
    explain nothing) only when nothing longer matched."""
    longer = [t for t in terms if len(t) > 1]
    return (longer or terms)[:12]


# ----------------------------------------------------------------------------- rendering
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre", "blockquote", "ul", "ol",
         "li", "a", "table", "thead", "tbody", "tr", "th", "td", "del", "img"}


def render(markdown: str) -> str:
    """Sanitised HTML of an article body: Markdown without raw HTML, then an allow list of tags and
    attributes (links and images only to http(s)/mailto, links open safely)."""
    return nh3.clean(_MARKDOWN.render(markdown), tags=_TAGS,
                     attributes={"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"},
                                 "td": {"align"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")


def suggested_event(record: ClassificationRecord, trigger: str) -> KnowledgeSuggested:
    """``knowledge.suggested`` for a classification's stored suggestions (ids, titles, scores: no ticket text)."""
    at = record.suggested_at or record.classified_at
    return KnowledgeSuggested.new(
        KnowledgeSuggestedPayload(ticket_id=record.ticket_id, ticket_no=record.ticket_no, trigger=trigger,
                                  category=record.result.category, module=record.result.module,
                                  suggestions=record.suggestions, suggested_at=at),
        correlation_id=record.correlation_id, producer=PRODUCER, occurred_at=at)


def seed_items(raw: dict[str, Any], at: datetime) -> list[tuple[NewItem, datetime]]:
    """The shipped starter content (``data/knowledge_seed.json``) as new items."""
    out = []
    for kind, rows in (("article", raw.get("articles", [])), ("template", raw.get("templates", []))):
        for row in rows:
            out.append((NewItem(kind=kind, **row), at))
    return out
