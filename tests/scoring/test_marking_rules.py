"""Pure practical-marking rules and the level decision."""
import pytest

from scoring.level_decision import decide_level
from scoring.marking import (MarkingError, aggregate, apply_rubric, needs_adjudication, panel_outcome, scale,
                             spread)

RUBRIC = {"criteria": [
    {"name": "外圆尺寸", "max_points": 30, "deductions": [{"rule": "每处超差0.01 mm", "points": 3},
                                                          {"rule": "每处超差0.02 mm以上", "points": 10}]},
    {"name": "表面粗糙度", "max_points": 20, "deductions": [{"rule": "每处降一级", "points": 4}]},
    {"name": "安全文明生产", "max_points": 10, "deductions": [{"rule": "未戴防护眼镜", "points": 5}]},
]}


def test_rubric_deductions_and_direct_points():
    sheet = apply_rubric(RUBRIC, [{"deductions": [{"index": 0, "count": 2}]}, {"points": 15}, {"deductions": []}])
    assert [c.points for c in sheet.criteria] == [24, 15, 10]
    assert sheet.total == 49 and sheet.max_total == 60 and not sheet.veto
    assert sheet.points_json()[0]["applied"][0]["rule"] == "每处超差0.01 mm"


def test_deductions_never_below_zero():
    sheet = apply_rubric(RUBRIC, [{"deductions": [{"index": 1, "count": 5}]}, {"deductions": [{"index": 0, "count": 9}]},
                                  {}])
    assert [c.points for c in sheet.criteria] == [0, 0, 10]
    assert sheet.criteria[0].deducted == 30


def test_veto_zeroes_the_task_and_needs_a_reason():
    sheet = apply_rubric(RUBRIC, [{}, {}, {}], veto=True, veto_reason="开车测量")
    assert sheet.total == 0 and sheet.veto and sheet.veto_reason == "开车测量"
    with pytest.raises(MarkingError) as e:
        apply_rubric(RUBRIC, [{}, {}, {}], veto=True)
    assert e.value.field == "veto_reason"


@pytest.mark.parametrize("entries,field", [
    ([{}, {}], "criteria"),
    ([{"points": 31}, {}, {}], "criteria[0].points"),
    ([{"points": "x"}, {}, {}], "criteria[0].points"),
    ([{"deductions": [{"index": 5}]}, {}, {}], "criteria[0].deductions[0].index"),
    ([{"deductions": [{"index": 0, "count": 0}]}, {}, {}], "criteria[0].deductions[0].count"),
])
def test_rubric_bad_input_names_the_field(entries, field):
    with pytest.raises(MarkingError) as e:
        apply_rubric(RUBRIC, entries)
    assert e.value.field == field


def test_aggregation_methods():
    marks = [70, 74, 90]
    assert aggregate(marks) == 78.0
    assert aggregate(marks, "trimmed") == 74.0
    assert aggregate(marks, "median") == 74.0
    assert aggregate([60, 70, 80, 100], "trimmed") == 75.0
    with pytest.raises(MarkingError):
        aggregate([1, 2], "trimmed")
    with pytest.raises(MarkingError):
        aggregate(marks, "max")
    with pytest.raises(MarkingError):
        aggregate([])


def test_spread_and_adjudication_threshold():
    assert spread([70, 74, 80]) == 10
    assert not needs_adjudication([70, 74, 80], 10)
    assert needs_adjudication([70, 74, 80.5], 10)


def test_panel_outcomes():
    assert panel_outcome([70, 72], [False, False], panel_size=3).status == "incomplete"
    assert panel_outcome([70, 72, 71], [False] * 3, panel_size=3).mark == 71.0
    out = panel_outcome([50, 72, 71], [False] * 3, panel_size=3)
    assert out.status == "needs_adjudication" and out.mark is None
    assert panel_outcome([0, 0, 71], [True, True, False], panel_size=3).status == "vetoed"
    assert panel_outcome([0, 70, 71], [True, False, False], panel_size=3, threshold=100).status == "needs_adjudication"
    assert scale(49, 60) == 81.67


def test_level_passes_only_when_every_subject_passes():
    pm = {"theory": 60, "practical": 60}
    d = decide_level(["theory", "practical"], pm, {"theory": 75, "practical": 60})
    assert d.passed and [r.code for r in d.reasons] == ["passed", "passed"]
    d = decide_level(["theory", "practical"], pm, {"theory": 75, "practical": 59.5})
    assert not d.passed and [r.code for r in d.failing] == ["below_pass_mark"]
    d = decide_level(["theory", "practical"], pm, {"theory": 75})
    assert [r.code for r in d.failing] == ["missing"]


def test_cancelled_subjects_fail_the_level():
    pm = {"theory": 60, "practical": 60}
    d = decide_level(["theory", "practical"], pm, {"theory": 95, "practical": 90}, {"theory"})
    assert not d.passed and d.failing[0].subject == "theory" and d.failing[0].code == "cancelled"
    d = decide_level(["theory", "practical"], pm, {"theory": 95, "practical": 90}, {"*"})
    assert [r.code for r in d.reasons] == ["cancelled", "cancelled"]
