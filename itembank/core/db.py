"""Engine, sessions and the declarative base shared by every domain.

SQLite runs in WAL mode with foreign keys on. Every write transaction starts with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes fails with
"database is locked" under concurrency even with a busy timeout, because SQLite
cannot upgrade its read lock while another writer waits. Read-only work uses
:func:`read_scope`, which begins a deferred transaction and never blocks writers.

Writers on SQLite also queue on a lock before ``BEGIN IMMEDIATE``: a process lock (a
gevent-aware lock once gevent has patched threading) and an ``flock`` on a file beside the
database for other processes. SQLite's own busy handler polls with sleeps of up to 100 ms,
so eight contending writers spent most of their time asleep (measured: 326 chained
records/s from 8 processes without the queue); a kernel lock wakes the next writer at once.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import threading
from collections.abc import Iterator

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> dt.datetime:
    """Current UTC time, naive (stored as UTC everywhere)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


READ_ONLY = "skillcert_read_only"


def make_engine(url: str, **kw) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kw)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kw)


class _WriterQueue:
    """Serialises SQLite writers: a process-wide lock, then an flock shared with other processes."""

    def __init__(self, db_path: str):
        self.path = db_path + ".writelock"
        self.local = threading.Lock()
        self.fd: int | None = None
        self.pid = os.getpid()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self.local:
            if self.fd is None or self.pid != os.getpid():  # first use, or a forked child
                self.fd, self.pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self.fd, fcntl.LOCK_UN)


class Database:
    """One engine and its two session factories (write: BEGIN IMMEDIATE, read: deferred)."""

    def __init__(self, url: str, **kw):
        self.url = url
        self.engine = make_engine(url, **kw)
        self.is_sqlite = url.startswith("sqlite")
        path = self.engine.url.database if self.is_sqlite else None
        self._queue = _WriterQueue(path) if path and path != ":memory:" else None
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        self.ReadSession = sessionmaker(self.engine.execution_options(**{READ_ONLY: True}),
                                        expire_on_commit=False)

    @contextlib.contextmanager
    def write_scope(self) -> Iterator[Session]:
        """A write transaction: commits on success, rolls back on any error."""
        with self._queue.held() if self._queue else contextlib.nullcontext():
            s = self.Session()
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise
            finally:
                s.close()

    @contextlib.contextmanager
    def read_scope(self) -> Iterator[Session]:
        s = self.ReadSession()
        try:
            yield s
        finally:
            s.close()  # ends the transaction; loaded objects stay readable (detached, not expired)

    def dispose(self) -> None:
        self.engine.dispose()
