"""Practical marking and results (操作技能评分与成绩审核): services over :mod:`scoring.marking_models`.

Rules and sources (seed 003 unless stated):

- 考评到人: only examiners assigned to a task of a session mark that task (DOMAIN rule 3; 河南省…备案及
  管理办法（试行） art. 17: a panel of ≥3 examiners marks independently).
- Each examiner signs their mark (same 办法 art. 23). Signing re-authenticates: the examiner's password is
  checked in the submit call and the attestation goes into the audit trail. A signed mark is never changed;
  a correction is a new signed record superseding it (altering scores voids results, 办法 art. 34(5)).
- Blind marking: an examiner sees the other panel members' marks of a candidate only after every panel
  member has signed theirs.
- Results go to the centre within 10 working days and are audited before certificates are issued
  (豫人社办〔2020〕19号 §四(五); 办法 art. 24): :func:`submit_results_batch`, :func:`decide_batch`;
  :func:`certify_plan` issues only from an approved batch.
- Results cancelled by a violation decision (技能人才评价违纪违规行为处理工作指引 arts. 5–8) fail the level.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examserver.administration import operations as admin_ops
from examserver.administration.models import (ConflictDeclaration, ExamPlan, ExamSession, PlanSubject, Registration,
                                              StaffAssignment)
from examserver.delivery.models import Attempt
from examserver.violations.operations import cancelled_subjects
from itembank.core import audit
from itembank.core.audit import Actor, canonical_json
from itembank.core.directory import authenticate
from itembank.core.errors import Conflict, DomainError, Forbidden, NotFound
from itembank.core.people import Account
from itembank.items import Item, normalise_rubric
from scoring import marking as rules
from scoring.certification import Certificate, Issuer, issue_certificate
from scoring.level_decision import LevelDecision, decide_level
from scoring.marking_models import (Adjudication, MarkingTask, PracticalMark, ResultsBatch, SubjectResult)

LOCKING_BATCH = ("submitted", "approved")


def _err(field: str, code: str, zh: str, en: str, cls=DomainError) -> DomainError:
    return cls(code, f"{zh} ({en})", field)


def _get(s: Session, model, ident, field: str):
    obj = s.get(model, ident) if ident is not None else None
    if obj is None:
        raise NotFound("not_found", f"{model.__tablename__} {ident} 不存在 (not found)", field)
    return obj


# --- tasks and panels ------------------------------------------------------------------------------------

def panel(s: Session, session_id: int, task: str) -> list[StaffAssignment]:
    """The examiners assigned to ``task`` of a session (考评组)."""
    return list(s.scalars(select(StaffAssignment).where(
        StaffAssignment.session_id == session_id, StaffAssignment.task == task,
        StaffAssignment.duty == "examiner").order_by(StaffAssignment.id)))


def examiner_tasks(s: Session, account_id: int) -> list[StaffAssignment]:
    """Every task an account examines."""
    return list(s.scalars(select(StaffAssignment).where(StaffAssignment.account_id == account_id,
                                                        StaffAssignment.duty == "examiner")
                          .order_by(StaffAssignment.id)))


def marking_task(s: Session, session_id: int, task: str) -> MarkingTask | None:
    return s.scalar(select(MarkingTask).where(MarkingTask.session_id == session_id, MarkingTask.task == task))


def require_marking_task(s: Session, session_id: int, task: str) -> MarkingTask:
    mt = marking_task(s, session_id, task)
    if mt is None:
        raise _err("task", "task_not_set_up", f"考核任务“{task}”尚未设置评分标准",
                   "the task has no rubric set up yet", Conflict)
    return mt


def _practical_session(s: Session, session_id: int) -> ExamSession:
    se = _get(s, ExamSession, session_id, "session_id")
    if se.subject.subject not in ("practical", "review"):
        raise _err("session_id", "bad_session", "不是操作技能或综合评审场次", "not a practical or review session")
    return se


def setup_task(s: Session, actor: Actor, *, session: ExamSession, task: str, item: Item | None = None,
               rubric: dict | None = None, aggregation: str = "mean", spread_threshold: float = 10.0,
               lead_account_id: int | None = None, weight: float = 1.0) -> MarkingTask:
    """Set (or, before any mark, change) a task's rubric, aggregation rule, threshold and lead examiner.

    The rubric comes from an approved practical item of the bank (its approved version is snapshotted) or is
    given directly (validated like the bank's rubrics).
    """
    _practical_session(s, session.id)
    if task not in session.task_list:
        raise _err("task", "bad_task", f"请选择该场次的考核任务：{'、'.join(session.task_list)}", "not a task of the session")
    if aggregation not in rules.AGGREGATIONS:
        raise _err("aggregation", "bad_aggregation", "汇总方式应为 mean、trimmed 或 median",
                   "aggregation must be mean, trimmed or median")
    if spread_threshold is None or spread_threshold < 0:
        raise _err("spread_threshold", "bad_threshold", "分差阈值不能为负", "the spread threshold must be >= 0")
    if weight is None or weight <= 0:
        raise _err("weight", "bad_weight", "权重应大于0", "weight must be > 0")
    item_id = version_id = None
    if item is not None:
        if item.item_type != "practical" or item.approved_version is None:
            raise _err("item_id", "bad_item", "须为已审定的操作技能题", "must be an approved practical task")
        if item.agency_id != session.plan.agency_id:
            raise _err("item_id", "bad_item", "须为本机构题库的试题", "must be an item of the plan's agency", Forbidden)
        rubric, item_id, version_id = item.approved_version.rubric, item.id, item.approved_version_id
    clean, total, problems = normalise_rubric(rubric)
    if problems:
        raise DomainError("bad_rubric", problems[0].message, problems[0].field)
    members = {a.account_id for a in panel(s, session.id, task)}
    if lead_account_id is not None and lead_account_id not in members:
        raise _err("lead_account_id", "bad_lead", "主考评员须是该任务考评组成员", "the lead must be on the task's panel")
    mt = marking_task(s, session.id, task)
    if mt is not None and current_marks(s, session.id, task):
        raise _err("task", "marking_started", "已开始评分，评分标准不能再改", "marking has started; the rubric is fixed",
                   Conflict)
    if mt is None:
        mt = MarkingTask(session_id=session.id, task=task)
        s.add(mt)
    mt.item_id, mt.item_version_id, mt.rubric, mt.max_points = item_id, version_id, clean, total
    mt.aggregation, mt.spread_threshold, mt.lead_account_id, mt.weight = aggregation, spread_threshold, \
        lead_account_id, weight
    mt.configured_by = actor.account_id
    s.flush()
    audit.record(s, actor, "marking_task.set_up", "marking_task", mt.id,
                 {"session_id": session.id, "task": task, "item_id": item_id, "item_version_id": version_id,
                  "max_points": total, "aggregation": aggregation, "spread_threshold": spread_threshold,
                  "lead_account_id": lead_account_id, "weight": weight})
    return mt


# --- marks -----------------------------------------------------------------------------------------------

def current_marks(s: Session, session_id: int, task: str, registration_id: int | None = None) -> list[PracticalMark]:
    """Signed marks in force (not superseded by a correction), oldest first."""
    q = select(PracticalMark).where(PracticalMark.session_id == session_id, PracticalMark.task == task)
    if registration_id is not None:
        q = q.where(PracticalMark.registration_id == registration_id)
    rows = list(s.scalars(q.order_by(PracticalMark.id)))
    superseded = {m.supersedes_id for m in rows if m.supersedes_id}
    return [m for m in rows if m.id not in superseded]


def _check_plan_open_for_marks(s: Session, plan: ExamPlan) -> None:
    if plan.status not in ("approved", "running", "closed"):
        raise _err("session_id", "bad_status", "计划当前状态不能评分", f"marking is closed in plan status {plan.status}",
                   Conflict)
    b = latest_batch(s, plan.id)
    if b is not None and b.status in LOCKING_BATCH:
        raise _err("session_id", "results_submitted", "成绩已上报，不能再评分", "results were submitted; marks are locked",
                   Conflict)


def _attestation(examiner: Account, reg: Registration, task: str, total: float, max_total: float, veto: bool,
                 now: dt.datetime, supersedes: PracticalMark | None) -> str:
    what = f"更正评分记录 {supersedes.id}" if supersedes else "独立评分"
    veto_txt = "，安全否决" if veto else ""
    return (f"本人{examiner.person.name}（账号 {examiner.username}）于 {now:%Y-%m-%d %H:%M:%S} UTC 经密码再次认证，"
            f"对准考证号 {reg.ticket_number} 的“{task}”{what}：{total:g}/{max_total:g} 分{veto_txt}。本人对评分负责。"
            f" (I, {examiner.username}, re-authenticated and sign this mark.)")


def submit_mark(s: Session, actor: Actor, *, session: ExamSession, task: str, registration: Registration,
                entries: list[dict[str, Any]], password: str, now: dt.datetime, veto: bool = False,
                veto_reason: str = "", comment: str = "", supersedes_id: int | None = None,
                correction_reason: str = "") -> PracticalMark:
    """Sign one examiner's mark (or a correction of their own signed mark) of one candidate on one task."""
    if actor.account_id is None:
        raise _err("account_id", "not_examiner", "须由考评员本人评分", "marks are signed by an examiner", Forbidden)
    _practical_session(s, session.id)
    if registration.plan_id != session.plan_id or registration.status != "registered":
        raise _err("registration_id", "bad_registration", "考生未报名本计划", "not a candidate of this plan")
    if not any(a.account_id == actor.account_id for a in panel(s, session.id, task)):
        raise _err("task", "not_assigned", "您未被安排评定该考核任务（考评到人）",
                   "you are not assigned to mark this task", Forbidden)
    examiner = s.get(Account, actor.account_id)
    if authenticate(s, examiner.username, password or "") is None:
        raise _err("password", "reauth_failed", "密码不正确，评分未签名", "password is wrong; the mark was not signed",
                   Forbidden)
    if s.scalar(select(ConflictDeclaration.id).where(
            ConflictDeclaration.staff_person_id == examiner.person_id,
            ConflictDeclaration.candidate_person_id == registration.person_id)) is not None:
        raise _err("registration_id", "recusal", "您与该考生存在利益冲突，须回避", "you must recuse from this candidate",
                   Forbidden)
    _check_plan_open_for_marks(s, session.plan)
    mt = require_marking_task(s, session.id, task)
    mine = [m for m in current_marks(s, session.id, task, registration.id)
            if m.examiner_account_id == actor.account_id]
    prior = None
    if supersedes_id is not None:
        prior = s.get(PracticalMark, supersedes_id)
        if prior is None or prior not in mine:
            raise _err("supersedes_id", "bad_correction", "只能更正本人当前有效的评分记录",
                       "only your own mark in force can be corrected", Conflict)
        if not (correction_reason or "").strip():
            raise _err("correction_reason", "required", "更正须说明原因", "a correction needs its reason")
    elif mine:
        raise _err("supersedes_id", "already_signed", f"已签名评分 {mine[0].id}；修改须提交更正记录",
                   "you already signed a mark; submit a correction that supersedes it", Conflict)
    try:
        sheet = rules.apply_rubric(mt.rubric, entries, veto=veto, veto_reason=veto_reason)
    except rules.MarkingError as e:
        raise DomainError("bad_mark", str(e), e.field) from None
    att = _attestation(examiner, registration, task, sheet.total, sheet.max_total, sheet.veto, now, prior)
    m = PracticalMark(registration_id=registration.id, person_id=registration.person_id, session_id=session.id,
                      task=task, examiner_account_id=actor.account_id, points=sheet.points_json(), total=sheet.total,
                      max_total=sheet.max_total, veto=sheet.veto, veto_reason=sheet.veto_reason,
                      comment=(comment or "").strip()[:1000], signed_at=now, attestation=att,
                      supersedes_id=prior.id if prior else None,
                      correction_reason=(correction_reason or "").strip()[:500])
    s.add(m)
    s.flush()
    digest = hashlib.sha256(canonical_json(m.points).encode("utf-8")).hexdigest()
    audit.record(s, actor, "practical_mark.correct" if prior else "practical_mark.sign", "practical_mark", m.id,
                 {"session_id": session.id, "task": task, "registration_id": registration.id, "total": m.total,
                  "max_total": m.max_total, "veto": m.veto, "veto_reason": m.veto_reason, "points_sha256": digest,
                  "supersedes_id": m.supersedes_id, "correction_reason": m.correction_reason,
                  "reauthenticated": True, "attestation": att}, at=now)
    return m


def all_signed(s: Session, session_id: int, task: str, registration_id: int) -> bool:
    members = {a.account_id for a in panel(s, session_id, task)}
    done = {m.examiner_account_id for m in current_marks(s, session_id, task, registration_id)}
    return bool(members) and members <= done


def visible_marks(s: Session, actor: Actor, *, session_id: int, task: str, registration_id: int) -> list[PracticalMark]:
    """Marks ``actor`` may read for a candidate: a panel examiner sees only their own until the panel is complete."""
    marks = current_marks(s, session_id, task, registration_id)
    if actor.role == "examiner":
        if not any(a.account_id == actor.account_id for a in panel(s, session_id, task)):
            raise _err("task", "not_assigned", "您未被安排评定该考核任务", "you are not on this task's panel", Forbidden)
        if not all_signed(s, session_id, task, registration_id):
            return [m for m in marks if m.examiner_account_id == actor.account_id]
    return marks


def mark_history(s: Session, mark: PracticalMark) -> list[PracticalMark]:
    """A mark and every record it superseded, newest first."""
    out = [mark]
    while out[-1].supersedes_id:
        out.append(s.get(PracticalMark, out[-1].supersedes_id))
    return out


# --- aggregation and adjudication ------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskMark:
    registration_id: int
    status: str            # incomplete | needs_adjudication | aggregated | vetoed | adjudicated
    points: float | None   # out of the task's max points
    max_points: float
    spread: float
    marks: tuple[float, ...]
    reasons: tuple[str, ...]
    adjudication_id: int | None = None


def latest_adjudication(s: Session, session_id: int, task: str, registration_id: int) -> Adjudication | None:
    return s.scalar(select(Adjudication).where(Adjudication.session_id == session_id, Adjudication.task == task,
                                               Adjudication.registration_id == registration_id)
                    .order_by(Adjudication.id.desc()).limit(1))


def task_mark(s: Session, mt: MarkingTask, registration_id: int) -> TaskMark:
    """The panel's mark of one candidate: aggregated, vetoed, adjudicated, or waiting."""
    marks = current_marks(s, mt.session_id, mt.task, registration_id)
    members = {a.account_id for a in panel(s, mt.session_id, mt.task)}
    marks = [m for m in marks if m.examiner_account_id in members]
    out = rules.panel_outcome([m.total for m in marks], [m.veto for m in marks], panel_size=len(members),
                              method=mt.aggregation, threshold=mt.spread_threshold)
    totals = tuple(m.total for m in marks)
    adj = latest_adjudication(s, mt.session_id, mt.task, registration_id)
    if adj is not None and out.status != "incomplete" and sorted(adj.mark_ids) == sorted(m.id for m in marks):
        return TaskMark(registration_id, "adjudicated", adj.final_mark, mt.max_points, out.spread, totals,
                        out.reasons, adj.id)
    return TaskMark(registration_id, out.status, out.mark, mt.max_points, out.spread, totals, out.reasons)


def adjudicate(s: Session, actor: Actor, *, session: ExamSession, task: str, registration: Registration,
               final_mark: float, reason: str, now: dt.datetime) -> Adjudication:
    """The lead examiner settles a disagreeing panel's mark with reasons."""
    mt = require_marking_task(s, session.id, task)
    if mt.lead_account_id is None or actor.account_id != mt.lead_account_id:
        raise _err("task", "not_lead", "只有该任务的主考评员可以仲裁", "only the task's lead examiner adjudicates", Forbidden)
    _check_plan_open_for_marks(s, session.plan)
    tm = task_mark(s, mt, registration.id)
    if tm.status not in ("needs_adjudication", "adjudicated"):
        raise _err("registration_id", "no_adjudication_needed", "该考生的评分无需仲裁",
                   f"this mark does not need adjudication ({tm.status})", Conflict)
    if not (reason or "").strip() or len(reason.strip()) < 4:
        raise _err("reason", "required", "仲裁须说明理由", "an adjudication needs its reasons")
    if final_mark is None or not 0 <= final_mark <= mt.max_points:
        raise _err("final_mark", "bad_mark", f"最终分应在 0 与 {mt.max_points:g} 之间",
                   f"the final mark must be in [0, {mt.max_points:g}]")
    marks = [m for m in current_marks(s, session.id, task, registration.id)]
    adj = Adjudication(registration_id=registration.id, session_id=session.id, task=task,
                       lead_account_id=actor.account_id, reason=reason.strip(), final_mark=round(float(final_mark), 2),
                       mark_ids=[m.id for m in marks], decided_at=now)
    s.add(adj)
    s.flush()
    audit.record(s, actor, "adjudication.decide", "adjudication", adj.id,
                 {"session_id": session.id, "task": task, "registration_id": registration.id,
                  "final_mark": adj.final_mark, "marks": list(tm.marks), "spread": tm.spread, "reason": adj.reason,
                  "mark_ids": adj.mark_ids}, at=now)
    return adj


def adjudication_queue(s: Session, account_id: int) -> list[tuple[MarkingTask, Registration, TaskMark]]:
    """Candidates waiting for ``account_id``'s adjudication, over the tasks they lead."""
    out = []
    for mt in s.scalars(select(MarkingTask).where(MarkingTask.lead_account_id == account_id).order_by(MarkingTask.id)):
        se = s.get(ExamSession, mt.session_id)
        for reg in candidates(s, se.plan):
            tm = task_mark(s, mt, reg.id)
            if tm.status == "needs_adjudication":
                out.append((mt, reg, tm))
    return out


def candidates(s: Session, plan: ExamPlan) -> list[Registration]:
    return list(s.scalars(select(Registration).where(Registration.plan_id == plan.id,
                                                     Registration.status == "registered")
                          .order_by(Registration.ticket_number)))


def panel_matrix(s: Session, mt: MarkingTask) -> tuple[list[int], list[list[float | None]]]:
    """(examiner account ids, rows of marks per candidate, None = not marked) for inter-rater statistics."""
    members = [a.account_id for a in panel(s, mt.session_id, mt.task)]
    by_reg: dict[int, dict[int, float]] = defaultdict(dict)
    for m in current_marks(s, mt.session_id, mt.task):
        by_reg[m.registration_id][m.examiner_account_id] = m.total
    rows = [[marks.get(a) for a in members] for _, marks in sorted(by_reg.items())]
    return members, rows


def panel_statistics(s: Session, mt: MarkingTask) -> dict[str, Any]:
    """ICC(2,1)/(2,k) over fully marked candidates and Krippendorff's interval alpha over all marks, per panel."""
    import numpy as np

    from scoring.psychometrics import examiner_severity, intraclass_correlation, krippendorff_alpha
    members, rows = panel_matrix(s, mt)
    out: dict[str, Any] = {"examiners": members, "n_candidates": len(rows), "icc2": None, "icc2k": None,
                           "alpha": None, "severity": None}
    if len(members) < 2 or not rows:
        return out
    x = np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=float)
    complete = x[~np.isnan(x).any(axis=1)]
    try:
        if complete.shape[0] >= 2:
            t = intraclass_correlation(complete)
            out["icc2"], out["icc2k"] = _finite(t.icc2.value), _finite(t.icc2k.value)
    except ValueError:
        pass
    try:
        out["alpha"] = _finite(krippendorff_alpha(x, "interval"))
    except ValueError:
        pass
    try:
        sev = examiner_severity(x)
        out["severity"] = [_finite(v) for v in sev.mean_deviation]
    except ValueError:
        pass
    return out


