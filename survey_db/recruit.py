"""Participants from recruitment platforms: their ids from the link, one participation per id, a quota, a join
rate limit per client, and the completion link.

Prolific opens a study link with ``PROLIFIC_PID``, ``STUDY_ID`` and ``SESSION_ID``; MTurk's external questions
pass ``workerId``, ``assignmentId`` and ``hitId`` (``assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE`` while the worker
only previews the HIT); any other source may pass ``pid``. A second visit with the same id resumes the first
participation (:func:`find_participation`; the unique (survey, platform, platform id) constraint backs it).

Quota (``Survey.max_participants``, 0 = none): places, not joins (:mod:`survey_db.places`): counted finishers
plus participants still taking part; leavers, failed checks and silent visits free theirs. Once the counted
finishers reach it the survey closes itself. Rate limit: a client (a keyed hash of its IP address, never the
address) may join a survey at most ``TUNELAB_JOINS_PER_MINUTE`` times a minute; clients whose address is unknown
or loopback (a proxy on this host not declared with ``TUNELAB_BEHIND_PROXY=1``) share one limit.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select

from core.errors import UserError
from survey_db.engine import transaction, write
from survey_db.models import Participant, Survey
from survey_db.places import FULL, active, check_room, close_when_full, counted_finishers  # noqa: F401

PLATFORMS = {
    "prolific": ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID"),
    "mturk": ("workerId", "hitId", "assignmentId"),
    "pid": ("pid", None, None),
}
"""Platform: (its participant id parameter, study parameter, session parameter)."""
MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
TOO_FAST = "Too many people joined from your network in the last minute: please try again in a minute."


@dataclass(frozen=True)
class LinkIds:
    """The recruitment platform's ids a participant's link carried."""

    platform: str
    participant: str
    study: str | None = None
    session: str | None = None

    @property
    def preview(self) -> bool:
        """True for an MTurk worker previewing the HIT (not accepted yet: no participation)."""
        return self.platform == "mturk" and self.session == MTURK_PREVIEW


def link_ids(params: Mapping[str, str]) -> LinkIds | None:
    """The platform ids in a link's query parameters (None without any); UserError for a malformed id."""
    for platform, (pid_key, study_key, session_key) in PLATFORMS.items():
        pid = params.get(pid_key)
        if not pid:
            continue
        values = [pid] + [params.get(k) or None for k in (study_key, session_key) if k]
        if any(v is not None and not _ID.fullmatch(v) for v in values):
            raise UserError("The participant id in this link is not valid: check that you copied all of it.")
        return LinkIds(platform, *values)
    return None


SHARED = "unknown-or-loopback"
"""The one address that every client without a known, non-loopback address is counted as."""


def client_key(survey_token: str, address: str | None) -> str:
    """A 32-hex-digit key for a client's address, different in every survey; an unknown or loopback address (a
    proxy on this host, undeclared) gets the one shared key, so the join limit never vanishes."""
    if not address or address.strip() in ("localhost", "::1") or address.startswith("127."):
        address = SHARED
    return hashlib.sha256(f"{survey_token}\0{address}".encode()).hexdigest()[:32]


def find_participation(survey_token: str, ids: LinkIds, url: str | None = None) -> str | None:
    """The participant token an earlier visit with these ids got in this survey, or None."""
    with transaction(url) as session:
        return session.scalar(
            select(Participant.token).join(Survey, Participant.survey_id == Survey.id)
            .where(Survey.token == survey_token, Participant.platform == ids.platform,
                   Participant.platform_id == ids.participant))


def admit(session, survey: Survey, ids: LinkIds | None, client: str | None, joins_per_minute: int) -> str | None:
    """Inside a join's transaction (the survey row locked): the token of this id's earlier participation (resume),
    else None after checking the quota and the client's join rate (UserError when either refuses)."""
    if ids is not None:
        if ids.preview:
            raise UserError("Accept the HIT first: the survey starts once you have accepted it.")
        earlier = session.scalar(select(Participant.token).where(
            Participant.survey_id == survey.id, Participant.platform == ids.platform,
            Participant.platform_id == ids.participant))
        if earlier is not None:
            return earlier
    check_room(session, survey)
    if client is not None:
        since = datetime.now(UTC) - timedelta(minutes=1)
        recent = session.scalar(select(func.count()).select_from(Participant).where(
            Participant.survey_id == survey.id, Participant.client_key == client, Participant.consented_at >= since))
        if recent >= joins_per_minute:
            raise UserError(TOO_FAST)
    return None


def label(participant: Participant, ids: LinkIds | None, client: str | None) -> None:
    """Keep the link's ids and the client key on a new participant."""
    participant.client_key = client
    if ids is not None:
        participant.platform, participant.platform_id = ids.platform, ids.participant
        participant.study_id, participant.session_id = ids.study, ids.session


