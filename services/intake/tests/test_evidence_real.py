"""Evidence files against the real MongoDB wire server (GridFS does not exist in the mock): the store's
round trip of a multi-chunk file, and the API end to end — upload by the assignee, download by a
supervisor (identical bytes), refusal of another agent, 413 at the size limit, 415 for a text file named
.png and for HTML/SVG, per-ticket limits, removal, the events (ids, no content), the audit log, and the
deletion of a stored file whose ticket write was refused."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import StaffRole, TicketEvidenceAdded, TicketEvidenceRemoved
from intake.app import IntakeSettings, create_app
from intake.domain import DomainError
from intake.store import EVIDENCE_CHUNK_BYTES, EvidenceStore
from servicekit.testing import TEST_JWT_SECRET, auth_header, published, running_app

from .conftest import EMAIL_KEY, WEB_KEY
from .evidence_files import HTML, PDF, SVG, TRANSCRIPT, png
from .test_lifecycle import assigned, emit, sub, submit

AGENT = auth_header(StaffRole.AGENT, staff_id="A1")
OTHER_AGENT = auth_header(StaffRole.AGENT, staff_id="A2")
SUPERVISOR = auth_header(StaffRole.SUPERVISOR, staff_id="S1")
ADMIN = auth_header(StaffRole.ADMIN, staff_id="AD1")
MAX_BYTES = 300 * 1024


async def _chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def test_gridfs_round_trip_of_a_multi_chunk_file_and_abort(real_db: Any) -> None:
    files = EvidenceStore(real_db)
    assert files.available
    await files.ensure_indexes()
    data = png(noise_bytes=3 * EVIDENCE_CHUNK_BYTES + 1000)  # four chunks
    upload = files.open_upload("截图.png", {"ticket_id": "t1", "uploaded_by": "A1", "content_type": "image/png"})
    async for chunk in _chunks(data):
        await upload.write(chunk)
    await upload.close()
    await files.finish(upload.file_id, "image/png", len(data), hashlib.sha256(data).hexdigest())
    assert await real_db["evidence.chunks"].count_documents({}) == 4

    stream = await files.open_download("t1", upload.file_id)
    got = b""
    while chunk := await stream.readchunk():
        got += chunk
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest() and len(got) == len(data)
    assert stream.metadata["sha256"] == hashlib.sha256(data).hexdigest() and stream.metadata["ticket_id"] == "t1"
    # a file is only served for the ticket it was uploaded to; unknown and malformed ids are simply absent
    assert await files.open_download("t2", upload.file_id) is None
    assert await files.open_download("t1", "0" * 24) is None
    assert await files.open_download("t1", "not-an-id") is None

    # an aborted upload leaves no chunk behind; a deleted file is gone with its chunks
    aborted = files.open_upload("x.png", {"ticket_id": "t1"})
    await aborted.write(data[: 2 * EVIDENCE_CHUNK_BYTES])
    await aborted.abort()
    assert await real_db["evidence.chunks"].count_documents({"files_id": {"$ne": stream._id}}) == 0
    assert await files.delete(upload.file_id) is True
    assert await files.delete(upload.file_id) is False
    assert await real_db["evidence.chunks"].count_documents({}) == 0
    assert await files.open_download("t1", upload.file_id) is None


# ----------------------------------------------------------------------------- the API on the real store
@pytest.fixture
async def running(mongodb_url: str) -> AsyncIterator[dict[str, Any]]:
    database = f"intake_evidence_{uuid.uuid4().hex[:10]}"
    settings = IntakeSettings(
        jwt_secret=TEST_JWT_SECRET, channel_api_keys=f"web_form={WEB_KEY},email={EMAIL_KEY}",
        customer_lookup_key="unit-test-pepper", log_format="text", mongodb_url=mongodb_url,
        mongodb_database=database, evidence_max_bytes=MAX_BYTES, evidence_max_files=3,
        evidence_max_total_bytes=MAX_BYTES * 2)
    app = create_app(settings)
    async with running_app(app) as running:
        yield running
    await app.state.kit.mongo.client.drop_database(database)


@pytest.fixture
def keys() -> dict[str, str]:
    return {"web_form": WEB_KEY, "email": EMAIL_KEY}


async def assigned_ticket(running: dict[str, Any], keys: dict[str, str], agent: str = "A1") -> str:
    t = await submit(running, keys, sub(f"m-{uuid.uuid4().hex[:8]}"))
    await emit(running, assigned(t["ticket_id"], t["ticket_no"], agent))
    return t["ticket_id"]


async def upload(running: dict[str, Any], tid: str, data: bytes, name: str = "截图.png",
                 content_type: str | None = "image/png", headers: dict[str, str] = AGENT) -> Any:
    files = {"file": (name, data, content_type) if content_type else (name, data)}
    return await running["client"].post(f"/api/v1/tickets/{tid}/evidence", files=files, headers=headers)


async def test_the_assignees_screenshot_is_downloaded_by_the_supervisor_and_refused_to_another_agent(
        running: dict[str, Any], keys: dict[str, str]) -> None:
    client = running["client"]
    tid = await assigned_ticket(running, keys)
    shot = png(noise_bytes=200 * 1024)  # several GridFS chunks through the whole path
    r = await upload(running, tid, shot)
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["content_type"] == "image/png" and meta["size"] == len(shot) and meta["name"] == "截图.png"
    assert meta["sha256"] == hashlib.sha256(shot).hexdigest() and meta["uploaded_by"] == "A1"

    r = await client.get(f"/api/v1/tickets/{tid}/evidence/{meta['file_id']}", headers=SUPERVISOR)
    assert r.status_code == 200 and r.content == shot
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"] == "attachment; filename=\"evidence.png\"; filename*=UTF-8''%E6%88%AA%E5%9B%BE.png"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "private, no-store"

    for path in (f"tickets/{tid}/evidence/{meta['file_id']}", f"tickets/{tid}/evidence"):
        r = await client.get(f"/api/v1/{path}", headers=OTHER_AGENT)
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_assignee", r.text
    r = await upload(running, tid, png(), headers=OTHER_AGENT)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_assignee"
    assert (await client.get(f"/api/v1/tickets/{tid}/evidence/{meta['file_id']}", headers=ADMIN)).content == shot

    listed = (await client.get(f"/api/v1/tickets/{tid}/evidence", headers=AGENT)).json()
    assert [f["file_id"] for f in listed] == [meta["file_id"]]
    ticket = (await client.get(f"/api/v1/tickets/{tid}", headers=OTHER_AGENT)).json()
    assert [f["file_id"] for f in ticket["evidence"]] == [meta["file_id"]]  # the record, not the content
    timeline = (await client.get(f"/api/v1/tickets/{tid}/timeline", headers=AGENT)).json()
    assert [e["data"]["file_id"] for e in timeline if e["kind"] == "evidence"] == [meta["file_id"]]

    [event] = published(running["kit"], TicketEvidenceAdded)
    assert event.payload.file_id == meta["file_id"] and event.payload.sha256 == meta["sha256"]
    assert len(event.model_dump_json()) < 2000 and "截图" not in event.model_dump_json()

    audit = (await client.get(f"/api/v1/tickets/{tid}/audit", headers=SUPERVISOR)).json()
    actions = [(a["action"], a["actor"]) for a in audit]
    assert ("evidence_upload", "A1") in actions and ("evidence_download", "S1") in actions
    assert ("evidence_download_refused", "A2") in actions and ("evidence_download", "AD1") in actions


async def test_size_and_type_refusals_keep_nothing(running: dict[str, Any], keys: dict[str, str]) -> None:
    client = running["client"]
    tid = await assigned_ticket(running, keys)
    r = await upload(running, tid, png(noise_bytes=MAX_BYTES + 4096))
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large", r.text

    r = await upload(running, tid, TRANSCRIPT, name="screenshot.png", content_type="image/png")
    assert r.status_code == 415 and r.json()["error"]["code"] == "type_mismatch"
    assert r.json()["error"]["details"]["detected"] == "text/plain" and "text/plain" in r.json()["error"]["message"]
    for data, name, claimed in ((HTML, "page.html", "text/html"), (HTML, "notes.txt", "text/plain"),
                                (SVG, "logo.svg", "image/svg+xml"), (SVG, "logo.png", "image/png")):
        r = await upload(running, tid, data, name=name, content_type=claimed)
        assert r.status_code == 415 and r.json()["error"]["code"] == "markup_not_allowed", (name, r.text)
    r = await upload(running, tid, b"", name="empty.txt", content_type="text/plain")
    assert r.status_code == 422 and r.json()["error"]["code"] == "empty_file"
    r = await client.post(f"/api/v1/tickets/{tid}/evidence", json={"file": "x"}, headers=AGENT)
    assert r.status_code == 415 and r.json()["error"]["code"] == "multipart_required"
    r = await client.post(f"/api/v1/tickets/{tid}/evidence", data={"note": "x"}, files={"other": ("a.png", png())},
                          headers=AGENT)
    assert r.status_code == 422 and r.json()["error"]["code"] == "file_required"
    assert (await upload(running, "no-such-ticket", png())).status_code == 404

    db = running["kit"].db
    assert await db["evidence.files"].count_documents({}) == 0
    assert await db["evidence.chunks"].count_documents({}) == 0  # the too-large file was aborted mid-stream
    assert published(running["kit"], TicketEvidenceAdded) == []


async def test_text_pdf_limits_closed_tickets_and_removal(running: dict[str, Any], keys: dict[str, str]) -> None:
    client = running["client"]
    tid = await assigned_ticket(running, keys)
    r = await upload(running, tid, TRANSCRIPT, name="聊天记录.txt", content_type="text/plain")
    assert r.status_code == 201 and r.json()["content_type"] == "text/plain"
    text_id = r.json()["file_id"]
    r = await client.get(f"/api/v1/tickets/{tid}/evidence/{text_id}", headers=AGENT)
    assert r.headers["content-type"] == "text/plain; charset=utf-8" and r.content == TRANSCRIPT
    assert (await upload(running, tid, PDF, name="回单.pdf", content_type="application/pdf")).status_code == 201
    assert (await upload(running, tid, png(), name="shot")).json()["name"] == "shot.png"
    r = await upload(running, tid, png())
    assert r.status_code == 409 and r.json()["error"]["details"]["limit"] == "files"

    # removal: supervisors only, with a reason; the content is deleted and the event published
    r = await client.request("DELETE", f"/api/v1/tickets/{tid}/evidence/{text_id}", json={"reason": "wrong customer"},
                             headers=AGENT)
    assert r.status_code == 403
    r = await client.request("DELETE", f"/api/v1/tickets/{tid}/evidence/{text_id}", json={"reason": "wrong customer"},
                             headers=SUPERVISOR)
    assert r.status_code == 200 and text_id not in [f["file_id"] for f in r.json()["evidence"]]
    assert (await client.get(f"/api/v1/tickets/{tid}/evidence/{text_id}", headers=SUPERVISOR)).status_code == 404
    [removed] = published(running["kit"], TicketEvidenceRemoved)
    assert removed.payload.file_id == text_id and removed.payload.evidence_count == 2
    assert await running["kit"].db["evidence.files"].count_documents({}) == 2

    # a closed ticket takes files from supervisors only
    await running["kit"].db["tickets"].update_one({"_id": tid}, {"$set": {"status": "closed"}})
    r = await upload(running, tid, png())
    assert r.status_code == 409 and r.json()["error"]["code"] == "ticket_closed"
    assert (await upload(running, tid, png(), headers=SUPERVISOR)).status_code == 201


async def test_a_file_whose_ticket_write_is_refused_is_deleted(running: dict[str, Any], keys: dict[str, str]) -> None:
    """The file is stored first; when the ticket changed meanwhile so that it may not take it (here: the
    ticket was transferred to another agent while the file streamed), the stored file is deleted."""
    evidence = running["app"].state.evidence
    tid = await assigned_ticket(running, keys)
    ticket = await evidence.intake.store.get_ticket(tid)

    async def transferring() -> AsyncIterator[bytes]:
        data = png(noise_bytes=100 * 1024)
        yield data[:10_000]
        await emit(running, assigned(tid, ticket.ticket_no, "A9"))  # reassigned mid-upload
        yield data[10_000:]

    with pytest.raises(DomainError) as refused:  # the work routes' refusal (403 not_assignee) at the write
        await evidence.upload(tid, by="A1", privileged=False, name="x.png", claimed="image/png", chunks=transferring())
    assert refused.value.code == "not_assignee"
    db = running["kit"].db
    assert await db["evidence.files"].count_documents({}) == 0 and await db["evidence.chunks"].count_documents({}) == 0
    assert (await evidence.intake.store.get_ticket(tid)).evidence == []

    # the sweep deletes stored files no ticket lists once they are older than the grace time
    files = evidence.files
    orphan = files.open_upload("o.png", {"ticket_id": tid})
    await orphan.write(png())
    await orphan.close()
    assert await evidence.sweep_orphans() == 0  # too young: it may be an upload about to be recorded
    assert await evidence.sweep_orphans(datetime.now(UTC) + timedelta(hours=2)) == 1
    assert await db["evidence.files"].count_documents({}) == 0
