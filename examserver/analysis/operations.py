"""Item analysis of a delivered session and IRT calibration of the bank, as services.

``analyse_session`` runs :func:`scoring.psychometrics.item_analysis` on every paper (试卷) sat in one exam
session (场次): the points each submitted attempt earned per item (delivery's objective scoring) and the
options chosen; it stores one :class:`ItemAnalysisRun` per paper with its :class:`ItemStatistic` rows and
sends flagged items to the bank's reviewers as :class:`ItemReviewFlag` rows (试题分析 follows scoring in
the flow of DOMAIN.md; items and papers stay attributable, 工作规程 art. 21). Re-running replaces the run's
statistics (one run per session and paper).

``calibrate_items`` calibrates a Rasch/2PL/3PL model over every submitted attempt of sealed papers that
carry items of one occupation and level, and stores the parameters through
:func:`itembank.items.set_calibration` (a calibration, not a content change).

Services validate, change, flush and audit; the caller commits.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from examserver.administration.models import ExamPlan, ExamSession
from examserver.delivery.models import Answer, Attempt
from itembank import items as bank
from itembank.core import audit
from itembank.core.audit import Actor
from itembank.core.db import utcnow
from itembank.core.errors import DomainError, Forbidden, NotFound
from itembank.items import Item, ItemVersion
from itembank.papers import Paper, PaperItem, scoring_key
from itembank.standards import SkillStandard
from scoring.objective import OBJECTIVE_TYPES, choice_keys
from scoring.psychometrics import MODELS, calibrate, item_analysis, item_probabilities

from .models import ItemAnalysisRun, ItemReviewFlag, ItemStatistic

MIN_CANDIDATES = 2          # item_analysis needs two candidates and two items
MIN_CALIBRATION_RESPONSES = 20
CHOICE_TYPES = ("single", "multiple", "judge")


def _num(v: Any) -> float | None:
    """A JSON-safe float: None for NaN/inf."""
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def session_agency(s: Session, session_id: int) -> tuple[ExamSession, int]:
    se = s.get(ExamSession, session_id)
    if se is None:
        raise NotFound("not_found", f"场次 {session_id} 不存在 (no exam session {session_id})", "session_id")
    return se, s.scalar(select(ExamPlan.agency_id).where(ExamPlan.id == se.plan_id))


def _choice_label(item_type: str, response: Any) -> str:
    if item_type not in CHOICE_TYPES:
        return ""
    keys = choice_keys(response)
    return "".join(sorted(keys)) if keys else ""


def _key_label(item_type: str, answer: Any) -> str | None:
    if item_type not in CHOICE_TYPES:
        return None
    keys = choice_keys(answer)
    return "".join(sorted(keys)) if keys else None


# --- classical item analysis ----------------------------------------------------------------------------

def analyse_session(s: Session, actor: Actor, *, session_id: int, agency_id: int | None = None
                    ) -> list[ItemAnalysisRun]:
    """Analyse every paper sat in a session; one run per paper (re-running replaces its statistics).

    ``agency_id`` (the caller's) restricts the session to that agency's plans.
    """
    se, owner = session_agency(s, session_id)
    if agency_id is not None and owner != agency_id:
        raise Forbidden("other_agency", "不是本机构的场次 (the session belongs to another agency)", "session_id")
    attempts = s.scalars(select(Attempt).where(Attempt.session_id == se.id, Attempt.status == "submitted",
                                               Attempt.paper_id.is_not(None)).order_by(Attempt.id)).all()
    if not attempts:
        raise DomainError("no_data", "该场次没有已交卷的作答 (no submitted attempts in this session)", "session_id")
    by_paper: dict[int, list[Attempt]] = defaultdict(list)
    for a in attempts:
        by_paper[a.paper_id].append(a)
    runs = [_analyse_paper(s, actor, se, owner, s.get(Paper, pid), rows) for pid, rows in sorted(by_paper.items())]
    return runs


def _analyse_paper(s: Session, actor: Actor, se: ExamSession, agency_id: int, paper: Paper,
                   attempts: list[Attempt]) -> ItemAnalysisRun:
    run = s.scalar(select(ItemAnalysisRun).where(ItemAnalysisRun.kind == "classical",
                                                 ItemAnalysisRun.session_id == se.id,
                                                 ItemAnalysisRun.paper_id == paper.id))
    if run is None:
        run = ItemAnalysisRun(agency_id=agency_id, kind="classical", session_id=se.id, paper_id=paper.id)
        s.add(run)
    run.status, run.progress, run.message, run.requested_by = "running", 0.1, "", actor.account_id
    run.created_at = utcnow()
    if run.id is not None:  # a re-run replaces the statistics
        s.execute(delete(ItemStatistic).where(ItemStatistic.run_id == run.id))
    s.flush()
    s.expire(run, ["statistics"])

    key_items = [it for it in scoring_key(paper)["items"] if it["item_type"] in OBJECTIVE_TYPES]
    col = {it["paper_item_id"]: j for j, it in enumerate(key_items)}
    n, k = len(attempts), len(key_items)
    marks = np.full((n, k), np.nan)
    choices = np.full((n, k), None, dtype=object)
    responses: dict[tuple[int, int], Any] = {}
    ids = [a.id for a in attempts]
    for aid, pid, resp in s.execute(select(Answer.attempt_id, Answer.paper_item_id, Answer.response)
                                    .where(Answer.attempt_id.in_(ids), Answer.seq > 0)):
        responses[(aid, pid)] = resp
    for r, a in enumerate(attempts):
        for d in (a.score_detail or {}).get("items", []):
            j = col.get(d["paper_item_id"])
            if j is not None:
                marks[r, j] = float(d["awarded"])
        for j, it in enumerate(key_items):
            choices[r, j] = _choice_label(it["item_type"], responses.get((a.id, it["paper_item_id"])))
    subs = [a.submitted_at for a in attempts if a.submitted_at]
    run.window_start, run.window_end = (min(subs), max(subs)) if subs else (None, None)
    run.n_attempts = n
    keys = [_key_label(it["item_type"], it["answer"]) for it in key_items]
    points = np.array([float(it["points"]) for it in key_items])
    try:
        if n < MIN_CANDIDATES or k < 2:
            raise ValueError(f"need at least {MIN_CANDIDATES} attempts and 2 objective items, got {n} and {k}")
        result = item_analysis(marks, max_marks=points, choices=choices, keys=keys)
    except ValueError as e:
        run.status, run.progress, run.message, run.finished_at = "failed", 1.0, str(e)[:300], utcnow()
        run.summary = None
        s.flush()
        audit.record(s, actor, "item_analysis.fail", "item_analysis_run", run.id,
                     {"session_id": se.id, "paper_id": paper.id, "error": run.message})
        return run

    summ = result.summary
    dist = summ.distribution
    totals = np.nansum(marks, axis=1)
    run.summary = {
        "n_candidates": summ.n_candidates, "n_items": summ.n_items, "mean": _num(summ.mean),
        "median": _num(summ.median), "sd": _num(summ.sd), "skewness": _num(summ.skewness),
        "kurtosis": _num(summ.kurtosis), "alpha": _num(summ.alpha), "sem": _num(summ.sem),
        "error_ratio": _num(summ.error_ratio), "max_points": float(points.sum()),
        "mean_points": _num(totals.mean()),
        "histogram": {"edges": [float(x) for x in dist.edges], "counts": [int(x) for x in dist.counts]},
        "flagged": sum(1 for f in result.flags if f),
    }
    flagged: dict[int, tuple[int, list[str]]] = {}
    for j, it in enumerate(key_items):
        table = None
        if result.distractors is not None and result.distractors[j] is not None:
            dd = result.distractors[j]
            table = {"key": str(dd.key), "beats_key": [str(x) for x in dd.beats_key],
                     "options": [{"label": str(o.label), "is_key": bool(o.is_key), "count": int(o.count),
                                  "share": _num(o.share), "mean_rest": _num(o.mean_rest)} for o in dd.options]}
        flags = list(result.flags[j])
        s.add(ItemStatistic(run_id=run.id, position=int(it["position"]), paper_item_id=it["paper_item_id"],
                            item_id=it["item_id"], item_version_id=it["item_version_id"],
                            item_type=it["item_type"], points=float(it["points"]),
                            n_presented=int(result.n_presented[j]), facility=_num(result.facility[j]),
                            sd=_num(result.sd[j]), discrimination=_num(result.discrimination[j]),
                            efficiency=_num(result.discriminative_efficiency[j]), distractors=table, flags=flags))
        flagged[it["item_id"]] = (it["item_version_id"], flags)
    _sync_flags(s, run, agency_id, flagged)
    run.status, run.progress, run.message, run.finished_at = "done", 1.0, "", utcnow()
    s.flush()
    audit.record(s, actor, "item_analysis.run", "item_analysis_run", run.id,
                 {"session_id": se.id, "paper_id": paper.id, "n_attempts": n, "alpha": run.summary["alpha"],
                  "sem": run.summary["sem"],
                  "flagged": {str(i): f for i, (_, f) in flagged.items() if f}})
    return run


def _sync_flags(s: Session, run: ItemAnalysisRun, agency_id: int, found: dict[int, tuple[int, list[str]]]) -> None:
    """Open (or update) a review flag per flagged item of the run; a re-run that no longer flags it resolves it."""
    existing = {f.item_id: f for f in s.scalars(select(ItemReviewFlag).where(ItemReviewFlag.run_id == run.id))}
    for item_id, (version_id, flags) in found.items():
        row = existing.get(item_id)
        if flags:
            if row is None:
                s.add(ItemReviewFlag(agency_id=agency_id, run_id=run.id, item_id=item_id,
                                     item_version_id=version_id, flags=flags, status="open"))
            else:
                row.flags, row.item_version_id = flags, version_id
        elif row is not None and row.status == "open":
            row.flags, row.status, row.resolved_at, row.resolution = [], "resolved", utcnow(), "re-run: no flags"


def resolve_flag(s: Session, actor: Actor, *, flag_id: int, agency_id: int, resolution: str) -> ItemReviewFlag:
    """A reviewer closes a flag, saying what was done (kept / revised / retired)."""
    row = s.get(ItemReviewFlag, flag_id)
    if row is None or row.agency_id != agency_id:
        raise NotFound("not_found", f"复核标记 {flag_id} 不存在 (no review flag {flag_id})", "flag_id")
    if row.status != "open":
        raise DomainError("bad_state", "该标记已处理 (the flag is already resolved)", "status")
    if not (resolution or "").strip():
        raise DomainError("required", "请写明处理意见 (say what was done)", "resolution")
    row.status, row.resolved_by, row.resolved_at, row.resolution = "resolved", actor.account_id, utcnow(), \
        resolution.strip()[:1000]
    s.flush()
    audit.record(s, actor, "item_review_flag.resolve", "item_review_flag", row.id,
                 {"item_id": row.item_id, "resolution": row.resolution})
    return row


def open_flags(s: Session, agency_id: int) -> list[dict[str, Any]]:
    """Open review flags of an agency's items, newest first, for the review queue."""
    rows = s.execute(select(ItemReviewFlag, Item.code, ItemVersion.stem).join(Item, Item.id == ItemReviewFlag.item_id)
                     .join(ItemVersion, ItemVersion.id == ItemReviewFlag.item_version_id)
                     .where(ItemReviewFlag.agency_id == agency_id, ItemReviewFlag.status == "open")
                     .order_by(ItemReviewFlag.id.desc())).all()
    from itembank import richtext
    return [flag_out(f) | {"code": code, "stem_text": richtext.text_of(stem)[:120]} for f, code, stem in rows]


def flag_out(f: ItemReviewFlag) -> dict[str, Any]:
    return {"id": f.id, "run_id": f.run_id, "item_id": f.item_id, "item_version_id": f.item_version_id,
            "flags": list(f.flags or []), "status": f.status, "resolution": f.resolution,
            "created_at": f.created_at.isoformat() if f.created_at else None}


# --- IRT calibration ------------------------------------------------------------------------------------

def calibrate_items(s: Session, actor: Actor, *, occupation_id: int, level: int, model: str = "2pl",
                    agency_id: int | None = None, min_responses: int = MIN_CALIBRATION_RESPONSES
                    ) -> ItemAnalysisRun:
    """Calibrate the theory items of one occupation and level from all submitted attempts of sealed papers.

    Correct = full points on the item (1), else 0; NaN where a candidate was not presented the item.
    Items with fewer than ``min_responses`` responses or no variation are left out (their parameters are
    not identified) and listed in the run's summary as skipped.
    """
    if model not in MODELS:
        raise DomainError("bad_model", f"模型应为 {', '.join(MODELS)} (model must be one of {MODELS})", "model")
    if level not in (1, 2, 3, 4, 5):
        raise DomainError("bad_level", f"等级应为 1–5 (level must be 1..5, got {level})", "level")
    item_q = (select(Item).join(SkillStandard, SkillStandard.id == Item.standard_id)
              .where(SkillStandard.occupation_id == occupation_id, SkillStandard.level == level,
                     Item.item_type.in_(OBJECTIVE_TYPES)))
    if agency_id is not None:
        item_q = item_q.where(Item.agency_id == agency_id)
    items = {it.id: it for it in s.scalars(item_q)}
    if not items:
        raise DomainError("no_items", "该职业等级没有理论试题 (no theory items for this occupation and level)",
                          "occupation_id")
    pi_rows = s.execute(select(PaperItem.id, PaperItem.item_id).join(Paper, Paper.id == PaperItem.paper_id)
                        .where(Paper.status == "sealed", PaperItem.item_id.in_(list(items)))).all()
    item_of = {pid: iid for pid, iid in pi_rows}
    paper_ids = select(PaperItem.paper_id).where(PaperItem.id.in_(list(item_of)))
    attempts = s.execute(select(Attempt.id, Attempt.score_detail, Attempt.submitted_at)
                         .where(Attempt.status == "submitted", Attempt.paper_id.in_(paper_ids))
                         .order_by(Attempt.id)).all()
    cols = sorted(items)
    col = {iid: j for j, iid in enumerate(cols)}
    x = np.full((len(attempts), len(cols)), np.nan)
    for r, (_, detail, _) in enumerate(attempts):
        for d in (detail or {}).get("items", []):
            iid = item_of.get(d["paper_item_id"])
            if iid is not None:
                x[r, col[iid]] = 1.0 if float(d["awarded"]) >= float(d["points"]) - 1e-9 else 0.0
    seen = ~np.isnan(x)
    n_resp = seen.sum(axis=0)
    skipped = []
    keep = []
    for j, iid in enumerate(cols):
        vals = x[seen[:, j], j]
        if n_resp[j] < min_responses:
            skipped.append({"item_id": iid, "code": items[iid].code, "reason": "too_few_responses",
                            "n": int(n_resp[j])})
        elif vals.min() == vals.max():
            skipped.append({"item_id": iid, "code": items[iid].code, "reason": "no_variation", "n": int(n_resp[j])})
        else:
            keep.append(j)
    agency = agency_id if agency_id is not None else next(iter(items.values())).agency_id
    run = ItemAnalysisRun(agency_id=agency, kind="calibration", occupation_id=occupation_id, level=level,
                          model=model, status="running", progress=0.1, requested_by=actor.account_id)
    s.add(run)
    subs = [row[2] for row in attempts if row[2] is not None]
    run.window_start, run.window_end = (min(subs), max(subs)) if subs else (None, None)
    if len(keep) < 2:
        run.status, run.progress, run.finished_at = "failed", 1.0, utcnow()
        run.message = f"only {len(keep)} item(s) have enough varied responses to calibrate"
        run.summary = {"items": [], "skipped": skipped}
        s.flush()
        audit.record(s, actor, "item_calibration.fail", "item_analysis_run", run.id,
                     {"occupation_id": occupation_id, "level": level, "model": model, "error": run.message})
        return run
    sub = x[:, keep]
    rows = (~np.isnan(sub)).any(axis=1)
    sub = sub[rows]
    run.n_attempts = int(rows.sum())
    try:
        cal = calibrate(sub, model)
    except ValueError as e:
        run.status, run.progress, run.message, run.finished_at = "failed", 1.0, str(e)[:300], utcnow()
        s.flush()
        audit.record(s, actor, "item_calibration.fail", "item_analysis_run", run.id,
                     {"occupation_id": occupation_id, "level": level, "model": model, "error": run.message})
        return run
    stored = []
    for k, j in enumerate(keep):
        iid = cols[j]
        a, b = float(cal.a[k]), float(cal.b[k])
        c = float(cal.c[k]) if model == "3pl" else None
        p = float(np.nanmean(sub[:, k]))
        if not (math.isfinite(a) and math.isfinite(b)) or a <= 0 or not -6 <= b <= 6:
            skipped.append({"item_id": iid, "code": items[iid].code, "reason": "out_of_range",
                            "a": _num(a), "b": _num(b)})
            continue
        bank.set_calibration(s, actor, items[iid], p=round(p, 4), a=round(a, 4), b=round(b, 4),
                             c=None if c is None else round(c, 4), n=int(n_resp[j]))
        stored.append({"item_id": iid, "code": items[iid].code, "p": round(p, 4), "a": round(a, 4),
                       "b": round(b, 4), "c": None if c is None else round(c, 4),
                       "se_a": _num(cal.se_a[k]), "se_b": _num(cal.se_b[k]), "n": int(n_resp[j])})
    conv = cal.convergence
    run.summary = {"items": stored, "skipped": skipped,
                   "convergence": {"iterations": int(conv.iterations), "converged": bool(conv.converged),
                                   "log_likelihood": _num(conv.log_likelihood)}}
    run.status, run.progress, run.finished_at = "done", 1.0, utcnow()
    s.flush()
    audit.record(s, actor, "item_calibration.run", "item_analysis_run", run.id,
                 {"occupation_id": occupation_id, "level": level, "model": model, "n_attempts": run.n_attempts,
                  "calibrated": [i["item_id"] for i in stored], "skipped": [i["item_id"] for i in skipped]})
    return run


# --- views ------------------------------------------------------------------------------------------------

def run_out(run: ItemAnalysisRun, *, with_items: bool = False) -> dict[str, Any]:
    out = {"id": run.id, "kind": run.kind, "session_id": run.session_id, "paper_id": run.paper_id,
           "occupation_id": run.occupation_id, "level": run.level, "model": run.model, "status": run.status,
           "progress": run.progress, "message": run.message, "n_attempts": run.n_attempts,
           "window_start": run.window_start.isoformat() if run.window_start else None,
           "window_end": run.window_end.isoformat() if run.window_end else None, "summary": run.summary,
           "finished_at": run.finished_at.isoformat() if run.finished_at else None}
    if with_items:
        out["items"] = [statistic_out(st) for st in run.statistics]
    return out


def statistic_out(st: ItemStatistic) -> dict[str, Any]:
    return {"position": st.position, "paper_item_id": st.paper_item_id, "item_id": st.item_id,
            "item_version_id": st.item_version_id, "item_type": st.item_type, "points": st.points,
            "n_presented": st.n_presented, "facility": st.facility, "sd": st.sd,
            "discrimination": st.discrimination, "efficiency": st.efficiency, "distractors": st.distractors,
            "flags": list(st.flags or [])}


def curves(s: Session, run: ItemAnalysisRun, *, theta_min: float = -4.0, theta_max: float = 4.0,
           points: int = 81) -> dict[str, Any]:
    """Item characteristic curves and the test information function of the run's items, from the bank's
    calibrated parameters (items not calibrated yet are left out)."""
    theta = np.linspace(theta_min, theta_max, points)
    ids = [st.item_id for st in run.statistics]
    items = {it.id: it for it in s.scalars(select(Item).where(Item.id.in_(ids)))} if ids else {}
    out_items, info = [], np.zeros_like(theta)
    for st in run.statistics:
        it = items.get(st.item_id)
        if it is None or it.calibrated_a is None or it.calibrated_b is None:
            continue
        a, b, c = it.calibrated_a, it.calibrated_b, it.calibrated_c or 0.0
        p = item_probabilities(theta, [a], [b], [c])[:, 0]
        # information of the 3PL (2PL when c = 0): a² (P − c)² Q / ((1 − c)² P)
        info += a * a * (p - c) ** 2 * (1 - p) / ((1 - c) ** 2 * p)
        out_items.append({"item_id": it.id, "code": it.code, "position": st.position, "a": a, "b": b,
                          "c": it.calibrated_c, "p": [round(float(v), 4) for v in p]})
    return {"theta": [round(float(t), 3) for t in theta], "items": out_items,
            "information": [round(float(v), 4) for v in info],
            "sem": [round(float(1 / math.sqrt(v)), 4) if v > 0 else None for v in info]}


def statistic_out_all(run: ItemAnalysisRun) -> list[dict[str, Any]]:
    return [statistic_out(st) for st in run.statistics]
