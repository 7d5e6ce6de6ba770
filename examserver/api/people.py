"""People and their accounts and roles."""
from __future__ import annotations

import datetime as dt

from flask import g
from pydantic import BaseModel, Field
from sqlalchemy import select

from itembank.core import directory
from itembank.core.errors import Forbidden
from itembank.core.idcard import mask_id_number
from itembank.core.people import GLOBAL_ROLES, Account, RoleGrant
from itembank.core.reference import Agency

from ..access import roles
from ..db import db_read, db_write
from . import endpoint
from .schemas import Page


class UserIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    id_type: str = "resident_id"
    id_number: str = Field(min_length=5, max_length=24)
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=8, max_length=256)
    role: str
    agency_id: int | None = None
    held_level: int | None = Field(default=None, ge=1, le=5)
    title: str = ""
    phone: str = ""
    employer: str = ""


class GrantOut(BaseModel):
    id: int
    role: str
    agency_id: int | None
    held_level: int | None
    title: str
    revoked_at: dt.datetime | None


class UserOut(BaseModel):
    account_id: int
    person_id: int
    username: str
    name: str
    id_type: str
    id_number_masked: str
    active: bool
    grants: list[GrantOut]


class UserList(BaseModel):
    users: list[UserOut]
    total: int


class UserQuery(Page):
    role: str | None = None


def user_out(acc: Account) -> UserOut:
    p = acc.person
    return UserOut(account_id=acc.id, person_id=p.id, username=acc.username, name=p.name, id_type=p.id_type,
                   id_number_masked=mask_id_number(p.id_number), active=acc.active,
                   grants=[GrantOut(id=gr.id, role=gr.role, agency_id=gr.agency_id, held_level=gr.held_level,
                                    title=gr.title, revoked_at=gr.revoked_at) for gr in acc.grants])


@endpoint("/users", "POST", summary="Register a person with an account and a role", body=UserIn,
          response=UserOut, status=201)
@roles("admin", "agency_admin")
def create_user(body: UserIn):
    p = g.principal
    if p.role == "agency_admin" and (body.role in GLOBAL_ROLES or body.role == "agency_admin"
                                     or body.agency_id != p.agency_id):
        raise Forbidden("forbidden", "机构管理员只能为本机构添加非管理角色 (agency admins add non-admin roles "
                        "in their own agency)", "role")
    with db_write() as s:
        agency = directory.get_or_404(s, Agency, body.agency_id, "agency_id") if body.agency_id else None
        person = directory.create_person(s, p.actor, name=body.name, id_type=body.id_type,
                                         id_number=body.id_number, phone=body.phone, employer=body.employer)
        acc = directory.create_account(s, p.actor, person, username=body.username, password=body.password)
        directory.grant_role(s, p.actor, acc, role=body.role, agency=agency, held_level=body.held_level,
                             title=body.title)
        s.refresh(acc)
        return user_out(acc)


@endpoint("/users", summary="List accounts (an agency admin sees their own agency's)", query=UserQuery,
          response=UserList)
@roles("admin", "agency_admin")
def list_users(query: UserQuery):
    p = g.principal
    with db_read() as s:
        q = select(Account).join(RoleGrant).where(RoleGrant.revoked_at.is_(None)).distinct().order_by(Account.id)
        if p.role == "agency_admin":
            q = q.where(RoleGrant.agency_id == p.agency_id)
        if query.role:
            q = q.where(RoleGrant.role == query.role)
        accounts = s.scalars(q).all()
        page = accounts[query.offset:query.offset + query.limit]
        return UserList(users=[user_out(a) for a in page], total=len(accounts))
