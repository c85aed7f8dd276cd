"""The arena on the pages (issue 19), through AppTest: the Results page's leaderboard equals ``survey-stats``."""

from __future__ import annotations

import json
import random

import pytest

from core.cli import main
from survey_db import participants as P
from survey_db import store
from tests.page_support import open_page
from tests.test_arena_store import arena_clips, play

TIMEOUT = 120


@pytest.fixture(scope="module")
def arena_id() -> int:
    """An arena in the session's survey database, played by 8 listeners (SOURCES' preferences)."""
    spec = store.SurveySpec(title="Arena page test", design="arena", min_listen_seconds=0,
                            arena_question="Which tune would you rather hear again?")
    survey_id = store.create_survey(spec, arena_clips())
    store.set_status(survey_id, "open")
    token = next(s.token for s in store.list_surveys() if s.id == survey_id)
    rng = random.Random(11)
    for _ in range(8):
        play(token, None, P.join(token), rng)
    return survey_id


def test_results_leaderboard_equals_the_cli(arena_id, capsys):
    assert main(["survey-stats", "--survey", str(arena_id), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)["arena"]
    at = open_page("pages/views/results.py", TIMEOUT, admin=True)
    at.selectbox(key="r_survey").set_value(arena_id)
    at.run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Games"], metrics["Participants"], metrics["Sources"]) == ("24", "8", "3")
    board = at.dataframe[0].value
    assert list(board["source"]) == [r["source"] for r in cli["ratings"]]
    assert list(board["strength"]) == [round(r["strength"], 2) for r in cli["ratings"]]
    assert list(board["95% interval"]) == [f"{r['ci95'][0]:.2f} to {r['ci95'][1]:.2f}" for r in cli["ratings"]]
    assert board["95% interval"].iloc[-1] == "0.00 to 0.00"
    wins = at.dataframe[1].value
    assert int(wins.to_numpy().sum()) == 24
    paragraph = at.code[0].value
    assert '"Which tune would you rather hear again?"' in paragraph and "24 games" in paragraph
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Chart (PNG)", "Chart (SVG)", "Summary (JSON)", "Responses (CSV)"]


def test_a_listener_plays_the_arena_on_the_survey_page():
    spec = store.SurveySpec(title="Arena visit", design="arena", min_listen_seconds=0, clips_per_participant=2,
                            arena_question="Which would you rather hear again?")
    survey_id = store.create_survey(spec, arena_clips(catch=False))
    store.set_status(survey_id, "open")
    token = next(s.token for s in store.list_surveys() if s.id == survey_id)
    at = open_page("pages/views/survey.py", TIMEOUT, s=token)
    at.button(key="consent").click().run()
    person = at.query_params["p"]
    for n in range(2):
        state = P.state(token, person)
        assert state.step == "game" and at.subheader[0].value == f"Pair {n + 1} of 2"
        assert [m.value for m in at.markdown if m.value.endswith("piece**")] == ["**Left piece**", "**Right piece**"]
        radio = at.radio(key=f"preferred_{state.trial.position}")
        assert radio.label == "Which would you rather hear again?"
        radio.set_value(2 - n)  # the right piece, then the left
        at.button(key=f"FormSubmitter:game_{state.trial.position}-Next").click().run()
        assert not at.exception and not at.error
    assert P.state(token, person).step == "done" and "Thank you" in at.success[0].value
    from survey_db.screening import raw_responses

    raw, _ = raw_responses(survey_id)
    assert list(raw["winner"]) == [raw["source_b"][0], raw["source_a"][1]]
