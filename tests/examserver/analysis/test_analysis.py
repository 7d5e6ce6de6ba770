"""Item analysis and calibration of a delivered session, end to end through the API and pages (issue #8).

The done-when path: after the demo session, the item writer opens the analysis, sees flagged items in the
review queue, and the bank shows calibrated parameters.
"""
import io
import numpy as np
import pytest
from sqlalchemy import select

from examserver.analysis.demo import simulate_sitting
from examserver.analysis.models import ItemReviewFlag, ItemStatistic
from examserver.delivery.models import Attempt, AnswerChange
from itembank.core.audit import AuditRecord
from itembank.core.reference import Occupation
from tests.conftest import api_token, login

pytestmark = pytest.mark.slow  # each test simulates a 60-candidate sitting (~3 s)

@pytest.fixture
def sitting(demo, db):
    with db.write_scope() as s:
        return simulate_sitting(s, np.random.default_rng(7), candidates=60)


def _analyse(client, session_id, user="writer", h=None):
    h = h or api_token(client, user)
    r = client.post(f"/api/v1/analysis/sessions/{session_id}/analyse", headers=h, json={})
    assert r.status_code == 202, r.get_json()
    return h, r.get_json()


def test_the_sitting_is_simulated_through_delivery(sitting, db):
    with db.read_scope() as s:
        attempts = s.scalars(select(Attempt).where(Attempt.session_id == sitting)).all()
        assert len(attempts) == 60 and {a.status for a in attempts} == {"submitted"}
        assert all(a.score_detail and len(a.score_detail["items"]) == 10 for a in attempts)
        # answers went through the answer log, one change per item
        n_changes = s.query(AnswerChange).filter(AnswerChange.attempt_id.in_([a.id for a in attempts])).count()
        assert n_changes == 600
        assert len({a.paper_id for a in attempts}) == 2


def test_writer_analyses_sees_flags_in_review_queue_and_bank_shows_calibration(sitting, client, db):
    # the item writer opens the analysis and runs it
    h = api_token(client, "writer")
    login(client, "writer")
    page = client.get("/analysis/")
    assert page.status_code == 200 and b'data-testid="analyse-session"' in page.data
    assert "分析本场次" in page.data.decode()  # zh-CN is the default locale
    h, out = _analyse(client, sitting, h=h)
    assert len(out["run_ids"]) == 2 and out["status"] == ["done", "done"]
    report = client.get(f"/api/v1/analysis/runs/{out['run_ids'][0]}", headers=h).get_json()
    sm = report["summary"]
    assert sm["n_candidates"] > 20 and sm["n_items"] == 10
    assert 0 < sm["alpha"] < 1 and sm["sem"] > 0 and sum(sm["histogram"]["counts"]) == sm["n_candidates"]
    assert len(report["items"]) == 10
    single = next(i for i in report["items"] if i["item_type"] == "single")
    assert single["distractors"]["options"] and any(o["is_key"] for o in single["distractors"]["options"])
    html = client.get(f"/analysis/runs/{out['run_ids'][0]}")
    assert html.status_code == 200 and b"vendor/chart.umd.js" in html.data and b'data-testid="alpha"' in html.data

    # flagged items reach the review queue
    flags = client.get("/api/v1/analysis/flags", headers=h).get_json()["flags"]
    assert flags, "the simulated trap item should be flagged"
    queue = client.get("/itembank/review")
    assert queue.status_code == 200
    assert queue.data.count(b'data-testid="flagged-item"') == len(flags)
    assert flags[0]["code"].encode() in queue.data

    # calibration stores parameters in the bank
    with db.read_scope() as s:
        occ = s.scalar(select(Occupation).where(Occupation.code == "6-18-01-01"))
    r = client.post("/api/v1/analysis/calibrations", headers=h, json={"occupation_id": occ.id, "level": 4})
    assert r.status_code == 202, r.get_json()
    cal = client.get(f"/api/v1/analysis/runs/{r.get_json()['run_id']}", headers=h).get_json()
    assert cal["status"] == "done" and cal["summary"]["items"]
    one = cal["summary"]["items"][0]
    page = client.get(f"/analysis/runs/{cal['id']}")
    assert page.status_code == 200 and one["code"].encode() in page.data
    item = client.get(f"/api/v1/itembank/items/{one['item_id']}", headers=h).get_json()
    assert item["difficulty"]["a"] == pytest.approx(one["a"]) and item["difficulty"]["b"] == pytest.approx(one["b"])
    # …and the report now draws item characteristic curves and test information
    report = client.get(f"/api/v1/analysis/runs/{out['run_ids'][0]}", headers=h).get_json()
    assert report["curves"]["items"] and max(report["curves"]["information"]) > 0
    with db.read_scope() as s:
        actions = {a for (a,) in s.execute(select(AuditRecord.action))}
    assert {"item_analysis.run", "item_calibration.run", "item.calibrate"} <= actions


