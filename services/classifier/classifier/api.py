"""Classifier's HTTP API (staff JWT):

| method | path                                              | roles              |
|--------|---------------------------------------------------|--------------------|
| POST   | /api/v1/classify  (dry run, full explanation)     | any staff          |
| GET    | /api/v1/classifications/{ticket_id}               | any staff          |
| POST   | /api/v1/classifications/{ticket_id}/override      | supervisor, admin  |
| GET    | /api/v1/rulesets, /rulesets/active, /rulesets/{v} | supervisor, admin  |
| POST   | /api/v1/rulesets (new version)                    | admin              |
| POST   | /api/v1/rulesets/{v}/activate (incl. rollback)    | admin              |
| POST   | /api/v1/rules (add to the active set)             | admin              |
| PUT    | /api/v1/rules/{rule_id}                           | admin              |
| DELETE | /api/v1/rules/{rule_id}                           | admin              |
| GET    | /api/v1/revisions (who changed what, when)        | supervisor, admin  |
| GET    | /api/v1/models                                    | supervisor, admin  |
| POST   | /api/v1/models/train (retrain + held-out figures) | admin              |
| POST   | /api/v1/models/{v}/activate                       | admin              |
| GET    | /api/v1/knowledge (list, filters, title search)   | any staff (agents: published and drafts) |
| POST   | /api/v1/knowledge (a new draft)                   | any staff          |
| GET    | /api/v1/knowledge/search?q= (ranked, published)   | any staff          |
| POST   | /api/v1/knowledge/suggest (dry run for a text)    | supervisor, admin  |
| GET    | /api/v1/knowledge/{id}, /knowledge/{id}/history   | any staff / supervisor, admin |
| PUT    | /api/v1/knowledge/{id} (new version)              | any staff (agents: drafts only) |
| POST   | /api/v1/knowledge/{id}/publish, /archive          | supervisor, admin  |
| GET    | /api/v1/tickets/{ticket_id}/suggestions           | any staff          |
| POST   | /api/v1/tickets/{ticket_id}/suggestions/feedback  | any staff          |

Every rule edit creates a new immutable rule set version derived from the active one, activates it and
tells every replica (``classifier.config_activated``); ``base_version`` makes an edit fail with 409 when
someone else changed the rules meanwhile.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field, model_validator

from contracts import Category, Channel, CustomerTier, Module
from servicekit import Admin, AnyStaff, ApiError, Supervisor

from .knowledge import Content, Kind, Lang, NewItem, Status

from .domain import Classification, ClassificationInput, ClassificationRecord, Correction, Rule, RuleSet
from .service import ClassifierService


class ClassifyRequest(BaseModel):
    """A text to classify without storing anything (same limits as a ticket submission)."""

    subject: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=20_000)
    channel: Channel = Channel.WEB_FORM
    customer_tier: CustomerTier = CustomerTier.NORMAL
    has_order_number: bool = False

    @model_validator(mode="after")
    def _some_text(self) -> ClassifyRequest:
        if not (self.subject.strip() or self.description.strip()):
            raise ValueError("give a subject or a description to classify")
        return self


class OverrideRequest(Correction):
    expected_revision: int | None = Field(default=None, ge=1, description="Fail with 409 if the result moved on.")


class NewRuleSet(BaseModel):
    description: str = Field(default="", max_length=500)
    rules: list[Rule] = Field(min_length=1, max_length=500)
    activate: bool = True
    base_version: int | None = Field(default=None, ge=1)


class RuleChange(BaseModel):
    rule: Rule
    position: int | None = Field(default=None, ge=0, le=500, description="Index in the ordered list; end if absent.")
    base_version: int | None = Field(default=None, ge=1)
    note: str = Field(default="", max_length=300)


class TrainRequest(BaseModel):
    activate: bool = True


class Page(BaseModel):
    items: list[dict[str, Any]]
    total: int


class KnowledgeEdit(Content):
    """A new version of an article or template (replaces title, body and tags)."""

    base_version: int = Field(ge=1, description="The version this edit starts from: 409 when it moved on.")
    note: str = Field(default="", max_length=300, description="What changed and why (kept in the history).")


class KnowledgeAction(BaseModel):
    base_version: int = Field(ge=1, description="The version being published/archived: 409 when it moved on.")
    note: str = Field(default="", max_length=300)


class SuggestRequest(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    category: Category | None = None
    module: Module | None = None


class FeedbackRequest(BaseModel):
    item_id: str = Field(min_length=1, max_length=64)
    action: Literal["used", "helpful", "not_helpful"]


TicketIdPath = Annotated[str, Path(min_length=1, max_length=64)]
RuleIdPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,63}$")]
VersionPath = Annotated[int, Path(ge=1, le=1_000_000)]
ItemIdPath = Annotated[str, Path(pattern=r"^(KB|TPL)-[A-Za-z0-9][A-Za-z0-9._-]{0,58}$")]
Limit = Annotated[int, Query(ge=1, le=200)]
Skip = Annotated[int, Query(ge=0, le=100_000)]


def _clean(doc: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k not in ("outbox", "blob")}
    if "_id" in out:
        out.setdefault("version", out["_id"]) if not isinstance(out["_id"], str) else out.setdefault("id", out["_id"])
        out.pop("_id")
    return out


def build_router(service: ClassifierService) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    # ------------------------------------------------------------------ classification
    @router.post("/classify", response_model=Classification, tags=["classification"])
    async def classify(body: ClassifyRequest, _: AnyStaff) -> Classification:
        """Dry run: how the active rule set and model classify this text, with the explanation. Nothing
        is stored and nothing is published."""
        return service.classify(ClassificationInput(**body.model_dump()))

    @router.get("/classifications/{ticket_id}", response_model=ClassificationRecord, tags=["classification"])
    async def get_classification(ticket_id: TicketIdPath, _: AnyStaff) -> ClassificationRecord:
        record = await service.store.get_classification(ticket_id)
        if record is None:
            raise ApiError(404, "classification_not_found", f"no classification for ticket {ticket_id}")
        return record

    @router.post("/classifications/{ticket_id}/override", response_model=ClassificationRecord,
                 tags=["classification"])
    async def override(ticket_id: TicketIdPath, body: OverrideRequest, who: Supervisor) -> ClassificationRecord:
        """Correct category/module/priority: publishes a new ticket.classified (method manual) and keeps
        the ticket as a labelled example for the next training run."""
        correction = Correction(**body.model_dump(exclude={"expected_revision"}))
        return await service.override(ticket_id, correction, who, body.expected_revision)

    # ------------------------------------------------------------------ rule sets
    @router.get("/rulesets/active", response_model=RuleSet, tags=["rules"])
    async def active_ruleset(_: Supervisor) -> RuleSet:
        """The rule set this replica classifies with (supervisors and admins)."""
        return service.ruleset

    @router.get("/rulesets", response_model=Page, tags=["rules"])
    async def list_rulesets(_: Supervisor, limit: Limit = 50, skip: Skip = 0) -> Page:
        docs = await service.store.list_rulesets(limit, skip)
        return Page(items=[_clean(d) for d in docs], total=await service.store.count_rulesets())

    @router.get("/rulesets/{version}", response_model=RuleSet, tags=["rules"])
    async def get_ruleset(version: VersionPath, _: Supervisor) -> RuleSet:
        ruleset = await service.store.get_ruleset(version)
        if ruleset is None:
            raise ApiError(404, "ruleset_not_found", f"no rule set v{version}")
        return ruleset

    @router.post("/rulesets", response_model=RuleSet, status_code=201, tags=["rules"])
    async def create_ruleset(body: NewRuleSet, who: Admin) -> RuleSet:
        """A complete new rule set version (e.g. the quarterly revision), activated unless asked not to."""
        return await service.save_ruleset(body.rules, body.description, who, action="create",
                                          change=f"new rule set with {len(body.rules)} rules",
                                          base_version=body.base_version, activate=body.activate)

    @router.post("/rulesets/{version}/activate", response_model=RuleSet, tags=["rules"])
    async def activate_ruleset(version: VersionPath, who: Admin) -> RuleSet:
        """Activate any stored version (a rollback is the activation of an older one)."""
        return await service.activate_ruleset(version, who)

    def _derive(change: RuleChange | None, rule_id: str | None, mode: Literal["add", "replace", "delete"]) -> list[Rule]:
        rules = list(service.ruleset.rules)
        ids = [r.id for r in rules]
        if mode == "add":
            assert change is not None
            if change.rule.id in ids:
                raise ApiError(409, "rule_exists", f"rule {change.rule.id} already exists; use PUT")
            rules.insert(change.position if change.position is not None else len(rules), change.rule)
            return rules
        if rule_id not in ids:
            raise ApiError(404, "rule_not_found", f"no rule {rule_id} in rules-v{service.ruleset.version}")
        index = ids.index(rule_id)
        rules.pop(index)
        if mode == "replace":
            assert change is not None
            if change.rule.id != rule_id and change.rule.id in ids:
                raise ApiError(409, "rule_exists", f"rule {change.rule.id} already exists")
            rules.insert(change.position if change.position is not None else index, change.rule)
        elif not rules:
            raise ApiError(409, "last_rule", "a rule set needs at least one rule")
        return rules

    @router.post("/rules", response_model=RuleSet, status_code=201, tags=["rules"])
    async def add_rule(body: RuleChange, who: Admin) -> RuleSet:
        await service.load_ruleset()
        rules = _derive(body, None, "add")
        return await service.save_ruleset(rules, service.ruleset.description, who, action="add_rule",
                                          change=f"added rule {body.rule.id}. {body.note}".strip(),
                                          base_version=body.base_version)

    @router.put("/rules/{rule_id}", response_model=RuleSet, tags=["rules"])
    async def replace_rule(rule_id: RuleIdPath, body: RuleChange, who: Admin) -> RuleSet:
        await service.load_ruleset()
        rules = _derive(body, rule_id, "replace")
        return await service.save_ruleset(rules, service.ruleset.description, who, action="update_rule",
                                          change=f"changed rule {rule_id}. {body.note}".strip(),
                                          base_version=body.base_version)

    @router.delete("/rules/{rule_id}", response_model=RuleSet, tags=["rules"])
    async def delete_rule(rule_id: RuleIdPath, who: Admin,
                          base_version: Annotated[int | None, Query(ge=1)] = None) -> RuleSet:
        await service.load_ruleset()
        rules = _derive(None, rule_id, "delete")
        return await service.save_ruleset(rules, service.ruleset.description, who, action="delete_rule",
                                          change=f"deleted rule {rule_id}", base_version=base_version)

    @router.get("/revisions", response_model=Page, tags=["rules"])
    async def revisions(_: Supervisor, kind: Annotated[Literal["ruleset", "model"] | None, Query()] = None,
                        limit: Limit = 50, skip: Skip = 0) -> Page:
        """Change history of rule sets and models: who changed what, when (newest first)."""
        docs = await service.store.list_revisions(kind, limit, skip)
        return Page(items=[_clean(d) for d in docs], total=await service.store.count_revisions(kind))

    # ------------------------------------------------------------------ models
    @router.get("/models", response_model=Page, tags=["models"])
    async def list_models(_: Supervisor, limit: Limit = 20, skip: Skip = 0) -> Page:
        docs = await service.store.list_models(limit, skip)
        shipped = service.shipped_training_digest()
        # a model trained before the shipped training file changed (an upgrade): the console suggests a retrain
        items = [{**_clean(d), "current_training_file": d.get("training_digest") == shipped} for d in docs]
        return Page(items=items, total=await service.store.count_models())

    @router.post("/models/train", status_code=201, tags=["models"])
    async def train(body: TrainRequest, who: Admin, response: Response) -> dict[str, Any]:
        """Retrain from the shipped file plus supervisors' corrections; returns the held-out figures."""
        return await service.train(who, activate=body.activate)

    @router.post("/models/{version}/activate", tags=["models"])
    async def activate_model(version: VersionPath, who: Admin) -> dict[str, Any]:
        loaded = await service.activate_model(version, who)
        return {"version": loaded.version, "classifier_version": loaded.classifier_version, "active": True}

    # ------------------------------------------------------------------ knowledge base
    kb = service.knowledge
    assert kb is not None, "the classifier is wired with its knowledge base"

    async def _record(ticket_id: str) -> ClassificationRecord:
        record = await service.store.get_classification(ticket_id)
        if record is None:
            raise ApiError(404, "classification_not_found", f"ticket {ticket_id} is not classified (yet)")
        return record

    @router.get("/knowledge", response_model=Page, tags=["knowledge"])
    async def list_knowledge(
        who: AnyStaff, kind: Annotated[Kind | None, Query()] = None, status: Annotated[Status | None, Query()] = None,
        lang: Annotated[Lang | None, Query()] = None,
        topic: Annotated[str | None, Query(max_length=64)] = None, category: Annotated[Category | None, Query()] = None,
        q: Annotated[str | None, Query(max_length=100, description="Part of an id, title, keyword or topic.")] = None,
        limit: Limit = 50, skip: Skip = 0,
    ) -> Page:
        """Articles and reply templates, most recently changed first. Agents see published items and drafts;
        supervisors and admins also archived ones."""
        return Page(**await kb.list(who, kind=kind, status=status, lang=lang, topic=topic, category=category, q=q,
                                    limit=limit, skip=skip))

    @router.post("/knowledge", status_code=201, tags=["knowledge"])
    async def create_knowledge(body: NewItem, who: AnyStaff) -> dict[str, Any]:
        """A new article or template, as a draft (version 1); a supervisor publishes it."""
        return await kb.create(body, who)

    @router.get("/knowledge/search", tags=["knowledge"])
    async def search_knowledge(
        _: AnyStaff, q: Annotated[str, Query(min_length=1, max_length=500)],
        kind: Annotated[Kind | None, Query()] = None, lang: Annotated[Lang | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=20)] = 5,
    ) -> list[dict[str, Any]]:
        """Published articles and templates ranked for the words typed (BM25), best first."""
        return kb.search(q, kind=kind, lang=lang, limit=limit)

    @router.post("/knowledge/suggest", tags=["knowledge"])
    async def suggest_knowledge(body: SuggestRequest, _: Supervisor) -> dict[str, Any]:
        """Dry run: what a ticket with this text (and classification, when given) would be suggested. Without
        a classification, the text is classified first as it would be. Nothing is stored."""
        category, module = body.category, body.module
        if category is None or module is None:
            result = service.classify(ClassificationInput(description=body.text))
            category, module = category or Category(result.category), module or Module(result.module)
        suggestions = kb.suggest(body.text, category, module)
        return {"category": category, "module": module, "suggestions": [s.model_dump(mode="json") for s in suggestions]}

    @router.get("/knowledge/{item_id}", tags=["knowledge"])
    async def get_knowledge(item_id: ItemIdPath, who: AnyStaff) -> dict[str, Any]:
        """The item: its current version (what authors edit) and the published one (what agents see), both
        rendered (articles as sanitised HTML, templates with their placeholders)."""
        return await kb.view(item_id, who)

    @router.get("/knowledge/{item_id}/history", tags=["knowledge"])
    async def knowledge_history(item_id: ItemIdPath, _: Supervisor) -> list[dict[str, Any]]:
        """Who changed what, when (newest first; the last 50 versions with their content)."""
        return await kb.history(item_id)

    @router.put("/knowledge/{item_id}", tags=["knowledge"])
    async def edit_knowledge(item_id: ItemIdPath, body: KnowledgeEdit, who: AnyStaff) -> dict[str, Any]:
        """A new version. A published item stays published at its old version until the new one is
        published; agents may edit drafts only."""
        content = Content(**body.model_dump(exclude={"base_version", "note"}))
        return await kb.edit(item_id, content, body.base_version, who, body.note)

    @router.post("/knowledge/{item_id}/publish", tags=["knowledge"])
    async def publish_knowledge(item_id: ItemIdPath, body: KnowledgeAction, who: Supervisor) -> dict[str, Any]:
        """Publish the current version: agents see it and tickets are matched to it (every replica reloads)."""
        return await kb.publish(item_id, body.base_version, who, body.note)

    @router.post("/knowledge/{item_id}/archive", tags=["knowledge"])
    async def archive_knowledge(item_id: ItemIdPath, body: KnowledgeAction, who: Supervisor) -> dict[str, Any]:
        """Withdraw the item: no longer suggested or shown to agents (publishing it again restores it)."""
        return await kb.archive(item_id, body.base_version, who, body.note)

    @router.get("/tickets/{ticket_id}/suggestions", tags=["knowledge"])
    async def ticket_suggestions(ticket_id: TicketIdPath, who: AnyStaff) -> dict[str, Any]:
        """The articles and reply templates matched to the ticket, with their published content and the
        caller's use and verdict of each."""
        return await kb.for_ticket(await _record(ticket_id), who)

    @router.post("/tickets/{ticket_id}/suggestions/feedback", tags=["knowledge"])
    async def suggestion_feedback(ticket_id: TicketIdPath, body: FeedbackRequest, who: AnyStaff) -> dict[str, Any]:
        """The caller used an item on this ticket (inserted a template, linked an article) or says whether it
        helped; repeated, it changes nothing."""
        return await kb.feedback(await _record(ticket_id), body.item_id, body.action, who)

    return router
