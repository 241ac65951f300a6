"""v1 events of the knowledge base (issue 17), owned by the classifier: it reads the customer's words, so it
keeps the articles and reply templates and matches them to every ticket. New event types only; every class
defined here registers itself with the event registry on import.

* ``knowledge.suggested`` — the suggestions matched to a ticket (after its classification or a reopen);
  the console shows them beside the reply box, reporting counts how often each item was suggested.
* ``knowledge.feedback``  — an agent used a suggestion (inserted a template, linked an article) or marked it
  helpful / not helpful; reporting turns these into per-item figures and the "write an article" list.
* ``knowledge.changed``   — an article or template was published, archived or edited; every classifier
  replica reloads its index, reporting learns titles and status."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .enums import Category, Module
from .envelope import Contract, Event, UtcDatetime
from .events import StaffId, TicketRef

__all__ = [
    "KnowledgeChanged", "KnowledgeChangedPayload", "KnowledgeFeedback", "KnowledgeFeedbackPayload",
    "KnowledgeSuggested", "KnowledgeSuggestedPayload", "KnowledgeSuggestion",
]

KnowledgeKind = Literal["article", "template"]
KnowledgeId = str
"""``KB-…`` for articles, ``TPL-…`` for reply templates (stable across versions)."""
Lang = Literal["zh", "en"]


class KnowledgeSuggestion(Contract):
    kind: KnowledgeKind
    item_id: KnowledgeId = Field(min_length=1, max_length=64)
    version: int = Field(ge=1, description="The published version that was matched.")
    topic: str = Field(default="", max_length=64, description="The problem the item answers (its language versions share it).")
    lang: Lang
    title: str = Field(min_length=1, max_length=200)
    score: float = Field(ge=0, description="Ranking score (BM25 over the ticket's words, with the classification's tag boost).")
    matched_terms: list[str] = Field(default_factory=list, max_length=12, description="The ticket's words that matched the item.")


class KnowledgeSuggestedPayload(TicketRef):
    trigger: Literal["classified", "reopened", "corrected"] = Field(description="What made the classifier match again.")
    category: Category
    module: Module
    suggestions: list[KnowledgeSuggestion] = Field(default_factory=list, max_length=10, description="Best first; may be empty.")
    suggested_at: UtcDatetime


class KnowledgeSuggested(Event):
    """The knowledge-base articles and reply templates that fit a ticket, best first."""

    event_type: Literal["knowledge.suggested"] = "knowledge.suggested"
    schema_version: Literal[1] = 1
    payload: KnowledgeSuggestedPayload


class KnowledgeFeedbackPayload(TicketRef):
    kind: KnowledgeKind
    item_id: KnowledgeId = Field(min_length=1, max_length=64)
    version: int = Field(ge=1)
    topic: str = Field(default="", max_length=64)
    title: str = Field(min_length=1, max_length=200)
    action: Literal["used", "helpful", "not_helpful"] = Field(
        description="used: the agent inserted the template or linked the article into a reply; helpful / not_helpful: "
                    "the agent's verdict (the last verdict of an agent on a ticket counts).")
    staff_id: StaffId = Field(min_length=1, max_length=64)
    suggested: bool = Field(description="Whether the item was among the ticket's suggestions (or found by a search).")
    at: UtcDatetime


class KnowledgeFeedback(Event):
    """An agent used a knowledge item on a ticket, or said whether it helped."""

    event_type: Literal["knowledge.feedback"] = "knowledge.feedback"
    schema_version: Literal[1] = 1
    payload: KnowledgeFeedbackPayload


class KnowledgeChangedPayload(Contract):
    kind: KnowledgeKind
    item_id: KnowledgeId = Field(min_length=1, max_length=64)
    version: int = Field(ge=1, description="The item's version after the change.")
    topic: str = Field(default="", max_length=64)
    lang: Lang
    title: str = Field(min_length=1, max_length=200)
    category: Category | None = None
    modules: list[Module] = Field(default_factory=list)
    status: Literal["draft", "published", "archived"]
    action: Literal["created", "edited", "published", "archived", "seeded"]
    changed_by: StaffId = Field(min_length=1, max_length=64, description="Staff id, or `system` for the seed.")
    changed_at: UtcDatetime


class KnowledgeChanged(Event):
    """An article or reply template was created, edited, published or archived."""

    event_type: Literal["knowledge.changed"] = "knowledge.changed"
    schema_version: Literal[1] = 1
    payload: KnowledgeChangedPayload
