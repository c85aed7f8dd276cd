"""Opening a page of the app through Streamlit's AppTest, as every page test does."""

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

TIMEOUT = 180  # importing torch alone takes ~2 s here (AppTest's default is 3 s); first uses load corpora


def open_page(path: str, timeout: float = TIMEOUT, admin: bool = False, **params) -> AppTest:
    """The app started at Home, then switched to ``path`` (with query ``params``), run once without error;
    ``admin``: as a session that has logged in (the Train page asks for the login)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.run()
    if admin:
        at.session_state["admin"] = True
    at.query_params.update(params)
    at.switch_page(path)
    at.run()
    assert not at.exception
    return at
