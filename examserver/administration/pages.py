"""Administration pages: the agency admin's plans calendar, plan, roster, seating chart, staff board and
reports; the centre's approvals and calendar; the candidate's open plans and tickets; the supervisor's
reports. Forms post back here; every change goes through one audited operation.
"""
from __future__ import annotations

import calendar as calmod
import datetime as dt
import json

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from itembank.core.errors import DomainError, NotFound
from itembank.core.idcard import ID_TYPES, mask_id_number
from itembank.core.people import Account, Person, RoleGrant
from itembank.core.reference import LEVELS, Agency, AgencyScope, Room, Site

from ..access import require_agency, roles
from ..db import db_read, db_write
from . import api as adm_api
from . import operations as ops
from . import quality, rules, spreadsheets
from .models import (CONFLICT_KINDS, DUTIES, PLAN_STATUSES, SUBJECTS, VALIDITY, ExamPlan, ExamSession,
                     PlanDocument, PublicHoliday, Registration, StaffAssignment, SupervisorReport)

bp = Blueprint("administration", __name__, url_prefix="/administration")
STAFF_VIEW = ("agency_admin", "center_auditor", "admin")


def _ctx(**kw) -> dict:
    return {"LEVELS": LEVELS, "SUBJECTS": SUBJECTS, "PLAN_STATUSES": PLAN_STATUSES, "DUTIES": DUTIES,
            "CONFLICT_KINDS": CONFLICT_KINDS, "VALIDITY": VALIDITY, "mask": mask_id_number, "ID_TYPES": ID_TYPES,
            **kw}


def _fail(e: DomainError) -> None:
    flash(e.message, "error")


def _back(default: str):
    return redirect(request.form.get("next") or default)


def _date(name: str, required: bool = True) -> dt.date | None:
    v = (request.form.get(name) or "").strip()
    if not v and not required:
        return None
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise DomainError("bad_date", f"{name}: 日期格式应为 YYYY-MM-DD (date as YYYY-MM-DD), got {v!r}", name) from None


def _int(name: str, required: bool = True, source=None) -> int | None:
    v = ((source or request.form).get(name) or "").strip()
    if not v and not required:
        return None
    try:
        return int(v)
    except ValueError:
        raise DomainError("bad_number", f"{name}: 应为整数 (a whole number), got {v!r}", name) from None


def _float(name: str) -> float:
    v = (request.form.get(name) or "").strip()
    try:
        return float(v)
    except ValueError:
        raise DomainError("bad_number", f"{name}: 应为数字 (a number), got {v!r}", name) from None


# --- plans calendar and creation -------------------------------------------------------------------

def _month(arg: str | None, today: dt.date) -> dt.date:
    try:
        y, m = (int(x) for x in (arg or "").split("-"))
        return dt.date(y, m, 1)
    except ValueError:
        return today.replace(day=1)


@bp.get("/plans")
@roles(*STAFF_VIEW)
def plans():
    p = g.principal
    today = ops.local_today()
    month = _month(request.args.get("month"), today)
    with db_read() as s:
        q = select(ExamPlan).order_by(ExamPlan.first_day.desc(), ExamPlan.id.desc())
        if p.role == "agency_admin":
            q = q.where(ExamPlan.agency_id == p.agency_id)
        all_plans = s.scalars(q.limit(300)).all()
        cal = ops.work_calendar(s)
        weeks = calmod.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
        by_day: dict[dt.date, list] = {}
        for plan in all_plans:
            for se in plan.sessions:
                by_day.setdefault(se.starts_at.date(), []).append((plan, se))
        agency = s.get(Agency, p.agency_id) if p.agency_id else None
        scope = [] if agency is None else s.scalars(select(AgencyScope).where(AgencyScope.agency_id == agency.id)
                                                    .order_by(AgencyScope.occupation_id, AgencyScope.level)).all()
        holidays = {h.day: h for h in s.scalars(select(PublicHoliday))}
        suggested = rules.add_working_days(cal, today, 14)
        flags = {plan.id: ops.plan_flags(s, plan, today) for plan in all_plans}
        prev_m = (month - dt.timedelta(days=1)).replace(day=1)
        next_m = (month + dt.timedelta(days=32)).replace(day=1)
        return render_template("administration/plans.html", **_ctx(
            plans=all_plans, weeks=weeks, month=month, by_day=by_day, agency=agency, scope=scope, cal=cal,
            holidays=holidays, today=today, suggested=suggested, flags=flags, prev_m=prev_m, next_m=next_m,
            deadline_for_suggested=rules.filing_deadline(cal, suggested)))


