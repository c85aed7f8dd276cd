"""NoteRNN and PianoRollAutoencoder: shapes, losses, overfitting one batch, sampling state, latent space."""

import pytest
import torch
from safetensors.torch import load_file, save_file

from core.models.autoencoder import PianoRollAutoencoder, PianoRollAutoencoderConfig, note_f1
from core.models.note_rnn import NoteRNN, NoteRNNConfig

torch.set_num_threads(1)

# The reports' layouts (their parameter counts are checked below).
R2_LSTM = dict(cell="lstm", input="normalised", embed=1, hidden=(256, 512, 256), batch_norm="none", dense=(256,),
               dropout=0.3, window=50)
R2_GRU = dict(cell="gru", input="normalised", embed=1, hidden=(256, 256, 128), batch_norm="layers", dense=(256,),
              dropout=0.3, window=50)


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def tiny_rnn(cell="gru", input="embedding", batch_norm="none", **kw) -> NoteRNN:
    torch.manual_seed(0)
    config = dict(vocab_size=11, cell=cell, input=input, embed=8, hidden=(24, 16), batch_norm=batch_norm,
                  dense=(16,), dropout=0.0, window=6)
    return NoteRNN(NoteRNNConfig(**{**config, **kw}))


def tiny_ae(**kw) -> PianoRollAutoencoder:
    torch.manual_seed(0)
    config = dict(measures=2, steps=4, pitches=6, measure_hidden=(16,), measure_code=8, song_hidden=(16,), latent=4,
                  dropout=0.0, batch_norm=True)
    return PianoRollAutoencoder(PianoRollAutoencoderConfig(**{**config, **kw}))


