"""Demo exam administration: one 车工 level-4 plan, filed and approved, ready to sit.

The plan's first day is 14 working days after today (local time), filed today — on time. Its 60 candidates
(cand001 … cand060) are registered and seated at random in the two theory rooms (forms A/B alternating,
so neighbours differ); room 301 has the chief and one proctor, room 302 two proctors; a panel of three
examiners scores the practical task; a supervisor was drawn at random. The plan was approved by the centre
auditor, so its pass marks (60/60) are fixed. Every step is an audited operation done as the demo
account that would do it (agency admin 王建国, auditor 周敏).

The walkthrough of issue #4 (file a plan, import candidates, seat, staff, draw, tickets) is left to the user:
it runs on a second plan that they create; the theory rooms are free in the afternoon of the same day.

Also in the calendar: 元旦 (1 January) as a public holiday; examiner3 (冯立新) has declared that they trained
cand005, so the staff board shows their recusal; and 宋立军, who holds no account, is barred for the rest of
the year after an art. 6 decision (a second, earlier sitting), so importing them is refused.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from itembank.core import directory
from itembank.core.audit import Actor
from itembank.core.people import Account
from itembank.core.reference import Room

from . import operations as ops
from . import rules

DEMO_BANNED_NAME = "宋立军"


def _actor(s, username: str, role: str) -> tuple[Actor, Account]:
    acc = s.scalar(select(Account).where(Account.username == username))
    return Actor(acc.id, acc.person.name, role), acc


def load(s, rng, ctx) -> None:
    today = ops.local_today()
    admin, _ = _actor(s, "admin", "admin")
    agency_admin, _ = _actor(s, "agency", "agency_admin")
    auditor, _ = _actor(s, "auditor", "center_auditor")
    ops.set_holiday(s, admin, day=dt.date(today.year + 1, 1, 1), name="元旦")

    cal = ops.work_calendar(s)
    day = rules.add_working_days(cal, today, 14)
    rooms = {r.name: r for r in s.scalars(select(Room).where(Room.site_id == ctx.site.id))}
    theory_rooms = [r for name, r in rooms.items() if "理论" in name]
    workshop = next(r for name, r in rooms.items() if "实训" in name)

    plan = ops.create_plan(s, agency_admin, agency=ctx.agency, site=ctx.site, occupation=ctx.occupation, level=4,
                           first_day=day, last_day=day, supervisor_report_days=3)
    theory = ops.add_session(s, agency_admin, plan, subject="theory", name="理论知识考试",
                             starts_at=dt.datetime.combine(day, dt.time(9, 0)),
                             ends_at=dt.datetime.combine(day, dt.time(10, 30)), rooms=theory_rooms, forms=("A", "B"))
    practical = ops.add_session(s, agency_admin, plan, subject="practical", name="操作技能考核",
                                starts_at=dt.datetime.combine(day, dt.time(13, 30)),
                                ends_at=dt.datetime.combine(day, dt.time(17, 30)), rooms=[workshop], forms=("A",),
                                tasks=("轴类零件加工",))
    cands = s.scalars(select(Account).where(Account.username.like("cand%")).order_by(Account.username)).all()
    for acc in cands:
        ops.register(s, agency_admin, plan, acc.person, source="agency", today=today)

    # a barred person (no account): an art. 6 decision bars them for the rest of the year
    banned = directory.create_person(s, admin, name=DEMO_BANNED_NAME, id_number=_rid(rng),
                                     employer="郑州宇通客车股份有限公司")
    ops.record_ban(s, auditor, person=banned, reason="理论考试中使用手机拍摄试题 (photographed items with a phone)",
                   decision_ref="郑精评〔2026〕违字第3号", article="指引第六条",
                   starts_on=today - dt.timedelta(days=20), ends_on=dt.date(today.year, 12, 31))

    ops.seat_session(s, agency_admin, theory, seed=rng.bytes(16).hex())
    trainer = s.scalar(select(Account).where(Account.username == "examiner3"))
    cand005 = next(a for a in cands if a.username == "cand005")
    ops.declare_conflict(s, agency_admin, staff=trainer.person, candidate=cand005.person, kind="trained",
                         note="2026年培训班授课教师 (taught cand005's training course)")

    def acc(username):
        return s.scalar(select(Account).where(Account.username == username))
    r301, r302 = theory_rooms[0], theory_rooms[1]
    ops.assign_staff(s, agency_admin, plan, account=acc("chief"), duty="chief_proctor", session=theory, room=r301)
    ops.assign_staff(s, agency_admin, plan, account=acc("proctor"), duty="proctor", session=theory, room=r301)
    ops.assign_staff(s, agency_admin, plan, account=acc("proctor2"), duty="proctor", session=theory, room=r302)
    ops.assign_staff(s, agency_admin, plan, account=acc("proctor3"), duty="proctor", session=theory, room=r302)
    for username in ("examiner", "examiner2", "examiner4"):
        ops.assign_staff(s, agency_admin, plan, account=acc(username), duty="examiner", session=practical,
                         task="轴类零件加工")
    ops.draw_supervisor(s, agency_admin, plan, seed=rng.bytes(16).hex())
    ops.file_plan(s, agency_admin, plan, today=today)
    ops.approve_plan(s, auditor, plan)


def _rid(rng) -> str:
    from examserver.demo import make_resident_id
    return make_resident_id(rng, region="410105")
