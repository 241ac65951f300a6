"""Evidence files on tickets: the pure decisions (no I/O) — which staff may handle a ticket's files,
in which states a ticket takes new ones, what a file is (detected from its bytes, never from its name),
the limits, the clean file name, and the changes (state + event + timeline) that adding or removing one
causes. Manual 000 六 (处理结果 … 相关凭证, 如处理截图、客户沟通记录) and 004 三 (必要时附件).

Who (one rule for upload, list and download):
* supervisors and admins — every ticket;
* agents — only the ticket's current assignee. Another agent (also on an unassigned ticket, and a former
  assignee after a transfer) is refused with the work routes' ``403 not_assignee``. Collaborators are not
  known to intake (the dispatcher keeps collaborations): the assignee or a supervisor shares with them.
Which states take new files:
* open states and ``resolved`` — the assignee, supervisors, admins (the proof of a refund or a
  replacement is often attached right after the result is recorded);
* ``closed`` — supervisors and admins only (a correction to the record); agents reopen first.
Removing a file: supervisors and admins only, with a reason; audited, ``ticket.evidence_removed``.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
import filetype
from contracts import (
    TicketEvidenceAdded,
    TicketEvidenceAddedPayload,
    TicketEvidenceRemoved,
    TicketEvidenceRemovedPayload,
    TicketStatus,
)
from servicekit.privacy import redact_text

from .domain import PRODUCER, Change, DomainError, EvidenceFile, Ticket, timeline_entry

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEXT = "text/plain"
ALLOWED_TYPES: dict[str, str] = {
    "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp",
    "application/pdf": "pdf", TEXT: "txt", DOCX: "docx", XLSX: "xlsx",
}
"""Detected type → the extension a name without a fitting one gets."""
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
MARKUP_TYPES = frozenset({"text/html", "image/svg+xml", "application/xhtml+xml", "application/xml", "text/xml"})
"""Never accepted, whatever the name or the claim: markup can run script where it is opened."""

SNIFF_BYTES = 8192
"""How much of the start of a file decides its type (filetype reads at most this much)."""

_EXTENSIONS: dict[str, str] = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "jpe": "image/jpeg", "jfif": "image/jpeg",
    "gif": "image/gif", "webp": "image/webp", "pdf": "application/pdf",
    "txt": TEXT, "text": TEXT, "csv": TEXT, "tsv": TEXT, "log": TEXT, "md": TEXT, "eml": TEXT,
    "docx": DOCX, "xlsx": XLSX,
}
_MARKUP_EXTENSIONS = frozenset({"html", "htm", "xhtml", "xht", "shtml", "svg", "svgz", "xml", "xsl", "js", "mjs"})
_GENERIC_CLAIMS = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/unknown",
                             "application/x-unknown", "application/force-download"})
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png",
            "application/x-pdf": "application/pdf", "application/csv": TEXT, "text/x-log": TEXT}
_TEXT_CLAIMS = frozenset({TEXT, "text/csv", "text/tab-separated-values", "text/markdown", "text/x-markdown",
                          "message/rfc822", "application/json"})
# the WHATWG MIME sniffing standard's HTML/XML markers (a browser that sniffs would render these as markup)
_MARKUP_STARTS = tuple(m.encode() for m in (
    "<!doctype html", "<html", "<head", "<script", "<iframe", "<h1", "<div", "<font", "<table", "<a ", "<a>",
    "<style", "<title", "<b ", "<b>", "<body", "<br", "<p ", "<p>", "<!--", "<?xml", "<svg", "<object", "<embed",
    "<meta", "<form", "<img", "<link", "<math"))
_BIDI_AND_CONTROL = re.compile("[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
MAX_NAME_CHARS = 120


class EvidenceRefused(DomainError):
    """A file intake will not keep (the API maps ``code`` to 413/415/409)."""

    def __init__(self, code: str, message: str, **details: object) -> None:
        super().__init__(code, message)
        self.details = details


class EvidenceForbidden(DomainError):
    """A staff member who may not handle this ticket's files (403 ``not_assignee``, like the work routes)."""


@dataclass(frozen=True)
class EvidenceLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_files: int = 20
    max_total_bytes: int = 50 * 1024 * 1024


