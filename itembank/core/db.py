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
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

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


T = TypeVar("T")


class _Waiter:
    __slots__ = ("job", "done", "lead", "result", "error")

    def __init__(self, job):
        self.job, self.done, self.lead, self.result, self.error = job, threading.Event(), False, None, None

    def outcome(self):
        if self.error is not None:
            raise self.error
        return self.result


class GroupCommit:
    """Group commit for a hot write path: jobs that arrive together share one transaction and one commit.

    The first caller leads: it yields once (``pause``, e.g. ``gevent.sleep(0)``: the other handlers that are
    ready run up to here and queue their jobs; with OS threads there is no pause), takes up to ``max_batch`` queued jobs, runs them in one
    :meth:`Database.raw_write` transaction and wakes each caller with its own result or exception; then the
    next queued caller leads. A job whose exception is in ``refusals`` must have written nothing (check, then
    write), so it does not spoil the batch; any other failure rolls the batch back and every job is run again
    alone in its own transaction. Each caller returns only after the commit that holds its job, so an
    acknowledgement still means "stored". With one caller at a time it is a plain transaction per job.
    """

    def __init__(self, db: "Database", *, refusals: tuple[type[BaseException], ...] = (), max_batch: int = 64,
                 pause: Callable[[], None] | None = None):
        self.db, self.refusals, self.max_batch, self.pause = db, refusals, max_batch, pause
        self.lock = threading.Lock()
        self.queue: list[_Waiter] = []
        self.busy = False
        self.batches = 0
        self.jobs = 0

    def run(self, job: Callable[[Any], T]) -> T:
        w = _Waiter(job)
        with self.lock:
            self.queue.append(w)
            lead = not self.busy
            self.busy = True
        if not lead:
            w.done.wait()
            if not w.lead:
                return w.outcome()
        try:
            if self.pause is not None:
                self.pause()
            with self.lock:
                batch, self.queue = self.queue[:self.max_batch], self.queue[self.max_batch:]
            self._execute(batch)
        finally:
            with self.lock:
                if self.queue:
                    nxt = self.queue[0]
                    nxt.lead = True
                    nxt.done.set()
                else:
                    self.busy = False
        return w.outcome()

    def _execute(self, batch: list[_Waiter]) -> None:
        try:
            try:
                with self.db.raw_write() as cur:
                    for w in batch:
                        try:
                            w.result = w.job(cur)
                        except self.refusals as e:
                            w.error = e
            except Exception:  # noqa: BLE001 - the batch as a whole failed: each job alone
                for w in batch:
                    w.result = w.error = None
                    try:
                        with self.db.raw_write() as cur:
                            w.result = w.job(cur)
                    except Exception as e:  # noqa: BLE001 - handed to its own caller
                        w.error = e
            self.batches += 1
            self.jobs += len(batch)
        except BaseException as e:  # the leader is being killed: its followers must not wait forever
            for w in batch:
                if w.result is None and w.error is None:
                    w.error = e
            raise
        finally:
            for w in batch:
                w.done.set()


class Database:
    """One engine and its two session factories (write: BEGIN IMMEDIATE, read: deferred)."""

    def __init__(self, url: str, **kw):
        self.url = url
        self.engine = make_engine(url, **kw)
        self.is_sqlite = url.startswith("sqlite")
        self.url_key = str(self.engine.url)  # this database's identity for per-database caches (password masked)
        self._groups: dict[str, GroupCommit] = {}
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

    @contextlib.contextmanager
    def raw_write(self) -> Iterator[Any]:
        """A write transaction on a pooled DBAPI connection, for hot paths that issue a few plain statements
        (the answer save): yields a DBAPI cursor; ``BEGIN IMMEDIATE`` behind the writer queue on SQLite;
        commits on success, rolls back on any error. The ORM session's bookkeeping cost ~0.3 ms per call."""
        with self._queue.held() if self._queue else contextlib.nullcontext():
            conn = self.engine.raw_connection()
            cur = conn.cursor()
            try:
                if self.is_sqlite:
                    cur.execute("BEGIN IMMEDIATE")
                yield cur
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                cur.close()
                conn.close()

    @contextlib.contextmanager
    def raw_read(self) -> Iterator[Any]:
        """A DBAPI cursor for a few plain reads (each SELECT its own snapshot on SQLite; on PostgreSQL one
        transaction, rolled back when the pool takes the connection back)."""
        conn = self.engine.raw_connection()
        cur = conn.cursor()
        try:
            yield cur
        finally:
            cur.close()
            conn.close()

    def group_commit(self, name: str, **kw) -> GroupCommit:
        """This database's :class:`GroupCommit` for one hot write path (created on first use with ``kw``)."""
        gc = self._groups.get(name)
        if gc is None:
            gc = self._groups.setdefault(name, GroupCommit(self, **kw))
        return gc

    def dispose(self) -> None:
        self.engine.dispose()
