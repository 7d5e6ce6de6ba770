"""Marking over HTTP: set-up, signed marks (password), blind reads, adjudication queue, results, batch audit,
certification after approval, candidate's results; pages render for each audience."""
import re

import pytest
from sqlalchemy import select

from ...conftest import api_token, login  # noqa: TID252

pytestmark = pytest.mark.slow  # loads the demo data set

TASK = "轴类零件加工"
RUBRIC = {"criteria": [{"name": "外圆尺寸", "max_points": 60, "deductions": [{"rule": "每处超差", "points": 3}]},
                       {"name": "安全文明生产", "max_points": 40, "deductions": [{"rule": "未戴防护眼镜", "points": 5}]}],
          "time_minutes": 120}


@pytest.fixture
def w(client, db, demo):
    from examserver.administration.models import ConflictDeclaration, ExamSession
    from examserver.marking import operations as ops
    from itembank.core.people import Account
    with db.read_scope() as s:
        se = s.scalar(select(ExamSession).where(ExamSession.tasks.like(f"%{TASK}%")))
        recused = {c.candidate_person_id for c in s.scalars(select(ConflictDeclaration))}
        regs = [r for r in ops.candidates(s, se.plan) if r.person_id not in recused]
        acc = {a.username: a for a in s.scalars(select(Account))}
        out = dict(session_id=se.id, plan_id=se.plan_id, reg=regs[0].id, reg2=regs[1].id,
                   lead=acc["examiner"].id, person=regs[0].person_id,
                   cand=next(u for u, a in acc.items() if a.person_id == regs[0].person_id))
    out["tok"] = {u: api_token(client, u, role=r) for u, r in (("agency", None), ("examiner", "examiner"),
                                                                ("examiner2", None), ("examiner4", None),
                                                                ("examiner3", None), ("auditor", None))}
    return out


def _setup(client, w, threshold=10):
    r = client.put(f"/api/v1/marking/sessions/{w['session_id']}/tasks", headers=w["tok"]["agency"],
                   json={"task": TASK, "rubric": RUBRIC, "spread_threshold": threshold, "lead_account_id": w["lead"]})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["id"]


def _mark(client, w, tid, who, reg, n=0, password="skillcert-demo"):
    return client.post(f"/api/v1/marking/tasks/{tid}/marks", headers=w["tok"][who], json={
        "registration_id": reg, "password": password,
        "criteria": [{"deductions": [{"index": 0, "count": n}] if n else []}, {"deductions": []}]})


