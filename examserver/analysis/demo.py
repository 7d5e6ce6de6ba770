"""Demo step: a completed theory sitting, analysed and calibrated.

The delivery demo's session starts in 30 minutes and has no submitted attempts, so this step builds a
second 车工四级 theory sitting (delivery's :func:`~examserver.delivery.demo.build_sitting`) that took place
this morning, lets 60 simulated candidates sign in, answer from a seeded 2PL model and submit through
delivery's own operations (sign-in, start, save, submit — no raw inserts), then runs the item analysis of
the session and a 2PL calibration of the occupation and level.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from examserver.administration.models import ExamSession
from examserver.delivery import operations as delivery
from examserver.delivery.operations import LOCAL_OFFSET
from examserver.delivery.demo import build_sitting
from itembank.core.audit import Actor
from itembank.core.db import utcnow
from itembank.core.people import Account
from itembank.standards import SkillStandard

from . import operations


def _actor(s: Session, username: str) -> Actor:
    acc = s.scalar(select(Account).where(Account.username == username))
    grant = next(g for g in acc.active_grants())
    return Actor(acc.id, acc.person.name, grant.role)


def _wrong(item_type: str, answer: Any, rng: np.random.Generator) -> Any:
    if item_type == "single":
        return str(rng.choice([k for k in "ABCD" if k != answer]))
    if item_type == "multiple":
        wrong = [x for x in ("AB", "AC", "BC", "ABCD", "CD", "A") if x != answer]
        return str(rng.choice(wrong))
    if item_type == "judge":
        return "F" if answer == "T" else "T"
    return ["不会"]


def _right(item_type: str, answer: Any) -> Any:
    return [blank[0] for blank in answer] if item_type == "fill" else answer


def simulate_sitting(s: Session, rng: np.random.Generator, *, candidates: int = 60,
                     now: dt.datetime | None = None) -> int:
    """A theory session that started three hours ago (or at the next free slot of two rooms), sat by ``candidates`` simulated candidates; returns its id.

    Abilities are N(0, 1); each item gets a seeded discrimination a ~ U(0.6, 2.0) and difficulty
    b ~ N(-0.5, 1); the first single-choice item has its key confused with a distractor by a
    third of the able candidates (so the analysis has something to flag).
    """
    now = now or utcnow()
    sit = build_sitting(s, candidates=candidates, starts_in=-dt.timedelta(hours=3), rooms=2, now=now)
    # the rooms may have been busy then, so the session may have moved: the simulated clock follows it
    start = s.get(ExamSession, sit.session_id).starts_at - LOCAL_OFFSET
    params: dict[int, tuple[float, float]] = {}
    theta = rng.normal(0.0, 1.0, size=len(sit.tickets))
    for k, (ticket, idn) in enumerate(sit.tickets):
        t0 = start + dt.timedelta(minutes=1, seconds=k)
        device = f"demo-sim-{k:03d}"
        a = delivery.candidate_sign_in(s, ticket_number=ticket, id_number=idn, access_code=sit.access_code,
                                       device_id=device, now=t0)
        delivery.confirm_identity(s, a, now=t0)
        delivery.start_attempt(s, a, now=t0)
        key = delivery.papers.get(s, a.paper_id)["key"]["items"]
        trap = min(i["item_id"] for i in key if i["item_type"] == "single")
        for seq, it in enumerate(key, start=1):
            if it["item_type"] == "practical":
                continue
            ia, ib = params.setdefault(it["item_id"], (float(rng.uniform(0.6, 2.0)), float(rng.normal(-0.5, 1.0))))
            p = 1.0 / (1.0 + np.exp(-ia * (theta[k] - ib)))
            correct = rng.random() < p
            if it["item_id"] == trap and theta[k] > 0.3 and rng.random() < 0.6:
                correct = False  # a plausible distractor that draws able candidates
            resp = _right(it["item_type"], it["answer"]) if correct else _wrong(it["item_type"], it["answer"], rng)
            at = t0 + dt.timedelta(minutes=2 + seq)
            delivery.save_change(s, attempt_id=a.id, device_id=device, item=it["paper_item_id"], seq=seq,
                                 response=resp, client_at=at, now=at, via="http")
        s.expire(a)
        delivery.submit(s, None, a, reason="candidate", now=t0 + dt.timedelta(minutes=40 + k % 30))
    return sit.session_id


def load(s: Session, rng: np.random.Generator, ctx) -> None:
    """Demo step: simulate the completed sitting, analyse it and calibrate 车工 level 4 (2PL)."""
    session_id = simulate_sitting(s, np.random.default_rng(20261125), candidates=60)
    writer = _actor(s, "writer")
    runs = operations.analyse_session(s, writer, session_id=session_id)
    std = s.scalar(select(SkillStandard).where(SkillStandard.occupation_id == ctx.occupation.id,
                                               SkillStandard.level == 4))
    cal = operations.calibrate_items(s, writer, occupation_id=std.occupation_id, level=4, model="2pl",
                                     agency_id=ctx.agency.id)
    flagged = sum((r.summary or {}).get("flagged", 0) for r in runs)
    print(f"\nItem analysis (analysis): session {session_id} analysed ({len(runs)} papers, {flagged} flagged items;"
          f" /analysis/), {len((cal.summary or {}).get('items', []))} items calibrated (2PL)")
