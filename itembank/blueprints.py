"""Exam blueprints (双向细目表 / 组卷规则) and the bridge to the pure assembly engine.

A blueprint belongs to one occupation and level (through its skill standard). Its cells
give the number of items per assessment element (鉴定要素) × item type; points per item
are fixed per item type (e.g. 单选题 每题1分), so a cell's points are ``count × points``
and the cells must add up to the total score (100, 工作规程: theory and practical each scored
out of 100). It also sets the duration, the number of parallel forms (A/B卷), the largest
overlap allowed between two forms, the exposure limit, difficulty bands, the absolute
difficulty target and optionally a test-information target at the cut score.

A cell may name any node of the element tree; an item counts for the deepest cell whose
element is the item's element or one of its ancestors.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from itembank import assembly
from itembank.core import audit
from itembank.core.audit import Actor
from itembank.core.db import Base, utcnow
from itembank.core.errors import DomainError, NotFound
from itembank.items import THEORY_TYPES, Item, ItemVersion, element_codes
from itembank.standards import SkillStandard

DEFAULT_POINTS = {"single": 1.0, "multiple": 2.0, "judge": 1.0, "fill": 2.0}


class ExamBlueprint(Base):
    """双向细目表: the rules every parallel form of one theory paper must meet."""

    __tablename__ = "exam_blueprint"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("skill_standard.id"))
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(Integer)
    total_points: Mapped[float] = mapped_column(Float, default=100.0)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=90)
    n_forms: Mapped[int] = mapped_column(Integer, default=2)
    max_overlap: Mapped[int] = mapped_column(Integer, default=0)
    exposure_limit: Mapped[int | None] = mapped_column(Integer)
    target_mean_p: Mapped[float] = mapped_column(Float, default=0.7)
    tolerance: Mapped[float] = mapped_column(Float, default=0.02)
    cut_theta: Mapped[float | None] = mapped_column(Float)
    target_information: Mapped[float | None] = mapped_column(Float)
    points_per_type: Mapped[dict] = mapped_column(JSON, default=dict)
    bands: Mapped[list] = mapped_column(JSON, default=list)
    practical_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    standard: Mapped[SkillStandard] = relationship()
    cells: Mapped[list[BlueprintCell]] = relationship(back_populates="blueprint", cascade="all, delete-orphan",
                                                      order_by="BlueprintCell.position")


class BlueprintCell(Base):
    """One cell of a blueprint: items of one type for one element, per form."""

    __tablename__ = "blueprint_cell"
    __table_args__ = (UniqueConstraint("blueprint_id", "element_code", "item_type"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("exam_blueprint.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    element_code: Mapped[str] = mapped_column(String(32))
    item_type: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer)
    blueprint: Mapped[ExamBlueprint] = relationship(back_populates="cells")


# --- pure rules ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Supply:
    """One approved item as the coverage count sees it."""

    item_id: int
    element_code: str
    item_type: str
    levels: tuple[int, ...]
    exposure: int


def cell_for(element: str, cell_elements: Iterable[str]) -> str | None:
    """The deepest of ``cell_elements`` that is ``element`` or one of its ancestors (codes like 2.3.1)."""
    best = None
    for c in cell_elements:
        if element == c or element.startswith(c + "."):
            if best is None or len(c) > len(best):
                best = c
    return best


def blueprint_problems(spec: dict[str, Any], codes: Iterable[str] | None = None) -> list[dict[str, str]]:
    """Problems of a blueprint spec (plain dict); empty when it can be assembled as written."""
    out: list[dict[str, str]] = []
    known = set(codes) if codes is not None else None
    ppt = {**DEFAULT_POINTS, **(spec.get("points_per_type") or {})}
    total = 0.0
    seen = set()
    for i, c in enumerate(spec.get("cells") or []):
        where = f"cells[{i}]"
        el, tp, n = str(c.get("element_code", "")).strip(), c.get("item_type"), c.get("count")
        if tp not in THEORY_TYPES:
            out.append({"field": f"{where}.item_type", "message": f"题型应为 {'/'.join(THEORY_TYPES)} (unknown type {tp!r})"})
            continue
        if known is not None and el not in known:
            out.append({"field": f"{where}.element_code", "message": f"鉴定要素 {el} 不在技能标准中 (element {el} is not "
                                                                     "in the standard)"})
        if (el, tp) in seen:
            out.append({"field": f"{where}", "message": f"{el} × {tp} 重复 (two cells for {el} × {tp})"})
        seen.add((el, tp))
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            out.append({"field": f"{where}.count", "message": f"题量应为非负整数 (count must be an integer >= 0, got {n!r})"})
            continue
        total += n * float(ppt[tp])
    want = float(spec.get("total_points", 100) or 0)
    if not seen:
        out.append({"field": "cells", "message": "细目表至少一格 (a blueprint needs at least one cell)"})
    elif abs(total - want) > 1e-6:
        out.append({"field": "total_points", "message": f"各格分值合计 {total:g}，应为总分 {want:g} "
                                                        f"(cells add up to {total:g} points, not {want:g})"})
    for name, lo, hi in (("n_forms", 1, 10), ("duration_minutes", 10, 600)):
        v = spec.get(name)
        if v is not None and (not isinstance(v, int) or not lo <= v <= hi):
            out.append({"field": name, "message": f"{name} 应在 {lo}–{hi} (must be {lo}..{hi}, got {v!r})"})
    for name in ("points_per_type",):
        for tp, v in (spec.get(name) or {}).items():
            if tp not in THEORY_TYPES or not isinstance(v, (int, float)) or v <= 0:
                out.append({"field": f"{name}.{tp}", "message": f"每题分值应大于0 (points per item must be > 0, got {v!r})"})
    tm = spec.get("target_mean_p")
    if tm is not None and not (isinstance(tm, (int, float)) and 0 < tm < 1):
        out.append({"field": "target_mean_p", "message": f"目标难度应在 0–1 (target p must be in (0, 1), got {tm!r})"})
    return out


def coverage_counts(cells: Sequence[dict[str, Any]], supply: Sequence[Supply], *, level: int, n_forms: int,
                    max_overlap: int, exposure_limit: int | None) -> list[dict[str, Any]]:
    """Per cell: items needed per form and for all forms, and approved items the bank holds.

    ``needed_all`` assumes no item is shared beyond ``max_overlap`` (disjoint forms when 0):
    ``count + (n_forms - 1) × max(count - max_overlap, 0)``. ``short`` is how many are missing.
    """
    elements = {str(c["element_code"]) for c in cells}
    held: dict[tuple[str, str], int] = {}
    blocked: dict[tuple[str, str], int] = {}
    for it in supply:
        if level not in it.levels:
            continue
        cell_el = cell_for(it.element_code, elements)
        if cell_el is None:
            continue
        key = (cell_el, it.item_type)
        if exposure_limit is not None and it.exposure >= exposure_limit:
            blocked[key] = blocked.get(key, 0) + 1
        else:
            held[key] = held.get(key, 0) + 1
    out = []
    for c in cells:
        key = (str(c["element_code"]), c["item_type"])
        n = int(c.get("count") or 0)
        need_all = n + (max(n_forms, 1) - 1) * max(n - max_overlap, 0)
        have = held.get(key, 0)
        out.append({"element_code": key[0], "item_type": key[1], "count": n, "needed_all": need_all,
                    "available": have, "exposure_blocked": blocked.get(key, 0), "short": max(need_all - have, 0)})
    return out


def estimate_p(a: float, b: float, c: float | None) -> float:
    """Expected proportion correct at θ = 0 of a 3PL item (used when only IRT parameters are known)."""
    cc = c or 0.0
    return cc + (1 - cc) / (1 + math.exp(a * b))


def engine_blueprint(bp: ExamBlueprint) -> assembly.Blueprint:
    """The pure engine's :class:`itembank.assembly.Blueprint` of a stored blueprint."""
    ppt = {**DEFAULT_POINTS, **(bp.points_per_type or {})}
    cells = tuple(assembly.Cell(c.element_code, c.item_type, count=c.count, points=c.count * float(ppt[c.item_type]))
                  for c in bp.cells if c.count > 0)
    bands = tuple(assembly.DifficultyBand(float(b["low"]), float(b["high"]), int(b.get("min_count") or 0),
                                          None if b.get("max_count") in (None, "") else int(b["max_count"]))
                  for b in (bp.bands or []))
    target = assembly.FormTarget(mean_p=bp.target_mean_p, tolerance=bp.tolerance, weighting="items",
                                 theta=bp.cut_theta if bp.target_information else None,
                                 information=bp.target_information if bp.cut_theta is not None else None)
    return assembly.Blueprint(cells=cells, target=target, n_forms=bp.n_forms, total_points=bp.total_points,
                              bands=bands, max_overlap=bp.max_overlap, exposure_limit=bp.exposure_limit,
                              level=bp.level)


