"""Behind nginx: X-Forwarded-For names the client only when SKILLCERT_PROXY_COUNT says a proxy is in front.

The sign-in throttle keys on (client address, username), so it shows which address the app believes.
"""
from __future__ import annotations

import pytest

from itembank.core.config import load_settings


def _codes(c, username, addresses):
    return [c.post("/api/v1/auth/token", json={"username": username, "password": "wrong-pass"},
                   headers={"X-Forwarded-For": xff}).status_code for xff in addresses]


def _app(env, **extra):
    from examserver import create_app
    return create_app({"TESTING": True}, env={**env, "SKILLCERT_LOGIN_RATE_LIMIT": "2 per minute", **extra})


def test_forwarded_for_is_ignored_without_a_configured_proxy(env, demo):
    c = _app(env).test_client()
    # a client cannot escape the throttle by naming another address: all three come from the peer address
    assert _codes(c, "auditor", ["10.0.0.1", "10.0.0.1", "10.0.0.2"]) == [401, 401, 429]


def test_one_proxy_forwarded_for_names_the_client(env, demo):
    c = _app(env, SKILLCERT_PROXY_COUNT="1").test_client()
    assert _codes(c, "supervisor", ["10.0.0.1", "10.0.0.1", "10.0.0.1"]) == [401, 401, 429]
    assert _codes(c, "supervisor", ["10.0.0.2"]) == [401]  # another client behind the proxy: its own budget
    # nginx appends the peer it saw ($proxy_add_x_forwarded_for): a forged first entry is not believed
    assert _codes(c, "supervisor", ["10.0.0.9, 10.0.0.1"]) == [429]


@pytest.mark.parametrize("raw", ["x", "-1", "11", "1.5"])
def test_proxy_count_must_be_a_small_non_negative_integer(tmp_path, raw):
    with pytest.raises(ValueError, match="SKILLCERT_PROXY_COUNT"):
        load_settings({"SKILLCERT_DATA_DIR": str(tmp_path), "SKILLCERT_PROXY_COUNT": raw})
    assert load_settings({"SKILLCERT_DATA_DIR": str(tmp_path)}).proxy_count == 0
