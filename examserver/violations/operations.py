"""Operations on violation cases (指引 art. 5–20; rules in :mod:`scoring.violations`).

Each takes the session first, checks the procedure with :func:`scoring.violations.advance`, changes,
flushes and writes its audit record in the same transaction; the route commits. :func:`decide` and
:func:`review` apply the consequences (results cancelled, bans through the administration area,
certificates revoked through the certification area, staff eligibility) in that same transaction, so a
decision and its consequences are committed together or not at all.

Read by other areas:

* :func:`cancelled_subjects` / :func:`result_cancelled` — results and certification skip cancelled results;
* :func:`staff_ineligible` — staff assignment refuses barred staff (指引 art. 9–10);
* bans are ``candidate_ban`` rows (administration ``active_bans``), which registration checks.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from examserver.administration import operations as administration
from examserver.administration.models import Ban, ExamPlan, ExamSession, Registration
from itembank.core import audit
from itembank.core.audit import Actor
from itembank.core.db import utcnow
from itembank.core.errors import Conflict, DomainError, Forbidden, NotFound
from itembank.core.idcard import mask_id_number
from itembank.core.people import ROLES, Account, Person
from itembank.core.reference import Agency, Room
from scoring import violations as rules
from scoring.certification import Certificate, revoke_certificate

from . import documents
from .models import (CaseDocument, CaseEvidence, CaseRevocation, CaseSignature, CaseStatement, StaffIneligibility,
                     SubjectCancellation, ViolationCase, ViolationFlag)

PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
MAX_PHOTO = 8 * 1024 * 1024
GUIDELINE = "《技能人才评价违纪违规行为处理工作指引（试行）》（人社职司便函〔2021〕57号）"


def _rule_error(e: rules.RuleError) -> DomainError:
    cls = Forbidden if e.code in ("not_staff", "not_confirmer", "not_decider", "not_party", "not_allowed",
                                  "own_case") else Conflict if e.code not in ("bad_category", "bad_article",
                                                                             "bad_severity", "bad_party",
                                                                             "severity_required", "bad_days") \
        else DomainError
    return cls(e.code, e.message, e.field)


def _required(value: str | None, field: str, zh: str, minimum: int = 2) -> str:
    v = (value or "").strip()
    if len(v) < minimum:
        raise DomainError("required", f"{zh}不能为空 ({field} is required)", field)
    return v


def account_ids_of(s: Session, person_id: int | None) -> frozenset[int]:
    if person_id is None:
        return frozenset()
    return frozenset(s.scalars(select(Account.id).where(Account.person_id == person_id)))


def _party_accounts(s: Session, case: ViolationCase) -> frozenset[int]:
    if case.party == "agency":
        from itembank.core.people import RoleGrant
        return frozenset(s.scalars(select(RoleGrant.account_id).where(
            RoleGrant.agency_id == case.agency_id, RoleGrant.role == "agency_admin", RoleGrant.revoked_at.is_(None))))
    return account_ids_of(s, case.person_id)


def facts_of(s: Session, case: ViolationCase) -> rules.CaseFacts:
    return rules.CaseFacts(
        party=case.party, status=case.status, signer_ids=frozenset(sig.account_id for sig in case.signatures),
        party_account_ids=_party_accounts(s, case), statement_due=case.statement_due,
        statements=sum(1 for x in case.statements if x.kind == "statement"),
        waived=case.statement_waived_at is not None, outcome=case.outcome,
        delivered_at=case.decided_at, review_due=case.review_due)


def _advance(s: Session, case: ViolationCase, action: str, actor: Actor, now: dt.datetime) -> str:
    try:
        return rules.advance(facts_of(s, case), action, rules.Who(actor.account_id or 0, actor.role), now)
    except rules.RuleError as e:
        raise _rule_error(e) from None


def may_act_for(actor_agency_id: int | None, role: str, case_agency_id: int) -> bool:
    return role in ("admin", "center_auditor") or actor_agency_id == case_agency_id


# --- opening --------------------------------------------------------------------------------------

def open_case(s: Session, actor: Actor, *, agency: Agency, party: str, category: str, facts: str,
              occurred_at: dt.datetime, person: Person | None = None, plan: ExamPlan | None = None,
              session: ExamSession | None = None, room: Room | None = None, subject: str | None = None,
              found_after: bool = False, note: str = "", flag: ViolationFlag | None = None) -> ViolationCase:
    """Record an incident (指引 art. 16): the facts, who, where and when; the opener signs it.

    The system proposes the article and clause from the category (:func:`scoring.violations.propose`).
    """
    if actor.role not in rules.SIGNER_ROLES:
        raise Forbidden("not_staff", "只有工作人员可以登记违纪违规案件 (only staff record cases)", "role")
    if party not in rules.PARTIES:
        raise DomainError("bad_party", f"未知当事方 {party!r} (unknown party)", "party")
    try:
        proposed = rules.propose(category)
    except rules.RuleError as e:
        raise _rule_error(e) from None
    if rules.ARTICLE_PARTY[proposed.article] != party:
        raise DomainError("category_party", f"类别 {category} 不适用于{rules.PARTIES[party][0]} (category does not fit "
                          "the party)", "category")
    facts = _required(facts, "facts", "违纪违规事实", 4)
    if type(occurred_at) is not dt.datetime:
        raise DomainError("bad_time", "须给出发生时间 (occurred_at must be a date and time)", "occurred_at")
    if party in ("candidate", "staff") and person is None:
        raise DomainError("required", "须指明当事人 (person is required)", "person_id")
    if party == "candidate":
        if plan is None:
            raise DomainError("required", "须指明认定计划 (plan is required for a candidate case)", "plan_id")
        if s.scalar(select(Registration.id).where(Registration.plan_id == plan.id,
                                                  Registration.person_id == person.id)) is None:
            raise DomainError("not_registered", f"{person.name} 未报名该计划 (not registered for this plan)", "person_id")
        if proposed.article == 5 and not (subject or (session.subject.subject if session else None)):
            raise DomainError("required", "第五条须指明科目 (art. 5 needs the subject)", "subject")
    if plan is not None and plan.agency_id != agency.id:
        raise DomainError("wrong_agency", "计划不属于该机构 (plan belongs to another agency)", "plan_id")
    if session is not None:
        if plan is None or session.plan_id != plan.id:
            raise DomainError("wrong_plan", "场次不属于该计划 (session belongs to another plan)", "session_id")
        subject = subject or session.subject.subject
    if subject is not None and subject not in ("theory", "practical", "review"):
        raise DomainError("bad_subject", f"未知科目 {subject!r} (unknown subject)", "subject")
    if flag is not None:
        if flag.status != "open":
            raise Conflict("flag_closed", "该提示已处理 (flag already handled)", "flag_id")
        if person is not None and person.id not in (flag.person_id, flag.other_person_id):
            raise DomainError("flag_person", "提示与当事人不符 (the flag is about someone else)", "flag_id")
    sitting = occurred_at.date()
    if session is not None:
        sitting = session.starts_at.date()
    case = ViolationCase(
        number=_placeholder(), party=party, agency_id=agency.id, person_id=person.id if person else None,
        plan_id=plan.id if plan else None, session_id=session.id if session else None,
        room_id=room.id if room else None, subject=subject, occurred_at=occurred_at, sitting_date=sitting,
        found_after=found_after, category=category, facts=facts, proposed_article=proposed.article,
        proposed_clause=proposed.clause, status="opened", opened_by=actor.account_id, opened_at=utcnow())
    s.add(case)
    s.flush()
    case.number = f"WJ-{case.opened_at.year}-{case.id:06d}"
    s.add(CaseSignature(case_id=case.id, account_id=actor.account_id, role=actor.role, name=actor.name, note=note))
    if flag is not None:
        flag.status, flag.case_id, flag.reviewed_by, flag.reviewed_at = "case_opened", case.id, actor.account_id, utcnow()
        s.add(CaseEvidence(case_id=case.id, kind="flag", description=flag.summary,
                           data={"flag_id": flag.id, "source": flag.source, "kind": flag.kind,
                                 "p_value": flag.p_value, "evidence": flag.evidence},
                           attempt_id=flag.attempt_id, added_by=actor.account_id))
    s.flush()
    s.refresh(case)
    audit.record(s, actor, "violation.open", "violation_case", case.id,
                 {"number": case.number, "party": party, "person_id": case.person_id, "plan_id": case.plan_id,
                  "session_id": case.session_id, "subject": subject, "category": category,
                  "proposed": proposed.citation, "found_after": found_after, "facts": facts,
                  "flag_id": flag.id if flag else None})
    return case


def add_evidence(s: Session, actor: Actor, case: ViolationCase, *, kind: str, description: str = "",
                 content: bytes | None = None, mime: str = "", data: dict | None = None,
                 attempt_id: int | None = None) -> CaseEvidence:
    """Attach evidence while the case is open: a note, a photo (JPEG/PNG/WebP ≤ 8 MB), events, a result."""
    if case.status not in rules.OPEN_STATUSES:
        raise Conflict("closed", "案件已决定，不能再补充证据 (the case is decided)", "case_id")
    if actor.role not in rules.SIGNER_ROLES:
        raise Forbidden("not_staff", "只有工作人员可以提交证据 (only staff add evidence)", "role")
    if kind not in ("note", "photo", "events", "similarity", "document"):
        raise DomainError("bad_kind", f"未知证据类型 {kind!r} (unknown evidence kind)", "kind")
    if kind == "note":
        description = _required(description, "description", "说明")
    if kind == "photo":
        if not content:
            raise DomainError("required", "须上传照片 (a photo is required)", "photo")
        if mime not in PHOTO_TYPES or not _looks_like(content, mime):
            raise DomainError("bad_photo", "照片须为 JPEG、PNG 或 WebP (photo must be JPEG, PNG or WebP)", "photo")
        if len(content) > MAX_PHOTO:
            raise DomainError("too_large", "照片不超过 8 MB (photo at most 8 MB)", "photo")
    ev = CaseEvidence(case_id=case.id, kind=kind, description=(description or "").strip(), data=data,
                      content=content, mime=mime if content else "",
                      sha256=hashlib.sha256(content).hexdigest() if content else None,
                      attempt_id=attempt_id, added_by=actor.account_id)
    s.add(ev)
    s.flush()
    audit.record(s, actor, "violation.evidence", "violation_case", case.id,
                 {"evidence_id": ev.id, "kind": kind, "description": ev.description, "sha256": ev.sha256,
                  "attempt_id": attempt_id})
    return ev


def _looks_like(content: bytes, mime: str) -> bool:
    return {"image/jpeg": content[:3] == b"\xff\xd8\xff", "image/png": content[:8] == b"\x89PNG\r\n\x1a\n",
            "image/webp": content[:4] == b"RIFF" and content[8:12] == b"WEBP"}[mime]


# --- signing, confirming, dismissing ------------------------------------------------------------------

def cosign(s: Session, actor: Actor, case: ViolationCase, *, note: str = "", now: dt.datetime) -> ViolationCase:
    """A second (or further) staff member signs the incident record (指引 art. 16)."""
    new = _advance(s, case, "cosign", actor, now)
    s.add(CaseSignature(case_id=case.id, account_id=actor.account_id, role=actor.role, name=actor.name,
                        note=(note or "").strip(), signed_at=now))
    old, case.status = case.status, new
    s.flush()
    s.refresh(case)
    audit.record(s, actor, "violation.cosign", "violation_case", case.id,
                 {"status": [old, new], "signatures": len(case.signatures), "note": note})
    return case


def confirm(s: Session, actor: Actor, case: ViolationCase, *, note: str = "", now: dt.datetime) -> ViolationCase:
    """The room chief confirms the co-signed record (指引 art. 16); staff cases: the agency; agencies: the centre."""
    new = _advance(s, case, "confirm", actor, now)
    if case.party == "candidate" and case.session_id is not None:
        _check_room_chief(s, actor, case)
    old = case.status
    case.status, case.confirmed_by, case.confirmed_at = new, actor.account_id, now
    s.flush()
    audit.record(s, actor, "violation.confirm", "violation_case", case.id, {"status": [old, new], "note": note})
    return case


def _check_room_chief(s: Session, actor: Actor, case: ViolationCase) -> None:
    """When the session has chiefs assigned, only one of them confirms (考场负责人 of that session)."""
    from examserver.administration.models import StaffAssignment
    chiefs = set(s.scalars(select(StaffAssignment.account_id).where(
        StaffAssignment.session_id == case.session_id, StaffAssignment.duty == "chief_proctor")))
    if chiefs and actor.account_id not in chiefs:
        raise Forbidden("not_room_chief", "须由本场次的考场负责人确认 (only this session's room chief confirms)", "role")


def dismiss(s: Session, actor: Actor, case: ViolationCase, *, reason: str, now: dt.datetime) -> ViolationCase:
    """Close a case without a decision (not confirmed, or no violation found before the notice); archived."""
    reason = _required(reason, "reason", "撤案理由")
    new = _advance(s, case, "dismiss", actor, now)
    old = case.status
    case.status, case.closed_at, case.close_reason = new, now, reason
    s.flush()
    audit.record(s, actor, "violation.dismiss", "violation_case", case.id, {"status": [old, new], "reason": reason})
    return case


# --- notice, statement, decision ------------------------------------------------------------------

def _place(case: ViolationCase, s: Session) -> str:
    parts = []
    if case.plan_id:
        plan = s.get(ExamPlan, case.plan_id)
        parts.append(plan.title)
    if case.session_id:
        parts.append(s.get(ExamSession, case.session_id).name)
    if case.room is not None:
        parts.append(case.room.name)
    return "".join(f"“{p}”" if i == 0 else p for i, p in enumerate(parts)) or case.agency.name


def _doc_number(kind: str, doc_id: int, now: dt.datetime) -> str:
    """告知书 GZ-, 决定书 JD-, 复核决定书 FH-: year and the row id (unique without a counter to contend on)."""
    return f"{ {'notice': 'GZ', 'decision': 'JD', 'review': 'FH'}[kind]}-{now.year}-{doc_id:06d}"


def _placeholder() -> str:
    """A unique stand-in number until the row id is known (concurrent inserts never collide on it)."""
    import uuid
    return "tmp-" + uuid.uuid4().hex[:18]


def _basis(article: int, clause: int | None, severity: str | None, found_after: bool) -> str:
    c = rules.clause_of(article, clause)
    text = f"{GUIDELINE}{c.citation}（{c.zh}）"
    if article == 7:
        text += f"，{rules.SEVERITIES[severity][0]}" if severity else ""
    if found_after:
        text += "；第八条（评价活动结束后发现）"
    return text + "；程序依据第十六条、第十七条、第十九条。"


def _person_label(case: ViolationCase) -> tuple[str, str]:
    if case.party == "agency":
        return case.agency.name, ""
    return case.person.name, mask_id_number(case.person.id_number)


def _issue(s: Session, actor: Actor, case: ViolationCase, *, kind: str, now: dt.datetime, facts: str, reasons: str,
           basis: str, decision_text: str, consequences: dict, deadline: dt.datetime | None, outcome: str | None,
           extra: dict | None = None) -> CaseDocument:
    to, masked = _person_label(case)
    issuer = case.agency.name if case.party != "agency" else "职业技能鉴定中心（评价机构监管部门）"
    doc = CaseDocument(case_id=case.id, kind=kind, number=_placeholder(), outcome=outcome,
                       article=case.article, clause=case.clause, severity=case.severity, facts=facts,
                       reasons=reasons, basis=basis, consequences=consequences, deadline=deadline, issued_at=now,
                       issued_by=actor.account_id, issuer_name=issuer, delivered_at=now)
    s.add(doc)
    s.flush()
    doc.number = _doc_number(kind, doc.id, now)
    signatures = [f"{sig.name}（{ROLES.get(sig.role, (sig.role,))[0]}）" for sig in case.signatures]
    render = dict(kind=kind, number=doc.number, case_number=case.number, to=to, id_masked=masked,
                  agency=case.agency.name, occurred_at=case.occurred_at, place=_place(case, s), facts=facts,
                  reasons=reasons, basis=basis, decision=decision_text, deadline=deadline, issued_at=now,
                  issuer=issuer, signatures=signatures, **(extra or {}))
    doc.pdf = documents.render_document(render)
    doc.pdf_sha256 = hashlib.sha256(doc.pdf).hexdigest()
    s.flush()
    return doc


def notify(s: Session, actor: Actor, case: ViolationCase, *, article: int, clause: int | None, reasons: str,
           severity: str | None = None, now: dt.datetime, statement_days: int = rules.STATEMENT_DAYS) -> CaseDocument:
    """Tell the person the intended decision with facts, reasons and basis (告知, 指引 art. 17) and open the
    statement window. The article may differ from the proposed one; it is what the decision will apply."""
    reasons = _required(reasons, "reasons", "理由")
    new = _advance(s, case, "notify", actor, now)
    try:
        clause_obj = rules.clause_of(article, clause)
        if rules.ARTICLE_PARTY[article] != case.party:
            raise rules.RuleError("article_party", f"{clause_obj.citation}不适用于{rules.PARTIES[case.party][0]} "
                                  "(article does not apply to this party)", "article")
        cons = rules.consequence(article, clause, sitting_date=case.sitting_date, severity=severity,
                                 found_after=case.found_after)
        due = rules.statement_deadline(now, statement_days)
    except rules.RuleError as e:
        raise _rule_error(e) from None
    if article == 5 and not case.subject:
        raise DomainError("required", "第五条须指明科目 (art. 5 needs the subject)", "subject")
    old = case.status
    case.article, case.clause, case.severity = article, clause, severity if article in (7, 13) else None
    case.status, case.statement_due = new, due
    zh, _en = cons.summary()
    doc = _issue(s, actor, case, kind="notice", now=now, facts=case.facts, reasons=reasons,
                 basis=_basis(article, clause, case.severity, case.found_after), decision_text=zh,
                 consequences=cons.to_dict(), deadline=due, outcome=None)
    audit.record(s, actor, "violation.notify", "violation_case", case.id,
                 {"status": [old, new], "document": doc.number, "article": clause_obj.citation,
                  "severity": case.severity, "statement_due": due, "pdf_sha256": doc.pdf_sha256})
    return doc


def file_statement(s: Session, actor: Actor, case: ViolationCase, *, text: str, now: dt.datetime) -> CaseStatement:
    """The person's statement and defence (陈述申辩, 指引 art. 17) within the window."""
    text = _required(text, "text", "陈述申辩内容")
    _advance(s, case, "file_statement", actor, now)
    st = CaseStatement(case_id=case.id, kind="statement", text=text, account_id=actor.account_id, filed_at=now)
    s.add(st)
    s.flush()
    audit.record(s, actor, "violation.statement", "violation_case", case.id, {"statement_id": st.id, "text": text})
    return st


