"""An arena survey (issue 19) taken in a real browser (Debian's Chromium via Playwright) by three participants,
then read on Results: the leaderboard's figures equal to what ``survey-stats --survey ID --json`` prints.

Each participant prefers the three sources (human tunes, the LSTM's, the GRU's) in a different order, so every
source wins and loses and the Bradley-Terry fit is defined: human tunes 4 wins, the LSTM 3, the GRU 2.
Set ``TUNELAB_SCREENSHOTS`` to a folder to keep the screenshots.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core import admin
from survey_db import participants as P
from survey_db import store
from tests.conftest import ROOT, SHIPPED
from tests.survey_support import real_clips
from tests.test_browser import CHROMIUM, browser, server  # noqa: F401  (fixtures)
from tests.test_browser_2afc import PASSWORD, consent, metric, shot

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
HUMAN = "human (oneills1850)"
TASTES = [[HUMAN, SHIPPED[0], SHIPPED[1]], [HUMAN, SHIPPED[1], SHIPPED[0]], [SHIPPED[0], SHIPPED[1], HUMAN]]
"""Each participant's order of preference, best first."""


def take_arena(browser, server, token: str, sources: dict[str, str], taste: list[str],  # noqa: F811
               screenshot: str | None = None) -> int:
    """Consent, then every game: the piece whose source ranks higher in ``taste`` is preferred. Returns the games."""
    page = consent(browser, server, token, 1100)
    page.get_by_text("Pair 1 of").wait_for(timeout=60_000)
    person = page.url.split("p=")[1].split("&")[0]
    games = 0
    while (state := P.state(token, person)).step == "game":
        page.get_by_text(f"Pair {state.answered + 1} of {state.total}").wait_for(timeout=60_000)
        page.wait_for_timeout(300)
        if screenshot and games == 0:
            shot(page, screenshot)
        left, right = sources[state.trial.first], sources[state.trial.second]
        side = "Left piece" if taste.index(left) < taste.index(right) else "Right piece"
        page.get_by_text(side, exact=True).last.click()
        page.get_by_role("button", name="Next").click()
        games += 1
        page.wait_for_timeout(500)
    page.get_by_text("Thank you! Your answers are saved.").wait_for(timeout=60_000)
    page.close()
    return games


def test_an_arena_taken_in_a_browser_then_its_leaderboard_on_results(server, browser):  # noqa: F811
    clips = [c for c in real_clips() if not c.is_catch]  # 4 human, 2 from each shipped model
    survey_id = store.create_survey(store.SurveySpec(title="Arena browser test", design="arena",
                                                     clips_per_participant=3, min_listen_seconds=0), clips)
    store.set_status(survey_id, "open")
    token = next(s.token for s in store.list_surveys() if s.id == survey_id)
    sources = {r.clip: HUMAN if r.truth == "human" else r.group for r in store.clip_table(survey_id).itertuples()}
    played = [take_arena(browser, server, token, sources, taste, "survey-arena.png" if k == 0 else None)
              for k, taste in enumerate(TASTES)]
    assert played == [3, 3, 3]  # every pair of the three sources once each

    proc = subprocess.run([sys.executable, "-m", "core", "survey-stats", "--survey", str(survey_id), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    cli = json.loads(proc.stdout)["arena"]
    assert cli["n_games"] == 9 and {r["source"] for r in cli["ratings"]} == {HUMAN, *SHIPPED}
    assert [(r["source"], r["wins"]) for r in cli["ratings"]] == [(HUMAN, 4), (SHIPPED[0], 3), (SHIPPED[1], 2)]

    admin.set_password(PASSWORD)
    page = browser.new_page(viewport={"width": 1200, "height": 1600})
    page.goto(f"{server}/results")
    page.get_by_label("Admin password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=60_000)
    page.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=f"{survey_id} · Arena browser test", exact=False).click()
    page.get_by_role("heading", name="Leaderboard").wait_for(timeout=60_000)
    assert metric(page, "Games") == "9" and metric(page, "Sources") == "3" and metric(page, "Participants") == "3"
    top = cli["ratings"][0]
    paragraph = page.get_by_text("Bradley-Terry strengths were fitted").inner_text()
    assert (f"{top['source']} ranked first ({top['wins']} wins in {top['games']} games; strength "
            f"{top['strength']:.2f}, 95% interval {top['ci95'][0]:.2f} to {top['ci95'][1]:.2f}") in paragraph
    shot(page, "survey-results-arena.png")
    page.close()
