"""What the participant page does: join a survey, answer the optional steps, hear and judge clips, finish.

A participant is known by the random token in their link; every call takes the survey token too, and a
participant token from another survey (or made up) is refused. Each answer is stored in its own transaction
the moment it is given; the unique (participant, clip) constraint with ``ON CONFLICT DO NOTHING`` makes a
repeated submit harmless. A survey that is not open takes no participants and no answers.

Clips are dealt when a participant joins (:func:`deal`): as many human as machine clips, the ones dealt
least often so far first, in a random order, so every clip collects about the same number of votes.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.errors import UserError
from core.server import server_settings
from core.survey import headphones
from survey_db import arena as arenas
from survey_db import paired as pairs
from survey_db import places, recruit
from survey_db.engine import database_url, transaction, write
from survey_db.models import Clip, Participant, Response, Survey
from survey_db.paired import PublicTrial

AGE_BANDS = ("under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65 or over")
MUSICAL_TRAINING = ("none", "under 2 years", "2-5 years", "over 5 years", "professional musician")
LISTENING_HABITS = ("rarely", "sometimes", "often", "I play or sing it")
"""How often the participant listens to folk or traditional music."""
MAX_COMMENT_CHARS = 2000
MAX_LISTENING_MS = 3_600_000
UNKNOWN_SURVEY = "This survey link is not valid: check that you copied all of it."
BAD_PARTICIPANT = "This participant link is not valid for this survey."
NOT_OPEN = {
    "draft": "This survey has not started yet.",
    "paused": "This survey is paused for now: please come back later.",
    "closed": "This survey is closed: it takes no more answers. Thank you for your interest.",
}


@dataclass(frozen=True)
class PublicSurvey:
    """What a participant may know about a survey (nothing about its clips)."""

    token: str
    title: str
    status: str
    question: str
    consent_text: str
    ask_demographics: bool
    ask_comment: bool
    headphone_check: bool
    min_listen_seconds: float
    policy: dict
    design: str = "single"
    require_full_play: bool = False
    headphone_screen: bool = False
    screen_fail: str = "flag"
    instructions: str = ""
    practice: bool = False
    screen_test: str = "woods"
    arena_question: str = ""


@dataclass(frozen=True)
class ParticipantState:
    """Where a participant is: step is "demographics", "headphones" (volume check), "screen" (the headphone
    check), "screened_out" (failed it, where the survey ends visits then), "left" (left the study), "timed_out" (silent
    longer than the survey's abandon time: the place went to someone else), "instructions", "clip", "pair"
    (2AFC), "game" (arena), "comment" or "done".

    answered/total count clips (trials in 2AFC, games in the arena); clip is the public id of the next clip (step
    "clip"), trial the next 2AFC trial or arena game (its clips left first); completion_code is set at "done" when
    the survey has one.
    """

    survey: PublicSurvey
    step: str
    answered: int
    total: int
    clip: str | None
    headphone_tones: int
    completion_code: str | None
    trial: PublicTrial | None = None


@dataclass(frozen=True)
class Slot:
    """A clip as :func:`deal` sees it."""

    id: int
    truth: str
    is_catch: bool
    assigned: int


def deal(clips: list[Slot], per_participant: int, rng: random.Random) -> list[int]:
    """The clip ids one participant hears, in order.

    ``per_participant`` non-catch clips (0 or more than there are: all), half human and half machine (an odd
    one to a random side; a side short of clips gives its share to the other), the least-dealt clips of each
    side first with random tie-breaks; every catch clip is added; the whole list is shuffled.
    """
    real = [c for c in clips if not c.is_catch]
    sides = {t: [c for c in real if c.truth == t] for t in ("human", "machine")}
    k = len(real) if per_participant <= 0 or per_participant >= len(real) else per_participant
    want = {"human": k // 2, "machine": k // 2}
    if k % 2:
        want[rng.choice(["human", "machine"])] += 1
    for side, other in (("human", "machine"), ("machine", "human")):
        short = want[side] - len(sides[side])
        if short > 0:
            want[side] -= short
            want[other] += short
    chosen = []
    for side, pool in sides.items():
        chosen += sorted(pool, key=lambda c: (c.assigned, rng.random()))[: want[side]]
    plan = [c.id for c in chosen + [c for c in clips if c.is_catch]]
    rng.shuffle(plan)
    return plan


def _public(survey: Survey) -> PublicSurvey:
    return PublicSurvey(
        token=survey.token, title=survey.title, status=survey.status, question=survey.question,
        consent_text=survey.consent_text, ask_demographics=survey.ask_demographics, ask_comment=survey.ask_comment,
        headphone_check=survey.headphone_check, min_listen_seconds=survey.min_listen_seconds,
        policy=dict(survey.policy or {}), design=survey.design, require_full_play=survey.require_full_play,
        headphone_screen=survey.headphone_screen, screen_fail=survey.screen_fail, instructions=survey.instructions,
        practice=survey.practice, screen_test=survey.screen_test, arena_question=survey.arena_question,
    )


def public_survey(survey_token: str, url: str | None = None) -> PublicSurvey:
    """The survey of a link; UserError when the token matches none."""
    with transaction(url) as session:
        survey = session.scalars(select(Survey).where(Survey.token == survey_token)).first()
        if survey is None:
            raise UserError(UNKNOWN_SURVEY)
        return _public(survey)


def _require_open(survey: Survey) -> None:
    if survey.status != "open":
        raise UserError(NOT_OPEN[survey.status])


def join(survey_token: str, url: str | None = None, ids: recruit.LinkIds | None = None, client: str | None = None,
         joins_per_minute: int | None = None) -> str:
    """Register a participant who consented to an open survey; returns their token (it goes in their link).

    ``ids``: the recruitment platform's ids from the link (an id that joined before gets its first
    participation's token back); ``client``: :func:`survey_db.recruit.client_key` of the address, for the
    join rate limit (``joins_per_minute``, default ``TUNELAB_JOINS_PER_MINUTE``). See :mod:`survey_db.recruit`.
    """
    per_minute = joins_per_minute or server_settings().joins_per_minute

    def run(session) -> str:
        survey = session.scalars(select(Survey).where(Survey.token == survey_token).with_for_update()).first()
        if survey is None:
            raise UserError(UNKNOWN_SURVEY)
        _require_open(survey)
        earlier = recruit.admit(session, survey, ids, client, per_minute)
        if earlier is not None:
            return earlier  # the same platform id again: resume its participation
        clips = session.scalars(select(Clip).where(Clip.survey_id == survey.id)).all()
        rng = random.Random(secrets.randbits(64))
        paired = survey.design in ("2afc", "arena")
        plan = [] if paired else deal([Slot(c.id, c.truth, c.is_catch, c.assigned) for c in clips],
                                      survey.clips_per_participant, rng)
        participant = Participant(
            survey_id=survey.id, token=secrets.token_hex(16), plan=plan, headphone_tones=rng.randint(2, 5),
            screen_key=headphones.new_key(rng, test=survey.screen_test) if survey.headphone_screen else None,
        )
        recruit.label(participant, ids, client)
        session.add(participant)
        if paired:
            session.flush()
            add = arenas.add_games if survey.design == "arena" else pairs.add_trials
            participant.plan = plan = add(session, survey, participant, clips, rng)
        for clip in clips:
            if clip.id in plan:
                clip.assigned += 1
        return participant.token

    return write(run, url)


def _participant(session, survey_token: str, participant_token: str) -> tuple[Survey, Participant]:
    row = session.execute(
        select(Survey, Participant).join(Participant, Participant.survey_id == Survey.id)
        .where(Participant.token == participant_token, Survey.token == survey_token)
    ).first()
    if row is None:
        if session.scalar(select(Survey.id).where(Survey.token == survey_token)) is None:
            raise UserError(UNKNOWN_SURVEY)
        raise UserError(BAD_PARTICIPANT)  # made up, or from another survey
    return row[0], row[1]


def _active(session, survey_token: str, participant_token: str) -> tuple[Survey, Participant]:
    """The survey and participant of a write: UserError unless the survey is open and the participant still
    holds a place (not left, not timed out); the participant is noted as seen now."""
    survey, p = _participant(session, survey_token, participant_token)
    _require_open(survey)
    places.touch(survey, p)
    return survey, p


def _answered(session, participant: Participant) -> set[int]:
    return set(session.scalars(select(Response.clip_id).where(Response.participant_id == participant.id)))


def state(survey_token: str, participant_token: str, url: str | None = None) -> ParticipantState:
    """The participant's next step (resuming after a reload or a lost connection starts here)."""
    with transaction(url) as session:
        survey, p = _participant(session, survey_token, participant_token)
        answered = _answered(session, p)
        remaining = [cid for cid in p.plan if cid not in answered]
        clip = trial = None
        if survey.design in ("2afc", "arena"):
            trial = arenas.next_game(session, p) if survey.design == "arena" else pairs.next_trial(session, p)
            done, total = _progress(session, survey, p)
            remaining, p_total = ([trial] if trial else []), total
        else:
            p_total = len(p.plan)
        screened_out = survey.screen_fail == "end" and places.failed_screen(survey, p)
        if p.left_at is not None:
            step = "left"
        elif screened_out:
            step = "screened_out"
        elif places.timed_out(survey, p):
            step = "timed_out"
        elif survey.ask_demographics and not p.demographics_done:
            step = "demographics"
        elif survey.headphone_check and not p.headphone_ok:
            step = "headphones"
        elif survey.headphone_screen and p.screen_correct is None:
            step = "screen"
        elif (survey.instructions or survey.practice) and not p.instructions_done:
            step = "instructions"
        elif trial is not None:
            step = "game" if survey.design == "arena" else "pair"
        elif remaining:
            step = "clip"
            clip = session.scalar(select(Clip.public_id).where(Clip.id == remaining[0]))
        elif survey.ask_comment and p.finished_at is None:
            step = "comment"
        else:
            step = "done"
        answered_n = done if survey.design in ("2afc", "arena") else len(p.plan) - len(remaining)
        return ParticipantState(
            survey=_public(survey), step=step, answered=answered_n, total=p_total, clip=clip,
            headphone_tones=p.headphone_tones, completion_code=survey.completion_code if step == "done" else None,
            trial=trial,
        )


def _one_of(value: str | None, options: tuple[str, ...], what: str) -> str | None:
    if value is not None and value not in options:
        raise UserError(f"{what} must be one of {', '.join(options)}, not {value!r}.")
    return value


def save_demographics(
    survey_token: str, participant_token: str, age_band: str | None, musical_training: str | None,
    listening_habits: str | None, url: str | None = None,
) -> None:
    """Store the optional demographic answers (each None when not given)."""
    _one_of(age_band, AGE_BANDS, "Age band")
    _one_of(musical_training, MUSICAL_TRAINING, "Musical training")
    _one_of(listening_habits, LISTENING_HABITS, "Listening habits")

    def run(session) -> None:
        survey, p = _active(session, survey_token, participant_token)
        p.age_band, p.musical_training, p.listening_habits = age_band, musical_training, listening_habits
        p.demographics_done = True

    write(run, url)


def check_headphones(survey_token: str, participant_token: str, tones: int, url: str | None = None) -> bool:
    """Whether the participant counted the tones of their volume check right; a right answer is stored."""

    def run(session) -> bool:
        survey, p = _active(session, survey_token, participant_token)
        if tones == p.headphone_tones:
            p.headphone_ok = True
        return tones == p.headphone_tones

    return write(run, url)


def clip_audio(survey_token: str, participant_token: str, public_id: str, url: str | None = None) -> bytes:
    """The WAV bytes of a clip dealt to this participant (kept in memory once read: a clip's audio never
    changes, an edited draft's clip is a new clip)."""
    with transaction(url) as session:
        _, p = _participant(session, survey_token, participant_token)
        clip_id = session.scalar(select(Clip.id).where(Clip.public_id == public_id))
        if clip_id is None or clip_id not in p.plan:
            raise UserError("That clip is not part of your survey.")
    return _clip_wav(url or database_url(), clip_id)


@lru_cache(maxsize=48)
def _clip_wav(url: str, clip_id: int) -> bytes:
    with transaction(url) as session:
        return session.scalar(select(Clip.audio).where(Clip.id == clip_id))


def _check_answer(question: str, vote: str | None, rating: int | None) -> None:
    if vote is not None and vote not in ("human", "machine"):
        raise UserError(f"A vote is 'human' or 'machine', not {vote!r}.")
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5):
        raise UserError(f"A rating is a whole number from 1 (surely human) to 5 (surely machine), not {rating!r}.")
    if question in ("binary", "both") and vote is None:
        raise UserError("Please say whether a human or a machine made this piece.")
    if question in ("rating", "both") and rating is None:
        raise UserError("Please rate this piece from 1 (surely human) to 5 (surely machine).")
    if question == "binary" and rating is not None or question == "rating" and vote is not None:
        raise UserError(f"This survey does not ask for a {'rating' if question == 'binary' else 'vote'}.")


