"""Skill standards (国家职业技能标准 or a filed 评价规范): the tree of assessment elements.

Per occupation and level, a tree of knowledge/skill elements (鉴定要素) each with a code,
a name, a weight (比重, % of its parent's level of the tree) and an importance
(X core, Y general, Z minor). Blueprints are built from it.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from itembank.core import audit
from itembank.core.audit import Actor
from itembank.core.db import Base, utcnow
from itembank.core.errors import Conflict, DomainError
from itembank.core.reference import LEVELS, Occupation

SOURCES = {"national": ("国家职业技能标准", "National occupational skill standard"),
           "filed": ("备案评价规范", "Filed evaluation specification")}


class SkillStandard(Base):
    __tablename__ = "skill_standard"
    __table_args__ = (UniqueConstraint("occupation_id", "level", "version"),
                      CheckConstraint("level between 1 and 5", name="level"))
    id: Mapped[int] = mapped_column(primary_key=True)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupation.id"))
    level: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16), default="national")
    version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    occupation: Mapped[Occupation] = relationship()
    elements: Mapped[list[StandardElement]] = relationship(back_populates="standard",
                                                           order_by="StandardElement.position")

    def roots(self) -> list[StandardElement]:
        return [e for e in self.elements if e.parent_id is None]


class StandardElement(Base):
    """鉴定要素: one node of a skill standard's element tree."""

    __tablename__ = "standard_element"
    __table_args__ = (UniqueConstraint("standard_id", "code"),
                      CheckConstraint("weight >= 0 and weight <= 100", name="weight"))
    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("skill_standard.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("standard_element.id"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="knowledge")  # knowledge | skill
    weight: Mapped[float] = mapped_column(Float, default=0.0)
    importance: Mapped[str] = mapped_column(String(1), default="Y")
    standard: Mapped[SkillStandard] = relationship(back_populates="elements")
    children: Mapped[list[StandardElement]] = relationship(order_by="StandardElement.position")

    @property
    def depth(self) -> int:
        return self.code.count(".")


def validate_tree(nodes: list[dict[str, Any]], path: str = "elements") -> list[str]:
    """Problems in a nested element tree: missing fields, duplicate codes, sibling weights not summing to 100."""
    problems: list[str] = []
    seen: set[str] = set()

    def walk(items: list[dict[str, Any]], where: str) -> None:
        total = 0.0
        for i, n in enumerate(items):
            here = f"{where}[{i}]"
            code, name = str(n.get("code", "")).strip(), str(n.get("name", "")).strip()
            if not code:
                problems.append(f"{here}.code: required")
            elif code in seen:
                problems.append(f"{here}.code: duplicate code {code}")
            seen.add(code)
            if not name:
                problems.append(f"{here}.name: required")
            try:
                w = float(n.get("weight", 0))
            except (TypeError, ValueError):
                problems.append(f"{here}.weight: not a number: {n.get('weight')!r}")
                w = 0.0
            if not 0 <= w <= 100:
                problems.append(f"{here}.weight: must be 0..100, got {w}")
            total += w
            if n.get("importance", "Y") not in ("X", "Y", "Z"):
                problems.append(f"{here}.importance: must be X, Y or Z")
            if n.get("kind", "knowledge") not in ("knowledge", "skill"):
                problems.append(f"{here}.kind: must be knowledge or skill")
            walk(n.get("children") or [], f"{here}.children")
        if items and abs(total - 100.0) > 0.01:
            problems.append(f"{where}: sibling weights sum to {total:g}, not 100")

    walk(nodes, path)
    return problems


def create_standard(s: Session, actor: Actor, *, occupation: Occupation, level: int, title: str, version: str,
                    elements: list[dict[str, Any]], source: str = "national") -> SkillStandard:
    """Create a skill standard from a nested tree of ``{code, name, weight, importance, kind, children}``."""
    if level not in LEVELS:
        raise DomainError("bad_level", f"等级应为1–5 (level must be 1..5), got {level!r}", "level")
    if source not in SOURCES:
        raise DomainError("bad_source", f"来源应为 {', '.join(SOURCES)} (unknown source {source!r})", "source")
    problems = validate_tree(elements)
    if problems:
        raise DomainError("bad_tree", "; ".join(problems[:10]), "elements", problems=problems)
    if s.scalar(select(SkillStandard.id).where(SkillStandard.occupation_id == occupation.id,
                                               SkillStandard.level == level, SkillStandard.version == version)):
        raise Conflict("duplicate", f"{occupation.name} {level}级 {version} 已存在 (exists)", "version")
    std = SkillStandard(occupation=occupation, level=level, title=title, version=version, source=source)
    s.add(std)
    s.flush()
    pos = 0

    def add(items: list[dict[str, Any]], parent: StandardElement | None) -> None:
        nonlocal pos
        for n in items:
            pos += 1
            el = StandardElement(standard=std, parent_id=parent.id if parent else None, position=pos,
                                 code=str(n["code"]).strip(), name=str(n["name"]).strip(),
                                 kind=n.get("kind", "knowledge"), weight=float(n.get("weight", 0)),
                                 importance=n.get("importance", "Y"))
            s.add(el)
            s.flush()
            add(n.get("children") or [], el)

    add(elements, None)
    audit.record(s, actor, "skill_standard.create", "skill_standard", std.id,
                 {"occupation": occupation.code, "level": level, "title": title, "version": version,
                  "source": source, "elements": elements})
    return std
