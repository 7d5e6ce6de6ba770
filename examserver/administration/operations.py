"""Exam administration services: ``op(s, actor, *, …)`` validates, changes, flushes and writes its audit
record in the caller's transaction; the caller commits. Dates that rules depend on (``today``, ``now``) are
passed in, so tests and the demo control the clock.

Public functions other areas call:

* :func:`active_bans` / :func:`record_ban` / :func:`lift_ban` — the violations area writes bans here.
* :func:`session_roster` — who sits where in a session with which form (delivery).
* :func:`set_form_paper` — the item bank binds a sealed paper to a form label of a session.
* :func:`work_calendar` — the working-day calendar for any deadline.
"""
from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from itembank.core import audit, directory
from itembank.core.audit import Actor
from itembank.core.errors import Conflict, DomainError, Forbidden, NotFound
from itembank.core.idcard import ID_TYPES, IdNumberError, normalise_id_number
from itembank.core.people import Account, Person, RoleGrant
from itembank.core.reference import LEVELS, Agency, AgencyScope, Occupation, Room, Site, WorkType

from . import rules
from .models import (CONFLICT_KINDS, DUTIES, SUBJECTS, VALIDITY, Ban, ConflictDeclaration, ExamPlan, ExamSession,
                     PlanDocument, PlanSubject, PublicHoliday, Registration, RoomSeatBlock, SeatAssignment,
                     SessionRoom, StaffAssignment, SupervisorDraw, SupervisorReport)

EDITABLE = ("draft", "filed", "approved")  # before the exam starts
REGISTRATION_OPEN = ("draft", "filed", "approved")


def local_today() -> dt.date:
    """Today in China Standard Time (UTC+8): the date deadlines are counted in. Only the shell calls this."""
    from itembank.core.db import utcnow
    return (utcnow() + dt.timedelta(hours=8)).date()


def _ensure(cond: bool, code: str, message: str, field: str | None = None, cls=DomainError):
    if not cond:
        raise cls(code, message, field)


# --- the working-day calendar ------------------------------------------------------------------

def work_calendar(s: Session) -> rules.WorkCalendar:
    rows = s.execute(select(PublicHoliday.day, PublicHoliday.working)).all()
    return rules.WorkCalendar(holidays=frozenset(d for d, w in rows if not w),
                              makeup_workdays=frozenset(d for d, w in rows if w))


def set_holiday(s: Session, actor: Actor, *, day: dt.date, name: str, working: bool = False) -> PublicHoliday:
    """Add or change one calendar day: a public holiday, or (``working``) a weekend make-up working day."""
    _ensure(bool((name or "").strip()), "required", "名称不能为空 (name is required)", "name")
    if working and day.weekday() < 5:
        raise DomainError("not_weekend", "调休上班日须为周末 (a make-up working day must fall on a weekend)", "day")
    row = s.scalar(select(PublicHoliday).where(PublicHoliday.day == day))
    old = None if row is None else {"name": row.name, "working": row.working}
    if row is None:
        row = PublicHoliday(day=day)
        s.add(row)
    row.name, row.working = name.strip(), working
    s.flush()
    audit.record(s, actor, "holiday.set", "public_holiday", day.isoformat(),
                 {"name": row.name, "working": working, "before": old})
    return row


def remove_holiday(s: Session, actor: Actor, *, day: dt.date) -> None:
    row = s.scalar(select(PublicHoliday).where(PublicHoliday.day == day))
    if row is None:
        raise NotFound("not_found", f"{day} 不在日历中 (not in the calendar)", "day")
    s.delete(row)
    s.flush()
    audit.record(s, actor, "holiday.remove", "public_holiday", day.isoformat(), {"name": row.name})


# --- bans (written by the violations area) -----------------------------------------------------

def record_ban(s: Session, actor: Actor, *, person: Person, reason: str, decision_ref: str, article: str,
               starts_on: dt.date, ends_on: dt.date | None, occupation: Occupation | None = None,
               source_case_id: int | None = None) -> Ban:
    """Bar ``person`` from assessment (for ``occupation``, or every occupation when None)."""
    for field, v in (("reason", reason), ("decision_ref", decision_ref), ("article", article)):
        _ensure(bool((v or "").strip()), "required", f"{field} 不能为空 ({field} is required)", field)
    if ends_on is not None and ends_on < starts_on:
        raise DomainError("bad_period", "结束日期早于开始日期 (ends before it starts)", "ends_on")
    ban = Ban(person_id=person.id, scope="all" if occupation is None else "occupation",
              occupation_id=occupation.id if occupation else None, reason=reason.strip(),
              decision_ref=decision_ref.strip(), article=article.strip(), starts_on=starts_on, ends_on=ends_on,
              source_case_id=source_case_id, created_by=actor.account_id)
    s.add(ban)
    s.flush()
    audit.record(s, actor, "ban.create", "candidate_ban", ban.id,
                 {"person_id": person.id, "scope": ban.scope, "occupation_id": ban.occupation_id,
                  "decision_ref": ban.decision_ref, "article": ban.article, "starts_on": starts_on,
                  "ends_on": ends_on, "source_case_id": source_case_id})
    return ban


def lift_ban(s: Session, actor: Actor, ban: Ban, *, on: dt.date, reason: str) -> Ban:
    """End a ban early (e.g. a review decision overturned it); the ban row stays, its end date moves."""
    _ensure(bool((reason or "").strip()), "required", "须说明原因 (a reason is required)", "reason")
    old = ban.ends_on
    ban.ends_on = max(ban.starts_on, on - dt.timedelta(days=1))
    s.flush()
    audit.record(s, actor, "ban.lift", "candidate_ban", ban.id, {"ends_on": [old, ban.ends_on], "reason": reason})
    return ban


def active_bans(s: Session, person_id: int, on_date: dt.date, occupation_id: int | None = None) -> list[Ban]:
    """Bans of ``person_id`` in force on ``on_date`` (covering ``occupation_id`` when given)."""
    q = select(Ban).where(Ban.person_id == person_id, Ban.starts_on <= on_date,
                          (Ban.ends_on.is_(None)) | (Ban.ends_on >= on_date))
    if occupation_id is not None:
        q = q.where((Ban.scope == "all") | (Ban.occupation_id == occupation_id))
    return list(s.scalars(q.order_by(Ban.id)))


