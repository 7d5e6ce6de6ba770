"""Deny by default: every route and socket event declares who may call it, and undeclared ones are refused."""
from __future__ import annotations

import re

import pytest
from flask import Blueprint

from examserver.access import access_of, public
from examserver.realtime import NAMESPACES

from ..conftest import api_token, login  # noqa: TID252

# Routes open on purpose. Adding one here is a decision, and the reason is printed by the test.
EXPECTED_PUBLIC = {
    "pages.healthz", "pages.login", "api.openapi", "api.create_token", "static",
    # public certificate verification: by exact number only, ID masked, rate-limited (DOMAIN rule 6)
    "api.verify_certificate", "certification.verify_form", "certification.verify_page", "certification.public_key",
    # candidates sign in to the exam with ticket + ID number + access code; the pages are empty shells
    "api.delivery_login", "delivery.exam_login", "delivery.exam_sit",
}


def _routes(app):
    for rule in app.url_map.iter_rules():
        yield rule, app.view_functions[rule.endpoint]


def _url(rule) -> str:
    return re.sub(r"<(?:int:)?[^>]+>", "1", rule.rule)


def test_every_route_declares_its_access(app):
    undeclared = [r.endpoint for r, view in _routes(app) if r.endpoint != "static" and access_of(view) is None]
    assert undeclared == []


def test_public_routes_are_exactly_the_intended_ones_and_say_why(app):
    public_now = {r.endpoint for r, view in _routes(app)
                  if r.endpoint == "static" or access_of(view).kind == "public"}
    assert public_now == EXPECTED_PUBLIC
    for r, view in _routes(app):
        if r.endpoint != "static" and access_of(view).kind == "public":
            assert len(access_of(view).reason) > 10, r.endpoint


def test_attempt_routes_need_a_valid_attempt_token(app, client):
    attempt_routes = [r for r, view in _routes(app) if access_of(view) and access_of(view).kind == "attempt"]
    assert len(attempt_routes) >= 5
    for rule in attempt_routes:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for headers in ({}, {"X-Attempt-Token": "forged.token.value"}):
                r = client.open(_url(rule), method=method, headers=headers, json={} if method != "GET" else None)
                assert r.status_code == 401, (method, rule.rule, headers)


def test_anonymous_callers_are_refused_everywhere_else(app, client):
    checked = 0
    for rule, view in _routes(app):
        if rule.endpoint in EXPECTED_PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = client.open(_url(rule), method=method, json={} if method != "GET" else None)
            if rule.rule.startswith("/api/"):
                assert r.status_code == 401, (method, rule.rule, r.status_code)
                assert r.get_json()["error"]["code"] == "unauthorized"
            else:
                assert r.status_code in (302, 400, 401), (method, rule.rule, r.status_code)
                if r.status_code == 302:
                    assert "/login" in r.headers["Location"]
            checked += 1
    assert checked >= 15


def test_a_candidate_is_refused_every_staff_only_route(app, client, demo):
    headers = api_token(client, "cand001")
    refused = 0
    for rule, view in _routes(app):
        acc = access_of(view)
        if not rule.rule.startswith("/api/") or acc is None or acc.kind != "roles" or "candidate" in acc.roles:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = client.open(_url(rule), method=method, headers=headers, json={} if method != "GET" else None)
            assert r.status_code == 403, (method, rule.rule, r.status_code)
            refused += 1
    assert refused >= 8


def test_an_undeclared_route_is_refused_before_it_runs(env):
    from examserver import create_app
    from examserver.migrate import upgrade
    from itembank.core.config import load_settings
    upgrade(load_settings(env).database_url)
    ran = []
    bp = Blueprint("forgotten", __name__)

    @bp.get("/forgotten")
    def forgotten():
        ran.append(1)
        return "secret"

    @bp.get("/meant-public")
    @public("test of an intentionally public route")
    def meant_public():
        return "hello"

    app = create_app({"TESTING": True}, env=env)
    app.register_blueprint(bp)
    c = app.test_client()
    assert c.get("/forgotten").status_code == 403
    assert ran == []
    assert c.get("/meant-public").data == b"hello"


