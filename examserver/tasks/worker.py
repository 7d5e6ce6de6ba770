"""Entry point of ``celery -A examserver.tasks.worker worker``: builds the app from the environment."""
from examserver import create_app

app = create_app()
celery = app.extensions["celery"]
