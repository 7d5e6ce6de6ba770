"""Skill standards in and out of files: JSON (nested tree), CSV and XLSX (one row per element).

Flat files have one element per row, header in row 1::

    代码 | 名称 | 类型 | 比重 | 重要程度
    1    | 基本要求 | 知识 | 25 | X
    1.1  | 职业道德 | 知识 | 20 | Y

The parent of ``2.1.3`` is ``2.1``; ``比重`` is the weight in % of the parent (siblings sum to
100); ``类型`` is 知识/技能 (knowledge/skill); ``重要程度`` is X (core), Y (general) or Z (minor).
Imports are all-or-nothing: every problem is listed by row and column and nothing is written.
A standard is never edited in place (blueprints point at its elements): an edited tree is
imported as a new version.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any

from itembank.io import ImportRejected, RowError
from itembank.standards import SkillStandard, validate_tree

COLUMNS = ["代码", "名称", "类型", "比重", "重要程度"]
KIND_OF = {"知识": "knowledge", "技能": "skill", "knowledge": "knowledge", "skill": "skill", "": "knowledge"}
KIND_NAME = {"knowledge": "知识", "skill": "技能"}
FORMATS = ("json", "csv", "xlsx")


def parse_standard(fmt: str, data: bytes) -> list[dict[str, Any]]:
    """The nested element tree in a file, or :class:`ImportRejected` listing every problem."""
    if fmt not in FORMATS:
        raise ImportRejected([RowError(1, "format", f"格式应为 {'/'.join(FORMATS)} (unknown format {fmt!r})")], fmt)
    if fmt == "json":
        return _parse_json(data)
    rows = _read_csv(data) if fmt == "csv" else _read_xlsx(data)
    return _tree_from_rows(rows, fmt)


def _parse_json(data: bytes) -> list[dict[str, Any]]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ImportRejected([RowError(1, "-", f"不是有效的 JSON (not valid JSON: {e})")], "json") from None
    tree = doc.get("elements") if isinstance(doc, dict) else doc
    if not isinstance(tree, list) or not tree:
        raise ImportRejected([RowError(1, "elements", "应为要素列表 (expected a non-empty list of elements)")], "json")
    problems = validate_tree(tree)
    if problems:
        raise ImportRejected([RowError(1, p.split(":", 1)[0], p.split(":", 1)[-1].strip()) for p in problems], "json")
    return tree


def _read_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # spreadsheets saved as CSV on Chinese Windows
        except UnicodeDecodeError:
            raise ImportRejected([RowError(1, "-", "无法识别文件编码 (not UTF-8 or GB18030 text)")], "csv") from None
    return [[c.strip() for c in r] for r in csv.reader(io.StringIO(text))]


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - an unreadable workbook is one error for the writer
        raise ImportRejected([RowError(1, "-", f"无法读取 XLSX 文件 (cannot read the workbook: {type(e).__name__})")],
                             "xlsx") from None
    return [["" if v is None else (f"{v:g}" if isinstance(v, float) else str(v)).strip() for v in r]
            for r in wb.worksheets[0].iter_rows(values_only=True)]


def _tree_from_rows(rows: list[list[str]], fmt: str) -> list[dict[str, Any]]:
    if not rows:
        raise ImportRejected([RowError(1, "-", "文件为空 (the file is empty)")], fmt)
    header = rows[0]
    missing = [c for c in ("代码", "名称", "比重") if c not in header]
    if missing:
        raise ImportRejected([RowError(1, c, f"缺少列“{c}” (missing column {c})") for c in missing], fmt)
    pos = {h: i for i, h in enumerate(header)}
    col = {h: f"{chr(65 + i)} {h}" if i < 26 else h for h, i in pos.items()}
    errors: list[RowError] = []
    nodes: dict[str, dict[str, Any]] = {}
    rows_of: dict[str, int] = {}
    roots: list[dict[str, Any]] = []
    for n, values in enumerate(rows[1:], start=2):
        get = lambda h: values[pos[h]] if h in pos and pos[h] < len(values) else ""  # noqa: E731
        if not any(values):
            continue
        code, name = get("代码"), get("名称")
        if not code:
            errors.append(RowError(n, col["代码"], "代码不能为空 (code is required)"))
            continue
        if code in nodes:
            errors.append(RowError(n, col["代码"], f"代码 {code} 与第{rows_of[code]}行重复 (duplicate of row "
                                                  f"{rows_of[code]})"))
            continue
        if not name:
            errors.append(RowError(n, col["名称"], "名称不能为空 (name is required)"))
        try:
            weight = float(get("比重"))
            if not 0 <= weight <= 100:
                raise ValueError
        except ValueError:
            errors.append(RowError(n, col["比重"], f"比重应为0–100的数 (weight must be a number 0..100), got "
                                                  f"{get('比重')!r}"))
            weight = 0.0
        kind = KIND_OF.get(get("类型"))
        if kind is None:
            errors.append(RowError(n, col.get("类型", "类型"), f"类型应为 知识 或 技能 (kind: 知识/技能), got {get('类型')!r}"))
        importance = get("重要程度") or "Y"
        if importance not in ("X", "Y", "Z"):
            errors.append(RowError(n, col.get("重要程度", "重要程度"), f"重要程度应为 X/Y/Z, got {importance!r}"))
        node = {"code": code, "name": name, "weight": weight, "kind": kind or "knowledge", "importance": importance,
                "children": []}
        parent_code = code.rsplit(".", 1)[0] if "." in code else None
        if parent_code is not None:
            parent = nodes.get(parent_code)
            if parent is None:
                errors.append(RowError(n, col["代码"], f"上级要素 {parent_code} 须在本行之前出现 (parent {parent_code} "
                                                      f"must come on an earlier row)"))
                continue
            parent["children"].append(node)
        else:
            roots.append(node)
        nodes[code], rows_of[code] = node, n
    if not errors:
        for p in validate_tree(roots):
            if "sibling weights" in p:
                where = p.split(":", 1)[0]
                parent = _node_at(roots, where)
                row = rows_of[parent["code"]] if parent else 2
                label = f"要素 {parent['code']} 的下级" if parent else "顶层要素"
                errors.append(RowError(row, col["比重"], f"{label}比重合计应为100 ({p.split(':', 1)[1].strip()})"))
            else:
                errors.append(RowError(1, "-", p))
    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: e.row), fmt)
    return roots


def _node_at(roots: list[dict[str, Any]], path: str) -> dict[str, Any] | None:
    """The node whose ``children`` list a validate_tree path like ``elements[1].children[0].children`` names."""
    parts = path.split(".")[1:-1] if path.endswith(".children") else []
    node = None
    items = roots
    idx = path.split(".")[0]
    if "[" not in idx:
        return None
    node = items[int(idx[idx.index("[") + 1:-1])]
    for part in parts:
        items = node["children"]
        node = items[int(part[part.index("[") + 1:-1])]
    return node


def standard_tree(std: SkillStandard) -> list[dict[str, Any]]:
    """The nested element tree of a stored standard (the JSON import shape)."""
    by_parent: dict[int | None, list] = {}
    for e in std.elements:
        by_parent.setdefault(e.parent_id, []).append(e)

    def build(parent_id):
        return [{"code": e.code, "name": e.name, "kind": e.kind, "weight": e.weight, "importance": e.importance,
                 "children": build(e.id)} for e in by_parent.get(parent_id, [])]
    return build(None)


def export_standard(std: SkillStandard, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps({"occupation": std.occupation.code, "level": std.level, "title": std.title,
                           "version": std.version, "source": std.source, "elements": standard_tree(std)},
                          ensure_ascii=False, indent=1).encode("utf-8")
    rows = [COLUMNS] + [[e.code, e.name, KIND_NAME[e.kind], f"{e.weight:g}", e.importance] for e in std.elements]
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf).writerows(rows)
        return buf.getvalue().encode("utf-8-sig")
    if fmt == "xlsx":
        from openpyxl import Workbook
        wb = Workbook()
        ws = wb.active
        ws.title = "鉴定要素"
        for r in rows:
            ws.append([float(c) if i == 3 and c != "比重" else c for i, c in enumerate(r)])
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()
    raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