def waive_statement(s: Session, actor: Actor, case: ViolationCase, *, now: dt.datetime) -> ViolationCase:
    """The person declares they will not file a statement; the decision may then be made at once."""
    _advance(s, case, "waive_statement", actor, now)
    case.statement_waived_at = now
    s.flush()
    audit.record(s, actor, "violation.waive_statement", "violation_case", case.id, {"at": now})
    return case


def decide(s: Session, actor: Actor, case: ViolationCase, *, outcome: str, reasons: str, now: dt.datetime,
           statement_response: str = "", review_days: int = rules.REVIEW_DAYS) -> CaseDocument:
    """Issue the written decision (处理决定书, 指引 art. 17) and apply its consequences in this transaction.

    ``outcome`` 'violation' applies the article of the notice; 'no_violation' closes the case without one.
    """
    if outcome not in rules.DECISION_OUTCOMES:
        raise DomainError("bad_outcome", f"处理结论应为 violation 或 no_violation, got {outcome!r}", "outcome")
    reasons = _required(reasons, "reasons", "理由")
    new = _advance(s, case, "decide", actor, now)
    old = case.status
    statements = [(x.filed_at, x.text) for x in case.statements if x.kind == "statement"]
    if outcome == "violation":
        cons = rules.consequence(case.article, case.clause, sitting_date=case.sitting_date, severity=case.severity,
                                 found_after=case.found_after)
        due = rules.review_deadline(now, review_days)
        text = cons.summary()[0]
        consequences = cons.to_dict()
    else:
        cons, due, text, consequences = None, None, "经审查，不予认定违纪违规行为，不作处理。", {}
    case.status, case.outcome, case.decided_at, case.review_due = new, outcome, now, due
    doc = _issue(s, actor, case, kind="decision", now=now, facts=case.facts, reasons=reasons,
                 basis=_basis(case.article, case.clause, case.severity, case.found_after) if cons else GUIDELINE,
                 decision_text=text, consequences=consequences, deadline=due, outcome=outcome,
                 extra={"statements": statements, "statement_response": statement_response.strip()})
    applied = apply_consequences(s, actor, case, doc, cons, today=now.date()) if cons else {}
    if outcome == "no_violation":
        case.closed_at = now
    audit.record(s, actor, "violation.decide", "violation_case", case.id,
                 {"status": [old, new], "outcome": outcome, "document": doc.number, "pdf_sha256": doc.pdf_sha256,
                  "consequences": consequences, "applied": applied, "review_due": due})
    return doc


