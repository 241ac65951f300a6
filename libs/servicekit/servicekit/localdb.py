"""The local MongoDB wire server: SecantusDB run as a separate process (``secantusd-py``).

It is the default database of ``./scripts/run.sh`` (persistent, under ``.run/data/``) and of the
end-to-end, fault and benchmark runs when ``MONGODB_URL`` is not set. SecantusDB is GPL-2.0 and a
beta: it is started here as a program and spoken to over the MongoDB wire protocol like any MongoDB,
never imported by a service, and it is not the production database (docker-compose and production use
MongoDB through ``MONGODB_URL``). See docs/adr/0002-mongo-backends.md.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

SERVER_PROGRAM = "secantusd-py"


def server_program() -> str | None:
    """The ``secantusd-py`` of this environment (beside the running interpreter), else one on PATH."""
    beside = Path(sys.executable).with_name(SERVER_PROGRAM)
    if beside.exists():
        return str(beside)
    return shutil.which(SERVER_PROGRAM)


def _die_with_parent() -> None:
    """In the child, before exec (Linux): SIGTERM when the starting thread's process dies, so a test run
    or launcher killed outright never leaves a database server behind (seen: orphans from killed pytest
    runs kept spinning on a core each)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(host: str, port: int) -> bool:
    """A MongoDB ``hello`` answered over the wire (not only an open port)."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client: MongoClient = MongoClient(host, port, serverSelectionTimeoutMS=500, connectTimeoutMS=500,
                                      directConnection=True)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


@dataclass
class LocalMongo:
    """One SecantusDB server process.

    ``storage`` is a directory (kept across restarts) or ``":memory:"`` (a throw-away one)."""

    storage: str
    port: int = 0
    host: str = "127.0.0.1"
    log_path: Path | None = None
    cache_size: str = "512M"
    started_at: float = 0.0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        # retryWrites=false: with retryable writes on, the driver tags every write with a transaction
        # number and this server keeps a record of each, pruned by a scan of all records on every write
        # (py-spy: 22 % of its CPU in a pipeline run, and growing with the records). Every write here is
        # already safe to repeat: messages are redelivered and consumers are idempotent.
        return f"mongodb://{self.host}:{self.port}/?directConnection=true&retryWrites=false"

    def start(self, timeout: float = 60.0) -> LocalMongo:
        program = server_program()
        if program is None:
            raise RuntimeError(
                f"{SERVER_PROGRAM} is not installed (it comes with the locked environment: ./scripts/bootstrap.sh)")
        if not self.port:
            self.port = free_port()
        if self.storage != ":memory:":
            Path(self.storage).mkdir(parents=True, exist_ok=True)
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [program, "--host", self.host, "--port", str(self.port), "--storage-path", self.storage,
             "--log-level", os.environ.get("SECANTUS_LOG_LEVEL", "WARNING"), "--cache-size", self.cache_size],
            stdout=self._log or subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
            # the death signal follows the *thread* that started the server: only tie it to the main one
            preexec_fn=_die_with_parent if sys.platform == "linux" and threading.current_thread() is threading.main_thread() else None,
        )
        deadline = time.monotonic() + timeout
        while not _answers(self.host, self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"{SERVER_PROGRAM} exited with code {self.process.returncode} while starting"
                                   + (f" (log: {self.log_path})" if self.log_path else ""))
            if time.monotonic() > deadline:
                self.stop(kill=True)
                raise TimeoutError(f"{SERVER_PROGRAM} did not answer on port {self.port} within {timeout:.0f}s")
            time.sleep(0.2)
        self.started_at = time.monotonic()
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, *, kill: bool = False, timeout: float = 30.0) -> None:
        """SIGTERM (the server flushes and closes its storage), SIGKILL when ``kill`` or on timeout."""
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalMongo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
