"""What every server runs (`streamlit run serve.py`): the app of app.py, with Streamlit's private endpoints
(``/_stcore/metrics``) answering 404 (core.server.HidePrivatePaths). Streamlit finds ``app`` here and serves it
with the usual command-line options (--server.port, --server.address, ...)."""

import streamlit as st
from starlette.middleware import Middleware

from core.server import HidePrivatePaths, server_settings, startup_warnings, warm_first_session

startup_warnings(server_settings())  # in the server's log as it starts (TUNELAB_BEHIND_PROXY unset, ...)
warm_first_session()  # so that no participant's first visit sees Streamlit's "Page not found"
app = st.App("app.py", middleware=[Middleware(HidePrivatePaths)])
