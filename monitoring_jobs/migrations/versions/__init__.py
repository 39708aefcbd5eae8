"""Alembic revisions of the monitoring database, one file each, applied in order from 0001."""
