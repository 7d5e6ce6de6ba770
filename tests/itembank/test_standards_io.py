"""Skill standards from files: every problem listed by row and column, nothing half-imported."""
from __future__ import annotations

import io
import json

import pytest
from openpyxl import Workbook

from examserver.demo import LATHE_L4
from itembank.io import ImportRejected
from itembank.standards_io import parse_standard

from ..conftest import api_token  # noqa: TID252

GOOD_CSV = """代码,名称,类型,比重,重要程度
1,基本要求,知识,30,X
1.1,职业道德,知识,40,Y
1.2,基础知识,知识,60,X
2,操作技能,技能,70,X
""".encode()


def test_csv_builds_the_nested_tree():
    tree = parse_standard("csv", GOOD_CSV)
    assert [n["code"] for n in tree] == ["1", "2"]
    assert [c["code"] for c in tree[0]["children"]] == ["1.1", "1.2"]
    assert tree[1]["kind"] == "skill" and tree[0]["children"][1]["weight"] == 60


def test_gb18030_csv_from_chinese_windows_is_read():
    assert parse_standard("csv", GOOD_CSV.decode().encode("gb18030"))[0]["name"] == "基本要求"


def test_every_problem_is_listed_by_row_and_column():
    bad = """代码,名称,类型,比重,重要程度
1,基本要求,知识,30,X
1.1,,知识,40,Q
1.1,重复,知识,60,X
3.1,孤儿,知识,abc,X
2,操作技能,手艺,70,X
""".encode()
    with pytest.raises(ImportRejected) as e:
        parse_standard("csv", bad)
    found = {(x.row, x.column.split()[-1]) for x in e.value.errors}
    assert {(3, "名称"), (3, "重要程度"), (4, "代码"), (5, "比重"), (5, "代码"), (6, "类型")} <= found


def test_sibling_weights_must_sum_to_100_and_the_parent_row_is_named():
    bad = GOOD_CSV.replace(b"1.2,\xe5\x9f\xba\xe7\xa1\x80\xe7\x9f\xa5\xe8\xaf\x86,\xe7\x9f\xa5\xe8\xaf\x86,60", "1.2,基础知识,知识,50".encode())
    with pytest.raises(ImportRejected) as e:
        parse_standard("csv", bad)
    assert e.value.errors[0].row == 2 and "90" in e.value.errors[0].message


def test_xlsx_and_json_round_trip_through_the_api(client, demo):
    h = api_token(client, "writer")
    wb = Workbook()
    ws = wb.active
    for line in GOOD_CSV.decode().strip().splitlines():
        ws.append(line.split(","))
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post("/api/v1/standards/import", headers=h, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(buf.getvalue()), "std.xlsx"), "occupation_code": "6-18-01-01",
                          "level": "3", "version": "2026-draft"})
    assert r.status_code == 201, r.get_json()
    sid = r.get_json()["id"]
    assert r.get_json()["elements"] == 4
    exported = client.get(f"/api/v1/standards/{sid}/export?format=json", headers=h)
    doc = json.loads(exported.data)
    assert [n["code"] for n in doc["elements"]] == ["1", "2"]
    again = client.post("/api/v1/standards/import", headers=h, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(exported.data), "std.json"), "occupation_code": "6-18-01-01",
                              "level": "3", "version": "2026"})
    assert again.status_code == 201
    tree = client.get(f"/api/v1/standards/{again.get_json()['id']}", headers=h).get_json()["tree"]
    assert tree == doc["elements"]


def test_a_rejected_file_writes_nothing(client, demo, db):
    from sqlalchemy import func, select

    from itembank.standards import SkillStandard
    h = api_token(client, "writer")
    with db.read_scope() as s:
        before = s.scalar(select(func.count(SkillStandard.id)))
    bad = json.dumps({"elements": LATHE_L4[:1]}).encode()  # one root of weight 25: siblings do not sum to 100
    r = client.post("/api/v1/standards/import", headers=h, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(bad), "x.json"), "occupation_code": "6-18-01-01", "level": "4",
                          "version": "broken"})
    assert r.status_code == 422 and r.get_json()["error"]["errors"]
    with db.read_scope() as s:
        assert s.scalar(select(func.count(SkillStandard.id))) == before


def test_proctors_cannot_import_standards(client, demo):
    r = client.post("/api/v1/standards/import", headers=api_token(client, "proctor"),
                    content_type="multipart/form-data", data={"occupation_code": "6-18-01-01"})
    assert r.status_code == 403
