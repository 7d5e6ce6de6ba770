"""GroupCommit: jobs that arrive together share one transaction; each caller gets its own outcome, only after
the commit that holds its job; a refusal does not spoil the batch; a failing batch is re-run job by job."""
from __future__ import annotations

import threading

import pytest

from itembank.core.db import Database, GroupCommit


class Refusal(Exception):
    pass


@pytest.fixture
def database(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'gc.db'}")
    with db.raw_write() as cur:
        cur.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    yield db
    db.dispose()


def rows(db) -> dict[int, str]:
    with db.raw_read() as cur:
        cur.execute("SELECT k, v FROM t")
        return dict(cur.fetchall())


def insert(k, v="x"):
    def job(cur):
        if k < 0:
            raise Refusal(f"refused {k}")  # checks come before writes
        cur.execute("INSERT INTO t (k, v) VALUES (?, ?)", (k, v))
        return k
    return job


def test_a_lone_caller_commits_its_job_before_it_returns(database):
    gc = GroupCommit(database, refusals=(Refusal,))
    assert gc.run(insert(1)) == 1
    assert rows(database) == {1: "x"}
    with pytest.raises(Refusal):
        gc.run(insert(-1))
    assert gc.batches == 2 and gc.jobs == 2


def test_jobs_queued_while_the_leader_pauses_share_one_commit(database):
    """The pause is where other ready callers queue (gevent.sleep(0) on the server); here it lets
    three threads in before the leader takes the batch."""
    outcomes: dict[int, object] = {}
    queued = threading.Event()
    gc = GroupCommit(database, refusals=(Refusal,), pause=lambda: queued.wait(5))

    def caller(k):
        try:
            outcomes[k] = gc.run(insert(k))
        except Refusal as e:
            outcomes[k] = e

    def wait_for(cond):
        for _ in range(500):
            with gc.lock:
                if cond():
                    return
            threading.Event().wait(0.01)
        raise AssertionError("timed out")

    lead = threading.Thread(target=caller, args=(1,))
    lead.start()
    wait_for(lambda: gc.busy)               # the first caller leads and is pausing
    others = [threading.Thread(target=caller, args=(k,)) for k in (2, -3, 4)]
    for t in others:
        t.start()
    wait_for(lambda: len(gc.queue) == 4)    # the others queued behind it
    queued.set()
    for t in [lead, *others]:
        t.join(10)
    assert outcomes[1] == 1 and outcomes[2] == 2 and outcomes[4] == 4
    assert isinstance(outcomes[-3], Refusal)                 # its own caller gets its refusal …
    assert rows(database) == {1: "x", 2: "x", 4: "x"}       # … and the others' rows are committed
    assert gc.batches == 1 and gc.jobs == 4                 # one transaction for all four


def test_a_batch_that_fails_is_run_again_job_by_job(database):
    """A duplicate key (not a refusal) aborts the shared transaction; re-run alone, only that job fails."""
    gc = GroupCommit(database, refusals=(Refusal,))
    gc.run(insert(7))
    waiters = []
    from itembank.core.db import _Waiter
    for k in (8, 7, 9):   # 7 exists: IntegrityError
        waiters.append(_Waiter(insert(k)))
    gc._execute(waiters)
    assert [w.result for w in waiters] == [8, None, 9]
    assert type(waiters[1].error).__name__ == "IntegrityError"
    database_rows = rows(database)
    assert database_rows == {7: "x", 8: "x", 9: "x"}
    assert all(w.done.is_set() for w in waiters)


def test_many_threads_each_get_their_own_result_and_nothing_is_lost(database):
    gc = GroupCommit(database, refusals=(Refusal,), max_batch=8)
    results: dict[int, object] = {}

    def caller(base):
        for k in range(base, base + 50):
            results[k] = gc.run(insert(k, f"v{k}"))

    threads = [threading.Thread(target=caller, args=(b,)) for b in range(0, 400, 50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {k: k for k in range(400)}
    assert rows(database) == {k: f"v{k}" for k in range(400)}
    assert gc.jobs == 400


def test_a_database_keeps_one_group_per_hot_path(database):
    first = database.group_commit("answers", refusals=(Refusal,))
    assert database.group_commit("answers") is first and database.group_commit("events") is not first
    assert first.run(insert(1)) == 1 and rows(database) == {1: "x"}
