"""CharRNN: parameter counts of the report presets, shapes, overfitting, save -> load."""

import torch

from core.models import build_model, config_dict, count_parameters
from core.tokenizers import CharTokenizer
from core.training.checkpoint import ModelCard, load_checkpoint, save_checkpoint
from core.training.presets import PRESETS


def _model(preset: str, vocab: int = 86):
    return build_model("char_rnn", {**PRESETS[preset].model, "vocab_size": vocab})


def test_r1_lstm_matches_the_report_parameter_count():
    # Keras counted 1,904,214 for vocab 86; PyTorch LSTMs carry a second bias vector
    # (4 x 256 per layer x 3 layers = 3,072 more).
    assert count_parameters(_model("r1-lstm")) == 1_904_214 + 3 * 4 * 256


def test_gru_twin_and_r4_sizes():
    gru = _model("r1-gru")
    assert [type(layer).__name__ for layer in gru.layers] == ["GRU", "GRU", "GRU"]
    r4 = _model("r4-lstm")
    assert [layer.hidden_size for layer in r4.layers] == [256, 128]


def test_forward_shapes_and_state():
    model = _model("tiny-lstm", vocab=20)
    idx = torch.randint(0, 20, (3, 7))
    logits, loss, state = model(idx, idx)
    assert logits.shape == (3, 7, 20) and loss.ndim == 0
    assert len(state) == 1 and state[0][0].shape == (1, 3, 64)
    step_logits, _ = model.step(idx[:, 0], state)
    assert step_logits.shape == (3, 20)


def test_loss_falls_when_overfitting_one_batch():
    torch.manual_seed(0)
    model = _model("tiny-lstm", vocab=10)
    idx = torch.randint(0, 10, (4, 16))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    first = None
    for _ in range(60):
        _, loss, _ = model(idx[:, :-1], idx[:, 1:])
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3 * first


def test_save_then_load_gives_equal_outputs(tmp_path):
    model = _model("tiny-lstm", vocab=5).eval()
    tok = CharTokenizer("abcde")
    card = ModelCard(
        "m", "char_rnn", "tiny-lstm", config_dict(model), tok.to_dict(), {}, {}, {}, count_parameters(model)
    )
    save_checkpoint(tmp_path / "m", model, card)
    loaded = load_checkpoint(tmp_path / "m")
    idx = torch.tensor([[0, 1, 2, 3, 4]])
    assert torch.equal(model(idx)[0], loaded.model(idx)[0])
    assert loaded.tokenizer.vocab == list("abcde")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["card.json", "model.safetensors"]
