"""Delivery's HTTP API: candidate sign-in, the attempt (state, start, changes, flag, submit) as the fallback
when websockets are blocked, and the proctor's seat map, actions and timelines.

Candidate routes are declared ``@attempt_holder()``: candidates hold no staff account; they prove themselves
with the attempt token from :func:`delivery_login` (ticket number + ID number + the session access code) in
the ``X-Attempt-Token`` header, which the access layer checks before the view runs (deny by default). The header is not ambient
authority (unlike a cookie), so these routes need no CSRF token.
"""
from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, request
from pydantic import BaseModel, Field
from sqlalchemy import select

from itembank.core.db import utcnow
from itembank.core.errors import DomainError
from itembank.core.people import Person

from ..access import attempt_holder, public, register_attempt_verifier, roles
from ..api import ApiError, endpoint
from ..db import db_read, db_write
from . import behaviour, live, operations as ops, proctoring, tokens
from .models import Attempt

register_attempt_verifier(tokens.verify)


class LoginIn(BaseModel):
    ticket_number: str = Field(min_length=1, max_length=32, description="准考证号")
    id_number: str = Field(min_length=1, max_length=32, description="证件号码")
    access_code: str = Field(min_length=1, max_length=16, description="场次口令, announced by the proctor")
    device_id: str = Field(min_length=8, max_length=64, description="random id the browser keeps for this device")


class ChangesIn(BaseModel):
    changes: list[dict[str, Any]] = Field(max_length=500, description="[{item, seq, response, client_at}]")


class FlagIn(BaseModel):
    item: int
    flagged: bool


class SubmitIn(BaseModel):
    confirm: bool


class BehaviourIn(BaseModel):
    events: list[Any] = Field(min_length=1, max_length=behaviour.MAX_BATCH,
                              description="[{seq, kind, client_at (epoch ms), duration_ms, detail}]")
    attempt_id: int | None = None


class ActIn(BaseModel):
    action: str
    attempt_id: int | None = None
    session_id: int | None = None
    room_id: int | None = None
    minutes: float | None = None
    reason: str = Field(default="", max_length=300)


def _login_key() -> str:
    data = request.get_json(silent=True) or {}
    return f"{request.remote_addr}|{str(data.get('ticket_number', ''))[:32]}"


def _claims() -> tokens.AttemptClaims:
    claims = g.get("attempt_claims") or tokens.verify(request.headers.get("X-Attempt-Token"))
    if claims is None:
        raise ApiError(401, "unauthorized", "请重新登录考试 (sign in to the exam again)", "X-Attempt-Token")
    return claims


def _attempt(s, claims: tokens.AttemptClaims) -> Attempt:
    a = s.get(Attempt, claims.attempt_id)
    if a is None or a.device_id != claims.device_id:
        raise ApiError(409, "device_replaced", "本设备已被替换，请联系监考人员 (this device was replaced)", "device_id")
    return a


def _full_state(s, a: Attempt, now) -> dict[str, Any]:
    out = {"identity": ops.identity(s, a), "state": ops.candidate_state(s, a, now)}
    if a.status != "ready":
        out["paper"] = ops.paper_for(s, a)
    return out


@endpoint("/delivery/login", "POST", summary="Candidate sign-in for a session: returns an attempt token", body=LoginIn,
          rate_limit="30 per minute", rate_key=_login_key)  # by address + ticket: a room shares one NAT address
@public("candidates sign in to the exam with admission ticket number, ID number and the session access code")
def delivery_login(body: LoginIn):
    now = utcnow()
    with db_write() as s:
        a = ops.candidate_sign_in(s, ticket_number=body.ticket_number, id_number=body.id_number,
                                  access_code=body.access_code, device_id=body.device_id, now=now)
        out = _full_state(s, a, now)
        token = tokens.issue(a.id, body.device_id, a.person_id)
    live.push_seat_ids(current_app.extensions["skillcert.db"], [out["identity"]["attempt_id"]])
    return {"token": token, **out}



@endpoint("/delivery/attempt", summary="The candidate's attempt: identity, clock, own responses, paper once started")
@attempt_holder()
def attempt_state():
    claims = _claims()
    now = utcnow()
    with db_write() as s:  # a write: an overdue attempt is submitted on the spot
        a = _attempt(s, claims)
        ops.submit_if_overdue(s, a, now)
        return _full_state(s, a, now)


@endpoint("/delivery/attempt/confirm", "POST", summary="The candidate confirms the identity page")
@attempt_holder()
def attempt_confirm():
    claims = _claims()
    with db_write() as s:
        a = ops.confirm_identity(s, _attempt(s, claims), now=utcnow())
        return {"ok": True, "confirmed_at": a.confirmed_at.isoformat() + "Z"}


