"""Periodic supervisor-report reminders (daily; safe to run twice: a report is reminded at most once a day).

Registered when the administration API module is imported (the app and workers both import it). To run it
on a schedule, add to the Celery beat schedule in ``examserver/tasks/__init__.py``::

    "administration-report-reminders": {"task": "skillcert.administration.remind_reports", "schedule": 3600.0}
"""
from __future__ import annotations

from flask import current_app

from itembank.core.audit import SYSTEM

from ..tasks import celery
from . import operations as ops


@celery.task(name="skillcert.administration.remind_reports")
def remind_reports(today: str | None = None) -> dict:
    """Mark reminders on supervisor reports due within a working day or overdue; notify the supervisors."""
    import datetime as dt
    day = dt.date.fromisoformat(today) if today else ops.local_today()
    db = current_app.extensions["skillcert.db"]
    with db.write_scope() as s:
        reminded = [(r.id, r.account_id, r.plan_id, r.due_on.isoformat(), r.overdue(day))
                    for r in ops.remind_supervisor_reports(s, SYSTEM, today=day)]
    try:
        from ..realtime.notify import notify, staff_room
        for rid, _acc, plan_id, due, overdue in reminded:
            notify("supervisor_report_due", {"report_id": rid, "plan_id": plan_id, "due_on": due, "overdue": overdue},
                   room=staff_room("supervisor"))
    except Exception:  # noqa: BLE001 - a missing socket layer must not lose the recorded reminders
        current_app.logger.warning("could not push supervisor-report reminders", exc_info=True)
    return {"reminded": [r[0] for r in reminded]}
