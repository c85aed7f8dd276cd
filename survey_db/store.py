"""What the survey builder and the results page do: create surveys, add clips, open and close them, read votes.

Every function takes an optional SQLAlchemy ``url`` (default: ``SURVEY_DB_URL``, else the SQLite file) and
returns plain values, never ORM objects, so pages hold no database session. Bad input raises
:class:`core.errors.UserError` before anything is written.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import pandas as pd
from sqlalchemy import func, select

from core.errors import UserError
from core.survey.design import DEFAULT_ARENA_QUESTION, arena_source, validate_design
from survey_db.engine import database_url, transaction, write
from survey_db.models import QUESTIONS, STATUSES, TRUTHS, ArenaGame, Clip, Participant, Response, Survey, Trial

MAX_TITLE_CHARS = 200
MAX_CONSENT_CHARS = 5000
DEFAULT_CONSENT = (
    "You will hear short pieces of folk music. Some were written by people, some were composed by a computer. "
    "For each piece, say which you think it is. It takes about ten minutes. Your answers are anonymous and used "
    "only for research; you may stop at any time. By starting you agree to take part."
)
RESPONSE_COLUMNS = (
    "participant", "clip", "truth", "vote", "rating", "group", "listening_ms", "created_at", "is_catch",
    "age_band", "musical_training", "listening_habits", "comment",
    "platform", "platform_id", "study_id", "session_id",
)


class ClipLike(Protocol):
    """What :func:`add_clips` reads from a clip (``core.clips.PreparedClip`` has it)."""

    truth: str
    group: str
    source: dict
    wav: bytes
    duration_s: float
    loudness_lufs: float
    is_catch: bool


@dataclass(frozen=True)
class SurveySpec:
    """A survey's settings, as the builder sets them.

    question: "binary" (human/machine), "rating" (1-5, 1 = surely human) or "both". clips_per_participant:
    how many non-catch clips each participant hears (0: all). min_listen_seconds: a vote given sooner after
    the clip is shown does not count. completion_code: shown on the thank-you page (crowdsourcing platforms).
    policy: the clip policy (``core.clips.ClipPolicy`` as a dict), kept for the record.
    """

    title: str
    question: str = "binary"
    consent_text: str = DEFAULT_CONSENT
    ask_demographics: bool = False
    ask_comment: bool = False
    headphone_check: bool = False
    clips_per_participant: int = 0
    min_listen_seconds: float = 0.0
    completion_code: str | None = None
    policy: dict = field(default_factory=dict)
    # issue 15: design "single" (one clip at a time) or "2afc" (a human and a machine clip per trial, which was
    # made by a person?; clips_per_participant then counts trials); margin: equivalence margin, set before
    # opening; require_full_play: each clip played to its end before an answer; headphone_screen: the Woods et
    # al. check, screen_fail "flag" or "end"; instructions (shown before the first clip), practice: one trial
    # with the catch clips (or a tone) before the real ones
    design: str = "single"
    margin: float = 0.1
    require_full_play: bool = False
    headphone_screen: bool = False
    screen_fail: str = "flag"
    instructions: str = ""
    practice: bool = False
    screen_test: str = "woods"  # issue 23: "woods" or "huggins" (Milne et al. 2021)
    # issue 19: design "arena" (two clips of two sources per game: which does the listener prefer?), its question
    arena_question: str = DEFAULT_ARENA_QUESTION

    def validate(self) -> None:
        """Raise UserError for an empty title, an unknown question type or a setting out of range."""
        if not self.title.strip() or len(self.title) > MAX_TITLE_CHARS:
            raise UserError(f"A survey needs a title of 1 to {MAX_TITLE_CHARS} characters.")
        if self.question not in QUESTIONS:
            raise UserError(f"Question type must be one of {', '.join(QUESTIONS)}, not {self.question!r}.")
        if len(self.consent_text) > MAX_CONSENT_CHARS:
            raise UserError(f"The consent text may be at most {MAX_CONSENT_CHARS} characters.")
        if not 0 <= self.clips_per_participant <= 1000:
            n = self.clips_per_participant
            raise UserError(f"Clips per participant must be between 0 (all) and 1000, not {n}.")
        if not 0 <= self.min_listen_seconds <= 600:
            raise UserError(f"Minimum listening time must be between 0 and 600 s, not {self.min_listen_seconds}.")
        if self.completion_code is not None and not 1 <= len(self.completion_code.strip()) <= 64:
            raise UserError("A completion code has 1 to 64 characters.")
        validate_design(self.design, self.margin, self.screen_fail, self.instructions, self.screen_test,
                        self.arena_question)


@dataclass(frozen=True)
class SurveyInfo:
    """A survey as the admin pages list it, with its counts."""

    id: int
    token: str
    title: str
    status: str
    question: str
    created_at: datetime
    clips: dict[str, int]  # "human", "machine", "catch" -> number of clips
    participants: int
    finished: int
    responses: int
    clips_per_participant: int
    completion_code: str | None


def new_token(nbytes: int = 8) -> str:
    """A random token of ``2 * nbytes`` lower-case hex digits (16 for 8 bytes): safe in URLs and spreadsheets."""
    return secrets.token_hex(nbytes)


def _check_clips(clips: list[ClipLike], design: str = "single") -> None:
    """UserError unless every clip has a known truth and audio, and the real (not catch) clips hold a human and
    a machine clip, or, in an arena, clips of at least two sources."""
    for clip in clips:
        if clip.truth not in TRUTHS:
            raise UserError(f"A clip is made by a human or a machine, not {clip.truth!r}.")
        if not clip.wav:
            raise UserError("A clip has no audio.")
    real = [c for c in clips if not c.is_catch]
    if design == "arena":
        if len({arena_source(c.truth, c.group) for c in real}) < 2:
            raise UserError("An arena needs clips from at least two sources (models or corpora; catch clips not "
                            "counted).")
        return
    if not any(c.truth == "human" for c in real) or not any(c.truth == "machine" for c in real):
        raise UserError("A survey needs at least one human clip and one machine clip (catch clips not counted).")


def create_survey(spec: SurveySpec, clips: list[ClipLike], url: str | None = None) -> int:
    """Store a new survey (status "draft") and its clips; returns the survey id.

    Raises UserError for bad settings or an empty survey (no human or no machine clip): nothing is written.
    """
    spec.validate()
    _check_clips(clips, spec.design)

    def run(session) -> int:
        survey = Survey(
            token=new_token(), title=spec.title.strip(), status="draft", question=spec.question,
            consent_text=spec.consent_text.strip(), ask_demographics=spec.ask_demographics,
            ask_comment=spec.ask_comment, headphone_check=spec.headphone_check,
            clips_per_participant=spec.clips_per_participant, min_listen_seconds=spec.min_listen_seconds,
            completion_code=(spec.completion_code or "").strip() or None, policy=dict(spec.policy),
            **design_settings(spec),
        )
        session.add(survey)
        session.flush()
        _insert_clips(session, survey.id, clips)
        return survey.id

    return write(run, url)


def design_settings(spec: SurveySpec) -> dict:
    """The issue-15 columns of a survey from its spec, and the arena's question (issue 19)."""
    return {"design": spec.design, "margin": float(spec.margin), "require_full_play": spec.require_full_play,
            "headphone_screen": spec.headphone_screen, "screen_fail": spec.screen_fail,
            "instructions": spec.instructions.strip(), "practice": spec.practice, "screen_test": spec.screen_test,
            "arena_question": spec.arena_question.strip() if spec.design == "arena" else ""}


