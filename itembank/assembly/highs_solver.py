"""Solve the model of ONE form with HiGHS (``highspy``): the sequential mode's workhorse."""
from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from itembank.assembly.formulation import Formulation, Group, Row


@dataclass(frozen=True)
class SolveOutcome:
    """Result of one solver call.

    ``chosen`` holds pool-local indices (into ``Formulation.items``), sorted; per form for
    the all-at-once solver. ``objective`` and ``abs_gap`` are in tolerance units.
    """

    status: str  # optimal | feasible | infeasible | no_solution
    chosen: tuple[NDArray[np.int64], ...]
    objective: float | None
    mip_gap: float | None
    abs_gap: float | None
    seconds: float
    solver_status: str


def _new_highs() -> Any:
    """A silent HiGHS instance.

    ``highspy.Highs()`` prints a copyright banner on construction (before any option can be
    set); the bare core class does not, and has every method used here.
    """
    try:
        from highspy._core import _Highs
        h = _Highs()
    except ImportError:  # pragma: no cover - other highspy layouts
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


_Mapped = tuple[list[int], list[NDArray[np.int64]], list[NDArray[np.float64]], list[float], list[float]]


def _rows_matrix(rows: Sequence[Row], local: NDArray[np.int64]) -> _Mapped | None:
    """Map rows onto local columns; ``None`` if a row is trivially unsatisfiable."""
    r_idx: list[int] = []
    c_parts: list[NDArray[np.int64]] = []
    v_parts: list[NDArray[np.float64]] = []
    lo: list[float] = []
    hi: list[float] = []
    for row in rows:
        loc = local[row.cols]
        keep = loc >= 0
        cols, coefs = loc[keep], row.coefs[keep]
        if len(cols) == 0:
            if row.lo > 1e-9 or row.hi < -1e-9:
                return None
            continue
        if row.group[0] in ("enemy", "overlap") and coefs.sum() <= row.hi + 1e-9:
            continue  # cannot bind
        r = len(lo)
        r_idx.append(r)
        c_parts.append(cols)
        v_parts.append(coefs)
        lo.append(row.lo)
        hi.append(row.hi)
    return r_idx, c_parts, v_parts, lo, hi


