"""Administration services against a real database: scope, deadlines, bans, import, seating, staff, the draw,
tickets, and the audit trail of every change."""
from __future__ import annotations

import datetime as dt
import io
import json
import subprocess

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from examserver.administration import operations as ops
from examserver.administration import rules, spreadsheets, tickets
from examserver.administration.models import ExamPlan, PlanDocument, SupervisorReport
from itembank.core.audit import SYSTEM, AuditRecord
from itembank.core.errors import Conflict, DomainError, Forbidden
from itembank.core.people import Account, Person
from itembank.core.reference import Agency, Occupation, Room, Site, WorkType

from .conftest import D, rid

DAY = D(2026, 12, 15)  # 14 working days after Wed 25 Nov 2026 (no holidays in between)


def _objs(s, w):
    return (s.get(Agency, w.agency_id), s.get(Site, w.site_id), s.get(Occupation, w.occupation_id),
            [s.get(Room, r) for r in w.room_ids])


def make_plan(s, w, *, level=4, first_day=DAY, work_type=False, with_sessions=True, register=True,
              subjects=None) -> ExamPlan:
    ag, site, occ, rooms = _objs(s, w)
    actor = w.actor(s, "agency")
    plan = ops.create_plan(s, actor, agency=ag, site=site, occupation=occ, level=level, first_day=first_day,
                           work_type=s.get(WorkType, w.work_type_id) if work_type else None, subjects=subjects)
    if with_sessions:
        at = dt.datetime.combine(first_day, dt.time(9))
        ops.add_session(s, actor, plan, subject="theory", starts_at=at, ends_at=at + dt.timedelta(minutes=90),
                        rooms=rooms[:2])
        pm = dt.datetime.combine(first_day, dt.time(13, 30))
        ops.add_session(s, actor, plan, subject="practical", starts_at=pm, ends_at=pm + dt.timedelta(hours=4),
                        rooms=rooms[2:], forms=["A"], tasks=["轴类零件加工"])
    if register:
        for pid in w.candidates:
            ops.register(s, actor, plan, s.get(Person, pid), source="agency", today=w.today)
    return plan


def acc(s, w, username) -> Account:
    return s.get(Account, w.accounts[username])


def actions(s, object_type=None) -> list[str]:
    q = select(AuditRecord.action).order_by(AuditRecord.seq)
    if object_type:
        q = q.where(AuditRecord.object_type == object_type)
    return list(s.scalars(q))


# --- scope and plan lifecycle --------------------------------------------------------------------

def test_out_of_scope_plans_are_refused(db, world):
    with db.write_scope() as s:
        ag, site, occ, _ = _objs(s, world)
        actor = world.actor(s, "agency")
        for level, wt in ((2, None), (1, None), (1, s.get(WorkType, world.work_type_id))):
            with pytest.raises(Forbidden) as e:
                ops.create_plan(s, actor, agency=ag, site=site, occupation=occ, level=level, first_day=DAY,
                                work_type=wt)
            assert e.value.code == "out_of_scope" and e.value.field == "level"
        # in scope through the work type only: 数控车床 level 2, which may add the comprehensive review
        plan = ops.create_plan(s, actor, agency=ag, site=site, occupation=occ, level=2, first_day=DAY,
                               work_type=s.get(WorkType, world.work_type_id),
                               subjects={"theory": 60, "practical": 60, "review": 70})
        assert [x.subject for x in plan.subjects] == ["theory", "practical", "review"]
        with pytest.raises(DomainError) as e:
            ops.create_plan(s, actor, agency=ag, site=site, occupation=occ, level=4, first_day=DAY,
                            subjects={"theory": 60, "review": 60})
        assert e.value.code == "bad_subject"
        assert "exam_plan.create" in actions(s)


