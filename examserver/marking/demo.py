"""Demo step: a 车工四级 plan held three working days ago whose practical task is being marked.

The plan ran its theory session in the morning (five candidates, cand041–cand045, sat the delivery demo's sealed
papers through delivery's own operations: sign-in, start, answers, submit) and its practical task 台阶轴车削 in
the afternoon; then it was closed. The agency set the task up from the bank's approved practical item (its
rubric snapshotted; mean of the panel, adjudication above a spread of 10 points, lead examiner 吴德明 =
``examiner``). The panel — examiner, examiner2, examiner4 — has signed its marks for cand041–cand044 (each
re-authenticated with the password, as on the marking sheet); cand045's workpiece still waits for all three.
From there the user (or the browser test of issue #7) marks cand045, adjudicates if the panel disagrees,
computes and submits the results, has the centre approve them and issues the certificates.

Dates follow the real calendar: filed and approved well ahead, exam day three working days before today, so the
results are still within the 10 working days for reporting (豫人社办〔2020〕19号 §四(五)).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from examserver.administration import operations as admin
from examserver.administration.models import SeatAssignment
from examserver.delivery import operations as delivery
from examserver.delivery.operations import LOCAL_OFFSET
from itembank.core.audit import Actor
from itembank.core.people import Account
from itembank.core.reference import Room
from itembank.items import Item
from itembank.papers import Paper

from . import operations as ops

TASK = "台阶轴车削"
CANDIDATES = ("cand041", "cand042", "cand043", "cand044", "cand045")
WAITING = "cand045"  # the panel has not marked this candidate yet
PANEL = ("examiner", "examiner2", "examiner4")
LEAD = "examiner"
PASSWORD = "skillcert-demo"
SPREAD_THRESHOLD = 10.0
# chance of answering a theory item right, per candidate (cand044 is weak and fails theory)
THEORY_SKILL = {"cand041": 0.85, "cand042": 0.75, "cand043": 0.9, "cand044": 0.3, "cand045": 1.0}
# deductions per examiner for the marked candidates: {criterion index: (deduction index, count)}
DEDUCTIONS = {
    "cand041": ({0: (0, 1)}, {0: (0, 2)}, {0: (0, 1), 3: (0, 1)}),
    "cand042": ({1: (0, 1)}, {1: (0, 1), 2: (0, 1)}, {1: (0, 1)}),
    "cand043": ({}, {3: (0, 1)}, {5: (1, 1)}),
    "cand044": ({0: (1, 1), 2: (0, 1)}, {0: (1, 1), 2: (0, 2)}, {0: (1, 1), 2: (0, 1), 5: (1, 1)}),
}


def _actor(s: Session, username: str, role: str) -> tuple[Actor, Account]:
    acc = s.scalar(select(Account).where(Account.username == username))
    return Actor(acc.id, acc.person.name, role), acc


def working_day_before(cal, day: dt.date, n: int) -> dt.date:
    """The ``n``-th working day before ``day`` (``day`` itself not counted)."""
    d = day
    while n:
        d -= dt.timedelta(days=1)
        if cal.is_working_day(d):
            n -= 1
    return d


def _entries(n_criteria: int, plan: dict[int, tuple[int, int]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(n_criteria):
        if i in plan:
            j, count = plan[i]
            out.append({"deductions": [{"index": j, "count": count}]})
        else:
            out.append({})
    return out


def _sit_theory(s: Session, se, regs, accounts: dict[int, str], rng: np.random.Generator) -> None:
    """Each candidate signs in, starts, answers and submits through delivery's operations at the session's time."""
    start = se.starts_at - LOCAL_OFFSET  # UTC
    for k, reg in enumerate(regs):
        t0 = start + dt.timedelta(minutes=2, seconds=10 * k)
        device = f"demo-marking-{k:02d}"
        a = delivery.candidate_sign_in(s, ticket_number=reg.ticket_number, id_number=reg.person.id_number,
                                       access_code=se.access_code, device_id=device, now=t0)
        delivery.confirm_identity(s, a, now=t0)
        delivery.start_attempt(s, a, now=t0)
        skill = THEORY_SKILL[accounts[reg.person_id]]
        for seq, it in enumerate(delivery.papers.get(s, a.paper_id)["key"]["items"], start=1):
            if it["item_type"] == "practical":
                continue
            if rng.random() < skill:
                resp = [b[0] for b in it["answer"]] if it["item_type"] == "fill" else it["answer"]
            else:
                resp = {"single": "D" if it["answer"] != "D" else "C", "multiple": "A",
                        "judge": "F" if it["answer"] == "T" else "T"}.get(it["item_type"], ["不会"])
            at = t0 + dt.timedelta(minutes=2 + 3 * seq)
            delivery.save_change(s, attempt_id=a.id, device_id=device, item=it["paper_item_id"], seq=seq,
                                 response=resp, client_at=at, now=at, via="http")
        s.expire(a)
        delivery.submit(s, None, a, reason="candidate", now=t0 + dt.timedelta(minutes=50 + k))


def load(s: Session, rng: np.random.Generator, ctx) -> None:
    rng = np.random.default_rng(20261207)  # own stream: the earlier steps' data stay as they were
    agency_admin, _ = _actor(s, "agency", "agency_admin")
    auditor, _ = _actor(s, "auditor", "center_auditor")
    today = admin.local_today()
    cal = admin.work_calendar(s)
    day = working_day_before(cal, today, 3)
    filed_on = working_day_before(cal, day, 15)
    rooms = {r.name: r for r in s.scalars(select(Room).where(Room.site_id == ctx.site.id).order_by(Room.id))}
    theory_room = next(r for name, r in rooms.items() if "理论" in name)
    workshop = next(r for name, r in rooms.items() if "实训" in name)

    plan = admin.create_plan(s, agency_admin, agency=ctx.agency, site=ctx.site, occupation=ctx.occupation, level=4,
                             first_day=day, last_day=day, title=f"车工四级认定 {day:%Y年%m月%d日}（操作技能评分演示）",
                             supervisor_report_days=3)
    theory = admin.add_session(s, agency_admin, plan, subject="theory", name="理论知识考试",
                               starts_at=dt.datetime.combine(day, dt.time(9, 0)),
                               ends_at=dt.datetime.combine(day, dt.time(10, 30)), rooms=[theory_room],
                               forms=("A", "B"))
    practical = admin.add_session(s, agency_admin, plan, subject="practical", name="操作技能考核",
                                  starts_at=dt.datetime.combine(day, dt.time(13, 30)),
                                  ends_at=dt.datetime.combine(day, dt.time(17, 30)), rooms=[workshop], forms=("A",),
                                  tasks=(TASK,))
    accounts = {}
    for username in CANDIDATES:
        acc = s.scalar(select(Account).where(Account.username == username))
        accounts[acc.person_id] = username
        admin.register(s, agency_admin, plan, acc.person, source="agency", today=filed_on)
    admin.seat_session(s, agency_admin, theory, seed=rng.bytes(16).hex())
    for label in ("A", "B"):  # the delivery demo's sealed parallel forms
        paper = s.scalar(select(Paper).where(Paper.agency_id == ctx.agency.id, Paper.status == "sealed",
                                             Paper.level == 4, Paper.form_label == label).order_by(Paper.id))
        admin.set_form_paper(s, agency_admin, theory, form_label=label, paper_id=paper.id)

    def acc(username):
        return s.scalar(select(Account).where(Account.username == username))
    admin.assign_staff(s, agency_admin, plan, account=acc("chief"), duty="chief_proctor", session=theory,
                       room=theory_room)
    admin.assign_staff(s, agency_admin, plan, account=acc("proctor"), duty="proctor", session=theory, room=theory_room)
    for username in PANEL:
        admin.assign_staff(s, agency_admin, plan, account=acc(username), duty="examiner", session=practical, task=TASK)
    admin.draw_supervisor(s, agency_admin, plan, seed=rng.bytes(16).hex())
    admin.file_plan(s, agency_admin, plan, today=filed_on,
                    now=dt.datetime.combine(filed_on, dt.time(1, 30)))
    admin.approve_plan(s, auditor, plan)
    admin.start_plan(s, agency_admin, plan)

    regs = ops.candidates(s, plan)
    _sit_theory(s, theory, regs, accounts, rng)
    admin.close_plan(s, agency_admin, plan, today=day)

    item = next(it for it in s.scalars(select(Item).where(Item.agency_id == ctx.agency.id,
                                                          Item.item_type == "practical",
                                                          Item.approved_version_id.is_not(None)).order_by(Item.id))
                if TASK in (it.approved_version.stem or ""))
    lead, _ = _actor(s, LEAD, "examiner")
    mt = ops.setup_task(s, agency_admin, session=practical, task=TASK, item=item, aggregation="mean",
                        spread_threshold=SPREAD_THRESHOLD, lead_account_id=lead.account_id)
    signed_at = dt.datetime.combine(day, dt.time(17, 45)) - LOCAL_OFFSET
    for reg in regs:
        username = accounts[reg.person_id]
        if username == WAITING:
            continue
        for k, examiner in enumerate(PANEL):
            who, _ = _actor(s, examiner, "examiner")
            ops.submit_mark(s, who, session=practical, task=TASK, registration=reg,
                            entries=_entries(len(mt.rubric["criteria"]), DEDUCTIONS[username][k]),
                            password=PASSWORD, now=signed_at + dt.timedelta(minutes=k))
    waiting = next(r for r in regs if accounts[r.person_id] == WAITING)
    print(f"\nPractical marking (marking): {plan.title} — the panel ({', '.join(PANEL)}; lead {LEAD}) still has to "
          f"mark {TASK} of ticket {waiting.ticket_number} ({WAITING}) at /marking/; results: /marking/plans/{plan.id}")
