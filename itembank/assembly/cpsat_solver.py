"""Solve ALL forms at once with OR-Tools CP-SAT: the mode for hard (tight) banks.

Binary ``x[f, i]`` for every form ``f`` and usable item ``i``; the single-form rows of
:mod:`itembank.assembly.formulation` are imposed on every form, plus the overlap rule
between every pair of forms (``sum_f x[f, i] <= 1`` when forms must be disjoint, else an
indicator ``y[f, g, i] >= x[f, i] + x[g, i] - 1`` with ``sum_i y[f, g, i] <= max_overlap``).
CP-SAT needs integers: rows are scaled to integral coefficients exactly, and target
deviations are rounded to 1/``SCALE`` of a tolerance unit.
"""
from __future__ import annotations

import math
import time
from collections.abc import Collection, Sequence

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from itembank.assembly.formulation import Formulation, Group
from itembank.assembly.highs_solver import SolveOutcome

SCALE = 10_000
"""Target deviations are rounded to 1/SCALE of a tolerance unit."""

_MULTIPLIERS = (1, 2, 4, 5, 10, 20, 25, 50, 100, 1000)


def integral_row(coefs: NDArray[np.float64], lo: float, hi: float, where: str
                 ) -> tuple[list[int], int | None, int | None]:
    """Scale a row so that its coefficients and bounds are integers, exactly.

    Returns integer coefficients and bounds (``None`` for an infinite bound); raises
    ``ValueError`` naming the row when no multiplier up to 1000 makes it integral
    (e.g. points of 1/3).
    """
    finite = [v for v in (lo, hi) if math.isfinite(v)]
    values = np.concatenate([coefs, np.array(finite, dtype=np.float64)])
    for m in _MULTIPLIERS:
        scaled = values * m
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-7 * np.maximum(1.0, np.abs(scaled))):
            ic = [int(round(v * m)) for v in coefs]
            ilo = int(round(lo * m)) if math.isfinite(lo) else None
            ihi = int(round(hi * m)) if math.isfinite(hi) else None
            return ic, ilo, ihi
    raise ValueError(f"{where}: coefficients {coefs[:5]}... cannot be scaled to integers for CP-SAT")


