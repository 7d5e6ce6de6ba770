"""Demo and test sitting: a theory session today with seated candidates and two sealed parallel papers.

:func:`build_sitting` uses the administration and item-bank services (plan, session, registrations,
seating, items approved by a reviewer, papers sealed and bound to the forms), so a delivery test or the
demo gets a real sitting. ``skillcert demo`` prints the session's access code (场次口令).
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from itembank import items as itemsvc
from itembank import papers as papersvc
from itembank.blueprints import create_blueprint
from itembank.core import directory
from itembank.core.audit import Actor
from itembank.core.idcard import resident_check_digit
from itembank.core.db import utcnow
from itembank.core.errors import Conflict
from itembank.core.people import Account, Person, RoleGrant
from itembank.core.reference import Agency, Occupation, Room, Site
from itembank.papers import Paper, PaperItem, paper_digest
from itembank.standards import SkillStandard

from examserver.administration import operations as admin
from examserver.administration.models import ExamSession, Registration, SeatAssignment

from .operations import LOCAL_OFFSET

# (type, element, stem, options, key) — 车工 level-4 theory items
ITEMS = [
    ("single", "1.1.1", "职业道德是指从事一定职业的人在职业活动中应遵循的（ ）。",
     ["行为规范", "操作规程", "技术标准", "管理制度"], "A"),
    ("single", "1.2.2", "游标卡尺的读数精度为 0.02 mm，其主尺每格为（ ）。", ["0.5 mm", "1 mm", "2 mm", "0.1 mm"], "B"),
    ("single", "2.2.1", "车削铸铁时，一般选用（ ）类硬质合金刀具。", ["K（YG）", "P（YT）", "M（YW）", "高速钢"], "A"),
    ("single", "2.1.3", "三爪自定心卡盘装夹工件的特点是（ ）。", ["自动定心", "夹紧力最大", "适合偏心件", "不能夹圆料"], "A"),
    ("multiple", "1.2.5", "车床安全操作要求包括（ ）。", ["戴防护眼镜", "戴手套操作", "工件夹紧后再开车", "停车后再测量"], "ACD"),
    ("multiple", "2.3.3", "车削螺纹时影响螺距精度的因素有（ ）。", ["丝杠精度", "挂轮误差", "刀具前角", "主轴轴向窜动"], "ABD"),
    ("judge", "1.1.2", "爱岗敬业是职业守则的基本要求。", [], "T"),
    ("judge", "2.2.2", "车床导轨面可以不必润滑。", [], "F"),
    ("fill", "1.2.3", "45 钢的平均含碳量约为 ___ %。", [], [["0.45", "0.45%"]]),
    ("fill", "2.4.1", "千分尺的读数精度为 ___ mm。", [], [["0.01"]]),
]


@dataclasses.dataclass
class Sitting:
    session_id: int
    access_code: str
    room_ids: list[int]
    paper_ids: dict[str, int]
    tickets: list[tuple[str, str]]  # (ticket number, ID number) in seat order


def _actor(s: Session, username: str) -> Actor:
    acc = s.scalar(select(Account).where(Account.username == username))
    grant = next(g for g in acc.active_grants())
    return Actor(acc.id, acc.person.name, grant.role)


def make_papers(s: Session, writer: Actor, reviewer: Actor, *, agency: Agency, standard: SkillStandard,
                duration_minutes: int = 90, labels=("A", "B")) -> dict[str, int]:
    """Two sealed parallel forms of the demo items (each form: the items in another order)."""
    made = []
    for k, (typ, el, stem, opts, key) in enumerate(ITEMS):
        fields = {"element_code": el, "levels": [standard.level], "stem": stem, "answer": key, "p": 0.7,
                  "explanation": f"解析 {k + 1}"}
        if opts:
            fields["options"] = opts
        it = itemsvc.create_item(s, writer, agency_id=agency.id, standard=standard, item_type=typ, **fields)
        itemsvc.submit_for_review(s, writer, it)
        itemsvc.review_item(s, reviewer, it, decision="approve")
        made.append(it)
    points = {"single": 10.0, "multiple": 10.0, "judge": 10.0, "fill": 10.0}
    bp = create_blueprint(s, writer, agency_id=agency.id, standard=standard, name="车工四级理论（演示）",
                          duration_minutes=duration_minutes, points_per_type=points,
                          cells=[{"element_code": el, "item_type": typ, "count": 1} for typ, el, *_ in ITEMS])
    out = {}
    order = {"single": 0, "multiple": 1, "judge": 2, "fill": 3}
    for f, label in enumerate(labels):
        paper = Paper(agency_id=agency.id, blueprint_id=bp.id, form_label=label, title=f"{bp.name}（{label}卷）",
                      level=standard.level, status="draft", total_points=100.0, duration_minutes=duration_minutes,
                      shuffle=papersvc.DEFAULT_SHUFFLE, digest="", created_by=writer.account_id)
        s.add(paper)
        s.flush()
        seq = sorted(made, key=lambda i: (order[i.item_type], (i.id * (f + 3)) % 7, i.id))
        for pos, it in enumerate(seq):
            s.add(PaperItem(paper_id=paper.id, position=pos + 1, section=it.item_type, item_id=it.id,
                            item_version_id=it.approved_version_id, points=points[it.item_type]))
        s.flush()
        s.refresh(paper)
        paper.digest = paper_digest(paper)
        papersvc.submit_paper(s, writer, paper)
        papersvc.review_paper(s, reviewer, paper, decision="approve")
        papersvc.seal_paper(s, reviewer, paper)
        out[label] = paper.id
    return out


def build_sitting(s: Session, *, candidates: int = 10, starts_in: dt.timedelta = dt.timedelta(minutes=30),
                  duration_minutes: int = 90, now: dt.datetime | None = None, rooms: int = 1,
                  usernames: tuple[str, ...] = ()) -> Sitting:
    """A theory session in the demo agency starting ``starts_in`` from now (local time), with ``candidates``
    demo candidates (cand001…) seated and two sealed papers bound to forms A and B."""
    now = now or utcnow()
    agency = s.scalar(select(Agency).order_by(Agency.id))
    site = s.scalar(select(Site).where(Site.agency_id == agency.id).order_by(Site.id))
    occ = s.scalar(select(Occupation).where(Occupation.code == "6-18-01-01"))
    standard = s.scalar(select(SkillStandard).where(SkillStandard.occupation_id == occ.id, SkillStandard.level == 4))
    writer, reviewer, agency_admin = _actor(s, "writer"), _actor(s, "reviewer"), _actor(s, "agency")
    local = now + LOCAL_OFFSET
    starts = (local + starts_in).replace(microsecond=0)
    ends = starts + dt.timedelta(minutes=duration_minutes + 30)
    plan = admin.create_plan(s, agency_admin, agency=agency, site=site, occupation=occ, level=4,
                             first_day=starts.date(), last_day=ends.date(), title=f"车工四级认定（在线理论演示）{starts:%H%M%S}")
    room_rows = list(s.scalars(select(Room).where(Room.site_id == site.id, Room.seat_rows * Room.seat_cols >= 30)
                              .order_by(Room.id)))[:rooms]
    if candidates > sum(r.capacity for r in room_rows):  # load tests: big rooms of 50 × 50 seats
        room_rows = []
        for k in range((candidates + 2499) // 2500):
            name = f"压测机房 {k + 1}"
            room = s.scalar(select(Room).where(Room.site_id == site.id, Room.name == name)) or directory.add_room(
                s, agency_admin, site, name=name, seat_rows=50, seat_cols=50)
            room_rows.append(room)
    span = ends - starts
    for _ in range(20):  # the rooms may already hold another session then: take the next free slot
        try:
            se = admin.add_session(s, agency_admin, plan, subject="theory", starts_at=starts, ends_at=starts + span,
                                   rooms=room_rows, forms=("A", "B"))
            break
        except Conflict as e:
            if e.code != "room_busy":
                raise
            starts += span + dt.timedelta(minutes=1)
    else:
        raise RuntimeError("no free room slot for the delivery demo")
    users = list(usernames) or [f"cand{i + 1:03d}" for i in range(min(candidates, 60))]
    persons = [s.scalar(select(Person).join(Account).where(Account.username == u)) for u in users]
    for i in range(len(persons), candidates):  # more candidates than the demo has: people without accounts
        first = f"41010219{80 + i % 20:02d}{1 + i % 12:02d}{1 + i % 28:02d}{i // 6720 % 10}{i % 100:02d}"
        first = first[:14] + f"{i % 1000:03d}"
        idn = first + resident_check_digit(first)
        persons.append(s.scalar(select(Person).where(Person.id_number == idn)) or directory.create_person(
            s, agency_admin, name=f"压测考生{i + 1}", id_number=idn))
    for p in persons:
        admin.register(s, agency_admin, plan, p, source="agency", today=starts.date())
    admin.seat_session(s, agency_admin, se, seed="delivery-demo")
    paper_ids = make_papers(s, writer, reviewer, agency=agency, standard=standard, duration_minutes=duration_minutes)
    for label, pid in paper_ids.items():
        admin.set_form_paper(s, agency_admin, se, form_label=label, paper_id=pid)
    s.flush()
    rows = s.execute(select(Registration.ticket_number, Person.id_number).join(
        SeatAssignment, SeatAssignment.registration_id == Registration.id).join(
        Person, Person.id == Registration.person_id).where(SeatAssignment.session_id == se.id)
        .order_by(SeatAssignment.room_id, SeatAssignment.seat_no)).all()
    return Sitting(se.id, se.access_code, [r.id for r in room_rows], paper_ids, [(r[0], r[1]) for r in rows])


def load(s: Session, rng: np.random.Generator, ctx) -> None:
    """Demo step: a theory session of 车工四级 today, starting in 30 minutes, for cand001–cand030 in the first
    room; proctors open it from the live dashboard (/proctor)."""
    sit = build_sitting(s, candidates=30)
    print(f"\nOnline theory exam (delivery): open /exam and sign in with a ticket number, ID number and the "
          f"session access code {sit.access_code}")
    print(f"  e.g. ticket {sit.tickets[0][0]}  ID {sit.tickets[0][1]}  (proctor dashboard: /proctor, user proctor)")
