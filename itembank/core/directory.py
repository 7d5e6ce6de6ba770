"""Operations on agencies, sites, rooms, occupations, people and accounts.

Every operation takes the session first, flushes, writes its audit record in the same
transaction and leaves the commit to the caller.
"""
from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .audit import Actor
from .db import utcnow
from .errors import Conflict, DomainError, NotFound
from .idcard import ID_TYPES, IdNumberError, normalise_id_number
from .people import GLOBAL_ROLES, ROLES, TITLES, Account, Person, RoleGrant
from .reference import (AGENCY_CATEGORIES, LEVELS, OCCUPATION_CODE, PROVINCES, Agency, AgencyScope, Occupation,
                        RetiredCode, Room, Site, WorkType)

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("timing-equaliser")
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise DomainError("password_too_short", f"密码至少 {MIN_PASSWORD} 位 (password needs ≥{MIN_PASSWORD} characters)",
                          "password")
    return _hasher.hash(password)


# --- occupations ------------------------------------------------------------------------------

def create_occupation(s: Session, actor: Actor, *, code: str, name: str, work_types: list[str] = ()) -> Occupation:
    if not OCCUPATION_CODE.match(code or ""):
        raise DomainError("bad_occupation_code", f"职业编码应形如 6-18-01-01 (occupation code like 6-18-01-01), got {code!r}",
                          "code")
    if not (name or "").strip():
        raise DomainError("required", "职业名称不能为空 (name is required)", "name")
    if s.scalar(select(Occupation).where(Occupation.code == code)):
        raise Conflict("duplicate", f"职业编码 {code} 已存在 (occupation {code} exists)", "code")
    occ = Occupation(code=code, name=name.strip())
    occ.work_types = [WorkType(name=w.strip()) for w in work_types if w.strip()]
    s.add(occ)
    s.flush()
    audit.record(s, actor, "occupation.create", "occupation", occ.id,
                 {"code": code, "name": occ.name, "work_types": [w.name for w in occ.work_types]})
    return occ


# --- agencies -------------------------------------------------------------------------------

def _retired(s: Session, code: str) -> bool:
    return s.scalar(select(RetiredCode.id).where(RetiredCode.code == code)) is not None


def create_agency(s: Session, actor: Actor, *, name: str, category: str, agency_code: str) -> Agency:
    if category not in AGENCY_CATEGORIES:
        raise DomainError("bad_category", f"机构类别应为 Y 或 S (category must be Y or S), got {category!r}", "category")
    if not re.fullmatch(r"\d{4}", agency_code or ""):
        raise DomainError("bad_agency_code", "机构代码应为4位数字，省级备案为0000 (agency code: 4 digits, 0000 if filed "
                          f"with a province), got {agency_code!r}", "agency_code")
    if not (name or "").strip():
        raise DomainError("required", "机构名称不能为空 (name is required)", "name")
    if agency_code != "0000":
        if _retired(s, category + agency_code):
            raise Conflict("code_retired", f"机构代码 {category}{agency_code} 已注销，不得再用 (retired code)", "agency_code")
        if s.scalar(select(Agency.id).where(Agency.category == category, Agency.agency_code == agency_code)):
            raise Conflict("duplicate", f"机构代码 {category}{agency_code} 已被使用 (code in use)", "agency_code")
    ag = Agency(name=name.strip(), category=category, agency_code=agency_code, status="active")
    s.add(ag)
    s.flush()
    audit.record(s, actor, "agency.create", "agency", ag.id,
                 {"name": ag.name, "category": category, "agency_code": agency_code})
    return ag


def add_site(s: Session, actor: Actor, agency: Agency, *, name: str, province_code: str, site_serial: str,
             address: str = "") -> Site:
    if agency.status != "active":
        raise Conflict("agency_cancelled", "机构已注销 (agency is cancelled)", "agency_id")
    if province_code not in PROVINCES:
        raise DomainError("bad_province", f"省级代码 {province_code!r} 不在表4中 (not in the province table)",
                          "province_code")
    if not re.fullmatch(r"\d{6}", site_serial or ""):
        raise DomainError("bad_site_serial", f"站点序列码应为6位数字 (site serial: 6 digits), got {site_serial!r}",
                          "site_serial")
    prefix = f"{agency.category}{agency.agency_code}{province_code}{site_serial}"
    if _retired(s, prefix):
        raise Conflict("code_retired", f"站点代码 {prefix} 已注销，不得再用 (retired site code)", "site_serial")
    clash = s.scalar(select(Site.id).join(Agency).where(Agency.category == agency.category,
                                                        Agency.agency_code == agency.agency_code,
                                                        Site.province_code == province_code,
                                                        Site.site_serial == site_serial))
    if clash:
        raise Conflict("duplicate", f"站点代码 {prefix} 已被使用 (site code in use)", "site_serial")
    site = Site(agency=agency, name=name.strip() or agency.name, province_code=province_code,
                site_serial=site_serial, address=address)
    s.add(site)
    s.flush()
    audit.record(s, actor, "site.create", "site", site.id,
                 {"agency_id": agency.id, "name": site.name, "code_prefix": prefix, "address": address})
    return site