def record_vote(
    survey_token: str, participant_token: str, public_id: str, vote: str | None, rating: int | None,
    listening_ms: int, url: str | None = None, plays: int | None = None, played_to_end: bool = True,
) -> bool:
    """Store one answer at once; True when stored, False when this participant had already answered the clip.

    plays: how often Play was pressed (None: not measured); played_to_end: False refuses the answer when the
    survey asks for each clip to be played to its end.

    UserError (nothing written) for: a survey that is not open, a participant or clip not of this survey,
    a vote other than human/machine, a rating outside 1-5, a missing or unasked answer, a listening time that
    is negative or over an hour, or an answer given before the survey's minimum listening time.
    """
    if not isinstance(listening_ms, int) or not 0 <= listening_ms <= MAX_LISTENING_MS:
        raise UserError(f"Listening time must be 0 to {MAX_LISTENING_MS} ms, not {listening_ms!r}.")

    def run(session) -> bool:
        survey, p = _active(session, survey_token, participant_token)
        clip_id = session.scalar(select(Clip.id).where(Clip.public_id == public_id, Clip.survey_id == survey.id))
        if clip_id is None or clip_id not in p.plan:
            raise UserError("That clip is not part of your survey.")
        _check_answer(survey.question, vote, rating)
        if listening_ms < survey.min_listen_seconds * 1000:
            raise UserError(f"Please listen for at least {survey.min_listen_seconds:g} seconds before answering.")
        if survey.require_full_play and not played_to_end:
            raise UserError("Please play the piece to its end before answering.")
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(Response).values(
            participant_id=p.id, clip_id=clip_id, vote=vote, rating=rating, listening_ms=listening_ms,
            created_at=datetime.now(UTC), plays=plays,
        ).on_conflict_do_nothing(index_elements=["participant_id", "clip_id"]).returning(Response.id)
        stored = session.execute(stmt).first() is not None  # no row back: the unique pair was already there
        if stored and not survey.ask_comment:
            n = session.scalar(select(func.count()).select_from(Response).where(Response.participant_id == p.id))
            if n == len(p.plan):
                p.finished_at = datetime.now(UTC)
                places.close_when_full(session, survey)
        return stored

    return write(run, url)


def _progress(session, survey: Survey, p: Participant) -> tuple[int, int]:
    """(answered, total) clips, 2AFC trials or arena games of a participant."""
    if survey.design == "2afc":
        return pairs.trial_counts(session, p)
    if survey.design == "arena":
        return arenas.game_counts(session, p)
    return len(_answered(session, p)), len(p.plan)


def finish(survey_token: str, participant_token: str, comment: str | None, url: str | None = None) -> None:
    """Store the optional free-text comment and mark the participant finished."""
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        raise UserError(f"Your comment has {len(comment):,} characters; please keep it under {MAX_COMMENT_CHARS:,}.")

    def run(session) -> None:
        survey, p = _active(session, survey_token, participant_token)
        done, total = _progress(session, survey, p)
        if done < total:
            raise UserError("Please answer every clip before finishing.")
        p.comment = comment
        p.finished_at = p.finished_at or datetime.now(UTC)
        places.close_when_full(session, survey)

    write(run, url)
