"""Behaviour events of the exam page (考试行为记录): stored, evaluated, warned, flagged and pushed live.

The candidate's page reports what happens to the exam window — page hidden, focus lost, fullscreen left,
copy/cut/paste, context menu, print and screenshot keys, window shrunk, offline, idle — each with its
start time (``client_at``, epoch ms on the server-corrected clock) and duration. Events go into the page's
IndexedDB outbox first and leave it only when acknowledged, in batches over the ``/exam`` socket
(``behaviour``) or ``POST /api/v1/delivery/attempt/behaviour`` when websockets are down. :func:`receive`:

* stores the new events append-only as :class:`~examserver.delivery.models.AttemptEvent` rows of kind
  ``behaviour`` with server time and client time (a resend is recognised by device and client seq and
  stored once), and audits the batch;
* evaluates all events of the attempt with :func:`scoring.behaviour.evaluate` under the plan's rules
  (:class:`~examserver.violations.models.PlanBehaviourRules`, defaults if unset);
* answers the candidate with the warnings the new events caused (Chinese and English) — never flags;
* raises or updates :class:`~examserver.violations.models.ViolationFlag` rows (source ``behaviour``,
  audited) and pushes them to the proctors watching the room (``flags`` on ``/proctor``).

A flag is not a violation: people decide (技能人才评价违纪违规行为处理工作指引 art. 16); a proctor opens a
case from it. Batches are limited in size and rate, and an attempt stores at most :data:`MAX_PER_ATTEMPT`.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import logging
import threading
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examserver.administration.models import ExamPlan, ExamSession
from examserver.violations.models import PlanBehaviourRules, ViolationFlag
from itembank.core import audit
from itembank.core.audit import SYSTEM
from itembank.core.db import utcnow
from itembank.core.errors import DomainError, Forbidden, NotFound
from itembank.core.people import Person
from scoring import behaviour as rules

from ..db import db_write
from ..extensions import socketio
from . import live
from . import operations as ops
from .models import Attempt, AttemptEvent

log = logging.getLogger("skillcert.delivery")

EVENT_KIND = "behaviour"
#: Kinds only the server records (a page cannot report them about itself).
SERVER_KINDS = frozenset({"second_device", "ip_change", "device_change", "fast_answer"})
CLIENT_KINDS = (frozenset(rules.KINDS) - SERVER_KINDS) | frozenset(rules.MARKERS)
MAX_BATCH = 100
MAX_PER_ATTEMPT = 3000
MAX_DURATION_MS = 6 * 3600 * 1000
MAX_DETAIL_CHARS = 300
BATCHES_PER_MINUTE = 60
LATE_AFTER_SUBMIT = dt.timedelta(minutes=2)  # events of the last moments may arrive after the submission
MAX_SEQ = 2**31 - 1
EVIDENCE_EVENTS = 50
CLOCK_WINDOW = (dt.timedelta(days=1), dt.timedelta(minutes=10))  # client_at may lag (offline) but not lead


class RateLimited(DomainError):
    """Too many batches: the page keeps them and sends them later."""

    status = 429
    final = False


class _Limiter:
    """Batches per attempt per minute, in this process (a page sends a batch at most every few hundred ms)."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.lock = threading.Lock()
        self.hits: dict[int, collections.deque] = {}

    def check(self, attempt_id: int) -> None:
        now = time.monotonic()
        with self.lock:
            q = self.hits.setdefault(attempt_id, collections.deque())
            while q and now - q[0] > 60.0:
                q.popleft()
            if len(q) >= self.per_minute:
                raise RateLimited("rate_limited", "行为记录发送过于频繁，请稍后重试 (too many batches; retry later)",
                                  "events")
            q.append(now)


limiter = _Limiter(BATCHES_PER_MINUTE)


# --- input -------------------------------------------------------------------------------------------------

