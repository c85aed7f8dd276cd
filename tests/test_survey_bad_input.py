"""Every bad input the survey issue lists: a clear message, nothing written, and the app keeps working."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.errors import UserError
from core.survey.clips import ClipPolicy, upload_clip
from survey_db import participants as P
from survey_db import store
from survey_db.engine import transaction
from survey_db.models import Clip, Participant, Response, Survey
from tests.survey_support import make_survey, real_clips
from tests.test_survey_pages import page


def counts() -> tuple[int, int, int]:
    """(surveys, participants, responses) in the test database."""
    with transaction() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (Survey, Participant, Response))


def joined(**spec) -> tuple[int, str, str, str]:
    """An open survey with one participant; returns (survey id, survey token, participant token, first clip)."""
    survey_id, token = make_survey(None, **spec)
    person = P.join(token)
    return survey_id, token, person, P.state(token, person).clip


def test_unknown_survey_token():
    before = counts()
    at = page("pages/views/survey.py", s="0123456789abcdef")
    assert at.error[0].value == P.UNKNOWN_SURVEY and not at.button
    with pytest.raises(UserError, match="not valid"):
        P.join("0123456789abcdef")
    assert counts() == before


@pytest.mark.parametrize("status", ["closed", "paused"])
def test_a_survey_that_is_not_open_takes_nobody_and_no_vote(status):
    survey_id, token, person, clip = joined()
    store.set_status(survey_id, status)
    before = counts()
    at = page("pages/views/survey.py", s=token)
    assert at.warning[0].value == P.NOT_OPEN[status] and not at.button  # no consent button
    at = page("pages/views/survey.py", s=token, p=person)  # a participant halfway through
    assert at.warning[0].value == P.NOT_OPEN[status] and not at.get("audio") and not at.radio
    with pytest.raises(UserError, match=status if status == "closed" else "paused"):
        P.join(token)
    with pytest.raises(UserError, match=status if status == "closed" else "paused"):
        P.record_vote(token, person, clip, "human", None, 1000)
    assert counts() == before


def test_forged_participant_token_and_one_from_another_survey():
    _, token, person, clip = joined()
    _, other_token, other_person, _ = joined(title="Another survey")
    before = counts()
    for bad in ("f" * 32, other_person):
        at = page("pages/views/survey.py", s=token, p=bad)
        assert at.error[0].value == P.BAD_PARTICIPANT and not at.get("audio")
        with pytest.raises(UserError, match="participant link is not valid"):
            P.record_vote(token, bad, clip, "human", None, 1000)
    at = page("pages/views/survey.py", s=other_token, p=person)
    assert at.error[0].value == P.BAD_PARTICIPANT
    assert counts() == before
    assert P.record_vote(token, person, clip, "human", None, 1000)  # the real participant still votes


@pytest.mark.parametrize("rating", [0, 6, -1, 2.5, True, "3"])
def test_a_rating_outside_1_to_5(rating):
    _, token, person, clip = joined(question="rating")
    before = counts()
    with pytest.raises(UserError, match="from 1 .surely human. to 5"):
        P.record_vote(token, person, clip, None, rating, 1000)
    assert counts() == before
    assert P.record_vote(token, person, clip, None, 3, 1000)


def test_a_vote_for_a_clip_not_in_the_participants_survey():
    survey_id, token, person, _ = joined(clips_per_participant=2)
    other_survey, _ = make_survey(None, title="Other")
    other_clip = store.clip_table(other_survey)["clip"][0]
    with transaction() as s:  # a clip of this very survey that was not dealt to this participant
        plan = s.scalar(select(Participant.plan).where(Participant.token == person))
        undealt = s.scalar(select(Clip.public_id).where(Clip.survey_id == survey_id, Clip.id.not_in(plan)).limit(1))
    assert undealt is not None
    before = counts()
    for bad in [other_clip, "0000000000000000", undealt]:
        with pytest.raises(UserError, match="not part of your survey"):
            P.record_vote(token, person, bad, "human", None, 1000)
        with pytest.raises(UserError, match="not part of your survey"):
            P.clip_audio(token, person, bad)
    assert counts() == before


@pytest.mark.parametrize(("vote", "ms", "message"), [
    ("robot", 1000, "'human' or 'machine'"), (None, 1000, "Please say whether"),
    ("human", -5, "Listening time"), ("human", 10**9, "Listening time"),
])
def test_other_malformed_votes(vote, ms, message):
    _, token, person, clip = joined()
    before = counts()
    with pytest.raises(UserError, match=message):
        P.record_vote(token, person, clip, vote, None, ms)
    assert counts() == before


def test_a_10000_character_comment_is_refused_on_the_page():
    survey_id, token = make_survey(None, clips=real_clips()[3:5], ask_comment=True)
    at = page("pages/views/survey.py", s=token)
    at.button(key="consent").click().run()
    for position in (1, 2):
        at.radio(key=f"vote_{position}").set_value("human")
        at = at.button(key=f"FormSubmitter:answer_{position}-Next").click().run()
    at.text_area(key="comment").set_value("x" * 10_000)
    at.button(key="FormSubmitter:comment-Finish").click().run()
    assert not at.exception
    assert at.error[0].value == "Your comment has 10,000 characters; please keep it under 2,000."
    assert store.responses_frame(survey_id)["comment"].isna().all()
    assert next(s for s in store.list_surveys() if s.id == survey_id).finished == 0
    at.text_area(key="comment").set_value("Shorter.")
    at.button(key="FormSubmitter:comment-Finish").click().run()  # the page keeps working
    assert at.success[0].value.startswith("Thank you")
    assert store.responses_frame(survey_id)["comment"].eq("Shorter.").all()


def test_an_upload_over_the_size_limit():
    with pytest.raises(UserError, match=r"big.abc is 1.5 MiB; uploads may be at most 1 MiB"):
        upload_clip("big.abc", b"X:1\n" + b"A" * (3 * 2**19), ClipPolicy())
    with pytest.raises(UserError, match="upload a MIDI"):
        upload_clip("tune.txt", b"X:1", ClipPolicy())
    with pytest.raises(UserError, match="not a readable MIDI"):
        upload_clip("tune.mid", b"not midi", ClipPolicy())


def test_an_empty_survey():
    before = counts()
    human = [c for c in real_clips() if c.truth == "human" and not c.is_catch]
    catch = [c for c in real_clips() if c.is_catch]
    for clips in ([], human, catch):
        with pytest.raises(UserError, match="at least one human clip and one machine clip"):
            store.create_survey(store.SurveySpec(title="Empty"), clips)
    with pytest.raises(UserError, match="title"):
        store.create_survey(store.SurveySpec(title="  "), list(real_clips()))
    assert counts() == before
