"""Issued skill level certificates (职业技能等级证书): models and the operations on them.

This is the stateful side of :mod:`scoring.certificates` (numbers, signatures, PDF, public view,
all pure). It stores what was issued, allocates serials without gaps or duplicates, revokes,
answers public verification and exports the national upload sheet. No web framework and no
queue here: the app shell (``examserver.certification``) passes the signing key, the
verification base URL and the dates in.

Rules and where they come from (seed 003 unless stated):

- The number is 22 characters, positions 1-13 the filed agency site, 14-15 the issue year, 16 the
  level, 17-22 a serial "per agency site, per year, per level" from 000001 (人社鉴发〔2019〕2号 附件1;
  Henan: 豫职鉴〔2020〕2号). :class:`CertificateSerial` is that counter; a number is taken in the same
  transaction as the certificate row, so a rolled-back issue gives its number back and the issued
  serials of a counter are always exactly 1..n.
- A certificate carries name, ID type and number, occupation, work type ("——" when none), level,
  number, agency, issue date, photo, QR code and lookup address (人社鉴发〔2021〕1号 §二(一)); the
  electronic copy has the force of the paper one (工作规程 art. 20), so it is signed
  (:func:`scoring.certificates.sign`) and anyone can check it against the published public key.
- An agency assesses only within its approved scope (技能人才评价违纪违规行为处理工作指引,
  人社职司便函〔2021〕57号 art. 14(2)); a certificate outside it is refused.
- Violations found after the fact void results and revoke issued certificates and the uploaded
  certificate data (指引 art. 8): :func:`revoke_certificate`; verification then shows the
  certificate as revoked with its date.
- Special-ability certificates (专项职业能力证书, 豫人社办函〔2020〕41号): an agency filed as a special-ability
  assessment agency holds an 8-digit code (region 4 + ``5`` + serial 3, §二(四): :func:`set_special_code`) and
  assesses approved projects (:class:`SpecialProject`); the certificate has no level, and its 15-digit number is
  issue year + agency code + a serial 00001-99999 per agency code and year (§四(一)), allocated like the others
  (the counter row has level 0). Its results are audited before issue like every other (§三(三)).
- Certificate data go to the national query system (职业技能等级证书全国联网查询,
  人社鉴发〔2021〕1号 §四): :func:`export_for_national_upload`.
- Personal data are protected (指引 art. 15): the public view masks the ID number and is reachable
  only by the exact certificate number; there is no listing or search by name here.

Issuing and its PDF. Rendering a PDF takes tens of milliseconds, far longer than allocating a
serial, signing and inserting a row. Holding the counter row locked while rendering would make
every concurrent issuer of the same plan (same site, year and level) wait for each other's PDFs;
so :func:`issue_certificate` can leave the PDF out (``render_pdf=False``) and
:func:`render_certificate` / :func:`attach_pdf` add it afterwards, outside the counter lock. The
PDF is a deterministic rendering of the signed data, the stored verification URL and the stored
photo (whose SHA-256 is signed), so it can always be rebuilt and checked.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import (JSON, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String,
                        UniqueConstraint, func, select, update)
from sqlalchemy.orm import Mapped, Session, deferred, mapped_column, relationship

from itembank.core import audit
from itembank.core.audit import Actor
from itembank.core.db import Base, utcnow
from itembank.core.directory import in_scope
from itembank.core.errors import Conflict, DomainError, NotFound
from itembank.core.people import Person
from itembank.core.reference import Agency, Occupation, RetiredCode, Site, WorkType

from .certificates import (
    NO_WORK_TYPE, CertificateData, CertificateNumberError, CertificateSignatureError, InvalidCertificateData,
    SerialOverflowError, decode_henan, decode_national, decode_special, encode_special, format_serial, key_id,
    mask_id_number, parse_special_agency_code, public_view, render_certificate_pdf, sign, verify,
)
from .certificates.signing import (FORMAT, ID_TYPES, SPECIAL_FORMAT, SpecialAbilityData, canonical_json,
                                   data_from_dict, photo_sha256)

__all__ = [
    "Certificate", "CertificateSerial", "CertificateBatch", "SpecialProject", "Issuer", "ISSUE_SCHEMES",
    "EXPORT_COLUMNS", "set_special_code", "approve_special_project",
    "issue_certificate", "allocate_serial", "render_certificate", "attach_pdf", "ensure_pdf", "revoke_certificate",
    "find_by_number", "normalise_number", "verification_view", "check_envelope", "export_rows",
    "export_for_national_upload", "create_batch", "batch_progress", "issue_batch_item", "certificate_view",
]

#: Schemes under which certificates are issued here: the 22-character skill level numbers (national, Henan) and
#: the 15-digit special-ability numbers (专项职业能力证书, no level).
ISSUE_SCHEMES = ("national", "henan", "special")
SPECIAL_SERIAL_MAX = 99999
SPECIAL_LEVEL = 0  # the counter rows of special-ability numbers: they have no level
STATUSES = ("valid", "revoked")


# --- models -------------------------------------------------------------------------------------

class CertificateSerial(Base):
    """证书序列码 counter: the last serial used for one agency site (positions 1-13), year and level.

    人社鉴发〔2019〕2号 附件1 表1: positions 17-22 are a serial "按评价机构（站点）、年度、等级" from
    000001 to 999999. Rows are created by the first issue of a (prefix, year, level) and only ever
    incremented, inside the transaction that inserts the certificate. Special-ability numbers count per
    8-digit agency code (the prefix) and year, with level 0 (豫人社办函〔2020〕41号 §四(一): 00001-99999).
    """

    __tablename__ = "certificate_serial"
    __table_args__ = (UniqueConstraint("prefix", "year", "level"),
                      CheckConstraint("level between 0 and 5", name="level"),
                      CheckConstraint("last_serial between 0 and 999999", name="last_serial"))
    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(13))
    year: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    last_serial: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class CertificateBatch(Base):
    """A batch of certificates to issue (e.g. everyone who passed one exam plan), issued by workers.

    ``items`` is the list of requests (JSON: person_id, occupation_id, work_type_id, level, result_id);
    progress is the number of certificates that name this batch.
    """

    __tablename__ = "certificate_batch"
    __table_args__ = (CheckConstraint("status in ('queued','running','done','failed')", name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    source_plan_id: Mapped[int] = mapped_column(Integer, index=True)
    issue_date: Mapped[dt.date] = mapped_column(Date)
    requested: Mapped[int] = mapped_column(Integer)
    items: Mapped[list] = deferred(mapped_column(JSON))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    errors: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class SpecialProject(Base):
    """专项职业能力考核项目: a special-ability project an agency was approved to assess (豫人社办函〔2020〕41号 §一,
    §二(一)), within an occupation (e.g. 轴类零件车削 of 车工)."""

    __tablename__ = "special_project"
    __table_args__ = (UniqueConstraint("agency_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupation.id"))
    name: Mapped[str] = mapped_column(String(100))
    approved_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    agency: Mapped[Agency] = relationship()
    occupation: Mapped[Occupation] = relationship()


class Certificate(Base):
    """职业技能等级证书: one issued certificate, its signed electronic copy and its PDF.

    ``data`` is the canonical certificate data (:meth:`CertificateData.to_dict`), ``envelope`` the
    Ed25519-signed JSON a holder downloads. ``source_plan_id``/``source_result_id`` name the exam
    plan and result it was issued for (no foreign key yet: those tables belong to other areas); the
    pair is unique, so issuing for the same result twice returns the first certificate.
    """

    __tablename__ = "certificate"
    __table_args__ = (
        UniqueConstraint("number"),
        UniqueConstraint("source_plan_id", "source_result_id"),
        CheckConstraint("status in ('valid','revoked')", name="status"),
        CheckConstraint("scheme in ('national','henan','special')", name="scheme"),
        CheckConstraint("level between 1 and 5", name="level"),
        CheckConstraint("(scheme = 'special') = (level is null)", name="special_no_level"),
        CheckConstraint("(source_plan_id is null) = (source_result_id is null)", name="source"),
        Index("ix_certificate_agency_issue", "agency_id", "issue_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(22))
    scheme: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupation.id"))
    work_type_id: Mapped[int | None] = mapped_column(ForeignKey("work_type.id"))
    level: Mapped[int | None] = mapped_column(Integer)  # None for a special-ability certificate
    special_project_id: Mapped[int | None] = mapped_column(ForeignKey("special_project.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    serial: Mapped[int] = mapped_column(Integer)
    issue_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="valid")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_on: Mapped[dt.date | None] = mapped_column(Date)
    revoke_reason: Mapped[str | None] = mapped_column(String(500))
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    data: Mapped[dict] = mapped_column(JSON)
    envelope: Mapped[dict] = mapped_column(JSON)
    key_id: Mapped[str] = mapped_column(String(16))
    verify_url: Mapped[str] = mapped_column(String(300))
    photo: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    source_plan_id: Mapped[int | None] = mapped_column(Integer, index=True)
    source_result_id: Mapped[int | None] = mapped_column(Integer)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_batch.id"), index=True)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    occupation: Mapped[Occupation] = relationship()
    work_type: Mapped[WorkType | None] = relationship()
    agency: Mapped[Agency] = relationship()
    site: Mapped[Site] = relationship()

    @property
    def certificate_data(self) -> CertificateData | SpecialAbilityData:
        return data_from_dict(self.data, SPECIAL_FORMAT if self.scheme == "special" else FORMAT)

    @property
    def is_special(self) -> bool:
        return self.scheme == "special"

    @property
    def revoked(self) -> bool:
        return self.status == "revoked"


# --- the issuer -------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Issuer:
    """The certificate signing key and where the QR code points (``<verify_base>/<number>``)."""

    private_key: Ed25519PrivateKey
    verify_base: str

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.private_key)

    def verify_url(self, number: str) -> str:
        return f"{self.verify_base.rstrip('/')}/{number}"


# --- numbers ------------------------------------------------------------------------------------------

def _upsert(s: Session):
    name = s.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"no serial allocation for {name}")
    return insert


def allocate_serial(s: Session, prefix: str, year: int, level: int, *, limit: int = 999999) -> int:
    """Take the next serial of (prefix, year, level) inside the caller's transaction.

    One statement, ``INSERT … ON CONFLICT (prefix, year, level) DO UPDATE SET last_serial =
    last_serial + 1 RETURNING last_serial``: on PostgreSQL the conflicting row is locked until the
    transaction ends, so concurrent issuers queue on it and each sees the previous one's committed
    value (READ COMMITTED re-checks the updated row); on SQLite the write transaction already holds
    the database write lock (``BEGIN IMMEDIATE``). A rollback undoes the increment, so no number is
    lost; nobody else can take the same number before the commit, so none is given twice.
    """
    insert = _upsert(s)
    t = CertificateSerial.__table__
    stmt = (insert(t).values(prefix=prefix, year=year, level=level, last_serial=1, updated_at=utcnow())
            .on_conflict_do_update(index_elements=[t.c.prefix, t.c.year, t.c.level],
                                   set_={"last_serial": t.c.last_serial + 1, "updated_at": utcnow()})
            .returning(t.c.last_serial))
    n = s.execute(stmt).scalar_one()
    if n > limit:
        raise SerialOverflowError("overflow", f"证书序列码已用尽：{prefix} {year}年 {level or '专项'}已发满{limit}本",
                                  f"serial range used up for {prefix}, {year}, level {level}")
    return n


def normalise_number(number: str) -> str:
    """Spaces removed and letters upper-cased, as printed certificates group the code."""
    return "".join((number or "").split()).upper()


def find_by_number(s: Session, number: str) -> Certificate | None:
    return s.scalar(select(Certificate).where(Certificate.number == normalise_number(number)))


def _check_number(number: str, scheme: str) -> None:
    try:
        if scheme == "special":
            decode_special(number)
        elif scheme == "henan":
            decode_henan(number)
        else:
            decode_national(number)
    except CertificateNumberError as e:
        raise DomainError("bad_number", e.reason, "site_id") from None


# --- issuing ------------------------------------------------------------------------------------------

def _domain(field: str, code: str, zh: str, en: str, cls=DomainError):
    return cls(code, f"{zh} ({en})", field)


def _check_photo(photo: bytes | None) -> None:
    if photo is None:
        return
    if not isinstance(photo, (bytes, bytearray)) or not (
            photo.startswith(b"\xff\xd8\xff") or photo.startswith(b"\x89PNG\r\n\x1a\n")):
        raise _domain("photo", "bad_photo", "照片应为JPEG或PNG图片", "photo must be a JPEG or PNG image")
    if len(photo) > 2_000_000:
        raise _domain("photo", "bad_photo", "照片不得超过2 MB", "photo must be at most 2 MB")


# --- special-ability agencies and projects ---------------------------------------------------------------

def set_special_code(s: Session, actor: Actor, agency: Agency, code: str) -> Agency:
    """Record the 8-digit code the centre gave ``agency`` as a special-ability assessment agency
    (豫人社办函〔2020〕41号 §二(四)); a code is never given to two agencies, nor reused once retired."""
    from .certificates import CertificateNumberError as _Err
    try:
        parsed = parse_special_agency_code(code)
    except _Err as e:
        raise DomainError("bad_special_code", e.reason, "special_code") from None
    if parsed.is_centre:
        raise _domain("special_code", "bad_special_code", "xxxx5000 是鉴定中心本身的编码，不能给考核机构",
                      "a code ending 5000 is the centre's own")
    if agency.status != "active":
        raise _domain("agency_id", "agency_cancelled", "评价机构已注销", "the agency is cancelled", Conflict)
    taken = s.scalar(select(Agency.id).where(Agency.special_code == parsed.code, Agency.id != agency.id))
    retired = s.scalar(select(RetiredCode.id).where(RetiredCode.code == parsed.code))
    if taken is not None or retired is not None:
        raise _domain("special_code", "code_taken", f"机构编码 {parsed.code} 已被使用或已注销",
                      "the code is used by another agency or retired", Conflict)
    if agency.special_code not in (None, parsed.code) and s.scalar(
            select(Certificate.id).where(Certificate.agency_id == agency.id, Certificate.scheme == "special")):
        raise _domain("special_code", "code_in_use", "已按原编码发证，不能更改", "certificates carry the old code",
                      Conflict)
    old, agency.special_code = agency.special_code, parsed.code
    s.flush()
    audit.record(s, actor, "agency.special_code", "agency", agency.id, {"special_code": [old, parsed.code]})
    return agency


def approve_special_project(s: Session, actor: Actor, *, agency: Agency, occupation: Occupation,
                            name: str) -> SpecialProject:
    """A special-ability project the agency may assess (its 考核规范 filed, 豫人社办函〔2020〕41号 §一)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise _domain("name", "bad_name", "项目名称应为1–100字", "the project name must be 1..100 characters")
    if not agency.special_code:
        raise _domain("agency_id", "no_special_code", "机构尚无专项职业能力考核机构编码",
                      "the agency has no special-ability code yet", Conflict)
    if s.scalar(select(SpecialProject.id).where(SpecialProject.agency_id == agency.id,
                                                SpecialProject.name == name)) is not None:
        raise _domain("name", "duplicate", f"项目“{name}”已备案", "the project is already approved", Conflict)
    project = SpecialProject(agency_id=agency.id, occupation_id=occupation.id, name=name)
    s.add(project)
    s.flush()
    audit.record(s, actor, "special_project.approve", "special_project", project.id,
                 {"agency_id": agency.id, "occupation": occupation.code, "name": name})
    return project


