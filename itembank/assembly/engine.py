"""Assemble parallel test forms (平行试卷): the entry point :func:`assemble`."""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from itembank.assembly.checker import check_forms
from itembank.assembly.cpsat_solver import solve_all
from itembank.assembly.diagnose import conflict_diagnoses, minimal_conflict, supply_diagnoses
from itembank.assembly.formulation import Formulation, Group, Row, build, deviations
from itembank.assembly.heuristic import swap_start
from itembank.assembly.highs_solver import SolveOutcome, solve_form
from itembank.assembly.model import (AssembledForm, AssemblyResult, Blueprint, Diagnosis, Item, ItemId, Status,
                                     index_pool)
from itembank.assembly.stats import form_objective, form_summary

Progress = Callable[[float, str], None]
"""``progress(fraction, message)``: fraction of the work done (0..1) and a short message."""

Mode = Literal["sequential", "simultaneous"]


def assemble(pool: Sequence[Item], blueprint: Blueprint, *, mode: Mode = "sequential", seed: int = 0,
             time_limit: float = 60.0, accept: float = 0.05, rel_gap: float = 1e-4,
             candidates: int | None = 4, fallback: bool = True, exclude: Collection[ItemId] = (),
             progress: Progress | None = None, diagnose_time: float = 10.0, workers: int = 1,
             warm_start: bool = True) -> AssemblyResult:
    """Assemble ``blueprint.n_forms`` parallel forms from ``pool``.

    Every blueprint rule is hard. Each form minimises its largest deviation from the
    ABSOLUTE targets (mean p and, if set, test information at the cut score), measured in
    tolerance units; a form is within tolerance when that value is <= 1.

    Parameters
    ----------
    pool
        Approved items (status filtering is the caller's job); ids unique.
    blueprint
        The rules.
    mode
        ``"sequential"`` (default): one HiGHS MIP per form, each excluding the items the
        overlap rule forbids given the earlier forms; fast. ``"simultaneous"``: one CP-SAT
        model of all forms at once, for tight banks; with ``warm_start`` it is started from a
        sequential pass run in the first third of ``time_limit`` (skipped when that pass is
        already within ``accept`` of the target) and keeps the better of the two.
    seed
        Makes the result reproducible (column order, candidate sampling, solver seeds);
        different seeds give different, equally good forms. A run cut short by
        ``time_limit`` may not be reproducible.
    time_limit
        Seconds for the whole assembly (diagnosis excluded).
    accept
        Stop improving a form once its deviation is proven within ``accept`` tolerance units
        of the best possible (absolute MIP gap); 0 asks for proven optimality.
    rel_gap
        Relative MIP gap at which a solve stops.
    candidates
        Large banks: each form is first solved over a seeded random sample of at most
        ``max(candidates × items needed, 2.5 × candidates)`` items per cell (all items if the
        cell has fewer; × ``n_forms`` in the simultaneous mode, which gets half the time for
        it), falling back to every item if the sample is infeasible or misses the tolerance.
        ``None`` always uses every item.
    fallback
        When the sequential mode cannot fit a later form, retry all forms at once with
        CP-SAT in the remaining time.
    exclude
        Item ids never to use (e.g. published sample items).
    progress
        Called as forms complete: ``progress(fraction, message)``.
    diagnose_time
        Seconds allowed for the relaxation diagnosis of an infeasible blueprint.
    workers
        CP-SAT workers (simultaneous mode and fallback). 1 (default) is reproducible; more
        run an interleaved search that stays reproducible but is often slower.
    warm_start
        Simultaneous mode only: run the sequential pass first (see ``mode``).

    Returns
    -------
    AssemblyResult
        Forms, per-form deviation and MIP gap, status, the independent checker's breaches,
        and diagnoses when infeasible.
    """
    t0 = time.perf_counter()
    if mode not in ("sequential", "simultaneous"):
        raise ValueError(f"mode must be 'sequential' or 'simultaneous', got {mode!r}")
    for name, v in (("time_limit", time_limit), ("diagnose_time", diagnose_time)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive number of seconds, got {v!r}")
    if not (isinstance(accept, (int, float)) and accept >= 0) or not (isinstance(rel_gap, (int, float))
                                                                         and rel_gap >= 0):
        raise ValueError(f"accept and rel_gap must be >= 0, got {accept!r}, {rel_gap!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    if candidates is not None and (not isinstance(candidates, int) or candidates < 1):
        raise ValueError(f"candidates must be an int >= 1 or None, got {candidates!r}")
    index_pool(pool)
    fm = build(pool, blueprint, frozenset(exclude))
    supply = supply_diagnoses(pool, blueprint, fm)
    if supply:
        return AssemblyResult(status="infeasible", mode=mode, seed=seed, diagnoses=tuple(supply),
                              seconds=time.perf_counter() - t0,
                              notes=("infeasible by counting supply; nothing was solved",))
    rng = np.random.default_rng(seed)
    n_f = blueprint.n_forms
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=n_f + 1)]
    notes: list[str] = []

    def remaining() -> float:
        return time_limit - (time.perf_counter() - t0)

    say = progress if mode == "sequential" else None
    seq_deadline = t0 + (time_limit if mode == "sequential" else time_limit / 3)
    if mode == "sequential" or warm_start:
        outcomes, failed = _sequential(fm, blueprint, seeds=seeds, candidates=candidates, accept=accept,
                                       rel_gap=rel_gap, deadline=seq_deadline, progress=say)
    else:
        outcomes, failed = [], SolveOutcome("no_solution", (), None, None, None, 0.0, "not run")
    k = len(outcomes)
    if failed is not None and k == 0 and failed.solver_status != "not run":
        if failed.status == "infeasible":  # one form is impossible, so are n_forms
            diags = _diagnose(fm, blueprint, multi=False, budget=diagnose_time, seed=seeds[-1], workers=workers)
            return AssemblyResult(status="infeasible", mode=mode, seed=seed, diagnoses=tuple(diags),
                                  seconds=time.perf_counter() - t0)
        if mode == "sequential":
            return _no_solution(mode, seed, t0, blueprint, 0)
    if failed is not None and failed.solver_status != "not run":
        notes.append(f"sequential assembly could not fit form {k + 1} after forms 1..{k} ({failed.solver_status})")
    if mode == "sequential" and failed is None:
        return _result(pool, blueprint, fm, outcomes, mode=mode, seed=seed, t0=t0, notes=notes)
    if mode == "sequential" and not fallback:
        return _no_solution(mode, seed, t0, blueprint, k, notes)
    if failed is None and _worst(fm, [o.chosen[0] for o in outcomes]) <= accept:
        # every deviation is >= 0, so forms within `accept` of 0 are within `accept` of the optimum
        notes.append(f"the sequential forms are within accept={accept:g} tolerance units of the target, "
                     "hence of the all-at-once optimum; CP-SAT was not needed")
        if progress is not None:
            progress(1.0, f"{n_f} 套试卷已组好 ({n_f} forms assembled)")
        return _result(pool, blueprint, fm, outcomes, mode=mode, seed=seed, t0=t0, notes=notes)
    # all forms at once, warm-started from whatever the sequential pass found
    out = solve_all(fm, n_forms=n_f, max_overlap=blueprint.max_overlap, time_limit=max(remaining(), 1.0),
                    accept=accept, rel_gap=rel_gap, seed=seeds[-1], workers=workers,
                    hint=[o.chosen[0] for o in outcomes])
    notes.append(f"all-forms-at-once CP-SAT{' fallback' if mode == 'sequential' else ''}: {out.solver_status}"
                 + (f", warm-started from {k} sequential form(s)" if k else ""))
    if out.status == "infeasible":
        multi = k > 0 or solve_form(fm, available=np.ones(fm.n, dtype=bool), objective=False,
                                    time_limit=max(diagnose_time / 4, 0.5), seed=seeds[-1]).status != "infeasible"
        diags = _diagnose(fm, blueprint, multi=multi, budget=diagnose_time, seed=seeds[-1], workers=workers)
        return AssemblyResult(status="infeasible", mode=mode, seed=seed, diagnoses=tuple(diags),
                              seconds=time.perf_counter() - t0, notes=tuple(notes))
    complete = failed is None and k == n_f
    if out.status == "no_solution" or (complete and _worst(fm, [o.chosen[0] for o in outcomes]) + 1e-9
                                       < _worst(fm, list(out.chosen))):
        if not complete:
            return _no_solution(mode, seed, t0, blueprint, k, notes)
        notes.append("kept the sequential forms: CP-SAT did not improve on them in time")
        outcomes = [SolveOutcome("feasible", o.chosen, o.objective, o.mip_gap, o.abs_gap, o.seconds,
                                 o.solver_status) for o in outcomes]
    else:
        outcomes = _split(out)
    if progress is not None:
        progress(1.0, f"{n_f} 套试卷已组好 ({n_f} forms assembled)")
    return _result(pool, blueprint, fm, outcomes, mode=mode, seed=seed, t0=t0, notes=notes)


