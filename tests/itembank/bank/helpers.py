"""Small banks for item-bank tests: an agency, a two-area standard, a writer and a reviewer."""
from __future__ import annotations

import dataclasses

from itembank.core import directory
from itembank.core.audit import SYSTEM, Actor
from itembank.standards import create_standard

ELEMENTS = [
    {"code": "1", "name": "基础知识", "weight": 40, "children": [
        {"code": "1.1", "name": "公差配合", "weight": 50}, {"code": "1.2", "name": "安全生产", "weight": 50}]},
    {"code": "2", "name": "专业知识", "weight": 60, "children": [
        {"code": "2.1", "name": "螺纹加工", "weight": 100}]},
]


@dataclasses.dataclass
class Bank:
    agency: object
    standard: object
    writer: Actor
    writer2: Actor
    reviewer: Actor


def make_bank(s, make, code="0042") -> Bank:
    occ = directory.create_occupation(s, SYSTEM, code="6-18-01-01", name="车工")
    agency = make.agency(s, code=code)
    directory.approve_scope(s, SYSTEM, agency, occupation=occ, levels=[4])
    std = create_standard(s, SYSTEM, occupation=occ, level=4, title="车工四级", version="t", elements=ELEMENTS)
    w = make.user(s, "item_writer", agency=agency, username="ibw1", password="skillcert-demo")
    w2 = make.user(s, "item_writer", agency=agency, username="ibw2", password="skillcert-demo")
    r = make.user(s, "item_reviewer", agency=agency, username="ibr1", password="skillcert-demo")
    return Bank(agency, std, Actor(w.id, "写手", "item_writer"), Actor(w2.id, "写手二", "item_writer"),
                Actor(r.id, "审题", "item_reviewer"))


def single(stem="普通螺纹的牙型角为（ ）。", p=0.7, element="2.1", **kw) -> dict:
    return {"item_type": "single", "stem": stem, "options": ["60°", "55°", "30°", "40°"], "answer": "A",
            "element_code": element, "levels": [4], "p": p, **kw}


def approved(s, bank: Bank, fields: dict, code=None):
    """An item written by the writer and approved by the reviewer."""
    from itembank import items
    f = dict(fields)
    t = f.pop("item_type")
    it = items.create_item(s, bank.writer, agency_id=bank.agency.id, standard=bank.standard, item_type=t, code=code, **f)
    items.submit_for_review(s, bank.writer, it)
    items.review_item(s, bank.reviewer, it, decision="approve")
    return it
