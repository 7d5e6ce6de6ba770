"""Statistics of assembled forms, for the comparison page's charts."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from itembank.assembly.irt import item_information
from itembank.assembly.model import FormTarget, Item, ItemId, index_pool

DEFAULT_THETAS: NDArray[np.float64] = np.round(np.linspace(-3.0, 3.0, 25), 6)
"""Default ability grid of the test information curves: -3..3 in steps of 0.25."""


@dataclass(frozen=True)
class FormStatistics:
    """Per-form statistics of ``n_forms`` forms.

    Attributes
    ----------
    n_items, points, mean_p
        Shape ``(n_forms,)``: item count, total points, mean classical difficulty (items).
    thetas
        Shape ``(n_theta,)``: ability grid.
    tif
        Shape ``(n_forms, n_theta)``: test information (sum of 3PL item information; items
        without IRT parameters contribute 0).
    overlap
        Shape ``(n_forms, n_forms)``: items shared by each pair; the diagonal is ``n_items``.
    """

    n_items: NDArray[np.int64]
    points: NDArray[np.float64]
    mean_p: NDArray[np.float64]
    thetas: NDArray[np.float64]
    tif: NDArray[np.float64]
    overlap: NDArray[np.int64]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain lists."""
        return {"n_items": self.n_items.tolist(), "points": self.points.tolist(), "mean_p": self.mean_p.tolist(),
                "thetas": self.thetas.tolist(), "tif": self.tif.tolist(), "overlap": self.overlap.tolist()}


def form_statistics(pool: Sequence[Item], forms: Sequence[Sequence[ItemId]],
                    thetas: ArrayLike | None = None) -> FormStatistics:
    """Mean p, points, test information curve and pairwise overlap of ``forms``.

    Parameters
    ----------
    pool
        Items the forms were drawn from.
    forms
        Item ids of each form.
    thetas
        Ability grid, shape ``(n_theta,)``; default :data:`DEFAULT_THETAS`.
    """
    by_id = index_pool(pool)
    th = DEFAULT_THETAS if thetas is None else np.atleast_1d(np.asarray(thetas, dtype=np.float64))
    if th.ndim != 1:
        raise ValueError(f"thetas must be 1-D, got shape {th.shape}")
    k = len(forms)
    n_items = np.zeros(k, dtype=np.int64)
    points = np.zeros(k)
    mean_p = np.full(k, np.nan)
    tif = np.zeros((k, len(th)))
    for f, ids in enumerate(forms):
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise ValueError(f"form {f + 1}: item ids not in pool: {missing[:5]}")
        items = [by_id[i] for i in ids]
        n_items[f] = len(items)
        points[f] = sum(it.points for it in items)
        if items:
            mean_p[f] = float(np.mean([it.p for it in items]))
        irt = [it for it in items if it.a is not None]
        if irt:
            tif[f] = item_information(th, [it.a for it in irt], [it.b for it in irt],
                                      [it.c or 0.0 for it in irt]).sum(axis=0)
    sets = [set(ids) for ids in forms]
    overlap = np.array([[len(a & b) for b in sets] for a in sets], dtype=np.int64).reshape(k, k)
    return FormStatistics(n_items=n_items, points=points, mean_p=mean_p, thetas=th, tif=tif, overlap=overlap)


def form_summary(items: Sequence[Item], target: FormTarget) -> dict[str, float | None]:
    """Points, mean p and signed relative deviations from the absolute targets of one form."""
    if not items:
        return {"points": 0.0, "mean_p": float("nan"), "mean_p_deviation": float("nan"),
                "information": None, "information_deviation": None}
    p = np.array([it.p for it in items])
    pts = np.array([it.points for it in items])
    mean_p = float((p * pts).sum() / pts.sum()) if target.weighting == "points" else float(p.mean())
    out: dict[str, float | None] = {"points": float(pts.sum()), "mean_p": mean_p,
                                    "mean_p_deviation": (mean_p - target.mean_p) / target.mean_p,
                                    "information": None, "information_deviation": None}
    if target.information is not None:
        irt = [it for it in items if it.a is not None]
        info = float(item_information(target.theta, [it.a for it in irt], [it.b for it in irt],
                                      [it.c or 0.0 for it in irt]).sum()) if irt else 0.0
        out["information"] = info
        out["information_deviation"] = (info - target.information) / target.information
    return out


def form_objective(summary: dict[str, float | None], target: FormTarget) -> float:
    """Largest |relative deviation| of a form from its targets, in tolerance units (1.0 = at the edge)."""
    devs = [abs(summary["mean_p_deviation"] or 0.0)]
    if summary["information_deviation"] is not None:
        devs.append(abs(summary["information_deviation"]))
    return max(devs) / target.tolerance
