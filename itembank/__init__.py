"""Item bank: items, versions, skill standards, blueprints and papers.

``itembank.core`` is the lowest layer of the whole product (configuration, the
database session, the audit trail, reference data and people): the top-level
layout is fixed, and imports go one way (examserver → scoring → itembank), so the
shared foundation lives here. Nothing under ``itembank`` imports the web or
queue shell (flask, flask_socketio, celery, redis).
"""