@bp.post("/plans")
@roles("agency_admin")
def create_plan():
    try:
        with db_write() as s:
            agency = s.get(Agency, g.principal.agency_id)
            scope_id = _int("scope_id")
            sc = s.get(AgencyScope, scope_id)
            if sc is None or sc.agency_id != agency.id:
                raise DomainError("bad_scope", "请选择本机构备案范围内的职业等级 (choose an approved scope line)", "scope_id")
            site = s.get(Site, _int("site_id"))
            if site is None:
                raise NotFound("not_found", "站点不存在 (no such site)", "site_id")
            require_agency(site.agency_id)
            marks = {"theory": _float("pass_theory"), "practical": _float("pass_practical")}
            if request.form.get("review") and sc.level <= 2:
                marks["review"] = _float("pass_review")
            plan = ops.create_plan(s, g.principal.actor, agency=agency, site=site, occupation=sc.occupation,
                                   work_type=sc.work_type, level=sc.level, first_day=_date("first_day"),
                                   last_day=_date("last_day", required=False), title=request.form.get("title", ""),
                                   subjects=marks, supervisor_report_days=_int("supervisor_report_days"))
            plan_id = plan.id
    except DomainError as e:
        _fail(e)
        return redirect(url_for(".plans"))
    flash(_("Plan created as a draft. Add its sessions, then the roster."), "ok")
    return redirect(url_for(".plan", plan_id=plan_id))


def _load(s, plan_id: int) -> ExamPlan:
    return adm_api.load_plan(s, plan_id)


@bp.get("/plans/<int:plan_id>")
@roles(*STAFF_VIEW)
def plan(plan_id: int):
    today = ops.local_today()
    with db_read() as s:
        p = _load(s, plan_id)
        rooms = s.scalars(select(Room).where(Room.site_id == p.site_id).order_by(Room.id)).all()
        docs = s.scalars(select(PlanDocument).where(PlanDocument.plan_id == p.id)).all()
        return render_template("administration/plan.html", **_ctx(
            plan=p, flags=ops.plan_flags(s, p, today), rooms=rooms, docs=docs, today=today,
            problems=ops.readiness_problems(s, p) if p.status == "approved" else [],
            allowed=rules.subjects_allowed(p.level), tab="plan"))


@bp.post("/plans/<int:plan_id>/pass-marks")
@roles("agency_admin")
def pass_marks(plan_id: int):
    try:
        with db_write() as s:
            p = _load(s, plan_id)
            for x in p.subjects:
                mark = _float(f"pass_{x.subject}")
                if mark != x.pass_mark:
                    ops.set_pass_mark(s, g.principal.actor, p, subject=x.subject, pass_mark=mark)
        flash(_("Pass marks saved."), "ok")
    except DomainError as e:
        _fail(e)
    return redirect(url_for(".plan", plan_id=plan_id))


def _when(day_field: str, time_field: str) -> dt.datetime:
    day = _date(day_field)
    t = (request.form.get(time_field) or "").strip()
    try:
        return dt.datetime.combine(day, dt.time.fromisoformat(t))
    except ValueError:
        raise DomainError("bad_time", f"{time_field}: 时间格式应为 HH:MM (time as HH:MM), got {t!r}", time_field) from None


@bp.post("/plans/<int:plan_id>/sessions")
@roles("agency_admin")
def add_session(plan_id: int):
    try:
        with db_write() as s:
            p = _load(s, plan_id)
            room_ids = [int(x) for x in request.form.getlist("room_ids") if x.isdigit()]
            rooms = [r for r in (s.get(Room, i) for i in room_ids) if r is not None]
            ops.add_session(s, g.principal.actor, p, subject=request.form.get("subject", ""),
                            name=request.form.get("name", ""), starts_at=_when("day", "starts"),
                            ends_at=_when("day", "ends"), rooms=rooms,
                            forms=[f for f in request.form.get("forms", "A,B").replace("，", ",").split(",")],
                            tasks=request.form.get("tasks", "").splitlines())
        flash(_("Session added."), "ok")
    except DomainError as e:
        _fail(e)
    return redirect(url_for(".plan", plan_id=plan_id))