def test_filing_on_time_keeps_the_roster_and_late_filing_needs_a_reason(db, world):
    with db.write_scope() as s:
        plan = make_plan(s, world)
        actor = world.actor(s, "agency")
        ops.file_plan(s, actor, plan, today=world.today)
        assert plan.status == "filed" and not plan.late_filing
        doc = s.scalar(select(PlanDocument).where(PlanDocument.plan_id == plan.id))
        wb = load_workbook(io.BytesIO(doc.content))
        rows = list(wb.active.iter_rows(values_only=True))
        assert rows[0][:5] == ("序号", "准考证号", "姓名", "证件类型", "证件号码") and len(rows) == 1 + 8
        rec = s.scalar(select(AuditRecord).where(AuditRecord.action == "exam_plan.file"))
        changes = json.loads(rec.changes)
        assert changes["working_days_ahead"] == 13 and changes["late"] is False
        assert changes["roster_sha256"] == doc.sha256

        late = make_plan(s, world, first_day=D(2026, 12, 4), register=False)
        ops.register(s, actor, late, s.get(Person, world.candidates[0]), source="agency", today=world.today)
        with pytest.raises(DomainError) as e:
            ops.file_plan(s, actor, late, today=world.today)
        assert e.value.code == "late_filing" and e.value.field == "late_reason" and "6" in e.value.message
        ops.file_plan(s, actor, late, today=world.today, late_reason="企业临时调整生产计划，经中心同意")
        assert late.late_filing and late.late_filing_reason.startswith("企业")
        assert ops.plan_flags(s, late, world.today)["late_filing"] is True


def test_a_public_holiday_makes_an_otherwise_timely_filing_late(db, world):
    with db.write_scope() as s:
        first = D(2026, 12, 10)  # 10 working days between 25 Nov and 10 Dec without holidays
        plan = make_plan(s, world, first_day=first)
        ops.set_holiday(s, world.actor(s, "auditor"), day=D(2026, 12, 1), name="测试假日")
        with pytest.raises(DomainError) as e:
            ops.file_plan(s, world.actor(s, "agency"), plan, today=world.today)
        assert e.value.code == "late_filing"
        ops.remove_holiday(s, world.actor(s, "auditor"), day=D(2026, 12, 1))
        ops.file_plan(s, world.actor(s, "agency"), plan, today=world.today)
        assert not plan.late_filing
        with pytest.raises(DomainError):
            ops.set_holiday(s, SYSTEM, day=D(2026, 12, 2), name="x", working=True)  # a Wednesday


def test_pass_marks_are_fixed_at_approval(db, world):
    with db.write_scope() as s:
        plan = make_plan(s, world)
        actor = world.actor(s, "agency")
        ops.set_pass_mark(s, actor, plan, subject="theory", pass_mark=65)
        ops.file_plan(s, actor, plan, today=world.today)
        ops.set_pass_mark(s, actor, plan, subject="theory", pass_mark=60)
        ops.approve_plan(s, world.actor(s, "auditor"), plan)
        with pytest.raises(Conflict) as e:
            ops.set_pass_mark(s, actor, plan, subject="theory", pass_mark=55)
        assert e.value.code == "pass_mark_locked"
        assert plan.subject("theory").pass_mark == 60
        assert actions(s, "exam_plan").count("exam_plan.pass_mark") == 2


def test_full_lifecycle_with_results_reported_late(db, world):
    with db.write_scope() as s:
        plan = make_plan(s, world)
        agency, auditor = world.actor(s, "agency"), world.actor(s, "auditor")
        ops.file_plan(s, agency, plan, today=world.today)
        ops.approve_plan(s, auditor, plan)
        with pytest.raises(Conflict) as e:
            ops.start_plan(s, agency, plan)
        assert e.value.code == "not_ready" and "not seated" in e.value.message
        _seat_and_staff(s, world, plan)
        ops.start_plan(s, agency, plan)
        ops.close_plan(s, agency, plan, today=DAY)
        assert ops.plan_flags(s, plan, DAY)["reporting_deadline"] == D(2026, 12, 29)
        with pytest.raises(DomainError) as e:
            ops.report_results(s, agency, plan, today=D(2026, 12, 30))
        assert e.value.code == "late_report"
        ops.report_results(s, agency, plan, today=D(2026, 12, 30), late_reason="系统故障")
        assert plan.late_report
        ops.audit_plan(s, auditor, plan)
        assert plan.status == "audited"
        with pytest.raises(Conflict):
            ops.approve_plan(s, auditor, plan)
        assert [a for a in actions(s, "exam_plan") if a.startswith("exam_plan.")][-6:] == [
            "exam_plan.file", "exam_plan.approve", "exam_plan.start", "exam_plan.close", "exam_plan.report",
            "exam_plan.audit"]


