"""Practical marks, adjudications, subject results and results batches (tables; no web framework).

- :class:`MarkingTask`: one practical task of a session set up for marking: the item bank task whose rubric
  is used (a snapshot of the approved rubric, so later revisions of the item never change marks), the
  aggregation rule, the spread threshold above which the lead examiner adjudicates, and the lead examiner.
- :class:`PracticalMark`: one examiner's signed mark of one candidate on one task (考评人员签字负责, 河南省…
  备案及管理办法 art. 23, seed 003). A signed mark is never changed: a correction is a NEW signed record whose
  ``supersedes_id`` names the one it replaces (:func:`_signed_marks_are_immutable` refuses updates/deletes).
- :class:`Adjudication`: the lead examiner's final mark where the panel disagreed.
- :class:`SubjectResult`: a candidate's score in one subject of a plan, with where it came from.
- :class:`ResultsBatch`: a plan's results as submitted to the centre for audit (成绩须经鉴定中心审核认定,
  same 办法 art. 24); certificates are issued only from an approved batch.

Foreign keys point at administration tables by name (``exam_plan``, ``exam_session``, ``registration``);
item ids and attempt ids are kept without a foreign key so the areas migrate independently.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, event)
from sqlalchemy.orm import Mapped, Session, mapped_column

from itembank.core.db import Base, utcnow
from itembank.core.errors import Conflict

BATCH_STATUSES = ("submitted", "approved", "returned")
RESULT_SOURCES = ("delivery", "marking", "adjudication", "none")


class MarkingTask(Base):
    """考核任务评分设置: the rubric and panel rules of one task of a practical session."""

    __tablename__ = "marking_task"
    __table_args__ = (UniqueConstraint("session_id", "task"),
                      CheckConstraint("aggregation in ('mean','trimmed','median')", name="aggregation"),
                      CheckConstraint("spread_threshold >= 0", name="spread_threshold"))
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id"), index=True)
    task: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[int | None] = mapped_column(Integer)
    item_version_id: Mapped[int | None] = mapped_column(Integer)
    rubric: Mapped[dict] = mapped_column(JSON)
    max_points: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    aggregation: Mapped[str] = mapped_column(String(12), default="mean")
    spread_threshold: Mapped[float] = mapped_column(Float, default=10.0)
    lead_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    configured_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    configured_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PracticalMark(Base):
    """One examiner's signed mark of one candidate on one task; immutable once signed."""

    __tablename__ = "practical_mark"
    __table_args__ = (UniqueConstraint("supersedes_id"),
                      Index("ix_practical_mark_task", "session_id", "task", "registration_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id"))
    task: Mapped[str] = mapped_column(String(200))
    examiner_account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    points: Mapped[list] = mapped_column(JSON)
    total: Mapped[float] = mapped_column(Float)
    max_total: Mapped[float] = mapped_column(Float)
    veto: Mapped[bool] = mapped_column(Boolean, default=False)
    veto_reason: Mapped[str] = mapped_column(String(300), default="")
    comment: Mapped[str] = mapped_column(String(1000), default="")
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    attestation: Mapped[str] = mapped_column(Text)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("practical_mark.id"))
    correction_reason: Mapped[str] = mapped_column(String(500), default="")


class Adjudication(Base):
    """仲裁: the lead examiner's final mark (points out of the task's max) for one candidate on one task."""

    __tablename__ = "adjudication"
    __table_args__ = (Index("ix_adjudication_task", "session_id", "task", "registration_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"))
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id"))
    task: Mapped[str] = mapped_column(String(200))
    lead_account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    reason: Mapped[str] = mapped_column(Text)
    final_mark: Mapped[float] = mapped_column(Float)
    mark_ids: Mapped[list] = mapped_column(JSON, default=list)
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class SubjectResult(Base):
    """A candidate's result in one subject of a plan (score out of 100)."""

    __tablename__ = "subject_result"
    __table_args__ = (UniqueConstraint("plan_id", "person_id", "subject"),
                      CheckConstraint("subject in ('theory','practical','review')", name="subject"),
                      CheckConstraint("source in ('delivery','marking','adjudication','none')", name="source"))
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"))
    subject: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    pass_mark: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ResultsBatch(Base):
    """成绩上报批次: a plan's results submitted to the centre; the auditor approves or returns with reasons.

    ``snapshot`` is the per-candidate level decision as submitted (``{person_id: {"passed", "subjects",
    "reasons"}}``); it is what the auditor approved and what certificates are issued from.
    """

    __tablename__ = "results_batch"
    __table_args__ = (CheckConstraint("status in ('submitted','approved','returned')", name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="submitted")
    snapshot: Mapped[dict] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    auditor_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reasons: Mapped[str] = mapped_column(Text, default="")


@event.listens_for(Session, "before_flush")
def _signed_marks_are_immutable(session: Session, _ctx, _instances) -> None:
    """A signed practical mark is never updated or deleted; corrections are new signed records."""
    from sqlalchemy import inspect as sa_inspect
    for obj in session.dirty:
        if isinstance(obj, PracticalMark) and sa_inspect(obj).persistent and session.is_modified(obj):
            raise Conflict("mark_signed", f"已签名的评分不能修改，请提交更正记录 (signed mark {obj.id} is immutable; "
                           "submit a correction)", "mark_id")
    for obj in session.deleted:
        if isinstance(obj, PracticalMark):
            raise Conflict("mark_signed", f"已签名的评分不能删除 (signed mark {obj.id} cannot be deleted)", "mark_id")
