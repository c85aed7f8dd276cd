"""The Compose page as an instrument, through AppTest: a fresh seed each press and a lock, variations,
the tune worked on (edit and Play, transpose, tempo), Continue my tune, and no dead ends: every refused
field says why, and when no attempt passes the best one is shown with a Try again button."""

from __future__ import annotations

import io

import pretty_midi
import pytest

from tests.conftest import SHIPPED
from tests.page_support import open_page

TUNE = "X:1\nT:Test Jig\nM:6/8\nL:1/8\nK:D\n|:A2B c2d|e2f g2e|f2d e2c|d3 d3:|\n"


def _page(variations: int = 1):
    at = open_page("pages/views/compose.py")
    at.selectbox(key="model").set_value(SHIPPED[0]).run()
    at.slider(key="seconds").set_value(15)
    at.number_input(key="bars_per_part").set_value(4)  # short tunes (AABB, 4 bars a part): quick presses
    at.number_input(key="variations").set_value(variations)
    at.checkbox(key="avoid_copies").uncheck()
    return at


def _generate(at):
    next(b for b in at.button if b.label == "Generate").click().run()
    assert not at.exception
    return at


def _pitches(midi_bytes: bytes) -> list[int]:
    midi = pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes))
    return [n.pitch for inst in midi.instruments for n in sorted(inst.notes, key=lambda n: (n.start, n.pitch))]


def test_each_press_draws_a_new_seed_and_the_lock_keeps_it():
    at = _generate(_page())
    first = at.session_state["current"]
    _generate(at)
    second = at.session_state["current"]
    assert first["seed"] != second["seed"] and first["abc"] != second["abc"]
    assert any(f"Seed {second['seed']}" in c.value for c in at.caption)  # the seed is shown
    at.number_input(key="seed").set_value(second["seed"])
    at.checkbox(key="lock_seed").check()
    _generate(at)
    assert at.session_state["current"]["abc"] == second["abc"]


def test_four_variations_each_with_a_player_and_a_seed_and_one_to_work_on():
    at = _generate(_page(variations=4))
    assert not at.error
    tunes = at.session_state["variation_tunes"]
    assert len(tunes) == 4 and len({t["seed"] for t in tunes}) == 4
    assert len(at.get("audio")) == 5  # four variations and the tune worked on
    picks = [b for b in at.button if b.label == "Work on this one"]
    assert len(picks) == 4
    picks[2].click().run()
    assert at.session_state["current"]["seed"] == tunes[2]["seed"]
    assert at.text_area(key="edit_abc").value == tunes[2]["abc"]


def test_edit_and_play_transpose_and_tempo_follow_into_the_downloads():
    at = _page()
    at.number_input(key="seed").set_value(3)
    at.checkbox(key="lock_seed").check()
    _generate(at)
    at.text_area(key="edit_abc").set_value(TUNE)
    next(b for b in at.button if b.label == "Play").click().run()
    assert not at.exception and not at.error
    played = at.session_state["current"]
    assert played["abc"] == TUNE and _pitches(played["midi"])[:3] == [69, 71, 73]  # A B c#
    download = next(b for b in at.get("download_button") if b.proto.label == "Download ABC")
    assert download.proto.label == "Download ABC"
    at.selectbox(key="transpose_to").set_value("E")
    next(b for b in at.button if b.label == "Transpose").click().run()
    assert [p - 2 for p in _pitches(at.session_state["current"]["midi"])] == _pitches(played["midi"])
    assert "K:E" in at.text_area(key="edit_abc").value
    at.number_input(key="play_tempo").set_value(90).run()
    assert "Q:1/4=90" in at.session_state["current"]["abc"]
    assert at.session_state["current"]["duration"] > 1.2 * played["duration"]  # slower, same notes
    assert _pitches(at.session_state["current"]["midi"]) == [p + 2 for p in _pitches(played["midi"])]
    at.text_area(key="edit_abc").set_value(TUNE.replace("e2f g2e|", "e2f g2e a|"))
    next(b for b in at.button if b.label == "Play").click().run()
    assert any("Bar 2 breaks the meter 6/8" in w.value for w in at.warning)


