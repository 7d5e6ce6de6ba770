"""Skill standards: list, read, import from JSON/CSV/XLSX as a new version, export."""
from __future__ import annotations

from flask import Response, g, request
from pydantic import BaseModel, Field
from sqlalchemy import select

from itembank.core.errors import DomainError, NotFound
from itembank.core.reference import Occupation
from itembank.standards import SkillStandard, create_standard
from itembank.standards_io import FORMATS, export_standard, parse_standard, standard_tree

from ..access import roles
from ..db import db_read, db_write
from . import endpoint

READERS = ("item_writer", "item_reviewer", "agency_admin", "admin", "center_auditor", "examiner", "supervisor")
IMPORTERS = ("item_writer", "agency_admin", "admin")
MAX_BYTES = 2 * 1024 * 1024


class StandardOut(BaseModel):
    id: int
    occupation_code: str
    occupation_name: str
    level: int
    title: str
    version: str
    source: str
    elements: int


class StandardTree(StandardOut):
    tree: list[dict]


class StandardList(BaseModel):
    standards: list[StandardOut]


class ExportQuery(BaseModel):
    format: str = Field(default="json", pattern="^(json|csv|xlsx)$")


def _out(std: SkillStandard) -> StandardOut:
    return StandardOut(id=std.id, occupation_code=std.occupation.code, occupation_name=std.occupation.name,
                       level=std.level, title=std.title, version=std.version, source=std.source,
                       elements=len(std.elements))


@endpoint("/standards", summary="Skill standards (国家职业技能标准 / 评价规范) with their versions",
          response=StandardList)
@roles(*READERS)
def list_skill_standards():
    with db_read() as s:
        rows = s.scalars(select(SkillStandard).order_by(SkillStandard.occupation_id, SkillStandard.level.desc(),
                                                        SkillStandard.id)).all()
        return StandardList(standards=[_out(x) for x in rows])


@endpoint("/standards/<int:standard_id>", summary="One skill standard with its element tree", response=StandardTree)
@roles(*READERS)
def get_skill_standard(standard_id: int):
    with db_read() as s:
        std = s.get(SkillStandard, standard_id)
        if std is None:
            raise NotFound("not_found", f"职业技能标准 {standard_id} 不存在 (not found)", "standard_id")
        return StandardTree(**_out(std).model_dump(), tree=standard_tree(std))


def import_from_request(s, actor) -> SkillStandard:
    """Shared by the API and the page: a multipart upload of a file plus its occupation, level and version."""
    f = request.files.get("file")
    if f is None or not f.filename:
        raise DomainError("required", "请选择文件 (choose a file)", "file")
    data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise DomainError("too_large", "文件不能超过 2 MB (file larger than 2 MB)", "file")
    fmt = f.filename.rsplit(".", 1)[-1].lower()
    if fmt not in FORMATS:
        raise DomainError("bad_format", f"文件应为 {'/'.join(FORMATS)} (file must be .json, .csv or .xlsx)", "file")
    form = request.form
    occ = s.scalar(select(Occupation).where(Occupation.code == form.get("occupation_code", "")))
    if occ is None:
        raise NotFound("not_found", f"职业 {form.get('occupation_code')!r} 不存在 (unknown occupation)",
                       "occupation_code")
    try:
        level = int(form.get("level", ""))
    except ValueError:
        raise DomainError("bad_level", "等级应为1–5 (level must be 1..5)", "level") from None
    version = (form.get("version") or "").strip()
    if not version:
        raise DomainError("required", "版本不能为空 (version is required)", "version")
    tree = parse_standard(fmt, data)
    return create_standard(s, actor, occupation=occ, level=level, version=version,
                           title=(form.get("title") or f"{occ.name} {level}级 {version}").strip(),
                           source=form.get("source") or "national", elements=tree)


@endpoint("/standards/import", "POST", summary="Import a skill standard (multipart: file, occupation_code, level, "
          "version, title, source) as a new version; all-or-nothing", response=StandardOut, status=201)
@roles(*IMPORTERS)
def import_standard():
    with db_write() as s:
        return _out(import_from_request(s, g.principal.actor))


@endpoint("/standards/<int:standard_id>/export", summary="Download a skill standard as JSON, CSV or XLSX",
          query=ExportQuery)
@roles(*READERS)
def export_standard_file(standard_id: int, query: ExportQuery):
    with db_read() as s:
        std = s.get(SkillStandard, standard_id)
        if std is None:
            raise NotFound("not_found", f"职业技能标准 {standard_id} 不存在 (not found)", "standard_id")
        data = export_standard(std, query.format)
        name = f"standard-{std.occupation.code}-L{std.level}-{std.version}.{query.format}"
    mime = {"json": "application/json", "csv": "text/csv",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[query.format]
    return Response(data, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{name}"'})
