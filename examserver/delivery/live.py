"""Live pushes and the per-process housekeeping loop.

Rooms: a candidate's sockets join ``attempt:<id>`` on ``/exam``; proctors watching a room join
``room:<session>:<room>`` on ``/proctor``. Emits go through Flask-SocketIO, so in the scaled profile they
travel through the Redis message queue to whichever process holds the socket. Redis is never on the
answer path: a save commits to the database and is acknowledged directly; pushes (pause, extra time,
progress) are hints, and clients re-sync from the database (``sync`` / ``watch``).

Each server process runs :func:`loop` (every second): it sends the proctor rooms the seats whose progress
changed (saves only mark an attempt dirty, so the hot path emits nothing), notices candidates whose
heartbeat stopped (offline within ~12 s even while the socket lingers), touches ``last_seen_at`` in bulk,
marks stale "online" rows of dead processes offline, and submits attempts whose deadline plus grace has
passed — whether or not their browser is still there.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask
from sqlalchemy import select, update

from itembank.core.db import utcnow

from ..extensions import socketio
from . import operations as ops
from .models import Attempt

log = logging.getLogger("skillcert.delivery")
HEARTBEAT_TIMEOUT = 12.0   # s without a heartbeat (at the fastest pace): the seat shows offline
BEAT_MS_MIN, BEAT_MS_MAX = 2_500, 10_000
BEATS_PER_S_BUDGET = 500   # the most heartbeats a second this process asks its candidates for
STALE_AFTER = 40.0         # s since last_seen_at in the DB: another (dead) process's candidate is offline


def beat_interval_ms(connected: int) -> int:
    """The heartbeat pace this process asks of its browsers (the heartbeat and sync acks carry it).

    Every 2.5 s while it holds up to 1,250 candidates; beyond that slower, so that heartbeats never cost more
    than ~500 events a second (5,000 candidates: every 10 s). Each heartbeat is a full Socket.IO round trip:
    at 5,000 candidates beating every 2.5 s even the bare Flask-SocketIO echo server fell behind on 2 cores
    (bench.delivery: 988 of 2,000 beats/s, ack p99 4 s), and answers would wait behind presence. A seat's
    silence is judged against the pace in force (:func:`silence_limit_s`).
    """
    return int(min(BEAT_MS_MAX, max(BEAT_MS_MIN, connected * 1000 / BEATS_PER_S_BUDGET)))


def silence_limit_s(connected: int) -> float:
    """Seconds without a heartbeat before a seat counts as offline: 12 s at the fastest pace, 3 beats beyond."""
    return max(HEARTBEAT_TIMEOUT, 3 * beat_interval_ms(connected) / 1000)


def proctor_room(session_id: int, room_id: int) -> str:
    return f"room:{session_id}:{room_id}"


def candidates_room(session_id: int) -> str:
    return f"session:{session_id}"


def attempt_room(attempt_id: int) -> str:
    return f"attempt:{attempt_id}"


class Presence:
    """This process's view of its candidates' sockets and heartbeats."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sockets: dict[int, set[str]] = {}     # attempt -> sids on this process
        self.beats: dict[int, float] = {}          # attempt -> monotonic time of last heartbeat
        self.where: dict[int, tuple[int, int]] = {}  # attempt -> (session, room)
        self.online: set[int] = set()              # attempts this process has marked online
        self.dirty: set[int] = set()               # attempts whose progress changed since the last push
        self.touched: set[int] = set()             # attempts seen since the last last_seen_at update
        self.transitions: list[tuple[int, bool, Any]] = []  # (attempt, online, at) not yet in the database

    def connect(self, attempt_id: int, sid: str, where: tuple[int, int], now=None) -> None:
        """A socket of the attempt connected here; the seat's "online" is written by the next :func:`tick`
        (a reconnect storm of a whole room then costs one transaction, not one per socket)."""
        with self.lock:
            self.sockets.setdefault(attempt_id, set()).add(sid)
            self.beats[attempt_id] = time.monotonic()
            self.where[attempt_id] = where
            self.online.add(attempt_id)
            self.transitions.append((attempt_id, True, now or utcnow()))

    def disconnect(self, attempt_id: int, sid: str, now=None) -> bool:
        """True when this was the attempt's last socket here (the seat goes offline at the next tick)."""
        with self.lock:
            sids = self.sockets.get(attempt_id, set())
            sids.discard(sid)
            if sids:
                return False
            self.sockets.pop(attempt_id, None)
            self.beats.pop(attempt_id, None)
            self.online.discard(attempt_id)
            self.transitions.append((attempt_id, False, now or utcnow()))
            return True

    def beat(self, attempt_id: int) -> bool:
        """Record a heartbeat; True when the seat was offline (heartbeat had stopped) and is back."""
        with self.lock:
            self.beats[attempt_id] = time.monotonic()
            self.touched.add(attempt_id)
            if attempt_id not in self.online and attempt_id in self.sockets:
                self.online.add(attempt_id)
                self.transitions.append((attempt_id, True, utcnow()))
                return True
            return False

    def beat_ms(self) -> int:
        return beat_interval_ms(len(self.sockets))

    def mark_dirty(self, attempt_id: int) -> None:
        self.dirty.add(attempt_id)  # set.add is atomic under the GIL

    def take(self) -> tuple[set[int], set[int], list[int], list[tuple[int, bool, Any]]]:
        now = time.monotonic()
        with self.lock:
            dirty, self.dirty = self.dirty, set()
            touched, self.touched = self.touched, set()
            limit = silence_limit_s(len(self.sockets))
            silent = [a for a in list(self.online) if now - self.beats.get(a, now) > limit]
            for a in silent:
                self.online.discard(a)
            transitions, self.transitions = self.transitions, []
        return dirty, touched, silent, transitions


