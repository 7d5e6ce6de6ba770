"""The audit trail catches every single-row edit, delete, insert and reorder, and a cut tail."""
from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from itembank.core import audit
from itembank.core.audit import SYSTEM, Actor, AuditCheckpoint, AuditRecord, Signer


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    """A data directory holding a freshly loaded demo database (built once, copied per case)."""
    d = tmp_path_factory.mktemp("demo") / "data"
    from examserver import create_app
    from examserver.demo import load_demo
    from examserver.migrate import upgrade
    from itembank.core.config import load_settings
    env = {"SKILLCERT_DATA_DIR": str(d)}
    upgrade(load_settings(env).database_url)
    app = create_app(env=env)
    with app.extensions["skillcert.db"].write_scope() as s:
        load_demo(s)
    app.extensions["skillcert.db"].dispose()
    return d


@pytest.fixture
def data_dir(demo_dir, tmp_path):
    d = tmp_path / "data"
    shutil.copytree(demo_dir, d)
    return d


def sqlite_shell(data_dir, sql: str) -> None:
    """Tamper as an attacker with file access would: through the sqlite3 shell when it is there."""
    path = str(data_dir / "skillcert.db")
    if shutil.which("sqlite3"):
        subprocess.run(["sqlite3", path], input=sql, text=True, check=True, capture_output=True)
    else:
        con = sqlite3.connect(path)
        con.executescript(sql)
        con.close()


def verify_cli(data_dir, *extra):
    from examserver.cli import cli
    r = CliRunner().invoke(cli, ["audit", "verify", *extra], env={"SKILLCERT_DATA_DIR": str(data_dir)})
    return r.exit_code, r.output


def test_fresh_demo_chain_verifies(data_dir):
    code, out = verify_cli(data_dir)
    assert code == 0, out
    assert "audit chain OK" in out


TAMPERS = {
    "edit change": ("UPDATE audit_record SET changes = '{\"name\":\"伪造\"}' WHERE seq = 40;", 40, "digest"),
    "edit actor": ("UPDATE audit_record SET actor_name = 'mallory' WHERE seq = 41;", 41, "hash does not match"),
    "edit time": ("UPDATE audit_record SET at = '2020-01-01 00:00:00.000000' WHERE seq = 42;", 42, "hash"),
    "delete": ("DELETE FROM audit_record WHERE seq = 43;", 44, "missing"),
    "insert at the end": ("INSERT INTO audit_record (seq, at, actor_id, actor_name, role, action, object_type, "
                          "object_id, changes, digest, prev_hash, hash) SELECT seq + 1, at, actor_id, 'mallory', role,"
                          " action, object_type, object_id, changes, digest, hash, hash FROM audit_record "
                          "WHERE seq = (SELECT max(seq) FROM audit_record);", "HEAD+1", "hash does not match"),
    "insert in the middle": ("UPDATE audit_record SET seq = -seq WHERE seq >= 45; "
                             "UPDATE audit_record SET seq = 1 - seq WHERE seq < 0; "
                             "INSERT INTO audit_record (seq, at, actor_id, actor_name, role, action, object_type, "
                             "object_id, changes, digest, prev_hash, hash) SELECT 45, at, actor_id, actor_name, role,"
                             " action, object_type, object_id, changes, digest, prev_hash, hash FROM audit_record "
                             "WHERE seq = 46;", 46, ""),
    "reorder (swap seq)": ("UPDATE audit_record SET seq = -46 WHERE seq = 46; UPDATE audit_record SET seq = 46 "
                           "WHERE seq = 47; UPDATE audit_record SET seq = 47 WHERE seq = -46;", 46, ""),
    "reorder (move a row last)": ("UPDATE audit_record SET id = (SELECT max(id) FROM audit_record) + 1 "
                                  "WHERE seq = 48;", 48, "out of order"),
}


@pytest.mark.parametrize("name", list(TAMPERS))
def test_each_single_row_tamper_is_caught_and_named(data_dir, name):
    sql, first_bad_seq, words = TAMPERS[name]
    if first_bad_seq == "HEAD+1":
        con = sqlite3.connect(data_dir / "skillcert.db")
        first_bad_seq = con.execute("SELECT max(seq) FROM audit_record").fetchone()[0] + 1
        con.close()
    sqlite_shell(data_dir, sql)
    code, out = verify_cli(data_dir)
    assert code == 1, out
    first = next(line for line in out.splitlines() if line.startswith("FIRST BAD"))
    assert f"seq={first_bad_seq} " in first, first
    assert words in out


