"""Assembly runs, papers (试卷) and their approval and sealing.

An assembly run turns a blueprint into ``n_forms`` parallel forms with the pure engine
(:mod:`itembank.assembly`); its row records progress so a page can poll it. Each form
becomes a draft :class:`Paper` that pins the approved :class:`~itembank.items.ItemVersion`
of every item, with a content digest over the pinned versions. Workflow:
``draft → in_review → approved → sealed`` (or ``rejected``). The reviewer who approves is
never the writer who assembled it. A sealed paper cannot change (a flush-time guard refuses
any change to it or its items); sealing counts one exposure for each of its items.

Delivery and scoring (other areas) read a sealed paper only through two functions:

* :func:`candidate_view` — what a candidate's browser receives: stems and options, no keys,
  explanations or deduction rules;
* :func:`scoring_key` — keys, accepted answers and rubrics, for automatic scoring and examiners.

Staff see paper content only through the item-bank API, which limits it to the agency's
item writers and reviewers; candidates get it only from the delivery area once their
session has started (Henan 办法 art. 20–22: papers are confidential until the exam).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import string
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from itembank import assembly
from itembank.blueprints import DEFAULT_POINTS, ExamBlueprint, blueprint_problems, engine_blueprint, engine_pool
from itembank.core import audit
from itembank.core.audit import Actor, canonical_json
from itembank.core.db import Base, Database, utcnow
from itembank.core.errors import Conflict, DomainError, Forbidden, NotFound
from itembank.items import ITEM_TYPES, Item, ItemVersion, candidate_item, element_codes

SECTION_ORDER = ("single", "multiple", "judge", "fill", "practical")
PAPER_STATUSES: dict[str, tuple[str, str]] = {
    "draft": ("草稿", "draft"), "in_review": ("待审", "in review"), "approved": ("已审定", "approved"),
    "sealed": ("已封存", "sealed"), "rejected": ("已退回", "rejected"),
}
RUN_STATUSES = ("queued", "running", "done", "infeasible", "failed")
DEFAULT_SHUFFLE = {"sections": {"single": True, "multiple": True, "judge": True, "fill": False, "practical": False},
                   "options": True}


class AssemblyRun(Base):
    """One assembly of a blueprint (a background task); the page polls ``progress`` and ``message``."""

    __tablename__ = "assembly_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("exam_blueprint.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    blueprint_revision: Mapped[int] = mapped_column(Integer, default=1)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(String(300), default="")
    seed: Mapped[int] = mapped_column(Integer, default=0)
    mode: Mapped[str] = mapped_column(String(16), default="sequential")
    time_limit: Mapped[float] = mapped_column(Float, default=60.0)
    result: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    blueprint: Mapped[ExamBlueprint] = relationship()
    papers: Mapped[list[Paper]] = relationship(back_populates="run", order_by="Paper.form_label")


class Paper(Base):
    """试卷: one assembled form; pins item versions; approved and sealed before use."""

    __tablename__ = "paper"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("exam_blueprint.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("assembly_run.id"))
    form_label: Mapped[str] = mapped_column(String(4))
    title: Mapped[str] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    total_points: Mapped[float] = mapped_column(Float)
    practical_points: Mapped[float] = mapped_column(Float, default=0.0)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    shuffle: Mapped[dict] = mapped_column(JSON, default=dict)
    digest: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    review_comment: Mapped[str] = mapped_column(String(1000), default="")
    sealed_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    sealed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    run: Mapped[AssemblyRun | None] = relationship(back_populates="papers")
    blueprint: Mapped[ExamBlueprint] = relationship()
    items: Mapped[list[PaperItem]] = relationship(back_populates="paper", order_by="PaperItem.position")


class PaperItem(Base):
    """One position of a paper: the item, the pinned version and its points."""

    __tablename__ = "paper_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("paper.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    section: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_version.id"))
    points: Mapped[float] = mapped_column(Float)
    paper: Mapped[Paper] = relationship(back_populates="items")
    item: Mapped[Item] = relationship()
    version: Mapped[ItemVersion] = relationship()


@event.listens_for(Session, "before_flush")
def _sealed_papers_are_immutable(session: Session, _ctx, _instances) -> None:
    """Refuse any change to a sealed paper or to the items of one."""
    from sqlalchemy import inspect as sa_inspect

    def sealed(paper_id: int | None) -> bool:
        if paper_id is None:
            return False
        p = session.get(Paper, paper_id)
        if p is None:
            return False
        hist = sa_inspect(p).attrs.status.history
        return (hist.deleted[0] if hist.deleted else p.status) == "sealed"

    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Paper):
            hist = sa_inspect(obj).attrs.status.history
            if (hist.deleted[0] if hist.deleted else obj.status) == "sealed" and (
                    session.is_modified(obj) or obj in session.deleted):
                raise Conflict("sealed", f"试卷 {obj.id} 已封存，不能更改 (paper {obj.id} is sealed)", "status")
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, PaperItem) and sealed(obj.paper_id):
            raise Conflict("sealed", f"试卷 {obj.paper_id} 已封存，不能更改 (paper {obj.paper_id} is sealed)", "items")


# --- digests and views ------------------------------------------------------------------------------

def paper_digest(paper: Paper) -> str:
    """SHA-256 over the paper's header and, per position, the item, pinned version and its content digest."""
    body = {"blueprint_id": paper.blueprint_id, "form": paper.form_label, "title": paper.title,
            "duration_minutes": paper.duration_minutes, "total_points": paper.total_points,
            "shuffle": paper.shuffle,
            "items": [[pi.position, pi.section, pi.item_id, pi.item_version_id, pi.version.digest, pi.points]
                      for pi in paper.items]}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def verify_paper(paper: Paper) -> bool:
    """True when the stored digest still matches the pinned content."""
    return paper.digest == paper_digest(paper)