def _seat_and_staff(s, w, plan):
    agency = w.actor(s, "agency")
    theory, practical = plan.sessions
    ops.seat_session(s, agency, theory, seed="t")
    r301, r302, _ = [s.get(Room, r) for r in w.room_ids]
    ops.assign_staff(s, agency, plan, account=acc(s, w, "chief"), duty="chief_proctor", session=theory, room=r301)
    ops.assign_staff(s, agency, plan, account=acc(s, w, "pr1"), duty="proctor", session=theory, room=r301)
    ops.assign_staff(s, agency, plan, account=acc(s, w, "pr2"), duty="proctor", session=theory, room=r302)
    ops.assign_staff(s, agency, plan, account=acc(s, w, "pr3"), duty="proctor", session=theory, room=r302)
    for u in ("ex_l2", "ex_l3", "ex_mid"):
        ops.assign_staff(s, agency, plan, account=acc(s, w, u), duty="examiner", session=practical, task="轴类零件加工")
    ops.draw_supervisor(s, agency, plan, seed="fixed-seed")


# --- registration, bans and import ---------------------------------------------------------------

def test_active_bans_block_registration_showing_decision_and_end_date(db, world):
    with db.write_scope() as s:
        plan = make_plan(s, world, register=False)
        agency, auditor = world.actor(s, "agency"), world.actor(s, "auditor")
        p1, p2, p3, p4 = (s.get(Person, pid) for pid in world.candidates[:4])
        occ = s.get(Occupation, world.occupation_id)
        other = ops_occupation(s)
        ops.record_ban(s, auditor, person=p1, occupation=occ, reason="使用手机拍摄试题", decision_ref="豫鉴违〔2026〕1号",
                       article="指引第六条", starts_on=D(2026, 3, 1), ends_on=D(2026, 12, 31))
        ops.record_ban(s, auditor, person=p2, reason="替考", decision_ref="豫鉴违〔2025〕9号", article="指引第七条",
                       starts_on=D(2025, 1, 1), ends_on=D(2026, 11, 24))            # ended yesterday
        ops.record_ban(s, auditor, person=p3, occupation=other, reason="x", decision_ref="豫鉴违〔2026〕2号",
                       article="指引第六条", starts_on=D(2026, 1, 1), ends_on=D(2026, 12, 31))  # another occupation
        ops.record_ban(s, auditor, person=p4, reason="组织作弊", decision_ref="豫鉴违〔2026〕5号", article="指引第七条",
                       starts_on=D(2026, 12, 1), ends_on=D(2031, 11, 30))            # starts before the exam day
        with pytest.raises(Forbidden) as e:
            ops.register(s, agency, plan, p1, source="agency", today=world.today)
        assert e.value.code == "banned" and "豫鉴违〔2026〕1号" in e.value.message and "2026-12-31" in e.value.message
        assert e.value.details["bans"][0]["ends_on"] == "2026-12-31"
        ops.register(s, agency, plan, p2, source="agency", today=world.today)
        ops.register(s, agency, plan, p3, source="agency", today=world.today)
        with pytest.raises(Forbidden) as e:
            ops.register(s, agency, plan, p4, source="agency", today=world.today)
        assert "2031-11-30" in e.value.message
        assert [b.decision_ref for b in ops.active_bans(s, p1.id, world.today)] == ["豫鉴违〔2026〕1号"]
        assert ops.active_bans(s, p1.id, D(2027, 1, 1)) == []
        assert ops.active_bans(s, p3.id, world.today, occ.id) == []
        with pytest.raises(Conflict):
            ops.register(s, agency, plan, p2, source="self", today=world.today)


def ops_occupation(s):
    from itembank.core import directory
    return directory.create_occupation(s, SYSTEM, code="6-18-01-02", name="铣工")


