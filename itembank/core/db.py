"""Engine, sessions and the declarative base shared by every domain.

SQLite runs in WAL mode with foreign keys on. Every write transaction starts with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes fails with
"database is locked" under concurrency even with a busy timeout, because SQLite
cannot upgrade its read lock while another writer waits. Read-only work uses
:func:`read_scope`, which begins a deferred transaction and never blocks writers.
"""
from __future__ import annotations

import contextlib
import datetime as dt
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


class Database:
    """One engine and its two session factories (write: BEGIN IMMEDIATE, read: deferred)."""

    def __init__(self, url: str, **kw):
        self.url = url
        self.engine = make_engine(url, **kw)
        self.is_sqlite = url.startswith("sqlite")
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        self.ReadSession = sessionmaker(self.engine.execution_options(**{READ_ONLY: True}),
                                        expire_on_commit=False)

    @contextlib.contextmanager
    def write_scope(self) -> Iterator[Session]:
        """A write transaction: commits on success, rolls back on any error."""
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