def _sections(paper: Paper) -> list[tuple[str, list[PaperItem]]]:
    by: dict[str, list[PaperItem]] = {}
    for pi in paper.items:
        by.setdefault(pi.section, []).append(pi)
    return [(sec, by[sec]) for sec in SECTION_ORDER if sec in by]


def _require_sealed(paper: Paper) -> None:
    if paper.status != "sealed":
        raise Conflict("not_sealed", f"试卷 {paper.id} 尚未封存，不能用于考试 (paper {paper.id} is not sealed)", "status")
    if not verify_paper(paper):
        raise Conflict("digest_mismatch", f"试卷 {paper.id} 的内容摘要不符 (paper {paper.id} content does not match "
                                          "its digest)", "digest")


def candidate_view(paper: Paper) -> dict[str, Any]:
    """The delivery content of a sealed paper for candidates: NO keys, explanations or deduction rules.

    Call inside a session (it reads the pinned versions). Raises :class:`Conflict` if the paper is
    not sealed or its digest does not match. The caller (delivery) must serve it only to a
    candidate whose session has started.

    Returns
    -------
    dict
        ``{"paper_id", "digest", "title", "level", "duration_minutes", "total_points",
        "practical_points", "shuffle_options", "sections": [{"item_type", "name_zh", "name_en", "shuffle",
        "points_each", "items": [{"paper_item_id", "position", "item_type", "points", "stem",
        "options" | "blanks" | "task"}]}]}``; positions are 1-based across the paper.
    """
    _require_sealed(paper)
    shuffle = paper.shuffle or DEFAULT_SHUFFLE
    sections = []
    for sec, rows in _sections(paper):
        items = []
        for pi in rows:
            view = candidate_item(pi.section, pi.version)
            items.append({"paper_item_id": pi.id, "position": pi.position, "points": pi.points, **view})
        sections.append({"item_type": sec, "name_zh": ITEM_TYPES[sec][0], "name_en": ITEM_TYPES[sec][1],
                         "shuffle": bool((shuffle.get("sections") or {}).get(sec, False)),
                         "points_each": rows[0].points if len({r.points for r in rows}) == 1 else None,
                         "items": items})
    return {"paper_id": paper.id, "digest": paper.digest, "title": paper.title, "level": paper.level,
            "duration_minutes": paper.duration_minutes, "total_points": paper.total_points,
            "practical_points": paper.practical_points, "shuffle_options": bool(shuffle.get("options", False)),
            "sections": sections}


