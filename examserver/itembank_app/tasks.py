"""Assembly as a Celery task: thin, takes a run id, safe to run twice.

Progress goes to the run's row (the assembly page polls it; in the embedded profile Celery
runs eagerly inside the request, so the row is what the page sees) and, as a hint, to the
requesting account's room ``account:<id>`` on the Socket.IO ``/staff`` namespace.
"""
from __future__ import annotations

import logging

from flask import current_app

from examserver.tasks import celery
from itembank.papers import AssemblyRun, execute_run

log = logging.getLogger("skillcert.itembank")


@celery.task(name="skillcert.itembank.assemble", bind=True)
def assemble_run(self, run_id: int) -> dict:
    """Assemble the forms of a queued :class:`AssemblyRun`; returns the run as JSON."""
    db = current_app.extensions["skillcert.db"]
    with db.read_scope() as s:
        run = s.get(AssemblyRun, run_id)
        account_id = run.requested_by if run else None

    def push(payload: dict) -> None:
        if account_id is None:
            return
        try:
            from examserver.realtime.notify import notify
            notify("assembly_progress", payload, room=f"account:{account_id}")
        except Exception:  # noqa: BLE001 - a push is a hint; the row is the truth
            log.warning("assembly progress push failed", exc_info=True)

    return execute_run(db, run_id, notify=push)