@bp.post("/plans/<int:plan_id>/actions/<action>")
@roles("agency_admin", "center_auditor")
def plan_action(plan_id: int, action: str):
    body = adm_api.ActionIn(late_reason=request.form.get("late_reason", "")[:1000],
                            reason=request.form.get("reason", "")[:1000], note=request.form.get("note", "")[:1000])
    try:
        with db_write() as s:
            adm_api.run_action(s, _load(s, plan_id), action, body)
        flash(_("Done: %(action)s.", action=_(ACTION_LABELS.get(action, action))), "ok")
    except DomainError as e:
        _fail(e)
    return redirect(url_for(".plan", plan_id=plan_id))


ACTION_LABELS = {"file": "File with the centre", "return": "Return to the agency", "approve": "Approve",
                 "start": "Begin the assessment", "close": "Close", "report": "Report results", "audit": "Audit results"}


@bp.get("/plans/<int:plan_id>/documents/<int:doc_id>")
@roles(*STAFF_VIEW)
def document(plan_id: int, doc_id: int):
    with db_read() as s:
        _load(s, plan_id)
        doc = s.get(PlanDocument, doc_id)
        if doc is None or doc.plan_id != plan_id:
            abort(404)
        return adm_api.attachment(doc.content, doc.mime, doc.filename)


# --- roster --------------------------------------------------------------------------------------

def _roster_page(s, p, result=None):
    return render_template("administration/roster.html", **_ctx(plan=p, result=result, tab="roster",
                                                                 regs=p.registrations))


@bp.get("/plans/<int:plan_id>/roster")
@roles(*STAFF_VIEW)
def roster(plan_id: int):
    with db_read() as s:
        return _roster_page(s, _load(s, plan_id))


@bp.post("/plans/<int:plan_id>/roster/import")
@roles("agency_admin")
def roster_import(plan_id: int):
    f = request.files.get("file")
    try:
        rows = spreadsheets.read_import(f.read() if f else b"")
        with db_write() as s:
            result = ops.import_roster(s, g.principal.actor, _load(s, plan_id), rows, today=ops.local_today())
    except DomainError as e:
        _fail(e)
        return redirect(url_for(".roster", plan_id=plan_id))
    with db_read() as s:
        ok = sum(r["status"] == "registered" for r in result)
        flash(_("%(ok)d registered, %(bad)d not.", ok=ok, bad=len(result) - ok), "ok" if ok else "error")
        return _roster_page(s, _load(s, plan_id), result)


@bp.post("/plans/<int:plan_id>/roster/<int:registration_id>/withdraw")
@roles("agency_admin")
def withdraw(plan_id: int, registration_id: int):
    try:
        with db_write() as s:
            _load(s, plan_id)
            reg = s.get(Registration, registration_id)
            if reg is None or reg.plan_id != plan_id:
                abort(404)
            ops.withdraw(s, g.principal.actor, reg, reason=request.form.get("reason", ""))
        flash(_("Registration withdrawn."), "ok")
    except DomainError as e:
        _fail(e)
    return redirect(url_for(".roster", plan_id=plan_id))


@bp.get("/plans/<int:plan_id>/roster.xlsx")
@roles(*STAFF_VIEW)
def roster_xlsx(plan_id: int):
    with db_read() as s:
        p = _load(s, plan_id)
        return adm_api.attachment(spreadsheets.roster_xlsx(p), spreadsheets.XLSX_MIME, f"人员名册-{p.id}.xlsx")


