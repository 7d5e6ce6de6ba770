"""Why a blueprint cannot be met, in words an item writer can act on.

Two stages:

1. :func:`supply_diagnoses` counts supply before any solving. Every diagnosis it returns is
   a proof of infeasibility (a necessary condition that fails): too few usable items in a
   cell for all forms, enemy sets capping a cell, point values that cannot add up to a
   cell's points, cell points that do not add up to the total, too few items in a
   difficulty band, too few items overall for the allowed overlap.
2. When the counts look sufficient but the model is still infeasible,
   :func:`conflict_diagnoses` relaxes constraint groups (a deletion filter: first whole
   kinds, then single rules) to find a minimal set of rules that cannot hold together;
   relaxing any one of them makes assembly possible.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from itembank.assembly.formulation import GROUP_KINDS, Formulation, Group
from itembank.assembly.model import ITEM_TYPE_NAMES, Blueprint, Cell, Diagnosis, Item

Feasibility = Callable[[set[Group], float], bool | None]
"""``probe(active_groups, time_limit)`` → True feasible, False infeasible, None unknown."""


def _tn(item_type: str) -> tuple[str, str]:
    return ITEM_TYPE_NAMES[item_type]


def _level_txt(bp: Blueprint) -> tuple[str, str]:
    return (f"{bp.level}级", f"level {bp.level}") if bp.level is not None else ("", "")


def _fmt(x: float) -> str:
    return f"{x:g}"


def _pts(x: float) -> str:
    return f"{x:g} point" + ("" if x == 1 else "s")


def reachable_points(values: Sequence[float], count: int | None, limit: float) -> set[float] | None:
    """Totals (≤ ``limit``) reachable by exactly ``count`` of ``values`` (any number if None).

    Works in hundredths of a point; returns ``None`` when a value is not a multiple of 0.01
    (then nothing can be concluded).
    """
    ints = [round(v * 100) for v in values]
    if any(abs(v * 100 - i) > 1e-6 for v, i in zip(values, ints)):
        return None
    cap = round(limit * 100)
    mask = (1 << (cap + 1)) - 1
    groups: dict[int, int] = {}
    for v in ints:
        groups[v] = groups.get(v, 0) + 1
    if count is None:
        reach = 1
        for v, m in groups.items():
            acc = reach
            for _ in range(m):
                acc = (acc | (acc << v)) & mask
            reach = acc
        return {k / 100 for k in range(cap + 1) if reach >> k & 1}
    rows = [1] + [0] * count  # rows[k]: bitset of totals with exactly k items
    for v, m in groups.items():
        new = rows[:]
        for k in range(1, count + 1):
            acc = 0
            for j in range(1, min(m, k) + 1):
                acc |= rows[k - j] << (j * v)
            new[k] = (new[k] | acc) & mask
        rows = new
    return {k / 100 for k in range(cap + 1) if rows[count] >> k & 1}


def supply_diagnoses(pool: Sequence[Item], blueprint: Blueprint, fm: Formulation) -> list[Diagnosis]:
    """Diagnoses provable by counting supply (empty list: nothing found, not a proof of feasibility)."""
    bp = blueprint
    n_f, m = bp.n_forms, bp.max_overlap
    disjoint = m == 0 and n_f > 1
    lz, le = _level_txt(bp)
    out: list[Diagnosis] = []
    sets_of: list[list[int]] = [[] for _ in range(fm.n)]  # enemy rows of each usable item
    for r in fm.rows:
        if r.group[0] == "enemy":
            for i in r.cols.tolist():
                sets_of[i].append(r.group[1])
    wrong_level_in: dict[tuple[str, str], int] = {}
    blocked_in: dict[tuple[str, str], int] = {}
    for it in pool:
        key = (it.element, it.item_type)
        if bp.level is not None and it.level != bp.level:
            wrong_level_in[key] = wrong_level_in.get(key, 0) + 1
        elif bp.exposure_limit is not None and it.exposure >= bp.exposure_limit:
            blocked_in[key] = blocked_in.get(key, 0) + 1

    for k, cell in enumerate(bp.cells):
        tz, te = _tn(cell.item_type)
        cols = np.flatnonzero(fm.cell_of == k)
        avail = len(cols)
        wrong_level = wrong_level_in.get(cell.key, 0)
        blocked = blocked_in.get(cell.key, 0)
        extra_z = f"，另有 {blocked} 道因曝光次数已达上限（{bp.exposure_limit}）不可用" if blocked else ""
        extra_e = f"; {blocked} more are unusable because they reached the exposure limit ({bp.exposure_limit})" \
            if blocked else ""
        if wrong_level:
            extra_z += f"，{wrong_level} 道级别不符"
            extra_e += f"; {wrong_level} are of another level"
        if cell.count is not None:
            need = cell.count * (n_f if disjoint else 1)
            if avail < need:
                paren_z = "，".join(x for x in (lz, f"{n_f} 套试卷各 {cell.count} 道、互不重复" if disjoint else "") if x)
                paren_e = "; ".join(x for x in (le, f"{n_f} disjoint forms × {cell.count}" if disjoint else "") if x)
                out.append(Diagnosis(
                    "cell_supply",
                    f"要素 {cell.element} 需要 {need} 道已审核的{tz}" + (f"（{paren_z}）" if paren_z else "")
                    + f"，题库仅有 {avail} 道{extra_z}",
                    f"Element {cell.element} needs {need} approved {te} items" + (f" ({paren_e})" if paren_e else "")
                    + f"; the bank has only {avail}{extra_e}",
                    element=cell.element, item_type=cell.item_type, needed=need, available=avail))
                continue
            # each chosen item of an enemy set uses up a set of its own: at most (free items + sets touched)
            touched = {g for i in cols.tolist() for g in sets_of[i]}
            cap = sum(1 for i in cols.tolist() if not sets_of[i]) + len(touched)
            if cap < cell.count:
                out.append(Diagnosis(
                    "cell_enemy_supply",
                    f"要素 {cell.element} 每套需要 {cell.count} 道{tz}" + (f"（{lz}）" if lz else "")
                    + f"，但题库中这些题多属互斥题组，每套至多能选 {cap} 道",
                    f"Element {cell.element} needs {cell.count} {te} items per form" + (f" ({le})" if le else "")
                    + f", but enemy sets allow at most {cap} per form",
                    element=cell.element, item_type=cell.item_type, needed=cell.count, available=cap))
                continue
        if cell.points is not None:
            pts = fm.points[cols]
            if cell.count is None and disjoint and pts.sum() + 1e-9 < n_f * cell.points:
                out.append(Diagnosis(
                    "cell_points_supply",
                    f"要素 {cell.element} 的{tz}需要共 {_fmt(n_f * cell.points)} 分（{n_f} 套试卷各 {_fmt(cell.points)} 分、"
                    f"互不重复），题库仅有 {_fmt(float(pts.sum()))} 分{extra_z}",
                    f"Element {cell.element} needs {_fmt(n_f * cell.points)} points of {te} items ({n_f} disjoint "
                    f"forms × {_fmt(cell.points)}); the bank holds only {_fmt(float(pts.sum()))}{extra_e}",
                    element=cell.element, item_type=cell.item_type, needed=n_f * cell.points,
                    available=float(pts.sum())))
                continue
            reach = reachable_points(pts.tolist(), cell.count, cell.points)
            if reach is not None and not any(abs(r - cell.points) < 1e-6 for r in reach):
                best = max(reach) if reach else 0.0
                cnt_z = f"{cell.count} 道" if cell.count is not None else "若干道"
                cnt_e = f"{cell.count}" if cell.count is not None else "any number of"
                values = "、".join(_fmt(v) for v in sorted(set(pts.tolist())))
                out.append(Diagnosis(
                    "cell_points",
                    f"要素 {cell.element} 的{tz}须用{cnt_z}凑出 {_fmt(cell.points)} 分，现有题目的分值（{values or '无'}）"
                    f"凑不出，最多只能凑到 {_fmt(best)} 分",
                    f"Element {cell.element} needs {cnt_e} {te} items totalling {_fmt(cell.points)} points; the "
                    f"available point values ({values or 'none'}) cannot make it (closest below: {_fmt(best)})",
                    element=cell.element, item_type=cell.item_type, needed=cell.points, available=best))

    # total points against the cells
    lo_tot = hi_tot = 0.0
    for k, cell in enumerate(bp.cells):
        if cell.points is not None:
            lo_tot += cell.points
            hi_tot += cell.points
        elif cell.count is not None:
            pts = np.sort(fm.points[fm.cell_of == k])
            lo_tot += float(pts[:cell.count].sum())
            hi_tot += float(pts[::-1][:cell.count].sum())
    if not (lo_tot - 1e-6 <= bp.total_points <= hi_tot + 1e-6):
        if abs(lo_tot - hi_tot) < 1e-9:
            zh = f"蓝图各单元合计 {_fmt(lo_tot)} 分，与试卷总分 {_fmt(bp.total_points)} 分不一致"
            en = f"the blueprint cells add up to {_fmt(lo_tot)} points, not the total of {_fmt(bp.total_points)}"
        else:
            zh = f"按蓝图各单元的题量，试卷总分只能在 {_fmt(lo_tot)}–{_fmt(hi_tot)} 分之间，达不到 {_fmt(bp.total_points)} 分"
            en = (f"with the blueprint's item counts a form can total only {_fmt(lo_tot)}–{_fmt(hi_tot)} points, "
                  f"not {_fmt(bp.total_points)}")
        out.append(Diagnosis("total_points", zh, en[0].upper() + en[1:], needed=bp.total_points,
                             available=lo_tot if bp.total_points < lo_tot else hi_tot))

    # difficulty bands
    for b, band in enumerate(bp.bands):
        row = next(r for r in fm.rows if r.group == ("band", b))
        avail = len(row.cols)
        need = band.min_count * (n_f if disjoint else 1)
        if avail < need:
            extra_z = f"（{n_f} 套试卷各 {band.min_count} 道、互不重复）" if disjoint else ""
            extra_e = f" ({n_f} disjoint forms × {band.min_count})" if disjoint else ""
            out.append(Diagnosis(
                "band_supply",
                f"难度 p∈[{_fmt(band.low)}, {_fmt(band.high)}) 的题目至少需要 {need} 道{extra_z}，"
                f"蓝图范围内可用的仅 {avail} 道",
                f"At least {need} items with p in [{_fmt(band.low)}, {_fmt(band.high)}) are needed{extra_e}; "
                f"only {avail} usable items in the blueprint's cells have such p",
                needed=need, available=avail))

    # overall supply for the allowed overlap (Bonferroni: |A1 ∪ ... ∪ An| >= sum |Ai| - sum |Ai ∩ Aj|)
    if n_f > 1 and all(c.count is not None for c in bp.cells):
        per_form = sum(c.count or 0 for c in bp.cells)
        need = n_f * per_form - m * n_f * (n_f - 1) // 2
        if fm.n < need and not any(d.code == "cell_supply" for d in out):
            out.append(Diagnosis(
                "total_supply",
                f"{n_f} 套试卷各 {per_form} 道、两两重复不超过 {m} 道，至少需要 {need} 道不同的题，蓝图范围内可用的仅 {fm.n} 道",
                f"{n_f} forms of {per_form} items sharing at most {m} items pairwise need at least {need} distinct "
                f"items; only {fm.n} usable items match the blueprint",
                needed=need, available=fm.n))
    return out


def describe_group(group: Group, bp: Blueprint, fm: Formulation) -> tuple[str, str, Cell | None]:
    """One rule in words: (Chinese, English, its cell if any)."""
    kind, k = group
    lz, le = _level_txt(bp)
    if kind in ("cell_count", "cell_points"):
        cell = bp.cells[k]
        tz, te = _tn(cell.item_type)
        avail = int((fm.cell_of == k).sum())
        if kind == "cell_count":
            plural = "" if cell.count == 1 else "s"
            return (f"要素 {cell.element} 的{tz}每套 {cell.count} 道（可用 {avail} 道）",
                    f"element {cell.element}: {cell.count} {te} item{plural} per form ({avail} usable)", cell)
        return (f"要素 {cell.element} 的{tz}每套共 {_fmt(cell.points or 0)} 分",
                f"element {cell.element}: {te} items totalling {_pts(cell.points or 0)} per form", cell)
    if kind == "total_points":
        return f"每套总分 {_fmt(bp.total_points)} 分", f"a total score of {_pts(bp.total_points)} per form", None
    if kind == "band":
        band = bp.bands[k]
        hi = f"{band.max_count}" if band.max_count is not None else "不限"
        hi_e = f"{band.max_count}" if band.max_count is not None else "any"
        avail = len(next(r for r in fm.rows if r.group == group).cols)
        return (f"难度 p∈[{_fmt(band.low)}, {_fmt(band.high)}) 的题目每套 {band.min_count}–{hi} 道（可用 {avail} 道）",
                f"{band.min_count}–{hi_e} items per form with p in [{_fmt(band.low)}, {_fmt(band.high)}) "
                f"({avail} usable)", None)
    if kind == "enemy":
        return f"互斥题组 {fm.enemy_names[k]} 每套至多 1 道", f"at most one item of enemy set {fm.enemy_names[k]} per form", None
    if kind == "overlap":
        return (f"任意两套试卷重复题目不超过 {bp.max_overlap} 道（共 {bp.n_forms} 套）",
                f"any two of the {bp.n_forms} forms share at most {bp.max_overlap} items", None)
    raise ValueError(f"unknown constraint group {group!r}")


_DELETION_ORDER = ("total_points", "cell_points", "band", "enemy", "overlap", "cell_count")
"""Kinds tried for removal first are least likely to be blamed; a writer acts best on item counts."""


def minimal_conflict(groups: Sequence[Group], probe: Feasibility, budget: float) -> tuple[list[Group], bool]:
    """Deletion filter: a minimal subset of ``groups`` that is still infeasible.

    First whole kinds are dropped, then single groups. A group is dropped only when the
    model without it is *proven* infeasible, so the result is always infeasible; it is
    minimal when every probe was conclusive within ``budget`` seconds (second value).
    """
    t0 = time.perf_counter()
    active = set(groups)
    conclusive = True

    def left() -> float:
        return budget - (time.perf_counter() - t0)

    kinds = [k for k in _DELETION_ORDER if any(g[0] == k for g in active)]
    for kind in kinds:
        if left() <= 0:
            return sorted(active, key=_order), False
        trial = {g for g in active if g[0] != kind}
        r = probe(trial, max(left() / 4, 0.05))
        if r is False:
            active = trial
        elif r is None:
            conclusive = False
    for g in sorted(active, key=lambda g: (_DELETION_ORDER.index(g[0]), g[1])):
        if left() <= 0:
            return sorted(active, key=_order), False
        trial = active - {g}
        r = probe(trial, max(left() / 4, 0.05))
        if r is False:
            active = trial
        elif r is None:
            conclusive = False
    return sorted(active, key=_order), conclusive


def _order(g: Group) -> tuple[int, int]:
    return (GROUP_KINDS.index(g[0]), g[1])


def conflict_diagnoses(bp: Blueprint, fm: Formulation, conflict: Sequence[Group], minimal: bool,
                       scope: str) -> list[Diagnosis]:
    """Turn a conflicting set of rules into one diagnosis per rule.

    ``scope`` is ``"form"`` (a single form is impossible) or ``"forms"`` (one form is
    possible but not ``n_forms`` of them together).
    """
    texts = [describe_group(g, bp, fm) for g in conflict]
    where_z = "单套试卷" if scope == "form" else f"{bp.n_forms} 套试卷"
    where_e = "a single form" if scope == "form" else f"{bp.n_forms} forms together"
    hint_z = "放宽其中任意一条（或补充相应题目）即可组卷。" if minimal else "这些规则（或其中一部分）不能同时满足。"
    hint_e = ("relaxing any one of them (or adding matching items) makes assembly possible." if minimal
              else "these rules (or some of them) cannot all hold.")
    out = []
    for n, ((zh, en, cell), g) in enumerate(zip(texts, conflict)):
        others_z = "；".join(t[0] for m, t in enumerate(texts) if m != n) or "（无）"
        others_e = "; ".join(t[1] for m, t in enumerate(texts) if m != n) or "(none)"
        avail = None
        needed = None
        if cell is not None:
            avail = float((fm.cell_of == g[1]).sum())
            needed = float(cell.count) if g[0] == "cell_count" and cell.count is not None else cell.points
        out.append(Diagnosis(
            f"conflict_{g[0]}",
            f"规则冲突（{where_z}）：{zh}，与以下规则不能同时满足：{others_z}。{hint_z}",
            f"Conflicting rules ({where_e}): {en} cannot hold together with: {others_e}. "
            f"{hint_e[0].upper()}{hint_e[1:]}",
            element=cell.element if cell else None, item_type=cell.item_type if cell else None,
            needed=needed, available=avail))
    if not out:
        out.append(Diagnosis("conflict", f"{where_z}无法满足全部规则，但未能定位到具体冲突",
                             f"{where_e[0].upper()}{where_e[1:]} cannot meet every rule; "
                             "no single conflict was isolated"))
    return out