def _sequential(fm: Formulation, bp: Blueprint, *, seeds: Sequence[int], candidates: int | None, accept: float,
                rel_gap: float, deadline: float, progress: Progress | None
                ) -> tuple[list[SolveOutcome], SolveOutcome | None]:
    """Solve form after form; returns the forms found and the failing outcome (None if all fit)."""
    n_f = bp.n_forms
    available = np.ones(fm.n, dtype=bool)
    extra: list[Row] = []
    outcomes: list[SolveOutcome] = []
    for k in range(n_f):
        budget = max((deadline - time.perf_counter()) / (n_f - k), 0.05)
        t_form = time.perf_counter()
        out = None
        rng = np.random.default_rng(seeds[k])
        sub = _sample(fm, available, candidates, rng) if candidates else None
        if sub is not None:
            start = swap_start(fm, sub, extra, rng, goal=accept / 2)
            out = solve_form(fm, available=sub, extra_rows=extra, time_limit=budget, accept=accept,
                             rel_gap=rel_gap, seed=seeds[k], start=start)
            if out.status in ("infeasible", "no_solution") or (out.objective or 0.0) > 1.0:
                out = None
        if out is None:
            left = max(budget - (time.perf_counter() - t_form), 0.05)
            start = swap_start(fm, available, extra, rng, goal=accept / 2)
            out = solve_form(fm, available=available, extra_rows=extra, time_limit=left, accept=accept,
                             rel_gap=rel_gap, seed=seeds[k], start=start)
        if out.status in ("infeasible", "no_solution"):
            return outcomes, out
        chosen = out.chosen[0]
        outcomes.append(SolveOutcome(out.status, out.chosen, out.objective, out.mip_gap, out.abs_gap,
                                     time.perf_counter() - t_form, out.solver_status))
        if bp.max_overlap == 0:
            available[chosen] = False
        else:
            extra.append(Row(("overlap", k), chosen, np.ones(len(chosen)), 0.0, float(bp.max_overlap)))
        if progress is not None:
            progress((k + 1) / n_f, f"第 {k + 1}/{n_f} 套试卷已组好 (form {k + 1} of {n_f} assembled)")
    return outcomes, None


