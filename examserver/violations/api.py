"""Violation cases over JSON: record, co-sign, confirm, notify, statement, decide, review; flags; archive.

Who sees a case: staff of its agency, the centre auditor and the administrator; and the person it is about
(a candidate sees only their own cases). Anyone else gets 404, so case numbers leak nothing.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from flask import Response, g
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from examserver.administration.models import ExamPlan, ExamSession
from itembank.core import directory
from itembank.core.db import utcnow
from itembank.core.errors import DomainError, NotFound
from itembank.core.people import Account, Person
from itembank.core.reference import Agency, Room
from scoring import behaviour
from scoring import violations as rules

from ..access import roles, signed_in
from ..api import endpoint
from ..db import database, db_read, db_write
from . import operations as ops
from .models import CaseDocument, PlanBehaviourRules, ViolationCase, ViolationFlag

STAFF = ("proctor", "chief_proctor", "examiner", "supervisor", "agency_admin", "center_auditor", "admin")
GLOBAL = ("admin", "center_auditor")


def now() -> dt.datetime:
    return utcnow()


def my_person_id(s) -> int:
    return s.scalar(select(Account.person_id).where(Account.id == g.principal.account_id))


def visible(s, case: ViolationCase) -> bool:
    p = g.principal
    if p.role in GLOBAL:
        return True
    if p.role != "candidate" and p.agency_id == case.agency_id:
        return True
    return case.person_id is not None and case.person_id == my_person_id(s)


def case_or_404(s, case_id: int) -> ViolationCase:
    case = s.get(ViolationCase, case_id)
    if case is None or not visible(s, case):
        raise NotFound("not_found", f"案件 {case_id} 不存在 (no such case)", "case_id")
    return case


def _staff_scope(case: ViolationCase) -> None:
    p = g.principal
    if not ops.may_act_for(p.agency_id, p.role, case.agency_id):
        raise NotFound("not_found", f"案件 {case.id} 不存在 (no such case)", "case_id")


class CaseIn(BaseModel):
    party: str = Field(pattern="^(candidate|staff|agency)$")
    category: str = Field(min_length=2, max_length=40)
    facts: str = Field(min_length=4, max_length=5000)
    occurred_at: dt.datetime
    agency_id: int | None = None
    person_id: int | None = None
    plan_id: int | None = None
    session_id: int | None = None
    room_id: int | None = None
    subject: str | None = Field(default=None, pattern="^(theory|practical|review)$")
    found_after: bool = False
    note: str = Field(default="", max_length=2000)
    flag_id: int | None = None


class NoteIn(BaseModel):
    note: str = Field(default="", max_length=2000)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=2, max_length=2000)


class EvidenceIn(BaseModel):
    kind: str = Field(pattern="^(note|photo|events|similarity|document)$")
    description: str = Field(default="", max_length=5000)
    photo_base64: str | None = None
    mime: str = ""
    data: dict[str, Any] | None = None
    attempt_id: int | None = None


class NotifyIn(BaseModel):
    article: int = Field(ge=5, le=15)
    clause: int | None = Field(default=None, ge=1, le=8)
    severity: str | None = Field(default=None, pattern="^(minor|serious)$")
    reasons: str = Field(min_length=2, max_length=5000)
    statement_days: int = Field(default=rules.STATEMENT_DAYS, ge=1, le=30)


class TextIn(BaseModel):
    text: str = Field(min_length=2, max_length=5000)


class DecideIn(BaseModel):
    outcome: str = Field(pattern="^(violation|no_violation)$")
    reasons: str = Field(min_length=2, max_length=5000)
    statement_response: str = Field(default="", max_length=5000)
    review_days: int = Field(default=rules.REVIEW_DAYS, ge=1, le=60)


class ReviewIn(BaseModel):
    outcome: str = Field(pattern="^(upheld|amended|revoked)$")
    reasons: str = Field(min_length=2, max_length=5000)
    article: int | None = Field(default=None, ge=5, le=15)
    clause: int | None = Field(default=None, ge=1, le=8)
    severity: str | None = Field(default=None, pattern="^(minor|serious)$")


class CaseListQuery(BaseModel):
    status: str | None = None
    party: str | None = None
    article: int | None = None
    q: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None


class StatsQuery(BaseModel):
    year: int = Field(ge=2000, le=2100)
    quarter: int = Field(ge=1, le=4)


class SimilarityIn(BaseModel):
    responses: dict[str, dict[str, str | None]] = Field(description="person id → {item id: chosen option}")
    key: dict[str, str]
    options: dict[str, list[str]] | None = None
    alpha: float = Field(default=0.001, gt=0, lt=0.5)


class FlagDismissIn(BaseModel):
    note: str = Field(min_length=2, max_length=2000)


def case_out(s, case: ViolationCase, *, full: bool = True) -> dict[str, Any]:
    p = g.principal
    staff_view = p.role != "candidate" and (p.role in GLOBAL or p.agency_id == case.agency_id)
    proposed = rules.clause_of(case.proposed_article, case.proposed_clause)
    out = {
        "id": case.id, "number": case.number, "party": case.party, "status": case.status,
        "status_label": rules.STATUSES[case.status][0], "agency_id": case.agency_id,
        "person_id": case.person_id, "person_name": case.person.name if case.person else None,
        "plan_id": case.plan_id, "session_id": case.session_id, "room_id": case.room_id, "subject": case.subject,
        "occurred_at": case.occurred_at.isoformat(), "sitting_date": case.sitting_date.isoformat(),
        "found_after": case.found_after, "category": case.category, "facts": case.facts,
        "proposed": {"article": case.proposed_article, "clause": case.proposed_clause, "citation": proposed.citation,
                     "text": proposed.zh},
        "article": case.article, "clause": case.clause, "severity": case.severity,
        "citation": rules.citation(case.article, case.clause) if case.article else None,
        "statement_due": case.statement_due.isoformat() if case.statement_due else None,
        "outcome": case.outcome, "review_due": case.review_due.isoformat() if case.review_due else None,
        "review_outcome": case.review_outcome, "opened_at": case.opened_at.isoformat(),
    }
    if not full:
        return out
    out["signatures"] = [{"name": x.name, "role": x.role, "signed_at": x.signed_at.isoformat(), "note": x.note}
                         for x in case.signatures]
    out["statements"] = [{"kind": x.kind, "text": x.text, "filed_at": x.filed_at.isoformat()} for x in case.statements]
    out["documents"] = [{"id": d.id, "kind": d.kind, "number": d.number, "issued_at": d.issued_at.isoformat(),
                         "deadline": d.deadline.isoformat() if d.deadline else None, "outcome": d.outcome,
                         "consequences": d.consequences, "pdf_sha256": d.pdf_sha256,
                         "read_at": d.read_at.isoformat() if d.read_at else None} for d in case.documents]
    if staff_view:
        out["evidence"] = [{"id": e.id, "kind": e.kind, "description": e.description, "data": e.data,
                            "sha256": e.sha256, "mime": e.mime, "attempt_id": e.attempt_id,
                            "added_at": e.added_at.isoformat()} for e in case.evidence]
    return out


@endpoint("/violations/categories", summary="Violation categories with the article each proposes (指引 art. 5–15)")
@signed_in()
def categories():
    return {party: [{"category": c.category, "article": c.article, "clause": c.clause, "citation": c.citation,
                     "zh": c.zh, "en": c.en} for c in rules.categories_for(party)] for party in rules.PARTIES}


@endpoint("/violations/cases", "POST", summary="Record an incident (指引 art. 16); the recorder signs", body=CaseIn,
          status=201)
@roles(*STAFF)
def open_case(body: CaseIn):
    p = g.principal
    with db_write() as s:
        agency_id = body.agency_id if p.role in GLOBAL else p.agency_id
        if agency_id is None:
            raise DomainError("required", "须指明评价机构 (agency_id is required)", "agency_id")
        if p.role not in GLOBAL and body.agency_id not in (None, p.agency_id):
            raise DomainError("wrong_agency", "只能登记本机构的案件 (only your agency's cases)", "agency_id")
        agency = directory.get_or_404(s, Agency, agency_id, "agency_id")
        get = lambda model, ident, field: directory.get_or_404(s, model, ident, field) if ident else None  # noqa: E731
        flag = get(ViolationFlag, body.flag_id, "flag_id")
        if flag is not None and flag.agency_id != agency.id:
            raise NotFound("not_found", "提示不存在 (no such flag)", "flag_id")
        case = ops.open_case(s, p.actor, agency=agency, party=body.party, category=body.category, facts=body.facts,
                             occurred_at=body.occurred_at.replace(tzinfo=None), person=get(Person, body.person_id, "person_id"),
                             plan=get(ExamPlan, body.plan_id, "plan_id"),
                             session=get(ExamSession, body.session_id, "session_id"),
                             room=get(Room, body.room_id, "room_id"), subject=body.subject,
                             found_after=body.found_after, note=body.note, flag=flag)
        return case_out(s, case)


@endpoint("/violations/cases", summary="Cases visible to the caller (staff: their agency; candidates: their own)",
          query=CaseListQuery)
@signed_in()
def list_cases(query: CaseListQuery):
    p = g.principal
    with db_read() as s:
        if p.role == "candidate" or (p.role not in GLOBAL and p.agency_id is None):
            pid = my_person_id(s)
            cases = s.scalars(select(ViolationCase).where(ViolationCase.person_id == pid)
                              .order_by(ViolationCase.id.desc())).all()
        else:
            cases = ops.search_cases(s, ops.CaseQuery(agency_id=None if p.role in GLOBAL else p.agency_id,
                                                      status=query.status, party=query.party, article=query.article,
                                                      text=query.q, since=query.since, until=query.until))
        return {"cases": [case_out(s, c, full=False) for c in cases]}


@endpoint("/violations/cases/<int:case_id>", summary="One case with signatures, statements, documents")
@signed_in()
def get_case(case_id: int):
    with db_read() as s:
        return case_out(s, case_or_404(s, case_id))


def _staff_action(case_id: int, fn, **kw):
    with db_write() as s:
        case = case_or_404(s, case_id)
        _staff_scope(case)
        result = fn(s, g.principal.actor, case, **kw)
        s.flush()
        s.refresh(case)
        out = case_out(s, case)
        if isinstance(result, CaseDocument):
            out["document"] = {"id": result.id, "number": result.number, "kind": result.kind}
        return out


@endpoint("/violations/cases/<int:case_id>/evidence", "POST", summary="Add evidence (note, photo, events)",
          body=EvidenceIn, status=201)
@roles(*STAFF)
def add_evidence(case_id: int, body: EvidenceIn):
    content = None
    if body.photo_base64:
        try:
            content = base64.b64decode(body.photo_base64, validate=True)
        except (binascii.Error, ValueError):
            raise DomainError("bad_photo", "照片须为 base64 (photo must be base64)", "photo_base64") from None
    return _staff_action(case_id, ops.add_evidence, kind=body.kind, description=body.description, content=content,
                         mime=body.mime, data=body.data, attempt_id=body.attempt_id)


@endpoint("/violations/cases/<int:case_id>/cosign", "POST", summary="Co-sign the record (second staff member)",
          body=NoteIn)
@roles(*STAFF)
def cosign(case_id: int, body: NoteIn):
    return _staff_action(case_id, ops.cosign, note=body.note, now=now())


@endpoint("/violations/cases/<int:case_id>/confirm", "POST", summary="Confirm the co-signed record (room chief)",
          body=NoteIn)
@roles(*STAFF)
def confirm(case_id: int, body: NoteIn):
    return _staff_action(case_id, ops.confirm, note=body.note, now=now())


@endpoint("/violations/cases/<int:case_id>/dismiss", "POST", summary="Dismiss a case before the decision",
          body=ReasonIn)
@roles(*STAFF)
def dismiss(case_id: int, body: ReasonIn):
    return _staff_action(case_id, ops.dismiss, reason=body.reason, now=now())


@endpoint("/violations/cases/<int:case_id>/notify", "POST",
          summary="Notify the intended decision with facts, reasons and basis (指引 art. 17)", body=NotifyIn)
@roles(*STAFF)
def notify(case_id: int, body: NotifyIn):
    return _staff_action(case_id, ops.notify, article=body.article, clause=body.clause, severity=body.severity,
                         reasons=body.reasons, now=now(), statement_days=body.statement_days)


@endpoint("/violations/cases/<int:case_id>/decide", "POST",
          summary="Issue the decision and apply its consequences (指引 art. 5–8, 17)", body=DecideIn)
@roles(*STAFF)
def decide(case_id: int, body: DecideIn):
    return _staff_action(case_id, ops.decide, outcome=body.outcome, reasons=body.reasons, now=now(),
                         statement_response=body.statement_response, review_days=body.review_days)


@endpoint("/violations/cases/<int:case_id>/review", "POST", summary="Review decision (指引 art. 19)", body=ReviewIn)
@roles(*STAFF)
def review(case_id: int, body: ReviewIn):
    return _staff_action(case_id, ops.review, outcome=body.outcome, reasons=body.reasons, now=now(),
                         article=body.article, clause=body.clause, severity=body.severity)


def _party_action(case_id: int, fn, **kw):
    with db_write() as s:
        case = case_or_404(s, case_id)
        fn(s, g.principal.actor, case, **kw)
        s.flush()
        s.refresh(case)
        return case_out(s, case)


@endpoint("/violations/cases/<int:case_id>/statement", "POST", summary="File a statement and defence (陈述申辩)",
          body=TextIn, status=201)
@signed_in()
def file_statement(case_id: int, body: TextIn):
    return _party_action(case_id, ops.file_statement, text=body.text, now=now())


@endpoint("/violations/cases/<int:case_id>/waive", "POST", summary="Declare that no statement will be filed")
@signed_in()
def waive(case_id: int):
    return _party_action(case_id, ops.waive_statement, now=now())


@endpoint("/violations/cases/<int:case_id>/review-request", "POST", summary="Ask for review of the decision",
          body=TextIn, status=201)
@signed_in()
def request_review(case_id: int, body: TextIn):
    return _party_action(case_id, ops.request_review, text=body.text, now=now())


def document_response(case_id: int, doc_id: int) -> Response:
    with db_write() as s:
        case = case_or_404(s, case_id)
        doc = s.get(CaseDocument, doc_id)
        if doc is None or doc.case_id != case.id:
            raise NotFound("not_found", "文书不存在 (no such document)", "doc_id")
        if case.person_id is not None and case.person_id == my_person_id(s):
            ops.mark_read(s, g.principal.actor, doc, now=now())
        pdf = doc.pdf
        name = doc.number
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}.pdf"', "Cache-Control": "private"})


@endpoint("/violations/cases/<int:case_id>/documents/<int:doc_id>.pdf", summary="A notice or decision as PDF")
@signed_in()
def document_pdf(case_id: int, doc_id: int):
    return document_response(case_id, doc_id)


@endpoint("/violations/statistics", summary="Violations found and handled in a quarter (quarterly report)",
          query=StatsQuery)
@roles("agency_admin", "center_auditor", "admin")
def stats(query: StatsQuery):
    p = g.principal
    start = dt.date(query.year, 3 * query.quarter - 2, 1)
    end = (dt.date(query.year + (query.quarter == 4), (3 * query.quarter) % 12 + 1, 1) - dt.timedelta(days=1))
    with db_read() as s:
        return ops.statistics(s, agency_id=None if p.role in GLOBAL else p.agency_id, since=start, until=end) | {
            "from": start.isoformat(), "to": end.isoformat()}


@endpoint("/violations/sessions/<int:session_id>/similarity", "POST",
          summary="Screen a session's answers for copying; suspicious pairs become flags", body=SimilarityIn)
@roles("agency_admin", "chief_proctor", "center_auditor")
def similarity(session_id: int, body: SimilarityIn):
    p = g.principal
    with db_write() as s:
        se = directory.get_or_404(s, ExamSession, session_id, "session_id")
        if not ops.may_act_for(p.agency_id, p.role, se.plan.agency_id):
            raise NotFound("not_found", "场次不存在 (no such session)", "session_id")
        try:
            responses = {int(k): v for k, v in body.responses.items()}
        except ValueError:
            raise DomainError("bad_responses", "responses 的键应为考生 person id (keys are person ids)", "responses") \
                from None
        flags = ops.similarity_check(s, p.actor, se, responses=responses, key=body.key, options=body.options,
                                     alpha=body.alpha)
        return {"flags": [flag_out(f) for f in flags]}


SIMILARITY_ROLES = ("proctor", "chief_proctor", "agency_admin", "center_auditor", "admin")


class SimilarityRunIn(BaseModel):
    alpha: float = Field(default=0.001, gt=0, lt=0.5, description="chance of any false flag per family (Bonferroni)")


def similarity_session(s, session_id: int) -> ExamSession:
    """The session, if the caller may screen it (their agency's; admin and the centre any) and it has answers."""
    from examserver.delivery.models import Attempt
    p = g.principal
    se = s.get(ExamSession, session_id)
    if se is None or not ops.may_act_for(p.agency_id, p.role, se.plan.agency_id):
        raise NotFound("not_found", f"场次 {session_id} 不存在 (no such session)", "session_id")
    n = s.scalar(select(func.count()).select_from(Attempt).where(Attempt.session_id == se.id,
                                                                 Attempt.status == "submitted"))
    if n < 3:
        raise DomainError("too_few", f"该场次已交卷考生不足 3 人（{n} 人），无法检查 (need >= 3 submitted attempts)",
                          "session_id")
    return se


def run_similarity(session_id: int, alpha: float) -> dict[str, Any]:
    """Validate here (a bad id is a 4xx, not a task failure), then screen on a worker (eagerly when embedded)."""
    from .tasks import actor_json, similarity_task
    with db_read() as s:
        similarity_session(s, session_id)
    result = similarity_task.delay(session_id, actor_json(g.principal.actor), alpha)
    if not result.ready():
        return {"session_id": session_id, "queued": True}
    out = result.get()
    with db_read() as s:
        out["flags"] = [flag_out(s.get(ViolationFlag, i)) for i in out["flags"]]
    return out


@endpoint("/violations/sessions/<int:session_id>/similarity-check", "POST",
          summary="Screen a finished session's stored answers for copying (答案雷同检查); suspicious pairs become flags",
          body=SimilarityRunIn)
@roles(*SIMILARITY_ROLES)
def similarity_stored(session_id: int, body: SimilarityRunIn):
    return run_similarity(session_id, body.alpha)


def flag_out(f: ViolationFlag) -> dict[str, Any]:
    return {"id": f.id, "source": f.source, "kind": f.kind, "severity": f.severity, "summary": f.summary,
            "person_id": f.person_id, "other_person_id": f.other_person_id, "session_id": f.session_id,
            "plan_id": f.plan_id, "attempt_id": f.attempt_id, "p_value": f.p_value, "status": f.status,
            "case_id": f.case_id, "evidence": f.evidence, "created_at": f.created_at.isoformat()}


class FlagQuery(BaseModel):
    session_id: int | None = None
    status: str = Field(default="open", pattern="^(open|dismissed|case_opened|all)$")


@endpoint("/violations/flags", summary="Flags for review (a flag is not a violation): open ones by default; "
          "?session_id= for one session, ?status=all for every status", query=FlagQuery)
@roles(*STAFF)
def list_flags(query: FlagQuery):
    p = g.principal
    with db_read() as s:
        q = select(ViolationFlag).order_by(ViolationFlag.id.desc())
        if query.status != "all":
            q = q.where(ViolationFlag.status == query.status)
        if query.session_id is not None:
            q = q.where(ViolationFlag.session_id == query.session_id)
        if p.role not in GLOBAL:
            q = q.where(ViolationFlag.agency_id == p.agency_id)
        return {"flags": [flag_out(f) for f in s.scalars(q.limit(1000))]}


@endpoint("/violations/flags/<int:flag_id>/dismiss", "POST", summary="Dismiss a flag with a note", body=FlagDismissIn)
@roles(*STAFF)
def dismiss_flag(flag_id: int, body: FlagDismissIn):
    p = g.principal
    with db_write() as s:
        f = directory.get_or_404(s, ViolationFlag, flag_id, "flag_id")
        if not ops.may_act_for(p.agency_id, p.role, f.agency_id):
            raise NotFound("not_found", "提示不存在 (no such flag)", "flag_id")
        out = flag_out(ops.dismiss_flag(s, p.actor, f, note=body.note, now=now()))
    from examserver.delivery.behaviour import push_flag_change
    push_flag_change(database(), flag_id)  # the room's proctors see it handled
    return out


@endpoint("/violations/plans/<int:plan_id>/behaviour-rules", summary="The plan's behaviour rules (defaults if unset)")
@roles(*STAFF)
def get_rules(plan_id: int):
    with db_read() as s:
        plan = directory.get_or_404(s, ExamPlan, plan_id, "plan_id")
        if not ops.may_act_for(g.principal.agency_id, g.principal.role, plan.agency_id):
            raise NotFound("not_found", "计划不存在 (no such plan)", "plan_id")
        row = s.scalar(select(PlanBehaviourRules).where(PlanBehaviourRules.plan_id == plan_id))
        return behaviour.ruleset_from_dict(row.rules if row else None).to_dict()


@endpoint("/violations/plans/<int:plan_id>/behaviour-rules", "PUT", summary="Set the plan's behaviour rules")
@roles("agency_admin", "center_auditor", "admin")
def put_rules(plan_id: int):
    from flask import request
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError("bad_json", "请求体应为 JSON 对象 (body must be a JSON object)", "body")
    try:
        rs = behaviour.ruleset_from_dict(data)
    except (ValueError, TypeError) as e:
        raise DomainError("bad_rules", str(e), "rules") from None
    with db_write() as s:
        plan = directory.get_or_404(s, ExamPlan, plan_id, "plan_id")
        if not ops.may_act_for(g.principal.agency_id, g.principal.role, plan.agency_id):
            raise NotFound("not_found", "计划不存在 (no such plan)", "plan_id")
        row = s.scalar(select(PlanBehaviourRules).where(PlanBehaviourRules.plan_id == plan_id))
        if row is None:
            row = PlanBehaviourRules(plan_id=plan_id, rules={})
            s.add(row)
        old = row.rules
        row.rules, row.updated_at, row.updated_by = rs.to_dict(), now(), g.principal.account_id
        s.flush()
        from itembank.core import audit
        audit.record(s, g.principal.actor, "behaviour_rules.set", "exam_plan", plan_id, {"rules": [old, row.rules]})
        return row.rules
