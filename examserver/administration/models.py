"""Exam administration (考务) tables: plans, sessions, registrations, seats, staff, draws, reports, bans.

The delivery area builds on :class:`ExamSession` (one sitting of one subject of a plan, in one or more rooms,
opened to candidates with its ``access_code``) and :class:`SeatAssignment` (which candidate sits where with
which parallel form). Papers live in the item-bank area: a seat stores its form label and, once the item bank
has sealed the papers, an optional ``paper_id`` (no foreign key, so the two areas migrate independently).

Times of sessions are naive local times (China Standard Time, UTC+8), as printed on admission tickets;
audit and bookkeeping timestamps are naive UTC like everywhere else.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (Boolean, CheckConstraint, Date, DateTime, Float, ForeignKey, Integer, LargeBinary, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from itembank.core.db import Base, utcnow
from itembank.core.people import Account, Person
from itembank.core.reference import Agency, Occupation, Room, Site, WorkType

PLAN_STATUSES = {
    "draft": ("草稿", "Draft"),
    "filed": ("已报备", "Filed"),
    "approved": ("已审核", "Approved"),
    "running": ("实施中", "Running"),
    "closed": ("已结束", "Closed"),
    "reported": ("已上报结果", "Results reported"),
    "audited": ("已审核结果", "Results audited"),
}
SUBJECTS = {
    "theory": ("理论知识考试", "Theory (online)"),
    "practical": ("操作技能考核", "Practical"),
    "review": ("综合评审", "Comprehensive review"),
}
DUTIES = {
    "proctor": ("监考人员", "Proctor"),
    "chief_proctor": ("考场负责人", "Chief proctor"),
    "examiner": ("考评员", "Examiner"),
    "supervisor": ("质量督导员", "Supervisor"),
}
CONFLICT_KINDS = {
    "trained": ("培训过该考生", "trained the candidate"),
    "relative": ("亲属关系", "relative"),
    "same_employer": ("同一工作单位", "same employer"),
}
VALIDITY = {
    "valid": ("本批次认定有效", "valid"),
    "valid_with_issues": ("有效，但须整改", "valid, with issues to fix"),
    "invalid": ("建议认定无效", "recommend invalid"),
}


class PublicHoliday(Base):
    """工作日历: a public holiday (day off), or with ``working`` a weekend day worked instead (调休上班)."""

    __tablename__ = "public_holiday"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(100))
    working: Mapped[bool] = mapped_column(Boolean, default=False)


class ExamPlan(Base):
    """认定计划: one assessment of an agency for occupation × work type × level on given dates at a site.

    Lifecycle draft → filed → approved → running → closed → reported → audited (see ``rules.TRANSITIONS``).
    """

    __tablename__ = "exam_plan"
    __table_args__ = (
        CheckConstraint("level between 1 and 5", name="level"),
        CheckConstraint("status in ('draft','filed','approved','running','closed','reported','audited')",
                        name="status"),
        CheckConstraint("last_day >= first_day", name="days"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupation.id"))
    work_type_id: Mapped[int | None] = mapped_column(ForeignKey("work_type.id"))
    level: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    supervisor_report_days: Mapped[int] = mapped_column(Integer, default=3)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    filed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    filed_on: Mapped[dt.date | None] = mapped_column(Date)
    late_filing: Mapped[bool] = mapped_column(Boolean, default=False)
    late_filing_reason: Mapped[str] = mapped_column(Text, default="")
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    reported_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reported_on: Mapped[dt.date | None] = mapped_column(Date)
    late_report: Mapped[bool] = mapped_column(Boolean, default=False)
    late_report_reason: Mapped[str] = mapped_column(Text, default="")
    audited_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    audited_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    agency: Mapped[Agency] = relationship()
    site: Mapped[Site] = relationship()
    occupation: Mapped[Occupation] = relationship()
    work_type: Mapped[WorkType | None] = relationship()
    subjects: Mapped[list[PlanSubject]] = relationship(back_populates="plan", order_by="PlanSubject.id",
                                                       cascade="all, delete-orphan")
    sessions: Mapped[list[ExamSession]] = relationship(back_populates="plan", order_by="ExamSession.starts_at")
    registrations: Mapped[list[Registration]] = relationship(back_populates="plan", order_by="Registration.id")

    @property
    def pass_marks_locked(self) -> bool:
        """Pass marks are fixed at approval and never change afterwards (DOMAIN rule 2; 河南…办法 art. 34(5))."""
        return self.approved_at is not None

    def subject(self, code: str) -> PlanSubject | None:
        return next((x for x in self.subjects if x.subject == code), None)


class PlanSubject(Base):
    """One subject of a plan (theory / practical / comprehensive review) with its pass mark out of 100."""

    __tablename__ = "plan_subject"
    __table_args__ = (UniqueConstraint("plan_id", "subject"),
                      CheckConstraint("subject in ('theory','practical','review')", name="subject"),
                      CheckConstraint("pass_mark > 0 and pass_mark <= full_marks", name="pass_mark"))
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"))
    subject: Mapped[str] = mapped_column(String(16))
    pass_mark: Mapped[float] = mapped_column(Float, default=60.0)
    full_marks: Mapped[float] = mapped_column(Float, default=100.0)
    plan: Mapped[ExamPlan] = relationship(back_populates="subjects")


class ExamSession(Base):
    """场次: one sitting of one subject of a plan, from ``starts_at`` to ``ends_at`` (local time) in its rooms.

    ``forms`` lists the parallel form labels used ("A,B"); candidates enter with ``access_code``.
    ``tasks`` lists the practical tasks (one examiner panel each), separated by newlines.
    """

    __tablename__ = "exam_session"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="times"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("plan_subject.id"))
    name: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime)
    access_code: Mapped[str] = mapped_column(String(12), unique=True)
    forms: Mapped[str] = mapped_column(String(64), default="A,B")
    tasks: Mapped[str] = mapped_column(Text, default="")
    seating_seed: Mapped[str | None] = mapped_column(String(64))
    seated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    plan: Mapped[ExamPlan] = relationship(back_populates="sessions")
    subject: Mapped[PlanSubject] = relationship()
    rooms: Mapped[list[SessionRoom]] = relationship(back_populates="session", order_by="SessionRoom.id",
                                                    cascade="all, delete-orphan")
    seats: Mapped[list[SeatAssignment]] = relationship(back_populates="session", cascade="all, delete-orphan")

    @property
    def form_labels(self) -> list[str]:
        return [f.strip() for f in self.forms.split(",") if f.strip()]

    @property
    def task_list(self) -> list[str]:
        return [t.strip() for t in self.tasks.splitlines() if t.strip()]


class SessionRoom(Base):
    """A room used by a session."""

    __tablename__ = "session_room"
    __table_args__ = (UniqueConstraint("session_id", "room_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"))
    session: Mapped[ExamSession] = relationship(back_populates="rooms")
    room: Mapped[Room] = relationship()


class RoomSeatBlock(Base):
    """A seat of a room's grid that is not usable (aisle, pillar, broken computer); shapes the room."""

    __tablename__ = "room_seat_block"
    __table_args__ = (UniqueConstraint("room_id", "seat_row", "seat_col"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"), index=True)
    seat_row: Mapped[int] = mapped_column(Integer)
    seat_col: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200), default="")