def _finite(v) -> float | None:
    import math
    v = float(v)
    return round(v, 4) if math.isfinite(v) else None


# --- subject results and the level decision --------------------------------------------------------------

def _theory_score(s: Session, plan: ExamPlan, subj: PlanSubject, person_id: int) -> tuple[float | None, dict]:
    sessions = [se.id for se in plan.sessions if se.subject_id == subj.id]
    if not sessions:
        return None, {"reason": "no session"}
    a = s.scalar(select(Attempt).where(Attempt.session_id.in_(sessions), Attempt.person_id == person_id,
                                       Attempt.status == "submitted", Attempt.score_awarded.is_not(None))
                 .order_by(Attempt.submitted_at.desc()).limit(1))
    if a is None or not a.score_max:
        return None, {"reason": "no scored attempt"}
    return round(a.score_awarded / a.score_max * subj.full_marks, 2), {"attempt_id": a.id,
                                                                       "awarded": a.score_awarded,
                                                                       "max": a.score_max}


def _practical_score(s: Session, plan: ExamPlan, subj: PlanSubject, reg: Registration) -> tuple[float | None, str,
                                                                                             dict]:
    tasks, got, total_w, source = [], 0.0, 0.0, "marking"
    for se in plan.sessions:
        if se.subject_id != subj.id:
            continue
        for task in se.task_list:
            mt = marking_task(s, se.id, task)
            if mt is None:
                tasks.append({"session_id": se.id, "task": task, "status": "not set up"})
                continue
            tm = task_mark(s, mt, reg.id)
            tasks.append({"session_id": se.id, "task": task, "status": tm.status, "points": tm.points,
                          "max_points": tm.max_points, "marks": list(tm.marks), "adjudication_id": tm.adjudication_id})
            if tm.points is not None:
                got += mt.weight * tm.points / tm.max_points
                total_w += mt.weight
            if tm.status == "adjudicated":
                source = "adjudication"
    if not tasks or any(t["status"] in ("not set up", "incomplete", "needs_adjudication") for t in tasks):
        return None, "none", {"tasks": tasks}
    return round(got / total_w * subj.full_marks, 2), source, {"tasks": tasks}


