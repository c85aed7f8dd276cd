"""Participants from platforms (issue #14): ids from the link, one participation per id, quota, join rate limit,
completion link, and the ids exported with the responses. On SQLite and a real PostgreSQL server."""

from __future__ import annotations

import threading

import pytest

from core.errors import UserError
from core.survey.responses import database_responses, responses_to_csv
from survey_db import participants as P
from survey_db import recruit, store
from tests.page_support import open_page
from tests.survey_support import make_survey
from tests.test_survey_paired_db import clips


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'surveys.sqlite'}"
    return request.getfixturevalue("postgres_server").new_database()


def _clips():
    """Four human and two machine clips: small stand-ins (no audio is played here)."""
    return clips(4, 2)


def _finish(token: str, person: str, url: str) -> None:
    state = P.state(token, person, url)
    while state.step == "clip":
        P.record_vote(token, person, state.clip, "human", None, 5000, url)
        state = P.state(token, person, url)


def test_link_ids_from_prolific_mturk_and_a_generic_pid():
    assert recruit.link_ids({"s": "x"}) is None
    prolific = recruit.link_ids({"PROLIFIC_PID": "5f1a2b", "STUDY_ID": "st1", "SESSION_ID": "se1"})
    assert prolific == recruit.LinkIds("prolific", "5f1a2b", "st1", "se1")
    mturk = recruit.link_ids({"workerId": "A1B2", "assignmentId": "3XYZ", "hitId": "H9"})
    assert mturk == recruit.LinkIds("mturk", "A1B2", "H9", "3XYZ") and not mturk.preview
    assert recruit.link_ids({"workerId": "A1", "assignmentId": recruit.MTURK_PREVIEW}).preview
    assert recruit.link_ids({"pid": "panel-42"}) == recruit.LinkIds("pid", "panel-42")
    for bad in ({"pid": "x" * 65}, {"PROLIFIC_PID": "a b"}, {"pid": "=cmd()"}, {"workerId": "A", "hitId": "<x>"}):
        with pytest.raises(UserError, match="participant id in this link is not valid"):
            recruit.link_ids(bad)


def test_one_platform_id_one_participation(url):
    survey_id, token = make_survey(url, clips=_clips())
    ids = recruit.LinkIds("prolific", "5f1a2b", "st1", "se1")
    first = P.join(token, url, ids=ids)
    assert P.join(token, url, ids=ids) == first  # a second visit resumes the first
    assert recruit.find_participation(token, ids, url) == first
    other = P.join(token, url, ids=recruit.LinkIds("prolific", "other"))
    assert other != first
    assert P.join(token, url, ids=recruit.LinkIds("mturk", "5f1a2b")) not in (first, other)  # another platform
    assert next(s for s in store.list_surveys(url) if s.id == survey_id).participants == 3