def add_room(s: Session, actor: Actor, site: Site, *, name: str, seat_rows: int, seat_cols: int) -> Room:
    for field, v in (("seat_rows", seat_rows), ("seat_cols", seat_cols)):
        if not isinstance(v, int) or not 1 <= v <= 50:
            raise DomainError("bad_grid", f"{field} 应在1–50之间 (must be 1..50), got {v!r}", field)
    if s.scalar(select(Room.id).where(Room.site_id == site.id, Room.name == name)):
        raise Conflict("duplicate", f"考场 {name} 已存在 (room exists)", "name")
    room = Room(site=site, name=name, seat_rows=seat_rows, seat_cols=seat_cols)
    s.add(room)
    s.flush()
    audit.record(s, actor, "room.create", "room", room.id,
                 {"site_id": site.id, "name": name, "seat_rows": seat_rows, "seat_cols": seat_cols})
    return room


def approve_scope(s: Session, actor: Actor, agency: Agency, *, occupation: Occupation, levels: list[int],
                  work_type: WorkType | None = None) -> list[AgencyScope]:
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad or not levels:
        raise DomainError("bad_level", f"等级应为1–5 (levels must be 1..5), got {levels!r}", "levels")
    if work_type is not None and work_type.occupation_id != occupation.id:
        raise DomainError("bad_work_type", "工种不属于该职业 (work type belongs to another occupation)", "work_type_id")
    rows = []
    for lv in sorted(set(levels), reverse=True):
        exists = s.scalar(select(AgencyScope).where(
            AgencyScope.agency_id == agency.id, AgencyScope.occupation_id == occupation.id,
            AgencyScope.level == lv,
            AgencyScope.work_type_id.is_(None) if work_type is None else AgencyScope.work_type_id == work_type.id))
        if exists:
            rows.append(exists)
            continue
        row = AgencyScope(agency=agency, occupation=occupation, work_type=work_type, level=lv)
        s.add(row)
        rows.append(row)
    s.flush()
    audit.record(s, actor, "agency.scope_approve", "agency", agency.id,
                 {"occupation": occupation.code, "work_type": work_type.name if work_type else None,
                  "levels": sorted(set(levels))})
    return rows


def in_scope(s: Session, agency: Agency, occupation: Occupation, level: int, work_type: WorkType | None = None) -> bool:
    """Whether the agency may assess this occupation (and work type) at this level."""
    q = select(AgencyScope.id).where(AgencyScope.agency_id == agency.id, AgencyScope.occupation_id == occupation.id,
                                     AgencyScope.level == level)
    if work_type is not None:
        q = q.where((AgencyScope.work_type_id == work_type.id) | AgencyScope.work_type_id.is_(None))
    return s.scalar(q.limit(1)) is not None


def cancel_agency(s: Session, actor: Actor, agency: Agency, *, reason: str) -> Agency:
    """Cancel an agency; its codes go to the retired list and are never reused."""
    if agency.status == "cancelled":
        raise Conflict("already_cancelled", "机构已注销 (agency already cancelled)")
    if not (reason or "").strip():
        raise DomainError("required", "注销原因不能为空 (a reason is required)", "reason")
    agency.status, agency.cancelled_at = "cancelled", utcnow()
    codes = [s_.code_prefix for s_ in agency.sites]
    if agency.agency_code != "0000":
        s.add(RetiredCode(code=agency.category + agency.agency_code, kind="agency", reason=reason))
    for c in codes:
        s.add(RetiredCode(code=c, kind="site", reason=reason))
    s.flush()
    audit.record(s, actor, "agency.cancel", "agency", agency.id, {"reason": reason, "retired": codes})
    return agency


# --- people and accounts ---------------------------------------------------------------------

def create_person(s: Session, actor: Actor, *, name: str, id_type: str = "resident_id", id_number: str,
                  phone: str = "", employer: str = "", photo: bytes | None = None, photo_mime: str = "") -> Person:
    if not (name or "").strip() or len(name.strip()) > 100:
        raise DomainError("required", "姓名不能为空且不超过100字 (name is required, ≤100 characters)", "name")
    if id_type not in ID_TYPES:
        raise DomainError("bad_id_type", f"证件类型 {id_type!r} 无效 (unknown ID type)", "id_type")
    try:
        number = normalise_id_number(id_type, id_number)
    except IdNumberError as e:
        raise DomainError("bad_id_number", e.reason, "id_number") from None
    if s.scalar(select(Person.id).where(Person.id_type == id_type, Person.id_number == number)):
        raise Conflict("duplicate_person", "该证件号码已登记 (a person with this ID is already registered)", "id_number")
    p = Person(name=name.strip(), id_type=id_type, id_number=number, phone=phone, employer=employer,
               photo=photo, photo_mime=photo_mime)
    s.add(p)
    s.flush()
    audit.record(s, actor, "person.create", "person", p.id,
                 {"name": p.name, "id_type": id_type, "id_number_sha256": _sha(number),
                  "photo": photo if photo else None})
    return p


