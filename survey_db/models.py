"""The ORM: surveys, their clips, participants and responses.

Nothing a participant's browser receives comes from a column that knows the answer: clips are shown by
``public_id`` (random, fixed length), never by ``id`` (insertion order) or ``truth``/``group``/``source``.
Times are UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

STATUSES = ("draft", "open", "paused", "closed")
DESIGNS = ("single", "2afc", "arena")  # one clip at a time (vote and/or rating); paired forced choice; arena
SCREEN_TESTS = ("woods", "huggins")  # the headphone check: Woods et al. 2017, or Huggins pitch (Milne et al. 2021)
SCREEN_FAIL = ("flag", "end")  # a failed headphone check: flag the participant, or end their visit politely
QUESTIONS = ("binary", "rating", "both")
TRUTHS = ("human", "machine")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Survey(Base):
    """One listening test: its settings, status and participant-link token."""

    __tablename__ = "survey"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'open', 'paused', 'closed')", name="ck_survey_status"),
        CheckConstraint("question IN ('binary', 'rating', 'both')", name="ck_survey_question"),
        CheckConstraint("clips_per_participant >= 0", name="ck_survey_clips_per_participant"),
        CheckConstraint("design IN ('single', '2afc', 'arena')", name="ck_survey_design"),
        CheckConstraint("margin > 0 AND margin < 0.5", name="ck_survey_margin"),
        CheckConstraint("screen_fail IN ('flag', 'end')", name="ck_survey_screen_fail"),
        UniqueConstraint("dashboard_token", name="uq_survey_dashboard_token"),
        CheckConstraint("screen_test IN ('woods', 'huggins')", name="ck_survey_screen_test"),
        CheckConstraint("abandon_minutes > 0", name="ck_survey_abandon_minutes"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    question: Mapped[str] = mapped_column(String(10), default="binary")
    consent_text: Mapped[str] = mapped_column(Text, default="")
    ask_demographics: Mapped[bool] = mapped_column(Boolean, default=False)
    ask_comment: Mapped[bool] = mapped_column(Boolean, default=False)
    headphone_check: Mapped[bool] = mapped_column(Boolean, default=False)
    clips_per_participant: Mapped[int] = mapped_column(Integer, default=0)  # 0: every clip
    min_listen_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    completion_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    policy: Mapped[dict] = mapped_column(JSON, default=dict)  # core.clips.ClipPolicy as a dict
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # issue 15 (migration 0002): the paired design, the equivalence margin, measured listening, screening
    design: Mapped[str] = mapped_column(String(10), default="single")
    margin: Mapped[float] = mapped_column(Float, default=0.1)  # TOST: accuracy within 0.5 +/- margin
    require_full_play: Mapped[bool] = mapped_column(Boolean, default=False)
    headphone_screen: Mapped[bool] = mapped_column(Boolean, default=False)  # Woods et al. 2017
    screen_fail: Mapped[str] = mapped_column(String(10), default="flag")
    instructions: Mapped[str] = mapped_column(Text, default="")
    practice: Mapped[bool] = mapped_column(Boolean, default=False)
    dashboard_token: Mapped[str | None] = mapped_column(String(32), nullable=True)  # read-only Results link
    # recruitment (survey_db.recruit): where a finished participant is sent, and how many the survey takes
    completion_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    max_participants: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 0: no quota
    # issue 23 (migration 0004): where a screened-out participant is sent, when a silent visit frees its place,
    # and which headphone check is given
    screenout_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    screenout_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    abandon_minutes: Mapped[float] = mapped_column(Float, default=60.0, server_default="60")
    screen_test: Mapped[str] = mapped_column(String(10), default="woods", server_default="woods")
    # issue 19 (migration 0005): the arena's question (which of two pieces the listener prefers)
    arena_question: Mapped[str] = mapped_column(Text, default="", server_default="")


class Clip(Base):
    """One audio excerpt and what made it; ``assigned`` counts the participants dealt this clip."""

    __tablename__ = "clip"
    __table_args__ = (CheckConstraint("truth IN ('human', 'machine')", name="ck_clip_truth"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    truth: Mapped[str] = mapped_column(String(10))
    group: Mapped[str] = mapped_column(String(200))
    is_catch: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[dict] = mapped_column(JSON, default=dict)
    audio: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    duration_s: Mapped[float] = mapped_column(Float)
    loudness_lufs: Mapped[float] = mapped_column(Float)
    assigned: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Participant(Base):
    """One person taking one survey: the resume token of their link, their clip plan and answers."""

    __tablename__ = "participant"
    __table_args__ = (
        UniqueConstraint("survey_id", "platform", "platform_id", name="uq_participant_platform_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(48), unique=True, index=True)
    plan: Mapped[list] = mapped_column(JSON)  # clip ids in the order this participant hears them
    consented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    demographics_done: Mapped[bool] = mapped_column(Boolean, default=False)
    age_band: Mapped[str | None] = mapped_column(String(40), nullable=True)
    musical_training: Mapped[str | None] = mapped_column(String(60), nullable=True)
    listening_habits: Mapped[str | None] = mapped_column(String(60), nullable=True)
    headphone_tones: Mapped[int] = mapped_column(Integer)  # tones in this participant's volume check
    headphone_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    screen_key: Mapped[list | None] = mapped_column(JSON, nullable=True)  # the quiet tone (1-3) of each trial
    screen_correct: Mapped[int | None] = mapped_column(Integer, nullable=True)
    instructions_done: Mapped[bool] = mapped_column(Boolean, default=False)
    # recruitment (survey_db.recruit): the platform's ids from the link, and a keyed hash of the client's address
    platform: Mapped[str | None] = mapped_column(String(10), nullable=True)  # prolific, mturk or pid
    platform_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    study_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    client_key: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    # issue 23: the last answer (a visit silent for the survey's abandon_minutes frees its place), and leaving
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Response(Base):
    """One answer: a vote and/or a 1-5 rating (1 = surely human) on one clip, once per participant."""

    __tablename__ = "response"
    __table_args__ = (
        UniqueConstraint("participant_id", "clip_id", name="uq_response_participant_clip"),
        CheckConstraint("vote IS NULL OR vote IN ('human', 'machine')", name="ck_response_vote"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="ck_response_rating"),
        CheckConstraint("vote IS NOT NULL OR rating IS NOT NULL", name="ck_response_answer"),
        CheckConstraint("listening_ms >= 0", name="ck_response_listening_ms"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), index=True)
    vote: Mapped[str | None] = mapped_column(String(10), nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    listening_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    plays: Mapped[int | None] = mapped_column(Integer, nullable=True)  # times Play was pressed (None: not measured)


class Trial(Base):
    """One 2AFC trial dealt to a participant: a human and a machine clip, the human one first (1) or second (2);
    chosen_position is the participant's answer (None until given)."""

    __tablename__ = "trial"
    __table_args__ = (
        UniqueConstraint("participant_id", "position", name="uq_trial_participant_position"),
        CheckConstraint("human_position IN (1, 2)", name="ck_trial_human_position"),
        CheckConstraint("chosen_position IS NULL OR chosen_position IN (1, 2)", name="ck_trial_chosen_position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order within the participant's visit, from 0
    human_clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), index=True)
    machine_clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), index=True)
    human_position: Mapped[int] = mapped_column(Integer)
    is_catch: Mapped[bool] = mapped_column(Boolean, default=False)
    chosen_position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    listening_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    plays: Mapped[int | None] = mapped_column(Integer, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ArenaGame(Base):
    """One arena game dealt to a participant (issue 19): two clips from two different sources, clip_a played
    first (left) and clip_b second (right); chosen is the participant's preference, 1 or 2 (None until given)."""

    __tablename__ = "arena_game"
    __table_args__ = (
        UniqueConstraint("participant_id", "position", name="uq_arena_game_participant_position"),
        CheckConstraint("chosen IS NULL OR chosen IN (1, 2)", name="ck_arena_game_chosen"),
        CheckConstraint("clip_a_id <> clip_b_id", name="ck_arena_game_two_clips"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order within the participant's visit, from 0
    clip_a_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), index=True)
    clip_b_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), index=True)
    is_catch: Mapped[bool] = mapped_column(Boolean, default=False)
    chosen: Mapped[int | None] = mapped_column(Integer, nullable=True)
    listening_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    plays: Mapped[int | None] = mapped_column(Integer, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
