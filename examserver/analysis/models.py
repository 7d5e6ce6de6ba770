"""Analysis tables: runs of item analysis or calibration, per-item statistics, and review flags.

* :class:`ItemAnalysisRun` — one classical item analysis of one paper (试卷) in one exam session (场次), or
  one IRT calibration of an occupation and level; status, progress and a JSON summary (alpha, SEM,
  score histogram; or the calibration's convergence).
* :class:`ItemStatistic` — one item of a classical run: facility (难度 p), discrimination (区分度),
  discriminative efficiency, the distractor table and the flags raised.
* :class:`ItemReviewFlag` — an item sent back to the bank's reviewers because a run flagged it; the
  item bank's review queue shows the open ones. The item bank has no such notion of its own.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from itembank.core.db import Base, utcnow

RUN_KINDS = ("classical", "calibration")
RUN_STATUSES = ("queued", "running", "done", "failed")
FLAG_STATUSES = ("open", "resolved")


class ItemAnalysisRun(Base):
    """试题分析: a classical analysis of one paper in one session, or a calibration of a bank segment."""

    __tablename__ = "item_analysis_run"
    __table_args__ = (UniqueConstraint("kind", "session_id", "paper_id"),
                      Index("ix_item_analysis_run_agency", "agency_id", "kind"))
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    kind: Mapped[str] = mapped_column(String(16), default="classical")
    session_id: Mapped[int | None] = mapped_column(ForeignKey("exam_session.id"))
    paper_id: Mapped[int | None] = mapped_column(ForeignKey("paper.id"))
    occupation_id: Mapped[int | None] = mapped_column(ForeignKey("occupation.id"))
    level: Mapped[int | None] = mapped_column(Integer)
    model: Mapped[str | None] = mapped_column(String(8))
    # data window: the submission times of the attempts analysed
    window_start: Mapped[dt.datetime | None] = mapped_column(DateTime)
    window_end: Mapped[dt.datetime | None] = mapped_column(DateTime)
    n_attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(String(300), default="")
    summary: Mapped[dict | None] = mapped_column(JSON)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    statistics: Mapped[list[ItemStatistic]] = relationship(back_populates="run", order_by="ItemStatistic.position",
                                                          cascade="all, delete-orphan")


class ItemStatistic(Base):
    """One item's classical statistics in one run."""

    __tablename__ = "item_statistic"
    __table_args__ = (UniqueConstraint("run_id", "item_version_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("item_analysis_run.id"))
    position: Mapped[int] = mapped_column(Integer)
    paper_item_id: Mapped[int | None] = mapped_column(ForeignKey("paper_item.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), index=True)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_version.id"))
    item_type: Mapped[str] = mapped_column(String(16))
    points: Mapped[float] = mapped_column(Float)
    n_presented: Mapped[int] = mapped_column(Integer)
    facility: Mapped[float | None] = mapped_column(Float)
    sd: Mapped[float | None] = mapped_column(Float)
    discrimination: Mapped[float | None] = mapped_column(Float)
    efficiency: Mapped[float | None] = mapped_column(Float)
    distractors: Mapped[Any] = mapped_column(JSON, nullable=True)
    flags: Mapped[list] = mapped_column(JSON, default=list)
    run: Mapped[ItemAnalysisRun] = relationship(back_populates="statistics")


class ItemReviewFlag(Base):
    """An item flagged by an analysis run for the reviewers (审题人员) to look at again."""

    __tablename__ = "item_review_flag"
    __table_args__ = (UniqueConstraint("run_id", "item_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("item_analysis_run.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), index=True)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_version.id"))
    flags: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolution: Mapped[str] = mapped_column(String(1000), default="")
