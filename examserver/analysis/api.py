"""Analysis API: analyse a session, calibrate the bank, read runs, export, review flags.

Item writers, reviewers and agency administrators of an agency work on that agency's sessions and items.
"""
from __future__ import annotations

import csv
import io
from typing import Literal

from flask import Response, abort, g
from pydantic import BaseModel, Field
from sqlalchemy import select

from examserver.access import roles
from examserver.api import endpoint
from examserver.db import db_read, db_write
from itembank.core.errors import NotFound

from . import operations
from .models import ItemAnalysisRun
from .tasks import actor_json, analyse_session_task, calibrate_task

STAFF = ("item_writer", "item_reviewer", "agency_admin")


def _agency() -> int:
    aid = g.principal.agency_id
    if aid is None:
        abort(403)
    return aid


def get_run(s, run_id: int, agency_id: int) -> ItemAnalysisRun:
    run = s.get(ItemAnalysisRun, run_id)
    if run is None or run.agency_id != agency_id:
        raise NotFound("not_found", f"分析 {run_id} 不存在 (no analysis run {run_id})", "run_id")
    return run


@endpoint("/analysis/sessions/<int:session_id>/analyse", "POST", summary="Run the item analysis of a session",
          status=202)
@roles(*STAFF)
def analysis_analyse(session_id: int):
    agency = _agency()
    with db_read() as s:  # validate first: a bad id is a 4xx, not a task failure
        _, owner = operations.session_agency(s, session_id)
        if owner != agency:
            raise NotFound("not_found", f"场次 {session_id} 不存在 (no exam session {session_id})", "session_id")
    result = analyse_session_task.delay(session_id, actor_json(g.principal.actor), agency)
    out = result.get() if result.ready() else {"session_id": session_id, "queued": True}
    return out


@endpoint("/analysis/sessions/<int:session_id>/runs", summary="Item analysis runs of a session")
@roles(*STAFF)
def analysis_session_runs(session_id: int):
    agency = _agency()
    with db_read() as s:
        runs = s.scalars(select(ItemAnalysisRun).where(ItemAnalysisRun.session_id == session_id,
                                                       ItemAnalysisRun.agency_id == agency)
                         .order_by(ItemAnalysisRun.paper_id)).all()
        return {"runs": [operations.run_out(r) for r in runs]}


@endpoint("/analysis/runs", summary="Recent analysis and calibration runs of the agency")
@roles(*STAFF)
def analysis_list_runs():
    with db_read() as s:
        runs = s.scalars(select(ItemAnalysisRun).where(ItemAnalysisRun.agency_id == _agency())
                         .order_by(ItemAnalysisRun.id.desc()).limit(200)).all()
        return {"runs": [operations.run_out(r) for r in runs]}


@endpoint("/analysis/runs/<int:run_id>", summary="One run with its item statistics and curves")
@roles(*STAFF)
def analysis_run_detail(run_id: int):
    with db_read() as s:
        run = get_run(s, run_id, _agency())
        return operations.run_out(run, with_items=True) | {"curves": operations.curves(s, run)}


EXPORT_COLUMNS = ("position", "item_id", "item_type", "points", "n_presented", "facility", "sd", "discrimination",
                  "efficiency", "flags", "distractors")


def export_rows(run: ItemAnalysisRun) -> list[list]:
    rows = []
    for st in operations.statistic_out_all(run):
        dist = "; ".join(f"{o['label'] or '—'}{'*' if o['is_key'] else ''}:{o['count']}"
                         for o in (st["distractors"] or {}).get("options", []))
        rows.append([st["position"], st["item_id"], st["item_type"], st["points"], st["n_presented"], st["facility"],
                     st["sd"], st["discrimination"], st["efficiency"], " ".join(st["flags"]), dist])
    return rows


@endpoint("/analysis/runs/<int:run_id>/export.csv", summary="Item statistics of a run as CSV")
@roles(*STAFF)
def analysis_export_csv(run_id: int):
    with db_read() as s:
        run = get_run(s, run_id, _agency())
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(EXPORT_COLUMNS)
        w.writerows(export_rows(run))
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=item-analysis-{run_id}.csv"})


@endpoint("/analysis/runs/<int:run_id>/export.xlsx", summary="Item statistics and summary of a run as XLSX")
@roles(*STAFF)
def analysis_export_xlsx(run_id: int):
    from openpyxl import Workbook
    with db_read() as s:
        run = get_run(s, run_id, _agency())
        wb = Workbook()
        ws = wb.active
        ws.title = "items"
        ws.append(list(EXPORT_COLUMNS))
        for row in export_rows(run):
            ws.append(row)
        sm = wb.create_sheet("summary")
        for k, v in (run.summary or {}).items():
            if not isinstance(v, (dict, list)):
                sm.append([k, v])
        buf = io.BytesIO()
        wb.save(buf)
    return Response(buf.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=item-analysis-{run_id}.xlsx"})


class CalibrateIn(BaseModel):
    occupation_id: int
    level: int = Field(ge=1, le=5)
    model: Literal["rasch", "2pl", "3pl"] = "2pl"


@endpoint("/analysis/calibrations", "POST", summary="Calibrate an occupation and level's theory items (IRT)",
          body=CalibrateIn, status=202)
@roles("item_writer", "item_reviewer")
def analysis_calibrate(body: CalibrateIn):
    result = calibrate_task.delay(body.occupation_id, body.level, body.model, actor_json(g.principal.actor),
                                  _agency())
    out = result.get() if result.ready() else {"queued": True}
    return out


@endpoint("/analysis/flags", summary="Open review flags raised by item analysis")
@roles(*STAFF)
def analysis_list_flags():
    with db_read() as s:
        return {"flags": operations.open_flags(s, _agency())}


class ResolveIn(BaseModel):
    resolution: str = Field(min_length=1, max_length=1000)


@endpoint("/analysis/flags/<int:flag_id>/resolve", "POST", summary="Resolve a review flag", body=ResolveIn)
@roles("item_reviewer", "item_writer")
def analysis_resolve_flag(flag_id: int, body: ResolveIn):
    with db_write() as s:
        row = operations.resolve_flag(s, g.principal.actor, flag_id=flag_id, agency_id=_agency(),
                                      resolution=body.resolution)
        return operations.flag_out(row)