def ban_message(ban: Ban) -> str:
    until = ban.ends_on.isoformat() if ban.ends_on else "另行通知 (until lifted)"
    what = "所有职业" if ban.scope == "all" else (ban.occupation.name if ban.occupation else "本职业")
    return (f"禁考至 {until}（{what}）：{ban.decision_ref}，{ban.article}；{ban.reason} "
            f"(barred until {until} by decision {ban.decision_ref}, {ban.article})")


def blocking_bans(s: Session, person_id: int, plan: ExamPlan, today: dt.date) -> list[Ban]:
    bans = active_bans(s, person_id, today, plan.occupation_id)
    seen = {b.id for b in bans}
    for b in active_bans(s, person_id, plan.first_day, plan.occupation_id):
        if b.id not in seen:
            bans.append(b)
    return bans


# --- plans ---------------------------------------------------------------------------------------

def in_scope(s: Session, agency: Agency, occupation: Occupation, level: int, work_type: WorkType | None) -> bool:
    """Whether the approved scope covers this plan. Stricter than ``directory.in_scope``: a plan for the whole
    occupation (no work type) needs an occupation-wide approval; a scope approved only for one work type does
    not cover the occupation at large. A work-type plan is covered by its work type or the whole occupation."""
    q = select(AgencyScope.id).where(AgencyScope.agency_id == agency.id, AgencyScope.occupation_id == occupation.id,
                                     AgencyScope.level == level)
    if work_type is None:
        q = q.where(AgencyScope.work_type_id.is_(None))
    else:
        q = q.where((AgencyScope.work_type_id == work_type.id) | AgencyScope.work_type_id.is_(None))
    return s.scalar(q.limit(1)) is not None


def create_plan(s: Session, actor: Actor, *, agency: Agency, site: Site, occupation: Occupation, level: int,
                first_day: dt.date, last_day: dt.date | None = None, work_type: WorkType | None = None,
                title: str = "", subjects: dict[str, float] | None = None,
                supervisor_report_days: int = rules.DEFAULT_SUPERVISOR_REPORT_DAYS) -> ExamPlan:
    """A draft plan. Refused when outside the agency's approved scope (指引 art. 14(2) makes that a violation)."""
    _ensure(agency.status == "active", "agency_cancelled", "机构已注销 (agency is cancelled)", "agency_id", Conflict)
    _ensure(site.agency_id == agency.id, "bad_site", "站点不属于该机构 (site belongs to another agency)", "site_id")
    _ensure(level in LEVELS, "bad_level", f"等级应为1–5 (level must be 1..5), got {level!r}", "level")
    if work_type is not None:
        _ensure(work_type.occupation_id == occupation.id, "bad_work_type",
                "工种不属于该职业 (work type belongs to another occupation)", "work_type_id")
    if not in_scope(s, agency, occupation, level, work_type):
        wt = f"（{work_type.name}）" if work_type else ""
        raise Forbidden("out_of_scope", f"{occupation.name}{wt}{LEVELS[level][0]} 不在机构备案范围内，不得开展认定 "
                        f"(outside the agency's approved scope; 指引 art. 14(2))", "level")
    last_day = last_day or first_day
    _ensure(last_day >= first_day, "bad_days", "结束日期早于开始日期 (last day before first day)", "last_day")
    _ensure((last_day - first_day).days <= 30, "bad_days", "一个计划最长31天 (a plan spans at most 31 days)",
            "last_day")
    _ensure(1 <= supervisor_report_days <= 10, "bad_days", "督导报告期限应为1–10个工作日 (1..10 working days)",
            "supervisor_report_days")
    allowed = rules.subjects_allowed(level)
    marks = subjects if subjects is not None else {"theory": rules.DEFAULT_PASS_MARK,
                                                   "practical": rules.DEFAULT_PASS_MARK}
    for code, mark in marks.items():
        if code not in allowed:
            raise DomainError("bad_subject", f"{code} 不适用于{LEVELS[level][0]}（综合评审仅限二级、一级） (subject not "
                              "allowed at this level; the comprehensive review is for levels 2 and 1)", "subjects")
        _check_mark(mark)
    _ensure("theory" in marks or "practical" in marks, "bad_subject",
            "至少包含理论或操作科目 (a plan needs theory or practical)", "subjects")
    title = (title or "").strip() or (f"{occupation.name}{'（' + work_type.name + '）' if work_type else ''}"
                                      f"{LEVELS[level][0]} {first_day:%Y年%m月}认定")
    plan = ExamPlan(agency=agency, site=site, occupation=occupation, work_type=work_type, level=level, title=title,
                    status="draft", first_day=first_day, last_day=last_day,
                    supervisor_report_days=supervisor_report_days, created_by=actor.account_id)
    plan.subjects = [PlanSubject(subject=c, pass_mark=float(m)) for c, m in marks.items()]
    s.add(plan)
    s.flush()
    audit.record(s, actor, "exam_plan.create", "exam_plan", plan.id,
                 {"agency_id": agency.id, "site_id": site.id, "occupation": occupation.code,
                  "work_type": work_type.name if work_type else None, "level": level, "title": title,
                  "first_day": first_day, "last_day": last_day, "pass_marks": marks,
                  "supervisor_report_days": supervisor_report_days})
    return plan


def _check_mark(mark) -> None:
    if not isinstance(mark, (int, float)) or not 0 < float(mark) <= 100:
        raise DomainError("bad_pass_mark", f"合格分数线应在0–100之间 (pass mark must be in (0, 100]), got {mark!r}",
                          "pass_mark")


def set_pass_mark(s: Session, actor: Actor, plan: ExamPlan, *, subject: str, pass_mark: float) -> PlanSubject:
    """Change a pass mark before approval; afterwards it is fixed (河南…办法 art. 34(5): changing it voids results)."""
    if plan.pass_marks_locked:
        raise Conflict("pass_mark_locked", "计划审核后合格分数线不得更改 (pass marks are fixed at approval; changing them "
                       "afterwards voids the results)", "pass_mark")
    row = plan.subject(subject)
    if row is None:
        raise NotFound("not_found", f"计划无 {subject} 科目 (the plan has no such subject)", "subject")
    _check_mark(pass_mark)
    old = row.pass_mark
    row.pass_mark = float(pass_mark)
    s.flush()
    audit.record(s, actor, "exam_plan.pass_mark", "exam_plan", plan.id,
                 {"subject": subject, "pass_mark": [old, row.pass_mark]})
    return row


