"""Demo step of the item bank: 车工 四级 theory bank, practical tasks, and a blueprint for two parallel forms.

Items are written by the demo item writers (writer, writer2), imported in one batch each,
sent to review and approved by the demo reviewer, exactly as the services do for real
banks. Everything is seeded from the demo's ``rng``.
"""
from __future__ import annotations

import math

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from itembank import items as bank
from itembank.blueprints import create_blueprint
from itembank.core.audit import Actor
from itembank.core.people import Account
from itembank.io import ParsedRow, import_rows
from itembank.standards import SkillStandard

from . import demo_bank as content

# Single-choice items per second-level element (the rest of the bank: every written-out true/false,
# multiple-choice and fill-in item).
SINGLES_PER_AREA = {"1.1": 12, "1.2": 64, "2.1": 50, "2.2": 36, "2.3": 110, "2.4": 40}
# The demo blueprint (双向细目表): items per form per second-level element × type.
# 单选 60×1 + 多选 10×2 + 判断 20×1 = 100 points, 90 items, 90 minutes.
BLUEPRINT_CELLS = {
    "1.1": {"single": 3, "multiple": 1, "judge": 1},
    "1.2": {"single": 12, "multiple": 2, "judge": 4},
    "2.1": {"single": 11, "multiple": 2, "judge": 4},
    "2.2": {"single": 7, "multiple": 1, "judge": 2},
    "2.3": {"single": 20, "multiple": 3, "judge": 7},
    "2.4": {"single": 7, "multiple": 1, "judge": 2},
}
BLUEPRINT_NAME = "车工（四级/中级工）理论知识考试 双向细目表"


def _irt(p: float, item_type: str, rng: np.random.Generator) -> tuple[float, float, float]:
    """3PL parameters consistent with p at θ = 0."""
    c = {"single": 0.2, "multiple": 0.05, "judge": 0.3, "fill": 0.0}[item_type]
    a = round(float(rng.uniform(0.7, 1.8)), 2)
    star = min(max((p - c) / (1 - c), 0.05), 0.95)
    b = round(-math.log(star / (1 - star)) / a, 2)
    return a, b, c


def _leaf_weights(std: SkillStandard) -> dict[str, float]:
    by_id = {e.id: e for e in std.elements}
    out = {}
    for e in std.elements:
        if e.children:
            continue
        w, cur = 1.0, e
        while cur is not None:
            w *= cur.weight / 100
            cur = by_id.get(cur.parent_id) if cur.parent_id else None
        out[e.code] = w
    return out


def theory_rows(std: SkillStandard, rng: np.random.Generator) -> list[dict]:
    """Every demo theory item as import fields (with ``item_type``)."""
    weights = _leaf_weights(std)
    leaves = sorted(weights, key=lambda c: [int(x) for x in c.split(".")])
    rows: list[dict] = []
    seen: set[str] = set()

    def add(fields: dict, code: str) -> None:
        t = fields["item_type"]
        a, b, c = _irt(fields["p"], t, rng)
        levels = [4, 5] if rng.random() < 0.1 else ([4, 3] if rng.random() < 0.05 else [4])
        source = "national" if rng.random() < 0.15 else ("own" if rng.random() < 0.2 else "local")
        rows.append({**fields, "element_code": code, "levels": levels, "source": source, "irt_a": a, "irt_b": b,
                     "irt_c": c, "enemy_group": content.ENEMIES.get(fields["stem"])})

    for area, n_total in SINGLES_PER_AREA.items():
        area_leaves = [c for c in leaves if c.startswith(area + ".")]
        # leaves without calculation templates give their written-out items; the others share the rest
        quota = {c: len(content.SINGLE_FACTS.get(c, [])) for c in area_leaves if not content.CALC.get(c)}
        flexible = [c for c in area_leaves if content.CALC.get(c)]
        rest = n_total - sum(quota.values())
        wsum = sum(weights[c] for c in flexible)
        for c in flexible:
            quota[c] = round(rest * weights[c] / wsum)
        if flexible:
            quota[flexible[-1]] += n_total - sum(quota.values())
        for code in area_leaves:
            for it in content.single_items(code, quota[code], rng):
                if it["stem"] in seen:
                    continue
                seen.add(it["stem"])
                add(it, code)
    for code in leaves:
        for stem, truth in content.JUDGE_FACTS.get(code, []):
            add({"item_type": "judge", "stem": stem, "answer": "T" if truth else "F", "explanation": "",
                 "p": round(float(rng.uniform(0.65, 0.92)), 2)}, code)
        for stem, right, wrong in content.MULTI_FACTS.get(code, []):
            opts = right + wrong
            order = rng.permutation(len(opts))
            options = [opts[i] for i in order]
            key = "".join(sorted("ABCDEFG"[list(order).index(i)] for i in range(len(right))))
            add({"item_type": "multiple", "stem": stem, "options": options, "answer": key, "explanation": "",
                 "p": round(float(rng.uniform(0.4, 0.7)), 2)}, code)
        for stem, ans in content.FILL_FACTS.get(code, []):
            add({"item_type": "fill", "stem": stem, "answer": ans, "explanation": "",
                 "p": round(float(rng.uniform(0.45, 0.75)), 2)}, code)
    return rows


