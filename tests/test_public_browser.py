"""A participant-only server (TUNELAB_MODE=survey) in a real browser: every workspace path shows the survey
page, never the workspace, and there is no sidebar, toolbar, Deploy button or developer menu."""

from __future__ import annotations

import shutil
import urllib.request

import pytest

from tests.server_support import start_streamlit, stop
from tests.test_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
PATHS = ["", "compose", "train", "evaluate", "survey-builder", "survey-admin", "results", "nope"]
WORKSPACE_WORDS = ["TUNELAB", "Admin login", "Start training", "Generate", "Survey builder", "Results", "Corpus"]


@pytest.fixture(scope="module")
def survey_server():
    proc, url = start_streamlit({"TUNELAB_MODE": "survey"})
    yield url
    stop(proc)


def test_a_participant_only_server_refuses_every_workspace_page(survey_server, tmp_path):
    from playwright.sync_api import sync_playwright

    with urllib.request.urlopen(f"{survey_server}/_stcore/health", timeout=5) as r:
        assert r.status == 200  # the health check stays
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        for path in PATHS:
            page.goto(f"{survey_server}/{path}")
            page.get_by_role("heading", name="Listening survey").wait_for(timeout=60_000)
            page.get_by_text("Open the survey link you were given").wait_for(timeout=30_000)
            page.wait_for_timeout(300)
            text = page.locator("body").inner_text()
            assert not [w for w in WORKSPACE_WORDS if w in text], (path, text[:400])
            assert page.locator('[data-testid="stSidebarNav"]').count() == 0
            assert page.locator('[data-testid="stMainMenu"]').count() == 0  # no developer menu
            assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
        page.screenshot(path=str(tmp_path / "participant-only.png"))
        shutil.copy(tmp_path / "participant-only.png", "/tmp/participant-only.png")
        browser.close()
