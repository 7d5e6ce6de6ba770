"""Answer-similarity check (答案雷同检查) from the answers delivery stored: 200 simulated candidates sit an 80-item
paper through delivery's own operations, one copies from the neighbour's sheet; the check flags exactly that pair."""
from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pytest
from sqlalchemy import select

from ..conftest import api_token, login  # noqa: TID252

pytestmark = pytest.mark.slow  # loads the demo data set and stores 16,000 answers

N, M, SEED, COPIED = 200, 80, 20261126, 0.75


def _long_paper(s, sit) -> int:
    """A sealed paper of ``M`` four-option single-choice items (keys A–D as the simulation draws them later)."""
    from examserver.delivery.demo import _actor
    from itembank import items as itemsvc
    from itembank import papers as papersvc
    from itembank.papers import Paper, PaperItem, paper_digest
    writer, reviewer = _actor(s, "writer"), _actor(s, "reviewer")
    base = s.get(Paper, sit.paper_ids["A"])
    standard = base.items[0].item.standard
    codes = sorted({pi.version.element_code for pi in base.items})
    made = []
    for j in range(M):
        it = itemsvc.create_item(s, writer, agency_id=base.agency_id, standard=standard, item_type="single",
                                 element_code=codes[j % len(codes)], levels=[standard.level],
                                 stem=f"雷同检查测试题第 {j + 1} 题：下列说法正确的是（ ）。",
                                 options=[f"选项{k}（第{j + 1}题）" for k in "甲乙丙丁"], answer="ABCD"[j % 4], p=0.6)
        itemsvc.submit_for_review(s, writer, it)
        itemsvc.review_item(s, reviewer, it, decision="approve")
        made.append(it)
    paper = Paper(agency_id=base.agency_id, blueprint_id=base.blueprint_id, form_label="A", title="雷同检查测试卷",
                  level=base.level, status="draft", total_points=float(M), duration_minutes=90,
                  shuffle=papersvc.DEFAULT_SHUFFLE, digest="", created_by=writer.account_id)
    s.add(paper)
    s.flush()
    for pos, it in enumerate(made):
        s.add(PaperItem(paper_id=paper.id, position=pos + 1, section="single", item_id=it.id,
                        item_version_id=it.approved_version_id, points=1.0))
    s.flush()
    s.refresh(paper)
    paper.digest = paper_digest(paper)
    papersvc.submit_paper(s, writer, paper)
    papersvc.review_paper(s, reviewer, paper, decision="approve")
    papersvc.seal_paper(s, reviewer, paper)
    return paper.id


@pytest.fixture
def sat(db, demo):
    """A session that took place this morning: 200 candidates answered from a seeded model; the candidate in one
    seat copied 75 % of the answers of the one beside them. Returns (session id, {source, copier} person ids)."""
    from examserver.administration import operations as admin
    from examserver.administration.models import ExamSession, SeatAssignment
    from examserver.delivery import operations as delivery
    from examserver.delivery.demo import _actor, build_sitting
    from examserver.delivery.operations import LOCAL_OFFSET
    from itembank.core.db import utcnow
    from scoring import similarity as sim
    rng = np.random.default_rng(SEED)
    with db.write_scope() as s:
        sit = build_sitting(s, candidates=N, starts_in=-dt.timedelta(hours=3), rooms=1)
        se = s.get(ExamSession, sit.session_id)
        paper_id = _long_paper(s, sit)
        for form in se.form_labels:
            admin.set_form_paper(s, _actor(s, "agency"), se, form_label=form, paper_id=paper_id)
        seats = s.execute(select(SeatAssignment.room_id, SeatAssignment.seat_row, SeatAssignment.seat_col)
                          .where(SeatAssignment.session_id == se.id)
                          .order_by(SeatAssignment.room_id, SeatAssignment.seat_no)).all()
        where = {tuple(x): i for i, x in enumerate(seats)}  # seat -> index in ticket order
        src_seat = next(k for k in sorted(where) if (k[0], k[1], k[2] + 1) in where)
        source, copier = where[src_seat], where[(src_seat[0], src_seat[1], src_seat[2] + 1)]
        answers, key = sim.simulate(rng, N, M, 4)
        take = rng.random(M) < COPIED
        answers[copier, take] = answers[source, take]
        start = se.starts_at - LOCAL_OFFSET
        assert start < utcnow()
        people = {}
        for i, (ticket, idn) in enumerate(sit.tickets):
            t0 = start + dt.timedelta(minutes=1, seconds=i)
            device = f"sim-{i:03d}"
            a = delivery.candidate_sign_in(s, ticket_number=ticket, id_number=idn, access_code=sit.access_code,
                                           device_id=device, now=t0)
            delivery.start_attempt(s, a, now=t0)
            items = delivery.papers.get(s, a.paper_id)["key"]["items"]
            assert [it["answer"] for it in items] == ["ABCD"[j % 4] for j in range(M)]
            for j, it in enumerate(items):  # the simulation's key k_j is answer j % 4 after relabelling
                code = (answers[i, j] - key[j] + j) % 4  # keep "right" right and distractors distinct
                at = t0 + dt.timedelta(seconds=20 * (j + 1))
                delivery.save_change(s, attempt_id=a.id, device_id=device, item=it["paper_item_id"], seq=j + 1,
                                     response="ABCD"[code], client_at=at, now=at, via="http")
            s.expire(a)
            delivery.submit(s, None, a, reason="candidate", now=t0 + dt.timedelta(minutes=40))
            people[i] = a.person_id
        return se.id, {people[source], people[copier]}


