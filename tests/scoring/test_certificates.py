"""Certificate numbers, signed electronic certificates, the PDF and the public view.

Seed examples are quoted verbatim from seed 003 (../shared/seeds/003_a71c6090dc5bb9da.txt).
"""
from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
import io
import json
import re
import shutil
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.certificates import (
    HENAN_CITIES,
    LEVELS,
    PROVINCES,
    CertificateData,
    CertificateNumberError,
    CertificateSignatureError,
    InvalidCertificateData,
    SerialOverflowError,
    decode,
    decode_henan,
    decode_national,
    decode_special,
    encode_henan,
    encode_national,
    encode_special,
    format_serial,
    generate_private_key,
    is_valid,
    key_id,
    mask_id_number,
    next_serial,
    parse_special_agency_code,
    private_key_from_pem,
    private_key_to_pem,
    public_key_to_pem,
    public_view,
    sign,
    verification_url,
    verify,
)
from scoring.certificates import pdf as cert_pdf
from scoring.certificates.signing import CERTIFICATE_FIELDS, FORMAT, signed_message

# --- seed examples ------------------------------------------------------------------------------

# (code as printed in the seed, category, agency code, filed with, province code, province, year, level, serial)
NATIONAL_EXAMPLES = [
    # 人社鉴发〔2019〕2号 附件1 三、示例 (一) 示例 1: 用人单位, 部赋码 0001, 黑龙江省
    ("Y000123XXXXXX195000001", "Y", "0001", "ministry", "23", "黑龙江省", 2019, 5, "000001"),
    # 人社鉴发〔2019〕2号 附件1 三、示例 (二) 示例 2: 社会培训评价组织, 部赋码 0001, 黑龙江省
    ("S000123XXXXXX195000001", "S", "0001", "ministry", "23", "黑龙江省", 2019, 5, "000001"),
    # 人社鉴发〔2019〕2号 附件1 三、示例 (三) 示例 3: 用人单位, 省级备案 0000, 北京市
    ("Y000011XXXXXX195000001", "Y", "0000", "province", "11", "北京市", 2019, 5, "000001"),
    # 人社鉴发〔2019〕2号 附件1 三、示例 (四) 示例 4: 社会培训评价组织, 省级备案 0000, 北京市
    ("S000011XXXXXX195000001", "S", "0000", "province", "11", "北京市", 2019, 5, "000001"),
]

# (code as printed, with the seed's spaces, category, agency code, filed with, city code, city, year, level, serial)
HENAN_EXAMPLES = [
    # 豫职鉴〔2020〕2号 附件1 三、示例 (一) 示例 1: 用人单位, 部赋码 0001, 省直
    ("Y 0001 41 00 XXXX 19 5 000001", "Y", "0001", "ministry", "00", "省直", 2019, 5, "000001"),
    # 豫职鉴〔2020〕2号 附件1 三、示例 (二) 示例 2: 社会培训评价组织, 部赋码 0001, 省直
    ("S 0001 41 00 XXXX 19 5 000001", "S", "0001", "ministry", "00", "省直", 2019, 5, "000001"),
    # 豫职鉴〔2020〕2号 附件1 三、示例 (三) 示例 3: 用人单位 (省属企业/央企在豫分支机构), 0000, 省直
    ("Y 0000 41 00 XXXX 19 5 000001", "Y", "0000", "province", "00", "省直", 2019, 5, "000001"),
    # 豫职鉴〔2020〕2号 附件1 三、示例 (四) 示例 4: 社会培训评价组织, 0000, 省直
    ("S 0000 41 00 XXXX 19 5 000001", "S", "0000", "province", "00", "省直", 2019, 5, "000001"),
    # 豫职鉴〔2020〕2号 附件1 三、示例 (五) 示例 5: 用人单位, 市级备案 0000, 三门峡市
    ("Y 0000 41 12 XXXX 19 5 000001", "Y", "0000", "province", "12", "三门峡市", 2019, 5, "000001"),
]

# 豫人社办函〔2020〕41号 二(四): "如郑州市：市鉴定中心机构编码为16015000 … 考核机构编码为16015xxx"
SPECIAL_AGENCY_EXAMPLES = [
    ("16015000", "1601", "000", True, False),   # the Zhengzhou municipal centre itself
    ("16015xxx", "1601", "XXX", False, True),   # a Zhengzhou assessment agency (serial left as xxx)
]


