"""Every exchange, queue and routing-key name in one place.

Production names are the bare ones below. ``Namespace(prefix)`` prefixes all of them, which is how a
test run (or a staging stack sharing a broker) gets its own isolated topology.
"""

from __future__ import annotations

from dataclasses import dataclass

EVENTS_EXCHANGE = "helpdesk.events"
"""Durable topic exchange for all domain events; routing key = event type."""

DEAD_LETTER_EXCHANGE = "helpdesk.dlx"
"""Direct exchange dead letters go to; routing key = the name of the queue they died in."""

SUBMISSIONS_QUEUE = "intake.submissions"
"""Durable queue channel systems publish ``TicketSubmission`` commands to."""

MESSAGES_QUEUE = "intake.messages"
"""Durable queue channel systems publish ``CustomerMessage`` commands to (a customer's further messages)."""

DEAD_LETTER_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Namespace:
    prefix: str = ""

    def _p(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    @property
    def events_exchange(self) -> str:
        return self._p(EVENTS_EXCHANGE)

    @property
    def dead_letter_exchange(self) -> str:
        return self._p(DEAD_LETTER_EXCHANGE)

    @property
    def submissions_queue(self) -> str:
        return self._p(SUBMISSIONS_QUEUE)

    @property
    def messages_queue(self) -> str:
        return self._p(MESSAGES_QUEUE)

    def subscription_queue(self, service: str, subscription: str) -> str:
        """``<service>.<event type or subscription name>``: one durable queue per subscription,
        shared by the replicas of a service (competing consumers)."""
        return self._p(f"{service}.{subscription}")

    @staticmethod
    def dead_letter_queue(queue: str) -> str:
        return f"{queue}{DEAD_LETTER_SUFFIX}"
