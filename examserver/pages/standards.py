"""Skill standards page: versions per occupation and level, the element tree, import and export."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from itembank.core.errors import DomainError
from itembank.core.reference import LEVELS, Occupation
from itembank.standards import SkillStandard
from itembank.standards_io import COLUMNS

from ..access import roles
from ..api.standards import IMPORTERS, READERS, import_from_request
from ..db import db_read, db_write
from . import bp


@bp.get("/standards")
@roles(*READERS)
def standards_page():
    sel = request.args.get("id", type=int)
    with db_read() as s:
        stds = s.scalars(select(SkillStandard).order_by(SkillStandard.occupation_id, SkillStandard.level.desc(),
                                                        SkillStandard.id)).all()
        current = next((x for x in stds if x.id == sel), stds[-1] if stds else None)
        occupations = s.scalars(select(Occupation).order_by(Occupation.code)).all()
        return render_template("standards.html", standards=stds, current=current, occupations=occupations,
                               LEVELS=LEVELS, columns=COLUMNS, can_import=g.principal.role in IMPORTERS,
                               errors=None)


@bp.post("/standards")
@roles(*IMPORTERS)
def standards_import_page():
    try:
        with db_write() as s:
            std = import_from_request(s, g.principal.actor)
            new_id = std.id
    except DomainError as e:
        with db_read() as s:
            stds = s.scalars(select(SkillStandard).order_by(SkillStandard.occupation_id, SkillStandard.id)).all()
            occupations = s.scalars(select(Occupation).order_by(Occupation.code)).all()
            return render_template("standards.html", standards=stds, current=stds[-1] if stds else None,
                                   occupations=occupations, LEVELS=LEVELS, columns=COLUMNS, can_import=True,
                                   errors={"message": e.message, "rows": e.details.get("errors", [])}), e.status
    flash(_("Skill standard imported as a new version."))
    return redirect(url_for("pages.standards_page", id=new_id))
