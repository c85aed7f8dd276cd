"""Engines and transactions: SQLite by default, any SQLAlchemy URL through ``SURVEY_DB_URL``.

SQLite runs in WAL mode (readers never block the writer) with a 30-second busy timeout and foreign keys on,
set on every new connection. Transactions that write start with ``BEGIN IMMEDIATE``: the write lock is taken
(waiting up to the busy timeout) before anything is read, so a transaction never has to upgrade a read lock,
the one case where SQLite answers "database is locked" at once instead of waiting.

The schema is migrated to the newest Alembic revision the first time a process opens a URL.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_SQLITE = PACKAGE_DIR / "surveys.sqlite"
BUSY_TIMEOUT_MS = 30_000
_ENGINES: dict[tuple[str, int], Engine] = {}
_LOCK = threading.Lock()
T = TypeVar("T")
LOCK_RETRIES = [0]
"""How many write transactions this process retried after SQLite said "locked" (the benchmark prints it)."""


def database_url() -> str:
    """``SURVEY_DB_URL`` when set, else the SQLite file ``survey_db/surveys.sqlite`` (ignored by git)."""
    return os.environ.get("SURVEY_DB_URL") or f"sqlite:///{DEFAULT_SQLITE}"


def get_engine(url: str | None = None) -> Engine:
    """The engine of ``url`` (default: :func:`database_url`), created and migrated once per process."""
    url = url or database_url()
    key = (url, os.getpid())  # a forked child must not reuse its parent's connections
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _create(url)
            from survey_db.migrate import upgrade

            upgrade(engine)
            _ENGINES[key] = engine
    return engine


def _create(url: str) -> Engine:
    if url.startswith("sqlite"):
        if ":memory:" in url or url.rstrip("/") in ("sqlite:", "sqlite+pysqlite:"):
            raise ValueError("The survey database needs a file: an in-memory SQLite database is not shared.")
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # the driver's own BEGIN is off: _sqlite_begin emits it
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a killed process loses no commit
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(connection) -> None:
    write = connection.get_execution_options().get("survey_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def transaction(url: str | None = None, write: bool = False) -> Iterator[Session]:
    """A session in one transaction, committed on success and rolled back on any exception.

    ``write=True`` marks a transaction that will write (``BEGIN IMMEDIATE`` on SQLite).
    """
    engine = get_engine(url)
    bind = engine.execution_options(survey_write=True) if write else engine
    with Session(bind, expire_on_commit=False) as session, session.begin():
        yield session


def write(run: Callable[..., T], url: str | None = None, attempts: int = 4) -> T:
    """``run(session)`` in one write transaction, committed; returns what it returns.

    Should SQLite still answer "database is locked" after its 30-second busy timeout, the transaction is
    rolled back and run again, up to ``attempts`` times, so the error never reaches a caller under load.
    """
    for attempt in range(attempts):
        try:
            with transaction(url, write=True) as session:
                return run(session)
        except OperationalError as exc:
            if "database is locked" not in str(exc) or attempt == attempts - 1:
                raise
            LOCK_RETRIES[0] += 1
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


def dispose_all() -> None:
    """Close every pooled connection of this process (tests; a process about to fork)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