presence = Presence()


def push_seats(s, attempts: list[Attempt], now, online: dict[int, bool] | None = None) -> None:
    by_room: dict[tuple[int, int], list[dict[str, Any]]] = {}
    counts = ops.answered_counts(s, [a.id for a in attempts])
    for a in attempts:
        on = (online or {}).get(a.id)
        by_room.setdefault((a.session_id, a.room_id), []).append(ops.seat_out(s, a, now, counts.get(a.id, 0), on))
    for (se, room), rows in by_room.items():
        socketio.emit("seats", {"seats": rows, "server_now": now.isoformat() + "Z"}, to=proctor_room(se, room),
                      namespace="/proctor")


def push_seat_ids(db, ids: list[int], online: dict[int, bool] | None = None) -> None:
    if not ids:
        return
    now = utcnow()
    with db.read_scope() as s:
        rows = list(s.scalars(select(Attempt).where(Attempt.id.in_(ids))))
        push_seats(s, rows, now, online)


def tell_candidate(attempt_id: int, event: str, data: dict[str, Any]) -> None:
    """A hint to the candidate's browser (it re-syncs its clock from the server on receipt)."""
    socketio.emit(event, data, to=attempt_room(attempt_id), namespace="/exam")


def push_progress(db, ids: list[int]) -> None:
    """The answered count of seats whose answers changed (merged into the proctor's seat rows)."""
    if not ids:
        return
    now = utcnow()
    by_room: dict[tuple[int, int], list[dict[str, Any]]] = {}
    with db.read_scope() as s:
        for attempt_id, seat_id, session_id, room_id, answered in ops.progress_rows(s, ids):
            by_room.setdefault((session_id, room_id), []).append(
                {"attempt_id": attempt_id, "seat_id": seat_id, "answered": answered})
    for (se, room), rows in by_room.items():
        socketio.emit("seats", {"seats": rows, "server_now": now.isoformat() + "Z"}, to=proctor_room(se, room),
                      namespace="/proctor")


def tick(app: Flask, *, now=None, submit_every: int = 1) -> dict[str, list[int]]:
    """One round of housekeeping (the loop calls it each second; tests call it directly).

    It runs on the server's event loop between socket events, so every step is one cheap statement:
    reads decide first, a write transaction is only taken when something changed, and the loop yields to
    waiting events between steps.
    """
    import datetime as dt
    db = app.extensions["skillcert.db"]
    now = now or utcnow()
    dirty, touched, silent, transitions = presence.take()
    out: dict[str, list[int]] = {"silent": silent, "stale": [], "submitted": []}
    transitions += [(a, False, now) for a in silent]
    changed: set[int] = set()
    if transitions:
        with db.write_scope() as s:
            changed |= ops.mark_presence_many(s, transitions)
        socketio.sleep(0)
    if touched:
        with db.read_scope() as s:  # beating here but offline in the database (e.g. another process's late
            healed = [a for a in s.scalars(select(Attempt.id).where(  # "offline" after a switch): online again
                Attempt.id.in_(list(touched)), Attempt.online.is_(False))) if a in presence.online]
        with db.write_scope() as s:
            if healed:
                changed |= ops.mark_presence_many(s, [(a, True, now) for a in healed])
            s.execute(update(Attempt).where(Attempt.id.in_(list(touched)), Attempt.online.is_(True))
                      .values(last_seen_at=now).execution_options(synchronize_session=False))
        socketio.sleep(0)
    if submit_every:
        with db.read_scope() as s:
            stale = list(s.scalars(select(Attempt.id).where(
                Attempt.online.is_(True), Attempt.last_seen_at < now - dt.timedelta(seconds=STALE_AFTER))))
            stale = [a for a in stale if a not in presence.sockets]
            overdue = ops.overdue_ids(s, now=now)
        socketio.sleep(0)
        if stale or overdue:
            with db.write_scope() as s:
                if stale:  # in bulk: after a restart a whole sitting can be stale at once
                    ops.mark_presence_many(s, [(a, False, now) for a in stale])
                out["stale"] = stale
                out["submitted"] = ops.submit_overdue(s, now=now, ids=overdue)
        for a in out["submitted"]:
            tell_candidate(a, "submitted", {"reason": "deadline"})
        changed |= set(out["stale"]) | set(out["submitted"])
    if changed:
        push_seat_ids(db, sorted(changed))
    push_progress(db, sorted(dirty - changed))
    return out


_started: set[int] = set()
_start_lock = threading.Lock()


def ensure_loop(app: Flask) -> None:
    """Start this process's housekeeping loop once (not under TESTING: tests call :func:`tick`)."""
    if app.testing:
        return
    import os
    with _start_lock:
        if os.getpid() in _started:
            return
        _started.add(os.getpid())

    def run():
        n = 0
        while True:
            socketio.sleep(1.0)
            n += 1
            try:
                with app.app_context():
                    tick(app, submit_every=1 if n % 5 == 0 else 0)
            except Exception:  # noqa: BLE001 - the loop must survive a bad round
                log.exception("delivery housekeeping round failed")

    socketio.start_background_task(run)