@pytest.mark.parametrize("printed,cat,agency,filed,prov,prov_name,year,level,serial", NATIONAL_EXAMPLES)
def test_national_seed_examples_decode_as_the_seed_explains(printed, cat, agency, filed, prov, prov_name,
                                                            year, level, serial):
    n = decode_national(printed, allow_placeholders=True)
    assert (n.category, n.agency_code, n.filed_with, n.province_code, n.province_name) == \
        (cat, agency, filed, prov, prov_name)
    assert (n.issue_year, n.level, n.level_name, n.serial) == (year, level, "五级/初级工", serial)
    assert n.site_serial == "XXXXXX" and n.placeholder
    assert n.category_name == {"Y": "用人单位", "S": "社会培训评价组织"}[cat]


@pytest.mark.parametrize("printed,cat,agency,filed,prov,prov_name,year,level,serial", NATIONAL_EXAMPLES)
def test_national_encoder_reproduces_seed_examples(printed, cat, agency, filed, prov, prov_name, year, level,
                                                    serial):
    # the seed leaves positions 8-13 as X (assigned by the province); any real serial fills them
    assert encode_national(cat, agency, prov, "000001", year, level, int(serial)) == \
        printed.replace("XXXXXX", "000001")
    assert encode_national(cat, int(agency), int(prov), 987654, dt.date(year, 6, 1), level, serial) == \
        printed.replace("XXXXXX", "987654")


@pytest.mark.parametrize("example", [e[0] for e in NATIONAL_EXAMPLES])
def test_seed_template_is_not_a_valid_number_without_placeholders(example):
    with pytest.raises(CertificateNumberError) as e:
        decode_national(example)
    assert e.value.kind == "site_serial" and e.value.positions == (8, 13)
    assert "第8位" in e.value.reason_zh and "X" in e.value.reason_en
    assert not is_valid(example)


@pytest.mark.parametrize("printed,cat,agency,filed,city,city_name,year,level,serial", HENAN_EXAMPLES)
def test_henan_seed_examples_decode_as_the_seed_explains(printed, cat, agency, filed, city, city_name, year,
                                                         level, serial):
    n = decode_henan(printed, allow_placeholders=True)
    assert n.code == printed.replace(" ", "")
    assert (n.category, n.agency_code, n.filed_with, n.province_code, n.province_name) == \
        (cat, agency, filed, "41", "河南省")
    assert (n.city_code, n.city_name, n.site_serial) == (city, city_name, "XXXX")
    assert (n.issue_year, n.level, n.serial) == (year, level, serial)


@pytest.mark.parametrize("printed,cat,agency,filed,city,city_name,year,level,serial", HENAN_EXAMPLES)
def test_henan_encoder_reproduces_seed_examples(printed, cat, agency, filed, city, city_name, year, level, serial):
    assert encode_henan(cat, agency, city, "0001", year, level, int(serial)) == \
        printed.replace(" ", "").replace("XXXX", "0001")
    # every Henan number is also a well-formed national number (positions 8-13 are digits)
    assert decode_national(printed.replace("XXXX", "8123")).province_name == "河南省"


@pytest.mark.parametrize("code,region,serial,is_centre,placeholder", SPECIAL_AGENCY_EXAMPLES)
def test_special_agency_code_seed_examples(code, region, serial, is_centre, placeholder):
    a = parse_special_agency_code(code, allow_placeholders=True)
    assert (a.region_code, a.agency_serial, a.is_centre, a.placeholder) == (region, serial, is_centre, placeholder)
    if not placeholder:
        # a special-ability certificate issued by that agency: year 2020, serial 00001
        assert encode_special(2020, code, 1) == f"20{code}00001"
        n = decode_special(f"20{code}00001")
        assert (n.issue_year, n.agency_code, n.serial) == (2020, code, "00001")
    else:
        with pytest.raises(CertificateNumberError, match="第8位"):
            decode_special(f"20{code}00001")


def test_seed_tables_are_complete():
    # 人社鉴发〔2019〕2号 表4 has 35 entries; 豫职鉴〔2020〕2号 表5 has 00..28; 表5 levels 1..5
    assert len(PROVINCES) == 35 and PROVINCES["14"] == "山西省" and PROVINCES["66"] == "新疆生产建设兵团"
    assert sorted(HENAN_CITIES) == [f"{i:02d}" for i in range(29)]
    assert HENAN_CITIES["01"] == "郑州市" and HENAN_CITIES["28"] == "新蔡县"
    assert {k: v[0] for k, v in LEVELS.items()} == {1: "一级/高级技师", 2: "二级/技师", 3: "三级/高级工",
                                                    4: "四级/中级工", 5: "五级/初级工"}


