"""Domain errors carry a stable code, the field at fault, and a bilingual message."""
from __future__ import annotations


class DomainError(Exception):
    """A request that cannot be carried out as asked; maps to a 4xx response."""

    status = 400

    def __init__(self, code: str, message: str, field: str | None = None, **details):
        super().__init__(message)
        self.code, self.message, self.field, self.details = code, message, field, details


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Forbidden(DomainError):
    status = 403
