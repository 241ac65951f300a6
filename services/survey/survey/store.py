"""Survey's MongoDB collections (the only MongoDB code of this service).

* ``surveys``       — one document per resolution. ``_id`` = survey_id = the hex of the ticket.resolved
                      event id (the natural key: a redelivery cannot create a second survey). Holds the
                      answers, the score and the ``outbox`` of survey.completed (one update = state + event).
                      Looked up by ``ticket_id``; swept by ``status``; aggregated per ``agent_id``.
* ``survey_tokens`` — ``_id`` = SHA-256 of a link token → ``survey_id``: how the public page finds its
                      survey with an O(1) ``_id`` lookup instead of a secondary unique index. The survey
                      itself says which hashes it accepts, so an entry alone never opens a survey.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from contracts import SurveyCompleted
from servicekit.documents import from_doc, plain, to_doc
from servicekit.outbox import push_outbox

from .domain import Survey, SurveyStatus, survey_id_for

MAX_EARLIER_TOKENS = 20
PENDING = plain(SurveyStatus.PENDING)


class SurveyStore:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.surveys = db["surveys"]
        self.tokens = db["survey_tokens"]

    async def ensure_indexes(self) -> None:
        await self.surveys.create_index([("ticket_id", ASCENDING), ("created_at", ASCENDING)], name="ticket_created")
        await self.surveys.create_index([("status", ASCENDING), ("created_at", ASCENDING)], name="status_created")
        await self.surveys.create_index([("agent_id", ASCENDING), ("status", ASCENDING)], name="agent_status")
        await self.surveys.create_index([("completed_at", ASCENDING)], name="completed_at")

    # ------------------------------------------------------------------ writes
    async def insert_survey(self, survey: Survey) -> bool:
        """Insert a new survey; False when its resolution event already has one (duplicate delivery)."""
        try:
            await self.surveys.insert_one(to_doc(survey, id_field="survey_id"))
            return True
        except DuplicateKeyError:
            return False

    async def add_token(self, token_hash: str, survey_id: str, now: datetime) -> None:
        await self.tokens.update_one(
            {"_id": token_hash}, {"$setOnInsert": {"survey_id": survey_id, "created_at": now}}, upsert=True
        )

    async def rotate_token(self, survey_id: str, old_hash: str, new_hash: str, now: datetime) -> bool:
        """Make ``new_hash`` the survey's current link (the old one stays answerable); False when the
        survey is no longer pending or another rotation won."""
        result = await self.surveys.update_one(
            {"_id": survey_id, "status": PENDING, "token_hash": old_hash},
            {
                "$set": {"token_hash": new_hash, "last_attempt_at": now},
                "$push": {"earlier_token_hashes": {"$each": [old_hash], "$slice": -MAX_EARLIER_TOKENS}},
            },
        )
        return result.modified_count == 1

    async def mark_attempt(self, survey_id: str, now: datetime) -> None:
        await self.surveys.update_one({"_id": survey_id}, {"$set": {"last_attempt_at": now}})

    async def record_invitation(self, survey_id: str, now: datetime, *, reminder: bool) -> None:
        fields: dict[str, Any] = {"last_invited_at": now}
        if reminder:
            fields["reminded_at"] = now
        await self.surveys.update_one({"_id": survey_id}, {"$set": fields, "$inc": {"invitations_sent": 1}})

    async def complete(self, done: Survey, event: SurveyCompleted, now: datetime) -> bool:
        """Pending (and not yet expired) → completed with the answers, and survey.completed in the same
        document's outbox. False when another answer won or the link died meanwhile."""
        fields = {
            k: plain(getattr(done, k))
            for k in ("status", "completed_at", "speed", "resolution", "attitude", "comment", "csat", "satisfied")
        }
        fields["satisfied_n"] = 1 if done.satisfied else 0
        fields["unresolved_n"] = 1 if fields["resolution"] == "unresolved" else 0
        result = await self.surveys.update_one(
            {"_id": done.survey_id, "status": PENDING, "expires_at": {"$gt": now}},
            {"$set": fields, **push_outbox(event)},
        )
        return result.modified_count == 1

    async def mark_superseded(self, survey_id: str, now: datetime) -> bool:
        """Pending → superseded; False when the survey is no longer pending (answered meanwhile)."""
        result = await self.surveys.update_one(
            {"_id": survey_id, "status": PENDING},
            {"$set": {"status": plain(SurveyStatus.SUPERSEDED), "superseded_at": now}},
        )
        return result.modified_count == 1

    async def mark_expired(self, now: datetime) -> int:
        """Write down what reads already compute: pending surveys past their expiry are expired."""
        result = await self.surveys.update_many(
            {"status": PENDING, "expires_at": {"$lte": now}}, {"$set": {"status": plain(SurveyStatus.EXPIRED)}}
        )
        return int(result.modified_count)

    # ------------------------------------------------------------------ reads
    async def find_by_source_event(self, source_event_id: str) -> Survey | None:
        return await self.get_survey(survey_id_for(source_event_id))

    async def get_survey(self, survey_id: str) -> Survey | None:
        doc = await self.surveys.find_one({"_id": survey_id})
        return from_doc(Survey, doc) if doc else None

    async def survey_by_token(self, token_hash: str) -> Survey | None:
        entry = await self.tokens.find_one({"_id": token_hash})
        if entry is None:
            return None
        survey = await self.get_survey(entry["survey_id"])
        return survey if survey is not None and survey.accepts_token_hash(token_hash) else None

    async def list_for_ticket(self, ticket_id: str, *, limit: int = 100) -> list[Survey]:
        """A ticket's surveys, oldest first (one per resolution, so a handful at most)."""
        cursor = self.surveys.find({"ticket_id": ticket_id}).sort("created_at", ASCENDING).limit(limit)
        return [from_doc(Survey, d) async for d in cursor]

    async def search(
        self, *, status: str | None, agent_id: str | None, satisfied: bool | None,
        since: datetime | None, until: datetime | None, limit: int, skip: int,
    ) -> list[Survey]:
        """Newest first, filtered (the stored status: a pending survey past expiry is expired once swept)."""
        query: dict[str, Any] = {}
        if status:
            query["status"] = status
        if agent_id:
            query["agent_id"] = agent_id
        if satisfied is not None:
            query["satisfied"] = satisfied
        if since or until:
            query["created_at"] = {**({"$gte": since} if since else {}), **({"$lt": until} if until else {})}
        cursor = self.surveys.find(query).sort("created_at", DESCENDING).skip(skip).limit(limit)
        return [from_doc(Survey, d) async for d in cursor]

    async def pending_for_sweep(self, *, limit: int) -> list[Survey]:
        """Pending surveys that may still need their invitation or the one reminder, oldest first."""
        cursor = (
            self.surveys.find({"status": PENDING, "reminded_at": None}).sort("created_at", ASCENDING).limit(limit)
        )
        return [from_doc(Survey, d) async for d in cursor]

    async def agent_totals(
        self, *, agent_id: str | None, since: datetime | None, until: datetime | None
    ) -> list[dict[str, Any]]:
        """Per agent: answered surveys, CSAT sum, satisfied and unresolved counts."""
        match: dict[str, Any] = {"status": plain(SurveyStatus.COMPLETED), "agent_id": agent_id or {"$ne": None}}
        if since or until:
            match["completed_at"] = {**({"$gte": since} if since else {}), **({"$lt": until} if until else {})}
        pipeline = [
            {"$match": match},
            {"$group": {"_id": "$agent_id", "surveys": {"$sum": 1}, "csat_sum": {"$sum": "$csat"},
                        "satisfied": {"$sum": "$satisfied_n"}, "unresolved": {"$sum": "$unresolved_n"}}},
            {"$sort": {"_id": 1}},
        ]
        return [d async for d in self.surveys.aggregate(pipeline)]

    async def comments_between(self, since: datetime, until: datetime) -> list[tuple[str, bool]]:
        cursor = self.surveys.find(
            {"status": plain(SurveyStatus.COMPLETED), "completed_at": {"$gte": since, "$lt": until},
             "comment": {"$nin": ["", None]}},
            {"comment": 1, "satisfied": 1},
        ).sort("completed_at", ASCENDING)
        return [(d.get("comment") or "", bool(d.get("satisfied"))) async for d in cursor]
