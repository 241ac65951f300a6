"""Classifier's use cases: domain + model + store writes + outbox flush. Called by both the broker
handlers and the HTTP API, so the two doors classify the same way."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from contracts import (
    Category,
    ClassifierConfigActivated,
    ClassifierConfigActivatedPayload,
    KnowledgeChanged,
    KnowledgeChangedPayload,
    KnowledgeFeedback,
    KnowledgeFeedbackPayload,
    KnowledgeSuggestion,
    Module,
    StaffRole,
    TicketCreated,
    TicketReopened,
)
from servicekit.context import raise_if_cancelling
from servicekit import ApiError, Principal
from servicekit.outbox import Outbox
from servicekit.privacy import redact_text

from . import domain, knowledge, model
from .domain import Classification, ClassificationInput, ClassificationRecord, Correction, Rule, RuleSet
from .evaluate import evaluate, independent_summary
from .model import Example, TrainedModel
from .store import ClassifierStore, KnowledgeStore

log = logging.getLogger(__name__)

_FITTED: dict[tuple[Any, ...], tuple[model.LinearModel, dict[str, Any]]] = {}
"""Fits of the shipped file (no corrections) per process: a fresh database never waits twice."""


class RetryLater(RuntimeError):
    """A transient condition: the message is retried (e.g. a reopen that arrived before the ticket)."""


@dataclass
class ClassifyOutcome:
    record: ClassificationRecord
    duplicate: bool


class ClassifierService:
    def __init__(
        self, store: ClassifierStore, outbox: Outbox, *, review_below: float = domain.DEFAULT_REVIEW_BELOW,
        seed_default_rules: bool = True, train_at_start: bool = True,
        rule_wins_at: float = domain.RULE_WINS_AT, model_accept_at: float = domain.MODEL_ACCEPT_AT,
        knowledge_base: KnowledgeBase | None = None,
    ) -> None:
        self.store = store
        self.knowledge = knowledge_base
        self.outbox = outbox
        self.review_below = review_below
        self.seed_default_rules = seed_default_rules
        self.train_at_start = train_at_start
        self.rule_wins_at = rule_wins_at
        self.model_accept_at = model_accept_at
        self.ruleset: RuleSet = domain.ruleset_v1(datetime.now(UTC))
        self.model: TrainedModel | None = None
        self._train_lock = asyncio.Lock()

    # ------------------------------------------------------------------ loading / hot reload
    async def load_ruleset(self) -> RuleSet:
        """Use the active rule set; seed the built-in v1 first when none is active (a fresh database).
        Runs at startup, before the broker consumes, and again on every hot reload."""
        active = await self.store.active_ruleset()
        if active is None and self.seed_default_rules:
            builtin = domain.ruleset_v1(datetime.now(UTC))
            if not await self.store.insert_ruleset(builtin):  # v1 exists but was deactivated by hand
                await self.store.activate_ruleset(builtin.version)
            active = await self.store.active_ruleset()
        if active is None:
            log.warning("no active rule set stored; using the built-in %s", self.ruleset.classifier_version)
            return self.ruleset
        if active.version != self.ruleset.version or active != self.ruleset:
            log.info("classifying with %s (%d rules)", active.classifier_version, len(active.rules))
        self.ruleset = active
        return active

    async def load_model(self) -> TrainedModel | None:
        """Load the active model; on a fresh database train v1 from the shipped file first."""
        stored = await self.store.active_model()
        if stored is None and self.train_at_start and await self.store.count_models() == 0:
            await self.train(None, activate=True, change="initial model trained at startup", startup=True)
            stored = await self.store.active_model()
        if stored is None:
            if self.model is None:
                log.warning("no active model: classifying with rules only")
            return self.model
        meta, blob = stored
        if self.model is None or self.model.version != meta["_id"]:
            self.model = await asyncio.to_thread(model.loads, blob)
            log.info("classifying with %s", self.model.classifier_version)
        return self.model

    async def reload(self) -> None:
        """Hot reload (event or periodic check): pick up another replica's activation."""
        await self.load_ruleset()
        if self.knowledge is not None:
            await self.knowledge.load()
        version = await self.store.active_model_version()
        if version is not None and (self.model is None or self.model.version != version):
            await self.load_model()

    async def reload_periodically(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reload()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_cancelling(exc)
                log.exception("periodic reload failed; keeping the loaded rule set and model")

    # ------------------------------------------------------------------ classification
    @property
    def classifier_version(self) -> str:
        return domain.combined_version(self.ruleset, self.model.classifier_version if self.model else None)

    def classify(self, item: ClassificationInput) -> Classification:
        """Dry-run classification with the loaded rule set and model (nothing stored or published)."""
        text = item.text  # normalised once, shared by the rules and the model
        prediction = self.model.model.predict_normalized(text) if self.model else None
        return domain.decide(
            self.ruleset, item, prediction, self.model.classifier_version if self.model else None,
            rule_wins_at=self.rule_wins_at, model_accept_at=self.model_accept_at, review_below=self.review_below,
            text=text,
        )

    async def on_ticket_created(
        self, event: TicketCreated, *, now: datetime | None = None
    ) -> ClassifyOutcome:
        """Classify a new ticket once and publish ``ticket.classified`` through the outbox. A ticket that
        is already classified (redelivery, relay republish, concurrent replica) is not classified again:
        only a still-pending outbox is flushed."""
        domain.check_created(event.payload)
        ticket_id = event.payload.ticket_id
        existing = await self.store.get_classification(ticket_id)
        if existing is not None:
            return await self._already_classified(existing, event)
        item = domain.input_from_created(event.payload)
        result = self.classify(item)
        record = domain.record_for(event, result, now or datetime.now(UTC))
        events: list[Any] = [domain.classified_event(record)]
        suggestions = self._suggestions(item, result)
        if suggestions:  # matched after the classification, stored and published in the same write
            record = record.model_copy(update={"suggestions": suggestions, "suggested_at": record.classified_at})
            events.append(knowledge.suggested_event(record, "classified"))
        entries = await self.store.insert_classification(record, events)
        if entries is None:  # a concurrent delivery stored it first
            winner = await self.store.get_classification(ticket_id)
            assert winner is not None
            return await self._already_classified(winner, event)
        await self.outbox.flush(self.store.classifications, ticket_id, entries)
        log.info(
            "ticket %s classified %s/%s/%s by %s (confidence %.2f)", record.ticket_no, result.category,
            result.module, result.priority, result.explanation.rule_id or result.explanation.method,
            result.confidence,
        )
        return ClassifyOutcome(record, duplicate=False)

    async def _already_classified(
        self, record: ClassificationRecord, event: TicketCreated
    ) -> ClassifyOutcome:
        await self.outbox.flush(self.store.classifications, record.ticket_id)  # finish an interrupted publish
        if record.source_event_id != str(event.event_id):
            log.warning(
                "ticket %s already classified from event %s; ignoring ticket.created %s",
                record.ticket_no, record.source_event_id, event.event_id,
            )
        return ClassifyOutcome(record, duplicate=True)

    async def on_ticket_reopened(self, event: TicketReopened, *, now: datetime | None = None) -> bool:
        """Re-classify on the text plus the reopen reason when that adds information (see
        ``domain.reopen_result``); True when a new ``ticket.classified`` was published. Idempotent on the
        event id; an older reopen than the last one applied changes nothing."""
        p = event.payload
        record = await self.store.get_classification(p.ticket_id)
        if record is None:
            raise RetryLater(f"ticket {p.ticket_no} reopened before it was classified; retrying")
        event_id = str(event.event_id)
        if await self.store.has_applied(p.ticket_id, event_id):
            await self.outbox.flush(self.store.classifications, p.ticket_id)
            return False
        reason = redact_text(p.reason)[:1000]
        if record.last_reopened_at is not None and p.reopened_at <= record.last_reopened_at:
            await self.store.note_applied_event(p.ticket_id, event_id, {})
            return False
        item = domain.reopen_input(record, reason)
        fresh = self.classify(item)
        result = domain.reopen_result(record, fresh, p.source)
        bookkeeping = {"reopen_notes": [*record.reopen_notes, reason][-20:], "last_reopened_at": p.reopened_at}
        suggestions = self._suggestions(item, result or record.result)
        if result is None and _same(suggestions, record.suggestions):
            await self.store.note_applied_event(p.ticket_id, event_id, bookkeeping)
            return False
        at = now or datetime.now(UTC)
        updated, fields, events = record.model_copy(update={"revision": record.revision + 1}), dict(bookkeeping), []
        if result is not None:
            updated = updated.model_copy(update={"result": result, "classified_at": at})
            fields.update({"result": result.model_dump(), "classified_at": at})
            events.append(domain.classified_event(updated))
        if not _same(suggestions, record.suggestions):  # the reason told more: the suggestions follow it
            updated = updated.model_copy(update={"suggestions": suggestions, "suggested_at": at})
            fields.update({"suggestions": [x.model_dump(mode="json") for x in suggestions], "suggested_at": at})
            events.append(knowledge.suggested_event(updated, "reopened"))
        entries = await self.store.update_classification(
            p.ticket_id, record.revision, fields, history=domain.history_entry(record) if result is not None else None,
            events=events, applied_event=event_id,
        )
        if entries is None:
            raise RetryLater(f"classification of {p.ticket_no} changed concurrently; retrying")
        await self.outbox.flush(self.store.classifications, p.ticket_id, entries)
        if result is not None:
            log.info("ticket %s re-classified on reopen: %s/%s", p.ticket_no, result.category, result.priority)
        return result is not None

    async def override(
        self, ticket_id: str, correction: Correction, who: Principal, expected_revision: int | None,
        *, now: datetime | None = None,
    ) -> ClassificationRecord:
        """A supervisor's correction: stored as the result (and as a labelled example for the next
        training run) and published as a new ``ticket.classified`` in the same write."""
        record = await self.store.get_classification(ticket_id)
        if record is None:
            raise ApiError(404, "classification_not_found", f"no classification for ticket {ticket_id}")
        if expected_revision is not None and expected_revision != record.revision:
            raise ApiError(409, "revision_conflict",
                           f"the classification is at revision {record.revision}, not {expected_revision}")
        result = domain.manual_result(record.result, correction, who.staff_id, redact_text(correction.reason))
        at = now or datetime.now(UTC)
        updated = record.model_copy(update={"result": result, "classified_at": at, "revision": record.revision + 1,
                                            "corrected": True})
        fields = {"result": result.model_dump(), "classified_at": at, "corrected": True, "corrected_by": who.staff_id}
        events: list[Any] = [domain.classified_event(updated)]
        suggestions = self._suggestions(domain.record_input(record), result)
        if not _same(suggestions, record.suggestions):  # another category or module ranks other items first
            updated = updated.model_copy(update={"suggestions": suggestions, "suggested_at": at})
            fields.update({"suggestions": [x.model_dump(mode="json") for x in suggestions], "suggested_at": at})
            events.append(knowledge.suggested_event(updated, "corrected"))
        entries = await self.store.update_classification(
            ticket_id, record.revision, fields, history=domain.history_entry(record), events=events,
        )
        if entries is None:
            raise ApiError(409, "revision_conflict", "the classification changed meanwhile; reload and retry")
        await self.outbox.flush(self.store.classifications, ticket_id, entries)
        log.info("ticket %s corrected by %s: %s/%s/%s", record.ticket_no, who.staff_id, result.category,
                 result.module, result.priority)
        return updated

    def _suggestions(self, item: ClassificationInput, result: Classification) -> list[KnowledgeSuggestion]:
        """The knowledge base's best articles and templates for the ticket's words and classification (none
        without a knowledge base). Off the classification hot path: the decision is made first."""
        if self.knowledge is None or not len(self.knowledge.index):
            return []
        return self.knowledge.suggest(f"{item.subject}\n{item.description}", Category(result.category),
                                      Module(result.module))

    # ------------------------------------------------------------------ rule sets
    async def save_ruleset(
        self, rules: list[Rule], description: str, who: Principal, *, action: str, change: str,
        base_version: int | None = None, activate: bool = True,
    ) -> RuleSet:
        """Store ``rules`` as a new immutable version (optionally activated) with its revision record."""
        if base_version is not None and base_version != self.ruleset.version:
            active = await self.store.active_ruleset()
            if active is None or active.version != base_version:
                raise ApiError(409, "ruleset_conflict", f"the active rule set is no longer v{base_version}")
        for _ in range(5):
            version = await self.store.next_ruleset_version()
            try:
                ruleset = RuleSet(version=version, description=description, rules=rules, active=False,
                                  created_by=who.staff_id, created_at=datetime.now(UTC))
            except ValueError as exc:
                raise ApiError(422, "invalid_ruleset", str(exc)) from None
            if await self.store.insert_ruleset(ruleset):
                break
        else:
            raise ApiError(409, "ruleset_conflict", "could not allocate a rule set version; retry")
        await self._record("ruleset", version, action, change, who, base_version=base_version, activated=False)
        if activate:
            return await self.activate_ruleset(version, who, change=change)
        return ruleset

    async def activate_ruleset(self, version: int, who: Principal, *, change: str = "") -> RuleSet:
        at = datetime.now(UTC)
        if not await self.store.activate_ruleset(version, at):
            raise ApiError(404, "ruleset_not_found", f"no rule set v{version}")
        ruleset = await self.load_ruleset()
        await self._record("ruleset", version, "activate", change or f"activated rules-v{version}", who,
                           activated=True, classifier_version=f"rules-v{version}", at=at)
        return ruleset

    async def _record(
        self, kind: str, version: int, action: str, change: str, who: Principal, *, activated: bool,
        classifier_version: str = "", base_version: int | None = None, at: datetime | None = None,
    ) -> None:
        at = at or datetime.now(UTC)
        events = []
        if activated:
            events.append(ClassifierConfigActivated.new(
                ClassifierConfigActivatedPayload(kind=kind, version=version, classifier_version=classifier_version,
                                                 activated_by=who.staff_id, change=change[:500], activated_at=at),
                correlation_id=f"classifier-{kind}-v{version}", producer=domain.PRODUCER, occurred_at=at,
            ))
        rid = uuid.uuid4().hex
        entries = await self.store.insert_revision(
            {"_id": rid, "kind": kind, "version": version, "action": action, "change": change[:500],
             "base_version": base_version, "changed_by": who.staff_id, "at": at}, events)
        await self.outbox.flush(self.store.revisions, rid, entries)

    # ------------------------------------------------------------------ models
    async def train(
        self, who: Principal | None, *, activate: bool, change: str = "retrained", startup: bool = False
    ) -> dict[str, Any]:
        """Train a new model version from the shipped file's train split plus every supervisor
        correction, evaluate it on the held-out split, store it (and activate it when asked). At
        startup (before the broker runs) only v1 is tried — a replica that loses the race to another
        one simply loads that one's model — and no reload event is needed."""
        async with self._train_lock:
            examples = model.load_examples()
            train = [e for e in examples if e.split == "train"]
            held_out = [e for e in examples if e.split == "test"]
            corrections = [
                Example(f"{r.subject}\n{r.description}", str(r.result.category), str(r.result.module),
                        str(r.result.priority), source="correction")
                for r in await self.store.corrections() if (r.subject or r.description).strip()
            ]
            digest = model.file_digest()
            key = (digest, self.ruleset.model_dump_json(exclude={"created_at", "active"}), self.review_below,
                   self.model_accept_at, self.rule_wins_at)
            if not corrections and key in _FITTED:
                fitted, figures = _FITTED[key]
            else:
                fitted = await asyncio.to_thread(model.fit, train + corrections)
                figures = await asyncio.to_thread(evaluate, self.ruleset, fitted, held_out,
                                                  review_below=self.review_below, model_accept_at=self.model_accept_at,
                                                  rule_wins_at=self.rule_wins_at)
                figures["independent"] = await asyncio.to_thread(
                    independent_summary, self.ruleset, fitted, review_below=self.review_below,
                    model_accept_at=self.model_accept_at, rule_wins_at=self.rule_wins_at)
                if not corrections:
                    _FITTED[key] = (fitted, figures)
            staff = who.staff_id if who else "system"
            for _ in range(1 if startup else 5):
                version = 1 if startup else await self.store.next_model_version()
                trained = TrainedModel(version=version, trained_at=datetime.now(UTC), training_digest=digest,
                                       examples=len(train) + len(corrections), corrections=len(corrections),
                                       model=fitted, metrics=figures)
                meta = {"version": version, "trained_at": trained.trained_at, "trained_by": staff,
                        "training_digest": digest, "examples": trained.examples, "corrections": len(corrections),
                        "held_out": len(held_out), "metrics": figures, "classifier_version": trained.classifier_version}
                if await self.store.insert_model(meta, await asyncio.to_thread(model.dumps, trained)):
                    break
            else:
                if startup:  # another replica stored v1 first
                    return {"version": 1, "active": True}
                raise ApiError(409, "model_conflict", "could not allocate a model version; retry")
            principal = who or Principal(staff_id="system", name="system")
            await self._record("model", version, "train", f"{change}: {trained.examples} examples "
                               f"({len(corrections)} corrections)", principal, activated=False)
            if startup:
                await self.store.activate_model(version, datetime.now(UTC))
            elif activate:
                await self.activate_model(version, principal)
            meta.pop("_id", None)
            return {**meta, "active": activate}

    @staticmethod
    def shipped_training_digest() -> str:
        """Digest of the training file this build ships (a stored model with another was trained on an
        older one)."""
        return model.file_digest()

    async def activate_model(self, version: int, who: Principal) -> TrainedModel:
        at = datetime.now(UTC)
        if not await self.store.activate_model(version, at):
            raise ApiError(404, "model_not_found", f"no model v{version}")
        loaded = await self.load_model()
        assert loaded is not None
        await self._record("model", version, "activate", f"activated model-v{version}", who, activated=True,
                           classifier_version=f"model-v{version}", at=at)
        return loaded


def _same(a: list[KnowledgeSuggestion], b: list[KnowledgeSuggestion]) -> bool:
    return [(x.item_id, x.version) for x in a] == [(x.item_id, x.version) for x in b]


# ---------------------------------------------------------------------------------------------- knowledge
_EDITORS = (StaffRole.SUPERVISOR, StaffRole.ADMIN)


class KnowledgeBase:
    """The knowledge base's use cases (issue 17): the matcher every classification asks for suggestions, the
    authors' lifecycle (draft → published by a supervisor → archived, versioned, audited), agents' use and
    verdicts. Each change is one compare-and-set write with its event; every replica rebuilds its index when
    the knowledge base's generation moves (the ``knowledge.changed`` event, or the periodic reload)."""

    def __init__(self, store: KnowledgeStore, outbox: Outbox, *, seed: bool = True,
                 min_score: float = knowledge.MIN_SCORE) -> None:
        self.store = store
        self.min_score = min_score
        self.outbox = outbox
        self.seed_content = seed
        self.index = knowledge.Index()
        self._generation: Any = None
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ index
    async def seed(self) -> int:
        """On an empty knowledge base, publish the shipped starter articles and templates (by ``system``).
        Replicas racing here insert each item once (ids are the keys)."""
        if not self.seed_content or await self.store.count():
            return 0
        raw = json.loads(resources.files("classifier.data").joinpath(SEED_FILE).read_text(encoding="utf-8"))
        at = datetime.now(UTC)
        system = Principal(staff_id="system", name="system")
        stored = 0
        for item, _ in knowledge.seed_items(raw, at):
            doc = _new_doc(item, system, at, status="published", action="seeded")
            if await self.store.insert(doc, [_changed_event(doc, "seeded", system, at)]) is not None:
                stored += 1  # its event is published by the outbox relay: the broker is not connected yet
        log.info("knowledge base seeded with %d articles and templates", stored)
        return stored

    async def load(self, *, force: bool = False) -> knowledge.Index:
        """Rebuild the matcher from the published items when the knowledge base changed since the last build."""
        async with self._lock:
            generation = await self.store.generation()
            if not force and generation == self._generation and (generation is not None or len(self.index) == 0):
                return self.index
            rows = await self.store.published()
            items = [_published(row) for row in rows if row.get("published")]
            self.index = await asyncio.to_thread(knowledge.Index.build, items)
            self._generation = generation
            log.info("knowledge index: %d published items", len(self.index))
            return self.index

    def suggest(self, text: str, category: Category | None, module: Module | None) -> list[KnowledgeSuggestion]:
        return [m.suggestion() for m in self.index.match(text, category=category, module=module,
                                                         min_score=self.min_score)]

    # ------------------------------------------------------------------ authoring
    async def create(self, new: knowledge.NewItem, who: Principal) -> dict[str, Any]:
        at = datetime.now(UTC)
        doc = _new_doc(new, who, at, status="draft", action="created")
        entries = await self.store.insert(doc, [_changed_event(doc, "created", who, at)])
        if entries is None:
            raise ApiError(409, "knowledge_exists", f"{doc['_id']} exists; edit it or choose another id")
        await self.outbox.flush(self.store.items, doc["_id"], entries)
        log.info("knowledge %s v1 drafted by %s", doc["_id"], who.staff_id)
        return await self.view(doc["_id"], who)

    async def edit(self, item_id: str, content: knowledge.Content, expected_version: int, who: Principal,
                   note: str = "") -> dict[str, Any]:
        doc = await self._get(item_id)
        if doc["kind"] == "template":
            try:
                knowledge.check_placeholders(content.body)
            except ValueError as exc:
                raise ApiError(422, "invalid_template", str(exc)) from None
        if not who.has_any(_EDITORS) and doc["status"] != "draft":
            raise ApiError(403, "forbidden", "agents edit drafts; a published or archived item is edited by a supervisor")
        return await self._change(doc, "edit", expected_version, who, content=content, note=note)

    async def publish(self, item_id: str, expected_version: int, who: Principal, note: str = "") -> dict[str, Any]:
        return await self._change(await self._get(item_id), "publish", expected_version, who, note=note)

    async def archive(self, item_id: str, expected_version: int, who: Principal, note: str = "") -> dict[str, Any]:
        return await self._change(await self._get(item_id), "archive", expected_version, who, note=note)

    async def _change(self, doc: dict[str, Any], action: str, expected_version: int, who: Principal, *,
                      content: knowledge.Content | None = None, note: str = "") -> dict[str, Any]:
        current = doc["current"]
        if current["version"] != expected_version:
            raise ApiError(409, "version_conflict", f"{doc['_id']} is at version {current['version']}, not "
                           f"{expected_version}; reload and retry")
        try:
            status = knowledge.transition(doc["status"], action)
        except ValueError as exc:
            raise ApiError(409, "invalid_transition", str(exc)) from None
        at = datetime.now(UTC)
        fields: dict[str, Any] = {"status": status, "changed_at": at, "changed_by": who.staff_id}
        version = current["version"]
        if content is not None:
            version += 1
            current = {**content.model_dump(mode="json"), "version": version, "edited_by": who.staff_id, "edited_at": at}
            fields["current"] = current
        if action == "publish":
            fields["published"] = current
            fields["published_at"] = at
            fields["published_by"] = who.staff_id
        done = {"edit": "edited", "publish": "published", "archive": "archived"}[action]
        history = {"version": version, "action": done, "by": who.staff_id, "at": at, "note": note[:300],
                   "status": status, **({"content": content.model_dump(mode="json")} if content is not None else {})}
        after = {**doc, **fields}
        entries = await self.store.change(doc["_id"], doc["current"]["version"], doc["status"], fields, history,
                                          [_changed_event(after, done, who, at)])
        if entries is None:
            raise ApiError(409, "version_conflict", f"{doc['_id']} changed meanwhile; reload and retry")
        await self.outbox.flush(self.store.items, doc["_id"], entries)
        log.info("knowledge %s v%d %s by %s", doc["_id"], version, done, who.staff_id)
        if action != "edit" or doc["status"] == "published":
            await self.load()
        return await self.view(doc["_id"], who)

    async def _get(self, item_id: str) -> dict[str, Any]:
        doc = await self.store.get(item_id)
        if doc is None:
            raise ApiError(404, "knowledge_not_found", f"no article or template {item_id}")
        return doc

    # ------------------------------------------------------------------ reading
    async def view(self, item_id: str, who: Principal) -> dict[str, Any]:
        doc = await self._get(item_id)
        if not who.has_any(_EDITORS) and doc["status"] == "archived":
            raise ApiError(404, "knowledge_not_found", f"no article or template {item_id}")
        return _view(doc)

    async def list(self, who: Principal, *, kind: str | None, status: str | None, lang: str | None,
                   topic: str | None, category: str | None, q: str | None, limit: int, skip: int) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if not who.has_any(_EDITORS):
            if status == "archived":
                raise ApiError(403, "forbidden", "archived items are for supervisors and admins")
            query["status"] = status or {"$in": ["published", "draft"]}
        elif status:
            query["status"] = status
        for name, value in (("kind", kind), ("lang", lang), ("topic", topic), ("current.category", category)):
            if value:
                query[name] = value
        if q and q.strip():
            pattern = {"$regex": re.escape(q.strip()[:100]), "$options": "i"}
            query["$or"] = [{"_id": pattern}, {"current.title": pattern}, {"current.keywords": pattern},
                            {"topic": pattern}]
        docs, total = await self.store.find(query, limit, skip)
        return {"items": [_summary(d) for d in docs], "total": total}

    async def history(self, item_id: str) -> list[dict[str, Any]]:
        entries = await self.store.history(item_id)
        if entries is None:
            raise ApiError(404, "knowledge_not_found", f"no article or template {item_id}")
        return entries[::-1]

    def search(self, text: str, *, kind: str | None, lang: str | None, limit: int) -> list[dict[str, Any]]:
        """Published items for a text typed by staff (the knowledge search box, the supervisors' dry run)."""
        matches = self.index.match(text, articles=limit, templates=limit, min_score=0.0, kind=kind,  # type: ignore[arg-type]
                                   lang=lang)  # type: ignore[arg-type]
        return [m.suggestion().model_dump(mode="json") for m in matches]

    # ------------------------------------------------------------------ tickets
    async def for_ticket(self, record: ClassificationRecord, who: Principal) -> dict[str, Any]:
        """The ticket's suggestions with each item's published content (rendered) and the caller's feedback."""
        docs = await self.store.get_many([s.item_id for s in record.suggestions])
        mine = {(f["item_id"], f["what"]): f for f in await self.store.feedback_of(record.ticket_id, who.staff_id)}
        out = []
        for s in record.suggestions:
            doc = docs.get(s.item_id)
            if doc is None or doc.get("status") != "published" or not doc.get("published"):
                continue  # archived since: no longer offered
            verdict = mine.get((s.item_id, "verdict"))
            out.append({**s.model_dump(mode="json"), **_published_view(doc), "used": (s.item_id, "use") in mine,
                        "verdict": verdict["action"] if verdict else None})
        return {"ticket_id": record.ticket_id, "ticket_no": record.ticket_no, "suggested_at": record.suggested_at,
                "category": record.result.category, "module": record.result.module, "suggestions": out}

    async def feedback(self, record: ClassificationRecord, item_id: str, action: str, who: Principal) -> dict[str, Any]:
        """An agent used an item on the ticket, or said whether it helped. Idempotent: the same use or the same
        verdict again changes nothing and publishes nothing; a changed verdict replaces the earlier one."""
        doc = await self._get(item_id)
        published = doc.get("published")
        if published is None or doc["status"] != "published":
            raise ApiError(409, "not_published", f"{item_id} is not published")
        what = "use" if action == "used" else "verdict"
        at = datetime.now(UTC)
        suggested = any(s.item_id == item_id for s in record.suggestions)
        event = KnowledgeFeedback.new(
            KnowledgeFeedbackPayload(ticket_id=record.ticket_id, ticket_no=record.ticket_no, kind=doc["kind"],
                                     item_id=item_id, version=published["version"], topic=doc.get("topic", ""),
                                     title=published["title"], action=action, staff_id=who.staff_id,
                                     suggested=suggested, at=at),
            correlation_id=record.correlation_id, producer=domain.PRODUCER, occurred_at=at)
        key = f"{record.ticket_id}:{item_id}:{who.staff_id}:{what}"
        fields = {"ticket_id": record.ticket_id, "item_id": item_id, "staff_id": who.staff_id, "what": what,
                  "kind": doc["kind"], "version": published["version"], "suggested": suggested, "at": at}
        entries = await self.store.record_feedback(key, fields, {"action": action}, [event])
        if entries is not None:
            await self.outbox.flush(self.store.feedback, key, entries)
            log.info("knowledge %s %s on ticket %s by %s", item_id, action, record.ticket_no, who.staff_id)
        return {"ticket_id": record.ticket_id, "item_id": item_id, "action": action, "recorded": entries is not None}


SEED_FILE = "knowledge_seed.json"


def _new_doc(item: knowledge.NewItem, who: Principal, at: datetime, *, status: str, action: str) -> dict[str, Any]:
    content = knowledge.Content.model_validate(item.model_dump(include=set(knowledge.Content.model_fields)))
    current = {**content.model_dump(mode="json"), "version": 1, "edited_by": who.staff_id, "edited_at": at}
    return {"_id": item.item_id(), "kind": item.kind, "topic": item.topic, "lang": item.lang, "status": status,
            "current": current, "published": current if status == "published" else None,
            "published_at": at if status == "published" else None,
            "published_by": who.staff_id if status == "published" else None,
            "created_by": who.staff_id, "created_at": at, "changed_by": who.staff_id, "changed_at": at,
            "history": [{"version": 1, "action": action, "by": who.staff_id, "at": at, "note": "", "status": status,
                         "content": content.model_dump(mode="json")}]}


def _changed_event(doc: dict[str, Any], action: str, who: Principal, at: datetime) -> KnowledgeChanged:
    current = doc["current"]
    return KnowledgeChanged.new(
        KnowledgeChangedPayload(kind=doc["kind"], item_id=doc["_id"], version=current["version"], topic=doc["topic"],
                                lang=doc["lang"], title=current["title"], category=current.get("category"),
                                modules=current.get("modules", []), status=doc["status"], action=action,
                                changed_by=who.staff_id, changed_at=at),
        correlation_id=f"knowledge-{doc['_id']}", producer=domain.PRODUCER, occurred_at=at)


def _published(doc: dict[str, Any]) -> knowledge.Published:
    p = doc["published"]
    content = knowledge.Content.model_validate({k: p.get(k) for k in knowledge.Content.model_fields if k in p})
    return knowledge.Published(doc["_id"], doc["kind"], doc.get("topic", ""), doc["lang"], int(p["version"]), content)


def _rendered(kind: str, content: dict[str, Any]) -> dict[str, Any]:
    if kind == "article":
        return {"body_html": knowledge.render(content["body"])}
    return {"placeholders": knowledge.placeholders(content["body"])}


def _published_view(doc: dict[str, Any]) -> dict[str, Any]:
    p = doc["published"]
    return {"title": p["title"], "body": p["body"], "version": p["version"], **_rendered(doc["kind"], p)}


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    current, published = doc["current"], doc.get("published")
    return {"id": doc["_id"], "kind": doc["kind"], "topic": doc.get("topic", ""), "lang": doc["lang"],
            "status": doc["status"], "title": current["title"], "version": current["version"],
            "category": current.get("category"), "modules": current.get("modules", []),
            "keywords": current.get("keywords", []),
            "published_version": published["version"] if published else None,
            "has_unpublished_changes": bool(published) and published["version"] != current["version"],
            "changed_by": doc.get("changed_by"), "changed_at": doc.get("changed_at")}


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    current, published = doc["current"], doc.get("published")
    return {**_summary(doc), "created_by": doc.get("created_by"), "created_at": doc.get("created_at"),
            "published_by": doc.get("published_by"), "published_at": doc.get("published_at"),
            "current": {**current, **_rendered(doc["kind"], current)},
            "published": {**published, **_rendered(doc["kind"], published)} if published else None}
