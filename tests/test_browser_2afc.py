"""A paired (2AFC) survey with the headphone check, taken in a real browser (Debian's Chromium via Playwright),
then read on Results: the figures with everyone, and with the participant who failed the checks excluded by the
switch, equal to what ``survey-stats --exclude-failed-checks`` prints.

The play-tracking player is exercised for real: each piece is played (muted, at 8x speed) to its end, since the
survey asks for full playback, and the stored trials carry the plays and a listening time counted from Play.
Set ``TUNELAB_SCREENSHOTS`` to a folder to keep the screenshots (docs/survey-2afc.png comes from there).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from core import admin
from survey_db import store
from survey_db.engine import transaction
from survey_db.models import Participant, Trial
from tests.conftest import ROOT
from tests.survey_support import real_clips
from tests.test_browser import ARGS, CHROMIUM, browser, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
PASSWORD = "correct horse battery"
PLAY = ("async (label) => { const a = document.querySelector(`audio[data-player='${label}']`);"
        " a.muted = true; a.playbackRate = 8; await a.play();"
        " if (!a.ended) await new Promise(r => a.addEventListener('ended', r, {once: true})); }")


def shot(page, name: str) -> None:
    folder = os.environ.get("TUNELAB_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def _participant(token: str):
    with transaction() as session:
        p = session.scalars(select(Participant).where(Participant.token == token)).one()
        trials = {t.position: t.human_position for t in session.scalars(select(Trial).where(
            Trial.participant_id == p.id))}
        return p.screen_key, trials


def consent(browser, server, token: str, width: int):  # noqa: F811
    """A new page on the survey's link, past the consent step."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{server}/survey?s={token}")
    page.get_by_role("button", name="I agree: start").wait_for(timeout=60_000)
    page.wait_for_timeout(300)
    page.keyboard.press("Escape")  # a leftover first-run dialog of a fresh server
    page.get_by_role("button", name="I agree: start").click()
    return page


def take_survey(browser, server, token: str, right: bool, screenshot: str | None = None) -> str:  # noqa: F811
    """Consent, the headphone check (all right, or all wrong), the instructions, then every pair: play both
    pieces to the end and choose the person's piece (right) or the other one. Returns the participant token."""
    page = consent(browser, server, token, 1000)
    page.get_by_text("Headphone check").wait_for(timeout=60_000)
    person = page.url.split("p=")[1].split("&")[0]
    key, trials = _participant(person)
    for i, k in enumerate(key):
        answer = k["quiet"] if right else k["antiphase"]
        page.get_by_role("radiogroup").nth(i).get_by_text(("first", "second", "third")[answer - 1], exact=True).click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Start").click(timeout=60_000)
    for n in range(len(trials)):
        page.get_by_text(f"Pair {n + 1} of {len(trials)}").wait_for(timeout=60_000)
        page.wait_for_timeout(300)
        for label in ("piece 1", "piece 2"):
            page.wait_for_selector(f"audio[data-player='{label}']", state="attached", timeout=60_000)
            page.evaluate(PLAY, label)
            page.wait_for_timeout(400)  # the ended event reaches the server and reruns the page
        if screenshot and n == 0:
            shot(page, screenshot)
        human = trials[_current_position(person)]
        choice = human if right else 3 - human
        page.get_by_text(("The first piece", "The second piece")[choice - 1], exact=True).last.click()
        page.get_by_role("button", name="Next").click()
    page.get_by_text("Thank you! Your answers are saved.").wait_for(timeout=60_000)
    page.close()
    return person


def _current_position(person: str) -> int:
    """The position of the participant's first unanswered trial (the one on screen)."""
    with transaction() as session:
        p = session.scalars(select(Participant).where(Participant.token == person)).one()
        return session.scalars(select(Trial.position).where(Trial.participant_id == p.id,
                                                            Trial.chosen_position.is_(None))
                               .order_by(Trial.position)).first()


def metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def test_2afc_survey_with_headphone_check_then_results_with_the_switch(server, browser):  # noqa: F811
    clips = list(real_clips())  # 4 human, 4 machine, the 2 catch clips
    survey_id = store.create_survey(store.SurveySpec(
        title="Paired browser test", design="2afc", clips_per_participant=2, headphone_screen=True,
        screen_fail="flag", require_full_play=True, min_listen_seconds=0, instructions="Use headphones."), clips)
    store.set_status(survey_id, "open")
    token = next(s.token for s in store.list_surveys() if s.id == survey_id)

    good = take_survey(browser, server, token, right=True, screenshot="survey-2afc.png")
    bad = take_survey(browser, server, token, right=False)
    with transaction() as session:
        scores = dict(session.execute(select(Participant.token, Participant.screen_correct)).all())
        rows = session.execute(select(Trial.plays, Trial.listening_ms, Trial.chosen_position).join(
            Participant, Trial.participant_id == Participant.id).where(Participant.survey_id == survey_id)).all()
    assert scores[good] == 6 and scores[bad] == 0
    assert len(rows) == 6 and all(plays >= 2 and ms > 0 for plays, ms, chosen in rows if chosen is not None)

    admin.set_password(PASSWORD)
    page = browser.new_page(viewport={"width": 1200, "height": 1400})
    page.goto(f"{server}/results")
    page.get_by_label("Admin password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=60_000)
    page.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=f"{survey_id} · Paired browser test", exact=False).click()
    page.locator('[data-testid="stMetric"]').filter(has_text="Trials").first.wait_for(timeout=60_000)
    # everyone: the good listener's 2 pairs right, the bad one's 2 wrong (catch pairs left out)
    assert metric(page, "Trials") == "4" and metric(page, "Accuracy") == "50.0%"
    page.get_by_role("heading", name="Screening").wait_for(timeout=60_000)  # who failed which check (a grid)
    page.get_by_text("Exclude participants who failed a check").click()
    page.get_by_text("Excluded: ").wait_for(timeout=60_000)
    assert metric(page, "Trials") == "2" and metric(page, "Accuracy") == "100.0%"
    assert "failed a catch clip; failed the headphone check" in page.get_by_text("Excluded: ").inner_text()
    shot(page, "survey-results-2afc.png")
    page.close()

    # a reader's read-only link (no login) shows the same survey; revoked, it shows nothing
    from survey_db import screening

    reader = browser.new_page(viewport={"width": 1200, "height": 1000})
    reader.goto(f"{server}/results?d={screening.dashboard_link_token(survey_id)}")
    reader.locator('[data-testid="stMetric"]').filter(has_text="Trials").first.wait_for(timeout=60_000)
    assert metric(reader, "Accuracy") == "50.0%" and reader.get_by_label("Admin password").count() == 0
    screening.revoke_dashboard(survey_id)
    reader.reload()
    reader.get_by_text("This dashboard link is not valid").wait_for(timeout=60_000)
    reader.close()

    proc = subprocess.run([sys.executable, "-m", "core", "survey-stats", "--survey", str(survey_id), "--json",
                           "--exclude-failed-checks"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    out = json.loads(proc.stdout)
    assert out["overall"]["n"] == 2 and out["overall"]["accuracy"] == 1.0 and len(out["excluded"]) == 1
