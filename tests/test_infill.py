"""Rewriting bars (core.generation.infill), fill-in-the-middle training (core.training.fim) and its CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from core.cli import main
from core.data.abc import analyse_body
from core.errors import UserError
from core.generation.infill import check_kept, infill, parse_tune
from core.tokenizers.fim import END, MID, PRE, SPECIALS, SUF, has_fim

KESH = """X:1
T:The Kesh
M:6/8
L:1/8
R:jig
K:G
|:GAG GAB|ABA ABd|edd gdd|edB dBA|
GAG GAB|ABA ABd|edd gdB|AGF G3:|
|:BAB dBd|ege dBA|BAB dBG|ABA AGA|
BAB dBd|ege dBd|gfg aga|bgf g3:|
"""
# A reel with a pick-up, broken rhythm, a triplet, a chord and a comment line, to be kept as written.
ODD = """X:7
T:Odd one
% a comment the rewrite must keep
M:C|
L:1/8
Q:1/4=200
K:Ador
E|A2 (3Bcd e>dB>G | [EA]2 AB cBAG|  E2 ED EFGE |DEGA BAGB|
A2 AB e2 dB|GABG AGEG|[1 A2 AG E2 D2:|[2 A4 A2 z2||
"""


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    from core.training.config import TrainConfig
    from core.training.loop import train

    out = tmp_path_factory.mktemp("models") / "tiny-gpt-base"
    train(TrainConfig(preset="tiny-gpt-512", corpus="oneills1850", epochs=1, max_train_chars=20_000, out_dir=str(out),
                      name="tiny-gpt-base", checkpoint_every=0))
    return out


@pytest.fixture(scope="session")
def tiny_fim(tiny_base, tmp_path_factory) -> Path:
    from core.training.config import TrainConfig
    from core.training.loop import train

    out = tmp_path_factory.mktemp("models") / "tiny-gpt-fim"
    train(TrainConfig(preset="tiny-gpt-512", corpus="oneills1850", epochs=1, max_train_chars=20_000, out_dir=str(out),
                      name="tiny-gpt-fim", checkpoint_every=0, init_from=str(tiny_base), fim_rate=0.5))
    return out


def _load(folder):
    from core.training.checkpoint import load_checkpoint

    return load_checkpoint(folder)


def test_init_from_copies_the_weights_and_grows_the_vocabulary(tiny_base, tiny_fim):
    base, fim = load_file(str(tiny_base / "model.safetensors")), _load(tiny_fim)
    card = json.loads((tiny_fim / "card.json").read_text())
    old = json.loads((tiny_base / "card.json").read_text())["tokenizer"]["vocab"]
    assert card["tokenizer"]["vocab"] == old + list(SPECIALS)
    assert card["training"]["init_from"] == str(tiny_base) and card["training"]["fim_rate"] == 0.5
    assert fim.model.transformer.wte.weight.shape[0] == len(old) + 4
    assert base["transformer.wte.weight"].shape[0] == len(old)
    assert has_fim(fim.tokenizer)


def test_fim_examples_are_prefix_suffix_middle_and_differ_by_epoch():
    from core.tokenizers import CharTokenizer
    from core.tokenizers.fim import with_fim
    from core.training.batching import build_data
    from core.training.fim import make_fim_data

    tokenizer = with_fim(build_data("transformer", {"kind": "abc_chars"}, "oneills1850").tokenizer)
    data = make_fim_data(build_data("transformer", {"kind": "abc_chars"}, "oneills1850", tokenizer=tokenizer),
                         "oneills1850", 0.5)
    assert isinstance(tokenizer, CharTokenizer)
    one, two = data.epoch_items(1), data.epoch_items(2)
    assert one == data.epoch_items(1) and one != two
    rearranged = [tokenizer.decode(ids) for ids in one if ids[0] == tokenizer.index[PRE]]
    assert 0.4 < len(rearranged) / len(one) < 0.6
    for text in rearranged[:50]:
        prefix, rest = text[1:].split(SUF)
        suffix, middle = rest.split(MID)
        assert middle.endswith(END) and middle.count(END) == 1
        plain = prefix + middle[:-1] + suffix
        assert plain.rstrip("\n") + "\n\n" in {tokenizer.decode(ids) for ids in data.items["train"]}
    # suffix-prefix-middle: the middle goes on straight from the prefix, the suffix read first
    data.fim_order = "spm"
    spm = [tokenizer.decode(ids) for ids in data.epoch_items(1) if ids[0] == tokenizer.index[SUF]]
    assert 0.4 < len(spm) / len(one) < 0.6 and not any(ids[0] == tokenizer.index[PRE] for ids in data.epoch_items(1))
    originals = {tokenizer.decode(ids) for ids in data.items["train"]}
    for text in spm[:50]:
        suffix, rest = text[1:].split(PRE)
        assert MID not in rest and rest.endswith(END) and rest.count(END) == 1
        assert (rest[:-1] + suffix).rstrip("\n") + "\n\n" in originals


@pytest.mark.parametrize("bars", ["3-4", "1-1", "8-9", "16-16"])
def test_infill_keeps_every_character_outside_the_bars(tiny_fim, bars):
    loaded = _load(tiny_fim)
    for seed in range(3):
        result = infill(KESH, bars, loaded, seed=seed, temperature=1.0)
        assert result.mode == "fill-in-the-middle"
        assert check_kept(KESH, result.abc, result.kept)
        first, last = result.bars
        old, new = parse_tune(KESH), parse_tune(result.abc)
        assert len(new.bars) == len(old.bars)
        for k, (a, b) in enumerate(zip(old.bars, new.bars, strict=True)):
            assert b.length == a.length
            if not first - 1 <= k <= last - 1:
                assert old.body[a.start : a.close_end] == new.body[b.start : b.close_end]
        assert not set(result.abc) & set(SPECIALS)


def test_infill_prompts_in_the_order_the_card_names(tiny_fim, monkeypatch):
    from core.generation import infill as module

    loaded = _load(tiny_fim)
    fed, feed = [], module.Sampler.feed_ids
    monkeypatch.setattr(module.Sampler, "feed_ids", lambda self, ids: (fed.append(list(ids)), feed(self, ids))[1])
    for order in ("psm", "spm"):
        loaded.card.training["fim_order"] = order
        result = infill(KESH, "3-4", loaded, seed=0, temperature=1.0)
        assert check_kept(KESH, result.abc, result.kept)
    ix = loaded.tokenizer.index
    assert fed[0][0] == ix[PRE] and fed[0][-1] == ix[MID]
    assert fed[1][0] == ix[SUF] and MID not in loaded.tokenizer.decode(fed[1])
    assert loaded.tokenizer.decode(fed[1]).endswith("K:G\n|:GAG GAB|ABA ABd|")  # bars 3-4 go on from here


def test_prefix_rewriting_with_a_recurrent_model_keeps_pickups_and_odd_bars(tiny_model):
    loaded = _load(tiny_model)
    old = parse_tune(ODD)
    for bars in ("1-2", "5-7", "8-9"):
        result = infill(ODD, bars, loaded, seed=4)
        assert result.mode == "prefix" and check_kept(ODD, result.abc, result.kept)
        new = parse_tune(result.abc)
        assert [b.length for b in new.bars] == [b.length for b in old.bars]
        assert [b.closing for b in new.bars] == [b.closing for b in old.bars]
        assert result.abc.startswith(ODD[: ODD.index("E|")])


def test_special_tokens_never_leak_into_a_composed_tune(tiny_fim):
    from core.generation.abc_compose import ComposeSettings, compose_abc

    loaded = _load(tiny_fim)
    for seed in range(3):
        piece = compose_abc(ComposeSettings(model="tiny-gpt-fim", seed=seed, max_copy_bars=None, form="AB",
                                            bars_per_part=4, meter="6/8", unit="1/8", key="D"), loaded)
        assert not set(piece.abc) & set(SPECIALS)
        body = piece.abc.split("K:D\n", 1)[1]
        analysis = analyse_body(body, "6/8", "1/8")
        assert all(b.length == analysis.bar_length for b in analysis.bars)
    with pytest.raises(UserError, match="control characters"):
        loaded.tokenizer.encode("ABc" + PRE)


def test_bad_input(tiny_fim, tiny_model):
    loaded = _load(tiny_fim)
    with pytest.raises(UserError, match="outside the tune, which has 16 bars"):
        infill(KESH, "15-17", loaded)
    with pytest.raises(UserError, match="not a range"):
        infill(KESH, "three", loaded)
    with pytest.raises(UserError, match="meter"):
        infill(KESH.replace("M:6/8", "M:none"), "1-2", loaded)
    with pytest.raises(UserError, match="more than one tune"):
        infill(KESH + "\n" + KESH, "1-2", loaded)
    midi = type("Loaded", (), {"tokenizer": object(), "card": type("Card", (), {"name": "note-gru-bach"})()})()
    with pytest.raises(UserError, match="MIDI model"):
        infill(KESH, "1-2", midi)


def test_cli_infill_writes_the_tune_and_a_summary(tiny_model, tmp_path, capsys):
    src = tmp_path / "kesh.abc"
    src.write_text(KESH)
    out = tmp_path / "out"
    assert main(["infill", "--model", str(tiny_model), "--abc", str(src), "--bars", "5-6", "--seed", "3",
                 "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seed"] == 3 and summary["bars"] == [5, 6] and summary["mode"] == "prefix"
    written = Path(summary["files"][0]).read_text()
    assert written.startswith(KESH[: KESH.index("|:GAG")]) and written != KESH
    assert main(["infill", "--model", str(tiny_model), "--abc", str(src), "--bars", "20-21",
                 "--out", str(tmp_path / "nothing")]) == 2
    assert "outside the tune" in capsys.readouterr().err
    assert not (tmp_path / "nothing").exists()


@pytest.mark.parametrize("kw,message", [
    ({"preset": "tiny-gpt-512", "fim_rate": 0.95}, "between 0 and 0.9"),
    ({"preset": "tiny-lstm", "fim_rate": 0.5}, "ABC Transformer"),
    ({"preset": "tiny-gpt-512", "fim_rate": 0.5, "fim_order": "mps"}, "choose psm or spm"),
    ({"preset": "tiny-gpt-512", "init_from": "gpt-folk", "resume": "x.pt"}, "not both"),
])
def test_train_refuses_bad_fim_settings_with_one_sentence(kw, message):
    from core.training.config import TrainConfig

    with pytest.raises(UserError, match=message):
        TrainConfig(corpus="oneills1850", **kw).resolved()


def test_init_from_a_model_of_another_shape_is_refused(tiny_base, tmp_path):
    from core.training.config import TrainConfig
    from core.training.loop import train

    with pytest.raises(UserError, match="another shape"):
        train(TrainConfig(preset="tiny-gpt", corpus="oneills1850", epochs=1, max_train_chars=5_000,
                          out_dir=str(tmp_path / "m"), init_from=str(tiny_base), fim_rate=0.5))
    assert not (tmp_path / "m").exists()
