"""Celery: in-process (eager) in the embedded profile, Redis-brokered workers in the scaled one.

Tasks are thin: they take ids and JSON, are safe to run twice (``acks_late``), open their
own transaction, and reach browsers only through the Socket.IO message queue.
"""
from __future__ import annotations

import hashlib
import pathlib
import re

from celery import Celery, Task

celery = Celery("skillcert", include=["examserver.tasks.audit", "examserver.administration.tasks",
                                      "examserver.itembank_app.tasks", "examserver.certification.tasks",
                                      "examserver.analysis.tasks", "examserver.violations.tasks"])
_flask_app = None


class AppTask(Task):
    abstract = True

    def __call__(self, *args, **kwargs):
        app = _flask_app
        if app is None:  # a worker process: build the app once from the environment
            from examserver import create_app
            app = create_app()
        with app.app_context():
            return super().__call__(*args, **kwargs)


def queue_name(database_url: str) -> str:
    """The deployment's own task queue: ``skillcert.<database>.<8 hex>``, from its database URL (password left out).

    Every process of one deployment (servers, workers, beat) reads the same database URL and so meets on the
    same queue; two deployments sharing a Redis server never take each other's tasks (a worker of another
    deployment would run the task against its own database: a batch id there is another batch, or none).
    """
    from sqlalchemy.engine import make_url
    url = make_url(database_url)
    where = f"{url.get_backend_name()}|{url.username or ''}|{url.host or ''}|{url.port or ''}|{url.database or ''}"
    digest = hashlib.sha256(where.encode("utf-8")).hexdigest()[:8]
    name = re.sub(r"[^A-Za-z0-9_-]", "_", pathlib.PurePath(url.database or "db").stem)[:40]
    return f"skillcert.{name}.{digest}"


def init_celery(app, settings) -> Celery:
    global _flask_app
    _flask_app = app
    scaled = settings.profile == "scaled"
    celery.conf.update(
        task_default_queue=queue_name(settings.database_url),
        broker_url=settings.redis_url if scaled else "memory://",
        result_backend=settings.redis_url if scaled else "cache+memory://",
        task_always_eager=not scaled,
        task_eager_propagates=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_expires=3600,
        broker_connection_retry_on_startup=True,
        beat_schedule={
            "audit-checkpoint": {"task": "skillcert.audit.checkpoint", "schedule": 300.0},
            "administration-report-reminders": {"task": "skillcert.administration.remind_reports",
                                                "schedule": 3600.0},
        },
    )
    # One process may build apps of both profiles (the test suite does): drop connections and the result
    # backend made for the previous broker so that this configuration is the one in use.
    celery._pool = None  # kombu's registry hands back the pool of the configured broker on next use
    celery.__dict__.pop("amqp", None)  # its producer pool, queues and router were made from the previous conf
    celery._local.__dict__.pop("backend", None)
    celery.Task = AppTask
    app.extensions["celery"] = celery
    return celery
