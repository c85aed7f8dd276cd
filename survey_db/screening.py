"""The participant's added steps (issue 15): the headphone check, the instructions, 2AFC choices; and, for
the researcher, a survey's responses in its design's layout with the screening columns, and the read-only
dashboard link.

Every participant call takes the survey token and the participant's token, as in
:mod:`survey_db.participants`; nothing here tells the page which tone is quiet or which clip is human.
"""

from __future__ import annotations

import secrets

import pandas as pd
from sqlalchemy import func, select

from core.errors import UserError
from core.survey import headphones
from core.survey.design import arena_source
from survey_db import arena as arenas
from survey_db import paired as pairs
from survey_db.engine import transaction, write
from survey_db.models import Clip, Participant, Response, Survey
from survey_db.participants import MAX_LISTENING_MS, _active, _participant


def screen_trial_wav(survey_token: str, participant_token: str, index: int, url: str | None = None) -> bytes:
    """The WAV of trial ``index`` (0-5) of this participant's headphone check."""
    with transaction(url) as session:
        _, p = _participant(session, survey_token, participant_token)
        key = p.screen_key or []
        if not 0 <= index < len(key):
            raise UserError("That headphone check trial does not exist.")
        trial = key[index]
    return headphones.trial_wav(trial["quiet"], trial.get("antiphase"), seed=trial.get("seed"))


def submit_screen(survey_token: str, participant_token: str, answers: list[int | None], url: str | None = None) -> bool:
    """Store the headphone check's score (once: a second submit changes nothing); True when it passed.

    UserError when an answer is missing or not 1-3.
    """
    if any(a not in (1, 2, 3) for a in answers):
        raise UserError("Please answer every trial: which tone, 1, 2 or 3, was the quietest?")

    def run(session) -> bool:
        survey, p = _active(session, survey_token, participant_token)
        if not p.screen_key:
            raise UserError("This survey has no headphone check.")
        if len(answers) != len(p.screen_key):
            raise UserError(f"Please answer all {len(p.screen_key)} trials of the headphone check.")
        if p.screen_correct is None:
            p.screen_correct = headphones.score(p.screen_key, answers)
        return bool(pairs.passed(p.screen_correct, headphones.PASS_MARK))

    return write(run, url)


def leave(survey_token: str, participant_token: str, url: str | None = None) -> None:
    """A participant stops taking part: their place is freed at once (answers so far are kept; a finished
    participant cannot leave)."""
    from datetime import UTC, datetime

    def run(session) -> None:
        _, p = _participant(session, survey_token, participant_token)
        if p.finished_at is not None:
            raise UserError("You have finished this study already: there is nothing to leave.")
        p.left_at = p.left_at or datetime.now(UTC)

    write(run, url)


def finish_instructions(survey_token: str, participant_token: str, url: str | None = None) -> None:
    """Mark the instructions (and practice trial) read."""

    def run(session) -> None:
        survey, p = _active(session, survey_token, participant_token)
        p.instructions_done = True

    write(run, url)


def record_choice(
    survey_token: str, participant_token: str, position: int, chosen: int, listening_ms: int,
    plays: int | None = None, played_to_end: bool = True, url: str | None = None,
) -> bool:
    """Store a 2AFC answer (1: the first clip was the person's, 2: the second); False when already answered.

    UserError (nothing written) for a survey that is not open, a trial not of this participant, a choice other
    than 1 or 2, a listening time out of range or shorter than the survey's minimum, or clips not played to
    their end when the survey asks for it.
    """
    if not isinstance(listening_ms, int) or not 0 <= listening_ms <= MAX_LISTENING_MS:
        raise UserError(f"Listening time must be 0 to {MAX_LISTENING_MS} ms, not {listening_ms!r}.")

    def run(session) -> bool:
        survey, p = _active(session, survey_token, participant_token)
        if survey.design != "2afc":
            raise UserError("This survey plays one clip at a time.")
        if listening_ms < survey.min_listen_seconds * 1000:
            raise UserError(f"Please listen for at least {survey.min_listen_seconds:g} seconds before answering.")
        if survey.require_full_play and not played_to_end:
            raise UserError("Please play both pieces to their end before answering.")
        return pairs.store_choice(session, survey, p, position, chosen, listening_ms, plays)

    return write(run, url)


def record_preference(
    survey_token: str, participant_token: str, position: int, chosen: int, listening_ms: int,
    plays: int | None = None, played_to_end: bool = True, url: str | None = None,
) -> bool:
    """Store an arena answer (1: the left piece preferred, 2: the right); False when already answered.

    UserError (nothing written) as :func:`record_choice`, for an arena survey's games.
    """
    if not isinstance(listening_ms, int) or not 0 <= listening_ms <= MAX_LISTENING_MS:
        raise UserError(f"Listening time must be 0 to {MAX_LISTENING_MS} ms, not {listening_ms!r}.")

    def run(session) -> bool:
        survey, p = _active(session, survey_token, participant_token)
        if survey.design != "arena":
            raise UserError("This survey has no arena games.")
        if listening_ms < survey.min_listen_seconds * 1000:
            raise UserError(f"Please listen for at least {survey.min_listen_seconds:g} seconds before answering.")
        if survey.require_full_play and not played_to_end:
            raise UserError("Please play both pieces to their end before answering.")
        return arenas.store_preference(session, survey, p, position, chosen, listening_ms, plays)

    return write(run, url)