def _locked(s: Session, plan: ExamPlan) -> None:
    b = latest_batch(s, plan.id)
    if b is not None and b.status in LOCKING_BATCH:
        raise _err("plan_id", "results_submitted", "成绩已上报审核，不能重新计算", "results were submitted; they are locked",
                   Conflict)


def compute_subject_results(s: Session, actor: Actor, plan: ExamPlan, *, now: dt.datetime) -> list[SubjectResult]:
    """(Re)compute every candidate's subject results of a plan: theory from delivery's scored attempts, practical
    and review from the panels' aggregated or adjudicated marks; cancelled subjects are marked as such."""
    _locked(s, plan)
    existing = {(r.person_id, r.subject): r for r in s.scalars(select(SubjectResult)
                                                               .where(SubjectResult.plan_id == plan.id))}
    out, summary = [], []
    for reg in candidates(s, plan):
        cancelled = cancelled_subjects(s, reg.person_id, plan.id)
        for subj in plan.subjects:
            if subj.subject == "theory":
                score, detail = _theory_score(s, plan, subj, reg.person_id)
                source = "delivery" if score is not None else "none"
            else:
                score, source, detail = _practical_score(s, plan, subj, reg)
            is_cancelled = "*" in cancelled or subj.subject in cancelled
            passed = score is not None and not is_cancelled and score + 1e-9 >= subj.pass_mark
            r = existing.get((reg.person_id, subj.subject))
            if r is None:
                r = SubjectResult(plan_id=plan.id, person_id=reg.person_id, registration_id=reg.id,
                                  subject=subj.subject)
                s.add(r)
            r.score, r.pass_mark, r.passed, r.cancelled, r.source, r.detail, r.computed_at = (
                score, subj.pass_mark, passed, is_cancelled, source, detail, now)
            out.append(r)
            summary.append([reg.id, subj.subject, score, passed, is_cancelled])
    s.flush()
    audit.record(s, actor, "subject_result.compute", "exam_plan", plan.id,
                 {"results": summary, "n": len(summary)}, at=now)
    return out