# --- invalid numbers ----------------------------------------------------------------------------

GOOD = "Y000123000001195000001"


@pytest.mark.parametrize("code,kind,positions,zh,en", [
    ("Y00012300000119500000", "length", None, "应为22位", "got 21"),
    ("Y0001230000011950000012", "length", None, "实际为23位", "got 23"),
    ("", "length", None, "实际为0位", "got 0"),
    ("A000123000001195000001", "category", (1, 1), "第1位", "position 1"),
    ("y000123000001195000001", "category", (1, 1), "小写", "lower-case"),
    ("1000123000001195000001", "category", (1, 1), "Y（用人单位）或S", "must be Y"),
    ("Y0O0123000001195000001", "agency_code", (2, 5), "第3位为“O”", "position 3"),
    ("Y000199000001195000001", "province", (6, 7), "“99”不在", "table 4"),
    ("Y000100000001195000001", "province", (6, 7), "表4", "'00'"),
    ("Y000147000001195000001", "province", (6, 7), "“47”", "'47'"),
    ("Y000123000001190000001", "level", (16, 16), "实际为0", "got 0"),
    ("Y000123000001196000001", "level", (16, 16), "实际为6", "got 6"),
    ("Y000123000001195000000", "serial", (17, 22), "000001–999999", "got 000000"),
    ("Y000123000001185000001", "year", (14, 15), "2018年", "2018"),
    ("Y00012300000A195000001", "site_serial", (8, 13), "第13位", "position 13"),
])
def test_invalid_national_numbers_say_why(code, kind, positions, zh, en):
    with pytest.raises(CertificateNumberError) as e:
        decode_national(code)
    err = e.value
    assert (err.kind, err.positions) == (kind, positions)
    assert zh in err.reason_zh and en in err.reason_en
    if positions:
        a, b = positions
        assert (f"第{a}位" if a == b else f"第{a}-{b}位") in err.reason_zh
        assert (f"position {a}" if a == b else f"positions {a}-{b}") in err.reason_en


def test_issue_year_after_as_of_is_rejected():
    assert decode_national(GOOD, as_of=dt.date(2019, 1, 1)).issue_year == 2019
    with pytest.raises(CertificateNumberError, match="晚于2019-12-31") as e:
        decode_national("Y000123000001205000001", as_of=dt.date(2019, 12, 31))
    assert e.value.kind == "year"


@pytest.mark.parametrize("code,kind,positions,zh", [
    ("Y000041290001195000001", "city", (8, 9), "“29”不在豫职鉴〔2020〕2号表5"),
    ("Y000041990001195000001", "city", (8, 9), "“99”"),
    ("Y000011000001195000001", "province", (6, 7), "应为41（河南省），实际为11（北京市）"),
    ("Y000041000001196000001", "level", (16, 16), "实际为6"),
])
def test_invalid_henan_numbers_say_why(code, kind, positions, zh):
    with pytest.raises(CertificateNumberError) as e:
        decode_henan(code)
    assert (e.value.kind, e.value.positions) == (kind, positions)
    assert zh in e.value.reason_zh


def test_henan_position_10_rule():
    # 豫职鉴〔2021〕1号: employer agencies take 0-8 at position 10, 9 marks a technical school's centre
    assert decode_henan("Y000041010123245000001").site_kind == "employer"
    tech = decode_henan("Y000041019001245000001")
    assert tech.site_kind == "technical_school" and "技工院校" in tech.site_kind_name
    assert decode_henan("S000041019001245000001").site_kind == "social"
    assert encode_henan("Y", 0, 1, "9001", 2024, 5, 1, technical_school=True) == "Y000041019001245000001"
    with pytest.raises(CertificateNumberError) as e:
        encode_henan("Y", 0, 1, "9001", 2024, 5, 1)  # an ordinary employer may not take 9
    assert e.value.kind == "position10" and e.value.positions == (10, 10)
    assert "0–8" in e.value.reason_zh and "0-8" in e.value.reason_en
    with pytest.raises(CertificateNumberError, match="应为9") as e:
        encode_henan("Y", 0, 1, "0001", 2024, 5, 1, technical_school=True)
    assert e.value.kind == "position10"
    with pytest.raises(CertificateNumberError, match="类别代码应为Y") as e:
        encode_henan("S", 0, 1, "9001", 2024, 5, 1, technical_school=True)
    assert e.value.kind == "position10"
    with pytest.raises(CertificateNumberError, match="第10位"):
        decode_henan("Y000041019001245000001", technical_school=False)


