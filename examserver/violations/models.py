"""Violation cases (违纪违规行为处理) and what their decisions leave behind.

技能人才评价违纪违规行为处理工作指引（试行）(人社职司便函〔2021〕57号, seed 003), cited as 指引:

* :class:`ViolationCase` — one case about a candidate (art. 5–8), a staff member (art. 9–11) or an agency
  (art. 12–15), with its procedure status (art. 16–19, see :mod:`scoring.violations`); every case is kept,
  whatever its end: together they are the violations archive (违纪违规行为处理档案, art. 20).
* :class:`CaseSignature` — the ≥2 staff signatures (art. 16); :class:`CaseEvidence` — notes, photos, event
  timelines, similarity results; :class:`CaseStatement` — the person's statement and review request
  (陈述申辩, art. 17, 19); :class:`CaseDocument` — the notice (告知书, art. 17), the decision
  (处理决定书, art. 17) and the review decision (复核决定书, art. 19), each a PDF delivered to the portal.
* :class:`SubjectCancellation` — results cancelled by a decision (art. 5–8): results and certification read it.
* :class:`StaffIneligibility` — staff barred from assessment work (art. 9–10): staff assignment reads it.
* :class:`CaseRevocation` — certificates revoked by a decision (art. 8).
* :class:`ViolationFlag` — a flag for review (behaviour or answer similarity); never a penalty by itself.
* :class:`PlanBehaviourRules` — per-plan behaviour rule settings (:mod:`scoring.behaviour`).

Bans are rows of the administration area (``candidate_ban``), written through its ``record_ban``.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, Boolean, CheckConstraint, Date, DateTime, Float, ForeignKey, Integer, LargeBinary,
                        String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from itembank.core.db import Base, utcnow
from itembank.core.people import Account, Person
from itembank.core.reference import Agency, Room


class ViolationCase(Base):
    """违纪违规案件: one case, from the incident record to the (review) decision; never deleted (指引 art. 20)."""

    __tablename__ = "violation_case"
    __table_args__ = (
        CheckConstraint("party in ('candidate','staff','agency')", name="party"),
        CheckConstraint("status in ('opened','signed','confirmed','notified','decided','review_requested',"
                        "'reviewed','dismissed')", name="status"),
        CheckConstraint("severity is null or severity in ('minor','serious')", name="severity"),
        CheckConstraint("party = 'agency' or person_id is not null", name="person"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    party: Mapped[str] = mapped_column(String(12))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("exam_session.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("room.id"))
    subject: Mapped[str | None] = mapped_column(String(16))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime)
    sitting_date: Mapped[dt.date] = mapped_column(Date)
    found_after: Mapped[bool] = mapped_column(Boolean, default=False)
    category: Mapped[str] = mapped_column(String(40))
    facts: Mapped[str] = mapped_column(Text)
    proposed_article: Mapped[int] = mapped_column(Integer)
    proposed_clause: Mapped[int | None] = mapped_column(Integer)
    article: Mapped[int | None] = mapped_column(Integer)
    clause: Mapped[int | None] = mapped_column(Integer)
    severity: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20), default="opened", index=True)
    opened_by: Mapped[int] = mapped_column(ForeignKey("account.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    statement_due: Mapped[dt.datetime | None] = mapped_column(DateTime)
    statement_waived_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    review_due: Mapped[dt.datetime | None] = mapped_column(DateTime)
    review_outcome: Mapped[str | None] = mapped_column(String(16))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    close_reason: Mapped[str] = mapped_column(Text, default="")

    agency: Mapped[Agency] = relationship()
    person: Mapped[Person | None] = relationship()
    room: Mapped[Room | None] = relationship()
    opener: Mapped[Account] = relationship(foreign_keys=[opened_by])
    signatures: Mapped[list[CaseSignature]] = relationship(back_populates="case", order_by="CaseSignature.id")
    evidence: Mapped[list[CaseEvidence]] = relationship(back_populates="case", order_by="CaseEvidence.id")
    statements: Mapped[list[CaseStatement]] = relationship(back_populates="case", order_by="CaseStatement.id")
    documents: Mapped[list[CaseDocument]] = relationship(back_populates="case", order_by="CaseDocument.id")


class CaseSignature(Base):
    """A staff member's signature on the incident record (指引 art. 16: ≥2 staff sign)."""

    __tablename__ = "violation_signature"
    __table_args__ = (UniqueConstraint("case_id", "account_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("violation_case.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    role: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    case: Mapped[ViolationCase] = relationship(back_populates="signatures")


class CaseEvidence(Base):
    """Evidence: a note, a photo, behaviour events of an attempt, an answer-similarity result, a document."""

    __tablename__ = "violation_evidence"
    __table_args__ = (CheckConstraint("kind in ('note','photo','events','similarity','flag','document')",
                                      name="kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("violation_case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict | None] = mapped_column(JSON)
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    mime: Mapped[str] = mapped_column(String(64), default="")
    sha256: Mapped[str | None] = mapped_column(String(64))
    attempt_id: Mapped[int | None] = mapped_column(Integer)  # delivery's attempt (no FK: see migration 0006)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    case: Mapped[ViolationCase] = relationship(back_populates="evidence")


class CaseStatement(Base):
    """陈述申辩: the person's statement before the decision (art. 17) or request for review (art. 19)."""

    __tablename__ = "violation_statement"
    __table_args__ = (CheckConstraint("kind in ('statement','review_request')", name="kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("violation_case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    filed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    case: Mapped[ViolationCase] = relationship(back_populates="statements")


class CaseDocument(Base):
    """A written document of the case: ``notice`` (告知书), ``decision`` (处理决定书), ``review`` (复核决定书).

    Each is issued as a PDF with its number and delivered to the person's portal (送达, art. 17);
    ``read_at`` records when the person first opened it.
    """

    __tablename__ = "violation_document"
    __table_args__ = (CheckConstraint("kind in ('notice','decision','review')", name="kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("violation_case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    number: Mapped[str] = mapped_column(String(32), unique=True)
    outcome: Mapped[str | None] = mapped_column(String(16))
    article: Mapped[int | None] = mapped_column(Integer)
    clause: Mapped[int | None] = mapped_column(Integer)
    severity: Mapped[str | None] = mapped_column(String(8))
    facts: Mapped[str] = mapped_column(Text)
    reasons: Mapped[str] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(Text)
    consequences: Mapped[dict] = mapped_column(JSON, default=dict)
    deadline: Mapped[dt.datetime | None] = mapped_column(DateTime)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime)
    issued_by: Mapped[int] = mapped_column(ForeignKey("account.id"))
    issuer_name: Mapped[str] = mapped_column(String(200))
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    case: Mapped[ViolationCase] = relationship(back_populates="documents")


class SubjectCancellation(Base):
    """Results cancelled by a decision: ``subject`` of ``plan_id``, or every subject when ``subject`` is None
    (指引 art. 5: that subject; art. 6–7: all subjects of the sitting; art. 8: results void).

    ``lifted_at`` is set when a review decision revokes or amends the decision; a lifted row no longer counts.
    """

    __tablename__ = "subject_cancellation"
    __table_args__ = (CheckConstraint("scope in ('subject','all')", name="scope"),
                      CheckConstraint("(scope = 'all') = (subject is null)", name="scope_subject"))
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("violation_case.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("violation_document.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    scope: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str | None] = mapped_column(String(16))
    void_results: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    lifted_by_document_id: Mapped[int | None] = mapped_column(ForeignKey("violation_document.id"))


class StaffIneligibility(Base):
    """A staff member barred from assessment work (指引 art. 9: for the year; art. 10: as examiner until the
    examiner certificate question is settled, ``ends_on`` None). ``duty`` is 'all' or 'examiner'."""

    __tablename__ = "staff_ineligibility"
    __table_args__ = (CheckConstraint("duty in ('all','examiner')", name="duty"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("violation_case.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    duty: Mapped[str] = mapped_column(String(12))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class CaseRevocation(Base):
    """A certificate revoked by a case's decision (指引 art. 8)."""

    __tablename__ = "violation_revocation"
    __table_args__ = (UniqueConstraint("case_id", "certificate_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("violation_case.id"), index=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"))
    revoked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ViolationFlag(Base):
    """A flag for review: behaviour events of an attempt, or a pair of similar answer sheets.

    A flag is not a violation (people decide): staff dismiss it or open a case from it.
    """

    __tablename__ = "violation_flag"
    __table_args__ = (CheckConstraint("source in ('behaviour','similarity')", name="source"),
                      CheckConstraint("status in ('open','dismissed','case_opened')", name="status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(12))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("exam_plan.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("exam_session.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    other_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    attempt_id: Mapped[int | None] = mapped_column(Integer)  # delivery's attempt (no FK: see migration 0006)
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8), default="low")
    summary: Mapped[str] = mapped_column(Text)
    p_value: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="open")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("violation_case.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    other_person: Mapped[Person | None] = relationship(foreign_keys=[other_person_id])


class PlanBehaviourRules(Base):
    """The behaviour rules of one exam plan (JSON of :func:`scoring.behaviour.ruleset_from_dict`)."""

    __tablename__ = "plan_behaviour_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), unique=True)
    rules: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
