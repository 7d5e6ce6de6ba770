"""Fault test: 200 simulated candidates answering while the server is SIGKILLed and restarted three times."""
from __future__ import annotations

import asyncio
import pathlib
import random
import time

import pytest

from .faults import Server, SimCandidate, SimStats, check_db, prepare

pytestmark = [pytest.mark.slow]


def test_no_acknowledged_answer_is_lost_across_three_sigkills(tmp_path):
    data = str(tmp_path / "data")
    pathlib.Path(data).mkdir()
    world = prepare(data, 200)
    server = Server(data)
    server.start()
    stats = SimStats()
    rng = random.Random(5)
    sims = [SimCandidate(server.url, c, stats, random.Random(rng.random())) for c in world["candidates"]]

    async def main():
        await asyncio.gather(*(s.connect() for s in sims))
        until = time.monotonic() + 24
        runners = asyncio.gather(*(s.run(0.5, until) for s in sims))
        for _ in range(3):
            await asyncio.sleep(5)
            await asyncio.to_thread(server.kill)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(server.start)
        await runners
        print("connected after the run:", sum(1 for s in sims if s.sio.connected), "of", len(sims))
        await asyncio.gather(*(s.drain(180) for s in sims))  # generous: reconnect storms on a loaded 2-core box
        print("connected after the drain:", sum(1 for s in sims if s.sio.connected), "of", len(sims))
        await asyncio.gather(*(s.close() for s in sims))

    try:
        asyncio.run(main())
    finally:
        server.stop()
    result = check_db(str(pathlib.Path(data) / "skillcert.db"), sims)
    pending = sum(len(s.pending) for s in sims)
    print(result, "sent", stats.sent, "pending", pending, "errors", stats.errors)
    assert result["acked"] > 2000
    assert result["missing"] == 0
    assert result["older"] == 0
    assert pending == 0  # every change was finally acknowledged after the restarts
