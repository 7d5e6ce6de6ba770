"""Certificates over HTTP: public verification (rate-limited, masked), holders' downloads, staff actions, batches."""
from __future__ import annotations

import copy
import csv
import io

import pytest
from sqlalchemy import func, select

from itembank.core.audit import AuditRecord
from itembank.core.people import Account, Person
from scoring.certificates import CertificateSignatureError, verify
from scoring.certificates.signing import CERTIFICATE_FIELDS
from scoring.certification import Certificate

from ...conftest import api_token, login  # noqa: TID252


@pytest.fixture
def certs(db, demo):
    """The demo certificates by holder username: cand001 (valid), cand002 (valid), cand003 (revoked), and cand020's
    special-ability certificate (valid)."""
    with db.read_scope() as s:
        rows = s.execute(select(Account.username, Certificate).join(Person, Person.id == Certificate.person_id)
                         .join(Account, Account.person_id == Person.id)).all()
        return {u: c for u, c in rows}


def _approved_plan(db, usernames) -> int:
    """A demo plan whose results the centre approved, passing ``usernames`` (the issuing gate's precondition)."""
    from examserver.administration.models import ExamPlan
    from scoring.marking_models import ResultsBatch
    with db.write_scope() as s:
        plan_id = s.scalar(select(ExamPlan.id).order_by(ExamPlan.id))
        people = s.execute(select(Account.person_id).where(Account.username.in_(usernames))).scalars().all()
        s.add(ResultsBatch(plan_id=plan_id, status="approved", digest="0" * 64,
                           snapshot={str(pid): {"passed": True, "ticket_number": str(pid)} for pid in people}))
    return plan_id


