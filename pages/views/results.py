"""Results: a survey's statistics at a glance, refreshed while it runs, with the screening, the equivalence
verdict, a methods paragraph, the chart and the exports. ``?d=TOKEN`` opens one survey read-only, without the
admin login (the admin can revoke the token)."""

import streamlit as st

from core.errors import UserError
from core.survey.stats.arena import arena_summary, is_arena
from core.survey.stats.checks import check_table, exclude_failed
from core.survey.stats.report import analyse
from pages.common import results_view as view
from pages.common.admin import require_admin, survey_link
from survey_db import screening, store

reader = st.query_params.get("d")
if reader:
    try:
        only = screening.dashboard_survey(reader)
    except UserError as exc:
        st.title("Results")
        st.error(str(exc))
        st.stop()
    surveys = [s for s in store.list_surveys() if s.id == only]
else:
    require_admin()
    surveys = [s for s in store.list_surveys() if s.responses]
st.title("Results")
if not surveys or not surveys[0].responses:
    st.info("No survey has answers yet.")
    st.stop()
by_id = {s.id: s for s in surveys}
chosen = by_id[st.selectbox("Survey", list(by_id), key="r_survey",
                            format_func=lambda i: f"{i} · {by_id[i].title} · {by_id[i].status} · "
                                                  f"{by_id[i].responses} answers")]
c1, c2 = st.columns(2)
exclude = c1.toggle("Exclude participants who failed a check (catch clip, headphone check)", key="r_exclude",
                    help="The same exclusion as `survey-stats --exclude-failed-checks`")
full = c2.checkbox("Also fit the mixed-effects model and the breakdowns (slower)", key="r_full")
settings = screening.survey_settings(chosen.id)

if not reader:
    with st.expander("Read-only link for readers"):
        token = settings["dashboard_token"]
        if token:
            st.code(survey_link(token).replace("/survey?s=", "/results?d="), language=None)
            if st.button("Revoke this link", key="r_revoke"):
                screening.revoke_dashboard(chosen.id)
                st.rerun()
        elif st.button("Make a read-only link", key="r_share"):
            screening.dashboard_link_token(chosen.id)
            st.rerun()


@st.fragment(run_every=10 if chosen.status == "open" else None)
def dashboard() -> None:
    try:
        df, margin = screening.survey_responses(chosen.id)
    except UserError as exc:
        st.error(str(exc))
        return
    table = check_table(df)
    table["excluded"] = table["excluded"] & exclude
    kept, excluded = exclude_failed(df, catch=exclude, headphones=exclude)
    if kept.empty:
        st.warning("Every participant failed a check: nothing is left to analyse.")
        return
    if is_arena(kept):
        arena_dashboard(kept, excluded, table)
        return
    s = analyse(kept, margin, full)
    view.headline(s)
    view.plan(s)
    if excluded.empty:
        st.caption("No participant is excluded.")
    else:
        st.caption(f"Excluded: {', '.join(f'{r.participant} ({r.reason})' for r in excluded.itertuples())}.")
    if s["design"] == "2afc":
        view.paired(s)
    else:
        view.single(s, kept)
    if chosen.status == "open":
        st.caption("The survey is open: these figures refresh every 10 seconds.")
    view.checks(table)
    view.report(s, excluded, chosen.question, chosen.clips_per_participant, f"survey-{chosen.id}", settings)
    responses_csv()


def arena_dashboard(kept, excluded, table) -> None:
    """The arena's leaderboard (the same figures as ``survey-stats --survey``), its screening and downloads."""
    try:
        s = arena_summary(kept)
    except UserError as exc:  # e.g. a source that never won: no finite strengths yet
        st.warning(str(exc))
    else:
        if not excluded.empty:
            st.caption(f"Excluded: {', '.join(f'{r.participant} ({r.reason})' for r in excluded.itertuples())}.")
        view.arena(s)
        view.arena_report(s, excluded, settings["arena_question"], f"survey-{chosen.id}", settings)
    view.checks(table)
    responses_csv()


def responses_csv() -> None:
    """Every answer with its clip's source: for the admin only, even though participants see no ids."""
    if not reader:
        raw, design = screening.raw_responses(chosen.id)
        st.download_button("Responses (CSV)", screening.export_csv(raw, design), f"survey-{chosen.id}-responses.csv",
                           "text/csv", key="r_csv")


dashboard()
