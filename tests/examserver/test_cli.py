"""The `skillcert` command line on a fresh data directory."""
from __future__ import annotations

from click.testing import CliRunner

from examserver.cli import cli


def run(tmp_path, *args, input=None):
    return CliRunner().invoke(cli, list(args), env={"SKILLCERT_DATA_DIR": str(tmp_path / "data")}, input=input)


def test_init_is_idempotent_and_demo_loads_once(tmp_path):
    assert run(tmp_path, "init").exit_code == 0
    assert run(tmp_path, "init").exit_code == 0
    r = run(tmp_path, "demo")
    assert r.exit_code == 0, r.output
    assert "cand001" in r.output and "skillcert-demo" in r.output
    again = run(tmp_path, "demo")
    assert again.exit_code != 0 and "already loaded" in again.output
    assert run(tmp_path, "demo", "--if-empty").exit_code == 0
    assert "audit chain OK" in run(tmp_path, "audit", "verify").output


def test_users_add_validates_and_audits(tmp_path):
    run(tmp_path, "init")
    bad = run(tmp_path, "users", "add", "--name", "张三", "--id-number", "110105194912310021", "--username",
              "zhangsan", "--role", "admin", "--password", "long-enough-1")
    assert bad.exit_code != 0 and "id_number" in bad.output and "校验码" in bad.output
    ok = run(tmp_path, "users", "add", "--name", "张三", "--id-number", "11010519491231002X", "--username",
             "zhangsan", "--role", "admin", "--password", "long-enough-1")
    assert ok.exit_code == 0, ok.output
    assert run(tmp_path, "audit", "checkpoint").exit_code == 0
    v = run(tmp_path, "audit", "verify")
    assert v.exit_code == 0 and "records: 3" in v.output  # person, account, role grant
