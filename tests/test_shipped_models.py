"""Shipped checkpoints: present, small, honest cards whose test figures recompute."""

import json

import pytest
import torch

from core.checkpoint import list_models, load_checkpoint
from core.corpus import load_corpus
from core.paths import SHIPPED_MODELS
from core.training import evaluate
from tests.conftest import SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_is_small_and_made_by_the_train_command(name):
    folder = SHIPPED_MODELS / name
    assert (folder / "model.safetensors").stat().st_size <= 10 * 2**20
    card = json.loads((folder / "card.json").read_text())
    assert card["training"]["command"].startswith("python -m core train ")
    assert card["corpus"]["name"] == "oneills1850"
    assert card["training"]["hardware"]


@pytest.mark.parametrize("name", SHIPPED)
def test_card_test_bits_per_character_recompute_within_one_percent(name):
    loaded = load_checkpoint(SHIPPED_MODELS / name)
    corpus = load_corpus(loaded.card.corpus["source"])
    assert corpus.fingerprint() == loaded.card.corpus["fingerprint"]  # same tunes, same split
    ids = torch.tensor(loaded.tokenizer.encode(corpus.text("test")))
    loss, accuracy = evaluate(loaded.model, ids)
    card = loaded.card.metrics
    assert loss / 0.6931471805599453 == pytest.approx(card["test_bpc"], rel=0.01)
    assert accuracy == pytest.approx(card["test_accuracy"], rel=0.01)
    assert card["test_bpc"] < 2.0  # a trained model, far below the 6.5 bits of a uniform guess


def test_models_listing_offers_the_shipped_models():
    names = [card.name for card in list_models()]
    assert names[: len(SHIPPED)] == sorted(SHIPPED, reverse=False) or set(SHIPPED) <= set(names)