def _sha(v: str) -> str:
    import hashlib
    return hashlib.sha256(v.encode()).hexdigest()


def create_account(s: Session, actor: Actor, person: Person, *, username: str, password: str | None = None,
                   password_hash: str | None = None) -> Account:
    """A login for ``person``; pass ``password`` (hashed here) or an argon2 ``password_hash`` (bulk imports)."""
    if not re.fullmatch(r"[A-Za-z0-9_.\-]{3,64}", username or ""):
        raise DomainError("bad_username", "用户名为3–64位字母、数字、_ . - (username: 3–64 of A-Z a-z 0-9 _ . -)",
                          "username")
    if s.scalar(select(Account.id).where(Account.username == username)):
        raise Conflict("duplicate", f"用户名 {username} 已被使用 (username taken)", "username")
    if password_hash is None:
        password_hash = hash_password(password or "")
    elif not password_hash.startswith("$argon2"):
        raise DomainError("bad_hash", "password_hash must be an argon2 hash", "password_hash")
    acc = Account(person=person, username=username, password_hash=password_hash)
    s.add(acc)
    s.flush()
    audit.record(s, actor, "account.create", "account", acc.id, {"person_id": person.id, "username": username})
    return acc


def grant_role(s: Session, actor: Actor, account: Account, *, role: str, agency: Agency | None = None,
               held_level: int | None = None, title: str = "") -> RoleGrant:
    if role not in ROLES:
        raise DomainError("bad_role", f"角色 {role!r} 无效 (unknown role)", "role")
    if role in GLOBAL_ROLES and agency is not None:
        raise DomainError("bad_scope", f"{role} 为全局角色，不属于机构 (global role takes no agency)", "agency_id")
    if role not in GLOBAL_ROLES and agency is None:
        raise DomainError("required", f"{role} 须指定所属机构 (role needs an agency)", "agency_id")
    if held_level is not None and held_level not in LEVELS:
        raise DomainError("bad_level", f"持有等级应为1–5 (held level 1..5), got {held_level!r}", "held_level")
    if title not in TITLES:
        raise DomainError("bad_title", f"职称 {title!r} 无效 (title must be '', 'mid' or 'senior')", "title")
    if role in ("examiner", "supervisor") and held_level is None and not title:
        raise DomainError("unqualified", "考评员/督导员须持有等级证书或职称 (examiners and supervisors need a held "
                          "level or a title)", "held_level")
    for g in account.active_grants():
        if g.role == role and g.agency_id == (agency.id if agency else None):
            raise Conflict("duplicate", f"已持有角色 {role} (role already held)", "role")
    g = RoleGrant(account=account, role=role, agency=agency, held_level=held_level, title=title)
    s.add(g)
    s.flush()
    audit.record(s, actor, "role.grant", "account", account.id,
                 {"role": role, "agency_id": agency.id if agency else None, "held_level": held_level, "title": title})
    return g


def revoke_role(s: Session, actor: Actor, grant: RoleGrant, *, reason: str) -> RoleGrant:
    if grant.revoked_at is not None:
        raise Conflict("already_revoked", "角色已撤销 (already revoked)")
    grant.revoked_at = utcnow()
    grant.account.token_version += 1
    s.flush()
    audit.record(s, actor, "role.revoke", "account", grant.account_id,
                 {"role": grant.role, "agency_id": grant.agency_id, "reason": reason})
    return grant


def authenticate(s: Session, username: str, password: str) -> Account | None:
    """The active account whose password matches, or None (constant work either way)."""
    acc = s.scalar(select(Account).where(Account.username == (username or "").strip()))
    if acc is None or not acc.active:
        try:
            _hasher.verify(_DUMMY_HASH, password or "x")
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(acc.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(acc.password_hash):
        acc.password_hash = _hasher.hash(password)
    return acc


def record_login(s: Session, account: Account, role: str) -> None:
    account.last_login_at = utcnow()
    s.flush()
    audit.record(s, Actor(account.id, account.person.name, role), "account.login", "account", account.id, {})


def get_or_404(s: Session, model, ident, field: str = "id"):
    obj = s.get(model, ident)
    if obj is None:
        raise NotFound("not_found", f"{model.__tablename__} {ident} 不存在 (not found)", field)
    return obj
