"""Practical marking and results API: task rubrics, signed marks (blind), adjudication, subject results,
results batches for the centre's audit, certification from an approved batch, the candidate's results."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, g
from pydantic import BaseModel, Field
from sqlalchemy import select

from examserver.administration.models import ExamPlan, ExamSession, Registration
from itembank.core.errors import DomainError, Forbidden, NotFound
from itembank.core.db import utcnow
from itembank.items import Item
from scoring.marking_models import MarkingTask, PracticalMark, ResultsBatch

from ..access import require_agency, roles
from ..api import endpoint
from ..db import db_read, db_write
from . import operations as ops

STAFF = ("agency_admin", "center_auditor", "admin")


def _get(s, model, ident, field):
    obj = s.get(model, ident)
    if obj is None:
        raise NotFound("not_found", f"{model.__tablename__} {ident} 不存在 (not found)", field)
    return obj


def task_of(s, mt_id: int) -> tuple[MarkingTask, ExamSession]:
    mt = _get(s, MarkingTask, mt_id, "task_id")
    se = s.get(ExamSession, mt.session_id)
    if g.principal.role != "examiner":
        require_agency(se.plan.agency_id)
    elif not any(a.account_id == g.principal.account_id for a in ops.panel(s, se.id, mt.task)):
        raise Forbidden("not_assigned", "您未被安排评定该考核任务 (you are not on this task's panel)", "task_id")
    return mt, se


def plan_of(s, plan_id: int) -> ExamPlan:
    plan = _get(s, ExamPlan, plan_id, "plan_id")
    require_agency(plan.agency_id)
    return plan


def registration_of(s, se: ExamSession, reg_id: int) -> Registration:
    reg = s.get(Registration, reg_id)
    if reg is None or reg.plan_id != se.plan_id:
        raise NotFound("not_found", f"考生报名 {reg_id} 不在本计划 (not a registration of this plan)", "registration_id")
    return reg


def mark_out(m: PracticalMark) -> dict[str, Any]:
    return {"id": m.id, "registration_id": m.registration_id, "examiner_account_id": m.examiner_account_id,
            "total": m.total, "max_total": m.max_total, "veto": m.veto, "veto_reason": m.veto_reason,
            "points": m.points, "comment": m.comment, "signed_at": m.signed_at.isoformat(),
            "attestation": m.attestation, "supersedes_id": m.supersedes_id, "correction_reason": m.correction_reason}


def task_out(mt: MarkingTask) -> dict[str, Any]:
    return {"id": mt.id, "session_id": mt.session_id, "task": mt.task, "item_id": mt.item_id,
            "item_version_id": mt.item_version_id, "rubric": mt.rubric, "max_points": mt.max_points,
            "aggregation": mt.aggregation, "spread_threshold": mt.spread_threshold,
            "lead_account_id": mt.lead_account_id, "weight": mt.weight}


def batch_out(b: ResultsBatch) -> dict[str, Any]:
    return {"id": b.id, "plan_id": b.plan_id, "status": b.status, "digest": b.digest,
            "submitted_at": b.submitted_at.isoformat(), "decided_at": b.decided_at.isoformat() if b.decided_at else None,
            "reasons": b.reasons, "candidates": len(b.snapshot),
            "passed": sum(1 for v in b.snapshot.values() if v["passed"])}


class TaskIn(BaseModel):
    task: str = Field(min_length=1, max_length=200)
    item_id: int | None = None
    rubric: dict | None = None
    aggregation: str = Field(default="mean", pattern="^(mean|trimmed|median)$")
    spread_threshold: float = Field(default=10.0, ge=0, le=1000)
    lead_account_id: int | None = None
    weight: float = Field(default=1.0, gt=0, le=100)


class DeductionIn(BaseModel):
    index: int = Field(ge=0)
    count: int = Field(default=1, ge=1, le=100)


class CriterionIn(BaseModel):
    points: float | None = None
    deductions: list[DeductionIn] = []


class MarkIn(BaseModel):
    registration_id: int
    criteria: list[CriterionIn]
    password: str = Field(min_length=1, max_length=200, description="the examiner's password: signing re-authenticates")
    veto: bool = False
    veto_reason: str = Field(default="", max_length=300)
    comment: str = Field(default="", max_length=1000)
    supersedes_id: int | None = None
    correction_reason: str = Field(default="", max_length=500)


class AdjudicationIn(BaseModel):
    registration_id: int
    final_mark: float
    reason: str = Field(min_length=1, max_length=2000)


class BatchIn(BaseModel):
    late_reason: str = Field(default="", max_length=500)


class DecisionIn(BaseModel):
    approve: bool
    reasons: str = Field(default="", max_length=2000)


class CertifyIn(BaseModel):
    issue_date: dt.date


def criteria_entries(criteria: list[CriterionIn]) -> list[dict[str, Any]]:
    return [{"points": c.points} if c.points is not None else
            {"deductions": [d.model_dump() for d in c.deductions]} for c in criteria]


@endpoint("/marking/tasks", summary="Tasks I examine (examiner), with my marking progress")
@roles("examiner")
def marking_my_tasks():
    with db_read() as s:
        out = []
        for a in ops.examiner_tasks(s, g.principal.account_id):
            mt = ops.marking_task(s, a.session_id, a.task)
            out.append({"session_id": a.session_id, "session": a.session.name, "plan_id": a.plan_id, "task": a.task,
                        "task_id": mt.id if mt else None, "lead": bool(mt and mt.lead_account_id == a.account_id)})
        return {"tasks": out}


@endpoint("/marking/sessions/<int:session_id>/tasks", "PUT", summary="Set up a task's rubric, aggregation and lead",
          body=TaskIn)
@roles("agency_admin")
def marking_set_up_task(session_id: int, body: TaskIn):
    with db_write() as s:
        se = _get(s, ExamSession, session_id, "session_id")
        require_agency(se.plan.agency_id)
        item = _get(s, Item, body.item_id, "item_id") if body.item_id is not None else None
        if item is None and body.rubric is None:
            raise DomainError("required", "请选择操作技能题或给出评分标准 (give an item or a rubric)", "rubric")
        mt = ops.setup_task(s, g.principal.actor, session=se, task=body.task, item=item, rubric=body.rubric,
                            aggregation=body.aggregation, spread_threshold=body.spread_threshold,
                            lead_account_id=body.lead_account_id, weight=body.weight)
        return task_out(mt)


@endpoint("/marking/tasks/<int:task_id>", summary="A task's rubric and rules")
@roles("examiner", *STAFF)
def marking_get_task(task_id: int):
    with db_read() as s:
        mt, _ = task_of(s, task_id)
        return task_out(mt)


@endpoint("/marking/tasks/<int:task_id>/marks", "POST", summary="Sign a mark (re-authenticates with the password)",
          body=MarkIn, status=201)
@roles("examiner")
def marking_sign_mark(task_id: int, body: MarkIn):
    with db_write() as s:
        mt, se = task_of(s, task_id)
        reg = registration_of(s, se, body.registration_id)
        m = ops.submit_mark(s, g.principal.actor, session=se, task=mt.task, registration=reg,
                            entries=criteria_entries(body.criteria), password=body.password, now=utcnow(),
                            veto=body.veto, veto_reason=body.veto_reason, comment=body.comment,
                            supersedes_id=body.supersedes_id, correction_reason=body.correction_reason)
        return mark_out(m)


@endpoint("/marking/tasks/<int:task_id>/candidates/<int:registration_id>/marks",
          summary="Marks of a candidate I may read (blind until the whole panel has signed)")
@roles("examiner", *STAFF)
def marking_candidate_marks(task_id: int, registration_id: int):
    with db_read() as s:
        mt, se = task_of(s, task_id)
        reg = registration_of(s, se, registration_id)
        marks = ops.visible_marks(s, g.principal.actor, session_id=se.id, task=mt.task, registration_id=reg.id)
        complete = ops.all_signed(s, se.id, mt.task, reg.id)
        tm = ops.task_mark(s, mt, reg.id) if complete or g.principal.role != "examiner" else None
        return {"marks": [mark_out(m) for m in marks], "panel_complete": complete,
                "outcome": None if tm is None else {"status": tm.status, "points": tm.points, "spread": tm.spread,
                                                    "reasons": list(tm.reasons)}}


@endpoint("/marking/tasks/<int:task_id>/adjudications", "POST", summary="Adjudicate a disagreeing panel (lead)",
          body=AdjudicationIn, status=201)
@roles("examiner")
def marking_adjudicate(task_id: int, body: AdjudicationIn):
    with db_write() as s:
        mt, se = task_of(s, task_id)
        reg = registration_of(s, se, body.registration_id)
        a = ops.adjudicate(s, g.principal.actor, session=se, task=mt.task, registration=reg,
                           final_mark=body.final_mark, reason=body.reason, now=utcnow())
        return {"id": a.id, "final_mark": a.final_mark, "reason": a.reason, "mark_ids": a.mark_ids}


@endpoint("/marking/adjudications", summary="My adjudication queue (lead examiner)")
@roles("examiner")
def marking_adjudication_queue():
    with db_read() as s:
        return {"queue": [{"task_id": mt.id, "task": mt.task, "registration_id": reg.id,
                           "ticket_number": reg.ticket_number, "marks": list(tm.marks), "spread": tm.spread,
                           "reasons": list(tm.reasons)}
                          for mt, reg, tm in ops.adjudication_queue(s, g.principal.account_id)]}


@endpoint("/marking/plans/<int:plan_id>/results/compute", "POST", summary="Compute subject results of a plan")
@roles("agency_admin")
def marking_compute_results(plan_id: int):
    with db_write() as s:
        plan = plan_of(s, plan_id)
        rs = ops.compute_subject_results(s, g.principal.actor, plan, now=utcnow())
        return {"computed": len(rs)}


@endpoint("/marking/plans/<int:plan_id>/results", summary="Subject results and level decisions of a plan")
@roles(*STAFF)
def marking_plan_results(plan_id: int):
    with db_read() as s:
        plan = plan_of(s, plan_id)
        decisions = ops.level_decisions(s, plan)
        rows: dict[int, dict] = {}
        for r in ops.results_of(s, plan.id):
            row = rows.setdefault(r.person_id, {"person_id": r.person_id, "registration_id": r.registration_id,
                                                "subjects": {}})
            row["subjects"][r.subject] = {"score": r.score, "pass_mark": r.pass_mark, "passed": r.passed,
                                          "cancelled": r.cancelled, "source": r.source}
        for pid, row in rows.items():
            d = decisions[pid]
            row["passed"] = d.passed
            row["reasons"] = [{"subject": x.subject, "code": x.code, "zh": x.text_zh, "en": x.text_en}
                              for x in d.reasons]
        b = ops.latest_batch(s, plan.id)
        return {"results": list(rows.values()), "batch": batch_out(b) if b else None}


@endpoint("/marking/plans/<int:plan_id>/statistics", summary="Inter-rater statistics per panel (ICC, alpha)")
@roles(*STAFF)
def marking_plan_statistics(plan_id: int):
    with db_read() as s:
        plan = plan_of(s, plan_id)
        out = []
        for se in plan.sessions:
            for task in se.task_list:
                mt = ops.marking_task(s, se.id, task)
                if mt is not None:
                    out.append({"task_id": mt.id, "task": task, **ops.panel_statistics(s, mt)})
        return {"panels": out}


@endpoint("/marking/plans/<int:plan_id>/batches", "POST", summary="Submit the plan's results to the centre",
          body=BatchIn, status=201)
@roles("agency_admin")
def marking_submit_batch(plan_id: int, body: BatchIn):
    with db_write() as s:
        plan = plan_of(s, plan_id)
        now = utcnow()
        b = ops.submit_results_batch(s, g.principal.actor, plan, now=now, today=_local_today(),
                                     late_reason=body.late_reason)
        return batch_out(b)


def _local_today() -> dt.date:
    from examserver.administration.operations import local_today
    return local_today()


@endpoint("/marking/batches", summary="Results batches (submitted ones first)")
@roles(*STAFF)
def marking_list_batches():
    with db_read() as s:
        q = select(ResultsBatch).order_by(ResultsBatch.id.desc()).limit(200)
        out = []
        for b in s.scalars(q):
            plan = s.get(ExamPlan, b.plan_id)
            if g.principal.role in ("admin", "center_auditor") or plan.agency_id == g.principal.agency_id:
                out.append(batch_out(b))
        return {"batches": out}


@endpoint("/marking/batches/<int:batch_id>/decision", "POST", summary="Approve or return a results batch (centre)",
          body=DecisionIn)
@roles("center_auditor")
def marking_decide(batch_id: int, body: DecisionIn):
    with db_write() as s:
        b = _get(s, ResultsBatch, batch_id, "batch_id")
        ops.decide_batch(s, g.principal.actor, b, approve=body.approve, reasons=body.reasons, now=utcnow())
        return batch_out(b)


@endpoint("/marking/plans/<int:plan_id>/certificates", "POST", summary="Issue certificates from the approved batch",
          body=CertifyIn, status=201)
@roles("agency_admin")
def marking_certify(plan_id: int, body: CertifyIn):
    from examserver.certification import keys
    with db_write() as s:
        plan = plan_of(s, plan_id)
        certs = ops.certify_plan(s, g.principal.actor, plan, issuer=keys.issuer(), issue_date=body.issue_date,
                                 today=_local_today())
        return {"issued": [{"id": c.id, "number": c.number, "person_id": c.person_id} for c in certs]}


@endpoint("/marking/my-results", summary="My audited results: subject scores and the reasons")
@roles("candidate")
def marking_my_results():
    with db_read() as s:
        person_id = _person_of(s)
        return {"results": [{"plan_id": r["plan"].id, "plan": r["plan"].title, "level": r["plan"].level,
                             "passed": r["passed"], "subjects": r["subjects"], "reasons": r["reasons"]}
                            for r in ops.candidate_results(s, person_id)]}


def _person_of(s) -> int:
    from itembank.core.people import Account
    acc = s.get(Account, g.principal.account_id)
    if acc is None:
        abort(403)
    return acc.person_id
