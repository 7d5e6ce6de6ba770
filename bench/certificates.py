"""Certificate issuing throughput: one exam plan's certificates (numbers, signatures, PDFs) on Celery workers.

Scaled profile: a fresh PostgreSQL database, Redis as the broker, and real worker processes
(``python -m examserver.cli worker``, prefork pool, one process each). The batch task fans the plan
out into chunks; each certificate is numbered, signed and audited in its own short transaction,
then its PDF is rendered outside any transaction and attached (and audited) in a second one.

The peer is the same issuance in-process and single-threaded on its own fresh database: one
transaction per certificate that numbers, signs, renders the PDF and audits (``issue_certificate``
with ``render_pdf=True``), as a simple loop would do it.

Afterwards both runs are checked: serials exactly 1..n, numbers unique, every envelope verifies
with the published public key, every certificate has its PDF.

Run: ``eval "$(bash .ci/services.sh)"; python -m bench.certificates [--count 10000] [--workers 2]
[--peer-count N]``. Setting up the people is bulk-inserted (not timed, not audited).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

from sqlalchemy import func, insert, select

from bench._report import table, write_section

ROOT = pathlib.Path(__file__).resolve().parent.parent
ISSUE_DATE = dt.date(2026, 7, 20)
PLAN_ID = 1


def _fresh_db(base_url: str) -> tuple[str, callable]:
    from tests.pgscratch import create_database
    return create_database(base_url, "sc_bench_certs")


def _resident_ids(n: int) -> list[str]:
    from itembank.core.idcard import resident_check_digit
    out = []
    for i in range(n):
        birth = dt.date(1980, 1, 1) + dt.timedelta(days=i // 900)
        first17 = f"410102{birth:%Y%m%d}{i % 900 + 100:03d}"
        out.append(first17 + resident_check_digit(first17))
    return out


def _seed(db, n: int) -> dict:
    """Occupation, agency, site, scope (audited, as in production) and n people (bulk, not audited)."""
    from itembank.core import directory
    from itembank.core.audit import SYSTEM
    from itembank.core.people import Person
    with db.write_scope() as s:
        occ = directory.create_occupation(s, SYSTEM, code="6-18-01-01", name="车工", work_types=["数控车床"])
        ag = directory.create_agency(s, SYSTEM, name="郑州精工职业技能评价中心", category="S", agency_code="0000")
        site = directory.add_site(s, SYSTEM, ag, name="中原站点", province_code="41", site_serial="010001")
        directory.approve_scope(s, SYSTEM, ag, occupation=occ, levels=[5, 4, 3])
        rows = [{"name": f"考生{i:05d}", "id_type": "resident_id", "id_number": idn, "phone": "", "employer": "",
                 "photo_mime": ""} for i, idn in enumerate(_resident_ids(n))]
        s.execute(insert(Person), rows)
        ids = s.scalars(select(Person.id).order_by(Person.id)).all()
        return {"occupation_id": occ.id, "site_id": site.id, "person_ids": ids}


def _items(world: dict) -> list[dict]:
    return [{"person_id": pid, "occupation_id": world["occupation_id"], "level": 4, "result_id": i + 1}
            for i, pid in enumerate(world["person_ids"])]


def _check(db, public_key, n: int) -> dict:
    """Gap-free serials, unique numbers, every envelope verifies, every PDF present."""
    from scoring.certificates import verify
    from scoring.certification import Certificate
    with db.read_scope() as s:
        serials = sorted(s.scalars(select(Certificate.serial)))
        numbers = s.scalar(select(func.count(func.distinct(Certificate.number))))
        pdfs = s.scalar(select(func.count(Certificate.id)).where(Certificate.pdf.is_not(None)))
        bad = 0
        for env in s.scalars(select(Certificate.envelope)):
            try:
                verify(env, public_key)
            except Exception:  # noqa: BLE001 - counted
                bad += 1
    assert serials == list(range(1, n + 1)), "serials are not exactly 1..n"
    assert numbers == n and pdfs == n and bad == 0, (numbers, pdfs, bad)
    return {"serials": f"1..{n}", "pdfs": pdfs, "bad_signatures": bad}


def _start_workers(env: dict, count: int, log_dir: pathlib.Path) -> list[subprocess.Popen]:
    procs = []
    for k in range(count):
        log = open(log_dir / f"worker{k}.log", "w")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "examserver.cli", "worker", "--pool=prefork", "--concurrency=1",
             "-n", f"bench-certs-{k}-{os.getpid()}@%h", "--loglevel=WARNING"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    return procs


def run_workers(base_url: str, redis_url: str, n: int, workers: int) -> dict:
    from examserver import create_app
    from examserver.migrate import upgrade
    from itembank.core.audit import SYSTEM
    from scoring.certification import CertificateBatch, batch_progress, create_batch
    url, drop = _fresh_db(base_url)
    data_dir = pathlib.Path(tempfile.mkdtemp(prefix="bench-certs-"))
    env = {**os.environ, "SKILLCERT_DATA_DIR": str(data_dir), "SKILLCERT_DATABASE_URL": url,
           "SKILLCERT_REDIS_URL": redis_url, "SKILLCERT_PUBLIC_URL": "https://cert.example.org"}
    procs: list[subprocess.Popen] = []
    try:
        upgrade(url)
        app = create_app({}, env=env)
        assert app.config["SKILLCERT_SETTINGS"].profile == "scaled"
        db, celery = app.extensions["skillcert.db"], app.extensions["celery"]
        import redis
        redis.Redis.from_url(redis_url).flushdb()  # the bench's own Redis database: no stale tasks
        world = _seed(db, n)
        from itembank.core.reference import Site
        with db.write_scope() as s:
            batch = create_batch(s, SYSTEM, site=s.get(Site, world["site_id"]), issue_date=ISSUE_DATE,
                                 source_plan_id=PLAN_ID, items=_items(world))
            batch_id = batch.id
        procs = _start_workers(env, workers, data_dir)
        deadline = time.monotonic() + 90
        while len(celery.control.ping(timeout=1)) < workers:
            assert time.monotonic() < deadline, "workers did not come up: see " + str(data_dir)
            assert all(p.poll() is None for p in procs), (data_dir / "worker0.log").read_text()[-3000:]
        from examserver.certification.tasks import issue_batch
        t0 = time.perf_counter()
        issue_batch.delay(batch_id, None)
        t_issued = None
        last = time.monotonic()
        while True:
            time.sleep(0.5)
            with db.read_scope() as s:
                prog = batch_progress(s, s.get(CertificateBatch, batch_id))
            if t_issued is None and prog["issued"] >= n:
                t_issued = time.perf_counter() - t0
            if prog["status"] in ("done", "failed"):
                break
            if time.monotonic() - last > 15:
                print(f"  workers: {prog['issued']}/{n} issued, {prog['pdfs']} PDFs", flush=True)
                last = time.monotonic()
            assert all(p.poll() is None for p in procs), "a worker died"
        elapsed = time.perf_counter() - t0
        assert prog["status"] == "done" and prog["failed"] == 0, prog
        from examserver.certification import keys
        checked = _check(db, keys.issuer().public_key, n)
        app.extensions["skillcert.db"].dispose()
        return {"elapsed": elapsed, "issued_at": t_issued or elapsed, **checked}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        drop()


def run_peer(base_url: str, n: int) -> dict:
    from itembank.core.audit import SYSTEM
    from itembank.core.db import Database
    from itembank.core.people import Person
    from itembank.core.reference import Occupation, Site
    from examserver.migrate import upgrade
    from scoring.certificates import generate_private_key
    from scoring.certification import Issuer, issue_certificate
    url, drop = _fresh_db(base_url)
    try:
        upgrade(url)
        db = Database(url)
        world = _seed(db, n)
        issuer = Issuer(generate_private_key(), "https://cert.example.org/verify")
        t0 = time.perf_counter()
        last = time.monotonic()
        for k, it in enumerate(_items(world)):
            with db.write_scope() as s:
                issue_certificate(s, SYSTEM, issuer=issuer, person=s.get(Person, it["person_id"]),
                                  occupation=s.get(Occupation, it["occupation_id"]), work_type=None,
                                  level=it["level"], site=s.get(Site, world["site_id"]), issue_date=ISSUE_DATE,
                                  source_plan_id=PLAN_ID, source_result_id=it["result_id"], render_pdf=True)
            if time.monotonic() - last > 15:
                print(f"  in-process: {k + 1}/{n}", flush=True)
                last = time.monotonic()
        elapsed = time.perf_counter() - t0
        checked = _check(db, issuer.public_key, n)
        db.dispose()
        return {"elapsed": elapsed, **checked}
    finally:
        drop()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000, help="certificates issued by the workers")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (prefork, one process each)")
    ap.add_argument("--peer-count", type=int, default=None, help="certificates in the in-process run (default: --count)")
    args = ap.parse_args(argv)
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop workers, drop DBs
    base = os.environ.get("SKILLCERT_BENCH_DATABASE_URL") or os.environ.get("SKILLCERT_TEST_DATABASE_URL")
    redis_base = os.environ.get("SKILLCERT_BENCH_REDIS_URL") or os.environ.get("SKILLCERT_TEST_REDIS_URL")
    if not (base and base.startswith("postgresql") and redis_base):
        sys.exit('needs PostgreSQL and Redis: eval "$(bash .ci/services.sh)" first')
    redis_url = re.sub(r"/\d+$", "", redis_base) + "/13"  # a Redis database of its own
    peer_n = args.peer_count or args.count
    print(f"workers: {args.count} certificates on {args.workers} Celery workers …", flush=True)
    load0 = os.getloadavg()[0]
    w = run_workers(base, redis_url, args.count, args.workers)
    load1 = os.getloadavg()[0]
    print(f"in-process: {peer_n} certificates, single thread …", flush=True)
    p = run_peer(base, peer_n)
    load2 = os.getloadavg()[0]
    rows = [
        [f"Celery, {args.workers} worker processes (PostgreSQL + Redis)", args.count, f"{w['elapsed']:.1f}",
         f"{args.count / w['elapsed']:.1f}", f"{w['issued_at']:.1f}", w["serials"], w["bad_signatures"]],
        ["in-process, single thread (peer)", peer_n, f"{p['elapsed']:.1f}", f"{peer_n / p['elapsed']:.1f}", "—",
         p["serials"], p["bad_signatures"]],
    ]
    body = table(["run", "certificates", "seconds", "certificates/s", "all numbered+signed after s",
                  "serials (checked)", "bad signatures"], rows)
    body += (f"\n\nEach certificate: a gap-free serial (counter row upsert), an Ed25519-signed envelope, an "
             f"A4 PDF with QR code (~6.5 kB, no photo), audit records; all on PostgreSQL. Workers number and sign "
             f"in a short transaction and render the PDF outside it (attached in a second transaction); the peer "
             f"does all of it in one transaction per certificate. {os.cpu_count()} CPU cores are shared by the "
             f"workers, PostgreSQL and Redis, so the speed-up is bounded by the cores, not the worker count. "
             f"Checks after each run: serials exactly 1..n, every envelope verifies, every PDF present.")
    body += (f"\n\nLoad average (1 min) when each run started/ended: workers {load0:.1f}/{load1:.1f}, peer "
             f"{load1:.1f}/{load2:.1f}; other processes on this machine were competing for its {os.cpu_count()} "
             f"cores, so treat the absolute rates as lower bounds.")
    if peer_n != args.count:
        body += f"\n\nThe peer issued {peer_n} certificates (not {args.count}) to save time; its rate is per certificate."
    write_section("certificates", "Certificate issuing (numbers, signatures, PDFs)", body,
                  "python -m bench.certificates " + " ".join(argv if argv is not None else sys.argv[1:]))


if __name__ == "__main__":
    main()