def results_of(s: Session, plan_id: int, person_id: int | None = None) -> list[SubjectResult]:
    q = select(SubjectResult).where(SubjectResult.plan_id == plan_id)
    if person_id is not None:
        q = q.where(SubjectResult.person_id == person_id)
    return list(s.scalars(q.order_by(SubjectResult.registration_id, SubjectResult.id)))


def level_decisions(s: Session, plan: ExamPlan) -> dict[int, LevelDecision]:
    """Level decision per person from the stored subject results (pass marks as fixed at approval)."""
    required = [x.subject for x in plan.subjects]
    pass_marks = {x.subject: x.pass_mark for x in plan.subjects}
    by_person: dict[int, list[SubjectResult]] = defaultdict(list)
    for r in results_of(s, plan.id):
        by_person[r.person_id].append(r)
    out = {}
    for pid, rs in by_person.items():
        scores = {r.subject: r.score for r in rs}
        cancelled = {r.subject for r in rs if r.cancelled}
        out[pid] = decide_level(required, pass_marks, scores, cancelled)
    return out


# --- results batches: submit, audit, certify -------------------------------------------------------------

def latest_batch(s: Session, plan_id: int) -> ResultsBatch | None:
    return s.scalar(select(ResultsBatch).where(ResultsBatch.plan_id == plan_id).order_by(ResultsBatch.id.desc())
                    .limit(1))


