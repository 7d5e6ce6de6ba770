"""Marking services on the demo plan: 考评到人, re-authentication, blind marking, signed marks never overwritten,
aggregation/adjudication, subject results with cancelled subjects, audit before certification."""
import datetime as dt

import pytest
from sqlalchemy import select

from examserver.administration.models import ExamSession, SeatAssignment
from examserver.delivery.models import Attempt
from examserver.marking import operations as ops
from itembank.core.audit import Actor, AuditRecord
from itembank.core.errors import Conflict, DomainError, Forbidden
from itembank.core.people import Account

from ..test_violations import _notify_and_decide, _open, _through_confirmation, world  # noqa: F401,TID252
from scoring.marking_models import PracticalMark

NOW = dt.datetime(2026, 12, 20, 9, 0)
PW = "skillcert-demo"
RUBRIC = {"criteria": [
    {"name": "外圆尺寸", "max_points": 60, "deductions": [{"rule": "每处超差0.01 mm", "points": 3}]},
    {"name": "安全文明生产", "max_points": 40, "deductions": [{"rule": "未戴防护眼镜", "points": 5}]}],
    "time_minutes": 120}
TASK = "轴类零件加工"
pytestmark = pytest.mark.slow  # each test loads the demo data set


def actor(s, username, role):
    acc = s.scalar(select(Account).where(Account.username == username))
    return Actor(acc.id, acc.person.name, role)


def setup(s, threshold=10.0):
    se = s.scalar(select(ExamSession).where(ExamSession.tasks.like(f"%{TASK}%")))
    lead = actor(s, "examiner", "examiner")
    ops.setup_task(s, actor(s, "agency", "agency_admin"), session=se, task=TASK, rubric=RUBRIC,
                   spread_threshold=threshold, lead_account_id=lead.account_id)
    regs = ops.candidates(s, se.plan)
    return se, regs


def mark(s, se, reg, who, deduct=0, pw=PW, **kw):
    return ops.submit_mark(s, actor(s, who, "examiner"), session=se, task=TASK, registration=reg,
                           entries=[{"deductions": [{"index": 0, "count": deduct}]} if deduct else {}, {}],
                           password=pw, now=NOW, **kw)


def test_only_assigned_examiners_with_their_password(db, demo):
    with db.write_scope() as s:
        se, regs = setup(s)
        with pytest.raises(Forbidden) as e:
            mark(s, se, regs[0], "examiner3")          # not on the panel
        assert e.value.field == "task"
        with pytest.raises(Forbidden) as e:
            mark(s, se, regs[0], "examiner", pw="wrong")
        assert e.value.field == "password"
        m = mark(s, se, regs[0], "examiner", deduct=2)
        assert m.total == 94 and "再次认证" in m.attestation
        rec = s.scalar(select(AuditRecord).where(AuditRecord.action == "practical_mark.sign",
                                                 AuditRecord.object_id == str(m.id)))
        assert '"reauthenticated":true' in rec.changes and "attestation" in rec.changes


def test_blind_until_the_panel_is_complete(db, demo):
    with db.write_scope() as s:
        se, regs = setup(s)
        reg = regs[1]
        mark(s, se, reg, "examiner", 1)
        mark(s, se, reg, "examiner2", 2)
        me = actor(s, "examiner", "examiner")
        seen = ops.visible_marks(s, me, session_id=se.id, task=TASK, registration_id=reg.id)
        assert [m.examiner_account_id for m in seen] == [me.account_id]
        assert ops.task_mark(s, ops.marking_task(s, se.id, TASK), reg.id).status == "incomplete"
        mark(s, se, reg, "examiner4", 3)
        assert len(ops.visible_marks(s, me, session_id=se.id, task=TASK, registration_id=reg.id)) == 3
        tm = ops.task_mark(s, ops.marking_task(s, se.id, TASK), reg.id)
        assert tm.status == "aggregated" and tm.points == 94.0


def test_signed_marks_are_never_overwritten(db, demo):
    with db.write_scope() as s:
        se, regs = setup(s)
        m = mark(s, se, regs[2], "examiner", 1)
        with pytest.raises(Conflict):
            mark(s, se, regs[2], "examiner", 2)                    # a second mark without correcting
        with pytest.raises(DomainError) as e:
            mark(s, se, regs[2], "examiner", 2, supersedes_id=m.id)  # correction without a reason
        assert e.value.field == "correction_reason"
        c = mark(s, se, regs[2], "examiner", 2, supersedes_id=m.id, correction_reason="复核量具读数")
        assert c.id != m.id and c.supersedes_id == m.id and c.total == 94
        assert [x.id for x in ops.current_marks(s, se.id, TASK, regs[2].id)] == [c.id]
        assert [x.id for x in ops.mark_history(s, c)] == [c.id, m.id]
        old = s.get(PracticalMark, m.id)
        assert old.total == 97
        old.total = 100
        with pytest.raises(Conflict):
            s.flush()
        s.rollback()


