"""People, their accounts and their roles.

One :class:`Person` (name, identity document, photo) may hold several
:class:`Account` logins, each with one or more :class:`RoleGrant` rows scoped to an
agency (or global for the system administrator and centre auditors).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (Boolean, CheckConstraint, DateTime, ForeignKey, Integer, LargeBinary, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, utcnow
from .reference import Agency

ROLES: dict[str, tuple[str, str]] = {
    "candidate": ("考生", "Candidate"),
    "item_writer": ("命题人员", "Item writer"),
    "item_reviewer": ("审题人员", "Item reviewer"),
    "proctor": ("监考人员", "Proctor"),
    "chief_proctor": ("考场负责人", "Chief proctor"),
    "examiner": ("考评员", "Examiner"),
    "supervisor": ("质量督导员", "Supervisor"),
    "center_auditor": ("鉴定中心审核", "Centre auditor"),
    "agency_admin": ("评价机构管理员", "Agency administrator"),
    "admin": ("系统管理员", "System administrator"),
}
GLOBAL_ROLES = {"admin", "center_auditor"}
STAFF_ROLES = set(ROLES) - {"candidate"}

TITLES = {"": ("无", "none"), "mid": ("中级职称", "mid-level title"), "senior": ("高级职称", "senior title")}


class Person(Base):
    """A natural person, identified by an identity document."""

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("id_type", "id_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    id_type: Mapped[str] = mapped_column(String(24), default="resident_id")
    id_number: Mapped[str] = mapped_column(String(24))
    phone: Mapped[str] = mapped_column(String(32), default="")
    employer: Mapped[str] = mapped_column(String(200), default="")
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    photo_mime: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    accounts: Mapped[list[Account]] = relationship(back_populates="person")


class Account(Base):
    """A login of a person; passwords are argon2 hashes."""

    __tablename__ = "account"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    person: Mapped[Person] = relationship(back_populates="accounts")
    grants: Mapped[list[RoleGrant]] = relationship(back_populates="account", order_by="RoleGrant.id")

    def active_grants(self) -> list[RoleGrant]:
        return [g for g in self.grants if g.revoked_at is None]


class RoleGrant(Base):
    """A role held by an account, scoped to an agency unless the role is global.

    Examiners and supervisors carry their qualification: ``held_level`` (the skill level
    certificate they hold, 1..5) and ``title`` (professional title: '', 'mid', 'senior').
    """

    __tablename__ = "role_grant"
    __table_args__ = (
        CheckConstraint("held_level is null or held_level between 1 and 5", name="held_level"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    role: Mapped[str] = mapped_column(String(24))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    held_level: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(16), default="")
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    account: Mapped[Account] = relationship(back_populates="grants")
    agency: Mapped[Agency | None] = relationship()