def approved_batch(s: Session, plan_id: int) -> ResultsBatch | None:
    b = latest_batch(s, plan_id)
    return b if b is not None and b.status == "approved" else None


def submit_results_batch(s: Session, actor: Actor, plan: ExamPlan, *, now: dt.datetime, today: dt.date,
                         late_reason: str = "") -> ResultsBatch:
    """Send the plan's results (with each candidate's level decision) to the centre for audit."""
    _locked(s, plan)
    regs = candidates(s, plan)
    results = results_of(s, plan.id)
    have = {(r.person_id, r.subject) for r in results}
    missing = [reg.ticket_number for reg in regs for subj in plan.subjects if (reg.person_id, subj.subject) not in have]
    if not regs or missing:
        raise _err("plan_id", "results_missing", f"尚有考生未计算成绩：{'、'.join(missing[:5])}",
                   "compute the subject results first", Conflict)
    decisions = level_decisions(s, plan)
    by_person = defaultdict(dict)
    for r in results:
        by_person[r.person_id][r.subject] = {"score": r.score, "pass_mark": r.pass_mark, "passed": r.passed,
                                             "cancelled": r.cancelled, "source": r.source, "result_id": r.id}
    snapshot = {str(reg.person_id): {
        "registration_id": reg.id, "ticket_number": reg.ticket_number, "passed": decisions[reg.person_id].passed,
        "subjects": by_person[reg.person_id],
        "reasons": [{"subject": x.subject, "code": x.code, "zh": x.text_zh, "en": x.text_en}
                    for x in decisions[reg.person_id].reasons]} for reg in regs}
    digest = hashlib.sha256(canonical_json(snapshot).encode("utf-8")).hexdigest()
    b = ResultsBatch(plan_id=plan.id, status="submitted", snapshot=snapshot, digest=digest,
                     submitted_by=actor.account_id, submitted_at=now)
    s.add(b)
    s.flush()
    audit.record(s, actor, "results_batch.submit", "results_batch", b.id,
                 {"plan_id": plan.id, "digest": digest, "candidates": len(snapshot),
                  "passed": sum(1 for v in snapshot.values() if v["passed"])}, at=now)
    if plan.status == "closed":
        admin_ops.report_results(s, actor, plan, today=today, late_reason=late_reason)
    return b