@pytest.mark.parametrize("code,kind,positions,zh", [
    ("20160150000000", "length", None, "应为15位"),
    ("2016015000000011", "length", None, "实际为16位"),
    ("201601400000001", "agency_code", (7, 7), "固定为5"),
    ("201601500000000", "serial", (11, 15), "00001–99999"),
    ("191601500000001", "year", (1, 2), "2019年"),
    ("2016A1500000001", "agency_code", (3, 6), "第5位为“A”"),
])
def test_invalid_special_numbers_say_why(code, kind, positions, zh):
    with pytest.raises(CertificateNumberError) as e:
        decode_special(code)
    assert (e.value.kind, e.value.positions) == (kind, positions)
    assert zh in e.value.reason_zh


def test_encoders_reject_bad_parts():
    with pytest.raises(CertificateNumberError) as e:
        encode_national("Y", 1, "23", 1, 2019, 0, 1)
    assert e.value.kind == "level"
    with pytest.raises(CertificateNumberError) as e:
        encode_national("Y", 1, "23", 1, 2019, 6, 1)
    assert e.value.kind == "level"
    with pytest.raises(CertificateNumberError) as e:
        encode_national("Y", 10000, "23", 1, 2019, 5, 1)
    assert e.value.kind == "agency_code"
    with pytest.raises(CertificateNumberError) as e:
        encode_national("Y", 1, "23", 1, 2019, 5, 0)
    assert e.value.kind == "serial"
    with pytest.raises(SerialOverflowError):
        encode_national("Y", 1, "23", 1, 2019, 5, 1_000_000)
    with pytest.raises(CertificateNumberError) as e:
        encode_national("YS", 1, "23", 1, 2019, 5, 1)
    assert e.value.kind == "category"
    with pytest.raises(CertificateNumberError) as e:
        encode_national("Y", 1, "23", 1, 19, 5, 1)  # two-digit year is ambiguous
    assert e.value.kind == "year"
    with pytest.raises(CertificateNumberError) as e:
        encode_henan("Y", 0, 29, 1, 2019, 5, 1)
    assert e.value.kind == "city"


def test_decode_dispatch_and_unknown_scheme():
    assert decode(GOOD).scheme == "national"
    assert decode("Y000041120001195000001", "henan").city_name == "三门峡市"
    assert decode("201601500100001", "special").agency.agency_serial == "001"
    with pytest.raises(CertificateNumberError) as e:
        decode(GOOD, "beijing")
    assert e.value.kind == "scheme"


# --- serials ------------------------------------------------------------------------------------

def test_serials():
    assert format_serial(1) == "000001" and format_serial(999_999) == "999999"
    assert next_serial(None) == "000001" and next_serial("000041") == "000042" and next_serial(41) == "000042"
    assert next_serial(None, width=5) == "00001" and next_serial("99998", width=5) == "99999"
    with pytest.raises(SerialOverflowError) as e:
        next_serial("999999")
    assert e.value.kind == "overflow" and "999999" in e.value.reason_zh
    with pytest.raises(SerialOverflowError):
        next_serial(99_999, width=5)
    with pytest.raises(CertificateNumberError):
        format_serial(0)
    with pytest.raises(CertificateNumberError):
        next_serial("12345")  # wrong width


# --- round trips --------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(cat=st.sampled_from("YS"), agency=st.integers(0, 9999), prov=st.sampled_from(sorted(PROVINCES)),
       site=st.integers(0, 999_999), year=st.integers(2019, 2099), level=st.integers(1, 5),
       serial=st.integers(1, 999_999))
def test_national_round_trip(cat, agency, prov, site, year, level, serial):
    code = encode_national(cat, agency, prov, site, year, level, serial)
    n = decode_national(code)
    assert (n.category, n.agency_code, n.province_code, n.site_serial, n.issue_year, n.level, n.serial_number) == \
        (cat, f"{agency:04d}", prov, f"{site:06d}", year, level, serial)
    assert n.filed_with == ("province" if agency == 0 else "ministry")
    assert encode_national(n.category, n.agency_code, n.province_code, n.site_serial, n.issue_year, n.level,
                           n.serial) == code


