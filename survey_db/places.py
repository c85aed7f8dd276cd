"""A survey's quota counts places (issue 23): a place is held by a participant who finished and passed the
screening the researcher chose, or by one still taking part. Places free up when a participant leaves, fails
the headphone check, or stays silent longer than the survey's ``abandon_minutes`` (a closed tab, a Prolific
"return"), so a study whose quota is 50 reaches 50 counted finishers.

Counted finisher: ``finished_at`` set, not left, and (when the survey screens headphones) a passing check.
Active: not finished, not left, not failed the check, and heard from (``last_seen_at``: joining or any answer)
within ``abandon_minutes``. A participant silent for longer has timed out: their later answers are refused.

The survey closes itself when its counted finishers reach the quota: :func:`close_when_full`, called in the
same transaction as the answer that finishes a participant, in either design, after locking the survey row
(``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers). The lock comes before
the finisher's row is written a second time in that transaction: that write makes PostgreSQL re-check the
foreign key, a key-share lock on the survey row, and two finishers holding one each would deadlock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, true

from core.errors import UserError
from core.survey.headphones import PASS_MARK
from survey_db.models import Participant, Survey

FULL = "This survey has all the participants it needs: thank you for your interest."
TIMED_OUT = ("Your time for this study ran out, so your place was given to someone else: "
             "thank you for your interest.")
LEFT = "You left this study: your place was given to someone else. Thank you for your time."


def aware(moment: datetime | None) -> datetime | None:
    """A stored time as UTC-aware (SQLite gives naive UTC back)."""
    return None if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def _passed(survey: Survey):
    """SQL: the participant passed the survey's headphone check (always true without one)."""
    return Participant.screen_correct >= PASS_MARK if survey.headphone_screen else true()


def counted_finishers(session, survey: Survey) -> int:
    """Finished, not left, and passed the survey's screening: the participants the quota counts."""
    return int(session.scalar(select(func.count()).select_from(Participant).where(
        Participant.survey_id == survey.id, Participant.finished_at.is_not(None), Participant.left_at.is_(None),
        _passed(survey))) or 0)


def active(session, survey: Survey, now: datetime | None = None) -> int:
    """Participants still taking part: unfinished, not left, not failed, heard from within abandon_minutes."""
    cutoff = (now or datetime.now(UTC)) - timedelta(minutes=survey.abandon_minutes)
    not_failed = or_(Participant.screen_correct.is_(None), Participant.screen_correct >= PASS_MARK) \
        if survey.headphone_screen else true()
    return int(session.scalar(select(func.count()).select_from(Participant).where(
        Participant.survey_id == survey.id, Participant.finished_at.is_(None), Participant.left_at.is_(None),
        func.coalesce(Participant.last_seen_at, Participant.consented_at) >= cutoff, not_failed)) or 0)


def check_room(session, survey: Survey) -> None:
    """UserError(FULL) when counted finishers plus active participants fill the quota (0: no quota)."""
    if survey.max_participants and counted_finishers(session, survey) + active(session, survey) \
            >= survey.max_participants:
        raise UserError(FULL)


def close_when_full(session, survey: Survey) -> None:
    """Close the survey once its counted finishers reach the quota (called when a participant finishes)."""
    if not survey.max_participants:
        return
    # lock first: writing the finisher's row again first would take a key-share lock on the survey row
    # (PostgreSQL's foreign-key check), and two finishers would deadlock
    with session.no_autoflush:
        status = session.scalar(select(Survey.status).where(Survey.id == survey.id).with_for_update())
    session.flush()
    if status == "open" and counted_finishers(session, survey) >= survey.max_participants:
        survey.status = "closed"


def failed_screen(survey: Survey, participant: Participant) -> bool:
    """Whether the participant took the survey's headphone check and failed it."""
    return bool(survey.headphone_screen and participant.screen_correct is not None
                and participant.screen_correct < PASS_MARK)


def timed_out(survey: Survey, participant: Participant, now: datetime | None = None) -> bool:
    """An unfinished participant silent for longer than the survey's abandon_minutes."""
    if participant.finished_at is not None:
        return False
    seen = aware(participant.last_seen_at or participant.consented_at)
    return seen is not None and (now or datetime.now(UTC)) - seen > timedelta(minutes=survey.abandon_minutes)


def touch(survey: Survey, participant: Participant) -> None:
    """Before storing an answer: UserError for a participant who left or timed out; else note them as seen."""
    if participant.left_at is not None:
        raise UserError(LEFT)
    if timed_out(survey, participant):
        raise UserError(TIMED_OUT)
    participant.last_seen_at = datetime.now(UTC)
