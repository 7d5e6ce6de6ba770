"""SkillCert exam server: the Flask app shell around the item bank and scoring packages."""
from __future__ import annotations

__version__ = "0.1.0"


def create_app(overrides: dict | None = None, env: dict[str, str] | None = None):
    from .app import build_app
    return build_app(overrides or {}, env)