def _worst(fm: Formulation, forms: Sequence[NDArray[np.int64]]) -> float:
    """Largest |deviation| of any form from any target, in tolerance units (model measure)."""
    worst = 0.0
    for chosen in forms:
        d_p, d_i = deviations(fm, chosen)
        worst = max(worst, abs(d_p), abs(d_i) if d_i is not None else 0.0)
    return worst


def _split(out: SolveOutcome) -> list[SolveOutcome]:
    """Per-form outcomes of an all-at-once solve (objective and gap are those of the whole)."""
    share = out.seconds / max(len(out.chosen), 1)
    return [SolveOutcome(out.status, (c,), out.objective, out.mip_gap, out.abs_gap, share, out.solver_status)
            for c in out.chosen]


def _sample(fm: Formulation, available: NDArray[np.bool_], factor: int,
            rng: np.random.Generator) -> NDArray[np.bool_] | None:
    """A seeded random subset of the available items, capped per cell; None if it would keep all."""
    sub = np.zeros(fm.n, dtype=bool)
    for k, cell in enumerate(fm.blueprint.cells):
        idx = np.flatnonzero(available & (fm.cell_of == k))
        if cell.count is not None:
            need = cell.count
        else:
            pts = fm.points[idx]
            need = math.ceil((cell.points or 0.0) / float(pts.min())) if len(pts) else 0
        cap = max(factor * need, math.ceil(2.5 * factor))
        sub[idx if len(idx) <= cap else rng.choice(idx, size=cap, replace=False)] = True
    return None if sub.sum() == available.sum() else sub