@settings(max_examples=300, deadline=None)
@given(code=st.from_regex(r"\A[YS][0-9]{4}(1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-6]|71|8[12])[0-9]{6}"
                          r"(19|[2-9][0-9])[1-5](?!000000)[0-9]{6}\Z"))
def test_national_decode_encode_identity(code):
    n = decode_national(code)
    assert encode_national(n.category, n.agency_code, n.province_code, n.site_serial, n.issue_year, n.level,
                           n.serial) == code


@settings(max_examples=300, deadline=None)
@given(cat=st.sampled_from("YS"), agency=st.integers(0, 9999), city=st.sampled_from(sorted(HENAN_CITIES)),
       site=st.integers(0, 9999), year=st.integers(2019, 2099), level=st.integers(1, 5),
       serial=st.integers(1, 999_999))
def test_henan_round_trip(cat, agency, city, site, year, level, serial):
    site_s = f"{site:04d}"
    tech = cat == "Y" and site_s[0] == "9"
    code = encode_henan(cat, agency, city, site_s, year, level, serial, technical_school=tech)
    n = decode_henan(code)
    assert (n.category, n.agency_code, n.city_code, n.city_name, n.site_serial, n.issue_year, n.level,
            n.serial_number) == (cat, f"{agency:04d}", city, HENAN_CITIES[city], site_s, year, level, serial)
    assert n.site_kind == ("social" if cat == "S" else "technical_school" if tech else "employer")
    assert n.code[5:7] == "41"


@settings(max_examples=300, deadline=None)
@given(year=st.integers(2020, 2099), region=st.integers(0, 9999), agency_serial=st.integers(0, 999),
       serial=st.integers(1, 99_999))
def test_special_round_trip(year, region, agency_serial, serial):
    agency = f"{region:04d}5{agency_serial:03d}"
    code = encode_special(year, agency, serial)
    assert len(code) == 15 and code.isdigit()
    n = decode_special(code)
    assert (n.issue_year, n.agency_code, n.agency.region_code, n.agency.agency_serial, n.serial_number) == \
        (year, agency, f"{region:04d}", f"{agency_serial:03d}", serial)
    assert encode_special(n.issue_year, n.agency_code, n.serial) == code


# --- signed electronic certificates -------------------------------------------------------------

PHOTO = b"\x89PNG\r\n\x1a\n" + b"not really a png, only hashed here"


def make_data(**over) -> CertificateData:
    fields = dict(name="张三", id_type="resident_id", id_number="410102199001011234", occupation_name="车工",
                  occupation_code="6-18-01-01", work_type="数控车床", level=4,
                  certificate_number="Y000041010001244000037", agency="郑州精密机械制造有限公司",
                  issue_date=dt.date(2024, 6, 30), photo=PHOTO)
    fields.update(over)
    return CertificateData.build(**fields)


@pytest.fixture(scope="module")
def key():
    return generate_private_key()


def test_sign_then_verify(key):
    data = make_data()
    env = sign(data, key)
    assert env["format"] == FORMAT and env["alg"] == "Ed25519" and env["key_id"] == key_id(key)
    assert verify(env, public_key_to_pem(key)) == data
    # the JSON text, however it is written on disk, verifies too
    assert verify(json.dumps(env, ensure_ascii=True, indent=2), public_key_to_pem(key).decode()) == data
    assert verify(json.dumps(env, ensure_ascii=False).encode("utf-8"), public_key_to_pem(key)) == data


# for every certificate field, another value (valid on its own) that an attacker might put there
ALTERED = {
    "name": "李四",
    "id_type": "passport",
    "id_number": "410102199001011235",
    "occupation_name": "钳工",
    "occupation_code": "6-18-01-02",
    "work_type": "——",
    "level": 2,
    "certificate_number": "Y000041010001244000038",
    "agency": "郑州精密机械制造有限公司二分厂",
    "issue_date": "2024-07-01",
    "photo_sha256": "0" * 64,
}


def test_every_field_has_an_alteration():
    assert set(ALTERED) == set(CERTIFICATE_FIELDS)


