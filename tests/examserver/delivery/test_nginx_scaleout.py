"""Scale-out behind nginx (issue #5): two `skillcert serve` processes on PostgreSQL + Redis, Debian's nginx in
front with the configuration `skillcert nginx-config` prints.

Through nginx a proctor on a websocket watches the room while a candidate whose websockets are blocked answers
over long-polling from another address; ip_hash puts the two on different processes (the access log names the
process that answered) and the proctor sees the candidate's progress pushed through Redis. Every polling request
of the candidate reaches the process holding its Engine.IO session; with plain round robin it would not.
Behind nginx the app believes X-Forwarded-For (SKILLCERT_PROXY_COUNT=1): the sign-in throttle is per client.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

from ...conftest import TEST_REDIS, _fresh_pg_database  # noqa: TID252
from ...nginxproc import Nginx, generate, require_nginx, runtime_dir
from .faults import ROOT, free_port

pytestmark = [pytest.mark.scaled, pytest.mark.slow]


def _serve(env, port, log):
    proc = subprocess.Popen([sys.executable, "-m", "examserver.cli", "serve", "--host", "127.0.0.1", "--port",
                             str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        if proc.poll() is not None:
            break
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"server on {port} did not start: see {log.name}")


def _session_from(source: str):
    """A requests session whose connections leave from ``source`` (any 127/8 address is loopback)."""
    import requests
    from requests.adapters import HTTPAdapter

    class FromAddress(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            kwargs["source_address"] = (source, 0)
            super().init_poolmanager(*args, **kwargs)

    s = requests.Session()
    s.trust_env = False  # no proxy from the environment between us and nginx
    s.mount("http://", FromAddress())
    return s


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    require_nginx()
    url, drop = _fresh_pg_database()
    data = tmp_path_factory.mktemp("nginx-scaleout")
    env = {**os.environ, "SKILLCERT_DATA_DIR": str(data), "SKILLCERT_DATABASE_URL": url,
           "SKILLCERT_REDIS_URL": TEST_REDIS, "SKILLCERT_PROXY_COUNT": "1",
           "SKILLCERT_LOGIN_RATE_LIMIT": "3 per minute"}
    from examserver import create_app
    from examserver.delivery.demo import build_sitting
    from examserver.demo import load_demo
    from examserver.migrate import upgrade
    upgrade(url)
    app = create_app({"TESTING": True}, env=env)
    with app.extensions["skillcert.db"].write_scope() as s:
        load_demo(s)
        sitting = build_sitting(s, candidates=3, starts_in=dt.timedelta(minutes=-1), duration_minutes=90)
    app.extensions["skillcert.db"].dispose()

    ports = [free_port(), free_port()]
    logs = [open(data / f"serve-{p}.log", "wb") for p in ports]
    procs, nginxes, dirs = [], [], []
    try:
        procs = [_serve(env, p, log) for p, log in zip(ports, logs)]
        upstreams = [f"127.0.0.1:{p}" for p in ports]

        def start_nginx(edit=lambda text: text) -> Nginx:
            d = runtime_dir()
            dirs.append(d)
            port = free_port()
            args = [a for u in upstreams for a in ("--upstream", u)]
            text = generate(*args, "--listen", f"127.0.0.1:{port}", "--runtime-dir", str(d))
            n = Nginx(edit(text), d, port).start()
            nginxes.append(n)
            return n

        yield {"nginx": start_nginx(), "start_nginx": start_nginx, "upstreams": upstreams, "sitting": sitting}
    finally:
        for n in nginxes:
            n.stop()
        for p in procs:
            p.terminate()
            p.wait(10)
        for log in logs:
            log.close()
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
        drop()


def _upstream_of(nginx: Nginx, source: str) -> str:
    """Which server process nginx sends ``source``'s requests to (from the access log)."""
    r = _session_from(source).get(nginx.url + "/healthz", timeout=10)
    assert r.status_code == 200, r.text
    for _ in range(50):
        hits = [e for e in nginx.access() if e["client"] == source and "/healthz" in e["request"]]
        if hits:
            return hits[-1]["upstream"]
        time.sleep(0.1)
    raise AssertionError(f"no access log line for {source}")