def _insert_clips(session, survey_id: int, clips: list[ClipLike]) -> None:
    for clip in clips:
        session.add(Clip(
            survey_id=survey_id, public_id=new_token(), truth=clip.truth, group=clip.group, is_catch=clip.is_catch,
            source=clip.source, audio=clip.wav, duration_s=clip.duration_s, loudness_lufs=clip.loudness_lufs,
        ))


def add_clips(survey_id: int, clips: list[ClipLike], url: str | None = None) -> None:
    """Add clips to a draft survey (once open, new clips would upset the balanced deal)."""
    if not clips:
        raise UserError("No clips to add.")

    def run(session) -> None:
        survey = _survey(session, survey_id)
        if survey.status != "draft":
            raise UserError(f"Clips can be added only to a draft survey; {survey.title!r} is {survey.status}.")
        have = session.execute(select(Clip.truth, Clip.is_catch, Clip.group).where(Clip.survey_id == survey_id)).all()
        existing = [_Stub(t, c, g) for t, c, g in have]
        _check_clips(existing + list(clips), survey.design)
        _insert_clips(session, survey_id, clips)

    write(run, url)


@dataclass
class _Stub:
    truth: str
    is_catch: bool
    group: str = ""
    wav: bytes = b"x"


def _survey(session, survey_id: int) -> Survey:
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise UserError(f"There is no survey {survey_id}.")
    return survey


