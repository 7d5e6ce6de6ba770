"""Shared fixtures.

Each test that needs the app gets a fresh data directory and database. The database is
SQLite by default; when SKILLCERT_TEST_DATABASE_URL names a PostgreSQL server (the CI's
scaled pass), tests marked ``db`` run there instead, each in a fresh database.
"""
from __future__ import annotations

import os
import re

import pytest

from itembank.core.audit import SYSTEM

SCALED_PASS = os.environ.get("SKILLCERT_TEST_PROFILE") == "scaled"
TEST_PG = os.environ.get("SKILLCERT_TEST_DATABASE_URL") if SCALED_PASS else None
TEST_REDIS = os.environ.get("SKILLCERT_TEST_REDIS_URL") if SCALED_PASS else None
DB_FIXTURES = {"app", "db", "client", "demo", "env"}


def pytest_collection_modifyitems(config, items):
    """Tests that touch the database are ``db`` tests: the scaled pass runs them again on PostgreSQL."""
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
        if item.get_closest_marker("scaled") and not SCALED_PASS:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL + Redis + a Celery worker: runs in the "
                                                    "scaled pass (SKILLCERT_TEST_PROFILE=scaled, see .ci/run)"))


def _fresh_pg_database(template: str | None = None) -> tuple[str, callable]:
    from tests.pgscratch import create_database
    return create_database(TEST_PG, "sc_test", template)


@pytest.fixture(scope="session")
def _templates(tmp_path_factory):
    """Deployments built once per test session and copied per test: 'schema' (migrated, empty) and 'demo'.

    A copy includes the data directory (secret and signing keys, so the demo's signed audit
    checkpoints and certificates verify) and the database (a SQLite file, or on PostgreSQL a
    database created from a template database).
    """
    built: dict[str, tuple[str, str | None]] = {}
    drops = []

    def get(kind: str) -> tuple[str, str | None]:
        if kind not in built:
            import shutil
            d = tmp_path_factory.mktemp(f"template-{kind}") / "data"
            env = {"SKILLCERT_DATA_DIR": str(d)}
            pg_name = None
            if TEST_PG:
                url, drop = _fresh_pg_database()
                drops.append(drop)
                env["SKILLCERT_DATABASE_URL"] = url
                pg_name = url.rsplit("/", 1)[1]
            from examserver import create_app
            from examserver.migrate import upgrade
            from itembank.core.config import load_settings
            upgrade(load_settings(env).database_url)
            if kind == "demo":
                from examserver.demo import load_demo
                app = create_app(env=env)
                with app.extensions["skillcert.db"].write_scope() as s:
                    DEMO_LOGINS[:] = load_demo(s)
                app.extensions["skillcert.db"].dispose()
            for f in d.glob("*.writelock"):
                f.unlink()
            shutil.rmtree(d / "__pycache__", ignore_errors=True)
            built[kind] = (str(d), pg_name)
        return built[kind]

    yield get
    for drop in drops:
        drop()


DEMO_LOGINS: list = []


@pytest.fixture
def env(tmp_path, request, _templates):
    """Environment of a fresh deployment: its own data directory and database, already migrated
    (and holding the demo data when the test asks for ``demo``); PostgreSQL in the scaled pass."""
    import shutil
    kind = "demo" if "demo" in request.fixturenames else "schema"
    src, pg_template = _templates(kind)
    data = tmp_path / "data"
    shutil.copytree(src, data)
    e = {"SKILLCERT_DATA_DIR": str(data), "SKILLCERT_LOGIN_RATE_LIMIT": "1000 per minute"}
    drop = None
    if TEST_PG:
        e["SKILLCERT_DATABASE_URL"], drop = _fresh_pg_database(template=pg_template)
    if TEST_REDIS and request.node.get_closest_marker("scaled"):
        e["SKILLCERT_REDIS_URL"] = TEST_REDIS
    yield e
    if drop:
        drop()


@pytest.fixture
def app(env):
    from examserver import create_app
    application = create_app({"TESTING": True}, env=env)
    yield application
    application.extensions["skillcert.db"].dispose()


@pytest.fixture
def db(app):
    return app.extensions["skillcert.db"]


@pytest.fixture
def demo(env):
    """The demo data set (copied from a session-wide build); returns the demo logins."""
    return list(DEMO_LOGINS)


@pytest.fixture
def client(app):
    return app.test_client()


class Factory:
    """Short ways to make domain objects in tests (each audited, like the real thing)."""

    def __init__(self, db):
        self.db = db
        self.n = 0

    def resident_id(self) -> str:
        from itembank.core.idcard import resident_check_digit
        self.n += 1
        first = f"41010219900101{self.n:03d}"
        return first + resident_check_digit(first)

    def agency(self, s, code="0007", category="S", name="测试评价机构"):
        from itembank.core import directory
        return directory.create_agency(s, SYSTEM, name=name, category=category, agency_code=code)

    def user(self, s, role, agency=None, username=None, password="correct horse", held_level=None, title=""):
        from itembank.core import directory
        self.n += 1
        p = directory.create_person(s, SYSTEM, name=f"测试{self.n}", id_number=self.resident_id())
        acc = directory.create_account(s, SYSTEM, p, username=username or f"u{self.n}", password=password)
        directory.grant_role(s, SYSTEM, acc, role=role, agency=agency, held_level=held_level, title=title)
        return acc


@pytest.fixture
def make(db):
    return Factory(db)


def login(client, username, password="skillcert-demo"):
    """Sign in through the real login form, CSRF token included."""
    page = client.get("/login")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def api_token(client, username, password="skillcert-demo", role=None):
    body = {"username": username, "password": password}
    if role:
        body["role"] = role
    r = client.post("/api/v1/auth/token", json=body)
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


@pytest.fixture(scope="session")
def _demo_build(tmp_path_factory):
    """`skillcert init && skillcert demo` by the CLI, once per test session (browser tests copy it)."""
    from .served import build_demo
    return build_demo(tmp_path_factory.mktemp("served-template") / "data")


@pytest.fixture(scope="session")
def served_demo(_demo_build, tmp_path_factory):
    """Factory: ``served_demo(name)`` copies the demo build and serves it (`skillcert serve`, gevent) until the
    session ends; call it from a module-scoped fixture so each module gets its own deployment."""
    from .served import serve_copy
    started = []

    def start(name: str):
        s = serve_copy(_demo_build, tmp_path_factory.mktemp(f"served-{name}") / "data")
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture(scope="module")
def browser():
    """A headless Debian Chromium per test module (tests open their own contexts). Not per session: Playwright's
    sync API keeps an asyncio loop running in this thread while it is open, and later tests use asyncio.run."""
    from .served import ARGS, CHROMIUM
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/services.sh does)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
