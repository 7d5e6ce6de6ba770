"""A seated theory sitting on top of the demo data, and a candidate helper speaking HTTP + Socket.IO."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from examserver.delivery import rules

_devices = itertools.count(1)


@pytest.fixture
def sitting(db, demo):
    from examserver.delivery import live
    from examserver.delivery.demo import build_sitting
    live.presence.__init__()  # per-process state; attempt ids repeat across test databases
    with db.write_scope() as s:
        return build_sitting(s, candidates=6, starts_in=dt.timedelta(minutes=20))


class Candidate:
    """One candidate's browser: every JSON payload it receives is kept in ``seen`` for the secrets check."""

    def __init__(self, app, sitting, index=0, device=None):
        self.app, self.sitting = app, sitting
        self.ticket, self.id_number = sitting.tickets[index]
        self.device = device or f"device-{next(_devices):06d}"
        self.http = app.test_client()
        self.seen: list = []
        self.sock = None
        self.token = None

    def login(self, access_code=None, expect=200):
        r = self.http.post("/api/v1/delivery/login", json={
            "ticket_number": self.ticket, "id_number": self.id_number,
            "access_code": access_code or self.sitting.access_code, "device_id": self.device})
        self.seen.append(r.get_json())
        assert r.status_code == expect, r.get_json()
        if r.status_code == 200:
            self.token = r.get_json()["token"]
        return r.get_json()

    def call(self, path, method="GET", json=None, expect=200):
        r = self.http.open("/api/v1/delivery" + path, method=method, json=json, headers={"X-Attempt-Token": self.token})
        body = r.get_json() if r.is_json else None
        self.seen.append(body)
        assert r.status_code == expect, (path, r.status_code, body)
        return body

    def connect(self):
        from examserver.extensions import socketio
        self.sock = socketio.test_client(self.app, namespace="/exam", auth={"token": self.token})
        return self.sock.is_connected("/exam")

    def emit(self, event, data=None):
        ack = self.sock.emit(event, data or {}, namespace="/exam", callback=True)
        self.seen.append(ack)
        return ack

    def received(self):
        got = self.sock.get_received("/exam")
        self.seen.extend(got)
        return got

    def items(self, paper):
        return [it for sec in paper["sections"] for it in sec["items"]]

    def secrets(self):
        if self.sock is not None:
            self.received()
        return rules.find_secrets(self.seen)