def _ban_reason(case: ViolationCase) -> str:
    return f"{rules.clause_of(case.article, case.clause).zh}（案件 {case.number}）"


def apply_consequences(s: Session, actor: Actor, case: ViolationCase, doc: CaseDocument,
                       cons: rules.Consequence, *, today: dt.date) -> dict[str, Any]:
    """Carry out a decision (指引 art. 5–10): cancellations, bans, certificate revocations, staff eligibility."""
    applied: dict[str, Any] = {}
    if case.party == "candidate" and cons.cancel and case.plan_id:
        row = SubjectCancellation(case_id=case.id, document_id=doc.id, person_id=case.person_id, plan_id=case.plan_id,
                                  scope=cons.cancel, subject=case.subject if cons.cancel == "subject" else None,
                                  void_results=cons.void_results)
        s.add(row)
        s.flush()
        applied["cancellation_id"] = row.id
    if case.party == "candidate" and cons.ban_ends is not None:
        ban = administration.record_ban(
            s, actor, person=case.person, reason=_ban_reason(case), decision_ref=doc.number,
            article=f"指引{rules.citation(case.article, case.clause)}", starts_on=cons.ban_starts,
            ends_on=cons.ban_ends, occupation=None, source_case_id=case.id)
        applied["ban_id"] = ban.id
    if case.party == "candidate" and cons.revoke_certificates and case.plan_id:
        certs = s.scalars(select(Certificate).where(Certificate.person_id == case.person_id,
                                                    Certificate.source_plan_id == case.plan_id,
                                                    Certificate.status == "valid")).all()
        revoked = []
        for cert in certs:
            revoke_certificate(s, actor, cert, f"违纪违规处理决定 {doc.number}（指引第八条）",
                               max(today, cert.issue_date))
            s.add(CaseRevocation(case_id=case.id, certificate_id=cert.id))
            revoked.append(cert.number)
        s.flush()
        applied["revoked_certificates"] = revoked
    if case.party == "staff" and (cons.staff_ineligible_until or cons.examiner_certificate_revoked):
        row = StaffIneligibility(case_id=case.id, person_id=case.person_id,
                                 duty="all" if cons.staff_ineligible_until else "examiner",
                                 starts_on=today, ends_on=cons.staff_ineligible_until)
        s.add(row)
        s.flush()
        applied["ineligibility_id"] = row.id
    return applied