def _int(v: Any, field: str, lo: int, hi: int, what: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise DomainError("bad_event", f"{what} ({field} must be an integer {lo}..{hi})", field)
    return v


def _time(v: Any, field: str) -> dt.datetime:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            return dt.datetime.fromtimestamp(v / 1000.0, dt.timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            pass
    elif isinstance(v, str):
        try:
            t = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
            return t.astimezone(dt.timezone.utc).replace(tzinfo=None) if t.tzinfo else t
        except ValueError:
            pass
    raise DomainError("bad_time", "client_at 应为毫秒时间戳或 ISO 时间 (client_at must be epoch ms or ISO time)", field)


def parse_event(e: Any, i: int) -> dict[str, Any]:
    """One event ``{seq, kind, client_at, duration_ms?, detail?}``; DomainError naming ``events[i].field``."""
    at = f"events[{i}]"
    if not isinstance(e, dict):
        raise DomainError("bad_event", "事件应为对象 (an event is an object)", at)
    seq = _int(e.get("seq"), f"{at}.seq", 1, MAX_SEQ, "序号应为正整数")
    kind = e.get("kind")
    if kind in SERVER_KINDS:
        raise DomainError("server_kind", f"{kind} 由服务器记录 (only the server records {kind})", f"{at}.kind")
    if kind not in CLIENT_KINDS:
        raise DomainError("bad_kind", f"未知的行为类型 {str(kind)[:40]!r} (unknown behaviour kind)", f"{at}.kind")
    client_at = _time(e.get("client_at"), f"{at}.client_at")
    duration = e.get("duration_ms")
    if duration is not None:
        if isinstance(duration, float) and duration.is_integer():
            duration = int(duration)
        duration = _int(duration, f"{at}.duration_ms", 0, MAX_DURATION_MS, "持续时间应为毫秒数")
    detail = e.get("detail")
    if detail is None:
        detail = {}
    if not isinstance(detail, dict) or not all(isinstance(v, (str, int, float, bool)) or v is None
                                               for v in detail.values()):
        raise DomainError("bad_detail", "detail 应为简单键值 (detail must be a flat object)", f"{at}.detail")
    if len(json.dumps(detail, ensure_ascii=False)) > MAX_DETAIL_CHARS:
        raise DomainError("too_long", f"detail 过长 (detail longer than {MAX_DETAIL_CHARS})", f"{at}.detail")
    return {"seq": seq, "kind": kind, "client_at": client_at, "duration_ms": duration, "detail": detail}


def parse_batch(data: Any) -> tuple[int | None, list[dict[str, Any]]]:
    """``(attempt_id the page named or None, events)`` of a batch ``{events: [...], attempt_id?}``."""
    if not isinstance(data, dict):
        raise DomainError("bad_batch", "应为对象 {events: [...]} (a batch is an object with events)", "events")
    events = data.get("events")
    if not isinstance(events, list) or not events:
        raise DomainError("bad_batch", "events 应为非空列表 (events must be a non-empty list)", "events")
    if len(events) > MAX_BATCH:
        raise DomainError("too_many", f"每批最多 {MAX_BATCH} 条 (at most {MAX_BATCH} events a batch)", "events")
    claimed = data.get("attempt_id")
    if claimed is not None:
        claimed = _int(claimed, "attempt_id", 1, MAX_SEQ, "attempt_id 应为数字")
    return claimed, [parse_event(e, i) for i, e in enumerate(events)]


# --- store, evaluate, flag ---------------------------------------------------------------------------------

@dataclasses.dataclass
class Received:
    """What a batch did: ``acked`` client seqs (stored now, stored before, or dropped as too late/too many),
    ``warnings`` for the candidate, ``flags`` (new or updated) for the proctors only."""

    attempt_id: int
    session_id: int
    room_id: int
    acked: list[int]
    stored: int
    warnings: list[dict[str, Any]]
    flags: list[dict[str, Any]]

    def ack(self) -> dict[str, Any]:
        """The candidate's acknowledgement: no flag ever goes in it."""
        return {"ok": True, "acked": self.acked, "stored": self.stored, "warnings": self.warnings}


def plan_rules(s: Session, plan_id: int) -> rules.RuleSet:
    data = s.scalar(select(PlanBehaviourRules.rules).where(PlanBehaviourRules.plan_id == plan_id))
    try:
        return rules.ruleset_from_dict(data)
    except (ValueError, TypeError):  # stored through the validated API; a bad row falls back to the defaults
        log.exception("behaviour rules of plan %s are invalid; using the defaults", plan_id)
        return rules.RuleSet()


def stored_events(s: Session, attempt_id: int) -> list[AttemptEvent]:
    return list(s.scalars(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt_id,
                                                     AttemptEvent.kind == EVENT_KIND).order_by(AttemptEvent.id)))


def _as_event(row: AttemptEvent) -> rules.Event:
    d = row.detail
    return rules.Event(int(d["seq"]), d["kind"], int(d["client_ms"]), d.get("duration_ms"), d.get("detail") or {})


def record(s: Session, *, attempt_id: int, device_id: str | None, events: list[dict[str, Any]], now: dt.datetime,
           via: str = "socket") -> Received:
    """Store a parsed batch for one attempt, evaluate the attempt and upsert its flags (the caller commits)."""
    a = s.get(Attempt, attempt_id)
    if a is None:
        raise NotFound("not_found", f"作答记录 {attempt_id} 不存在 (no attempt {attempt_id})", "attempt_id")
    if device_id is not None and a.device_id != device_id:
        raise ops.Refused("device_replaced", "本设备已被替换 (this device was replaced by another one)", "device_id")
    device = (device_id or "")[:16]
    rows = stored_events(s, a.id)
    known = {(r.detail.get("device"), r.detail.get("client_seq")) for r in rows}
    next_seq = max((int(r.detail["seq"]) for r in rows), default=0) + 1
    acked: list[int] = []
    fresh: list[AttemptEvent] = []
    dropped: list[int] = []
    for e in events:
        key = (device, e["seq"])
        acked.append(e["seq"])
        if key in known:
            continue
        known.add(key)
        if a.status == "submitted" and a.submitted_at and e["client_at"] > a.submitted_at + LATE_AFTER_SUBMIT:
            dropped.append(e["seq"])
            continue
        if not now - CLOCK_WINDOW[0] <= e["client_at"] <= now + CLOCK_WINDOW[1]:
            raise DomainError("bad_time", "事件时间与服务器时间相差过大 (client_at is far from the server's time)",
                              f"events[{events.index(e)}].client_at")
        if len(rows) + len(fresh) >= MAX_PER_ATTEMPT:
            dropped.append(e["seq"])
            continue
        client_ms = int((e["client_at"] - a.started_at).total_seconds() * 1000) if a.started_at else 0
        row = AttemptEvent(attempt_id=a.id, at=now, kind=EVENT_KIND, actor_name="", detail={
            "seq": next_seq, "client_seq": e["seq"], "device": device, "kind": e["kind"],
            "client_at": e["client_at"].isoformat(timespec="milliseconds") + "Z", "client_ms": client_ms,
            "duration_ms": e["duration_ms"], "detail": e["detail"], "via": via})
        next_seq += 1
        s.add(row)
        fresh.append(row)
    warnings: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    if fresh or dropped:
        s.flush()
        kinds = collections.Counter(r.detail["kind"] for r in fresh)
        audit.record(s, ops._candidate_actor(a), "attempt.behaviour", "attempt", a.id,
                     {"stored": [r.detail["seq"] for r in fresh], "kinds": dict(sorted(kinds.items())), "via": via,
                      "dropped": dropped}, at=now)
    if fresh:
        all_rows = rows + fresh
        se = s.get(ExamSession, a.session_id)
        assessment = rules.evaluate([_as_event(r) for r in all_rows], plan_rules(s, se.plan_id))
        new_seqs = {r.detail["seq"] for r in fresh}
        warnings = [{"kind": w.kind, "count": w.count, "message_zh": w.message_zh, "message_en": w.message_en}
                    for w in assessment.warnings if w.seq in new_seqs]
        changed = upsert_flags(s, a, se, assessment, all_rows, now=now)
        flags = [flag_view(s, f, a) for f in changed]
    return Received(a.id, a.session_id, a.room_id, acked, len(fresh), warnings, flags)


def _episode_stats(kind: str, assessment: rules.Assessment, rows: list[AttemptEvent]) -> tuple[int, int, list[dict]]:
    """(counted events, their summed duration incl. debounced parts, the evidence timeline) of one kind."""
    why = dict(assessment.ignored)
    counted = {e.seq for e in assessment.counted}
    total, timeline = 0, []
    mine = sorted((r for r in rows if r.detail["kind"] == kind), key=lambda r: (r.detail["client_ms"], r.detail["seq"]))
    for r in mine:
        d = r.detail
        seq = int(d["seq"])
        reason = why.get(seq, "")
        if seq in counted or reason.startswith("debounced"):
            total += d.get("duration_ms") or 0
        timeline.append({"seq": seq, "client_at": d["client_at"], "duration_ms": d.get("duration_ms"),
                         "server_at": r.at.isoformat(timespec="seconds") + "Z", "counted": seq in counted,
                         "note": reason, "detail": d.get("detail") or {}})
    n = sum(1 for x in timeline if x["counted"])
    return n, total, timeline[-EVIDENCE_EVENTS:]


def upsert_flags(s: Session, a: Attempt, se: ExamSession, assessment: rules.Assessment, rows: list[AttemptEvent], *,
                 now: dt.datetime) -> list[ViolationFlag]:
    """One flag per (kind, reason) of the attempt: raised once, its evidence kept current while it is open."""
    plan = s.get(ExamPlan, se.plan_id)
    existing = {(f.evidence or {}).get("key"): f for f in s.scalars(select(ViolationFlag).where(
        ViolationFlag.source == "behaviour", ViolationFlag.attempt_id == a.id))}
    by_seq = {int(r.detail["seq"]): r for r in rows}
    changed = []
    for fl in assessment.flags:
        count, total, timeline = _episode_stats(fl.kind, assessment, rows)
        if fl.reason == "single_time":
            current = dataclasses.replace(fl, total_ms=by_seq[fl.seq].detail.get("duration_ms") or 0)
        else:
            current = dataclasses.replace(fl, count=count, total_ms=total)
        zh, en = current.describe()
        kind_zh, kind_en = rules.KINDS[fl.kind]
        evidence = {"key": fl.key, "kind": fl.kind, "reason": fl.reason, "label_zh": kind_zh, "label_en": kind_en,
                    "summary_en": en, "count": count, "total_ms": total, "raised_by_seq": fl.seq,
                    "raised_evidence": list(fl.evidence), "events": timeline}
        f = existing.get(fl.key)
        if f is None:
            f = ViolationFlag(source="behaviour", agency_id=plan.agency_id, plan_id=plan.id, session_id=se.id,
                              person_id=a.person_id, attempt_id=a.id, kind=fl.kind, severity=fl.severity,
                              summary=zh, evidence=evidence, status="open", created_at=now)
            s.add(f)
            s.flush()
            audit.record(s, SYSTEM, "violation_flag.raise", "violation_flag", f.id,
                         {"source": "behaviour", "attempt_id": a.id, "person_id": a.person_id, "key": fl.key,
                          "severity": fl.severity, "summary": zh, "evidence": list(fl.evidence)}, at=now)
            changed.append(f)
        elif f.status == "open" and (f.summary != zh or f.evidence != evidence):
            old = f.summary
            f.summary, f.evidence = zh, evidence
            s.flush()
            audit.record(s, SYSTEM, "violation_flag.update", "violation_flag", f.id,
                         {"summary": [old, zh], "count": count, "total_ms": total}, at=now)
            changed.append(f)
    return changed


def flag_view(s: Session, f: ViolationFlag, a: Attempt | None = None) -> dict[str, Any]:
    """A flag as the proctor's dashboard shows it (staff only)."""
    a = a if a is not None and a.id == f.attempt_id else (s.get(Attempt, f.attempt_id) if f.attempt_id else None)
    name = s.scalar(select(Person.name).where(Person.id == f.person_id))
    return {"id": f.id, "source": f.source, "kind": f.kind, "severity": f.severity, "summary": f.summary,
            "status": f.status, "case_id": f.case_id, "attempt_id": f.attempt_id,
            "seat_id": a.seat_id if a else None, "person_id": f.person_id, "name": name, "plan_id": f.plan_id,
            "session_id": f.session_id, "created_at": f.created_at.isoformat() + "Z", "evidence": f.evidence}


def push_flags(session_id: int, room_id: int, flags: list[dict[str, Any]]) -> None:
    """New or updated flags to the proctors watching the room (never to the candidate's namespace)."""
    if flags:
        socketio.emit("flags", {"flags": flags}, to=live.proctor_room(session_id, room_id), namespace="/proctor")


def push_flag_change(db, flag_id: int) -> None:
    """After a flag was dismissed or a case opened from it (other areas commit that): tell the room's proctors."""
    with db.read_scope() as s:
        f = s.get(ViolationFlag, flag_id)
        a = s.get(Attempt, f.attempt_id) if f is not None and f.attempt_id else None
        if a is None:
            return
        view, where = flag_view(s, f, a), (a.session_id, a.room_id)
    push_flags(*where, [view])


def receive(attempt_id: int, device_id: str | None, data: Any, *, via: str = "socket",
            now: dt.datetime | None = None) -> Received:
    """A batch from the page of ``attempt_id`` (the one its token holds): validate, store, evaluate, flag,
    commit, then push the changed flags to the room's proctors."""
    claimed, events = parse_batch(data)
    if claimed is not None and claimed != attempt_id:
        raise Forbidden("wrong_attempt", "只能报告本人本场次的作答行为 (events of your own attempt only)", "attempt_id")
    limiter.check(attempt_id)
    with db_write() as s:
        out = record(s, attempt_id=attempt_id, device_id=device_id, events=events, now=now or utcnow(), via=via)
    push_flags(out.session_id, out.room_id, out.flags)
    return out
