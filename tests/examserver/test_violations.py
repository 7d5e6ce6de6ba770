"""Violation cases end to end over the API (指引 art. 5–20) on the demo data."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ..conftest import api_token  # noqa: TID252

pytestmark = pytest.mark.slow  # each test loads the demo data set


@pytest.fixture
def world(app, db, demo, client):
    from examserver.administration.models import ExamPlan, ExamSession, SeatAssignment
    from itembank.core.people import Account
    with db.read_scope() as s:
        plan = s.scalars(select(ExamPlan)).first()
        theory = next(se for se in s.scalars(select(ExamSession).where(ExamSession.plan_id == plan.id))
                      if se.subject.subject == "theory")
        seat = s.scalars(select(SeatAssignment).where(SeatAssignment.session_id == theory.id)).first()
        person_of = {a.username: a.person_id for a in s.scalars(select(Account))}
        w = dict(plan_id=plan.id, session_id=theory.id, occupation_id=plan.occupation_id, room_id=seat.room_id,
                 start=theory.starts_at, person_of=person_of, agency_id=plan.agency_id)
    w["tok"] = {u: api_token(client, u) for u in ("proctor", "proctor2", "proctor3", "chief", "agency", "cand001",
                                                 "cand002", "auditor")}
    return w


def _open(client, w, category, *, who="cand001", found_after=False, facts="考生在理论考试中使用手机拍摄试题，经提醒仍继续。"):
    r = client.post("/api/v1/violations/cases", headers=w["tok"]["proctor"], json={
        "party": "candidate", "category": category, "facts": facts,
        "occurred_at": (w["start"] + dt.timedelta(minutes=35)).isoformat(), "person_id": w["person_of"][who],
        "plan_id": w["plan_id"], "session_id": w["session_id"], "room_id": w["room_id"], "found_after": found_after})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _through_confirmation(client, w, case):
    cid = case["id"]
    r = client.post(f"/api/v1/violations/cases/{cid}/cosign", headers=w["tok"]["proctor2"], json={"note": "属实"})
    assert r.status_code == 200 and r.get_json()["status"] == "signed", r.get_json()
    r = client.post(f"/api/v1/violations/cases/{cid}/confirm", headers=w["tok"]["chief"], json={})
    assert r.status_code == 200 and r.get_json()["status"] == "confirmed", r.get_json()


def _notify_and_decide(client, w, cid, article, clause, severity=None, statement=True):
    r = client.post(f"/api/v1/violations/cases/{cid}/notify", headers=w["tok"]["agency"], json={
        "article": article, "clause": clause, "severity": severity, "reasons": "监控录像与两名监考人员记录一致。"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["document"]["kind"] == "notice"
    if statement:
        r = client.post(f"/api/v1/violations/cases/{cid}/statement", headers=w["tok"]["cand001"],
                        json={"text": "我当时只是查看时间，没有拍摄试题。"})
        assert r.status_code == 201, r.get_json()
    else:
        assert client.post(f"/api/v1/violations/cases/{cid}/waive", headers=w["tok"]["cand001"]).status_code == 200
    r = client.post(f"/api/v1/violations/cases/{cid}/decide", headers=w["tok"]["agency"],
                    json={"outcome": "violation", "reasons": "陈述申辩不足以推翻监考记录。"})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_art5_cancels_that_subject_only(client, db, world):
    from examserver.violations import operations as ops
    case = _open(client, world, "left_seat", facts="考生未经允许离开座位，经提醒拒不回座。")
    assert case["proposed"]["citation"] == "第五条第（二）项" and case["subject"] == "theory"
    _through_confirmation(client, world, case)
    out = _notify_and_decide(client, world, case["id"], 5, 2)
    assert out["status"] == "decided" and out["outcome"] == "violation"
    with db.read_scope() as s:
        assert ops.cancelled_subjects(s, world["person_of"]["cand001"], world["plan_id"]) == {"theory"}
        assert ops.result_cancelled(s, world["person_of"]["cand001"], world["plan_id"], "theory")
        assert not ops.result_cancelled(s, world["person_of"]["cand001"], world["plan_id"], "practical")
        from examserver.administration.operations import active_bans
        assert active_bans(s, world["person_of"]["cand001"], world["start"].date()) == []


def test_art6_cancels_all_and_bars_registration_until_year_end(client, db, world, make):
    from examserver.administration import operations as adm
    from examserver.administration.models import ExamPlan
    from examserver.violations import operations as ops
    from itembank.core.audit import SYSTEM
    from itembank.core.errors import Forbidden
    from itembank.core.people import Person
    case = _open(client, world, "device")
    _through_confirmation(client, world, case)
    out = _notify_and_decide(client, world, case["id"], 6, 1, statement=False)
    year_end = dt.date(world["start"].year, 12, 31)
    assert out["documents"][-1]["consequences"]["ban_ends"] == year_end.isoformat()
    pid = world["person_of"]["cand001"]
    with db.read_scope() as s:
        assert ops.cancelled_subjects(s, pid, world["plan_id"]) == {"*"}
        bans = adm.active_bans(s, pid, world["start"].date())
        assert len(bans) == 1 and bans[0].ends_on == year_end and bans[0].source_case_id == case["id"]
        assert adm.active_bans(s, pid, year_end + dt.timedelta(days=1)) == []
    with db.write_scope() as s:  # a second plan of the same year refuses the barred candidate
        plan = s.get(ExamPlan, world["plan_id"])
        other = adm.create_plan(s, SYSTEM, agency=plan.agency, site=plan.site, occupation=plan.occupation, level=3,
                                first_day=plan.first_day + dt.timedelta(days=7), last_day=plan.first_day + dt.timedelta(days=7))
        with pytest.raises(Forbidden) as e:
            adm.register(s, SYSTEM, other, s.get(Person, pid), source="agency", today=plan.first_day)
        assert e.value.code == "banned"


def test_art7_serious_bars_five_years(client, db, world):
    from examserver.administration import operations as adm
    case = _open(client, world, "impersonation", facts="替考：入场人员与身份证照片不符，经核实为他人代考。")
    _through_confirmation(client, world, case)
    # art. 7 needs the severity
    r = client.post(f"/api/v1/violations/cases/{case['id']}/notify", headers=world["tok"]["agency"],
                    json={"article": 7, "clause": 4, "reasons": "身份核验不符。"})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "severity"
    _notify_and_decide(client, world, case["id"], 7, 4, severity="serious")
    with db.read_scope() as s:
        ban = adm.active_bans(s, world["person_of"]["cand001"], world["start"].date())[0]
        assert ban.ends_on == world["start"].date().replace(year=world["start"].year + 5) - dt.timedelta(days=1)


def test_art8_after_the_fact_revokes_the_certificate_visibly(client, db, world):
    from examserver.certification import keys
    from itembank.core.audit import SYSTEM
    from itembank.core.people import Person
    from itembank.core.reference import Agency, Occupation
    from scoring.certification import issue_certificate
    pid = world["person_of"]["cand001"]
    with db.write_scope() as s:
        agency = s.get(Agency, world["agency_id"])
        cert = issue_certificate(s, SYSTEM, issuer=keys.issuer(), person=s.get(Person, pid),
                                 occupation=s.get(Occupation, world["occupation_id"]), work_type=None, level=4,
                                 site=agency.sites[0], issue_date=world["start"].date() + dt.timedelta(days=20),
                                 source_plan_id=world["plan_id"], source_result_id=1, render_pdf=False)
        number = cert.number
    case = _open(client, world, "copying", found_after=True, facts="事后比对答卷发现与邻座答案高度雷同并经本人承认。")
    _through_confirmation(client, world, case)
    out = _notify_and_decide(client, world, case["id"], 6, 2)
    assert out["documents"][-1]["consequences"]["revoke_certificates"] is True
    public = client.get(f"/verify/{number}")
    assert public.status_code == 200 and "撤销" in public.get_data(as_text=True)


def test_two_signatures_and_the_room_chief_are_required(client, world):
    case = _open(client, world, "device")
    cid = case["id"]
    r = client.post(f"/api/v1/violations/cases/{cid}/confirm", headers=world["tok"]["chief"], json={})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "needs_two_signatures"
    r = client.post(f"/api/v1/violations/cases/{cid}/cosign", headers=world["tok"]["proctor"], json={})
    assert r.get_json()["error"]["code"] == "already_signed"
    client.post(f"/api/v1/violations/cases/{cid}/cosign", headers=world["tok"]["proctor2"], json={})
    r = client.post(f"/api/v1/violations/cases/{cid}/confirm", headers=world["tok"]["proctor3"], json={})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_confirmer"
    r = client.post(f"/api/v1/violations/cases/{cid}/notify", headers=world["tok"]["agency"],
                    json={"article": 6, "clause": 1, "reasons": "x" * 5})
    assert r.status_code == 409 and "confirm" in r.get_json()["error"]["message"]


def test_no_decision_before_the_notice_and_the_window(client, world):
    case = _open(client, world, "device")
    _through_confirmation(client, world, case)
    cid = case["id"]
    r = client.post(f"/api/v1/violations/cases/{cid}/decide", headers=world["tok"]["agency"],
                    json={"outcome": "violation", "reasons": "直接决定"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "notice_first"
    client.post(f"/api/v1/violations/cases/{cid}/notify", headers=world["tok"]["agency"],
                json={"article": 6, "clause": 1, "reasons": "监控录像显示。"})
    r = client.post(f"/api/v1/violations/cases/{cid}/decide", headers=world["tok"]["agency"],
                    json={"outcome": "violation", "reasons": "不等陈述"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "statement_window_open"


def test_review_revoked_lifts_the_ban_and_cancellation(client, db, world):
    from examserver.administration import operations as adm
    from examserver.violations import operations as ops
    case = _open(client, world, "device")
    _through_confirmation(client, world, case)
    _notify_and_decide(client, world, case["id"], 6, 1)
    cid = case["id"]
    r = client.post(f"/api/v1/violations/cases/{cid}/review-request", headers=world["tok"]["cand002"],
                    json={"text": "不是我的案件"})
    assert r.status_code == 404  # another candidate cannot even see it
    r = client.post(f"/api/v1/violations/cases/{cid}/review-request", headers=world["tok"]["cand001"],
                    json={"text": "手机为监考人员允许保管的物品，我未使用。"})
    assert r.status_code == 201 and r.get_json()["status"] == "review_requested"
    r = client.post(f"/api/v1/violations/cases/{cid}/review", headers=world["tok"]["agency"],
                    json={"outcome": "revoked", "reasons": "复查录像，手机处于关机状态。"})
    assert r.status_code == 200 and r.get_json()["status"] == "reviewed"
    assert [d["kind"] for d in r.get_json()["documents"]] == ["notice", "decision", "review"]
    pid = world["person_of"]["cand001"]
    with db.read_scope() as s:
        assert ops.cancelled_subjects(s, pid, world["plan_id"]) == set()
        assert adm.active_bans(s, pid, dt.date(world["start"].year, 12, 30)) == []


def test_a_candidate_sees_only_their_own_cases_and_gets_the_pdf(client, world):
    case = _open(client, world, "device")
    _through_confirmation(client, world, case)
    client.post(f"/api/v1/violations/cases/{case['id']}/notify", headers=world["tok"]["agency"],
                json={"article": 6, "clause": 1, "reasons": "监控录像显示。"})
    mine = client.get("/api/v1/violations/cases", headers=world["tok"]["cand001"]).get_json()["cases"]
    assert [c["id"] for c in mine] == [case["id"]]
    assert client.get("/api/v1/violations/cases", headers=world["tok"]["cand002"]).get_json()["cases"] == []
    assert client.get(f"/api/v1/violations/cases/{case['id']}", headers=world["tok"]["cand002"]).status_code == 404
    full = client.get(f"/api/v1/violations/cases/{case['id']}", headers=world["tok"]["cand001"]).get_json()
    assert "evidence" not in full  # staff-only
    doc = full["documents"][0]
    pdf = client.get(f"/api/v1/violations/cases/{case['id']}/documents/{doc['id']}.pdf", headers=world["tok"]["cand001"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    again = client.get(f"/api/v1/violations/cases/{case['id']}", headers=world["tok"]["cand001"]).get_json()
    assert again["documents"][0]["read_at"] is not None
    r = client.post(f"/api/v1/violations/cases/{case['id']}/statement", headers=world["tok"]["cand002"],
                    json={"text": "冒充他人陈述"})
    assert r.status_code == 404


def test_staff_violation_bars_assignments_for_the_year(client, db, world):
    from examserver.violations import operations as ops
    pid = world["person_of"]["proctor3"]
    r = client.post("/api/v1/violations/cases", headers=world["tok"]["chief"], json={
        "party": "staff", "category": "room_disorder", "facts": "监考人员发现考生作弊未及时制止也未上报。",
        "occurred_at": world["start"].isoformat(), "person_id": pid, "plan_id": world["plan_id"]})
    assert r.status_code == 201, r.get_json()
    cid = r.get_json()["id"]
    assert client.post(f"/api/v1/violations/cases/{cid}/cosign", headers=world["tok"]["proctor3"],
                       json={}).get_json()["error"]["code"] == "own_case"
    client.post(f"/api/v1/violations/cases/{cid}/cosign", headers=world["tok"]["proctor"], json={})
    r = client.post(f"/api/v1/violations/cases/{cid}/confirm", headers=world["tok"]["agency"], json={})
    assert r.status_code == 200, r.get_json()
    client.post(f"/api/v1/violations/cases/{cid}/notify", headers=world["tok"]["agency"],
                json={"article": 9, "clause": 3, "reasons": "未履行监考职责。"})
    proctor3 = api_token(client, "proctor3")
    assert client.post(f"/api/v1/violations/cases/{cid}/waive", headers=proctor3).status_code == 200
    r = client.post(f"/api/v1/violations/cases/{cid}/decide", headers=world["tok"]["agency"],
                    json={"outcome": "violation", "reasons": "事实清楚。"})
    assert r.status_code == 200, r.get_json()
    with db.read_scope() as s:
        rows = ops.staff_ineligible(s, pid, world["start"].date())
        assert len(rows) == 1 and rows[0].ends_on == dt.date(world["start"].year, 12, 31)


def test_agency_violation_goes_to_the_centre_auditor(client, world):
    r = client.post("/api/v1/violations/cases", headers=world["tok"]["auditor"], json={
        "party": "agency", "category": "agency_out_of_scope", "agency_id": world["agency_id"],
        "facts": "该机构超出备案范围开展焊工评价。", "occurred_at": world["start"].isoformat()})
    assert r.status_code == 201, r.get_json()
    cid = r.get_json()["id"]
    sup = api_token(client, "supervisor")
    assert client.post(f"/api/v1/violations/cases/{cid}/cosign", headers=sup, json={}).status_code == 200
    sup2 = api_token(client, "supervisor2")
    assert client.post(f"/api/v1/violations/cases/{cid}/cosign", headers=sup2, json={}).status_code == 200
    r = client.post(f"/api/v1/violations/cases/{cid}/confirm", headers=world["tok"]["agency"], json={})
    assert r.status_code == 403  # the agency cannot confirm a case about itself: the centre does
    r = client.post(f"/api/v1/violations/cases/{cid}/confirm", headers=world["tok"]["auditor"], json={})
    assert r.status_code == 200, r.get_json()
    r = client.post(f"/api/v1/violations/cases/{cid}/notify", headers=world["tok"]["auditor"],
                    json={"article": 14, "clause": 2, "reasons": "超出备案范围组织焊工评价32人。"})
    assert r.status_code == 200, r.get_json()
    assert client.post(f"/api/v1/violations/cases/{cid}/waive", headers=world["tok"]["agency"]).status_code == 200
    r = client.post(f"/api/v1/violations/cases/{cid}/decide", headers=world["tok"]["auditor"],
                    json={"outcome": "violation", "reasons": "事实清楚，证据确凿。"})
    assert r.status_code == 200 and r.get_json()["documents"][-1]["consequences"]["agency_measures"] == ["terminate_filing"]
    stats = client.get("/api/v1/violations/statistics?year=%d&quarter=%d" % (
        dt.date.today().year, (dt.date.today().month - 1) // 3 + 1), headers=world["tok"]["auditor"]).get_json()
    assert stats["found"] >= 1 and stats["by_party"]["agency"] == 1


def test_similarity_check_flags_a_neighbour_pair_and_a_case_opens_from_the_flag(client, db, world):
    import numpy as np

    from examserver.administration.models import SeatAssignment
    from scoring import similarity as sim
    with db.read_scope() as s:
        seats = s.scalars(select(SeatAssignment).where(SeatAssignment.session_id == world["session_id"])).all()
        where = {(x.room_id, x.seat_row, x.seat_col): x.registration.person_id for x in seats}
    people = sorted(where.values())
    rng = np.random.default_rng(7)
    ans, key = sim.simulate(rng, len(people), 80, 4)
    room, r, c = next(k for k in sorted(where) if (k[0], k[1], k[2] + 1) in where)
    source, copier = where[(room, r, c)], where[(room, r, c + 1)]
    i_src, i_cop = people.index(source), people.index(copier)
    ans[i_cop, :68] = ans[i_src, :68]
    labels = "ABCD"
    responses = {str(pid): {f"q{j}": labels[ans[i, j]] for j in range(80)} for i, pid in enumerate(people)}
    body = {"responses": responses, "key": {f"q{j}": labels[key[j]] for j in range(80)},
            "options": {f"q{j}": list(labels) for j in range(80)}}
    r = client.post(f"/api/v1/violations/sessions/{world['session_id']}/similarity", headers=world["tok"]["chief"],
                    json=body)
    assert r.status_code == 200, r.get_json()
    flags = r.get_json()["flags"]
    assert [{f["person_id"], f["other_person_id"]} for f in flags] == [{source, copier}]
    assert client.post(f"/api/v1/violations/sessions/{world['session_id']}/similarity", headers=world["tok"]["cand001"],
                       json=body).status_code == 403
    listed = client.get("/api/v1/violations/flags", headers=world["tok"]["proctor"]).get_json()["flags"]
    assert [f["id"] for f in listed] == [flags[0]["id"]]
    r = client.post("/api/v1/violations/cases", headers=world["tok"]["proctor"], json={
        "party": "candidate", "category": "copying", "facts": "答案雷同检查提示与邻座答案高度一致，调取录像核实。",
        "occurred_at": world["start"].isoformat(), "person_id": copier, "plan_id": world["plan_id"],
        "session_id": world["session_id"], "flag_id": flags[0]["id"]})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["evidence"][0]["kind"] == "flag"
    assert client.get("/api/v1/violations/flags", headers=world["tok"]["proctor"]).get_json()["flags"] == []


def test_behaviour_rules_are_set_per_plan(client, world):
    url = f"/api/v1/violations/plans/{world['plan_id']}/behaviour-rules"
    default = client.get(url, headers=world["tok"]["proctor"]).get_json()
    assert default["rules"]["focus_lost"]["grace_ms"] == 200
    r = client.put(url, headers=world["tok"]["agency"], json={"rules": {"focus_lost": {"flag_at": 2, "grace_ms": 300}}})
    assert r.status_code == 200 and r.get_json()["rules"]["focus_lost"]["flag_at"] == 2
    assert client.get(url, headers=world["tok"]["proctor"]).get_json()["rules"]["focus_lost"]["grace_ms"] == 300
    bad = client.put(url, headers=world["tok"]["agency"], json={"rules": {"telepathy": {}}})
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "rules"
    assert client.put(url, headers=world["tok"]["proctor"], json={}).status_code == 403