# ----------------------------------------------------------------------------- who and when
def may_handle(ticket: Ticket, staff_id: str, privileged: bool) -> bool:
    """Upload, list and download: supervisors/admins, and the agent the ticket is assigned to."""
    return privileged or (ticket.assignee_id is not None and ticket.assignee_id == staff_id)


def check_access(ticket: Ticket, staff_id: str, privileged: bool) -> None:
    if not may_handle(ticket, staff_id, privileged):
        raise EvidenceForbidden("not_assignee", "only the ticket's assignee, supervisors and admins handle its files")


def check_upload(ticket: Ticket, staff_id: str, privileged: bool, limits: EvidenceLimits, size: int = 0) -> None:
    """Whether ``staff_id`` may add a file of ``size`` bytes (0: not known yet) to the ticket now."""
    check_access(ticket, staff_id, privileged)
    if ticket.status == TicketStatus.CLOSED and not privileged:
        raise EvidenceRefused("ticket_closed", "a closed ticket takes files from supervisors only; reopen it first")
    if len(ticket.evidence) >= limits.max_files:
        raise EvidenceRefused("evidence_limit_reached", f"a ticket keeps at most {limits.max_files} files",
                              limit="files", max_files=limits.max_files)
    total = sum(f.size for f in ticket.evidence)
    if total + size > limits.max_total_bytes or (size == 0 and total >= limits.max_total_bytes):
        raise EvidenceRefused("evidence_limit_reached",
                              f"a ticket's files are limited to {limits.max_total_bytes} bytes in all "
                              f"({total} used)", limit="total_bytes", max_total_bytes=limits.max_total_bytes,
                              used_bytes=total)


