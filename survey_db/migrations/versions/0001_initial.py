"""surveys, clips, participants, responses

Revision ID: 0001
Revises:
Create Date: 2026-11-24 23:53:02.442205
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("question", sa.String(length=10), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("ask_demographics", sa.Boolean(), nullable=False),
        sa.Column("ask_comment", sa.Boolean(), nullable=False),
        sa.Column("headphone_check", sa.Boolean(), nullable=False),
        sa.Column("clips_per_participant", sa.Integer(), nullable=False),
        sa.Column("min_listen_seconds", sa.Float(), nullable=False),
        sa.Column("completion_code", sa.String(length=64), nullable=True),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("question IN ('binary', 'rating', 'both')", name="ck_survey_question"),
        sa.CheckConstraint("status IN ('draft', 'open', 'paused', 'closed')", name="ck_survey_status"),
        sa.CheckConstraint("clips_per_participant >= 0", name="ck_survey_clips_per_participant"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_token"), ["token"], unique=True)

    op.create_table(
        "clip",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("truth", sa.String(length=10), nullable=False),
        sa.Column("group", sa.String(length=200), nullable=False),
        sa.Column("is_catch", sa.Boolean(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("loudness_lufs", sa.Float(), nullable=False),
        sa.Column("assigned", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("truth IN ('human', 'machine')", name="ck_clip_truth"),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clip_public_id"), ["public_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_clip_survey_id"), ["survey_id"], unique=False)

    op.create_table(
        "participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=48), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("demographics_done", sa.Boolean(), nullable=False),
        sa.Column("age_band", sa.String(length=40), nullable=True),
        sa.Column("musical_training", sa.String(length=60), nullable=True),
        sa.Column("listening_habits", sa.String(length=60), nullable=True),
        sa.Column("headphone_tones", sa.Integer(), nullable=False),
        sa.Column("headphone_ok", sa.Boolean(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participant_survey_id"), ["survey_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_participant_token"), ["token"], unique=True)

    op.create_table(
        "response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("clip_id", sa.Integer(), nullable=False),
        sa.Column("vote", sa.String(length=10), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("listening_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("vote IS NULL OR vote IN ('human', 'machine')", name="ck_response_vote"),
        sa.CheckConstraint("listening_ms >= 0", name="ck_response_listening_ms"),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="ck_response_rating"),
        sa.CheckConstraint("vote IS NOT NULL OR rating IS NOT NULL", name="ck_response_answer"),
        sa.ForeignKeyConstraint(["clip_id"], ["clip.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("participant_id", "clip_id", name="uq_response_participant_clip"),
    )
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_response_clip_id"), ["clip_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_response_participant_id"), ["participant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_response_participant_id"))
        batch_op.drop_index(batch_op.f("ix_response_clip_id"))

    op.drop_table("response")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participant_token"))
        batch_op.drop_index(batch_op.f("ix_participant_survey_id"))

    op.drop_table("participant")
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clip_survey_id"))
        batch_op.drop_index(batch_op.f("ix_clip_public_id"))

    op.drop_table("clip")
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_token"))

    op.drop_table("survey")
