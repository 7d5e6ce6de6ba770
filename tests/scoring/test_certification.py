"""Issued certificates: gap-free numbers under concurrency, idempotent issue, revocation, verification, export.

Tests using ``db`` run on SQLite here and again on PostgreSQL in the scaled pass
(SKILLCERT_TEST_PROFILE=scaled), where the concurrent allocation test really contends on the
counter row.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import threading

import pytest
from sqlalchemy import func, select

from itembank.core import directory
from itembank.core.audit import SYSTEM, AuditRecord
from itembank.core.errors import Conflict, DomainError, NotFound
from itembank.core.idcard import resident_check_digit
from scoring.certificates import decode_henan, decode_national, generate_private_key, verify
from scoring.certification import (Certificate, CertificateSerial, Issuer, allocate_serial, attach_pdf,
                                   check_envelope, export_for_national_upload, export_rows, issue_certificate,
                                   render_certificate, revoke_certificate, verification_view)

DAY = dt.date(2026, 7, 1)


@pytest.fixture
def issuer():
    return Issuer(generate_private_key(), "https://cert.example.org/verify")


@dataclasses.dataclass
class World:
    occupation: object
    work_type: object
    agency: object
    site: object
    people: list


def _id(n: int) -> str:
    first = f"41010219850101{n:03d}"
    return first + resident_check_digit(first)


def _world(db, people: int = 6, province: str = "41", code: str = "0000") -> World:
    with db.write_scope() as s:
        occ = directory.create_occupation(s, SYSTEM, code="6-18-01-01", name="车工", work_types=["数控车床"])
        ag = directory.create_agency(s, SYSTEM, name="郑州测试评价中心", category="S", agency_code=code)
        site = directory.add_site(s, SYSTEM, ag, name="测试站点", province_code=province, site_serial="010001")
        directory.approve_scope(s, SYSTEM, ag, occupation=occ, levels=[5, 4, 3])
        directory.approve_scope(s, SYSTEM, ag, occupation=occ, work_type=occ.work_types[0], levels=[4])
        ps = [directory.create_person(s, SYSTEM, name=f"考生{i}", id_number=_id(i)) for i in range(people)]
        return World(occ, occ.work_types[0], ag, site, ps)


@pytest.fixture
def world(db):
    return _world(db)


def _issue(s, issuer, w: World, person, level=5, work_type=None, **kw):
    return issue_certificate(s, SYSTEM, issuer=issuer, person=s.merge(person), occupation=s.merge(w.occupation),
                             work_type=s.merge(work_type) if work_type else None, level=level,
                             site=s.merge(w.site), issue_date=kw.pop("issue_date", DAY), **kw)


def test_issue_numbers_signs_renders_and_audits(db, world, issuer):
    with db.write_scope() as s:
        c = _issue(s, issuer, world, world.people[0], level=4, work_type=world.work_type)
        cid = c.id
    with db.read_scope() as s:
        c = s.get(Certificate, cid)
        assert c.number == "S000041010001264000001" and c.scheme == "henan" and c.serial == 1
        n = decode_henan(c.number)
        assert (n.city_name, n.site_serial, n.level, n.issue_year) == ("郑州市", "0001", 4, 2026)
        data = verify(c.envelope, issuer.public_key)
        assert data.name == "考生0" and data.work_type == "数控车床" and data.id_number == _id(0)
        assert c.pdf.startswith(b"%PDF") and c.pdf_sha256 and c.verify_url.endswith("/verify/" + c.number)
        rec = s.scalar(select(AuditRecord).where(AuditRecord.action == "certificate.issue"))
        assert rec.object_id == str(cid) and c.number in rec.changes
        assert _id(0) not in rec.changes  # the audit trail carries no full ID number
        assert check_envelope(c, issuer.public_key) is None


def test_serials_count_per_site_year_and_level(db, world, issuer):
    with db.write_scope() as s:
        a = _issue(s, issuer, world, world.people[0], level=5, render_pdf=False)
        b = _issue(s, issuer, world, world.people[1], level=5, render_pdf=False)
        c = _issue(s, issuer, world, world.people[2], level=4, render_pdf=False)
        d = _issue(s, issuer, world, world.people[3], level=5, issue_date=dt.date(2027, 1, 4), render_pdf=False)
        numbers = [x.number for x in (a, b, c, d)]
    assert numbers == ["S000041010001265000001", "S000041010001265000002", "S000041010001264000001",
                       "S000041010001275000001"]


def test_national_scheme_outside_henan(db, issuer):
    w = _world(db, people=1, province="11", code="0007")
    with db.write_scope() as s:
        c = _issue(s, issuer, w, w.people[0])
        assert c.scheme == "national" and decode_national(c.number).province_name == "北京市"
        with pytest.raises(DomainError) as e:
            _issue(s, issuer, w, w.people[0], scheme="henan")
        assert e.value.field == "scheme"


@pytest.mark.parametrize("kw,field", [
    ({"level": 1}, "level"),                                # not in the approved scope (指引 art. 14(2))
    ({"level": 2, "work_type": "wt"}, "level"),             # nor with the work type
    ({"level": 7}, "level"),
    ({"issue_date": dt.date(2026, 12, 1), "today": DAY}, "issue_date"),
    ({"issue_date": dt.date(2018, 12, 1)}, "issue_date"),
    ({"photo": b"GIF89a not a jpeg"}, "photo"),
    ({"source_plan_id": 3}, "source_result_id"),
])
def test_bad_issues_are_refused_naming_the_field(db, world, issuer, kw, field):
    if kw.get("work_type") == "wt":
        kw["work_type"] = world.work_type
    with pytest.raises(DomainError) as e, db.write_scope() as s:
        _issue(s, issuer, world, world.people[0], **kw)
    assert e.value.field == field
    with db.read_scope() as s:
        assert s.scalar(select(func.count(Certificate.id))) == 0
        assert s.scalar(select(func.coalesce(func.max(CertificateSerial.last_serial), 0))) == 0


def test_cancelled_agency_issues_nothing(db, world, issuer):
    with db.write_scope() as s:
        directory.cancel_agency(s, SYSTEM, s.merge(world.agency), reason="测试注销")
    with pytest.raises(Conflict), db.write_scope() as s:
        _issue(s, issuer, world, world.people[0])


def test_same_source_issues_once_and_keeps_its_number(db, world, issuer):
    with db.write_scope() as s:
        first = _issue(s, issuer, world, world.people[0], source_plan_id=7, source_result_id=70)
        again = _issue(s, issuer, world, world.people[0], source_plan_id=7, source_result_id=70)
        assert again.id == first.id
        with pytest.raises(Conflict) as e:
            _issue(s, issuer, world, world.people[1], source_plan_id=7, source_result_id=70)
        assert e.value.field == "source_result_id"
        nxt = _issue(s, issuer, world, world.people[1], source_plan_id=7, source_result_id=71)
        assert nxt.serial == 2  # the repeated call took no number


def test_a_rolled_back_issue_gives_its_number_back(db, world, issuer):
    with pytest.raises(RuntimeError), db.write_scope() as s:
        assert _issue(s, issuer, world, world.people[0], render_pdf=False).serial == 1
        raise RuntimeError("e.g. the request failed after issuing")
    with db.write_scope() as s:
        assert _issue(s, issuer, world, world.people[1], render_pdf=False).serial == 1


def test_concurrent_issuing_gives_no_duplicate_and_no_gap(db, issuer):
    """8 threads issue for one (site, year, level) at once; every third transaction rolls back.

    On PostgreSQL (scaled pass) the threads really contend on the counter row; on SQLite the
    write lock serialises them. Either way the committed serials must be exactly 1..n.
    """
    threads, per_thread = 8, 6
    w = _world(db, people=threads * per_thread)
    barrier = threading.Barrier(threads)
    committed: list[str] = []
    rolled_back: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        try:
            barrier.wait(timeout=30)
            for i in range(per_thread):
                k = t * per_thread + i
                try:
                    with db.write_scope() as s:
                        c = _issue(s, issuer, w, w.people[k], render_pdf=False,
                                   source_plan_id=1, source_result_id=k)
                        number = c.number
                        if k % 3 == 0:
                            raise _Rollback(number)
                    with lock:
                        committed.append(number)
                except _Rollback as r:
                    with lock:
                        rolled_back.append(r.args[0])
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join(120)
    assert errors == []
    assert len(rolled_back) == threads * per_thread // 3
    serials = sorted(int(n[-6:]) for n in committed)
    assert len(set(committed)) == len(committed)
    assert serials == list(range(1, len(committed) + 1))
    with db.read_scope() as s:
        stored = sorted(s.scalars(select(Certificate.serial)).all())
        counter = s.scalar(select(CertificateSerial.last_serial))
    assert stored == serials and counter == len(committed)


class _Rollback(Exception):
    pass


def test_allocate_serial_alone_under_concurrency(db, world):
    """The raw counter: 6 threads x 15 takes, half rolled back, committed values are 1..n."""
    got: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def work(t):
        barrier.wait(timeout=30)
        for i in range(15):
            try:
                with db.write_scope() as s:
                    n = allocate_serial(s, "S000041010001", 2026, 3)
                    if (t + i) % 2:
                        raise _Rollback()
                with lock:
                    got.append(n)
            except _Rollback:
                pass

    pool = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    [th.start() for th in pool]
    [th.join(60) for th in pool]
    assert sorted(got) == list(range(1, len(got) + 1)) and len(got) == 45


def test_pdf_attached_later_is_the_same_rendering(db, world, issuer):
    with db.write_scope() as s:
        c = _issue(s, issuer, world, world.people[0], render_pdf=False)
        cid, data, url = c.id, dict(c.data), c.verify_url
        assert c.pdf is None and c.pdf_sha256 is None
    pdf = render_certificate(data, url, None)
    with db.write_scope() as s:
        assert attach_pdf(s, SYSTEM, cid, pdf) is True
        assert attach_pdf(s, SYSTEM, cid, pdf) is False  # a second run changes nothing
    with db.write_scope() as s:
        _issue(s, issuer, world, world.people[1])
        eager = s.scalar(select(Certificate).where(Certificate.id != cid))
        assert render_certificate(eager.data, eager.verify_url, None) == eager.pdf  # deterministic


def test_revocation_is_shown_at_verification(db, world, issuer):
    with db.write_scope() as s:
        c = _issue(s, issuer, world, world.people[0])
        number = c.number
        for reason, on, field in (("", DAY, "reason"), ("代考", dt.date(2026, 6, 1), "on")):
            with pytest.raises(DomainError) as e:
                revoke_certificate(s, SYSTEM, c, reason, on)
            assert e.value.field == field
        view = verification_view(s, number, public_key=issuer.public_key)
        assert view["status"] == "valid" and view["revoked_on"] is None and view["signature_valid"]
        revoke_certificate(s, SYSTEM, c, "事后查实代考（指引第8条）", dt.date(2026, 9, 1))
        with pytest.raises(Conflict):
            revoke_certificate(s, SYSTEM, c, "再次撤销", dt.date(2026, 9, 2))
    with db.read_scope() as s:
        view = verification_view(s, " ".join([number[:7], number[7:13], number[13:]]).lower(),
                                 public_key=issuer.public_key)
        assert view["status"] == "revoked" and view["status_name"] == "已撤销" and view["revoked_on"] == "2026-09-01"
        assert s.scalar(select(AuditRecord.changes).where(AuditRecord.action == "certificate.revoke")).count("代考")


def test_verification_masks_the_id_and_refuses_bad_or_unknown_numbers(db, world, issuer):
    with db.write_scope() as s:
        number = _issue(s, issuer, world, world.people[0]).number
    with db.read_scope() as s:
        view = verification_view(s, number, public_key=issuer.public_key)
        assert view["id_number_masked"] == _id(0)[:6] + "********" + _id(0)[-4:]
        assert _id(0) not in repr(view) and "photo_sha256" not in view
        with pytest.raises(DomainError) as e:
            verification_view(s, number[:-1])
        assert e.value.field == "number"
        with pytest.raises(NotFound):
            verification_view(s, number[:-1] + "9")


def test_altered_stored_records_fail_the_signature_check(db, world, issuer):
    with db.write_scope() as s:
        c = _issue(s, issuer, world, world.people[0])
        cid, number = c.id, c.number
    with db.write_scope() as s:  # someone edits the row behind the application's back
        c = s.get(Certificate, cid)
        c.data = {**c.data, "name": "冒名者"}
    with db.read_scope() as s:
        view = verification_view(s, number, public_key=issuer.public_key)
        assert view["signature_valid"] is False and "differ" in view["signature_problem"]
    with db.write_scope() as s:
        c = s.get(Certificate, cid)
        env = dict(c.envelope)
        c.envelope = {**env, "certificate": {**env["certificate"], "name": "冒名者"}}
    with db.read_scope() as s:
        view = verification_view(s, number, public_key=issuer.public_key)
        assert view["signature_valid"] is False and "signature does not match" in view["signature_problem"]
    other = Issuer(generate_private_key(), issuer.verify_base)
    with db.read_scope() as s:
        assert "signed with key" in check_envelope(s.get(Certificate, cid), other.public_key)


def test_national_upload_export(db, world, issuer):
    with db.write_scope() as s:
        a = _issue(s, issuer, world, world.people[0], level=4, work_type=world.work_type, render_pdf=False,
                   source_plan_id=5, source_result_id=1)
        _issue(s, issuer, world, world.people[1], render_pdf=False, issue_date=dt.date(2026, 8, 1))
        revoke_certificate(s, SYSTEM, a, "撤销测试", dt.date(2026, 7, 2))
        body, n = export_for_national_upload(s, SYSTEM, fmt="csv", agency_id=world.agency.id)
        assert n == 2
        assert body.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert rows[0][:11] == ["姓名", "证件类型", "证件号码", "职业编码", "职业名称", "工种/职业方向", "职业技能等级",
                                "证书编号", "评价机构", "评价机构代码", "发证日期"]
        assert rows[1][:9] == ["考生0", "居民身份证", _id(0), "6-18-01-01", "车工", "数控车床", "四级/中级工",
                               a.number, "郑州测试评价中心"]
        assert rows[1][11:] == ["已撤销", "2026-07-02"] and rows[2][5] == "——"
        assert [r["name"] for r in export_rows(s, plan_id=5)] == ["考生0"]
        assert [r["name"] for r in export_rows(s, date_from=dt.date(2026, 7, 15))] == ["考生1"]
        assert export_rows(s, include_revoked=False)[0]["name"] == "考生1"
        with pytest.raises(DomainError):
            export_rows(s, date_from=dt.date(2026, 9, 1), date_to=dt.date(2026, 8, 1))
        xlsx, n = export_for_national_upload(s, SYSTEM, fmt="xlsx")
        from openpyxl import load_workbook
        sheet = load_workbook(io.BytesIO(xlsx)).active
        assert sheet["C2"].value == _id(0) and sheet["H2"].value == a.number and sheet.max_row == 3
        assert s.scalar(select(func.count(AuditRecord.id)).where(AuditRecord.action == "certificate.export")) == 2
