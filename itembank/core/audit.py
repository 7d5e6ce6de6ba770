"""The audit trail (全程留痕): one append-only, hash-chained table with signed checkpoints.

Every record holds the actor, role, time, action, object and a digest of the change;
``hash = SHA-256(canonical(record fields, prev_hash))`` chains it to the record before.
Records are written in the same transaction as the change they describe, by
:func:`record`. Writers are serialised (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a
transaction-scoped advisory lock) so concurrent writers still form one valid chain.

Editing, deleting, inserting or reordering rows breaks the chain. Rewriting the whole
chain, or cutting its tail, is caught by checkpoints: Ed25519 signatures over the
chain head at a sequence number, made every ``checkpoint_every`` records and on
demand, and exportable so that a copy outside the database can be checked too.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import DateTime, Index, Integer, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, utcnow

GENESIS = "0" * 64
ADVISORY_LOCK_KEY = 0x5C417D17  # arbitrary constant shared by every writer


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who did it: an account acting in one of its roles, or the system itself."""

    account_id: int | None
    name: str
    role: str


SYSTEM = Actor(None, "system", "system")


class AuditRecord(Base):
    __tablename__ = "audit_record"
    __table_args__ = (Index("ix_audit_record_object", "object_type", "object_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(24))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(48))
    object_id: Mapped[str] = mapped_column(String(64))
    changes: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoint"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept, dates as ISO strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _json_default(v: Any) -> Any:
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, bytes):
        return {"sha256": hashlib.sha256(v).hexdigest()}
    if isinstance(v, (set, frozenset)):
        return sorted(v)
    raise TypeError(f"cannot put {type(v).__name__} into an audit record")


def _iso(at: dt.datetime) -> str:
    if at.tzinfo is not None:
        at = at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def record_hash(seq: int, at: dt.datetime, actor_id: int | None, actor_name: str, role: str, action: str,
                object_type: str, object_id: str, digest: str, prev_hash: str) -> str:
    body = canonical_json([seq, _iso(at), actor_id, actor_name, role, action, object_type, object_id,
                           digest, prev_hash])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


# --- signing -----------------------------------------------------------------------------------

class Signer:
    """Signs checkpoints with an Ed25519 private key; ``key_id`` names its public key."""

    def __init__(self, private_key: Ed25519PrivateKey):
        self.private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    @classmethod
    def from_pem(cls, pem: bytes) -> Signer:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("audit signing key must be an Ed25519 private key")
        return cls(key)

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())

    def public_pem(self) -> bytes:
        return public_pem(self.public_key)

    def sign(self, message: bytes) -> str:
        return self.private_key.sign(message).hex()


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("audit verification key must be an Ed25519 public key")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_message(seq: int, head_hash: str, at: dt.datetime) -> bytes:
    return f"skillcert-audit-checkpoint|{seq}|{head_hash}|{_iso(at)}".encode()


@dataclasses.dataclass
class TrailSettings:
    """Process-wide settings of the trail: the checkpoint signer and how often it signs."""

    signer: Signer | None = None
    checkpoint_every: int = 1000


settings = TrailSettings()


def configure(signer: Signer | None, checkpoint_every: int = 1000) -> None:
    settings.signer = signer
    settings.checkpoint_every = checkpoint_every


# --- writing -------------------------------------------------------------------------------------

def _lock_and_head(s: Session) -> tuple[int, str]:
    """Serialise chain writers for the rest of this transaction and return the chain head."""
    bind = s.get_bind()
    if bind.dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
    # SQLite: the write transaction began with BEGIN IMMEDIATE and already holds the write lock.
    row = s.execute(select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def record(s: Session, actor: Actor, action: str, object_type: str, object_id: object,
           changes: dict[str, Any] | None = None, *, at: dt.datetime | None = None) -> AuditRecord:
    """Append one record to the chain inside the caller's transaction and flush it.

    ``changes`` describes the change (new values, or ``{"field": [old, new]}``); it is stored as
    canonical JSON and its SHA-256 is part of the chained hash.
    """
    if not action or "." not in action:
        raise ValueError(f"audit action must look like 'object.verb', got {action!r}")
    seq, prev = _lock_and_head(s)  # (autoflush sends the change being recorded first)
    at = at or utcnow()
    body = canonical_json(changes or {})
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    rec = AuditRecord(seq=seq + 1, at=at, actor_id=actor.account_id, actor_name=actor.name, role=actor.role,
                      action=action, object_type=object_type, object_id=str(object_id), changes=body,
                      digest=digest, prev_hash=prev)
    rec.hash = record_hash(rec.seq, at, rec.actor_id, rec.actor_name, rec.role, action, object_type,
                           rec.object_id, digest, prev)
    s.add(rec)  # flushed by the next query or the commit, inside this transaction
    if settings.signer is not None and settings.checkpoint_every > 0 and rec.seq % settings.checkpoint_every == 0:
        _add_checkpoint(s, settings.signer, rec.seq, rec.hash)
    return rec


def _add_checkpoint(s: Session, signer: Signer, seq: int, head_hash: str) -> AuditCheckpoint:
    at = utcnow()
    cp = AuditCheckpoint(seq=seq, head_hash=head_hash, at=at, key_id=signer.key_id,
                         signature=signer.sign(checkpoint_message(seq, head_hash, at)))
    s.add(cp)
    s.flush()
    return cp


def checkpoint(s: Session, signer: Signer) -> AuditCheckpoint | None:
    """Sign the current chain head (no-op on an empty chain or an already signed head)."""
    seq, head = _lock_and_head(s)
    if seq == 0:
        return None
    last = s.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)).scalar_one_or_none()
    if last is not None and last.seq == seq and last.head_hash == head:
        return last
    return _add_checkpoint(s, signer, seq, head)


