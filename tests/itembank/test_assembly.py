"""Parallel-form assembly: small banks with known answers, diagnoses, checker, baseline, property."""
from __future__ import annotations

import ast
import dataclasses
import json
import math
import pathlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import itembank.assembly
from itembank.assembly import (AssemblyResult, Blueprint, Cell, DifficultyBand, FormTarget, Item, assemble,
                               check_forms, form_statistics, item_information, random_draw)
from itembank.assembly.diagnose import reachable_points
from itembank.assembly.formulation import build, deviations
from itembank.assembly.heuristic import swap_start
from itembank.assembly.highs_solver import solve_form


def item(id, p, element="1.1", item_type="single", points=1.0, level=4, **kw) -> Item:
    return Item(id=id, element=element, item_type=item_type, level=level, points=points, p=p, **kw)


def blueprint(cells, mean_p=0.6, tol=0.05, n_forms=1, total=None, **kw) -> Blueprint:
    cells = tuple(cells)
    if total is None:
        total = sum(c.points for c in cells)
    return Blueprint(cells=cells, target=FormTarget(mean_p=mean_p, tolerance=tol), n_forms=n_forms,
                     total_points=total, **kw)


def codes(result_or_breaches) -> set[str]:
    if isinstance(result_or_breaches, AssemblyResult):
        return {d.code for d in result_or_breaches.diagnoses}
    return {b.code for b in result_or_breaches}


# --- known optima ---------------------------------------------------------------------------------------------

def test_single_form_picks_the_hand_computed_optimum():
    # pair means: (.50,.72)=.61 is closest to .60; next best (.50,.65)=.575
    pool = [item(i, p) for i, p in enumerate([0.50, 0.72, 0.65, 0.90, 0.20])]
    res = assemble(pool, blueprint([Cell("1.1", "single", count=2, points=2.0)]), seed=0, accept=0.0)
    assert res.status == "optimal" and res.ok
    assert set(res.forms[0].item_ids) == {0, 1}
    assert res.forms[0].mean_p == pytest.approx(0.61)
    assert res.forms[0].mean_p_deviation == pytest.approx(0.01 / 0.6)
    assert res.objective == pytest.approx(0.01 / 0.6 / 0.05)
    assert res.within_tolerance


def test_two_disjoint_forms_hit_the_target_exactly():
    # three disjoint pairs average exactly .60: (.4,.8), (.55,.65), (.3,.9)
    pool = [item(i, p) for i, p in enumerate([0.4, 0.8, 0.55, 0.65, 0.9, 0.3])]
    bp = blueprint([Cell("1.1", "single", count=2, points=2.0)], n_forms=2, tol=0.01)
    res = assemble(pool, bp, seed=3, accept=0.0)
    assert res.ok and res.within_tolerance
    assert [f.mean_p for f in res.forms] == pytest.approx([0.6, 0.6])
    assert not set(res.forms[0].item_ids) & set(res.forms[1].item_ids)
    assert res.objective == pytest.approx(0.0, abs=1e-9)


def test_cells_points_and_point_weighting():
    # judge items are worth 0.5; the points-weighted mean p of the form is the target
    pool = [item("s1", 0.8), item("s2", 0.4), item("s3", 0.6),
            item("j1", 0.9, element="1.2", item_type="judge", points=0.5),
            item("j2", 0.5, element="1.2", item_type="judge", points=0.5),
            item("j3", 0.7, element="1.2", item_type="judge", points=0.5)]
    cells = [Cell("1.1", "single", count=1, points=1.0), Cell("1.2", "judge", count=2, points=1.0)]
    bp = Blueprint(cells=tuple(cells), target=FormTarget(mean_p=0.7, tolerance=0.02, weighting="points"),
                   n_forms=1, total_points=2.0)
    res = assemble(pool, bp, accept=0.0)
    assert res.ok
    # candidates: s1 + any two judges: (.8 + (.9+.5)/2)/2=.75, (.8+.8)/2=.8, (.8+.6)/2=.7 -> s1, j2, j3
    # s3 + j1,j3: (.6+.8)/2=.7 as well -> two optima, both exactly .7
    assert res.forms[0].mean_p == pytest.approx(0.7)
    assert res.forms[0].points == pytest.approx(2.0)


