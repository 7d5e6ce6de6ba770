"""Item validation per type (pure) and the review workflow (with a database)."""
from __future__ import annotations

import pytest

from itembank import items
from itembank.core.audit import AuditRecord
from itembank.core.errors import Conflict, DomainError, Forbidden

from .helpers import approved, make_bank, single


def problems(item_type, **fields):
    base = {"stem": "题干", "element_code": "2.1", "levels": [4], "p": 0.6}
    clean, probs = items.validate_item(item_type, {**base, **fields}, element_codes={"2.1"})
    return clean, {p.field for p in probs}


# --- validation, one type at a time -----------------------------------------------------------

def test_single_choice_needs_options_and_exactly_one_key():
    clean, bad = problems("single", options=["a", "b", "c", "d"], answer="c")
    assert bad == set() and clean["answer"] == "C" and [o["key"] for o in clean["options"]] == list("ABCD")
    assert "answer" in problems("single", options=["a", "b", "c", "d"], answer="AB")[1]
    assert "answer" in problems("single", options=["a", "b"], answer="E")[1]
    assert "options" in problems("single", options=["a"], answer="A")[1]
    assert "options" in problems("single", options=["a", "a", "b"], answer="A")[1]  # duplicate options
    assert "options[1]" in problems("single", options=["a", " ", "b"], answer="A")[1]


def test_multiple_choice_needs_two_or_more_keys_sorted():
    clean, bad = problems("multiple", options=["a", "b", "c", "d"], answer="DB")
    assert bad == set() and clean["answer"] == "BD"
    assert "answer" in problems("multiple", options=["a", "b", "c", "d"], answer="B")[1]
    assert "options" in problems("multiple", options=["a", "b"], answer="AB")[1]


def test_true_false_accepts_chinese_and_symbols():
    for raw, key in (("对", "T"), ("错", "F"), ("√", "T"), ("×", "F"), (True, "T"), ("false", "F")):
        clean, bad = problems("judge", answer=raw)
        assert bad == set() and clean["answer"] == key
    assert "answer" in problems("judge", answer="也许")[1]
    assert "options" in problems("judge", answer="对", options=["x", "y"])[1]


def test_fill_in_blanks_must_match_the_key():
    clean, bad = problems("fill", stem="牙型角为______度，梯形为（ ）度。", answer="60|六十;30")
    assert bad == set() and clean["answer"] == [["60", "六十"], ["30"]]
    assert "answer" in problems("fill", stem="只有______一个空。", answer="1;2")[1]
    assert "stem" in problems("fill", stem="没有空。", answer="1")[1]


def test_practical_task_needs_a_consistent_rubric():
    rubric = {"criteria": [{"name": "外圆尺寸", "max_points": 60, "deductions": [{"rule": "超差", "points": 10}]},
                           {"name": "安全文明", "max_points": 40, "deductions": []}],
              "time_minutes": 120, "equipment": "车床、千分尺"}
    clean, bad = problems("practical", rubric=rubric, p=None)
    assert bad == set() and clean["points"] == 100 and clean["rubric"]["equipment"] == ["车床", "千分尺"]
    broken = {"criteria": [{"name": "", "max_points": 10, "deductions": [{"rule": "x", "points": 20}]}],
              "time_minutes": 0}
    bad = problems("practical", rubric=broken)[1]
    assert {"rubric.criteria[0].name", "rubric.criteria[0].deductions[0].points", "rubric.time_minutes"} <= bad
    assert "rubric" in problems("practical")[1]


def test_common_fields_difficulty_source_element_and_html_are_checked():
    assert "element_code" in problems("judge", answer="对", element_code="9.9")[1]
    assert "levels" in problems("judge", answer="对", levels=[7])[1]
    assert "source" in problems("judge", answer="对", source="internet")[1]
    assert "p" in problems("judge", answer="对", p=1.5)[1]
    assert "p" in problems("judge", answer="对", p=None)[1]  # theory items need a difficulty
    assert problems("judge", answer="对", p=None, irt_a=1.2, irt_b=0.3)[1] == set()
    assert "irt_b" in problems("judge", answer="对", irt_a=1.0)[1]
    assert "irt_c" in problems("judge", answer="对", irt_a=1.0, irt_b=0, irt_c=1.0)[1]
    clean, bad = problems("judge", answer="对", stem='<p onclick="x()">H<sub>2</sub>O<script>alert(1)</script>'
                                                     '<img src="javascript:alert(1)"></p>')
    assert bad == set() and "onclick" not in clean["stem"] and "<script" not in clean["stem"]
    assert "<sub>2</sub>" in clean["stem"] and "javascript" not in clean["stem"]


