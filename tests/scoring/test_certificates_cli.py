"""``skillcert certificates check|verify`` through click's CliRunner."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from examserver.cli_certificates import certificates
from scoring.certificates import CertificateData, generate_private_key, public_key_to_pem, sign


@pytest.fixture
def run():
    runner = CliRunner()
    return lambda *args: runner.invoke(certificates, list(args))


def test_check_national_prints_every_part(run):
    r = run("check", "Y000123000001195000001")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "编码 Code: Y000123000001195000001 (national)"
    assert "第1位 评价机构类别 agency category: Y 用人单位 (employer)" in lines
    assert any(l.startswith("第2-5位 评价机构代码 agency code: 0001 人力资源社会保障部备案") for l in lines)
    assert "第6-7位 省级代码 province code: 23 黑龙江省" in lines
    assert "第8-13位 评价机构（站点）序列码 site serial: 000001" in lines
    assert "第14-15位 证书核发年份 issue year: 19 → 2019" in lines
    assert "第16位 职业技能等级 skill level: 5 五级/初级工 (level 5 / junior worker)" in lines
    assert "第17-22位 证书序列码 certificate serial: 000001" in lines
    assert lines[-1] == "有效 VALID"


def test_check_henan_shows_city_and_site_kind(run):
    r = run("check", "Y000041129001245000001", "--scheme", "henan")
    assert r.exit_code == 0, r.output
    assert "第8-9位 省直或市级代码 city code: 12 三门峡市" in r.output
    assert "技工院校（技师学院）职业技能等级认定中心" in r.output


def test_check_special(run):
    r = run("check", "201601500000001", "--scheme", "special")
    assert r.exit_code == 0, r.output
    assert "第3-10位 考核机构代码 assessment agency code: 16015000" in r.output
    assert "第11-15位 证书流水编码 certificate serial: 00001" in r.output


def test_check_seed_example_needs_the_placeholder_flag(run):
    # 人社鉴发〔2019〕2号 附件1 示例 1
    r = run("check", "Y000123XXXXXX195000001")
    assert r.exit_code == 1
    assert "第8-13位" in r.output and "position 8 is 'X'" in r.output
    r = run("check", "Y000123XXXXXX195000001", "--allow-placeholders")
    assert r.exit_code == 0 and "占位符" in r.output.splitlines()[-1]
    # 豫职鉴〔2020〕2号 附件1 示例 5, typed with the seed's spaces
    r = run("check", "Y 0000 41 12 XXXX 19 5 000001", "--scheme", "henan", "--allow-placeholders")
    assert r.exit_code == 0 and "12 三门峡市" in r.output


@pytest.mark.parametrize("code,scheme,zh,en", [
    ("Y00012300000119500000", "national", "应为22位", "got 21"),
    ("Q000123000001195000001", "national", "第1位", "position 1 (agency category)"),
    ("Y000199000001195000001", "national", "第6-7位", "'99' is not in table 4"),
    ("Y000123000001190000001", "national", "第16位", "got 0"),
    ("Y000123000001196000001", "national", "第16位", "got 6"),
    ("Y000123000001195000000", "national", "第17-22位", "got 000000"),
    ("Y000041300001195000001", "henan", "第8-9位", "'30' is not in table 5"),
    ("Y000041009001195000001", "national", None, None),  # valid nationally; Henan infers a technical school
    ("201601400000001", "special", "第7位", "always 5"),
])
def test_check_invalid_exits_1_with_the_reason(run, code, scheme, zh, en):
    r = run("check", code, "--scheme", scheme)
    if zh is None:
        assert r.exit_code == 0
        return
    assert r.exit_code == 1
    out = r.output
    assert out.startswith("无效 INVALID: ") and zh in out and en in out
    assert "VALID\n" not in out.replace("INVALID", "")


def test_check_as_of(run):
    assert run("check", "Y000123000001255000001", "--as-of", "2025-01-01").exit_code == 0
    r = run("check", "Y000123000001265000001", "--as-of", "2025-12-31")
    assert r.exit_code == 1 and "2026" in r.output


def test_check_rejects_unknown_scheme(run):
    r = run("check", "Y000123000001195000001", "--scheme", "beijing")
    assert r.exit_code == 2


def test_verify_command(run, tmp_path):
    key = generate_private_key()
    data = CertificateData.build(name="张三", id_type="resident_id", id_number="410102199001011234",
                                 occupation_name="车工", occupation_code="6-18-01-01", level=4,
                                 certificate_number="Y000041010001244000037", agency="郑州精密机械制造有限公司",
                                 issue_date=dt.date(2024, 6, 30))
    env = sign(data, key)
    cert, pub = tmp_path / "c.json", tmp_path / "k.pem"
    cert.write_text(json.dumps(env, ensure_ascii=False), encoding="utf-8")
    pub.write_bytes(public_key_to_pem(key))
    r = run("verify", str(cert), str(pub))
    assert r.exit_code == 0, r.output
    assert "工种/职业方向 Job: ——" in r.output and r.output.splitlines()[-1].startswith("有效 VALID")
    env["certificate"]["name"] = "李四"
    cert.write_text(json.dumps(env, ensure_ascii=False), encoding="utf-8")
    r = run("verify", str(cert), str(pub))
    assert r.exit_code == 1 and "INVALID" in r.output


def test_cli_module_imports_only_click_and_scoring_certificates():
    import ast
    import pathlib

    import examserver.cli_certificates as mod
    tree = ast.parse(pathlib.Path(mod.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported == {"__future__", "click", "scoring.certificates"}