def issue_certificate(s: Session, actor: Actor, *, issuer: Issuer, person: Person, occupation: Occupation,
                      work_type: WorkType | None, level: int | None, site: Site, issue_date: dt.date,
                      photo: bytes | None = None, scheme: str | None = None,
                      source_plan_id: int | None = None, source_result_id: int | None = None,
                      batch: CertificateBatch | None = None, render_pdf: bool = True,
                      today: dt.date | None = None, project: SpecialProject | None = None) -> Certificate:
    """Number, sign, (render) and record one certificate; audited as ``certificate.issue``.

    ``scheme`` is ``national`` or ``henan`` (default: ``henan`` for a site in province 41, else
    ``national``), or ``special`` for a special-ability certificate of ``project`` (the default when a project
    is given): then ``level`` and ``work_type`` are None and ``occupation`` is the project's. ``source_plan_id``/``source_result_id`` make the call idempotent: when a
    certificate for that result exists it is returned unchanged (and no number is taken). With
    ``render_pdf=False`` the PDF is left for :func:`attach_pdf` (see the module docstring).
    ``today`` (when given) refuses an issue date in the future.

    Issue one certificate per transaction when several transactions issue concurrently: the
    counter row lock is taken before the audit lock, and a transaction holding the audit lock
    while waiting for a second counter could deadlock with another issuer.
    """
    if (source_plan_id is None) != (source_result_id is None):
        raise _domain("source_result_id", "bad_source", "考试计划与成绩须同时给出",
                      "source_plan_id and source_result_id go together")
    if source_result_id is not None:
        existing = s.scalar(select(Certificate).where(Certificate.source_plan_id == source_plan_id,
                                                      Certificate.source_result_id == source_result_id))
        if existing is not None:
            if (existing.person_id, existing.occupation_id, existing.level) != (person.id, occupation.id, level):
                raise _domain("source_result_id", "source_used", f"该成绩已发证 {existing.number}，且持证人或等级不同",
                              "a certificate for this result exists for another person or level", Conflict)
            return existing
    agency = site.agency
    if scheme is None:
        scheme = "special" if project is not None else "henan" if site.province_code == "41" else "national"
    if scheme not in ISSUE_SCHEMES:
        raise _domain("scheme", "bad_scheme", f"编码规则应为 national、henan 或 special，实际为 {scheme!r}",
                      "scheme must be national, henan or special")
    if scheme == "special":
        return _issue_special(s, actor, issuer=issuer, person=person, occupation=occupation, work_type=work_type,
                              level=level, site=site, issue_date=issue_date, photo=photo, project=project,
                              source_plan_id=source_plan_id, source_result_id=source_result_id, batch=batch,
                              render_pdf=render_pdf, today=today)
    if project is not None:
        raise _domain("project", "bad_scheme", "专项职业能力项目只能按 special 编码发证",
                      "a special-ability project is certified under the special scheme")
    if scheme == "henan" and site.province_code != "41":
        raise _domain("scheme", "bad_scheme", "河南省编码规则只适用于河南省（41）的站点",
                      "the Henan scheme applies to sites in Henan (41) only")
    if agency.status != "active":
        raise _domain("site_id", "agency_cancelled", "评价机构已注销，不得发证", "the agency is cancelled", Conflict)
    if s.scalar(select(RetiredCode.id).where(RetiredCode.code == site.code_prefix)) is not None:
        raise _domain("site_id", "code_retired", f"站点代码 {site.code_prefix} 已注销", "the site code is retired",
                      Conflict)
    if isinstance(level, bool) or not isinstance(level, int) or level not in range(1, 6):
        raise _domain("level", "bad_level", f"等级应为1–5，实际为 {level!r}", "level must be 1..5")
    if work_type is not None and work_type.occupation_id != occupation.id:
        raise _domain("work_type_id", "bad_work_type", "工种不属于该职业", "the work type belongs to another occupation")
    if not in_scope(s, agency, occupation, level, work_type):
        raise _domain("level", "out_of_scope",
                      f"{occupation.code} {occupation.name} {level}级 不在本机构备案范围内（指引第14条第2项）",
                      "outside the agency's approved scope (指引 art. 14(2))", DomainError)
    _check_date_holder_photo(issue_date=issue_date, today=today, person=person, photo=photo, first_year=2019,
                             rule="发证日期应在2019年以后（人社鉴发〔2019〕2号）")

    prefix = site.code_prefix
    try:
        serial = allocate_serial(s, prefix, issue_date.year, level)
    except SerialOverflowError as e:
        raise Conflict("serial_exhausted", e.reason, "level") from None
    number = prefix + f"{issue_date.year % 100:02d}{level}" + format_serial(serial)
    _check_number(number, scheme)
    try:
        data = CertificateData.build(
            name=person.name, id_type=person.id_type, id_number=person.id_number,
            occupation_name=occupation.name, occupation_code=occupation.code, level=level,
            certificate_number=number, agency=agency.name, issue_date=issue_date,
            work_type=work_type.name if work_type else None, photo=photo)
    except InvalidCertificateData as e:
        raise DomainError("bad_certificate_data", e.reason, e.field) from None
    return _record(s, actor, issuer=issuer, data=data, scheme=scheme, person=person, occupation=occupation,
                   work_type=work_type, level=level, site=site, serial=serial, photo=photo, project=None,
                   source_plan_id=source_plan_id, source_result_id=source_result_id, batch=batch,
                   render_pdf=render_pdf)