def _xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "证件类型", "证件号码", "联系电话", "工作单位"])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_import_validates_ids_detects_duplicates_and_refuses_the_banned(db, world):
    with db.write_scope() as s:
        plan = make_plan(s, world, register=False)
        agency = world.actor(s, "agency")
        known = s.get(Person, world.candidates[0])
        banned = s.get(Person, world.candidates[1])
        ops.record_ban(s, world.actor(s, "auditor"), person=banned, reason="r", decision_ref="豫鉴违〔2026〕7号",
                       article="指引第六条", starts_on=D(2026, 1, 1), ends_on=D(2026, 12, 31))
        good = rid("19991231")
        bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
        data = _xlsx([
            [known.name, "居民身份证", known.id_number, "", ""],           # known person, registered
            ["新考生", "居民身份证", good, "13800000000", "新单位"],          # new person, created and registered
            ["重复者", "居民身份证", good, "", ""],                         # same ID twice in the file
            ["错号", "居民身份证", bad_check, "", ""],                       # check digit wrong
            ["冒名", "居民身份证", s.get(Person, world.candidates[2]).id_number, "", ""],  # name mismatch
            [banned.name, "居民身份证", banned.id_number, "", ""],          # banned
            ["", "居民身份证", rid(), "", ""],                              # no name
            [None, None, None, None, None],                                # empty row skipped
        ])
        rows = spreadsheets.read_import(data)
        assert len(rows) == 7
        result = ops.import_roster(s, agency, plan, rows, today=world.today)
        assert [r["status"] for r in result] == ["registered", "registered", "duplicate", "invalid", "invalid",
                                                 "refused", "invalid"]
        assert [r["row"] for r in result] == [2, 3, 4, 5, 6, 7, 8]
        assert "校验码" in result[3]["message"] and result[4]["code"] == "name_mismatch"
        assert "豫鉴违〔2026〕7号" in result[5]["message"]
        again = ops.import_roster(s, agency, plan, spreadsheets.read_import(_xlsx([[known.name, "", known.id_number]])),
                                  today=world.today)
        assert again[0]["status"] == "duplicate"
        tickets_ = [r.ticket_number for r in plan.registrations]
        assert len(set(tickets_)) == len(tickets_) == 2
        assert tickets_[0] == rules.ticket_number(2026, plan.id, 1)
        assert actions(s).count("registration.import") == 2
        for bad in (b"", b"not a spreadsheet"):
            with pytest.raises(DomainError):
                spreadsheets.read_import(bad)
        wb = Workbook()
        wb.active.append(["名字", "号码"])
        buf = io.BytesIO()
        wb.save(buf)
        with pytest.raises(DomainError) as e:
            spreadsheets.read_import(buf.getvalue())
        assert e.value.code == "bad_header"


# --- seating ---------------------------------------------------------------------------------------

def test_seating_is_random_recorded_reproducible_and_neighbours_differ(db, world):
    with db.write_scope() as s:
        plan = make_plan(s, world)
        theory = plan.sessions[0]
        agency = world.actor(s, "agency")
        seats = ops.seat_session(s, agency, theory, seed="abc")
        first = {(x.registration_id): (x.room_id, x.seat_row, x.seat_col, x.form_label) for x in seats}
        assert len(first) == 8 and {x.room_id for x in seats} == {world.room_ids[0]}  # fills room 301 first
        chart = {(x.seat_row, x.seat_col): x.form_label for x in seats}
        assert rules.neighbour_clashes(chart) == []
        assert theory.seating_seed == "abc"
        ops.seat_session(s, agency, theory, seed="other")
        ops.seat_session(s, agency, theory, seed="abc")
        again = {(x.registration_id): (x.room_id, x.seat_row, x.seat_col, x.form_label) for x in theory.seats}
        assert again == first
        recs = [json.loads(r.changes) for r in s.scalars(select(AuditRecord).where(
            AuditRecord.action == "exam_session.seat"))]
        assert [r["seed"] for r in recs] == ["abc", "other", "abc"] and recs[1]["previous_seed"] == "abc"
        assert len(recs[0]["seats"]) == 8