def solve_all(fm: Formulation, *, n_forms: int, max_overlap: int, available: NDArray[np.bool_] | None = None,
              groups: Collection[Group] | None = None, objective: bool = True, time_limit: float = 30.0,
              accept: float = 0.02, rel_gap: float = 1e-4, seed: int = 0, workers: int = 1,
              deterministic: bool = True, hint: Sequence[NDArray[np.int64]] = ()) -> SolveOutcome:
    """Choose ``n_forms`` forms together, minimising the largest deviation of any form.

    Parameters
    ----------
    fm
        The single-form formulation (rows are imposed on every form).
    n_forms, max_overlap
        Number of forms and the largest number of items two forms may share.
    available
        Shape ``(fm.n,)``: items that may be chosen at all (default: every usable item).
    groups
        If given, only rows of these groups are imposed; the overlap rule is the group
        ``("overlap", 0)``.
    objective
        ``False``: find any feasible set of forms.
    time_limit, accept, rel_gap
        Seconds; absolute gap in tolerance units; relative gap.
    seed
        CP-SAT ``random_seed``.
    workers, deterministic
        CP-SAT workers. One worker is deterministic for a given seed (unless cut short by the
        time limit); with several, ``deterministic=True`` interleaves their search to stay
        reproducible (often much slower), ``False`` runs a parallel portfolio.
    hint
        Pool-local indices of known forms (e.g. those the sequential mode found) as a
        solution hint.
    """
    t0 = time.perf_counter()
    avail = np.ones(fm.n, dtype=bool) if available is None else available
    if avail.shape != (fm.n,):
        raise ValueError(f"available must have shape ({fm.n},), got {avail.shape}")
    cols = np.flatnonzero(avail)
    local = np.full(fm.n, -1, dtype=np.int64)
    local[cols] = np.arange(len(cols))
    n = len(cols)
    model = cp_model.CpModel()
    x = [[model.new_bool_var(f"x{f}_{i}") for i in range(n)] for f in range(n_forms)]
    wsum = cp_model.LinearExpr.weighted_sum
    for row in fm.rows:
        if groups is not None and row.group not in groups:
            continue
        loc = local[row.cols]
        keep = loc >= 0
        rc, coefs = loc[keep], row.coefs[keep]
        if row.group[0] == "enemy" and len(rc) < 2:
            continue
        ic, ilo, ihi = integral_row(coefs, row.lo, row.hi, f"row {row.group}")
        for f in range(n_forms):
            vs = [x[f][j] for j in rc.tolist()]
            if row.group[0] == "enemy":
                model.add_at_most_one(vs)
                continue
            expr = wsum(vs, ic)
            if ilo is not None and ilo == ihi:
                model.add(expr == ilo)
            else:
                if ilo is not None:
                    model.add(expr >= ilo)
                if ihi is not None:
                    model.add(expr <= ihi)
    pair_vars: dict[tuple[int, int], list[cp_model.IntVar]] = {}
    if n_forms > 1 and (groups is None or ("overlap", 0) in groups):
        if max_overlap == 0:
            for j in range(n):
                model.add_at_most_one([x[f][j] for f in range(n_forms)])
        else:
            for f in range(n_forms):
                for g in range(f + 1, n_forms):
                    ys = []
                    for j in range(n):
                        y = model.new_bool_var(f"y{f}_{g}_{j}")
                        model.add_bool_or([~x[f][j], ~x[g][j], y])
                        ys.append(y)
                    pair_vars[(f, g)] = ys
                    model.add(cp_model.LinearExpr.sum(ys) <= max_overlap)
    if objective:
        targets = [(np.round(fm.dev_p[cols] * SCALE).astype(np.int64), 0)]
        if fm.dev_info is not None:
            targets.append((np.round(fm.dev_info[cols] * SCALE).astype(np.int64),
                            int(round(fm.dev_info_offset * SCALE))))
        big = int(sum(np.abs(c).sum() for c, _ in targets) + sum(abs(o) for _, o in targets) + 1)
        z = model.new_int_var(0, big, "z")
        for f in range(n_forms):
            for coefs, offset in targets:
                nz = np.flatnonzero(coefs).tolist()
                expr = wsum([x[f][j] for j in nz], [int(coefs[j]) for j in nz]) - offset
                model.add(z >= expr)
                model.add(z >= -expr)
        model.minimize(z)
    # hint: x of the known forms; when every form is known, also the overlap indicators and z,
    # so that CP-SAT starts from a complete solution instead of repairing a partial one
    hinted = [np.zeros(n, dtype=bool) for _ in range(min(len(hint), n_forms))]
    for f, chosen in enumerate(hint[:n_forms]):
        loc = local[np.asarray(chosen, dtype=np.int64)]
        hinted[f][loc[loc >= 0]] = True
        for j in range(n):
            model.add_hint(x[f][j], bool(hinted[f][j]))
    if len(hinted) == n_forms:
        for (f, g), ys in pair_vars.items():
            for j, y in enumerate(ys):
                model.add_hint(y, bool(hinted[f][j] and hinted[g][j]))
        if objective:
            model.add_hint(z, max(abs(int(coefs[h].sum()) - offset) for h in hinted for coefs, offset in targets))

    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.max_time_in_seconds = float(max(time_limit - (time.perf_counter() - t0), 0.01))  # building counts
    prm.num_workers = int(workers)
    # one worker is deterministic; several are deterministic only when interleaved (slower)
    prm.interleave_search = workers > 1 and deterministic
    prm.random_seed = int(seed % (2**31 - 1))
    if objective:
        prm.absolute_gap_limit = float(accept * SCALE)
        prm.relative_gap_limit = float(rel_gap)
    else:
        prm.stop_after_first_solution = True
    st = solver.solve(model)
    seconds = time.perf_counter() - t0
    name = solver.status_name(st)
    if st == cp_model.INFEASIBLE:
        return SolveOutcome("infeasible", (), None, None, None, seconds, name)
    if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if st == cp_model.MODEL_INVALID:
            raise ValueError(f"CP-SAT rejected the model: {model.validate()}")
        return SolveOutcome("no_solution", (), None, None, None, seconds, name)
    chosen_forms = tuple(np.sort(cols[[j for j in range(n) if solver.boolean_value(x[f][j])]]).astype(np.int64)
                         for f in range(n_forms))
    status = "optimal" if st == cp_model.OPTIMAL else "feasible"
    if not objective:
        return SolveOutcome(status, chosen_forms, None, None, None, seconds, name)
    obj = solver.objective_value / SCALE
    bound = max(solver.best_objective_bound / SCALE, 0.0)
    gap = (obj - bound) / obj if obj > 0 else 0.0
    return SolveOutcome(status, chosen_forms, obj, gap, max(obj - bound, 0.0), seconds, name)
