"""Shared API shapes."""
from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class Page(BaseModel):
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class SiteOut(BaseModel):
    id: int
    name: str
    province_code: str
    site_serial: str
    code_prefix: str
    address: str


class ScopeOut(BaseModel):
    occupation_code: str
    occupation_name: str
    work_type: str | None
    level: int


class AgencyOut(BaseModel):
    id: int
    name: str
    category: str
    agency_code: str
    status: str
    created_at: dt.datetime
    sites: list[SiteOut]
    scope: list[ScopeOut]


def agency_out(ag) -> AgencyOut:
    return AgencyOut(
        id=ag.id, name=ag.name, category=ag.category, agency_code=ag.agency_code, status=ag.status,
        created_at=ag.created_at,
        sites=[SiteOut(id=x.id, name=x.name, province_code=x.province_code, site_serial=x.site_serial,
                       code_prefix=x.code_prefix, address=x.address) for x in ag.sites],
        scope=[ScopeOut(occupation_code=sc.occupation.code, occupation_name=sc.occupation.name,
                        work_type=sc.work_type.name if sc.work_type else None, level=sc.level) for sc in ag.scope])
