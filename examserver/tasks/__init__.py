"""Celery: in-process (eager) in the embedded profile, Redis-brokered workers in the scaled one.

Tasks are thin: they take ids and JSON, are safe to run twice (``acks_late``), open their
own transaction, and reach browsers only through the Socket.IO message queue.
"""
from __future__ import annotations

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


def init_celery(app, settings) -> Celery:
    global _flask_app
    _flask_app = app
    scaled = settings.profile == "scaled"
    celery.conf.update(
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
    celery.amqp._producer_pool = None
    celery._local.__dict__.pop("backend", None)
    celery.Task = AppTask
    app.extensions["celery"] = celery
    return celery