def _diagnose(fm: Formulation, bp: Blueprint, *, multi: bool, budget: float, seed: int,
              workers: int) -> list[Diagnosis]:
    everything = np.ones(fm.n, dtype=bool)

    def probe(groups: set[Group], tl: float) -> bool | None:
        if multi:
            out = solve_all(fm, n_forms=bp.n_forms, max_overlap=bp.max_overlap, groups=groups, objective=False,
                            time_limit=tl, seed=seed, workers=workers)
        else:
            out = solve_form(fm, available=everything, groups=groups, objective=False, time_limit=tl, seed=seed)
        return {"infeasible": False, "no_solution": None}.get(out.status, True)

    groups = fm.groups() + ([("overlap", 0)] if multi and bp.n_forms > 1 else [])
    conflict, minimal = minimal_conflict(groups, probe, budget)
    return conflict_diagnoses(bp, fm, conflict, minimal, "forms" if multi else "form")


def _no_solution(mode: str, seed: int, t0: float, bp: Blueprint, done: int,
                 notes: Sequence[str] = ()) -> AssemblyResult:
    d = Diagnosis("time_limit",
                  f"在时限内只组好 {done}/{bp.n_forms} 套试卷，未找到满足全部规则的方案；可延长时限、改用同时组卷模式或补充题目",
                  f"Only {done} of {bp.n_forms} forms were assembled within the time limit; allow more time, use the "
                  f"simultaneous mode or add items", needed=bp.n_forms, available=done)
    return AssemblyResult(status="no_solution", mode=mode, seed=seed, diagnoses=(d,),
                          seconds=time.perf_counter() - t0, notes=tuple(notes))


def _result(pool: Sequence[Item], bp: Blueprint, fm: Formulation, outcomes: list[SolveOutcome], *, mode: str,
            seed: int, t0: float, notes: list[str]) -> AssemblyResult:
    forms = []
    for f, out in enumerate(outcomes):
        chosen = out.chosen[0]
        items = [fm.items[i] for i in chosen]
        s = form_summary(items, bp.target)
        forms.append(AssembledForm(
            index=f, item_ids=tuple(fm.ids[i] for i in chosen), points=float(s["points"] or 0.0),
            mean_p=float(s["mean_p"] or 0.0), mean_p_deviation=float(s["mean_p_deviation"] or 0.0),
            information=s["information"], information_deviation=s["information_deviation"],
            objective=form_objective(s, bp.target), mip_gap=out.mip_gap, abs_gap=out.abs_gap,
            solver_status=out.solver_status, seconds=out.seconds))
    breaches = check_forms(pool, bp, [f.item_ids for f in forms])
    if any(b.severity == "rule" for b in breaches):
        notes.append("the independent checker found rule breaches in the solver's forms (solver bug?)")
    status: Status = "optimal" if all(o.status == "optimal" for o in outcomes) else "feasible"
    gaps = [o.mip_gap for o in outcomes if o.mip_gap is not None]
    abs_gaps = [o.abs_gap for o in outcomes if o.abs_gap is not None]
    return AssemblyResult(status=status, mode=mode, seed=seed, forms=tuple(forms), breaches=tuple(breaches),
                          objective=max((f.objective for f in forms if f.objective is not None), default=None),
                          mip_gap=max(gaps) if gaps else None, abs_gap=max(abs_gaps) if abs_gaps else None,
                          seconds=time.perf_counter() - t0,
                          notes=tuple(notes))