def _check_date_holder_photo(*, issue_date: dt.date, today: dt.date | None, person: Person, photo: bytes | None,
                             first_year: int, rule: str) -> None:
    """The checks every certificate shares: a real issue date from ``first_year`` (``rule`` says why) and not in
    the future, a known ID type of the holder, a usable photo."""
    if type(issue_date) is not dt.date:
        raise _domain("issue_date", "bad_date", "发证日期应为日期", "issue_date must be a date")
    if issue_date.year < first_year or issue_date.year > 2099:
        raise _domain("issue_date", "bad_date", rule, f"the issue date must be {first_year} or later")
    if today is not None and issue_date > today:
        raise _domain("issue_date", "bad_date", "发证日期不得晚于今天", "the issue date cannot be in the future")
    if person.id_type not in ID_TYPES:
        raise _domain("person_id", "bad_id_type", "持证人证件类型无效", "the holder's ID type is unknown")
    _check_photo(photo)


def _issue_special(s: Session, actor: Actor, *, issuer: Issuer, person: Person, occupation: Occupation,
                   work_type: WorkType | None, level: int | None, site: Site, issue_date: dt.date,
                   photo: bytes | None, project: SpecialProject | None, source_plan_id: int | None,
                   source_result_id: int | None, batch: CertificateBatch | None, render_pdf: bool,
                   today: dt.date | None) -> Certificate:
    """A special-ability certificate (专项职业能力证书): 15-digit number, no level (豫人社办函〔2020〕41号 §四)."""
    agency = site.agency
    if project is None:
        raise _domain("project", "required", "请选择专项职业能力考核项目", "choose the special-ability project")
    if project.agency_id != agency.id:
        raise _domain("project", "out_of_scope", f"“{project.name}”不是本机构备案的专项职业能力考核项目",
                      "not a project approved for this agency")
    if level is not None or work_type is not None:
        raise _domain("level", "bad_level", "专项职业能力证书不标注等级和工种", "a special-ability certificate has no "
                      "level or work type")
    if occupation.id != project.occupation_id:
        raise _domain("occupation_id", "bad_occupation", "职业与考核项目不符", "the occupation is not the project's")
    if not agency.special_code:
        raise _domain("site_id", "no_special_code", "机构尚无专项职业能力考核机构编码，不能发专项证书",
                      "the agency has no special-ability code", Conflict)
    if s.scalar(select(RetiredCode.id).where(RetiredCode.code == agency.special_code)) is not None:
        raise _domain("site_id", "code_retired", f"机构编码 {agency.special_code} 已注销", "the code is retired", Conflict)
    if agency.status != "active":
        raise _domain("site_id", "agency_cancelled", "评价机构已注销，不得发证", "the agency is cancelled", Conflict)
    _check_date_holder_photo(issue_date=issue_date, today=today, person=person, photo=photo, first_year=2020,
                             rule="专项职业能力证书发证日期应在2020年以后（豫人社办函〔2020〕41号）")
    try:
        serial = allocate_serial(s, agency.special_code, issue_date.year, SPECIAL_LEVEL, limit=SPECIAL_SERIAL_MAX)
    except SerialOverflowError as e:
        raise Conflict("serial_exhausted", e.reason, "issue_date") from None
    number = encode_special(issue_date, agency.special_code, serial)
    try:
        data = SpecialAbilityData.build(
            name=person.name, id_type=person.id_type, id_number=person.id_number, project_name=project.name,
            occupation_name=occupation.name, occupation_code=occupation.code, certificate_number=number,
            agency=agency.name, agency_code=agency.special_code, issue_date=issue_date, photo=photo)
    except InvalidCertificateData as e:
        raise DomainError("bad_certificate_data", e.reason, e.field) from None
    return _record(s, actor, issuer=issuer, data=data, scheme="special", person=person, occupation=occupation,
                   work_type=None, level=None, site=site, serial=serial, photo=photo, project=project,
                   source_plan_id=source_plan_id, source_result_id=source_result_id, batch=batch,
                   render_pdf=render_pdf)