def _editable(plan: ExamPlan, what: str = "计划") -> None:
    if plan.status not in EDITABLE:
        raise Conflict("plan_locked", f"{what}已开始实施，不能修改 (the plan is {plan.status}; no more changes)", "status")


def _new_access_code(s: Session) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        code = "".join(secrets.choice(alphabet) for _ in range(8))
        if s.scalar(select(ExamSession.id).where(ExamSession.access_code == code)) is None:
            return code


def add_session(s: Session, actor: Actor, plan: ExamPlan, *, subject: str, starts_at: dt.datetime,
                ends_at: dt.datetime, rooms: Sequence[Room], name: str = "", forms: Sequence[str] = ("A", "B"),
                tasks: Sequence[str] = ()) -> ExamSession:
    """场次: a sitting of one subject in some rooms of the plan's site, within the plan's days.

    Theory sessions need ≥2 parallel forms (neighbours get different ones); a room may not be used by two
    overlapping sessions.
    """
    _editable(plan)
    sub = plan.subject(subject)
    if sub is None:
        raise DomainError("bad_subject", f"计划不含 {subject} 科目 (the plan has no {subject} subject)", "subject")
    _ensure(ends_at > starts_at, "bad_times", "结束时间须晚于开始时间 (ends before it starts)", "ends_at")
    _ensure(plan.first_day <= starts_at.date() <= plan.last_day and ends_at.date() <= plan.last_day, "bad_times",
            f"场次须在计划日期 {plan.first_day}–{plan.last_day} 内 (session outside the plan's days)", "starts_at")
    _ensure(bool(rooms), "required", "至少选择一个考场 (choose at least one room)", "room_ids")
    for r in rooms:
        _ensure(r.site_id == plan.site_id, "bad_room", f"{r.name} 不在本计划的站点 (room of another site)", "room_ids")
        clash = s.scalar(select(ExamSession).join(SessionRoom).where(
            SessionRoom.room_id == r.id, ExamSession.starts_at < ends_at, ExamSession.ends_at > starts_at))
        if clash is not None:
            raise Conflict("room_busy", f"{r.name} 在该时段已安排 {clash.name} (room already used by another session "
                           "at that time)", "room_ids")
    labels = [f.strip() for f in forms if f.strip()]
    _ensure(len(set(labels)) == len(labels) and all(len(f) <= 8 and "," not in f for f in labels), "bad_forms",
            "试卷版本标签重复或无效 (form labels must be distinct, ≤8 characters)", "forms")
    if subject == "theory":
        _ensure(len(labels) >= 2, "bad_forms", "理论考试至少需A、B两套平行卷 (theory needs ≥2 parallel forms)", "forms")
    task_list = [t.strip() for t in tasks if t.strip()]
    if subject in ("practical", "review"):
        _ensure(bool(task_list), "required", "请列出考核任务（每个任务一个考评组） (list the tasks, one panel each)",
                "tasks")
    name = (name or "").strip() or f"{SUBJECTS[subject][0]} {starts_at:%m-%d %H:%M}"
    se = ExamSession(plan=plan, subject=sub, name=name, starts_at=starts_at, ends_at=ends_at,
                     access_code=_new_access_code(s), forms=",".join(labels) or "A", tasks="\n".join(task_list))
    se.rooms = [SessionRoom(room=r) for r in rooms]
    s.add(se)
    s.flush()
    audit.record(s, actor, "exam_session.create", "exam_session", se.id,
                 {"plan_id": plan.id, "subject": subject, "name": name, "starts_at": starts_at, "ends_at": ends_at,
                  "room_ids": [r.id for r in rooms], "forms": labels, "tasks": task_list})
    return se


def _transition(s: Session, actor: Actor, plan: ExamPlan, action: str, changes: dict) -> None:
    try:
        new = rules.next_status(plan.status, action)
    except ValueError as e:
        raise Conflict("bad_status", f"当前状态不允许此操作 ({e})", "status") from None
    old, plan.status = plan.status, new
    s.flush()
    audit.record(s, actor, f"exam_plan.{action}", "exam_plan", plan.id, {"status": [old, new], **changes})


def file_plan(s: Session, actor: Actor, plan: ExamPlan, *, today: dt.date, late_reason: str = "",
              now: dt.datetime | None = None) -> ExamPlan:
    """报备: file the plan and its roster with the centre, ≥10 working days before the first session.

    Filing late is possible only with a recorded reason and is flagged on the plan (豫人社办〔2020〕19号 §四(三)).
    The roster (人员名册) as filed is kept as an XLSX document of the plan.
    """
    if plan.status != "draft":
        raise Conflict("bad_status", f"只有草稿可以报备 (only a draft can be filed; it is {plan.status})", "status")
    if not in_scope(s, plan.agency, plan.occupation, plan.level, plan.work_type):
        raise Forbidden("out_of_scope", "该计划已不在机构备案范围内 (no longer in the agency's approved scope)", "level")
    _ensure(bool(plan.sessions), "no_sessions", "请先安排场次 (add the sessions first)", "sessions")
    regs = [r for r in plan.registrations if r.status == "registered"]
    _ensure(bool(regs), "empty_roster", "人员名册为空 (the roster is empty)", "registrations")
    _ensure(today <= plan.first_day, "too_late", "考试已开始，不能再报备 (the exam has begun)", "first_day")
    cal = work_calendar(s)
    lead = rules.working_days_between(cal, today, plan.first_day)
    late = rules.filing_is_late(cal, today, plan.first_day)
    if late and not (late_reason or "").strip():
        raise DomainError("late_filing", f"距首场考试仅 {lead} 个工作日，不足10个工作日；逾期报备须说明原因 (only {lead} "
                          "working days before the first session, fewer than 10: give a reason to file late)",
                          "late_reason")
    from .spreadsheets import roster_xlsx
    content = roster_xlsx(plan)
    import hashlib
    doc = PlanDocument(plan_id=plan.id, kind="roster", filename=f"人员名册-{plan.id}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", content=content,
                       sha256=hashlib.sha256(content).hexdigest())
    s.add(doc)
    plan.filed_at, plan.filed_on = now or audit_now(), today
    plan.late_filing, plan.late_filing_reason = late, (late_reason or "").strip() if late else ""
    _transition(s, actor, plan, "file", {"filed_on": today, "working_days_ahead": lead, "late": late,
                                         "late_reason": plan.late_filing_reason, "roster_size": len(regs),
                                         "roster_sha256": doc.sha256,
                                         "deadline": rules.filing_deadline(cal, plan.first_day)})
    return plan


