"""TuneLab: compose folk tunes with neural networks and hear them at once.

Run with `make run` (or `streamlit run app.py`). Page scripts live in pages/views/ and only call core.
"""

import streamlit as st

st.set_page_config(page_title="TuneLab", page_icon=":material/music_note:", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/views/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/views/compose.py", title="Compose", icon=":material/music_note:", url_path="compose"),
        st.Page("pages/views/train.py", title="Train", icon=":material/model_training:", url_path="train"),
        st.Page("pages/views/evaluate.py", title="Evaluate", icon=":material/analytics:", url_path="evaluate"),
    ]
)
navigation.run()