@pytest.mark.parametrize("field", CERTIFICATE_FIELDS)
def test_altering_any_field_fails_verification(key, field):
    env = sign(make_data(), key)
    forged = copy.deepcopy(env)
    forged["certificate"][field] = ALTERED[field]
    assert forged["certificate"] != env["certificate"]
    with pytest.raises(CertificateSignatureError, match="altered"):
        verify(forged, public_key_to_pem(key))


@pytest.mark.parametrize("field", CERTIFICATE_FIELDS)
def test_retyping_or_dropping_any_field_fails_verification(key, field):
    env = sign(make_data(), key)
    retyped = copy.deepcopy(env)
    value = retyped["certificate"][field]
    retyped["certificate"][field] = str(value) if isinstance(value, int) else [value]
    with pytest.raises(CertificateSignatureError):
        verify(retyped, public_key_to_pem(key))
    dropped = copy.deepcopy(env)
    del dropped["certificate"][field]
    with pytest.raises(CertificateSignatureError):
        verify(dropped, public_key_to_pem(key))


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda e: e.update(format="skillcert-certificate/2"), id="format"),
    pytest.param(lambda e: e.update(alg="RS256"), id="alg"),
    pytest.param(lambda e: e.update(key_id="0" * 16), id="key_id"),
    pytest.param(lambda e: e.update(signature=base64.b64encode(bytes(64)).decode()), id="signature-zero"),
    pytest.param(lambda e: e.update(signature=e["signature"][:-4]), id="signature-short"),
    pytest.param(lambda e: e.update(signature="!" * 88), id="signature-not-base64"),
    pytest.param(lambda e: e.update(extra="x"), id="extra-member"),
    pytest.param(lambda e: e.pop("key_id"), id="missing-member"),
    pytest.param(lambda e: e["certificate"].update(note="x"), id="extra-certificate-field"),
    pytest.param(lambda e: e.update(certificate=[]), id="certificate-not-object"),
])
def test_envelope_tampering_fails(key, mutate):
    env = sign(make_data(), key)
    mutate(env)
    with pytest.raises(CertificateSignatureError):
        verify(env, public_key_to_pem(key))