def test_marking_flow_over_the_api(client, w):
    tid = _setup(client, w, threshold=5)
    assert client.put(f"/api/v1/marking/sessions/{w['session_id']}/tasks", headers=w["tok"]["agency"],
                      json={"task": TASK}).status_code == 400
    r = _mark(client, w, tid, "examiner3", w["reg"])
    assert r.status_code == 403
    r = _mark(client, w, tid, "examiner", w["reg"], password="nope")
    assert r.status_code == 403 and r.get_json()["error"]["field"] == "password"
    r = client.post(f"/api/v1/marking/tasks/{tid}/marks", headers=w["tok"]["examiner"],
                    json={"registration_id": w["reg"], "password": "skillcert-demo", "criteria": [{"points": 99}, {}]})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "criteria[0].points"
    assert _mark(client, w, tid, "examiner", w["reg"], 0).status_code == 201
    assert _mark(client, w, tid, "examiner2", w["reg"], 1).status_code == 201
    seen = client.get(f"/api/v1/marking/tasks/{tid}/candidates/{w['reg']}/marks", headers=w["tok"]["examiner"])
    assert len(seen.get_json()["marks"]) == 1 and not seen.get_json()["panel_complete"]
    assert _mark(client, w, tid, "examiner4", w["reg"], 4).status_code == 201
    seen = client.get(f"/api/v1/marking/tasks/{tid}/candidates/{w['reg']}/marks", headers=w["tok"]["examiner"])
    assert len(seen.get_json()["marks"]) == 3 and seen.get_json()["outcome"]["status"] == "needs_adjudication"
    q = client.get("/api/v1/marking/adjudications", headers=w["tok"]["examiner"]).get_json()["queue"]
    assert [x["registration_id"] for x in q] == [w["reg"]]
    r = client.post(f"/api/v1/marking/tasks/{tid}/adjudications", headers=w["tok"]["examiner"],
                    json={"registration_id": w["reg"], "final_mark": 95, "reason": "复核工件尺寸"})
    assert r.status_code == 201, r.get_json()
    r = client.post(f"/api/v1/marking/plans/{w['plan_id']}/results/compute", headers=w["tok"]["agency"])
    assert r.status_code == 200
    res = client.get(f"/api/v1/marking/plans/{w['plan_id']}/results", headers=w["tok"]["agency"]).get_json()
    row = next(x for x in res["results"] if x["registration_id"] == w["reg"])
    assert row["subjects"]["practical"]["score"] == 95 and row["subjects"]["practical"]["source"] == "adjudication"
    assert not row["passed"]      # no theory score in the demo plan yet
    r = client.post(f"/api/v1/marking/plans/{w['plan_id']}/certificates", headers=w["tok"]["agency"],
                    json={"issue_date": "2026-12-30"})
    assert r.status_code == 409 and r.get_json()["error"]["field"] == "plan_id"
    stats = client.get(f"/api/v1/marking/plans/{w['plan_id']}/statistics", headers=w["tok"]["auditor"]).get_json()
    assert stats["panels"][0]["n_candidates"] == 1
    b = client.post(f"/api/v1/marking/plans/{w['plan_id']}/batches", headers=w["tok"]["agency"], json={})
    assert b.status_code == 201, b.get_json()
    bid = b.get_json()["id"]
    assert client.post(f"/api/v1/marking/batches/{bid}/decision", headers=w["tok"]["agency"],
                       json={"approve": True}).status_code == 403
    r = client.post(f"/api/v1/marking/batches/{bid}/decision", headers=w["tok"]["auditor"], json={"approve": True})
    assert r.status_code == 200 and r.get_json()["status"] == "approved"
    tok = api_token(client, w["cand"])
    mine = client.get("/api/v1/marking/my-results", headers=tok).get_json()["results"]
    assert mine[0]["subjects"]["practical"]["score"] == 95 and not mine[0]["passed"]


def test_pages_render_for_each_audience(client, w, app):
    tid = _setup(client, w)
    for who in ("examiner", "examiner2", "examiner4"):
        assert _mark(client, w, tid, who, w["reg"], 1).status_code == 201
    login(client, "examiner")
    assert client.get("/marking/").status_code == 200
    page = client.get(f"/marking/tasks/{tid}")
    assert page.status_code == 200 and TASK in page.get_data(as_text=True)
    page = client.get(f"/marking/tasks/{tid}/candidates/{w['reg2']}")
    assert page.status_code == 200 and 'name="password"' in page.get_data(as_text=True)
    assert 'data-testid="blind"' in page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    r = client.post(f"/marking/tasks/{tid}/candidates/{w['reg2']}", data={
        "csrf_token": token, "d_0_0": "2", "points_1": "", "password": "skillcert-demo", "comment": "平板评分"},
        follow_redirects=True)
    assert r.status_code == 200 and 'data-testid="my-mark"' in r.get_data(as_text=True)
    with app.extensions["skillcert.db"].read_scope() as s:
        from examserver.marking import operations as ops
        m = ops.current_marks(s, w["session_id"], TASK, w["reg2"])
        assert [(x.total, x.comment) for x in m] == [(94.0, "平板评分")]
    r = client.post(f"/marking/tasks/{tid}/candidates/{w['reg2']}", data={
        "csrf_token": token, "password": "wrong"}, follow_redirects=True)
    assert r.status_code == 200
    with app.extensions["skillcert.db"].read_scope() as s:
        assert len(ops.current_marks(s, w["session_id"], TASK, w["reg2"])) == 1
    assert client.get("/marking/adjudication").status_code == 200
    client.get("/logout")
    login(client, "agency")
    page = client.get(f"/marking/plans/{w['plan_id']}")
    assert page.status_code == 200 and 'data-testid="irr"' in page.get_data(as_text=True)
    client.get("/logout")
    login(client, "auditor")
    assert client.get("/marking/batches").status_code == 200
    client.get("/logout")
    login(client, w["cand"])
    assert client.get("/marking/my-results").status_code == 200