# --- services --------------------------------------------------------------------------------------

FIELDS = ("name", "total_points", "duration_minutes", "n_forms", "max_overlap", "exposure_limit", "target_mean_p",
          "tolerance", "cut_theta", "target_information", "points_per_type", "bands", "practical_count")


def _spec_of(bp: ExamBlueprint) -> dict[str, Any]:
    return {**{f: getattr(bp, f) for f in FIELDS},
            "cells": [{"element_code": c.element_code, "item_type": c.item_type, "count": c.count} for c in bp.cells]}


def _check(s: Session, standard: SkillStandard, spec: dict[str, Any]) -> None:
    problems = blueprint_problems(spec, element_codes(s, standard))
    if not (spec.get("name") or "").strip():
        problems.insert(0, {"field": "name", "message": "名称不能为空 (name is required)"})
    hard = [p for p in problems if p["field"] != "total_points"]  # a draft may not add up yet
    if hard:
        raise DomainError("invalid_blueprint", "; ".join(p["message"] for p in hard[:5]), hard[0]["field"],
                          problems=problems)


def create_blueprint(s: Session, actor: Actor, *, agency_id: int, standard: SkillStandard,
                     **spec: Any) -> ExamBlueprint:
    """Save a new blueprint (cells may not add up to the total yet; assembly checks that)."""
    spec = {k: v for k, v in spec.items() if k in FIELDS or k == "cells"}
    spec.setdefault("points_per_type", dict(DEFAULT_POINTS))
    _check(s, standard, spec)
    bp = ExamBlueprint(agency_id=agency_id, standard_id=standard.id, level=standard.level, created_by=actor.account_id,
                       **{k: v for k, v in spec.items() if k in FIELDS})
    bp.name = bp.name.strip()
    bp.cells = [BlueprintCell(position=i, element_code=str(c["element_code"]).strip(), item_type=c["item_type"],
                              count=int(c["count"])) for i, c in enumerate(spec.get("cells") or [])]
    s.add(bp)
    s.flush()
    audit.record(s, actor, "blueprint.create", "exam_blueprint", bp.id,
                 {"standard_id": standard.id, "level": bp.level, **_spec_of(bp)})
    return bp