# ----------------------------------------------------------------------------- what a file is
def _base_type(value: str | None) -> str:
    base = (value or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def _looks_like_markup(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf").lstrip(b" \t\r\n\x0c").lower()
    return start.startswith(_MARKUP_STARTS)


def is_text(head: bytes, *, complete: bool) -> bool:
    """UTF-8 without NUL or other control characters than tab, line breaks and form feed. ``complete``
    False: ``head`` may end inside a character."""
    try:
        decoded = codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return not any(ord(c) < 32 and c not in "\t\n\r\x0c" or c == "\x7f" for c in decoded)


def detect(head: bytes, *, complete: bool) -> str:
    """The type of a file from its first bytes (up to :data:`SNIFF_BYTES`; ``complete``: that is all of it):
    a signature known to ``filetype``, else markup (HTML/SVG/XML), else plain text, else octet-stream."""
    kind = filetype.guess(head)
    if kind is not None:
        return _ALIASES.get(kind.mime, kind.mime)
    if _looks_like_markup(head):
        return "image/svg+xml" if b"<svg" in head[:SNIFF_BYTES].lower() else "text/html"
    if head and is_text(head, complete=complete):
        return TEXT
    return "application/octet-stream"


def _extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def decide_type(head: bytes, *, name: str, claimed: str | None, complete: bool) -> str:
    """The content type intake keeps the file as, or :class:`EvidenceRefused` (415). The bytes decide; the
    name's extension and the claimed type only refuse: a claim that contradicts the bytes (a text file
    named ``.png``, a PNG sent as ``text/plain``) is refused naming what the bytes are."""
    detected = detect(head, complete=complete)
    claim = _base_type(claimed)
    ext = _extension(name)
    if detected in MARKUP_TYPES or claim in MARKUP_TYPES or ext in _MARKUP_EXTENSIONS:
        raise EvidenceRefused("markup_not_allowed", "HTML, SVG and other markup files are never accepted "
                              f"(detected: {detected})", detected=detected, claimed=claim or None)
    if detected not in ALLOWED_TYPES:
        raise EvidenceRefused("type_not_allowed", f"files of type {detected} are not accepted; send a PNG, JPEG, "
                              "GIF or WebP image, a PDF, a Word or Excel file, or plain UTF-8 text",
                              detected=detected, claimed=claim or None)
    if claim not in _GENERIC_CLAIMS and claim != detected and not (detected == TEXT and claim in _TEXT_CLAIMS):
        raise EvidenceRefused("type_mismatch", f"the file was sent as {claim} but its content is {detected}",
                              detected=detected, claimed=claim)
    by_name = _EXTENSIONS.get(ext)
    if by_name is not None and by_name != detected:
        raise EvidenceRefused("type_mismatch", f"the file is named .{ext} but its content is {detected}",
                              detected=detected, claimed=by_name)
    return detected


class TextCheck:
    """Checks the rest of a plain-text file as it streams (the first bytes only decided it looks like text)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def feed(self, data: bytes, *, final: bool = False) -> None:
        try:
            decoded = self._decoder.decode(data, final=final)
        except UnicodeDecodeError:
            raise EvidenceRefused("type_mismatch", "the file starts as text but is not valid UTF-8 text",
                                  detected="application/octet-stream") from None
        if any(ord(c) < 32 and c not in "\t\n\r\x0c" or c == "\x7f" for c in decoded):
            raise EvidenceRefused("type_mismatch", "the file starts as text but contains binary data",
                                  detected="application/octet-stream")


def clean_name(raw: str | None, content_type: str) -> str:
    """The name kept and offered on download: no directories, no control or direction-changing characters,
    at most :data:`MAX_NAME_CHARS`; a name whose extension does not fit the type gets the type's one
    (``report.exe`` with text → ``report.exe.txt``); nothing usable → ``evidence.<ext>``."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = _BIDI_AND_CONTROL.sub("", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    wanted = ALLOWED_TYPES.get(content_type, "bin")
    if _EXTENSIONS.get(_extension(name)) != content_type:
        name = f"{name or 'evidence'}.{wanted}"
    if len(name) > MAX_NAME_CHARS:
        ext = _extension(name)
        name = name[: MAX_NAME_CHARS - len(ext) - 2].rstrip(" .") + "…." + ext
    return name


# ----------------------------------------------------------------------------- changes of the ticket
def add(ticket: Ticket, file: EvidenceFile, *, privileged: bool, limits: EvidenceLimits) -> Change:
    """Record a stored file on the ticket (decided again on the ticket as it is at the write)."""
    check_upload(ticket, file.uploaded_by, privileged, limits, file.size)
    if any(f.file_id == file.file_id for f in ticket.evidence):
        return Change(ticket)
    at = file.uploaded_at
    updated = ticket.model_copy(update={"evidence": [*ticket.evidence, file], "updated_at": max(ticket.updated_at, at)})
    event = TicketEvidenceAdded.new(
        TicketEvidenceAddedPayload(ticket_id=ticket.ticket_id, ticket_no=ticket.ticket_no, file_id=file.file_id,
                                   content_type=file.content_type, size=file.size, sha256=file.sha256,
                                   uploaded_by=file.uploaded_by, uploaded_at=at,
                                   evidence_count=len(updated.evidence)),
        correlation_id=ticket.correlation_id, producer=PRODUCER, occurred_at=at)
    entry = timeline_entry(file.uploaded_by, "evidence", at, file.name, data={
        "file_id": file.file_id, "content_type": file.content_type, "size": file.size})
    return Change(updated, [event], [entry])


def remove(ticket: Ticket, file_id: str, *, by: str, reason: str, now: datetime) -> Change:
    """Take a file off the ticket (supervisors and admins; the route enforces the role)."""
    kept = [f for f in ticket.evidence if f.file_id != file_id]
    if len(kept) == len(ticket.evidence):
        raise EvidenceRefused("evidence_not_found", "the ticket has no such file")
    gone = next(f for f in ticket.evidence if f.file_id == file_id)
    reason = redact_text(reason.strip())[:500]
    updated = ticket.model_copy(update={"evidence": kept, "updated_at": max(ticket.updated_at, now)})
    event = TicketEvidenceRemoved.new(
        TicketEvidenceRemovedPayload(ticket_id=ticket.ticket_id, ticket_no=ticket.ticket_no, file_id=file_id,
                                     removed_by=by, reason=reason, removed_at=now, evidence_count=len(kept)),
        correlation_id=ticket.correlation_id, producer=PRODUCER, occurred_at=now)
    entry = timeline_entry(by, "evidence_removed", now, reason, data={"file_id": file_id, "name": gone.name})
    return Change(updated, [event], [entry])

