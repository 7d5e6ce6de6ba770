"""Each deployment has its own Celery queue, named from its database, so deployments sharing a Redis server
never run each other's tasks (tests/examserver/certification/test_scaled.py runs a neighbour's worker)."""
from examserver.tasks import celery, queue_name


def test_the_queue_follows_the_database_not_the_password():
    a = queue_name("postgresql+psycopg://skillcert:one@127.0.0.1:5432/skillcert_prod")
    assert a == queue_name("postgresql+psycopg://skillcert:two@127.0.0.1:5432/skillcert_prod")
    assert a.startswith("skillcert.skillcert_prod.")
    assert a != queue_name("postgresql+psycopg://skillcert:one@127.0.0.1:5432/skillcert_staging")
    assert a != queue_name("postgresql+psycopg://skillcert:one@10.0.0.2:5432/skillcert_prod")
    assert queue_name("sqlite:////srv/a/skillcert.db") != queue_name("sqlite:////srv/b/skillcert.db")


def test_rebuilding_the_app_moves_producer_and_worker_to_the_new_queue(tmp_path):
    from examserver import create_app
    apps = []
    for name in ("a", "b"):
        env = {"SKILLCERT_DATA_DIR": str(tmp_path / name)}
        apps.append(create_app({"TESTING": True}, env=env))
        settings = apps[-1].config["SKILLCERT_SETTINGS"]
        expected = queue_name(settings.database_url)
        assert celery.conf.task_default_queue == expected
        assert list(celery.amqp.queues) == [expected]          # what a worker of this app consumes
        assert celery.amqp.router.route({}, "skillcert.audit.checkpoint")["queue"].name == expected
    assert apps[0].config["SKILLCERT_SETTINGS"].database_url != apps[1].config["SKILLCERT_SETTINGS"].database_url
    for app in apps:
        app.extensions["skillcert.db"].dispose()
