"""Scale-out: two server processes share rooms through the Redis message queue (PostgreSQL + Redis).

A proctor connected to process A watches a room; a candidate signs in and connects on process B;
the proctor sees the candidate's seat come online, pushed from B through Redis to A.
"""
from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from ...conftest import TEST_REDIS, _fresh_pg_database  # noqa: TID252

pytestmark = [pytest.mark.scaled, pytest.mark.slow]
ROOT = pathlib.Path(__file__).resolve().parents[3]


def _port() -> int:
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


def _serve(env, port):
    proc = subprocess.Popen([sys.executable, "-m", "examserver.cli", "serve", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not start")


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    url, drop = _fresh_pg_database()
    env = {**os.environ, "SKILLCERT_DATA_DIR": str(tmp_path_factory.mktemp("scaleout")),
           "SKILLCERT_DATABASE_URL": url, "SKILLCERT_REDIS_URL": TEST_REDIS}
    from examserver import create_app
    from examserver.delivery.demo import build_sitting
    from examserver.demo import load_demo
    from examserver.migrate import upgrade
    upgrade(url)
    app = create_app({"TESTING": True}, env=env)
    with app.extensions["skillcert.db"].write_scope() as s:
        load_demo(s)
        sitting = build_sitting(s, candidates=3)
    app.extensions["skillcert.db"].dispose()
    ports = _port(), _port()
    procs = [_serve(env, p) for p in ports]
    yield [f"http://127.0.0.1:{p}" for p in ports], sitting
    for p in procs:
        p.terminate()
        p.wait(10)
    drop()


def _post(url, body, headers=None):
    import json
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def test_a_proctor_on_one_process_sees_a_candidate_on_the_other(two_processes):
    import socketio as sio
    (a, b), sitting = two_processes
    staff = _post(a + "/api/v1/auth/token", {"username": "proctor", "password": "skillcert-demo"})["token"]
    heard: list[dict] = []
    proctor = sio.Client()
    proctor.on("seats", lambda data: heard.append(data), namespace="/proctor")
    proctor.connect(a, namespaces=["/proctor"], auth={"token": staff}, transports=["websocket"])
    snap = proctor.call("watch", {"session_id": sitting.session_id, "room_id": sitting.room_ids[0]},
                        namespace="/proctor", timeout=10)
    assert "error" not in snap, snap

    ticket, id_number = sitting.tickets[0]
    login = _post(b + "/api/v1/delivery/login", {"ticket_number": ticket, "id_number": id_number,
                                                 "access_code": sitting.access_code, "device_id": "scaleout-1"})
    attempt_id = login["identity"]["attempt_id"]
    candidate = sio.Client()
    candidate.connect(b, namespaces=["/exam"], auth={"token": login["token"]}, transports=["websocket"])
    try:
        deadline = time.monotonic() + 15
        seen = None
        while time.monotonic() < deadline and seen is None:
            for batch in list(heard):
                for seat in batch["seats"]:
                    if seat["attempt_id"] == attempt_id and seat["online"]:
                        seen = seat
            time.sleep(0.1)
        assert seen is not None, f"proctor on A heard {heard!r}"
    finally:
        candidate.disconnect()
        proctor.disconnect()
