"""Marking pages (tablet-friendly): the examiner's tasks and per-candidate rubric sheet with signature, the lead's
adjudication queue, the plan's results with inter-rater statistics, the centre's batch review, and the
candidate's results."""
from __future__ import annotations

import json

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from examserver.administration.models import ExamPlan, ExamSession
from itembank.core.db import utcnow
from itembank.core.errors import DomainError
from itembank.items import Item
from scoring.marking_models import ResultsBatch

from ..access import roles
from ..db import db_read, db_write
from . import api as mapi
from . import operations as ops

bp = Blueprint("marking", __name__, url_prefix="/marking")


def _float(v: str | None) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except ValueError:
        return None


@bp.get("/")
@roles("examiner")
def index():
    """The examiner's tasks and, for leads, how many candidates wait for adjudication."""
    with db_read() as s:
        rows = []
        for a in ops.examiner_tasks(s, g.principal.account_id):
            mt = ops.marking_task(s, a.session_id, a.task)
            rows.append({"assignment": a, "session": a.session, "plan": a.session.plan, "mt": mt})
        queue = ops.adjudication_queue(s, g.principal.account_id)
        return render_template("marking/index.html", rows=rows, queue_size=len(queue))


@bp.get("/tasks/<int:task_id>")
@roles("examiner")
def task(task_id: int):
    with db_read() as s:
        mt, se = mapi.task_of(s, task_id)
        me = g.principal.account_id
        rows = []
        for reg in ops.candidates(s, se.plan):
            marks = ops.current_marks(s, se.id, mt.task, reg.id)
            mine = next((m for m in marks if m.examiner_account_id == me), None)
            rows.append({"reg": reg, "mine": mine, "n": len(marks)})
        return render_template("marking/task.html", mt=mt, se=se, rows=rows,
                               panel_size=len(ops.panel(s, se.id, mt.task)))


@bp.route("/tasks/<int:task_id>/candidates/<int:registration_id>", methods=["GET", "POST"])
@roles("examiner")
def sheet(task_id: int, registration_id: int):
    """The rubric sheet: deductions per criterion (or points), veto, comment; signing asks for the password."""
    if request.method == "POST":
        f = request.form
        try:
            with db_write() as s:
                mt, se = mapi.task_of(s, task_id)
                reg = mapi.registration_of(s, se, registration_id)
                entries = []
                for i, c in enumerate(mt.rubric["criteria"]):
                    direct = _float(f.get(f"points_{i}"))
                    if direct is not None:
                        entries.append({"points": direct})
                        continue
                    ded = []
                    for j, _d in enumerate(c.get("deductions") or []):
                        n = f.get(f"d_{i}_{j}", type=int) or 0
                        if n > 0:
                            ded.append({"index": j, "count": n})
                    entries.append({"deductions": ded})
                ops.submit_mark(s, g.principal.actor, session=se, task=mt.task, registration=reg, entries=entries,
                                password=f.get("password", ""), now=utcnow(), veto=bool(f.get("veto")),
                                veto_reason=f.get("veto_reason", ""), comment=f.get("comment", ""),
                                supersedes_id=f.get("supersedes_id", type=int),
                                correction_reason=f.get("correction_reason", ""))
            flash(_("Mark signed."), "ok")
            return redirect(url_for("marking.sheet", task_id=task_id, registration_id=registration_id))
        except DomainError as e:
            flash(e.message, "error")
    with db_read() as s:
        mt, se = mapi.task_of(s, task_id)
        reg = mapi.registration_of(s, se, registration_id)
        marks = ops.visible_marks(s, g.principal.actor, session_id=se.id, task=mt.task, registration_id=reg.id)
        mine = next((m for m in marks if m.examiner_account_id == g.principal.account_id), None)
        complete = ops.all_signed(s, se.id, mt.task, reg.id)
        outcome = ops.task_mark(s, mt, reg.id) if complete else None
        return render_template("marking/sheet.html", mt=mt, se=se, reg=reg, marks=marks, mine=mine,
                               complete=complete, outcome=outcome)


@bp.route("/adjudication", methods=["GET", "POST"])
@roles("examiner")
def adjudication():
    if request.method == "POST":
        f = request.form
        try:
            with db_write() as s:
                mt, se = mapi.task_of(s, f.get("task_id", type=int) or 0)
                reg = mapi.registration_of(s, se, f.get("registration_id", type=int) or 0)
                ops.adjudicate(s, g.principal.actor, session=se, task=mt.task, registration=reg,
                               final_mark=_float(f.get("final_mark")), reason=f.get("reason", ""), now=utcnow())
            flash(_("Adjudication recorded."), "ok")
        except DomainError as e:
            flash(e.message, "error")
        return redirect(url_for("marking.adjudication"))
    with db_read() as s:
        queue = ops.adjudication_queue(s, g.principal.account_id)
        return render_template("marking/adjudication.html", queue=queue)


@bp.get("/plans")
@roles("agency_admin", "center_auditor", "admin")
def plans():
    with db_read() as s:
        q = select(ExamPlan).order_by(ExamPlan.first_day.desc())
        if g.principal.role == "agency_admin":
            q = q.where(ExamPlan.agency_id == g.principal.agency_id)
        return render_template("marking/plans.html", plans=s.scalars(q.limit(200)).all())


