"""Socket.IO namespaces of delivery: ``/exam`` for candidates, ``/proctor`` for the room's staff.

``/exam`` authenticates with the attempt token (``auth={"token": …}``) and re-checks the device binding;
``save`` commits before it returns, so the acknowledgement means "stored". Whatever a handler returns is
the ack; errors are ``{"error": {"code", "message", "field", "final"}}`` — ``final`` tells the browser to
drop the change from its outbox (late, submitted, replaced device) instead of resending it.

``/proctor`` authenticates like every staff namespace (token or page cookie); ``watch`` joins one room's
live seat map and returns its snapshot; actions are the same services as the HTTP API.
"""
from __future__ import annotations

import functools
from typing import Any

from flask import current_app, request
from flask_socketio import join_room, leave_room, rooms

from itembank.core.db import utcnow
from itembank.core.errors import DomainError

from ..access import Principal, roles
from ..db import database, db_write
from ..extensions import socketio
from ..realtime import GuardedNamespace, event_sid
from . import behaviour, live, operations as ops, proctoring, tokens
from .models import Attempt

PROCTOR_ROLES = proctoring.PROCTOR_ROLES


def _pause():
    """A cooperative yield when the server runs on gevent (saves that are ready then share a commit)."""
    if socketio.async_mode == "gevent":
        import gevent
        return functools.partial(gevent.sleep, 0)
    return None


def _error(e: DomainError) -> dict[str, Any]:
    return {"error": {"code": e.code, "message": e.message, "field": e.field,
                      "final": bool(getattr(e, "final", False)), **e.details}}


class ExamNamespace(GuardedNamespace):
    """``/exam``: one candidate's attempt per connection."""

    def __init__(self, namespace: str = "/exam"):
        super().__init__(namespace)
        self.claims: dict[str, tokens.AttemptClaims] = {}
        self.where: dict[str, tuple[int, int]] = {}

    def authenticate(self, auth) -> Principal | None:
        token = (auth or {}).get("token") if isinstance(auth, dict) else None
        claims = tokens.verify(token)
        if claims is None:
            return None
        row = ops.attempt_binding(database(), claims.attempt_id)
        if row is None or row[0] != claims.device_id:
            return None
        where = (row[1], row[2])
        self.claims[request.sid] = claims
        self.where[request.sid] = where
        return Principal(account_id=0, grant_id=-1, name=f"attempt {claims.attempt_id}", username="",
                         role="candidate", agency_id=None)

    def on_connect(self, auth=None):
        principal = self.authenticate(auth)
        if principal is None:
            raise ConnectionRefusedError("unauthorized")
        sid = request.sid
        self.principals[sid] = principal
        claims = self.claims[sid]
        live.ensure_loop(current_app._get_current_object())
        where = self.where.pop(sid, (0, 0))
        join_room(live.attempt_room(claims.attempt_id))
        join_room(live.candidates_room(where[0]))
        live.presence.connect(claims.attempt_id, sid, where)  # the seat shows online from the next tick

    def on_disconnect(self, reason=None):
        sid = request.sid
        claims = self.claims.pop(sid, None)
        self.principals.pop(sid, None)
        if claims is None:
            return
        live.presence.disconnect(claims.attempt_id, sid)  # offline from the next tick, if it was the last socket

    light_events = frozenset({"save", "heartbeat", "sync"})

    def _claims(self) -> tokens.AttemptClaims:
        return self.claims[event_sid()]

    @roles("candidate")
    def on_sync(self, data=None):
        """The clock (and status) from the server: the browser re-syncs on connect and every 30 s."""
        c = self._claims()
        db = database()
        return {"clock": ops.clock_hot(db, c.attempt_id, utcnow()), "last_seq": ops.last_seq_hot(db, c.attempt_id),
                "beat_ms": live.presence.beat_ms()}

    @roles("candidate")
    def on_heartbeat(self, data=None):
        """Presence: the ack carries the server time, the remaining time and the pace of the next beats
        (``beat_ms``: every 2.5 s, slower when this process holds more than 1,250 candidates)."""
        c = self._claims()
        live.presence.beat(c.attempt_id)  # a seat whose heartbeat had stopped shows online again from the next tick
        return {"clock": ops.clock_hot(database(), c.attempt_id, utcnow()), "beat_ms": live.presence.beat_ms()}

    @roles("candidate")
    def on_save(self, data=None):
        """One answer change ``{item, seq, response, client_at}``; acked only after the commit."""
        c = self._claims()
        try:
            item, seq, response, client_at = ops.parse_change(data)
            saved = ops.save_change_hot(database(), pause=_pause(), attempt_id=c.attempt_id, device_id=c.device_id, item=item,
                                        seq=seq, response=response, client_at=client_at, now=utcnow())
        except DomainError as e:
            return _error(e)
        if not saved.duplicate:
            live.presence.mark_dirty(c.attempt_id)
        return saved.ack()

    @roles("candidate")
    def on_flag(self, data=None):
        c = self._claims()
        try:
            item = int((data or {}).get("item"))
        except (TypeError, ValueError):
            return {"error": {"code": "bad_item", "message": "item 应为试题编号 (item must be an id)", "field": "item"}}
        try:
            with db_write() as s:
                a = s.get(Attempt, c.attempt_id)
                ops.set_flag(s, a, item=item, flagged=bool((data or {}).get("flagged")), now=utcnow())
        except DomainError as e:
            return _error(e)
        return {"ok": True, "item": item}

    @roles("candidate")
    def on_behaviour(self, data=None):
        """A batch of behaviour events ``{events: [...]}`` (see :mod:`.behaviour`); the ack lists the client seqs
        taken and the warnings to show. Flags go to the room's proctors, never here."""
        c = self._claims()
        try:
            return behaviour.receive(c.attempt_id, c.device_id, data, via="socket").ack()
        except DomainError as e:
            return _error(e)

    @roles("candidate")
    def on_submit(self, data=None):
        c = self._claims()
        if not isinstance(data, dict) or data.get("confirm") is not True:
            return {"error": {"code": "confirm", "message": "请确认交卷 (confirm the submission)", "field": "confirm"}}
        now = utcnow()
        try:
            with db_write() as s:
                a = s.get(Attempt, c.attempt_id)
                if a.device_id != c.device_id:
                    return {"error": {"code": "device_replaced", "message": "本设备已被替换 (device replaced)",
                                      "field": "device_id", "final": True}}
                ops.submit(s, None, a, reason="candidate", now=now)
                state = ops.candidate_state(s, a, now)
        except DomainError as e:
            return _error(e)
        live.push_seat_ids(current_app.extensions["skillcert.db"], [c.attempt_id])
        return {"ok": True, "state": state}