def test_blocked_seats_shape_the_room_and_capacity_is_enforced(db, world):
    with db.write_scope() as s:
        plan = make_plan(s, world)
        agency = world.actor(s, "agency")
        r301, r302, _ = [s.get(Room, r) for r in world.room_ids]
        for r in range(1, 6):
            ops.block_seat(s, agency, r301, row=r, col=3, reason="过道")
        assert len(ops.usable_seats(s, r301)) == 25
        seats = ops.seat_session(s, agency, plan.sessions[0], seed="aisle")
        assert all(x.seat_col != 3 for x in seats if x.room_id == r301.id)
        assert rules.neighbour_clashes({(x.seat_row, x.seat_col): x.form_label for x in seats}) == []
        with pytest.raises(DomainError):
            ops.block_seat(s, agency, r301, row=6, col=1)
        # the workshop holds 12: a 13th candidate does not fit the practical session
        for i in range(5):
            p = ops_person(s, i)
            ops.register(s, agency, plan, p, source="agency", today=world.today)
        with pytest.raises(Conflict) as e:
            ops.seat_session(s, agency, plan.sessions[1])
        assert e.value.code == "over_capacity"


def ops_person(s, i):
    from itembank.core import directory
    return directory.create_person(s, SYSTEM, name=f"加{i}", id_number=rid("20000101"))


def test_rooms_cannot_be_double_booked_and_theory_needs_two_forms(db, world):
    with db.write_scope() as s:
        plan = make_plan(s, world)
        other = make_plan(s, world, with_sessions=False, register=False)
        agency = world.actor(s, "agency")
        rooms = [s.get(Room, r) for r in world.room_ids]
        at = dt.datetime.combine(DAY, dt.time(10))
        with pytest.raises(Conflict) as e:
            ops.add_session(s, agency, other, subject="theory", starts_at=at, ends_at=at + dt.timedelta(hours=1),
                            rooms=rooms[1:2])
        assert e.value.code == "room_busy"
        late = dt.datetime.combine(DAY, dt.time(18))
        with pytest.raises(DomainError) as e:
            ops.add_session(s, agency, other, subject="theory", starts_at=late, ends_at=late + dt.timedelta(hours=1),
                            rooms=rooms[:1], forms=["A"])
        assert e.value.field == "forms"
        with pytest.raises(DomainError):
            ops.add_session(s, agency, other, subject="theory", starts_at=late + dt.timedelta(days=3),
                            ends_at=late + dt.timedelta(days=3, hours=1), rooms=rooms[:1])  # outside the plan's days


# --- staff, qualification, recusal, the draw ---------------------------------------------------------

def test_examiner_qualification_by_exam_level(db, world):
    with db.write_scope() as s:
        agency = world.actor(s, "agency")
        plan4 = make_plan(s, world)
        practical = plan4.sessions[1]
        with pytest.raises(Conflict) as e:
            ops.assign_staff(s, agency, plan4, account=acc(s, world, "ex_l4"), duty="examiner", session=practical,
                             task="轴类零件加工")
        assert e.value.code == "unqualified"
        ops.assign_staff(s, agency, plan4, account=acc(s, world, "ex_mid"), duty="examiner", session=practical,
                         task="轴类零件加工")
        with pytest.raises(Conflict):  # a proctor is not an examiner
            ops.assign_staff(s, agency, plan4, account=acc(s, world, "pr1"), duty="examiner", session=practical,
                             task="轴类零件加工")
        with pytest.raises(DomainError) as e:
            ops.assign_staff(s, agency, plan4, account=acc(s, world, "ex_l3"), duty="examiner", session=practical,
                             task="不存在的任务")
        assert e.value.code == "bad_task"
        # level 2 (数控车床 is in scope at level 2): only level 1 or a senior title
        plan2 = make_plan(s, world, level=2, work_type=True, register=False, with_sessions=False)
        pm = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(9))
        plan2.last_day = DAY + dt.timedelta(days=1)
        se = ops.add_session(s, agency, plan2, subject="practical", starts_at=pm, ends_at=pm + dt.timedelta(hours=3),
                             rooms=[s.get(Room, world.room_ids[2])], forms=["A"], tasks=["数控编程与加工"])
        for u in ("ex_l2", "ex_l3", "ex_mid"):
            with pytest.raises(Conflict) as e:
                ops.assign_staff(s, agency, plan2, account=acc(s, world, u), duty="examiner", session=se,
                                 task="数控编程与加工")
            assert e.value.code == "unqualified"
        ops.assign_staff(s, agency, plan2, account=acc(s, world, "ex_l1"), duty="examiner", session=se,
                         task="数控编程与加工")