def test_information_target_at_cut_score():
    a = [1.0, 1.5, 0.8, 1.2, 2.0, 0.6]
    b = [0.0, 0.5, -1.0, 1.0, 0.2, -0.5]
    pool = [item(i, 0.6, a=a[i], b=b[i], c=0.2) for i in range(6)]
    info = item_information(0.0, a, b, [0.2] * 6)[:, 0]
    target = float(info[1] + info[3])  # a unique pair hits it exactly (checked below)
    sums = {(i, j): info[i] + info[j] for i in range(6) for j in range(i + 1, 6)}
    assert sorted(abs(s - target) for s in sums.values())[1] > 0.01
    bp = Blueprint(cells=(Cell("1.1", "single", count=2, points=2.0),),
                   target=FormTarget(mean_p=0.6, tolerance=0.01, theta=0.0, information=target),
                   n_forms=1, total_points=2.0)
    res = assemble(pool, bp, accept=0.0)
    assert res.ok and set(res.forms[0].item_ids) == {1, 3}
    assert res.forms[0].information == pytest.approx(target)
    assert res.within_tolerance


def test_item_information_matches_hand_values():
    info = item_information([0.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.2])[:, 0]
    assert info[0] == pytest.approx(0.25)  # P = .5: a^2 P Q
    assert info[1] == pytest.approx((0.4 / 0.6) * (0.4 / 0.8) ** 2)  # P = .6
    with pytest.raises(ValueError, match="a > 0"):
        item_information(0.0, [0.0], [0.0], [0.0])


# --- hard rules ------------------------------------------------------------------------------------------------

def test_enemy_set_never_twice_in_a_form():
    # (.5,.7) would be perfect but they are enemies; (.5,.68) is the best allowed pair
    pool = [item("a", 0.5, enemies=("E1",)), item("b", 0.7, enemies=("E1",)), item("c", 0.68), item("d", 0.9)]
    res = assemble(pool, blueprint([Cell("1.1", "single", count=2, points=2.0)]), accept=0.0)
    assert res.ok
    assert set(res.forms[0].item_ids) == {"a", "c"}


def test_enemy_sets_across_several_forms_hold():
    rng = np.random.default_rng(5)
    pool = [item(i, float(rng.uniform(0.3, 0.9)), enemies=(f"E{i % 7}",) if i % 3 == 0 else ())
            for i in range(60)]
    bp = blueprint([Cell("1.1", "single", count=8, points=8.0)], n_forms=3, tol=0.02)
    res = assemble(pool, bp, seed=1)
    assert res.ok
    for f in res.forms:
        sets = [e for i in f.item_ids for e in pool[i].enemies]
        assert len(sets) == len(set(sets))


def test_overlap_zero_means_disjoint_and_positive_limit_is_respected():
    pool = [item(i, p) for i, p in enumerate([0.5, 0.6, 0.7])]
    cells = [Cell("1.1", "single", count=2, points=2.0)]
    strict = assemble(pool, blueprint(cells, n_forms=2, max_overlap=0))
    assert strict.status == "infeasible"
    d = strict.diagnoses[0]
    assert (d.code, d.needed, d.available) == ("cell_supply", 4, 3)
    assert "互不重复" in d.message_zh and "disjoint" in d.message_en
    loose = assemble(pool, blueprint(cells, n_forms=2, max_overlap=1))
    assert loose.ok
    a, b = (set(f.item_ids) for f in loose.forms)
    assert len(a & b) == 1


def test_overlap_limit_with_three_forms():
    rng = np.random.default_rng(11)
    pool = [item(i, float(rng.uniform(0.4, 0.8))) for i in range(9)]
    bp = blueprint([Cell("1.1", "single", count=4, points=4.0)], n_forms=3, max_overlap=2, tol=0.05)
    res = assemble(pool, bp, seed=2)
    assert res.ok
    sets = [set(f.item_ids) for f in res.forms]
    assert all(len(sets[i] & sets[j]) <= 2 for i in range(3) for j in range(i + 1, 3))


def test_exposure_limit_and_level_exclude_items():
    pool = [item("hot", 0.6, exposure=5), item("other-level", 0.6, level=3), item("x", 0.4), item("y", 0.9),
            item("z", 0.75)]
    bp = blueprint([Cell("1.1", "single", count=1, points=1.0)], exposure_limit=5, level=4)
    res = assemble(pool, bp, accept=0.0)
    assert res.ok and res.forms[0].item_ids == ("z",)  # .75 is the closest usable to .6 (not .6 itself)


