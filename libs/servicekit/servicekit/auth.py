"""Staff authentication (JWT, HS256) and role checks shared by every service, and channel API keys.

Tokens are issued by the dispatcher (which owns the staff directory and passwords) and verified by
every service with the shared ``JWT_SECRET``. A token with ``pwd_change`` set (first login) is only
accepted by routes that explicitly allow it (the password change itself).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from contracts import StaffRole

from .errors import ApiError


class Principal(BaseModel):
    staff_id: str
    name: str = ""
    roles: frozenset[StaffRole] = Field(default_factory=frozenset)
    team: str | None = None
    must_change_password: bool = False

    def has_any(self, roles: Iterable[StaffRole]) -> bool:
        return bool(self.roles.intersection(roles))


class TokenService:
    def __init__(self, secret: str, *, issuer: str, audience: str, ttl_seconds: int = 8 * 3600) -> None:
        if not secret or len(secret) < 32:
            raise ValueError("JWT_SECRET must be set and at least 32 characters long")
        self._secret = secret
        self.issuer, self.audience, self.ttl = issuer, audience, ttl_seconds

    def issue(self, principal: Principal, *, ttl_seconds: int | None = None, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "sub": principal.staff_id,
            "name": principal.name,
            "roles": sorted(r.value for r in principal.roles),
            "team": principal.team,
            "pwd_change": principal.must_change_password,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=ttl_seconds or self.ttl)).timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=["HS256"], audience=self.audience, issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "token_expired", "the access token has expired") from None
        except jwt.PyJWTError:
            raise ApiError(401, "invalid_token", "the access token is not valid") from None
        try:
            roles = frozenset(StaffRole(r) for r in claims.get("roles", []))
        except ValueError:
            raise ApiError(401, "invalid_token", "the access token names an unknown role") from None
        return Principal(
            staff_id=str(claims["sub"]), name=str(claims.get("name") or ""), roles=roles,
            team=claims.get("team"), must_change_password=bool(claims.get("pwd_change")),
        )


_bearer = HTTPBearer(auto_error=False, description="Staff access token (JWT) from the dispatcher's login.")


def _tokens(request: Request) -> TokenService:
    tokens = getattr(request.app.state, "tokens", None)
    if tokens is None:
        raise ApiError(503, "auth_unavailable", "staff authentication is not configured (JWT_SECRET)")
    return tokens


def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise ApiError(401, "not_authenticated", "a staff bearer token is required")
    principal = _tokens(request).verify(credentials.credentials)
    request.state.principal = principal
    return principal


def require_roles(*roles: StaffRole, allow_password_change: bool = False) -> Callable[..., Principal]:
    """Route dependency: a valid token carrying one of ``roles`` (all roles when none are given)."""
    wanted = frozenset(roles or StaffRole)

    def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.must_change_password and not allow_password_change:
            raise ApiError(403, "password_change_required", "change your password before doing anything else")
        if not principal.has_any(wanted):
            raise ApiError(403, "forbidden", f"this action needs one of the roles: {', '.join(sorted(wanted))}")
        return principal

    # What the route demands, readable from the route's dependency tree (the abuse suite's auth matrix).
    dependency.required_roles = wanted  # type: ignore[attr-defined]
    dependency.allow_password_change = allow_password_change  # type: ignore[attr-defined]
    return dependency


AnyStaff = Annotated[Principal, Depends(require_roles())]
Supervisor = Annotated[Principal, Depends(require_roles(StaffRole.SUPERVISOR, StaffRole.ADMIN))]
Admin = Annotated[Principal, Depends(require_roles(StaffRole.ADMIN))]


# ---------------------------------------------------------------------- channel API keys
def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_revoked_keys(spec: str) -> set[str]:
    """``"KEY,sha256:<hex>,…"`` → the sha256 digests of revoked channel keys. An entry is the key itself
    or its digest (``printf %s KEY | sha256sum``), so a revocation list need not hold live secrets."""
    digests: set[str] = set()
    for item in filter(None, (part.strip() for part in spec.split(","))):
        if item.startswith("sha256:"):
            digest = item.removeprefix("sha256:").lower()
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise ValueError("CHANNEL_API_KEYS_REVOKED: sha256: entries need 64 hex digits")
            digests.add(digest)
        else:
            digests.add(hash_api_key(item))
    return digests


def parse_channel_keys(spec: str, revoked: str = "") -> dict[str, str]:
    """``"web_form=KEY1,email=KEY2"`` → {sha256(KEY): channel}. Keys themselves are never kept. A channel
    may have several keys (rotation). Keys listed in ``revoked`` (:func:`parse_revoked_keys`) are left
    out, so they are refused even while still configured."""
    keys: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        channel, _, key = item.partition("=")
        if not channel or len(key) < 16:
            raise ValueError("CHANNEL_API_KEYS entries are channel=key with keys of at least 16 characters")
        keys[hash_api_key(key)] = channel.strip()
    for digest in parse_revoked_keys(revoked):
        keys.pop(digest, None)
    return keys


def channel_for_key(keys: dict[str, str], presented: str | None) -> str:
    """The channel a presented API key belongs to, compared in constant time; ApiError 401 otherwise."""
    if not presented:
        raise ApiError(401, "missing_api_key", "channel systems authenticate with the X-API-Key header")
    digest = hash_api_key(presented)
    for known, channel in keys.items():
        if hmac.compare_digest(known, digest):
            return channel
    raise ApiError(401, "invalid_api_key", "the API key is unknown or revoked")


ApiKeyHeader = Annotated[str | None, Header(alias="X-API-Key", description="Channel system API key.")]
