"""Certificates over the JSON API.

Public on purpose, and only this: ``GET /certificates/<number>/verify`` answers for one exact
certificate number (what the certificate prints, ID number masked, status, signature check),
rate-limited; there is no public listing and no search by name (指引 art. 15). Everything else
needs a sign-in: the holder reads and downloads their own certificates, the agency issues,
revokes and exports within its own agency, the centre auditor revokes and exports anywhere.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from flask import Response, current_app, g
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from itembank.core.errors import Conflict, DomainError, NotFound
from itembank.core.people import Account, Person
from itembank.core.reference import Occupation, Site, WorkType
from scoring.certification import (Certificate, CertificateBatch, batch_progress, certificate_view, create_batch,
                                   ensure_pdf, export_for_national_upload, issue_certificate, revoke_certificate,
                                   verification_view)

from ..access import public, require_agency, roles
from ..api import endpoint
from ..api.schemas import Page
from ..db import db_read, db_write
from . import keys

STAFF = ("agency_admin", "center_auditor")
READERS = ("candidate", "agency_admin", "center_auditor", "admin")
DEFAULT_VERIFY_LIMIT = "30 per minute"


def verify_rate_limit() -> str:
    """Budget of public look-ups per client address: app config ``CERT_VERIFY_RATE_LIMIT``, else the
    environment variable ``SKILLCERT_VERIFY_RATE_LIMIT``, else 30 per minute."""
    import os
    return (current_app.config.get("CERT_VERIFY_RATE_LIMIT") or os.environ.get("SKILLCERT_VERIFY_RATE_LIMIT")
            or DEFAULT_VERIFY_LIMIT)


# --- shapes -------------------------------------------------------------------------------------------

class VerifyOut(BaseModel):
    certificate_number: str
    name: str
    id_type: str
    id_type_name: str
    id_number_masked: str
    occupation_name: str
    occupation_code: str
    kind: Literal["level", "special"] = Field(description="level: 职业技能等级证书; special: 专项职业能力证书")
    project_name: str | None = Field(default=None, description="the special-ability project (special only)")
    work_type: str | None = Field(description="work type or ——; None on a special-ability certificate")
    level: int | None = Field(description="1..5; None on a special-ability certificate")
    level_name: str | None
    agency: str
    issue_date: dt.date
    has_photo: bool
    status: Literal["valid", "revoked"]
    status_name: str
    revoked_on: dt.date | None
    key_id: str
    signature_valid: bool
    signature_problem: str | None = None
    public_key_url: str


class CertificateOut(BaseModel):
    id: int
    number: str
    scheme: str
    person_id: int
    name: str
    id_type: str
    id_number: str
    id_number_masked: str
    occupation_code: str
    occupation_name: str
    kind: Literal["level", "special"]
    project_name: str | None
    work_type: str | None
    level: int | None
    agency_id: int
    agency: str
    site_id: int
    issue_date: dt.date
    status: str
    revoked_on: dt.date | None
    revoke_reason: str | None
    key_id: str
    has_pdf: bool
    pdf_sha256: str | None
    verify_url: str
    source_plan_id: int | None
    source_result_id: int | None
    batch_id: int | None


class CertificateList(BaseModel):
    total: int
    certificates: list[CertificateOut]


class IssueIn(BaseModel):
    person_id: int
    occupation_code: str = Field(pattern=r"^\d-\d{2}-\d{2}-\d{2}$")
    work_type: str | None = Field(default=None, max_length=100, description="work type name; none prints ——")
    level: int | None = Field(default=None, ge=1, le=5, description="1..5; leave out for a special-ability "
                                                                     "certificate")
    site_id: int
    issue_date: dt.date
    scheme: Literal["national", "henan", "special"] | None = None
    project: str | None = Field(default=None, max_length=100,
                                description="special-ability project (专项职业能力考核项目) approved for the agency; "
                                            "issues a 15-digit special-ability certificate")
    plan_id: int | None = Field(default=None, description="exam plan the certificate is issued for")
    result_id: int | None = Field(default=None, description="result it is issued for; (plan, result) is unique")


class RevokeIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500)
    on: dt.date | None = Field(default=None, description="effective date; today when omitted")


class BatchItemIn(BaseModel):
    person_id: int
    occupation_id: int
    work_type_id: int | None = None
    level: int = Field(ge=1, le=5)
    result_id: int


class BatchIn(BaseModel):
    site_id: int
    plan_id: int
    issue_date: dt.date
    items: list[BatchItemIn] = Field(min_length=1, max_length=100_000)


class BatchOut(BaseModel):
    id: int
    status: str
    requested: int
    issued: int
    pdfs: int
    failed: int
    errors: list[dict]
    source_plan_id: int | None
    issue_date: dt.date
    created_at: str
    finished_at: str | None


class ListQuery(Page):
    plan_id: int | None = None
    status: Literal["valid", "revoked"] | None = None
    number: str | None = Field(default=None, max_length=40)


class ExportQuery(BaseModel):
    format: Literal["csv", "xlsx"] = "csv"
    agency_id: int | None = None
    plan_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    include_revoked: bool = True


# --- scope ----------------------------------------------------------------------------------------------

def person_id_of_principal(s) -> int:
    return s.scalar(select(Account.person_id).where(Account.id == g.principal.account_id))


def may_read(s, cert: Certificate) -> bool:
    """The holder, staff of the issuing agency, the centre auditor and the administrator."""
    p = g.principal
    if p.role in ("admin", "center_auditor"):
        return True
    if p.role == "agency_admin":
        return p.agency_id == cert.agency_id
    if p.role == "candidate":
        return person_id_of_principal(s) == cert.person_id
    return False


def readable_or_404(s, cert_id: int) -> Certificate:
    cert = s.get(Certificate, cert_id)
    if cert is None or not may_read(s, cert):  # someone else's certificate looks like no certificate
        raise NotFound("not_found", f"证书 {cert_id} 不存在 (no such certificate)", "cert_id")
    return cert


def _out(cert: Certificate) -> CertificateOut:
    return CertificateOut(**certificate_view(cert))


def _masked(cert: Certificate) -> CertificateOut:
    out = _out(cert)
    return out.model_copy(update={"id_number": out.id_number_masked})


# --- public ------------------------------------------------------------------------------------------

@endpoint("/certificates/<number>/verify", summary="Verify a certificate by its exact number (public)",
          response=VerifyOut, rate_limit=verify_rate_limit)
@public("anyone holding a certificate number (printed, or in the QR code) may check it; exact number only, "
        "ID number masked, rate-limited")
def verify_certificate(number: str):
    from flask import url_for
    with db_read() as s:
        view = verification_view(s, number, public_key=keys.issuer().public_key)
    return VerifyOut(**view, public_key_url=url_for("certification.public_key"))


# --- the holder ----------------------------------------------------------------------------------------

@endpoint("/certificates/mine", summary="My certificates (candidate)", response=CertificateList)
@roles("candidate")
def my_certificates():
    with db_read() as s:
        pid = person_id_of_principal(s)
        rows = s.scalars(select(Certificate).where(Certificate.person_id == pid)
                         .order_by(Certificate.issue_date.desc(), Certificate.id.desc())).all()
        return CertificateList(total=len(rows), certificates=[_out(c) for c in rows])


@endpoint("/certificates/<int:cert_id>", summary="One certificate (its holder or staff in scope)",
          response=CertificateOut)
@roles(*READERS)
def get_certificate(cert_id: int):
    with db_read() as s:
        return _out(readable_or_404(s, cert_id))


@endpoint("/certificates/<int:cert_id>/envelope", summary="The signed electronic certificate (JSON envelope)")
@roles(*READERS)
def get_envelope(cert_id: int):
    with db_read() as s:
        cert = readable_or_404(s, cert_id)
        return dict(cert.envelope)


@endpoint("/certificates/<int:cert_id>/pdf", summary="The certificate as a PDF")
@roles(*READERS)
def get_pdf(cert_id: int):
    return pdf_response(cert_id)


def pdf_response(cert_id: int) -> Response:
    with db_read() as s:
        cert = readable_or_404(s, cert_id)
        number, pdf = cert.number, cert.pdf
    if pdf is None:  # issued by a batch whose PDF is still being rendered: render it now
        with db_write() as s:
            pdf = ensure_pdf(s, g.principal.actor, s.get(Certificate, cert_id))
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{number}.pdf"'})


# --- staff ----------------------------------------------------------------------------------------------

@endpoint("/certificates", summary="Certificates of the agency (all for the centre)", query=ListQuery,
          response=CertificateList)
@roles(*STAFF, "admin")
def list_certificates(query: ListQuery):
    p = g.principal
    with db_read() as s:
        q = select(Certificate)
        if p.role == "agency_admin":
            q = q.where(Certificate.agency_id == p.agency_id)
        if query.plan_id is not None:
            q = q.where(Certificate.source_plan_id == query.plan_id)
        if query.status:
            q = q.where(Certificate.status == query.status)
        if query.number:
            q = q.where(Certificate.number == "".join(query.number.split()).upper())
        total = s.scalar(select(func.count()).select_from(q.subquery()))
        rows = s.scalars(q.order_by(Certificate.id.desc()).limit(query.limit).offset(query.offset)).all()
        return CertificateList(total=total, certificates=[_masked(c) for c in rows])


def _lookup_issue_args(s, body: IssueIn) -> dict:
    person = s.get(Person, body.person_id)
    if person is None:
        raise NotFound("not_found", f"人员 {body.person_id} 不存在 (no such person)", "person_id")
    site = s.get(Site, body.site_id)
    if site is None:
        raise NotFound("not_found", f"站点 {body.site_id} 不存在 (no such site)", "site_id")
    require_agency(site.agency_id)
    occ = s.scalar(select(Occupation).where(Occupation.code == body.occupation_code))
    if occ is None:
        raise NotFound("not_found", f"职业 {body.occupation_code} 不存在 (unknown occupation)", "occupation_code")
    project = None
    if body.scheme == "special" or body.project:
        from scoring.certification import SpecialProject
        project = s.scalar(select(SpecialProject).where(SpecialProject.agency_id == site.agency_id,
                                                        SpecialProject.name == (body.project or "").strip()))
        if project is None or project.occupation_id != occ.id:
            raise NotFound("not_found", f"本机构没有备案“{body.project or ''}”专项职业能力考核项目 (no such approved "
                           "special-ability project of this occupation)", "project")
    elif body.level is None:
        raise DomainError("required", "请填写职业技能等级 (level is required for a skill level certificate)", "level")
    wt = None
    if body.work_type:
        wt = s.scalar(select(WorkType).where(WorkType.occupation_id == occ.id, WorkType.name == body.work_type))
        if wt is None:
            raise NotFound("not_found", f"工种 {body.work_type} 不存在 (unknown work type)", "work_type")
    return {"person": person, "site": site, "occupation": occ, "work_type": wt, "project": project}


def require_audited(s, plan_id: int | None, person_ids: list[int]) -> None:
    """Nothing is certified before the centre approved the plan's results (Henan 19号 §四(五); 办法 art. 24),
    and only to people the approved batch passed whose subjects were not cancelled since (指引 art. 8)."""
    from examserver.marking.operations import approved_batch
    from examserver.violations.operations import cancelled_subjects
    batch = approved_batch(s, plan_id) if plan_id is not None else None
    if batch is None:
        raise Conflict("not_audited", "成绩未经鉴定中心审核通过，不能发证 (the plan's results must be approved by the "
                       "centre before certificates are issued)", "plan_id")
    for pid in person_ids:
        row = batch.snapshot.get(str(pid))
        if not row or not row.get("passed"):
            raise Conflict("not_passed", f"人员 {pid} 未通过本计划的认定 (person {pid} did not pass this plan)",
                           "person_id")
        if cancelled_subjects(s, pid, plan_id):
            raise Conflict("cancelled", f"人员 {pid} 的成绩已被取消 (results cancelled by a violation decision)",
                           "person_id")


@endpoint("/certificates", "POST", summary="Issue one certificate (numbered, signed, PDF, audited)",
          body=IssueIn, response=CertificateOut, status=201)
@roles("agency_admin")
def issue(body: IssueIn):
    with db_write() as s:
        args = _lookup_issue_args(s, body)
        require_audited(s, body.plan_id, [body.person_id])
        cert = issue_certificate(s, g.principal.actor, issuer=keys.issuer(),
                                 level=None if args["project"] is not None else body.level,
                                 issue_date=body.issue_date, photo=args["person"].photo, scheme=body.scheme,
                                 source_plan_id=body.plan_id, source_result_id=body.result_id,
                                 today=dt.date.today(), **args)
        return _out(cert)


@endpoint("/certificates/<int:cert_id>/revoke", "POST", summary="Revoke a certificate (reason required, audited)",
          body=RevokeIn, response=CertificateOut)
@roles(*STAFF)
def revoke(cert_id: int, body: RevokeIn):
    with db_write() as s:
        cert = s.get(Certificate, cert_id)
        if cert is None:
            raise NotFound("not_found", f"证书 {cert_id} 不存在 (no such certificate)", "cert_id")
        require_agency(cert.agency_id)
        revoke_certificate(s, g.principal.actor, cert, body.reason, body.on or dt.date.today())
        return _out(cert)


@endpoint("/certificates/export", summary="Upload sheet for the national query system (CSV or XLSX, audited)",
          query=ExportQuery)
@roles(*STAFF)
def export(query: ExportQuery):
    p = g.principal
    agency_id = query.agency_id
    if p.role == "agency_admin":
        if agency_id not in (None, p.agency_id):
            raise DomainError("forbidden_scope", "只能导出本机构的证书 (own agency only)", "agency_id")
        agency_id = p.agency_id
    with db_write() as s:
        body, n = export_for_national_upload(s, p.actor, fmt=query.format, agency_id=agency_id,
                                             plan_id=query.plan_id, date_from=query.date_from,
                                             date_to=query.date_to, include_revoked=query.include_revoked)
    name = f"certificates-{agency_id or 'all'}-{dt.date.today():%Y%m%d}.{query.format}"
    mime = ("text/csv; charset=utf-8" if query.format == "csv"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(body, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                  "X-Row-Count": str(n)})


@endpoint("/certificate-batches", "POST", summary="Issue certificates for an exam plan's results on the workers",
          body=BatchIn, response=BatchOut, status=202)
@roles("agency_admin")
def create_certificate_batch(body: BatchIn):
    from .tasks import actor_json, issue_batch
    actor = g.principal.actor
    with db_write() as s:
        site = s.get(Site, body.site_id)
        if site is None:
            raise NotFound("not_found", f"站点 {body.site_id} 不存在 (no such site)", "site_id")
        require_agency(site.agency_id)
        require_audited(s, body.plan_id, sorted({i.person_id for i in body.items}))
        batch = create_batch(s, actor, site=site, issue_date=body.issue_date, source_plan_id=body.plan_id,
                             items=[i.model_dump() for i in body.items])
        batch_id = batch.id
    issue_batch.delay(batch_id, actor_json(actor))  # after the commit (embedded profile: runs right here)
    with db_read() as s:
        return BatchOut(**batch_progress(s, s.get(CertificateBatch, batch_id)))


@endpoint("/certificate-batches/<int:batch_id>", summary="Progress of a certificate batch", response=BatchOut)
@roles(*STAFF)
def get_certificate_batch(batch_id: int):
    with db_read() as s:
        batch = s.get(CertificateBatch, batch_id)
        if batch is None:
            raise NotFound("not_found", f"批次 {batch_id} 不存在 (no such batch)", "batch_id")
        require_agency(batch.agency_id)
        return BatchOut(**batch_progress(s, batch))
