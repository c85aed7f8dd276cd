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


def visit_history(at: AppTest) -> list[dict]:
    """The tunes this AppTest session made, newest first, as saved in the tune store."""
    from core.data import tune_store

    return [tune_store.load(info.id) for info in tune_store.owned_by(at.session_state["owner"])]


def scores(at: AppTest) -> list[dict]:
    """The abcjs scores on the page, as the data each was given (abc, alt text, ...)."""
    import json

    return [json.loads(e.proto.json) for e in at.get("bidi_component") if e.proto.component_name == "tunelab_score"]