def scoring_key(paper: Paper) -> dict[str, Any]:
    """Keys for scoring a sealed paper (never sent to candidates).

    Per position: ``answer`` (single ``"B"``; multiple ``"ABD"``, all-or-nothing; judge ``"T"``/``"F"``;
    fill: a list per blank of accepted answers; practical ``None``), ``points``, and for practical
    tasks the ``rubric`` (criteria, max points, deduction rules, time, equipment).
    """
    _require_sealed(paper)
    rule = {"single": "exact", "multiple": "all_or_nothing", "judge": "exact", "fill": "per_blank",
            "practical": "rubric"}
    return {"paper_id": paper.id, "digest": paper.digest, "total_points": paper.total_points,
            "practical_points": paper.practical_points,
            "items": [{"paper_item_id": pi.id, "position": pi.position, "item_type": pi.section,
                       "item_id": pi.item_id, "item_version_id": pi.item_version_id, "points": pi.points,
                       "answer": pi.version.answer, "scoring_rule": rule[pi.section],
                       "rubric": pi.version.rubric if pi.section == "practical" else None}
                      for pi in paper.items]}


def paper_out(paper: Paper, *, with_items: bool = False, with_key: bool = False) -> dict[str, Any]:
    """Staff JSON view of a paper."""
    out = {"id": paper.id, "blueprint_id": paper.blueprint_id, "run_id": paper.run_id, "form_label": paper.form_label,
           "title": paper.title, "level": paper.level, "status": paper.status, "total_points": paper.total_points,
           "practical_points": paper.practical_points, "duration_minutes": paper.duration_minutes,
           "shuffle": paper.shuffle, "digest": paper.digest, "created_by": paper.created_by,
           "reviewed_by": paper.reviewed_by, "review_comment": paper.review_comment,
           "sealed_at": paper.sealed_at.isoformat() if paper.sealed_at else None, "n_items": len(paper.items)}
    if with_items:
        out["items"] = []
        for pi in paper.items:
            row = {"paper_item_id": pi.id, "position": pi.position, "section": pi.section, "item_id": pi.item_id,
                   "item_code": pi.item.code, "version": pi.version.number, "points": pi.points,
                   "element_code": pi.version.element_code, "p": pi.version.p,
                   **candidate_item(pi.section, pi.version)}
            if with_key:
                row.update(answer=pi.version.answer, explanation=pi.version.explanation, rubric=pi.version.rubric)
            out["items"].append(row)
    return out


# --- assembly runs ---------------------------------------------------------------------------------

def request_run(s: Session, actor: Actor, bp: ExamBlueprint, *, seed: int = 0, mode: str = "sequential",
                time_limit: float = 60.0) -> AssemblyRun:
    """Queue an assembly of ``bp``; refuses a blueprint that does not add up."""
    problems = blueprint_problems({"cells": [{"element_code": c.element_code, "item_type": c.item_type,
                                              "count": c.count} for c in bp.cells],
                                   "total_points": bp.total_points, "points_per_type": bp.points_per_type},
                                  element_codes(s, bp.standard))
    if problems:
        raise DomainError("invalid_blueprint", "; ".join(p["message"] for p in problems[:5]), problems[0]["field"],
                          problems=problems)
    if mode not in ("sequential", "simultaneous"):
        raise DomainError("bad_mode", f"组卷模式应为 sequential 或 simultaneous (got {mode!r})", "mode")
    if not 1 <= time_limit <= 600:
        raise DomainError("bad_time_limit", "时限应为1–600秒 (time limit must be 1..600 s)", "time_limit")
    run = AssemblyRun(blueprint_id=bp.id, agency_id=bp.agency_id, blueprint_revision=bp.revision,
                      requested_by=actor.account_id, status="queued", seed=int(seed), mode=mode,
                      time_limit=float(time_limit), message="排队中 (queued)")
    s.add(run)
    s.flush()
    audit.record(s, actor, "assembly.request", "assembly_run", run.id,
                 {"blueprint_id": bp.id, "revision": bp.revision, "seed": run.seed, "mode": mode})
    return run


def run_out(run: AssemblyRun) -> dict[str, Any]:
    return {"id": run.id, "blueprint_id": run.blueprint_id, "status": run.status, "progress": run.progress,
            "message": run.message, "seed": run.seed, "mode": run.mode, "result": run.result,
            "paper_ids": [p.id for p in run.papers] if run.status == "done" else [],
            "created_at": run.created_at.isoformat() if run.created_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None}


Notify = Callable[[dict[str, Any]], None]