def update_blueprint(s: Session, actor: Actor, bp: ExamBlueprint, **spec: Any) -> ExamBlueprint:
    """Change fields and/or replace the cells; audited as a diff."""
    before = _spec_of(bp)
    merged = {**before, **{k: v for k, v in spec.items() if k in FIELDS or k == "cells"}}
    _check(s, bp.standard, merged)
    for f in FIELDS:
        setattr(bp, f, merged[f])
    if "cells" in spec:
        bp.cells.clear()
        s.flush()
        bp.cells.extend(BlueprintCell(position=i, element_code=str(c["element_code"]).strip(), item_type=c["item_type"],
                                      count=int(c["count"])) for i, c in enumerate(spec["cells"] or []))
    bp.revision += 1
    bp.updated_at = utcnow()
    s.flush()
    after = _spec_of(bp)
    audit.record(s, actor, "blueprint.edit", "exam_blueprint", bp.id,
                 {"revision": bp.revision, "changes": {k: [before[k], after[k]] for k in after if before[k] != after[k]}})
    return bp


def get_blueprint(s: Session, blueprint_id: int, agency_id: int | None = None) -> ExamBlueprint:
    bp = s.get(ExamBlueprint, blueprint_id)
    if bp is None or (agency_id is not None and bp.agency_id != agency_id):
        raise NotFound("not_found", f"细目表 {blueprint_id} 不存在 (no blueprint {blueprint_id})", "blueprint_id")
    return bp


