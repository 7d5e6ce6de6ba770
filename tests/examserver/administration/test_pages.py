"""Pages other than the agency walkthrough (which the browser test drives): the candidate registers and sees a
ban; the supervisor files a report; the centre keeps the calendar; errors come back as messages, not 500s."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from examserver.administration import operations as ops
from examserver.administration.models import ExamPlan, PublicHoliday, Registration, SupervisorReport
from itembank.core.audit import SYSTEM
from itembank.core.people import Person
from itembank.core.reference import Agency, Occupation, Site

from ...conftest import login  # noqa: TID252
from .test_operations import _seat_and_staff, make_plan


def _csrf(client, url) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)


def _open_plan(db, world) -> int:
    with db.write_scope() as s:
        plan = ops.create_plan(s, SYSTEM, agency=s.get(Agency, world.agency_id), site=s.get(Site, world.site_id),
                               occupation=s.get(Occupation, world.occupation_id), level=4,
                               first_day=ops.local_today() + dt.timedelta(days=30))
        return plan.id


def test_candidate_registers_in_the_browser_and_a_barred_one_sees_why(client, db, world):
    pid = _open_plan(db, world)
    assert login(client, "cand1", "skillcert-demo").status_code == 302
    page = client.get("/administration/my-exams").get_data(as_text=True)
    assert "可报名的考试" in page and f"/administration/my-exams/{pid}/register" in page
    token = _csrf(client, "/administration/my-exams")
    r = client.post(f"/administration/my-exams/{pid}/register", data={"csrf_token": token})
    assert r.status_code == 302
    with db.read_scope() as s:
        reg = s.scalar(select(Registration).where(Registration.plan_id == pid))
        assert reg.source == "self" and reg.person_id == world.candidates[0]
    page = client.get("/administration/my-exams").get_data(as_text=True)
    assert reg.ticket_number in page and f"/administration/tickets/{reg.id}.pdf" in page
    assert client.get(f"/administration/tickets/{reg.id}.pdf").mimetype == "application/pdf"

    with db.write_scope() as s:
        ops.record_ban(s, SYSTEM, person=s.get(Person, world.candidates[1]), reason="代考",
                       decision_ref="豫鉴违〔2026〕21号", article="指引第七条", starts_on=dt.date(2026, 1, 1),
                       ends_on=dt.date(2028, 12, 31))
    client.post("/logout", data={"csrf_token": token})
    login(client, "cand2", "skillcert-demo")
    page = client.get("/administration/my-exams").get_data(as_text=True)
    assert 'data-testid="ban-notice"' in page and "2028-12-31" in page and "豫鉴违〔2026〕21号" in page
    r = client.post(f"/administration/my-exams/{pid}/register", data={"csrf_token": _csrf(client, "/")},
                    follow_redirects=True)
    assert r.status_code == 200 and "禁考" in r.get_data(as_text=True)
    assert client.get(f"/administration/tickets/{reg.id}.pdf").status_code == 404  # someone else's ticket
    assert client.get("/administration/plans").status_code == 403


def test_supervisor_files_the_report_on_the_page(client, db, world):
    with db.write_scope() as s:
        plan = make_plan(s, world)
        agency = world.actor(s, "agency")
        ops.file_plan(s, agency, plan, today=world.today)
        ops.approve_plan(s, world.actor(s, "auditor"), plan)
        _seat_and_staff(s, world, plan)
        ops.start_plan(s, agency, plan)
        report = s.scalar(select(SupervisorReport).where(SupervisorReport.plan_id == plan.id))
        username = next(u for u, i in world.accounts.items() if i == report.account_id)
    login(client, username, "skillcert-demo")
    page = client.get("/administration/my-reports").get_data(as_text=True)
    assert plan.title in page and "提交督导报告" in page
    token = _csrf(client, "/administration/my-reports")
    r = client.post(f"/administration/my-reports/{report.id}", data={
        "csrf_token": token, "organisation": "规范", "eligibility": "无误", "papers_and_examiners": "A/B卷",
        "facilities": "正常", "validity": "valid"}, follow_redirects=True)
    assert "督导报告已提交" in r.get_data(as_text=True)
    with db.read_scope() as s:
        assert s.get(SupervisorReport, report.id).submitted_at is not None


def test_centre_keeps_the_calendar_and_agency_errors_are_messages(client, db, world):
    login(client, "auditor", "skillcert-demo")
    token = _csrf(client, "/administration/calendar")
    client.post("/administration/calendar", data={"csrf_token": token, "day": "2027-01-01", "name": "元旦"})
    r = client.post("/administration/calendar", data={"csrf_token": token, "day": "2027-01-06", "name": "x",
                                                      "working": "1"}, follow_redirects=True)
    assert "调休上班日须为周末" in r.get_data(as_text=True)
    r = client.post("/administration/calendar", data={"csrf_token": token, "day": "not-a-date", "name": "x"},
                    follow_redirects=True)
    assert r.status_code == 200 and "YYYY-MM-DD" in r.get_data(as_text=True)
    with db.read_scope() as s:
        assert [h.name for h in s.scalars(select(PublicHoliday))] == ["元旦"]
    client.post("/logout", data={"csrf_token": token})

    login(client, "agency", "skillcert-demo")
    token = _csrf(client, "/administration/plans")
    assert "车工" in client.get("/administration/plans").get_data(as_text=True)
    r = client.post("/administration/plans", data={"csrf_token": token, "scope_id": "999", "site_id": "1",
                                                   "first_day": "2027-01-10"}, follow_redirects=True)
    assert r.status_code == 200 and "备案范围" in r.get_data(as_text=True)
    pid = _open_plan(db, world)
    r = client.post(f"/administration/plans/{pid}/sessions", data={
        "csrf_token": token, "subject": "theory", "day": "2027-01-10", "starts": "9", "ends": "10:00"},
        follow_redirects=True)
    assert r.status_code == 200 and "HH:MM" in r.get_data(as_text=True)
    r = client.post(f"/administration/plans/{pid}/actions/file", data={"csrf_token": token}, follow_redirects=True)
    assert "请先安排场次" in r.get_data(as_text=True)
    with db.read_scope() as s:
        assert s.get(ExamPlan, pid).status == "draft"
    for url in ("", "/roster", "/seating", "/staff"):
        assert client.get(f"/administration/plans/{pid}{url}").status_code == 200
    assert client.get("/administration/reports?year=2026&quarter=4").status_code == 200
