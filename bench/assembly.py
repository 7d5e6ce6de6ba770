"""Benchmark of parallel-form assembly: optimised (HiGHS per form) vs rule-by-rule random draw.

Run from the repository root::

    python -m bench.assembly

A seeded synthetic bank (~20 elements × 4 item types, plausible p and 3PL parameters,
100 enemy sets, exposure counts) of 5,000 and then 10,000 items; a blueprint of 100 items
per form totalling 100 points; 4 parallel forms with no overlap; targets mean p = 0.65 and
test information at theta = 0, each ±0.5 %. Reports the median solve time of 3 runs, each
form's deviation from its targets, and the same for a rule-by-rule random draw.
"""
from __future__ import annotations

import os
import time

import numpy as np

from bench._report import median, table, write_section
from itembank.assembly import (Blueprint, Cell, DifficultyBand, FormTarget, Item, assemble, form_statistics,
                               item_information, random_draw)
from itembank.assembly.formulation import usable_mask

ELEMENTS = tuple(f"{m}.{k}" for m in range(1, 6) for k in range(1, 5))  # 20 elements
TYPE_SHARE = {"single": 0.45, "multiple": 0.20, "judge": 0.20, "fill": 0.15}
TYPE_POINTS = {"single": 1.0, "multiple": 2.0, "judge": 0.5, "fill": 1.0}
TYPE_GUESS = {"single": 0.22, "multiple": 0.08, "judge": 0.45, "fill": 0.0}
FORM_COUNTS = {"single": 50, "multiple": 10, "judge": 20, "fill": 20}  # 100 items, 100 points
LEVEL = 4


def element_weights(seed: int) -> np.ndarray:
    """Weights (比重) of the 20 elements, summing to 1."""
    return np.random.default_rng(seed).dirichlet(np.full(len(ELEMENTS), 4.0))