def audit_now() -> dt.datetime:
    from itembank.core.db import utcnow
    return utcnow()


def return_plan(s: Session, actor: Actor, plan: ExamPlan, *, reason: str) -> ExamPlan:
    """The centre sends a filed plan back to draft with a reason."""
    _ensure(bool((reason or "").strip()), "required", "须说明退回原因 (a reason is required)", "reason")
    plan.filed_at, plan.filed_on = None, None
    _transition(s, actor, plan, "return", {"reason": reason.strip()})
    return plan


def approve_plan(s: Session, actor: Actor, plan: ExamPlan) -> ExamPlan:
    """The centre approves a filed plan; from now on its pass marks are fixed."""
    plan.approved_at, plan.approved_by = audit_now(), actor.account_id
    _transition(s, actor, plan, "approve", {"pass_marks": {x.subject: x.pass_mark for x in plan.subjects}})
    return plan


def readiness_problems(s: Session, plan: ExamPlan) -> list[str]:
    """Everything that stops the plan from running: unseated theory sessions and missing staff."""
    out = []
    regs = {r.id for r in plan.registrations if r.status == "registered"}
    for se in plan.sessions:
        if se.subject.subject == "theory":
            seated = {x.registration_id for x in se.seats}
            if regs - seated:
                out.append(f"{se.name}: {len(regs - seated)} 名考生未编排座位 ({len(regs - seated)} candidates not seated)")
    out += rules.staffing_problems(*_staff_facts(s, plan))
    return out


def _staff_facts(s: Session, plan: ExamPlan):
    sessions = [rules.SessionFact(se.id, se.name, se.subject.subject, tuple(r.room_id for r in se.rooms),
                                  tuple(se.task_list)) for se in plan.sessions]
    duties = [rules.DutyFact(a.duty, a.session_id, a.room_id, a.task, a.account.person_id)
              for a in staff_of(s, plan)]
    names = {r.room_id: r.room.name for se in plan.sessions for r in se.rooms}
    return sessions, duties, names


def start_plan(s: Session, actor: Actor, plan: ExamPlan) -> ExamPlan:
    problems = readiness_problems(s, plan)
    if plan.status == "approved" and problems:
        raise Conflict("not_ready", "尚不能开考：" + "；".join(problems), "status")
    plan.started_at = audit_now()
    _transition(s, actor, plan, "start", {})
    return plan


def close_plan(s: Session, actor: Actor, plan: ExamPlan, *, today: dt.date) -> ExamPlan:
    plan.closed_at, plan.closed_on = audit_now(), today
    _transition(s, actor, plan, "close", {"closed_on": today})
    return plan


def report_results(s: Session, actor: Actor, plan: ExamPlan, *, today: dt.date, late_reason: str = "") -> ExamPlan:
    """Report the results to the centre ≤10 working days after the last session (豫人社办〔2020〕19号 §四(五))."""
    cal = work_calendar(s)
    deadline = rules.reporting_deadline(cal, plan.last_day)
    late = today > deadline
    if plan.status == "closed" and late and not (late_reason or "").strip():
        raise DomainError("late_report", f"结果上报期限为 {deadline}，已逾期；须说明原因 (results were due by {deadline}: "
                          "give a reason to report late)", "late_reason")
    plan.reported_at, plan.reported_on = audit_now(), today
    plan.late_report, plan.late_report_reason = late, (late_reason or "").strip() if late else ""
    _transition(s, actor, plan, "report", {"reported_on": today, "deadline": deadline, "late": late,
                                           "late_reason": plan.late_report_reason})
    return plan


def audit_plan(s: Session, actor: Actor, plan: ExamPlan, *, note: str = "") -> ExamPlan:
    plan.audited_at, plan.audited_by = audit_now(), actor.account_id
    _transition(s, actor, plan, "audit", {"note": note})
    return plan


def plan_flags(s: Session, plan: ExamPlan, today: dt.date) -> dict:
    """Deadlines and flags shown on the plan: filing deadline, late filing, reporting deadline, overdue reports."""
    cal = work_calendar(s)
    reports = s.scalars(select(SupervisorReport).where(SupervisorReport.plan_id == plan.id)).all()
    return {
        "filing_deadline": rules.filing_deadline(cal, plan.first_day),
        "working_days_ahead": rules.working_days_between(cal, today, plan.first_day),
        "late_filing": plan.late_filing,
        "reporting_deadline": rules.reporting_deadline(cal, plan.last_day),
        "late_report": plan.late_report,
        "supervisor_report_overdue": any(r.overdue(today) for r in reports),
        "supervisor_report_due": min((r.due_on for r in reports if r.submitted_at is None), default=None),
    }


# --- registration --------------------------------------------------------------------------------

def _next_ticket(s: Session, plan: ExamPlan) -> str:
    n = s.scalar(select(func.count(Registration.id)).where(Registration.plan_id == plan.id)) or 0
    return rules.ticket_number(plan.first_day.year, plan.id, n + 1)


def register(s: Session, actor: Actor, plan: ExamPlan, person: Person, *, source: str, today: dt.date) -> Registration:
    """报名: register ``person`` for ``plan``; refused when already registered or barred by an active ban."""
    if plan.status not in REGISTRATION_OPEN:
        raise Conflict("registration_closed", "报名已截止 (registration is closed for this plan)", "plan_id")
    existing = s.scalar(select(Registration).where(Registration.plan_id == plan.id,
                                                   Registration.person_id == person.id))
    if existing is not None and existing.status == "registered":
        raise Conflict("duplicate", f"{person.name} 已报名本计划 (already registered, ticket {existing.ticket_number})",
                       "person_id")
    bans = blocking_bans(s, person.id, plan, today)
    if bans:
        raise Forbidden("banned", f"{person.name} 处于禁考期，不能报名：" + "；".join(ban_message(b) for b in bans),
                        "person_id", bans=[{"decision_ref": b.decision_ref, "article": b.article,
                                            "ends_on": b.ends_on.isoformat() if b.ends_on else None} for b in bans])
    if existing is not None:  # re-registering after a withdrawal keeps the ticket number
        existing.status, existing.source = "registered", source
        reg = existing
    else:
        reg = Registration(plan=plan, person=person, ticket_number=_next_ticket(s, plan), source=source,
                           registered_by=actor.account_id)
        s.add(reg)
    s.flush()
    audit.record(s, actor, "registration.create", "registration", reg.id,
                 {"plan_id": plan.id, "person_id": person.id, "ticket_number": reg.ticket_number, "source": source})
    return reg