class Registration(Base):
    """报名: a person registered for a plan, with the admission ticket number (准考证号, unique per plan)."""

    __tablename__ = "registration"
    __table_args__ = (UniqueConstraint("plan_id", "person_id"), UniqueConstraint("plan_id", "ticket_number"),
                      CheckConstraint("source in ('self','import','agency')", name="source"),
                      CheckConstraint("status in ('registered','withdrawn')", name="status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    ticket_number: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), default="registered")
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    plan: Mapped[ExamPlan] = relationship(back_populates="registrations")
    person: Mapped[Person] = relationship()


class SeatAssignment(Base):
    """座位: where a registered candidate sits in a session, and which parallel form they get.

    ``seat_no`` is the number printed on the ticket (1-based, row-major over the room's usable seats);
    ``paper_id`` is the item bank's sealed paper for ``form_label`` once known (no FK on purpose).
    """

    __tablename__ = "seat_assignment"
    __table_args__ = (UniqueConstraint("session_id", "registration_id"),
                      UniqueConstraint("session_id", "room_id", "seat_row", "seat_col"))
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    seat_row: Mapped[int] = mapped_column(Integer)
    seat_col: Mapped[int] = mapped_column(Integer)
    seat_no: Mapped[int] = mapped_column(Integer)
    form_label: Mapped[str] = mapped_column(String(8))
    paper_id: Mapped[int | None] = mapped_column(Integer)
    session: Mapped[ExamSession] = relationship(back_populates="seats")
    room: Mapped[Room] = relationship()
    registration: Mapped[Registration] = relationship()


class StaffAssignment(Base):
    """A duty of one account in a plan: proctor/chief of a room in a session, examiner of a practical task,
    or the plan's supervisor (``session_id`` None)."""

    __tablename__ = "staff_assignment"
    __table_args__ = (CheckConstraint("duty in ('proctor','chief_proctor','examiner','supervisor')", name="duty"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("exam_session.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("room.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    duty: Mapped[str] = mapped_column(String(16))
    task: Mapped[str] = mapped_column(String(200), default="")
    assigned_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    account: Mapped[Account] = relationship(foreign_keys=[account_id])
    session: Mapped[ExamSession | None] = relationship()
    room: Mapped[Room | None] = relationship()


class ConflictDeclaration(Base):
    """利益冲突: a staff member declared linked to a candidate; enforced as recusal from that candidate's sessions."""

    __tablename__ = "conflict_declaration"
    __table_args__ = (UniqueConstraint("staff_person_id", "candidate_person_id", "kind"),
                      CheckConstraint("kind in ('trained','relative','same_employer')", name="kind"))
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    candidate_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(300), default="")
    declared_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    declared_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    staff: Mapped[Person] = relationship(foreign_keys=[staff_person_id])
    candidate: Mapped[Person] = relationship(foreign_keys=[candidate_person_id])


class SupervisorDraw(Base):
    """双随机: the random draw of a plan's supervisor, with everything needed to re-run it.

    ``pool`` is the JSON list of eligible account ids (ascending), ``excluded`` a JSON object
    ``{account_id: reason}``; the chosen account is ``rules.draw_from_pool(seed, pool)``.
    """

    __tablename__ = "supervisor_draw"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    seed: Mapped[str] = mapped_column(String(64))
    algorithm: Mapped[str] = mapped_column(String(32))
    pool: Mapped[str] = mapped_column(Text)
    excluded: Mapped[str] = mapped_column(Text, default="{}")
    chosen_account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    drawn_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    drawn_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    superseded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    supersede_reason: Mapped[str] = mapped_column(String(300), default="")
    chosen: Mapped[Account] = relationship(foreign_keys=[chosen_account_id])


class SupervisorReport(Base):
    """质量督导报告: the drawn supervisor's written report, due a configured number of working days after the
    last session (河南…办法 art. 19: organisation, candidates' eligibility, papers and examiners, facilities,
    fees, and a recommendation on the batch's validity)."""

    __tablename__ = "supervisor_report"
    __table_args__ = (UniqueConstraint("plan_id", "account_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    due_on: Mapped[dt.date] = mapped_column(Date)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    submitted_on: Mapped[dt.date | None] = mapped_column(Date)
    organisation: Mapped[str] = mapped_column(Text, default="")
    eligibility: Mapped[str] = mapped_column(Text, default="")
    papers_and_examiners: Mapped[str] = mapped_column(Text, default="")
    facilities: Mapped[str] = mapped_column(Text, default="")
    fees: Mapped[str] = mapped_column(Text, default="")
    validity: Mapped[str] = mapped_column(String(24), default="")
    remarks: Mapped[str] = mapped_column(Text, default="")
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_on: Mapped[dt.date | None] = mapped_column(Date)
    plan: Mapped[ExamPlan] = relationship()
    account: Mapped[Account] = relationship()

    def overdue(self, today: dt.date) -> bool:
        return self.submitted_at is None and today > self.due_on


class Ban(Base):
    """禁考: a person barred from assessment, for one occupation or all, from ``starts_on`` to ``ends_on``.

    Written by the violations area from a decision (技能人才评价违纪违规行为处理工作指引 art. 6–7); ``source_case_id``
    names that case once it exists (no FK yet). ``ends_on`` None means until lifted.
    """

    __tablename__ = "candidate_ban"
    __table_args__ = (CheckConstraint("scope in ('occupation','all')", name="scope"),
                      CheckConstraint("(scope = 'all') = (occupation_id is null)", name="scope_occupation"))
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    scope: Mapped[str] = mapped_column(String(12))
    occupation_id: Mapped[int | None] = mapped_column(ForeignKey("occupation.id"))
    reason: Mapped[str] = mapped_column(Text)
    decision_ref: Mapped[str] = mapped_column(String(200))
    article: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    source_case_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    occupation: Mapped[Occupation | None] = relationship()


class PlanDocument(Base):
    """A document filed with a plan, kept as filed: the roster (人员名册, XLSX) at filing time."""

    __tablename__ = "plan_document"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