def lift_consequences(s: Session, actor: Actor, case: ViolationCase, doc: CaseDocument, *, now: dt.datetime) -> dict:
    """Undo what a decision did, when a review revokes or amends it. Revoked certificates stay revoked (the
    certification area has no reinstatement); the review decision says so and the agency reissues if due."""
    out: dict[str, Any] = {"cancellations": [], "bans": [], "ineligibilities": []}
    for row in s.scalars(select(SubjectCancellation).where(SubjectCancellation.case_id == case.id,
                                                           SubjectCancellation.lifted_at.is_(None))):
        row.lifted_at, row.lifted_by_document_id = now, doc.id
        out["cancellations"].append(row.id)
    for ban in s.scalars(select(Ban).where(Ban.source_case_id == case.id)):
        if ban.ends_on is None or ban.ends_on >= now.date():
            administration.lift_ban(s, actor, ban, on=now.date(), reason=f"复核决定 {doc.number}")
            out["bans"].append(ban.id)
    for row in s.scalars(select(StaffIneligibility).where(StaffIneligibility.case_id == case.id,
                                                          StaffIneligibility.lifted_at.is_(None))):
        row.lifted_at = now
        out["ineligibilities"].append(row.id)
    s.flush()
    return out


def request_review(s: Session, actor: Actor, case: ViolationCase, *, text: str, now: dt.datetime) -> CaseStatement:
    """The person contests the decision and asks for review (复核, 指引 art. 19)."""
    text = _required(text, "text", "复核申请理由")
    new = _advance(s, case, "request_review", actor, now)
    st = CaseStatement(case_id=case.id, kind="review_request", text=text, account_id=actor.account_id, filed_at=now)
    s.add(st)
    old, case.status = case.status, new
    s.flush()
    audit.record(s, actor, "violation.request_review", "violation_case", case.id,
                 {"status": [old, new], "statement_id": st.id, "text": text})
    return st


