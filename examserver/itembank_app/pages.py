"""Item-bank pages: bank browser, item editor with live preview, review queue, blueprint builder with
coverage and assembly, form comparison, paper review and sealing, import/export.

Pages render the frame and the data the first paint needs; the interactive parts call the
item-bank API (``examserver/itembank_app/api.py``) with ``window.skillcert.api``.
"""
from __future__ import annotations

from flask import Blueprint, abort, g, render_template
from sqlalchemy import select

from itembank import blueprints as bps
from itembank import items as bank
from itembank import papers
from itembank.core.reference import AgencyScope
from itembank.standards import SkillStandard

from ..access import roles
from ..db import db_read

bp = Blueprint("itembank", __name__, url_prefix="/itembank")
STAFF = ("item_writer", "item_reviewer", "agency_admin")


def _standards(s) -> list[SkillStandard]:
    if g.principal.agency_id is None:
        abort(403)
    occ = select(AgencyScope.occupation_id).where(AgencyScope.agency_id == g.principal.agency_id)
    return s.scalars(select(SkillStandard).where(SkillStandard.occupation_id.in_(occ))
                     .order_by(SkillStandard.level.desc())).all()


def _ctx(s) -> dict:
    stds = _standards(s)
    return {"standards": [{"id": x.id, "label": f"{x.occupation.name} {x.level}级 · {x.title}", "level": x.level}
                          for x in stds],
            "ITEM_TYPES": bank.ITEM_TYPES, "STATUSES": bank.STATUSES, "SOURCES": bank.SOURCES,
            "PAPER_STATUSES": papers.PAPER_STATUSES}


@bp.get("/")
@roles(*STAFF)
def browser():
    with db_read() as s:
        return render_template("itembank/browser.html", **_ctx(s))


@bp.get("/items/new")
@roles("item_writer")
def new_item():
    with db_read() as s:
        return render_template("itembank/editor.html", item_id=None, **_ctx(s))


@bp.get("/items/<int:item_id>")
@roles(*STAFF)
def edit_item(item_id: int):
    with db_read() as s:
        bank.get_item(s, item_id, g.principal.agency_id)
        return render_template("itembank/editor.html", item_id=item_id, **_ctx(s))


@bp.get("/review")
@roles("item_reviewer", "item_writer")
def review_queue():
    with db_read() as s:
        return render_template("itembank/review.html", **_ctx(s))


@bp.get("/blueprints")
@roles(*STAFF)
def blueprints():
    with db_read() as s:
        rows = s.scalars(select(bps.ExamBlueprint).where(bps.ExamBlueprint.agency_id == g.principal.agency_id)
                         .order_by(bps.ExamBlueprint.id)).all()
        runs = {b.id: s.scalars(select(papers.AssemblyRun).where(papers.AssemblyRun.blueprint_id == b.id)
                                .order_by(papers.AssemblyRun.id.desc()).limit(5)).all() for b in rows}
        return render_template("itembank/blueprints.html", blueprints=rows, runs=runs, **_ctx(s))


@bp.get("/blueprints/new")
@roles("item_writer")
def new_blueprint():
    with db_read() as s:
        return render_template("itembank/builder.html", blueprint_id=None, **_ctx(s))


@bp.get("/blueprints/<int:blueprint_id>")
@roles(*STAFF)
def builder(blueprint_id: int):
    with db_read() as s:
        bps.get_blueprint(s, blueprint_id, g.principal.agency_id)
        return render_template("itembank/builder.html", blueprint_id=blueprint_id, **_ctx(s))


@bp.get("/runs/<int:run_id>")
@roles(*STAFF)
def comparison(run_id: int):
    with db_read() as s:
        run = s.get(papers.AssemblyRun, run_id)
        if run is None or run.agency_id != g.principal.agency_id:
            abort(404)
        return render_template("itembank/comparison.html", run=papers.run_out(run), blueprint=run.blueprint,
                               **_ctx(s))


@bp.get("/papers/<int:paper_id>")
@roles("item_writer", "item_reviewer")
def paper(paper_id: int):
    with db_read() as s:
        p = papers.get_paper(s, paper_id, g.principal.agency_id)
        return render_template("itembank/paper.html", paper=papers.paper_out(p, with_items=True, with_key=True),
                               digest_ok=papers.verify_paper(p), **_ctx(s))


@bp.get("/import")
@roles("item_writer", "item_reviewer")
def import_page():
    with db_read() as s:
        return render_template("itembank/import.html", **_ctx(s))
