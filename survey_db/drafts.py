"""Preview and edit a survey before it opens (issue 15): every clip with its truth, source and settings, its
audio for the admin's ears, removing or replacing clips, and changing the settings while the survey is a draft.

Once a survey is open, clips and settings stay as they are: changing them would upset the balanced deal and
the margin fixed in advance.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
from sqlalchemy import select

from core.errors import UserError
from core.survey.design import DEFAULT_ARENA_QUESTION
from survey_db.engine import transaction, write
from survey_db.models import Clip, Survey
from survey_db.store import ClipLike, SurveySpec, _check_clips, _insert_clips, _Stub, _survey, design_settings


def _draft(session, survey_id: int) -> Survey:
    survey = _survey(session, survey_id)
    if survey.status != "draft":
        raise UserError(f"{survey.title!r} is {survey.status}: clips and settings change only while it is a draft.")
    return survey


def describe_source(source: dict) -> str:
    """One line on where a clip came from: the tune and corpus, the upload, or the model and its settings."""
    source = source or {}
    made = source.get("settings") or {}
    settings = ", ".join(f"{k} {made[k]}" for k in ("seed", "temperature", "top_k", "top_p", "seconds")
                         if made.get(k) is not None)
    parts = [str(source[k]) for k in ("title", "corpus", "file", "model") if source.get(k)]
    return " · ".join(parts + ([settings] if settings else [])) or "(no record)"


def preview(survey_id: int, url: str | None = None) -> pd.DataFrame:
    """One row per clip for the admin: clip (public id), truth, group (model or corpus), catch, source (a line
    from :func:`describe_source`), duration_s, loudness_lufs."""
    with transaction(url) as session:
        _survey(session, survey_id)
        rows = session.execute(select(Clip.public_id, Clip.truth, Clip.group, Clip.is_catch, Clip.source,
                                      Clip.duration_s, Clip.loudness_lufs)
                               .where(Clip.survey_id == survey_id).order_by(Clip.id)).all()
    columns = ["clip", "truth", "group", "catch", "source", "duration_s", "loudness_lufs"]
    return pd.DataFrame([(r[0], r[1], r[2], bool(r[3]), describe_source(r[4]), r[5], r[6]) for r in rows],
                        columns=columns)


def clip_wav(survey_id: int, public_id: str, url: str | None = None) -> bytes:
    """The audio of one of the survey's clips (for the admin's preview)."""
    with transaction(url) as session:
        audio = session.scalar(select(Clip.audio).where(Clip.survey_id == survey_id, Clip.public_id == public_id))
    if audio is None:
        raise UserError(f"Survey {survey_id} has no clip {public_id!r}.")
    return audio


def _remaining_ok(session, survey_id: int, without: str, adding: list[ClipLike], design: str | None = None) -> None:
    """UserError unless the draft's clips, less ``without`` and plus ``adding``, still suit its design (or
    ``design``, a new one)."""
    design = design or _survey(session, survey_id).design
    left = session.execute(select(Clip.truth, Clip.is_catch, Clip.group).where(Clip.survey_id == survey_id,
                                                                                Clip.public_id != without)).all()
    _check_clips([_Stub(t, c, g) for t, c, g in left] + list(adding), design)


def remove_clip(survey_id: int, public_id: str, url: str | None = None) -> None:
    """Remove a clip from a draft; UserError if it would leave no human or no machine clip."""

    def run(session) -> None:
        _draft(session, survey_id)
        clip = session.scalars(select(Clip).where(Clip.survey_id == survey_id, Clip.public_id == public_id)).first()
        if clip is None:
            raise UserError(f"Survey {survey_id} has no clip {public_id!r}.")
        _remaining_ok(session, survey_id, public_id, [])
        session.delete(clip)

    write(run, url)


def replace_clip(survey_id: int, public_id: str, new: ClipLike, url: str | None = None) -> None:
    """Swap one clip of a draft for a new one (e.g. a tune with a wrong note for another of the same source)."""

    def run(session) -> None:
        _draft(session, survey_id)
        clip = session.scalars(select(Clip).where(Clip.survey_id == survey_id, Clip.public_id == public_id)).first()
        if clip is None:
            raise UserError(f"Survey {survey_id} has no clip {public_id!r}.")
        _remaining_ok(session, survey_id, public_id, [new])
        session.delete(clip)
        _insert_clips(session, survey_id, [new])

    write(run, url)


def settings(survey_id: int, url: str | None = None) -> SurveySpec:
    """A survey's current settings as a :class:`survey_db.store.SurveySpec` (the builder's form values)."""
    with transaction(url) as session:
        s = _survey(session, survey_id)
        return SurveySpec(
            title=s.title, question=s.question, consent_text=s.consent_text, ask_demographics=s.ask_demographics,
            ask_comment=s.ask_comment, headphone_check=s.headphone_check, clips_per_participant=s.clips_per_participant,
            min_listen_seconds=s.min_listen_seconds, completion_code=s.completion_code, policy=dict(s.policy or {}),
            design=s.design, margin=s.margin, require_full_play=s.require_full_play,
            headphone_screen=s.headphone_screen, screen_fail=s.screen_fail, instructions=s.instructions,
            practice=s.practice, screen_test=s.screen_test, arena_question=s.arena_question or DEFAULT_ARENA_QUESTION,
        )


def update_settings(survey_id: int, spec: SurveySpec, url: str | None = None) -> None:
    """Change a draft's settings (the clip policy stays: the clips were made under it). UserError, nothing
    written, for bad settings or a survey that is no longer a draft."""
    spec = replace(spec, title=spec.title.strip())
    spec.validate()

    def run(session) -> None:
        survey = _draft(session, survey_id)
        _remaining_ok(session, survey_id, "", [], spec.design)
        survey.title, survey.question, survey.consent_text = spec.title, spec.question, spec.consent_text.strip()
        survey.ask_demographics, survey.ask_comment = spec.ask_demographics, spec.ask_comment
        survey.headphone_check, survey.clips_per_participant = spec.headphone_check, spec.clips_per_participant
        survey.min_listen_seconds = spec.min_listen_seconds
        survey.completion_code = (spec.completion_code or "").strip() or None
        for key, value in design_settings(spec).items():
            setattr(survey, key, value)

    write(run, url)