def withdraw(s: Session, actor: Actor, reg: Registration, *, reason: str) -> Registration:
    _editable(reg.plan)
    _ensure(reg.status == "registered", "bad_status", "已撤销 (already withdrawn)", "status", Conflict)
    reg.status = "withdrawn"
    for seat in s.scalars(select(SeatAssignment).where(SeatAssignment.registration_id == reg.id)):
        s.delete(seat)
    s.flush()
    audit.record(s, actor, "registration.withdraw", "registration", reg.id, {"reason": reason})
    return reg


def import_roster(s: Session, actor: Actor, plan: ExamPlan, rows: Iterable[dict], *, today: dt.date) -> list[dict]:
    """Bulk registration from spreadsheet rows ``{name, id_type, id_number, phone, employer}``.

    Every row is checked on its own: ID number (shape, birth date, check digit), duplicates within the file,
    a person already known under another name, already registered, active bans. Good rows are registered
    (creating the person when new); the result says, per row, ``registered`` / ``duplicate`` / ``refused`` /
    ``invalid`` and why.
    """
    if plan.status not in REGISTRATION_OPEN:
        raise Conflict("registration_closed", "报名已截止 (registration is closed for this plan)", "plan_id")
    out, seen = [], {}
    for i, row in enumerate(rows, start=2):  # row 1 holds the headers
        name = str(row.get("name") or "").strip()
        id_type = str(row.get("id_type") or "resident_id").strip()
        id_type = {v[0]: k for k, v in ID_TYPES.items()}.get(id_type, id_type)
        raw = str(row.get("id_number") or "").strip()
        res = {"row": i, "name": name, "id_number": raw}
        try:
            if not name:
                raise DomainError("required", "姓名为空 (name is empty)", "name")
            try:
                number = normalise_id_number(id_type, raw)
            except IdNumberError as e:
                raise DomainError("bad_id_number", e.reason, "id_number") from None
            if (id_type, number) in seen:
                raise Conflict("duplicate", f"与第 {seen[(id_type, number)]} 行证件号码重复 (same ID as row "
                               f"{seen[(id_type, number)]})", "id_number")
            seen[(id_type, number)] = i
            person = s.scalar(select(Person).where(Person.id_type == id_type, Person.id_number == number))
            if person is not None and person.name != name:
                raise Conflict("name_mismatch", f"该证件号码已登记为 {person.name}，与 {name} 不符 (this ID is registered "
                               f"under another name)", "name")
            if person is None:
                person = directory.create_person(s, actor, name=name, id_type=id_type, id_number=number,
                                                 phone=str(row.get("phone") or "").strip(),
                                                 employer=str(row.get("employer") or "").strip())
            reg = register(s, actor, plan, person, source="import", today=today)
            res.update(status="registered", ticket_number=reg.ticket_number, person_id=person.id)
        except DomainError as e:
            status = {"duplicate": "duplicate", "banned": "refused"}.get(e.code, "invalid")
            res.update(status=status, code=e.code, message=e.message, field=e.field)
        out.append(res)
    audit.record(s, actor, "registration.import", "exam_plan", plan.id,
                 {"rows": len(out), "registered": sum(r["status"] == "registered" for r in out),
                  "problems": [{k: r.get(k) for k in ("row", "status", "code")} for r in out
                               if r["status"] != "registered"]})
    return out


# --- seating -------------------------------------------------------------------------------------

def blocked_seats(s: Session, room: Room) -> list[tuple[int, int]]:
    return [(r, c) for r, c in s.execute(select(RoomSeatBlock.seat_row, RoomSeatBlock.seat_col)
                                         .where(RoomSeatBlock.room_id == room.id))]


def usable_seats(s: Session, room: Room) -> list[tuple[int, int]]:
    return rules.room_seats(room.seat_rows, room.seat_cols, blocked_seats(s, room))


def block_seat(s: Session, actor: Actor, room: Room, *, row: int, col: int, reason: str = "",
               blocked: bool = True) -> None:
    """Mark a seat of a room's grid unusable (aisle, pillar, broken machine), or usable again."""
    _ensure(1 <= row <= room.seat_rows and 1 <= col <= room.seat_cols, "bad_seat",
            f"座位 {row}-{col} 不在 {room.seat_rows}×{room.seat_cols} 网格内 (seat outside the grid)", "row")
    row_obj = s.scalar(select(RoomSeatBlock).where(RoomSeatBlock.room_id == room.id, RoomSeatBlock.seat_row == row,
                                                   RoomSeatBlock.seat_col == col))
    if blocked and row_obj is None:
        s.add(RoomSeatBlock(room_id=room.id, seat_row=row, seat_col=col, reason=reason))
    elif not blocked and row_obj is not None:
        s.delete(row_obj)
    s.flush()
    audit.record(s, actor, "room.seat_block" if blocked else "room.seat_unblock", "room", room.id,
                 {"row": row, "col": col, "reason": reason})


