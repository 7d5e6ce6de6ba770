"""The level decision (等级认定结论) as a pure rule.

A candidate is certified at the plan's level when every required subject (theory, practical and, for
levels 2 and 1 where the plan has it, the comprehensive review) reaches the pass mark fixed when the plan was
approved, and no subject's result was cancelled by a violation decision.

Sources (seed 003): "对经考试考核评审合格人员，评价机构可认定其职业技能等级" (职业技能等级认定工作规程
art. 20); pass marks are set beforehand and never changed (河南省…备案及管理办法 art. 34(5): 擅自降低、提高
合格分数线或更改成绩); cancelled subjects (技能人才评价违纪违规行为处理工作指引 arts. 5–8).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

SUBJECT_NAMES = {"theory": "理论知识考试", "practical": "操作技能考核", "review": "综合评审"}


@dataclass(frozen=True)
class Reason:
    subject: str
    code: str          # passed | below_pass_mark | missing | cancelled
    text_zh: str
    text_en: str


@dataclass(frozen=True)
class LevelDecision:
    passed: bool
    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    @property
    def failing(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.code != "passed")


def decide_level(required: Sequence[str], pass_marks: Mapping[str, float], scores: Mapping[str, float | None],
                 cancelled: set[str] | frozenset[str] = frozenset()) -> LevelDecision:
    """Pass when every subject of ``required`` has a score >= its pass mark and none is cancelled.

    ``cancelled`` holds subject codes or ``"*"`` (all subjects, 指引 arts. 6–7). Every subject gets one reason,
    so the candidate sees why they passed or failed.
    """
    if not required:
        raise ValueError("no required subjects")
    reasons: list[Reason] = []
    ok = True
    for subj in required:
        if subj not in pass_marks:
            raise ValueError(f"no pass mark for subject {subj!r}")
        name = SUBJECT_NAMES.get(subj, subj)
        mark = float(pass_marks[subj])
        score = scores.get(subj)
        if "*" in cancelled or subj in cancelled:
            ok = False
            reasons.append(Reason(subj, "cancelled", f"{name}成绩因违纪违规处理被取消",
                                  f"{subj}: result cancelled by a violation decision"))
        elif score is None:
            ok = False
            reasons.append(Reason(subj, "missing", f"{name}无成绩", f"{subj}: no score"))
        elif float(score) + 1e-9 < mark:
            ok = False
            reasons.append(Reason(subj, "below_pass_mark", f"{name}成绩 {score:g} 低于合格线 {mark:g}",
                                  f"{subj}: {score:g} is below the pass mark {mark:g}"))
        else:
            reasons.append(Reason(subj, "passed", f"{name}成绩 {score:g}，达到合格线 {mark:g}",
                                  f"{subj}: {score:g} reaches the pass mark {mark:g}"))
    return LevelDecision(ok, tuple(reasons))
