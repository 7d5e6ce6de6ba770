"""The app's database handle and the transaction scopes handlers use."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import current_app
from sqlalchemy.orm import Session

from itembank.core.db import Database


def database() -> Database:
    return current_app.extensions["skillcert.db"]


@contextlib.contextmanager
def db_write() -> Iterator[Session]:
    """One write transaction (BEGIN IMMEDIATE on SQLite); commits when the block ends."""
    with database().write_scope() as s:
        yield s


@contextlib.contextmanager
def db_read() -> Iterator[Session]:
    with database().read_scope() as s:
        yield s
