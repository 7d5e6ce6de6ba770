"""Delivery services: candidate sign-in and device binding, start, the answer save path, the clock's
proctor actions, submission and scoring, presence and the seat map.

Services take the session first and keyword arguments after, flush, and leave the commit to the caller;
every lifecycle change (start, pause, resume, extra time, device switch, submit, force submit, session
opening) is written to the audit chain in the same transaction and to the attempt's timeline. Saving an
answer is the hot path and writes only the answer log and the latest-answer upsert (the log is append-only
and is itself the record). Time is always passed in as ``now`` (naive UTC).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from itembank.core import audit
from itembank.core.audit import SYSTEM, Actor
from itembank.core.db import Database
from itembank.core.errors import Conflict, DomainError, Forbidden, NotFound
from itembank.core.idcard import mask_id_number
from itembank.core.people import Person
from itembank.core.reference import LEVELS, Room
from itembank.papers import Paper, candidate_view, scoring_key
from scoring.objective import ScoringPolicy, score_paper

from examserver.administration.models import ExamPlan, ExamSession, Registration, SeatAssignment

from . import clock, rules
from .models import Answer, AnswerChange, Attempt, AttemptEvent, SessionDelivery

LOCAL_OFFSET = dt.timedelta(hours=8)  # session times are China Standard Time, stored naive
MAX_RESPONSE_CHARS = 2000
DEFAULT_GRACE_S = int(clock.DEFAULT_GRACE.total_seconds())  # when a session has no delivery row yet


# --- small helpers -----------------------------------------------------------------------------------

def _insert(s: Session, model):
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def clock_of(a: Attempt) -> clock.ClockFacts:
    return clock.ClockFacts(started_at=a.started_at, duration=dt.timedelta(seconds=a.duration_seconds),
                            extra=dt.timedelta(seconds=a.extra_seconds),
                            paused_total=dt.timedelta(seconds=a.paused_seconds or 0.0), paused_at=a.paused_at)


def _event(s: Session, a: Attempt, kind: str, actor: Actor | None, now: dt.datetime, **detail) -> AttemptEvent:
    ev = AttemptEvent(attempt_id=a.id, at=now, kind=kind, actor_id=actor.account_id if actor else None,
                      actor_name=actor.name if actor else "", detail=_jsonable(detail))
    s.add(ev)
    return ev


def _jsonable(d: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in d.items()}


def get_attempt(s: Session, attempt_id: int) -> Attempt:
    a = s.get(Attempt, attempt_id)
    if a is None:
        raise NotFound("not_found", f"作答记录 {attempt_id} 不存在 (no attempt {attempt_id})", "attempt_id")
    return a


def session_delivery(s: Session, session_id: int) -> SessionDelivery:
    """The delivery settings row of a session, created with defaults on first use."""
    row = s.scalar(select(SessionDelivery).where(SessionDelivery.session_id == session_id))
    if row is None:
        row = SessionDelivery(session_id=session_id)
        s.add(row)
        s.flush()
    return row


class _PaperCache:
    """Sealed papers never change: their candidate view, scoring key and item ids are cached per database."""

    def __init__(self):
        self.lock = threading.Lock()
        self.data: dict[tuple[str, int], dict[str, Any]] = {}

    def peek(self, db: Database, paper_id: int) -> dict[str, Any] | None:
        return self.data.get((db.url_key, paper_id))

    def get(self, s: Session, paper_id: int) -> dict[str, Any]:
        key = (str(s.get_bind().url), paper_id)
        hit = self.data.get(key)
        if hit is not None:
            return hit
        paper = s.get(Paper, paper_id)
        if paper is None:
            raise NotFound("not_found", f"试卷 {paper_id} 不存在 (no paper {paper_id})", "paper_id")
        view = candidate_view(paper)  # raises Conflict unless sealed and intact
        keyed = scoring_key(paper)
        entry = {"view": view, "key": keyed, "items": frozenset(it["paper_item_id"] for it in keyed["items"]),
                 "types": {it["paper_item_id"]: it["item_type"] for it in keyed["items"]},
                 "duration_minutes": paper.duration_minutes,
                 "n_objective": sum(1 for it in keyed["items"] if it["item_type"] != "practical")}
        with self.lock:
            self.data[key] = entry
        return entry


papers = _PaperCache()


# --- sign-in and identity ------------------------------------------------------------------------------

def _norm_id(x: str) -> str:
    return (x or "").strip().upper()


def candidate_sign_in(s: Session, *, ticket_number: str, id_number: str, access_code: str, device_id: str,
                      now: dt.datetime) -> Attempt:
    """Find the seat of (ticket, ID number) in the session announced by ``access_code`` and bind the device.

    The first device to sign in is bound to the attempt; another device is refused (``device_locked``)
    until a proctor authorises a switch, after which the next device to sign in is bound (recorded).
    """
    ticket_number, id_number, access_code = (ticket_number or "").strip(), _norm_id(id_number), \
        (access_code or "").strip().upper()
    for field, v in (("ticket_number", ticket_number), ("id_number", id_number), ("access_code", access_code)):
        if not v:
            raise DomainError("required", f"请填写{ {'ticket_number': '准考证号', 'id_number': '证件号码', 'access_code': '场次口令'}[field]} "
                              f"({field} is required)", field)
    if not device_id or len(device_id) > 64:
        raise DomainError("bad_device", "设备标识无效 (device_id must be 1..64 characters)", "device_id")
    refused = Forbidden("bad_credentials", "准考证号、证件号码或场次口令不正确 (ticket number, ID number or access code "
                        "is wrong)", "ticket_number")
    se = s.scalar(select(ExamSession).where(ExamSession.access_code == access_code))
    if se is None:
        raise refused
    reg = s.scalar(select(Registration).join(Person, Person.id == Registration.person_id).where(
        Registration.plan_id == se.plan_id, Registration.ticket_number == ticket_number,
        Registration.status == "registered"))
    if reg is None or _norm_id(reg.person.id_number) != id_number:
        raise refused
    seat = s.scalar(select(SeatAssignment).where(SeatAssignment.session_id == se.id,
                                                 SeatAssignment.registration_id == reg.id))
    if seat is None:
        raise Forbidden("no_seat", "本场次没有您的座位，请联系监考人员 (you have no seat in this session; ask the proctor)",
                        "ticket_number")
    a = s.scalar(select(Attempt).where(Attempt.seat_id == seat.id))
    if a is None:
        a = Attempt(session_id=se.id, room_id=seat.room_id, seat_id=seat.id, person_id=reg.person_id,
                    shuffle_seed=secrets.token_hex(8), status="ready", created_at=now)
        s.add(a)
        s.flush()
    if a.device_id is None:
        a.device_id, a.device_bound_at = device_id, now
        _event(s, a, "device_bound", None, now, device=device_id[:8])
    elif a.device_id != device_id:
        if a.switch_authorised_at is None:
            raise Conflict("device_locked", "该考生已在另一台设备上登录；如需换机，请监考人员授权 (this attempt is live on "
                           "another device; a proctor must authorise a switch)", "device_id")
        old = a.device_id
        a.device_id, a.device_bound_at, a.switch_authorised_at = device_id, now, None
        s.flush()
        _event(s, a, "device_switched", None, now, old=old[:8], new=device_id[:8])
        audit.record(s, _candidate_actor(a), "attempt.device_switch", "attempt", a.id,
                     {"old_device": old[:8], "new_device": device_id[:8],
                      "authorised_by": a.switch_authorised_by}, at=now)
    _event(s, a, "sign_in", None, now)
    s.flush()
    submit_if_overdue(s, a, now)
    return a


def _candidate_actor(a: Attempt) -> Actor:
    """The candidate as an audit actor (candidates sign in by ticket, not necessarily with an account)."""
    from sqlalchemy.orm import object_session
    ses = object_session(a)
    name = ses.scalar(select(Person.name).where(Person.id == a.person_id)) if ses is not None else None
    return Actor(None, name or f"candidate {a.person_id}", "candidate")


def identity(s: Session, a: Attempt) -> dict[str, Any]:
    """The identity page: name, masked ID, occupation, level, room, seat, ticket (no photo bytes)."""
    seat = s.get(SeatAssignment, a.seat_id)
    reg = seat.registration
    se = seat.session
    plan: ExamPlan = se.plan
    person = reg.person
    room: Room = s.get(Room, seat.room_id)
    return {"attempt_id": a.id, "name": person.name, "id_number": mask_id_number(person.id_number),
            "ticket_number": reg.ticket_number, "occupation": plan.occupation.name,
            "work_type": plan.work_type.name if plan.work_type else "——", "level": plan.level,
            "level_name": LEVELS[plan.level][0], "room": room.name, "seat_no": seat.seat_no,
            "form": seat.form_label, "session": se.name, "plan": plan.title,
            "starts_at": se.starts_at.isoformat(), "ends_at": se.ends_at.isoformat(),
            "has_photo": s.scalar(select(Person.photo_mime).where(Person.id == person.id)) not in (None, "")}


def confirm_identity(s: Session, a: Attempt, *, now: dt.datetime) -> Attempt:
    if a.confirmed_at is None:
        a.confirmed_at = now
        _event(s, a, "identity_confirmed", None, now)
        s.flush()
    return a


# --- opening and starting -----------------------------------------------------------------------------

def session_open(s: Session, se: ExamSession, now: dt.datetime) -> bool:
    d = s.scalar(select(SessionDelivery.opened_at).where(SessionDelivery.session_id == se.id))
    return d is not None or now + LOCAL_OFFSET >= se.starts_at


def open_session(s: Session, actor: Actor, se: ExamSession, *, now: dt.datetime) -> SessionDelivery:
    """开考: release the papers of this session to its candidates (idempotent)."""
    row = session_delivery(s, se.id)
    if row.opened_at is None:
        row.opened_at, row.opened_by = now, actor.account_id
        s.flush()
        audit.record(s, actor, "exam_session.open", "exam_session", se.id,
                     {"opened_at": now, "scheduled": se.starts_at}, at=now)
    return row


def start_attempt(s: Session, a: Attempt, *, now: dt.datetime) -> Attempt:
    """Release the paper to the candidate and start the clock; only once the session is open."""
    if a.status != "ready":
        return a
    se = s.get(ExamSession, a.session_id)
    if not session_open(s, se, now):
        raise Conflict("not_open", "考试尚未开始，请等待监考人员宣布开考 (the session is not open yet)", "session")
    row = session_delivery(s, se.id)
    if row.opened_at is None:  # the scheduled start opened it
        row.opened_at = now
        s.flush()
        audit.record(s, SYSTEM, "exam_session.open", "exam_session", se.id,
                     {"opened_at": now, "scheduled": se.starts_at, "by": "schedule"}, at=now)
    seat = s.get(SeatAssignment, a.seat_id)
    if seat.paper_id is None:
        raise Conflict("no_paper", f"{seat.form_label} 卷尚未指定试卷，请联系监考人员 (no paper bound to form "
                       f"{seat.form_label})", "paper_id")
    cached = papers.get(s, seat.paper_id)
    a.paper_id = seat.paper_id
    a.duration_seconds = int(cached["duration_minutes"]) * 60
    a.started_at, a.status = now, "started"
    s.flush()
    _event(s, a, "start", None, now, paper_id=a.paper_id)
    audit.record(s, _candidate_actor(a), "attempt.start", "attempt", a.id,
                 {"paper_id": a.paper_id, "seat_id": a.seat_id, "shuffle_seed": a.shuffle_seed,
                  "duration_seconds": a.duration_seconds}, at=now)
    return a


def paper_for(s: Session, a: Attempt) -> dict[str, Any]:
    """The candidate's paper in this attempt's order (no keys): only after the start."""
    if a.status == "ready" or a.paper_id is None:
        raise Conflict("not_started", "尚未开考 (not started)", "status")
    return rules.shuffled_view(papers.get(s, a.paper_id)["view"], a.shuffle_seed)


# --- the clock as the browser sees it ----------------------------------------------------------------------

def clock_out(s: Session, a: Attempt, now: dt.datetime) -> dict[str, Any]:
    return _clock_dict(a.status, clock_of(a), a.extra_seconds, a.submitted_at, now)


def clock_by_id(s: Session, attempt_id: int, now: dt.datetime) -> dict[str, Any]:
    """:func:`clock_out` from one plain row (the heartbeat's path: every candidate asks every few seconds)."""
    conn = s.connection()
    cur = conn.connection.cursor()
    try:
        return _clock_from(cur, conn.dialect.name == "postgresql", attempt_id, now)
    finally:
        cur.close()


def _clock_from(cur, pg: bool, attempt_id: int, now: dt.datetime) -> dict[str, Any]:
    cur.execute(_CLOCK_SQL.replace("?", "%s") if pg else _CLOCK_SQL, (attempt_id,))
    row = cur.fetchone()
    if row is None:
        raise NotFound("not_found", f"作答记录 {attempt_id} 不存在 (no attempt {attempt_id})", "attempt_id")
    status, started_at, dur, extra, paused_s, paused_at, submitted_at = row
    facts = clock.ClockFacts(_db_time(started_at), dt.timedelta(seconds=dur), dt.timedelta(seconds=extra),
                             dt.timedelta(seconds=paused_s or 0.0), _db_time(paused_at))
    return _clock_dict(status, facts, extra, _db_time(submitted_at), now)


_CLOCK_SQL = ("SELECT status, started_at, duration_seconds, extra_seconds, paused_seconds, paused_at, submitted_at "
              "FROM attempt WHERE id = ?")


def _clock_dict(status: str, c: clock.ClockFacts, extra_seconds: float, submitted_at: dt.datetime | None,
                now: dt.datetime) -> dict[str, Any]:
    d = clock.deadline(c, now)
    return {"status": status, "server_now": now.isoformat() + "Z", "paused": c.paused_at is not None,
            "remaining_s": round(clock.remaining(c, now).total_seconds(), 1) if c.started_at else None,
            "deadline": d.isoformat() + "Z" if d else None, "extra_s": extra_seconds,
            "submitted_at": submitted_at.isoformat() + "Z" if submitted_at else None}


def last_seq(s: Session, attempt_id: int) -> int:
    return s.scalar(select(func.max(AnswerChange.seq)).where(AnswerChange.attempt_id == attempt_id)) or 0


def candidate_state(s: Session, a: Attempt, now: dt.datetime) -> dict[str, Any]:
    """Everything the exam page needs to resume: clock, own responses and flags, last seq; never keys."""
    rows = s.execute(select(Answer.paper_item_id, Answer.response, Answer.seq, Answer.saved_at, Answer.flagged)
                     .where(Answer.attempt_id == a.id)).all()
    out = {"attempt_id": a.id, "clock": clock_out(s, a, now), "last_seq": last_seq(s, a.id),
           "responses": {str(r[0]): {"response": r[1], "seq": r[2], "saved_at": r[3].isoformat() + "Z",
                                     "flagged": r[4]} for r in rows},
           "confirmed": a.confirmed_at is not None}
    se = s.get(ExamSession, a.session_id)
    out["session_open"] = session_open(s, se, now)
    if a.status == "submitted":
        row = session_delivery(s, a.session_id)
        if row.show_score and a.score_awarded is not None:
            out["result"] = {"points": a.score_awarded, "out_of": a.score_max}
    return out


# --- the save path -------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SaveResult:
    """The acknowledgement of one change; ``duplicate`` when this seq was already stored (a resend)."""

    attempt_id: int
    item: int
    seq: int
    saved_at: dt.datetime
    duplicate: bool
    answered: bool
    applied: bool  # whether the latest answer now holds this change (False when a newer seq was stored)

    def ack(self) -> dict[str, Any]:
        return {"ok": True, "seq": self.seq, "item": self.item, "saved_at": self.saved_at.isoformat() + "Z",
                "duplicate": self.duplicate}


class Refused(DomainError):
    """A change the server will never accept (late, submitted, wrong device): the browser drops it."""

    status = 409

    def __init__(self, code: str, message: str, field: str | None = None, *, final: bool = True, **details):
        super().__init__(code, message, field, **details)
        self.final = final


def _parse_time(v: Any) -> dt.datetime | None:
    if v is None or v == "":
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return dt.datetime.fromtimestamp(v / 1000.0, dt.timezone.utc).replace(tzinfo=None)
    if isinstance(v, str):
        try:
            t = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise DomainError("bad_time", f"client_at 不是时间 (client_at is not a time: {v[:40]!r})", "client_at") from None
        return t.astimezone(dt.timezone.utc).replace(tzinfo=None) if t.tzinfo else t
    raise DomainError("bad_time", "client_at 应为毫秒数或 ISO 时间 (client_at must be epoch ms or ISO)", "client_at")


def parse_change(data: Any) -> tuple[int, int, Any, dt.datetime | None]:
    """``(item, seq, response, client_at)`` from a browser payload; DomainError naming the bad field."""
    if not isinstance(data, dict):
        raise DomainError("bad_change", "应为对象 (a change is an object)", "change")
    try:
        item = int(data.get("item"))
    except (TypeError, ValueError):
        raise DomainError("bad_item", "item 应为试题位置编号 (item must be a paper item id)", "item") from None
    seq = data.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1 or seq > 2**31 - 1:
        raise DomainError("bad_seq", "seq 应为正整数 (seq must be a positive integer)", "seq")
    response = data.get("response")
    if isinstance(response, (dict, bool)) or (response is not None and not isinstance(response, (str, list, int, float))):
        raise DomainError("bad_response", "作答内容格式不对 (response must be text or a list of text)", "response")
    if isinstance(response, list) and not all(isinstance(x, (str, int, float)) and not isinstance(x, bool)
                                              for x in response):
        raise DomainError("bad_response", "作答内容格式不对 (response list holds text)", "response")
    if len(str(response)) > MAX_RESPONSE_CHARS:
        raise DomainError("too_long", f"作答内容过长 (response longer than {MAX_RESPONSE_CHARS})", "response")
    return item, seq, response, _parse_time(data.get("client_at"))


def save_change(s: Session, *, attempt_id: int, device_id: str | None, item: int, seq: int, response: Any,
                client_at: dt.datetime | None, now: dt.datetime, via: str = "socket") -> SaveResult:
    """Store one change, idempotently: the log row is unique on (attempt, seq); the latest answer per item
    keeps the highest seq. The caller commits, then acknowledges.

    Refusals (:class:`Refused`): ``submitted``, ``late``/``too_late`` (the clock), ``device_replaced``,
    ``seq_conflict`` (this seq was used for a different change: renumber and resend), ``paused`` (not
    final: keep it and resend after resume), ``bad_item``.
    """
    conn = s.connection()
    cur = conn.connection.cursor()
    try:
        return _save(cur, conn.dialect.name == "postgresql", lambda paper_id: papers.get(s, paper_id),
                     attempt_id=attempt_id, device_id=device_id, item=item, seq=seq, response=response,
                     client_at=client_at, now=now, via=via)
    finally:
        cur.close()


def save_change_hot(db: Database, *, pause: Callable[[], None] | None = None, **change: Any) -> SaveResult:
    """:func:`save_change` on the hot path: a pooled DBAPI connection and group commit, committed on return.

    The socket and HTTP save handlers use this; ``pause`` yields to the other ready handlers (the server's
    ``gevent.sleep(0)``) so their saves join the batch. Through an ORM session a save cost ~0.3 ms more Python
    than its SQL; and saves that arrive together share one transaction
    (:class:`~itembank.core.db.GroupCommit`), so the commit is paid once per batch. Same statements and rules;
    each save is acknowledged after the commit holding it.
    """
    def paper(paper_id: int) -> dict[str, Any]:
        hit = papers.peek(db, paper_id)
        if hit is not None:
            return hit
        with db.read_scope() as rs:
            return papers.get(rs, paper_id)

    pg = not db.is_sqlite
    committer = db.group_commit("answers", refusals=(DomainError,), pause=pause)
    return committer.run(lambda cur: _save(cur, pg, paper, **change))


def last_seq_hot(db: Database, attempt_id: int) -> int:
    with db.raw_read() as cur:
        cur.execute(_LAST_SEQ_SQL if db.is_sqlite else _LAST_SEQ_SQL.replace("?", "%s"), (attempt_id,))
        return cur.fetchone()[0] or 0


_LAST_SEQ_SQL = "SELECT max(seq) FROM answer_change WHERE attempt_id = ?"


def attempt_binding(db: Database, attempt_id: int) -> tuple[str | None, int, int] | None:
    """``(device_id, session_id, room_id)`` of an attempt, or None: what a connecting socket is checked against."""
    with db.raw_read() as cur:
        cur.execute("SELECT device_id, session_id, room_id FROM attempt WHERE id = " + ("?" if db.is_sqlite else "%s"),
                    (attempt_id,))
        return cur.fetchone()


def clock_hot(db: Database, attempt_id: int, now: dt.datetime) -> dict[str, Any]:
    """:func:`clock_by_id` on a pooled DBAPI connection (the heartbeat's path)."""
    with db.raw_read() as cur:
        return _clock_from(cur, not db.is_sqlite, attempt_id, now)


def _save(cur, pg: bool, paper: Callable[[int], dict[str, Any]], *, attempt_id: int, device_id: str | None,
          item: int, seq: int, response: Any, client_at: dt.datetime | None, now: dt.datetime,
          via: str = "socket") -> SaveResult:
    sql = _HOT_PG if pg else _HOT_SQLITE
    cur.execute(sql["attempt"], (attempt_id,))
    row = cur.fetchone()
    if row is None:
        raise NotFound("not_found", f"作答记录 {attempt_id} 不存在 (no attempt {attempt_id})", "attempt_id")
    status, bound, paper_id, started_at, dur, extra, paused_s, paused_at, grace = row
    if device_id is not None and bound != device_id:
        raise Refused("device_replaced", "本设备已被替换，不能再作答 (this device was replaced by another one)", "device_id")
    if status == "submitted":
        raise Refused("submitted", "已交卷，作答不再接受 (already submitted; no more changes)", "status")
    if status != "started":
        raise Refused("not_started", "尚未开考 (not started)", "status", final=False)
    started_at, paused_at = _db_time(started_at), _db_time(paused_at)
    facts = clock.ClockFacts(started_at, dt.timedelta(seconds=dur), dt.timedelta(seconds=extra),
                             dt.timedelta(seconds=paused_s or 0.0), paused_at)
    verdict = clock.change_verdict(facts, now, client_at, dt.timedelta(seconds=grace if grace is not None else DEFAULT_GRACE_S))
    if verdict is not None:
        raise Refused(verdict, "考试时间已到，此作答未被接受 (time is up: this change was not accepted)", "client_at")
    if paused_at is not None and client_at is not None and client_at > paused_at + dt.timedelta(seconds=2):
        raise Refused("paused", "考试已暂停 (the exam is paused)", "status", final=False)
    cached = paper(paper_id)
    if item not in cached["items"] or cached["types"][item] == "practical":
        raise Refused("bad_item", f"试卷中没有试题 {item} (no such item on this paper)", "item")
    body = json.dumps(response, ensure_ascii=False)
    answered = rules.is_answered(response)
    stamp = now if pg else now.strftime(_SQLITE_TIME)
    client_stamp = client_at if (pg or client_at is None) else client_at.strftime(_SQLITE_TIME)
    cur.execute(sql["log"], (attempt_id, item, seq, body, client_stamp, stamp, via))
    if not cur.rowcount:
        cur.execute(sql["prev"], (attempt_id, seq))
        prev = cur.fetchone()
        prev_response = prev[1] if prev is None or pg else json.loads(prev[1])
        if prev is None or prev[0] != item or prev_response != response:
            raise Refused("seq_conflict", "序号已被另一条作答使用，请重新编号 (seq already used for another change)", "seq",
                          final=False, last_seq=_last_seq(cur, pg, attempt_id))
        return SaveResult(attempt_id, item, seq, _db_time(prev[2]), True, answered, True)
    cur.execute(sql["latest"], (attempt_id, item, seq, body, answered, stamp))
    return SaveResult(attempt_id, item, seq, now, False, answered, bool(cur.rowcount))


def _last_seq(cur, pg: bool, attempt_id: int) -> int:
    cur.execute(_LAST_SEQ_SQL.replace("?", "%s") if pg else _LAST_SEQ_SQL, (attempt_id,))
    return cur.fetchone()[0] or 0




# The save path in plain SQL: SQLAlchemy's statement building cost ~10 ms a save, the SQL itself ~1 ms.
# Same meaning as the models: the log row is unique on (attempt, seq); the latest answer keeps the highest seq.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite DATETIME storage format
_HOT_SQLITE = {
    "attempt": "SELECT a.status, a.device_id, a.paper_id, a.started_at, a.duration_seconds, a.extra_seconds, "
               "a.paused_seconds, a.paused_at, d.grace_seconds FROM attempt a LEFT OUTER JOIN session_delivery d "
               "ON d.session_id = a.session_id WHERE a.id = ?",
    "log": "INSERT INTO answer_change (attempt_id, paper_item_id, seq, response, client_at, server_at, via) "
           "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (attempt_id, seq) DO NOTHING",
    "prev": "SELECT paper_item_id, response, server_at FROM answer_change WHERE attempt_id = ? AND seq = ?",
    "latest": "INSERT INTO answer (attempt_id, paper_item_id, seq, response, answered, saved_at, flagged) "
              "VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (attempt_id, paper_item_id) DO UPDATE SET seq = excluded.seq, "
              "response = excluded.response, answered = excluded.answered, saved_at = excluded.saved_at "
              "WHERE answer.seq < excluded.seq",
}
_HOT_PG = {k: v.replace("?", "%s").replace("VALUES (%s, %s, %s, %s, %s, %s, 0)", "VALUES (%s, %s, %s, %s::json, %s, %s, false)")
           .replace("VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (attempt_id, seq)",
                    "VALUES (%s, %s, %s, %s::json, %s, %s, %s) ON CONFLICT (attempt_id, seq)")
           for k, v in _HOT_SQLITE.items()}


def _db_time(v: Any) -> dt.datetime | None:
    if v is None or isinstance(v, dt.datetime):
        return v
    return dt.datetime.fromisoformat(v)


def set_flag(s: Session, a: Attempt, *, item: int, flagged: bool, now: dt.datetime) -> None:
    """Mark an item for review (the candidate's own note; not part of the answer log)."""
    if a.status != "started":
        return
    if item not in papers.get(s, a.paper_id)["items"]:
        raise DomainError("bad_item", f"试卷中没有试题 {item} (no such item)", "item")
    up = _insert(s, Answer).values(attempt_id=a.id, paper_item_id=item, seq=0, response=None, answered=False,
                                   saved_at=now, flagged=bool(flagged))
    s.execute(up.on_conflict_do_update(index_elements=["attempt_id", "paper_item_id"],
                                       set_={"flagged": up.excluded.flagged}))


# --- submission and scoring -------------------------------------------------------------------------------

def policy_of(row: SessionDelivery) -> ScoringPolicy:
    return ScoringPolicy(multiple=row.multiple_policy or "all_or_nothing")


def submit(s: Session, actor: Actor | None, a: Attempt, *, reason: str, now: dt.datetime,
           note: str = "") -> Attempt:
    """交卷 from the last stored answers, then score the objective items (idempotent)."""
    if reason not in ("candidate", "deadline", "proctor"):
        raise ValueError(reason)
    if a.status == "submitted":
        return a
    if a.status == "ready" and reason == "candidate":
        raise Conflict("not_started", "尚未开考，不能交卷 (not started)", "status")
    # a conditional update: two processes racing at the deadline submit once
    done = s.execute(update(Attempt).where(Attempt.id == a.id, Attempt.status != "submitted")
                     .values(status="submitted", submitted_at=now, submit_reason=reason,
                             paused_at=None).execution_options(synchronize_session=False)).rowcount
    s.refresh(a)
    if not done:
        return a
    if a.paper_id is not None:
        responses = dict(s.execute(select(Answer.paper_item_id, Answer.response)
                                   .where(Answer.attempt_id == a.id, Answer.seq > 0)).all())
        key = papers.get(s, a.paper_id)["key"]
        result = score_paper(key["items"], responses, policy_of(session_delivery(s, a.session_id)))
        a.score_awarded, a.score_max, a.score_detail = result.awarded, result.maximum, result.as_dict()
        n_answered = s.scalar(select(func.count()).select_from(Answer).where(Answer.attempt_id == a.id,
                                                                           Answer.answered.is_(True)))
    else:
        result, n_answered = None, 0
    s.flush()
    kind = {"candidate": "submit", "deadline": "auto_submit", "proctor": "force_submit"}[reason]
    _event(s, a, kind, actor, now, note=note)
    who = actor if actor is not None else (SYSTEM if reason == "deadline" else _candidate_actor(a))
    audit.record(s, who, f"attempt.{kind}", "attempt", a.id,
                 {"reason": reason, "note": note, "last_seq": last_seq(s, a.id), "answered": n_answered,
                  "objective_points": result.awarded if result else None,
                  "objective_max": result.maximum if result else None}, at=now)
    return a


def submit_if_overdue(s: Session, a: Attempt, now: dt.datetime) -> bool:
    if a.status != "started":
        return False
    grace = session_delivery(s, a.session_id).grace_seconds
    if clock.expired(clock_of(a), now, dt.timedelta(seconds=grace)):
        submit(s, None, a, reason="deadline", now=now)
        return True
    return False


def overdue_ids(s: Session, *, now: dt.datetime) -> list[int]:
    """Ids of running attempts whose deadline plus grace has passed. The database picks the candidates by
    arithmetic on the clock columns (2 s of slack); each is confirmed by :func:`clock.expired`. The housekeeping
    loop asks every few seconds on the server's event loop: reading all 5,000 running attempts and computing
    each clock in Python took ~30 ms there (~0.6 ms each when it loaded them as objects)."""
    conn = s.connection()
    pg = conn.dialect.name == "postgresql"
    rows = conn.exec_driver_sql(_OVERDUE_SQL_PG if pg else _OVERDUE_SQL,
                                (DEFAULT_GRACE_S, now if pg else now.strftime(_SQLITE_TIME))).all()
    out = []
    for attempt_id, started_at, dur, extra, paused_s, grace in rows:
        facts = clock.ClockFacts(_db_time(started_at), dt.timedelta(seconds=dur), dt.timedelta(seconds=extra),
                                 dt.timedelta(seconds=paused_s or 0.0), None)
        if clock.expired(facts, now, dt.timedelta(seconds=grace if grace is not None else DEFAULT_GRACE_S)):
            out.append(attempt_id)
    return out


def submit_overdue(s: Session, *, now: dt.datetime, ids: list[int] | None = None) -> list[int]:
    """Submit every running attempt whose deadline plus grace has passed, browser or not; returns their ids.
    ``ids``: the candidates from :func:`overdue_ids` (each is re-checked inside this transaction)."""
    done = []
    for attempt_id in (overdue_ids(s, now=now) if ids is None else ids):
        a = s.get(Attempt, attempt_id)
        if a is not None and a.paused_at is None and submit_if_overdue(s, a, now):
            done.append(a.id)
    return done


_OVERDUE_SQL = ("SELECT a.id, a.started_at, a.duration_seconds, a.extra_seconds, a.paused_seconds, d.grace_seconds "
                "FROM attempt a LEFT OUTER JOIN session_delivery d ON d.session_id = a.session_id "
                "WHERE a.status = 'started' AND a.paused_at IS NULL AND a.started_at IS NOT NULL "
                "AND julianday(a.started_at) * 86400.0 + a.duration_seconds + a.extra_seconds "
                "+ COALESCE(a.paused_seconds, 0) + COALESCE(d.grace_seconds, ?) < julianday(?) * 86400.0 + 2")
_OVERDUE_SQL_PG = (_OVERDUE_SQL.replace("julianday(a.started_at) * 86400.0", "EXTRACT(EPOCH FROM a.started_at)")
                   .replace("julianday(?) * 86400.0", "EXTRACT(EPOCH FROM %s::timestamp)").replace("?", "%s"))


# --- proctor actions ---------------------------------------------------------------------------------------

def _require_running(a: Attempt, what: str) -> None:
    if a.status == "submitted":
        raise Conflict("submitted", f"已交卷，不能{what} (already submitted)", "status")


def pause(s: Session, actor: Actor, a: Attempt, *, now: dt.datetime, reason: str = "") -> Attempt:
    """暂停: stop the candidate's clock (power cut, incident); recorded."""
    _require_running(a, "暂停")
    if a.paused_at is not None:
        return a
    a.paused_at = now
    s.flush()
    _event(s, a, "pause", actor, now, reason=reason)
    audit.record(s, actor, "attempt.pause", "attempt", a.id, {"reason": reason}, at=now)
    return a


def resume(s: Session, actor: Actor, a: Attempt, *, now: dt.datetime, reason: str = "") -> Attempt:
    if a.paused_at is None:
        return a
    c = clock.resume(clock_of(a), now)
    paused_for = (now - a.paused_at).total_seconds()
    a.paused_seconds, a.paused_at = c.paused_total.total_seconds(), None
    s.flush()
    _event(s, a, "resume", actor, now, paused_s=round(paused_for, 1), reason=reason)
    audit.record(s, actor, "attempt.resume", "attempt", a.id, {"paused_seconds": round(paused_for, 1),
                                                               "reason": reason}, at=now)
    return a


def grant_extra_time(s: Session, actor: Actor, a: Attempt, *, minutes: float, reason: str,
                     now: dt.datetime) -> Attempt:
    """延时: add time to one candidate's allowance (a reason is required)."""
    _require_running(a, "延时")
    if not isinstance(minutes, (int, float)) or isinstance(minutes, bool) or not 0 < minutes <= 120:
        raise DomainError("bad_minutes", "延时应为 0–120 分钟 (extra time must be 0..120 minutes)", "minutes")
    if not (reason or "").strip():
        raise DomainError("required", "请写明延时原因 (say why)", "reason")
    add = int(round(minutes * 60))
    a.extra_seconds += add
    s.flush()
    _event(s, a, "extra_time", actor, now, seconds=add, reason=reason)
    audit.record(s, actor, "attempt.extra_time", "attempt", a.id, {"seconds": add, "total_extra": a.extra_seconds,
                                                                   "reason": reason}, at=now)
    return a


def authorise_switch(s: Session, actor: Actor, a: Attempt, *, reason: str, now: dt.datetime) -> Attempt:
    """换机授权: the next device to sign in for this attempt replaces the bound one."""
    _require_running(a, "换机")
    if not (reason or "").strip():
        raise DomainError("required", "请写明换机原因 (say why)", "reason")
    a.switch_authorised_at, a.switch_authorised_by = now, actor.account_id
    s.flush()
    _event(s, a, "switch_authorised", actor, now, reason=reason)
    audit.record(s, actor, "attempt.authorise_switch", "attempt", a.id, {"reason": reason}, at=now)
    return a


def room_attempts(s: Session, session_id: int, room_id: int) -> list[Attempt]:
    return list(s.scalars(select(Attempt).where(Attempt.session_id == session_id, Attempt.room_id == room_id)))


def pause_room(s: Session, actor: Actor, se: ExamSession, room_id: int, *, now: dt.datetime,
               reason: str) -> list[Attempt]:
    """Pause every running attempt of a room at once (power cut); one audit record for the room."""
    done = [pause(s, actor, a, now=now, reason=reason) for a in room_attempts(s, se.id, room_id)
            if a.status != "submitted" and a.paused_at is None]
    audit.record(s, actor, "exam_room.pause", "exam_session", se.id,
                 {"room_id": room_id, "attempts": [a.id for a in done], "reason": reason}, at=now)
    return done


def resume_room(s: Session, actor: Actor, se: ExamSession, room_id: int, *, now: dt.datetime,
                reason: str = "") -> list[Attempt]:
    done = [resume(s, actor, a, now=now, reason=reason) for a in room_attempts(s, se.id, room_id)
            if a.paused_at is not None]
    audit.record(s, actor, "exam_room.resume", "exam_session", se.id,
                 {"room_id": room_id, "attempts": [a.id for a in done], "reason": reason}, at=now)
    return done


# --- presence, seat map, timeline ---------------------------------------------------------------------------

def mark_presence(s: Session, attempt_id: int, *, online: bool, now: dt.datetime) -> None:
    """Connect/disconnect of the candidate's socket (a heartbeat timeout counts as a disconnect)."""
    a = s.get(Attempt, attempt_id)
    if a is None:
        return
    a.online, a.last_seen_at = online, now
    a.offline_since = None if online else now
    _event(s, a, "online" if online else "offline", None, now)
    s.flush()


def mark_presence_many(s: Session, transitions: list[tuple[int, bool, dt.datetime]]) -> set[int]:
    """Connects and disconnects ``(attempt_id, online, at)`` in the order they happened, in bulk: each
    goes to the seat's timeline; the attempt keeps the last state. Returns the attempts that exist."""
    ids = {a for a, _, _ in transitions}
    known = set(s.scalars(select(Attempt.id).where(Attempt.id.in_(list(ids))))) if ids else set()
    final: dict[int, tuple[bool, dt.datetime]] = {}
    events = []
    for a, online, at in transitions:
        if a in known:
            final[a] = (online, at)
            events.append({"attempt_id": a, "at": at, "kind": "online" if online else "offline", "actor_id": None,
                           "actor_name": "", "detail": {}})
    if final:
        s.execute(update(Attempt), [{"id": a, "online": on, "last_seen_at": at, "offline_since": None if on else at}
                                    for a, (on, at) in final.items()])
        s.execute(insert(AttemptEvent), events)
    return set(final)


def answered_counts(s: Session, attempt_ids: list[int]) -> dict[int, int]:
    if not attempt_ids:
        return {}
    return dict(s.execute(select(Answer.attempt_id, func.count()).where(
        Answer.attempt_id.in_(attempt_ids), Answer.answered.is_(True)).group_by(Answer.attempt_id)).all())


def progress_rows(s: Session, attempt_ids: list[int]) -> list[tuple[int, int, int, int, int]]:
    """``(attempt_id, seat_id, session_id, room_id, answered)`` in one plain query: the live loop pushes the
    progress of the seats whose answers changed each second (a full seat row is only for state changes)."""
    if not attempt_ids:
        return []
    conn = s.connection()
    marks = ", ".join(["%s" if conn.dialect.name == "postgresql" else "?"] * len(attempt_ids))
    return [tuple(r) for r in conn.exec_driver_sql(
        "SELECT a.id, a.seat_id, a.session_id, a.room_id, (SELECT count(*) FROM answer n WHERE n.attempt_id = a.id "
        f"AND n.answered = {'true' if conn.dialect.name == 'postgresql' else '1'}) FROM attempt a WHERE a.id IN ({marks})",
        tuple(attempt_ids)).all()]


def seat_out(s: Session, a: Attempt, now: dt.datetime, answered: int | None = None,
             online: bool | None = None) -> dict[str, Any]:
    total = papers.get(s, a.paper_id)["n_objective"] if a.paper_id else None
    on = a.online if online is None else online
    c = clock_of(a)
    return {"attempt_id": a.id, "seat_id": a.seat_id, "status": a.status, "paused": a.paused_at is not None,
            "online": on, "state": rules.seat_state(a.status, a.paused_at is not None, on),
            "offline_since": a.offline_since.isoformat() + "Z" if a.offline_since and not on else None,
            "answered": answered if answered is not None else answered_counts(s, [a.id]).get(a.id, 0),
            "total": total, "remaining_s": round(clock.remaining(c, now).total_seconds()) if a.started_at else None,
            "extra_s": a.extra_seconds, "switch_pending": a.switch_authorised_at is not None,
            "submit_reason": a.submit_reason}


def seat_map(s: Session, se: ExamSession, room_id: int, *, now: dt.datetime) -> dict[str, Any]:
    """The room as it is: every seat of the session in the room, with its candidate and attempt state."""
    room = s.get(Room, room_id)
    if room is None or room_id not in {r.room_id for r in se.rooms}:
        raise NotFound("not_found", f"本场次不使用考场 {room_id} (the session does not use room {room_id})", "room_id")
    seats = s.execute(select(SeatAssignment, Registration, Person)
                      .join(Registration, Registration.id == SeatAssignment.registration_id)
                      .join(Person, Person.id == Registration.person_id)
                      .where(SeatAssignment.session_id == se.id, SeatAssignment.room_id == room_id)
                      .order_by(SeatAssignment.seat_no)).all()
    attempts = {a.seat_id: a for a in room_attempts(s, se.id, room_id)}
    counts = answered_counts(s, [a.id for a in attempts.values()])
    out = []
    for seat, reg, person in seats:
        a = attempts.get(seat.id)
        row = {"seat_id": seat.id, "seat_no": seat.seat_no, "row": seat.seat_row, "col": seat.seat_col,
               "form": seat.form_label, "name": person.name, "ticket_number": reg.ticket_number}
        row.update(seat_out(s, a, now, counts.get(a.id, 0)) if a else {"state": "absent", "attempt_id": None})
        out.append(row)
    opened = s.scalar(select(SessionDelivery.opened_at).where(SessionDelivery.session_id == se.id))
    return {"session_id": se.id, "session": se.name, "room_id": room_id, "room": room.name, "rows": room.seat_rows,
            "cols": room.seat_cols, "open": opened is not None or now + LOCAL_OFFSET >= se.starts_at,
            "opened_at": opened.isoformat() + "Z" if opened else None, "access_code": se.access_code,
            "server_now": now.isoformat() + "Z", "seats": out}


def timeline(s: Session, a: Attempt) -> list[dict[str, Any]]:
    rows = s.scalars(select(AttemptEvent).where(AttemptEvent.attempt_id == a.id).order_by(AttemptEvent.id)).all()
    return [{"at": e.at.isoformat() + "Z", "kind": e.kind, "by": e.actor_name, "detail": e.detail} for e in rows]
