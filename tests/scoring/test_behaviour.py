"""Behaviour rules: grace, debounce, warnings before flags, per-plan configuration."""
from __future__ import annotations

import pytest

from scoring import behaviour as b
from scoring.behaviour import Event


def test_a_focus_bounce_under_grace_is_not_an_event():
    out = b.evaluate([Event(1, "focus_lost", 1000, 150), Event(2, "focus_lost", 5000, 199)])
    assert out.counted == () and out.warnings == () and out.flags == ()
    assert [why for _, why in out.ignored] == ["shorter than the grace of 200 ms"] * 2


def test_warnings_come_first_then_a_flag_with_the_evidence():
    ev = [Event(i, "focus_lost", i * 10_000, 1_000) for i in range(1, 4)]
    out = b.evaluate(ev)
    assert [w.count for w in out.warnings] == [1, 2, 3]
    assert len(out.flags) == 1
    f = out.flags[0]
    assert (f.kind, f.reason, f.seq, f.count, f.evidence, f.severity) == ("focus_lost", "count", 3, 3, (1, 2, 3), "high")
    assert f.describe()[0] == "离开考试窗口 3 次"


def test_debounce_merges_an_episode_and_long_absences_flag_on_time():
    ev = [Event(1, "page_hidden", 0, 3_000), Event(2, "page_hidden", 3_500, 3_000),
          Event(3, "page_hidden", 60_000, 12_000)]
    out = b.evaluate(ev)
    assert [e.seq for e in out.counted] == [1, 3]
    assert {(f.reason, f.seq) for f in out.flags} == {("single_time", 3), ("count", 3)}


def test_events_settling_after_entering_fullscreen_are_ignored():
    ev = [Event(1, "fullscreen_enter", 0), Event(2, "window_shrunk", 300, 600), Event(3, "focus_lost", 900, 400),
          Event(4, "focus_lost", 5_000, 400)]
    out = b.evaluate(ev)
    assert [e.seq for e in out.counted] == [4]


def test_order_and_duplicates_do_not_change_the_result():
    ev = [Event(3, "paste", 30_000), Event(1, "paste", 1_000), Event(2, "copy", 2_000), Event(1, "paste", 1_000)]
    assert b.evaluate(ev) == b.evaluate(sorted(ev, key=lambda e: e.seq))
    assert [f.kind for f in b.evaluate(ev).flags] == ["paste"]


def test_rules_are_configured_per_plan():
    strict = b.ruleset_from_dict({"rules": {"focus_lost": {"flag_at": 1}, "copy": {"warn_at": 0}}})
    out = b.evaluate([Event(1, "focus_lost", 0, 500), Event(2, "copy", 100)], strict)
    assert [f.kind for f in out.flags] == ["focus_lost"]
    assert [w.kind for w in out.warnings] == ["focus_lost"]
    assert b.ruleset_from_dict(strict.to_dict()) == strict
    with pytest.raises(ValueError, match="unknown event kind"):
        b.ruleset_from_dict({"rules": {"telepathy": {}}})
    with pytest.raises(ValueError, match="flag_at"):
        b.ruleset_from_dict({"rules": {"copy": {"flag_at": -1}}})


def test_answers_faster_than_reading_become_server_events():
    answers = [{"item_id": i, "shown_ms": 0, "answered_ms": 1_000, "chars": 300} for i in range(6)]
    events = b.fast_answer_events(answers)
    assert len(events) == 6 and events[0].detail["reading_ms"] == 20_000
    out = b.evaluate(events)
    assert [f.kind for f in out.flags] == ["fast_answer"]
    assert b.fast_answer_events([{"item_id": 1, "shown_ms": 0, "answered_ms": 15_000, "chars": 300}]) == []
