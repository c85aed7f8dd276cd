"""The issue-15 parts of the survey pages through AppTest: the builder's design and planner, preview and edit on
Survey admin, the Results switch and verdict, the read-only link, and a failed headphone check that ends a visit."""

from __future__ import annotations

import pytest

from core import admin
from survey_db import drafts, screening, store
from survey_db import participants as P
from tests.survey_support import make_survey, real_clips
from tests.test_survey_pages import PASSWORD, logged_in, page, texts


@pytest.fixture(autouse=True)
def admin_password(monkeypatch):
    admin.set_password(PASSWORD)
    monkeypatch.setattr(admin.THROTTLE, "base_s", 0.2)
    monkeypatch.setattr(admin.THROTTLE, "failures", 0)


def test_builder_plans_the_sample_and_stores_the_design():
    at = logged_in("pages/views/survey_builder.py")
    at.radio(key="b_design").set_value("2afc").run()
    at.number_input(key="b_per_participant").set_value(10).run()
    at.number_input(key="b_icc").set_value(0.05).run()
    planner = next(i.value for i in at.info if i.value.startswith("**Planner**"))
    # 227 independent answers (exact TOST power at margin 0.1), design effect 1 + 9 x 0.05 = 1.45: 33 participants
    assert "recruit **33 participants** (330 answers, 10 each)" in planner and "1.45" in planner
    at.number_input(key="b_margin").set_value(0.2).run()
    assert "recruit **" in next(i.value for i in at.info if i.value.startswith("**Planner**"))
    before = {s.id for s in store.list_surveys()}
    at.text_input(key="b_title").set_value("Pairs from the builder")
    at.number_input(key="b_excerpt").set_value(4.0)
    at.number_input(key="b_n_human").set_value(2)
    at.number_input(key="b_per_model").set_value(2)
    at.checkbox(key="b_screen").check()
    at.radio(key="b_screen_fail").set_value("end")
    at.checkbox(key="b_full_play").check()
    at.button(key="FormSubmitter:builder-Create survey").click().run()
    assert not at.exception and not at.error
    [new] = [s for s in store.list_surveys() if s.id not in before]
    settings = screening.survey_settings(new.id)
    assert (settings["design"], settings["margin"], settings["headphone_screen"], settings["screen_fail"],
            settings["require_full_play"]) == ("2afc", 0.2, True, "end", True)
    assert new.clips_per_participant == 10


def test_admin_previews_edits_a_draft_and_shows_the_status_after_opening():
    survey_id, _ = make_survey(None, status="draft", title="Draft to edit")
    at = logged_in("pages/views/survey_admin.py")
    at.selectbox(key="a_survey").set_value(survey_id).run()
    assert "Status: draft" in texts(at)
    assert any(a.proto.url.endswith(".wav") for a in at.get("audio"))  # the admin's player
    table = drafts.preview(survey_id)
    assert set(table["truth"]) == {"human", "machine"} and table["source"].str.len().gt(3).all()
    at.selectbox(key=f"a_listen_{survey_id}").set_value(table["clip"][0]).run()
    at.button(key=f"a_remove_{survey_id}").click().run()
    assert not at.exception and at.success[0].value == "Clip removed." and len(drafts.preview(survey_id)) == 7
    at.button(key="a_open").click().run()
    assert not at.exception and at.selectbox(key="a_survey").value == survey_id and "Status: open" in texts(at)
    assert f"a_remove_{survey_id}" not in [b.key for b in at.button]


def _single_survey_with_a_failing_participant() -> int:
    """Two participants on 4 human + 4 machine clips and the 2 catch clips: p1 right everywhere, p2 wrong
    everywhere (catch clips too). Accuracy 8 of 16 with both, 8 of 8 with p2 excluded."""
    survey_id, token = make_survey(None, clips=real_clips(), min_listen_seconds=0, title="Catch test")
    truth = dict(zip(store.clip_table(survey_id)["clip"], store.clip_table(survey_id)["truth"], strict=True))
    for right in (True, False):
        person = P.join(token)
        while (state := P.state(token, person)).step == "clip":
            t = truth[state.clip]
            P.record_vote(token, person, state.clip, t if right else ({"human": "machine", "machine": "human"}[t]),
                          None, 9000)
    return survey_id


def test_results_switch_excludes_who_failed_a_check_and_the_verdict_shows():
    survey_id = _single_survey_with_a_failing_participant()
    at = logged_in("pages/views/results.py")
    at.selectbox(key="r_survey").set_value(survey_id).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Answers"] == "16" and metrics["Accuracy"] == "50.0%"
    assert any(i.value.startswith("Inconclusive") for i in at.info)
    at.toggle(key="r_exclude").set_value(True).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Answers"] == "8" and metrics["Accuracy"] == "100.0%"
    assert any("failed a catch clip" in c.value for c in at.caption)
    assert any(w.value.startswith("Listeners could tell them apart") for w in at.warning)
    methods = at.code[-1].value
    assert "1 participant was excluded before analysis (failed a catch clip)" in methods
    for frame in at.dataframe:  # no "None" cells in any table
        assert not frame.value.astype(object).isin([None]).to_numpy().any()
    labels = [b.label for b in at.get("download_button")]
    assert "Chart (PNG)" in labels and "Chart (SVG)" in labels


def test_read_only_link_shows_one_survey_without_login_until_revoked():
    survey_id = _single_survey_with_a_failing_participant()
    token = screening.dashboard_link_token(survey_id)
    at = page("pages/views/results.py", d=token)
    assert not at.exception and at.title[0].value == "Results" and not at.text_input
    assert list(at.selectbox(key="r_survey").options) == [f"{survey_id} · Catch test · open · 20 answers"]
    assert {m.label: m.value for m in at.metric}["Accuracy"] == "50.0%"
    assert "Responses (CSV)" not in [b.label for b in at.get("download_button")]  # answers with truths: admin only
    screening.revoke_dashboard(survey_id)
    at = page("pages/views/results.py", d=token)
    assert at.error[0].value == "This dashboard link is not valid (or it was revoked)." and not at.metric


def test_a_failed_headphone_check_ends_the_visit_politely():
    _, token = make_survey(None, headphone_screen=True, screen_fail="end", min_listen_seconds=0)
    at = page("pages/views/survey.py", s=token)
    at.button(key="consent").click().run()
    assert at.subheader[0].value == "Headphone check" and len(at.get("audio")) == 6
    person = at.query_params["p"]
    from survey_db.engine import transaction
    from survey_db.models import Participant

    with transaction() as session:
        key = session.query(Participant).filter_by(token=person).one().screen_key
    for i, k in enumerate(key):
        at.radio(key=f"screen_{i}").set_value(k["antiphase"])  # what a loudspeaker listener hears as quietest
    at.button(key="FormSubmitter:screen-Continue").click().run()
    assert not at.exception and "will not ask you to go on" in at.info[0].value and not at.get("bidi_component")
    assert P.state(token, person).step == "screened_out"
