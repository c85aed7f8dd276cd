"""A participant-only server (TUNELAB_MODE=survey, `streamlit run serve.py`) in a real browser: every workspace
path shows the survey page, never the workspace, and there is no sidebar, toolbar, Deploy button, developer
menu or metrics endpoint. And issue 23's walk, for both designs: quota 3, one participant screened out (who sees
the screen-out code and return link at once), one abandoning (whose place frees after the survey's abandon
time): the study still reaches 3 finishers and closes itself; the Prolific link shows no "Page not found"."""

from __future__ import annotations

import shutil
import time
import urllib.error
import urllib.request

import pytest

from core.errors import UserError
from survey_db import participants as P
from survey_db import recruit
from tests.server_support import start_streamlit, stop
from tests.test_browser import ARGS, CHROMIUM
from tests.test_quota import answer_all, key, survey

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
PATHS = ["", "compose", "survey-admin", "nope"]
WORKSPACE_WORDS = ["TUNELAB", "Admin login", "Start training", "Generate", "Survey builder", "Results", "Corpus"]
SHOTS = "/tmp"


@pytest.fixture(scope="module")
def survey_server(tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('public') / 'surveys.sqlite'}"
    proc, url = start_streamlit({"TUNELAB_MODE": "survey", "SURVEY_DB_URL": db})
    yield url, db, proc.pid
    stop(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def test_a_participant_only_server_refuses_every_workspace_page(survey_server, browser):
    url, _, pid = survey_server
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as r:
        assert r.status == 200  # the health check stays
    from benchmarks.survey_participants import torch_loaded

    assert not torch_loaded(pid)  # a participant-only server never imports torch (a warm-up session ran)
    with pytest.raises(urllib.error.HTTPError, match="404"):
        urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=5)  # no metrics for the public
    page = browser.new_page()
    for path in PATHS:
        page.goto(f"{url}/{path}")
        page.get_by_role("heading", name="Listening survey").wait_for(timeout=60_000)
        page.get_by_text("Open the survey link you were given").wait_for(timeout=30_000)
        page.wait_for_timeout(300)
        text = page.locator("body").inner_text()
        assert not [w for w in WORKSPACE_WORDS if w in text], (path, text[:400])
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        assert page.locator('[data-testid="stMainMenu"]').count() == 0  # no developer menu
        assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
    page.screenshot(path=f"{SHOTS}/participant-only.png")
    page.close()


def _prolific(url: str, token: str, pid: str) -> str:
    return f"{url}/survey?s={token}&PROLIFIC_PID={pid}&STUDY_ID=study1&SESSION_ID=s{pid}"


def _consent(page, link: str) -> None:
    page.goto(link)
    page.get_by_role("button", name="I agree: start").click(timeout=60_000)
    page.get_by_role("heading", name="Headphone check").wait_for(timeout=30_000)
    assert "Page not found" not in page.locator("body").inner_text()


def _screen(page, answers: list[int]) -> None:
    groups = page.locator('[data-testid="stRadio"]')
    for i, answer in enumerate(answers):
        groups.nth(i).get_by_text(("first", "second", "third")[answer - 1], exact=True).click()
    page.get_by_role("button", name="Continue").click()


@pytest.mark.parametrize("design", ["single", "2afc"])
def test_quota_walk_screen_out_abandon_and_close(design, survey_server, browser):
    url, db, _ = survey_server
    survey_id, token = survey(db, design, 3, headphone_screen=True, screen_fail="end")
    recruit.set_screenout(survey_id, recruit.ScreenOut("https://example.org/screened?cc=SO1", "SO1", 0.04), db)
    page = browser.new_page()

    _consent(page, _prolific(url, token, "screened1"))  # the documented link: no "Page not found"
    screened = recruit.find_participation(token, recruit.LinkIds("prolific", "screened1"), db)
    _screen(page, [1 + k % 3 for k in key(token, screened, db)])  # every answer wrong
    page.get_by_text("Your screen-out code:").wait_for(timeout=30_000)
    page.get_by_text("SO1", exact=True).wait_for(timeout=30_000)  # the page renders element by element
    back = page.get_by_role("link", name="Return to the study site")
    back.wait_for(timeout=30_000)
    assert back.get_attribute("href") == "https://example.org/screened?cc=SO1"
    page.screenshot(path=f"{SHOTS}/screened-out-{design}.png")

    abandoned, joined = P.join(token, db), time.monotonic()  # joins and is never heard from again
    for _ in range(2):
        answer_all(token, P.join(token, db), db)
    with pytest.raises(UserError, match="all the participants it needs"):
        P.join(token, db)  # 2 finished + 1 still holding a place
    time.sleep(max(0.0, 2.6 - (time.monotonic() - joined)))  # abandon time 0.04 min = 2.4 s
    assert P.state(token, abandoned, db).step == "timed_out"

    _consent(page, _prolific(url, token, "last3"))
    last = recruit.find_participation(token, recruit.LinkIds("prolific", "last3"), db)
    _screen(page, key(token, last, db))
    choice = "The first piece" if design == "2afc" else "A person"
    unit = "Pair" if design == "2afc" else "Clip"
    for i in range(2):
        page.get_by_role("heading", name=f"{unit} {i + 1} of 2").wait_for(timeout=30_000)
        page.get_by_test_id("stRadioGroup").get_by_text(choice, exact=True).click()
        page.get_by_role("button", name="Next").click()
    page.get_by_text("Thank you! Your answers are saved.").wait_for(timeout=30_000)
    page.get_by_role("link", name="Finish and return to the study site").wait_for(timeout=30_000)
    page.screenshot(path=f"{SHOTS}/finished-{design}.png")
    assert P.public_survey(token, db).status == "closed"  # the third counted finisher closed it
    assert recruit.place_counts(survey_id, db) == {"counted": 3, "active": 0, "freed": 2}
    page.goto(_prolific(url, token, "late4"))
    page.get_by_text("This survey is closed").wait_for(timeout=30_000)
    page.close()