def decide_batch(s: Session, actor: Actor, batch: ResultsBatch, *, approve: bool, reasons: str = "",
                 now: dt.datetime) -> ResultsBatch:
    """The centre's auditor approves a submitted batch, or returns it with reasons."""
    if actor.role != "center_auditor":
        raise _err("role", "not_auditor", "只有鉴定中心审核人员可以审核成绩", "only the centre's auditor decides", Forbidden)
    if batch.status != "submitted":
        raise _err("batch_id", "bad_status", "该批次已审核", f"the batch is already {batch.status}", Conflict)
    reasons = (reasons or "").strip()
    if not approve and len(reasons) < 4:
        raise _err("reasons", "required", "退回须说明理由", "returning a batch needs reasons")
    batch.status = "approved" if approve else "returned"
    batch.auditor_account_id, batch.decided_at, batch.reasons = actor.account_id, now, reasons
    s.flush()
    audit.record(s, actor, "results_batch." + ("approve" if approve else "return"), "results_batch", batch.id,
                 {"plan_id": batch.plan_id, "digest": batch.digest, "reasons": reasons}, at=now)
    plan = s.get(ExamPlan, batch.plan_id)
    if approve and plan.status == "reported":
        admin_ops.audit_plan(s, actor, plan, note=f"results batch {batch.id}")
    return batch


