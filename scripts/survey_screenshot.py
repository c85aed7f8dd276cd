"""Screenshots of the survey pages for the README: builder, participant page, admin page, in a real browser.

Starts the app on a throw-away data folder and SQLite database (nothing touches yours), makes a small survey
of real clips, then drives Debian's /usr/bin/chromium with Playwright. Usage:
    .venv/bin/python scripts/survey_screenshot.py --out docs/
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.screenshot import app_in_browser  # noqa: E402

PASSWORD = "screenshot-password"


def admin_page(page, path: str, ready: str) -> None:
    """Open an admin page, log in, and wait for the heading or button named ``ready``."""
    page.goto(path) if path else page.reload()
    page.get_by_label("Admin password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(ready, exact=True).first.wait_for(timeout=60_000)


def make_survey() -> str:
    """An open survey: 3 O'Neill test tunes, 3 tunes of the best model, catch clips; returns its token."""
    from core.admin import set_password
    from core.survey.build import BuildRequest, build_clips
    from core.survey.clips import ClipPolicy
    from pages.common import models_by_name
    from survey_db import store

    set_password(PASSWORD)
    model = next(iter(models_by_name()))
    request = BuildRequest(n_human=3, models=[model], per_model=3, catch=True)
    clips, _ = build_clips(request, ClipPolicy(excerpt_seconds=15))
    spec = store.SurveySpec(title="Human or machine?", ask_demographics=True, completion_code="TUNELAB-7Q2",
                            min_listen_seconds=5)
    survey_id = store.create_survey(spec, clips)
    store.set_status(survey_id, "open")
    return next(s.token for s in store.list_surveys() if s.id == survey_id)


def main() -> None:

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs", help="folder for the PNG files")
    args = parser.parse_args()
    out = ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="tunelab-shots-")
    os.environ["TUNELAB_DATA_DIR"] = tmp
    os.environ["SURVEY_DB_URL"] = f"sqlite:///{tmp}/surveys.sqlite"
    token = make_survey()
    with app_in_browser() as (url, browser):
        page = browser.new_page(viewport={"width": 1280, "height": 1450})
        admin_page(page, f"{url}/survey-builder", "Create survey")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "survey-builder.png"), full_page=True)
        admin_page(page, f"{url}/survey-admin", "Responses")

        visitor = browser.new_page(viewport={"width": 1000, "height": 800})
        visitor.goto(f"{url}/survey?s={token}")
        visitor.get_by_role("button", name="I agree: start").click()
        visitor.get_by_role("button", name="Continue").click()
        for answer in ("A person", "A computer"):  # two votes, each after the 5 s minimum listening time
            visitor.locator("audio").wait_for(timeout=60_000)
            visitor.wait_for_timeout(5500)
            visitor.get_by_text(answer, exact=True).click()
            visitor.get_by_role("button", name="Next").click()
            visitor.get_by_text("answered").filter(has_text="of 8").wait_for(timeout=60_000)
        visitor.get_by_role("heading", name="Clip 3 of 8").wait_for(timeout=60_000)
        visitor.wait_for_timeout(1500)
        visitor.screenshot(path=str(out / "survey-participant.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 1700})
        admin_page(page, "", "Clips")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "survey-admin.png"), full_page=True)
        admin_page(page, f"{url}/results", "Error rates")
        page.wait_for_timeout(2000)
        page.screenshot(path=str(out / "survey-results.png"), full_page=True)
    for name in ("survey-builder.png", "survey-participant.png", "survey-admin.png", "survey-results.png"):
        print(out / name)


if __name__ == "__main__":
    main()
