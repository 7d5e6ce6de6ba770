"""Attempt tokens: what a candidate's browser holds after signing in with ticket + ID number + access code.

Signed with the app secret (itsdangerous, like :mod:`examserver.access`) under its own salt, so an
attempt token is never accepted as a staff API token or the other way round. It names one attempt and
the device bound to it; the server re-checks the binding on every save.
"""
from __future__ import annotations

import dataclasses

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

MAX_AGE = 12 * 3600


@dataclasses.dataclass(frozen=True)
class AttemptClaims:
    attempt_id: int
    device_id: str
    person_id: int


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="skillcert-attempt-token")


def issue(attempt_id: int, device_id: str, person_id: int) -> str:
    return _serializer().dumps({"t": attempt_id, "d": device_id, "p": person_id})


def verify(token: str | None) -> AttemptClaims | None:
    if not token or not isinstance(token, str) or len(token) > 500:
        return None
    try:
        data = _serializer().loads(token, max_age=MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not {"t", "d", "p"} <= set(data):
        return None
    return AttemptClaims(int(data["t"]), str(data["d"]), int(data["p"]))
