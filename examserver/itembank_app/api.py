"""Item-bank API: standards, items and their review, import/export, blueprints, assembly runs, papers.

Item writers (命题人员) and reviewers (审题人员) of an agency work on that agency's bank only;
agency administrators may read. Paper content (with keys) is served only here, to those
staff; candidates receive papers only from delivery, through ``itembank.papers.candidate_view``.
"""
from __future__ import annotations

from typing import Any

from flask import Response, abort, g, request
from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select

from examserver.access import roles
from examserver.api import endpoint
from examserver.db import db_read, db_write
from itembank import blueprints as bps
from itembank import items as bank
from itembank import papers
from itembank.core.audit import AuditRecord
from itembank.core.errors import DomainError, Forbidden, NotFound
from itembank.core.reference import AgencyScope
from itembank.io import formats
from itembank.standards import SkillStandard

STAFF = ("item_writer", "item_reviewer", "agency_admin")


def _agency() -> int:
    aid = g.principal.agency_id
    if aid is None:
        abort(403)
    return aid


def _standard(s, standard_id: int) -> SkillStandard:
    std = s.get(SkillStandard, standard_id)
    if std is None:
        raise NotFound("not_found", f"技能标准 {standard_id} 不存在 (no skill standard {standard_id})", "standard_id")
    in_scope = s.scalar(select(AgencyScope.id).where(AgencyScope.agency_id == _agency(),
                                                     AgencyScope.occupation_id == std.occupation_id,
                                                     AgencyScope.level == std.level))
    if in_scope is None:
        raise Forbidden("out_of_scope", "该职业等级不在本机构备案范围内 (occupation/level outside the agency's scope)",
                        "standard_id")
    return std


# --- standards -------------------------------------------------------------------------------------

@endpoint("/itembank/standards", summary="Skill standards of the agency's approved scope")
@roles(*STAFF)
def list_standards():
    with db_read() as s:
        occ = select(AgencyScope.occupation_id).where(AgencyScope.agency_id == _agency())
        rows = s.scalars(select(SkillStandard).where(SkillStandard.occupation_id.in_(occ))
                         .order_by(SkillStandard.occupation_id, SkillStandard.level.desc())).all()
        return {"standards": [{"id": x.id, "occupation": x.occupation.name, "occupation_code": x.occupation.code,
                               "level": x.level, "title": x.title, "version": x.version} for x in rows]}


@endpoint("/itembank/standards/<int:standard_id>", summary="A skill standard's element tree")
@roles(*STAFF)
def get_standard(standard_id: int):
    with db_read() as s:
        std = _standard(s, standard_id)
        by_id = {e.id: e.code for e in std.elements}
        return {"id": std.id, "title": std.title, "level": std.level, "occupation": std.occupation.name,
                "elements": [{"code": e.code, "name": e.name, "weight": e.weight, "importance": e.importance,
                              "kind": e.kind, "parent": by_id.get(e.parent_id), "leaf": not e.children}
                             for e in std.elements]}


# --- items -----------------------------------------------------------------------------------------

class ItemFields(BaseModel):
    stem: Any = None
    options: Any = None
    answer: Any = None
    explanation: Any = None
    element_code: Any = None
    levels: Any = None
    source: Any = None
    enemy_group: Any = None
    p: Any = None
    irt_a: Any = None
    irt_b: Any = None
    irt_c: Any = None
    rubric: Any = None


class ItemIn(ItemFields):
    standard_id: int
    item_type: str = Field(description="single | multiple | judge | fill | practical")
    code: str | None = None


class PreviewIn(ItemFields):
    item_type: str


class ItemQuery(BaseModel):
    standard_id: int | None = None
    q: str | None = Field(default=None, max_length=100)
    item_type: str | None = None
    status: str | None = None
    element: str | None = None
    source: str | None = None
    level: int | None = Field(default=None, ge=1, le=5)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class ReviewIn(BaseModel):
    decision: str = Field(pattern="^(approve|reject)$")
    comment: str = Field(default="", max_length=1000)


class BatchReviewIn(ReviewIn):
    item_ids: list[int] = Field(min_length=1, max_length=1000)


class RetireIn(BaseModel):
    reason: str = Field(min_length=2, max_length=300)


def _fields(body: BaseModel) -> dict[str, Any]:
    return {k: v for k, v in body.model_dump().items() if k in ItemFields.model_fields and v is not None}


