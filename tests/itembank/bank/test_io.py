"""Import is all or nothing with every error by row and column; XLSX, JSON and QTI 3.0 round trips."""
from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from itembank.io import ImportRejected, formats, import_rows
from itembank.items import Item

from .helpers import make_bank

GOOD = [
    {"item_type": "single", "code": "T-1", "element_code": "2.1", "levels": [4], "stem": "M20×2.5 的螺距是（ ）mm。",
     "options": ["2.5", "2", "20", "1.5"], "answer": "A", "p": 0.8, "source": "local", "explanation": "<b>P=2.5</b>"},
    {"item_type": "multiple", "code": "T-2", "element_code": "1.1", "levels": [4, 3], "stem": "配合的种类有（ ）。",
     "options": ["间隙配合", "过盈配合", "过渡配合", "自由配合"], "answer": "ABC", "p": 0.5, "irt_a": 1.2, "irt_b": 0.1,
     "irt_c": 0.05, "enemy_group": "E-配合"},
    {"item_type": "judge", "code": "T-3", "element_code": "1.2", "levels": [4], "stem": "车削时可以戴手套。", "answer": "F",
     "p": 0.9, "source": "national"},
    {"item_type": "fill", "code": "T-4", "element_code": "2.1", "levels": [4], "stem": "普通螺纹牙型角为______度。",
     "answer": [["60", "六十"]], "p": 0.6},
    {"item_type": "practical", "code": "T-5", "element_code": "2.1", "levels": [4], "stem": "<p>车削 M24×2 螺纹轴</p>",
     "rubric": {"criteria": [{"name": "螺纹中径", "max_points": 60, "deductions": [{"rule": "环规不过", "points": 60}]},
                             {"name": "安全", "max_points": 40, "deductions": [{"rule": "未戴眼镜", "points": 5}]}],
                "time_minutes": 90, "equipment": ["车床", "环规"]}},
]


def _export_all(s, bank, fmt):
    items = s.scalars(select(Item).where(Item.agency_id == bank.agency.id).order_by(Item.id)).all()
    return formats.export(fmt, items, bank.standard)[0]


def _content(s, bank):
    out = []
    for it in s.scalars(select(Item).where(Item.agency_id == bank.agency.id).order_by(Item.code)):
        v = it.head_version
        out.append((it.item_type, v.element_code, v.levels, v.stem, v.options, v.answer, v.explanation, v.p, v.irt_a,
                    v.irt_b, v.irt_c, v.source, v.enemy_group, v.rubric, v.digest))
    return out


@pytest.mark.parametrize("fmt", ["json", "xlsx", "qti"])
def test_round_trip_keeps_every_field(db, make, fmt):
    with db.write_scope() as s:
        bank = make_bank(s, make)
        rows = formats.parse("json", formats.export_json([]).replace(b'"items": []', b'"items": ' + __import__(
            "json").dumps(GOOD, ensure_ascii=False).encode()))
        import_rows(s, bank.writer, agency_id=bank.agency.id, standard=bank.standard, rows=rows, fmt="json")
        before = _content(s, bank)
        data = _export_all(s, bank, fmt)
    with db.write_scope() as s:
        other = make_bank(s, make, code="0043") if False else None  # noqa: F841
        from itembank.core import directory
        from itembank.core.audit import SYSTEM
        from itembank.core.reference import Occupation
        agency2 = make.agency(s, code="0099", name="另一机构")
        occ = s.scalar(select(Occupation))
        directory.approve_scope(s, SYSTEM, agency2, occupation=occ, levels=[4])
        rows = formats.parse(fmt, data)
        import_rows(s, bank.writer, agency_id=agency2.id, standard=bank.standard, rows=rows, fmt=fmt)
        bank.agency = agency2
        after = _content(s, bank)
    assert after == before  # same content, same digests