class ProctorNamespace(GuardedNamespace):
    """``/proctor``: the live seat map of a room and the proctor's actions."""

    def connect_allowed(self, principal: Principal) -> bool:
        return principal.role in PROCTOR_ROLES

    def _p(self) -> Principal:
        return self.principals[request.sid]

    light_events = frozenset({"ping"})

    @roles(*PROCTOR_ROLES)
    def on_ping(self, data=None):
        """The dashboard's liveness check (every 10 s): a silently dead link shows as such within 15 s."""
        return {"pong": True}

    @roles(*PROCTOR_ROLES)
    def on_watch(self, data=None):
        """Join one room of one session; returns the seat map snapshot (re-sent on every reconnect)."""
        try:
            session_id, room_id = int((data or {}).get("session_id")), int((data or {}).get("room_id"))
        except (TypeError, ValueError):
            return {"error": {"code": "bad_room", "message": "session_id 与 room_id 应为数字", "field": "room_id"}}
        try:
            snap = proctoring.snapshot(self._p(), session_id, room_id)
        except DomainError as e:
            return _error(e)
        for room in [r for r in list(rooms()) if r.startswith("room:")]:
            leave_room(room)
        join_room(live.proctor_room(session_id, room_id))
        return snap

    @roles(*PROCTOR_ROLES)
    def on_act(self, data=None):
        """``{action, attempt_id | (session_id, room_id), reason, minutes}``: open, pause, resume, extra_time,
        force_submit, authorise_switch, pause_room, resume_room."""
        try:
            return proctoring.act(self._p(), data if isinstance(data, dict) else {})
        except DomainError as e:
            return _error(e)

    @roles(*PROCTOR_ROLES)
    def on_timeline(self, data=None):
        try:
            return proctoring.attempt_timeline(self._p(), int((data or {}).get("attempt_id")))
        except (TypeError, ValueError):
            return {"error": {"code": "bad_attempt", "message": "attempt_id 应为数字", "field": "attempt_id"}}
        except DomainError as e:
            return _error(e)


exam_namespace = ExamNamespace("/exam")
proctor_namespace = ProctorNamespace("/proctor")
NAMESPACES = [exam_namespace, proctor_namespace]
