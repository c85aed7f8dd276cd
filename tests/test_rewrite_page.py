"""Compose's form controls and "Rewrite bars" section through AppTest (the browser test is test_browser_rewrite.py)."""

from streamlit.testing.v1 import AppTest

from core.generation.form import FormSpec, in_form
from core.generation.infill import parse_tune
from tests.conftest import ROOT, SHIPPED
from tests.page_support import visit_history

TIMEOUT = 120


def _compose_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    at.switch_page("pages/views/compose.py")
    at.run()
    assert not at.exception
    return at


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def test_form_controls_and_rewriting_two_bars_keep_the_rest():
    at = _compose_page()
    at.selectbox(key="model").set_value(SHIPPED[0]).run()
    at.selectbox(key="meter").set_value("6/8")
    at.selectbox(key="key").set_value("D")
    at.selectbox(key="form").set_value("AB")
    at.number_input(key="bars_per_part").set_value(4)
    at.number_input(key="variations").set_value(1)
    at.number_input(key="seed").set_value(5)
    at.checkbox(key="lock_seed").check()
    _button(at, "Generate").click().run()
    assert not at.exception and not at.error
    old = visit_history(at)[0]["abc"]
    assert in_form(old.split("K:D\n", 1)[1], "6/8", "1/8", FormSpec("AB", 4))
    assert any("does not see what follows" in c.value for c in at.caption)  # the LSTM reads the prefix only

    at.number_input(key="rewrite_first").set_value(2)
    at.number_input(key="rewrite_last").set_value(3)
    at.number_input(key="rewrite_seed").set_value(9)
    _button(at, "Rewrite bars").click().run()
    assert not at.exception and not at.error
    history = visit_history(at)
    assert len(history) == 2 and history[1]["abc"] == old
    new = history[0]["abc"]
    assert new != old and "bars 2-3 rewritten" in history[0]["label"]
    a, b = parse_tune(old), parse_tune(new)
    assert new[: len(a.header) + a.bars[1].start] == old[: len(a.header) + a.bars[1].start]
    assert new[len(b.header) + b.bars[2].end :] == old[len(a.header) + a.bars[2].end :]
    assert [x.length for x in b.bars] == [x.length for x in a.bars]
    assert len(at.get("audio")) == 2


def test_rewrite_refuses_a_backwards_range_with_one_sentence():
    at = _compose_page()
    at.selectbox(key="model").set_value(SHIPPED[0]).run()
    at.selectbox(key="form").set_value("AB")
    at.number_input(key="bars_per_part").set_value(4)
    at.number_input(key="variations").set_value(1)
    _button(at, "Generate").click().run()
    at.number_input(key="rewrite_first").set_value(4)
    at.number_input(key="rewrite_last").set_value(2)
    _button(at, "Rewrite bars").click().run()
    assert not at.exception
    assert "outside the tune" in at.error[0].value
    assert len(visit_history(at)) == 1
