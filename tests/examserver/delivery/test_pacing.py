"""How often the browsers beat and the server pings: pure rules, no server."""
from __future__ import annotations

from hypothesis import given, strategies as st

from examserver.delivery import live
from examserver.realtime import spread_pings


def test_browsers_beat_every_2_5_s_until_the_heartbeat_budget_then_slower():
    assert live.beat_interval_ms(0) == live.beat_interval_ms(1250) == 2500
    assert live.beat_interval_ms(2000) == 4000
    assert live.beat_interval_ms(5000) == live.beat_interval_ms(50_000) == 10_000
    assert live.silence_limit_s(100) == live.HEARTBEAT_TIMEOUT and live.silence_limit_s(5000) == 30


@given(st.integers(min_value=0, max_value=100_000))
def test_heartbeats_stay_within_the_budget_and_silence_outlasts_three_beats(connected):
    ms = live.beat_interval_ms(connected)
    assert live.BEAT_MS_MIN <= ms <= live.BEAT_MS_MAX
    if ms < live.BEAT_MS_MAX:  # below the cap the pace keeps heartbeats within the budget
        assert connected * 1000 / ms <= live.BEATS_PER_S_BUDGET + 1e-9
    assert live.beat_interval_ms(connected + 1) >= ms  # more candidates never beat faster
    assert live.silence_limit_s(connected) >= 3 * ms / 1000 - 1e-9


class _Eio:
    ping_interval = 60

    def __init__(self):
        self.slept = []

    def sleep(self, seconds=0):
        self.slept.append(seconds)


def test_engine_io_pings_are_spread_over_half_to_all_of_the_interval_and_nothing_else_changes():
    eio = _Eio()
    waits = eio.slept
    spread_pings(eio)
    spread_pings(eio)  # once only
    for _ in range(200):
        eio.sleep(60)
    eio.sleep(1.0)
    eio.sleep()
    pings, rest = waits[:200], waits[200:]
    assert all(30 <= w <= 60 for w in pings) and max(pings) - min(pings) > 15  # spread, never later
    assert rest == [1.0, 0]
