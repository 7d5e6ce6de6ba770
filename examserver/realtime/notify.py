"""Pushing to browsers from anywhere: request handlers, in-process tasks, or Celery workers.

In the scaled profile a worker process has no Socket.IO server of its own; it writes to the
Redis message queue and every server process relays to its connected clients. Pushes are
hints: clients re-read the state they announce from the database (Socket.IO delivers at most once).
"""
from __future__ import annotations

import functools

from flask import current_app
from flask_socketio import SocketIO

from ..extensions import socketio


@functools.lru_cache(maxsize=4)
def _queue_writer(redis_url: str) -> SocketIO:
    return SocketIO(message_queue=redis_url)


def notify(event: str, data: dict, *, room: str, namespace: str = "/staff") -> None:
    settings = current_app.config["SKILLCERT_SETTINGS"]
    if settings.profile == "scaled":
        _queue_writer(settings.redis_url).emit(event, data, namespace=namespace, to=room)
    elif socketio.server is not None:
        socketio.emit(event, data, namespace=namespace, to=room)


def staff_room(role: str, agency_id: int | None = None) -> str:
    """The room every connected staff member of ``role`` (in ``agency_id``) joins on /staff."""
    return f"agency:{agency_id}:{role}" if agency_id else f"role:{role}"
