"""The demo data set: one agency in Zhengzhou assessing 车工 (6-18-01-01), its staff and 60 candidates."""
from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from itembank.core import audit, directory
from itembank.core.audit import SYSTEM
from itembank.core.idcard import resident_check_digit
from itembank.core.people import Account
from itembank.core.reference import Agency, Occupation, Site
from itembank.standards import create_standard

DEMO_PASSWORD = "skillcert-demo"
AGENCY_NAME = "郑州精工职业技能评价中心"

# username, name, role, held level, title
STAFF = [
    ("admin", "系统管理员", "admin", None, ""),
    ("auditor", "省鉴定中心 周敏", "center_auditor", None, ""),
    ("agency", "王建国", "agency_admin", None, ""),
    ("writer", "李秀英", "item_writer", 2, "senior"),
    ("writer2", "赵国强", "item_writer", 3, "mid"),
    ("reviewer", "孙丽华", "item_reviewer", 1, "senior"),
    ("proctor", "刘洋", "proctor", None, ""),
    ("proctor2", "陈静", "proctor", None, ""),
    ("proctor3", "杨帆", "proctor", None, ""),
    ("chief", "黄志刚", "chief_proctor", None, ""),
    ("examiner", "吴德明", "examiner", 2, "mid"),
    ("examiner2", "郑红梅", "examiner", 3, ""),
    ("examiner3", "冯立新", "examiner", 1, "senior"),
    ("examiner4", "何春生", "examiner", 3, "mid"),
    ("supervisor", "高文博", "supervisor", 2, "senior"),
    ("supervisor2", "林晓燕", "supervisor", 3, "mid"),
]

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文斌鹏辉晨旭宇浩然子涵欣怡梓萱")

# 车工 国家职业技能标准 (2018) 四级/中级工: theory weights (比重表) by element; weights are % of the parent.
LATHE_L4 = [
    {"code": "1", "name": "基本要求", "weight": 25, "importance": "X", "children": [
        {"code": "1.1", "name": "职业道德", "weight": 20, "children": [
            {"code": "1.1.1", "name": "职业道德基本知识", "weight": 50},
            {"code": "1.1.2", "name": "职业守则", "weight": 50}]},
        {"code": "1.2", "name": "基础知识", "weight": 80, "children": [
            {"code": "1.2.1", "name": "识图知识", "weight": 20},
            {"code": "1.2.2", "name": "公差配合与测量知识", "weight": 25},
            {"code": "1.2.3", "name": "金属材料及热处理知识", "weight": 20},
            {"code": "1.2.4", "name": "机械传动与液压知识", "weight": 15},
            {"code": "1.2.5", "name": "安全文明生产与环境保护知识", "weight": 20}]}]},
    {"code": "2", "name": "相关知识要求", "weight": 75, "importance": "X", "children": [
        {"code": "2.1", "name": "工艺准备", "weight": 25, "children": [
            {"code": "2.1.1", "name": "读图与绘图", "weight": 30},
            {"code": "2.1.2", "name": "制定加工工艺", "weight": 40},
            {"code": "2.1.3", "name": "工件定位与夹紧", "weight": 30}]},
        {"code": "2.2", "name": "刀具与设备", "weight": 15, "children": [
            {"code": "2.2.1", "name": "刀具准备与刃磨", "weight": 60},
            {"code": "2.2.2", "name": "设备维护保养", "weight": 40, "importance": "Y"}]},
        {"code": "2.3", "name": "工件加工", "weight": 45, "children": [
            {"code": "2.3.1", "name": "轴类零件加工", "weight": 25, "kind": "skill"},
            {"code": "2.3.2", "name": "套类零件加工", "weight": 20, "kind": "skill"},
            {"code": "2.3.3", "name": "螺纹加工", "weight": 25, "kind": "skill"},
            {"code": "2.3.4", "name": "偏心件与锥度加工", "weight": 15, "kind": "skill"},
            {"code": "2.3.5", "name": "数控车床编程基础", "weight": 15, "kind": "skill"}]},
        {"code": "2.4", "name": "精度检验及误差分析", "weight": 15, "children": [
            {"code": "2.4.1", "name": "常用量具使用", "weight": 50},
            {"code": "2.4.2", "name": "误差分析", "weight": 50, "importance": "Y"}]}]},
]


@dataclasses.dataclass
class DemoContext:
    """What the core demo made, handed to each area's demo step."""

    agency: Agency
    site: Site
    occupation: Occupation
    password_hash: str