def _record(s: Session, actor: Actor, *, issuer: Issuer, data, scheme: str, person: Person, occupation: Occupation,
            work_type: WorkType | None, level: int | None, site: Site, serial: int, photo: bytes | None,
            project: SpecialProject | None, source_plan_id: int | None, source_result_id: int | None,
            batch: CertificateBatch | None, render_pdf: bool) -> Certificate:
    """Sign, (render,) insert and audit an issued certificate."""
    number = data.certificate_number
    envelope = sign(data, issuer.private_key)
    verify_url = issuer.verify_url(number)
    cert = Certificate(
        number=number, scheme=scheme, person_id=person.id, occupation_id=occupation.id,
        work_type_id=work_type.id if work_type else None, level=level,
        special_project_id=project.id if project is not None else None, agency_id=site.agency_id, site_id=site.id,
        serial=serial, issue_date=data.issue_date, status="valid", data=data.to_dict(), envelope=envelope,
        key_id=envelope["key_id"], verify_url=verify_url, photo=photo,
        source_plan_id=source_plan_id, source_result_id=source_result_id,
        batch_id=batch.id if batch is not None else None, issued_by=actor.account_id)
    if render_pdf:
        pdf = render_certificate(data.to_dict(), verify_url, photo)
        cert.pdf, cert.pdf_sha256 = pdf, hashlib.sha256(pdf).hexdigest()
    s.add(cert)
    s.flush()
    audit.record(s, actor, "certificate.issue", "certificate", cert.id, {
        "number": number, "scheme": scheme, "person_id": person.id, "occupation": occupation.code,
        "work_type": work_type.name if work_type else None, "level": level,
        "special_project": project.name if project is not None else None, "agency_id": site.agency_id,
        "site_id": site.id, "issue_date": data.issue_date, "data_sha256": _data_sha256(cert.data),
        "signature": envelope["signature"], "key_id": envelope["key_id"], "pdf_sha256": cert.pdf_sha256,
        "source_plan_id": source_plan_id, "source_result_id": source_result_id,
        "batch_id": cert.batch_id})
    return cert