def set_status(survey_id: int, status: str, url: str | None = None) -> None:
    """Open, pause or close a survey. A closed survey stays closed; a draft cannot be paused."""
    if status not in STATUSES or status == "draft":
        raise UserError(f"A survey can be set to open, paused or closed, not {status!r}.")

    def run(session) -> None:
        survey = _survey(session, survey_id)
        if survey.status == "closed" and status != "closed":
            raise UserError(f"{survey.title!r} is closed for good; build a new survey to collect more votes.")
        if survey.status == "draft" and status == "paused":
            raise UserError(f"{survey.title!r} has not been opened yet.")
        survey.status = status

    write(run, url)


def list_surveys(url: str | None = None) -> list[SurveyInfo]:
    """Every survey, newest first, with clip, participant and response counts."""
    with transaction(url) as session:
        surveys = session.scalars(select(Survey).order_by(Survey.id.desc())).all()
        clip_counts = session.execute(
            select(Clip.survey_id, Clip.truth, Clip.is_catch, func.count()).group_by(
                Clip.survey_id, Clip.truth, Clip.is_catch)
        ).all()
        people = dict(session.execute(
            select(Participant.survey_id, func.count()).group_by(Participant.survey_id)).all())
        done = dict(session.execute(
            select(Participant.survey_id, func.count()).where(Participant.finished_at.is_not(None))
            .group_by(Participant.survey_id)).all())
        answers = dict(session.execute(
            select(Participant.survey_id, func.count()).join(Response, Response.participant_id == Participant.id)
            .group_by(Participant.survey_id)).all())
        trials = dict(session.execute(  # 2AFC answers
            select(Participant.survey_id, func.count()).join(Trial, Trial.participant_id == Participant.id)
            .where(Trial.chosen_position.is_not(None)).group_by(Participant.survey_id)).all())
        games = dict(session.execute(  # arena answers
            select(Participant.survey_id, func.count()).join(ArenaGame, ArenaGame.participant_id == Participant.id)
            .where(ArenaGame.chosen.is_not(None)).group_by(Participant.survey_id)).all())
    out = []
    for s in surveys:
        counts = {"human": 0, "machine": 0, "catch": 0}
        for sid, truth, is_catch, n in clip_counts:
            if sid == s.id:
                counts["catch" if is_catch else truth] += n
        out.append(SurveyInfo(
            id=s.id, token=s.token, title=s.title, status=s.status, question=s.question,
            created_at=s.created_at if s.created_at.tzinfo else s.created_at.replace(tzinfo=UTC),
            clips=counts, participants=people.get(s.id, 0), finished=done.get(s.id, 0),
            responses=answers.get(s.id, 0) + trials.get(s.id, 0) + games.get(s.id, 0),
            clips_per_participant=s.clips_per_participant,
            completion_code=s.completion_code,
        ))
    return out


