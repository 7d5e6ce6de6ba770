"""Baseline: rule-by-rule random draw (随机抽题), as existing systems assemble papers.

For each form and each blueprint cell, draw the cell's items uniformly at random from
the usable items of that cell (right level, under the exposure limit), then let the
independent checker count what the draw breaks: enemy sets, difficulty bands, overlap
between forms, distance from the difficulty / information targets. The random draw
knows only the cells; it is the comparison the optimised assembly is measured against.
"""
from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from itembank.assembly.checker import check_forms
from itembank.assembly.model import AssembledForm, AssemblyResult, Blueprint, Item, ItemId, index_pool
from itembank.assembly.stats import form_objective, form_summary


def random_draw(pool: Sequence[Item], blueprint: Blueprint, *, seed: int = 0,
                avoid_reuse: bool = True) -> AssemblyResult:
    """Draw ``blueprint.n_forms`` forms cell by cell at random and check them.

    Parameters
    ----------
    pool
        Approved items.
    blueprint
        The same blueprint the optimiser gets.
    seed
        Seed of ``np.random.default_rng``; same seed, same forms.
    avoid_reuse
        Prefer items no earlier form used (the usual "不重复抽题" option); items already
        used are drawn only when a cell runs out.

    Returns
    -------
    AssemblyResult
        ``mode="random"``, status ``"feasible"`` when the draw happens to break no rule,
        else ``"breached"``; ``breaches`` lists what it broke.
    """
    t0 = time.perf_counter()
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    index_pool(pool)
    rng = np.random.default_rng(seed)
    bp = blueprint
    by_cell: dict[tuple[str, str], list[Item]] = {c.key: [] for c in bp.cells}
    for it in pool:
        if bp.level is not None and it.level != bp.level:
            continue
        if bp.exposure_limit is not None and it.exposure >= bp.exposure_limit:
            continue
        if (it.element, it.item_type) in by_cell:
            by_cell[(it.element, it.item_type)].append(it)
    used: set[ItemId] = set()
    forms: list[list[Item]] = []
    for _ in range(bp.n_forms):
        chosen: list[Item] = []
        for cell in bp.cells:
            cands = by_cell[cell.key]
            order = [cands[i] for i in rng.permutation(len(cands))]
            if avoid_reuse:
                order = [it for it in order if it.id not in used] + [it for it in order if it.id in used]
            if cell.count is not None:
                chosen.extend(order[:cell.count])
            else:  # points only: add items while they fit
                total = 0.0
                for it in order:
                    if total + it.points <= (cell.points or 0.0) + 1e-9:
                        chosen.append(it)
                        total += it.points
        used.update(it.id for it in chosen)
        forms.append(chosen)
    ids = [[it.id for it in f] for f in forms]
    breaches = check_forms(pool, bp, ids)
    out_forms = []
    for f, items in enumerate(forms):
        s = form_summary(items, bp.target)
        out_forms.append(AssembledForm(index=f, item_ids=tuple(ids[f]), points=float(s["points"] or 0.0),
                                       mean_p=float(s["mean_p"] or 0.0),
                                       mean_p_deviation=float(s["mean_p_deviation"] or 0.0),
                                       information=s["information"], information_deviation=s["information_deviation"],
                                       objective=form_objective(s, bp.target), solver_status="random draw"))
    rule = any(b.severity == "rule" for b in breaches)
    obj = max((f.objective for f in out_forms if f.objective is not None), default=None)
    return AssemblyResult(status="breached" if rule else "feasible", mode="random", seed=seed,
                          forms=tuple(out_forms), breaches=tuple(breaches), objective=obj,
                          seconds=time.perf_counter() - t0)

