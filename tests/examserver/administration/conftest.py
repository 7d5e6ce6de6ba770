"""A small assessment world for administration tests: one agency with scope, rooms, staff and candidates."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from itembank.core import directory
from itembank.core.audit import SYSTEM, Actor
from itembank.core.idcard import resident_check_digit

D = dt.date


@dataclasses.dataclass
class World:
    agency_id: int
    site_id: int
    occupation_id: int
    work_type_id: int
    room_ids: list[int]          # two theory rooms 5x6, then a workshop 2x6
    accounts: dict[str, int]     # username -> account id
    candidates: list[int]        # person ids
    today: dt.date = D(2026, 11, 25)

    def actor(self, s, username: str, role: str | None = None) -> Actor:
        from itembank.core.people import Account
        acc = s.get(Account, self.accounts[username])
        return Actor(acc.id, acc.person.name, role or acc.active_grants()[0].role)


_n = [0]


def rid(birth: str = "19900101") -> str:
    _n[0] += 1
    first = f"410102{birth}{_n[0] % 1000:03d}"
    return first + resident_check_digit(first)


STAFF = [("agency", "agency_admin", None, ""), ("chief", "chief_proctor", None, ""), ("pr1", "proctor", None, ""),
         ("pr2", "proctor", None, ""), ("pr3", "proctor", None, ""), ("ex_l2", "examiner", 2, "mid"),
         ("ex_l3", "examiner", 3, ""), ("ex_l1", "examiner", 1, "senior"), ("ex_l4", "examiner", 4, ""),
         ("ex_mid", "examiner", None, "mid"), ("sup1", "supervisor", 2, "senior"), ("sup2", "supervisor", 3, "mid"),
         ("sup3", "supervisor", None, "senior"), ("auditor", "center_auditor", None, "")]


@pytest.fixture
def world(db) -> World:
    with db.write_scope() as s:
        occ = directory.create_occupation(s, SYSTEM, code="6-18-01-01", name="车工", work_types=["数控车床"])
        ag = directory.create_agency(s, SYSTEM, name="测试评价中心", category="S", agency_code="0000")
        site = directory.add_site(s, SYSTEM, ag, name="测试站点", province_code="41", site_serial="010001",
                                  address="郑州市测试路1号")
        directory.approve_scope(s, SYSTEM, ag, occupation=occ, levels=[5, 4, 3])
        directory.approve_scope(s, SYSTEM, ag, occupation=occ, work_type=occ.work_types[0], levels=[4, 3, 2])
        rooms = [directory.add_room(s, SYSTEM, site, name="301", seat_rows=5, seat_cols=6),
                 directory.add_room(s, SYSTEM, site, name="302", seat_rows=5, seat_cols=6),
                 directory.add_room(s, SYSTEM, site, name="车间", seat_rows=2, seat_cols=6)]
        pw = directory.hash_password("skillcert-demo")
        accounts = {}
        for username, role, lv, title in STAFF:
            p = directory.create_person(s, SYSTEM, name=f"员工{username}", id_number=rid("19800101"), employer="测试评价中心")
            acc = directory.create_account(s, SYSTEM, p, username=username, password_hash=pw)
            directory.grant_role(s, SYSTEM, acc, role=role, agency=None if role == "center_auditor" else ag,
                                 held_level=lv, title=title)
            accounts[username] = acc.id
        cands = []
        for i in range(8):
            p = directory.create_person(s, SYSTEM, name=f"考生{i + 1}", id_number=rid("19950101"), employer="某机械厂")
            acc = directory.create_account(s, SYSTEM, p, username=f"cand{i + 1}", password_hash=pw)
            directory.grant_role(s, SYSTEM, acc, role="candidate", agency=ag)
            accounts[f"cand{i + 1}"] = acc.id
            cands.append(p.id)
        return World(ag.id, site.id, occ.id, occ.work_types[0].id, [r.id for r in rooms], accounts, cands)
