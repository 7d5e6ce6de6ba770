"""Evaluation agencies, their sites, rooms and approved scope; occupations."""
from __future__ import annotations

from flask import g
from pydantic import BaseModel, Field
from sqlalchemy import select

from itembank.core import directory
from itembank.core.reference import Agency, Occupation, Site, WorkType

from ..access import require_agency, roles, signed_in
from ..db import db_read, db_write
from . import endpoint
from .schemas import AgencyOut, agency_out


class AgencyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    category: str = Field(pattern="^[YS]$", description="Y employer (用人单位) or S social organisation")
    agency_code: str = Field(pattern=r"^\d{4}$", description="0001–9999 ministry-filed, 0000 province-filed")


class SiteIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    province_code: str = Field(pattern=r"^\d{2}$")
    site_serial: str = Field(pattern=r"^\d{6}$")
    address: str = Field(default="", max_length=300)


class RoomIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    seat_rows: int = Field(ge=1, le=50)
    seat_cols: int = Field(ge=1, le=50)


class RoomOut(BaseModel):
    id: int
    site_id: int
    name: str
    seat_rows: int
    seat_cols: int
    capacity: int


class ScopeIn(BaseModel):
    occupation_code: str
    work_type: str | None = None
    levels: list[int] = Field(min_length=1)


class CancelIn(BaseModel):
    reason: str = Field(min_length=2, max_length=300)


class OccupationIn(BaseModel):
    code: str = Field(pattern=r"^\d-\d{2}-\d{2}-\d{2}$")
    name: str = Field(min_length=1, max_length=100)
    work_types: list[str] = []


class OccupationOut(BaseModel):
    id: int
    code: str
    name: str
    work_types: list[str]


class AgencyList(BaseModel):
    agencies: list[AgencyOut]


@endpoint("/agencies", summary="List agencies (one's own for agency staff)", response=AgencyList)
@signed_in()
def list_agencies():
    p = g.principal
    with db_read() as s:
        q = select(Agency).order_by(Agency.id)
        if p.role not in ("admin", "center_auditor"):
            q = q.where(Agency.id == p.agency_id)
        return AgencyList(agencies=[agency_out(a) for a in s.scalars(q)])


@endpoint("/agencies", "POST", summary="Register an evaluation agency", body=AgencyIn, response=AgencyOut,
          status=201)
@roles("admin")
def create_agency(body: AgencyIn):
    with db_write() as s:
        ag = directory.create_agency(s, g.principal.actor, **body.model_dump())
        return agency_out(ag)


@endpoint("/agencies/<int:agency_id>", summary="One agency with sites and scope", response=AgencyOut)
@signed_in()
def get_agency(agency_id: int):
    require_agency(agency_id)
    with db_read() as s:
        return agency_out(directory.get_or_404(s, Agency, agency_id, "agency_id"))


@endpoint("/agencies/<int:agency_id>/sites", "POST", summary="Add a filed site", body=SiteIn, response=AgencyOut,
          status=201)
@roles("admin")
def add_site(agency_id: int, body: SiteIn):
    with db_write() as s:
        ag = directory.get_or_404(s, Agency, agency_id, "agency_id")
        directory.add_site(s, g.principal.actor, ag, **body.model_dump())
        return agency_out(ag)


@endpoint("/sites/<int:site_id>/rooms", "POST", summary="Add a room with its seat grid", body=RoomIn,
          response=RoomOut, status=201)
@roles("admin", "agency_admin")
def add_room(site_id: int, body: RoomIn):
    with db_write() as s:
        site = directory.get_or_404(s, Site, site_id, "site_id")
        require_agency(site.agency_id)
        r = directory.add_room(s, g.principal.actor, site, **body.model_dump())
        return RoomOut(id=r.id, site_id=site.id, name=r.name, seat_rows=r.seat_rows, seat_cols=r.seat_cols,
                       capacity=r.capacity)


@endpoint("/agencies/<int:agency_id>/scope", "POST", summary="Approve occupation levels for an agency",
          body=ScopeIn, response=AgencyOut)
@roles("admin")
def approve_scope(agency_id: int, body: ScopeIn):
    from itembank.core.errors import NotFound
    with db_write() as s:
        ag = directory.get_or_404(s, Agency, agency_id, "agency_id")
        occ = s.scalar(select(Occupation).where(Occupation.code == body.occupation_code))
        if occ is None:
            raise NotFound("not_found", f"职业 {body.occupation_code} 不存在 (unknown occupation)", "occupation_code")
        wt = None
        if body.work_type:
            wt = s.scalar(select(WorkType).where(WorkType.occupation_id == occ.id, WorkType.name == body.work_type))
            if wt is None:
                raise NotFound("not_found", f"工种 {body.work_type} 不存在 (unknown work type)", "work_type")
        directory.approve_scope(s, g.principal.actor, ag, occupation=occ, work_type=wt, levels=body.levels)
        s.refresh(ag)
        return agency_out(ag)


@endpoint("/agencies/<int:agency_id>/cancel", "POST", summary="Cancel an agency and retire its codes",
          body=CancelIn, response=AgencyOut)
@roles("admin")
def cancel_agency(agency_id: int, body: CancelIn):
    with db_write() as s:
        ag = directory.get_or_404(s, Agency, agency_id, "agency_id")
        directory.cancel_agency(s, g.principal.actor, ag, reason=body.reason)
        return agency_out(ag)


class OccupationList(BaseModel):
    occupations: list[OccupationOut]


@endpoint("/occupations", summary="Occupations with work types", response=OccupationList)
@signed_in()
def list_occupations():
    with db_read() as s:
        occs = s.scalars(select(Occupation).order_by(Occupation.code))
        return OccupationList(occupations=[OccupationOut(id=o.id, code=o.code, name=o.name,
                                                         work_types=[w.name for w in o.work_types]) for o in occs])


@endpoint("/occupations", "POST", summary="Add an occupation", body=OccupationIn, response=OccupationOut,
          status=201)
@roles("admin")
def create_occupation(body: OccupationIn):
    with db_write() as s:
        o = directory.create_occupation(s, g.principal.actor, **body.model_dump())
        return OccupationOut(id=o.id, code=o.code, name=o.name, work_types=[w.name for w in o.work_types])
