"""The scaled profile: PostgreSQL, Redis as broker and message queue, and a real Celery worker process."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from itembank.core.audit import AuditCheckpoint

from ..conftest import TEST_PG, TEST_REDIS, _fresh_pg_database  # noqa: TID252

pytestmark = pytest.mark.scaled
ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """One scaled deployment for the module: its database, data directory, app and a worker process."""
    url, drop = _fresh_pg_database()
    env = {**os.environ, "SKILLCERT_DATA_DIR": str(tmp_path_factory.mktemp("scaled")),
           "SKILLCERT_DATABASE_URL": url, "SKILLCERT_REDIS_URL": TEST_REDIS}
    from examserver import create_app
    from examserver.demo import load_demo
    from examserver.migrate import upgrade
    upgrade(url)
    app = create_app({"TESTING": True}, env=env)
    with app.extensions["skillcert.db"].write_scope() as s:
        load_demo(s)
    log = open(pathlib.Path(env["SKILLCERT_DATA_DIR"]) / "worker.log", "w")
    app.config["TEST_ENV"] = env
    worker = subprocess.Popen([sys.executable, "-m", "examserver.cli", "worker", "--pool=threads",
                               "--concurrency=2", "-n", f"test-{os.getpid()}@%h"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    celery = app.extensions["celery"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not celery.control.ping(timeout=1):
        assert worker.poll() is None, (pathlib.Path(log.name).read_text())[-3000:]
    assert celery.control.ping(timeout=1), "worker did not come up"
    yield app
    worker.terminate()
    worker.wait(20)
    log.close()
    app.extensions["skillcert.db"].dispose()
    drop()


def test_profile_is_scaled_and_health_reports_redis(deployment):
    assert TEST_PG and TEST_REDIS
    settings = deployment.config["SKILLCERT_SETTINGS"]
    assert settings.profile == "scaled"
    body = deployment.test_client().get("/healthz").get_json()
    assert body["db"] is True and body["redis"] is True and body["profile"] == "scaled"


def test_a_real_worker_signs_a_checkpoint_through_the_redis_broker(deployment):
    from examserver.tasks.audit import checkpoint
    from itembank.core import audit
    from itembank.core.audit import SYSTEM
    db = deployment.extensions["skillcert.db"]
    with db.write_scope() as s:
        audit.record(s, SYSTEM, "test.touch", "thing", 1, {"why": "move the head past the demo checkpoint"})
    result = checkpoint.delay()
    assert not deployment.extensions["celery"].conf.task_always_eager
    out = result.get(timeout=30)
    with db.read_scope() as s:
        head = s.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1))
        rep = audit.verify(s, deployment.extensions["skillcert.signer"].public_key)
    # (the worker's beat may audit its own work meanwhile, e.g. report reminders, so the head can move on)
    assert out["seq"] <= head.seq <= rep.head_seq and rep.ok
    again = checkpoint.delay().get(timeout=30)  # safe to run twice: never two checkpoints of one head
    assert again["seq"] >= out["seq"]
    with db.read_scope() as s:
        assert len(s.scalars(select(AuditCheckpoint).where(AuditCheckpoint.seq == out["seq"])).all()) == 1


def test_login_rate_limit_is_shared_through_redis(deployment):
    from examserver import create_app
    env = {"SKILLCERT_DATA_DIR": deployment.config["SKILLCERT_SETTINGS"].data_dir.as_posix(),
           "SKILLCERT_DATABASE_URL": deployment.config["SKILLCERT_SETTINGS"].database_url,
           "SKILLCERT_REDIS_URL": TEST_REDIS, "SKILLCERT_LOGIN_RATE_LIMIT": "4 per minute"}
    a, b = create_app({"TESTING": True}, env=env), create_app({"TESTING": True}, env=env)
    import redis
    redis.Redis.from_url(TEST_REDIS).flushdb()
    ca, cb = a.test_client(), b.test_client()
    body = {"username": "admin", "password": "wrong-password"}
    codes = [c.post("/api/v1/auth/token", json=body).status_code for c in (ca, cb, ca, cb, ca, cb)]
    assert codes == [401, 401, 401, 401, 429, 429]  # two server processes, one shared budget


def test_a_worker_task_reaches_a_browser_on_a_server_process_through_the_message_queue(deployment):
    """A staff client connected to a served process hears the checkpoint a Celery worker signed."""
    import socket as pysocket
    import urllib.request

    import socketio as sio_client

    from examserver.tasks.audit import checkpoint
    from itembank.core import audit
    from itembank.core.audit import SYSTEM
    env = deployment.config["TEST_ENV"]
    with pysocket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "examserver.cli", "serve", "--port", str(port)], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        token = deployment.test_client().post("/api/v1/auth/token", json={
            "username": "auditor", "password": "skillcert-demo"}).get_json()["token"]
        heard = []
        client = sio_client.Client()
        client.on("audit_checkpoint", lambda data: heard.append(data), namespace="/staff")
        client.connect(base, namespaces=["/staff"], auth={"token": token}, transports=["websocket"])
        with deployment.extensions["skillcert.db"].write_scope() as s:
            audit.record(s, SYSTEM, "test.touch", "thing", 2, {"why": "a new head to sign"})
        signed = checkpoint.delay().get(timeout=30)
        for _ in range(50):
            if heard:
                break
            time.sleep(0.1)
        client.disconnect()
        assert heard and heard[0]["seq"] == signed["seq"]
    finally:
        server.terminate()
        server.wait(10)
