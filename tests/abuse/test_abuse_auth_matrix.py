"""Authentication and authorisation matrix of all six services, generated from each app's routes.

For every route that needs a staff token (a ``servicekit.auth.require_roles`` dependency somewhere in its
dependency tree; the roles it allows are read from that dependency):

* no token, a malformed one, an expired one, one signed with another secret, one for another audience,
  and an unsigned (``alg: none``) one → 401;
* a valid token with a role the route does not allow (or with no role at all) → 403 ``forbidden``;
* a first-login token (password change pending) → 403 ``password_change_required``, except on the
  routes that exist to change the password;
* a token with an allowed role → neither 401 nor the auth layer's 403.

Routes without a staff token are either channel API key routes (intake: missing, unknown, revoked and
other-channel keys → 401/403, the right key → accepted) or listed in ``PUBLIC`` below — so a new route
that forgets its auth dependency fails this test until it is protected or consciously made public.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import jwt
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount, Route

from contracts import StaffRole
from servicekit import Admin, Supervisor, require_roles
from servicekit.testing import TEST_JWT_SECRET, running_app, token

SERVICES = ("intake", "classifier", "dispatcher", "sla-monitor", "survey", "reporting")
ALL_ROLES = frozenset(StaffRole)

# (method, path) that answer without any credential. Everything else must demand one.
COMMON_PUBLIC = {
    ("GET", "/health/live"), ("GET", "/health/ready"), ("GET", "/health"), ("GET", "/metrics"),
    ("GET", "/asyncapi"), ("GET", "/asyncapi.json"),
    ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc"),
}
PUBLIC: dict[str, set[tuple[str, str]]] = {
    "intake": set(),
    "classifier": set(),
    "dispatcher": {("POST", "/api/v1/auth/login")},
    "sla-monitor": set(),
    "survey": {  # the customer's one-time survey link (no login; rate-limited, token in the path)
        ("GET", "/api/v1/public/surveys/{token}"), ("POST", "/api/v1/public/surveys/{token}/answers"),
        ("GET", "/s/{token}"), ("POST", "/s/{token}"),
    },
    "reporting": {("GET", "/dashboard"), ("MOUNT", "/static")},  # the page holds no data; its API needs a token
}
# Routes that authenticate channel systems by X-API-Key, with a body that passes validation (the key is
# checked after it) and the channel the body names.
CHANNEL_KEY_ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/submissions"): {
        "path": "/api/v1/submissions",
        # no way to reach the customer: the ticket waits for information (needs_info) ...
        "json": {"channel": "web_form", "channel_message_id": "matrix-1", "description": "账户无法登录"},
        "ok": 201,
    },
    ("POST", "/api/v1/submissions/{channel}/{channel_message_id}/supplement"): {
        # ... which the channel then supplies (the routes are checked in this order)
        "path": "/api/v1/submissions/web_form/matrix-1/supplement",
        "json": {"customer": {"phone": "13800138000"}},
        "ok": 200,
    },
    ("POST", "/api/v1/messages"): {
        # a customer's further message: no ticket of theirs yet, so it opens one (never lost)
        "path": "/api/v1/messages",
        "json": {"channel": "web_form", "channel_message_id": "matrix-2", "text": "上次的问题还没有解决"},
        "ok": 201,
    },
}
# The auth layer's own refusals (a handler may also answer 403 for its own reasons, e.g. "not your ticket").
AUTH_403 = ("this action needs one of the roles", "change your password before doing anything else")


@dataclass(frozen=True)
class Guard:
    roles: frozenset[StaffRole]
    allow_password_change: bool


def staff_guard(route: Any) -> Guard | None:
    """The ``require_roles`` dependency of a route, found anywhere in its dependency tree."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        roles = getattr(dep.call, "required_roles", None)
        if roles is not None:
            return Guard(frozenset(roles), bool(getattr(dep.call, "allow_password_change", False)))
        stack.extend(dep.dependencies)
    return None


def takes_api_key(route: Any) -> bool:
    return any(p.alias.lower() == "x-api-key" for p in route.dependant.header_params)


def path_value(route: Any, name: str) -> str:
    """A plausible value for a path parameter (auth is checked before the path is validated anyway)."""
    field = next(p for p in route.dependant.path_params if p.name == name)
    annotation = field.field_info.annotation
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return str(next(iter(annotation)).value)
    if annotation is int:
        return "1"
    return "a" * 32 if name in ("survey_id", "token") else "matrix-1"


def concrete(route: Any) -> str:
    path = route.path
    for name in route.param_convertors:
        path = path.replace("{" + name + "}", path_value(route, name))
    return path