def test_preview_shows_no_key():
    out = items.preview("single", {"stem": "题", "options": ["甲", "乙"], "answer": "B", "explanation": "因为乙",
                                   "element_code": "2.1", "levels": [4], "p": 0.5})
    assert out["view"]["options"][1] == {"key": "B", "html": "乙"}
    assert "answer" not in out["view"] and "因为乙" not in str(out["view"])


# --- workflow ----------------------------------------------------------------------------------

def test_workflow_draft_review_approve_and_the_reviewer_is_never_the_author(db, make):
    with db.write_scope() as s:
        bank = make_bank(s, make)
        it = items.create_item(s, bank.writer, agency_id=bank.agency.id, standard=bank.standard, item_type="single",
                               **{k: v for k, v in single().items() if k != "item_type"})
        assert it.status == "draft" and it.approved_version_id is None
        with pytest.raises(Conflict):
            items.review_item(s, bank.reviewer, it, decision="approve")  # not in review yet
        items.submit_for_review(s, bank.writer, it)
        with pytest.raises(Conflict):
            items.revise_item(s, bank.writer, it, stem="改")  # frozen while in review
        # an account acting as reviewer may not review an item it wrote
        with pytest.raises(Forbidden):
            items.review_item(s, items.Actor(bank.writer.account_id, "写手", "item_reviewer"), it, decision="approve")
        with pytest.raises(DomainError):
            items.review_item(s, bank.reviewer, it, decision="reject")  # a rejection needs a reason
        items.review_item(s, bank.reviewer, it, decision="reject", comment="干扰项不合理")
        assert it.status == "draft" and it.head_version.status == "draft"
        items.revise_item(s, bank.writer, it, options=["60°", "55°", "30°", "45°"])
        assert it.head_version.number == 1  # a draft is edited in place
        items.submit_for_review(s, bank.writer, it)
        items.review_item(s, bank.reviewer, it, decision="approve")
        assert it.status == "approved" and it.approved_version_id == it.head_version_id
        actions = [r.action for r in s.query(AuditRecord).filter_by(object_type="item", object_id=str(it.id))]
        assert actions == ["item.create", "item.submit", "item.reject", "item.edit", "item.submit", "item.approve"]


def test_editing_an_approved_item_makes_a_new_version_and_approved_versions_never_change(db, make):
    with db.write_scope() as s:
        bank = make_bank(s, make)
        it = approved(s, bank, single())
        v1 = it.approved_version
        v2 = items.revise_item(s, bank.writer2, it, stem="普通螺纹牙型角是（ ）。")
        assert v2.number == 2 and v2.status == "draft" and it.approved_version_id == v1.id and it.status == "draft"
        assert v1.stem == "普通螺纹的牙型角为（ ）。" and v1.digest != v2.digest
        v1.stem = "篡改"
        with pytest.raises(Conflict):
            s.flush()
        s.rollback()


def test_approving_a_new_version_supersedes_the_old_one_and_retire(db, make):
    with db.write_scope() as s:
        bank = make_bank(s, make)
        it = approved(s, bank, single())
        v1_id = it.approved_version_id
        items.revise_item(s, bank.writer, it, p=0.65)
        items.submit_for_review(s, bank.writer, it)
        items.review_item(s, bank.reviewer, it, decision="approve")
        assert it.approved_version.number == 2 and s.get(items.ItemVersion, v1_id).status == "superseded"
        with pytest.raises(DomainError):
            items.retire_item(s, bank.reviewer, it, reason="")
        items.retire_item(s, bank.reviewer, it, reason="考点过时")
        assert it.status == "retired"
        with pytest.raises(Conflict):
            items.revise_item(s, bank.writer, it, p=0.5)
