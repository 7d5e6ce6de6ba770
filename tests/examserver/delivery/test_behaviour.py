"""Behaviour events from the exam page: stored once, evaluated under the plan's rules, warnings to the candidate,
flags upserted, audited and pushed live to the room's proctors — never to the candidate (issue #6)."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import func, select

from examserver.administration.models import ExamSession
from examserver.delivery import behaviour
from examserver.delivery.models import Attempt, AttemptEvent
from examserver.violations.models import ViolationFlag
from itembank.core.audit import AuditRecord

from ...conftest import api_token  # noqa: TID252
from .conftest import Candidate
from .test_delivery import _attempt_id, proctor_client, started


@pytest.fixture(autouse=True)
def _fresh_limiter():
    behaviour.limiter.__init__(behaviour.BATCHES_PER_MINUTE)  # per-process; attempt ids repeat across databases


def _ms(offset_s: float = 0.0) -> int:
    return int((time.time() + offset_s) * 1000)


def _ev(seq, kind, offset_s, duration_ms=None, **detail):
    e = {"seq": seq, "kind": kind, "client_at": _ms(offset_s)}
    if duration_ms is not None:
        e["duration_ms"] = duration_ms
    if detail:
        e["detail"] = detail
    return e


def _watch(pc, sitting):
    snap = pc.emit("watch", {"session_id": sitting.session_id, "room_id": sitting.room_ids[0]}, namespace="/proctor",
                   callback=True)
    assert snap["seats"]
    pc.get_received("/proctor")
    return snap


def _pushed_flags(pc):
    return [f for m in pc.get_received("/proctor") if m["name"] == "flags" for f in m["args"][0]["flags"]]


def _flags(db, aid):
    with db.read_scope() as s:
        return list(s.scalars(select(ViolationFlag).where(ViolationFlag.attempt_id == aid).order_by(ViolationFlag.id)))


def test_events_are_stored_once_with_server_and_client_time_and_warnings_come_back(app, client, sitting, db):
    c, pc, items = started(app, client, sitting)
    aid = _attempt_id(c)
    ack = c.emit("behaviour", {"events": [_ev(1, "focus_lost", 0, 150),  # a bounce under the grace: no event
                                          _ev(2, "focus_lost", 5, 4000), _ev(3, "copy", 12)]})
    assert ack["ok"] and ack["acked"] == [1, 2, 3] and ack["stored"] == 3
    assert [(w["kind"], w["count"]) for w in ack["warnings"]] == [("focus_lost", 1), ("copy", 1)]
    assert ack["warnings"][0]["message_zh"].startswith("系统已记录：离开考试窗口（第 1 次）")
    assert "Recorded: left the exam window" in ack["warnings"][0]["message_en"]
    again = c.emit("behaviour", {"events": [_ev(2, "focus_lost", 5, 4000), _ev(3, "copy", 12)]})  # a resend
    assert again == {"ok": True, "acked": [2, 3], "stored": 0, "warnings": []}
    with db.read_scope() as s:
        rows = s.scalars(select(AttemptEvent).where(AttemptEvent.attempt_id == aid, AttemptEvent.kind == "behaviour")
                         .order_by(AttemptEvent.id)).all()
        assert [(r.detail["seq"], r.detail["kind"], r.detail["duration_ms"]) for r in rows] == \
            [(1, "focus_lost", 150), (2, "focus_lost", 4000), (3, "copy", None)]
        assert all(r.at is not None and r.detail["client_at"].endswith("Z") for r in rows)
        assert 4000 <= rows[1].detail["client_ms"] <= 7000  # ms since the attempt started
        audits = s.scalars(select(AuditRecord).where(AuditRecord.action == "attempt.behaviour")).all()
        assert len(audits) == 1  # the resend stored nothing and recorded nothing
    assert _flags(db, aid) == []  # warnings come before flags
    # the proctor's timeline shows them
    tl = pc.emit("timeline", {"attempt_id": aid}, namespace="/proctor", callback=True)["events"]
    assert [e["detail"]["kind"] for e in tl if e["kind"] == "behaviour"] == ["focus_lost", "focus_lost", "copy"]


def test_a_flag_is_raised_updated_audited_and_pushed_to_the_room_not_to_the_candidate(app, client, sitting, db):
    c, pc, items = started(app, client, sitting)
    aid = _attempt_id(c)
    _watch(pc, sitting)
    c.received()
    ack = c.emit("behaviour", {"events": [_ev(k, "focus_lost", 10 * k, 3000) for k in (1, 2)]})
    assert ack["stored"] == 2 and _pushed_flags(pc) == []
    t0 = time.monotonic()
    ack = c.emit("behaviour", {"events": [_ev(3, "focus_lost", 30, 3000)]})  # the third: default flag_at 3
    pushed = _pushed_flags(pc)
    assert time.monotonic() - t0 < 2.0
    assert len(pushed) == 1
    f = pushed[0]
    assert (f["kind"], f["severity"], f["status"], f["attempt_id"], f["summary"]) == \
        ("focus_lost", "high", "open", aid, "离开考试窗口 3 次")
    assert f["seat_id"] and f["name"] and f["evidence"]["summary_en"] == "left the exam window 3 times"
    assert [e["duration_ms"] for e in f["evidence"]["events"]] == [3000, 3000, 3000]
    assert all(e["counted"] and e["client_at"] for e in f["evidence"]["events"])
    # more of the same: the same flag, updated
    c.emit("behaviour", {"events": [_ev(4, "focus_lost", 40, 2000)]})
    again = _pushed_flags(pc)
    assert [(x["id"], x["summary"]) for x in again] == [(f["id"], "离开考试窗口 4 次")]
    rows = _flags(db, aid)
    assert [(r.source, r.kind, r.evidence["key"], r.session_id) for r in rows] == \
        [("behaviour", "focus_lost", "focus_lost:count", sitting.session_id)]
    with db.read_scope() as s:
        actions = [a.action for a in s.scalars(select(AuditRecord).where(AuditRecord.object_type == "violation_flag"))]
    assert actions == ["violation_flag.raise", "violation_flag.update"]
    # the candidate got warnings in its acks, and no flag anywhere
    got = c.received()
    assert not [m for m in got if m.get("name") == "flags"]
    for payload in c.seen:
        text = str(payload)
        assert "'severity'" not in text and "'summary'" not in text and "flags" not in text
    assert ack["warnings"][0]["count"] == 3


def test_plan_rules_decide_and_the_http_fallback_does_the_same(app, client, sitting, db):
    with db.read_scope() as s:
        plan_id = s.get(ExamSession, sitting.session_id).plan_id
    r = client.put(f"/api/v1/violations/plans/{plan_id}/behaviour-rules", headers=api_token(client, "agency"),
                   json={"rules": {"fullscreen_exit": {"flag_at": 1}}})
    assert r.status_code == 200, r.get_json()
    c, pc, items = started(app, client, sitting)
    aid = _attempt_id(c)
    _watch(pc, sitting)
    body = c.call("/attempt/behaviour", "POST", {"events": [
        _ev(1, "fullscreen_enter", 0), _ev(2, "fullscreen_exit", 0.5, 900),  # settling after entering: ignored
        _ev(3, "fullscreen_exit", 20, 5000)]})
    assert body["acked"] == [1, 2, 3] and [w["kind"] for w in body["warnings"]] == ["fullscreen_exit"]
    pushed = _pushed_flags(pc)
    assert [(x["kind"], x["summary"]) for x in pushed] == [("fullscreen_exit", "退出全屏 1 次")]
    assert pushed[0]["evidence"]["events"][0]["note"] == "settling after entering fullscreen"
    with db.read_scope() as s:
        assert s.scalars(select(AttemptEvent.detail).where(AttemptEvent.attempt_id == aid,
                                                           AttemptEvent.kind == "behaviour")).all()[0]["via"] == "http"


def test_bad_input_is_a_clear_4xx_and_nothing_is_stored(app, client, sitting, db):
    c, pc, items = started(app, client, sitting)
    aid = _attempt_id(c)
    cases = [
        ({"events": [_ev(1, "telepathy", 0)]}, 400, "bad_kind", "events[0].kind"),
        ({"events": [_ev(1, "copy", 0), _ev(2, "fast_answer", 1)]}, 400, "server_kind", "events[1].kind"),
        ({"events": [_ev(0, "copy", 0)]}, 400, "bad_event", "events[0].seq"),
        ({"events": [{"seq": 1, "kind": "copy", "client_at": "yesterday"}]}, 400, "bad_time", "events[0].client_at"),
        ({"events": [_ev(1, "copy", 3 * 3600)]}, 400, "bad_time", "events[0].client_at"),
        ({"events": [_ev(1, "focus_lost", 0, -5)]}, 400, "bad_event", "events[0].duration_ms"),
        ({"events": [_ev(1, "copy", 0, note="x" * 400)]}, 400, "too_long", "events[0].detail"),
        ({"events": []}, 422, "invalid", "events"),
        ({"events": [_ev(k, "copy", 0) for k in range(1, 102)]}, 422, "invalid", "events"),
    ]
    for body, status, code, field in cases:
        err = c.call("/attempt/behaviour", "POST", body, expect=status)["error"]
        assert (err["code"], err["field"]) == (code, field), (body, err)
        sock = c.emit("behaviour", body)
        if status == 400:
            assert (sock["error"]["code"], sock["error"]["field"]) == (code, field)
        else:
            assert sock["error"]["code"] in ("bad_batch", "too_many")
    assert c.emit("behaviour", "nonsense")["error"]["code"] == "bad_batch"
    assert c.http.post("/api/v1/delivery/attempt/behaviour", json={"events": [_ev(1, "copy", 0)]}).status_code == 401
    with db.read_scope() as s:
        assert s.scalar(select(func.count()).select_from(AttemptEvent).where(
            AttemptEvent.attempt_id == aid, AttemptEvent.kind == "behaviour")) == 0


def test_events_for_another_attempt_are_refused_and_candidates_cannot_read_flags(app, client, sitting, db):
    c, pc, items = started(app, client, sitting)
    other = Candidate(app, sitting, 1)
    other.login()
    mine, theirs = _attempt_id(c), _attempt_id(other)
    res = c.emit("behaviour", {"attempt_id": theirs, "events": [_ev(1, "paste", 0)]})
    assert res["error"]["code"] == "wrong_attempt"
    assert c.call("/attempt/behaviour", "POST", {"attempt_id": theirs, "events": [_ev(1, "paste", 0)]},
                  expect=403)["error"]["code"] == "wrong_attempt"
    assert c.emit("behaviour", {"attempt_id": mine, "events": [_ev(1, "paste", 0)]})["ok"]
    with db.read_scope() as s:
        assert s.scalar(select(func.count()).select_from(AttemptEvent).where(
            AttemptEvent.attempt_id == theirs, AttemptEvent.kind == "behaviour")) == 0
    c.emit("behaviour", {"events": [_ev(2, "paste", 10), _ev(3, "paste", 20)]})  # paste: flag at 2
    assert len(_flags(db, mine)) == 1
    cand = api_token(client, "cand001")
    assert client.get("/api/v1/violations/flags", headers=cand).status_code == 403
    assert client.get(f"/api/v1/violations/flags?session_id={sitting.session_id}&status=all",
                      headers={"X-Attempt-Token": c.token}).status_code in (401, 403)
    staff = client.get(f"/api/v1/violations/flags?session_id={sitting.session_id}&status=all",
                       headers=api_token(client, "proctor")).get_json()["flags"]
    assert [(f["attempt_id"], f["kind"]) for f in staff] == [(mine, "paste")]
    _watch(pc, sitting)
    r = client.post(f"/api/v1/violations/flags/{staff[0]['id']}/dismiss", headers=api_token(client, "proctor"),
                    json={"note": "误触，已核实"})
    assert r.status_code == 200 and r.get_json()["status"] == "dismissed"
    assert [(x["id"], x["status"]) for x in _pushed_flags(pc)] == [(staff[0]["id"], "dismissed")]
    # a candidate's socket cannot watch a room
    assert c.emit("watch", {"session_id": sitting.session_id, "room_id": sitting.room_ids[0]})["error"]["code"] \
        == "forbidden"


def test_replaced_device_late_events_and_the_rate_limit(app, client, sitting, db):
    c, pc, items = started(app, client, sitting)
    aid = _attempt_id(c)
    with db.write_scope() as s:
        a = s.get(Attempt, aid)
        a.status, a.submitted_at = "submitted", a.started_at - dt.timedelta(minutes=10)
    late = c.emit("behaviour", {"events": [_ev(1, "focus_lost", 0, 1000), _ev(2, "copy", -9 * 60)]})
    assert late["ok"] and late["acked"] == [1, 2] and late["stored"] == 1  # after submission + 2 min: dropped
    with db.read_scope() as s:
        assert [d["kind"] for d in s.scalars(select(AttemptEvent.detail).where(
            AttemptEvent.attempt_id == aid, AttemptEvent.kind == "behaviour"))] == ["copy"]
    with db.write_scope() as s:
        s.get(Attempt, aid).device_id = "another-device"
    gone = c.emit("behaviour", {"events": [_ev(3, "copy", 0)]})
    assert gone["error"]["code"] == "device_replaced" and gone["error"]["final"] is True
    lim = behaviour._Limiter(3)
    for _ in range(3):
        lim.check(aid)
    with pytest.raises(behaviour.RateLimited) as e:
        lim.check(aid)
    assert e.value.status == 429 and lim.check(aid + 1) is None


def test_a_case_opens_from_a_flag_on_the_incident_form_once(app, client, sitting, db):
    import re

    from ...conftest import login  # noqa: TID252
    c, pc, items = started(app, client, sitting)
    aid = _attempt_id(c)
    _watch(pc, sitting)
    c.emit("behaviour", {"events": [_ev(k, "paste", 10 * k) for k in (1, 2)]})  # paste: flag at 2
    (flag,) = _flags(db, aid)
    assert [x["status"] for x in _pushed_flags(pc)] == ["open"]
    assert login(client, "proctor").status_code == 302
    page = client.get(f"/violations/new?flag_id={flag.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="from-flag"' in html and "粘贴 2 次" in html
    assert re.search(rf'<option value="{flag.person_id}" selected>', html)
    assert re.search(r'value="rule_breach" required checked', html)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    form = {"csrf_token": token, "plan_id": flag.plan_id, "flag_id": flag.id, "person_id": flag.person_id,
            "session_id": sitting.session_id, "room_id": sitting.room_ids[0], "occurred_at": "2026-11-25T09:30",
            "category": "rule_breach", "facts": "考生多次粘贴外部内容，经提醒仍继续。", "subject": "theory"}
    r = client.post("/violations/new", data=form)
    assert r.status_code == 302 and "/violations/cases/" in r.headers["Location"]
    with db.read_scope() as s:
        f = s.get(ViolationFlag, flag.id)
        assert f.status == "case_opened" and f.case_id
        from examserver.violations.models import CaseEvidence
        ev = s.scalars(select(CaseEvidence).where(CaseEvidence.case_id == f.case_id)).all()
        assert [(e.kind, e.attempt_id, e.data["flag_id"]) for e in ev] == [("flag", aid, flag.id)]
    assert [(x["id"], x["status"]) for x in _pushed_flags(pc)] == [(flag.id, "case_opened")]  # the room sees it
    again = client.post("/violations/new", data=form)  # the flag is closed now
    assert again.status_code == 400 and "该提示已处理" in again.get_data(as_text=True)
    assert client.get("/violations/new?flag_id=999999").status_code == 404
    assert login(client, "cand001").status_code == 302
    assert client.get(f"/violations/new?flag_id={flag.id}").status_code == 403