def test_simultaneous_visits_with_one_id_make_one_participation(url):
    survey_id, token = make_survey(url, clips=_clips())
    ids = recruit.LinkIds("pid", "twice")
    got, errors = [], []

    def visit():
        try:
            got.append(P.join(token, url, ids=ids))
        except Exception as exc:  # noqa: BLE001 - any failure is the test's finding
            errors.append(exc)

    threads = [threading.Thread(target=visit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(got)) == 1
    assert next(s for s in store.list_surveys(url) if s.id == survey_id).participants == 1


def test_the_quota_turns_newcomers_away_then_closes_the_survey(url):
    survey_id, token = make_survey(url, clips=_clips())
    recruit.set_recruitment(survey_id, None, 2, url)
    a, b = P.join(token, url), P.join(token, url)
    with pytest.raises(UserError, match="all the participants it needs"):
        P.join(token, url)
    _finish(token, a, url)
    assert P.public_survey(token, url).status == "open"  # b is still answering
    _finish(token, b, url)
    assert P.public_survey(token, url).status == "closed"  # the quota finished: closed by itself
    assert P.state(token, b, url).step == "done"
    with pytest.raises(UserError, match="closed"):
        P.join(token, url)


def test_joins_per_client_are_rate_limited(url):
    _, token = make_survey(url, clips=_clips())
    me, you = recruit.client_key(token, "203.0.113.7"), recruit.client_key(token, "198.51.100.1")
    assert me != you and len(me) == 32 and "203.0.113.7" not in me and me != recruit.client_key(token, "203.0.113.8")
    for _ in range(3):
        P.join(token, url, client=me, joins_per_minute=3)
    with pytest.raises(UserError, match="Too many people joined from your network"):
        P.join(token, url, client=me, joins_per_minute=3)
    P.join(token, url, client=you, joins_per_minute=3)  # another client is not held up


def test_ids_are_exported_with_the_responses_and_the_completion_link_comes_at_the_end(url):
    survey_id, token = make_survey(url, clips=_clips())
    recruit.set_recruitment(survey_id, "https://app.prolific.com/submissions/complete?cc=C1X2", 0, url)
    person = P.join(token, url, ids=recruit.LinkIds("prolific", "5f1a2b", "st1", "se1"))
    assert recruit.completion_url(token, person, url) is None  # not before finishing
    _finish(token, person, url)
    assert recruit.completion_url(token, person, url) == "https://app.prolific.com/submissions/complete?cc=C1X2"
    P.join(token, url)  # a participant without ids, who answers nothing
    frame = store.responses_frame(survey_id, url)
    assert frame["platform"].eq("prolific").all() and frame["platform_id"].eq("5f1a2b").all()
    assert frame["study_id"].eq("st1").all() and frame["session_id"].eq("se1").all()
    csv = responses_to_csv(frame)
    assert csv.splitlines()[0].endswith("platform,platform_id,study_id,session_id") and "5f1a2b" in csv
    assert database_responses(frame)["platform_id"].eq("5f1a2b").all()  # the analysis reads them back


@pytest.mark.parametrize("value", ["javascript:alert(1)", "ftp://x", "https://", "https://a b", "x" * 501])
def test_a_bad_completion_link_or_quota_is_one_sentence(value, tmp_path):
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    survey_id, _ = make_survey(db, clips=_clips())
    with pytest.raises(UserError, match="completion link must be"):
        recruit.set_recruitment(survey_id, value, 0, db)
    with pytest.raises(UserError, match="quota must be a whole number"):
        recruit.set_recruitment(survey_id, None, -1, db)
    assert recruit.recruitment(survey_id, db) == (None, 0)


def test_the_participant_page_keeps_the_prolific_id_and_resumes_a_second_visit():
    survey_id, token = make_survey(None, clips=_clips())
    recruit.set_recruitment(survey_id, "https://app.prolific.com/submissions/complete?cc=C1X2", 0)
    link = {"s": token, "PROLIFIC_PID": "5f1a2b", "STUDY_ID": "st1", "SESSION_ID": "se1"}
    at = open_page("pages/views/survey.py", **link)
    at.button(key="consent").click().run()
    person = at.query_params["p"]
    again = open_page("pages/views/survey.py", **link)  # the same link later, without the participant token
    assert again.query_params["p"] == person and again.subheader[0].value.startswith("Clip 1 of")
    _finish(token, person, None)
    done = open_page("pages/views/survey.py", **link)
    assert done.success[0].value.startswith("Thank you")
    button = done.get("link_button")
    assert len(button) == 1 and button[0].proto.url == "https://app.prolific.com/submissions/complete?cc=C1X2"
    assert store.responses_frame(survey_id)["platform_id"].eq("5f1a2b").all()


def test_an_mturk_preview_does_not_join():
    survey_id, token = make_survey(None, clips=_clips())
    at = open_page("pages/views/survey.py", s=token, workerId="A1", assignmentId=recruit.MTURK_PREVIEW, hitId="H")
    assert "accept the HIT" in at.info[0].value and not at.button
    assert next(s for s in store.list_surveys() if s.id == survey_id).participants == 0
