"""issue 19: the arena design (two clips from two sources, which does the listener prefer?) and its games

Revision ID: 0005_arena
Revises: 0004_quota
Create Date: 2026-12-05 13:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_arena"
down_revision = "0004_quota"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("survey") as batch:
        batch.drop_constraint("ck_survey_design", type_="check")
        batch.create_check_constraint("ck_survey_design", "design IN ('single', '2afc', 'arena')")
        batch.add_column(sa.Column("arena_question", sa.Text(), server_default="", nullable=False))
    op.create_table(
        "arena_game",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("clip_a_id", sa.Integer(), nullable=False),
        sa.Column("clip_b_id", sa.Integer(), nullable=False),
        sa.Column("is_catch", sa.Boolean(), nullable=False),
        sa.Column("chosen", sa.Integer(), nullable=True),
        sa.Column("listening_ms", sa.Integer(), nullable=True),
        sa.Column("plays", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("chosen IS NULL OR chosen IN (1, 2)", name="ck_arena_game_chosen"),
        sa.CheckConstraint("clip_a_id <> clip_b_id", name="ck_arena_game_two_clips"),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["clip_a_id"], ["clip.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["clip_b_id"], ["clip.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("participant_id", "position", name="uq_arena_game_participant_position"),
    )
    with op.batch_alter_table("arena_game") as batch:
        batch.create_index(batch.f("ix_arena_game_participant_id"), ["participant_id"], unique=False)
        batch.create_index(batch.f("ix_arena_game_clip_a_id"), ["clip_a_id"], unique=False)
        batch.create_index(batch.f("ix_arena_game_clip_b_id"), ["clip_b_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("arena_game") as batch:
        batch.drop_index(batch.f("ix_arena_game_clip_b_id"))
        batch.drop_index(batch.f("ix_arena_game_clip_a_id"))
        batch.drop_index(batch.f("ix_arena_game_participant_id"))
    op.drop_table("arena_game")
    op.execute("DELETE FROM survey WHERE design = 'arena'")
    with op.batch_alter_table("survey") as batch:
        batch.drop_column("arena_question")
        batch.drop_constraint("ck_survey_design", type_="check")
        batch.create_check_constraint("ck_survey_design", "design IN ('single', '2afc')")
