"""Import and export of items: the XLSX template, JSON, and IMS QTI 3.0 packages.

Every import is all-or-nothing: a file is parsed into rows, every row is validated, and
if any row has a problem the whole file is rejected with every problem listed by row and
column (:class:`ImportRejected`); nothing is written. A good file is written in one
transaction as draft items (imported items still go through review) with one audit record
listing every item created and its content digest.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from itembank.core import audit
from itembank.core.audit import Actor
from itembank.core.errors import DomainError
from itembank.items import ITEM_TYPES, Item, build_item, element_codes, next_code, validate_item
from itembank.standards import SkillStandard

MAX_ROWS = 5000


@dataclasses.dataclass(frozen=True)
class RowError:
    """One problem in an import file: 1-based row (as the writer sees it in the file), column, message."""

    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


class ImportRejected(DomainError):
    """The whole file is rejected; ``details['errors']`` lists every problem by row and column."""

    status = 422

    def __init__(self, errors: Sequence[RowError], fmt: str):
        first = errors[0]
        super().__init__("import_rejected",
                         f"文件有 {len(errors)} 处错误，未导入任何试题 (the file has {len(errors)} problems; nothing was "
                         f"imported). 第{first.row}行 {first.column}: {first.message}", "file",
                         errors=[e.as_dict() for e in errors], format=fmt)
        self.errors = list(errors)


@dataclasses.dataclass
class ParsedRow:
    """One item as read from a file, before validation; ``columns`` maps field → column name in the file."""

    row: int
    item_type: str
    fields: dict[str, Any]
    code: str | None = None
    columns: dict[str, str] = dataclasses.field(default_factory=dict)


def validate_rows(rows: Sequence[ParsedRow], codes: set[str],
                  existing_codes: set[str]) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Clean fields of every row and every problem of every row (pure)."""
    errors: list[RowError] = []
    cleaned: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    if not rows:
        return [], [RowError(1, "-", "文件中没有试题 (the file holds no item)")]
    if len(rows) > MAX_ROWS:
        return [], [RowError(MAX_ROWS + 1, "-", f"一次最多导入 {MAX_ROWS} 道题 (at most {MAX_ROWS} items per file)")]
    for r in rows:
        col = lambda f: r.columns.get(f.split(".")[0].split("[")[0], f)  # noqa: E731
        if r.item_type not in ITEM_TYPES:
            errors.append(RowError(r.row, col("item_type"), f"题型应为 {'/'.join(ITEM_TYPES)} 或中文名称 "
                                                            f"(unknown item type {r.item_type!r})"))
            cleaned.append({})
            continue
        clean, problems = validate_item(r.item_type, r.fields, element_codes=codes)
        cleaned.append(clean)
        errors += [RowError(r.row, col(p.field), p.message) for p in problems]
        if r.code:
            if len(r.code) > 40:
                errors.append(RowError(r.row, col("code"), "试题编号最长40字符 (item code is at most 40 characters)"))
            if r.code in existing_codes:
                errors.append(RowError(r.row, col("code"), f"试题编号 {r.code} 已在题库中 (item code exists in the bank)"))
            if r.code in seen:
                errors.append(RowError(r.row, col("code"), f"试题编号 {r.code} 与第{seen[r.code]}行重复 "
                                                           f"(duplicate of row {seen[r.code]})"))
            seen.setdefault(r.code, r.row)
    return cleaned, errors


def import_rows(s: Session, actor: Actor, *, agency_id: int, standard: SkillStandard, rows: Sequence[ParsedRow],
                fmt: str, filename: str = "") -> list[Item]:
    """Create every row as a draft item, or none: raises :class:`ImportRejected` listing every problem."""
    codes = element_codes(s, standard)
    existing = set(s.scalars(select(Item.code).where(Item.agency_id == agency_id)))
    cleaned, errors = validate_rows(rows, codes, existing)
    if errors:
        raise ImportRejected(errors, fmt)
    base = next_code(s, agency_id, standard, "single").rsplit("-", 1)[1]
    created = []
    for k, (r, clean) in enumerate(zip(rows, cleaned)):
        code = r.code or next_code(s, agency_id, standard, r.item_type).rsplit("-", 1)[0] + f"-{int(base) + k:05d}"
        created.append(build_item(actor, agency_id=agency_id, standard=standard, item_type=r.item_type, code=code,
                                  clean=clean))
    s.add_all(created)
    s.flush()
    audit.record(s, actor, "item.import", "skill_standard", standard.id,
                 {"format": fmt, "filename": filename, "count": len(created),
                  "items": [[it.id, it.code, it.head_version.digest] for it in created]})
    return created


TYPE_ALIASES = {**{k: k for k in ITEM_TYPES}, **{v[0]: k for k, v in ITEM_TYPES.items()},
                "单项选择题": "single", "多项选择题": "multiple", "是非题": "judge", "操作题": "practical",
                "技能操作题": "practical", "实操题": "practical"}