def entries(app: Any) -> Iterator[tuple[str, str, Any]]:
    """(method, full path template, route context) of every route of the app, included routers
    flattened (FastAPI's ``iter_route_contexts``); mounts as ("MOUNT", path)."""
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute | Route):
            for method in sorted(ctx.methods or ()):
                if method != "HEAD":
                    yield method, ctx.path, ctx
        elif isinstance(route, Mount):
            yield "MOUNT", ctx.path, ctx
        else:  # pragma: no cover - a new kind of route must be classified here first
            raise AssertionError(f"unclassified route {route!r}")


def is_api(ctx: Any) -> bool:
    return isinstance(ctx.original_route, APIRoute)


# ------------------------------------------------------------------------------ tokens
def forged(**changes: Any) -> str:
    now = datetime.now(UTC)
    claims = {"sub": "matrix", "name": "matrix", "roles": ["admin", "supervisor", "agent"], "team": None,
              "pwd_change": False, "iss": "helpdesk", "aud": "helpdesk-staff", "iat": int(now.timestamp()),
              "exp": int((now + timedelta(hours=1)).timestamp())}
    claims.update(changes)
    return jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")


def unsigned() -> str:
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    good = forged()
    return f"{header}.{good.split('.')[1]}."


BAD_TOKENS: dict[str, dict[str, str]] = {
    "no token": {},
    "not bearer": {"Authorization": f"Basic {token(list(ALL_ROLES))}"},
    "malformed": {"Authorization": "Bearer not.a.jwt"},
    "expired": {"Authorization": f"Bearer {token(list(ALL_ROLES), expired=True)}"},
    "wrong signature": {"Authorization": f"Bearer {token(list(ALL_ROLES), secret='another-secret-' + 'y' * 32)}"},
    "wrong audience": {"Authorization": f"Bearer {token(list(ALL_ROLES), audience='someone-else')}"},
    "wrong issuer": {"Authorization": f"Bearer {token(list(ALL_ROLES), issuer='evil')}"},
    "alg none": {"Authorization": f"Bearer {unsigned()}"},
    "unknown role": {"Authorization": f"Bearer {forged(roles=['root'])}"},
}


def bearer(roles: list[StaffRole], **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(roles, staff_id='matrix', **kwargs)}"}


def wrong_roles(allowed: frozenset[StaffRole]) -> list[list[StaffRole]]:
    """Every non-empty combination of roles that has none of the allowed ones, plus no role at all."""
    others = sorted(ALL_ROLES - allowed)
    combos = [list(c) for n in range(1, len(others) + 1) for c in itertools.combinations(others, n)]
    return [[], *combos]


# ------------------------------------------------------------------------------ the matrix
@dataclass
class Tally:
    staff_routes: int = 0
    key_routes: int = 0
    public_routes: int = 0
    requests: int = 0


async def check_staff_route(client: Any, method: str, path: str, guard: Guard, tally: Tally) -> list[str]:
    problems: list[str] = []

    async def send(headers: dict[str, str]) -> Any:
        tally.requests += 1
        return await client.request(method, path, headers=headers)

    for label, headers in BAD_TOKENS.items():
        r = await send(headers)
        if r.status_code != 401 or r.json()["error"]["code"] not in ("not_authenticated", "token_expired",
                                                                     "invalid_token"):
            problems.append(f"{method} {path}: {label} → {r.status_code} {r.text[:120]}")
    for roles in wrong_roles(guard.roles):
        r = await send(bearer(roles))
        if r.status_code != 403 or r.json()["error"]["code"] != "forbidden":
            problems.append(f"{method} {path}: roles {[x.value for x in roles]} → {r.status_code} {r.text[:120]}")
    for role in sorted(guard.roles):
        r = await send(bearer([role]))
        refused = r.status_code == 401 or (r.status_code == 403 and r.json()["error"]["message"].startswith(AUTH_403))
        if refused:
            problems.append(f"{method} {path}: allowed role {role.value} refused → {r.status_code} {r.text[:120]}")
        r = await send(bearer([role], must_change_password=True))
        pending = r.status_code == 403 and r.json()["error"]["code"] == "password_change_required"
        if pending == guard.allow_password_change or r.status_code == 401:
            problems.append(f"{method} {path}: first-login token as {role.value} → {r.status_code} {r.text[:120]}")
    return problems


async def check_key_route(client: Any, method: str, template: str, keys: dict[str, str], revoked: str,
                          tally: Tally) -> list[str]:
    spec = CHANNEL_KEY_ROUTES.get((method, template))
    if spec is None:
        return [f"{method} {template}: takes X-API-Key but has no entry in CHANNEL_KEY_ROUTES"]
    problems: list[str] = []
    cases = [({}, 401), ({"X-API-Key": "z" * 24}, 401), ({"X-API-Key": revoked}, 401),
             ({"X-API-Key": keys["web_form"][:-1]}, 401),
             ({"Authorization": f"Bearer {token(list(ALL_ROLES))}"}, 401),  # a staff token is no channel key
             ({"X-API-Key": keys["email"]}, 403),  # another channel's key
             ({"X-API-Key": keys["web_form"]}, spec["ok"])]
    for headers, expected in cases:
        tally.requests += 1
        r = await client.request(method, spec["path"], json=spec["json"], headers=headers)
        if r.status_code != expected:
            problems.append(f"{method} {template} with {sorted(headers)} → {r.status_code}, expected {expected}: "
                            f"{r.text[:120]}")
    return problems


