"""API tokens: exchange a username, password and role for a bearer token."""
from __future__ import annotations

from flask import current_app, g
from pydantic import BaseModel, Field

from itembank.core import directory

from ..extensions import login_limits
from ..access import issue_token, public, signed_in
from ..db import db_write
from . import ApiError, endpoint


class TokenIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    role: str | None = Field(default=None, description="role to act in; required when the account holds several")


class TokenOut(BaseModel):
    token: str
    role: str
    agency_id: int | None
    expires_in: int


class Me(BaseModel):
    account_id: int
    username: str
    name: str
    role: str
    agency_id: int | None


@endpoint("/auth/token", "POST", summary="Sign in and get a bearer token", body=TokenIn, response=TokenOut,
          rate_limit=login_limits)
@public("signing in is how a caller stops being anonymous")
def create_token(body: TokenIn):
    with db_write() as s:
        acc = directory.authenticate(s, body.username, body.password)
        if acc is None:
            raise ApiError(401, "bad_credentials", "用户名或密码错误 (wrong username or password)", "password")
        grants = acc.active_grants()
        chosen = [gr for gr in grants if body.role in (None, gr.role)]
        if not chosen:
            raise ApiError(403, "role_not_held", f"该账号没有角色 {body.role} (role not held)", "role")
        if len(chosen) > 1 and body.role is None:
            raise ApiError(422, "role_required", "账号持有多个角色，请指定 role (several roles held; name one)", "role")
        grant = chosen[0]
        directory.record_login(s, acc, grant.role)
        token = issue_token(acc, grant)
    from ..access import TOKEN_MAX_AGE
    return TokenOut(token=token, role=grant.role, agency_id=grant.agency_id, expires_in=TOKEN_MAX_AGE)



@endpoint("/auth/me", summary="Who the caller is, in which role", response=Me)
@signed_in()
def me():
    p = g.principal
    return Me(account_id=p.account_id, username=p.username, name=p.name, role=p.role, agency_id=p.agency_id)