def seat_session(s: Session, actor: Actor, session: ExamSession, *, seed: str | None = None) -> list[SeatAssignment]:
    """考场编排: seat every registered candidate of the plan at random in the session's rooms.

    The seed is recorded on the session and in the audit trail (re-running with it gives the same chart);
    left/right/front/back neighbours get different parallel forms (``rules.form_for_seat``). Re-seating replaces
    the previous chart, until the plan starts.
    """
    plan = session.plan
    _editable(plan, "座位")
    seed = seed or secrets.token_hex(16)
    _ensure(len(seed) <= 64, "bad_seed", "seed 最长64字符 (seed ≤64 characters)", "seed")
    regs = [r for r in plan.registrations if r.status == "registered"]
    _ensure(bool(regs), "empty_roster", "人员名册为空 (no registered candidates)", "registrations")
    rooms = [sr.room for sr in session.rooms]
    layout = [(room.id, usable_seats(s, room)) for room in rooms]
    cap = sum(len(x) for _, x in layout)
    if len(regs) > cap:
        raise Conflict("over_capacity", f"{len(regs)} 名考生，座位仅 {cap} 个 ({len(regs)} candidates, {cap} seats)",
                       "room_ids")
    forms = session.form_labels or ["A"]
    if session.subject.subject == "theory" and len(forms) < 2:
        raise DomainError("bad_forms", "理论考试至少需两套平行卷 (theory needs ≥2 parallel forms)", "forms")
    try:
        placements = rules.place_candidates(seed, [r.id for r in regs], layout, forms)
    except ValueError as e:
        raise DomainError("seating", str(e), "forms") from None
    old_seed = session.seating_seed
    for seat in list(session.seats):
        session.seats.remove(seat)
    s.flush()
    made = []
    for p in placements:
        sa = SeatAssignment(session=session, room_id=p.room_id, registration_id=p.registration_id,
                            seat_row=p.seat[0], seat_col=p.seat[1], seat_no=p.seat_no, form_label=p.form)
        s.add(sa)
        made.append(sa)
    session.seating_seed, session.seated_at = seed, audit_now()
    s.flush()
    per_room: dict[str, dict[str, int]] = {}
    for p in placements:
        room_forms = per_room.setdefault(str(p.room_id), {})
        room_forms[p.form] = room_forms.get(p.form, 0) + 1
    audit.record(s, actor, "exam_session.seat", "exam_session", session.id,
                 {"seed": seed, "previous_seed": old_seed, "algorithm": "sha256-order-v1", "candidates": len(made),
                  "forms_per_room": per_room,
                  "seats": [[p.registration_id, p.room_id, p.seat[0], p.seat[1], p.form] for p in placements]})
    return made


def set_form_paper(s: Session, actor: Actor, session: ExamSession, *, form_label: str, paper_id: int) -> int:
    """Bind the item bank's sealed paper ``paper_id`` to every seat holding ``form_label``; returns seats changed."""
    _ensure(form_label in session.form_labels, "bad_form", f"本场次无 {form_label} 卷 (no such form)", "form_label")
    n = 0
    for seat in session.seats:
        if seat.form_label == form_label:
            seat.paper_id, n = paper_id, n + 1
    s.flush()
    audit.record(s, actor, "exam_session.form_paper", "exam_session", session.id,
                 {"form_label": form_label, "paper_id": paper_id, "seats": n})
    return n


def session_roster(s: Session, session: ExamSession) -> list[SeatAssignment]:
    """Seats of a session in room and seat order (delivery reads this)."""
    return list(s.scalars(select(SeatAssignment).where(SeatAssignment.session_id == session.id)
                          .order_by(SeatAssignment.room_id, SeatAssignment.seat_no)))


# --- staff ---------------------------------------------------------------------------------------

def staff_of(s: Session, plan: ExamPlan) -> list[StaffAssignment]:
    return list(s.scalars(select(StaffAssignment).where(StaffAssignment.plan_id == plan.id)
                          .order_by(StaffAssignment.session_id, StaffAssignment.room_id, StaffAssignment.duty,
                                    StaffAssignment.id)))


def _grant(account: Account, roles: Iterable[str], agency_id: int | None = None) -> RoleGrant | None:
    roles = set(roles)
    grants = [g for g in account.active_grants() if g.role in roles]
    own = [g for g in grants if agency_id is None or g.agency_id == agency_id]
    return (own or grants or [None])[0]


def candidate_person_ids(plan: ExamPlan) -> list[int]:
    return [r.person_id for r in plan.registrations if r.status == "registered"]


def conflict_facts(s: Session, staff_person_id: int | None = None) -> list[rules.ConflictFact]:
    q = select(ConflictDeclaration)
    if staff_person_id is not None:
        q = q.where(ConflictDeclaration.staff_person_id == staff_person_id)
    return [rules.ConflictFact(c.staff_person_id, c.candidate_person_id, c.kind) for c in s.scalars(q)]


def _recusal_error(s: Session, found: list[rules.ConflictFact]) -> Conflict:
    c = found[0]
    cand = s.get(Person, c.candidate_person_id)
    return Conflict("recusal", f"与考生 {cand.name} 存在利益冲突（{CONFLICT_KINDS[c.kind][0]}），须回避 (declared conflict "
                    f"with a candidate of this plan: {CONFLICT_KINDS[c.kind][1]}; must recuse)", "account_id")