def test_exclude_argument_removes_items():
    pool = [item("a", 0.6), item("b", 0.5)]
    res = assemble(pool, blueprint([Cell("1.1", "single", count=1, points=1.0)]), exclude={"a"})
    assert res.forms[0].item_ids == ("b",)


# --- infeasible: diagnosis --------------------------------------------------------------------------------------

def test_cell_supply_diagnosis_names_element_type_level():
    pool = [item(i, 0.6, element="2.3") for i in range(4)] + [item(9, 0.6, element="2.3", level=3)]
    bp = blueprint([Cell("2.3", "single", count=6, points=6.0)], level=4)
    res = assemble(pool, bp)
    assert res.status == "infeasible" and not res.forms and not res.ok
    d = res.diagnoses[0]
    assert (d.code, d.element, d.item_type, d.needed, d.available) == ("cell_supply", "2.3", "single", 6, 4)
    assert d.message_zh.startswith("要素 2.3 需要 6 道已审核的单选题（4级），题库仅有 4 道")
    assert "1 道级别不符" in d.message_zh
    assert d.message_en.startswith("Element 2.3 needs 6 approved single-choice items (level 4); "
                                   "the bank has only 4")


def test_exposure_blocked_items_are_named_in_the_diagnosis():
    pool = [item(i, 0.6, exposure=9 if i < 3 else 0) for i in range(5)]
    res = assemble(pool, blueprint([Cell("1.1", "single", count=3, points=3.0)], exposure_limit=9))
    d = res.diagnoses[0]
    assert (d.code, d.needed, d.available) == ("cell_supply", 3, 2)
    assert "曝光" in d.message_zh and "exposure limit" in d.message_en


def test_enemy_supply_and_points_diagnoses():
    pool = [item(i, 0.6, enemies=("E",)) for i in range(3)]
    res = assemble(pool, blueprint([Cell("1.1", "single", count=2, points=2.0)]))
    assert codes(res) == {"cell_enemy_supply"}
    assert res.diagnoses[0].available == 1

    pool = [item(i, 0.6, points=2.0) for i in range(5)]
    res = assemble(pool, blueprint([Cell("1.1", "single", count=2, points=3.0)]))
    assert codes(res) == {"cell_points"}
    assert res.diagnoses[0].needed == 3.0


def test_total_points_and_band_supply_diagnoses():
    pool = [item(i, 0.6) for i in range(5)]
    res = assemble(pool, blueprint([Cell("1.1", "single", count=2, points=2.0)], total=100.0))
    assert codes(res) == {"total_points"}
    res = assemble(pool, blueprint([Cell("1.1", "single", count=2, points=2.0)],
                                   bands=(DifficultyBand(0.0, 0.5, min_count=1),)))
    assert codes(res) == {"band_supply"}
    assert res.diagnoses[0].available == 0


def test_relaxation_finds_band_versus_cell_conflict():
    # counts look fine (4 items for 2), but a band allows only 1 easy item while all items are easy
    pool = [item(i, 0.7 + 0.05 * i) for i in range(4)]
    bp = blueprint([Cell("1.1", "single", count=2, points=2.0)], mean_p=0.75,
                   bands=(DifficultyBand(0.5, 1.0, max_count=1),))
    res = assemble(pool, bp)
    assert res.status == "infeasible"
    assert "conflict_band" in codes(res)
    assert codes(res) <= {"conflict_band", "conflict_cell_count", "conflict_cell_points", "conflict_total_points"}
    assert any("p∈[0.5, 1)" in d.message_zh for d in res.diagnoses)
    assert all(d.message_en.startswith("Conflicting rules") for d in res.diagnoses)