def test_proctors_chief_and_readiness(db, world):
    with db.write_scope() as s:
        agency = world.actor(s, "agency")
        plan = make_plan(s, world)
        theory = plan.sessions[0]
        r301, r302, shop = [s.get(Room, r) for r in world.room_ids]
        with pytest.raises(Conflict):  # a proctor cannot be the chief
            ops.assign_staff(s, agency, plan, account=acc(s, world, "pr1"), duty="chief_proctor", session=theory,
                             room=r301)
        ops.assign_staff(s, agency, plan, account=acc(s, world, "chief"), duty="chief_proctor", session=theory,
                         room=r301)
        with pytest.raises(DomainError):  # the workshop is not a room of the theory session
            ops.assign_staff(s, agency, plan, account=acc(s, world, "pr1"), duty="proctor", session=theory, room=shop)
        ops.assign_staff(s, agency, plan, account=acc(s, world, "pr1"), duty="proctor", session=theory, room=r301)
        with pytest.raises(Conflict) as e:  # one room at a time
            ops.assign_staff(s, agency, plan, account=acc(s, world, "pr1"), duty="proctor", session=theory, room=r302)
        assert e.value.code == "busy"
        problems = ops.readiness_problems(s, plan)
        assert any("302" in p and "0 proctors" in p for p in problems)
        assert any("0 examiners" in p for p in problems) and any("supervisor" in p for p in problems)


def test_declared_conflicts_force_recusal(db, world):
    with db.write_scope() as s:
        agency = world.actor(s, "agency")
        plan = make_plan(s, world)
        practical = plan.sessions[1]
        examiner = acc(s, world, "ex_l3")
        cand = s.get(Person, world.candidates[3])
        ops.assign_staff(s, agency, plan, account=examiner, duty="examiner", session=practical, task="轴类零件加工")
        ops.declare_conflict(s, agency, staff=examiner.person, candidate=cand, kind="trained", note="培训班教师")
        assert not any(a.account_id == examiner.id for a in ops.staff_of(s, plan))  # withdrawn at once
        assert actions(s)[-2:] == ["conflict.declare", "staff.recuse"]
        with pytest.raises(Conflict) as e:
            ops.assign_staff(s, agency, plan, account=examiner, duty="examiner", session=practical,
                             task="轴类零件加工")
        assert e.value.code == "recusal" and cand.name in e.value.message
        proctor = acc(s, world, "pr2")
        ops.declare_conflict(s, agency, staff=proctor.person, candidate=cand, kind="relative")
        with pytest.raises(Conflict):
            ops.assign_staff(s, agency, plan, account=proctor, duty="proctor", session=plan.sessions[0],
                             room=s.get(Room, world.room_ids[0]))
        # a plan without that candidate: no recusal
        other = make_plan(s, world, first_day=DAY + dt.timedelta(days=1), register=False)
        ops.register(s, agency, other, s.get(Person, world.candidates[0]), source="agency", today=world.today)
        ops.assign_staff(s, agency, other, account=examiner, duty="examiner", session=other.sessions[1],
                         task="轴类零件加工")


