"""recruitment: platform ids, client key, completion URL, participant quota (issue #14)

Revision ID: 0003_recruit
Revises: 0002_paired
Create Date: 2026-12-02 14:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_recruit"
down_revision = "0002_paired"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("survey") as batch:
        batch.add_column(sa.Column("completion_url", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("max_participants", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("participant") as batch:
        batch.add_column(sa.Column("platform", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("platform_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("study_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("session_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("client_key", sa.String(length=32), nullable=True))
        batch.create_index(batch.f("ix_participant_client_key"), ["client_key"], unique=False)
        batch.create_unique_constraint("uq_participant_platform_id", ["survey_id", "platform", "platform_id"])


def downgrade() -> None:
    with op.batch_alter_table("participant") as batch:
        batch.drop_constraint("uq_participant_platform_id", type_="unique")
        batch.drop_index(batch.f("ix_participant_client_key"))
        for column in ("client_key", "session_id", "study_id", "platform_id", "platform"):
            batch.drop_column(column)
    with op.batch_alter_table("survey") as batch:
        batch.drop_column("max_participants")
        batch.drop_column("completion_url")