@endpoint("/itembank/items", summary="Browse and search the bank", query=ItemQuery)
@roles(*STAFF)
def list_items(query: ItemQuery):
    with db_read() as s:
        q = (select(bank.Item).join(bank.ItemVersion, bank.ItemVersion.id == bank.Item.head_version_id)
             .where(bank.Item.agency_id == _agency()))
        if query.standard_id:
            q = q.where(bank.Item.standard_id == query.standard_id)
        if query.item_type:
            q = q.where(bank.Item.item_type == query.item_type)
        if query.status:
            q = q.where(bank.Item.status == query.status)
        if query.element:
            q = q.where(or_(bank.ItemVersion.element_code == query.element,
                            bank.ItemVersion.element_code.startswith(query.element + ".")))
        if query.source:
            q = q.where(bank.ItemVersion.source == query.source)
        if query.q:
            like = f"%{query.q.strip()}%"
            q = q.where(or_(bank.ItemVersion.stem.like(like), bank.Item.code.like(like)))
        rows = s.scalars(q.order_by(bank.Item.id)).all()
        if query.level:
            rows = [r for r in rows if query.level in (r.head_version.levels or [])]
        total = len(rows)
        counts = dict(s.execute(select(bank.Item.status, func.count()).where(bank.Item.agency_id == _agency())
                                .group_by(bank.Item.status)).all())
        return {"total": total, "counts": counts,
                "items": [bank.item_summary(r) for r in rows[query.offset:query.offset + query.limit]]}


@endpoint("/itembank/items", "POST", summary="Write a new item (draft)", body=ItemIn, status=201)
@roles("item_writer")
def create_item(body: ItemIn):
    with db_write() as s:
        std = _standard(s, body.standard_id)
        item = bank.create_item(s, g.principal.actor, agency_id=_agency(), standard=std, item_type=body.item_type,
                                code=body.code, **_fields(body))
        return bank.item_summary(item)


@endpoint("/itembank/items/preview", "POST", summary="Preview unsaved fields as the candidate will see them",
          body=PreviewIn)
@roles(*STAFF)
def preview_item(body: PreviewIn):
    return bank.preview(body.item_type, _fields(body))


@endpoint("/itembank/items/<int:item_id>", summary="An item with its versions, reviews and history")
@roles(*STAFF)
def get_item(item_id: int):
    with db_read() as s:
        item = bank.get_item(s, item_id, _agency())
        reviews = s.scalars(select(bank.ItemReview).where(bank.ItemReview.item_id == item.id)
                            .order_by(bank.ItemReview.id)).all()
        history = s.scalars(select(AuditRecord).where(AuditRecord.object_type == "item",
                                                      AuditRecord.object_id == str(item.id))
                            .order_by(AuditRecord.seq)).all()
        return {**bank.item_summary(item), "standard_id": item.standard_id,
                "head": bank.version_detail(item.head_version),
                "approved": bank.version_detail(item.approved_version) if item.approved_version else None,
                "versions": [{"number": v.number, "status": v.status, "digest": v.digest} for v in item.versions],
                "reviews": [{"decision": r.decision, "comment": r.comment, "reviewer_id": r.reviewer_id,
                             "at": r.at.isoformat()} for r in reviews],
                "history": [{"seq": h.seq, "at": h.at.isoformat(), "actor": h.actor_name, "action": h.action}
                            for h in history]}


@endpoint("/itembank/items/<int:item_id>", "PUT", summary="Edit an item (a new version if it is approved)",
          body=ItemFields)
@roles("item_writer")
def edit_item(item_id: int, body: ItemFields):
    with db_write() as s:
        item = bank.get_item(s, item_id, _agency())
        v = bank.revise_item(s, g.principal.actor, item, **_fields(body))
        return {**bank.item_summary(item), "head": bank.version_detail(v)}


@endpoint("/itembank/items/<int:item_id>/submit", "POST", summary="Send a draft to review")
@roles("item_writer")
def submit_item(item_id: int):
    with db_write() as s:
        item = bank.submit_for_review(s, g.principal.actor, bank.get_item(s, item_id, _agency()))
        return bank.item_summary(item)