def execute_run(db: Database, run_id: int, *, notify: Notify | None = None) -> dict[str, Any]:
    """Carry out a queued run: assemble, record progress on the row, create the draft papers.

    Safe to call twice: a finished run is returned as it is. Each progress step is its own
    short write transaction, so a page polling the row sees it move; ``notify`` (e.g. a
    Socket.IO emit) gets the same payloads.
    """
    with db.read_scope() as s:
        run = s.get(AssemblyRun, run_id)
        if run is None:
            raise NotFound("not_found", f"组卷任务 {run_id} 不存在 (no run {run_id})", "run_id")
        if run.status in ("done", "infeasible", "failed"):
            return run_out(run)
        bp = run.blueprint
        pool, pins = engine_pool(s, bp)
        ebp = engine_blueprint(bp)
        seed, mode, limit = run.seed, run.mode, run.time_limit

    def step(fraction: float, message: str, status: str = "running") -> None:
        with db.write_scope() as w:
            w.execute(update(AssemblyRun).where(AssemblyRun.id == run_id).values(
                progress=round(float(fraction), 4), message=message[:300], status=status,
                **({"started_at": utcnow()} if fraction == 0 else {})))
        if notify is not None:
            notify({"run_id": run_id, "status": status, "progress": fraction, "message": message})

    step(0.0, f"正在组卷：{len(pool)} 道可用试题 (assembling from {len(pool)} usable items)")
    try:
        result = assembly.assemble(pool, ebp, mode=mode, seed=seed, time_limit=limit,
                                   progress=lambda f, m: step(min(0.05 + 0.9 * f, 0.95), m))
    except ValueError as e:  # bad engine input: a blueprint the engine refuses
        return _finish(db, run_id, "failed", {"error": str(e)}, notify)
    summary = result_summary(result, pool)
    if not result.ok:
        return _finish(db, run_id, "infeasible" if result.status == "infeasible" else "failed", summary, notify)
    try:
        with db.write_scope() as s:
            run = s.get(AssemblyRun, run_id)
            if run.status in ("done", "infeasible", "failed"):  # a concurrent execution finished first
                return run_out(run)
            papers = _create_papers(s, run, result, pins)
            summary["paper_ids"] = [p.id for p in papers]
    except Exception as e:  # noqa: BLE001 - recorded on the run so the page stops waiting
        summary["error"] = f"{type(e).__name__}: {e}"[:500]
        return _finish(db, run_id, "failed", summary, notify)
    return _finish(db, run_id, "done", summary, notify)


def _finish(db: Database, run_id: int, status: str, summary: dict[str, Any], notify: Notify | None) -> dict[str, Any]:
    msg = {"done": "组卷完成 (assembled)", "infeasible": "无法按细目表组卷，见诊断 (infeasible: see the diagnosis)",
           "failed": "组卷失败 (assembly failed)"}[status]
    with db.write_scope() as s:
        run = s.get(AssemblyRun, run_id)
        run.status, run.progress, run.message, run.result, run.finished_at = status, 1.0, msg, summary, utcnow()
        s.flush()
        audit.record(s, audit.SYSTEM, f"assembly.{status}", "assembly_run", run_id,
                     {"status": summary.get("status"), "paper_ids": summary.get("paper_ids", []),
                      "diagnoses": [d["code"] for d in summary.get("diagnoses", [])]})
        out = run_out(run)
    if notify is not None:
        notify({"run_id": run_id, "status": status, "progress": 1.0, "message": msg})
    return out


def result_summary(result: assembly.AssemblyResult, pool: list[assembly.Item]) -> dict[str, Any]:
    """JSON of an engine result for the page: status, per-form figures, diagnoses, statistics."""
    out = {"status": result.status, "ok": result.ok, "within_tolerance": result.within_tolerance,
           "objective": result.objective, "abs_gap": result.abs_gap, "seconds": round(result.seconds, 3),
           "pool_size": len(pool), "notes": list(result.notes),
           "forms": [{"index": f.index, "n_items": len(f.item_ids), "points": f.points, "mean_p": f.mean_p,
                      "mean_p_deviation": f.mean_p_deviation, "information": f.information,
                      "solver_status": f.solver_status} for f in result.forms],
           "diagnoses": [{"code": d.code, "message_zh": d.message_zh, "message_en": d.message_en,
                          "element": d.element, "item_type": d.item_type, "needed": d.needed,
                          "available": d.available} for d in result.diagnoses],
           "breaches": [{"code": b.code, "message_zh": b.message_zh, "message_en": b.message_en,
                         "severity": b.severity, "form": b.form} for b in result.breaches]}
    return out