# Each area adds its demo data in a module with ``load(s, rng, ctx)``; listed here in dependency order.
AREA_DEMO_MODULES: list[str] = ["examserver.itembank_app.demo", "examserver.administration.demo", "examserver.certification.demo", "examserver.delivery.demo", "examserver.analysis.demo", "examserver.marking.demo"]


def area_steps():
    import importlib
    return [importlib.import_module(m).load for m in AREA_DEMO_MODULES]


def make_resident_id(rng: np.random.Generator, region: str = "410102") -> str:
    birth = dt.date(1975, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365 * 27)))
    seq = f"{int(rng.integers(0, 1000)):03d}"
    first17 = f"{region}{birth:%Y%m%d}{seq}"
    return first17 + resident_check_digit(first17)


def random_name(rng: np.random.Generator) -> str:
    return SURNAMES[rng.integers(len(SURNAMES))] + "".join(GIVEN[i] for i in rng.integers(0, len(GIVEN),
                                                                                       size=rng.integers(1, 3)))


def is_loaded(s: Session) -> bool:
    return s.scalar(select(Account.id).where(Account.username == "admin")) is not None


def load_demo(s: Session, seed: int = 20261125, candidates: int = 60) -> list[tuple[str, str, str]]:
    """Create the demo data; return (username, role, name) rows of the demo logins."""
    rng = np.random.default_rng(seed)
    actor = SYSTEM
    occ = directory.create_occupation(s, actor, code="6-18-01-01", name="车工", work_types=["数控车床"])
    agency = directory.create_agency(s, actor, name=AGENCY_NAME, category="S", agency_code="0000")
    site = directory.add_site(s, actor, agency, name="郑州精工职业技能评价中心（中原站点）", province_code="41",
                              site_serial="010001", address="河南省郑州市中原区建设西路 188 号")
    directory.approve_scope(s, actor, agency, occupation=occ, levels=[5, 4, 3])
    directory.approve_scope(s, actor, agency, occupation=occ, work_type=occ.work_types[0], levels=[4, 3])
    directory.add_room(s, actor, site, name="第一考场（理论机房 301）", seat_rows=5, seat_cols=6)
    directory.add_room(s, actor, site, name="第二考场（理论机房 302）", seat_rows=5, seat_cols=6)
    directory.add_room(s, actor, site, name="实训车间 A（操作技能）", seat_rows=2, seat_cols=6)
    create_standard(s, actor, occupation=occ, level=4, title="车工国家职业技能标准（2018年版）四级/中级工",
                    version="2018", elements=LATHE_L4)
    pw_hash = directory.hash_password(DEMO_PASSWORD)  # one hash for every demo login keeps loading fast
    logins = []
    used: set[str] = set()
    for username, name, role, lv, title in STAFF:
        idn = make_resident_id(rng)
        person = directory.create_person(s, actor, name=name, id_number=idn, employer=AGENCY_NAME)
        acc = directory.create_account(s, actor, person, username=username, password_hash=pw_hash)
        directory.grant_role(s, actor, acc, role=role, agency=None if role in ("admin", "center_auditor") else agency,
                             held_level=lv, title=title)
        logins.append((username, role, name))
    # One examiner also writes items: a person may hold several roles.
    examiner = s.scalar(select(Account).where(Account.username == "examiner"))
    directory.grant_role(s, actor, examiner, role="item_writer", agency=agency)
    employers = ["郑州宇通客车股份有限公司", "中铁工程装备集团有限公司", "郑州煤矿机械集团股份有限公司", "河南省机械高级技工学校", ""]
    for i in range(candidates):
        idn = make_resident_id(rng)
        while idn in used:
            idn = make_resident_id(rng)
        used.add(idn)
        name = random_name(rng)
        person = directory.create_person(s, actor, name=name, id_number=idn, phone=f"13{rng.integers(10**8, 10**9)}",
                                         employer=employers[i % len(employers)])
        username = f"cand{i + 1:03d}"
        acc = directory.create_account(s, actor, person, username=username, password_hash=pw_hash)
        directory.grant_role(s, actor, acc, role="candidate", agency=agency)
        if i == 0:
            logins.append((username, "candidate", name))
    ctx = DemoContext(agency=agency, site=site, occupation=occ, password_hash=pw_hash)
    for step in area_steps():
        step(s, rng, ctx)
    signer = audit.settings.signer
    if signer is not None:
        audit.checkpoint(s, signer)
    return logins
