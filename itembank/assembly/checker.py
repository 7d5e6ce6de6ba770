"""Independent checker: re-check assembled forms against the blueprint, rule by rule.

Written separately from the solvers on purpose: it shares no code with
:mod:`itembank.assembly.formulation` (not even the 3PL information function), reads the
plain :class:`~itembank.assembly.model.Item` and :class:`~itembank.assembly.model.Blueprint`
objects with plain Python, and reports every breach in Chinese and English. A solver
bug therefore shows up as a breach instead of passing silently.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

from itembank.assembly.model import ITEM_TYPE_NAMES, Blueprint, Breach, Item, ItemId

_EPS = 1e-6


def _form_name(f: int) -> tuple[str, str]:
    return f"第 {f + 1} 套试卷", f"form {f + 1}"


def _type_names(item_type: str) -> tuple[str, str]:
    return ITEM_TYPE_NAMES.get(item_type, (item_type, item_type))


def _information_3pl(theta: float, a: float, b: float, c: float) -> float:
    """3PL item information, written out from its definition (not shared with the solver)."""
    p_star = 1.0 / (1.0 + math.exp(-a * (theta - b)))
    p = c + (1.0 - c) * p_star
    q = 1.0 - p
    if p <= 0.0 or q <= 0.0:
        return 0.0
    return a * a * (q / p) * ((p - c) / (1.0 - c)) ** 2


def check_forms(pool: Sequence[Item], blueprint: Blueprint,
                forms: Sequence[Sequence[ItemId]]) -> list[Breach]:
    """Every breach of ``blueprint`` by ``forms`` (lists of item ids), most basic first.

    Rules (severity ``"rule"``): number of forms; every id known, once per form; item level,
    exposure limit and a matching cell; exact items and points per cell; total points;
    difficulty bands; at most one item of an enemy set per form; at most ``max_overlap``
    items shared by any two forms. Targets (severity ``"target"``): each form's mean p and,
    if set, its test information at the cut score within the relative tolerance of the
    absolute target.

    Returns
    -------
    list of Breach
        Empty when the forms meet every rule and target.
    """
    by_id: dict[ItemId, Item] = {}
    for it in pool:
        by_id[it.id] = it
    out: list[Breach] = []
    bp = blueprint
    if len(forms) != bp.n_forms:
        out.append(Breach("form_count", f"应组 {bp.n_forms} 套试卷，实际 {len(forms)} 套",
                          f"expected {bp.n_forms} forms, got {len(forms)}",
                          expected=bp.n_forms, actual=len(forms)))
    cells = {(c.element, c.item_type): c for c in bp.cells}
    tgt = bp.target
    for f, ids in enumerate(forms):
        fz, fe = _form_name(f)
        items: list[Item] = []
        for iid, k in Counter(ids).items():
            if k > 1:
                out.append(Breach("duplicate_item", f"{fz}中试题 {iid} 出现 {k} 次",
                                  f"{fe}: item {iid} appears {k} times", form=f, actual=k))
        for iid in dict.fromkeys(ids):
            it = by_id.get(iid)
            if it is None:
                out.append(Breach("unknown_item", f"{fz}中的试题 {iid} 不在题库中",
                                  f"{fe}: item {iid} is not in the pool", form=f))
                continue
            items.append(it)
            if bp.level is not None and it.level != bp.level:
                out.append(Breach("level", f"{fz}中的试题 {iid} 为 {it.level} 级，蓝图要求 {bp.level} 级",
                                  f"{fe}: item {iid} is level {it.level}, the blueprint is level {bp.level}",
                                  form=f, expected=bp.level, actual=it.level))
            if bp.exposure_limit is not None and it.exposure >= bp.exposure_limit:
                out.append(Breach("exposure", f"{fz}中的试题 {iid} 已曝光 {it.exposure} 次，达到上限 {bp.exposure_limit}",
                                  f"{fe}: item {iid} has been exposed {it.exposure} times, limit {bp.exposure_limit}",
                                  form=f, expected=bp.exposure_limit, actual=it.exposure))
            if (it.element, it.item_type) not in cells:
                tz, te = _type_names(it.item_type)
                out.append(Breach("off_blueprint", f"{fz}中的试题 {iid}（要素 {it.element}，{tz}）不在蓝图中",
                                  f"{fe}: item {iid} (element {it.element}, {te}) matches no blueprint cell",
                                  form=f, element=it.element, item_type=it.item_type))
        # cells
        n_in: dict[tuple[str, str], int] = defaultdict(int)
        pts_in: dict[tuple[str, str], float] = defaultdict(float)
        for it in items:
            n_in[(it.element, it.item_type)] += 1
            pts_in[(it.element, it.item_type)] += it.points
        for key, cell in cells.items():
            tz, te = _type_names(cell.item_type)
            if cell.count is not None and n_in[key] != cell.count:
                out.append(Breach("cell_count",
                                  f"{fz}：要素 {cell.element} 的{tz}应为 {cell.count} 道，实际 {n_in[key]} 道",
                                  f"{fe}: element {cell.element} needs {cell.count} {te} items, has {n_in[key]}",
                                  form=f, element=cell.element, item_type=cell.item_type,
                                  expected=cell.count, actual=n_in[key]))
            if cell.points is not None and abs(pts_in[key] - cell.points) > _EPS:
                out.append(Breach("cell_points",
                                  f"{fz}：要素 {cell.element} 的{tz}应共 {cell.points:g} 分，实际 {pts_in[key]:g} 分",
                                  f"{fe}: element {cell.element} {te} items must total {cell.points:g} points, "
                                  f"total {pts_in[key]:g}", form=f, element=cell.element, item_type=cell.item_type,
                                  expected=cell.points, actual=pts_in[key]))
        total = sum(it.points for it in items)
        if abs(total - bp.total_points) > _EPS:
            out.append(Breach("total_points", f"{fz}总分应为 {bp.total_points:g} 分，实际 {total:g} 分",
                              f"{fe}: total score must be {bp.total_points:g}, is {total:g}",
                              form=f, expected=bp.total_points, actual=total))
        for band in bp.bands:
            k = 0
            for it in items:
                top = band.high >= 1.0 and it.p == 1.0
                if (band.low <= it.p < band.high) or top:
                    k += 1
            hi = band.max_count
            if k < band.min_count or (hi is not None and k > hi):
                rng_txt = f"{band.min_count}–{hi}" if hi is not None else f"≥ {band.min_count}"
                out.append(Breach("band", f"{fz}：难度 p∈[{band.low:g}, {band.high:g}) 的题目应为 {rng_txt} 道，实际 {k} 道",
                                  f"{fe}: items with p in [{band.low:g}, {band.high:g}) must number {rng_txt}, "
                                  f"found {k}", form=f, expected=band.min_count if k < band.min_count else hi,
                                  actual=k))
        sets: dict[str, list[ItemId]] = defaultdict(list)
        for it in items:
            for e in set(it.enemies):
                sets[e].append(it.id)
        for e, members in sorted(sets.items(), key=lambda kv: str(kv[0])):
            if len(members) > 1:
                shown = ", ".join(str(m) for m in members)
                out.append(Breach("enemy", f"{fz}含互斥题组 {e} 的 {len(members)} 道题（{shown}），至多 1 道",
                                  f"{fe} holds {len(members)} items of enemy set {e} ({shown}); at most 1 allowed",
                                  form=f, expected=1, actual=len(members)))
        # targets
        if items:
            if tgt.weighting == "points":
                mean_p = sum(it.p * it.points for it in items) / sum(it.points for it in items)
            else:
                mean_p = sum(it.p for it in items) / len(items)
            dev = (mean_p - tgt.mean_p) / tgt.mean_p
            if abs(dev) > tgt.tolerance + 1e-9:
                out.append(Breach("target_mean_p",
                                  f"{fz}平均难度 {mean_p:.4f} 偏离目标 {tgt.mean_p:g} {100 * dev:+.2f}%，"
                                  f"超出 ±{100 * tgt.tolerance:g}%",
                                  f"{fe}: mean p {mean_p:.4f} is {100 * dev:+.2f}% off the target {tgt.mean_p:g}, "
                                  f"beyond ±{100 * tgt.tolerance:g}%", severity="target", form=f,
                                  expected=tgt.mean_p, actual=mean_p))
            if tgt.information is not None and tgt.theta is not None:
                info = sum(_information_3pl(tgt.theta, it.a, it.b, it.c or 0.0)
                           for it in items if it.a is not None and it.b is not None)
                dev_i = (info - tgt.information) / tgt.information
                if abs(dev_i) > tgt.tolerance + 1e-9:
                    out.append(Breach("target_information",
                                      f"{fz}在 θ={tgt.theta:g} 处的测验信息量 {info:.3f} 偏离目标 {tgt.information:g} "
                                      f"{100 * dev_i:+.2f}%，超出 ±{100 * tgt.tolerance:g}%",
                                      f"{fe}: test information {info:.3f} at theta={tgt.theta:g} is "
                                      f"{100 * dev_i:+.2f}% off the target {tgt.information:g}, beyond "
                                      f"±{100 * tgt.tolerance:g}%", severity="target", form=f,
                                      expected=tgt.information, actual=info))
    # overlap between forms
    for f in range(len(forms)):
        for g in range(f + 1, len(forms)):
            shared = set(forms[f]) & set(forms[g])
            if len(shared) > bp.max_overlap:
                out.append(Breach("overlap",
                                  f"第 {f + 1} 套与第 {g + 1} 套试卷重复 {len(shared)} 道题，上限 {bp.max_overlap} 道",
                                  f"forms {f + 1} and {g + 1} share {len(shared)} items, limit {bp.max_overlap}",
                                  expected=bp.max_overlap, actual=len(shared)))
    return out