def _pick_practical(s: Session, bp: ExamBlueprint, n_forms: int, seed: int) -> list[list[tuple[int, int, float]]]:
    """Practical tasks per form: the least exposed approved tasks, seeded order, disjoint while they last."""
    if not bp.practical_count:
        return [[] for _ in range(n_forms)]
    rows = s.execute(select(Item.id, Item.exposure_count, ItemVersion.id, ItemVersion.points, ItemVersion.levels)
                     .join(ItemVersion, ItemVersion.id == Item.approved_version_id)
                     .where(Item.agency_id == bp.agency_id, Item.standard_id == bp.standard_id,
                            Item.item_type == "practical", Item.status != "retired").order_by(Item.id)).all()
    rows = [r for r in rows if bp.level in (r[4] or [])]
    rng = np.random.default_rng(seed + 7919)
    order = sorted(rows, key=lambda r: (r[1], float(rng.random())))
    out = []
    for f in range(n_forms):
        picked = [order[(f * bp.practical_count + k) % len(order)] for k in range(bp.practical_count)] if order else []
        unique = {r[0]: r for r in picked}  # an item once per form even when tasks run short
        out.append([(r[0], r[2], float(r[3] or 0)) for r in unique.values()])
    return out


def _create_papers(s: Session, run: AssemblyRun, result: assembly.AssemblyResult,
                   pins: dict[int, int]) -> list[Paper]:
    bp = run.blueprint
    ppt = {**DEFAULT_POINTS, **(bp.points_per_type or {})}
    types = dict(s.execute(select(Item.id, Item.item_type).where(Item.id.in_(list(pins)))).all())
    practical = _pick_practical(s, bp, len(result.forms), run.seed)
    papers = []
    for f, form in zip(range(len(result.forms)), result.forms):
        label = string.ascii_uppercase[f]
        paper = Paper(agency_id=bp.agency_id, blueprint_id=bp.id, run_id=run.id, form_label=label,
                      title=f"{bp.name}（{label}卷）", level=bp.level, status="draft", total_points=bp.total_points,
                      duration_minutes=bp.duration_minutes, shuffle=DEFAULT_SHUFFLE, digest="",
                      created_by=run.requested_by)
        s.add(paper)
        s.flush()
        ids = sorted(form.item_ids, key=lambda i: (SECTION_ORDER.index(types[i]), i))
        rows = [PaperItem(paper_id=paper.id, position=k + 1, section=types[i], item_id=i, item_version_id=pins[i],
                          points=float(ppt[types[i]])) for k, i in enumerate(ids)]
        for item_id, version_id, pts in practical[f]:
            rows.append(PaperItem(paper_id=paper.id, position=len(rows) + 1, section="practical", item_id=item_id,
                                  item_version_id=version_id, points=pts))
        s.add_all(rows)
        s.flush()
        s.refresh(paper)
        paper.practical_points = sum(r.points for r in rows if r.section == "practical")
        paper.digest = paper_digest(paper)
        s.flush()
        audit.record(s, audit.SYSTEM, "paper.create", "paper", paper.id,
                     {"run_id": run.id, "blueprint_id": bp.id, "form": label, "digest": paper.digest,
                      "items": [[r.position, r.item_id, r.item_version_id] for r in rows]})
        papers.append(paper)
    return papers


# --- paper workflow --------------------------------------------------------------------------------

def get_paper(s: Session, paper_id: int, agency_id: int | None = None) -> Paper:
    paper = s.get(Paper, paper_id)
    if paper is None or (agency_id is not None and paper.agency_id != agency_id):
        raise NotFound("not_found", f"试卷 {paper_id} 不存在 (no paper {paper_id})", "paper_id")
    return paper


def submit_paper(s: Session, actor: Actor, paper: Paper, *, shuffle: dict | None = None) -> Paper:
    """Send a draft paper to review; the writer may set which sections candidates see shuffled."""
    if paper.status not in ("draft", "rejected"):
        raise Conflict("bad_state", f"只有草稿试卷可以送审 (only a draft paper can be sent to review; it is "
                                    f"{paper.status})", "status")
    if shuffle is not None:
        secs = shuffle.get("sections", {})
        if not isinstance(secs, dict) or any(k not in SECTION_ORDER or not isinstance(v, bool) for k, v in secs.items()):
            raise DomainError("bad_shuffle", "乱序设置不对 (shuffle.sections maps a section to true/false)", "shuffle")
        paper.shuffle = {"sections": {**DEFAULT_SHUFFLE["sections"], **secs},
                         "options": bool(shuffle.get("options", True))}
    paper.status, paper.submitted_at = "in_review", utcnow()
    paper.digest = paper_digest(paper)
    s.flush()
    audit.record(s, actor, "paper.submit", "paper", paper.id, {"digest": paper.digest, "shuffle": paper.shuffle})
    return paper