def _data_sha256(data: dict) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def render_certificate(data: dict[str, Any], verify_url: str, photo: bytes | None) -> bytes:
    """The PDF of stored certificate data (no session: run it outside any transaction)."""
    fmt = SPECIAL_FORMAT if "project_name" in data else FORMAT
    return render_certificate_pdf(data_from_dict(data, fmt), verify_url=verify_url, photo=photo)


def attach_pdf(s: Session, actor: Actor, cert_id: int, pdf: bytes) -> bool:
    """Store a rendered PDF if the certificate has none yet; True when this call stored it.

    Safe to run twice or concurrently: the update only applies while ``pdf`` is still empty.
    """
    digest = hashlib.sha256(pdf).hexdigest()
    done = s.execute(update(Certificate).where(Certificate.id == cert_id, Certificate.pdf.is_(None))
                     .values(pdf=pdf, pdf_sha256=digest)).rowcount
    if done:
        audit.record(s, actor, "certificate.pdf_attach", "certificate", cert_id, {"pdf_sha256": digest})
    return bool(done)


def ensure_pdf(s: Session, actor: Actor, cert: Certificate) -> bytes:
    """The certificate's PDF, rendered and stored now if it was issued without one."""
    if cert.pdf is not None:
        return cert.pdf
    pdf = render_certificate(cert.data, cert.verify_url, cert.photo)
    attach_pdf(s, actor, cert.id, pdf)
    s.refresh(cert)
    return cert.pdf


