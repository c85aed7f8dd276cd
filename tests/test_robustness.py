"""Issue #14's robustness cases: numbers out of range or NaN, bad model cards, huge configs, non-ABC text.

Each one gives one sentence (CLI exit 2) and writes nothing; a bad card hides only its own model.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import tracemalloc

import pytest

from core.cli import main
from core.errors import UserError
from tests.conftest import ROOT, SHIPPED


@pytest.fixture
def own_data(tmp_path, monkeypatch):
    """A fresh data folder (user models, caches) for one test."""
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(tmp_path))
    return tmp_path


def _one_sentence(capsys, code: int, needle: str) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err


@pytest.mark.parametrize("seed", ["1180591620717411303424", "-1"])
def test_generate_refuses_a_seed_out_of_range(tmp_path, capsys, seed):
    out = tmp_path / "out"
    code = main(["generate", "--model", SHIPPED[0], f"--seed={seed}", "--out", str(out)])
    _one_sentence(capsys, code, "seed must be a whole number from 0 to 2,147,483,647")
    assert not out.exists() or not any(out.iterdir())  # nothing written


@pytest.mark.parametrize("flag,value", [("--lr", "nan"), ("--lr", "inf"), ("--grad-clip", "nan"),
                                        ("--weight-decay", "inf")])
def test_train_refuses_nan_and_infinite_numbers(own_data, capsys, flag, value):
    code = main(["train", "--preset", "tiny-lstm", "--corpus", "oneills1850", "--epochs", "1", "--name", "nan-run",
                 flag, value])
    _one_sentence(capsys, code, "must be")
    assert not (own_data / "models" / "nan-run").exists()


@pytest.mark.parametrize("value", ["nan", "-5", "inf"])
def test_survey_stats_refuses_a_bad_minimum_listening_time(tmp_path, capsys, value):
    csv = tmp_path / "r.csv"
    csv.write_text("participant,clip,truth,vote,listening_ms\np1,c1,human,human,4000\np1,c2,machine,human,4000\n")
    code = main(["survey-stats", str(csv), f"--min-listening-ms={value}"])
    _one_sentence(capsys, code, "minimum listening time must be 0 to 3,600,000 ms")


def _user_model(data, name: str, edit) -> None:
    """A copy of the shipped LSTM as user model ``name``, its card changed by ``edit(card_dict)``."""
    folder = data / "models" / name
    shutil.copytree(ROOT / "assets" / "models" / SHIPPED[0], folder)
    card = json.loads((folder / "card.json").read_text())
    card["name"] = name
    edit(card)
    (folder / "card.json").write_text(json.dumps(card))


def test_a_card_with_a_wrong_type_hides_only_that_model(own_data, capsys):
    from core.training.checkpoint import scan_models

    _user_model(own_data, "bad-bpc", lambda c: c["metrics"].update(test_bpc="x"))
    _user_model(own_data, "good-copy", lambda c: None)
    cards, problems = scan_models()
    names = [c.name for c in cards]
    assert "bad-bpc" not in names and "good-copy" in names and SHIPPED[0] in names
    assert len(problems) == 1 and "bad-bpc" in problems[0] and "test_bpc" in problems[0]
    assert main(["models"]) == 0
    out = capsys.readouterr()
    assert "good-copy" in out.out and "bad-bpc" not in out.out
    assert "warning: Model bad-bpc is hidden" in out.err


@pytest.mark.parametrize("source", ["/etc", "../../../../etc/passwd", "~/secrets"])
def test_a_card_whose_corpus_points_outside_the_model_folder_is_hidden(own_data, source):
    from core.training.checkpoint import find_model, load_checkpoint, scan_models

    _user_model(own_data, "escape", lambda c: c["corpus"].update(source=source))
    cards, problems = scan_models()
    assert "escape" not in [c.name for c in cards]
    assert problems and "outside the model's folder" in problems[0]
    with pytest.raises(UserError, match="outside the model's folder"):
        load_checkpoint(find_model("escape"))


def test_a_corpus_name_or_an_upload_folder_is_a_fine_source(own_data):
    from core.training.checkpoint import scan_models

    upload = own_data / "uploads" / "abc123"
    upload.mkdir(parents=True)
    _user_model(own_data, "named", lambda c: c["corpus"].update(source="oneills1850"))
    _user_model(own_data, "uploaded", lambda c: c["corpus"].update(source=str(upload)))
    cards, problems = scan_models()
    assert {"named", "uploaded"} <= {c.name for c in cards} and problems == []


def test_a_huge_config_is_refused_before_anything_is_allocated(own_data):
    from core.training.checkpoint import find_model, load_checkpoint

    _user_model(own_data, "huge", lambda c: c["model"].update(hidden=[60_000] * 3))  # ~6e10 LSTM weights if built
    tracemalloc.start()
    # building it would ask torch for ~240 GB: a RuntimeError, not this sentence (no timing: CI may be busy)
    with pytest.raises(UserError, match="does not match its weights|more than"):
        load_checkpoint(find_model("huge"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 200 * 2**20  # Python-side allocations, imports included; the 1.2 GB the issue saw would show here

    _user_model(own_data, "absurd", lambda c: c["model"].update(embed=10**9))
    with pytest.raises(UserError, match="config number out of range"):
        load_checkpoint(find_model("absurd"))


def test_the_shipped_models_still_load():
    from core.training.checkpoint import find_model, load_checkpoint

    for name in SHIPPED:
        assert load_checkpoint(find_model(name)).card.name == name


def test_binary_garbage_is_refused_as_abc(own_data):
    from core.data.corpus import load_corpus
    from core.survey.clips import piece_from_upload

    rng = __import__("random").Random(3)
    junk = bytes(rng.randrange(1, 256) for _ in range(20_000))  # no NUL byte at all
    junk = junk[:5000] + b"\nX:1\nT:x\nK:D\nABcd|\n" + junk[5000:]  # even with an ABC-looking bit inside
    assert b"\x00" not in junk
    path = own_data / "junk.abc"
    path.write_bytes(junk)
    with pytest.raises(UserError, match="not a text ABC file"):
        load_corpus(str(path))
    with pytest.raises(UserError, match="not a text ABC file"):
        piece_from_upload("junk.abc", junk)
    assert not os.path.exists(own_data / "cache")  # nothing cached for it


def test_cli_corpus_import_refuses_the_entity_bomb_in_one_line(own_data, capsys):
    entity = "C" * 7_800_000
    bomb = own_data / "bomb.xml"
    bomb.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE score-partwise [<!ENTITY a "{entity}">]>\n'
                    f'<score-partwise><work><work-title>{"&a;" * 5000}</work-title></work></score-partwise>\n')
    start = time.perf_counter()
    code = main(["corpus", "import", str(bomb), "--name", "bombed"])
    out = capsys.readouterr()
    assert time.perf_counter() - start < 10  # it took 16 s and 1.75 GB before
    assert code == 2 and "Traceback" not in out.err
    assert "declares XML entities" in out.err + out.out


def test_cli_train_refuses_binary_garbage_as_an_abc_corpus(own_data, capsys):
    junk = own_data / "junk.abc"
    rng = __import__("random").Random(5)
    junk.write_bytes(bytes(rng.randrange(1, 256) for _ in range(10_000)) + b"\nX:1\nK:D\nABcd|\n")
    code = main(["train", "--preset", "tiny-lstm", "--corpus", str(junk), "--epochs", "1", "--name", "junk"])
    _one_sentence(capsys, code, "not a text ABC file")
    assert not (own_data / "models" / "junk").exists()