def test_nothing_is_certified_before_the_centre_approves(client, db, certs):
    with db.read_scope() as s:
        person_id = s.scalar(select(Account.person_id).where(Account.username == "cand011"))
        site_id = certs["cand001"].site_id
    body = {"person_id": person_id, "occupation_code": "6-18-01-01", "level": 4, "site_id": site_id,
            "issue_date": "2026-07-01", "plan_id": 1, "result_id": 1}
    r = client.post("/api/v1/certificates", json=body, headers=api_token(client, "agency"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_audited"
    plan_id = _approved_plan(db, ["cand012"])  # approved, but cand011 is not among those who passed
    r = client.post("/api/v1/certificates", json={**body, "plan_id": plan_id},
                    headers=api_token(client, "agency"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_passed"


def _csrf(client, path="/"):
    import re
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


# --- public verification ---------------------------------------------------------------------------------

def test_public_verification_shows_the_certificate_with_the_id_masked(client, certs):
    c = certs["cand001"]
    r = client.get(f"/api/v1/certificates/{c.number}/verify")
    body = r.get_json()
    assert r.status_code == 200, body
    full_id = c.data["id_number"]
    assert body["certificate_number"] == c.number and body["name"] == c.data["name"]
    assert body["id_number_masked"] == full_id[:6] + "********" + full_id[-4:]
    assert body["status"] == "valid" and body["revoked_on"] is None and body["signature_valid"] is True
    assert body["level_name"] == "五级/初级工" and body["work_type"] == "——"
    assert full_id not in r.get_data(as_text=True)
    page = client.get(f"/verify/{c.number}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and full_id not in html and body["id_number_masked"] in html
    assert 'data-status="valid"' in html


def test_revocation_shows_at_public_verification(client, certs):
    c = certs["cand003"]
    body = client.get(f"/api/v1/certificates/{c.number}/verify").get_json()
    assert body["status"] == "revoked" and body["revoked_on"] == "2026-09-15" and body["status_name"] == "已撤销"
    assert "revoke_reason" not in body  # the reason is not public
    html = client.get(f"/verify/{c.number}").get_data(as_text=True)
    assert 'data-status="revoked"' in html and "2026-09-15" in html


def test_bad_and_unknown_numbers(client, certs):
    number = certs["cand001"].number
    r = client.get(f"/api/v1/certificates/{number[:-2]}/verify")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "number"
    r = client.get("/api/v1/certificates/张三/verify")  # no search by name
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "number"
    r = client.get(f"/api/v1/certificates/{number[:-1]}9/verify")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert client.get(f"/verify/{number[:-1]}9").status_code == 404
    # the QR form (?no=) of scoring.certificates.verification_url lands on the same page
    r = client.get(f"/verify?no={number[:7]}%20{number[7:]}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/verify/{number}")


def test_no_public_listing(client, certs):
    assert client.get("/api/v1/certificates").status_code == 401
    assert client.get("/api/v1/certificates?number=" + certs["cand001"].number).status_code == 401
    assert client.get(f"/api/v1/certificates/{certs['cand001'].id}").status_code == 401
    cand = api_token(client, "cand001")
    assert client.get("/api/v1/certificates", headers=cand).status_code == 403


def test_public_verification_is_rate_limited(app, client, certs):
    app.config["CERT_VERIFY_RATE_LIMIT"] = "3 per minute"
    n = certs["cand001"].number
    codes = [client.get(f"/api/v1/certificates/{n}/verify").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get(f"/api/v1/certificates/{n}/verify").get_json()["error"]["code"] == "rate_limited"
    pages = [client.get(f"/verify/{n}").status_code for _ in range(4)]
    assert pages == [200, 200, 200, 429]


def test_public_key_is_published_and_checks_the_envelope(client, certs):
    pem = client.get("/verify/public-key.pem")
    assert pem.status_code == 200 and pem.data.startswith(b"-----BEGIN PUBLIC KEY-----")
    h = api_token(client, "cand001")
    env = client.get(f"/api/v1/certificates/{certs['cand001'].id}/envelope", headers=h).get_json()
    assert verify(env, pem.data).certificate_number == certs["cand001"].number


@pytest.mark.parametrize("field", CERTIFICATE_FIELDS)
def test_any_altered_field_of_the_downloaded_envelope_fails(client, certs, field):
    pem = client.get("/verify/public-key.pem").data
    h = api_token(client, "cand002")
    env = client.get(f"/api/v1/certificates/{certs['cand002'].id}/envelope", headers=h).get_json()
    bad = copy.deepcopy(env)
    value = bad["certificate"][field]
    bad["certificate"][field] = (value + 1 if value < 5 else value - 1) if isinstance(value, int) else (
        "0" * 64 if value is None else value[:-1] + ("X" if value[-1] != "X" else "Y"))
    with pytest.raises(CertificateSignatureError):
        verify(bad, pem)


def test_a_tampered_stored_envelope_shows_at_verification(client, db, certs):
    c = certs["cand001"]
    with db.write_scope() as s:
        row = s.get(Certificate, c.id)
        row.envelope = {**row.envelope, "certificate": {**row.envelope["certificate"], "level": 1}}
    body = client.get(f"/api/v1/certificates/{c.number}/verify").get_json()
    assert body["signature_valid"] is False and body["signature_problem"]
    assert 'data-signature="invalid"' in client.get(f"/verify/{c.number}").get_data(as_text=True)


# --- the holder ---------------------------------------------------------------------------------------------

def test_a_candidate_sees_only_their_own_certificates(client, certs):
    h = api_token(client, "cand001")
    mine = client.get("/api/v1/certificates/mine", headers=h).get_json()
    assert [c["number"] for c in mine["certificates"]] == [certs["cand001"].number]
    own = certs["cand001"].id
    r = client.get(f"/api/v1/certificates/{own}/pdf", headers=h)
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    for other in (certs["cand002"].id, certs["cand003"].id):
        for suffix in ("", "/envelope", "/pdf"):
            r = client.get(f"/api/v1/certificates/{other}{suffix}", headers=h)
            assert r.status_code == 404, (other, suffix)
    h4 = api_token(client, "cand004")  # a candidate with no certificate
    assert client.get("/api/v1/certificates/mine", headers=h4).get_json()["total"] == 0
    assert client.get(f"/api/v1/certificates/{own}", headers=h4).status_code == 404


def test_candidate_pages_show_and_download_only_their_own(client, certs):
    login(client, "cand002")
    html = client.get("/certificates/mine").get_data(as_text=True)
    assert certs["cand002"].number in html and certs["cand001"].number not in html
    own = certs["cand002"].id
    assert client.get(f"/certificates/{own}/certificate.pdf").data.startswith(b"%PDF")
    env = client.get(f"/certificates/{own}/certificate.json").get_json()
    assert env["certificate"]["work_type"] == "数控车床"
    for path in (f"/certificates/{certs['cand001'].id}/certificate.pdf",
                 f"/certificates/{certs['cand001'].id}/certificate.json"):
        assert client.get(path).status_code == 404
    assert client.get("/certificates/manage").status_code == 403


# --- staff ------------------------------------------------------------------------------------------------

def test_agency_issues_within_scope_only(client, db, certs):
    h = api_token(client, "agency")
    with db.read_scope() as s:
        person_id = s.scalar(select(Account.person_id).where(Account.username == "cand010"))
        site_id = certs["cand001"].site_id
    plan_id = _approved_plan(db, ["cand010"])
    body = {"person_id": person_id, "occupation_code": "6-18-01-01", "level": 3, "site_id": site_id,
            "issue_date": "2026-07-01", "plan_id": plan_id, "result_id": 1}
    r = client.post("/api/v1/certificates", json=body, headers=h)
    assert r.status_code == 201, r.get_json()
    out = r.get_json()
    assert out["number"].startswith("S000041010001263") and out["has_pdf"] and out["status"] == "valid"
    again = client.post("/api/v1/certificates", json=body, headers=h).get_json()
    assert again["id"] == out["id"]  # same plan and result: same certificate
    r = client.post("/api/v1/certificates", json={**body, "level": 1, "result_id": 2}, headers=h)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "level"
    r = client.post("/api/v1/certificates", json={**body, "level": 9}, headers=h)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "level"
    r = client.post("/api/v1/certificates", json={**body, "issue_date": "2099-01-01", "result_id": 3}, headers=h)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "issue_date"
    assert client.post("/api/v1/certificates", json=body, headers=api_token(client, "proctor")).status_code == 403
    with db.read_scope() as s:
        issued = s.scalar(select(func.count(AuditRecord.id)).where(AuditRecord.action == "certificate.issue"))
        assert issued == len(certs) + 1  # the demo's certificates and this one


def test_revoke_needs_a_reason_and_the_right_role(client, db, certs):
    c = certs["cand001"]
    agency = api_token(client, "agency")
    r = client.post(f"/api/v1/certificates/{c.id}/revoke", json={"on": "2026-10-01"}, headers=agency)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "reason"
    r = client.post(f"/api/v1/certificates/{c.id}/revoke", json={"reason": "x", "on": "2026-10-01"},
                    headers=api_token(client, "proctor"))
    assert r.status_code == 403
    r = client.post(f"/api/v1/certificates/{c.id}/revoke", json={"reason": "事后发现替考", "on": "2026-01-01"},
                    headers=agency)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "on"
    r = client.post(f"/api/v1/certificates/{c.id}/revoke", json={"reason": "事后发现替考", "on": "2026-10-01"},
                    headers=api_token(client, "auditor"))
    assert r.status_code == 200 and r.get_json()["status"] == "revoked"
    r = client.post(f"/api/v1/certificates/{c.id}/revoke", json={"reason": "again", "on": "2026-10-02"},
                    headers=agency)
    assert r.status_code == 409
    assert client.get(f"/api/v1/certificates/{c.number}/verify").get_json()["revoked_on"] == "2026-10-01"
    with db.read_scope() as s:
        rec = s.scalar(select(AuditRecord).where(AuditRecord.action == "certificate.revoke",
                                                 AuditRecord.object_id == str(c.id)))
        assert rec.role == "center_auditor" and "事后发现替考" in rec.changes


def test_revoke_from_the_staff_page(client, db, certs):
    c = certs["cand002"]
    login(client, "agency")
    html = client.get("/certificates/manage").get_data(as_text=True)
    assert c.number in html and c.data["id_number"] not in html and "revoke-form" in html
    token = _csrf(client, "/certificates/manage")
    r = client.post(f"/certificates/{c.id}/revoke", data={"csrf_token": token, "reason": "", "on": "2026-10-01"})
    assert r.status_code == 302
    with db.read_scope() as s:
        assert s.get(Certificate, c.id).status == "valid"  # no reason, no revocation
    assert client.post(f"/certificates/{c.id}/revoke", data={"reason": "无令牌", "on": "2026-10-01"}).status_code == 400
    r = client.post(f"/certificates/{c.id}/revoke",
                    data={"csrf_token": token, "reason": "违规：证书数据造假", "on": "2026-10-01"})
    assert r.status_code == 302
    with db.read_scope() as s:
        row = s.get(Certificate, c.id)
        assert row.status == "revoked" and row.revoke_reason == "违规：证书数据造假"


def test_national_upload_export(client, certs):
    h = api_token(client, "agency")
    r = client.get("/api/v1/certificates/export?format=csv", headers=h)
    assert r.status_code == 200 and r.headers["X-Row-Count"] == "3"
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][0] == "姓名" and {row[7] for row in rows[1:]} == {c.number for c in certs.values()
                                                                     if c.scheme != "special"}  # level ones only
    assert client.get("/api/v1/certificates/export?format=xlsx", headers=h).data[:2] == b"PK"
    r = client.get("/api/v1/certificates/export?agency_id=999", headers=h)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "agency_id"
    r = client.get("/api/v1/certificates/export?format=pdf", headers=h)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "format"
    assert client.get("/api/v1/certificates/export", headers=api_token(client, "cand001")).status_code == 403


def test_batch_issue_runs_the_tasks_and_is_safe_to_rerun(client, db, certs):
    from examserver.certification.tasks import issue_batch
    with db.read_scope() as s:
        people = s.execute(select(Account.person_id).where(Account.username.in_(
            [f"cand{i:03d}" for i in range(20, 26)])).order_by(Account.username)).scalars().all()
        occ_id = certs["cand001"].occupation_id
        site_id = certs["cand001"].site_id
    items = [{"person_id": p, "occupation_id": occ_id, "level": 4, "result_id": 100 + i} for i, p in enumerate(people)]
    items.append({"person_id": people[0], "occupation_id": occ_id, "level": 1, "result_id": 999})  # out of scope
    h = api_token(client, "agency")
    plan_id = _approved_plan(db, [f"cand{i:03d}" for i in range(20, 26)])
    r = client.post("/api/v1/certificate-batches", json={"site_id": site_id, "plan_id": plan_id,
                                                         "issue_date": "2026-07-20", "items": items}, headers=h)
    assert r.status_code == 202, r.get_json()
    b = r.get_json()  # embedded profile: the tasks ran in-process before the response
    assert (b["status"], b["requested"], b["issued"], b["pdfs"], b["failed"]) == ("done", 7, 6, 6, 1)
    assert b["errors"][0]["index"] == 6 and b["errors"][0]["field"] == "level"
    issue_batch.delay(b["id"], None).get()  # a second run issues nothing new
    again = client.get(f"/api/v1/certificate-batches/{b['id']}", headers=h).get_json()
    assert (again["issued"], again["pdfs"], again["failed"]) == (6, 6, 1)
    with db.read_scope() as s:
        serials = sorted(s.scalars(select(Certificate.serial).where(Certificate.source_plan_id == plan_id)))
        assert serials == [3, 4, 5, 6, 7, 8]  # level 4 of 2026 had 1 and 2 (cand002, cand003 in the demo)
    login(client, "agency")
    assert f'data-batch-id="{b["id"]}"' in client.get("/certificates/manage").get_data(as_text=True)


def test_issue_from_the_staff_page_and_the_auditor_sees_every_agency(client, db, certs):
    """The page issues like the API: only from a plan the centre approved, to a person it passed; occupation
    and level are the plan's."""
    from examserver.administration.models import ExamPlan, Registration
    login(client, "agency")
    page = client.get("/certificates/manage").get_data(as_text=True)
    assert "issue-form" in page and "no-approved-plan" in page  # nothing approved yet: nothing to issue from
    with db.read_scope() as s:
        person_id = s.scalar(select(Account.person_id).where(Account.username == "cand011"))
        other_id = s.scalar(select(Account.person_id).where(Account.username == "cand012"))
    plan_id = _approved_plan(db, ["cand011"])
    with db.read_scope() as s:
        plan_level = s.get(ExamPlan, plan_id).level
        reg_id = s.scalar(select(Registration.id).where(Registration.plan_id == plan_id,
                                                        Registration.person_id == person_id))
    page = client.get("/certificates/manage").get_data(as_text=True)
    assert f'<option value="{plan_id}">' in page and "no-approved-plan" not in page
    token = _csrf(client, "/certificates/manage")
    form = {"csrf_token": token, "person_id": person_id, "site_id": certs["cand001"].site_id, "plan_id": plan_id,
            "issue_date": "2026-08-01"}
    r = client.post("/certificates/issue", data={**form, "person_id": other_id})  # not passed by that plan
    assert r.status_code == 302 and "number=" not in r.headers["Location"]
    r = client.post("/certificates/issue", data=form)
    assert r.status_code == 302 and "number=S0000410100012" in r.headers["Location"]
    r = client.post("/certificates/issue", data={**form, "issue_date": "not a date"})
    assert r.status_code == 302  # back to the page with a message, nothing issued
    r = client.post("/certificates/issue", data=form)  # again: keyed on (plan, registration), nothing new
    with db.read_scope() as s:
        issued = s.scalars(select(Certificate).where(Certificate.person_id == person_id)).all()
        assert [(c.level, c.issue_date.isoformat(), c.source_plan_id, c.source_result_id) for c in issued] == \
            [(plan_level, "2026-08-01", plan_id, reg_id)]
        assert not s.scalars(select(Certificate).where(Certificate.person_id == other_id)).all()
    client.post("/logout", data={"csrf_token": token})
    login(client, "auditor")
    html = client.get("/certificates/manage").get_data(as_text=True)
    assert all(c.number in html for c in certs.values()) and "issue-form" not in html


# --- special-ability certificates (专项职业能力证书) ---------------------------------------------------------------

def test_a_special_ability_certificate_verifies_publicly_with_its_project_and_no_level(client, certs):
    c = certs["cand020"]
    assert c.scheme == "special" and len(c.number) == 15 and c.number[2:10] == "16015012"
    r = client.get(f"/api/v1/certificates/{c.number}/verify")
    assert r.status_code == 200, r.get_json()
    v = r.get_json()
    assert (v["kind"], v["project_name"], v["level"], v["level_name"], v["work_type"]) == \
        ("special", "轴类零件车削", None, None, None)
    assert v["status"] == "valid" and v["signature_valid"] and c.data["id_number"] not in r.get_data(as_text=True)
    html = client.get(f"/verify/{c.number}").get_data(as_text=True)
    assert 'data-status="valid"' in html and 'data-testid="cert-project">轴类零件车削' in html
    assert "专项职业能力证书" in html and 'data-testid="cert-level"' not in html
    h = api_token(client, "cand020")
    env = client.get(f"/api/v1/certificates/{c.id}/envelope", headers=h).get_json()
    assert env["format"] == "skillcert-special-ability/1"
    pem = client.get("/verify/public-key.pem").data
    assert verify(env, pem).project_name == "轴类零件车削"
    login(client, "cand020")
    page = client.get("/certificates/mine").get_data(as_text=True)
    assert c.number in page and "轴类零件车削" in page
    pdf = client.get(f"/certificates/{c.id}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_the_agency_issues_a_special_ability_certificate_after_the_audit(client, db, certs):
    h = api_token(client, "agency")
    with db.read_scope() as s:
        person_id = s.scalar(select(Account.person_id).where(Account.username == "cand011"))
    body = {"person_id": person_id, "occupation_code": "6-18-01-01", "site_id": certs["cand001"].site_id,
            "issue_date": "2026-07-01", "project": "轴类零件车削", "result_id": 5}
    r = client.post("/api/v1/certificates", json={**body, "plan_id": 987654}, headers=h)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_audited"
    plan_id = _approved_plan(db, ["cand011"])
    r = client.post("/api/v1/certificates", json={**body, "plan_id": plan_id}, headers=h)
    assert r.status_code == 201, r.get_json()
    out = r.get_json()
    assert out["number"] == "261601501200002" and (out["kind"], out["level"]) == ("special", None)
    assert out["project_name"] == "轴类零件车削" and out["has_pdf"]
    r = client.post("/api/v1/certificates", json={**body, "plan_id": plan_id, "project": "未备案项目", "result_id": 6},
                    headers=h)
    assert r.status_code == 404 and r.get_json()["error"]["field"] == "project"
    r = client.post("/api/v1/certificates", json={**body, "plan_id": plan_id, "project": None, "result_id": 7},
                    headers=h)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "level"  # a level certificate needs its level
