"""Streamlit pages: widgets and calls into core and survey_db, nothing else.

Page scripts live in ``pages/views/`` and are registered in ``app.py`` with ``st.navigation``.
None may sit directly in ``pages/``: Streamlit treats a ``pages/`` folder of scripts beside
the entry point as a legacy multipage app until the first ``st.navigation`` call, so a first
visit straight to a page link (``/compose``, a survey link) on a fresh server would show the
wrong pages. Shared page helpers are in the ``pages.common`` package.
"""
