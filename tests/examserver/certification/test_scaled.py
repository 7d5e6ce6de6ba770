"""Batch issuing on a real Celery worker through Redis, on PostgreSQL (scaled pass only).

A worker of a second deployment (its own, empty database) listens on the same Redis server all along, as a
staging and a production deployment sharing one Redis would: it must never take this deployment's tasks (it
would run them against its own database, find no such batch and leave the batch 'queued' for good).
"""
from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from itembank.core.audit import SYSTEM
from itembank.core.people import Account

from ...conftest import TEST_REDIS, _fresh_pg_database  # noqa: TID252

pytestmark = [pytest.mark.scaled, pytest.mark.slow]
ROOT = pathlib.Path(__file__).resolve().parents[3]


def _start_worker(env: dict, name: str, log_path: pathlib.Path) -> tuple[subprocess.Popen, object]:
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "examserver.cli", "worker", "--pool=threads", "--concurrency=2",
                             "-n", name], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, log


def _wait_for_worker(celery, proc: subprocess.Popen, name: str, log_path: pathlib.Path) -> None:
    """Until the worker called ``name`` answers a ping addressed to it (other workers on the broker may answer
    a broadcast ping)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, log_path.read_text()[-3000:]
        if celery.control.ping(destination=[name], timeout=1):
            return
    raise AssertionError(f"worker {name} did not come up: " + log_path.read_text()[-3000:])


def _stop(proc: subprocess.Popen, log) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    log.close()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    from examserver import create_app
    from examserver.demo import load_demo
    from examserver.migrate import upgrade
    host = socket.gethostname()
    # the neighbour: another deployment's worker on the same Redis, started first
    other_url, other_drop = _fresh_pg_database()
    upgrade(other_url)
    other_data = tmp_path_factory.mktemp("certs-scaled-neighbour")
    other_env = {**os.environ, "SKILLCERT_DATA_DIR": str(other_data), "SKILLCERT_DATABASE_URL": other_url,
                 "SKILLCERT_REDIS_URL": TEST_REDIS}
    other_name = f"neighbour-{os.getpid()}@{host}"
    other, other_log = _start_worker(other_env, other_name, other_data / "worker.log")

    url, drop = _fresh_pg_database()
    data = tmp_path_factory.mktemp("certs-scaled")
    env = {**os.environ, "SKILLCERT_DATA_DIR": str(data), "SKILLCERT_DATABASE_URL": url,
           "SKILLCERT_REDIS_URL": TEST_REDIS}
    upgrade(url)
    app = create_app({"TESTING": True}, env=env)
    with app.extensions["skillcert.db"].write_scope() as s:
        load_demo(s)
    name = f"certs-{os.getpid()}@{host}"
    worker, log = _start_worker(env, name, data / "worker.log")
    celery = app.extensions["celery"]
    _wait_for_worker(celery, other, other_name, other_data / "worker.log")
    _wait_for_worker(celery, worker, name, data / "worker.log")
    app.config["TEST_NEIGHBOUR_LOG"] = other_data / "worker.log"
    yield app
    _stop(worker, log)
    _stop(other, other_log)
    app.extensions["skillcert.db"].dispose()
    drop()
    other_drop()


def _wait(db, batch_id, timeout=120):
    from scoring.certification import CertificateBatch, batch_progress
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.read_scope() as s:
            prog = batch_progress(s, s.get(CertificateBatch, batch_id))
        if prog["status"] in ("done", "failed"):
            return prog
        time.sleep(0.3)
    raise AssertionError(f"batch {batch_id} did not finish: {prog}")


def test_a_batch_is_issued_by_the_worker_and_rerunning_it_issues_nothing_new(deployment):
    from examserver.certification.tasks import issue_batch, issue_chunk
    from examserver.certification import keys
    from itembank.core.reference import Site
    from scoring.certificates import verify
    from scoring.certification import Certificate, create_batch
    db = deployment.extensions["skillcert.db"]
    celery = deployment.extensions["celery"]
    assert not celery.conf.task_always_eager
    assert celery.conf.task_default_queue.startswith("skillcert.sc_test_")  # this deployment's own queue
    with db.write_scope() as s:
        rows = s.execute(select(Account.person_id).where(Account.username.like("cand%"))
                         .order_by(Account.username)).scalars().all()[3:12]
        site = s.scalar(select(Site))
        occ_id = s.scalar(select(Certificate.occupation_id))
        items = [{"person_id": p, "occupation_id": occ_id, "level": 3, "result_id": i} for i, p in enumerate(rows)]
        batch_id = create_batch(s, SYSTEM, site=site, issue_date=__import__("datetime").date(2026, 7, 1),
                                source_plan_id=77, items=items).id
    issue_batch.delay(batch_id, None, 2)  # chunks of 2: the worker's two threads issue concurrently
    prog = _wait(db, batch_id)
    assert (prog["status"], prog["issued"], prog["pdfs"], prog["failed"]) == ("done", 9, 9, 0)
    # the same chunks again, twice, at once: nothing new is issued and no number is used up
    results = [issue_chunk.delay(batch_id, 0, 9, None) for _ in range(2)]
    assert [r.get(timeout=60)["issued"] for r in results] == [9, 9]
    with db.read_scope() as s:
        certs = s.scalars(select(Certificate).where(Certificate.source_plan_id == 77)).all()
        assert sorted(c.serial for c in certs) == list(range(1, 10))
        for c in certs:
            verify(c.envelope, deployment.extensions[keys.EXTENSION].public_key)
            assert c.pdf_sha256
    neighbour = pathlib.Path(deployment.config["TEST_NEIGHBOUR_LOG"]).read_text()
    assert "Task skillcert.certification." not in neighbour, "another deployment's worker took this deployment's tasks"
