"""Pure administration rules: working days, bans, seating forms on many room shapes, qualification, recusal,
the reproducible draw, ticket numbers."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examserver.administration import rules
from examserver.administration.rules import WorkCalendar

D = dt.date
# 2026-10-01..07 National Day holidays; Sat 2026-10-10 a make-up working day (for the tests' calendar)
CAL = WorkCalendar(holidays=frozenset(D(2026, 10, d) for d in range(1, 8)), makeup_workdays=frozenset({D(2026, 10, 10)}))


def test_weekends_holidays_and_makeup_days():
    assert CAL.is_working_day(D(2026, 11, 25))          # Wednesday
    assert not CAL.is_working_day(D(2026, 11, 28))      # Saturday
    assert not CAL.is_working_day(D(2026, 10, 5))       # Monday in the National Day holiday
    assert CAL.is_working_day(D(2026, 10, 10))          # Saturday worked instead


def test_add_working_days_skips_weekends_and_holidays():
    assert rules.add_working_days(CAL, D(2026, 11, 27), 1) == D(2026, 11, 30)   # Fri -> Mon
    assert rules.add_working_days(CAL, D(2026, 11, 25), 10) == D(2026, 12, 9)
    # from Wed 30 Sept: 1-7 Oct off, Thu 8, Fri 9, Sat 10 (make-up), Mon 12
    assert rules.add_working_days(CAL, D(2026, 9, 30), 4) == D(2026, 10, 12)
    with pytest.raises(ValueError):
        rules.add_working_days(CAL, D(2026, 1, 1), 0)


def test_working_days_between_excludes_both_ends():
    assert rules.working_days_between(CAL, D(2026, 11, 23), D(2026, 11, 24)) == 0
    assert rules.working_days_between(CAL, D(2026, 11, 23), D(2026, 11, 30)) == 4  # Tue..Fri
    assert rules.working_days_between(CAL, D(2026, 9, 30), D(2026, 10, 12)) == 3   # 8, 9, 10 Oct


def test_filing_needs_ten_whole_working_days_before_the_first_session():
    first = D(2026, 12, 14)  # Monday
    deadline = rules.filing_deadline(CAL, first)
    assert rules.working_days_between(CAL, deadline, first) == 10
    assert rules.working_days_between(CAL, deadline + dt.timedelta(days=1), first) == 9
    assert deadline == D(2026, 11, 29)  # a Sunday: 30 Nov .. 11 Dec are ten working days
    assert not rules.filing_is_late(CAL, deadline, first)
    assert rules.filing_is_late(CAL, D(2026, 11, 30), first)
    # 14 working days ahead (the walkthrough) is on time; a holiday in between pushes the deadline back
    today = D(2026, 11, 25)
    assert not rules.filing_is_late(CAL, today, rules.add_working_days(CAL, today, 14))
    assert rules.filing_deadline(CAL, D(2026, 10, 12)) < rules.filing_deadline(WorkCalendar(), D(2026, 10, 12))


def test_reporting_and_supervisor_report_deadlines():
    assert rules.reporting_deadline(CAL, D(2026, 12, 11)) == D(2026, 12, 25)  # 10 working days after Fri 11 Dec
    assert rules.supervisor_report_due(CAL, D(2026, 12, 11), 3) == D(2026, 12, 16)
    assert rules.supervisor_report_due(CAL, D(2026, 9, 30), 5) == D(2026, 10, 13)


def test_lifecycle_transitions():
    status = "draft"
    for action in ("file", "approve", "start", "close", "report", "audit"):
        status = rules.next_status(status, action)
    assert status == "audited"
    assert rules.next_status("filed", "return") == "draft"
    with pytest.raises(ValueError):
        rules.next_status("draft", "approve")


def test_comprehensive_review_only_for_levels_two_and_one():
    assert "review" in rules.subjects_allowed(2) and "review" in rules.subjects_allowed(1)
    assert "review" not in rules.subjects_allowed(3)


def test_bans_block_by_occupation_scope_and_period():
    occ, other = 7, 8
    bans = [rules.BanFact(1, occ, D(2026, 1, 1), D(2026, 12, 31)),
            rules.BanFact(2, None, D(2027, 3, 1), D(2029, 2, 28)),
            rules.BanFact(3, other, D(2026, 1, 1), None)]
    assert [b.ban_id for b in rules.blocking_bans(bans, occ, [D(2026, 12, 1)])] == [1]
    assert rules.blocking_bans(bans, occ, [D(2027, 1, 5)]) == []
    assert [b.ban_id for b in rules.blocking_bans(bans, occ, [D(2027, 1, 5), D(2027, 3, 2)])] == [2]
    assert [b.ban_id for b in rules.blocking_bans(bans, other, [D(2030, 1, 1)])] == [3]  # open-ended


# --- seating -------------------------------------------------------------------------------------

def _shape(rows, cols, blocked=()):
    return rules.room_seats(rows, cols, blocked)


SHAPES = {
    "5x6 theory room": _shape(5, 6),
    "single row": _shape(1, 9),
    "single column": _shape(7, 1),
    "aisle in column 4": _shape(6, 7, [(r, 4) for r in range(1, 7)]),
    "L-shape": _shape(6, 6, [(r, c) for r in range(1, 4) for c in range(4, 7)]),
    "pillars and broken machines": _shape(5, 8, [(2, 2), (2, 7), (4, 4), (4, 5), (1, 1)]),
    "U-shape": _shape(5, 5, [(r, c) for r in range(1, 4) for c in range(2, 5)]),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
@pytest.mark.parametrize("forms", [("A", "B"), ("A", "B", "C"), ("A", "B", "C", "D")])
def test_neighbours_never_share_a_form_on_any_room_shape(name, forms):
    seats = SHAPES[name]
    assignment = {seat: rules.form_for_seat(seat, forms) for seat in seats}
    assert rules.neighbour_clashes(assignment) == []
    for seat in seats:
        for nb in rules.neighbours(seat, seats):
            assert assignment[nb] != assignment[seat], (name, seat, nb)


def test_two_forms_alternate_like_a_chessboard_and_stay_balanced():
    seats = SHAPES["5x6 theory room"]
    forms = [rules.form_for_seat(s, "AB") for s in seats]
    assert forms[:6] == list("ABABAB") and forms[6:12] == list("BABABA")  # front-left seat gets A
    assert forms.count("A") == forms.count("B") == 15


def test_one_form_cannot_separate_neighbours():
    with pytest.raises(ValueError):
        rules.form_for_seat((1, 1), ["A"])


def test_the_clash_checker_catches_a_bad_chart():
    assert rules.neighbour_clashes({(1, 1): "A", (1, 2): "A", (2, 2): "B"}) == [((1, 1), (1, 2))]


@settings(max_examples=150, deadline=None)
@given(rows=st.integers(1, 12), cols=st.integers(1, 12), k=st.integers(2, 5),
       blocked=st.sets(st.tuples(st.integers(1, 12), st.integers(1, 12)), max_size=40))
def test_property_any_grid_subset_any_number_of_forms(rows, cols, k, blocked):
    seats = rules.room_seats(rows, cols, blocked)
    forms = [chr(65 + i) for i in range(k)]
    assert rules.neighbour_clashes({s: rules.form_for_seat(s, forms) for s in seats}) == []


def test_placement_is_random_reproducible_and_fills_rooms_in_order():
    rooms = [(1, SHAPES["5x6 theory room"]), (2, SHAPES["5x6 theory room"])]
    regs = list(range(101, 161))
    a = rules.place_candidates("seed-1", regs, rooms, "AB")
    b = rules.place_candidates("seed-1", list(reversed(regs)), rooms, "AB")
    c = rules.place_candidates("seed-2", regs, rooms, "AB")
    assert a == b                                   # same seed, same chart, whatever the input order
    assert [p.registration_id for p in a] != [p.registration_id for p in c]
    assert [p.registration_id for p in a] != regs   # shuffled
    assert {p.registration_id for p in a} == set(regs)
    assert [p.seat_no for p in a if p.room_id == 1] == list(range(1, 31))
    for room in (1, 2):
        chart = {p.seat: p.form for p in a if p.room_id == room}
        assert rules.neighbour_clashes(chart) == []
        assert sorted(chart.values()).count("A") == 15
    with pytest.raises(ValueError):
        rules.place_candidates("s", list(range(61)), rooms, "AB")


def test_partial_room_keeps_the_rule_and_blocked_seats_are_skipped():
    seats = SHAPES["pillars and broken machines"]
    placed = rules.place_candidates("x", list(range(1, 21)), [(9, seats)], "AB")
    assert all(p.seat in seats for p in placed)
    assert rules.neighbour_clashes({p.seat: p.form for p in placed}) == []
    assert (1, 1) not in {p.seat for p in placed}


# --- staff -----------------------------------------------------------------------------------

@pytest.mark.parametrize("held, title, exam_level, ok", [
    (3, "", 4, True), (4, "", 4, False), (None, "mid", 4, True), (None, "", 3, False), (5, "senior", 5, True),
    (2, "", 3, True), (2, "mid", 2, False), (1, "", 2, True), (None, "senior", 2, True), (3, "mid", 1, False),
    (1, "", 1, True),
])
def test_examiner_qualification(held, title, exam_level, ok):
    assert (rules.examiner_qualification_problem(held, title, exam_level) is None) is ok


def test_recusal_finds_declared_conflicts_with_the_sessions_candidates_only():
    conflicts = [rules.ConflictFact(1, 10, "trained"), rules.ConflictFact(1, 11, "relative"),
                 rules.ConflictFact(2, 10, "same_employer")]
    assert [c.kind for c in rules.recusals(1, [10, 12], conflicts)] == ["trained"]
    assert rules.recusals(1, [12, 13], conflicts) == []
    assert rules.recusals(3, [10, 11], conflicts) == []


def test_staffing_problems_name_what_is_missing():
    theory = rules.SessionFact(1, "理论", "theory", (11, 12))
    practical = rules.SessionFact(2, "实操", "practical", (13,), ("轴类零件加工",))
    duties = [rules.DutyFact("chief_proctor", 1, 11, "", 100), rules.DutyFact("proctor", 1, 11, "", 101),
              rules.DutyFact("proctor", 1, 12, "", 102),
              rules.DutyFact("examiner", 2, None, "轴类零件加工", 200), rules.DutyFact("examiner", 2, None, "轴类零件加工", 201)]
    problems = rules.staffing_problems([theory, practical], duties, {12: "302"})
    assert len(problems) == 3
    assert "302" in problems[0] and "1 proctors" in problems[0]
    assert "2 examiners" in problems[1] and "supervisor" in problems[2]
    full = duties + [rules.DutyFact("proctor", 1, 12, "", 103), rules.DutyFact("examiner", 2, None, "轴类零件加工", 202),
                     rules.DutyFact("supervisor", None, None, "", 300)]
    assert rules.staffing_problems([theory, practical], full) == []
    two_chiefs = full + [rules.DutyFact("chief_proctor", 1, 12, "", 103)]
    assert any("2 chiefs" in p for p in rules.staffing_problems([theory, practical], two_chiefs))


# --- the draw --------------------------------------------------------------------------------

def test_draw_is_reproducible_by_anyone_from_seed_and_pool():
    pool = [3, 8, 15, 16, 23, 42]
    chosen = rules.draw_from_pool("4f1c0de", pool)
    assert chosen == rules.draw_from_pool("4f1c0de", pool)
    # the documented recipe, re-implemented here with nothing but hashlib
    digest = hashlib.sha256(b"skillcert-supervisor-draw|4f1c0de|3,8,15,16,23,42").hexdigest()
    assert chosen == pool[int(digest, 16) % len(pool)]


def test_draw_spreads_over_the_pool_and_checks_its_input():
    pool = [1, 2, 3, 4]
    picks = [rules.draw_from_pool(f"seed{i}", pool) for i in range(400)]
    assert all(70 < picks.count(p) < 130 for p in pool)
    for bad in ([], [2, 1], [1, 1]):
        with pytest.raises(ValueError):
            rules.draw_from_pool("s", bad)
    with pytest.raises(ValueError):
        rules.draw_from_pool("", [1])


def test_ticket_numbers_and_quarters():
    assert rules.ticket_number(2026, 12, 7) == "26000120007"
    with pytest.raises(ValueError):
        rules.ticket_number(2026, 12, 10000)
    assert rules.quarter_bounds(2026, 4) == (D(2026, 10, 1), D(2026, 12, 31))
    assert rules.quarter_bounds(2027, 1) == (D(2027, 1, 1), D(2027, 3, 31))
    with pytest.raises(ValueError):
        rules.quarter_bounds(2026, 5)
