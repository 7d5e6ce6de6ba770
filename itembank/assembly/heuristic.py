"""A swap local search that builds a MIP start for one form.

HiGHS proves the best bound of a form's deviation (almost always 0) at the root; what
costs time is *finding* a form whose deviation is within ``accept`` of it. This local
search finds one cheaply: draw each cell's items at random, then repeatedly make the best
swap of an item for another of the same cell (and the same points) that lowers
``1000 × (rule violations) + max(|d_p|, |d_I|)``. The result is only a start: HiGHS checks
it against every row and ignores it when it is infeasible, so the MIP stays the authority.

It handles blueprints whose cells all fix their item count and whose points per cell are
implied by the count (all candidate items of a cell carry the same points) — the usual
theory blueprint. Otherwise :func:`swap_start` returns ``None`` and HiGHS searches alone.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from itembank.assembly.formulation import Formulation, Row

_PENALTY = 1000.0


def swap_start(fm: Formulation, available: NDArray[np.bool_], extra_rows: Sequence[Row], rng: np.random.Generator,
               *, goal: float = 0.0, max_iter: int = 300) -> NDArray[np.int64] | None:
    """Pool-local indices of a form meeting every count rule, with a small deviation; or None.

    Parameters
    ----------
    fm
        The single-form formulation.
    available
        Shape ``(fm.n,)``: items that may be chosen.
    extra_rows
        Further count rows (overlap with earlier forms).
    rng
        Draws the initial form.
    goal
        Stop once the largest deviation (tolerance units) is at most this.
    max_iter
        Most swaps to try.
    """
    bp = fm.blueprint
    cols = np.flatnonzero(available)
    n = len(cols)
    local_of = np.full(fm.n, -1, dtype=np.int64)
    local_of[cols] = np.arange(n)
    cell = fm.cell_of[cols]
    total = 0.0
    for k, c in enumerate(bp.cells):
        if c.count is None:
            return None
        members = np.flatnonzero(cell == k)
        if len(members) < c.count:
            return None
        pts = fm.points[cols[members]]
        if len(pts) and np.ptp(pts) > 1e-9:
            return None  # varying points would need point-preserving swaps; leave it to the MIP
        pt = float(pts[0]) if len(pts) else 0.0
        if c.points is not None and abs(c.count * pt - c.points) > 1e-9:
            return None
        total += c.count * pt
    if abs(total - bp.total_points) > 1e-9:
        return None

    # count rows (bands, enemy sets, overlap) as a dense membership matrix over the local items
    rows = [r for r in (*fm.rows, *extra_rows) if r.group[0] in ("band", "enemy", "overlap")]
    member = np.zeros((len(rows), n), dtype=np.float64)
    lo = np.zeros(len(rows))
    hi = np.zeros(len(rows))
    for r_i, r in enumerate(rows):
        loc = local_of[r.cols]
        member[r_i, loc[loc >= 0]] = 1.0
        lo[r_i], hi[r_i] = r.lo, r.hi
    dev_p = fm.dev_p[cols]
    dev_i = fm.dev_info[cols] if fm.dev_info is not None else None
    offset = fm.dev_info_offset

    chosen = np.zeros(n, dtype=bool)
    for k, c in enumerate(bp.cells):
        members = np.flatnonzero(cell == k)
        chosen[rng.choice(members, size=c.count, replace=False)] = True
    counts = member[:, chosen].sum(axis=1)
    d_p = float(dev_p[chosen].sum())
    d_i = float(dev_i[chosen].sum()) - offset if dev_i is not None else 0.0

    def violation(c: NDArray[np.float64]) -> NDArray[np.float64]:
        return (np.maximum(lo[:, None] - c, 0.0) + np.maximum(c - hi[:, None], 0.0)).sum(axis=0)

    score = _PENALTY * float(violation(counts[:, None])[0]) + max(abs(d_p), abs(d_i))
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(len(bp.cells) + 1))
    for _ in range(max_iter):
        if score <= goal:
            break
        ins, outs = [], []
        for k in range(len(bp.cells)):
            members = order[bounds[k]:bounds[k + 1]]
            on = members[chosen[members]]
            off = members[~chosen[members]]
            if len(on) and len(off):
                ins.append(np.repeat(on, len(off)))
                outs.append(np.tile(off, len(on)))
        if not ins:
            break
        i_arr, j_arr = np.concatenate(ins), np.concatenate(outs)
        new_counts = counts[:, None] - member[:, i_arr] + member[:, j_arr]
        new_p = d_p - dev_p[i_arr] + dev_p[j_arr]
        dev = np.abs(new_p)
        if dev_i is not None:
            new_i = d_i - dev_i[i_arr] + dev_i[j_arr]
            dev = np.maximum(dev, np.abs(new_i))
        scores = _PENALTY * violation(new_counts) + dev
        best = int(np.argmin(scores))
        if scores[best] >= score - 1e-12:
            break
        i, j = int(i_arr[best]), int(j_arr[best])
        chosen[i], chosen[j] = False, True
        counts = new_counts[:, best].copy()
        d_p = float(new_p[best])
        if dev_i is not None:
            d_i = float(d_i - dev_i[i] + dev_i[j])
        score = float(scores[best])
    if violation(counts[:, None])[0] > 0:
        return None
    return np.sort(cols[chosen]).astype(np.int64)