def test_multi_form_conflict_is_found_after_sequential_gets_stuck():
    # a1 is an enemy of both b's, so only a2 can open a form: one form is possible, two disjoint are not
    pool = [item("a1", 0.6, enemies=("E1", "E2")), item("a2", 0.6),
            item("b1", 0.6, element="1.2", enemies=("E1",)), item("b2", 0.6, element="1.2", enemies=("E2",))]
    cells = [Cell("1.1", "single", count=1, points=1.0), Cell("1.2", "single", count=1, points=1.0)]
    one = assemble(pool, blueprint(cells, n_forms=1))
    assert one.ok
    res = assemble(pool, blueprint(cells, n_forms=2))
    assert res.status == "infeasible"
    assert {"conflict_overlap"} <= codes(res)
    assert any(c.startswith("conflict_enemy") for c in codes(res))
    assert any("could not fit form 2" in n for n in res.notes)
    for warm in (True, False):
        sim = assemble(pool, blueprint(cells, n_forms=2), mode="simultaneous", warm_start=warm)
        assert sim.status == "infeasible" and "conflict_overlap" in codes(sim)


def test_cpsat_fallback_rescues_a_sequential_dead_end():
    # form 1 alone is best as (a, b) = .60 exactly, which leaves only the enemies (c, d) for form 2;
    # all at once, (a, c) + (b, d) or (a, d) + (b, c) work
    pool = [item("a", 0.6), item("b", 0.6), item("c", 0.4, enemies=("E",)), item("d", 0.8, enemies=("E",))]
    bp = blueprint([Cell("1.1", "single", count=2, points=2.0)], n_forms=2, tol=0.5)
    stuck = assemble(pool, bp, fallback=False)
    assert stuck.status == "no_solution" and "could not fit form 2" in stuck.notes[0]
    res = assemble(pool, bp)
    assert res.ok and any("fallback" in n for n in res.notes)
    assert sorted(sorted(f) for f in res.item_ids) in ([["a", "c"], ["b", "d"]], [["a", "d"], ["b", "c"]])


# --- reproducibility, progress, modes ---------------------------------------------------------------------------