def review(s: Session, actor: Actor, case: ViolationCase, *, outcome: str, reasons: str, now: dt.datetime,
           article: int | None = None, clause: int | None = None, severity: str | None = None) -> CaseDocument:
    """The review decision (复核决定, 指引 art. 19): ``upheld``, ``amended`` (with the new article, clause and
    severity: the old consequences are lifted and the new applied) or ``revoked`` (consequences lifted)."""
    if outcome not in rules.REVIEW_OUTCOMES:
        raise DomainError("bad_outcome", f"复核结论应为 upheld/amended/revoked, got {outcome!r}", "outcome")
    reasons = _required(reasons, "reasons", "复核理由")
    new = _advance(s, case, "review", actor, now)
    cons = None
    if outcome == "amended":
        if article is None:
            raise DomainError("required", "变更决定须指明条款 (an amended decision needs the article)", "article")
        try:
            rules.clause_of(article, clause)
            if rules.ARTICLE_PARTY[article] != case.party:
                raise rules.RuleError("article_party", "条款不适用于该当事方 (article does not apply)", "article")
            cons = rules.consequence(article, clause, sitting_date=case.sitting_date, severity=severity,
                                     found_after=case.found_after)
        except rules.RuleError as e:
            raise _rule_error(e) from None
    old = case.status
    case.status, case.review_outcome, case.closed_at = new, outcome, now
    if outcome == "upheld":
        text = "维持原处理决定。"
    elif outcome == "revoked":
        text = "撤销原处理决定，已取消的成绩、禁考等处理一并撤销。"
    else:
        case.article, case.clause, case.severity = article, clause, severity if article in (7, 13) else None
        text = "变更原处理决定为：" + cons.summary()[0]
    doc = _issue(s, actor, case, kind="review", now=now, facts=case.facts, reasons=reasons,
                 basis=_basis(case.article, case.clause, case.severity, case.found_after),
                 decision_text=rules.REVIEW_OUTCOMES[outcome][0] + "。" + text,
                 consequences=cons.to_dict() if cons else {}, deadline=None, outcome=outcome)
    lifted, applied = {}, {}
    if outcome in ("revoked", "amended"):
        lifted = lift_consequences(s, actor, case, doc, now=now)
    if cons is not None:
        applied = apply_consequences(s, actor, case, doc, cons, today=now.date())
    audit.record(s, actor, "violation.review", "violation_case", case.id,
                 {"status": [old, new], "outcome": outcome, "document": doc.number, "lifted": lifted,
                  "applied": applied, "pdf_sha256": doc.pdf_sha256})
    return doc


