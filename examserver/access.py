"""Deny-by-default access control for routes and socket events.

Every view function and every socket event handler declares who may call it with one of
:func:`public` (with the reason it is open), :func:`signed_in` or :func:`roles`. A route
that declares nothing is refused with 403 before it runs, so forgetting a declaration
can never open a route; ``tests/examserver/test_access.py`` walks the route table and the
socket namespaces to prove every entry is declared.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

from flask import abort, current_app, g, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from itembank.core.audit import Actor
from itembank.core.people import ROLES, Account, RoleGrant

TOKEN_MAX_AGE = 12 * 3600
# Endpoints Flask itself adds; they only serve files from the asset folder.
FRAMEWORK_PUBLIC = {"static"}


@dataclasses.dataclass(frozen=True)
class Access:
    kind: str  # 'public' | 'signed_in' | 'roles' | 'attempt'
    roles: frozenset[str] = frozenset()
    reason: str = ""

    def allows(self, principal: Principal | None) -> bool:
        if self.kind == "public":
            return True
        if principal is None:
            return False
        return self.kind == "signed_in" or principal.role in self.roles


def _declare(access: Access) -> Callable:
    def deco(fn):
        fn._access = access
        return fn
    return deco


def public(reason: str) -> Callable:
    """Open to anyone, on purpose; ``reason`` says why (it shows in the role test's report)."""
    if not reason:
        raise ValueError("a public route must say why it is public")
    return _declare(Access("public", reason=reason))


def signed_in() -> Callable:
    return _declare(Access("signed_in"))


def roles(*names: str) -> Callable:
    unknown = set(names) - set(ROLES)
    if unknown or not names:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return _declare(Access("roles", frozenset(names)))


def attempt_holder() -> Callable:
    """Only the holder of a valid exam-attempt token (header ``X-Attempt-Token``): candidates sit the exam
    with their admission ticket, ID number and the session access code, not with an account. The token
    is checked by the verifier the delivery area registers, before the view runs; the claims are in
    ``g.attempt_claims``."""
    return _declare(Access("attempt"))


_attempt_verifier: Callable[[str | None], object | None] | None = None


def register_attempt_verifier(verify: Callable[[str | None], object | None]) -> None:
    global _attempt_verifier
    _attempt_verifier = verify


def access_of(fn) -> Access | None:
    return getattr(fn, "_access", None)


@dataclasses.dataclass(frozen=True)
class Principal:
    """The account and the one role it is acting in for this request."""

    account_id: int
    grant_id: int
    name: str
    username: str
    role: str
    agency_id: int | None

    @property
    def actor(self) -> Actor:
        return Actor(self.account_id, self.name, self.role)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="skillcert-api-token")


def issue_token(account: Account, grant: RoleGrant) -> str:
    return _serializer().dumps({"a": account.id, "g": grant.id, "v": account.token_version})


def principal_for(s, account_id: int, grant_id: int, token_version: int) -> Principal | None:
    acc = s.get(Account, account_id)
    grant = s.get(RoleGrant, grant_id)
    if (acc is None or not acc.active or acc.token_version != token_version or grant is None
            or grant.account_id != acc.id or grant.revoked_at is not None):
        return None
    return Principal(acc.id, grant.id, acc.person.name, acc.username, grant.role, grant.agency_id)


def principal_from_token(s, token: str | None) -> Principal | None:
    if not token:
        return None
    try:
        data = _serializer().loads(token, max_age=TOKEN_MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not {"a", "g", "v"} <= set(data):
        return None
    return principal_for(s, data["a"], data["g"], data["v"])


def load_principal(s) -> Principal | None:
    """From a Bearer token (API, scripts) or else the session cookie (pages)."""
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        g.auth_by_token = True
        return principal_from_token(s, auth[7:].strip())
    g.auth_by_token = False
    if "account_id" in session:
        return principal_for(s, session["account_id"], session.get("grant_id", -1), session.get("token_version", -1))
    return None


def enforce() -> None:
    """before_request hook: refuse any request whose endpoint is undeclared or not allowed."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in FRAMEWORK_PUBLIC:
        return
    view = current_app.view_functions.get(endpoint)
    access = access_of(view)
    if access is None:
        current_app.logger.error("route %s has no access declaration; refused", endpoint)
        abort(403)
    if access.kind == "attempt":
        claims = _attempt_verifier(request.headers.get("X-Attempt-Token")) if _attempt_verifier else None
        if claims is None:
            abort(401)
        g.attempt_claims = claims
        return
    if not access.allows(g.principal):
        abort(401 if g.principal is None else 403)


def require_agency(agency_id: int | None) -> None:
    """Agency-scoped staff may only act within their own agency; global roles anywhere."""
    p: Principal = g.principal
    if p.role in ("admin", "center_auditor"):
        return
    if agency_id is None or p.agency_id != agency_id:
        abort(403)