def overfit(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, lr: float) -> tuple[float, float]:
    """Train on one fixed batch; the first and last losses."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        _, loss, _ = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses[0], losses[-1]


# ---- NoteRNN


def test_note_rnn_shapes_and_loss():
    model = tiny_rnn(batch_norm="layers", dense_norm=True)
    x = torch.randint(11, (5, 6))
    logits, loss, state = model(x, torch.randint(11, (5,)))
    assert logits.shape == (5, 11) and state is None
    assert torch.isfinite(loss) and loss.item() > 0
    assert model(x)[1] is None


def test_note_rnn_ignores_targets_of_minus_100():
    model = tiny_rnn().eval()
    x, y = torch.randint(11, (4, 6)), torch.tensor([3, -100, 5, -100])
    _, loss, _ = model(x, y)
    _, kept, _ = model(x[[0, 2]], y[[0, 2]])
    assert torch.allclose(loss, kept)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("input", ["embedding", "normalised"])
def test_note_rnn_overfits_one_batch(cell, input):
    model = tiny_rnn(cell, input, batch_norm="stack")
    g = torch.Generator().manual_seed(1)
    x, y = torch.randint(11, (16, 6), generator=g), torch.randint(11, (16,), generator=g)
    first, last = overfit(model, x, y, steps=150, lr=2e-2)
    assert first > 2.0 and last < 0.2 * first  # ln 11 = 2.4 at the start


def test_normalised_input_is_id_over_vocab_size():
    model = tiny_rnn(input="normalised")
    seen = []
    model.layers[0].register_forward_hook(lambda module, args, out: seen.append(args[0]))
    model(torch.tensor([[0, 1, 5, 10, 10, 2]]))
    assert seen[0].shape == (1, 6, 1)  # one float feature per step
    assert torch.allclose(seen[0][0, :, 0], torch.tensor([0, 1, 5, 10, 10, 2]) / 11)  # 5 -> 5/11 = 0.4545...
    assert model.embedding is None and model.features(torch.tensor([[5]])).item() == pytest.approx(5 / 11)


@pytest.mark.parametrize("cell,batch_norm", [("lstm", "layers"), ("gru", "stack")])
def test_prefill_and_step_give_the_logits_of_forward_on_the_last_window(cell, batch_norm):
    model = tiny_rnn(cell, batch_norm=batch_norm).eval()
    ids = torch.randint(11, (2, 10))
    logits, state = model.prefill(ids[:, :4], None)
    assert state.shape == (2, 4)  # fewer ids than the window: read as they are, no padding
    assert torch.allclose(logits, model(ids[:, :4])[0], atol=1e-6)
    for t in range(4, 10):
        logits, state = model.step(ids[:, t], state)
    assert torch.equal(state, ids[:, -6:])  # the window slid to the last 6 ids
    assert torch.allclose(logits, model(ids[:, -6:])[0], atol=1e-6)
    whole, _ = model.prefill(ids, None)  # a prefill longer than the window keeps its end
    assert torch.allclose(whole, logits, atol=1e-6)


def test_reports_parameter_counts():
    # R2's LSTM at its vocabulary of 65: Keras counts 2,709,057; PyTorch's LSTM has a second bias per gate (4 x H).
    assert count(NoteRNN(NoteRNNConfig(vocab_size=65, **R2_LSTM))) == 2_709_057 + 4 * (256 + 512 + 256)
    # R2's GRU at 225: Keras counts 835,297 including its batch norms' moving mean and variance (buffers here).
    gru = NoteRNN(NoteRNNConfig(vocab_size=225, **R2_GRU))
    assert count(gru) == 835_297 - 2 * (256 + 256 + 128) and len(gru.norms) == 3


def test_batch_norm_placements():
    assert len(tiny_rnn(batch_norm="stack").norms) == 1
    assert len(tiny_rnn(batch_norm=True).norms) == 2  # True: after every recurrent layer (R2's GRU)
    assert NoteRNNConfig(vocab_size=4, batch_norm=False).batch_norm == "none"
    assert NoteRNNConfig(vocab_size=4, hidden=[8, 4], dense=[]).hidden == (8, 4)  # lists from a card


@pytest.mark.parametrize("bad,message", [
    (dict(vocab_size=1), "vocabulary"),
    (dict(cell="rnn"), "cell"),
    (dict(input="onehot"), "input"),
    (dict(batch_norm="all"), "batch_norm"),
    (dict(activation="gelu"), "activation"),
    (dict(hidden=()), "recurrent"),
    (dict(dense=(0,)), "width"),
    (dict(window=0), "window"),
    (dict(dropout=1.0), "dropout"),
    (dict(embed=0), "embed"),
])
def test_note_rnn_config_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        NoteRNNConfig(**{"vocab_size": 10, **bad})


# ---- PianoRollAutoencoder


def sparse_rolls(n: int, seed: int = 0, shape=(2, 4, 6)) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, *shape, generator=g) < 0.15).float()


def test_autoencoder_shapes_loss_and_counts():
    model = tiny_ae()
    x = sparse_rolls(5)
    logits, loss, state = model(x, x)
    assert logits.shape == x.shape and state is None and torch.isfinite(loss)
    assert model.encode(x).shape == (5, 4) and model.decode(torch.zeros(3, 4)).shape == (3, 2, 4, 6)
    correct, total = model.counts(logits, x)
    assert total == 5 * 48 and 0 <= correct <= total
    assert model(x)[1] is None
    with pytest.raises(ValueError, match="shape"):
        model(torch.zeros(5, 2, 4, 7))


def test_pos_weight_weighs_the_sounding_cells():
    x = sparse_rolls(4)
    plain, weighted = tiny_ae(), tiny_ae(pos_weight=5.0)
    logits = torch.zeros_like(x)  # every cell p = 0.5: loss ln 2 per cell, times 5 on the sounding ones
    expected = torch.log(torch.tensor(2.0)) * (1 + 4 * x.mean())
    plain.decode = weighted.decode = lambda z: logits  # the loss alone
    assert plain(x, x)[1].item() == pytest.approx(0.693147, abs=1e-5)
    assert weighted(x, x)[1].item() == pytest.approx(expected.item(), abs=1e-5)


def test_counts_and_note_f1_values():
    targets = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    logits = torch.tensor([[2.0, -1.0, 0.5, -3.0]])  # on, off, on, off: TP 1, FN 1, FP 1, TN 1
    model = tiny_ae()
    assert model.counts(logits, targets) == (2, 4)
    assert note_f1(logits, targets) == pytest.approx(2 * 1 / (2 * 1 + 1 + 1))  # 0.5
    assert note_f1(logits, targets, threshold=0.1) == pytest.approx(4 / 5)  # sigmoid(-1) = 0.27 on: TP 2, FP 1, FN 0
    assert note_f1(torch.full((2, 3), -5.0), torch.zeros(2, 3)) == 1.0  # nothing to find, nothing invented


def test_autoencoder_overfits_one_batch():
    model = tiny_ae()
    x = sparse_rolls(8, seed=3)
    first, last = overfit(model, x, x, steps=200, lr=1e-2)
    assert last < 0.2 * first
    model.eval()
    assert note_f1(model(x)[0], x) > 0.9


def test_fit_latent_space_is_the_composers_pca():
    model = tiny_ae()
    g = torch.Generator().manual_seed(0)
    z = torch.randn(200, 4, generator=g) @ torch.tensor([[3.0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0.5, 0], [0, 0, 0, 0.1]])
    z = z + torch.tensor([1.0, -2.0, 0.0, 4.0])
    assert not model.latent_fitted
    model.fit_latent_space(z)
    assert model.latent_fitted
    assert torch.allclose(model.latent_mean, z.mean(0), atol=1e-5)
    basis, std = model.latent_basis, model.latent_std
    assert torch.allclose(basis @ basis.T, torch.eye(4), atol=1e-5)
    assert torch.all(std[:-1] >= std[1:])  # largest variance first
    cov = torch.cov(z.T)  # N - 1 in the denominator, as np.cov
    assert torch.allclose(basis.T @ torch.diag(std**2) @ basis, cov, atol=1e-4)
    assert torch.allclose(model.latent_from_sliders(torch.zeros(2)), model.latent_mean)
    sliders = torch.tensor([[1.5, -0.5, 2.0, 0.25]])
    assert torch.allclose(model.sliders_from_latent(model.latent_from_sliders(sliders)), sliders, atol=1e-4)
    with pytest.raises(ValueError, match="latents"):
        model.fit_latent_space(torch.randn(1, 4))


def test_sample_is_deterministic_and_survives_a_safetensors_round_trip(tmp_path):
    model = tiny_ae()
    overfit(model, sparse_rolls(8), sparse_rolls(8), steps=5, lr=1e-2)  # batch-norm statistics that are not defaults
    model.eval()
    model.fit_latent_space(model.encode(sparse_rolls(32, seed=1)).detach())
    a = model.sample(3, torch.Generator().manual_seed(7), threshold=0.3)
    b = model.sample(3, torch.Generator().manual_seed(7), threshold=0.3)
    c = model.sample(3, torch.Generator().manual_seed(8), threshold=0.3)
    assert a.shape == (3, 2, 4, 6) and torch.equal(a, b) and not torch.equal(a, c)
    assert torch.all((a == 0) | ((a >= 0.3) & (a <= 1)))  # probabilities, 0 under the threshold
    save_file(model.state_dict(), str(tmp_path / "ae.safetensors"))
    fresh = tiny_ae()
    fresh.load_state_dict(load_file(str(tmp_path / "ae.safetensors")), strict=True)
    for name in ("latent_mean", "latent_basis", "latent_std", "latent_fitted"):
        assert torch.equal(getattr(fresh, name), getattr(model, name))
    assert torch.equal(fresh.eval().sample(3, torch.Generator().manual_seed(7), threshold=0.3), a)
    with torch.inference_mode():  # as the sampling code calls it
        fresh.fit_latent_space(torch.randn(10, 4))
        assert fresh.sample(1, torch.Generator().manual_seed(0)).shape == (1, 2, 4, 6)


def test_sample_uses_eval_mode_and_restores_training():
    model = tiny_ae(dropout=0.5).train()
    a = model.sample(2, torch.Generator().manual_seed(0))
    assert model.training
    assert torch.equal(a, model.eval().sample(2, torch.Generator().manual_seed(0)))


@pytest.mark.parametrize("bad,message", [
    (dict(measures=0), "1 or more"),
    (dict(measure_hidden=(0,)), "1 or more"),
    (dict(latent=0), "1 or more"),
    (dict(dropout=-0.1), "dropout"),
    (dict(pos_weight=0), "pos_weight"),
])
def test_autoencoder_config_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        PianoRollAutoencoderConfig(**bad)


def test_default_autoencoder_ships_under_10_mb():
    model = PianoRollAutoencoder(PianoRollAutoencoderConfig())  # 16 measures x 16 steps x 48 pitches
    size = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    assert size < 10e6
