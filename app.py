"""TuneLab: compose folk tunes with neural networks and hear them at once.

Run with `make run` (or `streamlit run app.py`). Page scripts live in pages/views/ and only call core.
"""

import streamlit as st

from core.server import server_settings
from pages.common.warm import warm_server  # light: no model code is imported before the first page draws

# An emoji favicon is drawn in the page; a :material/...: one would be fetched from a font host.
st.set_page_config(page_title="TuneLab", page_icon="🎵", layout="wide")
if not server_settings().participant_only:
    warm_server()  # the first visit starts it: the default model is warm before the first Generate

# A participant-only server (TUNELAB_MODE=survey, `make serve-survey`): any other path shows this page.
# (A comment, not a string: Streamlit's magic would print a bare string on the page.)
SURVEY = st.Page("pages/views/survey.py", title="Survey", icon=":material/how_to_vote:", url_path="survey",
                 default=server_settings().participant_only)

navigation = st.navigation(
    [SURVEY] if server_settings().participant_only else [
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
    ],
    # a survey link (or a participant-only server) shows the participant the survey only
    position="hidden" if "s" in st.query_params or server_settings().participant_only else "sidebar",
)
navigation.run()