def export_checkpoints(s: Session) -> list[dict[str, Any]]:
    """Checkpoints as plain dicts, to keep outside the database (one JSON object per line)."""
    rows = s.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq, AuditCheckpoint.id))
    return [{"seq": c.seq, "head_hash": c.head_hash, "at": _iso(c.at), "key_id": c.key_id,
             "signature": c.signature} for c in rows]


# --- verifying -----------------------------------------------------------------------------------

@dataclasses.dataclass
class Problem:
    seq: int | None
    record_id: int | None
    message: str

    def __str__(self) -> str:
        where = f"record seq={self.seq} (row id {self.record_id})" if self.seq is not None else "chain"
        return f"{where}: {self.message}"


@dataclasses.dataclass
class VerifyReport:
    records: int = 0
    checkpoints: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[Problem] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def _iter_records(s: Session, batch: int = 5000) -> Iterator[Any]:
    """Records as plain rows in row-id order, in batches (no ORM objects: verification reads 100k+ rows)."""
    tbl = AuditRecord.__table__
    last_id = None
    while True:
        q = select(tbl).order_by(tbl.c.id).limit(batch)
        if last_id is not None:
            q = q.where(tbl.c.id > last_id)
        rows = s.execute(q).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def verify(s: Session, public_key: Ed25519PublicKey | None,
           external_checkpoints: Iterable[dict[str, Any]] = (), max_problems: int = 20) -> VerifyReport:
    """Walk the chain in row order and check every link, digest, hash and checkpoint.

    Problems are listed in chain order, so ``report.first_bad`` names the first bad record.
    Without a public key, checkpoint signatures cannot be checked and that is itself a problem.
    """
    rep = VerifyReport()
    prev_hash, expected_seq = GENESIS, 1
    hashes: dict[int, str] = {}

    def bad(r: Any, msg: str) -> None:
        if len(rep.problems) < max_problems:
            rep.problems.append(Problem(r.seq if r else None, r.id if r else None, msg))

    for r in _iter_records(s):
        rep.records += 1
        if r.seq != expected_seq:
            if r.seq > expected_seq:
                bad(r, f"records {expected_seq}..{r.seq - 1} are missing (deleted) before this one")
            else:
                bad(r, f"out of order or inserted: expected seq {expected_seq}, found {r.seq}")
        if r.prev_hash != prev_hash:
            bad(r, "prev_hash does not match the hash of the record before it (deleted, inserted or reordered)")
        digest = hashlib.sha256(r.changes.encode("utf-8")).hexdigest()
        if digest != r.digest:
            bad(r, "the recorded change does not match its digest (edited)")
        h = record_hash(r.seq, r.at, r.actor_id, r.actor_name, r.role, r.action, r.object_type, r.object_id,
                        r.digest, r.prev_hash)
        if h != r.hash:
            bad(r, "hash does not match the record's content (edited)")
        hashes[r.seq] = r.hash
        prev_hash, expected_seq = r.hash, r.seq + 1
    rep.head_seq, rep.head_hash = expected_seq - 1, prev_hash

    cps = export_checkpoints(s)
    stored = {(c["seq"], c["head_hash"], c["signature"]) for c in cps}
    for c in list(external_checkpoints):
        if (c["seq"], c["head_hash"], c["signature"]) not in stored:
            cps.append({**c, "external": True})
    if not cps and rep.records:
        bad(None, "no signed checkpoint: a rewritten chain could not be told from the original")
    for c in sorted(cps, key=lambda c: c["seq"]):
        rep.checkpoints += 1
        label = "exported checkpoint" if c.get("external") else "checkpoint"
        at = dt.datetime.fromisoformat(c["at"])
        if public_key is None:
            bad(None, f"{label} at seq {c['seq']}: no public key to check its signature")
        else:
            if c["key_id"] != key_id(public_key):
                bad(None, f"{label} at seq {c['seq']} was signed by key {c['key_id']}, not {key_id(public_key)}")
            try:
                public_key.verify(bytes.fromhex(c["signature"]), checkpoint_message(c["seq"], c["head_hash"], at))
            except (InvalidSignature, ValueError):
                bad(None, f"{label} at seq {c['seq']}: signature is not valid (checkpoint forged or edited)")
        if c["seq"] > rep.head_seq:
            rep.problems.append(Problem(rep.head_seq + 1, None,
                                        f"chain ends at seq {rep.head_seq} but {label} signed seq {c['seq']}: "
                                        f"the tail was cut"))
        elif hashes.get(c["seq"]) != c["head_hash"]:
            rep.problems.append(Problem(c["seq"], None, f"{label} signed a different hash for this record: "
                                                        f"the chain was rewritten up to here"))
    rep.problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return rep
