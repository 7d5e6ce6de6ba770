"""Special-ability certificates (专项职业能力证书, 豫人社办函〔2020〕41号 §二(四), §四): 15-digit numbers (year +
8-digit agency code + 5-digit serial), no level; signed, rendered, issued without gaps and verified like the others.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import subprocess

import pytest
from sqlalchemy import select

from itembank.core import directory
from itembank.core.audit import SYSTEM, AuditRecord
from itembank.core.errors import Conflict, DomainError
from itembank.core.idcard import resident_check_digit
from scoring.certificates import (CertificateData, CertificateSignatureError, InvalidCertificateData,
                                  SpecialAbilityData, decode_special, encode_special, generate_private_key,
                                  public_view, render_certificate_pdf, sign, verify)
from scoring.certificates.signing import SPECIAL_FIELDS, SPECIAL_FORMAT, signed_message
from scoring.certificates.verification import certificate_lines
from scoring.certification import (Certificate, CertificateSerial, Issuer, approve_special_project, check_envelope,
                                   export_rows, issue_certificate, revoke_certificate, set_special_code,
                                   verification_view)

DAY = dt.date(2026, 7, 1)
CODE = "16015012"  # 郑州 1601, 5 = special ability, agency 012


def make(**over) -> SpecialAbilityData:
    fields = dict(name="张三", id_type="resident_id", id_number="410102199001011234", project_name="轴类零件车削",
                  occupation_name="车工", occupation_code="6-18-01-01", certificate_number="261601501200007",
                  agency="郑州精工职业技能评价中心", agency_code=CODE, issue_date=DAY)
    fields.update(over)
    photo = fields.pop("photo", None)
    return SpecialAbilityData.build(**fields, photo=photo)


@pytest.fixture(scope="module")
def key():
    return generate_private_key()


# --- signing (pure) ------------------------------------------------------------------------------------------

def test_special_data_signs_and_verifies_under_its_own_format(key):
    data = make()
    env = sign(data, key)
    assert env["format"] == SPECIAL_FORMAT and set(env["certificate"]) == set(SPECIAL_FIELDS)
    assert "level" not in env["certificate"] and "work_type" not in env["certificate"]
    back = verify(env, key.public_key())
    assert back == data and back.kind == "special" and back.level is None
    assert key.public_key().verify(__import__("base64").b64decode(env["signature"]),
                                   signed_message(env["certificate"], SPECIAL_FORMAT)) is None


@pytest.mark.parametrize("field", [f for f in SPECIAL_FIELDS if f != "photo_sha256"] + ["photo_sha256"])
def test_altering_any_special_field_fails(key, field):
    env = sign(make(photo=b"\x89PNG\r\n\x1a\nfake"), key)
    value = env["certificate"][field]
    env["certificate"][field] = ("2026-07-02" if field == "issue_date" else
                                 "0" * 64 if field == "photo_sha256" else value[:-1] + ("8" if value[-1] != "8" else "9"))
    with pytest.raises(CertificateSignatureError):
        verify(env, key.public_key())


def test_a_special_body_under_the_level_format_or_the_other_way_round_is_refused(key):
    env = sign(make(), key)
    with pytest.raises(CertificateSignatureError):
        verify({**env, "format": "skillcert-certificate/1"}, key.public_key())


@pytest.mark.parametrize("over, field, reason", [
    ({"certificate_number": "S000041010001264000001"}, "certificate_number", "15"),  # a level number
    ({"certificate_number": "251601501200007"}, "certificate_number", "2025"),          # year ≠ issue date
    ({"certificate_number": "261601501300007"}, "certificate_number", "16015013"),      # another agency's code
    ({"certificate_number": "261601601200007"}, "certificate_number", "5"),             # digit 7 must be 5
    ({"project_name": " "}, "project_name", "non-empty"),
    ({"occupation_code": "6180101"}, "occupation_code", "6-18-01-01"),
])
def test_special_data_is_checked(over, field, reason):
    with pytest.raises(InvalidCertificateData) as e:
        make(**over)
    assert e.value.field == field and reason in e.value.reason


def test_level_certificate_data_still_refuses_a_15_digit_number():
    with pytest.raises(InvalidCertificateData) as e:
        CertificateData.build(name="张三", id_type="resident_id", id_number="410102199001011234",
                              occupation_name="车工", occupation_code="6-18-01-01", level=4,
                              certificate_number="261601501200007", agency="x", issue_date=DAY)
    assert e.value.field == "certificate_number"


def test_public_view_and_lines_name_the_project_and_no_level():
    view = public_view(make(), revoked_on=dt.date(2026, 9, 1))
    assert (view["kind"], view["project_name"], view["level"], view["level_name"], view["work_type"]) == \
        ("special", "轴类零件车削", None, None, None)
    assert view["id_number_masked"] == "410102********1234" and view["status"] == "revoked"
    lines = "\n".join(certificate_lines(make()))
    assert "专项职业能力" in lines and "轴类零件车削" in lines and "16015012" in lines and "等级" not in lines


# --- PDF (pure) --------------------------------------------------------------------------------------------------

def test_special_pdf_prints_the_record_and_its_qr_code_verifies(tmp_path):
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed")
    import zxingcpp
    from PIL import Image
    data = make()
    url = "https://cert.example.org/verify/" + data.certificate_number
    pdf = render_certificate_pdf(data, verify_url=url)
    path = tmp_path / "s.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    flat = text.replace("\n", "")
    for expected in ("专项职业能力证书", "专项职业能力考核记录", "轴类零件车削", "成绩合格", "261601501200007",
                     "410102199001011234", "张三", "16015012", "2026年7月1日", "车工"):
        assert expected in flat, expected
    assert "四级" not in flat and "等级" not in flat
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Pages:           1" in info
    assert "Page size:       595.276 x 419.528 pts" in info  # A5 landscape, 210 x 148 mm (证书规格 148×210)
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(path), str(tmp_path / "p")], check=True)
    with Image.open(tmp_path / "p.png") as img:
        found = [b.text for b in zxingcpp.read_barcodes(img.convert("L"))]
    assert found == [url]


# --- issuing (db) ------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class World:
    occupation: object
    other_occupation: object
    agency: object
    site: object
    project: object
    people: list


def _id(n: int) -> str:
    first = f"41010219860101{n:03d}"
    return first + resident_check_digit(first)


@pytest.fixture
def world(db):
    with db.write_scope() as s:
        occ = directory.create_occupation(s, SYSTEM, code="6-18-01-01", name="车工")
        other = directory.create_occupation(s, SYSTEM, code="4-03-02-01", name="中式烹调师")
        ag = directory.create_agency(s, SYSTEM, name="郑州测试评价中心", category="S", agency_code="0000")
        site = directory.add_site(s, SYSTEM, ag, name="测试站点", province_code="41", site_serial="010001")
        directory.approve_scope(s, SYSTEM, ag, occupation=occ, levels=[5, 4])
        set_special_code(s, SYSTEM, ag, CODE)
        project = approve_special_project(s, SYSTEM, agency=ag, occupation=occ, name="轴类零件车削")
        people = [directory.create_person(s, SYSTEM, name=f"考生{i}", id_number=_id(i)) for i in range(4)]
        return World(occ, other, ag, site, project, people)


@pytest.fixture
def issuer():
    return Issuer(generate_private_key(), "https://cert.example.org/verify")


def _special(s, issuer, w, person, **kw):
    return issue_certificate(s, SYSTEM, issuer=issuer, person=s.merge(person), occupation=s.merge(w.occupation),
                             work_type=None, level=None, site=s.merge(w.site), issue_date=kw.pop("issue_date", DAY),
                             project=s.merge(w.project), **kw)


def test_special_certificates_are_numbered_per_agency_code_and_year_signed_rendered_and_audited(db, world, issuer):
    with db.write_scope() as s:
        a = _special(s, issuer, world, world.people[0])
        b = _special(s, issuer, world, world.people[1])
        level = issue_certificate(s, SYSTEM, issuer=issuer, person=s.merge(world.people[2]),
                                  occupation=s.merge(world.occupation), work_type=None, level=4,
                                  site=s.merge(world.site), issue_date=DAY)
        c = _special(s, issuer, world, world.people[3], issue_date=dt.date(2027, 1, 4))
        ids = a.id, b.id, level.id, c.id
    with db.read_scope() as s:
        a, b, level, c = (s.get(Certificate, i) for i in ids)
        assert [a.number, b.number, c.number] == ["261601501200001", "261601501200002", "271601501200001"]
        assert (a.scheme, a.level, a.work_type_id, a.special_project_id) == ("special", None, None, world.project.id)
        assert level.number == "S000041010001264000001"  # the level counter is untouched by special issues
        n = decode_special(b.number)
        assert (n.issue_year, n.agency_code, n.serial_number) == (2026, CODE, 2)
        data = verify(a.envelope, issuer.public_key)
        assert isinstance(data, SpecialAbilityData) and data.project_name == "轴类零件车削"
        assert a.certificate_data == data and check_envelope(a, issuer.public_key) is None
        assert a.pdf.startswith(b"%PDF") and a.verify_url == "https://cert.example.org/verify/261601501200001"
        counters = {(r.prefix, r.year, r.level): r.last_serial for r in s.scalars(select(CertificateSerial))}
        assert counters[(CODE, 2026, 0)] == 2 and counters[(CODE, 2027, 0)] == 1
        rec = s.scalar(select(AuditRecord).where(AuditRecord.action == "certificate.issue",
                                                 AuditRecord.object_id == str(a.id)))
        assert '"scheme":"special"' in rec.changes and '"special_project":"轴类零件车削"' in rec.changes
        assert [r["certificate_number"] for r in export_rows(s)] == [level.number]  # not in the national upload


def test_special_issue_is_refused_outside_its_rules(db, world, issuer):
    with db.write_scope() as s:
        with pytest.raises(DomainError) as e:   # a level on a special-ability certificate
            issue_certificate(s, SYSTEM, issuer=issuer, person=s.merge(world.people[0]),
                              occupation=s.merge(world.occupation), work_type=None, level=4,
                              site=s.merge(world.site), issue_date=DAY, project=s.merge(world.project))
        assert e.value.field == "level"
        with pytest.raises(DomainError) as e:   # the project belongs to another occupation
            issue_certificate(s, SYSTEM, issuer=issuer, person=s.merge(world.people[0]),
                              occupation=s.merge(world.other_occupation), work_type=None, level=None,
                              site=s.merge(world.site), issue_date=DAY, project=s.merge(world.project))
        assert e.value.field == "occupation_id"
        with pytest.raises(DomainError) as e:   # special scheme without a project
            issue_certificate(s, SYSTEM, issuer=issuer, person=s.merge(world.people[0]),
                              occupation=s.merge(world.occupation), work_type=None, level=None,
                              site=s.merge(world.site), issue_date=DAY, scheme="special")
        assert e.value.field == "project"
        other = directory.create_agency(s, SYSTEM, name="另一机构", category="S", agency_code="0001")
        other_site = directory.add_site(s, SYSTEM, other, name="另一站点", province_code="41", site_serial="020001")
        with pytest.raises(DomainError) as e:   # another agency's project
            issue_certificate(s, SYSTEM, issuer=issuer, person=s.merge(world.people[0]),
                              occupation=s.merge(world.occupation), work_type=None, level=None,
                              site=other_site, issue_date=DAY, project=s.merge(world.project))
        assert e.value.code == "out_of_scope"
        with pytest.raises(Conflict):           # no special-ability code yet: no projects either
            approve_special_project(s, SYSTEM, agency=other, occupation=s.merge(world.occupation), name="x")
        with pytest.raises(Conflict):           # a code is never given to two agencies
            set_special_code(s, SYSTEM, other, CODE)
        with pytest.raises(DomainError) as e:   # the centre's own code, and a malformed one
            set_special_code(s, SYSTEM, other, "16015000")
        assert e.value.field == "special_code"
        with pytest.raises(DomainError):
            set_special_code(s, SYSTEM, other, "16016001")
        assert s.scalar(select(Certificate.id)) is None  # nothing was issued, no number used up
        assert s.scalar(select(CertificateSerial.id)) is None


def test_special_certificate_verifies_publicly_and_shows_revocation(db, world, issuer):
    with db.write_scope() as s:
        cert = _special(s, issuer, world, world.people[0])
        number = cert.number
    with db.read_scope() as s:
        view = verification_view(s, number, public_key=issuer.public_key)
        assert (view["kind"], view["project_name"], view["level"], view["signature_valid"]) == \
            ("special", "轴类零件车削", None, True)
        assert view["status"] == "valid" and world.people[0].id_number not in str(view)
        with pytest.raises(DomainError) as e:   # one digit short: says why
            verification_view(s, number[:-1])
        assert e.value.field == "number"
    with db.write_scope() as s:
        revoke_certificate(s, SYSTEM, s.scalar(select(Certificate)), "考核中替考，撤销证书", dt.date(2026, 8, 1))
    with db.read_scope() as s:
        view = verification_view(s, number, public_key=issuer.public_key)
        assert (view["status"], view["revoked_on"]) == ("revoked", "2026-08-01")
