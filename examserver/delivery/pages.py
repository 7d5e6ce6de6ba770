"""Delivery pages: the candidate's exam (sign-in, identity, answering) and the proctor's live room dashboard.

The exam pages are open shells: they carry no data. Everything a candidate sees comes from the API and the
``/exam`` namespace with the attempt token the sign-in returns.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, g, render_template
from sqlalchemy import select

from itembank.core.db import utcnow

from examserver.administration.models import ExamPlan, ExamSession, PlanSubject

from ..access import public, roles
from ..db import db_read
from . import proctoring
from .operations import LOCAL_OFFSET

bp = Blueprint("delivery", __name__)


@bp.get("/exam")
@public("candidates sign in to the exam with ticket number, ID number and access code; the page holds no data")
def exam_login():
    return render_template("delivery/login.html")


@bp.get("/exam/sit")
@public("the exam page is a shell without data: everything comes with the attempt token over the API/socket")
def exam_sit():
    return render_template("delivery/exam.html")


@bp.get("/proctor")
@roles(*proctoring.PROCTOR_ROLES)
def proctor_sessions():
    """Theory sessions of the agency, today's first."""
    p = g.principal
    today = (utcnow() + LOCAL_OFFSET).date()
    with db_read() as s:
        q = (select(ExamSession).join(ExamPlan, ExamPlan.id == ExamSession.plan_id)
             .join(PlanSubject, PlanSubject.id == ExamSession.subject_id).where(PlanSubject.subject == "theory"))
        if p.role != "admin":
            q = q.where(ExamPlan.agency_id == p.agency_id)
        sessions = list(s.scalars(q.where(ExamSession.ends_at >= dt.datetime.combine(today, dt.time()))
                                  .order_by(ExamSession.starts_at).limit(100)))
        rows = [{"id": se.id, "name": se.name, "plan": se.plan.title, "starts_at": se.starts_at,
                 "ends_at": se.ends_at, "access_code": se.access_code,
                 "rooms": [{"id": r.room_id, "name": r.room.name} for r in se.rooms]} for se in sessions]
    return render_template("delivery/sessions.html", sessions=rows)


@bp.get("/proctor/sessions/<int:session_id>/rooms/<int:room_id>")
@roles(*proctoring.PROCTOR_ROLES)
def proctor_room(session_id: int, room_id: int):
    snap = proctoring.snapshot(g.principal, session_id, room_id)
    return render_template("delivery/proctor.html", snap=snap)
