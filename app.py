"""TuneLab: compose folk tunes with neural networks and hear them at once.

Run with `make run` (or `streamlit run app.py`). Page scripts live in pages/views/ and only call core.
"""

import streamlit as st

from pages.common import warm_server

st.set_page_config(page_title="TuneLab", page_icon=":material/music_note:", layout="wide")
warm_server()  # the first visit starts it: the default model is warm before the first Generate

navigation = st.navigation(
    [
        st.Page("pages/views/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/views/compose.py", title="Compose", icon=":material/music_note:", url_path="compose"),
        st.Page("pages/views/train.py", title="Train", icon=":material/model_training:", url_path="train"),
        st.Page("pages/views/evaluate.py", title="Evaluate", icon=":material/analytics:", url_path="evaluate"),
        st.Page("pages/views/survey.py", title="Survey", icon=":material/how_to_vote:", url_path="survey"),
        st.Page("pages/views/survey_builder.py", title="Survey builder", icon=":material/build:",
                url_path="survey-builder"),
        st.Page("pages/views/survey_admin.py", title="Survey admin", icon=":material/admin_panel_settings:",
                url_path="survey-admin"),
        st.Page("pages/views/results.py", title="Results", icon=":material/query_stats:", url_path="results"),
    ],
    position="hidden" if "s" in st.query_params else "sidebar",  # a survey link shows the participant the survey only
)
navigation.run()
