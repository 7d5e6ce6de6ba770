"""Practical marking rules (操作技能考核评分): rubric application, veto items, aggregation, spread check.

Pure functions over plain data; no session, no clock. Where the rules come from (seed 003):

- A practical task is marked by an examiner panel (考评组) of three or more examiners, each marking
  independently (河南省职业技能考核鉴定机构备案及管理办法（试行）, 豫人社规〔2020〕1号, art. 17; the
  standard's 考评人员 section: "每个考评组中应不少于 3 名考评员").
- Each examiner marks to the agency's written rubric (评分工作细则) and signs the mark (same 办法 art. 23).
- A serious safety incident during the assessment (严重安全事故) makes that assessment invalid (same 办法
  art. 35(6)); a rubric's safety breach is therefore a veto item (一票否决): the task scores 0.

The panel's mark is the mean of the independent marks by default; ``trimmed`` drops the highest and
lowest mark (with at least three marks) before averaging; ``median`` takes the median. When the spread
(max − min) of the independent marks exceeds a threshold the mark needs adjudication by the lead
examiner instead of being aggregated silently.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

AGGREGATIONS = ("mean", "trimmed", "median")
MIN_PANEL = 3
DEFAULT_SPREAD_THRESHOLD = 10.0


class MarkingError(ValueError):
    """Bad marking input; ``field`` names what was wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CriterionScore:
    name: str
    max_points: float
    points: float
    deducted: float
    applied: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class MarkSheet:
    """One examiner's mark of one task: per-criterion points, the total and whether a veto item applied."""

    criteria: tuple[CriterionScore, ...]
    total: float
    max_total: float
    veto: bool
    veto_reason: str = ""

    def points_json(self) -> list[dict[str, Any]]:
        return [{"name": c.name, "max_points": c.max_points, "points": c.points, "deducted": c.deducted,
                 "applied": list(c.applied)} for c in self.criteria]


def _number(v: Any, where: str) -> float:
    if isinstance(v, bool) or v is None:
        raise MarkingError(where, f"{where}: a number is required, got {v!r}")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise MarkingError(where, f"{where}: a number is required, got {v!r}") from None
    if not math.isfinite(x):
        raise MarkingError(where, f"{where}: a finite number is required, got {v!r}")
    return x


def apply_rubric(rubric: Mapping[str, Any], entries: Sequence[Mapping[str, Any]], *, veto: bool = False,
                 veto_reason: str = "") -> MarkSheet:
    """Mark one task against its rubric.

    ``rubric`` is the item bank's normalised rubric (``{"criteria": [{"name", "max_points", "deductions":
    [{"rule", "points"}]}]}``). ``entries`` has one entry per criterion, in rubric order, each either
    ``{"deductions": [{"index": j, "count": n}, ...]}`` (rubric deduction rules applied, ``count`` times)
    or ``{"points": x}`` (points awarded directly, 0..max). Deductions never take a criterion below 0.
    With ``veto`` (a safety breach, 一票否决) the total is 0 whatever the criteria say.
    """
    criteria = list((rubric or {}).get("criteria") or [])
    if not criteria:
        raise MarkingError("rubric", "the rubric has no criteria")
    if len(entries) != len(criteria):
        raise MarkingError("criteria", f"expected {len(criteria)} criterion entries, got {len(entries)}")
    out: list[CriterionScore] = []
    for i, (c, e) in enumerate(zip(criteria, entries)):
        where = f"criteria[{i}]"
        mx = _number(c.get("max_points"), f"rubric.{where}.max_points")
        if not isinstance(e, Mapping):
            raise MarkingError(where, f"{where}: an object is required")
        if e.get("points") is not None:
            pts = _number(e["points"], f"{where}.points")
            if not 0 <= pts <= mx:
                raise MarkingError(f"{where}.points", f"{where}.points must be in [0, {mx:g}], got {pts:g}")
            out.append(CriterionScore(str(c.get("name", "")), mx, pts, mx - pts))
            continue
        rules = list(c.get("deductions") or [])
        applied, deducted = [], 0.0
        for j, d in enumerate(e.get("deductions") or []):
            dw = f"{where}.deductions[{j}]"
            if not isinstance(d, Mapping):
                raise MarkingError(dw, f"{dw}: an object is required")
            idx = d.get("index")
            if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < len(rules):
                raise MarkingError(f"{dw}.index", f"{dw}.index must name one of {len(rules)} deduction rules")
            count = d.get("count", 1)
            if isinstance(count, bool) or not isinstance(count, int) or count < 1 or count > 100:
                raise MarkingError(f"{dw}.count", f"{dw}.count must be a whole number 1..100")
            each = _number(rules[idx].get("points"), f"rubric.{where}.deductions[{idx}].points")
            deducted += each * count
            applied.append({"index": idx, "rule": str(rules[idx].get("rule", "")), "count": count, "points": each})
        deducted = min(deducted, mx)  # never below 0
        out.append(CriterionScore(str(c.get("name", "")), mx, round(mx - deducted, 4), round(deducted, 4),
                                  tuple(applied)))
    max_total = round(sum(c.max_points for c in out), 4)
    total = 0.0 if veto else round(sum(c.points for c in out), 4)
    if veto and not veto_reason.strip():
        raise MarkingError("veto_reason", "a veto (safety breach) needs its reason")
    return MarkSheet(tuple(out), total, max_total, bool(veto), veto_reason.strip() if veto else "")


