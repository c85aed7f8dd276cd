"""Streamlit pages: widgets and calls into core and survey_db, nothing else.

Page scripts live in ``ui/views/`` and are registered in ``app.py`` with ``st.navigation``; shared page
helpers are in the ``ui.common`` package. The folder is not called ``pages/``: Streamlit treats a
``pages/`` folder beside the entry point as a legacy multipage app until the first ``st.navigation`` call,
so the first visit to a fresh server straight to a page link (``/compose``, a survey link) said "Page not
found" before showing the page.
"""
