"""Persistence: SQLAlchemy models, the Database handle, migrations and time-ordered ids."""
