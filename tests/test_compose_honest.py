"""Compose tells the truth and acts on what is on screen (issue 22), through AppTest.

Stale fields: each action button is pressed right after a field of its own was edited, and the result must
follow the edit (and never another form's last submitted value). Honest messages: one message per cause,
timings from the press, upload limits as enforced, the bar named in a meter refusal, no stray text, Home
drawn before the heavy imports. Tunes that last: every result is saved; My tunes stars, opens and deletes.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import time

import pytest

from core.data import tune_store
from core.errors import UserError
from tests.conftest import ROOT
from tests.test_compose_loop_page import TUNE, _page


def _press(at, label: str, index: int = 0):
    [b for b in at.button if b.label == label][index].click().run()
    assert not at.exception, at.exception
    return at


def _settings(at) -> dict:
    current = at.session_state["current"]
    assert "settings" in current["meta"], (current["kind"], current["meta"], current["label"])
    return current["meta"]["settings"]


def test_continue_reads_its_own_fields_not_the_generate_forms():
    at = _page()
    at.number_input(key="seed").set_value(-5)
    at.checkbox(key="lock_seed").check()
    _press(at, "Generate")
    assert "not -5" in at.error[0].value
    at.number_input(key="seed").set_value(5)  # corrected on screen, Generate not pressed again
    at.text_area(key="continue_abc").set_value(TUNE)
    at.slider(key="continue_temperature").set_value(0.6)
    at.number_input(key="continue_seed").set_value(7)
    at.checkbox(key="continue_lock_seed").check()
    _press(at, "Continue")
    assert not at.error  # no word of the -5 that Generate refused
    current = at.session_state["current"]
    assert current["seed"] == 7 and _settings(at)["temperature"] == 0.6 and current["kind"] == "continued"


def test_try_again_uses_the_fields_on_screen_with_a_fresh_seed(monkeypatch):
    import core.generation.variations as variations
    from core.generation.rescue import NoPlayableTune

    asked = []

    def refuse(settings, n, loaded=None):  # every variation fails the checks, at once
        asked.append(settings)
        return [NoPlayableTune(settings, [f"too short {i}"], [None]) for i in range(n)]

    monkeypatch.setattr(variations, "compose_variations", refuse)
    at = _page(variations=3)
    at.number_input(key="seed").set_value(1)
    at.checkbox(key="lock_seed").check()
    _press(at, "Generate")
    assert len(at.error) == 1  # one message per cause, not one per variation
    assert at.error[0].value.startswith("Seeds 1, 2, 3: No tune passed the checks")
    at.number_input(key="tempo").set_value(90)  # edited, then Try again
    _press(at, "Try again")
    assert asked[-1].tempo == 90 and asked[-1].seed != 1  # the fields on screen, a fresh seed though locked


def test_play_transpose_and_tempo_read_the_editor_as_it_is(monkeypatch):
    at = _page()
    at.number_input(key="seed").set_value(3)
    at.checkbox(key="lock_seed").check()
    _press(at, "Generate")
    generated = at.session_state["current"]
    at.text_area(key="edit_abc").set_value(TUNE)
    _press(at, "Play")
    edited = at.session_state["current"]
    assert edited["abc"] == TUNE and edited["parent"] == generated["id"] and edited["kind"] == "edited"
    assert re.search(r"edited and played again in \d\.\d\d s from the press", edited["made"])
    at.text_area(key="edit_abc").set_value(TUNE.replace("T:Test Jig", "T:Renamed Jig"))
    at.selectbox(key="transpose_to").set_value("G")
    _press(at, "Transpose")
    assert "Transposed to G." in [s.value for s in at.success]  # not "Transposed to g"
    assert "T:Renamed Jig" in at.session_state["current"]["abc"] and "K:G" in at.session_state["current"]["abc"]
    at.number_input(key="play_tempo").set_value(90).run()
    assert "Q:1/4=90" in at.session_state["current"]["abc"] and at.session_state["current"]["kind"] == "retimed"


def test_rewrite_reads_its_temperature_and_seed_and_says_when_nothing_changed():
    at = _page()
    at.number_input(key="seed").set_value(3)
    at.checkbox(key="lock_seed").check()
    _press(at, "Generate")
    before = at.session_state["current"]
    at.number_input(key="rewrite_seed").set_value(42)
    at.checkbox(key="rewrite_lock_seed").check()
    at.slider(key="rewrite_temperature").set_value(0.5)
    _press(at, "Rewrite bars")
    after = at.session_state["current"]
    assert after["seed"] == 42 and after["parent"] == before["id"] and after["kind"] == "rewritten"
    assert "rewritten with seed 42" in after["made"]
    _press(at, "Rewrite bars")  # the same locked seed on the rewritten tune: the same bars, and it says so
    assert "the same notes" in at.session_state["current"]["made"]
    at.checkbox(key="rewrite_lock_seed").uncheck()
    _press(at, "Rewrite bars")
    assert at.session_state["current"]["seed"] != 42  # unlocked: a fresh seed, shown


def test_every_tune_is_saved_and_my_tunes_stars_opens_and_deletes():
    at = _page(variations=2)
    _press(at, "Generate")
    owner = at.session_state["owner"]
    mine = tune_store.owned_by(owner)
    assert len(mine) == 2 and {t.kind for t in mine} == {"generated"}
    second = at.session_state["variation_tunes"][1]
    _press(at, "Work on this one", 1)
    assert at.session_state["current"]["id"] == second["id"] and second["id"] in at.query_params["tune"]
    first = mine[-1].id
    _press(at, "Star", [b.key for b in at.button if b.label == "Star"].index(f"star-{first}"))
    assert tune_store.load(first)["starred"]
    [b for b in at.button if b.key == f"open-{first}"][0].click().run()
    assert at.session_state["current"]["id"] == first
    [b for b in at.button if b.key == f"delete-{second['id']}"][0].click().run()
    assert [t.id for t in tune_store.owned_by(owner)] == [first]
    assert "Deleted" in at.success[0].value
    from pages.common.library import restore

    with pytest.raises(UserError, match="no tune"):  # its link no longer opens it, cached copy or not
        restore(second["id"])


def test_a_stranger_on_a_public_server_sees_a_link_read_only_and_nothing_else(monkeypatch):
    owner = tune_store.new_owner_token()
    tune_id = tune_store.save({"title": "Shared Reel", "abc": TUNE, "seed": 9, "duration": 4.0, "model": "m",
                               "audio_error": "No audio here."}, {"midi": b"MThd", "wav": None}, owner, "generated")
    import pages.common.admin as admin
    import pages.common.shared as shared

    monkeypatch.setattr(shared, "beyond_loopback", lambda address: True)  # as on a server others can reach
    monkeypatch.setattr(admin, "beyond_loopback", lambda address: True)
    at = _page_public(tune=tune_id)
    assert at.title[0].value == "Shared Reel" and not [b for b in at.button if b.label in ("Generate", "Delete")]
    assert "Admin login" not in [t.value for t in at.title]


def _page_public(**params):
    from tests.page_support import open_page

    return open_page("pages/views/compose.py", **params)


def test_timings_count_from_the_press(monkeypatch):
    import core.generation.variations as variations

    real = variations.compose_variations

    def slow(*args, **kwargs):
        time.sleep(1.5)  # as a model loading on a fresh server would
        return real(*args, **kwargs)

    monkeypatch.setattr(variations, "compose_variations", slow)
    at = _generate_one()
    seconds = float(re.search(r"generated in (\d+\.\d+) s from the press", at.session_state["current"]["made"])[1])
    assert seconds >= 1.5
    assert any("from the press" in c.value for c in at.caption)


def _generate_one():
    at = _page()
    return _press(at, "Generate")


def test_a_meter_refusal_names_the_bar_once():
    at = _page(variations=2)
    at.selectbox(key="tune_type").set_value("jig")
    at.text_area(key="opening").set_value("A2B c2d|e2f g2e a|")
    _press(at, "Generate")
    assert len(at.error) == 1 and "Opening bar 2 ('e2f g2e a')" in at.error[0].value, [e.value for e in at.error]


def test_uploaders_state_the_limits_they_enforce():
    at = _page()
    uploader = next(u for u in at.get("file_uploader") if "abc" in u.proto.label)
    assert uploader.proto.max_upload_size_mb == 1 and "6,000 characters" in uploader.proto.label
    text = " ".join(m.value for m in [*at.markdown, *at.caption, *at.title])
    assert "The slider's top" not in text  # no developer's note printed on the page


def test_no_page_script_prints_a_stray_string():
    """A bare string statement in a page script (not its docstring) is printed by Streamlit's magic."""
    for path in sorted((ROOT / "pages" / "views").glob("*.py")):
        body = ast.parse(path.read_text()).body
        strays = [n.lineno for n in body[1:] if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
                  and isinstance(n.value.value, str)]
        assert not strays, (path.name, strays)


def test_home_draws_its_title_before_importing_torch():
    """The entry script and Home's first lines import no model code: a fresh server shows Home at once."""
    code = ("import sys, ast, pathlib\n"
            "import streamlit\n"
            "import core.server, pages.common.warm\n"
            "assert 'torch' not in sys.modules and 'music21' not in sys.modules, 'heavy import before Home'\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
    app = (ROOT / "app.py").read_text()
    assert "from pages.common import" not in app  # pages.common imports the models
    home = (ROOT / "pages" / "views" / "home.py").read_text()
    assert home.index("st.title(") < home.index("from core.")