def _wait_for(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(what)


def test_proctor_on_websocket_sees_a_polling_candidate_on_the_other_process(deployment):
    import socketio
    nginx, sitting = deployment["nginx"], deployment["sitting"]
    base = nginx.url

    # ip_hash is by client address: find a loopback address that lands on the other process than 127.0.0.1
    proctor_up = _upstream_of(nginx, "127.0.0.1")
    assert _upstream_of(nginx, "127.0.0.1") == proctor_up  # sticky
    source, cand_up = None, None
    for k in range(1, 40):
        addr = f"127.0.{k}.1"
        up = _upstream_of(nginx, addr)
        if up != proctor_up:
            source, cand_up = addr, up
            break
    assert source, f"every client address went to {proctor_up}: is the upstream balanced at all?"
    assert {proctor_up, cand_up} == set(deployment["upstreams"])

    # the proctor: websocket through nginx, watching the room, opens the session
    staff = _session_from("127.0.0.1").post(base + "/api/v1/auth/token",
                                            json={"username": "proctor", "password": "skillcert-demo"}, timeout=10)
    assert staff.status_code == 200, staff.text
    heard: list[dict] = []
    proctor = socketio.Client()
    proctor.on("seats", lambda data: heard.append(data), namespace="/proctor")
    proctor.connect(base, namespaces=["/proctor"], auth={"token": staff.json()["token"]}, transports=["websocket"],
                    wait_timeout=15)
    assert proctor.transport() == "websocket"
    room = {"session_id": sitting.session_id, "room_id": sitting.room_ids[0]}
    snap = proctor.call("watch", room, namespace="/proctor", timeout=10)
    assert "error" not in snap, snap
    opened = proctor.call("act", {"action": "open", "session_id": sitting.session_id}, namespace="/proctor",
                          timeout=10)
    assert opened.get("ok"), opened

    # the candidate, from the other address: HTTP sign-in and start, then Socket.IO over long-polling only
    http = _session_from(source)
    ticket, id_number = sitting.tickets[0]
    login = http.post(base + "/api/v1/delivery/login", json={"ticket_number": ticket, "id_number": id_number,
                                                             "access_code": sitting.access_code,
                                                             "device_id": "nginx-polling-1"}, timeout=10)
    assert login.status_code == 200, login.text
    token, attempt_id = login.json()["token"], login.json()["identity"]["attempt_id"]
    started = http.post(base + "/api/v1/delivery/attempt/start", headers={"X-Attempt-Token": token}, timeout=10)
    assert started.status_code == 200, started.text
    items = [it["paper_item_id"] for sec in started.json()["paper"]["sections"] for it in sec["items"]]
    assert len(items) >= 5

    drops: list = []
    candidate = socketio.Client(http_session=http, reconnection=False)
    candidate.on("disconnect", lambda *a: drops.append(a), namespace="/exam")
    candidate.connect(base, namespaces=["/exam"], auth={"token": token}, transports=["polling"], wait_timeout=15)
    assert candidate.transport() == "polling"

    def seat():
        """The seat as the dashboard holds it: pushes are merged in order (progress pushes are partial rows)."""
        row = None
        for batch in list(heard):
            for st in batch["seats"]:
                if st["attempt_id"] == attempt_id:
                    row = {**(row or {}), **st}
        return row

    _wait_for(lambda: (seat() or {}).get("online"), 15, f"the proctor never saw the candidate online: {heard!r}")

    def save(seq: int, item: int, response: str) -> None:
        ack = candidate.call("save", {"item": item, "seq": seq, "response": response,
                                      "client_at": int(time.time() * 1000)}, namespace="/exam", timeout=10)
        assert isinstance(ack, dict) and ack.get("ok"), ack

    try:
        # progress shows up live on the proctor's process
        for seq, item in enumerate(items[:3], start=1):
            save(seq, item, "A")
        _wait_for(lambda: (seat() or {}).get("answered") == 3, 15, f"proctor did not see 3 answered: {seat()!r}")
        assert seat()["state"] == "answering"

        # many polling round trips (each save is a POST, its ack comes back on a long-poll GET)
        seq = 3
        for n in range(60):
            seq += 1
            save(seq, items[n % 5], "ABCD"[n % 4])
        _wait_for(lambda: (seat() or {}).get("answered") == 5, 15, f"proctor did not see 5 answered: {seat()!r}")
        assert candidate.connected and not drops, drops
    finally:
        candidate.disconnect()
        proctor.disconnect()

    # the access log: every long-poll of the candidate reached the same process, none was refused;
    # the proctor's websocket (logged when it closed) was served by the other process
    def polls():
        return [e for e in nginx.access() if e["client"] == source and "transport=polling" in e["request"]]
    _wait_for(lambda: len(polls()) >= 100, 10, "fewer polling requests logged than saves made")
    assert {e["upstream"] for e in polls()} == {cand_up}
    assert [e for e in polls() if e["status"] != 200] == []
    ws = _wait_for(lambda: [e for e in nginx.access() if e["client"] == "127.0.0.1"
                            and "transport=websocket" in e["request"]], 10, "the proctor's websocket is not logged")
    assert {e["upstream"] for e in ws} == {proctor_up} and all(e["status"] == 101 for e in ws), ws


def _polling_round_trips(url: str, n: int) -> list[tuple[int, str]]:
    """An Engine.IO long-polling session by hand: the handshake, then ``n`` POSTs of a harmless pong with its sid."""
    http = _session_from("127.0.0.1")
    hs = http.get(url + "/socket.io/", params={"EIO": "4", "transport": "polling"}, timeout=10)
    assert hs.status_code == 200 and hs.text.startswith("0"), hs.text
    sid = json.loads(hs.text[1:])["sid"]
    return [(r.status_code, r.text) for r in (
        http.post(url + "/socket.io/", params={"EIO": "4", "transport": "polling", "sid": sid}, data="3", timeout=10)
        for _ in range(n))]


def test_without_ip_hash_long_polling_loses_its_session(deployment):
    """The control: the same configuration with round robin instead of ip_hash breaks polling sessions."""
    assert _polling_round_trips(deployment["nginx"].url, 6) == [(200, "OK")] * 6
    rr = deployment["start_nginx"](lambda text: text.replace("ip_hash;", "# round robin for the control"))
    got = _polling_round_trips(rr.url, 6)
    assert any(c == 400 and "Invalid session" in t for c, t in got), got
    assert len({e["upstream"] for e in rr.access() if "/socket.io/" in e["request"]}) == 2


def test_the_sign_in_throttle_counts_each_client_behind_nginx(deployment):
    """SKILLCERT_PROXY_COUNT=1: the throttle keys on the X-Forwarded-For nginx appends, not on nginx's address."""
    base = deployment["nginx"].url
    user = f"nobody-{uuid.uuid4().hex[:8]}"  # the limit is per (client, username) in Redis: fresh per run

    def attempt(source):
        return _session_from(source).post(base + "/api/v1/auth/token",
                                          json={"username": user, "password": "wrong-pass"}, timeout=10).status_code
    assert [attempt("127.0.200.1") for _ in range(4)] == [401, 401, 401, 429]
    # another client (a forged X-Forwarded-For does not help the throttled one)
    assert attempt("127.0.201.1") == 401
    forged = _session_from("127.0.200.1").post(base + "/api/v1/auth/token", headers={"X-Forwarded-For": "10.9.9.9"},
                                               json={"username": user, "password": "wrong-pass"}, timeout=10)
    assert forged.status_code == 429