def solve_form(fm: Formulation, *, available: NDArray[np.bool_], extra_rows: Sequence[Row] = (),
               groups: Collection[Group] | None = None, objective: bool = True, time_limit: float = 10.0,
               accept: float = 0.02, rel_gap: float = 1e-4, seed: int = 0,
               start: NDArray[np.int64] | None = None) -> SolveOutcome:
    """Choose one form among the ``available`` items minimising the largest target deviation.

    Parameters
    ----------
    fm
        The single-form formulation.
    available
        Shape ``(fm.n,)``: items that may be chosen (usable and not excluded by earlier forms).
    extra_rows
        Further hard rows, e.g. overlap with earlier forms.
    groups
        If given, only rows of these groups are imposed (used by the relaxation diagnosis).
    objective
        ``False``: find any feasible form (no target rows), as the diagnosis does.
    time_limit
        Seconds.
    accept
        Absolute gap in tolerance units at which the search stops (``mip_abs_gap``).
    rel_gap
        Relative MIP gap at which the search stops.
    seed
        Seeds the column order and HiGHS's ``random_seed``; same seed, same form (unless the
        time limit cuts the search short).
    start
        Pool-local indices of a form to start from (a MIP start). HiGHS checks it: an
        infeasible start is ignored; a start within ``accept`` of the LP bound ends the search
        at the root.
    """
    t0 = time.perf_counter()
    if available.shape != (fm.n,):
        raise ValueError(f"available must have shape ({fm.n},), got {available.shape}")
    rng = np.random.default_rng(seed)
    cols_sel = rng.permutation(np.flatnonzero(available)).astype(np.int64)
    n = len(cols_sel)
    local = np.full(fm.n, -1, dtype=np.int64)
    local[cols_sel] = np.arange(n)
    rows = [r for r in (*fm.rows, *extra_rows) if groups is None or r.group in groups]
    mapped = _rows_matrix(rows, local)
    if mapped is None:
        return SolveOutcome("infeasible", (), None, None, None, time.perf_counter() - t0, "trivially infeasible")
    r_idx, c_parts, v_parts, lo, hi = mapped
    z = n
    n_cols = n + 1 if objective else n
    if objective:
        targets: list[tuple[NDArray[np.float64], float]] = [(fm.dev_p[cols_sel], 0.0)]
        if fm.dev_info is not None:
            targets.append((fm.dev_info[cols_sel], fm.dev_info_offset))
        for coefs, offset in targets:
            for sign in (-1.0, 1.0):  # coefs@x - z <= offset ; coefs@x + z >= offset
                r_idx.append(len(lo))
                c_parts.append(np.append(np.arange(n, dtype=np.int64), z))
                v_parts.append(np.append(coefs, sign))
                lo.append(-np.inf if sign < 0 else offset)
                hi.append(offset if sign < 0 else np.inf)
    n_rows = len(lo)
    row_of = np.concatenate([np.full(len(c), r, dtype=np.int64) for r, c in zip(r_idx, c_parts)]) if c_parts \
        else np.zeros(0, dtype=np.int64)
    col_of = np.concatenate(c_parts) if c_parts else np.zeros(0, dtype=np.int64)
    val = np.concatenate(v_parts) if v_parts else np.zeros(0)
    a = sparse.csc_matrix((val, (row_of, col_of)), shape=(n_rows, n_cols))

    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    cost = np.zeros(n_cols)
    upper = np.ones(n_cols)
    if objective:
        cost[z] = 1.0
        upper[z] = highspy.kHighsInf
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(n_cols)
    lp.col_upper_ = upper
    lp.row_lower_ = np.where(np.isinf(lo), -highspy.kHighsInf, lo)
    lp.row_upper_ = np.where(np.isinf(hi), highspy.kHighsInf, hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n + ([highspy.HighsVarType.kContinuous] if objective else [])

    h = _new_highs()
    h.setOptionValue("time_limit", float(max(time_limit - (time.perf_counter() - t0), 0.01)))  # building counts
    h.setOptionValue("mip_abs_gap", float(accept))
    h.setOptionValue("mip_rel_gap", float(rel_gap))
    h.setOptionValue("random_seed", int(rng.integers(0, 2**31 - 1)))
    h.setOptionValue("threads", 1)
    if not objective:
        h.setOptionValue("mip_max_improving_sols", 1)
    h.passModel(lp)
    if start is not None and len(start):
        x0 = np.zeros(n_cols)
        x0[:n] = np.isin(cols_sel, start)
        if objective:
            devs = [abs(float(fm.dev_p[start].sum()))]
            if fm.dev_info is not None:
                devs.append(abs(float(fm.dev_info[start].sum()) - fm.dev_info_offset))
            x0[z] = max(devs)
        sol = highspy.HighsSolution()
        sol.col_value = x0.tolist()
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    ms = h.getModelStatus()
    info = h.getInfo()
    has_sol = info.primal_solution_status == highspy.kSolutionStatusFeasible
    name = h.modelStatusToString(ms)
    seconds = time.perf_counter() - t0
    if ms in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return SolveOutcome("infeasible", (), None, None, None, seconds, name)
    if not has_sol:
        return SolveOutcome("no_solution", (), None, None, None, seconds, name)
    x = np.asarray(h.getSolution().col_value)
    chosen = np.sort(cols_sel[np.flatnonzero(x[:n] > 0.5)])
    status = "optimal" if ms == highspy.HighsModelStatus.kOptimal else "feasible"
    if not objective:
        return SolveOutcome(status, (chosen,), None, None, None, seconds, name)
    obj = float(info.objective_function_value)
    bound = float(info.mip_dual_bound)
    return SolveOutcome(status, (chosen,), obj, float(info.mip_gap), max(obj - max(bound, 0.0), 0.0), seconds, name)