def test_spread_goes_to_the_lead_for_adjudication(db, demo):
    with db.write_scope() as s:
        se, regs = setup(s, threshold=5)
        reg = regs[3]
        mark(s, se, reg, "examiner", 0)
        mark(s, se, reg, "examiner2", 1)
        mark(s, se, reg, "examiner4", 4)                       # 100, 97, 88: spread 12 > 5
        mt = ops.marking_task(s, se.id, TASK)
        assert ops.task_mark(s, mt, reg.id).status == "needs_adjudication"
        lead = actor(s, "examiner", "examiner")
        assert [r.id for _, r, _ in ops.adjudication_queue(s, lead.account_id)] == [reg.id]
        with pytest.raises(Forbidden):
            ops.adjudicate(s, actor(s, "examiner2", "examiner"), session=se, task=TASK, registration=reg,
                           final_mark=97, reason="复核工件", now=NOW)
        with pytest.raises(DomainError):
            ops.adjudicate(s, lead, session=se, task=TASK, registration=reg, final_mark=101, reason="复核工件", now=NOW)
        ops.adjudicate(s, lead, session=se, task=TASK, registration=reg, final_mark=96, reason="复核工件尺寸", now=NOW)
        tm = ops.task_mark(s, mt, reg.id)
        assert tm.status == "adjudicated" and tm.points == 96
        assert ops.adjudication_queue(s, lead.account_id) == []


def _mark_all(s, se, regs):
    for i, reg in enumerate(regs):
        for who in ("examiner", "examiner2", "examiner4"):
            mark(s, se, reg, who, deduct=i % 3)


def _theory(s, plan, regs, score):
    for reg in regs:
        seat = s.scalar(select(SeatAssignment).where(SeatAssignment.registration_id == reg.id))
        if seat is None:
            continue
        s.add(Attempt(session_id=seat.session_id, room_id=seat.room_id, seat_id=seat.id, person_id=reg.person_id,
                      shuffle_seed="x", status="submitted", submitted_at=NOW, score_awarded=score, score_max=100))
    s.flush()


def test_results_audit_before_certify(db, demo, app, client, world):
    case = _open(client, world, "left_seat", facts="考生未经允许离开座位，经提醒拒不回座。")
    _through_confirmation(client, world, case)
    _notify_and_decide(client, world, case["id"], 5, 2)      # cand001's theory result is cancelled (指引 art. 5)
    with db.write_scope() as s:
        se, regs = setup(s, threshold=100)
        cand001 = world["person_of"]["cand001"]
        regs = sorted([r for r in regs if r.person_id not in _recused(s)], key=lambda r: r.person_id != cand001)[:4]
        assert regs[0].person_id == cand001
        plan = se.plan
        for r in ops.candidates(s, plan):      # four candidates are enough
            if r not in regs:
                r.status = "withdrawn"
        _mark_all(s, se, regs)
        _theory(s, plan, regs, 72)
        agency = actor(s, "agency", "agency_admin")
        results = ops.compute_subject_results(s, agency, plan, now=NOW)
        assert {r.subject for r in results} == {x.subject for x in plan.subjects}
        decisions = ops.level_decisions(s, plan)
        assert not decisions[regs[0].person_id].passed
        assert decisions[regs[0].person_id].failing[0].code == "cancelled"
        assert decisions[regs[1].person_id].passed
        issuer = _issuer(app)
        with pytest.raises(Conflict) as e:
            ops.certify_plan(s, agency, plan, issuer=issuer, issue_date=NOW.date())
        assert e.value.field == "plan_id"
        b = ops.submit_results_batch(s, agency, plan, now=NOW, today=NOW.date())
        with pytest.raises(Conflict):
            mark(s, se, regs[0], "examiner", 1, supersedes_id=ops.current_marks(s, se.id, TASK, regs[0].id)[0].id,
                 correction_reason="after submission")
        with pytest.raises(Conflict):
            ops.certify_plan(s, agency, plan, issuer=issuer, issue_date=NOW.date())
        with pytest.raises(Forbidden):
            ops.decide_batch(s, agency, b, approve=True, now=NOW)
        auditor = actor(s, "auditor", "center_auditor")
        with pytest.raises(DomainError) as e:
            ops.decide_batch(s, auditor, b, approve=False, reasons="", now=NOW)
        assert e.value.field == "reasons"
        ops.decide_batch(s, auditor, b, approve=False, reasons="请补充考评员签名材料", now=NOW)
        assert b.status == "returned"
        b2 = ops.submit_results_batch(s, agency, plan, now=NOW, today=NOW.date())
        ops.decide_batch(s, auditor, b2, approve=True, now=NOW)
        certs = ops.certify_plan(s, agency, plan, issuer=issuer, issue_date=NOW.date())
        assert {c.person_id for c in certs} == {r.person_id for r in regs[1:]}
        again = ops.certify_plan(s, agency, plan, issuer=issuer, issue_date=NOW.date())
        assert [c.id for c in again] == [c.id for c in certs]
        mine = ops.candidate_results(s, regs[0].person_id)
        assert mine and not mine[0]["passed"] and mine[0]["reasons"][0]["code"] == "cancelled"
        s.rollback()


def _recused(s):
    from examserver.administration.models import ConflictDeclaration
    return {c.candidate_person_id for c in s.scalars(select(ConflictDeclaration))}


def _issuer(app):
    from examserver.certification import keys
    with app.app_context():
        return keys.issuer()