@bp.route("/plans/<int:plan_id>", methods=["GET", "POST"])
@roles("agency_admin", "center_auditor", "admin")
def plan(plan_id: int):
    """Task set-up, subject results, level decisions and inter-rater statistics per panel; submit to the centre."""
    if request.method == "POST":
        if g.principal.role != "agency_admin":
            abort(403)
        f = request.form
        action = f.get("action")
        try:
            with db_write() as s:
                p = mapi.plan_of(s, plan_id)
                a = g.principal.actor
                if action == "setup":
                    se = s.get(ExamSession, f.get("session_id", type=int) or 0)
                    if se is None or se.plan_id != p.id:
                        raise DomainError("not_found", _("Choose a session of this plan."), "session_id")
                    item = s.get(Item, f.get("item_id", type=int)) if f.get("item_id") else None
                    rubric = None
                    if item is None:
                        try:
                            rubric = json.loads(f.get("rubric") or "null")
                        except ValueError:
                            raise DomainError("bad_rubric", _("The rubric is not valid JSON."), "rubric") from None
                    ops.setup_task(s, a, session=se, task=f.get("task", ""), item=item, rubric=rubric,
                                   aggregation=f.get("aggregation", "mean"),
                                   spread_threshold=_float(f.get("spread_threshold")) or 0.0,
                                   lead_account_id=f.get("lead_account_id", type=int))
                    flash(_("Task set up."), "ok")
                elif action == "compute":
                    ops.compute_subject_results(s, a, p, now=utcnow())
                    flash(_("Results computed."), "ok")
                elif action == "submit":
                    ops.submit_results_batch(s, a, p, now=utcnow(), today=mapi._local_today(),
                                             late_reason=f.get("late_reason", ""))
                    flash(_("Results submitted to the centre for audit."), "ok")
                elif action == "certify":
                    from examserver.certification import keys
                    certs = ops.certify_plan(s, a, p, issuer=keys.issuer(), issue_date=mapi._local_today(),
                                             today=mapi._local_today())
                    flash(_("Certificates issued: %(n)s", n=len(certs)), "ok")
                else:
                    abort(400)
        except DomainError as e:
            flash(e.message, "error")
        return redirect(url_for("marking.plan", plan_id=plan_id))
    with db_read() as s:
        p = mapi.plan_of(s, plan_id)
        tasks = []
        for se in p.sessions:
            for t in se.task_list:
                mt = ops.marking_task(s, se.id, t)
                tasks.append({"session": se, "task": t, "mt": mt, "panel": ops.panel(s, se.id, t),
                              "stats": ops.panel_statistics(s, mt) if mt else None})
        results = ops.results_of(s, p.id)
        decisions = ops.level_decisions(s, p)
        by_person: dict[int, dict] = {}
        for r in results:
            by_person.setdefault(r.person_id, {})[r.subject] = r
        regs = {r.person_id: r for r in ops.candidates(s, p)}
        practical_items = s.scalars(select(Item).where(Item.agency_id == p.agency_id, Item.item_type == "practical",
                                                       Item.approved_version_id.is_not(None))
                                    .order_by(Item.code)).all()
        return render_template("marking/plan.html", plan=p, tasks=tasks, by_person=by_person, regs=regs,
                               decisions=decisions, batch=ops.latest_batch(s, p.id), items=practical_items)


@bp.get("/batches")
@roles("center_auditor", "admin")
def batches():
    with db_read() as s:
        rows = [(b, s.get(ExamPlan, b.plan_id)) for b in
                s.scalars(select(ResultsBatch).order_by(ResultsBatch.status != "submitted", ResultsBatch.id.desc())
                          .limit(200))]
        return render_template("marking/batches.html", rows=rows)


@bp.route("/batches/<int:batch_id>", methods=["GET", "POST"])
@roles("center_auditor", "admin")
def batch(batch_id: int):
    if request.method == "POST":
        if g.principal.role != "center_auditor":
            abort(403)
        try:
            with db_write() as s:
                b = s.get(ResultsBatch, batch_id) or abort(404)
                approve = request.form.get("decision") == "approve"
                ops.decide_batch(s, g.principal.actor, b, approve=approve, reasons=request.form.get("reasons", ""),
                                 now=utcnow())
            flash(_("Batch approved.") if approve else _("Batch returned to the agency."), "ok")
        except DomainError as e:
            flash(e.message, "error")
        return redirect(url_for("marking.batch", batch_id=batch_id))
    with db_read() as s:
        b = s.get(ResultsBatch, batch_id) or abort(404)
        p = s.get(ExamPlan, b.plan_id)
        stats = []
        for se in p.sessions:
            for t in se.task_list:
                mt = ops.marking_task(s, se.id, t)
                if mt:
                    stats.append({"task": t, "stats": ops.panel_statistics(s, mt)})
        rows = sorted(b.snapshot.values(), key=lambda r: r["ticket_number"])
        return render_template("marking/batch.html", batch=b, plan=p, rows=rows, stats=stats)


@bp.get("/my-results")
@roles("candidate")
def my_results():
    with db_read() as s:
        results = ops.candidate_results(s, mapi._person_of(s))
        return render_template("marking/my_results.html", results=results)
