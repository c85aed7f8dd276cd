"""The training loop: a tiny run whose loss falls, its card, log, determinism and errors."""

import csv
import json

import pytest

from core.errors import UserError
from core.training.checkpoint import load_checkpoint
from core.training.config import TrainConfig
from core.training.loop import train


def test_tiny_run_learns_and_writes_a_complete_card(tiny_model):
    card = json.loads((tiny_model / "card.json").read_text())
    rows = list(csv.DictReader((tiny_model / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])
    assert float(rows[1]["valid_loss"]) < float(rows[0]["valid_loss"])
    assert card["family"] == "char_rnn" and card["preset"] == "tiny-lstm"
    assert card["training"]["epochs_run"] == 2 and card["training"]["hardware"]
    assert card["corpus"]["fingerprint"]["test"] and card["corpus"]["tunes"]["test"] > 100
    m = card["metrics"]
    assert m["test_bpc"] == pytest.approx(m["test_loss"] / 0.6931471805599453, rel=1e-4)
    assert 0 < m["test_accuracy"] < 1
    assert len(card["tokenizer"]["vocab"]) == card["model"]["vocab_size"]


def test_snapshots_are_kept_beside_the_checkpoint(tiny_model):
    log_dir = tiny_model.parent / f".{tiny_model.name}-log"
    assert sorted(p.name for p in log_dir.glob("epoch-*.safetensors")) == [
        "epoch-001.safetensors",
        "epoch-002.safetensors",
    ]


def test_same_seed_same_result(tmp_path):
    cfg = dict(preset="tiny-lstm", corpus="oneills1850", epochs=1, max_train_chars=8_000, checkpoint_every=0)
    a = train(TrainConfig(**cfg, out_dir=str(tmp_path / "a")))
    b = train(TrainConfig(**cfg, out_dir=str(tmp_path / "b")))
    assert a.card.metrics == b.card.metrics
    assert load_checkpoint(tmp_path / "a").card.name == "a"  # named after its folder


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"preset": "huge"}, "Unknown preset"),
        ({"name": "../evil"}, "may only use"),
        ({"epochs": 0}, "must be positive"),
        ({"optimizer": "lbfgs"}, "Unknown optimizer"),
        ({"corpus": "no-such-corpus"}, "Unknown corpus"),
        ({"name": "r1-lstm-oneills1850", "out_dir": None}, "shipped model"),
    ],
)
def test_bad_training_settings(tmp_path, changes, message):
    cfg = TrainConfig(**{"preset": "tiny-lstm", "epochs": 1, "out_dir": str(tmp_path / "x"), **changes})
    with pytest.raises(UserError, match=message):
        train(cfg)
    assert not (tmp_path / "x").exists()
