"""Analysis pages: sessions with submitted attempts and their reports (score histogram, alpha, SEM, the item
table with flags, item characteristic curves and test information), and the bank's calibration runs.

The review-queue include (``analysis/_review_flags.html``) reads open flags through the template global
``analysis_review_flags()`` registered here.
"""
from __future__ import annotations

from flask import Blueprint, abort, g, render_template
from sqlalchemy import func, select

from examserver.administration.models import ExamPlan, ExamSession
from examserver.delivery.models import Attempt
from itembank.core.reference import Occupation
from itembank.items import Item
from scoring.psychometrics import FLAG_DESCRIPTIONS

from ..access import roles
from ..db import db_read
from . import operations
from .api import STAFF, get_run
from .models import ItemAnalysisRun

bp = Blueprint("analysis", __name__, url_prefix="/analysis")


def _agency() -> int:
    if g.principal.agency_id is None:
        abort(403)
    return g.principal.agency_id


@bp.app_template_global("analysis_review_flags")
def analysis_review_flags() -> list[dict]:
    """Open review flags of the signed-in staff member's agency (for the item bank's review queue)."""
    principal = getattr(g, "principal", None)
    if principal is None or principal.agency_id is None:
        return []
    with db_read() as s:
        return operations.open_flags(s, principal.agency_id)


@bp.get("/")
@roles(*STAFF)
def index():
    agency = _agency()
    with db_read() as s:
        rows = s.execute(select(ExamSession.id, ExamSession.name, ExamSession.starts_at, ExamPlan.title,
                                func.count(Attempt.id))
                         .join(ExamPlan, ExamPlan.id == ExamSession.plan_id)
                         .join(Attempt, Attempt.session_id == ExamSession.id)
                         .where(ExamPlan.agency_id == agency, Attempt.status == "submitted")
                         .group_by(ExamSession.id, ExamSession.name, ExamSession.starts_at, ExamPlan.title)
                         .order_by(ExamSession.starts_at.desc())).all()
        runs = s.scalars(select(ItemAnalysisRun).where(ItemAnalysisRun.agency_id == agency)
                         .order_by(ItemAnalysisRun.id.desc())).all()
        by_session: dict[int, list] = {}
        for r in runs:
            if r.session_id is not None:
                by_session.setdefault(r.session_id, []).append(r)
        calibrations = [r for r in runs if r.kind == "calibration"][:10]
        occupations = {o.id: o.name for o in s.scalars(select(Occupation))}
        return render_template("analysis/index.html", sessions=rows, by_session=by_session,
                               calibrations=calibrations, occupations=occupations)


@bp.get("/runs/<int:run_id>")
@roles(*STAFF)
def report(run_id: int):
    with db_read() as s:
        run = get_run(s, run_id, _agency())
        data = operations.run_out(run, with_items=True)
        codes = dict(s.execute(select(Item.id, Item.code)
                               .where(Item.id.in_([i["item_id"] for i in data["items"]]))).all()) \
            if data["items"] else {}
        curves = operations.curves(s, run) if run.kind == "classical" else None
        return render_template("analysis/report.html", run=data, codes=codes, curves=curves,
                               FLAGS=FLAG_DESCRIPTIONS)