def test_continue_my_tune_keeps_the_pasted_tune_and_says_why_when_it_cannot():
    at = _page()
    at.text_area(key="continue_abc").set_value(TUNE)
    next(b for b in at.button if b.label == "Continue").click().run()
    assert not at.exception and not at.error
    assert at.session_state["current"]["abc"].startswith(TUNE)
    at.text_area(key="continue_abc").set_value("T:No key\nABc|")
    next(b for b in at.button if b.label == "Continue").click().run()
    assert "no K: line" in at.error[0].value
    at.text_area(key="continue_abc").set_value(TUNE + "A" * 7000)
    next(b for b in at.button if b.label == "Continue").click().run()
    assert "at most 6,000" in at.error[0].value


def test_refused_fields_each_say_why():
    at = _page()
    cases = [
        (lambda: at.text_area(key="opening").set_value("A2B c2d|" * 400), "at most 3,000"),
        (lambda: (at.number_input(key="seed").set_value(-5), at.checkbox(key="lock_seed").check()),
         "The seed must be a whole number"),
        (lambda: at.number_input(key="tempo").set_value(1000), "Tempo must be between 20 and 400"),
        (lambda: (at.selectbox(key="tune_type").set_value("jig"), at.selectbox(key="meter").set_value("C|")),
         "A jig is in 6/8, not C|"),
        (lambda: (at.selectbox(key="tune_type").set_value("slip jig"), at.selectbox(key="meter").set_value("2/4")),
         "A slip jig is in 9/8"),
        (lambda: at.number_input(key="temperature_typed").set_value(5.0), "Temperature must be"),
        (lambda: at.number_input(key="variations").set_value(12), "Variations must be a whole number from 1 to 8"),
    ]
    for change, message in cases:
        at = _page()
        change()
        _generate(at)
        assert len(at.error) == 1 and message in at.error[0].value, (message, [e.value for e in at.error])
        assert "current" not in at.session_state


@pytest.mark.parametrize("temperature,seed", [(2.0, 1), (3.0, 2)])
def test_a_typed_wild_temperature_makes_a_tune_not_a_dead_end(temperature, seed):
    """Up to the typed maximum of 3 a press gives a tune (or, failing every check, a marked best attempt)."""
    at = _page()
    assert at.slider(key="temperature").max == 1.2  # the slider stops where the shipped models still make music
    at.number_input(key="temperature_typed").set_value(temperature)  # higher only typed
    at.number_input(key="seed").set_value(seed)
    at.checkbox(key="lock_seed").check()
    _generate(at)
    assert not at.exception
    current = at.session_state["current"]
    assert current["seed"] == seed and current["wav"] is not None and "K:" in current["abc"]
    if at.error:  # the best attempt: said so, its broken bars marked
        assert "best attempt is shown below" in at.error[0].value and current["label"].startswith("Best attempt")
        assert current["broken_bars"]
    else:
        assert not current["broken_bars"]


def test_no_playable_tune_shows_the_best_attempt_and_try_again(monkeypatch):
    import core.generation.abc_compose as abc_compose

    monkeypatch.setattr(abc_compose, "_seconds", lambda *a: 1e6)  # every attempt "plays too short"
    at = _page()
    at.number_input(key="seed").set_value(1)
    at.checkbox(key="lock_seed").check()
    _generate(at)
    assert "best attempt is shown below" in at.error[0].value and "Try again" in at.error[0].value
    best = at.session_state["current"]
    assert best["label"].startswith("Best attempt") and best["wav"] is not None
    retry = [b for b in at.button if b.label == "Try again"]
    assert len(retry) == 1
    retry[0].click().run()
    assert not at.exception
    assert at.session_state["current"]["seed"] != 1  # a fresh seed, the same settings