def check_completion_url(value: str | None, what: str = "completion link") -> str | None:
    """A completion (or screen-out) link must be an http(s) URL of at most 500 characters (None or blank: none)."""
    value = (value or "").strip() or None
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 500 or any(c.isspace() for c in value):
        raise UserError(f"The {what} must be an http:// or https:// address of at most 500 characters.")
    return value


@dataclass(frozen=True)
class ScreenOut:
    """Where a participant who fails the headphone check is sent (Prolific's "screened out" link and code), and
    how long a silent visit keeps its place."""

    url: str | None = None
    code: str | None = None
    abandon_minutes: float = 60.0


def set_screenout(survey_id: int, settings: ScreenOut, url: str | None = None) -> None:
    """Set a survey's screen-out link and code and its abandon time (minutes, more than 0 and at most a week)."""
    link = check_completion_url(settings.url, "screen-out link")
    code = (settings.code or "").strip() or None
    if code is not None and not _ID.fullmatch(code):
        raise UserError("The screen-out code may have at most 64 letters, digits and _.:- characters.")
    minutes = settings.abandon_minutes
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not 0 < minutes <= 7 * 24 * 60:
        raise UserError(f"The abandon time must be more than 0 and at most 10,080 minutes (a week), not {minutes!r}.")

    def run(session) -> None:
        survey = session.get(Survey, survey_id)
        if survey is None:
            raise UserError(f"No survey with id {survey_id}.")
        survey.screenout_url, survey.screenout_code, survey.abandon_minutes = link, code, float(minutes)

    write(run, url)


def screenout(survey_id: int, url: str | None = None) -> ScreenOut:
    """A survey's :class:`ScreenOut` settings."""
    with transaction(url) as session:
        survey = session.get(Survey, survey_id)
        if survey is None:
            raise UserError(f"No survey with id {survey_id}.")
        return ScreenOut(survey.screenout_url, survey.screenout_code, survey.abandon_minutes)


def screenout_for(survey_token: str, participant_token: str, url: str | None = None) -> ScreenOut | None:
    """The screen-out link and code for a participant who failed the headphone check (None for anyone else)."""
    from survey_db.places import failed_screen

    with transaction(url) as session:
        row = session.execute(select(Survey, Participant).join(Participant, Participant.survey_id == Survey.id)
                              .where(Survey.token == survey_token, Participant.token == participant_token)).first()
        if row is None or not failed_screen(*row):
            return None
        return ScreenOut(row[0].screenout_url, row[0].screenout_code, row[0].abandon_minutes)


def set_recruitment(survey_id: int, completion_url: str | None, max_participants: int, url: str | None = None) -> None:
    """Set a survey's completion link (e.g. Prolific's, with its code) and participant quota (0: none)."""
    completion_url = check_completion_url(completion_url)
    if isinstance(max_participants, bool) or not isinstance(max_participants, int) \
            or not 0 <= max_participants <= 1_000_000:
        raise UserError(f"The participant quota must be a whole number from 0 (none) to 1,000,000, "
                        f"not {max_participants!r}.")

    def run(session) -> None:
        survey = session.get(Survey, survey_id)
        if survey is None:
            raise UserError(f"No survey with id {survey_id}.")
        survey.completion_url, survey.max_participants = completion_url, max_participants

    write(run, url)


def recruitment(survey_id: int, url: str | None = None) -> tuple[str | None, int]:
    """(completion link, participant quota) of a survey."""
    with transaction(url) as session:
        survey = session.get(Survey, survey_id)
        if survey is None:
            raise UserError(f"No survey with id {survey_id}.")
        return survey.completion_url, survey.max_participants


def completion_url(survey_token: str, participant_token: str, url: str | None = None) -> str | None:
    """The survey's completion link, for a participant who has finished (None before, or when there is none)."""
    with transaction(url) as session:
        row = session.execute(
            select(Survey.completion_url, Participant.finished_at).join(Participant, Participant.survey_id == Survey.id)
            .where(Survey.token == survey_token, Participant.token == participant_token)).first()
    return row[0] if row is not None and row[1] is not None else None


def place_counts(survey_id: int, url: str | None = None) -> dict[str, int]:
    """{"counted", "active", "freed"}: counted finishers, participants taking part now, and the rest (left,
    timed out, failed the check, or finished without passing it)."""
    with transaction(url) as session:
        survey = session.get(Survey, survey_id)
        if survey is None:
            raise UserError(f"No survey with id {survey_id}.")
        total = session.scalar(select(func.count()).select_from(Participant).where(Participant.survey_id == survey_id))
        counted, now = counted_finishers(session, survey), active(session, survey)
        return {"counted": counted, "active": now, "freed": int(total or 0) - counted - now}