def spread(marks: Sequence[float]) -> float:
    """max − min of the independent marks (0 for fewer than two)."""
    xs = [float(m) for m in marks]
    return max(xs) - min(xs) if len(xs) >= 2 else 0.0


def needs_adjudication(marks: Sequence[float], threshold: float = DEFAULT_SPREAD_THRESHOLD) -> bool:
    """True when the panel disagrees by more than ``threshold`` points (max − min > threshold)."""
    if threshold < 0:
        raise MarkingError("threshold", f"threshold must be >= 0, got {threshold}")
    return spread(marks) > threshold + 1e-9


def aggregate(marks: Sequence[float], method: str = "mean") -> float:
    """The panel's mark from independent marks: ``mean`` | ``trimmed`` (drop one highest and one lowest, needs
    >= 3 marks) | ``median``. Rounded to 2 decimals."""
    xs = sorted(float(m) for m in marks)
    if not xs:
        raise MarkingError("marks", "no marks to aggregate")
    if method == "mean":
        v = statistics.fmean(xs)
    elif method == "trimmed":
        if len(xs) < 3:
            raise MarkingError("method", f"a trimmed mean needs at least 3 marks, got {len(xs)}")
        v = statistics.fmean(xs[1:-1])
    elif method == "median":
        v = statistics.median(xs)
    else:
        raise MarkingError("method", f"aggregation must be one of {', '.join(AGGREGATIONS)}, got {method!r}")
    return round(v + 0.0, 2)


@dataclass(frozen=True)
class PanelOutcome:
    """What the panel's marks give: ``status`` 'incomplete' | 'needs_adjudication' | 'aggregated' | 'vetoed'."""

    status: str
    mark: float | None
    spread: float
    n_marks: int
    reasons: tuple[str, ...] = field(default_factory=tuple)


def panel_outcome(marks: Sequence[float], vetoes: Sequence[bool], *, panel_size: int, method: str = "mean",
                  threshold: float = DEFAULT_SPREAD_THRESHOLD) -> PanelOutcome:
    """Combine a panel's signed marks (one per examiner, ``vetoes`` aligned with ``marks``).

    Incomplete until every panel member (and at least :data:`MIN_PANEL`) has marked. A veto by a majority of the
    panel zeroes the task; a veto by a minority is a disagreement the lead examiner adjudicates, as is a spread
    above ``threshold``.
    """
    if len(marks) != len(vetoes):
        raise MarkingError("vetoes", "one veto flag per mark")
    n = len(marks)
    sp = spread(marks)
    if n < max(panel_size, MIN_PANEL):
        return PanelOutcome("incomplete", None, sp, n, (f"{n} of {max(panel_size, MIN_PANEL)} marks",))
    n_veto = sum(1 for v in vetoes if v)
    if n_veto * 2 > n:
        return PanelOutcome("vetoed", 0.0, sp, n, ("safety veto by the panel majority",))
    reasons = []
    if n_veto:
        reasons.append(f"safety veto by {n_veto} of {n} examiners")
    if needs_adjudication(marks, threshold):
        reasons.append(f"spread {sp:g} > {threshold:g}")
    if reasons:
        return PanelOutcome("needs_adjudication", None, sp, n, tuple(reasons))
    return PanelOutcome("aggregated", aggregate(marks, method), sp, n)


def scale(points: float, max_points: float, full_marks: float = 100.0) -> float:
    """Points out of ``max_points`` as a score out of ``full_marks`` (2 decimals)."""
    if max_points <= 0:
        raise MarkingError("max_points", f"max points must be > 0, got {max_points}")
    return round(points / max_points * full_marks, 2)