def test_supervisor_draw_excludes_conflicts_and_duties_and_can_be_rerun_from_the_trail(db, world):
    with db.write_scope() as s:
        agency = world.actor(s, "agency")
        plan = make_plan(s, world)
        sup1, sup2, sup3 = (acc(s, world, u) for u in ("sup1", "sup2", "sup3"))
        ops.declare_conflict(s, agency, staff=sup1.person, candidate=s.get(Person, world.candidates[0]),
                             kind="same_employer")
        # sup2 also holds an examiner grant and examines in this plan: excluded
        from itembank.core import directory
        directory.grant_role(s, SYSTEM, sup2, role="examiner", agency=s.get(Agency, world.agency_id), held_level=3)
        ops.assign_staff(s, agency, plan, account=sup2, duty="examiner", session=plan.sessions[1], task="轴类零件加工")
        d = ops.draw_supervisor(s, agency, plan, seed="0123abcd")
        assert json.loads(d.pool) == [sup3.id] and d.chosen_account_id == sup3.id
        assert json.loads(d.excluded) == {str(sup1.id): "conflict", str(sup2.id): "duty:examiner"}
        with pytest.raises(Conflict) as e:
            ops.draw_supervisor(s, agency, plan)
        assert e.value.code == "already_drawn"
        with pytest.raises(Conflict) as e:  # the supervisor may not take another duty in the plan
            ops.assign_staff(s, agency, plan, account=sup3, duty="examiner", session=plan.sessions[1],
                             task="轴类零件加工")
        # the audit record alone suffices to re-run the draw
        rec = s.scalar(select(AuditRecord).where(AuditRecord.action == "supervisor.draw"))
        c = json.loads(rec.changes)
        assert rules.draw_from_pool(c["seed"], c["pool"]) == c["chosen_account_id"] == sup3.id
        report = s.scalar(select(SupervisorReport).where(SupervisorReport.plan_id == plan.id))
        assert report.account_id == sup3.id and report.due_on == D(2026, 12, 18)  # 3 working days after Tue 15 Dec


def test_redraw_needs_a_reason_and_the_pool_draw_is_reproducible(db, world):
    with db.write_scope() as s:
        agency = world.actor(s, "agency")
        plan = make_plan(s, world)
        d1 = ops.draw_supervisor(s, agency, plan, seed="s1")
        pool = json.loads(d1.pool)
        assert len(pool) == 3 and d1.chosen_account_id == rules.draw_from_pool("s1", pool)
        assert ops.verify_draw(d1)
        d2 = ops.draw_supervisor(s, agency, plan, seed="s2", redraw_reason="原督导员生病")
        assert d1.superseded_at is not None and d1.supersede_reason == "原督导员生病"
        sup = [a for a in ops.staff_of(s, plan) if a.duty == "supervisor"]
        assert len(sup) == 1 and sup[0].account_id == d2.chosen_account_id
        assert s.scalar(select(func.count(SupervisorReport.id)).where(SupervisorReport.plan_id == plan.id)) == 1


def test_supervisor_report_reminders_overdue_flag_and_submission(db, world):
    with db.write_scope() as s:
        plan = make_plan(s, world)
        agency = world.actor(s, "agency")
        ops.file_plan(s, agency, plan, today=world.today)
        ops.approve_plan(s, world.actor(s, "auditor"), plan)
        _seat_and_staff(s, world, plan)
        ops.start_plan(s, agency, plan)
        report = s.scalar(select(SupervisorReport).where(SupervisorReport.plan_id == plan.id))
        assert ops.remind_supervisor_reports(s, SYSTEM, today=D(2026, 12, 16)) == []  # due Fri 18 Dec: not yet
        assert ops.remind_supervisor_reports(s, SYSTEM, today=D(2026, 12, 17)) == [report]  # due the next working day
        assert ops.remind_supervisor_reports(s, SYSTEM, today=D(2026, 12, 17)) == []  # once a day
        assert ops.plan_flags(s, plan, D(2026, 12, 22))["supervisor_report_overdue"] is True
        assert ops.remind_supervisor_reports(s, SYSTEM, today=D(2026, 12, 22))[0].reminders == 2
        me = s.get(Account, report.account_id)
        actor = ops.Actor(me.id, me.person.name, "supervisor")
        with pytest.raises(DomainError):
            ops.submit_supervisor_report(s, actor, report, today=D(2026, 12, 22), validity="valid", organisation="")
        with pytest.raises(Forbidden):
            ops.submit_supervisor_report(s, agency, report, today=D(2026, 12, 22), validity="valid")
        ops.submit_supervisor_report(s, actor, report, today=D(2026, 12, 22), validity="valid_with_issues",
                                     organisation="考务组织规范", eligibility="资格审核无误", papers_and_examiners="使用A/B卷",
                                     facilities="机房正常")
        assert not report.overdue(D(2026, 12, 23))
        assert not ops.plan_flags(s, plan, D(2026, 12, 23))["supervisor_report_overdue"]
        rec = json.loads(s.scalar(select(AuditRecord.changes).where(AuditRecord.action == "supervisor_report.submit")))
        assert rec["late"] is True