def supply(s: Session, *, agency_id: int, standard_id: int, item_types: Iterable[str] = THEORY_TYPES) -> list[Supply]:
    """Approved, not retired items of a bank, read in one query for coverage counts."""
    rows = s.execute(select(Item.id, Item.item_type, Item.exposure_count, ItemVersion.element_code, ItemVersion.levels)
                     .join(ItemVersion, ItemVersion.id == Item.approved_version_id)
                     .where(Item.agency_id == agency_id, Item.standard_id == standard_id, Item.status != "retired",
                            Item.item_type.in_(list(item_types)))).all()
    return [Supply(r[0], r[3], r[1], tuple(r[4] or ()), r[2] or 0) for r in rows]


def coverage(s: Session, *, agency_id: int, standard: SkillStandard, spec: dict[str, Any]) -> dict[str, Any]:
    """Live coverage of a (possibly unsaved) blueprint spec: per cell what is needed and what the bank holds."""
    cells = [c for c in (spec.get("cells") or []) if c.get("item_type") in THEORY_TYPES]
    rows = coverage_counts(cells, supply(s, agency_id=agency_id, standard_id=standard.id),
                           level=standard.level, n_forms=int(spec.get("n_forms") or 1),
                           max_overlap=int(spec.get("max_overlap") or 0),
                           exposure_limit=spec.get("exposure_limit") or None)
    ppt = {**DEFAULT_POINTS, **(spec.get("points_per_type") or {})}
    points = sum(int(c.get("count") or 0) * float(ppt.get(c["item_type"], 0)) for c in cells)
    practical = s.scalar(select(Item.id).where(Item.agency_id == agency_id, Item.standard_id == standard.id,
                                               Item.item_type == "practical", Item.status != "retired",
                                               Item.approved_version_id.is_not(None)).limit(1)) is not None
    return {"cells": rows, "points": points, "items_per_form": sum(int(c.get("count") or 0) for c in cells),
            "short_cells": sum(1 for r in rows if r["short"] > 0),
            "problems": blueprint_problems(spec, element_codes(s, standard)), "has_practical": practical}


def engine_pool(s: Session, bp: ExamBlueprint) -> tuple[list[assembly.Item], dict[int, int]]:
    """The engine's item pool for a blueprint, and item id → approved version id to pin.

    Only approved, not retired items of the blueprint's bank and level whose element falls
    under a cell; effective difficulty (calibrated, else the writer's estimate).
    """
    ppt = {**DEFAULT_POINTS, **(bp.points_per_type or {})}
    cell_elements = {c.element_code for c in bp.cells}
    rows = s.execute(select(Item, ItemVersion).join(ItemVersion, ItemVersion.id == Item.approved_version_id)
                     .where(Item.agency_id == bp.agency_id, Item.standard_id == bp.standard_id,
                            Item.status != "retired", Item.item_type.in_(THEORY_TYPES))
                     .order_by(Item.id)).all()
    pool, pins = [], {}
    for item, v in rows:
        if bp.level not in (v.levels or []):
            continue
        cell_el = cell_for(v.element_code, cell_elements)
        if cell_el is None:
            continue
        p = item.calibrated_p if item.calibrated_p is not None else v.p
        a = item.calibrated_a if item.calibrated_a is not None else v.irt_a
        b = item.calibrated_b if item.calibrated_a is not None else v.irt_b
        c = item.calibrated_c if item.calibrated_a is not None else v.irt_c
        if p is None:
            p = estimate_p(a, b, c)
        pool.append(assembly.Item(id=item.id, element=cell_el, item_type=item.item_type, level=bp.level,
                                  points=float(ppt[item.item_type]), p=float(p), a=a, b=b,
                                  c=c if a is not None else None,
                                  enemies=(v.enemy_group,) if v.enemy_group else (),
                                  exposure=item.exposure_count or 0))
        pins[item.id] = v.id
    return pool, pins


def blueprint_out(bp: ExamBlueprint) -> dict[str, Any]:
    return {"id": bp.id, "agency_id": bp.agency_id, "standard_id": bp.standard_id, "level": bp.level,
            "revision": bp.revision, "created_by": bp.created_by,
            "updated_at": bp.updated_at.isoformat() if bp.updated_at else None, **_spec_of(bp)}
