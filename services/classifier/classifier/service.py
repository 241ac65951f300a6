"""Classifier's use cases: domain + model + store writes + outbox flush. Called by both the broker
handlers and the HTTP API, so the two doors classify the same way."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts import ClassifierConfigActivated, ClassifierConfigActivatedPayload, TicketCreated, TicketReopened
from servicekit.context import raise_if_cancelling
from servicekit import ApiError, Principal
from servicekit.outbox import Outbox
from servicekit.privacy import redact_text

from . import domain, model
from .domain import Classification, ClassificationInput, ClassificationRecord, Correction, Rule, RuleSet
from .evaluate import evaluate, independent_summary
from .model import Example, TrainedModel
from .store import ClassifierStore

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
    ) -> None:
        self.store = store
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
        result = self.classify(domain.input_from_created(event.payload))
        record = domain.record_for(event, result, now or datetime.now(UTC))
        entries = await self.store.insert_classification(record, [domain.classified_event(record)])
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
        fresh = self.classify(domain.reopen_input(record, reason))
        result = domain.reopen_result(record, fresh, p.source)
        bookkeeping = {"reopen_notes": [*record.reopen_notes, reason][-20:], "last_reopened_at": p.reopened_at}
        if result is None:
            await self.store.note_applied_event(p.ticket_id, event_id, bookkeeping)
            return False
        at = now or datetime.now(UTC)
        updated = record.model_copy(update={"result": result, "classified_at": at, "revision": record.revision + 1})
        entries = await self.store.update_classification(
            p.ticket_id, record.revision, {**bookkeeping, "result": result.model_dump(), "classified_at": at},
            history=domain.history_entry(record), events=[domain.classified_event(updated)], applied_event=event_id,
        )
        if entries is None:
            raise RetryLater(f"classification of {p.ticket_no} changed concurrently; retrying")
        await self.outbox.flush(self.store.classifications, p.ticket_id, entries)
        log.info("ticket %s re-classified on reopen: %s/%s", p.ticket_no, result.category, result.priority)
        return True

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
        entries = await self.store.update_classification(
            ticket_id, record.revision,
            {"result": result.model_dump(), "classified_at": at, "corrected": True, "corrected_by": who.staff_id},
            history=domain.history_entry(record), events=[domain.classified_event(updated)],
        )
        if entries is None:
            raise ApiError(409, "revision_conflict", "the classification changed meanwhile; reload and retry")
        await self.outbox.flush(self.store.classifications, ticket_id, entries)
        log.info("ticket %s corrected by %s: %s/%s/%s", record.ticket_no, who.staff_id, result.category,
                 result.module, result.priority)
        return updated

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
