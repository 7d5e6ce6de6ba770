"""Shared foundation: configuration, database, audit trail, reference data, people."""