@bp.get("/import-template.xlsx")
@roles("agency_admin")
def import_template():
    """The blank import template; ``?filled=1`` fills it with the agency's candidate accounts."""
    people = []
    if request.args.get("filled"):
        with db_read() as s:
            people = s.scalars(select(Person).join(Account).join(RoleGrant).where(
                RoleGrant.role == "candidate", RoleGrant.agency_id == g.principal.agency_id,
                RoleGrant.revoked_at.is_(None)).order_by(Account.username)).unique().all()
            body = spreadsheets.import_template_xlsx(people)
    else:
        body = spreadsheets.import_template_xlsx()
    return adm_api.attachment(body, spreadsheets.XLSX_MIME, "考生导入模板.xlsx" if not people else "本机构考生.xlsx")


# --- seating -------------------------------------------------------------------------------------

@bp.get("/plans/<int:plan_id>/seating")
@roles(*STAFF_VIEW)
def seating(plan_id: int):
    with db_read() as s:
        p = _load(s, plan_id)
        charts = []
        for se in p.sessions:
            seats = {(x.room_id, x.seat_row, x.seat_col): x for x in se.seats}
            rooms = []
            for sr in se.rooms:
                usable = set(ops.usable_seats(s, sr.room))
                rooms.append({"room": sr.room, "usable": usable,
                              "counts": {f: sum(1 for x in se.seats if x.room_id == sr.room_id and x.form_label == f)
                                         for f in se.form_labels}})
            charts.append({"session": se, "seats": seats, "rooms": rooms})
        return render_template("administration/seating.html", **_ctx(plan=p, charts=charts, tab="seating"))


@bp.post("/sessions/<int:session_id>/seat")
@roles("agency_admin")
def seat(session_id: int):
    with db_read() as s:
        plan_id = adm_api.load_session(s, session_id).plan_id
    try:
        with db_write() as s:
            se = adm_api.load_session(s, session_id)
            seed = (request.form.get("seed") or "").strip() or None
            made = ops.seat_session(s, g.principal.actor, se, seed=seed)
        flash(_("%(n)d candidates seated at random; the seed is recorded.", n=len(made)), "ok")
    except DomainError as e:
        _fail(e)
    return redirect(url_for(".seating", plan_id=plan_id))


@bp.post("/rooms/<int:room_id>/block")
@roles("agency_admin")
def block(room_id: int):
    try:
        with db_write() as s:
            room = s.get(Room, room_id)
            if room is None:
                abort(404)
            require_agency(room.site.agency_id)
            ops.block_seat(s, g.principal.actor, room, row=_int("row"), col=_int("col"),
                           reason=request.form.get("reason", ""), blocked=request.form.get("blocked") == "1")
    except DomainError as e:
        _fail(e)
    return _back(url_for(".plans"))


# --- staff ---------------------------------------------------------------------------------------

@bp.get("/plans/<int:plan_id>/staff")
@roles(*STAFF_VIEW)
def staff(plan_id: int):
    with db_read() as s:
        p = _load(s, plan_id)
        board = adm_api.staff_board(s, p)
        grants = s.scalars(select(RoleGrant).where(RoleGrant.revoked_at.is_(None), RoleGrant.role.in_(
            ("proctor", "chief_proctor", "examiner", "supervisor")), RoleGrant.agency_id == p.agency_id)
            .order_by(RoleGrant.role, RoleGrant.account_id)).all()
        conflicts = s.scalars(select(ops.ConflictDeclaration).where(
            ops.ConflictDeclaration.candidate_person_id.in_(ops.candidate_person_ids(p)))).all()
        assignments = {a.id: a for a in ops.staff_of(s, p)}
        draw = ops.current_draw(s, p)
        pool = [s.get(Account, i) for i in json.loads(draw.pool)] if draw else []
        excluded = {int(k): (s.get(Account, int(k)), v) for k, v in json.loads(draw.excluded).items()} if draw else {}
        return render_template("administration/staff.html", **_ctx(
            plan=p, board=board, grants=grants, conflicts=conflicts, assignments=assignments, draw=draw, pool=pool,
            excluded=excluded, tab="staff",
            candidates=[r for r in p.registrations if r.status == "registered"]))