def certify_plan(s: Session, actor: Actor, plan: ExamPlan, *, issuer: Issuer, issue_date: dt.date,
                 today: dt.date | None = None, render_pdf: bool = False) -> list[Certificate]:
    """Issue certificates to everyone the approved batch passed; nothing is certified before approval.

    Idempotent: a certificate is keyed on (plan, registration) and a rerun returns the existing ones.
    """
    batch = approved_batch(s, plan.id)
    if batch is None:
        raise _err("plan_id", "not_audited", "成绩未经鉴定中心审核通过，不能发证",
                   "results must be approved by the centre before certificates are issued", Conflict)
    from itembank.core.people import Person
    out = []
    for pid, row in sorted(batch.snapshot.items(), key=lambda kv: kv[1]["ticket_number"]):
        if not row["passed"]:
            continue
        if cancelled_subjects(s, int(pid), plan.id):
            continue  # cancelled after approval (指引 art. 8): no certificate
        person = s.get(Person, int(pid))
        out.append(issue_certificate(s, actor, issuer=issuer, person=person, occupation=plan.occupation,
                                     work_type=plan.work_type, level=plan.level, site=plan.site,
                                     issue_date=issue_date, photo=person.photo, source_plan_id=plan.id,
                                     source_result_id=row["registration_id"], render_pdf=render_pdf, today=today))
    return out


def candidate_results(s: Session, person_id: int) -> list[dict[str, Any]]:
    """A candidate's audited results per plan: subject scores and the reasons of the decision."""
    out = []
    for b in s.scalars(select(ResultsBatch).where(ResultsBatch.status == "approved").order_by(ResultsBatch.id.desc())):
        row = b.snapshot.get(str(person_id))
        if row is None or any(x["plan"].id == b.plan_id for x in out):
            continue
        out.append({"plan": s.get(ExamPlan, b.plan_id), "batch": b, **row})
    return out