# --- tickets ------------------------------------------------------------------------------------------

def _pdftext(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "t.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def _pages(pdf: bytes, tmp_path) -> int:
    path = tmp_path / "p.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def _jpeg() -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (250, 350), (200, 120, 90)).save(buf, "JPEG")
    return buf.getvalue()


def test_tickets_carry_what_the_candidate_needs_and_numbers_are_unique(db, world, tmp_path):
    from examserver.administration.api import tickets_for
    with db.write_scope() as s:
        plan = make_plan(s, world)
        ops.seat_session(s, world.actor(s, "agency"), plan.sessions[0], seed="tickets")
        s.get(Person, world.candidates[0]).photo = _jpeg()
        regs = sorted(plan.registrations, key=lambda r: r.ticket_number)
        pdf = tickets_for(s, plan, regs)
        assert pdf.startswith(b"%PDF-")
        assert _pages(pdf, tmp_path) == 8
        text = _pdftext(pdf, tmp_path)
        assert text.count("准考证号") == 8
        first = regs[0]
        seat = next(x for x in plan.sessions[0].seats if x.registration_id == first.id)
        assert first.ticket_number in text and first.person.name in text
        masked = first.person.id_number[:6] + "********" + first.person.id_number[-4:]
        assert masked in text and first.person.id_number not in text
        assert "车工" in text and "四级/中级工" in text and "——" in text  # no work type
        assert f"{DAY:%Y-%m-%d} 09:00–10:30" in text and seat.room.name in text
        assert "考场规则" in text and "照片" in text  # candidates without a photo get the framed box
        one = tickets_for(s, plan, [first])
        assert _pages(one, tmp_path) == 1
        assert len({r.ticket_number for r in plan.registrations}) == 8
    with pytest.raises(ValueError):
        tickets.render_tickets_pdf([])


# --- the demo --------------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_demo_plan_is_filed_on_time_seated_staffed_and_drawn(db, demo):
    with db.read_scope() as s:
        plan = s.scalar(select(ExamPlan))
        assert plan.status == "approved" and plan.level == 4 and plan.occupation.name == "车工"
        cal = ops.work_calendar(s)
        assert rules.working_days_between(cal, plan.filed_on, plan.first_day) >= 10 and not plan.late_filing
        assert len([r for r in plan.registrations if r.status == "registered"]) == 60
        theory = next(se for se in plan.sessions if se.subject.subject == "theory")
        assert len(theory.seats) == 60 and len({x.room_id for x in theory.seats}) == 2
        for room in {x.room_id for x in theory.seats}:
            chart = {(x.seat_row, x.seat_col): x.form_label for x in theory.seats if x.room_id == room}
            assert rules.neighbour_clashes(chart) == [] and sorted(set(chart.values())) == ["A", "B"]
        assert ops.readiness_problems(s, plan) == []
        d = ops.current_draw(s, plan)
        assert ops.verify_draw(d) and len(json.loads(d.pool)) == 2
        recusing = s.scalar(select(Account).where(Account.username == "examiner3"))
        assert not any(a.account_id == recusing.id for a in ops.staff_of(s, plan))
        banned = s.scalar(select(Person).where(Person.name == "宋立军"))
        assert ops.active_bans(s, banned.id, ops.local_today())


def test_the_reminder_task_runs_in_process_and_is_idempotent_per_day(app, db, world):
    from examserver.administration.tasks import remind_reports
    with db.write_scope() as s:
        plan = make_plan(s, world)
        agency = world.actor(s, "agency")
        ops.file_plan(s, agency, plan, today=world.today)
        ops.approve_plan(s, world.actor(s, "auditor"), plan)
        _seat_and_staff(s, world, plan)
        ops.start_plan(s, agency, plan)
        report_id = s.scalar(select(SupervisorReport.id).where(SupervisorReport.plan_id == plan.id))
    with app.app_context():
        assert remind_reports.delay("2026-12-21").get() == {"reminded": [report_id]}
        assert remind_reports.delay("2026-12-21").get() == {"reminded": []}
    with db.read_scope() as s:
        assert s.get(SupervisorReport, report_id).reminders == 1