def mark_read(s: Session, actor: Actor, doc: CaseDocument, *, now: dt.datetime) -> None:
    """The person opened a delivered document (送达回执)."""
    if doc.read_at is None:
        doc.read_at = now
        s.flush()
        audit.record(s, actor, "violation.document_read", "violation_document", doc.id, {"number": doc.number})


# --- flags -----------------------------------------------------------------------------------------

def dismiss_flag(s: Session, actor: Actor, flag: ViolationFlag, *, note: str, now: dt.datetime) -> ViolationFlag:
    if flag.status != "open":
        raise Conflict("flag_closed", "该提示已处理 (flag already handled)", "flag_id")
    flag.status, flag.reviewed_by, flag.reviewed_at, flag.note = "dismissed", actor.account_id, now, \
        _required(note, "note", "处理说明")
    s.flush()
    audit.record(s, actor, "violation_flag.dismiss", "violation_flag", flag.id, {"note": flag.note})
    return flag


def similarity_check(s: Session, actor: Actor, session: ExamSession, *, responses: dict[int, dict[Any, Any]],
                     key: dict[Any, Any], options: dict[Any, list] | None = None,
                     alpha: float = 0.001) -> list[ViolationFlag]:
    """Screen a finished session's answer sheets for copying (:func:`scoring.similarity.screen`) and raise a
    flag for each suspicious pair: ``responses`` maps person id → {item: chosen option}; neighbours come from
    the seating chart. Flags are for review by people, never penalties (指引 art. 16)."""
    return _similarity(s, actor, session, responses=responses, key=key, options=options, alpha=alpha,
                       source="posted")[1]


