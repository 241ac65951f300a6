"""Run the whole platform as local processes (no Docker): ``python -m servicekit.launcher``.

Starts the six services (and the web console in front of them) against ``RABBITMQ_URL`` and a MongoDB:
``MONGODB_URL`` when set, else a SecantusDB server it starts itself with its data under ``.run/data/``
(persistent: a stop and start keeps every ticket), or, with ``--memory``, each service's throw-away
in-memory store. It prefixes every log line with the service name, restarts a service (or the database
server) that dies, with back-off and a restart count, and stops everything cleanly on Ctrl-C / SIGTERM.
Secrets that are not in the environment are generated once and kept in ``.run/local.env``
(git-ignored) so that tokens and API keys survive a restart.

``python -m servicekit.launcher token --role supervisor`` prints a staff token for local use, signed
with that local secret (until the dispatcher's login exists for your staff).

The end-to-end tests and the benchmarks use the same :class:`Stack` to start the services.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

CHANNELS = ("phone", "online_chat", "email", "social", "web_form")


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    port: int


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("intake", "intake", 8001),
    ServiceSpec("classifier", "classifier", 8002),
    ServiceSpec("dispatcher", "dispatcher", 8003),
    ServiceSpec("sla-monitor", "sla_monitor", 8004),
    ServiceSpec("survey", "survey", 8005),
    ServiceSpec("reporting", "reporting", 8006),
)

CONSOLE = ServiceSpec("console", "console", 8080)
"""The staff web console (web/console): serves the pages and forwards API calls to the services above."""

_COLOURS = ("36", "33", "35", "32", "34", "31", "37")


@dataclass
class Running:
    spec: ServiceSpec
    port: int
    process: subprocess.Popen[bytes]
    pump: threading.Thread | None = None
    index: int = 0
    extra_env: dict[str, str] | None = None
    started_at: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    """A set of service processes sharing one environment."""

    env: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)
    log_dir: Path | None = None
    echo: bool = True
    running: dict[str, Running] = field(default_factory=dict)
    per_service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    """Extra environment for single services (e.g. a database server of its own)."""

    def start(self, names: list[str] | None = None) -> None:
        for index, spec in enumerate(SERVICES):
            if names and spec.name not in names:
                continue
            self.start_one(spec, index)

    def start_console(self) -> Running:
        """Start the web console in front of the running services (their URLs are passed to it)."""
        upstreams = {f"{run.spec.name.replace('-', '_').upper()}_URL": run.url for run in self.running.values()}
        extra = dict(upstreams)
        if "reporting" in self.running:
            extra["DASHBOARD_URL"] = f"{self.running['reporting'].url}/dashboard"
        return self.start_one(CONSOLE, len(SERVICES), extra_env=extra)

    def start_one(self, spec: ServiceSpec, index: int = 0, extra_env: dict[str, str] | None = None) -> Running:
        port = self.ports.get(spec.name, spec.port)
        env = {**self.env, **self.per_service_env.get(spec.name, {}), **(extra_env or {}),
               "HTTP_PORT": str(port), "HTTP_HOST": "127.0.0.1"}
        process = subprocess.Popen(
            [sys.executable, "-m", spec.module],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        run = Running(spec, port, process, index=index, extra_env=extra_env)
        sink: IO[str] | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            sink = open(self.log_dir / f"{spec.name}.log", "a", encoding="utf-8")  # noqa: SIM115
        run.pump = threading.Thread(target=_pump, args=(process, spec.name, _COLOURS[index % len(_COLOURS)], sink, self.echo),
                                    daemon=True)
        run.pump.start()
        self.running[spec.name] = run
        return run

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        pending = dict(self.running)
        while pending:
            for name, run in list(pending.items()):
                if run.process.poll() is not None:
                    raise RuntimeError(f"{name} exited with code {run.process.returncode} while starting")
                if _ready(run.url):
                    del pending[name]
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout:.0f}s: {', '.join(pending)}")
            time.sleep(0.2)

    def stop(self, names: list[str] | None = None, *, kill: bool = False, timeout: float = 20.0) -> None:
        targets = [r for n, r in self.running.items() if not names or n in names]
        for run in targets:
            if run.process.poll() is None:
                run.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        for run in targets:
            try:
                run.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                run.process.kill()
                run.process.wait()
            if run.pump is not None:
                run.pump.join(timeout=2)
            self.running.pop(run.spec.name, None)

    def restart(self, name: str) -> Running:
        """Start a service that exited again, on the same port with the same environment."""
        old = self.running[name]
        if old.pump is not None:
            old.pump.join(timeout=2)
        return self.start_one(old.spec, old.index, extra_env=old.extra_env)

    def url(self, name: str) -> str:
        return self.running[name].url

    def declared_queues(self) -> set[str]:
        """Every queue the running services consume from (read from their AsyncAPI documents), with
        its dead-letter queue — what a test or benchmark run must remove afterwards."""
        import json

        names: set[str] = set()
        for run in self.running.values():
            if run.spec not in SERVICES:
                continue  # the console consumes nothing
            with urllib.request.urlopen(f"{run.url}/asyncapi.json", timeout=5) as resp:  # noqa: S310 (loopback)
                spec = json.load(resp)
            for channel in spec.get("channels", {}).values():
                queue = channel.get("bindings", {}).get("amqp", {}).get("queue", {}).get("name")
                if channel.get("bindings", {}).get("amqp", {}).get("is") == "queue" and queue:
                    names.update({queue, f"{queue}.dlq"})
        return names


def _pump(process: subprocess.Popen[bytes], name: str, colour: str, sink: IO[str] | None, echo: bool) -> None:
    prefix = f"\033[{colour}m{name:<11}\033[0m| " if sys.stdout.isatty() else f"{name:<11}| "
    assert process.stdout is not None
    for raw in iter(process.stdout.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\n")
        if sink is not None:
            sink.write(line + "\n")
            sink.flush()
        if echo:
            print(prefix + line, flush=True)
    if sink is not None:
        sink.close()


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health/ready", timeout=1.5) as resp:  # noqa: S310 (loopback)
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


# ------------------------------------------------------------------------------ local secrets
def local_env_file(root: Path) -> Path:
    return root / ".run" / "local.env"


def load_or_create_local_secrets(root: Path) -> dict[str, str]:
    """Secrets for a local run: taken from the environment, else from ``.run/local.env``, else generated."""
    path = local_env_file(root)
    stored: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key and value:
                stored[key.strip()] = value.strip()
    wanted = {
        "JWT_SECRET": lambda: secrets.token_urlsafe(48),
        "CUSTOMER_LOOKUP_KEY": lambda: secrets.token_urlsafe(32),
        "CHANNEL_API_KEYS": lambda: ",".join(f"{c}={secrets.token_urlsafe(24)}" for c in CHANNELS),
        # a Fernet key (32 random bytes, url-safe base64) for customer data at rest
        "CUSTOMER_DATA_KEYS": lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        # intake's backup key ring (id=AES-256 key), separate from the data keys
        "BACKUP_KEYS": lambda: f"local1={base64.b64encode(secrets.token_bytes(32)).decode()}",
        # the dispatcher's first admin; the password must be changed at first login
        "DISPATCHER_ADMIN_STAFF_ID": lambda: "admin",
        "DISPATCHER_ADMIN_INITIAL_PASSWORD": lambda: f"Init-{secrets.token_urlsafe(9)}7!",
    }
    values = {key: os.environ.get(key) or stored.get(key) or make() for key, make in wanted.items()}
    if any(stored.get(k) != v for k, v in values.items() if k not in os.environ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
        path.chmod(0o600)
    return values


def _repo_root() -> Path:
    here = Path.cwd()
    for candidate in (here, *here.parents):
        if (candidate / "services").is_dir() and (candidate / "libs").is_dir():
            return candidate
    return here


@dataclass
class Restarts:
    """Restart bookkeeping of one supervised process: exponential back-off (1 s … 30 s), reset once the
    process has stayed up for a minute."""

    count: int = 0
    streak: int = 0
    due: float | None = None

    def exited(self, uptime: float) -> float:
        self.streak = 0 if uptime > 60 else self.streak + 1
        self.count += 1
        delay = min(30.0, 2.0 ** max(0, self.streak - 1))
        self.due = time.monotonic() + delay
        return delay


def _database(args: argparse.Namespace, root: Path, env: dict[str, str]) -> Any:
    """Point ``env`` at the database of this run; returns the local server it started, if any."""
    from .localdb import LocalMongo
    from .mongo import describe_url

    if env.get("MONGODB_URL"):
        print(f"database: MONGODB_URL {describe_url(env['MONGODB_URL'])} (each service its own database)", flush=True)
        return None
    if args.memory:
        env.pop("MONGODB_URL", None)
        print("database: --memory: every service keeps its data in memory (NOT persistent, lost at stop).", flush=True)
        return None
    data = root / ".run" / "data" / "mongo"
    server = LocalMongo(storage=str(data), port=args.db_port, log_path=root / ".run" / "logs" / "secantusd.log")
    server.start()
    env["MONGODB_URL"] = server.url
    print(f"database: SecantusDB (MongoDB wire protocol) at {server.url}, data in {data} (persistent; "
          "--memory for a throw-away run). It is a local default, not the production database.", flush=True)
    return server


def _run(args: argparse.Namespace) -> int:
    root = _repo_root()
    env = {**os.environ, **load_or_create_local_secrets(root)}
    env.setdefault("LOG_FORMAT", "text")
    # intake's encrypted customer backups (daily and monthly) of a local run
    env.setdefault("BACKUP_DIR", str(root / ".run" / "data" / "backups"))
    stopping = threading.Event()

    def _stop(*_: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server = _database(args, root, env)
    except (RuntimeError, TimeoutError) as exc:
        print(f"!! database server: {exc}", flush=True)
        return 1
    stack = Stack(env=env, log_dir=root / ".run" / "logs")
    restarts: dict[str, Restarts] = {}
    try:
        stack.start(args.only or None)
        stack.wait_ready(timeout=args.ready_timeout)
        if not args.no_console:
            stack.start_console()
            stack.wait_ready(timeout=args.ready_timeout)
        print("\nall services ready:", flush=True)
        for name, run in stack.running.items():
            extra = "web console" if run.spec == CONSOLE else f"docs {run.url}/docs, events {run.url}/asyncapi"
            print(f"  {name:<11} {run.url}  ({extra})", flush=True)
        if "console" in stack.running:
            print(f"\nweb console (agents, supervisors, admins): {stack.url('console')}/", flush=True)
        keys = env["CHANNEL_API_KEYS"].split(",")
        print(f"channel API keys (X-API-Key): kept in {local_env_file(root)}; e.g. {keys[0].split('=')[0]}", flush=True)
        print(f"first admin: staff id {env['DISPATCHER_ADMIN_STAFF_ID']}, initial password in "
              f"{local_env_file(root)} (POST {stack.url('dispatcher') if 'dispatcher' in stack.running else ''}"
              "/api/v1/auth/login; change it at first login)", flush=True)
        print("press Ctrl-C to stop\n", flush=True)
        while not stopping.is_set():
            _supervise(stack, server, restarts)
            stopping.wait(0.5)
        return 0
    except (TimeoutError, RuntimeError) as exc:
        print(f"!! {exc}", flush=True)
        return 1
    finally:
        print("stopping services …", flush=True)
        stack.stop()
        if server is not None:
            print("stopping the database server …", flush=True)
            server.stop()


def _supervise(stack: Stack, server: Any, restarts: dict[str, Restarts]) -> None:
    """One pass: restart (after its back-off) whatever exited — the database server or a service."""
    now = time.monotonic()
    if server is not None and not server.alive():
        book = restarts.setdefault("database", Restarts())
        if book.due is None:
            delay = book.exited(now - server.started_at)
            print(f"!! database server exited; restarting in {delay:.0f}s (restart #{book.count})", flush=True)
        elif now >= book.due:
            book.due = None
            try:
                server.start()
                print("database server running again", flush=True)
            except (RuntimeError, TimeoutError) as exc:
                print(f"!! database server did not start: {exc}", flush=True)
                book.exited(0)
    for name, run in list(stack.running.items()):
        if run.process.poll() is None:
            continue
        book = restarts.setdefault(name, Restarts())
        if book.due is None:
            delay = book.exited(now - run.started_at)
            print(f"!! {name} exited with code {run.process.returncode}; restarting in {delay:.0f}s "
                  f"(restart #{book.count})", flush=True)
        elif now >= book.due:
            book.due = None
            stack.restart(name)
            print(f"   {name} started again (restart #{book.count})", flush=True)


def _token(args: argparse.Namespace) -> int:
    from contracts import StaffRole

    from .auth import Principal, TokenService

    secret = load_or_create_local_secrets(_repo_root())["JWT_SECRET"]
    tokens = TokenService(secret, issuer=os.environ.get("JWT_ISSUER", "helpdesk"),
                          audience=os.environ.get("JWT_AUDIENCE", "helpdesk-staff"))
    principal = Principal(staff_id=args.staff_id, name=args.staff_id, roles=frozenset({StaffRole(args.role)}))
    print(tokens.issue(principal, ttl_seconds=args.ttl))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicekit.launcher", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="start the services (default)")
    run.add_argument("--only", nargs="*", choices=[s.name for s in SERVICES], help="start only these services")
    run.add_argument("--ready-timeout", type=float, default=120.0)
    run.add_argument("--no-console", action="store_true", help="do not start the web console")
    run.add_argument("--memory", action="store_true",
                     help="throw-away run: every service keeps its data in memory (ignored when MONGODB_URL is set)")
    run.add_argument("--db-port", type=int, default=int(os.environ.get("LOCAL_MONGODB_PORT", "27117")),
                     help="port of the local SecantusDB server (default 27117, or LOCAL_MONGODB_PORT)")
    tok = sub.add_parser("token", help="print a local staff token")
    tok.add_argument("--role", choices=["agent", "supervisor", "admin"], default="supervisor")
    tok.add_argument("--staff-id", default="local-dev")
    tok.add_argument("--ttl", type=int, default=8 * 3600)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, "run")  # ./scripts/run.sh --memory
    args = parser.parse_args(argv)
    if args.command == "token":
        return _token(args)
    if args.command is None:
        args = run.parse_args([])
    return _run(args)


if __name__ == "__main__":
    raise SystemExit(main())
