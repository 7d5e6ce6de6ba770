"""Violation handling (违纪违规行为处理): cases, procedure, consequences, flags, archive."""
