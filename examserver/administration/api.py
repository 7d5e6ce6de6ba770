"""Exam administration over the JSON API (``/api/v1/administration/...``).

Agency staff act within their own agency (``require_agency``); the centre auditor approves, returns and
audits plans, records bans and keeps the calendar; candidates see open plans, register themselves and
download their own ticket; supervisors file their reports.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Literal
from urllib.parse import quote

from flask import Response, g, request
from pydantic import BaseModel, Field
from sqlalchemy import select

from itembank.core import directory
from itembank.core.errors import DomainError, Forbidden, NotFound
from itembank.core.idcard import mask_id_number
from itembank.core.people import Account, Person
from itembank.core.reference import LEVELS, Occupation, Room, Site, WorkType

from ..access import require_agency, roles
from ..api import endpoint
from ..db import db_read, db_write
from . import operations as ops
from . import quality, rules, spreadsheets, tasks as _tasks, tickets  # noqa: F401  (tasks: registers the Celery task)
from .models import (PLAN_STATUSES, SUBJECTS, Ban, ExamPlan, ExamSession, Registration, StaffAssignment,
                     SupervisorDraw, SupervisorReport)

AGENCY = ("agency_admin",)
PLAN_READERS = ("agency_admin", "center_auditor", "admin")
CENTRE = ("center_auditor", "admin")


# --- helpers -------------------------------------------------------------------------------------

def load_plan(s, plan_id: int, *, write: bool = False) -> ExamPlan:
    plan = s.get(ExamPlan, plan_id)
    if plan is None:
        raise NotFound("not_found", f"认定计划 {plan_id} 不存在 (no such plan)", "plan_id")
    require_agency(plan.agency_id)
    return plan


def load_session(s, session_id: int) -> ExamSession:
    se = s.get(ExamSession, session_id)
    if se is None:
        raise NotFound("not_found", f"场次 {session_id} 不存在 (no such session)", "session_id")
    require_agency(se.plan.agency_id)
    return se


def get(s, model, ident, field):
    return directory.get_or_404(s, model, ident, field)


def attachment(body: bytes, mime: str, filename: str, inline: bool = False) -> Response:
    ascii_name = filename.encode("ascii", "ignore").decode() or "download"
    disp = "inline" if inline else "attachment"
    return Response(body, mimetype=mime, headers={
        "Content-Disposition": f"{disp}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "no-store"})


# --- shapes --------------------------------------------------------------------------------------

class SubjectOut(BaseModel):
    subject: str
    name: str
    pass_mark: float
    full_marks: float


class SessionOut(BaseModel):
    id: int
    name: str
    subject: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    room_ids: list[int]
    rooms: list[str]
    forms: list[str]
    tasks: list[str]
    access_code: str
    seated: int
    seating_seed: str | None


class PlanOut(BaseModel):
    id: int
    title: str
    status: str
    status_name: str
    agency_id: int
    site_id: int
    occupation_code: str
    occupation_name: str
    work_type: str | None
    level: int
    level_name: str
    first_day: dt.date
    last_day: dt.date
    pass_marks_locked: bool
    late_filing: bool
    late_filing_reason: str
    late_report: bool
    filed_on: dt.date | None
    registered: int
    subjects: list[SubjectOut]
    sessions: list[SessionOut]
    flags: dict


class PlanList(BaseModel):
    plans: list[PlanOut]


def plan_out(s, plan: ExamPlan, today: dt.date | None = None) -> PlanOut:
    flags = ops.plan_flags(s, plan, today or ops.local_today())
    return PlanOut(
        id=plan.id, title=plan.title, status=plan.status, status_name=PLAN_STATUSES[plan.status][0],
        agency_id=plan.agency_id, site_id=plan.site_id, occupation_code=plan.occupation.code,
        occupation_name=plan.occupation.name, work_type=plan.work_type.name if plan.work_type else None,
        level=plan.level, level_name=LEVELS[plan.level][0], first_day=plan.first_day, last_day=plan.last_day,
        pass_marks_locked=plan.pass_marks_locked, late_filing=plan.late_filing,
        late_filing_reason=plan.late_filing_reason, late_report=plan.late_report, filed_on=plan.filed_on,
        registered=sum(r.status == "registered" for r in plan.registrations),
        subjects=[SubjectOut(subject=x.subject, name=SUBJECTS[x.subject][0], pass_mark=x.pass_mark,
                             full_marks=x.full_marks) for x in plan.subjects],
        sessions=[session_out(se) for se in plan.sessions],
        flags={k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in flags.items()})


def session_out(se: ExamSession) -> SessionOut:
    return SessionOut(id=se.id, name=se.name, subject=se.subject.subject, starts_at=se.starts_at, ends_at=se.ends_at,
                      room_ids=[r.room_id for r in se.rooms], rooms=[r.room.name for r in se.rooms],
                      forms=se.form_labels, tasks=se.task_list, access_code=se.access_code, seated=len(se.seats), seating_seed=se.seating_seed)


class PlanIn(BaseModel):
    site_id: int
    occupation_code: str = Field(pattern=r"^\d-\d{2}-\d{2}-\d{2}$")
    work_type: str | None = None
    level: int = Field(ge=1, le=5)
    first_day: dt.date
    last_day: dt.date | None = None
    title: str = Field(default="", max_length=200)
    pass_marks: dict[Literal["theory", "practical", "review"], float] | None = None
    supervisor_report_days: int = Field(default=rules.DEFAULT_SUPERVISOR_REPORT_DAYS, ge=1, le=10)


class PassMarkIn(BaseModel):
    subject: Literal["theory", "practical", "review"]
    pass_mark: float = Field(gt=0, le=100)


class SessionIn(BaseModel):
    subject: Literal["theory", "practical", "review"]
    name: str = Field(default="", max_length=100)
    starts_at: dt.datetime
    ends_at: dt.datetime
    room_ids: list[int] = Field(min_length=1)
    forms: list[str] = ["A", "B"]
    tasks: list[str] = []


class ActionIn(BaseModel):
    late_reason: str = Field(default="", max_length=1000)
    reason: str = Field(default="", max_length=1000)
    note: str = Field(default="", max_length=1000)


# --- plans ---------------------------------------------------------------------------------------

@endpoint("/administration/plans", summary="Exam plans (one's own agency; the centre sees all)", response=PlanList)
@roles(*PLAN_READERS)
def list_plans():
    p = g.principal
    with db_read() as s:
        q = select(ExamPlan).order_by(ExamPlan.first_day.desc(), ExamPlan.id.desc())
        if p.role == "agency_admin":
            q = q.where(ExamPlan.agency_id == p.agency_id)
        return PlanList(plans=[plan_out(s, x) for x in s.scalars(q.limit(500))])


def create_plan_from(s, body: PlanIn, agency_id: int) -> ExamPlan:
    site = get(s, Site, body.site_id, "site_id")
    require_agency(site.agency_id)
    occ = s.scalar(select(Occupation).where(Occupation.code == body.occupation_code))
    if occ is None:
        raise NotFound("not_found", f"职业 {body.occupation_code} 不存在 (unknown occupation)", "occupation_code")
    wt = None
    if body.work_type:
        wt = s.scalar(select(WorkType).where(WorkType.occupation_id == occ.id, WorkType.name == body.work_type))
        if wt is None:
            raise NotFound("not_found", f"工种 {body.work_type} 不存在 (unknown work type)", "work_type")
    return ops.create_plan(s, g.principal.actor, agency=site.agency, site=site, occupation=occ, work_type=wt,
                           level=body.level, first_day=body.first_day, last_day=body.last_day, title=body.title,
                           subjects=dict(body.pass_marks) if body.pass_marks else None,
                           supervisor_report_days=body.supervisor_report_days)


@endpoint("/administration/plans", "POST", summary="Create a draft exam plan (scope checked)", body=PlanIn,
          response=PlanOut, status=201)
@roles(*AGENCY)
def create_plan(body: PlanIn):
    with db_write() as s:
        plan = create_plan_from(s, body, g.principal.agency_id)
        return plan_out(s, plan)


@endpoint("/administration/plans/<int:plan_id>", summary="One exam plan with subjects, sessions and deadlines",
          response=PlanOut)
@roles(*PLAN_READERS)
def get_plan(plan_id: int):
    with db_read() as s:
        return plan_out(s, load_plan(s, plan_id))


@endpoint("/administration/plans/<int:plan_id>/pass-marks", "POST", summary="Set a pass mark (before approval)",
          body=PassMarkIn, response=PlanOut)
@roles(*AGENCY)
def set_pass_mark(plan_id: int, body: PassMarkIn):
    with db_write() as s:
        plan = load_plan(s, plan_id)
        ops.set_pass_mark(s, g.principal.actor, plan, subject=body.subject, pass_mark=body.pass_mark)
        return plan_out(s, plan)


def add_session_from(s, plan: ExamPlan, body: SessionIn) -> ExamSession:
    rooms = [get(s, Room, rid, "room_ids") for rid in body.room_ids]
    return ops.add_session(s, g.principal.actor, plan, subject=body.subject, name=body.name,
                           starts_at=body.starts_at.replace(tzinfo=None), ends_at=body.ends_at.replace(tzinfo=None),
                           rooms=rooms, forms=body.forms, tasks=body.tasks)


@endpoint("/administration/plans/<int:plan_id>/sessions", "POST", summary="Add a session (场次) in rooms of the site",
          body=SessionIn, response=SessionOut, status=201)
@roles(*AGENCY)
def add_session(plan_id: int, body: SessionIn):
    with db_write() as s:
        plan = load_plan(s, plan_id)
        return session_out(add_session_from(s, plan, body))


ACTION_ROLES = {"file": {"agency_admin"}, "start": {"agency_admin"}, "close": {"agency_admin"},
                "report": {"agency_admin"}, "approve": {"center_auditor"}, "return": {"center_auditor"},
                "audit": {"center_auditor"}}


def run_action(s, plan: ExamPlan, action: str, body: ActionIn) -> None:
    p = g.principal
    if action not in ACTION_ROLES:
        raise NotFound("not_found", f"未知操作 {action} (unknown action)", "action")
    if p.role not in ACTION_ROLES[action]:
        raise Forbidden("forbidden", f"{p.role} 不能执行 {action} (role may not {action} a plan)", "action")
    actor, today = p.actor, ops.local_today()
    if action == "file":
        ops.file_plan(s, actor, plan, today=today, late_reason=body.late_reason)
    elif action == "return":
        ops.return_plan(s, actor, plan, reason=body.reason)
    elif action == "approve":
        ops.approve_plan(s, actor, plan)
    elif action == "start":
        ops.start_plan(s, actor, plan)
    elif action == "close":
        ops.close_plan(s, actor, plan, today=today)
    elif action == "report":
        ops.report_results(s, actor, plan, today=today, late_reason=body.late_reason)
    else:
        ops.audit_plan(s, actor, plan, note=body.note)


@endpoint("/administration/plans/<int:plan_id>/actions/<action>", "POST",
          summary="Move a plan on: file | return | approve | start | close | report | audit", body=ActionIn,
          response=PlanOut)
@roles("agency_admin", "center_auditor")
def plan_action(plan_id: int, action: str, body: ActionIn):
    with db_write() as s:
        plan = load_plan(s, plan_id)
        run_action(s, plan, action, body)
        return plan_out(s, plan)


# --- registrations -------------------------------------------------------------------------------

class RegistrationOut(BaseModel):
    id: int
    person_id: int
    name: str
    id_number_masked: str
    employer: str
    ticket_number: str
    source: str
    status: str


class RegistrationList(BaseModel):
    registrations: list[RegistrationOut]


def registration_out(r: Registration) -> RegistrationOut:
    return RegistrationOut(id=r.id, person_id=r.person_id, name=r.person.name,
                           id_number_masked=mask_id_number(r.person.id_number), employer=r.person.employer,
                           ticket_number=r.ticket_number, source=r.source, status=r.status)


class RegisterIn(BaseModel):
    person_id: int


class ImportRow(BaseModel):
    row: int
    name: str
    id_number: str
    status: str
    ticket_number: str | None = None
    code: str | None = None
    message: str | None = None


class ImportOut(BaseModel):
    registered: int
    problems: int
    rows: list[ImportRow]


@endpoint("/administration/plans/<int:plan_id>/registrations", summary="The roster of a plan",
          response=RegistrationList)
@roles(*PLAN_READERS)
def list_registrations(plan_id: int):
    with db_read() as s:
        plan = load_plan(s, plan_id)
        return RegistrationList(registrations=[registration_out(r) for r in plan.registrations])


@endpoint("/administration/plans/<int:plan_id>/registrations", "POST", summary="Register a known person (bans checked)",
          body=RegisterIn, response=RegistrationOut, status=201)
@roles(*AGENCY)
def register_person(plan_id: int, body: RegisterIn):
    with db_write() as s:
        plan = load_plan(s, plan_id)
        person = get(s, Person, body.person_id, "person_id")
        return registration_out(ops.register(s, g.principal.actor, plan, person, source="agency",
                                             today=ops.local_today()))


@endpoint("/administration/plans/<int:plan_id>/registrations/import", "POST",
          summary="Bulk registration from an XLSX file (multipart field 'file'); per-row report", response=ImportOut)
@roles(*AGENCY)
def import_registrations(plan_id: int):
    f = request.files.get("file")
    rows = spreadsheets.read_import(f.read() if f else b"")
    with db_write() as s:
        plan = load_plan(s, plan_id)
        result = ops.import_roster(s, g.principal.actor, plan, rows, today=ops.local_today())
    return import_out(result)


def import_out(result: list[dict]) -> ImportOut:
    return ImportOut(registered=sum(r["status"] == "registered" for r in result),
                     problems=sum(r["status"] != "registered" for r in result),
                     rows=[ImportRow(**{k: r.get(k) for k in ImportRow.model_fields}) for r in result])


@endpoint("/administration/plans/<int:plan_id>/self-registration", "POST",
          summary="A candidate registers themself for an open plan", response=RegistrationOut, status=201)
@roles("candidate")
def self_register(plan_id: int):
    with db_write() as s:
        plan = s.get(ExamPlan, plan_id)
        today = ops.local_today()
        if plan is None or plan.status not in ops.REGISTRATION_OPEN or plan.first_day <= today:
            raise NotFound("not_found", "没有可报名的该计划 (no open plan with this id)", "plan_id")
        acc = s.get(Account, g.principal.account_id)
        return registration_out(ops.register(s, g.principal.actor, plan, acc.person, source="self", today=today))


@endpoint("/administration/plans/<int:plan_id>/roster.xlsx", summary="Download the roster (人员名册) as XLSX")
@roles(*PLAN_READERS)
def roster_xlsx(plan_id: int):
    with db_read() as s:
        plan = load_plan(s, plan_id)
        body = spreadsheets.roster_xlsx(plan)
    return attachment(body, spreadsheets.XLSX_MIME, f"人员名册-{plan_id}.xlsx")


# --- seating -------------------------------------------------------------------------------------

class SeatOut(BaseModel):
    registration_id: int
    ticket_number: str
    name: str
    room_id: int
    room: str
    row: int
    col: int
    seat_no: int
    form: str
    paper_id: int | None


class SeatingOut(BaseModel):
    session_id: int
    seed: str | None
    seats: list[SeatOut]


class SeatIn(BaseModel):
    seed: str | None = Field(default=None, min_length=1, max_length=64)


class BlockIn(BaseModel):
    row: int = Field(ge=1, le=50)
    col: int = Field(ge=1, le=50)
    blocked: bool = True
    reason: str = Field(default="", max_length=200)


class PaperIn(BaseModel):
    paper_id: int = Field(ge=1)


def seating_out(s, se: ExamSession) -> SeatingOut:
    return SeatingOut(session_id=se.id, seed=se.seating_seed, seats=[
        SeatOut(registration_id=x.registration_id, ticket_number=x.registration.ticket_number,
                name=x.registration.person.name, room_id=x.room_id, room=x.room.name, row=x.seat_row,
                col=x.seat_col, seat_no=x.seat_no, form=x.form_label, paper_id=x.paper_id)
        for x in ops.session_roster(s, se)])


@endpoint("/administration/sessions/<int:session_id>/seating", summary="Seating chart of a session",
          response=SeatingOut)
@roles(*PLAN_READERS)
def get_seating(session_id: int):
    with db_read() as s:
        return seating_out(s, load_session(s, session_id))


@endpoint("/administration/sessions/<int:session_id>/seating", "POST",
          summary="Seat the roster at random (seed recorded); neighbours get different forms", body=SeatIn,
          response=SeatingOut)
@roles(*AGENCY)
def seat(session_id: int, body: SeatIn):
    with db_write() as s:
        se = load_session(s, session_id)
        ops.seat_session(s, g.principal.actor, se, seed=body.seed)
        return seating_out(s, se)


@endpoint("/administration/sessions/<int:session_id>/forms/<label>/paper", "POST",
          summary="Bind a sealed paper of the item bank to a form label of a session", body=PaperIn,
          response=SeatingOut)
@roles("agency_admin", "item_reviewer")
def bind_paper(session_id: int, label: str, body: PaperIn):
    with db_write() as s:
        se = load_session(s, session_id)
        ops.set_form_paper(s, g.principal.actor, se, form_label=label, paper_id=body.paper_id)
        return seating_out(s, se)


@endpoint("/administration/rooms/<int:room_id>/blocked-seats", "POST",
          summary="Mark a seat of a room unusable (aisle, pillar, broken machine) or usable again", body=BlockIn)
@roles(*AGENCY)
def block_seat(room_id: int, body: BlockIn):
    with db_write() as s:
        room = get(s, Room, room_id, "room_id")
        require_agency(room.site.agency_id)
        ops.block_seat(s, g.principal.actor, room, row=body.row, col=body.col, reason=body.reason,
                       blocked=body.blocked)
        return {"room_id": room.id, "blocked": [list(x) for x in ops.blocked_seats(s, room)],
                "usable": len(ops.usable_seats(s, room))}


# --- staff, conflicts, the draw ------------------------------------------------------------------

class StaffOut(BaseModel):
    id: int
    account_id: int
    username: str
    name: str
    duty: str
    session_id: int | None
    room_id: int | None
    task: str


class DrawOut(BaseModel):
    id: int
    seed: str
    algorithm: str
    pool: list[int]
    excluded: dict[str, str]
    chosen_account_id: int
    chosen_name: str
    drawn_at: dt.datetime
    reproduced: bool


class StaffBoardOut(BaseModel):
    assignments: list[StaffOut]
    problems: list[str]
    draw: DrawOut | None


class StaffIn(BaseModel):
    account_id: int
    duty: Literal["proctor", "chief_proctor", "examiner"]
    session_id: int
    room_id: int | None = None
    task: str = Field(default="", max_length=200)


class RemoveIn(BaseModel):
    reason: str = Field(default="", max_length=300)


class ConflictIn(BaseModel):
    staff_person_id: int
    candidate_person_id: int
    kind: Literal["trained", "relative", "same_employer"]
    note: str = Field(default="", max_length=300)


class DrawIn(BaseModel):
    seed: str | None = Field(default=None, min_length=1, max_length=64)
    redraw_reason: str = Field(default="", max_length=300)


def draw_out(d: SupervisorDraw | None) -> DrawOut | None:
    if d is None:
        return None
    return DrawOut(id=d.id, seed=d.seed, algorithm=d.algorithm, pool=json.loads(d.pool),
                   excluded=json.loads(d.excluded), chosen_account_id=d.chosen_account_id,
                   chosen_name=d.chosen.person.name, drawn_at=d.drawn_at, reproduced=ops.verify_draw(d))


def staff_board(s, plan: ExamPlan) -> StaffBoardOut:
    return StaffBoardOut(
        assignments=[StaffOut(id=a.id, account_id=a.account_id, username=a.account.username,
                              name=a.account.person.name, duty=a.duty, session_id=a.session_id, room_id=a.room_id,
                              task=a.task) for a in ops.staff_of(s, plan)],
        problems=ops.readiness_problems(s, plan), draw=draw_out(ops.current_draw(s, plan)))


@endpoint("/administration/plans/<int:plan_id>/staff", summary="Staff board: duties, what is missing, the draw",
          response=StaffBoardOut)
@roles(*PLAN_READERS)
def get_staff(plan_id: int):
    with db_read() as s:
        return staff_board(s, load_plan(s, plan_id))


@endpoint("/administration/plans/<int:plan_id>/staff", "POST",
          summary="Assign a proctor, chief or examiner (qualification and recusal checked)", body=StaffIn,
          response=StaffBoardOut, status=201)
@roles(*AGENCY)
def assign_staff(plan_id: int, body: StaffIn):
    with db_write() as s:
        plan = load_plan(s, plan_id)
        account = get(s, Account, body.account_id, "account_id")
        se = get(s, ExamSession, body.session_id, "session_id")
        room = get(s, Room, body.room_id, "room_id") if body.room_id else None
        ops.assign_staff(s, g.principal.actor, plan, account=account, duty=body.duty, session=se, room=room,
                         task=body.task)
        return staff_board(s, plan)


@endpoint("/administration/staff/<int:assignment_id>/remove", "POST", summary="Take a staff member off a duty",
          body=RemoveIn)
@roles(*AGENCY)
def remove_staff(assignment_id: int, body: RemoveIn):
    with db_write() as s:
        a = get(s, StaffAssignment, assignment_id, "assignment_id")
        load_plan(s, a.plan_id)
        ops.unassign_staff(s, g.principal.actor, a, reason=body.reason)
        return {"removed": assignment_id}


@endpoint("/administration/conflicts", "POST",
          summary="Declare a conflict of interest (trained / relative / same employer); enforced as recusal",
          body=ConflictIn, status=201)
@roles("agency_admin", "center_auditor")
def declare_conflict(body: ConflictIn):
    with db_write() as s:
        staff = get(s, Person, body.staff_person_id, "staff_person_id")
        cand = get(s, Person, body.candidate_person_id, "candidate_person_id")
        if g.principal.role == "agency_admin" and not any(
                gr.agency_id == g.principal.agency_id for a in staff.accounts for gr in a.active_grants()):
            raise Forbidden("forbidden", "只能为本机构人员申报 (staff of another agency)", "staff_person_id")
        c = ops.declare_conflict(s, g.principal.actor, staff=staff, candidate=cand, kind=body.kind, note=body.note)
        return {"id": c.id, "kind": c.kind}


@endpoint("/administration/plans/<int:plan_id>/supervisor-draw", "POST",
          summary="Draw the supervisor at random from the qualified pool (seed and pool recorded)", body=DrawIn,
          response=DrawOut, status=201)
@roles(*AGENCY)
def draw_supervisor(plan_id: int, body: DrawIn):
    with db_write() as s:
        plan = load_plan(s, plan_id)
        return draw_out(ops.draw_supervisor(s, g.principal.actor, plan, seed=body.seed,
                                            redraw_reason=body.redraw_reason))


@endpoint("/administration/plans/<int:plan_id>/supervisor-draw", summary="The current draw, re-run to check it",
          response=DrawOut)
@roles(*PLAN_READERS)
def get_draw(plan_id: int):
    with db_read() as s:
        d = draw_out(ops.current_draw(s, load_plan(s, plan_id)))
        if d is None:
            raise NotFound("not_found", "尚未抽取督导员 (no draw yet)", "plan_id")
        return d


# --- tickets -------------------------------------------------------------------------------------

def tickets_for(s, plan: ExamPlan, regs: list[Registration]) -> bytes:
    seats = {}
    for se in plan.sessions:
        for x in se.seats:
            seats[(x.registration_id, se.id)] = x
    data = [tickets.ticket_data(r, {se.id: seats.get((r.id, se.id)) for se in plan.sessions
                                    if (r.id, se.id) in seats}) for r in regs]
    return tickets.render_tickets_pdf(data)


@endpoint("/administration/plans/<int:plan_id>/tickets.pdf", summary="All admission tickets of a plan (one PDF)")
@roles(*AGENCY)
def plan_tickets(plan_id: int):
    with db_read() as s:
        plan = load_plan(s, plan_id)
        regs = sorted([r for r in plan.registrations if r.status == "registered"], key=lambda r: r.ticket_number)
        if not regs:
            raise DomainError("empty_roster", "人员名册为空 (no registered candidates)", "registrations")
        body = tickets_for(s, plan, regs)
    return attachment(body, "application/pdf", f"准考证-{plan_id}.pdf")


@endpoint("/administration/registrations/<int:registration_id>/ticket.pdf",
          summary="One admission ticket (the candidate's own, or the agency's)")
@roles("candidate", "agency_admin")
def one_ticket(registration_id: int):
    with db_read() as s:
        reg = get(s, Registration, registration_id, "registration_id")
        p = g.principal
        if p.role == "candidate":
            if s.get(Account, p.account_id).person_id != reg.person_id:
                raise NotFound("not_found", "没有该准考证 (no such ticket)", "registration_id")
        else:
            require_agency(reg.plan.agency_id)
        if reg.status != "registered":
            raise NotFound("not_found", "报名已撤销 (registration withdrawn)", "registration_id")
        body = tickets_for(s, reg.plan, [reg])
    return attachment(body, "application/pdf", f"准考证-{reg.ticket_number}.pdf")


# --- bans ----------------------------------------------------------------------------------------

class BanIn(BaseModel):
    person_id: int
    occupation_code: str | None = Field(default=None, pattern=r"^\d-\d{2}-\d{2}-\d{2}$")
    reason: str = Field(min_length=1, max_length=2000)
    decision_ref: str = Field(min_length=1, max_length=200)
    article: str = Field(min_length=1, max_length=100)
    starts_on: dt.date
    ends_on: dt.date | None = None
    source_case_id: int | None = None


class BanOut(BaseModel):
    id: int
    person_id: int
    scope: str
    occupation_code: str | None
    reason: str
    decision_ref: str
    article: str
    starts_on: dt.date
    ends_on: dt.date | None
    active: bool


def ban_out(b: Ban, today: dt.date) -> BanOut:
    return BanOut(id=b.id, person_id=b.person_id, scope=b.scope,
                  occupation_code=b.occupation.code if b.occupation else None, reason=b.reason,
                  decision_ref=b.decision_ref, article=b.article, starts_on=b.starts_on, ends_on=b.ends_on,
                  active=b.starts_on <= today and (b.ends_on is None or today <= b.ends_on))


@endpoint("/administration/bans", "POST", summary="Record a ban from a violation decision", body=BanIn,
          response=BanOut, status=201)
@roles(*CENTRE)
def record_ban(body: BanIn):
    with db_write() as s:
        person = get(s, Person, body.person_id, "person_id")
        occ = None
        if body.occupation_code:
            occ = s.scalar(select(Occupation).where(Occupation.code == body.occupation_code))
            if occ is None:
                raise NotFound("not_found", "职业不存在 (unknown occupation)", "occupation_code")
        b = ops.record_ban(s, g.principal.actor, person=person, occupation=occ, reason=body.reason,
                           decision_ref=body.decision_ref, article=body.article, starts_on=body.starts_on,
                           ends_on=body.ends_on, source_case_id=body.source_case_id)
        return ban_out(b, ops.local_today())


class BanList(BaseModel):
    bans: list[BanOut]


@endpoint("/administration/people/<int:person_id>/bans", summary="Bans of a person (all, active flagged)",
          response=BanList)
@roles("agency_admin", "center_auditor", "admin")
def person_bans(person_id: int):
    with db_read() as s:
        get(s, Person, person_id, "person_id")
        today = ops.local_today()
        return BanList(bans=[ban_out(b, today) for b in
                             s.scalars(select(Ban).where(Ban.person_id == person_id).order_by(Ban.starts_on))])


# --- the calendar --------------------------------------------------------------------------------

class HolidayIn(BaseModel):
    day: dt.date
    name: str = Field(min_length=1, max_length=100)
    working: bool = False


class HolidayList(BaseModel):
    days: list[HolidayIn]


@endpoint("/administration/holidays", summary="The working-day calendar: holidays and make-up working days",
          response=HolidayList)
@roles("agency_admin", "center_auditor", "admin")
def list_holidays():
    from .models import PublicHoliday
    with db_read() as s:
        rows = s.scalars(select(PublicHoliday).order_by(PublicHoliday.day))
        return HolidayList(days=[HolidayIn(day=r.day, name=r.name, working=r.working) for r in rows])


@endpoint("/administration/holidays", "POST", summary="Add or change a calendar day", body=HolidayIn,
          response=HolidayIn, status=201)
@roles(*CENTRE)
def set_holiday(body: HolidayIn):
    with db_write() as s:
        r = ops.set_holiday(s, g.principal.actor, day=body.day, name=body.name, working=body.working)
        return HolidayIn(day=r.day, name=r.name, working=r.working)


# --- supervisor reports --------------------------------------------------------------------------

class ReportOut(BaseModel):
    id: int
    plan_id: int
    plan_title: str
    account_id: int
    due_on: dt.date
    submitted_on: dt.date | None
    overdue: bool
    reminders: int
    validity: str


class ReportList(BaseModel):
    reports: list[ReportOut]


class ReportIn(BaseModel):
    organisation: str = Field(min_length=1, max_length=5000)
    eligibility: str = Field(min_length=1, max_length=5000)
    papers_and_examiners: str = Field(min_length=1, max_length=5000)
    facilities: str = Field(min_length=1, max_length=5000)
    fees: str = Field(default="", max_length=5000)
    remarks: str = Field(default="", max_length=5000)
    validity: Literal["valid", "valid_with_issues", "invalid"]


def report_out(r: SupervisorReport, today: dt.date) -> ReportOut:
    return ReportOut(id=r.id, plan_id=r.plan_id, plan_title=r.plan.title, account_id=r.account_id, due_on=r.due_on,
                     submitted_on=r.submitted_on, overdue=r.overdue(today), reminders=r.reminders,
                     validity=r.validity)


@endpoint("/administration/supervisor-reports", summary="Supervisor reports: one's own, or the agency's",
          response=ReportList)
@roles("supervisor", "agency_admin", "center_auditor")
def list_reports():
    p = g.principal
    with db_read() as s:
        q = select(SupervisorReport).join(ExamPlan).order_by(SupervisorReport.due_on)
        if p.role == "supervisor":
            q = q.where(SupervisorReport.account_id == p.account_id)
        elif p.role == "agency_admin":
            q = q.where(ExamPlan.agency_id == p.agency_id)
        today = ops.local_today()
        return ReportList(reports=[report_out(r, today) for r in s.scalars(q)])


@endpoint("/administration/supervisor-reports/<int:report_id>", "POST", summary="File one's supervision report",
          body=ReportIn, response=ReportOut)
@roles("supervisor")
def submit_report(report_id: int, body: ReportIn):
    with db_write() as s:
        r = get(s, SupervisorReport, report_id, "report_id")
        today = ops.local_today()
        ops.submit_supervisor_report(s, g.principal.actor, r, today=today, **body.model_dump())
        return report_out(r, today)


# --- the quarterly quality report ----------------------------------------------------------------

class QualityQuery(BaseModel):
    year: int = Field(ge=2000, le=2100)
    quarter: int = Field(ge=1, le=4)
    format: Literal["json", "csv", "xlsx"] = "json"


def quality_scope(query: QualityQuery) -> quality.QualityScope:
    p = g.principal
    return quality.QualityScope(query.year, query.quarter, p.agency_id if p.role == "agency_admin" else None,
                                ops.local_today())


@endpoint("/administration/quality", summary="Quarterly quality report (seed 002): JSON, CSV or XLSX",
          query=QualityQuery)
@roles("agency_admin", "center_auditor", "admin")
def quality_report(query: QualityQuery):
    with db_read() as s:
        figures = quality.quarterly_report(s, quality_scope(query))
    name = f"质量通报-{query.year}Q{query.quarter}"
    if query.format == "csv":
        return attachment(quality.report_csv(figures), "text/csv; charset=utf-8", name + ".csv")
    if query.format == "xlsx":
        return attachment(quality.report_xlsx(figures, name), spreadsheets.XLSX_MIME, name + ".xlsx")
    return {"year": query.year, "quarter": query.quarter,
            "figures": [{"key": f.key, "title": f.title_zh, "title_en": f.title_en, "available": f.available,
                         "note": f.note, "rows": [{"label": zh, "label_en": en, "value": v} for zh, en, v in f.rows]}
                        for f in figures]}
