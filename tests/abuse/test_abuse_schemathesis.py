"""Property-based HTTP abuse of every service's OpenAPI with schemathesis (pinned in the root dev group).

Each service's app runs in-process through schemathesis' ASGI transport, with its lifespan swapped for
the in-memory broker and store of the service tests. Two runs per service:

* ``staff`` — a valid token carrying every staff role (admin, supervisor, agent), so requests get past
  authentication and reach the handlers; before the run a few records are made through the API (a
  ticket, a customer, …) and their ids are offered to the generator next to random ones, so part of the
  requests hit existing data;
* ``anonymous`` — no token at all (public routes answer, staff routes must refuse).

Phases: schema examples, coverage (boundary and negative values; staff run only) and fuzzing
(``MAX_EXAMPLES`` per operation), seeded and derandomised so a run is repeatable. The classifier's
retraining is left out of the staff run (seconds per call). Checks: no 5xx; response body, content type
and headers as documented; authentication not ignored; missing required headers refused. Not checked:
status codes against the documented list (the OpenAPI documents successes and 422 only; the
401/403/404/409 answers share one structured error body), and schemathesis' negative_data_rejection,
which flags pydantic's deliberate lax coercions (``0``/``1`` for a boolean, a number for a timestamp).
Stateful (linked) sequences are not generated: FastAPI publishes no OpenAPI links.

Each run prints ``abuse-schemathesis: service=… auth=… operations=… examples=… failures=… seconds=…``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation.feedback import FeedbackSources
# What `schema.parametrize()` builds per operation (examples + coverage + fuzzing). Called directly: the
# lazy `schemathesis.pytest.from_fixture` of 4.32.5 fails under pytest 9 ('Function' has no `_nodeid`),
# and one loop per service can count examples and collect every operation's failures.
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
)

from contracts import StaffRole
from servicekit.testing import token

SERVICES = ("intake", "classifier", "dispatcher", "sla-monitor", "survey", "reporting")
MAX_EXAMPLES = 15  # fuzzing examples per operation (the coverage phase adds its boundary cases)
ANONYMOUS_EXAMPLES = 5
SEED = 20261125
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
    ignored_auth,
    missing_required_header,
]
STAFF_TOKEN = token([StaffRole.ADMIN, StaffRole.SUPERVISOR, StaffRole.AGENT], staff_id="abuse-admin")
# Retraining runs over the whole training set (seconds per call): left out of the staff run (its body is one
# boolean; services/classifier/tests cover it); the anonymous run still sends it.
STAFF_RUN_SKIPS = ["/api/v1/models/train"]


@dataclass
class Run:
    service: str
    auth: str
    operations: int = 0
    examples: int = 0
    seconds: float = 0.0
    failures: dict[str, str] = field(default_factory=dict)
    startup: float = 0.0
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def line(self) -> str:
        slow = ", ".join(f"{label} {sec:.1f}s" for sec, label in sorted(self.slowest, reverse=True)[:2])
        return (f"abuse-schemathesis: service={self.service} auth={self.auth} operations={self.operations} "
                f"examples={self.examples} failures={len(self.failures)} seconds={self.seconds:.1f} "
                f"(start-up {self.startup:.1f}s; slowest: {slow})")


def config(auth: str, dictionaries: dict[str, list[Any]], parameters: dict[str, float]) -> SchemathesisConfig:
    data: dict[str, Any] = {
        "seed": SEED,
        "suppress-health-check": ["all"],
        "generation": {"max-examples": MAX_EXAMPLES if auth == "staff" else ANONYMOUS_EXAMPLES,
                       "deterministic": True, "database": "none", "allow-extra-parameters": False},
        # without a token every staff route answers 401 at once: the boundary values add nothing there
        "phases": {"stateful": {"enabled": False}, "coverage": {"enabled": auth == "staff"}},
        "request-timeout": 30,
    }
    if auth == "staff":
        data["auth"] = {"openapi": {"HTTPBearer": {"bearer": STAFF_TOKEN}}}
        data["operations"] = [{"include-path": path, "enabled": False} for path in STAFF_RUN_SKIPS]
    if dictionaries:
        data["dictionaries"] = {name: {"values": values} for name, values in dictionaries.items()}
        data["parameters"] = {key: {"dictionary": key.split(".", 1)[1], "probability": p}
                              for key, p in parameters.items() if key.split(".", 1)[1] in dictionaries}
    return SchemathesisConfig.from_dict(data)


# ------------------------------------------------------------------ existing data to aim at
def _json(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


def seed_intake(client: Any, keys: dict[str, str]) -> dict[str, list[Any]]:
    staff = {"Authorization": f"Bearer {STAFF_TOKEN}"}
    tickets, messages = [], []
    for i, (channel, key) in enumerate((("web_form", keys["web_form"]), ("email", keys["email"]))):
        cmid = f"abuse-{channel}-{i}"
        body = {"channel": channel, "channel_message_id": cmid, "customer": {"name": "张先生", "phone": "13800138000"},
                "description": "手机无法开机" if i else "", "subject": "开机故障"}
        made = client.post("/api/v1/submissions", json=body, headers={"X-API-Key": key})
        tickets.append(_json(made, 201)["ticket_id"])
        messages.append(cmid)
    customer = _json(client.post("/api/v1/customers", json={"name": "李女士", "phone": "13900139000"},
                                 headers=staff), 201)
    # submissions: the web form's key with a body naming the web form, so most reach the handler
    return {"ticket_id": tickets, "customer_id": [customer["customer_id"]], "channel_message_id": messages,
            "api_key": [keys["web_form"]], "channel": ["web_form"]}


def seed_dispatcher(client: Any) -> dict[str, list[Any]]:
    staff = _json(client.get("/api/v1/staff", headers={"Authorization": f"Bearer {STAFF_TOKEN}"}))
    return {"staff_id": [m["staff_id"] for m in staff][:6]}


def seed_classifier(client: Any) -> dict[str, list[Any]]:
    active = _json(client.get("/api/v1/rulesets/active", headers={"Authorization": f"Bearer {STAFF_TOKEN}"}))
    return {"rule_id": [r["id"] for r in active["rules"]][:6], "version": [active["version"]]}


def seed_sla(client: Any) -> dict[str, list[Any]]:
    auth = {"Authorization": f"Bearer {STAFF_TOKEN}"}
    calendars = _json(client.get("/api/v1/calendars", headers=auth))
    policies = _json(client.get("/api/v1/policies", headers=auth))
    return {"calendar_id": [c["calendar_id"] for c in calendars], "version": [p["version"] for p in policies]}


# parameter (location.name) → probability of taking a known value instead of a generated one
BINDINGS = {
    "intake": {"path.ticket_id": 0.5, "path.customer_id": 0.5, "path.channel_message_id": 0.5,
               "header.X-API-Key": 0.9, "body.channel": 0.8, "path.channel": 0.8},
    "dispatcher": {"path.staff_id": 0.6},
    "classifier": {"path.rule_id": 0.5, "path.version": 0.5},
    "sla-monitor": {"path.calendar_id": 0.5, "path.version": 0.5},
}


def _seed(service: str, app: Any, keys: dict[str, str]) -> dict[str, list[Any]]:
    seeders: dict[str, Callable[[Any], dict[str, list[Any]]]] = {
        "intake": lambda c: seed_intake(c, keys), "dispatcher": seed_dispatcher,
        "classifier": seed_classifier, "sla-monitor": seed_sla,
    }
    if service not in seeders:
        return {}
    with schemathesis_asgi.get_client(app) as client:
        found = seeders[service](client)
    # dictionary names are the parameter names; the X-API-Key header takes the channel keys
    if "api_key" in found:
        found["X-API-Key"] = found.pop("api_key")
    return {k: v for k, v in found.items() if v}


# ------------------------------------------------------------------ the run
def describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "\n".join(describe(e) for e in exc.exceptions)
    notes = "\n".join(getattr(exc, "__notes__", []))
    return f"{type(exc).__name__}: {exc}\n{notes}".strip()


def run_schemathesis(service: str, auth: str, app: Any, keys: dict[str, str]) -> Run:
    load_all_checks()
    run = Run(service, auth)
    started = time.perf_counter()
    known = _seed(service, app, keys) if auth == "staff" else {}
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=config(auth, known, BINDINGS.get(service, {}))
    )
    run.startup = time.perf_counter() - started
    feedback = FeedbackSources()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"{service}: OpenAPI operation cannot be tested: {result.err()}"
        operation = result.ok()
        run.operations += 1

        def call(case: Any) -> None:
            run.examples += 1
            case.call_and_validate(checks=CHECKS)

        test = build_operation_test(config=schema.config, operation=operation, test_func=call, given_kwargs={},
                                    feedback=feedback)
        began = time.perf_counter()
        try:
            test()
        except FailureGroup as exc:
            run.failures[operation.label] = str(exc)
        except Exception as exc:  # the app raised (a 500 with a traceback) or the transport failed
            run.failures[operation.label] = describe(exc)
        run.slowest.append((time.perf_counter() - began, operation.label))
    run.seconds = time.perf_counter() - started
    return run


@pytest.fixture(scope="module")
def apps() -> Iterator[dict[str, Any]]:
    """One app per service for both runs (the classifier trains its model at start-up: once is enough);
    their lifespans end with the module."""
    built: dict[str, Any] = {}
    yield built
    schemathesis_asgi.shutdown_lifespans()


@pytest.mark.parametrize("auth", ["staff", "anonymous"])
@pytest.mark.parametrize("service", SERVICES)
def test_openapi_abuse(service: str, auth: str, apps: dict[str, Any], app_factory: Any, in_memory_lifespan: Any,
                       channel_keys: dict[str, str]) -> None:
    if service not in apps:
        apps[service] = in_memory_lifespan(app_factory(service))
    run = run_schemathesis(service, auth, apps[service], channel_keys)
    print(run.line())
    assert run.operations > 0 and run.examples >= run.operations
    assert not run.failures, run.line() + "\n\n" + "\n\n".join(
        f"=== {label}\n{text[:3000]}" for label, text in run.failures.items()
    )