def review_paper(s: Session, actor: Actor, paper: Paper, *, decision: str, comment: str = "") -> Paper:
    """A reviewer (never the writer who assembled it) approves the paper or rejects it with a reason."""
    if decision not in ("approve", "reject"):
        raise DomainError("bad_decision", f"审核结论应为 approve 或 reject (got {decision!r})", "decision")
    if paper.status != "in_review":
        raise Conflict("bad_state", f"试卷不在待审状态 (the paper is not in review; it is {paper.status})", "status")
    if actor.account_id is not None and actor.account_id == paper.created_by:
        raise Forbidden("own_paper", "审核人不能审核自己组的试卷 (a reviewer never approves their own paper)", "reviewer")
    if decision == "reject" and not (comment or "").strip():
        raise DomainError("required", "退回时须写明意见 (say why when rejecting)", "comment")
    if not verify_paper(paper):
        raise Conflict("digest_mismatch", "试卷内容摘要不符 (the paper's content does not match its digest)", "digest")
    paper.status = "approved" if decision == "approve" else "rejected"
    paper.reviewed_by, paper.reviewed_at, paper.review_comment = actor.account_id, utcnow(), (comment or "").strip()
    s.flush()
    audit.record(s, actor, f"paper.{decision}", "paper", paper.id, {"digest": paper.digest, "comment": comment})
    return paper


def seal_paper(s: Session, actor: Actor, paper: Paper) -> Paper:
    """Seal an approved paper: its content is final; each item's exposure count goes up by one."""
    if paper.status != "approved":
        raise Conflict("bad_state", f"只有已审定的试卷可以封存 (only an approved paper can be sealed; it is "
                                    f"{paper.status})", "status")
    if not verify_paper(paper):
        raise Conflict("digest_mismatch", "试卷内容摘要不符 (the paper's content does not match its digest)", "digest")
    ids = [pi.item_id for pi in paper.items]
    s.execute(update(Item).where(Item.id.in_(ids)).values(exposure_count=Item.exposure_count + 1))
    paper.status, paper.sealed_by, paper.sealed_at = "sealed", actor.account_id, utcnow()
    s.flush()
    audit.record(s, actor, "paper.seal", "paper", paper.id, {"digest": paper.digest, "items": len(ids)})
    return paper


# --- comparison --------------------------------------------------------------------------------------

def comparison(papers: list[Paper], *, target_p: float | None = None) -> dict[str, Any]:
    """Overlap, difficulty and test-information curves of parallel papers (for the comparison chart)."""
    pool: dict[int, assembly.Item] = {}
    forms = []
    for paper in papers:
        ids = []
        for pi in paper.items:
            if pi.section == "practical":
                continue
            v = pi.version
            a, b, c = v.irt_a, v.irt_b, v.irt_c
            p = v.p if v.p is not None else (c or 0) + (1 - (c or 0)) / (1 + np.exp(a * b))
            key = pi.item_version_id
            pool.setdefault(key, assembly.Item(id=key, element=v.element_code, item_type=pi.section,
                                               level=paper.level, points=pi.points, p=float(p), a=a, b=b,
                                               c=c if a is not None else None))
            ids.append(key)
        forms.append(ids)
    stats = assembly.form_statistics(list(pool.values()), forms)
    hist_edges = [0.0, 0.3, 0.5, 0.7, 0.85, 1.0001]
    per_form = []
    for paper, ids in zip(papers, forms):
        ps = [pool[i].p for i in ids]
        counts = np.histogram(ps, bins=hist_edges)[0].tolist() if ps else [0] * 5
        cells: dict[str, int] = {}
        for i in ids:
            k = f"{pool[i].element} {pool[i].item_type}"
            cells[k] = cells.get(k, 0) + 1
        per_form.append({"paper_id": paper.id, "form_label": paper.form_label, "status": paper.status,
                         "p_histogram": counts, "cells": cells})
    return {"papers": [{"id": p.id, "form_label": p.form_label, "status": p.status, "title": p.title}
                       for p in papers], "target_p": target_p, "stats": stats.to_dict(),
            "p_bins": ["<0.30", "0.30–0.50", "0.50–0.70", "0.70–0.85", "≥0.85"], "forms": per_form}
