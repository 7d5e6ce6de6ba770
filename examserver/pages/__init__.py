"""Server-rendered pages: sign-in, each role's landing page, the audit trail, health."""
from __future__ import annotations

import datetime as dt

from flask import (Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from sqlalchemy import func, select, text

from itembank.core import directory
from itembank.core.audit import AuditCheckpoint, AuditRecord
from itembank.core.idcard import ID_TYPES, mask_id_number
from itembank.core.people import ROLES, Account, Person, RoleGrant
from itembank.core.reference import LEVELS, Agency, Occupation, Room, Site

from .. import __version__
from ..access import public, roles, signed_in
from ..db import db_read, db_write
from ..extensions import login_limits
from ..services import audit_query, audit_verify

bp = Blueprint("pages", __name__)
# The landing page each role sees first (roles that do the same kind of work share one).
LANDING = {"admin": "overview", "center_auditor": "overview", "agency_admin": "agency_admin",
           "item_writer": "itembank", "item_reviewer": "itembank", "proctor": "rooms", "chief_proctor": "rooms",
           "examiner": "qualification", "supervisor": "qualification", "candidate": "candidate"}


@bp.get("/healthz")
@public("load balancers and monitoring probe it without credentials")
def healthz():
    settings = current_app.config["SKILLCERT_SETTINGS"]
    out = {"version": __version__, "profile": settings.profile, "db": False}
    try:
        with db_read() as s:
            s.execute(text("SELECT 1"))
        out["db"] = True
    except Exception as e:  # noqa: BLE001 - reported, not raised
        out["db_error"] = type(e).__name__
    if settings.redis_url:
        import redis
        try:
            out["redis"] = bool(redis.Redis.from_url(settings.redis_url, socket_timeout=2).ping())
        except Exception as e:  # noqa: BLE001
            out["redis"], out["redis_error"] = False, type(e).__name__
    ok = out["db"] and out.get("redis", True)
    return jsonify(ok=ok, **out), 200 if ok else 503


@bp.route("/login", methods=["GET", "POST"])
@login_limits
@public("the sign-in page must be reachable before signing in")
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "")
        with db_write() as s:
            acc = directory.authenticate(s, username, request.form.get("password", ""))
            if acc is None:
                error = _("Wrong username or password.")
            else:
                grants = acc.active_grants()
                if not grants:
                    error = _("This account holds no role.")
                else:
                    grant = grants[0]
                    wanted = request.form.get("role")
                    grant = next((gr for gr in grants if gr.role == wanted), grant)
                    directory.record_login(s, acc, grant.role)
                    lang = session.get("lang")
                    session.clear()
                    if lang:
                        session["lang"] = lang
                    session.update(account_id=acc.id, grant_id=grant.id, token_version=acc.token_version)
                    session.permanent = False
        if error is None:
            nxt = request.args.get("next", "")
            return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else url_for("pages.home"))
    return render_template("login.html", error=error), 401 if error else 200


@bp.post("/logout")
@signed_in()
def logout():
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("pages.login"))


@bp.post("/role")
@signed_in()
def switch_role():
    """Act in another role held by the same account."""
    try:
        grant_id = int(request.form.get("grant_id", ""))
    except ValueError:
        abort(400, "grant_id must be a number")
    with db_read() as s:
        grant = s.get(RoleGrant, grant_id)
        if grant is None or grant.account_id != g.principal.account_id or grant.revoked_at is not None:
            abort(403)
    session["grant_id"] = grant_id
    return redirect(url_for("pages.home"))


@bp.get("/")
@signed_in()
def home():
    p = g.principal
    with db_read() as s:
        acc = s.get(Account, p.account_id)
        person = acc.person
        ctx = {"account": acc, "person": person, "grants": acc.active_grants(),
               "masked_id": mask_id_number(person.id_number), "LEVELS": LEVELS, "ID_TYPES": ID_TYPES}
        agency = s.get(Agency, p.agency_id) if p.agency_id else None
        ctx["agency"] = agency
        ctx.update(_landing_data(s, p, agency))
        return render_template(f"landing/{LANDING[p.role]}.html", **ctx)