def _similarity(s: Session, actor: Actor, session: ExamSession, *, responses: dict[int, dict[Any, Any]],
                key: dict[Any, Any], options: dict[Any, list] | None, alpha: float, source: str):
    """(report, new flags) of one screening; pairs already flagged in this session are not flagged again."""
    from examserver.administration.models import SeatAssignment
    from scoring import similarity
    if len(responses) < 3:
        raise DomainError("too_few", "至少需要3名考生的作答 (need answers of >= 3 candidates)", "responses")
    try:
        enc = similarity.encode(responses, key, options)
    except ValueError as e:
        raise DomainError("bad_responses", str(e), "responses") from None
    seats = {}
    for sa in s.scalars(select(SeatAssignment).where(SeatAssignment.session_id == session.id)):
        pid = sa.registration.person_id
        if pid in responses:
            seats[pid] = (sa.room_id, sa.seat_row, sa.seat_col)
    index = {c: i for i, c in enumerate(enc.candidates)}
    nb = [(index[a], index[b]) for a, b in similarity.seat_neighbours(seats)]
    try:
        report = similarity.screen(enc.answers, enc.key, enc.n_options, neighbours=nb, alpha=alpha)
    except ValueError as e:
        raise DomainError("bad_responses", str(e), "responses") from None
    plan = session.plan
    flags = []
    for r in report.flagged:
        pa, pb = enc.candidates[r.a], enc.candidates[r.b]
        exists = s.scalar(select(ViolationFlag.id).where(
            ViolationFlag.session_id == session.id, ViolationFlag.source == "similarity",
            or_((ViolationFlag.person_id == pa) & (ViolationFlag.other_person_id == pb),
                (ViolationFlag.person_id == pb) & (ViolationFlag.other_person_id == pa))))
        if exists:
            continue
        summary = (f"答案雷同：相同作答 {r.identical}/{r.common} 题（独立作答预期 {r.expected:.1f}），"
                   f"相同错误答案 {r.identical_incorrect} 题（预期 {r.expected_incorrect:.1f}），p = {r.p_value:.2e}"
                   f"{'，邻座' if r.neighbours else ''}")
        f = ViolationFlag(source="similarity", agency_id=plan.agency_id, plan_id=plan.id, session_id=session.id,
                          person_id=pa, other_person_id=pb, kind="answer_similarity", severity="high",
                          summary=summary, p_value=r.p_value, evidence=r.to_dict() | {
                              "pairs_tested": report.pairs_tested, "neighbour_pairs": report.neighbour_pairs_tested,
                              "alpha": alpha})
        s.add(f)
        flags.append(f)
    s.flush()
    audit.record(s, actor, "violation_flag.similarity_check", "exam_session", session.id,
                 {"candidates": report.n_candidates, "items": report.n_items, "pairs": report.pairs_tested,
                  "neighbour_pairs": report.neighbour_pairs_tested, "alpha": alpha, "source": source,
                  "flagged_pairs": len(report.flagged), "flags": [f.id for f in flags]})
    return report, flags


def stored_choices(s: Session, session: ExamSession) -> tuple[dict[int, dict[int, str | None]], dict[int, str],
                                                                dict[int, list[str]]]:
    """The choice answers delivery stored for a session's submitted attempts, as ``(responses, key, options)``:
    person id → {item version id → option label}; parallel forms pin the same versions, so their answers
    line up. Single and true/false items carry their options; a multiple-choice answer is the set of keys
    chosen (its label, e.g. ``"ABD"``). Fill-in items are left out (no option to copy)."""
    from examserver.delivery.models import Answer, Attempt
    from examserver.delivery.operations import papers
    from scoring.objective import choice_keys

    def label(r: Any) -> str | None:
        keys = choice_keys(r)
        return "".join(sorted(keys)) if keys else None

    attempts = s.execute(select(Attempt.id, Attempt.person_id, Attempt.paper_id).where(
        Attempt.session_id == session.id, Attempt.status == "submitted", Attempt.paper_id.is_not(None))).all()
    key: dict[int, str] = {}
    options: dict[int, list[str]] = {}
    columns: dict[int, dict[int, tuple[int, str]]] = {}  # paper -> paper item -> (version, type)
    for paper_id in sorted({p for _, _, p in attempts}):
        cached = papers.get(s, paper_id)
        view_opts = {it["paper_item_id"]: [o["key"] for o in it.get("options") or []]
                     for sec in cached["view"]["sections"] for it in sec["items"]}
        cols = columns.setdefault(paper_id, {})
        for it in cached["key"]["items"]:
            if it["item_type"] not in ("single", "multiple", "judge") or label(it["answer"]) is None:
                continue
            v = it["item_version_id"]
            cols[it["paper_item_id"]] = (v, it["item_type"])
            key[v] = label(it["answer"])
            if it["item_type"] == "judge":
                options[v] = ["F", "T"]
            elif it["item_type"] == "single" and view_opts.get(it["paper_item_id"]):
                options[v] = sorted(view_opts[it["paper_item_id"]])
    responses: dict[int, dict[int, str | None]] = {a.person_id: {} for a in attempts}
    person_of = {a.id: (a.person_id, a.paper_id) for a in attempts}
    ids = list(person_of)
    for start in range(0, len(ids), 500):
        for aid, pid, resp in s.execute(select(Answer.attempt_id, Answer.paper_item_id, Answer.response).where(
                Answer.attempt_id.in_(ids[start:start + 500]), Answer.seq > 0)):
            person, paper_id = person_of[aid]
            col = columns[paper_id].get(pid)
            if col is None:
                continue
            v, typ = col
            choice = label(resp)
            if choice is not None and (typ == "multiple" or choice in options.get(v, [choice])):
                responses[person][v] = choice
    return responses, key, options


