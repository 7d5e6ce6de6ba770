"""Delivery under load: N simulated candidates (python-socketio AsyncClient, websocket) against the embedded
profile (``skillcert serve``: gevent, SQLite, every save committed before its ack) and, in the same run, a bare
Flask-SocketIO echo server (bench/delivery_echo.py) on the same machine.

Reports connect time, ack p50/p99, saves/s, server CPU and memory (RSS growth per connected candidate), errors
and lost answers (acked changes missing from the answer log, final answers older than the last ack). The load
generator runs on the same machine (one asyncio process), so it competes with the server for the cores; each
load is also run against the bare echo server, whose figures show what the machine and the generator allow.

Run: ``python -m bench.delivery [--n 2000 --period 5 --duration 60] [--saturate 200]``.
"""
from __future__ import annotations

import argparse
import asyncio
import pathlib
import random
import sys
import tempfile
import time

import psutil

from bench._report import table, write_section

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from tests.examserver.delivery.faults import Server, SimCandidate, SimStats, check_db, free_port, prepare  # noqa: E402


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))] * 1000 if xs else float("nan")


async def _drive(url: str, cands: list[dict], period: float, duration: float, proc: psutil.Process,
                 heartbeat: float) -> dict:
    stats = SimStats()
    sims = [SimCandidate(url, c, stats, random.Random(k), heartbeat=heartbeat) for k, c in enumerate(cands)]
    rss0 = proc.memory_info().rss
    t0 = time.perf_counter()
    for k in range(0, len(sims), 100):  # connect in waves of 100, as a room signs in
        await asyncio.gather(*(s.connect() for s in sims[k:k + 100]))
    connect_s = time.perf_counter() - t0
    await asyncio.sleep(2)
    rss1 = proc.memory_info().rss
    cpu0 = proc.cpu_times()
    t1 = time.perf_counter()
    until = time.monotonic() + duration
    await asyncio.gather(*(s.run(period, until) for s in sims))
    wall = time.perf_counter() - t1
    cpu1 = proc.cpu_times()
    await asyncio.gather(*(s.drain(30) for s in sims))
    await asyncio.gather(*(s.sio.disconnect() for s in sims))
    return {"sims": sims, "stats": stats, "connect_s": connect_s, "rss0": rss0, "rss1": rss1,
            "cpu": (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall, "wall": wall}


def run_ours(data: str, world: dict, n: int, period: float, duration: float, heartbeat: float) -> dict:
    server = Server(data)
    server.start()
    try:
        res = asyncio.run(_drive(server.url, world["candidates"][:n], period, duration,
                                 psutil.Process(server.proc.pid), heartbeat))
    finally:
        server.stop()
    res["lost"] = check_db(str(pathlib.Path(data) / "skillcert.db"), res["sims"])
    return res


def run_echo(cands: list[dict], period: float, duration: float, heartbeat: float) -> dict:
    port = free_port()
    d = tempfile.mkdtemp(prefix="sc-echo-")
    server = Server(d, port=port, cmd=[sys.executable, "-m", "bench.delivery_echo", str(port)])
    server.start()
    try:
        res = asyncio.run(_drive(server.url, cands, period, duration, psutil.Process(server.proc.pid), heartbeat))
    finally:
        server.stop()
    return res


def row(label: str, n: int, period: float, r: dict) -> list:
    st = r["stats"]
    lost = r.get("lost")
    return [label, n, f"1/{period:g}s", f"{r['connect_s']:.1f}", f"{pct(st.acks, .5):.0f}", f"{pct(st.acks, .99):.0f}",
            f"{len(st.acks) / r['wall']:.0f}", f"{r['cpu'] * 100:.0f}%",
            f"{(r['rss1'] - r['rss0']) / max(n, 1) / 1024:.0f}", st.errors + st.refused,
            "—" if lost is None else f"{lost['missing']} / {lost['older']}"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[2000, 5000])
    ap.add_argument("--period", type=float, nargs="+", default=[5.0, 10.0])
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--saturate", type=int, default=200, help="candidates saving as fast as acks return")
    ap.add_argument("--heartbeat", type=float, default=5.0)
    a = ap.parse_args()
    data = tempfile.mkdtemp(prefix="sc-bench-delivery-")
    t = time.time()
    world = prepare(data, max(max(a.n), a.saturate))
    print(f"prepared {len(world['candidates'])} started attempts in {time.time() - t:.0f} s", flush=True)
    rows = []
    for n, period in zip(a.n, a.period):
        r = run_ours(data, world, n, period, a.duration, a.heartbeat)
        rows.append(row("SkillCert (SQLite, commit before ack)", n, period, r))
        print(rows[-1], flush=True)
        # the same load on the bare echo server: what the machine and the load generator allow at this N
        e = run_echo(world["candidates"][:n], period, a.duration, a.heartbeat)
        rows.append(row("bare Flask-SocketIO echo, same load", n, period, e))
        print(rows[-1], flush=True)
    sat = run_ours(data, world, a.saturate, 0.01, 20, 0)
    rows.append(row("SkillCert at saturation", a.saturate, 0.01, sat))
    echo = run_echo(world["candidates"][:a.saturate], 0.01, 20, 0)
    rows.append(row("bare Flask-SocketIO echo at saturation", a.saturate, 0.01, echo))
    ratio = (len(sat["stats"].acks) / sat["wall"]) / max(1e-9, len(echo["stats"].acks) / echo["wall"])
    body = table(["server", "candidates", "saves each", "connect all (s)", "ack p50 (ms)", "ack p99 (ms)", "saves/s",
                  "server CPU", "server KB per candidate", "errors", "lost: missing / older"], rows)
    body += (f"\n\nOur saves/s at saturation are {ratio * 100:.0f}% of the bare echo server's (target ≥ 60%). "
             "Targets (2 cores, load generator included): 2,000 candidates at one save per 5 s with p99 < 150 ms and "
             "zero errors; 5,000 at one per 10 s with p99 < 300 ms; ≤ 100 KB server memory per connected candidate. "
             "Simulated candidates also send a heartbeat every "
             f"{a.heartbeat:g} s (the browser sends one every 2.5 s).")
    write_section("delivery", "Delivery: simulated candidates against the embedded profile", body,
                  "python -m bench.delivery " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
