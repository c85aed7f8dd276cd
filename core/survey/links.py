"""The links a researcher hands to recruitment platforms: the plain participant link, Prolific's (with its
``{{%PROLIFIC_PID%}}`` placeholders, which Prolific fills in) and MTurk's external-question URL (MTurk appends
``workerId``, ``assignmentId`` and ``hitId`` itself)."""

from __future__ import annotations

from urllib.parse import urlsplit

from core.errors import UserError

SURVEY_PATH = "survey"
PROLIFIC_PARAMS = "PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"


def check_public_url(value: str) -> str:
    """The address participants reach the server at (scheme, host, optional path), without a trailing slash;
    UserError for anything but an http(s) address."""
    value = (value or "").strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or any(c.isspace() for c in value):
        raise UserError("The public address must look like https://survey.example.org (http or https, no spaces).")
    return value


def participant_links(base: str, token: str) -> dict[str, str]:
    """{"plain", "prolific", "mturk"}: the survey's participant link on ``base`` in each platform's form."""
    plain = f"{check_public_url(base)}/{SURVEY_PATH}?s={token}"
    return {"plain": plain, "prolific": f"{plain}&{PROLIFIC_PARAMS}", "mturk": plain}
