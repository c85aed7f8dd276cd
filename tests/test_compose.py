"""Generation with a shipped model: reproducible, well-formed, playable, and honest about errors."""

from fractions import Fraction as F

import pytest

from core.data.abc import analyse_body, split_tunes
from core.errors import UserError
from core.generation.abc_compose import split_primer
from core.generation.compose import ComposeSettings, compose
from tests.conftest import SHIPPED

MODEL = SHIPPED[0]


def _compose(shipped_lstm, **kw):
    return compose(ComposeSettings(MODEL, **{"seconds": 20, **kw}), shipped_lstm)


def test_same_seed_same_tune_other_seed_other_tune(shipped_lstm):
    a = _compose(shipped_lstm, seed=7)
    b = _compose(shipped_lstm, seed=7)
    c = _compose(shipped_lstm, seed=8)
    assert a.abc == b.abc and a.midi_bytes() == b.midi_bytes()
    assert a.abc != c.abc


@pytest.mark.parametrize("seed", range(6))
def test_every_tune_is_well_formed_and_playable(shipped_lstm, seed):
    piece = _compose(shipped_lstm, seed=seed, temperature=1.0)
    tune = split_tunes(piece.abc)[0]  # parses as one ABC tune with a K: field
    analysis = analyse_body(tune.body, tune.meter, tune.unit)
    assert analysis.bad == []  # every bar fits the meter (or the tune was repaired)
    assert len(analysis.bars) >= 4
    assert tune.body.rstrip().endswith(("|]", "||", ":|"))
    assert piece.n_notes > 8 and piece.duration > 5


def test_given_header_fields_and_opening_are_used(shipped_lstm):
    piece = _compose(
        shipped_lstm, seed=3, title="Seisiún Test", meter="6/8", key="Ador", rhythm="jig", opening="|:A2B c2d|"
    )
    lines = piece.abc.splitlines()
    assert lines[:4] == ["X:1", "T:Seisiún Test", "M:6/8", "L:1/8"]
    assert "R:jig" in lines and "K:Ador" in lines
    body = piece.abc.split("K:Ador\n", 1)[1]
    assert body.startswith("|:A2B c2d|")


def test_tune_type_implies_meter_and_tempo_sets_q(shipped_lstm):
    piece = _compose(shipped_lstm, seed=4, rhythm="reel", tempo=180)
    assert "M:C|" in piece.abc.splitlines() and "Q:1/4=180" in piece.abc.splitlines()


def test_length_follows_the_seconds_asked_for_in_the_free_form(shipped_lstm):
    short = _compose(shipped_lstm, seed=5, seconds=15, meter="6/8", form="free")
    long = _compose(shipped_lstm, seed=5, seconds=45, meter="6/8", form="free")
    # the tune ends at the bar where the target is reached (abc2midi adds a little release)
    assert 15 <= short.duration <= 15 + 3
    assert 45 <= long.duration <= 45 + 3


@pytest.mark.parametrize(
    "kw,message",
    [
        ({"temperature": 0}, "Temperature"),
        ({"temperature": 3.5}, "Temperature"),
        ({"meter": "7/0"}, "Meter"),
        ({"key": "Q#"}, "Key"),
        ({"unit": "eighth"}, "Unit note length"),
        ({"opening": "X:1\nabc|"}, "header lines"),
        ({"opening": "A2B c2d e2f|", "meter": "6/8"}, "does not fit"),
        ({"opening": "[ABc", "meter": "6/8"}, "unmatched"),
        ({"seconds": 0.5}, "Length"),
        ({"form": "ABAC"}, "Form"),
        ({"bars_per_part": 3}, "Bars per part"),
        ({"program": 200}, "program"),
    ],
)
def test_bad_settings_are_user_errors(shipped_lstm, kw, message):
    with pytest.raises(UserError, match=message):
        _compose(shipped_lstm, **kw)


def test_unknown_model_names_the_known_ones():
    with pytest.raises(UserError, match=MODEL):
        compose(ComposeSettings("no-such-model"))


def test_opening_with_tuplets_slurs_and_chords_is_accepted(shipped_lstm):
    piece = _compose(shipped_lstm, seed=2, meter="6/8", opening="(3ABc d [DF]3 | (AB) c d2e |")
    assert "(3ABc d [DF]3 | (AB) c d2e |" in piece.abc


def test_primer_with_header_and_bars_is_split():
    fields, opening = split_primer("X:1\nT:My Jig\nM:6/8\nK:Ador\n|:A2B c2d|\ne2f g2e|")
    assert fields == {"title": "My Jig", "meter": "6/8", "key": "Ador"}
    assert opening == "|:A2B c2d|\ne2f g2e|"
    assert split_primer("A2B c2d|") == ({}, "A2B c2d|")
    with pytest.raises(UserError, match="not supported"):
        split_primer("Q:1/4=120\nabc|")


def test_the_default_form_is_aabb_of_eight_bars_ending_on_the_tonic(shipped_lstm):
    from core.generation.form import FormSpec, in_form

    piece = _compose(shipped_lstm, seed=6, meter="6/8", key="D")
    body = piece.abc.split("K:D\n", 1)[1]
    assert in_form(body, "6/8", "1/8", FormSpec())
    assert piece.meta["attempts"] == 1


def test_without_fluidsynth_abc_and_midi_are_still_written(tmp_path, monkeypatch):
    import core.generation.compose as compose_mod
    from core.audio.render import INSTALL_HINT

    def no_fluidsynth(*args, **kwargs):
        raise UserError(INSTALL_HINT)

    monkeypatch.setattr(compose_mod, "render", no_fluidsynth)
    with pytest.raises(UserError, match="libfluidsynth3"):
        compose_mod.compose_to_files(ComposeSettings(MODEL, seed=1, seconds=10), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tune.abc", "tune.mid"]


def test_a_tune_that_copies_a_training_tune_is_sampled_again_or_refused(shipped_lstm):
    from core.data.corpus import load_corpus

    tune = next(t for t in load_corpus("oneills1850").split("train") if t.meter == "6/8" and t.unit == "1/8")
    bars = analyse_body(tune.body, tune.meter, tune.unit).bars
    opening = " | ".join(b.text for b in bars[1:5] if b.length == F(3, 4)) + " |"  # four full bars, forced
    copied = dict(seed=1, meter="6/8", unit="1/8", key=tune.key, opening=opening, seconds=15)
    with pytest.raises(UserError, match="copied"):
        _compose(shipped_lstm, **copied)  # every attempt starts with the copied bars
    piece = _compose(shipped_lstm, **copied, max_copy_bars=None)
    assert "novelty" not in piece.meta  # not checked when copies are allowed
    fresh = _compose(shipped_lstm, seed=1, seconds=15)
    assert fresh.meta["novelty"]["verdict"] == "novel" and fresh.meta["novelty"]["shared_bars"] < 2
