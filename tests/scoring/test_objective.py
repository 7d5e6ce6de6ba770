"""Objective scoring: single, multiple under each partial-credit policy, true/false, fill-in normalisation."""
import pytest

from scoring.objective import (ScoringPolicy, choice_keys, normalise_text, score_fill, score_item, score_judge,
                               score_multiple, score_paper, score_single)


def test_single_choice():
    assert score_single("B", "B", 2) == 2
    assert score_single("B", "b", 2) == 2
    assert score_single("B", "AB", 2) == 0
    assert score_single("B", None, 2) == 0
    assert score_single("B", {"x": 1}, 2) == 0


@pytest.mark.parametrize("policy,response,points", [
    ("all_or_nothing", "ABD", 4), ("all_or_nothing", "AB", 0), ("all_or_nothing", "ABC", 0),
    ("half_if_subset", "ABD", 4), ("half_if_subset", "AD", 2), ("half_if_subset", "ABCD", 0), ("half_if_subset", "C", 0),
    ("proportional", "ABD", 4), ("proportional", "A", 1.3333), ("proportional", "AC", 0),
    ("all_or_nothing", ["D", "B", "A"], 4), ("half_if_subset", "", 0), ("proportional", None, 0),
])
def test_multiple_choice_policies(policy, response, points):
    assert score_multiple("ABD", response, 4, policy) == pytest.approx(points, abs=1e-4)


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError):
        ScoringPolicy(multiple="generous")
    with pytest.raises(ValueError):
        score_multiple("AB", "AB", 1, "generous")


def test_judge_accepts_the_words_items_accept():
    for yes in ("T", "对", "正确", "√", True, "true"):
        assert score_judge("T", yes, 1) == 1
    assert score_judge("T", "F", 1) == 0
    assert score_judge("F", "错", 1) == 1
    assert score_judge("F", "maybe", 1) == 0


def test_fill_normalises_width_case_spaces_and_trailing_punctuation():
    key = [["0.45", "0.45%"], ["MPa"]]
    assert score_fill(key, ["０.４５", "mpa"], 4) == 4  # full-width digits, case
    assert score_fill(key, [" 0.45 。", "M Pa"], 4) == 4
    assert score_fill(key, ["0.45", "kPa"], 4) == 2
    assert score_fill(key, ["0.45"], 4) == 2
    assert score_fill(key, "0.45", 4) == 2
    assert score_fill(key, None, 4) == 0
    assert score_fill([["MPa"]], ["mpa"], 2, case_sensitive=True) == 0
    assert normalise_text("  Ａ Ｂ．") == "ab"


def test_choice_keys_reject_non_letters():
    assert choice_keys("A,C") == frozenset("AC")
    assert choice_keys("1") is None
    assert choice_keys([1]) is None


def test_score_paper_skips_practical_and_sums():
    key = [{"paper_item_id": 1, "item_type": "single", "points": 2, "answer": "A"},
           {"paper_item_id": 2, "item_type": "multiple", "points": 4, "answer": "ABD"},
           {"paper_item_id": 3, "item_type": "judge", "points": 1, "answer": "F"},
           {"paper_item_id": 4, "item_type": "fill", "points": 2, "answer": [["车刀"]]},
           {"paper_item_id": 5, "item_type": "practical", "points": 40, "answer": None}]
    res = score_paper(key, {1: "A", 2: "AB", 3: "F", 4: ["车刀 "]}, ScoringPolicy(multiple="half_if_subset"))
    assert res.awarded == 7 and res.maximum == 9
    assert [i.paper_item_id for i in res.items] == [1, 2, 3, 4]
    assert score_item("practical", None, "x", 10) == 0
