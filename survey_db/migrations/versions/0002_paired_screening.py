"""issue 15: the paired (2AFC) design, equivalence margin, measured listening, headphone screening, dashboard link

Revision ID: 0002_paired
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_paired"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.add_column(sa.Column("design", sa.String(length=10), nullable=False, server_default="single"))
        batch_op.add_column(sa.Column("margin", sa.Float(), nullable=False, server_default="0.1"))
        batch_op.add_column(sa.Column("require_full_play", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("headphone_screen", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("screen_fail", sa.String(length=10), nullable=False, server_default="flag"))
        batch_op.add_column(sa.Column("instructions", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("practice", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("dashboard_token", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint("uq_survey_dashboard_token", ["dashboard_token"])
        batch_op.create_check_constraint("ck_survey_design", "design IN ('single', '2afc')")
        batch_op.create_check_constraint("ck_survey_margin", "margin > 0 AND margin < 0.5")
        batch_op.create_check_constraint("ck_survey_screen_fail", "screen_fail IN ('flag', 'end')")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("screen_key", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("screen_correct", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("instructions_done", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plays", sa.Integer(), nullable=True))
    op.create_table(
        "trial",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("human_clip_id", sa.Integer(), nullable=False),
        sa.Column("machine_clip_id", sa.Integer(), nullable=False),
        sa.Column("human_position", sa.Integer(), nullable=False),
        sa.Column("is_catch", sa.Boolean(), nullable=False),
        sa.Column("chosen_position", sa.Integer(), nullable=True),
        sa.Column("listening_ms", sa.Integer(), nullable=True),
        sa.Column("plays", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("human_position IN (1, 2)", name="ck_trial_human_position"),
        sa.CheckConstraint("chosen_position IS NULL OR chosen_position IN (1, 2)", name="ck_trial_chosen_position"),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["human_clip_id"], ["clip.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["machine_clip_id"], ["clip.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("participant_id", "position", name="uq_trial_participant_position"),
    )
    with op.batch_alter_table("trial", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trial_participant_id"), ["participant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_trial_human_clip_id"), ["human_clip_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_trial_machine_clip_id"), ["machine_clip_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trial", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trial_machine_clip_id"))
        batch_op.drop_index(batch_op.f("ix_trial_human_clip_id"))
        batch_op.drop_index(batch_op.f("ix_trial_participant_id"))
    op.drop_table("trial")
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_column("plays")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("instructions_done")
        batch_op.drop_column("screen_correct")
        batch_op.drop_column("screen_key")
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.drop_constraint("ck_survey_screen_fail", type_="check")
        batch_op.drop_constraint("ck_survey_margin", type_="check")
        batch_op.drop_constraint("ck_survey_design", type_="check")
        batch_op.drop_constraint("uq_survey_dashboard_token", type_="unique")
        for column in ("dashboard_token", "practice", "instructions", "screen_fail", "headphone_screen",
                       "require_full_play", "margin", "design"):
            batch_op.drop_column(column)
