"""Pure delivery rules: the clock, shuffling, the answer-log meaning, secrets in payloads."""
import datetime as dt

from examserver.delivery import clock, rules

T0 = dt.datetime(2026, 12, 16, 1, 0, 0)
MIN = dt.timedelta(minutes=1)


def facts(**kw):
    base = dict(started_at=T0, duration=90 * MIN)
    base.update(kw)
    return clock.ClockFacts(**base)


def test_deadline_is_start_plus_duration_plus_extra_and_pauses_push_it_later():
    c = facts()
    assert clock.deadline(c) == T0 + 90 * MIN
    c = clock.grant(c, 10 * MIN)
    assert clock.deadline(c) == T0 + 100 * MIN
    c = clock.pause(c, T0 + 30 * MIN)
    assert clock.remaining(c, T0 + 50 * MIN) == 70 * MIN  # frozen while paused
    c = clock.resume(c, T0 + 50 * MIN)
    assert clock.deadline(c) == T0 + 120 * MIN
    assert clock.remaining(c, T0 + 60 * MIN) == 60 * MIN
    assert clock.remaining(facts(started_at=None), T0) == 90 * MIN


def test_change_verdicts_with_grace():
    c = facts()
    end = T0 + 90 * MIN
    g = dt.timedelta(seconds=60)
    assert clock.change_verdict(c, end - MIN, end - MIN, g) is None
    assert clock.change_verdict(c, end + dt.timedelta(seconds=30), end - dt.timedelta(seconds=5), g) is None
    assert clock.change_verdict(c, end + dt.timedelta(seconds=30), end + dt.timedelta(seconds=1), g) == "late"
    assert clock.change_verdict(c, end + dt.timedelta(seconds=61), end - MIN, g) == "too_late"
    # a fast client clock cannot buy time: made_at is clamped to now
    assert clock.change_verdict(c, end + dt.timedelta(seconds=10), end + dt.timedelta(hours=1), g) == "late"
    assert clock.change_verdict(facts(started_at=None), T0, T0, g) == "not_started"
    assert clock.expired(c, end + 2 * MIN, g) and not clock.expired(clock.pause(c, end), end + 2 * MIN, g)


def view():
    return {"shuffle_options": True, "sections": [
        {"item_type": "single", "shuffle": True, "items": [
            {"paper_item_id": i, "item_type": "single", "options": [{"key": k, "html": k} for k in "ABCD"]}
            for i in range(1, 9)]},
        {"item_type": "fill", "shuffle": False, "items": [{"paper_item_id": i, "item_type": "fill"} for i in (9, 10)]}]}


def test_shuffle_is_per_seed_reproducible_and_respects_sections():
    a1, a2, b = rules.shuffled_view(view(), "s1"), rules.shuffled_view(view(), "s1"), rules.shuffled_view(view(), "s2")
    assert a1 == a2
    assert rules.item_order(a1) != rules.item_order(b)
    assert sorted(rules.item_order(a1)[:8]) == list(range(1, 9))
    assert rules.item_order(a1)[8:] == [9, 10]  # fill section not shuffled
    assert [it["number"] for s in a1["sections"] for it in s["items"]] == list(range(1, 11))
    assert any([o["key"] for o in it["options"]] != list("ABCD") for it in a1["sections"][0]["items"])
    assert view()["sections"][0]["items"][0]["options"][0]["key"] == "A"  # input untouched


def test_final_responses_keep_the_highest_seq_in_any_order():
    ch = [rules.Change(1, 3, "C"), rules.Change(1, 1, "A"), rules.Change(2, 2, "B"), rules.Change(1, 2, "B")]
    assert rules.final_responses(ch) == {1: (3, "C"), 2: (2, "B")}


def test_find_secrets():
    assert rules.find_secrets({"a": [{"answer": "B"}], "explanation": ""}) == ["$.a[0].answer", "$.explanation"]
    assert rules.find_secrets({"responses": {"1": {"response": "B"}}}) == []
    assert rules.seat_state(None, False, False) == "absent"
    assert rules.seat_state("started", True, False) == "paused"
    assert rules.seat_state("started", False, False) == "offline"