@endpoint("/itembank/items/<int:item_id>/review", "POST", summary="Approve or send back an item", body=ReviewIn)
@roles("item_reviewer")
def review_item(item_id: int, body: ReviewIn):
    with db_write() as s:
        item = bank.review_item(s, g.principal.actor, bank.get_item(s, item_id, _agency()), decision=body.decision,
                                comment=body.comment)
        return bank.item_summary(item)


@endpoint("/itembank/items/review", "POST", summary="Approve or send back several items at once", body=BatchReviewIn)
@roles("item_reviewer")
def review_items(body: BatchReviewIn):
    with db_write() as s:
        items = [bank.get_item(s, i, _agency()) for i in body.item_ids]
        n = bank.review_items(s, g.principal.actor, items, decision=body.decision, comment=body.comment)
        return {"reviewed": n}


@endpoint("/itembank/items/<int:item_id>/retire", "POST", summary="Retire an approved item", body=RetireIn)
@roles("item_reviewer")
def retire_item(item_id: int, body: RetireIn):
    with db_write() as s:
        item = bank.retire_item(s, g.principal.actor, bank.get_item(s, item_id, _agency()), reason=body.reason)
        return bank.item_summary(item)


@endpoint("/itembank/review-queue", summary="Items and papers waiting for this reviewer")
@roles("item_reviewer", "item_writer")
def review_queue():
    me = g.principal.account_id
    with db_read() as s:
        items = s.scalars(select(bank.Item).where(bank.Item.agency_id == _agency(), bank.Item.status == "in_review")
                          .order_by(bank.Item.updated_at)).all()
        pps = s.scalars(select(papers.Paper).where(papers.Paper.agency_id == _agency(),
                                                   papers.Paper.status.in_(["in_review", "approved"]))
                        .order_by(papers.Paper.id)).all()
        return {"items": [{**bank.item_summary(i), "own": me in (i.author_id, i.head_version.author_id)}
                          for i in items],
                "papers": [{**papers.paper_out(p), "own": p.created_by == me} for p in pps]}


# --- import / export ---------------------------------------------------------------------------------

@endpoint("/itembank/items/import", "POST", summary="Import items from XLSX, JSON or a QTI 3.0 package (all or nothing)")
@roles("item_writer")
def import_items():
    f = request.files.get("file")
    if f is None or not f.filename:
        raise DomainError("required", "请选择文件 (choose a file)", "file")
    try:
        standard_id = int(request.form.get("standard_id", ""))
    except ValueError:
        raise DomainError("required", "请选择技能标准 (standard_id is required)", "standard_id") from None
    data = f.read(20 * 1024 * 1024 + 1)
    if len(data) > 20 * 1024 * 1024:
        raise DomainError("too_large", "文件超过20 MB (file larger than 20 MB)", "file")
    fmt = formats.detect(f.filename, request.form.get("format"))
    rows = formats.parse(fmt, data)
    with db_write() as s:
        std = _standard(s, standard_id)
        from itembank.io import import_rows
        created = import_rows(s, g.principal.actor, agency_id=_agency(), standard=std, rows=rows, fmt=fmt,
                              filename=f.filename[:200])
        return {"created": len(created), "item_ids": [i.id for i in created]}


class ExportQuery(BaseModel):
    standard_id: int
    format: str = Field(default="json", pattern="^(json|xlsx|qti)$")
    status: str | None = None