@bp.post("/plans/<int:plan_id>/staff")
@roles("agency_admin")
def assign(plan_id: int):
    try:
        with db_write() as s:
            p = _load(s, plan_id)
            account = s.get(Account, _int("account_id"))
            se = s.get(ExamSession, _int("session_id"))
            room_id = _int("room_id", required=False)
            if account is None or se is None:
                raise NotFound("not_found", "请选择人员和场次 (choose a person and a session)", "account_id")
            ops.assign_staff(s, g.principal.actor, p, account=account, duty=request.form.get("duty", ""),
                             session=se, room=s.get(Room, room_id) if room_id else None,
                             task=request.form.get("task", ""))
        flash(_("Assigned."), "ok")
    except DomainError as e:
        _fail(e)
    return redirect(url_for(".staff", plan_id=plan_id))


@bp.post("/staff/<int:assignment_id>/remove")
@roles("agency_admin")
def unassign(assignment_id: int):
    plan_id = None
    try:
        with db_write() as s:
            a = s.get(StaffAssignment, assignment_id)
            if a is None:
                abort(404)
            plan_id = _load(s, a.plan_id).id
            ops.unassign_staff(s, g.principal.actor, a, reason=request.form.get("reason", ""))
        flash(_("Removed."), "ok")
    except DomainError as e:
        _fail(e)
    return redirect(url_for(".staff", plan_id=plan_id) if plan_id else url_for(".plans"))


@bp.post("/plans/<int:plan_id>/conflicts")
@roles("agency_admin")
def conflict(plan_id: int):
    try:
        with db_write() as s:
            _load(s, plan_id)
            staff_acc = s.get(Account, _int("account_id"))
            cand = s.get(Person, _int("candidate_person_id"))
            if staff_acc is None or cand is None:
                raise NotFound("not_found", "请选择人员 (choose the people)", "account_id")
            ops.declare_conflict(s, g.principal.actor, staff=staff_acc.person, candidate=cand,
                                 kind=request.form.get("kind", ""), note=request.form.get("note", ""))
        flash(_("Conflict declared; the person recuses from this candidate's sessions."), "ok")
    except DomainError as e:
        _fail(e)
    return redirect(url_for(".staff", plan_id=plan_id))


@bp.post("/plans/<int:plan_id>/draw")
@roles("agency_admin")
def draw(plan_id: int):
    try:
        with db_write() as s:
            d = ops.draw_supervisor(s, g.principal.actor, _load(s, plan_id),
                                    seed=(request.form.get("seed") or "").strip() or None,
                                    redraw_reason=request.form.get("redraw_reason", ""))
            name = d.chosen.person.name
        flash(_("Supervisor drawn: %(name)s.", name=name), "ok")
    except DomainError as e:
        _fail(e)
    return redirect(url_for(".staff", plan_id=plan_id))


# --- tickets -------------------------------------------------------------------------------------

@bp.get("/plans/<int:plan_id>/tickets.pdf")
@roles("agency_admin")
def tickets_pdf(plan_id: int):
    with db_read() as s:
        p = _load(s, plan_id)
        regs = sorted([r for r in p.registrations if r.status == "registered"], key=lambda r: r.ticket_number)
        if not regs:
            abort(404, "no registered candidates")
        return adm_api.attachment(adm_api.tickets_for(s, p, regs), "application/pdf", f"准考证-{p.id}.pdf")


@bp.get("/tickets/<int:registration_id>.pdf")
@roles("candidate", "agency_admin")
def ticket_pdf(registration_id: int):
    return adm_api.one_ticket(registration_id=registration_id)


# --- candidates ----------------------------------------------------------------------------------

@bp.get("/my-exams")
@roles("candidate")
def my_exams():
    today = ops.local_today()
    with db_read() as s:
        person_id = s.get(Account, g.principal.account_id).person_id
        mine = s.scalars(select(Registration).where(Registration.person_id == person_id)
                         .order_by(Registration.id.desc())).all()
        taken = {r.plan_id for r in mine if r.status == "registered"}
        open_plans = [p for p in s.scalars(select(ExamPlan).where(ExamPlan.status.in_(ops.REGISTRATION_OPEN),
                                                                  ExamPlan.first_day > today)
                                           .order_by(ExamPlan.first_day)) if p.id not in taken]
        bans = ops.active_bans(s, person_id, today)
        seats = {(x.registration_id, x.session_id): x for r in mine for se in r.plan.sessions for x in se.seats
                 if x.registration_id == r.id}
        return render_template("administration/my_exams.html", **_ctx(
            mine=mine, open_plans=open_plans, bans=bans, seats=seats, ban_message=ops.ban_message))


