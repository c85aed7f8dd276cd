"""TuneLab: compose folk tunes with neural networks and hear them at once.

Run with `make run` (or `streamlit run serve.py`). Page scripts live in pages/views/ and only call core.
"""

import streamlit as st

from core.server import server_settings, startup_warnings

# An emoji favicon is drawn in the page; a :material/...: one would be fetched from a font host.
st.set_page_config(page_title="TuneLab", page_icon="🎵", layout="wide")
settings = server_settings()
startup_warnings(settings)  # once per process, in the server's log
if not settings.participant_only:
    from pages.common.warm import warm_server  # light, and never imported on a participant-only server

    warm_server()  # the first visit starts it: the default model is warm before the first Generate

SURVEY = st.Page("pages/views/survey.py", title="Survey", icon=":material/how_to_vote:", url_path="survey")
if settings.participant_only:
    # TUNELAB_MODE=survey (`make serve-survey`): "/" and "/survey" show the survey; any other path shows it too.
    pages = [st.Page("pages/views/participant_home.py", title="Survey", icon=":material/how_to_vote:",
                     default=True), SURVEY]
else:
    pages = [
        st.Page("pages/views/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/views/compose.py", title="Compose", icon=":material/music_note:", url_path="compose"),
        st.Page("pages/views/train.py", title="Train", icon=":material/model_training:", url_path="train"),
        st.Page("pages/views/evaluate.py", title="Evaluate", icon=":material/analytics:", url_path="evaluate"),
        SURVEY,
        st.Page("pages/views/survey_builder.py", title="Survey builder", icon=":material/build:",
                url_path="survey-builder"),
        st.Page("pages/views/survey_admin.py", title="Survey admin", icon=":material/admin_panel_settings:",
                url_path="survey-admin"),
        st.Page("pages/views/results.py", title="Results", icon=":material/query_stats:", url_path="results"),
    ]
# a survey link (or a participant-only server) shows the participant the survey only
navigation = st.navigation(pages, position="hidden" if "s" in st.query_params or settings.participant_only
                           else "sidebar")
navigation.run()
