"""Shared by the fault test and bench/delivery: prepare a started sitting and drive simulated candidates.

Each simulated candidate is a python-socketio AsyncClient on ``/exam`` doing what the browser does: every
change gets the next seq and waits in an outbox until its ack; after a reconnect the outbox is resent.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import pathlib
import random
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(data_dir: str, candidates: int, *, env_extra: dict | None = None) -> dict:
    """init + demo + a sitting of ``candidates``, opened and started; returns tokens and item ids."""
    env = {**os.environ, "SKILLCERT_DATA_DIR": data_dir, **(env_extra or {})}
    for var in ("SKILLCERT_DATABASE_URL", "SKILLCERT_REDIS_URL"):
        if var not in (env_extra or {}):
            env.pop(var, None)
    cli = [sys.executable, "-m", "examserver.cli"]
    subprocess.run(cli + ["init"], env=env, cwd=ROOT, check=True, capture_output=True)
    code = (
        "import json, sys, datetime as dt\n"
        "from examserver import create_app\n"
        "from examserver.demo import load_demo\n"
        "from examserver.delivery import operations as ops, tokens\n"
        "from examserver.delivery.demo import build_sitting\n"
        "from examserver.administration.models import ExamSession\n"
        "from itembank.core.audit import SYSTEM\n"
        "from itembank.core.db import utcnow\n"
        "app = create_app(); db = app.extensions['skillcert.db']\n"
        "with db.write_scope() as s: load_demo(s)\n"
        f"with db.write_scope() as s: sit = build_sitting(s, candidates={candidates}, starts_in=dt.timedelta(minutes=-1), duration_minutes=240)\n"
        "out = []\n"
        "with app.app_context():\n"
        "    with db.write_scope() as s:\n"
        "        now = utcnow()\n"
        "        ops.open_session(s, SYSTEM, s.get(ExamSession, sit.session_id), now=now)\n"
        "        for k, (t, i) in enumerate(sit.tickets):\n"
        "            a = ops.candidate_sign_in(s, ticket_number=t, id_number=i, access_code=sit.access_code, device_id=f'sim-{k:06d}', now=now)\n"
        "            ops.start_attempt(s, a, now=now)\n"
        "            items = [it['paper_item_id'] for sec in ops.paper_for(s, a)['sections'] for it in sec['items']]\n"
        "            out.append({'attempt': a.id, 'token': tokens.issue(a.id, f'sim-{k:06d}', a.person_id), 'items': items})\n"
        "json.dump({'session_id': sit.session_id, 'room_ids': sit.room_ids, 'candidates': out}, sys.stdout)\n")
    res = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    import json
    return json.loads(res.stdout.strip().splitlines()[-1])


class Server:
    """``skillcert serve`` in a subprocess that can be killed with SIGKILL and started again."""

    def __init__(self, data_dir: str, port: int | None = None, env_extra: dict | None = None, cmd=None):
        self.env = {**os.environ, "SKILLCERT_DATA_DIR": data_dir, **(env_extra or {})}
        for var in ("SKILLCERT_DATABASE_URL", "SKILLCERT_REDIS_URL"):
            if var not in (env_extra or {}):
                self.env.pop(var, None)
        self.port = port or free_port()
        self.cmd = cmd or [sys.executable, "-m", "examserver.cli", "serve", "--port", str(self.port)]
        self.proc: subprocess.Popen | None = None
        self.log = open(pathlib.Path(data_dir) / f"serve-{self.port}.log", "ab")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: float = 60) -> None:
        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1)
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("server exited: see " + self.log.name)
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: no cleanup, no flush
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


@dataclasses.dataclass
class SimStats:
    acks: list[float] = dataclasses.field(default_factory=list)   # ack latency, seconds
    acked_at: list[float] = dataclasses.field(default_factory=list)  # when each ack arrived (time.monotonic())
    connect: list[float] = dataclasses.field(default_factory=list)
    errors: int = 0
    beats: int = 0
    refused: int = 0
    sent: int = 0
    codes: dict = dataclasses.field(default_factory=dict)


class SimCandidate:
    """One simulated browser: outbox, per-attempt seq, resend on reconnect, acked bookkeeping."""

    def __init__(self, url: str, cand: dict, stats: SimStats, rng: random.Random, heartbeat: float = 0):
        import socketio
        self.url, self.cand, self.stats, self.rng = url, cand, stats, rng
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1.0,
                                        logger=False, engineio_logger=False)
        self.seq = 0
        self.pending: dict[int, dict] = {}
        self.acked: dict[int, tuple[int, object]] = {}   # item -> (seq, response) newest acked
        self.all_acked: set[int] = set()
        self.heartbeat = heartbeat
        self.stop = False
        self.counting = False
        self._beats: asyncio.Future | None = None
        self.sio.on("connect", self._on_connect, namespace="/exam")

    async def _on_connect(self):
        asyncio.ensure_future(self._resume())

    async def _resume(self):
        """Like the browser: learn the server's last seq (never reuse one), then resend the outbox."""
        try:
            res = await self.sio.call("sync", {}, namespace="/exam", timeout=10)
            self.seq = max(self.seq, int(res.get("last_seq") or 0))
            self._pace(res)
        except Exception:  # noqa: BLE001
            pass
        for ch in sorted(self.pending.values(), key=lambda c: c["seq"]):
            asyncio.ensure_future(self.send(ch))

    async def connect(self) -> None:
        t0 = time.perf_counter()
        await self.sio.connect(self.url, namespaces=["/exam"], transports=["websocket"],
                               auth={"token": self.cand["token"]}, wait_timeout=30, retry=True)
        self.stats.connect.append(time.perf_counter() - t0)
        if self.heartbeat and self._beats is None:
            self._beats = asyncio.ensure_future(self._beat())

    async def send(self, ch: dict) -> None:
        if not self.sio.connected or "/exam" not in self.sio.namespaces:
            return
        t0 = time.perf_counter()
        try:
            ack = await self.sio.call("save", ch, namespace="/exam", timeout=10)
        except Exception:  # noqa: BLE001 - timeout or disconnect: stays pending, resent after reconnect
            return
        if isinstance(ack, dict) and ack.get("ok"):
            self.stats.acks.append(time.perf_counter() - t0)
            self.stats.acked_at.append(time.monotonic())
            self.pending.pop(ch["seq"], None)
            self.all_acked.add(ch["seq"])
            cur = self.acked.get(ch["item"])
            if cur is None or ch["seq"] > cur[0]:
                self.acked[ch["item"]] = (ch["seq"], ch["response"])
        elif isinstance(ack, dict) and ack.get("error", {}).get("final"):
            self.stats.refused += 1
            self.pending.pop(ch["seq"], None)
        else:
            self.stats.errors += 1
            code = (ack or {}).get("error", {}).get("code") if isinstance(ack, dict) else repr(ack)
            self.stats.codes[code] = self.stats.codes.get(code, 0) + 1

    async def change(self) -> None:
        self.seq += 1
        item = self.rng.choice(self.cand["items"])
        ch = {"item": item, "seq": self.seq, "response": self.rng.choice(["A", "B", "C", "D", "AB", "T", "F"]),
              "client_at": int(time.time() * 1000)}
        self.pending[self.seq] = ch
        self.stats.sent += 1
        await self.send(ch)

    async def run(self, period: float, until: float) -> None:
        """Save a change every ``period`` s on average (0.5–1.5 × period apart) until ``until``
        (time.monotonic()); the heartbeats that began at connect are counted meanwhile."""
        self.counting = True
        await asyncio.sleep(self.rng.random() * period)
        while time.monotonic() < until and not self.stop:
            await self.change()
            pause = period * (0.5 + self.rng.random())
            if time.monotonic() + pause >= until:  # the run ends on time: no sleeping past its end
                break
            await asyncio.sleep(pause)
        self.counting = False

    def _pace(self, res) -> None:
        """Like the browser: beat at the pace the server asks for (``beat_ms`` in the sync and heartbeat acks)."""
        if self.heartbeat and isinstance(res, dict) and res.get("beat_ms"):
            self.heartbeat = min(30.0, max(2.5, res["beat_ms"] / 1000))

    async def _beat(self) -> None:
        """Like the browser, from the connect on: a heartbeat every ``heartbeat`` s (the server's pace) on a
        fixed schedule; a slow ack does not move the next beat (else slow moments would bunch the beats of
        every candidate caught in them, and the bunch would come back every interval)."""
        nxt = time.monotonic() + self.rng.random() * self.heartbeat
        while not self.stop:
            await asyncio.sleep(max(0.0, nxt - time.monotonic()))
            nxt += self.heartbeat
            if self.sio.connected:
                asyncio.ensure_future(self._beat_once())

    async def _beat_once(self) -> None:
        try:
            self._pace(await self.sio.call("heartbeat", {}, namespace="/exam", timeout=10))
            self.stats.beats += self.counting
        except Exception:  # noqa: BLE001 - a missed beat; the next one is on its way
            pass

    async def close(self) -> None:
        self.stop = True
        if self._beats is not None:
            self._beats.cancel()
        await self.sio.disconnect()

    async def drain(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while self.pending and time.monotonic() < end:
            if self.sio.connected and "/exam" in self.sio.namespaces:
                await asyncio.gather(*(self.send(c) for c in sorted(self.pending.values(), key=lambda c: c["seq"])))
            await asyncio.sleep(0.5)


def check_db(db_path: str, sims: list[SimCandidate]) -> dict:
    """Acked changes missing from the log, and final answers older than the newest acked change."""
    import sqlite3
    con = sqlite3.connect(db_path)
    missing = older = 0
    for sim in sims:
        aid = sim.cand["attempt"]
        logged = {r[0] for r in con.execute("select seq from answer_change where attempt_id=?", (aid,))}
        missing += len(sim.all_acked - logged)
        final = {r[0]: r[1] for r in con.execute("select paper_item_id, seq from answer where attempt_id=? and seq>0",
                                                  (aid,))}
        for item, (seq, _) in sim.acked.items():
            if final.get(item, -1) < seq:
                older += 1
        newest = {r[0]: r[1] for r in con.execute(
            "select paper_item_id, max(seq) from answer_change where attempt_id=? group by paper_item_id", (aid,))}
        older += sum(1 for item, seq in newest.items() if final.get(item) != seq)
    con.close()
    return {"missing": missing, "older": older, "acked": sum(len(s.all_acked) for s in sims)}