def assign_staff(s: Session, actor: Actor, plan: ExamPlan, *, account: Account, duty: str,
                 session: ExamSession | None = None, room: Room | None = None, task: str = "") -> StaffAssignment:
    """Put a staff member on duty, checking role, qualification and recusal.

    * proctor / chief_proctor: a room of a session; the chief must hold the chief-proctor role; one chief per
      session (the chief also counts as one of the room's ≥2 proctors);
    * examiner: a task of a practical or review session; qualification per ``rules.examiner_qualification_problem``;
    * supervisors are only drawn (:func:`draw_supervisor`), and never hold another duty in the plan (规程 art. 16).
    """
    _editable(plan)
    if duty not in DUTIES or duty == "supervisor":
        raise DomainError("bad_duty", "职责应为 proctor、chief_proctor 或 examiner；督导员须随机抽取 (duty must be proctor, "
                          "chief_proctor or examiner; supervisors are drawn)", "duty")
    _ensure(session is not None and session.plan_id == plan.id, "required", "请选择本计划的场次 (choose a session of "
            "this plan)", "session_id")
    task = (task or "").strip()
    if duty in ("proctor", "chief_proctor"):
        _ensure(room is not None and room.id in {r.room_id for r in session.rooms}, "bad_room",
                "请选择该场次的考场 (choose a room of this session)", "room_id")
        grant = _grant(account, ("chief_proctor",) if duty == "chief_proctor" else ("proctor", "chief_proctor"),
                       plan.agency_id)
        _ensure(grant is not None, "unqualified", f"{account.person.name} 不具备{DUTIES[duty][0]}身份 (does not hold "
                f"the {duty} role)", "account_id", Conflict)
        if duty == "chief_proctor":
            other = s.scalar(select(StaffAssignment).where(StaffAssignment.session_id == session.id,
                                                           StaffAssignment.duty == "chief_proctor"))
            _ensure(other is None, "chief_taken", "本场次已有考场负责人 (this session already has a chief)", "duty",
                    Conflict)
        task = ""
    else:
        _ensure(session.subject.subject in ("practical", "review"), "bad_session",
                "考评员只安排在操作技能或综合评审场次 (examiners serve practical or review sessions)", "session_id")
        _ensure(task in session.task_list, "bad_task", f"请选择该场次的考核任务：{'、'.join(session.task_list)} "
                "(choose one of the session's tasks)", "task")
        room = None
        grant = _grant(account, ("examiner",))
        _ensure(grant is not None, "unqualified", f"{account.person.name} 不是考评员 (not an examiner)", "account_id",
                Conflict)
        problem = rules.examiner_qualification_problem(grant.held_level, grant.title, plan.level)
        if problem:
            raise Conflict("unqualified", f"{account.person.name}：{problem}", "account_id")
    found = rules.recusals(account.person_id, candidate_person_ids(plan), conflict_facts(s, account.person_id))
    if found:
        raise _recusal_error(s, found)
    bars = staff_bars(s, account.person_id, plan.first_day, duty)
    if bars:
        raise Conflict("barred", f"{account.person.name} 因违规处理，{bars[0].ends_on or ''} 前不得从事评价工作 (barred from "
                       f"assessment work by a violation decision until {bars[0].ends_on}; 指引 art. 9–11)", "account_id")
    duties = staff_of(s, plan)
    if any(d.duty == "supervisor" and d.account.person_id == account.person_id for d in duties):
        raise Conflict("supervisor_conflict", "本计划的质量督导员不得兼任考务或考评工作 (the plan's supervisor may not hold "
                       "another duty; 督导规程 art. 16)", "account_id")
    for d in duties:
        if d.session_id == session.id and d.account.person_id == account.person_id and (
                d.duty == duty and d.room_id == (room.id if room else None) and d.task == task):
            raise Conflict("duplicate", "已安排 (already assigned)", "account_id")
        if d.session_id == session.id and d.account.person_id == account.person_id and duty in (
                "proctor", "chief_proctor") and d.duty in ("proctor", "chief_proctor"):
            raise Conflict("busy", f"{account.person.name} 本场次已在 {d.room.name if d.room else ''} 监考 (already "
                           "proctoring in this session)", "account_id")
    a = StaffAssignment(plan_id=plan.id, session_id=session.id, room_id=room.id if room else None,
                        account_id=account.id, duty=duty, task=task, assigned_by=actor.account_id)
    s.add(a)
    s.flush()
    audit.record(s, actor, "staff.assign", "exam_plan", plan.id,
                 {"assignment_id": a.id, "account_id": account.id, "duty": duty, "session_id": session.id,
                  "room_id": a.room_id, "task": task, "grant_id": grant.id, "held_level": grant.held_level,
                  "title": grant.title})
    return a


def unassign_staff(s: Session, actor: Actor, assignment: StaffAssignment, *, reason: str = "") -> None:
    plan = s.get(ExamPlan, assignment.plan_id)
    _editable(plan)
    _ensure(assignment.duty != "supervisor", "drawn", "督导员由抽签产生，请重新抽取 (supervisors change only by a new "
            "draw)", "duty", Conflict)
    s.delete(assignment)
    s.flush()
    audit.record(s, actor, "staff.unassign", "exam_plan", plan.id,
                 {"assignment_id": assignment.id, "account_id": assignment.account_id, "duty": assignment.duty,
                  "session_id": assignment.session_id, "room_id": assignment.room_id, "reason": reason})


def declare_conflict(s: Session, actor: Actor, *, staff: Person, candidate: Person, kind: str,
                     note: str = "") -> ConflictDeclaration:
    """Declare a conflict of interest; existing duties in plans where the candidate sits are withdrawn (recusal)."""
    _ensure(kind in CONFLICT_KINDS, "bad_kind", f"冲突类型应为 {', '.join(CONFLICT_KINDS)} (unknown kind)", "kind")
    _ensure(staff.id != candidate.id, "bad_person", "不能与本人冲突 (same person)", "candidate_person_id")
    exists = s.scalar(select(ConflictDeclaration).where(ConflictDeclaration.staff_person_id == staff.id,
                                                        ConflictDeclaration.candidate_person_id == candidate.id,
                                                        ConflictDeclaration.kind == kind))
    _ensure(exists is None, "duplicate", "已申报 (already declared)", "kind", Conflict)
    c = ConflictDeclaration(staff_person_id=staff.id, candidate_person_id=candidate.id, kind=kind, note=note.strip(),
                            declared_by=actor.account_id)
    s.add(c)
    s.flush()
    audit.record(s, actor, "conflict.declare", "conflict_declaration", c.id,
                 {"staff_person_id": staff.id, "candidate_person_id": candidate.id, "kind": kind, "note": c.note})
    # recusal: withdraw the staff member from every not-yet-started plan where the candidate is registered
    affected = s.scalars(select(StaffAssignment).join(Account, Account.id == StaffAssignment.account_id)
                         .join(ExamPlan, ExamPlan.id == StaffAssignment.plan_id)
                         .join(Registration, (Registration.plan_id == ExamPlan.id)
                               & (Registration.person_id == candidate.id) & (Registration.status == "registered"))
                         .where(Account.person_id == staff.id, ExamPlan.status.in_(EDITABLE))).all()
    for a in affected:
        s.delete(a)
        s.flush()
        audit.record(s, actor, "staff.recuse", "exam_plan", a.plan_id,
                     {"assignment_id": a.id, "account_id": a.account_id, "duty": a.duty, "conflict_id": c.id})
    return c


def staff_bars(s: Session, person_id: int, on_date: dt.date, duty: str | None = None) -> list:
    """Staff-violation bars in force (recorded by the violations area, 指引 art. 9–11)."""
    from examserver.violations.operations import staff_ineligible  # violations builds on administration
    return staff_ineligible(s, person_id, on_date, duty=duty)


def supervisor_pool(s: Session, plan: ExamPlan) -> tuple[list[int], dict[int, str]]:
    """Eligible supervisors for a plan (ascending account ids) and the excluded ones with the reason.

    The pool is every account with an active supervisor grant (证卡 holders, 督导规程 art. 8); excluded are those
    with a declared conflict with a candidate of the plan, and those holding any duty in the plan (art. 16).
    """
    grants = s.scalars(select(RoleGrant).where(RoleGrant.role == "supervisor", RoleGrant.revoked_at.is_(None))).all()
    accounts = sorted({g.account_id for g in grants if g.account.active})
    cands = candidate_person_ids(plan)
    conflicts = conflict_facts(s)
    busy = {a.account.person_id: a.duty for a in staff_of(s, plan) if a.duty != "supervisor"}
    pool, excluded = [], {}
    for acc_id in accounts:
        acc = s.get(Account, acc_id)
        if rules.recusals(acc.person_id, cands, conflicts):
            excluded[acc_id] = "conflict"
        elif acc.person_id in busy:
            excluded[acc_id] = f"duty:{busy[acc.person_id]}"
        elif staff_bars(s, acc.person_id, plan.first_day):
            excluded[acc_id] = "barred"
        else:
            pool.append(acc_id)
    return pool, excluded