def test_every_socket_event_declares_its_access():
    for ns in NAMESPACES:
        handlers = [n for n in dir(ns) if n.startswith("on_") and n not in ("on_connect", "on_disconnect")]
        assert handlers, ns.namespace
        for name in handlers:
            assert access_of(getattr(ns, name)) is not None, f"{ns.namespace} {name}"


def test_socket_connect_needs_credentials_and_events_are_guarded(app, client, demo):
    from examserver.extensions import socketio
    anon = socketio.test_client(app, namespace="/staff")
    assert not anon.is_connected("/staff")

    cand = socketio.test_client(app, namespace="/staff", auth={"token": _raw_token(client, "cand001")})
    assert not cand.is_connected("/staff"), "candidates have no business on the staff namespace"

    proctor = socketio.test_client(app, namespace="/staff", auth={"token": _raw_token(client, "proctor")})
    assert proctor.is_connected("/staff")
    assert proctor.emit("ping", {}, namespace="/staff", callback=True)["role"] == "proctor"
    refused = proctor.emit("audit_head", {}, namespace="/staff", callback=True)
    assert refused["error"]["code"] == "forbidden"
    undeclared = proctor.emit("drop_tables", {}, namespace="/staff", callback=True)
    assert undeclared["error"]["code"] == "forbidden"

    admin = socketio.test_client(app, namespace="/staff", auth={"token": _raw_token(client, "admin")})
    head = admin.emit("audit_head", {}, namespace="/staff", callback=True)
    assert head["seq"] > 100


def _raw_token(client, username):
    return api_token(client, username)["Authorization"].split()[1]


def test_page_session_cannot_post_without_csrf(client, demo):
    assert login(client, "admin").status_code == 302
    r = client.post("/role", data={"grant_id": "1"})
    assert r.status_code == 400
    r = client.post("/api/v1/occupations", json={"code": "6-18-01-02", "name": "铣工"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "csrf"


@pytest.mark.parametrize("username,role", [
    ("admin", "admin"), ("auditor", "center_auditor"), ("agency", "agency_admin"), ("writer", "item_writer"),
    ("reviewer", "item_reviewer"), ("proctor", "proctor"), ("chief", "chief_proctor"), ("examiner", "examiner"),
    ("supervisor", "supervisor"), ("cand001", "candidate"),
])
def test_each_demo_account_signs_in_and_lands_on_its_role_page(client, demo, username, role):
    r = login(client, username)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert f'data-role="{role}"' in page.get_data(as_text=True)


def test_pages_speak_chinese_first_and_switch_to_english(client):
    assert "<h1>登录</h1>" in client.get("/login").get_data(as_text=True)
    assert "<h1>Sign in</h1>" in client.get("/login?lang=en").get_data(as_text=True)
    assert "<h1>Sign in</h1>" in client.get("/login").get_data(as_text=True)  # the choice sticks
    assert "<h1>登录</h1>" in client.get("/login?lang=zh_CN").get_data(as_text=True)


def test_the_language_link_offers_the_other_language(client):
    assert ">English</a>" in client.get("/login").get_data(as_text=True)
    assert ">简体中文</a>" in client.get("/login?lang=en").get_data(as_text=True)


def test_a_candidate_lands_on_their_own_registrations_and_tickets(client, demo):
    login(client, "cand001")
    page = client.get("/").get_data(as_text=True)
    tickets = re.findall(r'href="(/[a-z]+/tickets/(\d+)\.pdf)"', page)
    assert tickets, "the demo registers cand001"
    assert client.get(tickets[0][0]).status_code == 200
    mine = {int(n) for _, n in tickets}
    other = next(n for n in range(1, 200) if n not in mine)  # another candidate's registration
    assert client.get(re.sub(r"\d+\.pdf", f"{other}.pdf", tickets[0][0])).status_code in (403, 404)
