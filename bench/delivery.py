"""Delivery under load: N simulated candidates (python-socketio AsyncClient, websocket) against the embedded
profile (``skillcert serve``: gevent, SQLite, every save committed before its ack) and, in the same run, a bare
Flask-SocketIO echo server (bench/delivery_echo.py) on the same machine.

Reports connect time, ack p50/p99, saves/s, server CPU and memory (RSS growth per connected candidate), errors
and lost answers (acked changes missing from the answer log, final answers older than the last ack). The load
generator runs on the same machine (--generators asyncio processes, 2 by default), so it competes with the server for the cores; each
load is also run against the bare echo server, whose figures show what the machine and the generator allow.

Run: ``python -m bench.delivery [--n 2000 --period 5 --duration 60] [--saturate 200]``.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import os
import pathlib
import random
import statistics
import sys
import tempfile
import time
from types import SimpleNamespace

import psutil

from bench._report import table, write_section

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from tests.examserver.delivery.faults import Server, SimCandidate, SimStats, check_db, free_port, prepare  # noqa: E402


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))] * 1000 if xs else float("nan")


def _generator(conn, url: str, cands: list[dict], seed: int, period: float, duration: float,
               heartbeat: float) -> None:
    """One load-generator process: connect its share, wait for "go", run, drain, report."""
    asyncio.run(_generate(conn, url, cands, seed, period, duration, heartbeat))


async def _generate(conn, url, cands, seed, period, duration, heartbeat) -> None:
    loop = asyncio.get_running_loop()
    stats = SimStats()
    sims = [SimCandidate(url, c, stats, random.Random(seed + k), heartbeat=heartbeat) for k, c in enumerate(cands)]
    t0 = time.perf_counter()
    for k in range(0, len(sims), 50):  # connect in waves, as a room signs in
        await asyncio.gather(*(s.connect() for s in sims[k:k + 50]))
    conn.send(("connected", time.perf_counter() - t0))
    # the generator's own garbage collector pauses (100+ ms over thousands of clients) would be counted as
    # server latency: everything allocated so far is permanent, and cycles wait until the run is over
    gc.collect()
    gc.freeze()
    gc.disable()
    until = await loop.run_in_executor(None, conn.recv)   # the same CLOCK_MONOTONIC in every process
    await asyncio.gather(*(s.run(period, until) for s in sims))
    conn.send(("ran", None))
    await asyncio.gather(*(s.drain(30) for s in sims))
    await asyncio.gather(*(s.close() for s in sims))
    conn.send(("done", {"stats": stats,
                        "sims": [SimpleNamespace(cand={"attempt": s.cand["attempt"]}, all_acked=s.all_acked,
                                                 acked=s.acked) for s in sims]}))


def _drive(url: str, cands: list[dict], period: float, duration: float, proc: psutil.Process,
           heartbeat: float, generators: int) -> dict:
    """Split the candidates over ``generators`` processes (one asyncio process cannot keep 5,000 sockets busy
    on its one core); measure the server from here while they run."""
    ctx = mp.get_context("spawn")
    rss0 = proc.memory_info().rss
    t0 = time.perf_counter()
    pipes, procs = [], []
    for g in range(generators):
        here, there = ctx.Pipe()
        p = ctx.Process(target=_generator, args=(there, url, cands[g::generators], g * 100_000, period, duration,
                                                 heartbeat), daemon=True)
        p.start()
        pipes.append(here)
        procs.append(p)

    def expect(conn, what: str, timeout: float):
        if not conn.poll(timeout):
            raise RuntimeError(f"load generator: no '{what}' within {timeout:.0f} s")
        kind, value = conn.recv()
        if kind != what:
            raise RuntimeError(f"load generator: expected '{what}', got '{kind}'")
        return value
    for c in pipes:
        expect(c, "connected", 600)
    connect_s = time.perf_counter() - t0
    time.sleep(2)
    rss1 = proc.memory_info().rss
    gens = [psutil.Process(p.pid) for p in procs]
    cpu0, gcpu0 = proc.cpu_times(), [g.cpu_times() for g in gens]
    t1 = time.perf_counter()
    until = time.monotonic() + duration
    for c in pipes:
        c.send(until)
    for c in pipes:
        expect(c, "ran", duration + 120)
    wall = time.perf_counter() - t1
    cpu1, gcpu1 = proc.cpu_times(), [g.cpu_times() for g in gens]
    gen_cpu = sum(b.user + b.system - a.user - a.system for a, b in zip(gcpu0, gcpu1)) / wall
    stats, sims = SimStats(), []
    for c in pipes:
        part = expect(c, "done", 300)
        st = part["stats"]
        stats.acks += st.acks
        stats.acked_at += st.acked_at
        stats.connect += st.connect
        stats.errors += st.errors
        stats.beats += st.beats
        stats.refused += st.refused
        stats.sent += st.sent
        for code, k in st.codes.items():
            stats.codes[code] = stats.codes.get(code, 0) + k
        sims += part["sims"]
    for p in procs:
        p.join(30)
    if os.environ.get("SKILLCERT_BENCH_TIMELINE"):   # exploratory: where in the run the slow acks fall
        slow = sorted(round(at - (until - duration), 1) for at, lat in zip(stats.acked_at, stats.acks) if lat > 0.1)
        print("acks slower than 100 ms, seconds into the run:", slow, flush=True)
    return {"sims": sims, "stats": stats, "connect_s": connect_s, "rss0": rss0, "rss1": rss1,
            "cpu": (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall, "gen_cpu": gen_cpu, "wall": wall}


def _world(data: str | None, n: int) -> tuple[str, dict]:
    """A prepared sitting of at least ``n`` started attempts; kept in ``data`` (--data) to be reused."""
    if data and (pathlib.Path(data) / "world.json").exists():
        world = json.loads((pathlib.Path(data) / "world.json").read_text())
        if len(world["candidates"]) >= n:
            return data, world
        raise SystemExit(f"{data} holds {len(world['candidates'])} candidates; {n} needed: use a new --data")
    data = data or tempfile.mkdtemp(prefix="sc-bench-delivery-")
    pathlib.Path(data).mkdir(parents=True, exist_ok=True)
    t = time.time()
    world = prepare(data, n)
    (pathlib.Path(data) / "world.json").write_text(json.dumps(world))
    print(f"prepared {len(world['candidates'])} started attempts in {time.time() - t:.0f} s", flush=True)
    return data, world


def run_ours(data: str, world: dict, n: int, period: float, duration: float, heartbeat: float,
             generators: int) -> dict:
    server = Server(data)
    server.start()
    try:
        res = _drive(server.url, world["candidates"][:n], period, duration, psutil.Process(server.proc.pid),
                     heartbeat, generators)
    finally:
        server.stop()
    res["lost"] = check_db(str(pathlib.Path(data) / "skillcert.db"), res["sims"])
    return res


def run_echo(cands: list[dict], period: float, duration: float, heartbeat: float, generators: int) -> dict:
    port = free_port()
    d = tempfile.mkdtemp(prefix="sc-echo-")
    server = Server(d, port=port, cmd=[sys.executable, "-m", "bench.delivery_echo", str(port)])
    server.start()
    try:
        res = _drive(server.url, cands, period, duration, psutil.Process(server.proc.pid), heartbeat, generators)
    finally:
        server.stop()
    return res


def metrics(r: dict, n: int) -> dict:
    st, lost = r["stats"], r.get("lost")
    return {"connect": r["connect_s"], "p50": pct(st.acks, .5), "p99": pct(st.acks, .99),
            "saves": len(st.acks) / r["wall"], "beats": st.beats / r["wall"], "cpu": r["cpu"] * 100,
            "gen_cpu": r["gen_cpu"] * 100, "kb": (r["rss1"] - r["rss0"]) / max(n, 1) / 1024,
            "errors": st.errors + st.refused, "lost": None if lost is None else (lost["missing"], lost["older"])}


def row(label: str, n: int, period: float, runs: list[dict]) -> list:
    """Medians over the runs; errors and lost answers summed over them; every run's p99 shown."""
    med = {k: statistics.median(m[k] for m in runs) for k in ("connect", "p50", "p99", "saves", "beats", "cpu",
                                                              "gen_cpu", "kb")}
    lost = [m["lost"] for m in runs if m["lost"] is not None]
    return [label, n, f"1/{period:g}s", f"{med['connect']:.1f}", f"{med['p50']:.0f}", f"{med['p99']:.0f}",
            " / ".join(f"{m['p99']:.0f}" for m in runs), f"{med['saves']:.0f}", f"{med['beats']:.0f}",
            f"{med['cpu']:.0f}%", f"{med['gen_cpu']:.0f}%", f"{med['kb']:.0f}", sum(m["errors"] for m in runs),
            "—" if not lost else f"{sum(x[0] for x in lost)} / {sum(x[1] for x in lost)}"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[2000, 5000])
    ap.add_argument("--period", type=float, nargs="+", default=[5.0, 10.0])
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--saturate", type=int, default=200, help="candidates saving as fast as acks return (0: skip)")
    ap.add_argument("--heartbeat", type=float, default=2.5, help="s between heartbeats until the server sets the pace "
                    "(the browser's: 2.5; 0: no heartbeats)")
    ap.add_argument("--generators", type=int, default=2, help="load-generator processes")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each load (the table shows medians)")
    ap.add_argument("--data", help="keep the prepared sitting here and reuse it on the next run")
    ap.add_argument("--no-echo", action="store_true", help="skip the echo server (exploratory runs only)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    a = ap.parse_args()
    data, world = _world(a.data, max(max(a.n), a.saturate))
    g, reps = a.generators, a.repeat
    loads = [(n, period, a.duration, a.heartbeat) for n, period in zip(a.n, a.period)]
    if a.saturate:
        loads.append((a.saturate, 0.01, 20.0, 0.0))
    ours: dict[int, list[dict]] = {k: [] for k in range(len(loads))}
    echo: dict[int, list[dict]] = {k: [] for k in range(len(loads))}
    for rep in range(reps):  # each repetition runs every load on both servers, side by side
        for k, (n, period, duration, beat) in enumerate(loads):
            ours[k].append(metrics(run_ours(data, world, n, period, duration, beat, g), n))
            print(f"run {rep + 1}/{reps}: SkillCert, {n} candidates, 1 save/{period:g}s:", ours[k][-1], flush=True)
            if not a.no_echo:
                # the same load on the bare echo server: what the machine and the load generator allow at this N
                echo[k].append(metrics(run_echo(world["candidates"][:n], period, duration, beat, g), n))
                print(f"run {rep + 1}/{reps}: echo, {n} candidates, 1 save/{period:g}s:", echo[k][-1], flush=True)
    rows, ratio = [], None
    for k, (n, period, _, _) in enumerate(loads):
        sat = a.saturate and k == len(loads) - 1
        rows.append(row("SkillCert at saturation" if sat else "SkillCert (SQLite, commit before ack)", n, period,
                        ours[k]))
        if echo[k]:
            rows.append(row("bare Flask-SocketIO echo at saturation" if sat else "bare Flask-SocketIO echo, same load",
                            n, period, echo[k]))
        if sat and echo[k]:
            ratio = statistics.median(o["saves"] / max(1e-9, e["saves"]) for o, e in zip(ours[k], echo[k]))
    body = table(["server", "candidates", "saves each", "connect all (s)", "ack p50 (ms)", "ack p99 (ms)",
                  "p99 of each run (ms)", "saves/s",
                  "heartbeats/s", "server CPU", "generator CPU", "server KB per candidate", "errors", "lost: missing / older"], rows)
    if ratio is not None:
        body += (f"\n\nOur saves/s at saturation are {ratio * 100:.0f}% of the bare echo server's (median of the "
                 "runs side by side; target ≥ 60%).")
    body += (f"\n\nEach figure is the median of {reps} runs (errors and lost answers: the sum over them). "
             "Targets (2 cores, load generator included): 2,000 candidates at one save per 5 s with p99 < 150 ms "
             "and zero errors; 5,000 at one per 10 s with p99 < 300 ms; ≤ 100 KB server memory per connected "
             f"candidate. The load generator is {g} asyncio processes on the same machine. Simulated candidates also "
             "beat on a timer of their own at the pace the server asks for, as the browser does (every 2.5 s up to "
             "1,250 candidates on a process, then slower so that heartbeats stay within ~500 a second).")
    if a.no_write or a.no_echo:
        print(body)
        return
    write_section("delivery", "Delivery: simulated candidates against the embedded profile", body,
                  "python -m bench.delivery " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
