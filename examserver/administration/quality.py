"""The quarterly quality report (职业技能鉴定质量工作通报指标, seed 002 attachment, 劳社厅发〔2003〕).

Seed 002 asks, per quarter: occupations assessed under national standards vs. ministry-approved local
standards vs. unapproved ones; papers drawn from the national bank vs. approved local banks vs. unapproved
ones; whether supervision took place (and assessment beyond scope); violations found and handled;
certificates issued.

Each figure comes from a *provider*: ``provider(s, scope) -> Figure``. This area provides the figures whose
data it owns (plans, standards used, supervision coverage) and reads two areas that exist: papers (the item
bank's sealed papers bound to this quarter's seats, classed by their items' bank) and certificates
(``scoring.certification``). Violations have no tables yet, so that figure reports ``available=False``
and says so; the violations area adds its figure with :func:`register_figure` (same key replaces the
placeholder), e.g. in its ``api`` module::

    from examserver.administration.quality import Figure, register_figure
    register_figure("violations", lambda s, scope: Figure("violations", "违纪违规处理情况", "Violations", True, rows=[...]))
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


def paper_bank_class(sources: set[str]) -> str:
    """A paper's bank class from the sources of its items: all national → national; otherwise, with no item
    from an unfiled own bank → approved local; else unapproved (seed 002: 国家题库 / 经部认定的地方题库 / 未经认定)."""
    if sources and sources <= {"national"}:
        return "national"
    if sources and "own" not in sources:
        return "local"
    return "unapproved"


def _papers_figure(s: Session, scope: QualityScope) -> Figure:
    """Sealed papers bound to the seats of this quarter's sessions, by the bank their items come from."""
    from itembank.items import ItemVersion
    from itembank.papers import PaperItem

    from .models import ExamSession, SeatAssignment
    ids = [p.id for p in _plans(s, scope)]
    paper_ids = set(s.scalars(select(SeatAssignment.paper_id).join(ExamSession).where(
        ExamSession.plan_id.in_(ids), SeatAssignment.paper_id.is_not(None)))) if ids else set()
    counts = {"national": 0, "local": 0, "unapproved": 0}
    for pid in sorted(paper_ids):
        sources = set(s.scalars(select(ItemVersion.source).join(PaperItem, PaperItem.item_version_id == ItemVersion.id)
                                .where(PaperItem.paper_id == pid)))
        counts[paper_bank_class(sources)] += 1
    unbound = s.scalar(select(func.count(ExamSession.id)).where(ExamSession.plan_id.in_(ids), ExamSession.id.in_(
        select(SeatAssignment.session_id).where(SeatAssignment.paper_id.is_(None))))) if ids else 0
    return Figure("papers", "题库使用情况", "Papers by bank", True, [
        ("使用国家题库试卷", "Papers from the national bank", counts["national"]),
        ("使用经备案地方题库试卷", "Papers from approved local banks", counts["local"]),
        ("使用未经备案题库试卷", "Papers from unapproved banks", counts["unapproved"]),
        ("尚未绑定试卷的场次", "Sessions with seats not yet bound to a paper", unbound or 0),
    ], note="按本季度场次座位绑定的试卷计数 (papers bound to the seats of the quarter's sessions)")


def _certificates_figure(s: Session, scope: QualityScope) -> Figure:
    from scoring.certification import Certificate
    start, end = scope.bounds
    q = select(Certificate.status, func.count(Certificate.id)).where(Certificate.issue_date >= start,
                                                                      Certificate.issue_date <= end)
    if scope.agency_id is not None:
        q = q.where(Certificate.agency_id == scope.agency_id)
    by_status = dict(s.execute(q.group_by(Certificate.status)).all())
    return Figure("certificates", "证书发放情况", "Certificates issued", True, [
        ("本季度发证", "Issued this quarter", sum(by_status.values())),
        ("其中已撤销", "Of which revoked since", by_status.get("revoked", 0)),
    ], note="按发证日期计 (by issue date)")


def _not_yet(key: str, zh: str, en: str, area: str) -> Provider:
    def provider(s: Session, scope: QualityScope) -> Figure:
        return Figure(key, zh, en, False, note=f"暂无数据：{area}尚未上线 (not yet available: the {key} area is not "
                                                f"built yet)")
    return provider


register_figure("plans", _plans_figure)
register_figure("standards", _standards_figure)
register_figure("papers", _papers_figure)
register_figure("supervision", _supervision_figure)
def _violations_figure(s: Session, scope: QualityScope) -> Figure:
    """Violations found and handled in the quarter, by party and article (指引 art. 20 archive)."""
    from examserver.violations.operations import statistics  # violations builds on administration
    start, end = scope.bounds
    st = statistics(s, agency_id=scope.agency_id, since=start, until=end)
    party = {"candidate": ("考生", "candidates"), "staff": ("工作人员", "staff"), "agency": ("评价机构", "agencies")}
    rows = [("发现违纪违规", "Cases found", st["found"]), ("已作出处理决定", "Decided", st["handled"]),
            ("经查不构成违规", "Dismissed", st["dismissed"]), ("处理中", "Open", st["open"]),
            ("申请复核", "Reviews requested", st["reviews"])]
    rows += [(f"涉及{party.get(k, (k, k))[0]}", f"Involving {party.get(k, (k, k))[1]}", n)
             for k, n in sorted(st["by_party"].items())]
    rows += [(f"依指引第{a}条处理", f"Decided under art. {a}", n) for a, n in sorted(st["by_article"].items())]
    return Figure("violations", "违纪违规处理情况", "Violations found and handled", True, rows)


register_figure("violations", _violations_figure)
register_figure("certificates", _certificates_figure)


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
