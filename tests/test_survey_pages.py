"""The survey pages through AppTest: admin login, the builder, the admin page, and a participant's whole visit."""

from __future__ import annotations

import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from core import admin
from survey_db import participants as P
from survey_db import store
from tests.conftest import SHIPPED
from tests.page_support import open_page
from tests.survey_support import make_survey, real_clips

TIMEOUT = 180  # the first run imports torch; the builder renders and composes clips
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def admin_password(monkeypatch):
    admin.set_password(PASSWORD)
    monkeypatch.setattr(admin.THROTTLE, "base_s", 0.2)
    monkeypatch.setattr(admin.THROTTLE, "failures", 0)


def page(path: str, **params) -> AppTest:
    return open_page(path, TIMEOUT, **params)


def logged_in(path: str) -> AppTest:
    at = page(path)
    at.text_input(key="admin_password").set_value(PASSWORD)
    at.button[0].click().run()
    assert not at.exception and at.session_state["admin"] is True
    return at


def texts(at: AppTest) -> str:
    return "\n".join(str(getattr(e, "value", "")) for e in at.main)


@pytest.mark.parametrize("path", ["pages/views/survey_builder.py", "pages/views/survey_admin.py"])
def test_admin_pages_show_nothing_but_the_login_without_the_password(path):
    survey_id, _ = make_survey(None, title="Secret survey")
    at = page(path)
    assert at.title[0].value == "Admin login"
    assert "Secret survey" not in texts(at) and not at.dataframe and not at.code
    at.text_input(key="admin_password").set_value("guess")
    t0 = time.perf_counter()
    at.button[0].click().run()
    assert at.error[0].value == "Wrong password." and time.perf_counter() - t0 >= 0.2
    at.text_input(key="admin_password").set_value("guess again")
    t0 = time.perf_counter()
    at.button[0].click().run()
    assert time.perf_counter() - t0 >= 0.4  # the delay doubles after each failure
    at.text_input(key="admin_password").set_value(PASSWORD)
    at.button[0].click().run()
    assert at.title[0].value != "Admin login" and admin.THROTTLE.failures == 0


def test_builder_creates_a_small_survey_and_admin_opens_it():
    before = {s.id for s in store.list_surveys()}
    at = logged_in("pages/views/survey_builder.py")
    at.text_input(key="b_title").set_value("Small test")
    at.number_input(key="b_excerpt").set_value(5.0)
    at.number_input(key="b_n_human").set_value(2)
    at.multiselect(key="b_models").set_value([SHIPPED[0]])
    at.number_input(key="b_per_model").set_value(2)
    at.checkbox(key="b_catch").check()
    at.number_input(key="b_per_participant").set_value(2)
    at.button(key="FormSubmitter:builder-Create survey").click().run()
    assert not at.exception and not at.error
    [new] = [s for s in store.list_surveys() if s.id not in before]
    assert (new.title, new.status, new.clips, new.clips_per_participant) == (
        "Small test", "draft", {"human": 2, "machine": 2, "catch": 2}, 2)
    assert at.code[0].value == f"http://localhost:8501/survey?s={new.token}"
    table = store.clip_table(new.id)
    assert table["duration_s"].eq(5.0).all() and table["loudness_lufs"].between(-20.05, -19.95).all()
    assert sorted(table.loc[~table["is_catch"], "group"]) == ["oneills1850", "oneills1850", SHIPPED[0], SHIPPED[0]]

    at = logged_in("pages/views/survey_admin.py")
    at.selectbox(key="a_survey").set_value(new.id).run()
    assert at.code[0].value.endswith(f"/survey?s={new.token}")
    at.button(key="a_open").click().run()
    assert not at.exception and next(s for s in store.list_surveys() if s.id == new.id).status == "open"


def test_builder_refuses_an_empty_survey_and_an_oversized_upload():
    before = len(store.list_surveys())
    at = logged_in("pages/views/survey_builder.py")
    at.number_input(key="b_n_human").set_value(0)
    at.number_input(key="b_per_model").set_value(0)
    at.button(key="FormSubmitter:builder-Create survey").click().run()
    assert "The survey is empty" in at.error[0].value
    at.number_input(key="b_per_model").set_value(1)
    at.get("file_uploader")[0].set_value(("big.mid", b"MThd" + bytes(2 * 2**20), "audio/midi"))
    at.button(key="FormSubmitter:builder-Create survey").click().run()
    assert not at.exception
    assert at.error[0].value == "big.mid is 2.0 MiB; uploads may be at most 1 MiB."
    assert len(store.list_surveys()) == before  # nothing written


def _answer_clip(at: AppTest, vote: str) -> AppTest:
    position = int(at.subheader[0].value.split()[1])
    at.radio(key=f"vote_{position}").set_value(vote)
    return at.button(key=f"FormSubmitter:answer_{position}-Next").click().run()


