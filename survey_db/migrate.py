"""Alembic migrations, applied automatically: :func:`upgrade` brings a database to the newest revision.

Several processes may open a new database at once: the upgrade runs under a lock (SQLite's write lock via
``BEGIN IMMEDIATE``, a PostgreSQL advisory lock), and whoever gets it second finds the schema current.
New revisions: ``alembic -c survey_db/alembic.ini revision --autogenerate -m "..."`` (batch mode on SQLite).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

PACKAGE_DIR = Path(__file__).resolve().parent  # alembic.ini and migrations/ live beside this file


_PG_LOCK_KEY = 0x5E_11AB  # any constant: the advisory lock of survey migrations


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the package's migrations; with ``connection``, migrations run on it."""
    config = Config()
    config.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision id in ``survey_db/migrations/versions``."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision a database is at (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Migrate ``engine``'s database to the head revision, once, whatever other processes do meanwhile."""
    head = head_revision()
    with engine.connect() as connection:
        if current_revision(connection) == head:
            return
    with engine.execution_options(survey_write=True).connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        else:
            connection.exec_driver_sql("SELECT 1")  # starts the BEGIN IMMEDIATE transaction
        if current_revision(connection) != head:
            command.upgrade(alembic_config(connection), "head")
        connection.commit()
