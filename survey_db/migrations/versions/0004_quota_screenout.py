"""issue 23: quota places, screen-out link and code, abandoned visits, the Huggins-pitch headphone check

Revision ID: 0004_quota
Revises: 0003_recruit
Create Date: 2026-12-05 08:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_quota"
down_revision = "0003_recruit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("survey") as batch:
        batch.add_column(sa.Column("screenout_url", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("screenout_code", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("abandon_minutes", sa.Float(), server_default="60", nullable=False))
        batch.add_column(sa.Column("screen_test", sa.String(length=10), server_default="woods", nullable=False))
        batch.create_check_constraint("ck_survey_screen_test", "screen_test IN ('woods', 'huggins')")
        batch.create_check_constraint("ck_survey_abandon_minutes", "abandon_minutes > 0")
    with op.batch_alter_table("participant") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("left_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE participant SET last_seen_at = consented_at")


def downgrade() -> None:
    with op.batch_alter_table("participant") as batch:
        batch.drop_column("left_at")
        batch.drop_column("last_seen_at")
    with op.batch_alter_table("survey") as batch:
        batch.drop_constraint("ck_survey_abandon_minutes", type_="check")
        batch.drop_constraint("ck_survey_screen_test", type_="check")
        for column in ("screen_test", "abandon_minutes", "screenout_code", "screenout_url"):
            batch.drop_column(column)
