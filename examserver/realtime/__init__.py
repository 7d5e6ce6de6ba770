"""Socket.IO namespaces, one per audience, with deny-by-default event dispatch.

A namespace authenticates in ``on_connect(auth)`` with the same bearer token as the API
(or the page's session cookie) and refuses with ``ConnectionRefusedError``. Every
``on_<event>`` handler carries an access declaration from :mod:`examserver.access`;
:class:`GuardedNamespace` refuses undeclared events and events the caller's role may not send.
"""
from __future__ import annotations

import contextvars
import logging

from flask import current_app, request, session
from flask_socketio import Namespace, join_room

from .. import __version__
from ..access import Principal, access_of, principal_for, principal_from_token, roles, signed_in
from ..extensions import socketio


log = logging.getLogger("skillcert.realtime")
_event_sid: contextvars.ContextVar[str | None] = contextvars.ContextVar("skillcert_event_sid", default=None)


def event_sid() -> str:
    """The Socket.IO sid of the event being handled, in a light event (no request context) or any other."""
    sid = _event_sid.get()
    return sid if sid is not None else request.sid


def spread_pings(eio) -> None:
    """Wait a random 50–100 % of the ping interval before each Engine.IO ping (python-engineio waits exactly
    ``ping_interval`` after each pong, in ``Socket._send_ping``, through ``server.sleep``).

    A room that signs in within seconds is otherwise pinged within the same seconds every 25 s, for the whole
    exam: 5,000 pings and pongs at once on top of the answer saves (bench.delivery: the slowest acks of a
    5,000-candidate run fell in those bursts). An early ping is always within the protocol (the client waits
    ``ping_interval + ping_timeout``); the server's own timeout check is unchanged.
    """
    import random
    plain = eio.sleep
    if getattr(plain, "spread", False):
        return

    def sleep(seconds=0):
        if seconds and seconds == eio.ping_interval:
            seconds *= random.uniform(0.5, 1.0)
        return plain(seconds)
    sleep.spread = True
    eio.sleep = sleep


class GuardedNamespace(Namespace):
    """Stores the caller's principal per connection and checks each event's declaration."""

    principals: dict[str, Principal | None]

    def __init__(self, namespace: str):
        super().__init__(namespace)
        self.principals = {}

    def authenticate(self, auth) -> Principal | None:
        db = current_app.extensions["skillcert.db"]
        with db.read_scope() as s:
            token = (auth or {}).get("token") if isinstance(auth, dict) else None
            if token:
                return principal_from_token(s, token)
            if "account_id" in session:
                return principal_for(s, session["account_id"], session.get("grant_id", -1),
                                     session.get("token_version", -1))
        return None

    def trigger_event(self, event, *args):
        if event in ("connect", "disconnect"):
            return super().trigger_event(event, *args)
        handler = getattr(self, "on_" + (event or ""), None)
        access = access_of(handler) if handler is not None else None

        def guarded(*a):
            # runs inside Flask-SocketIO's request context, where request.sid is known
            if access is None or not access.allows(self.principals.get(request.sid)):
                return {"error": {"code": "forbidden", "message": f"event {event!r} not allowed"}}
            return handler(*a)

        if event in self.light_events and handler is not None:
            return self._light_event(handler, access, event, *args)
        return self.socketio._handle_event(guarded, event, self.namespace, *args)

    #: Events handled in an application context only: the handler reads its caller from :func:`event_sid`
    #: and touches neither ``request`` nor ``session``. Flask-SocketIO builds a whole request context per
    #: event (a request object, URL adapter, session, teardown), about a fifth of the server's time per
    #: answer save under load.
    light_events: frozenset[str] = frozenset()

    def _light_event(self, handler, access, event, sid, *args):
        environ = self.socketio.server.get_environ(sid, namespace=self.namespace)
        if not environ:
            return None  # the connection is gone (as Flask-SocketIO does: nothing to answer)
        if access is None or not access.allows(self.principals.get(sid)):
            return {"error": {"code": "forbidden", "message": f"event {event!r} not allowed"}}
        token = _event_sid.set(sid)
        try:
            with environ["flask.app"].app_context():
                return handler(*args)
        except Exception:  # noqa: BLE001 - the client gets an answer instead of waiting for its timeout
            log.exception("%s event %r failed", self.namespace, event)
            return {"error": {"code": "internal", "message": "服务器内部错误，请重试 (internal error: please retry)"}}
        finally:
            _event_sid.reset(token)

    def on_connect(self, auth=None):
        principal = self.authenticate(auth)
        if principal is None or not self.connect_allowed(principal):
            raise ConnectionRefusedError("unauthorized")
        self.principals[request.sid] = principal
        join_room(f"account:{principal.account_id}")
        if principal.agency_id:
            join_room(f"agency:{principal.agency_id}:{principal.role}")
        else:
            join_room(f"role:{principal.role}")

    def on_disconnect(self, reason=None):
        self.principals.pop(request.sid, None)

    def connect_allowed(self, principal: Principal) -> bool:
        return True


class StaffNamespace(GuardedNamespace):
    """``/staff``: live notices for staff (task progress, checkpoints); ping for presence."""

    def connect_allowed(self, principal: Principal) -> bool:
        return principal.role != "candidate"

    @signed_in()
    def on_ping(self, data=None):
        p = self.principals[request.sid]
        return {"pong": True, "role": p.role, "version": __version__}

    @roles("admin", "center_auditor")
    def on_audit_head(self, data=None):
        from itembank.core.audit import AuditRecord
        from sqlalchemy import select
        with current_app.extensions["skillcert.db"].read_scope() as s:
            row = s.execute(select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)).first()
        return {"seq": row[0] if row else 0, "hash": row[1] if row else None}


NAMESPACES = [StaffNamespace("/staff")]
from examserver.delivery.realtime import NAMESPACES as _delivery; NAMESPACES += _delivery  # noqa: E402,E702
for ns in NAMESPACES:
    socketio.on_namespace(ns)
