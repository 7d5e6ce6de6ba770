"""The JSON API: clear 4xx errors naming the field, audited changes, the generated OpenAPI document."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from itembank.core.audit import AuditRecord

from ..conftest import api_token  # noqa: TID252


@pytest.fixture
def admin(client, demo):
    return api_token(client, "admin")


def test_healthz_reports_db_and_version(client):
    r = client.get("/healthz")
    body = r.get_json()
    assert r.status_code == 200 and body["ok"] and body["db"] is True and body["version"]
    assert "redis" not in body  # embedded profile: no Redis configured, none reported


def test_openapi_lists_every_api_route_with_its_roles(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, m) for path, ops in spec["paths"].items() for m in ops}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") and rule.endpoint != "api.openapi":
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            for m in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, m.lower()) in documented, (path, m)
    post = spec["paths"]["/api/v1/agencies"]["post"]
    assert post["x-roles"] == ["admin"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("AgencyIn")
    assert "AgencyIn" in spec["components"]["schemas"]


def test_token_with_wrong_password_is_refused_without_saying_which_part(client, demo):
    r = client.post("/api/v1/auth/token", json={"username": "admin", "password": "nope-nope"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "bad_credentials"
    r2 = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "nope-nope"})
    assert r2.get_json()["error"]["message"] == r.get_json()["error"]["message"]


def test_account_with_several_roles_must_name_one(client, demo):
    r = client.post("/api/v1/auth/token", json={"username": "examiner", "password": "skillcert-demo"})
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "role"
    h = api_token(client, "examiner", role="item_writer")
    assert client.get("/api/v1/auth/me", headers=h).get_json()["role"] == "item_writer"


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "category": "Q", "agency_code": "0001"}, "category"),
    ({"name": "x", "category": "Y", "agency_code": "12"}, "agency_code"),
    ({"category": "Y", "agency_code": "0001"}, "name"),
])
def test_bad_input_gets_422_naming_the_field(client, admin, body, field):
    r = client.post("/api/v1/agencies", json=body, headers=admin)
    assert r.status_code == 422
    assert r.get_json()["error"]["field"] == field


def test_non_json_body_is_a_400_not_a_500(client, admin):
    r = client.post("/api/v1/agencies", data="not json", headers={**admin, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_json"


def test_unknown_object_is_404_json(client, admin):
    r = client.get("/api/v1/agencies/9999", headers=admin)
    assert r.status_code == 404 and r.get_json()["error"]["field"] == "agency_id"


def test_agency_lifecycle_is_audited_and_retired_codes_never_come_back(client, admin, db):
    r = client.post("/api/v1/agencies", json={"name": "洛阳重工评价站", "category": "Y", "agency_code": "0031"},
                    headers=admin)
    assert r.status_code == 201, r.get_json()
    aid = r.get_json()["id"]
    r = client.post(f"/api/v1/agencies/{aid}/sites", headers=admin,
                    json={"name": "洛阳站点", "province_code": "41", "site_serial": "030001"})
    assert r.status_code == 201 and r.get_json()["sites"][0]["code_prefix"] == "Y003141030001"
    bad = client.post(f"/api/v1/agencies/{aid}/sites", headers=admin,
                      json={"name": "x", "province_code": "99", "site_serial": "030002"})
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "province_code"
    r = client.post(f"/api/v1/agencies/{aid}/scope", headers=admin,
                    json={"occupation_code": "6-18-01-01", "work_type": "数控车床", "levels": [3, 4]})
    assert {s["level"] for s in r.get_json()["scope"]} == {3, 4}
    r = client.post(f"/api/v1/agencies/{aid}/cancel", headers=admin, json={"reason": "备案到期未续"})
    assert r.get_json()["status"] == "cancelled"
    again = client.post("/api/v1/agencies", json={"name": "新机构", "category": "Y", "agency_code": "0031"},
                        headers=admin)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "code_retired"
    with db.read_scope() as s:
        actions = s.scalars(select(AuditRecord.action).where(AuditRecord.object_type == "agency",
                                                             AuditRecord.object_id == str(aid))
                            .order_by(AuditRecord.seq)).all()
    assert actions == ["agency.create", "agency.scope_approve", "agency.cancel"]


def test_agency_admin_adds_staff_only_in_own_agency(client, demo):
    h = api_token(client, "agency")
    me = client.get("/api/v1/auth/me", headers=h).get_json()
    body = {"name": "新考评员", "id_number": "11010519491231002X", "username": "newexaminer",
            "password": "long-enough-pw", "role": "examiner", "agency_id": me["agency_id"], "held_level": 3}
    r = client.post("/api/v1/users", json=body, headers=h)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["id_number_masked"] == "110105********002X"
    assert client.post("/api/v1/users", json={**body, "username": "xx2", "role": "admin", "agency_id": None},
                       headers=h).status_code == 403
    dup = client.post("/api/v1/users", json={**body, "username": "xx3"}, headers=h)
    assert dup.status_code == 409 and dup.get_json()["error"]["field"] == "id_number"
    bad_id = client.post("/api/v1/users", json={**body, "username": "xx4", "id_number": "110105194912310021"},
                         headers=h)
    assert bad_id.status_code == 400 and "校验码" in bad_id.get_json()["error"]["message"]
    unq = client.post("/api/v1/users", headers=h, json={**body, "username": "xx5", "held_level": None,
                                                          "id_number": "410102199001010011"})
    assert unq.status_code in (400, 422)


def test_agency_staff_cannot_read_another_agency(client, demo, admin):
    other = client.post("/api/v1/agencies", json={"name": "他机构", "category": "S", "agency_code": "0040"},
                        headers=admin).get_json()["id"]
    h = api_token(client, "proctor")
    assert client.get(f"/api/v1/agencies/{other}", headers=h).status_code == 403
    listed = client.get("/api/v1/agencies", headers=h).get_json()["agencies"]
    assert [a["id"] for a in listed] != [] and other not in [a["id"] for a in listed]


def test_audit_api_filters_by_object_and_verifies(client, admin):
    r = client.get("/api/v1/audit?object_type=occupation", headers=admin).get_json()
    assert r["total"] == 1 and r["records"][0]["changes"]["code"] == "6-18-01-01"
    assert client.get("/api/v1/audit?limit=0", headers=admin).status_code == 422
    v = client.get("/api/v1/audit/verify", headers=admin).get_json()
    assert v["ok"] and v["records"] > 100 and v["checkpoints"] >= 1


def test_revoking_a_role_invalidates_its_tokens(client, demo, db):
    from itembank.core import directory
    from itembank.core.audit import SYSTEM
    from itembank.core.people import Account
    h = api_token(client, "proctor2")
    assert client.get("/api/v1/auth/me", headers=h).status_code == 200
    with db.write_scope() as s:
        acc = s.scalar(select(Account).where(Account.username == "proctor2"))
        directory.revoke_role(s, SYSTEM, acc.grants[0], reason="调离")
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401


def test_login_is_rate_limited(env, demo):
    from examserver import create_app
    app = create_app({"TESTING": True}, env={**env, "SKILLCERT_LOGIN_RATE_LIMIT": "3 per minute"})
    c = app.test_client()
    codes = [c.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong-pass"}).status_code
             for _ in range(5)]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]


def test_a_room_behind_one_address_can_all_sign_in_while_one_account_is_throttled(env, demo):
    from examserver import create_app
    app = create_app({"TESTING": True}, env={**env, "SKILLCERT_LOGIN_RATE_LIMIT": "3 per minute"})
    c = app.test_client()
    ok = [c.post("/api/v1/auth/token", json={"username": f"cand{i:03d}", "password": "skillcert-demo"}).status_code
          for i in range(1, 13)]
    assert ok == [200] * 12