def _landing_data(s, p, agency) -> dict:
    """What each role needs to see first."""
    from itembank.standards import SkillStandard
    data: dict = {}
    if p.role in ("admin", "center_auditor"):
        data["agencies"] = s.scalars(select(Agency).order_by(Agency.id)).all()
        data["audit_count"] = s.scalar(select(func.count(AuditRecord.id)))
        data["last_checkpoint"] = s.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1))
        data["role_counts"] = dict(s.execute(select(RoleGrant.role, func.count()).where(
            RoleGrant.revoked_at.is_(None)).group_by(RoleGrant.role)).all())
        data["occupations"] = s.scalars(select(Occupation).order_by(Occupation.code)).all()
    if agency is not None:
        data["role_counts"] = dict(s.execute(select(RoleGrant.role, func.count()).where(
            RoleGrant.revoked_at.is_(None), RoleGrant.agency_id == agency.id).group_by(RoleGrant.role)).all())
        data["rooms"] = s.scalars(select(Room).join(Site).where(Site.agency_id == agency.id).order_by(Room.id)).all()
    if p.role in ("item_writer", "item_reviewer") and agency is not None:
        occ_ids = {sc.occupation_id for sc in agency.scope}
        data["standards"] = s.scalars(select(SkillStandard).where(SkillStandard.occupation_id.in_(occ_ids))
                                      .order_by(SkillStandard.occupation_id, SkillStandard.level.desc())).all()
    if p.role in ("examiner", "supervisor"):
        data["grant"] = s.get(RoleGrant, p.grant_id)
    if p.role == "candidate":
        from examserver.administration.models import Registration  # the candidate's own registrations only
        person_id = s.get(Account, p.account_id).person_id
        data["registrations"] = s.scalars(select(Registration).where(Registration.person_id == person_id)
                                          .order_by(Registration.id.desc())).all()
    if p.role == "agency_admin" and agency is not None:
        data["staff"] = s.execute(select(Person.name, Account.username, RoleGrant.role, RoleGrant.held_level,
                                         RoleGrant.title)
                                  .join(Account, Account.person_id == Person.id)
                                  .join(RoleGrant, RoleGrant.account_id == Account.id)
                                  .where(RoleGrant.agency_id == agency.id, RoleGrant.revoked_at.is_(None),
                                         RoleGrant.role != "candidate")
                                  .order_by(RoleGrant.role, Person.name)).all()
    return data


def _parse_dt(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        abort(400, f"not a date/time: {value!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)")


@bp.get("/audit")
@roles("admin", "center_auditor")
def audit_page():
    a = request.args
    try:
        page = max(1, int(a.get("page", "1")))
    except ValueError:
        abort(400, "page must be a number")
    filters = {k: (a.get(k) or None) for k in ("object_type", "object_id", "actor", "action")}
    since, until = _parse_dt(a.get("since")), _parse_dt(a.get("until"))
    per = 50
    with db_read() as s:
        rows, total = audit_query(s, **filters, since=since, until=until, limit=per, offset=(page - 1) * per)
        types = [t for (t,) in s.execute(select(AuditRecord.object_type).distinct().order_by(AuditRecord.object_type))]
    return render_template("audit.html", rows=rows, total=total, page=page, per=per, filters=filters,
                           since=a.get("since", ""), until=a.get("until", ""), object_types=types)


@bp.get("/audit/verify")
@roles("admin", "center_auditor")
def audit_verify_page():
    """Read-only: walks the chain (a GET, so the language switch and reloads work on this page)."""
    rep = audit_verify()
    return render_template("audit_verify.html", rep=rep)


from . import standards  # noqa: E402,F401  (register the skill-standard pages on bp)
