"""Alembic, driven from code: ``skillcert init`` upgrades the database to the newest revision."""
from __future__ import annotations

import pathlib

from alembic import command
from alembic.config import Config

HERE = pathlib.Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Upgrade to every head: each area's migrations branch from the initial one and may depend on others."""
    command.upgrade(alembic_config(url), revision)


def revision(url: str, message: str) -> None:
    command.revision(alembic_config(url), message=message, autogenerate=True)
