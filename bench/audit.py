"""Audit-trail throughput: 100,000 records from 8 concurrent writers, then a full chain verification.

Each record is its own write transaction (as when each change is audited where it happens),
so the figure includes the serialisation of writers (SQLite BEGIN IMMEDIATE; PostgreSQL
advisory lock). The peer run writes the same rows into an identical table with plain
inserts (no chaining, no lock) from the same 8 writers, side by side, so the ratio shows
what the chain costs on this machine.

Run: ``python -m bench.audit [--records N] [--writers W]``. PostgreSQL is measured too when
SKILLCERT_BENCH_DATABASE_URL (or SKILLCERT_TEST_DATABASE_URL) names a server.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import tempfile
import time

from sqlalchemy import create_engine, text

from bench._report import table, write_section


def _writer(args) -> list[float]:
    url, kind, n, wid = args
    from itembank.core import audit
    from itembank.core.audit import Actor
    from itembank.core.db import Database
    db = Database(url)
    audit.configure(None)
    actor = Actor(wid, f"writer{wid}", "admin")
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        with db.write_scope() as s:
            if kind == "chain":
                audit.record(s, actor, "bench.write", "thing", f"{wid}-{i}", {"i": i, "w": wid})
            else:
                s.execute(text("INSERT INTO audit_peer (seq, at, actor_id, actor_name, role, action, object_type, "
                               "object_id, changes, digest, prev_hash, hash) VALUES (:seq, CURRENT_TIMESTAMP, :a, "
                               ":n, 'admin', 'bench.write', 'thing', :o, :c, '', '', '')"),
                          {"seq": wid * 10_000_000 + i, "a": wid, "n": f"writer{wid}", "o": f"{wid}-{i}",
                           "c": f'{{"i":{i},"w":{wid}}}'})
        lat.append(time.perf_counter() - t0)
    db.dispose()
    return lat


def _prepare(url: str) -> None:
    from examserver.migrate import upgrade
    upgrade(url)
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("CREATE TABLE audit_peer AS SELECT * FROM audit_record WHERE 1 = 0"))
    eng.dispose()


def run_backend(label: str, url: str, records: int, writers: int) -> list[list[object]]:
    from itembank.core import audit
    from itembank.core.audit import Signer
    from itembank.core.db import Database
    _prepare(url)
    per = records // writers
    rows = []
    ctx = mp.get_context("spawn")
    for kind in ("chain", "peer"):
        t0 = time.perf_counter()
        with ctx.Pool(writers) as pool:
            lats = pool.map(_writer, [(url, kind, per, w) for w in range(writers)])
        wall = time.perf_counter() - t0
        flat = sorted(x for lat in lats for x in lat)
        rows.append((kind, per * writers / wall, statistics.median(flat) * 1e3, flat[int(len(flat) * 0.99)] * 1e3,
                     wall))
    db = Database(url)
    signer = Signer.generate()
    with db.write_scope() as s:
        audit.checkpoint(s, signer)
    t0 = time.perf_counter()
    with db.read_scope() as s:
        rep = audit.verify(s, signer.public_key)
    vt = time.perf_counter() - t0
    db.dispose()
    if not rep.ok or rep.records != per * writers:
        raise SystemExit(f"{label}: verification failed: {rep.problems[:3]} records={rep.records}")
    chain, peer = rows
    return [[label, f"{per * writers:,}", writers, f"{chain[1]:,.0f}", f"{chain[2]:.2f}", f"{chain[3]:.2f}",
             f"{peer[1]:,.0f}", f"{chain[1] / peer[1]:.2f}", f"{rep.records / vt:,.0f}", f"{vt:.2f}", "yes"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--pg-records", type=int, default=20_000,
                    help="records for the PostgreSQL run (each commit waits for its fsync under the chain lock)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        rows += run_backend("SQLite (embedded, WAL)", f"sqlite:///{d}/bench.db", a.records, a.writers)
    pg = os.environ.get("SKILLCERT_BENCH_DATABASE_URL") or os.environ.get("SKILLCERT_TEST_DATABASE_URL")
    if pg:
        from tests.pgscratch import create_database
        url, drop = create_database(pg, "sc_bench")
        try:
            rows += run_backend("PostgreSQL 15", url, a.pg_records, a.writers)
        finally:
            drop()
    headers = ["backend", "records", "writers", "chained writes/s", "p50 ms", "p99 ms", "peer plain inserts/s",
               "chained / peer", "verified records/s", "verify s", "chain valid"]
    body = table(headers, rows) + (
        "\n\nEach record is one write transaction. *Peer*: the same rows as plain inserts into an identical "
        "unchained table from the same writers, run side by side. Verification walks every record "
        "(digest, link, hash) and the signed checkpoint.")
    if a.no_write:
        print(body)
    else:
        write_section("audit", "Audit trail: concurrent chained writes and verification", body,
                      f"python -m bench.audit --records {a.records} --writers {a.writers} --pg-records {a.pg_records}")


if __name__ == "__main__":
    main()