# --- revoking -------------------------------------------------------------------------------------------

def revoke_certificate(s: Session, actor: Actor, cert: Certificate, reason: str, on: dt.date) -> Certificate:
    """Revoke a certificate from date ``on`` (指引 art. 8: violations found after the fact).

    The reason is required; ``on`` may not precede the issue date. Audited as ``certificate.revoke``.
    """
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise _domain("reason", "required", "撤销原因不能为空", "a reason is required")
    if len(reason) > 500:
        raise _domain("reason", "too_long", "撤销原因不超过500字", "the reason is at most 500 characters")
    if type(on) is not dt.date:
        raise _domain("on", "bad_date", "撤销日期应为日期", "on must be a date")
    if on < cert.issue_date:
        raise _domain("on", "bad_date", f"撤销日期不得早于发证日期 {cert.issue_date}",
                      "the revocation date cannot precede the issue date")
    if cert.status == "revoked":
        raise _domain("status", "already_revoked", f"证书已于 {cert.revoked_on} 撤销", "already revoked", Conflict)
    cert.status, cert.revoked_on, cert.revoked_at = "revoked", on, utcnow()
    cert.revoke_reason, cert.revoked_by = reason, actor.account_id
    s.flush()
    audit.record(s, actor, "certificate.revoke", "certificate", cert.id,
                 {"number": cert.number, "status": ["valid", "revoked"], "revoked_on": on, "reason": reason})
    return cert


# --- verifying ----------------------------------------------------------------------------------------

def check_envelope(cert: Certificate, public_key: Ed25519PublicKey) -> str | None:
    """None when the stored envelope verifies and says exactly what the row says; else why not."""
    try:
        signed = verify(cert.envelope, public_key)
    except CertificateSignatureError as e:
        return str(e)
    if signed.to_dict() != cert.data:
        return "the stored certificate data differ from the signed copy"
    if signed.certificate_number != cert.number:
        return "the signed number differs from the stored number"
    return None


def verification_view(s: Session, number: str, *, public_key: Ed25519PublicKey | None = None) -> dict[str, Any]:
    """What the public sees for one certificate number (社会公众查询): what the certificate prints,
    the ID number masked, its status and revocation date; never the photo or the full ID number.

    Raises :class:`NotFound` for an unknown number and :class:`DomainError` (field ``number``) for
    one that breaks the coding rule. With ``public_key`` the stored signature is checked too
    (``signature_valid``).
    """
    code = normalise_number(number)
    if not code:
        raise _domain("number", "required", "请输入证书编号", "a certificate number is required")
    try:
        if len(code) == 15 and code.isdigit():
            decode_special(code)
        else:
            decode_national(code)  # a Henan number is also a well-formed national one
    except CertificateNumberError as e:
        raise DomainError("bad_number", e.reason, "number") from None
    cert = find_by_number(s, code)
    if cert is None:
        raise NotFound("not_found", "未查询到该证书编号的证书 (no certificate with this number)", "number")
    view = public_view(cert.certificate_data, revoked_on=cert.revoked_on if cert.revoked else None)
    view["key_id"] = cert.key_id
    if public_key is not None:
        problem = check_envelope(cert, public_key)
        view["signature_valid"] = problem is None
        if problem:
            view["signature_problem"] = problem
    return view


