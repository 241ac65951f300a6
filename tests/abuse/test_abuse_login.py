"""Staff login abuse, through the HTTP APIs (cross-checks of what services/dispatcher/tests cover at the
domain and single-route level; only what they do not already show is here):

* lockout: per account, reset by a successful login, lifted after ``login_lock_seconds`` and by an admin
  setting a new password; a locked account answers the same with the right password;
* password policy: every rule enforced on all three routes that set a password (own change, admin set,
  staff creation), and the refused password is not stored;
* first-login change: a real token from the dispatcher's login with the change pending is refused by the
  other services too (intake, reporting, classifier) until the password is changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from contracts import StaffRole
from servicekit.testing import auth_header, running_app

LOCK_SECONDS = 2
MAX_FAILURES = 3
ADMIN_HEADERS = auth_header(StaffRole.ADMIN, staff_id="ABADMIN")


@pytest.fixture
async def stack(app_factory: Any, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """The dispatcher (issues tokens) and three services that only verify them, sharing the JWT secret."""
    apps = {
        "dispatcher": app_factory("dispatcher", tmp_path, login_max_failures=MAX_FAILURES,
                                  login_lock_seconds=LOCK_SECONDS),
        "intake": app_factory("intake"),
        "reporting": app_factory("reporting"),
        "classifier": app_factory("classifier", classifier_train_at_start=False),
    }
    async with AsyncExitStack() as exits:
        yield {name: (await exits.enter_async_context(running_app(app)))["client"] for name, app in apps.items()}


async def login(client: Any, staff_id: str, password: str) -> Any:
    return await client.post("/api/v1/auth/login", json={"staff_id": staff_id, "password": password})


async def set_password(client: Any, staff_id: str, password: str) -> None:
    r = await client.post(f"/api/v1/staff/{staff_id}/password", json={"password": password}, headers=ADMIN_HEADERS)
    assert r.status_code == 204, r.text


async def ready_to_work(client: Any, staff_id: str, initial: str, final: str) -> dict[str, str]:
    """Admin sets ``initial``; the member logs in, changes it to ``final``; their working headers."""
    await set_password(client, staff_id, initial)
    first = (await login(client, staff_id, initial)).json()
    r = await client.post("/api/v1/auth/password", json={"current_password": initial, "new_password": final},
                          headers={"Authorization": f"Bearer {first['access_token']}"})
    assert r.status_code == 200 and r.json()["must_change_password"] is False
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# ------------------------------------------------------------------------------ lockout
async def test_lockout_is_per_account_reset_by_success_and_lifted_by_time(stack: dict[str, Any]) -> None:
    client = stack["dispatcher"]
    await ready_to_work(client, "ABAG1", "Start#pass1", "Agent#One2026")
    await ready_to_work(client, "ABAG2", "Start#pass2", "Agent#Two2026")

    # failures below the limit are forgotten after a successful login
    for _ in range(MAX_FAILURES - 1):
        assert (await login(client, "ABAG1", "wrong#Pass1")).status_code == 401
    assert (await login(client, "ABAG1", "Agent#One2026")).status_code == 200
    for _ in range(MAX_FAILURES - 1):
        assert (await login(client, "ABAG1", "wrong#Pass1")).status_code == 401
    assert (await login(client, "ABAG1", "Agent#One2026")).status_code == 200

    # the limit locks this account only; the right password is refused the same way while locked
    codes = [(await login(client, "ABAG1", "wrong#Pass1")).status_code for _ in range(MAX_FAILURES)]
    assert codes == [401] * (MAX_FAILURES - 1) + [423]
    locked = await login(client, "ABAG1", "Agent#One2026")
    assert locked.status_code == 423 and locked.json()["error"]["code"] == "account_locked"
    assert "access_token" not in locked.text
    assert (await login(client, "ABAG2", "Agent#Two2026")).status_code == 200

    # ... until the lock expires
    await asyncio.sleep(LOCK_SECONDS + 0.5)
    assert (await login(client, "ABAG1", "Agent#One2026")).status_code == 200


async def test_admin_password_reset_unlocks_and_forces_a_change(stack: dict[str, Any]) -> None:
    client = stack["dispatcher"]
    await ready_to_work(client, "ABAG1", "Start#pass1", "Agent#One2026")
    for _ in range(MAX_FAILURES):
        await login(client, "ABAG1", "wrong#Pass1")
    assert (await login(client, "ABAG1", "Agent#One2026")).status_code == 423
    await set_password(client, "ABAG1", "Reset#pass77")
    again = await login(client, "ABAG1", "Reset#pass77")
    assert again.status_code == 200 and again.json()["must_change_password"] is True
    assert (await login(client, "ABAG1", "Agent#One2026")).status_code == 401  # the old password is gone


async def test_unknown_ids_never_lock_and_answer_like_a_wrong_password(stack: dict[str, Any]) -> None:
    client = stack["dispatcher"]
    answers = [await login(client, "GHOST1", "Any#pass123") for _ in range(MAX_FAILURES + 2)]
    assert {(r.status_code, r.json()["error"]["code"]) for r in answers} == {(401, "invalid_credentials")}
    no_password_yet = await login(client, "ABAG2", "Any#pass123")  # seeded, no password set
    assert (no_password_yet.status_code, no_password_yet.json()["error"]["code"]) == (401, "invalid_credentials")


# ------------------------------------------------------------------------------ password policy
WEAK = {
    "Ab1!": "at least 8 characters",
    "abcdefgh1": "a special character",
    "abcdefgh!": "a digit",
    "12345678!": "a letter",
    "abcd efg1": "a special character",  # a space is no special character
    "xABAG1Xyz9!": "not containing the staff id",  # both ABAG1 (own change, admin set) and ABAG1X (new)
    "Aa1!" + "x" * 300: None,  # over the limit: refused by the schema or the policy
}


@pytest.mark.parametrize(("password", "reason"), list(WEAK.items()), ids=list(range(len(WEAK))))
async def test_every_route_that_sets_a_password_enforces_the_policy(
    stack: dict[str, Any], password: str, reason: str | None
) -> None:
    client = stack["dispatcher"]
    headers = await ready_to_work(client, "ABAG1", "Start#pass1", "Agent#One2026")

    own = await client.post("/api/v1/auth/password", headers=headers,
                            json={"current_password": "Agent#One2026", "new_password": password})
    by_admin = await client.post("/api/v1/staff/ABAG1/password", json={"password": password}, headers=ADMIN_HEADERS)
    created = await client.post("/api/v1/staff", headers=ADMIN_HEADERS, json={
        "staff_id": "ABAG1X", "name": "新人", "role": "agent", "team": "frontline", "initial_password": password})
    for r in (own, by_admin, created):
        assert r.status_code == 422, (password, r.status_code, r.text)
        if reason and len(password) <= 256:
            assert r.json()["error"]["code"] == "weak_password" and reason in r.json()["error"]["message"]
    # nothing was stored: the old password still works, the refused one does not, no member was created
    assert (await login(client, "ABAG1", "Agent#One2026")).status_code == 200
    assert (await login(client, "ABAG1", password[:256])).status_code in (401, 422)
    assert (await client.get("/api/v1/staff/ABAG1X", headers=ADMIN_HEADERS)).status_code == 404


async def test_new_password_must_differ_and_the_current_one_must_be_known(stack: dict[str, Any]) -> None:
    client = stack["dispatcher"]
    headers = await ready_to_work(client, "ABAG1", "Start#pass1", "Agent#One2026")
    same = await client.post("/api/v1/auth/password", headers=headers,
                             json={"current_password": "Agent#One2026", "new_password": "Agent#One2026"})
    assert same.status_code == 422 and same.json()["error"]["code"] == "weak_password"
    guessed = await client.post("/api/v1/auth/password", headers=headers,
                                json={"current_password": "Guess#pass1", "new_password": "Brand#New2026"})
    assert guessed.status_code == 401 and guessed.json()["error"]["code"] == "invalid_credentials"


# ------------------------------------------------------------------------------ first-login change
async def test_first_login_token_is_refused_everywhere_until_the_password_is_changed(
    stack: dict[str, Any],
) -> None:
    dispatcher = stack["dispatcher"]
    first = await login(dispatcher, "ABADMIN", "Initial#Admin2026")  # the configured first admin
    assert first.status_code == 200 and first.json()["must_change_password"] is True
    pending = {"Authorization": f"Bearer {first.json()['access_token']}"}
    elsewhere = [
        (stack["intake"], "/api/v1/tickets"), (stack["intake"], "/api/v1/customers/export"),
        (stack["reporting"], "/api/v1/reports/daily"), (stack["classifier"], "/api/v1/rulesets/active"),
        (dispatcher, "/api/v1/staff"), (dispatcher, "/api/v1/notifications/mine"),
    ]
    for client, path in elsewhere:
        r = await client.get(path, headers=pending)
        assert r.status_code == 403 and r.json()["error"]["code"] == "password_change_required", (path, r.text)
    assert (await dispatcher.get("/api/v1/auth/me", headers=pending)).status_code == 200  # who am I: allowed

    changed = await dispatcher.post("/api/v1/auth/password", headers=pending,
                                    json={"current_password": "Initial#Admin2026", "new_password": "Admin#Now2026"})
    assert changed.status_code == 200
    working = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    for client, path in elsewhere:
        assert (await client.get(path, headers=working)).status_code == 200, path
    # the pending token keeps its restriction until it expires; logging in again gives a full one
    assert (await stack["intake"].get("/api/v1/tickets", headers=pending)).status_code == 403
    again = await login(dispatcher, "ABADMIN", "Admin#Now2026")
    assert again.json()["must_change_password"] is False
