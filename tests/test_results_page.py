"""The Results dashboard on a seeded survey, the CLI's --survey, and the export -> import round trip."""

import json
import os
import subprocess
import sys

import pytest

from core.survey import stats
from core.survey.responses import read_survey_file
from tests.conftest import ROOT
from tests.results_support import seeded_survey
from tests.test_survey_pages import PASSWORD, admin_password, logged_in  # noqa: F401  (the fixture too)


@pytest.fixture(scope="module")
def survey_id():
    return seeded_survey(os.environ["SURVEY_DB_URL"])


def test_dashboard_shows_the_numbers_their_meaning_and_exports(survey_id):
    at = logged_in("pages/views/results.py")
    at.selectbox(key="r_survey").set_value(survey_id)
    at.run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Answers"] == "32" and metrics["Accuracy"] == "50.0%" and metrics["d'"] == "0.00"
    text = "\n".join(m.value for m in at.markdown)
    assert "50.0% of 32 votes named the clip's true source" in text
    assert "the listeners' lean" in text
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Chart (PNG)", "Chart (SVG)", "Summary (JSON)", "Responses (CSV)"]


def test_cli_reads_the_survey_database_and_csv_round_trips(survey_id, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "core", "survey-stats", "--survey", str(survey_id), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    from_db = json.loads(proc.stdout)
    assert from_db["n_responses"] == 32 and from_db["votes"] == {"human": 16, "machine": 16}
    assert from_db["overall"]["accuracy"] == 0.5 and from_db["sdt"]["d_prime"] == 0.0

    # the dashboard's CSV export, read back as a file, gives the same summary
    from core.survey.responses import responses_to_csv
    from survey_db.store import responses_frame

    path = tmp_path / "export.csv"
    path.write_text(responses_to_csv(responses_frame(survey_id)))
    again = json.loads(json.dumps(stats.summary(read_survey_file(path))))
    assert {k: again[k] for k in ("n_responses", "votes", "overall", "by_truth", "sdt", "clips")} == {
        k: from_db[k] for k in ("n_responses", "votes", "overall", "by_truth", "sdt", "clips")}


def test_cli_refuses_an_unknown_survey_and_both_sources():
    proc = subprocess.run([sys.executable, "-m", "core", "survey-stats", "--survey", "9999"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip() == "error: There is no survey 9999."
    proc = subprocess.run([sys.executable, "-m", "core", "survey-stats", "x.csv", "--survey", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not both" in proc.stderr


def test_results_page_needs_the_admin_password():
    from tests.test_survey_pages import page

    at = page("pages/views/results.py")
    assert not at.exception
    assert not at.metric and at.text_input(key="admin_password") is not None