def certificate_view(cert: Certificate) -> dict[str, Any]:
    """The full record for its holder and for staff in scope (ID number unmasked)."""
    return {
        "id": cert.id, "number": cert.number, "scheme": cert.scheme, "person_id": cert.person_id,
        "name": cert.data["name"], "id_type": cert.data["id_type"], "id_number": cert.data["id_number"],
        "id_number_masked": mask_id_number(cert.data["id_number"]),
        "occupation_code": cert.data["occupation_code"], "occupation_name": cert.data["occupation_name"],
        "work_type": cert.data.get("work_type"), "level": cert.level, "agency_id": cert.agency_id,
        "kind": "special" if cert.is_special else "level", "project_name": cert.data.get("project_name"),
        "agency": cert.data["agency"], "site_id": cert.site_id, "issue_date": cert.issue_date.isoformat(),
        "status": cert.status, "revoked_on": cert.revoked_on.isoformat() if cert.revoked_on else None,
        "revoke_reason": cert.revoke_reason, "key_id": cert.key_id, "has_pdf": cert.pdf_sha256 is not None,
        "pdf_sha256": cert.pdf_sha256, "verify_url": cert.verify_url,
        "source_plan_id": cert.source_plan_id, "source_result_id": cert.source_result_id,
        "batch_id": cert.batch_id,
    }


# --- national upload export -----------------------------------------------------------------------------

#: Columns of the upload sheet: the fields the national query system shows (人社鉴发〔2021〕1号 §二(一),
#: §四), then status and revocation date so revoked data can be withdrawn (指引 art. 8).
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "姓名"), ("id_type", "证件类型"), ("id_number", "证件号码"), ("occupation_code", "职业编码"),
    ("occupation_name", "职业名称"), ("work_type", "工种/职业方向"), ("level", "职业技能等级"),
    ("certificate_number", "证书编号"), ("agency", "评价机构"), ("agency_code", "评价机构代码"),
    ("issue_date", "发证日期"), ("status", "证书状态"), ("revoked_on", "撤销日期"),
)


def _export_query(*, agency_id: int | None, plan_id: int | None, date_from: dt.date | None,
                  date_to: dt.date | None, include_revoked: bool):
    # skill level certificates only: special-ability data go to the province's own query system (豫人社办函〔2020〕41号
    # §四(三)), not to the national skill level upload
    q = select(Certificate).where(Certificate.scheme != "special").order_by(Certificate.issue_date, Certificate.number)
    if agency_id is not None:
        q = q.where(Certificate.agency_id == agency_id)
    if plan_id is not None:
        q = q.where(Certificate.source_plan_id == plan_id)
    if date_from is not None:
        q = q.where(Certificate.issue_date >= date_from)
    if date_to is not None:
        q = q.where(Certificate.issue_date <= date_to)
    if not include_revoked:
        q = q.where(Certificate.status == "valid")
    return q


def export_rows(s: Session, *, agency_id: int | None = None, plan_id: int | None = None,
                date_from: dt.date | None = None, date_to: dt.date | None = None,
                include_revoked: bool = True) -> list[dict[str, Any]]:
    """One row per certificate with the :data:`EXPORT_COLUMNS` keys, values as printed."""
    from .certificates import LEVELS
    from .certificates.signing import id_type_label
    if date_from and date_to and date_from > date_to:
        raise _domain("date_from", "bad_range", "起始日期晚于截止日期", "date_from is after date_to")
    rows = []
    codes = dict(s.execute(select(Agency.id, Agency.category + Agency.agency_code)).all())
    for c in s.scalars(_export_query(agency_id=agency_id, plan_id=plan_id, date_from=date_from, date_to=date_to,
                                     include_revoked=include_revoked)):
        d = c.data
        rows.append({
            "name": d["name"], "id_type": id_type_label(d["id_type"]), "id_number": d["id_number"],
            "occupation_code": d["occupation_code"], "occupation_name": d["occupation_name"],
            "work_type": d["work_type"] or NO_WORK_TYPE, "level": LEVELS[c.level][0],
            "certificate_number": c.number, "agency": d["agency"], "agency_code": codes.get(c.agency_id, ""),
            "issue_date": c.issue_date.isoformat(), "status": "已撤销" if c.revoked else "有效",
            "revoked_on": c.revoked_on.isoformat() if c.revoked_on else "",
        })
    return rows