def synthetic_bank(n_items: int, seed: int = 2026) -> list[Item]:
    """A plausible approved theory bank of ``n_items`` items (seeded)."""
    rng = np.random.default_rng(seed)
    w = element_weights(seed)
    types = list(TYPE_SHARE)
    element = rng.choice(len(ELEMENTS), size=n_items, p=w)
    itype = rng.choice(len(types), size=n_items, p=list(TYPE_SHARE.values()))
    p = np.clip(rng.beta(6.5, 3.5, size=n_items), 0.05, 0.98)
    a = np.exp(rng.normal(0.0, 0.3, size=n_items))
    b = -np.log(p / (1 - p)) / 1.2 + rng.normal(0.0, 0.35, size=n_items)
    c = np.array([TYPE_GUESS[types[t]] for t in itype]) * rng.uniform(0.7, 1.1, size=n_items)
    level = np.where(rng.random(n_items) < 0.9, LEVEL, rng.choice([3, 5], size=n_items))
    exposure = rng.poisson(2.0, size=n_items)
    enemies: list[list[str]] = [[] for _ in range(n_items)]
    for s in range(100):  # enemy sets: 2-5 items on the same element
        e = rng.integers(len(ELEMENTS))
        members = np.flatnonzero(element == e)
        for i in rng.choice(members, size=min(len(members), int(rng.integers(2, 6))), replace=False):
            enemies[i].append(f"E{s:03d}")
    return [Item(id=i + 1, element=ELEMENTS[element[i]], item_type=types[itype[i]], level=int(level[i]),
                 points=TYPE_POINTS[types[itype[i]]], p=round(float(p[i]), 3), a=round(float(a[i]), 3),
                 b=round(float(b[i]), 3), c=round(float(min(c[i], 0.6)), 3), enemies=tuple(enemies[i]),
                 exposure=int(exposure[i])) for i in range(n_items)]


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder apportionment of ``total`` by ``weights``."""
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(int)
    out[np.argsort(-(raw - out), kind="stable")[: total - out.sum()]] += 1
    return out


def synthetic_blueprint(bank: list[Item], seed: int = 2026, n_forms: int = 4) -> Blueprint:
    """100 items / 100 points per form, cells by element weight, 5 difficulty bands, p and TIF targets."""
    w = element_weights(seed)
    cells = []
    for t, count in FORM_COUNTS.items():
        for e, k in zip(ELEMENTS, _apportion(count, w)):
            if k:
                cells.append(Cell(e, t, count=int(k), points=float(k * TYPE_POINTS[t])))
    usable = [it for it in bank if it.level == LEVEL and it.exposure < 8]
    info0 = item_information(0.0, [it.a for it in usable], [it.b for it in usable], [it.c for it in usable])[:, 0]
    target = FormTarget(mean_p=0.65, tolerance=0.005, theta=0.0, information=round(100 * float(info0.mean()), 1))
    bands = (DifficultyBand(0.0, 0.3, 0, 5), DifficultyBand(0.3, 0.5, 8, 22), DifficultyBand(0.5, 0.7, 30, 55),
             DifficultyBand(0.7, 0.9, 20, 45), DifficultyBand(0.9, 1.0, 0, 10))
    return Blueprint(cells=tuple(cells), target=target, n_forms=n_forms, total_points=100.0, bands=bands,
                     max_overlap=0, exposure_limit=8, level=LEVEL)


def n_constraints(bp: Blueprint, bank: list[Item]) -> int:
    """Hard constraints per form: cell counts and points, total, bands, enemy sets."""
    sets = {e for it in bank for e in it.enemies}
    return sum((c.count is not None) + (c.points is not None) for c in bp.cells) + 1 + len(bp.bands) + len(sets)


def _kinds(res) -> str:
    counts: dict[str, int] = {}
    for b in res.breaches:
        counts[b.code] = counts.get(b.code, 0) + 1
    return ", ".join(f"{k} ×{v}" for k, v in sorted(counts.items())) or "-"


def _max_dev(res) -> float:
    devs = [abs(f.mean_p_deviation) for f in res.forms]
    devs += [abs(f.information_deviation) for f in res.forms if f.information_deviation is not None]
    return 100 * max(devs) if devs else float("nan")


def _spreads(bank: list[Item], res, theta: float) -> tuple[float, float]:
    """Largest difference between forms: of mean p, and of TIF at the cut score."""
    st = form_statistics(bank, res.item_ids, thetas=[theta])
    return float(np.ptp(st.mean_p)), float(np.ptp(st.tif[:, 0]))


def run(n_items: int, repeats: int = 3) -> tuple[list[list[object]], list[list[object]], dict[str, object]]:
    bank = synthetic_bank(n_items)
    bp = synthetic_blueprint(bank)
    theta = float(bp.target.theta or 0.0)
    times, results = [], []
    for r in range(repeats):
        t0 = time.perf_counter()
        res = assemble(bank, bp, seed=r, time_limit=30.0)
        times.append(time.perf_counter() - t0)
        results.append(res)
    res = results[0]
    again = assemble(bank, bp, seed=0, time_limit=30.0)
    t0 = time.perf_counter()
    full = assemble(bank, bp, seed=0, time_limit=30.0, candidates=None)
    full_s = time.perf_counter() - t0
    draws = []
    for label, avoid in (("random draw, no reuse", True), ("random draw, independent", False)):
        t0 = time.perf_counter()
        d = random_draw(bank, bp, seed=0, avoid_reuse=avoid)
        draws.append((label, d, time.perf_counter() - t0))
    form_rows: list[list[object]] = []
    for label, rr in (("optimised", res), (draws[0][0], draws[0][1])):
        for f in rr.forms:
            form_rows.append([n_items, label, chr(ord("A") + f.index), len(f.item_ids), f"{f.points:g}",
                              f"{f.mean_p:.4f}", f"{100 * f.mean_p_deviation:+.3f}",
                              f"{f.information:.2f}" if f.information is not None else "-",
                              f"{100 * f.information_deviation:+.3f}" if f.information_deviation is not None
                              else "-"])
    cmp_rows: list[list[object]] = []
    for label, rr, secs in (("optimised (seed 0)", res, times[0]), *draws):
        sp, si = _spreads(bank, rr, theta)
        cmp_rows.append([n_items, label, f"{secs:.3f}", len(rr.rule_breaches),
                         sum(b.severity == "target" for b in rr.breaches), _kinds(rr), f"{_max_dev(rr):.3f}",
                         f"{sp:.4f}", f"{si:.3f}"])
    summary = {
        "n_items": n_items, "usable": int(usable_mask(bank, bp).sum()),
        "constraints": n_constraints(bp, bank), "status": res.status, "median_s": median(times), "times": times,
        "breaches": len(res.rule_breaches), "within": all(r.within_tolerance for r in results),
        "max_dev_pct": max(_max_dev(r) for r in results), "reproducible": res.item_ids == again.item_ids,
        "full": f"{full_s:.2f} s, {_max_dev(full):.3f} %" + ("" if full.ok and full.within_tolerance else " (NOT ok)"),
    }
    return form_rows, cmp_rows, summary


def main() -> None:
    load_start = os.getloadavg()[0]
    form_rows: list[list[object]] = []
    cmp_rows: list[list[object]] = []
    summaries = []
    for n in (5000, 10000):
        f_rows, c_rows, s = run(n)
        form_rows += f_rows
        cmp_rows += c_rows
        summaries.append(s)
    head = ["bank", "usable items", "constraints/form", "status", "solve s (median of 3)", "runs s", "target s",
            "rule breaches", "max abs dev % (3 runs)", "all forms within ±0.5 %", "same seed → same forms",
            "no sampling (candidates=None): s, max abs dev"]
    srows = [[s["n_items"], s["usable"], s["constraints"], s["status"], f"{s['median_s']:.2f}",
              " / ".join(f"{t:.2f}" for t in s["times"]), "≤ 5" if s["n_items"] == 5000 else "≤ 10",
              s["breaches"], f"{s['max_dev_pct']:.3f}", "yes" if s["within"] else "NO",
              "yes" if s["reproducible"] else "NO", s["full"]] for s in summaries]
    body = "\n\n".join([
        "Synthetic seeded bank (20 elements × 4 item types, Beta p, 3PL a/b/c, 100 enemy sets of 2–5 items, "
        "10 % other levels, exposure limit 8). 4 parallel forms × 100 items = 100 points, no overlap; "
        "targets mean p = 0.65 and test information at θ = 0, each ±0.5 % of the ABSOLUTE target; every "
        "blueprint rule hard (cell counts and points, total, 5 difficulty bands, enemy sets). Sequential "
        "HiGHS, one MIP per form minimising the largest deviation in tolerance units, stopping once the "
        "deviation is proven within 0.05 tolerance units of the optimum; each form is first solved over a "
        "seeded sample of ≤ 4× the needed items per cell (default `candidates=4`), the last column solves "
        "over every item. Times include model building, supply diagnosis and the independent check.",
        table(head, srows),
        f"Load average (1 min) at start / end: {load_start:.2f} / {os.getloadavg()[0]:.2f} "
        "(the machine is shared; other jobs inflate wall-clock times).",
        "Per form (deviation = (value − target) / target):",
        table(["bank", "method", "form", "items", "points", "mean p", "p dev %", "TIF(0)", "TIF dev %"], form_rows),
        "Against a rule-by-rule random draw (随机抽题 per cell) on the same bank and blueprint "
        "(\"no reuse\" skips items earlier forms used; \"independent\" draws each form on its own); "
        "breaches as counted by the independent checker; spreads are the largest difference between forms:",
        table(["bank", "method", "seconds", "rule breaches", "target breaches", "breach kinds", "max abs dev %",
               "spread of mean p", "spread of TIF(0)"], cmp_rows),
    ])
    write_section("assembly", "Parallel-form assembly", body, "python -m bench.assembly")


if __name__ == "__main__":
    main()
