"""Scratch PostgreSQL databases for tests and benchmarks: create one, drop it whatever is still connected.

``DROP DATABASE … WITH (FORCE)`` terminates the other sessions on the database first. An autovacuum worker
is one of them, and before PostgreSQL 17 a role that is neither superuser nor in ``pg_signal_backend`` may
not terminate it ("must be a member of the role whose process is being terminated"): the drop then fails
by chance, whenever autovacuum happens to visit a freshly written test database. ``.ci/services.sh`` grants
``pg_signal_backend`` to the test role; where that grant is missing, :func:`drop_database` ends our own
sessions and falls back to a plain ``DROP DATABASE``, which asks autovacuum to stop and waits for it.
"""
from __future__ import annotations

import re
import time
import uuid

import sqlalchemy as sa


def create_database(base_url: str, prefix: str, template: str | None = None) -> tuple[str, callable]:
    """A new database on the server of ``base_url``; returns its URL and a function that drops it."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))

    def drop():
        try:
            drop_database(admin, name)
        finally:
            admin.dispose()
    return re.sub(r"/[^/]*$", f"/{name}", base_url), drop


def drop_database(admin: sa.Engine, name: str, attempts: int = 5) -> None:
    """Drop ``name`` even while sessions (ours, or an autovacuum worker) are connected to it."""
    for attempt in range(attempts):
        with admin.connect() as c:
            try:
                c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except sa.exc.ProgrammingError as e:
                if getattr(e.orig, "sqlstate", None) != "42501":      # insufficient_privilege only
                    raise
            c.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %(n)s AND usename = current_user AND pid <> pg_backend_pid()",
                              {"n": name})
            try:
                c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
                return
            except sa.exc.OperationalError as e:                      # still in use: try again shortly
                if attempt == attempts - 1:
                    raise
        time.sleep(0.5 * (attempt + 1))