@endpoint("/itembank/items/export", summary="Export the bank as JSON, XLSX or a QTI 3.0 package", query=ExportQuery)
@roles("item_writer", "item_reviewer")
def export_items(query: ExportQuery):
    with db_read() as s:
        std = _standard(s, query.standard_id)
        q = select(bank.Item).where(bank.Item.agency_id == _agency(), bank.Item.standard_id == std.id)
        if query.status:
            q = q.where(bank.Item.status == query.status)
        items = s.scalars(q.order_by(bank.Item.id)).all()
        data, mimetype, ext = formats.export(query.format, items, std)
    return Response(data, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="itembank-{std.id}.{ext}"'})


@endpoint("/itembank/items/template.xlsx", summary="The XLSX template item writers fill in")
@roles(*STAFF)
def item_template():
    return Response(formats.template_xlsx(), mimetype=formats.XLSX_MIME,
                    headers={"Content-Disposition": 'attachment; filename="itembank-template.xlsx"'})


# --- blueprints ----------------------------------------------------------------------------------------

class CellIn(BaseModel):
    element_code: str = Field(min_length=1, max_length=32)
    item_type: str
    count: int = Field(ge=0, le=500)


class BandIn(BaseModel):
    low: float = Field(ge=0, le=1)
    high: float = Field(ge=0, le=1)
    min_count: int = Field(default=0, ge=0)
    max_count: int | None = Field(default=None, ge=0)


class BlueprintSpec(BaseModel):
    name: str = Field(default="", max_length=200)
    total_points: float = Field(default=100.0, gt=0, le=1000)
    duration_minutes: int = Field(default=90, ge=10, le=600)
    n_forms: int = Field(default=2, ge=1, le=10)
    max_overlap: int = Field(default=0, ge=0)
    exposure_limit: int | None = Field(default=None, ge=1)
    target_mean_p: float = Field(default=0.7, gt=0, lt=1)
    tolerance: float = Field(default=0.02, gt=0, lt=1)
    cut_theta: float | None = Field(default=None, ge=-4, le=4)
    target_information: float | None = Field(default=None, gt=0)
    points_per_type: dict[str, float] = Field(default_factory=lambda: dict(bps.DEFAULT_POINTS))
    bands: list[BandIn] = []
    practical_count: int = Field(default=0, ge=0, le=10)
    cells: list[CellIn] = []


class BlueprintIn(BlueprintSpec):
    standard_id: int


class CoverageIn(BlueprintSpec):
    standard_id: int


class RunIn(BaseModel):
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    mode: str = Field(default="sequential", pattern="^(sequential|simultaneous)$")
    time_limit: float = Field(default=60.0, ge=1, le=600)


def _spec(body: BlueprintSpec) -> dict[str, Any]:
    return body.model_dump(exclude={"standard_id"})


@endpoint("/itembank/blueprints", summary="Blueprints of the agency")
@roles(*STAFF)
def list_blueprints():
    with db_read() as s:
        rows = s.scalars(select(bps.ExamBlueprint).where(bps.ExamBlueprint.agency_id == _agency())
                         .order_by(bps.ExamBlueprint.id)).all()
        return {"blueprints": [bps.blueprint_out(b) for b in rows]}


@endpoint("/itembank/blueprints", "POST", summary="Create a blueprint", body=BlueprintIn, status=201)
@roles("item_writer")
def create_blueprint(body: BlueprintIn):
    with db_write() as s:
        std = _standard(s, body.standard_id)
        bp = bps.create_blueprint(s, g.principal.actor, agency_id=_agency(), standard=std, **_spec(body))
        return bps.blueprint_out(bp)


@endpoint("/itembank/blueprints/<int:blueprint_id>", summary="A blueprint with its live coverage")
@roles(*STAFF)
def get_blueprint(blueprint_id: int):
    with db_read() as s:
        bp = bps.get_blueprint(s, blueprint_id, _agency())
        out = bps.blueprint_out(bp)
        out["coverage"] = bps.coverage(s, agency_id=bp.agency_id, standard=bp.standard, spec=out)
        return out


@endpoint("/itembank/blueprints/<int:blueprint_id>", "PUT", summary="Change a blueprint", body=BlueprintSpec)
@roles("item_writer")
def update_blueprint(blueprint_id: int, body: BlueprintSpec):
    with db_write() as s:
        bp = bps.update_blueprint(s, g.principal.actor, bps.get_blueprint(s, blueprint_id, _agency()), **_spec(body))
        return bps.blueprint_out(bp)


@endpoint("/itembank/blueprints/coverage", "POST", summary="Live coverage of an unsaved blueprint", body=CoverageIn)
@roles(*STAFF)
def blueprint_coverage(body: CoverageIn):
    with db_read() as s:
        std = _standard(s, body.standard_id)
        return bps.coverage(s, agency_id=_agency(), standard=std, spec=_spec(body))


@endpoint("/itembank/blueprints/<int:blueprint_id>/runs", "POST", summary="Queue an assembly of a blueprint",
          body=RunIn, status=201)
@roles("item_writer")
def request_run(blueprint_id: int, body: RunIn):
    with db_write() as s:
        run = papers.request_run(s, g.principal.actor, bps.get_blueprint(s, blueprint_id, _agency()),
                                 seed=body.seed, mode=body.mode, time_limit=body.time_limit)
        return papers.run_out(run)


@endpoint("/itembank/runs/<int:run_id>/start", "POST", summary="Start a queued assembly (background task)")
@roles("item_writer")
def start_run(run_id: int):
    with db_read() as s:
        run = s.get(papers.AssemblyRun, run_id)
        if run is None or run.agency_id != _agency():
            raise NotFound("not_found", f"组卷任务 {run_id} 不存在 (no run {run_id})", "run_id")
    from .tasks import assemble_run
    assemble_run.delay(run_id)  # embedded profile: runs here, eagerly; scaled: on a worker
    with db_read() as s:
        return papers.run_out(s.get(papers.AssemblyRun, run_id))


@endpoint("/itembank/runs/<int:run_id>", summary="An assembly run's progress and result")
@roles(*STAFF)
def get_run(run_id: int):
    with db_read() as s:
        run = s.get(papers.AssemblyRun, run_id)
        if run is None or run.agency_id != _agency():
            raise NotFound("not_found", f"组卷任务 {run_id} 不存在 (no run {run_id})", "run_id")
        return papers.run_out(run)


@endpoint("/itembank/runs/<int:run_id>/comparison", summary="Overlap, difficulty and information curves of the forms")
@roles(*STAFF)
def run_comparison(run_id: int):
    with db_read() as s:
        run = s.get(papers.AssemblyRun, run_id)
        if run is None or run.agency_id != _agency():
            raise NotFound("not_found", f"组卷任务 {run_id} 不存在 (no run {run_id})", "run_id")
        if not run.papers:
            raise DomainError("no_papers", "该次组卷没有生成试卷 (this run produced no papers)", "run_id")
        return papers.comparison(run.papers, target_p=run.blueprint.target_mean_p)


# --- papers -------------------------------------------------------------------------------------------

class PaperQuery(BaseModel):
    blueprint_id: int | None = None
    status: str | None = None


class ShuffleIn(BaseModel):
    sections: dict[str, bool] = {}
    options: bool = True


class SubmitPaperIn(BaseModel):
    shuffle: ShuffleIn | None = None


@endpoint("/itembank/papers", summary="Papers of the agency", query=PaperQuery)
@roles(*STAFF)
def list_papers(query: PaperQuery):
    with db_read() as s:
        q = select(papers.Paper).where(papers.Paper.agency_id == _agency())
        if query.blueprint_id:
            q = q.where(papers.Paper.blueprint_id == query.blueprint_id)
        if query.status:
            q = q.where(papers.Paper.status == query.status)
        return {"papers": [papers.paper_out(p) for p in s.scalars(q.order_by(papers.Paper.id))]}


@endpoint("/itembank/papers/<int:paper_id>", summary="A paper with its items and keys (authorised staff only)")
@roles("item_writer", "item_reviewer")
def get_paper(paper_id: int):
    with db_read() as s:
        paper = papers.get_paper(s, paper_id, _agency())
        return {**papers.paper_out(paper, with_items=True, with_key=True), "digest_ok": papers.verify_paper(paper)}


@endpoint("/itembank/papers/<int:paper_id>/submit", "POST", summary="Send a paper to review", body=SubmitPaperIn)
@roles("item_writer")
def submit_paper(paper_id: int, body: SubmitPaperIn):
    with db_write() as s:
        paper = papers.submit_paper(s, g.principal.actor, papers.get_paper(s, paper_id, _agency()),
                                    shuffle=body.shuffle.model_dump() if body.shuffle else None)
        return papers.paper_out(paper)


@endpoint("/itembank/papers/<int:paper_id>/review", "POST", summary="Approve or reject a paper", body=ReviewIn)
@roles("item_reviewer")
def review_paper(paper_id: int, body: ReviewIn):
    with db_write() as s:
        paper = papers.review_paper(s, g.principal.actor, papers.get_paper(s, paper_id, _agency()),
                                    decision=body.decision, comment=body.comment)
        return papers.paper_out(paper)


@endpoint("/itembank/papers/<int:paper_id>/seal", "POST", summary="Seal an approved paper")
@roles("item_reviewer")
def seal_paper(paper_id: int):
    with db_write() as s:
        paper = papers.seal_paper(s, g.principal.actor, papers.get_paper(s, paper_id, _agency()))
        return papers.paper_out(paper)
