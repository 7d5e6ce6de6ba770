"""Small app-level services shared by the API, the pages and the CLI."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from itembank.core import audit as trail
from itembank.core.audit import AuditRecord


def audit_query(s: Session, *, object_type=None, object_id=None, actor=None, action=None,
                since: dt.datetime | None = None, until: dt.datetime | None = None, limit=50, offset=0):
    q = select(AuditRecord)
    if object_type:
        q = q.where(AuditRecord.object_type == object_type)
    if object_id:
        q = q.where(AuditRecord.object_id == str(object_id))
    if actor:
        q = q.where(or_(AuditRecord.actor_id == int(actor), AuditRecord.actor_name.contains(actor))
                    if str(actor).isdigit() else AuditRecord.actor_name.contains(actor))
    if action:
        q = q.where(AuditRecord.action.startswith(action))
    if since:
        q = q.where(AuditRecord.at >= since.replace(tzinfo=None))
    if until:
        q = q.where(AuditRecord.at <= until.replace(tzinfo=None))
    total = s.scalar(select(func.count()).select_from(q.subquery()))
    rows = s.scalars(q.order_by(AuditRecord.seq.desc()).limit(limit).offset(offset)).all()
    return rows, total


def audit_verify() -> trail.VerifyReport:
    db = current_app.extensions["skillcert.db"]
    signer: trail.Signer = current_app.extensions["skillcert.signer"]
    with db.read_scope() as s:
        return trail.verify(s, signer.public_key)
