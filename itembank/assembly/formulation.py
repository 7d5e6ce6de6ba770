"""The 0-1 model of one form, as solver-neutral linear rows over the usable items.

Both solvers (HiGHS per form, CP-SAT for all forms at once) and the relaxation-based
diagnosis build their models from the same :class:`Formulation`. The independent checker
(:mod:`itembank.assembly.checker`) deliberately does not use this module.

For one form with binary ``x_i`` (item ``i`` is on the form) the hard rows are

* cell count:   ``sum_{i in cell} x_i = count``
* cell points:  ``sum_{i in cell} points_i x_i = points``
* total points: ``sum_i points_i x_i = total_points``
* band:         ``min_count <= sum_{i in band} x_i <= max_count``
* enemy set:    ``sum_{i in set} x_i <= 1``

and the target rows measure deviations in *tolerance units* (1.0 = one full tolerance):

* difficulty:  ``d_p = sum_i w_i (p_i - t) x_i / (tol * t * W)`` with ``w_i`` = 1 (items) or
  ``points_i`` (points weighting) and ``W`` the (estimated) number of items or the total points;
  when ``W`` is fixed by the blueprint, ``d_p`` is exactly the relative deviation of the
  mean over ``tol``;
* information: ``d_I = (sum_i I_i(theta) x_i - T) / (tol * T)``.

The objective minimises ``z >= |d_p|, |d_I|`` (a linearised minimax around the absolute
targets).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from itembank.assembly.irt import item_information
from itembank.assembly.model import Blueprint, Item, ItemId

GROUP_KINDS: tuple[str, ...] = ("cell_count", "cell_points", "total_points", "band", "enemy", "overlap")
"""Kinds of hard constraint groups, in the order the relaxation diagnosis tries them."""

Group = tuple[str, int]
"""A constraint group: (kind, index of the cell / band / enemy set, 0 for singletons)."""


@dataclass(frozen=True)
class Row:
    """``lo <= sum coefs * x[cols] <= hi`` over pool-local item indices."""

    group: Group
    cols: NDArray[np.int64]
    coefs: NDArray[np.float64]
    lo: float
    hi: float


@dataclass(frozen=True)
class Formulation:
    """The usable part of a pool as arrays, and the rows of a single form.

    Attributes
    ----------
    items
        Usable items in pool order; index ``i`` of every array refers to ``items[i]``.
    cell_of
        Shape ``(n,)``: index into ``blueprint.cells`` of each item's cell.
    rows
        Hard rows of one form.
    dev_p
        Shape ``(n,)``: coefficients of ``d_p`` (tolerance units).
    dev_info, dev_info_offset
        Coefficients and constant of ``d_I`` (``None`` without an information target):
        ``d_I = dev_info @ x - dev_info_offset``.
    enemy_names
        Name of each enemy set that has a row, by the row's group index.
    """

    blueprint: Blueprint
    items: tuple[Item, ...]
    ids: tuple[ItemId, ...]
    points: NDArray[np.float64]
    p: NDArray[np.float64]
    information: NDArray[np.float64] | None
    cell_of: NDArray[np.int64]
    rows: tuple[Row, ...]
    dev_p: NDArray[np.float64]
    dev_info: NDArray[np.float64] | None
    dev_info_offset: float
    enemy_names: tuple[str, ...]
    n_items_estimate: float

    @property
    def n(self) -> int:
        return len(self.items)

    def groups(self) -> list[Group]:
        """Every single-form group that has a row."""
        return sorted({r.group for r in self.rows}, key=lambda g: (GROUP_KINDS.index(g[0]), g[1]))


def usable_mask(pool: Sequence[Item], blueprint: Blueprint) -> NDArray[np.bool_]:
    """Which pool items may appear on a form (level, exposure, matching a cell)."""
    keys = {c.key for c in blueprint.cells}
    lim = blueprint.exposure_limit
    return np.array([(blueprint.level is None or it.level == blueprint.level)
                     and (lim is None or it.exposure < lim)
                     and (it.element, it.item_type) in keys for it in pool], dtype=bool)


def build(pool: Sequence[Item], blueprint: Blueprint, exclude: frozenset[ItemId] = frozenset()) -> Formulation:
    """Build the single-form rows of ``blueprint`` over the usable items of ``pool``.

    Items in ``exclude`` are treated as unusable (e.g. sample items that may not go live).
    """
    mask = usable_mask(pool, blueprint)
    items = tuple(it for it, ok in zip(pool, mask) if ok and it.id not in exclude)
    n = len(items)
    cell_index = {c.key: k for k, c in enumerate(blueprint.cells)}
    cell_of = np.fromiter((cell_index[(it.element, it.item_type)] for it in items), dtype=np.int64, count=n)
    points = np.fromiter((it.points for it in items), dtype=np.float64, count=n)
    p = np.fromiter((it.p for it in items), dtype=np.float64, count=n)

    rows: list[Row] = []
    order = np.argsort(cell_of, kind="stable")
    bounds = np.searchsorted(cell_of[order], np.arange(len(blueprint.cells) + 1))
    for k, cell in enumerate(blueprint.cells):
        cols = np.sort(order[bounds[k]:bounds[k + 1]])
        if cell.count is not None:
            rows.append(Row(("cell_count", k), cols, np.ones(len(cols)), float(cell.count), float(cell.count)))
        if cell.points is not None:
            rows.append(Row(("cell_points", k), cols, points[cols], float(cell.points), float(cell.points)))
    all_cols = np.arange(n, dtype=np.int64)
    rows.append(Row(("total_points", 0), all_cols, points, float(blueprint.total_points),
                    float(blueprint.total_points)))
    for b, band in enumerate(blueprint.bands):
        inside = (p >= band.low) & ((p < band.high) | ((band.high >= 1.0) & (p == 1.0)))
        cols = np.flatnonzero(inside).astype(np.int64)
        hi = float(band.max_count) if band.max_count is not None else np.inf
        rows.append(Row(("band", b), cols, np.ones(len(cols)), float(band.min_count), hi))
    members: dict[str, list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        for e in it.enemies:
            members[e].append(i)
    enemy_names: list[str] = []
    for name in sorted(members, key=str):
        cols = np.array(sorted(set(members[name])), dtype=np.int64)
        if len(cols) >= 2:
            rows.append(Row(("enemy", len(enemy_names)), cols, np.ones(len(cols)), 0.0, 1.0))
            enemy_names.append(name)

    target = blueprint.target
    n_est = _items_estimate(blueprint, points, cell_of)
    if target.weighting == "points":
        w, scale = points, float(blueprint.total_points)
    else:
        w, scale = np.ones(n), n_est
    dev_p = w * (p - target.mean_p) / (target.tolerance * target.mean_p * max(scale, 1e-9))

    information = dev_info = None
    offset = 0.0
    if target.information is not None:
        information = np.zeros(n)
        irt = np.array([it.a is not None for it in items], dtype=bool)
        if irt.any():
            a = np.array([it.a for it in items if it.a is not None], dtype=np.float64)
            bb = np.array([it.b for it in items if it.a is not None], dtype=np.float64)
            c = np.array([it.c or 0.0 for it in items if it.a is not None], dtype=np.float64)
            information[irt] = item_information(target.theta, a, bb, c)[:, 0]
        dev_info = information / (target.tolerance * target.information)
        offset = 1.0 / target.tolerance
    return Formulation(blueprint=blueprint, items=items, ids=tuple(it.id for it in items), points=points, p=p,
                       information=information, cell_of=cell_of, rows=tuple(rows), dev_p=dev_p,
                       dev_info=dev_info, dev_info_offset=offset, enemy_names=tuple(enemy_names),
                       n_items_estimate=n_est)


def _items_estimate(blueprint: Blueprint, points: NDArray[np.float64], cell_of: NDArray[np.int64]) -> float:
    """Items per form: exact when every cell fixes its count, else estimated from mean points."""
    total = 0.0
    for k, cell in enumerate(blueprint.cells):
        if cell.count is not None:
            total += cell.count
        else:
            pts = points[cell_of == k]
            total += (cell.points or 0.0) / float(pts.mean()) if len(pts) else 0.0
    return max(total, 1.0)


def deviations(fm: Formulation, chosen: NDArray[np.int64]) -> tuple[float, float | None]:
    """``(d_p, d_I)`` of a form given by pool-local indices (tolerance units, signed)."""
    d_p = float(fm.dev_p[chosen].sum())
    d_i = None if fm.dev_info is None else float(fm.dev_info[chosen].sum() - fm.dev_info_offset)
    return d_p, d_i
