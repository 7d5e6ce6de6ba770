"""Violations as Celery tasks: thin, take ids and JSON, safe to run twice.

``similarity_task`` screens a finished session's stored answers for copying (答案雷同检查); a second run flags
only pairs not flagged yet. In the embedded profile Celery runs eagerly inside the request.
"""
from __future__ import annotations

from flask import current_app

from examserver.administration.models import ExamSession
from examserver.tasks import celery
from itembank.core import audit
from itembank.core.audit import Actor
from itembank.core.errors import NotFound

from . import operations


def actor_json(actor: Actor) -> dict:
    return {"account_id": actor.account_id, "name": actor.name, "role": actor.role}


def _actor(actor: dict | None) -> Actor:
    if not actor:
        return audit.SYSTEM
    return Actor(actor.get("account_id"), str(actor.get("name") or "system"), str(actor.get("role") or "system"))


@celery.task(name="skillcert.violations.similarity", acks_late=True)
def similarity_task(session_id: int, actor: dict | None = None, alpha: float = 0.001) -> dict:
    """Answer-similarity screening of a session from delivery's stored answers; returns the figures and flag ids."""
    with current_app.extensions["skillcert.db"].write_scope() as s:
        se = s.get(ExamSession, session_id)
        if se is None:
            raise NotFound("not_found", f"场次 {session_id} 不存在 (no exam session {session_id})", "session_id")
        out = operations.similarity_from_answers(s, _actor(actor), se, alpha=alpha)
        out["flags"] = [f.id for f in out["flags"]]
        return out
