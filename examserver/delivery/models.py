"""Delivery tables: a session's delivery settings, attempts, the append-only answer log, latest answers, events.

* :class:`SessionDelivery` — per exam session (场次): when it was opened to candidates, scoring policy,
  whether candidates see their objective score, the late-change grace.
* :class:`Attempt` — one candidate sitting one paper in one seat: the shuffle seed, the stored clock facts
  (start, duration, extra time, paused total, paused since), the bound device, presence, the score.
* :class:`AnswerChange` — the answer log (作答记录): every change the server accepted, unique per
  ``(attempt, seq)``, never updated or deleted. It is itself the record of answering (answer data are kept
  ≥3 years, 河南…办法 art. 22), so saves write no audit-chain record; lifecycle events do.
* :class:`Answer` — the latest response per ``(attempt, item)``: an upsert where an older ``seq`` never
  overwrites a newer one.
* :class:`AttemptEvent` — the per-seat timeline (sign-in, start, connect/disconnect, pause, extra time,
  device switch, submit).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (JSON, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from itembank.core.db import Base, utcnow

ATTEMPT_STATUSES = ("ready", "started", "submitted")
SUBMIT_REASONS = ("candidate", "deadline", "proctor")


class SessionDelivery(Base):
    """How one exam session is delivered: opened (开考) by a proctor or at its scheduled start."""

    __tablename__ = "session_delivery"
    __table_args__ = (CheckConstraint("multiple_policy in ('all_or_nothing','half_if_subset','proportional')",
                                      name="multiple_policy"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id"), unique=True)
    opened_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    multiple_policy: Mapped[str] = mapped_column(String(16), default="all_or_nothing")
    show_score: Mapped[bool] = mapped_column(Boolean, default=False)
    grace_seconds: Mapped[int] = mapped_column(Integer, default=60)


class Attempt(Base):
    """作答: one candidate's sitting of one paper in one seat of a session."""

    __tablename__ = "attempt"
    __table_args__ = (UniqueConstraint("seat_id"),
                      CheckConstraint("status in ('ready','started','submitted')", name="status"),
                      CheckConstraint("submit_reason is null or submit_reason in ('candidate','deadline','proctor')",
                                      name="submit_reason"),
                      Index("ix_attempt_session_room", "session_id", "room_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"))
    seat_id: Mapped[int] = mapped_column(ForeignKey("seat_assignment.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    paper_id: Mapped[int | None] = mapped_column(ForeignKey("paper.id"))
    shuffle_seed: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12), default="ready")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    duration_seconds: Mapped[int] = mapped_column(Integer, default=0)
    extra_seconds: Mapped[int] = mapped_column(Integer, default=0)
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    paused_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    submit_reason: Mapped[str | None] = mapped_column(String(12))
    device_id: Mapped[str | None] = mapped_column(String(64))
    device_bound_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    switch_authorised_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    switch_authorised_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    offline_since: Mapped[dt.datetime | None] = mapped_column(DateTime)
    score_awarded: Mapped[float | None] = mapped_column(Float)
    score_max: Mapped[float | None] = mapped_column(Float)
    score_detail: Mapped[dict | None] = mapped_column(JSON)


class AnswerChange(Base):
    """One accepted answer change (append-only); ``(attempt_id, seq)`` is unique, so a resend is idempotent."""

    __tablename__ = "answer_change"
    __table_args__ = (UniqueConstraint("attempt_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"))
    paper_item_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    client_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    server_at: Mapped[dt.datetime] = mapped_column(DateTime)
    via: Mapped[str] = mapped_column(String(8), default="socket")


class Answer(Base):
    """The latest response per (attempt, item): written by an upsert that keeps the highest ``seq``."""

    __tablename__ = "answer"
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), primary_key=True)
    paper_item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    saved_at: Mapped[dt.datetime] = mapped_column(DateTime)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)


class AttemptEvent(Base):
    """One entry of a seat's timeline; lifecycle entries also go to the audit chain."""

    __tablename__ = "attempt_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    attempt: Mapped[Attempt] = relationship()