def test_rerun_is_idempotent_and_exports(sitting, client, db):
    h, first = _analyse(client, sitting)
    _, again = _analyse(client, sitting)
    assert first["run_ids"] == again["run_ids"]
    with db.read_scope() as s:
        mine = first["run_ids"]
        assert s.query(ItemStatistic).filter(ItemStatistic.run_id.in_(mine)).count() == 20
        flags = s.scalars(select(ItemReviewFlag).where(ItemReviewFlag.run_id.in_(mine))).all()
        assert flags and len(flags) == len({(f.run_id, f.item_id) for f in flags})
    rid = first["run_ids"][0]
    csv_text = client.get(f"/api/v1/analysis/runs/{rid}/export.csv", headers=h).data.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("position,item_id") and len(csv_text.splitlines()) == 11
    from openpyxl import load_workbook
    x = client.get(f"/api/v1/analysis/runs/{rid}/export.xlsx", headers=h)
    wb = load_workbook(io.BytesIO(x.data))
    assert wb["items"].max_row == 11 and wb["summary"]["A1"].value == "n_candidates"


def test_flag_resolution_and_bad_input(sitting, client):
    h, _ = _analyse(client, sitting)
    flags = client.get("/api/v1/analysis/flags", headers=h).get_json()["flags"]
    hr = api_token(client, "reviewer")
    r = client.post(f"/api/v1/analysis/flags/{flags[0]['id']}/resolve", headers=hr, json={"resolution": "键已核对，保留"})
    assert r.status_code == 200 and r.get_json()["status"] == "resolved"
    again = client.post(f"/api/v1/analysis/flags/{flags[0]['id']}/resolve", headers=hr, json={"resolution": "x"})
    assert again.status_code in (409, 422, 400) and again.get_json()["error"]["field"] == "status"
    assert client.post("/api/v1/analysis/sessions/999999/analyse", headers=h, json={}).status_code == 404
    bad = client.post("/api/v1/analysis/calibrations", headers=h, json={"occupation_id": 1, "level": 9})
    assert bad.status_code == 422 and "level" in bad.get_json()["error"]["field"]
    assert client.get("/api/v1/analysis/runs/999999", headers=h).status_code == 404
    hc = api_token(client, "cand001")
    assert client.get("/api/v1/analysis/flags", headers=hc).status_code == 403


def test_session_without_submissions_is_a_4xx(demo, client, db):
    from examserver.administration.models import ExamSession
    with db.read_scope() as s:
        sat = select(Attempt.session_id).where(Attempt.status == "submitted")
        sid = s.scalar(select(ExamSession.id).where(ExamSession.id.not_in(sat)).order_by(ExamSession.id.desc()))
    h = api_token(client, "writer")
    r = client.post(f"/api/v1/analysis/sessions/{sid}/analyse", headers=h, json={})
    assert 400 <= r.status_code < 500 and r.get_json()["error"]["field"] == "session_id"
