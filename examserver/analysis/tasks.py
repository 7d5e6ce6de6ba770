"""Analysis as Celery tasks: thin, take ids and JSON, safe to run twice.

``analyse_session_task`` re-runs replace the session's runs (one per paper); ``calibrate_task`` stores the
same parameters again. In the embedded profile Celery runs eagerly inside the request.
"""
from __future__ import annotations

from flask import current_app

from examserver.tasks import celery
from itembank.core import audit
from itembank.core.audit import Actor

from . import operations


def _actor(actor: dict | None) -> Actor:
    if not actor:
        return audit.SYSTEM
    return Actor(actor.get("account_id"), str(actor.get("name") or "system"), str(actor.get("role") or "system"))


def actor_json(actor: Actor) -> dict:
    return {"account_id": actor.account_id, "name": actor.name, "role": actor.role}


@celery.task(name="skillcert.analysis.analyse_session", acks_late=True)
def analyse_session_task(session_id: int, actor: dict | None = None, agency_id: int | None = None) -> dict:
    """Item analysis of every paper sat in a session; returns the run ids."""
    with current_app.extensions["skillcert.db"].write_scope() as s:
        runs = operations.analyse_session(s, _actor(actor), session_id=session_id, agency_id=agency_id)
        return {"session_id": session_id, "run_ids": [r.id for r in runs], "status": [r.status for r in runs]}


@celery.task(name="skillcert.analysis.calibrate", acks_late=True)
def calibrate_task(occupation_id: int, level: int, model: str = "2pl", actor: dict | None = None,
                   agency_id: int | None = None) -> dict:
    """IRT calibration of an occupation and level; returns the run id."""
    with current_app.extensions["skillcert.db"].write_scope() as s:
        run = operations.calibrate_items(s, _actor(actor), occupation_id=occupation_id, level=level, model=model,
                                         agency_id=agency_id)
        return {"run_id": run.id, "status": run.status}