def practical_rows() -> list[dict]:
    out = []
    for code, title, stem, minutes, criteria, equipment in content.PRACTICAL_TASKS:
        out.append({"item_type": "practical", "element_code": code, "levels": [4], "source": "local",
                    "stem": f"<p><b>{title}</b></p><p>{stem}</p>",
                    "rubric": {"criteria": [{"name": n, "max_points": mx,
                                             "deductions": [{"rule": r, "points": p} for r, p in ded]}
                                            for n, mx, ded in criteria],
                               "time_minutes": minutes, "equipment": equipment,
                               "safety": "按车工安全操作规程操作；严重违章者停止考核。"}})
    return out


def _actor(s: Session, username: str) -> Actor:
    acc = s.scalar(select(Account).where(Account.username == username))
    grant = next(g for g in acc.active_grants() if g.role in ("item_writer", "item_reviewer"))
    return Actor(acc.id, acc.person.name, grant.role)


def load(s: Session, rng: np.random.Generator, ctx) -> None:
    std = s.scalar(select(SkillStandard).where(SkillStandard.occupation_id == ctx.occupation.id,
                                               SkillStandard.level == 4))
    writer, writer2, reviewer = _actor(s, "writer"), _actor(s, "writer2"), _actor(s, "reviewer")
    theory = theory_rows(std, rng)
    practical = practical_rows()
    everything = theory + practical
    prefix = {"single": "SC", "multiple": "MC", "judge": "TF", "fill": "FB", "practical": "PR"}
    serial: dict[str, int] = {}
    parsed = {writer: [], writer2: []}
    for i, f in enumerate(everything):
        t = f.pop("item_type")
        serial[t] = serial.get(t, 0) + 1
        author = writer2 if (i % 4 == 3 and t != "practical") else writer
        parsed[author].append(ParsedRow(row=i + 2, item_type=t, fields=f, code=f"CG4-{prefix[t]}-{serial[t]:04d}"))
    created = []
    for author, rows in parsed.items():
        made = import_rows(s, author, agency_id=ctx.agency.id, standard=std, rows=rows, fmt="demo",
                           filename="车工四级题库（演示）.xlsx")
        bank.submit_items(s, author, made)
        created += made
    bank.review_items(s, reviewer, created, decision="approve", comment="演示题库：经审题组审定")
    cells = [{"element_code": el, "item_type": t, "count": n} for el, per in BLUEPRINT_CELLS.items()
             for t, n in per.items()]
    create_blueprint(s, writer, agency_id=ctx.agency.id, standard=std, name=BLUEPRINT_NAME, total_points=100.0,
                     duration_minutes=90, n_forms=2, max_overlap=0, exposure_limit=5, target_mean_p=0.68,
                     tolerance=0.02, points_per_type={"single": 1.0, "multiple": 2.0, "judge": 1.0, "fill": 2.0},
                     bands=[{"low": 0.0, "high": 0.6, "min_count": 15, "max_count": None},
                            {"low": 0.85, "high": 1.0, "min_count": 0, "max_count": 20}],
                     practical_count=1, cells=cells)
