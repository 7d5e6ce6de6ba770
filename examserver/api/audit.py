"""The audit trail, for admins and centre auditors."""
from __future__ import annotations

import datetime as dt
import json

from pydantic import BaseModel, Field

from itembank.core import audit as trail

from ..access import roles
from ..db import db_read
from ..services import audit_query, audit_verify
from . import endpoint
from .schemas import Page


class AuditQuery(Page):
    object_type: str | None = None
    object_id: str | None = None
    actor: str | None = Field(default=None, description="account id or part of the actor's name")
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


class AuditRecordOut(BaseModel):
    seq: int
    at: dt.datetime
    actor_id: int | None
    actor_name: str
    role: str
    action: str
    object_type: str
    object_id: str
    changes: dict
    digest: str
    hash: str


class AuditPage(BaseModel):
    records: list[AuditRecordOut]
    total: int


class VerifyOut(BaseModel):
    ok: bool
    records: int
    checkpoints: int
    head_seq: int
    head_hash: str
    problems: list[str]


@endpoint("/audit", summary="Browse the audit trail", query=AuditQuery, response=AuditPage)
@roles("admin", "center_auditor")
def list_audit(query: AuditQuery):
    with db_read() as s:
        rows, total = audit_query(s, **query.model_dump())
        return AuditPage(total=total, records=[AuditRecordOut(
            seq=r.seq, at=r.at, actor_id=r.actor_id, actor_name=r.actor_name, role=r.role, action=r.action,
            object_type=r.object_type, object_id=r.object_id, changes=json.loads(r.changes), digest=r.digest,
            hash=r.hash) for r in rows])


@endpoint("/audit/verify", summary="Walk the chain and its signed checkpoints", response=VerifyOut)
@roles("admin", "center_auditor")
def verify_audit():
    rep: trail.VerifyReport = audit_verify()
    return VerifyOut(ok=rep.ok, records=rep.records, checkpoints=rep.checkpoints, head_seq=rep.head_seq,
                     head_hash=rep.head_hash, problems=[str(p) for p in rep.problems])
