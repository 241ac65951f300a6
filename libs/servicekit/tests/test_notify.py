from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from servicekit.notify import LogNotifier, Notification, WebhookNotifier, notifier_from_settings
from servicekit.settings import ServiceSettings


class _Sink(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, Any], str | None]] = []
    fail_first = 0

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Sink.fail_first > 0:
            _Sink.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        _Sink.received.append((json.loads(body), self.headers.get("X-Helpdesk-Signature")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


async def test_webhook_signs_and_retries() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _Sink.received.clear()
        _Sink.fail_first = 1
        notifier = WebhookNotifier(f"http://127.0.0.1:{server.server_port}/hook", "s3cret")
        n = Notification(kind="sla.warning", channel="im", recipient="CS2019001", body="P1 due in 10 min")
        await notifier.send(n)
        [(payload, signature)] = _Sink.received
        assert payload["kind"] == "sla.warning" and payload["recipient"] == "CS2019001"
        raw = json.dumps(n.model_dump(mode="json"), ensure_ascii=False).encode()
        assert signature == "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    finally:
        server.shutdown()


def test_adapter_follows_configuration() -> None:
    assert isinstance(notifier_from_settings(ServiceSettings()), LogNotifier)
    hook = notifier_from_settings(ServiceSettings(notify_webhook_url="http://127.0.0.1:9/x"))
    assert isinstance(hook, WebhookNotifier)