@bp.post("/my-exams/<int:plan_id>/register")
@roles("candidate")
def register_self(plan_id: int):
    try:
        with db_write() as s:
            p = s.get(ExamPlan, plan_id)
            today = ops.local_today()
            if p is None or p.status not in ops.REGISTRATION_OPEN or p.first_day <= today:
                raise NotFound("not_found", "该计划不接受报名 (not open for registration)", "plan_id")
            ops.register(s, g.principal.actor, p, s.get(Account, g.principal.account_id).person, source="self",
                         today=today)
        flash(_("Registered."), "ok")
    except DomainError as e:
        _fail(e)
    return redirect(url_for(".my_exams"))


# --- supervisors ---------------------------------------------------------------------------------

@bp.get("/my-reports")
@roles("supervisor")
def my_reports():
    today = ops.local_today()
    with db_read() as s:
        reports = s.scalars(select(SupervisorReport).where(SupervisorReport.account_id == g.principal.account_id)
                            .order_by(SupervisorReport.due_on)).all()
        return render_template("administration/my_reports.html", **_ctx(reports=reports, today=today))


@bp.post("/my-reports/<int:report_id>")
@roles("supervisor")
def submit_report(report_id: int):
    try:
        with db_write() as s:
            r = s.get(SupervisorReport, report_id)
            if r is None:
                abort(404)
            ops.submit_supervisor_report(s, g.principal.actor, r, today=ops.local_today(),
                                         validity=request.form.get("validity", ""),
                                         **{f: request.form.get(f, "") for f in ops.REPORT_FIELDS})
        flash(_("Report filed."), "ok")
    except DomainError as e:
        _fail(e)
    return redirect(url_for(".my_reports"))


# --- reports: supervisor reports and the quarterly quality report --------------------------------

@bp.get("/reports")
@roles("agency_admin", "center_auditor", "admin")
def reports():
    p = g.principal
    today = ops.local_today()
    year = _int("year", required=False, source=request.args) or today.year
    quarter = _int("quarter", required=False, source=request.args) or (today.month - 1) // 3 + 1
    if not 1 <= quarter <= 4 or not 2000 <= year <= 2100:
        abort(400, "quarter must be 1..4 and year 2000..2100")
    with db_read() as s:
        scope = quality.QualityScope(year, quarter, p.agency_id if p.role == "agency_admin" else None, today)
        figures = quality.quarterly_report(s, scope)
        q = select(SupervisorReport).join(ExamPlan).order_by(SupervisorReport.due_on.desc())
        if p.role == "agency_admin":
            q = q.where(ExamPlan.agency_id == p.agency_id)
        sup_reports = s.scalars(q.limit(200)).all()
        chart = {}
        for f in figures:  # counts only (percentages and plan status tallies stay in the tables)
            rows = [(zh, v) for zh, _en, v in f.rows if isinstance(v, int) and "%" not in zh]
            if f.available and f.key != "plans" and rows:
                chart[f.key] = {"labels": [zh for zh, _v in rows], "values": [v for _zh, v in rows]}
        return render_template("administration/reports.html", **_ctx(
            figures=figures, year=year, quarter=quarter, bounds=scope.bounds, sup_reports=sup_reports, today=today,
            chart=chart))


# --- the working-day calendar ----------------------------------------------------------------------

@bp.get("/calendar")
@roles("agency_admin", "center_auditor", "admin")
def calendar():
    with db_read() as s:
        days = s.scalars(select(PublicHoliday).order_by(PublicHoliday.day)).all()
        return render_template("administration/calendar.html", **_ctx(days=days))


@bp.post("/calendar")
@roles("center_auditor", "admin")
def calendar_set():
    try:
        with db_write() as s:
            if request.form.get("remove"):
                ops.remove_holiday(s, g.principal.actor, day=_date("day"))
            else:
                ops.set_holiday(s, g.principal.actor, day=_date("day"), name=request.form.get("name", ""),
                                working=request.form.get("working") == "1")
        flash(_("Calendar saved."), "ok")
    except DomainError as e:
        _fail(e)
    return redirect(url_for(".calendar"))
