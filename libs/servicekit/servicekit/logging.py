"""JSON logs carrying the service name and correlation id, with personal data redacted."""

from __future__ import annotations

import logging
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from .context import get_correlation_id
from .privacy import redact_text


class ContextFilter(logging.Filter):
    """Adds ``service`` and ``correlation_id`` to every record and redacts personal data from the
    rendered message (phone numbers, e-mails, ID numbers never reach a log line)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.correlation_id = getattr(record, "correlation_id", None) or get_correlation_id()
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = str(record.msg)
        redacted = redact_text(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        return True


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Route the root logger (and uvicorn's, FastStream's) to stdout in one format."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(ContextFilter(service))
    if fmt == "json":
        formatter: logging.Formatter = JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(correlation_id)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
            timestamp=False,
        )
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)-7s %(service)s [%(correlation_id)s] %(name)s: %(message)s")
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream", "aio_pika", "aiormq"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    logging.getLogger("aiormq").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    logging.getLogger("aio_pika").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def log_extra(**fields: Any) -> dict[str, Any]:
    """``logger.info("...", extra=log_extra(ticket_id=...))`` with the values redacted."""
    return {k: redact_text(v) if isinstance(v, str) else v for k, v in fields.items()}