async def check_public_route(client: Any, method: str, route: Any, tally: Tally) -> list[str]:
    if method == "MOUNT":
        return []  # static files: nothing behind them but the vendored assets
    path = concrete(route) if is_api(route) else route.path
    tally.requests += 1
    r = await client.request(method, path)
    if r.status_code in (401, 403):
        return [f"{method} {route.path}: listed as public but answered {r.status_code}"]
    return []


@pytest.mark.parametrize("service", SERVICES)
async def test_auth_matrix(service: str, app_factory: Any, channel_keys: dict[str, str],
                           revoked_channel_key: str) -> None:
    # the classifier's model is not needed to check who may call what: skip training it at start-up
    app = app_factory(service, **({"classifier_train_at_start": False} if service == "classifier" else {}))
    tally, problems, seen = Tally(), [], set()
    async with running_app(app) as running:
        client = running["client"]
        for method, template, route in entries(app):
            seen.add((method, template))
            guard = staff_guard(route) if is_api(route) else None
            if guard is not None:
                tally.staff_routes += 1
                assert (method, template) not in PUBLIC[service] | COMMON_PUBLIC, f"{template} is protected"
                problems += await check_staff_route(client, method, concrete(route), guard, tally)
            elif is_api(route) and takes_api_key(route):
                tally.key_routes += 1
                problems += await check_key_route(client, method, template, channel_keys, revoked_channel_key,
                                                  tally)
            elif (method, template) in PUBLIC[service] | COMMON_PUBLIC:
                tally.public_routes += 1
                problems += await check_public_route(client, method, route, tally)
            else:
                problems.append(f"{method} {template}: no staff token, no channel key and not listed as public")
    missing = {(m, p) for m, p in PUBLIC[service] if (m, p) not in seen}
    assert not missing, f"listed as public but not served: {missing}"
    print(f"abuse-auth-matrix: service={service} staff_routes={tally.staff_routes} key_routes={tally.key_routes} "
          f"public_routes={tally.public_routes} requests={tally.requests} problems={len(problems)}")
    assert tally.staff_routes > 0
    assert not problems, "\n".join(problems)


def test_matrix_knows_every_channel_key_route(app_factory: Any) -> None:
    """The channel-key table names only routes that exist and take the key."""
    app = app_factory("intake")
    taking = {(m, p) for m, p, r in entries(app) if is_api(r) and takes_api_key(r)}
    assert taking == set(CHANNEL_KEY_ROUTES)


def test_matrix_classifies_routes_by_their_auth_dependency() -> None:
    """The matrix's own classification: a forgotten dependency is seen as 'no staff token' (and then fails
    the matrix unless listed as public); nested and router-level dependencies are found."""
    app = FastAPI()
    router = APIRouter(prefix="/api", dependencies=[Depends(require_roles(StaffRole.AGENT))])

    @router.get("/guarded-by-router")
    async def by_router() -> None: ...

    @app.get("/open")
    async def open_route() -> None: ...

    @app.get("/supervisors")
    async def supervisors(_: Supervisor) -> None: ...

    @app.post("/admins/{item_id}")
    async def admins(item_id: int, _: Admin) -> None: ...

    @app.get("/password")
    async def password(_: Any = Depends(require_roles(allow_password_change=True))) -> None: ...

    app.include_router(router)
    found = {(m, p): staff_guard(r) for m, p, r in entries(app) if is_api(r)}
    assert found[("GET", "/open")] is None
    assert found[("GET", "/supervisors")] == Guard(frozenset({StaffRole.SUPERVISOR, StaffRole.ADMIN}), False)
    assert found[("POST", "/admins/{item_id}")] == Guard(frozenset({StaffRole.ADMIN}), False)
    assert found[("GET", "/password")] == Guard(ALL_ROLES, True)
    assert found[("GET", "/api/guarded-by-router")] == Guard(frozenset({StaffRole.AGENT}), False)
    route = next(r for m, p, r in entries(app) if p == "/admins/{item_id}")
    assert concrete(route) == "/admins/1"
    assert wrong_roles(frozenset({StaffRole.ADMIN})) == [[], [StaffRole.AGENT], [StaffRole.SUPERVISOR],
                                                         [StaffRole.AGENT, StaffRole.SUPERVISOR]]