def current_draw(s: Session, plan: ExamPlan) -> SupervisorDraw | None:
    return s.scalar(select(SupervisorDraw).where(SupervisorDraw.plan_id == plan.id,
                                                 SupervisorDraw.superseded_at.is_(None)))


def draw_supervisor(s: Session, actor: Actor, plan: ExamPlan, *, seed: str | None = None,
                    redraw_reason: str = "") -> SupervisorDraw:
    """双随机: draw the plan's supervisor from the qualified pool; the seed and pool go to the audit trail.

    A new draw supersedes the previous one only with a reason (e.g. the person fell ill).
    """
    _editable(plan)
    prev = current_draw(s, plan)
    if prev is not None and not (redraw_reason or "").strip():
        raise Conflict("already_drawn", "已抽取督导员；重新抽取须说明原因 (already drawn; give a reason to redraw)",
                       "redraw_reason")
    seed = seed or secrets.token_hex(16)
    _ensure(len(seed) <= 64, "bad_seed", "seed 最长64字符 (seed ≤64 characters)", "seed")
    if prev is not None:
        prev.superseded_at, prev.supersede_reason = audit_now(), redraw_reason.strip()
        for a in staff_of(s, plan):
            if a.duty == "supervisor":
                s.delete(a)
        for r in s.scalars(select(SupervisorReport).where(SupervisorReport.plan_id == plan.id,
                                                          SupervisorReport.submitted_at.is_(None))):
            s.delete(r)
        s.flush()
    pool, excluded = supervisor_pool(s, plan)
    if not pool:
        raise Conflict("empty_pool", "没有符合条件的质量督导员可供抽取 (no eligible supervisor to draw from)", "pool")
    chosen = rules.draw_from_pool(seed, pool)
    d = SupervisorDraw(plan_id=plan.id, seed=seed, algorithm=rules.DRAW_ALGORITHM, pool=json.dumps(pool),
                       excluded=json.dumps({str(k): v for k, v in excluded.items()}, sort_keys=True),
                       chosen_account_id=chosen, drawn_by=actor.account_id)
    s.add(d)
    s.add(StaffAssignment(plan_id=plan.id, session_id=None, room_id=None, account_id=chosen, duty="supervisor",
                          assigned_by=actor.account_id))
    cal = work_calendar(s)
    s.add(SupervisorReport(plan_id=plan.id, account_id=chosen,
                           due_on=rules.supervisor_report_due(cal, plan.last_day, plan.supervisor_report_days)))
    s.flush()
    audit.record(s, actor, "supervisor.draw", "exam_plan", plan.id,
                 {"draw_id": d.id, "seed": seed, "algorithm": rules.DRAW_ALGORITHM, "pool": pool,
                  "excluded": {str(k): v for k, v in excluded.items()}, "chosen_account_id": chosen,
                  "redraw_reason": redraw_reason or None, "superseded_draw_id": prev.id if prev else None})
    return d


def verify_draw(draw: SupervisorDraw) -> bool:
    """Re-run a recorded draw from its seed and pool; True when it yields the recorded person."""
    return rules.draw_from_pool(draw.seed, json.loads(draw.pool)) == draw.chosen_account_id


# --- supervisor reports -------------------------------------------------------------------------

REPORT_FIELDS = ("organisation", "eligibility", "papers_and_examiners", "facilities", "fees", "remarks")


def submit_supervisor_report(s: Session, actor: Actor, report: SupervisorReport, *, today: dt.date,
                             validity: str, **fields: str) -> SupervisorReport:
    """File the written supervision report (河南…办法 art. 19); it cannot be changed once filed."""
    _ensure(report.account_id == actor.account_id, "not_yours", "只能提交本人的督导报告 (not your report)",
            "report_id", Forbidden)
    _ensure(report.submitted_at is None, "already_submitted", "报告已提交 (already submitted)", "report_id", Conflict)
    _ensure(report.plan.status in ("running", "closed", "reported", "audited"), "too_early",
            "考试开始后才能提交督导报告 (report after the exam has started)", "report_id", Conflict)
    _ensure(validity in VALIDITY, "required", "请对本批次有效性作出建议 (give a validity recommendation)", "validity")
    for f in ("organisation", "eligibility", "papers_and_examiners", "facilities"):
        _ensure(bool((fields.get(f) or "").strip()), "required", f"{f} 不能为空 ({f} is required)", f)
    for f in REPORT_FIELDS:
        setattr(report, f, (fields.get(f) or "").strip())
    report.validity = validity
    report.submitted_at, report.submitted_on = audit_now(), today
    s.flush()
    audit.record(s, actor, "supervisor_report.submit", "supervisor_report", report.id,
                 {"plan_id": report.plan_id, "validity": validity, "late": today > report.due_on,
                  **{f: getattr(report, f) for f in REPORT_FIELDS}})
    return report


def remind_supervisor_reports(s: Session, actor: Actor, *, today: dt.date) -> list[SupervisorReport]:
    """Remind every unsubmitted report due within one working day or overdue (at most once a day each)."""
    cal = work_calendar(s)
    soon = rules.add_working_days(cal, today, 1)
    due = s.scalars(select(SupervisorReport).join(ExamPlan).where(
        SupervisorReport.submitted_at.is_(None), SupervisorReport.due_on <= soon,
        ExamPlan.status.in_(("running", "closed", "reported", "audited")))).all()
    out = []
    for r in due:
        if r.last_reminded_on == today:
            continue
        r.reminders += 1
        r.last_reminded_on = today
        s.flush()
        audit.record(s, actor, "supervisor_report.remind", "supervisor_report", r.id,
                     {"plan_id": r.plan_id, "account_id": r.account_id, "due_on": r.due_on,
                      "overdue": r.overdue(today), "reminders": r.reminders})
        out.append(r)
    return out