def test_participant_consents_votes_through_every_clip_resumes_and_gets_the_code():
    survey_id, token = make_survey(None, clips=real_clips(), ask_demographics=True, ask_comment=True,
                                   completion_code="TUNE-2026")
    at = page("pages/views/survey.py", s=token)
    assert at.title[0].value == "Listening test" and "Some were written by people" in at.markdown[0].value
    at.button(key="consent").click().run()
    person = at.query_params["p"]
    assert len(person) == 32
    at.selectbox(key="age_band").set_value("35-44")
    at.selectbox(key="musical_training").set_value("none")
    at.button(key="FormSubmitter:demographics-Continue").click().run()
    assert at.subheader[0].value == "Clip 1 of 10"
    players = at.get("bidi_component")  # the play-tracking player (pages/common/player.py): a media URL
    assert len(players) == 1 and players[0].proto.component_name == "tunelab_player"
    assert re.search(r'"src": "/[a-z]*/?media/[0-9a-f]+\.wav"', players[0].proto.json)
    for _ in range(4):
        at = _answer_clip(at, "human")
    assert at.subheader[0].value == "Clip 5 of 10"

    # a reload (a new session with the same link) resumes at clip 5; nothing is answered twice
    at = page("pages/views/survey.py", s=token, p=person)
    assert at.subheader[0].value == "Clip 5 of 10" and "4 of 10 clips answered" in at.get("progress")[0].proto.text
    for _ in range(6):
        at = _answer_clip(at, "machine")
    assert not at.error
    at.text_area(key="comment").set_value("Hard to tell!")
    at.button(key="FormSubmitter:comment-Finish").click().run()
    assert at.success[0].value == "Thank you! Your answers are saved." and at.code[0].value == "TUNE-2026"

    df = store.responses_frame(survey_id)
    assert len(df) == 10 and df["clip"].is_unique and set(df["participant"]) == {df["participant"][0]}
    assert df["vote"].tolist() == ["human"] * 4 + ["machine"] * 6
    assert df["age_band"].eq("35-44").all() and df["musical_training"].eq("none").all()
    assert df["listening_habits"].isna().all() and df["comment"].eq("Hard to tell!").all()
    assert df["listening_ms"].ge(0).all()
    # the finished participant's link shows the thank-you page again
    again = page("pages/views/survey.py", s=token, p=person)
    assert again.success[0].value.startswith("Thank you") and again.code[0].value == "TUNE-2026"


def test_volume_check_needs_the_right_count():
    _, token = make_survey(None, headphone_check=True)
    at = page("pages/views/survey.py", s=token)
    at.button(key="consent").click().run()
    person = at.query_params["p"]
    tones = P.state(token, person).headphone_tones
    at.radio(key="tones").set_value(tones + 1)
    at.button(key="FormSubmitter:headphones-Continue").click().run()
    assert "Not quite" in at.error[0].value and at.subheader[0].value == "Volume check"
    at.radio(key="tones").set_value(tones)
    at.button(key="FormSubmitter:headphones-Continue").click().run()
    assert at.subheader[0].value == "Clip 1 of 8"


def test_a_vote_before_the_minimum_listening_time_does_not_count():
    survey_id, token = make_survey(None, min_listen_seconds=30)
    at = page("pages/views/survey.py", s=token)
    at.button(key="consent").click().run()
    at = _answer_clip(at, "human")
    assert at.error[0].value == "Please listen for at least 30 seconds before answering."
    assert at.subheader[0].value == "Clip 1 of 8" and store.responses_frame(survey_id).empty


def test_builder_takes_a_tune_from_the_compose_history():
    from core.generation.compose import ComposeSettings, compose

    piece = compose(ComposeSettings(model=SHIPPED[1], seed=5, seconds=15, rhythm="reel"))
    before = {s.id for s in store.list_surveys()}
    at = logged_in("pages/views/survey_builder.py")
    at.session_state["history"] = [{"abc": piece.abc, "meta": piece.meta, "label": "My reel · seed 5"}]
    at.run()
    at.number_input(key="b_excerpt").set_value(5.0)
    at.number_input(key="b_n_human").set_value(1)
    at.number_input(key="b_per_model").set_value(0)
    at.checkbox(key="b_history_0").check()
    at.button(key="FormSubmitter:builder-Create survey").click().run()
    assert not at.exception and not at.error
    [new] = [s for s in store.list_surveys() if s.id not in before]
    table = store.clip_table(new.id)
    assert table[["truth", "group"]].values.tolist() == [["human", "oneills1850"], ["machine", SHIPPED[1]]]
    # the clip list carries compose's novelty check of the machine tune (none for the human one)
    shared = piece.meta["novelty"]
    assert table["novelty"].isna().tolist() == [True, False]
    assert table["novelty"][1] == f"novel: {shared['shared_bars']:g} bars shared with {shared['source_piece']}"
