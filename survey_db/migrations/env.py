"""Alembic environment: runs on the connection survey_db.migrate passes in, or on SURVEY_DB_URL (CLI)."""

from alembic import context
from sqlalchemy import create_engine

from survey_db.engine import database_url
from survey_db.models import Base


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    with create_engine(database_url()).connect() as conn:
        run(conn)
        conn.commit()