def similarity_from_answers(s: Session, actor: Actor, session: ExamSession, *,
                            alpha: float = 0.001) -> dict[str, Any]:
    """答案雷同检查 of a finished session from the answers delivery stored (:func:`stored_choices`): all pairs and
    seat neighbours, Bonferroni within each family at ``alpha``; each suspicious pair becomes a flag for review
    (never a penalty: people decide, 指引 art. 16; copying is 指引 art. 6(2)). Running it again flags only new
    pairs. Returns the screening's figures and the new flags."""
    from scoring import similarity
    responses, key, options = stored_choices(s, session)
    if len(responses) < 3:
        raise DomainError("too_few", f"该场次已交卷考生不足 3 人（{len(responses)} 人），无法检查 (need >= 3 submitted "
                          "attempts)", "session_id")
    if len(key) < similarity.MIN_COMMON:
        raise DomainError("too_few_items", f"该场次选择题少于 {similarity.MIN_COMMON} 题（{len(key)} 题），无法检查 "
                          f"(need >= {similarity.MIN_COMMON} choice items)", "session_id")
    report, flags = _similarity(s, actor, session, responses=responses, key=key, options=options, alpha=alpha,
                                source="stored answers")
    return {"session_id": session.id, "candidates": report.n_candidates, "items": report.n_items,
            "pairs": report.pairs_tested, "neighbour_pairs": report.neighbour_pairs_tested, "alpha": alpha,
            "flagged_pairs": len(report.flagged), "flags": flags}


# --- reads for other areas -----------------------------------------------------------------------------

def cancelled_subjects(s: Session, person_id: int, plan_id: int) -> set[str]:
    """Subjects of ``plan_id`` whose results a decision cancelled for ``person_id``; ``{"*"}`` means all."""
    out: set[str] = set()
    for row in s.scalars(select(SubjectCancellation).where(SubjectCancellation.person_id == person_id,
                                                           SubjectCancellation.plan_id == plan_id,
                                                           SubjectCancellation.lifted_at.is_(None))):
        out.add("*" if row.scope == "all" else row.subject)
    return out


def result_cancelled(s: Session, person_id: int, plan_id: int, subject: str) -> bool:
    c = cancelled_subjects(s, person_id, plan_id)
    return "*" in c or subject in c


def staff_ineligible(s: Session, person_id: int, on_date: dt.date, duty: str | None = None) -> list[StaffIneligibility]:
    """Ineligibility rows in force for ``person_id`` on ``on_date`` (for ``duty``: 'examiner' rows bar examining only)."""
    q = select(StaffIneligibility).where(StaffIneligibility.person_id == person_id,
                                         StaffIneligibility.lifted_at.is_(None),
                                         StaffIneligibility.starts_on <= on_date,
                                         or_(StaffIneligibility.ends_on.is_(None), StaffIneligibility.ends_on >= on_date))
    rows = list(s.scalars(q))
    if duty is not None and duty != "examiner":
        rows = [r for r in rows if r.duty == "all"]
    return rows


@dataclasses.dataclass
class CaseQuery:
    agency_id: int | None = None
    status: str | None = None
    party: str | None = None
    article: int | None = None
    text: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None


def search_cases(s: Session, q: CaseQuery, *, limit: int = 200) -> list[ViolationCase]:
    """The archive (指引 art. 20): cases by agency, status, party, article, dates, and text in number, facts or name."""
    stmt = select(ViolationCase).outerjoin(Person, Person.id == ViolationCase.person_id)
    if q.agency_id is not None:
        stmt = stmt.where(ViolationCase.agency_id == q.agency_id)
    if q.status:
        stmt = stmt.where(ViolationCase.status == q.status)
    if q.party:
        stmt = stmt.where(ViolationCase.party == q.party)
    if q.article:
        stmt = stmt.where(ViolationCase.article == q.article)
    if q.since:
        stmt = stmt.where(ViolationCase.opened_at >= dt.datetime.combine(q.since, dt.time()))
    if q.until:
        stmt = stmt.where(ViolationCase.opened_at < dt.datetime.combine(q.until + dt.timedelta(days=1), dt.time()))
    if q.text:
        like = f"%{q.text.strip()}%"
        stmt = stmt.where(or_(ViolationCase.number.like(like), ViolationCase.facts.like(like), Person.name.like(like)))
    return list(s.scalars(stmt.order_by(ViolationCase.opened_at.desc(), ViolationCase.id.desc()).limit(limit)))


def statistics(s: Session, *, agency_id: int | None, since: dt.date, until: dt.date) -> dict:
    """Counts for the quarterly quality report (seed 002: violations found and handled)."""
    cases = search_cases(s, CaseQuery(agency_id=agency_id, since=since, until=until), limit=100_000)
    return rules.quarter_statistics({"party": c.party, "status": c.status, "article": c.article,
                                     "outcome": c.outcome} for c in cases)


def get_case(s: Session, case_id: int) -> ViolationCase:
    case = s.get(ViolationCase, case_id)
    if case is None:
        raise NotFound("not_found", f"案件 {case_id} 不存在 (no such case)", "case_id")
    return case