@endpoint("/delivery/attempt/start", "POST", summary="Start: releases the paper once the session is open")
@attempt_holder()
def attempt_start():
    claims = _claims()
    now = utcnow()
    with db_write() as s:
        a = _attempt(s, claims)
        ops.start_attempt(s, a, now=now)
        out = _full_state(s, a, now)
    live.push_seat_ids(current_app.extensions["skillcert.db"], [claims.attempt_id])
    return out


@endpoint("/delivery/attempt/changes", "POST", summary="Answer changes over HTTP (same semantics as the socket)",
          body=ChangesIn)
@attempt_holder()
def attempt_changes(body: ChangesIn):
    """Each change is committed on its own before its ack is listed; a refused one carries its error."""
    claims = _claims()
    acks = []
    stored = False
    for i, ch in enumerate(body.changes):
        try:
            item, seq, response, client_at = ops.parse_change(ch)
            with db_write() as s:
                saved = ops.save_change(s, attempt_id=claims.attempt_id, device_id=claims.device_id, item=item,
                                        seq=seq, response=response, client_at=client_at, now=utcnow(), via="http")
            acks.append(saved.ack())
            stored = stored or not saved.duplicate
        except DomainError as e:
            acks.append({"ok": False, "seq": ch.get("seq") if isinstance(ch, dict) else None,
                         "error": {"code": e.code, "message": e.message, "field": f"changes[{i}].{e.field}",
                                   "final": bool(getattr(e, "final", False)), **e.details}})
    if stored:
        live.presence.mark_dirty(claims.attempt_id)
    return {"acks": acks}


@endpoint("/delivery/attempt/behaviour", "POST", summary="Behaviour events over HTTP (same as the socket's "
          "behaviour event): stored, evaluated; the ack carries warnings, never flags", body=BehaviourIn)
@attempt_holder()
def attempt_behaviour(body: BehaviourIn):
    claims = _claims()
    return behaviour.receive(claims.attempt_id, claims.device_id, {"events": body.events,
                             "attempt_id": body.attempt_id}, via="http").ack()


@endpoint("/delivery/attempt/flag", "POST", summary="Flag an item for review", body=FlagIn)
@attempt_holder()
def attempt_flag(body: FlagIn):
    claims = _claims()
    with db_write() as s:
        ops.set_flag(s, _attempt(s, claims), item=body.item, flagged=body.flagged, now=utcnow())
    return {"ok": True}


@endpoint("/delivery/attempt/submit", "POST", summary="Submit (交卷) after confirmation", body=SubmitIn)
@attempt_holder()
def attempt_submit(body: SubmitIn):
    claims = _claims()
    if not body.confirm:
        raise ApiError(422, "confirm", "请确认交卷 (confirm the submission)", "confirm")
    now = utcnow()
    with db_write() as s:
        a = _attempt(s, claims)
        ops.submit(s, None, a, reason="candidate", now=now)
        out = ops.candidate_state(s, a, now)
    live.push_seat_ids(current_app.extensions["skillcert.db"], [claims.attempt_id])
    return {"ok": True, "state": out}


@endpoint("/delivery/attempt/photo", summary="The candidate's photo for the identity page")
@attempt_holder()
def attempt_photo():
    claims = _claims()
    with db_read() as s:
        row = s.execute(select(Person.photo, Person.photo_mime).where(Person.id == claims.person_id)).first()
    if row is None or not row[0]:
        raise ApiError(404, "not_found", "无照片 (no photo on file)", "photo")
    return Response(row[0], mimetype=row[1] or "image/jpeg", headers={"Cache-Control": "private, max-age=600"})


# --- proctors -------------------------------------------------------------------------------------------

@endpoint("/delivery/sessions/<int:session_id>/rooms/<int:room_id>/seats", summary="Live seat map of a room")
@roles(*proctoring.PROCTOR_ROLES)
def seat_map(session_id: int, room_id: int):
    return proctoring.snapshot(g.principal, session_id, room_id)


@endpoint("/delivery/act", "POST", summary="A proctor action (open, pause, resume, extra_time, force_submit, "
          "authorise_switch, pause_room, resume_room)", body=ActIn)
@roles(*proctoring.PROCTOR_ROLES)
def proctor_act(body: ActIn):
    return proctoring.act(g.principal, body.model_dump())


@endpoint("/delivery/attempts/<int:attempt_id>/timeline", summary="A seat's timeline")
@roles(*proctoring.PROCTOR_ROLES)
def attempt_timeline(attempt_id: int):
    return proctoring.attempt_timeline(g.principal, attempt_id)
