"""Delivery end to end through the real API and Socket.IO handlers (Flask-SocketIO test clients)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from examserver.delivery import live, operations as ops
from examserver.delivery.models import Answer, AnswerChange, Attempt, AttemptEvent
from examserver.extensions import socketio
from itembank.core.audit import AuditRecord
from itembank.core.db import utcnow

from ...conftest import api_token  # noqa: TID252
from .conftest import Candidate


def proctor_client(app, client, username="proctor"):
    tok = api_token(client, username)["Authorization"].split()[1]
    return socketio.test_client(app, namespace="/proctor", auth={"token": tok})


def open_session(app, client, sitting):
    pc = proctor_client(app, client)
    assert pc.emit("act", {"action": "open", "session_id": sitting.session_id}, namespace="/proctor",
                   callback=True) == {"ok": True, "opened": True}
    return pc


def started(app, client, sitting, index=0):
    c = Candidate(app, sitting, index)
    c.login()
    c.call("/attempt/confirm", "POST")
    pc = open_session(app, client, sitting)
    paper = c.call("/attempt/start", "POST")["paper"]
    assert c.connect()
    live.tick(app)  # the housekeeping round writes the connect (the server's loop runs it every second)
    return c, pc, c.items(paper)


def test_login_identity_and_wrong_credentials(app, sitting):
    c = Candidate(app, sitting)
    body = c.login()
    ident = body["identity"]
    assert ident["ticket_number"] == c.ticket and ident["occupation"] == "车工" and ident["level"] == 4
    assert "*" in ident["id_number"] and c.id_number not in str(body)
    assert "paper" not in body and body["state"]["clock"]["status"] == "ready"
    bad = Candidate(app, sitting)
    bad.id_number = "410102199001011234"
    assert bad.login(expect=403)["error"]["code"] == "bad_credentials"
    assert Candidate(app, sitting, 1).login(access_code="WRONG123", expect=403)["error"]["field"] == "ticket_number"
    assert c.http.get("/api/v1/delivery/attempt").status_code == 401
    assert c.http.get("/api/v1/delivery/attempt", headers={"X-Attempt-Token": "forged"}).status_code == 401


def test_paper_is_released_only_after_the_session_opens(app, client, sitting):
    c = Candidate(app, sitting)
    c.login()
    assert c.call("/attempt/start", "POST", expect=409)["error"]["code"] == "not_open"
    open_session(app, client, sitting)
    body = c.call("/attempt/start", "POST")
    assert body["state"]["clock"]["status"] == "started" and body["state"]["clock"]["remaining_s"] == 90 * 60
    assert len(c.items(body["paper"])) == 10
    again = c.call("/attempt/start", "POST")  # idempotent: the same order again
    assert [i["paper_item_id"] for i in c.items(again["paper"])] == [i["paper_item_id"] for i in c.items(body["paper"])]


def test_second_device_refused_until_the_proctor_authorises_a_switch(app, client, sitting):
    c, pc, items = started(app, client, sitting)
    assert c.emit("save", {"item": items[0]["paper_item_id"], "seq": 1, "response": "A"})["ok"]
    other = Candidate(app, sitting, device="device-second-one")
    assert other.login(expect=409)["error"]["code"] == "device_locked"
    res = pc.emit("act", {"action": "authorise_switch", "attempt_id": c.login.__self__ and _attempt_id(c),
                          "reason": "电脑死机"}, namespace="/proctor", callback=True)
    assert res["ok"]
    body = other.login()
    assert body["state"]["responses"][str(items[0]["paper_item_id"])]["response"] == "A"  # resumes with its answers
    # the old device is refused from now on, finally
    refused = c.emit("save", {"item": items[1]["paper_item_id"], "seq": 2, "response": "B"})
    assert refused["error"]["code"] == "device_replaced" and refused["error"]["final"] is True
    with app.extensions["skillcert.db"].read_scope() as s:
        kinds = [e.kind for e in s.scalars(select(AttemptEvent).where(AttemptEvent.attempt_id == _attempt_id(c)))]
        actions = set(s.scalars(select(AuditRecord.action).where(AuditRecord.object_type == "attempt")))
    assert "switch_authorised" in kinds and "device_switched" in kinds
    assert {"attempt.start", "attempt.authorise_switch", "attempt.device_switch"} <= actions


def _attempt_id(c):
    return c.seen[0]["identity"]["attempt_id"]


def test_saves_are_idempotent_and_older_seq_never_overwrites_newer(app, client, sitting, db):
    c, pc, items = started(app, client, sitting)
    item = items[0]["paper_item_id"]
    assert c.emit("save", {"item": item, "seq": 2, "response": "C"})["ok"]
    assert c.emit("save", {"item": item, "seq": 1, "response": "A"})["ok"]  # late arrival of an older change
    dup = c.emit("save", {"item": item, "seq": 2, "response": "C"})
    assert dup["ok"] and dup["duplicate"]
    conflict = c.emit("save", {"item": item, "seq": 2, "response": "D"})
    assert conflict["error"]["code"] == "seq_conflict" and conflict["error"]["last_seq"] == 2
    bad = c.emit("save", {"item": 999999, "seq": 3, "response": "A"})
    assert bad["error"]["code"] == "bad_item"
    assert c.emit("save", {"item": item, "seq": "x"})["error"]["field"] == "seq"
    with db.read_scope() as s:
        aid = _attempt_id(c)
        assert s.scalar(select(func.count()).select_from(AnswerChange).where(AnswerChange.attempt_id == aid)) == 2
        ans = s.get(Answer, (aid, item))
        assert (ans.seq, ans.response) == (2, "C")
    state = c.call("/attempt")["state"]
    assert state["responses"][str(item)]["response"] == "C" and state["last_seq"] == 2


def test_http_fallback_accepts_the_same_changes(app, client, sitting, db):
    c, pc, items = started(app, client, sitting)
    a, b = items[0]["paper_item_id"], items[-1]["paper_item_id"]
    res = c.call("/attempt/changes", "POST", {"changes": [
        {"item": a, "seq": 1, "response": "B"}, {"item": b, "seq": 2, "response": ["0.01"]},
        {"item": a, "seq": 1, "response": "B"}, {"item": a, "seq": "?"}]})
    acks = res["acks"]
    assert [x["ok"] for x in acks] == [True, True, True, False]
    assert acks[2]["duplicate"] and acks[3]["error"]["field"] == "changes[3].seq"
    assert c.emit("save", {"item": a, "seq": 3, "response": "C"})["ok"]


def test_pause_extra_time_and_clock_resync(app, client, sitting, db):
    c, pc, items = started(app, client, sitting)
    aid = _attempt_id(c)
    assert pc.emit("act", {"action": "pause", "attempt_id": aid, "reason": "停电"}, namespace="/proctor",
                   callback=True)["ok"]
    clock = c.emit("sync")["clock"]
    assert clock["paused"] is True
    assert any(m["name"] == "clock" for m in c.received())  # the hint; the browser re-syncs
    assert pc.emit("act", {"action": "extra_time", "attempt_id": aid, "minutes": 10, "reason": "停电补时"},
                   namespace="/proctor", callback=True)["ok"]
    assert pc.emit("act", {"action": "resume", "attempt_id": aid}, namespace="/proctor", callback=True)["ok"]
    beat = c.emit("heartbeat")
    clock = beat["clock"]
    assert clock["paused"] is False and clock["extra_s"] == 600 and clock["remaining_s"] > 99 * 60
    assert beat["beat_ms"] == 2500 and c.emit("sync")["beat_ms"] == 2500  # a small room: the fastest pace
    bad = pc.emit("act", {"action": "extra_time", "attempt_id": aid, "minutes": 10}, namespace="/proctor", callback=True)
    assert bad["error"]["field"] == "reason"
    with db.read_scope() as s:
        actions = list(s.scalars(select(AuditRecord.action).where(AuditRecord.object_type == "attempt",
                                                                  AuditRecord.object_id == str(aid))
                                 .order_by(AuditRecord.seq)))
    assert actions == ["attempt.start", "attempt.pause", "attempt.extra_time", "attempt.resume"]


def test_late_changes_are_refused_and_the_deadline_submits_without_a_browser(app, client, sitting, db):
    c, pc, items = started(app, client, sitting)
    aid = _attempt_id(c)
    item = items[0]["paper_item_id"]
    assert c.emit("save", {"item": item, "seq": 1, "response": "A"})["ok"]
    c.sock.disconnect(namespace="/exam")
    with db.write_scope() as s:  # move the start back: the time is up
        a = s.get(Attempt, aid)
        a.started_at = a.started_at - dt.timedelta(minutes=90, seconds=30)
    now = utcnow()
    with db.write_scope() as s:
        late = None
        try:
            ops.save_change(s, attempt_id=aid, device_id=c.device, item=item, seq=2, response="B",
                            client_at=now, now=now)
        except ops.Refused as e:
            late = e
    assert late is not None and late.code == "late" and late.final
    # made before the deadline, arriving within the grace: accepted
    with db.write_scope() as s:
        ok = ops.save_change(s, attempt_id=aid, device_id=c.device, item=item, seq=3, response="C",
                             client_at=now - dt.timedelta(seconds=40), now=now)
    assert ok.applied
    out = live.tick(app, now=now + dt.timedelta(seconds=61))
    assert out["submitted"] == [aid]
    with db.read_scope() as s:
        a = s.get(Attempt, aid)
        assert a.status == "submitted" and a.submit_reason == "deadline" and a.score_max == 100
        assert s.get(Answer, (aid, item)).response == "C"
    state = c.call("/attempt")["state"]
    assert state["clock"]["status"] == "submitted" and "result" not in state
    assert c.call("/attempt/changes", "POST", {"changes": [{"item": item, "seq": 9, "response": "D"}]})[
        "acks"][0]["error"]["code"] == "submitted"


def test_the_deadline_scan_finds_an_attempt_exactly_when_its_clock_has_expired(app, client, sitting, db):
    """The database preselects overdue attempts by arithmetic on the clock columns; at every instant around
    a deadline plus grace the scan agrees with clock.expired, for extra time, pauses taken and grace."""
    from examserver.delivery import clock
    from examserver.delivery.models import SessionDelivery
    c, pc, items = started(app, client, sitting)
    aid = _attempt_id(c)
    ms = dt.timedelta(milliseconds=1)
    for extra, paused, grace in [(0, 0.0, 60), (600, 0.0, 60), (0, 125.5, 0), (300, 3600.25, 90)]:
        with db.write_scope() as s:
            a = s.get(Attempt, aid)
            a.extra_seconds, a.paused_seconds = extra, paused
            s.scalars(select(SessionDelivery).where(SessionDelivery.session_id == a.session_id)).one() \
                .grace_seconds = grace
        with db.read_scope() as s:
            a = s.get(Attempt, aid)
            facts = clock.ClockFacts(a.started_at, dt.timedelta(seconds=a.duration_seconds),
                                     dt.timedelta(seconds=extra), dt.timedelta(seconds=paused), None)
            due = clock.deadline(facts) + dt.timedelta(seconds=grace)
            for now, expect in [(due - dt.timedelta(hours=1), False), (due - ms, False), (due, False),
                                (due + ms, True), (due + dt.timedelta(days=1), True)]:
                assert (aid in ops.overdue_ids(s, now=now)) is expect, (extra, paused, grace, now - due)
    with db.write_scope() as s:  # a paused clock never expires
        s.get(Attempt, aid).paused_at = utcnow()
    with db.read_scope() as s:
        assert aid not in ops.overdue_ids(s, now=due + dt.timedelta(days=1))


def test_submit_scores_and_shows_the_score_only_when_the_plan_allows(app, client, sitting, db):
    c, pc, items = started(app, client, sitting)
    with db.read_scope() as s:
        from itembank.papers import Paper, scoring_key
        a = s.get(Attempt, _attempt_id(c))
        key = {k["paper_item_id"]: k["answer"] for k in scoring_key(s.get(Paper, a.paper_id))["items"]}
    seq = 0
    for it in items:
        seq += 1
        k = key[it["paper_item_id"]]
        resp = [alts[0] for alts in k] if it["item_type"] == "fill" else k
        assert c.emit("save", {"item": it["paper_item_id"], "seq": seq, "response": resp})["ok"]
    assert c.emit("submit", {"confirm": False})["error"]["code"] == "confirm"
    res = c.emit("submit", {"confirm": True})
    assert res["ok"] and "result" not in res["state"]
    with db.read_scope() as s:
        a = s.get(Attempt, _attempt_id(c))
        assert (a.score_awarded, a.score_max) == (100.0, 100.0)
    with db.write_scope() as s:
        ops.session_delivery(s, sitting.session_id).show_score = True
    assert c.call("/attempt")["state"]["result"] == {"points": 100.0, "out_of": 100.0}
    assert c.emit("save", {"item": items[0]["paper_item_id"], "seq": seq + 1, "response": "B"})["error"]["code"] == \
        "submitted"


def test_proctor_sees_progress_presence_and_force_submits(app, client, sitting, db):
    c, pc, items = started(app, client, sitting)
    aid = _attempt_id(c)
    snap = pc.emit("watch", {"session_id": sitting.session_id, "room_id": sitting.room_ids[0]}, namespace="/proctor",
                   callback=True)
    seat = next(x for x in snap["seats"] if x["attempt_id"] == aid)
    assert seat["state"] == "answering" and seat["online"] and seat["answered"] == 0 and seat["total"] == 10
    assert sum(1 for x in snap["seats"] if x["state"] == "absent") == 5
    pc.get_received("/proctor")
    c.emit("save", {"item": items[0]["paper_item_id"], "seq": 1, "response": "A"})
    live.tick(app)
    pushed = [m for m in pc.get_received("/proctor") if m["name"] == "seats"]
    assert pushed and pushed[-1]["args"][0]["seats"][0]["answered"] == 1
    c.sock.disconnect(namespace="/exam")
    live.tick(app)
    pushed = [m for m in pc.get_received("/proctor") if m["name"] == "seats"]
    assert pushed[-1]["args"][0]["seats"][0]["state"] == "offline"
    assert pushed[-1]["args"][0]["seats"][0]["offline_since"]
    assert pc.emit("ping", {}, namespace="/proctor", callback=True) == {"pong": True}  # the dashboard's liveness
    res = pc.emit("act", {"action": "force_submit", "attempt_id": aid, "reason": "违纪"}, namespace="/proctor",
                  callback=True)
    assert res["ok"]
    tl = pc.emit("timeline", {"attempt_id": aid}, namespace="/proctor", callback=True)["events"]
    kinds = [e["kind"] for e in tl]
    assert kinds[:2] == ["device_bound", "sign_in"] and "online" in kinds and "offline" in kinds and \
        kinds[-1] == "force_submit"
    # another agency's proctor is refused the room
    other = proctor_client(app, client, "admin")
    assert other.emit("watch", {"session_id": sitting.session_id, "room_id": sitting.room_ids[0]},
                      namespace="/proctor", callback=True)["seats"]
    assert not socketio.test_client(app, namespace="/proctor",
                                    auth={"token": api_token(client, "cand001")["Authorization"][7:]}
                                    ).is_connected("/proctor")


def test_heartbeat_silence_marks_the_seat_offline(app, client, sitting, db):
    c, pc, items = started(app, client, sitting)
    aid = _attempt_id(c)
    live.presence.beats[aid] -= live.HEARTBEAT_TIMEOUT + 1
    assert aid in live.tick(app)["silent"]
    with db.read_scope() as s:
        assert s.get(Attempt, aid).online is False
    c.emit("heartbeat")
    live.tick(app)
    with db.read_scope() as s:
        assert s.get(Attempt, aid).online is True


def test_nothing_secret_ever_reaches_a_candidate(app, client, sitting):
    """Every payload a candidate receives — HTTP bodies, acks, pushes — carries no key, explanation or score."""
    c, pc, items = started(app, client, sitting)
    for k, it in enumerate(items):
        c.emit("save", {"item": it["paper_item_id"], "seq": k + 1, "response": "A"})
    c.emit("flag", {"item": items[0]["paper_item_id"], "flagged": True})
    c.emit("sync")
    c.emit("heartbeat")
    pc.emit("act", {"action": "pause", "attempt_id": _attempt_id(c), "reason": "x"}, namespace="/proctor", callback=True)
    pc.emit("act", {"action": "resume", "attempt_id": _attempt_id(c)}, namespace="/proctor", callback=True)
    c.call("/attempt")
    c.emit("submit", {"confirm": True})
    c.call("/attempt")
    assert c.secrets() == []
    assert len(c.seen) > 20
    text = repr(c.seen)
    assert "解析" not in text  # the demo items' explanations


def test_a_failing_light_event_answers_with_an_error_instead_of_leaving_the_browser_waiting(app, client, sitting,
                                                                                            monkeypatch):
    c, pc, items = started(app, client, sitting)

    def broken(*a, **k):
        raise RuntimeError("database gone")
    monkeypatch.setattr(ops, "clock_hot", broken)
    assert c.emit("heartbeat")["error"]["code"] == "internal"
    monkeypatch.undo()
    assert c.emit("heartbeat")["clock"]["status"] == "started"  # the connection is still good


def test_a_seat_whose_process_died_goes_offline_once_its_last_beat_is_stale(app, client, sitting, db):
    """Seats online in the database that no live process holds (their server was killed) are marked offline
    by whichever process runs the round, in one statement, each with its timeline entry."""
    c, pc, items = started(app, client, sitting)
    aid = _attempt_id(c)
    with live.presence.lock:  # as if another process, since killed, held this candidate
        live.presence.sockets.pop(aid, None)
        live.presence.online.discard(aid)
    now = utcnow()
    with db.write_scope() as s:
        s.get(Attempt, aid).last_seen_at = now - dt.timedelta(seconds=live.STALE_AFTER - 5)
    assert live.tick(app, now=now)["stale"] == []  # not yet
    with db.write_scope() as s:
        s.get(Attempt, aid).last_seen_at = now - dt.timedelta(seconds=live.STALE_AFTER + 5)
    assert live.tick(app, now=now)["stale"] == [aid]
    with db.read_scope() as s:
        a = s.get(Attempt, aid)
        assert a.online is False and a.offline_since == now
        kinds = list(s.scalars(select(AttemptEvent.kind).where(AttemptEvent.attempt_id == aid)
                               .order_by(AttemptEvent.id)))
    assert kinds[-1] == "offline"
    assert live.tick(app, now=now)["stale"] == []  # once
