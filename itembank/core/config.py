"""Settings read from the environment; the deployment profile follows from them.

Embedded (no variables set): SQLite under ``SKILLCERT_DATA_DIR`` (default
``./instance``), Celery tasks run in-process, one server process.
Scaled: ``SKILLCERT_DATABASE_URL=postgresql+psycopg://…`` and
``SKILLCERT_REDIS_URL=redis://…``.

Behind a reverse proxy (nginx in the scaled profile) ``SKILLCERT_PROXY_COUNT`` is the number of proxies in
front of the server whose ``X-Forwarded-For``/``X-Forwarded-Proto`` are trusted (default 0: none, the peer
address is the client's). Rate limits and the sign-in throttles key on that client address.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
import secrets


@dataclasses.dataclass(frozen=True)
class Settings:
    data_dir: pathlib.Path
    database_url: str
    redis_url: str | None
    secret_key: str
    login_rate_limit: str = "10 per minute"
    login_address_limit: str = "600 per minute"
    checkpoint_every: int = 1000
    proxy_count: int = 0

    @property
    def profile(self) -> str:
        return "scaled" if self.redis_url and not self.database_url.startswith("sqlite") else "embedded"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _persistent_secret(data_dir: pathlib.Path, name: str) -> str:
    """A random secret kept in the data directory so restarts keep sessions valid."""
    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_hex(32)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _proxy_count(raw: str | None) -> int:
    try:
        n = int(raw or 0)
    except ValueError:
        n = -1
    if not 0 <= n <= 10:
        raise ValueError(f"SKILLCERT_PROXY_COUNT must be the number of trusted proxies (0-10), got {raw!r}")
    return n


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    data_dir = pathlib.Path(env.get("SKILLCERT_DATA_DIR", "instance")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    url = env.get("SKILLCERT_DATABASE_URL") or f"sqlite:///{data_dir / 'skillcert.db'}"
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise ValueError(f"SKILLCERT_DATABASE_URL must be sqlite:// or postgresql+psycopg://, got {url.split(':')[0]}")
    return Settings(
        data_dir=data_dir,
        database_url=url,
        redis_url=env.get("SKILLCERT_REDIS_URL") or None,
        secret_key=env.get("SKILLCERT_SECRET_KEY") or _persistent_secret(data_dir, "secret_key"),
        login_rate_limit=env.get("SKILLCERT_LOGIN_RATE_LIMIT", "10 per minute"),
        login_address_limit=env.get("SKILLCERT_LOGIN_ADDRESS_LIMIT", "600 per minute"),
        checkpoint_every=int(env.get("SKILLCERT_CHECKPOINT_EVERY", "1000")),
        proxy_count=_proxy_count(env.get("SKILLCERT_PROXY_COUNT")),
    )