def test_the_planted_copier_pair_and_no_other_is_flagged_from_stored_answers(client, db, sat):
    from examserver.violations import operations as ops
    from examserver.violations.models import ViolationFlag
    from itembank.core.audit import AuditRecord
    session_id, pair = sat
    url = f"/api/v1/violations/sessions/{session_id}/similarity-check"
    assert client.post(url, headers=api_token(client, "cand001"), json={}).status_code == 403
    r = client.post(url, headers=api_token(client, "chief"), json={})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert (out["candidates"], out["items"], out["pairs"]) == (N, M, N * (N - 1) // 2)
    assert out["neighbour_pairs"] > N and out["flagged_pairs"] == 1
    assert [{f["person_id"], f["other_person_id"]} for f in out["flags"]] == [pair]
    f = out["flags"][0]
    assert f["source"] == "similarity" and f["evidence"]["neighbours"] is True
    assert f["p_value"] < f["evidence"]["threshold"] and "答案雷同" in f["summary"]
    # run again: the pair is not flagged twice
    again = client.post(url, headers=api_token(client, "proctor"), json={"alpha": 0.001}).get_json()
    assert again["flagged_pairs"] == 1 and again["flags"] == []
    with db.read_scope() as s:
        assert s.scalar(select(ViolationFlag.id).where(ViolationFlag.session_id == session_id)) == f["id"]
        audits = s.scalars(select(AuditRecord).where(AuditRecord.action == "violation_flag.similarity_check")).all()
        assert [json.loads(a.changes)["source"] for a in audits] == ["stored answers"] * 2
        # what the screening read: every answer, relabelled consistently
        from examserver.administration.models import ExamSession
        responses, key, options = ops.stored_choices(s, s.get(ExamSession, session_id))
        assert len(responses) == N and len(key) == M and all(len(r) == M for r in responses.values())
        assert all(options[v] == ["A", "B", "C", "D"] for v in key)
    bad = client.post(url, headers=api_token(client, "chief"), json={"alpha": 2})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "alpha"
    assert client.post("/api/v1/violations/sessions/999999/similarity-check", headers=api_token(client, "chief"),
                       json={}).status_code == 404


def test_the_queue_page_runs_the_check_and_too_few_answers_are_a_clear_4xx(client, db, demo):
    from examserver.administration.models import ExamSession
    from examserver.delivery.models import Attempt
    with db.read_scope() as s:  # the demo's analysed sitting: 60 candidates, but only 8 choice items
        session_id = s.scalar(select(Attempt.session_id).where(Attempt.status == "submitted"))
        name = s.get(ExamSession, session_id).name
    r = client.post(f"/api/v1/violations/sessions/{session_id}/similarity-check", headers=api_token(client, "agency"),
                    json={})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "too_few_items"
    login(client, "chief")
    page = client.get("/violations/")
    assert page.status_code == 200 and "答案雷同检查" in page.get_data(as_text=True)
    assert name in page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    r = client.post(f"/violations/sessions/{session_id}/similarity", data={"csrf_token": token})
    assert r.status_code == 302
    assert "选择题少于 10 题" in client.get("/violations/").get_data(as_text=True)
