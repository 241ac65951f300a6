"""Per-request / per-message context carried into logs (correlation id)."""

from __future__ import annotations

from contextvars import ContextVar

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def get_correlation_id() -> str | None:
    return correlation_id_var.get()


def raise_if_cancelling(exc: BaseException) -> None:
    """Call in a broad ``except Exception``: when the current task is being cancelled, a library may have
    turned the ``CancelledError`` into another exception (aiormq does, for a channel closed under it);
    swallowing that would lose the cancellation and leave a shutdown waiting forever."""
    import asyncio

    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from exc