def _rows_csv(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([zh for _, zh in EXPORT_COLUMNS])
    for r in rows:
        w.writerow([r[k] for k, _ in EXPORT_COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 CSV correctly


def _rows_xlsx(rows: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "证书信息"
    ws.append([zh for _, zh in EXPORT_COLUMNS])
    for r in rows:
        ws.append([str(r[k]) for k, _ in EXPORT_COLUMNS])  # text cells: ID and certificate numbers keep digits
    for col, (key, _) in zip("ABCDEFGHIJKLM", EXPORT_COLUMNS):
        ws.column_dimensions[col].width = 24 if key in ("id_number", "certificate_number", "agency") else 14
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export_for_national_upload(s: Session, actor: Actor, *, fmt: str = "csv", agency_id: int | None = None,
                               plan_id: int | None = None, date_from: dt.date | None = None,
                               date_to: dt.date | None = None, include_revoked: bool = True) -> tuple[bytes, int]:
    """The upload sheet (CSV, UTF-8 with BOM, or XLSX) and its row count; audited as ``certificate.export``
    because it carries full ID numbers (指引 art. 15)."""
    if fmt not in ("csv", "xlsx"):
        raise _domain("format", "bad_format", "导出格式应为 csv 或 xlsx", "format must be csv or xlsx")
    rows = export_rows(s, agency_id=agency_id, plan_id=plan_id, date_from=date_from, date_to=date_to,
                       include_revoked=include_revoked)
    body = _rows_csv(rows) if fmt == "csv" else _rows_xlsx(rows)
    audit.record(s, actor, "certificate.export", "certificate_export", agency_id or "all", {
        "format": fmt, "agency_id": agency_id, "plan_id": plan_id, "date_from": date_from, "date_to": date_to,
        "include_revoked": include_revoked, "rows": len(rows), "sha256": hashlib.sha256(body).hexdigest()})
    return body, len(rows)


# --- batches ------------------------------------------------------------------------------------------

_ITEM_KEYS = {"person_id", "occupation_id", "work_type_id", "level", "result_id"}


def create_batch(s: Session, actor: Actor, *, site: Site, issue_date: dt.date, items: Iterable[dict],
                 source_plan_id: int) -> CertificateBatch:
    """Record a batch of certificate requests for workers to issue; audited as ``certificate_batch.create``.

    Each item is ``{person_id, occupation_id, work_type_id (or None), level, result_id}``; the
    (``source_plan_id``, ``result_id``) pair is unique among certificates, which is what makes
    re-running a batch (or one of its tasks) safe.
    """
    if isinstance(source_plan_id, bool) or not isinstance(source_plan_id, int):
        raise _domain("source_plan_id", "required", "批量发证须指明考试计划", "a batch needs its exam plan id")
    items = [dict(i) for i in items]
    if not items:
        raise _domain("items", "required", "批次中没有证书", "a batch needs at least one item")
    for n, it in enumerate(items):
        missing = {"person_id", "occupation_id", "level"} - set(it)
        extra = set(it) - _ITEM_KEYS
        if missing or extra:
            raise _domain(f"items.{n}", "bad_item", f"第{n + 1}项字段错误：缺少 {sorted(missing)}，多余 {sorted(extra)}",
                          f"item {n}: missing {sorted(missing)}, unexpected {sorted(extra)}")
        if isinstance(it.get("result_id"), bool) or not isinstance(it.get("result_id"), int):
            raise _domain(f"items.{n}.result_id", "required", "每项须有成绩编号（整数）",
                          "every item needs its result_id (an integer)")
    if type(issue_date) is not dt.date:
        raise _domain("issue_date", "bad_date", "发证日期应为日期", "issue_date must be a date")
    batch = CertificateBatch(agency_id=site.agency_id, site_id=site.id, source_plan_id=source_plan_id,
                             issue_date=issue_date, requested=len(items), items=items, status="queued",
                             errors=[], created_by=actor.account_id)
    s.add(batch)
    s.flush()
    audit.record(s, actor, "certificate_batch.create", "certificate_batch", batch.id,
                 {"site_id": site.id, "source_plan_id": source_plan_id, "issue_date": issue_date,
                  "requested": len(items)})
    return batch


def issue_batch_item(s: Session, actor: Actor, issuer: Issuer, batch: CertificateBatch, index: int, *,
                     render_pdf: bool = False) -> Certificate:
    """Issue item ``index`` of a batch (idempotent on its result id when the batch has a plan)."""
    it = batch.items[index]
    person = s.get(Person, it["person_id"])
    occupation = s.get(Occupation, it["occupation_id"])
    wt_id = it.get("work_type_id")
    work_type = s.get(WorkType, wt_id) if wt_id is not None else None
    if person is None or occupation is None or (wt_id is not None and work_type is None):
        raise _domain(f"items.{index}", "not_found", "持证人、职业或工种不存在", "person, occupation or work type not found",
                      NotFound)
    site = s.get(Site, batch.site_id)
    return issue_certificate(
        s, actor, issuer=issuer, person=person, occupation=occupation, work_type=work_type, level=it["level"],
        site=site, issue_date=batch.issue_date, photo=person.photo, source_plan_id=batch.source_plan_id,
        source_result_id=it["result_id"], batch=batch,
        render_pdf=render_pdf)


def batch_progress(s: Session, batch: CertificateBatch) -> dict[str, Any]:
    issued, rendered = s.execute(select(func.count(Certificate.id), func.count(Certificate.pdf_sha256))
                                 .where(Certificate.batch_id == batch.id)).one()
    return {"id": batch.id, "status": batch.status, "requested": batch.requested, "issued": issued,
            "pdfs": rendered, "failed": len(batch.errors or []), "errors": (batch.errors or [])[:20],
            "source_plan_id": batch.source_plan_id, "issue_date": batch.issue_date.isoformat(),
            "created_at": batch.created_at.isoformat(timespec="seconds"),
            "finished_at": batch.finished_at.isoformat(timespec="seconds") if batch.finished_at else None}