def _single_frame(survey_id: int, url: str | None) -> pd.DataFrame:
    """:func:`survey_db.store.responses_frame` plus plays and headphone_passed (same rows, same order)."""
    from survey_db.store import responses_frame

    df = responses_frame(survey_id, url)
    with transaction(url) as session:
        survey = session.get(Survey, survey_id)
        rows = session.execute(
            select(Response.plays, Participant.screen_correct)
            .join(Participant, Response.participant_id == Participant.id)
            .where(Participant.survey_id == survey_id).order_by(Response.id)).all()
        screened, margin = survey.headphone_screen, survey.margin
    df["plays"] = pd.array([r[0] for r in rows], dtype="Int64")
    df["headphone_passed"] = [pairs.passed(r[1]) if screened else None for r in rows]
    df["preregistered_margin"] = float(margin)
    return df


def raw_responses(survey_id: int, url: str | None = None) -> tuple[pd.DataFrame, str]:
    """The stored answers of a survey as its CSV export would hold them, and its design ("single", "2afc" or
    "arena")."""
    with transaction(url) as session:
        survey = session.get(Survey, survey_id)
        if survey is None:
            raise UserError(f"There is no survey {survey_id}.")
        design = survey.design
    if design == "2afc":
        return pairs.trials_frame(survey_id, url), design
    if design == "arena":
        return arenas.games_frame(survey_id, url), design
    return _single_frame(survey_id, url), design


def export_csv(frame: pd.DataFrame, design: str) -> str:
    """The CSV download of :func:`raw_responses`."""
    from core.survey.arena_io import arena_to_csv
    from core.survey.paired_io import pairs_to_csv
    from core.survey.responses import responses_to_csv

    if design == "arena":
        return arena_to_csv(frame)
    return pairs_to_csv(frame) if design == "2afc" else responses_to_csv(frame)


def survey_responses(survey_id: int, url: str | None = None) -> tuple[pd.DataFrame, float]:
    """The analysed layout of a survey's answers (through the CSV export and import, so the page, the CLI's
    ``--survey`` and a downloaded CSV give the same figures) and the survey's equivalence margin."""
    from core.survey.paired_io import read_any

    frame, design = raw_responses(survey_id, url)
    if frame.empty:
        raise UserError("This survey has no answers yet.")
    with transaction(url) as session:
        margin = session.get(Survey, survey_id).margin
    return read_any(export_csv(frame, design).encode()), float(margin)


def dashboard_link_token(survey_id: int, url: str | None = None) -> str:
    """The survey's read-only dashboard token, made now if it has none."""

    def run(session) -> str:
        survey = session.get(Survey, survey_id)
        if survey is None:
            raise UserError(f"There is no survey {survey_id}.")
        if survey.dashboard_token is None:
            survey.dashboard_token = secrets.token_hex(16)
        return survey.dashboard_token

    return write(run, url)


def revoke_dashboard(survey_id: int, url: str | None = None) -> None:
    """Revoke the read-only link: the old token stops working at once (a new one can be made later)."""

    def run(session) -> None:
        survey = session.get(Survey, survey_id)
        if survey is None:
            raise UserError(f"There is no survey {survey_id}.")
        survey.dashboard_token = None

    write(run, url)


def dashboard_survey(token: str, url: str | None = None) -> int:
    """The survey id of a read-only dashboard token; UserError when the token is unknown or revoked."""
    if not token or len(token) > 64:
        raise UserError("This dashboard link is not valid (or it was revoked).")
    with transaction(url) as session:
        survey_id = session.scalar(select(Survey.id).where(Survey.dashboard_token == token))
    if survey_id is None:
        raise UserError("This dashboard link is not valid (or it was revoked).")
    return int(survey_id)


def survey_settings(survey_id: int, url: str | None = None) -> dict:
    """The issue-15 settings of a survey (design, margin, screening, dashboard token) for the admin pages."""
    with transaction(url) as session:
        s = session.get(Survey, survey_id)
        if s is None:
            raise UserError(f"There is no survey {survey_id}.")
        counts = dict(session.execute(select(Clip.truth, func.count()).where(
            Clip.survey_id == survey_id, Clip.is_catch.is_(False)).group_by(Clip.truth)).all())
        catch = session.scalar(select(func.count()).select_from(Clip).where(Clip.survey_id == survey_id,
                                                                              Clip.is_catch.is_(True)))
        humans, machines = counts.get("human", 0), counts.get("machine", 0)
        sources = len({arena_source(t, g) for t, g in session.execute(select(Clip.truth, Clip.group).where(
            Clip.survey_id == survey_id, Clip.is_catch.is_(False))).all()})
        pairings = sources * (sources - 1) // 2 if s.design == "arena" else humans * machines
        return {"design": s.design, "margin": s.margin, "require_full_play": s.require_full_play,
                "headphone_screen": s.headphone_screen, "screen_fail": s.screen_fail, "screen_test": s.screen_test,
                "instructions": s.instructions, "practice": s.practice, "dashboard_token": s.dashboard_token,
                "pairings": pairings, "clips": humans + machines, "catch": bool(catch), "sources": sources,
                "arena_question": s.arena_question}
