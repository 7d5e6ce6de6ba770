"""The quarterly quality report (职业技能鉴定质量工作通报指标, seed 002 attachment, 劳社厅发〔2003〕).

Seed 002 asks, per quarter: occupations assessed under national standards vs. ministry-approved local
standards vs. unapproved ones; papers drawn from the national bank vs. approved local banks vs. unapproved
ones; whether supervision took place (and assessment beyond scope); violations found and handled;
certificates issued.

Each figure comes from a *provider*: ``provider(s, scope) -> Figure``. This area provides the figures whose
data it owns (standards used by its plans, supervision coverage, plans and candidates). Figures owned by
areas not built yet (papers: item bank; violations; certificates) report ``available=False`` and say so;
an area adds its figure with :func:`register_figure` (same key replaces the placeholder), e.g. in its
``api`` module::

    from examserver.administration.quality import Figure, register_figure
    register_figure("papers", lambda s, scope: Figure("papers", "试卷来源", "Papers by source", True, rows=[...]))
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from itembank.standards import SkillStandard

from . import rules
from .models import PLAN_STATUSES, ExamPlan, Registration, StaffAssignment, SupervisorReport
from .spreadsheets import table_xlsx


@dataclasses.dataclass(frozen=True)
class QualityScope:
    year: int
    quarter: int
    agency_id: int | None  # None: every agency (centre view)
    today: dt.date

    @property
    def bounds(self) -> tuple[dt.date, dt.date]:
        return rules.quarter_bounds(self.year, self.quarter)


@dataclasses.dataclass
class Figure:
    key: str
    title_zh: str
    title_en: str
    available: bool
    rows: list[tuple[str, str, float | int | str]] = dataclasses.field(default_factory=list)  # (zh, en, value)
    note: str = ""


Provider = Callable[[Session, QualityScope], Figure]
FIGURE_ORDER = ["plans", "standards", "papers", "supervision", "violations", "certificates"]
PROVIDERS: dict[str, Provider] = {}


def register_figure(key: str, provider: Provider) -> None:
    """Add or replace the provider of one figure of the report."""
    if key not in FIGURE_ORDER:
        FIGURE_ORDER.append(key)
    PROVIDERS[key] = provider


def _plans(s: Session, scope: QualityScope) -> list[ExamPlan]:
    start, end = scope.bounds
    q = select(ExamPlan).where(ExamPlan.first_day >= start, ExamPlan.first_day <= end, ExamPlan.status != "draft")
    if scope.agency_id is not None:
        q = q.where(ExamPlan.agency_id == scope.agency_id)
    return list(s.scalars(q.order_by(ExamPlan.first_day)))


def _plans_figure(s: Session, scope: QualityScope) -> Figure:
    plans = _plans(s, scope)
    ids = [p.id for p in plans]
    cands = s.scalar(select(func.count(Registration.id)).where(Registration.plan_id.in_(ids),
                                                                Registration.status == "registered")) if ids else 0
    rows = [("认定计划（已报备）", "Plans filed", len(plans)), ("报名人数", "Candidates registered", cands or 0),
            ("逾期报备", "Filed late", sum(p.late_filing for p in plans)),
            ("结果逾期上报", "Results reported late", sum(p.late_report for p in plans))]
    for code, (zh, en) in PLAN_STATUSES.items():
        if code != "draft":
            rows.append((f"状态：{zh}", f"Status: {en}", sum(p.status == code for p in plans)))
    return Figure("plans", "认定计划", "Exam plans", True, rows)


def _standards_figure(s: Session, scope: QualityScope) -> Figure:
    """Occupations (work types, levels) assessed, by the standard on file: national / filed / none."""
    seen: dict[tuple, str] = {}
    for p in _plans(s, scope):
        key = (p.occupation_id, p.work_type_id, p.level)
        sources = set(s.scalars(select(SkillStandard.source).where(SkillStandard.occupation_id == p.occupation_id,
                                                                    SkillStandard.level == p.level)))
        seen[key] = "national" if "national" in sources else ("filed" if sources else "none")
    counts = {k: sum(v == k for v in seen.values()) for k in ("national", "filed", "none")}
    return Figure("standards", "职业标准执行情况", "Standards used", True, [
        ("使用国家职业技能标准的职业（工种）等级", "Occupation levels under a national standard", counts["national"]),
        ("使用备案评价规范的职业（工种）等级", "Occupation levels under a filed specification", counts["filed"]),
        ("无标准备案的职业（工种）等级", "Occupation levels with no standard on file", counts["none"]),
    ], note="按计划的职业、工种、等级计数 (counted per occupation × work type × level of the quarter's plans)")


def _supervision_figure(s: Session, scope: QualityScope) -> Figure:
    plans = _plans(s, scope)
    ids = [p.id for p in plans]
    supervised = set(s.scalars(select(StaffAssignment.plan_id).where(StaffAssignment.plan_id.in_(ids),
                                                                     StaffAssignment.duty == "supervisor"))) if ids else set()
    reports = s.scalars(select(SupervisorReport).where(SupervisorReport.plan_id.in_(ids))).all() if ids else []
    submitted = [r for r in reports if r.submitted_at is not None]
    on_time = [r for r in submitted if r.submitted_on and r.submitted_on <= r.due_on]
    coverage = round(100.0 * len(supervised) / len(plans), 1) if plans else 0.0
    return Figure("supervision", "质量督导情况", "Supervision", True, [
        ("已派督导的计划", "Plans with a supervisor", len(supervised)),
        ("督导覆盖率（%）", "Supervision coverage (%)", coverage),
        ("督导报告已提交", "Supervisor reports submitted", len(submitted)),
        ("按期提交", "Submitted on time", len(on_time)),
        ("逾期未交", "Overdue", sum(r.overdue(scope.today) for r in reports)),
    ])


def _not_yet(key: str, zh: str, en: str, area: str) -> Provider:
    def provider(s: Session, scope: QualityScope) -> Figure:
        return Figure(key, zh, en, False, note=f"暂无数据：{area}尚未上线 (not yet available: the {key} area is not "
                                                f"built yet)")
    return provider


register_figure("plans", _plans_figure)
register_figure("standards", _standards_figure)
register_figure("papers", _not_yet("papers", "题库使用情况", "Papers by bank", "题库组卷"))
register_figure("supervision", _supervision_figure)
register_figure("violations", _not_yet("violations", "违纪违规处理情况", "Violations found and handled", "违纪违规处理"))
register_figure("certificates", _not_yet("certificates", "证书发放情况", "Certificates issued", "证书管理"))


def quarterly_report(s: Session, scope: QualityScope) -> list[Figure]:
    rules.quarter_bounds(scope.year, scope.quarter)  # validates the quarter
    return [PROVIDERS[k](s, scope) for k in FIGURE_ORDER if k in PROVIDERS]


def _flat(figures: list[Figure]) -> list[list]:
    rows = []
    for f in figures:
        if not f.available:
            rows.append([f.title_zh, f.title_en, "暂无数据 / not yet available", f.note])
        for zh, en, v in f.rows:
            rows.append([f.title_zh, f"{zh} / {en}", v, f.note])
    return rows


HEADERS = ["指标类别 / Figure", "指标 / Item", "数值 / Value", "说明 / Note"]


def report_csv(figures: list[Figure]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADERS)
    w.writerows(_flat(figures))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM so spreadsheet programs read UTF-8


def report_xlsx(figures: list[Figure], title: str) -> bytes:
    return table_xlsx(title, HEADERS, _flat(figures))
