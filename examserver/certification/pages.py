"""Certificate pages: public verification, the holder's certificates, the agency's and centre's list.

``/verify`` and ``/verify/<number>`` (where the QR code points) are public on purpose: they show
one certificate found by its exact number, as printed, with the ID number masked, and whether it
is valid or revoked (and since when). They share one rate limit per client address.
``/verify/public-key.pem`` publishes the key that signs electronic certificates.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from itembank.core.errors import DomainError, NotFound
from itembank.core.people import Account, Person, RoleGrant
from itembank.core.reference import Agency, Occupation, Site, WorkType
from scoring.certificates import LEVELS, mask_id_number
from scoring.certification import (Certificate, CertificateBatch, batch_progress, issue_certificate,
                                   revoke_certificate, verification_view)

from ..access import public, require_agency, roles
from ..db import db_read, db_write
from ..extensions import limiter
from . import keys, tasks  # noqa: F401  (tasks: registers the Celery tasks in every worker, which builds the app)
from .api import (READERS, STAFF, pdf_response, person_id_of_principal, readable_or_404, require_audited,
                  verify_rate_limit)

bp = Blueprint("certification", __name__)
bp.record_once(lambda state: keys.configure(state.app))

_verify_limit = limiter.shared_limit(verify_rate_limit, scope="certificate-verify")


@bp.get("/verify")
@public("the public verification form: a certificate holder or employer checks a certificate by its number")
def verify_form():
    number = (request.args.get("no") or request.args.get("number") or "").strip()
    if number:  # the form, and the ?no= form of scoring.certificates.verification_url
        return redirect(url_for("certification.verify_page", number="".join(number.split()).upper()))
    return render_template("certification/verify.html")


@bp.get("/verify/public-key.pem")
@public("the public key that signs electronic certificates must be published so anyone can check them offline")
def public_key():
    return Response(keys.public_pem(), mimetype="application/x-pem-file",
                    headers={"Content-Disposition": 'inline; filename="certificate_public_key.pem"'})


@bp.get("/verify/<number>")
@_verify_limit
@public("the QR code on every certificate points here; shows one certificate by exact number, ID masked")
def verify_page(number: str):
    error, status, view = None, 200, None
    try:
        with db_read() as s:
            view = verification_view(s, number, public_key=keys.issuer().public_key)
    except NotFound:
        error, status = _("No certificate has this number."), 404
    except DomainError as e:
        error, status = e.message, 400
    return render_template("certification/verify_result.html", view=view, number=number, error=error,
                           LEVELS=LEVELS), status


# --- the holder -----------------------------------------------------------------------------------------

@bp.get("/certificates/mine")
@roles("candidate")
def mine():
    with db_read() as s:
        pid = person_id_of_principal(s)
        certs = s.scalars(select(Certificate).where(Certificate.person_id == pid)
                          .order_by(Certificate.issue_date.desc(), Certificate.id.desc())).all()
    return render_template("certification/mine.html", certs=certs, LEVELS=LEVELS)


@bp.get("/certificates/<int:cert_id>/certificate.pdf")
@roles(*READERS)
def download_pdf(cert_id: int):
    return pdf_response(cert_id)


@bp.get("/certificates/<int:cert_id>/certificate.json")
@roles(*READERS)
def download_json(cert_id: int):
    import json
    with db_read() as s:
        cert = readable_or_404(s, cert_id)
        body = json.dumps(cert.envelope, ensure_ascii=False, indent=2, sort_keys=True)
        number = cert.number
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{number}.json"'})


# --- agency and centre --------------------------------------------------------------------------------

PER_PAGE = 50


@bp.get("/certificates/manage")
@roles(*STAFF)
def manage():
    p = g.principal
    a = request.args
    try:
        page = max(1, int(a.get("page", "1")))
    except ValueError:
        abort(400, "page must be a number")
    status = a.get("status") if a.get("status") in ("valid", "revoked") else None
    number = "".join((a.get("number") or "").split()).upper()
    with db_read() as s:
        q = select(Certificate)
        bq = select(CertificateBatch)
        if p.role == "agency_admin":
            q = q.where(Certificate.agency_id == p.agency_id)
            bq = bq.where(CertificateBatch.agency_id == p.agency_id)
        if status:
            q = q.where(Certificate.status == status)
        if number:
            q = q.where(Certificate.number == number)
        total = s.scalar(select(func.count()).select_from(q.subquery()))
        certs = s.scalars(q.order_by(Certificate.id.desc()).limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
        batches = [batch_progress(s, b) for b in s.scalars(bq.order_by(CertificateBatch.id.desc()).limit(10))]
        form = _issue_form_data(s, p.agency_id) if p.role == "agency_admin" else None
        agencies = dict(s.execute(select(Agency.id, Agency.name)).all())
    masked = {c.id: mask_id_number(c.data["id_number"]) for c in certs}
    return render_template("certification/manage.html", certs=certs, masked=masked, total=total, page=page, per=PER_PAGE,
                           status=status, number=number, batches=batches, form=form, agencies=agencies,
                           LEVELS=LEVELS, today=dt.date.today().isoformat())


def _issue_form_data(s, agency_id: int) -> dict:
    agency = s.get(Agency, agency_id)
    candidates = s.execute(select(Person.id, Person.name, Account.username)
                           .join(Account, Account.person_id == Person.id)
                           .join(RoleGrant, RoleGrant.account_id == Account.id)
                           .where(RoleGrant.agency_id == agency_id, RoleGrant.role == "candidate",
                                  RoleGrant.revoked_at.is_(None))
                           .order_by(Account.username)).all()
    from examserver.administration.models import ExamPlan
    from examserver.marking.operations import approved_batch
    plans = [(pl.id, pl.title, pl.occupation, pl.work_type, pl.level)
             for pl in s.scalars(select(ExamPlan).where(ExamPlan.agency_id == agency_id).order_by(ExamPlan.id.desc()))
             if approved_batch(s, pl.id) is not None]
    sites = [(st.id, st.name, st.code_prefix) for st in agency.sites]
    return {"agency": agency, "sites": sites, "candidates": candidates, "plans": plans}


@bp.post("/certificates/issue")
@roles("agency_admin")
def issue_form():
    """One certificate from a plan whose results the centre approved, to a person that plan passed (the same
    gate as the API: :func:`~examserver.certification.api.require_audited`); occupation, work type and level
    are the plan's, and like the batch path it is keyed on (plan, registration): a second request returns the
    certificate already issued."""
    from examserver.administration.models import ExamPlan, Registration
    from examserver.marking.operations import approved_batch
    f = request.form
    try:
        person_id, site_id, plan_id = int(f.get("person_id", "")), int(f.get("site_id", "")), int(f.get("plan_id", ""))
        issue_date = dt.date.fromisoformat(f.get("issue_date", ""))
    except ValueError:
        flash(_("Choose a candidate, a site, an approved plan and an issue date."), "error")
        return redirect(url_for("certification.manage"))
    try:
        with db_write() as s:
            site, plan, person = s.get(Site, site_id), s.get(ExamPlan, plan_id), s.get(Person, person_id)
            if site is None or plan is None or person is None:
                raise NotFound("not_found", _("Candidate, site or plan not found."), "person_id")
            require_agency(site.agency_id)
            require_agency(plan.agency_id)
            require_audited(s, plan.id, [person.id])
            row = approved_batch(s, plan.id).snapshot[str(person.id)]
            registration_id = row.get("registration_id") or s.scalar(select(Registration.id).where(
                Registration.plan_id == plan.id, Registration.person_id == person.id))
            if registration_id is None:
                raise NotFound("not_registered", _("The candidate is not registered in this plan."), "person_id")
            cert = issue_certificate(s, g.principal.actor, issuer=keys.issuer(), person=person,
                                     occupation=plan.occupation, work_type=plan.work_type, level=plan.level,
                                     site=site, issue_date=issue_date, photo=person.photo, source_plan_id=plan.id,
                                     source_result_id=registration_id, today=dt.date.today())
            number = cert.number
    except DomainError as e:
        flash(e.message, "error")
        return redirect(url_for("certification.manage"))
    flash(_("Certificate %(number)s issued.", number=number), "ok")
    return redirect(url_for("certification.manage", number=number))


@bp.post("/certificates/<int:cert_id>/revoke")
@roles(*STAFF)
def revoke_form(cert_id: int):
    f = request.form
    try:
        on = dt.date.fromisoformat(f.get("on") or dt.date.today().isoformat())
    except ValueError:
        flash(_("The revocation date must be YYYY-MM-DD."), "error")
        return redirect(url_for("certification.manage"))
    try:
        with db_write() as s:
            cert = s.get(Certificate, cert_id)
            if cert is None:
                abort(404)
            require_agency(cert.agency_id)
            revoke_certificate(s, g.principal.actor, cert, f.get("reason", ""), on)
            number = cert.number
    except DomainError as e:
        flash(e.message, "error")
        return redirect(url_for("certification.manage"))
    flash(_("Certificate %(number)s revoked.", number=number), "ok")
    return redirect(url_for("certification.manage", number=number))
