"""Masking and redaction of personal data (pure functions, no I/O).

Used by producers before text goes into an event, and by the log filter on every log line.
"""

from __future__ import annotations

import re

# Chinese mobile numbers (optionally +86), landlines with area code, and long digit runs that look like
# international numbers.
_PHONE = re.compile(r"(?<!\d)(?:\+?86[ \-]?)?1[3-9]\d[ \-]?\d{4}[ \-]?\d{4}(?!\d)|(?<!\d)0\d{2,3}-\d{7,8}(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# 18-digit resident ID (last char may be X) and 15-digit legacy IDs.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_BANK_CARD = re.compile(r"(?<!\d)\d{16,19}(?!\d)")


def redact_text(text: str) -> str:
    """Replace phone numbers, e-mail addresses, ID and card numbers in free text by placeholders."""
    if not text:
        return text
    text = _EMAIL.sub("[email]", text)
    text = _ID_NUMBER.sub("[id-number]", text)
    text = _BANK_CARD.sub("[card-number]", text)
    return _PHONE.sub("[phone]", text)


def mask_phone(phone: str | None) -> str | None:
    """138****5678 style."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def mask_email(email: str | None) -> str | None:
    """z***@example.com style."""
    if not email or "@" not in email:
        return email
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_id_number(value: str | None) -> str | None:
    """Keep the first 3 and last 4 characters."""
    if not value:
        return value
    if len(value) <= 7:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"


def mask_name(name: str | None) -> str | None:
    """张** / M*** style."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)
