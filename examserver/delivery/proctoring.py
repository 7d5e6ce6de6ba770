"""The proctor's side, shared by the ``/proctor`` namespace and the HTTP API: scope checks, the seat-map
snapshot, actions (open the session, pause/resume a candidate or the room, extra time, force submit,
authorise a device switch) and the per-seat timeline. Each action commits, then pushes the changed seats to
the room and a hint to the candidate (who re-syncs the clock from the database)."""
from __future__ import annotations

from typing import Any

from flask import current_app

from itembank.core.db import utcnow
from itembank.core.errors import DomainError, Forbidden, NotFound

from examserver.administration.models import ExamSession

from ..access import Principal
from ..db import db_read, db_write
from . import live, operations as ops
from .models import Attempt

PROCTOR_ROLES = ("proctor", "chief_proctor", "agency_admin", "admin")
ACTIONS = ("open", "pause", "resume", "extra_time", "force_submit", "authorise_switch", "pause_room", "resume_room")


def _session(s, p: Principal, session_id: int) -> ExamSession:
    se = s.get(ExamSession, session_id)
    if se is None:
        raise NotFound("not_found", f"场次 {session_id} 不存在 (no session {session_id})", "session_id")
    if p.role != "admin" and se.plan.agency_id != p.agency_id:
        raise Forbidden("forbidden", "不是本机构的场次 (a session of another agency)", "session_id")
    return se


def _attempt(s, p: Principal, attempt_id: Any) -> Attempt:
    try:
        attempt_id = int(attempt_id)
    except (TypeError, ValueError):
        raise DomainError("bad_attempt", "attempt_id 应为数字 (attempt_id must be a number)", "attempt_id") from None
    a = ops.get_attempt(s, attempt_id)
    _session(s, p, a.session_id)
    return a


def snapshot(p: Principal, session_id: int, room_id: int) -> dict[str, Any]:
    with db_read() as s:
        se = _session(s, p, session_id)
        return ops.seat_map(s, se, room_id, now=utcnow())


def attempt_timeline(p: Principal, attempt_id: int) -> dict[str, Any]:
    with db_read() as s:
        a = _attempt(s, p, attempt_id)
        return {"attempt_id": a.id, "events": ops.timeline(s, a)}


def act(p: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """Carry out one proctor action; returns ``{"ok": True, "seats": [...]}`` with the changed seats."""
    action = data.get("action")
    if action not in ACTIONS:
        raise DomainError("bad_action", f"未知操作 (action must be one of {', '.join(ACTIONS)})", "action")
    reason = str(data.get("reason") or "").strip()[:300]
    now = utcnow()
    actor = p.actor
    changed: list[int] = []
    hint: tuple[str, dict] | None = None
    with db_write() as s:
        if action in ("open", "pause_room", "resume_room"):
            try:
                session_id = int(data.get("session_id"))
            except (TypeError, ValueError):
                raise DomainError("bad_session", "session_id 应为数字", "session_id") from None
            se = _session(s, p, session_id)
            if action == "open":
                ops.open_session(s, actor, se, now=now)
                changed = []
                room_ids = [r.room_id for r in se.rooms]
            else:
                try:
                    room_id = int(data.get("room_id"))
                except (TypeError, ValueError):
                    raise DomainError("bad_room", "room_id 应为数字", "room_id") from None
                if action == "pause_room":
                    if not reason:
                        raise DomainError("required", "请写明暂停原因 (say why)", "reason")
                    changed = [a.id for a in ops.pause_room(s, actor, se, room_id, now=now, reason=reason)]
                else:
                    changed = [a.id for a in ops.resume_room(s, actor, se, room_id, now=now, reason=reason)]
                hint = ("clock", {"reason": action})
        else:
            a = _attempt(s, p, data.get("attempt_id"))
            if action == "pause":
                ops.pause(s, actor, a, now=now, reason=reason)
                hint = ("clock", {"reason": "pause"})
            elif action == "resume":
                ops.resume(s, actor, a, now=now, reason=reason)
                hint = ("clock", {"reason": "resume"})
            elif action == "extra_time":
                minutes = data.get("minutes")
                ops.grant_extra_time(s, actor, a, minutes=minutes, reason=reason, now=now)
                hint = ("clock", {"reason": "extra_time"})
            elif action == "force_submit":
                if not reason:
                    raise DomainError("required", "请写明强制交卷原因 (say why)", "reason")
                ops.submit(s, actor, a, reason="proctor", now=now, note=reason)
                hint = ("submitted", {"reason": "proctor"})
            elif action == "authorise_switch":
                ops.authorise_switch(s, actor, a, reason=reason, now=now)
            changed = [a.id]
    if action == "open":
        for room_id in room_ids:
            live.socketio.emit("session_open", {"session_id": session_id}, to=live.proctor_room(session_id, room_id),
                               namespace="/proctor")
        live.socketio.emit("session_open", {"session_id": session_id}, to=live.candidates_room(session_id),
                           namespace="/exam")
        return {"ok": True, "opened": True}
    if hint is not None:
        for aid in changed:
            live.tell_candidate(aid, *hint)
    live.push_seat_ids(current_app.extensions["skillcert.db"], changed)
    return {"ok": True, "changed": changed}