def test_qti_package_is_qti_3(db, make):
    with db.write_scope() as s:
        bank = make_bank(s, make)
        rows = [formats._row_from_record(i + 1, r) for i, r in enumerate(GOOD)]
        import_rows(s, bank.writer, agency_id=bank.agency.id, standard=bank.standard, rows=rows, fmt="json")
        data = _export_all(s, bank, "qti")
    z = zipfile.ZipFile(io.BytesIO(data))
    manifest = z.read("imsmanifest.xml").decode()
    assert "imsqti_item_xmlv3p0" in manifest
    single = z.read("items/T-1.xml").decode()
    assert 'xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0"' in single
    assert "<qti-choice-interaction" in single and "<qti-value>A</qti-value>" in single
    fill = z.read("items/T-4.xml").decode()
    assert "<qti-text-entry-interaction" in fill and 'map-key="六十"' in fill


def test_bad_xlsx_is_rejected_whole_with_every_error_by_row_and_column(db, make):
    wb = load_workbook(io.BytesIO(formats.template_xlsx()))
    ws = wb.active
    ws.delete_rows(2, 2)  # the template's two example rows
    ws.append(["X-1", "单选题", "2.1", "4", "好题（ ）。", "甲", "乙", "丙", "丁", "", "", "B", "", 0.7, "", "", "", "地方题库"])
    ws.append(["X-2", "单选题", "9.9", "4", "", "甲", "乙", "", "", "", "", "E", "", 1.7, "", "", "", "网上"])
    ws.append(["X-3", "问答题", "2.1", "4", "题", "", "", "", "", "", "", "x"])
    ws.append(["X-1", "判断题", "1.2", "4", "重复编号。", "", "", "", "", "", "", "对", "", 0.8])
    buf = io.BytesIO()
    wb.save(buf)
    with db.write_scope() as s:
        bank = make_bank(s, make)
        with pytest.raises(ImportRejected) as e:
            import_rows(s, bank.writer, agency_id=bank.agency.id, standard=bank.standard,
                        rows=formats.parse("xlsx", buf.getvalue()), fmt="xlsx")
        errs = {(x.row, x.column.split(" ")[-1]) for x in e.value.errors}
        assert {(3, "鉴定要素代码"), (3, "题干"), (3, "答案"), (3, "难度p"), (3, "来源"), (4, "题型"), (5, "试题编号")} <= errs
        assert all(x.row != 2 for x in e.value.errors)  # the good row has no error, yet is not imported either
        assert e.value.status == 422 and len(e.value.details["errors"]) == len(e.value.errors)
        assert s.scalar(select(func.count(Item.id))) == 0  # nothing half-imported


def test_unreadable_files_are_rejected():
    for fmt, data in (("xlsx", b"not a workbook"), ("json", b"{bad"), ("qti", b"PK nonsense")):
        with pytest.raises(ImportRejected):
            formats.parse(fmt, data)
    with pytest.raises(ImportRejected):
        formats.detect("items.docx")


def test_import_over_the_api_lists_errors_and_the_template_downloads(app, client, db, make):
    from tests.conftest import api_token
    with db.write_scope() as s:
        bank = make_bank(s, make)
        std_id = bank.standard.id
    h = api_token(client, "ibw1")
    r = client.get("/api/v1/itembank/items/template.xlsx", headers=h)
    assert r.status_code == 200 and r.data[:2] == b"PK"
    bad = b'[{"item_type": "single", "element_code": "2.1", "levels": [4], "stem": "x", "options": ["a"], "answer": "A", "p": 0.5}]'
    r = client.post("/api/v1/itembank/items/import", headers=h, data={"standard_id": str(std_id),
                    "file": (io.BytesIO(bad), "bad.json")}, content_type="multipart/form-data")
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "import_rejected" and err["errors"][0]["row"] == 1 and err["errors"][0]["column"] == "options"
    good = __import__("json").dumps(GOOD[:3], ensure_ascii=False).encode()
    r = client.post("/api/v1/itembank/items/import", headers=h, data={"standard_id": str(std_id),
                    "file": (io.BytesIO(good), "good.json")}, content_type="multipart/form-data")
    assert r.status_code == 200 and r.get_json()["created"] == 3
