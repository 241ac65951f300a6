"""Survey's MongoDB collection (the only MongoDB code of this service).

* ``surveys`` — one document per resolution (``_id`` = survey_id), unique on ``source_event_id`` (the
                ticket.resolved event: a redelivery cannot create a second survey) and on ``token_hash``
                (the later public page finds a survey by it); looked up by ``ticket_id``.
No events are published yet, so there is no ``outbox`` here; survey.completed will add one to this
collection (``kit.use_outbox(store.surveys)``) with the answer endpoint.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from servicekit.documents import from_doc, plain, to_doc

from .domain import Survey, SurveyStatus


class SurveyStore:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.surveys = db["surveys"]

    async def ensure_indexes(self) -> None:
        await self.surveys.create_index("source_event_id", unique=True, name="source_event")
        await self.surveys.create_index("token_hash", unique=True, name="token_hash")
        await self.surveys.create_index(
            [("ticket_id", ASCENDING), ("created_at", ASCENDING)], name="ticket_created"
        )

    async def insert_survey(self, survey: Survey) -> bool:
        """Insert a new survey; False when its resolution event already has one (duplicate delivery)."""
        try:
            await self.surveys.insert_one(to_doc(survey, id_field="survey_id"))
            return True
        except DuplicateKeyError:
            if await self.find_by_source_event(survey.source_event_id) is None:
                raise  # not the natural key (a freak id/token collision): let the delivery be retried
            return False

    async def find_by_source_event(self, source_event_id: str) -> Survey | None:
        doc = await self.surveys.find_one({"source_event_id": source_event_id})
        return from_doc(Survey, doc) if doc else None

    async def get_survey(self, survey_id: str) -> Survey | None:
        doc = await self.surveys.find_one({"_id": survey_id})
        return from_doc(Survey, doc) if doc else None

    async def list_for_ticket(self, ticket_id: str, *, limit: int = 100) -> list[Survey]:
        """A ticket's surveys, oldest first (one per resolution, so a handful at most)."""
        cursor = self.surveys.find({"ticket_id": ticket_id}).sort("created_at", ASCENDING).limit(limit)
        return [from_doc(Survey, d) async for d in cursor]

    async def mark_superseded(self, survey_id: str, now: datetime) -> bool:
        """Pending → superseded; False when the survey is no longer pending (answered meanwhile)."""
        result = await self.surveys.update_one(
            {"_id": survey_id, "status": plain(SurveyStatus.PENDING)},
            {"$set": {"status": plain(SurveyStatus.SUPERSEDED), "superseded_at": now}},
        )
        return result.modified_count == 1