def test_flipping_any_signature_bit_fails(key):
    env = sign(make_data(), key)
    raw = base64.b64decode(env["signature"])
    for i in range(0, 512, 37):
        b = bytearray(raw)
        b[i // 8] ^= 1 << (i % 8)
        forged = dict(env, signature=base64.b64encode(bytes(b)).decode())
        with pytest.raises(CertificateSignatureError):
            verify(forged, public_key_to_pem(key))


def test_other_key_is_refused(key):
    env = sign(make_data(), key)
    other = generate_private_key()
    with pytest.raises(CertificateSignatureError, match="public key given"):
        verify(env, public_key_to_pem(other))
    with pytest.raises(CertificateSignatureError, match="altered"):  # even if the key id is forged
        verify(dict(env, key_id=key_id(other)), public_key_to_pem(other))


def test_signed_message_is_canonical(key):
    data = make_data()
    msg = signed_message(data.to_dict())
    assert msg.startswith(b'{"certificate":{"agency":"') and b" " not in msg.replace("张三".encode(), b"")
    assert "张三".encode() in msg  # UTF-8, not \\u escapes


def test_key_pem_helpers(key):
    pem = private_key_to_pem(key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert key_id(private_key_from_pem(pem)) == key_id(key)
    locked = private_key_to_pem(key, password=b"s3cret")
    assert b"ENCRYPTED" in locked
    assert key_id(private_key_from_pem(locked, password=b"s3cret")) == key_id(key)
    assert public_key_to_pem(key).startswith(b"-----BEGIN PUBLIC KEY-----")
    env = sign(make_data(), pem)  # a PEM works as the signing key too
    assert verify(env, public_key_to_pem(key)).name == "张三"


@pytest.mark.parametrize("over,field", [
    ({"level": 5}, "certificate_number"),                       # position 16 says 4
    ({"issue_date": dt.date(2025, 1, 2)}, "certificate_number"),  # positions 14-15 say 2024
    ({"certificate_number": "Y000123XXXXXX195000001"}, "certificate_number"),
    ({"occupation_code": "61801"}, "occupation_code"),
    ({"name": " 张三"}, "name"),
    ({"agency": ""}, "agency"),
    ({"level": 6}, "level"),
])
def test_certificate_data_is_checked(over, field):
    with pytest.raises(InvalidCertificateData) as e:
        make_data(**over)
    assert e.value.field == field


def test_no_work_type_is_printed_as_dashes():
    assert make_data(work_type=None).work_type == "——"
    assert make_data(work_type="").work_type == "——"


def test_offline_verify_entry_point(key, tmp_path):
    env = sign(make_data(), key)
    cert, pub, photo = tmp_path / "cert.json", tmp_path / "issuer.pem", tmp_path / "photo.png"
    cert.write_text(json.dumps(env, ensure_ascii=False, indent=2), encoding="utf-8")
    pub.write_bytes(public_key_to_pem(key))
    photo.write_bytes(PHOTO)
    run = [sys.executable, "-m", "scoring.certificates.verify"]
    ok = subprocess.run(run + [str(cert), str(pub), "--photo", str(photo)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "VALID" in ok.stdout and "Y000041010001244000037" in ok.stdout and "张三" in ok.stdout
    env["certificate"]["level"] = 1
    cert.write_text(json.dumps(env), encoding="utf-8")
    bad = subprocess.run(run + [str(cert), str(pub)], capture_output=True, text=True)
    assert bad.returncode == 1 and "INVALID" in bad.stderr
    photo.write_bytes(b"another photo")
    cert.write_text(json.dumps(sign(make_data(), key)), encoding="utf-8")
    wrong_photo = subprocess.run(run + [str(cert), str(pub), "--photo", str(photo)], capture_output=True, text=True)
    assert wrong_photo.returncode == 1 and "photo" in wrong_photo.stderr


# --- public view --------------------------------------------------------------------------------

@pytest.mark.parametrize("raw,masked", [
    ("410102199001011234", "410102********1234"),
    ("41010219900101123X", "410102********123X"),
    ("E12345678", "E1*****78"),
    ("H1234567", "H1****67"),
    ("ABC", "A*C"),
    ("AB", "**"),
    ("", ""),
])
def test_mask_id_number(raw, masked):
    assert mask_id_number(raw) == masked
    assert len(mask_id_number(raw)) == len(raw)


def test_public_view_valid_and_revoked():
    data = make_data()
    view = public_view(data)
    assert view["status"] == "valid" and view["status_name"] == "有效" and view["revoked_on"] is None
    assert view["id_number_masked"] == "410102********1234"
    assert data.id_number not in json.dumps(view, ensure_ascii=False)
    assert "photo_sha256" not in view and view["has_photo"] is True
    assert (view["level_name"], view["work_type"], view["id_type_name"]) == ("四级/中级工", "数控车床", "居民身份证")
    revoked = public_view(data, revoked_on=dt.date(2024, 9, 1))
    assert (revoked["status"], revoked["status_name"], revoked["revoked_on"]) == ("revoked", "已撤销", "2024-09-01")
    with pytest.raises(ValueError, match="before the issue date"):
        public_view(data, revoked_on=dt.date(2024, 1, 1))


def test_verification_url():
    assert verification_url("https://c.example.org/v", "Y000123000001195000001") == \
        "https://c.example.org/v?no=Y000123000001195000001"
    assert verification_url("https://c.example.org/v?lang=zh", "S1") == "https://c.example.org/v?lang=zh&no=S1"
    with pytest.raises(ValueError):
        verification_url("c.example.org/v", "S1")


# --- PDF ----------------------------------------------------------------------------------------

def _jpeg() -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (250, 350), (200, 180, 160)).save(buf, "JPEG")
    return buf.getvalue()


def _png() -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGBA", (250, 350), (90, 120, 200, 255)).save(buf, "PNG")
    return buf.getvalue()


def _pdftotext(pdf: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    path = tmp_path / "c.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.parametrize("photo_kind", ["jpeg", "png", None])
def test_pdf_contains_the_certificate(tmp_path, photo_kind):
    photo = {"jpeg": _jpeg, "png": _png, None: lambda: None}[photo_kind]()
    data = make_data(photo=photo)
    pdf = cert_pdf.render_certificate_pdf(
        data, verify_url=verification_url("https://c.example.org/v", data.certificate_number), photo=photo,
        print_serial="00012345")
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    text = _pdftotext(pdf, tmp_path)
    for expected in ("Y000041010001244000037", "职业技能等级证书", "Certificate of Occupational Skill Level",
                     "张三", "居民身份证", "410102199001011234", "车工", "数控车床", "四级/中级工",
                     "郑州精密机械制造有限公司", "2024年6月30日", "jndj.osta.org.cn", "No.00012345"):
        assert expected in text, expected
    if shutil.which("pdfinfo"):
        path = tmp_path / "i.pdf"
        path.write_bytes(pdf)
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Pages:\s+1$", info, re.M)
        w, h = map(float, re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts \(A4\)", info, re.M).groups())
        assert w > h  # landscape


def test_pdf_without_work_type_prints_dashes(tmp_path):
    data = make_data(work_type=None, photo=None)
    text = _pdftotext(cert_pdf.render_certificate_pdf(data, verify_url="https://c.example.org/v?no=1"), tmp_path)
    assert "——" in text


def test_pdf_is_deterministic():
    data = make_data(photo=None)
    a = cert_pdf.render_certificate_pdf(data, verify_url="https://c.example.org/v")
    b = cert_pdf.render_certificate_pdf(data, verify_url="https://c.example.org/v")
    assert a == b


def test_pdf_photo_must_match_and_be_an_image():
    jpeg = _jpeg()
    with pytest.raises(ValueError, match="does not match"):
        cert_pdf.render_certificate_pdf(make_data(photo=jpeg), verify_url="https://x.org/v", photo=_png())
    with pytest.raises(ValueError, match="none was given"):
        cert_pdf.render_certificate_pdf(make_data(photo=jpeg), verify_url="https://x.org/v")
    with pytest.raises(ValueError, match="JPEG or PNG"):
        cert_pdf.render_certificate_pdf(make_data(photo=PHOTO[8:]), verify_url="https://x.org/v", photo=PHOTO[8:])
    with pytest.raises(ValueError, match="cannot be read"):
        cert_pdf.render_certificate_pdf(make_data(photo=PHOTO), verify_url="https://x.org/v", photo=PHOTO)


def test_fixed_wording_avoids_forbidden_words():
    # 人社鉴发〔2021〕1号 五(二): no 国家, 全国, 中华人民共和国, 职业资格 … on a certificate
    for text in cert_pdf.fixed_texts():
        for word in cert_pdf.FORBIDDEN_WORDS:
            assert word not in text, (word, text)


def test_long_names_still_render(tmp_path):
    data = make_data(agency="北京某某某某某某某某职业技能培训评价中心有限公司第一分公司（海淀区中关村科技园区）考核站点",
                     name="Alexandra Konstantinopoulou-Smith", id_type="passport", id_number="E12345678",
                     work_type="跨境电子商务运营与数据分析方向（综合）", photo=None)
    text = _pdftotext(cert_pdf.render_certificate_pdf(data, verify_url="https://c.example.org/v"), tmp_path)
    assert "Alexandra Konstantinopoulou-Smith" in text and "护照" in text


def test_dataclass_fields_match_signed_fields():
    assert tuple(f.name for f in dataclasses.fields(CertificateData)) == CERTIFICATE_FIELDS


def test_docstring_examples():
    import doctest

    from scoring.certificates import numbering, verification
    for module in (numbering, verification):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


def test_pdf_qr_code_encodes_the_verification_url(tmp_path):
    # no QR decoder is installed, so rasterise the page and compare the modules with segno's matrix
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    import segno
    from PIL import Image
    url = verification_url("https://c.example.org/verify", "Y000041010001244000037")
    path = tmp_path / "q.pdf"
    path.write_bytes(cert_pdf.render_certificate_pdf(make_data(photo=None), verify_url=url))
    subprocess.run(["pdftoppm", "-r", "400", "-gray", "-png", str(path), str(tmp_path / "q")], check=True)
    page = Image.open(next(tmp_path.glob("q*.png"))).convert("L")
    scale = page.width / cert_pdf.PAGE_W
    x, y, size = cert_pdf.qr_box()
    expected = [list(row) for row in segno.make(url, error="m", micro=False).matrix_iter(scale=1, border=2)]
    n, cell = len(expected), size / len(expected)
    seen = [[page.getpixel((int((x + (c + 0.5) * cell) * scale),
                            int((cert_pdf.PAGE_H - (y + size - (r + 0.5) * cell)) * scale))) < 128
             for c in range(n)] for r in range(n)]
    assert seen == [[bool(v) for v in row] for row in expected]