def _medium_bank(n=240, seed=4):
    rng = np.random.default_rng(seed)
    types = ["single", "judge"]
    return [item(i, round(float(rng.beta(6, 3.5)), 3), element=f"{1 + i % 4}.1", item_type=types[(i // 4) % 2],
                 points=1.0 if (i // 4) % 2 == 0 else 0.5, a=round(float(rng.lognormal(0, 0.3)), 3),
                 b=round(float(rng.normal(-0.5, 0.8)), 3), c=0.2,
                 enemies=(f"E{i % 15}",) if i % 11 == 0 else ()) for i in range(n)]


def _medium_blueprint(n_forms=3, **kw):
    cells = [Cell(f"{e}.1", t, count=k, points=k * (1.0 if t == "single" else 0.5))
             for e in range(1, 5) for t, k in (("single", 4), ("judge", 3))]
    return Blueprint(cells=tuple(cells), target=FormTarget(mean_p=0.63, tolerance=0.005), n_forms=n_forms,
                     total_points=22.0, bands=(DifficultyBand(0.0, 0.4, 0, 3), DifficultyBand(0.4, 0.8, 15, 28)),
                     **kw)


def test_same_seed_same_forms_and_progress_reports_each_form():
    pool, bp = _medium_bank(), _medium_blueprint()
    calls: list[tuple[float, str]] = []
    r1 = assemble(pool, bp, seed=7, progress=lambda f, m: calls.append((f, m)))
    r2 = assemble(pool, bp, seed=7)
    assert r1.ok and r1.within_tolerance
    assert r1.item_ids == r2.item_ids
    assert [round(f, 6) for f, _ in calls] == [round(1 / 3, 6), round(2 / 3, 6), 1.0]
    assert "form 3 of 3" in calls[-1][1]
    others = {assemble(pool, bp, seed=s).item_ids for s in (1, 2, 3)}
    assert len(others | {r1.item_ids}) > 1  # the seed does steer tie-breaking


def test_time_limit_returns_best_found_with_its_gap():
    # accept=0 and rel_gap=0 ask for proof that no form can be closer to the target than found; with a
    # target no set of 3-decimal p values can hit, that takes far longer than the limit allows
    pool = _medium_bank(n=600)
    bp = dataclasses.replace(_medium_blueprint(n_forms=2), target=FormTarget(mean_p=0.6300001, tolerance=0.005))
    res = assemble(pool, bp, seed=0, time_limit=0.5, accept=0.0, rel_gap=0.0, candidates=None, fallback=False)
    assert res.status in ("feasible", "no_solution")
    if res.status == "feasible":
        assert res.ok and res.abs_gap > 0 and res.mip_gap > 0
        assert any(f.solver_status == "Time limit reached" for f in res.forms)
    else:
        assert res.diagnoses[0].code == "time_limit" and not res.forms


def test_result_is_json_ready():
    pool, bp = _medium_bank(), _medium_blueprint(n_forms=2)
    data = assemble(pool, bp, seed=0).to_dict()
    text = json.dumps(data, ensure_ascii=False)
    assert data["ok"] is True and data["within_tolerance"] is True and '"item_ids"' in text


def test_simultaneous_cpsat_agrees_with_sequential_on_a_small_case():
    pool = [item(i, p) for i, p in enumerate([0.4, 0.8, 0.55, 0.65, 0.9, 0.3, 0.5, 0.52])]
    bp = blueprint([Cell("1.1", "single", count=2, points=2.0)], n_forms=3, tol=0.01)
    seq = assemble(pool, bp, seed=0, accept=0.0)
    sim = assemble(pool, bp, seed=0, accept=0.0, mode="simultaneous", warm_start=False)
    assert seq.ok and sim.ok and sim.mode == "simultaneous"
    assert any("CP-SAT: OPTIMAL" in n for n in sim.notes)
    assert seq.objective == pytest.approx(0.0, abs=1e-9) and sim.objective == pytest.approx(0.0, abs=1e-3)
    assert sorted(map(sorted, seq.item_ids)) == sorted(map(sorted, sim.item_ids)) == [[0, 1], [2, 3], [4, 5]]


def test_simultaneous_mode_on_medium_bank_passes_the_checker():
    pool, bp = _medium_bank(), _medium_blueprint(n_forms=2, max_overlap=1)
    res = assemble(pool, bp, mode="simultaneous", seed=1, time_limit=5.0, accept=0.2, warm_start=False)
    assert res.ok and res.mode == "simultaneous" and res.within_tolerance
    assert any("CP-SAT" in n for n in res.notes)
    assert [b for b in check_forms(pool, bp, res.item_ids) if b.severity == "rule"] == []
    sets = [set(ids) for ids in res.item_ids]
    assert len(sets[0] & sets[1]) <= 1


def test_bad_arguments_raise_value_error():
    pool = [item("a", 0.6)]
    bp = blueprint([Cell("1.1", "single", count=1, points=1.0)])
    with pytest.raises(ValueError, match="mode"):
        assemble(pool, bp, mode="greedy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="duplicate item id 'a'"):
        assemble(pool + [item("a", 0.5)], bp)
    with pytest.raises(ValueError, match="p must be in"):
        item("b", 1.5)
    with pytest.raises(ValueError, match="two cells"):
        blueprint([Cell("1.1", "single", count=1, points=1.0)] * 2)
    with pytest.raises(ValueError, match="low < high"):
        DifficultyBand(0.5, 0.5)
    with pytest.raises(ValueError, match="item_type"):
        Cell("1.1", "essay", count=1)
    with pytest.raises(ValueError, match="seed"):
        assemble(pool, bp, seed=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seed"):
        random_draw(pool, bp, seed=-1)


def test_numpy_scalars_and_lists_are_accepted_as_plain_values():
    it = Item(id=np.int64(7), element="1.1", item_type="single", level=np.int64(4), points=np.float32(1.0),
              p=np.float64(0.6), enemies=["E1"], exposure=np.int32(2))
    assert (type(it.id), type(it.level), type(it.points), it.enemies) == (int, int, float, ("E1",))
    bp = Blueprint(cells=[Cell("1.1", "single", count=np.int64(1), points=1.0)],
                   target=FormTarget(mean_p=0.6), n_forms=1, total_points=1.0)
    assert isinstance(bp.cells, tuple) and type(bp.cells[0].count) is int
    assert assemble([it], bp).forms[0].item_ids == (7,)


# --- independent checker ----------------------------------------------------------------------------------------

def test_checker_catches_a_corrupted_result():
    pool = _medium_bank() + [item("lvl3", 0.6, element="1.1", level=3), item("hot", 0.6, element="1.1", exposure=50)]
    bp = _medium_blueprint(n_forms=2, exposure_limit=10, level=4)
    res = assemble(pool, bp, seed=0)
    assert res.ok and check_forms(pool, bp, res.item_ids) == list(res.breaches)
    a, b = (list(ids) for ids in res.item_ids)
    by_id = {it.id: it for it in pool}
    # swap a single item of form A for one of form B's items of another cell, add an enemy, a wrong-level item...
    single_in_a = next(i for i in a if by_id[i].item_type == "single")
    judge_in_b = next(i for i in b if by_id[i].item_type == "judge")
    bad_a = [i for i in a if i != single_in_a] + [judge_in_b]
    enemy_mate = next(it.id for it in pool if it.enemies and it.id not in a
                      and any(set(it.enemies) & set(by_id[j].enemies) for j in a if by_id[j].enemies)) \
        if any(by_id[j].enemies for j in a) else None
    corrupted = [bad_a + ["lvl3", "hot", "ghost", bad_a[0]], b]
    if enemy_mate is not None:
        corrupted[0].append(enemy_mate)
    found = codes(check_forms(pool, bp, corrupted))
    assert {"cell_count", "cell_points", "total_points", "overlap", "level", "exposure", "unknown_item",
            "duplicate_item"} <= found
    if enemy_mate is not None:
        assert "enemy" in found
    assert "form_count" in codes(check_forms(pool, bp, [a]))


def test_checker_reports_targets_separately_from_rules():
    pool = [item("a", 0.9), item("b", 0.3)]
    bp = blueprint([Cell("1.1", "single", count=1, points=1.0)], mean_p=0.6, tol=0.01)
    breaches = check_forms(pool, bp, [["a"]])
    assert [(b.code, b.severity) for b in breaches] == [("target_mean_p", "target")]
    assert "+50.00%" in breaches[0].message_zh


# --- baseline and statistics ------------------------------------------------------------------------------------

def test_random_draw_breaches_are_counted():
    # any two 2-subsets of 3 items share an item, so independent draws always overlap
    pool = [item(i, p) for i, p in enumerate([0.5, 0.6, 0.7])]
    bp = blueprint([Cell("1.1", "single", count=2, points=2.0)], n_forms=2, max_overlap=0)
    base = random_draw(pool, bp, seed=0, avoid_reuse=False)
    assert base.status == "breached" and base.mode == "random"
    assert "overlap" in codes(base.breaches)
    # enemies: a1-a2 and a2-a3 are enemies; only (a1, a3) is clean, the optimiser always finds it
    pool = [item("a1", 0.6, enemies=("E1",)), item("a2", 0.6, enemies=("E1", "E2")), item("a3", 0.6, enemies=("E2",))]
    bp = blueprint([Cell("1.1", "single", count=2, points=2.0)])
    draws = [random_draw(pool, bp, seed=s) for s in range(12)]
    enemy_breaches = sum("enemy" in codes(d.breaches) for d in draws)
    assert 0 < enemy_breaches < 12
    assert all(d.status == ("breached" if "enemy" in codes(d.breaches) else "feasible") for d in draws)
    assert set(assemble(pool, bp).forms[0].item_ids) == {"a1", "a3"}


def test_random_draw_is_reproducible_and_deviates_from_target():
    pool, bp = _medium_bank(), _medium_blueprint()
    d1, d2 = random_draw(pool, bp, seed=3), random_draw(pool, bp, seed=3)
    assert d1.item_ids == d2.item_ids
    assert all(len(f.item_ids) == 28 and f.points == 22.0 for f in d1.forms)
    opt = assemble(pool, bp, seed=3)
    assert opt.objective < d1.objective


def test_form_statistics_shapes_and_values():
    pool = _medium_bank()
    forms = [[0, 1, 2], [2, 3], []]
    s = form_statistics(pool, forms, thetas=[-1.0, 0.0, 1.0])
    assert s.tif.shape == (3, 3) and s.overlap.tolist() == [[3, 1, 0], [1, 2, 0], [0, 0, 0]]
    assert s.n_items.tolist() == [3, 2, 0]
    assert s.mean_p[0] == pytest.approx(np.mean([pool[i].p for i in (0, 1, 2)]))
    assert math.isnan(s.mean_p[2]) and s.points[1] == pool[2].points + pool[3].points
    expected = item_information([0.0], [pool[i].a for i in (2, 3)], [pool[i].b for i in (2, 3)], [0.2, 0.2]).sum()
    assert s.tif[1, 1] == pytest.approx(expected)
    assert set(s.to_dict()) == {"n_items", "points", "mean_p", "thetas", "tif", "overlap"}
    with pytest.raises(ValueError, match="not in pool"):
        form_statistics(pool, [["nope"]])


def test_reachable_points():
    assert reachable_points([1.0, 1.0, 2.0], 2, 3.0) == {2.0, 3.0}
    assert reachable_points([0.5, 0.5, 0.5], None, 1.0) == {0.0, 0.5, 1.0}
    assert reachable_points([1 / 3], 1, 1.0) is None


def test_swap_start_meets_the_count_rules_and_is_checked_by_highs():
    pool, bp = _medium_bank(), _medium_blueprint(n_forms=1)
    fm = build(pool, bp)
    start = swap_start(fm, np.ones(fm.n, dtype=bool), (), np.random.default_rng(0), goal=0.01)
    assert start is not None
    ids = [fm.ids[i] for i in start]
    assert [b for b in check_forms(pool, bp, [ids]) if b.severity == "rule"] == []
    assert len(start) == 28 and abs(deviations(fm, start)[0]) <= 0.01
    out = solve_form(fm, available=np.ones(fm.n, dtype=bool), start=start, accept=0.5)
    assert out.status == "optimal" and out.objective <= max(abs(deviations(fm, start)[0]), 0.5) + 1e-9
    points_only = dataclasses.replace(bp, cells=tuple(dataclasses.replace(c, count=None) for c in bp.cells))
    assert swap_start(build(pool, points_only), np.ones(fm.n, dtype=bool), (), np.random.default_rng(0)) is None


def test_package_is_pure_and_silent(capfd):
    forbidden = {"flask", "flask_socketio", "celery", "redis", "sqlalchemy", "examserver", "scoring"}
    root = pathlib.Path(itembank.assembly.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                top = name.split(".")[0]
                assert top not in forbidden, f"{path.name} imports {name}"
                assert top != "itembank" or name.startswith("itembank.assembly"), f"{path.name} imports {name}"
    assemble([item("a", 0.6)], blueprint([Cell("1.1", "single", count=1, points=1.0)]))
    out, err = capfd.readouterr()
    assert "HiGHS" not in out + err


# --- property: whatever the solver returns as feasible passes the independent checker ---------------------------

@st.composite
def small_problem(draw):
    n = draw(st.integers(4, 24))
    elements = ["1.1", "1.2"]
    types = ["single", "judge"]
    pool = []
    for i in range(n):
        t = draw(st.sampled_from(types))
        pool.append(Item(id=i, element=draw(st.sampled_from(elements)), item_type=t, level=4,
                         points=1.0 if t == "single" else 0.5, p=draw(st.floats(0.05, 0.95)),
                         enemies=tuple(draw(st.lists(st.sampled_from(["E1", "E2", "E3"]), max_size=1))),
                         exposure=draw(st.integers(0, 3))))
    cells = []
    for e in elements:
        for t in types:
            if draw(st.booleans()):
                k = draw(st.integers(0, 3))
                cells.append(Cell(e, t, count=k, points=k * (1.0 if t == "single" else 0.5)))
    if not cells:
        cells.append(Cell("1.1", "single", count=1, points=1.0))
    total = sum(c.points for c in cells) or 1.0
    bands = (DifficultyBand(0.0, 0.5, 0, draw(st.integers(0, 4))),) if draw(st.booleans()) else ()
    bp = Blueprint(cells=tuple(cells), target=FormTarget(mean_p=draw(st.floats(0.3, 0.8)), tolerance=0.01),
                   n_forms=draw(st.integers(1, 3)), total_points=total, bands=bands,
                   max_overlap=draw(st.integers(0, 2)), exposure_limit=draw(st.sampled_from([None, 3])))
    return pool, bp, draw(st.sampled_from(["sequential", "simultaneous"])), draw(st.booleans())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_problem())
def test_any_feasible_solution_passes_the_independent_checker(problem):
    pool, bp, mode, warm = problem
    res = assemble(pool, bp, mode=mode, seed=0, time_limit=3.0, diagnose_time=1.0, warm_start=warm)
    if res.status in ("optimal", "feasible"):
        assert len(res.forms) == bp.n_forms
        assert [b for b in check_forms(pool, bp, res.item_ids) if b.severity == "rule"] == []
        assert list(res.breaches) == check_forms(pool, bp, res.item_ids)
    else:
        assert res.status in ("infeasible", "no_solution") and res.diagnoses and not res.forms