def clip_table(survey_id: int, url: str | None = None) -> pd.DataFrame:
    """One row per clip for the admin: public id, truth, group, catch flag, times dealt, answers, loudness,
    length, and for machine clips the novelty verdict against the model's training tunes."""
    with transaction(url) as session:
        _survey(session, survey_id)
        answers = (select(Response.clip_id, func.count().label("n")).group_by(Response.clip_id)).subquery()
        rows = session.execute(
            select(Clip.public_id, Clip.truth, Clip.group, Clip.is_catch, Clip.assigned,
                   func.coalesce(answers.c.n, 0), Clip.loudness_lufs, Clip.duration_s, Clip.source)
            .outerjoin(answers, answers.c.clip_id == Clip.id).where(Clip.survey_id == survey_id).order_by(Clip.id)
        ).all()
    columns = ["clip", "truth", "group", "is_catch", "dealt", "answers", "loudness_lufs", "duration_s"]
    frame = pd.DataFrame([row[:-1] for row in rows], columns=columns)
    # machine clips: the novelty check against the model's training tunes, when compose ran it
    frame["novelty"] = [(row[-1] or {}).get("novelty") for row in rows]
    return frame


def responses_frame(survey_id: int, url: str | None = None) -> pd.DataFrame:
    """One row per response, in the layout of :mod:`core.survey.stats.schema` plus ``created_at``.

    Columns: participant (str, "p" + a number, not the resume token), clip (the public id), truth, vote
    ("human"/"machine" or missing), rating (Int64 1-5 or missing, 1 = surely human), group (model or
    corpus), listening_ms (int64), created_at (UTC datetime), is_catch (bool), age_band, musical_training,
    listening_habits and comment (str or missing), and the recruitment ids platform, platform_id, study_id and
    session_id (str or missing). Rows are in the order the votes were stored.
    """
    with transaction(url) as session:
        _survey(session, survey_id)
        rows = session.execute(
            select(Participant.id, Clip.public_id, Clip.truth, Response.vote, Response.rating, Clip.group,
                   Response.listening_ms, Response.created_at, Clip.is_catch, Participant.age_band,
                   Participant.musical_training, Participant.listening_habits, Participant.comment,
                   Participant.platform, Participant.platform_id, Participant.study_id, Participant.session_id)
            .join(Participant, Response.participant_id == Participant.id)
            .join(Clip, Response.clip_id == Clip.id)
            .where(Participant.survey_id == survey_id)
            .order_by(Response.id)
        ).all()
    df = pd.DataFrame(rows, columns=list(RESPONSE_COLUMNS))
    text = ["clip", "truth", "vote", "group", "age_band", "musical_training", "listening_habits", "comment",
            "platform", "platform_id", "study_id", "session_id"]
    df["participant"] = ("p" + df["participant"].astype("int64").astype(str)).astype("str")
    for column in text:
        df[column] = df[column].astype("str")  # pandas' string dtype: missing values stay missing
    df["rating"] = df["rating"].astype("Int64")
    df["listening_ms"] = df["listening_ms"].astype("int64")
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    df["is_catch"] = df["is_catch"].astype(bool)
    return df


def database_status(url: str | None = None) -> tuple[bool, str]:
    """Whether the survey database answers, and a sentence for the Home page (the password hidden)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    shown = make_url(url or database_url()).render_as_string(hide_password=True)
    try:
        n = len(list_surveys(url))
    except (SQLAlchemyError, OSError, ValueError) as exc:
        return False, f"The survey database {shown} cannot be opened ({str(exc).splitlines()[0]})."
    return True, f"Survey database ready: {shown}, {n} survey{'s' if n != 1 else ''}."