def test_cutting_the_tail_past_a_checkpoint_is_caught(data_dir):
    con = sqlite3.connect(data_dir / "skillcert.db")
    (cp_seq,) = con.execute("SELECT max(seq) FROM audit_checkpoint").fetchone()
    con.close()
    sqlite_shell(data_dir, f"DELETE FROM audit_record WHERE seq > {cp_seq - 10};")
    code, out = verify_cli(data_dir)
    assert code == 1
    assert "tail was cut" in out and f"signed seq {cp_seq}" in out


def _rehash_from(con, start_seq: int) -> None:
    """An attacker who rewrites the whole chain after an edit, recomputing every digest and hash."""
    rows = con.execute("SELECT id, seq, at, actor_id, actor_name, role, action, object_type, object_id, changes "
                       "FROM audit_record ORDER BY seq").fetchall()
    import datetime as dt
    prev = audit.GENESIS
    for (rid, seq, at, actor_id, actor_name, role, action, otype, oid, changes) in rows:
        digest = hashlib.sha256(changes.encode()).hexdigest()
        at_dt = dt.datetime.fromisoformat(at)
        h = audit.record_hash(seq, at_dt, actor_id, actor_name, role, action, otype, oid, digest, prev)
        con.execute("UPDATE audit_record SET digest=?, prev_hash=?, hash=? WHERE id=?", (digest, prev, h, rid))
        prev = h
    con.commit()


def test_rewriting_the_whole_chain_is_caught_by_the_signed_checkpoint(data_dir):
    con = sqlite3.connect(data_dir / "skillcert.db")
    con.execute("UPDATE audit_record SET changes = '{\"name\":\"改写\"}' WHERE seq = 30")
    _rehash_from(con, 30)
    con.close()
    code, out = verify_cli(data_dir)
    assert code == 1
    assert "chain was rewritten" in out


def test_forged_checkpoint_fails_its_signature(data_dir):
    sqlite_shell(data_dir, "UPDATE audit_checkpoint SET head_hash = '" + "ab" * 32 + "';")
    code, out = verify_cli(data_dir)
    assert code == 1
    assert "signature is not valid" in out


def test_deleting_checkpoints_too_is_caught_by_the_exported_copy(data_dir, tmp_path):
    from examserver.cli import cli
    exported = tmp_path / "checkpoints.jsonl"
    r = CliRunner().invoke(cli, ["audit", "export", str(exported)], env={"SKILLCERT_DATA_DIR": str(data_dir)})
    assert r.exit_code == 0, r.output
    sqlite_shell(data_dir, "DELETE FROM audit_checkpoint; DELETE FROM audit_record WHERE seq > 100;")
    code, out = verify_cli(data_dir)
    assert code == 1 and "no signed checkpoint" in out
    code, out = verify_cli(data_dir, "--checkpoints", str(exported))
    assert code == 1 and "exported checkpoint" in out and "tail was cut" in out


def test_verify_with_a_foreign_public_key_fails(data_dir, tmp_path):
    pem = tmp_path / "other.pem"
    pem.write_bytes(Signer.generate().public_pem())
    code, out = verify_cli(data_dir, "--public-key", str(pem))
    assert code == 1 and "signed by key" in out


@pytest.mark.db
def test_concurrent_writers_form_one_valid_chain(db):
    signer = Signer.generate()
    audit.configure(signer, checkpoint_every=50)
    errors = []

    def writer(n: int) -> None:
        try:
            for i in range(40):
                with db.write_scope() as s:
                    audit.record(s, Actor(n, f"writer{n}", "admin"), "test.write", "thing", f"{n}-{i}", {"i": i})
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(repr(e))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read_scope() as s:
        rep = audit.verify(s, signer.public_key)
        seqs = s.scalars(select(AuditRecord.seq).order_by(AuditRecord.seq)).all()
        n_cp = len(s.scalars(select(AuditCheckpoint)).all())
    assert rep.ok, rep.problems
    assert seqs == list(range(1, 321))
    assert n_cp == 320 // 50


@pytest.mark.db
def test_record_rolls_back_with_the_change_it_describes(db):
    from itembank.core.reference import Occupation
    with pytest.raises(RuntimeError):
        with db.write_scope() as s:
            s.add(Occupation(code="1-01-01-01", name="x"))
            audit.record(s, SYSTEM, "occupation.create", "occupation", 1, {"code": "1-01-01-01"})
            raise RuntimeError("the change fails after its record was written")
    with db.read_scope() as s:
        assert s.scalar(select(AuditRecord).where(AuditRecord.action == "occupation.create")) is None
        assert s.scalar(select(Occupation)) is None


def test_action_must_name_object_and_verb(db):
    with db.write_scope() as s, pytest.raises(ValueError, match="object.verb"):
        audit.record(s, SYSTEM, "nonsense", "x", 1)
