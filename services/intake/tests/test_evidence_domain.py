"""Evidence files, the pure decisions: the type comes from the bytes (the name and the claimed type only
refuse), markup is never accepted, text must be UTF-8 without binary data, names are cleaned, who may
handle a ticket's files, which states take new ones, and the per-ticket limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts import Channel, TicketEvidenceAdded, TicketEvidenceRemoved, TicketStatus
from intake.domain import EvidenceFile, Ticket
from intake.evidence import (
    DOCX,
    TEXT,
    EvidenceForbidden,
    EvidenceLimits,
    EvidenceRefused,
    TextCheck,
    add,
    check_upload,
    clean_name,
    decide_type,
    detect,
    may_handle,
    remove,
)

from .evidence_files import HTML, JPEG, PDF, SVG, TRANSCRIPT, docx, plain_zip, png

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def ticket(status: TicketStatus = TicketStatus.IN_PROGRESS, assignee: str | None = "A1",
           files: list[EvidenceFile] | None = None) -> Ticket:
    return Ticket(ticket_id="t1", ticket_no="GD20261206001", correlation_id="c1", channel=Channel.EMAIL,
                  channel_message_id="m1", customer_id="cust1", customer_display="客户A-0001", status=status,
                  assignee_id=assignee, evidence=files or [], created_at=T0, updated_at=T0)


def file(n: int = 1, size: int = 1000, by: str = "A1") -> EvidenceFile:
    return EvidenceFile(file_id=f"{n:024x}", name=f"shot{n}.png", content_type="image/png", size=size,
                        sha256="a" * 64, uploaded_by=by, uploaded_at=T0)


# ----------------------------------------------------------------------------- types
@pytest.mark.parametrize(("data", "name", "claimed", "expected"), [
    (png(), "截图.png", "image/png", "image/png"),
    (png(), "screenshot", None, "image/png"),                       # no extension, no claim: the bytes decide
    (png(), "upload.bin", "application/octet-stream", "image/png"),  # a generic claim says nothing
    (JPEG, "photo.JPG", "image/jpg", "image/jpeg"),                  # alias and upper-case extension
    (PDF, "回单.pdf", "application/pdf", "application/pdf"),
    (TRANSCRIPT, "chat.txt", "text/plain", TEXT),
    (TRANSCRIPT, "chat.csv", "text/csv", TEXT),
    (TRANSCRIPT, "session.log", "application/octet-stream", TEXT),
    (docx(), "说明.docx", DOCX, DOCX),
])
def test_accepted_types_are_decided_by_the_bytes(data: bytes, name: str, claimed: str | None, expected: str) -> None:
    assert decide_type(data, name=name, claimed=claimed, complete=True) == expected


@pytest.mark.parametrize(("data", "name", "claimed", "code", "detected"), [
    (TRANSCRIPT, "screenshot.png", "image/png", "type_mismatch", TEXT),       # a text file named .png
    (TRANSCRIPT, "screenshot.png", None, "type_mismatch", TEXT),              # … also without a claimed type
    (png(), "notes.txt", "text/plain", "type_mismatch", "image/png"),         # a PNG claimed as text
    (png(), "shot.pdf", None, "type_mismatch", "image/png"),
    (HTML, "page.txt", "text/plain", "markup_not_allowed", "text/html"),      # HTML whatever it is called
    (b"  \n<html><body>x</body></html>", "a.log", None, "markup_not_allowed", "text/html"),
    (SVG, "logo.png", "image/png", "markup_not_allowed", "image/svg+xml"),
    (SVG, "logo.svg", "image/svg+xml", "markup_not_allowed", "image/svg+xml"),
    (TRANSCRIPT, "page.html", None, "markup_not_allowed", TEXT),              # a markup name is refused too
    (TRANSCRIPT, "notes.txt", "text/html", "markup_not_allowed", TEXT),       # … and a markup claim
    (plain_zip(), "logs.zip", "application/zip", "type_not_allowed", "application/zip"),
    (b"MZ\x90\x00\x03" + b"\x00" * 200, "setup.exe", None, "type_not_allowed", "application/x-msdownload"),
    (b"\x00\x01\x02binary\xff\xfe", "dump.txt", None, "type_not_allowed", "application/octet-stream"),
    ("caf\u00e9".encode("latin-1") + b" latin-1 text", "old.txt", None, "type_not_allowed", "application/octet-stream"),
])
def test_refused_types_name_what_the_bytes_are(data: bytes, name: str, claimed: str | None, code: str,
                                                 detected: str) -> None:
    with pytest.raises(EvidenceRefused) as refused:
        decide_type(data, name=name, claimed=claimed, complete=True)
    assert refused.value.code == code
    assert refused.value.details["detected"] == detected


def test_text_may_end_inside_a_character_only_when_more_follows() -> None:
    head = "聊天记录".encode()[:-1]  # cut inside the last character
    assert detect(head, complete=False) == TEXT
    assert detect(head, complete=True) == "application/octet-stream"


def test_the_rest_of_a_text_file_is_checked_as_it_streams() -> None:
    check = TextCheck()
    check.feed("第一行\n".encode()[:-2])
    check.feed("第一行\n".encode()[-2:])
    check.feed(b"", final=True)
    for bad in (b"line\x00", b"\xff\xfe"):
        with pytest.raises(EvidenceRefused) as refused:
            TextCheck().feed(b"ok\n" + bad, final=True)
        assert refused.value.code == "type_mismatch"


@pytest.mark.parametrize(("raw", "content_type", "expected"), [
    ("截图 2026-12-06.png", "image/png", "截图 2026-12-06.png"),
    ("C:\\Users\\wang\\Desktop\\shot.png", "image/png", "shot.png"),
    ("../../etc/passwd", TEXT, "passwd.txt"),
    ("evil\u202egnp.exe", TEXT, "evilgnp.exe.txt"),               # right-to-left override removed, .txt added
    ("report.exe", TEXT, "report.exe.txt"),
    ("  \t ", "image/png", "evidence.png"),
    (None, "application/pdf", "evidence.pdf"),
    ("a\nb\r\x00c.pdf", "application/pdf", "abc.pdf"),
])
def test_names_are_cleaned(raw: str | None, content_type: str, expected: str) -> None:
    assert clean_name(raw, content_type) == expected


def test_long_names_keep_their_extension() -> None:
    name = clean_name("很" * 300 + ".png", "image/png")
    assert len(name) <= 120 and name.endswith("….png")


# ----------------------------------------------------------------------------- who, when, how much
def test_the_assignee_supervisors_and_admins_handle_files_nobody_else() -> None:
    assert may_handle(ticket(), "A1", privileged=False)
    assert not may_handle(ticket(), "A2", privileged=False)
    assert not may_handle(ticket(assignee=None), "A2", privileged=False)  # unassigned: supervisors only
    assert may_handle(ticket(assignee=None), "S1", privileged=True)
    with pytest.raises(EvidenceForbidden) as refused:
        check_upload(ticket(), "A2", False, EvidenceLimits())
    assert refused.value.code == "not_assignee"


@pytest.mark.parametrize("status", [s for s in TicketStatus if s != TicketStatus.CLOSED])
def test_open_and_resolved_tickets_take_files_from_the_assignee(status: TicketStatus) -> None:
    check_upload(ticket(status), "A1", False, EvidenceLimits())


def test_closed_tickets_take_files_from_supervisors_only() -> None:
    with pytest.raises(EvidenceRefused) as refused:
        check_upload(ticket(TicketStatus.CLOSED), "A1", False, EvidenceLimits())
    assert refused.value.code == "ticket_closed"
    check_upload(ticket(TicketStatus.CLOSED), "S1", True, EvidenceLimits())


def test_per_ticket_limits_count_files_and_bytes() -> None:
    limits = EvidenceLimits(max_bytes=1000, max_files=3, max_total_bytes=2500)
    full = ticket(files=[file(1), file(2), file(3)])
    with pytest.raises(EvidenceRefused) as refused:
        check_upload(full, "A1", False, limits)
    assert refused.value.code == "evidence_limit_reached" and refused.value.details["limit"] == "files"
    two = ticket(files=[file(1), file(2)])
    check_upload(two, "A1", False, limits, size=500)
    with pytest.raises(EvidenceRefused) as refused:
        check_upload(two, "A1", False, limits, size=501)
    assert refused.value.details == {"limit": "total_bytes", "max_total_bytes": 2500, "used_bytes": 2000}


def test_adding_records_the_file_with_an_event_of_ids_and_metadata() -> None:
    change = add(ticket(), file(7), privileged=False, limits=EvidenceLimits())
    assert [f.file_id for f in change.ticket.evidence] == [file(7).file_id]
    [event] = change.events
    assert isinstance(event, TicketEvidenceAdded)
    body = event.model_dump(mode="json")["payload"]
    assert body["file_id"] == file(7).file_id and body["evidence_count"] == 1 and body["uploaded_by"] == "A1"
    assert "name" not in body and "shot7" not in event.model_dump_json()  # names can carry personal data
    assert change.timeline[0].kind == "evidence" and change.timeline[0].data["file_id"] == file(7).file_id
    # the same file twice changes nothing; another agent's file is refused at the write as well
    assert add(change.ticket, file(7), privileged=False, limits=EvidenceLimits()).events == []
    with pytest.raises(EvidenceForbidden):
        add(ticket(), file(8, by="A2"), privileged=False, limits=EvidenceLimits())


def test_removing_a_file_takes_it_off_with_the_reason_redacted() -> None:
    change = remove(ticket(files=[file(1), file(2)]), file(1).file_id, by="S1",
                    reason="客户手机号 13800138000 出现在截图中", now=T0)
    assert [f.file_id for f in change.ticket.evidence] == [file(2).file_id]
    [event] = change.events
    assert isinstance(event, TicketEvidenceRemoved)
    assert event.payload.evidence_count == 1 and "13800138000" not in event.payload.reason
    with pytest.raises(EvidenceRefused) as refused:
        remove(change.ticket, file(1).file_id, by="S1", reason="again", now=T0)
    assert refused.value.code == "evidence_not_found"


@pytest.mark.parametrize(("name", "expected"), [
    ("截图.png", "attachment; filename=\"evidence.png\"; filename*=UTF-8''%E6%88%AA%E5%9B%BE.png"),
    ("refund receipt.pdf", "attachment; filename=\"refund receipt.pdf\"; filename*=UTF-8''refund%20receipt.pdf"),
    ('a"b;c\\d.txt', "attachment; filename=\"a_b_c_d.txt\"; filename*=UTF-8''a%22b%3Bc%5Cd.txt"),
    ("Café 截图.webp", "attachment; filename=\"Cafe.webp\"; filename*=UTF-8''Caf%C3%A9%20%E6%88%AA%E5%9B%BE.webp"),
])
def test_download_names_have_an_ascii_fallback_and_the_real_name_per_rfc_5987(name: str, expected: str) -> None:
    from intake.api import content_disposition

    assert content_disposition(name) == expected
