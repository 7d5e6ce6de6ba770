"""Periodic signed checkpoints of the audit chain."""
from __future__ import annotations

from flask import current_app

from itembank.core import audit

from . import celery


@celery.task(name="skillcert.audit.checkpoint", bind=True)
def checkpoint(self) -> dict:
    """Sign the chain head; running it twice signs the same head once."""
    db = current_app.extensions["skillcert.db"]
    signer = current_app.extensions["skillcert.signer"]
    with db.write_scope() as s:
        cp = audit.checkpoint(s, signer)
        out = {"seq": cp.seq, "head_hash": cp.head_hash} if cp else {"seq": 0}
    if cp is not None:
        from ..realtime.notify import notify, staff_room
        for role in ("admin", "center_auditor"):
            notify("audit_checkpoint", out, room=staff_room(role))
    return out
