"""XLSX documents: the roster (人员名册) filed with a plan, the import template, and reading an import file.

Import files have one header row; columns are recognised by their Chinese or English header
(姓名/name, 证件类型/id_type, 证件号码/id_number, 联系电话/phone, 工作单位/employer), in any order.
"""
from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

from itembank.core.errors import DomainError
from itembank.core.idcard import ID_TYPES
from itembank.core.reference import LEVELS

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_COLUMNS = [("name", "姓名"), ("id_type", "证件类型"), ("id_number", "证件号码"), ("phone", "联系电话"),
                  ("employer", "工作单位")]
_HEADER = {**{zh: key for key, zh in IMPORT_COLUMNS}, **{key: key for key, _ in IMPORT_COLUMNS},
           "身份证号": "id_number", "身份证号码": "id_number", "手机": "phone", "电话": "phone", "单位": "employer"}
MAX_IMPORT_ROWS = 5000
MAX_IMPORT_BYTES = 5 * 1024 * 1024


def _book(title: str, headers: Sequence[str], rows: Iterable[Sequence], widths: Sequence[int] = ()) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(list(headers))
    for c in ws[1]:
        c.font = Font(bold=True)
    for r in rows:
        ws.append(list(r))
    for i, w in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = w
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def roster_xlsx(plan) -> bytes:
    """职业技能等级认定人员名册: every registered candidate of the plan, as filed with the centre."""
    headers = ["序号", "准考证号", "姓名", "证件类型", "证件号码", "工作单位", "联系电话", "职业", "工种", "等级", "报名方式"]
    src = {"self": "个人报名", "import": "机构导入", "agency": "机构录入"}
    rows = []
    regs = [r for r in plan.registrations if r.status == "registered"]
    for i, r in enumerate(sorted(regs, key=lambda x: x.ticket_number), start=1):
        p = r.person
        rows.append([i, r.ticket_number, p.name, ID_TYPES[p.id_type][0], p.id_number, p.employer, p.phone,
                     f"{plan.occupation.code} {plan.occupation.name}", plan.work_type.name if plan.work_type else "——",
                     LEVELS[plan.level][0], src.get(r.source, r.source)])
    return _book("人员名册", headers, rows, (6, 14, 10, 12, 22, 28, 14, 18, 12, 14, 10))


def import_template_xlsx(people: Iterable = ()) -> bytes:
    """The import template; with ``people`` (Person rows) it comes filled in, ready to upload."""
    rows = [[p.name, ID_TYPES[p.id_type][0], p.id_number, p.phone, p.employer] for p in people]
    return _book("考生导入", [zh for _, zh in IMPORT_COLUMNS], rows, (10, 14, 22, 14, 28))


def read_import(data: bytes) -> list[dict]:
    """Rows of an import file as dicts keyed name/id_type/id_number/phone/employer (empty rows skipped)."""
    if not data:
        raise DomainError("required", "请选择要导入的 XLSX 文件 (choose an XLSX file)", "file")
    if len(data) > MAX_IMPORT_BYTES:
        raise DomainError("too_large", "文件超过5MB (file larger than 5 MB)", "file")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, KeyError, ValueError, OSError, Exception) as e:  # noqa: BLE001 - any unreadable file
        raise DomainError("bad_file", f"无法读取 XLSX 文件 (not a readable XLSX file: {type(e).__name__})", "file") from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    header = next(it, None)
    if not header:
        raise DomainError("bad_file", "文件为空 (the file is empty)", "file")
    keys = [_HEADER.get(str(h or "").strip()) for h in header]
    for required in ("name", "id_number"):
        if required not in keys:
            zh = dict(IMPORT_COLUMNS)[required]
            raise DomainError("bad_header", f"缺少“{zh}”列 (missing the {required} column)", "file")
    rows = []
    for values in it:
        if values is None or all(v is None or str(v).strip() == "" for v in values):
            continue
        row = {k: ("" if v is None else str(v).strip()) for k, v in zip(keys, values) if k}
        rows.append(row)
        if len(rows) > MAX_IMPORT_ROWS:
            raise DomainError("too_many_rows", f"一次最多导入 {MAX_IMPORT_ROWS} 行 (at most {MAX_IMPORT_ROWS} rows)", "file")
    wb.close()
    return rows


def table_xlsx(title: str, headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    return _book(title, headers, rows)
