"""Issuing a batch of certificates on Celery workers.

``issue_batch(batch_id, actor)`` marks the batch running and fans it out into
``issue_chunk(batch_id, start, stop, actor)`` tasks. Each item is issued in its own transaction
(number, signature, row, audit record: milliseconds, the only part that holds the counter row),
then its PDF is rendered outside any transaction and attached in a second, short one; so workers
render PDFs in parallel while numbers stay gap-free.

Safe to run twice: an item whose (plan, result) already has a certificate returns it
(:func:`scoring.certification.issue_certificate`), a concurrent duplicate loses on the unique
constraint and is looked up, and a PDF is only attached while the certificate has none.
Tasks take ids and JSON (``actor`` is ``{"account_id", "name", "role"}``), never ORM objects.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from examserver.tasks import celery
from itembank.core import audit
from itembank.core.audit import Actor
from itembank.core.db import utcnow
from itembank.core.errors import DomainError
from scoring.certification import (Certificate, CertificateBatch, attach_pdf, issue_batch_item,
                                   render_certificate)

from . import keys

CHUNK = 25


def _db():
    return current_app.extensions["skillcert.db"]


def _actor(actor: dict | None) -> Actor:
    if not actor:
        return audit.SYSTEM
    return Actor(actor.get("account_id"), str(actor.get("name") or "system"), str(actor.get("role") or "system"))


def actor_json(actor: Actor) -> dict:
    return {"account_id": actor.account_id, "name": actor.name, "role": actor.role}


@celery.task(name="skillcert.certification.issue_batch", bind=True)
def issue_batch(self, batch_id: int, actor: dict | None = None, chunk: int = CHUNK) -> dict:
    """Start (or restart) a batch: clear its earlier item errors and queue its chunks."""
    who = _actor(actor)
    with _db().write_scope() as s:
        batch = s.scalar(select(CertificateBatch).where(CertificateBatch.id == batch_id).with_for_update())
        if batch is None:
            return {"batch_id": batch_id, "error": "not_found"}
        if batch.status == "done" and not batch.errors:
            return {"batch_id": batch_id, "status": "done", "chunks": 0}
        batch.status, batch.errors, batch.finished_at = "running", [], None
        s.flush()
        audit.record(s, who, "certificate_batch.start", "certificate_batch", batch.id,
                     {"requested": batch.requested, "chunk": chunk})
        n = batch.requested
    starts = list(range(0, n, chunk))
    for start in starts:  # after the commit: in the embedded profile each chunk runs right here
        issue_chunk.delay(batch_id, start, min(n, start + chunk), actor)
    return {"batch_id": batch_id, "status": "running", "chunks": len(starts)}


@celery.task(name="skillcert.certification.issue_chunk", bind=True)
def issue_chunk(self, batch_id: int, start: int, stop: int, actor: dict | None = None) -> dict:
    """Issue items start..stop-1 of a batch, one transaction each, then render and attach their PDFs."""
    who = _actor(actor)
    db = _db()
    issuer = keys.issuer()
    issued = failed = 0
    for index in range(start, stop):
        cert = None
        for _attempt in range(2):
            try:
                with db.write_scope() as s:
                    batch = s.get(CertificateBatch, batch_id)
                    c = issue_batch_item(s, who, issuer, batch, index, render_pdf=False)
                    if c.batch_id != batch_id:  # certified earlier, by another batch: resolved, not ours
                        raise DomainError("already_issued", f"该成绩已由第{c.batch_id}批发证 {c.number} "
                                          f"(already certified by batch {c.batch_id})", "result_id")
                    cert = (c.id, c.pdf_sha256 is not None, dict(c.data), c.verify_url, c.photo)
                break
            except IntegrityError:  # a concurrent run issued this item first: the retry finds it
                continue
            except DomainError as e:
                _record_error(batch_id, index, e, who)
                break
        if cert is None:
            failed += 1
            continue
        cert_id, has_pdf, data, url, photo = cert
        if not has_pdf:
            pdf = render_certificate(data, url, photo)  # outside any transaction
            with db.write_scope() as s:
                attach_pdf(s, who, cert_id, pdf)
        issued += 1
    _maybe_finish(batch_id, who)
    return {"batch_id": batch_id, "start": start, "stop": stop, "issued": issued, "failed": failed}


def _record_error(batch_id: int, index: int, e: DomainError, who: Actor) -> None:
    with _db().write_scope() as s:
        batch = s.scalar(select(CertificateBatch).where(CertificateBatch.id == batch_id).with_for_update())
        errors = list(batch.errors or [])
        if any(err["index"] == index for err in errors):
            return
        err = {"index": index, "code": e.code, "field": e.field, "message": e.message}
        batch.errors = [*errors, err]
        s.flush()
        audit.record(s, who, "certificate_batch.item_fail", "certificate_batch", batch_id, err)


def _maybe_finish(batch_id: int, who: Actor) -> None:
    """Mark the batch done once every item is issued with its PDF, or failed."""
    with _db().write_scope() as s:
        batch = s.scalar(select(CertificateBatch).where(CertificateBatch.id == batch_id).with_for_update())
        if batch is None or batch.status == "done":
            return
        issued, pdfs = s.execute(select(func.count(Certificate.id), func.count(Certificate.pdf_sha256))
                                 .where(Certificate.batch_id == batch_id)).one()
        failed = len(batch.errors or [])
        if issued + failed < batch.requested or pdfs < issued:
            return
        batch.status = "done" if issued else "failed"
        batch.finished_at = utcnow()
        s.flush()
        audit.record(s, who, "certificate_batch.finish", "certificate_batch", batch_id,
                     {"status": batch.status, "issued": issued, "failed": failed})
