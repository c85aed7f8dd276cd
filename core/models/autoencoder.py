"""PianoRollAutoencoder: R5's piano-roll autoencoder, after HackerPoet's Composer.

Encoder (shared across measures, the Composer's ``TimeDistributed`` dense layers): each measure's
``steps * pitches`` cells -> ``measure_hidden`` (ReLU) -> ``measure_code`` (ReLU); then all
measures' codes together -> ``song_hidden`` (ReLU) -> ``latent``, batch-normalised (the
Composer's ``pre_encoder``). The decoder mirrors it as the Composer's does: dense + batch norm +
ReLU + dropout back up to one code per measure, then per measure up to the cells, whose logits
it returns (the Composer ends in a sigmoid; the loss here takes logits). ``batch_norm=False``
drops every batch norm.

Loss: binary cross-entropy per cell, the Composer's. Rolls are sparse (a few percent of cells
sound), so ``pos_weight`` > 1 can weigh missed notes more; 1 is the report's plain BCE. Cell
accuracy (``counts``) is honest but near 99% on sparse rolls; :func:`note_f1` says more.

Generation, as the Composer's ``make_rand_songs_normalized``: after training, the latents of the
training rolls give a mean, a PCA basis and each component's standard deviation
(:meth:`fit_latent_space`, kept in buffers so the checkpoint carries them); a sample decodes
``mean + (r * std) @ basis`` for standard normal ``r`` (times ``spread``). Its sliders
(:meth:`latent_from_sliders`) set ``r`` by hand. Before fitting, the buffers are mean 0, identity
basis and std 1: the latent batch norm keeps latents near that.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class PianoRollAutoencoderConfig:
    measures: int = 16
    steps: int = 16  # grid steps per measure
    pitches: int = 48
    measure_hidden: tuple[int, ...] = (512,)  # per-measure encoder widths (the decoder mirrors them)
    measure_code: int = 64  # one measure's code (the Composer's 200)
    song_hidden: tuple[int, ...] = (512,)  # widths between all measures' codes and the latent (its 1600)
    latent: int = 120  # the Composer's PARAM_SIZE
    dropout: float = 0.1  # in the decoder, as the Composer's DO_RATE
    batch_norm: bool = True
    pos_weight: float = 1.0  # weight of the sounding cells in the loss (1: plain BCE, the report's)

    def __post_init__(self) -> None:
        self.measure_hidden = tuple(int(h) for h in self.measure_hidden)
        self.song_hidden = tuple(int(h) for h in self.song_hidden)
        sizes = (self.measures, self.steps, self.pitches, self.measure_code, self.latent)
        if min(sizes) < 1 or min(self.measure_hidden + self.song_hidden, default=1) < 1:
            raise ValueError("Every autoencoder size (measures, steps, pitches, widths, latent) must be 1 or more.")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout}.")
        if not self.pos_weight > 0:
            raise ValueError(f"pos_weight must be above 0, not {self.pos_weight}.")


def _mlp(sizes: tuple[int, ...], batch_norm: bool, dropout: float, last_relu: bool) -> nn.Sequential:
    """Dense layers through ``sizes``: Linear -> [BatchNorm] -> ReLU -> Dropout between them (the
    Composer's decoder blocks), and a last ReLU after the final Linear when ``last_relu``."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(sizes[i + 1]))
            layers += [nn.ReLU(), nn.Dropout(dropout)]
    if last_relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class _Decoder(nn.Module):
    """latent -> song layers -> one code per measure (BN + ReLU + dropout) -> per-measure layers -> cell logits."""

    def __init__(self, c: PianoRollAutoencoderConfig):
        super().__init__()
        self.song = _mlp((c.latent, *reversed(c.song_hidden), c.measures * c.measure_code), c.batch_norm,
                         c.dropout, False)
        self.code_norm = nn.BatchNorm1d(c.measure_code) if c.batch_norm else nn.Identity()
        self.code_act = nn.Sequential(nn.ReLU(), nn.Dropout(c.dropout))
        self.measure = _mlp((c.measure_code, *reversed(c.measure_hidden), c.steps * c.pitches), c.batch_norm,
                            c.dropout, False)
        self.config = c

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        c = self.config
        codes = self.song(z).view(-1, c.measure_code)  # (B * measures, code)
        codes = self.code_act(self.code_norm(codes))  # the Composer's TimeDistributed(BatchNormalization)
        return self.measure(codes).view(-1, c.measures, c.steps, c.pitches)


class PianoRollAutoencoder(nn.Module):
    """Rolls (B, measures, steps, pitches) in {0, 1} -> latent (B, latent) -> cell logits of the same shape."""

    def __init__(self, config: PianoRollAutoencoderConfig):
        super().__init__()
        self.config = c = config
        # Encoder: like the Composer's, dense + ReLU without batch norm or dropout, then the latent's batch norm.
        self.measure_encoder = _mlp((c.steps * c.pitches, *c.measure_hidden, c.measure_code), False, 0.0, True)
        self.song_encoder = _mlp((c.measures * c.measure_code, *c.song_hidden, c.latent), False, 0.0, False)
        self.latent_norm = nn.BatchNorm1d(c.latent) if c.batch_norm else nn.Identity()
        self.decoder = _Decoder(c)
        self.register_buffer("latent_mean", torch.zeros(c.latent))
        self.register_buffer("latent_basis", torch.eye(c.latent))  # rows: principal directions, largest first
        self.register_buffer("latent_std", torch.ones(c.latent))  # standard deviation along each direction
        self.register_buffer("latent_fitted", torch.zeros((), dtype=torch.bool))

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.config.measures, self.config.steps, self.config.pitches)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Rolls (B, measures, steps, pitches) -> latents (B, latent)."""
        if tuple(x.shape[1:]) != self.shape or x.dim() != 4:
            raise ValueError(f"Rolls must have shape (batch, {', '.join(map(str, self.shape))}), not {tuple(x.shape)}.")
        if not x.is_floating_point():
            x = x.float()
        c = self.config
        codes = self.measure_encoder(x.reshape(-1, c.steps * c.pitches))  # (B * measures, code)
        return self.latent_norm(self.song_encoder(codes.view(x.size(0), -1)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents (B, latent) -> cell logits (B, measures, steps, pitches)."""
        return self.decoder(z)

    def forward(
        self, x: torch.Tensor, targets: torch.Tensor | None = None, state: None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, None]:
        """Logits of the reconstruction, the mean binary cross-entropy per cell (None without targets), no state."""
        logits = self.decode(self.encode(x))
        loss = None
        if targets is not None:
            weight = None
            if self.config.pos_weight != 1:
                weight = torch.tensor(self.config.pos_weight, device=logits.device, dtype=logits.dtype)
            loss = F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), pos_weight=weight)
        return logits, loss, None

    def counts(self, logits: torch.Tensor, targets: torch.Tensor) -> tuple[int, int]:
        """(correct cells, cells): a cell is predicted on where sigmoid(logit) > 0.5, i.e. logit > 0."""
        correct = ((logits > 0) == (targets > 0.5)).sum()
        return int(correct), targets.numel()

    @torch.no_grad()
    def fit_latent_space(self, z: torch.Tensor) -> None:
        """Store the mean, principal directions and their standard deviations of training latents z (N, latent).

        As the Composer: covariance with N - 1 in the denominator (``np.cov``), directions by
        decreasing variance, std = sqrt(eigenvalue). Each direction's sign is fixed (its largest
        entry positive) so the same latents always give the same basis.
        """
        if z.dim() != 2 or z.size(1) != self.config.latent or z.size(0) < 2:
            raise ValueError(f"Need two or more latents of size {self.config.latent}, not shape {tuple(z.shape)}.")
        z = z.detach().to(torch.float64)
        mean = z.mean(0)
        values, vectors = torch.linalg.eigh(torch.cov((z - mean).T))  # ascending; columns are directions
        values, basis = values.flip(0), vectors.flip(1).T  # (L,), rows largest first
        rows = torch.arange(basis.size(0), device=basis.device)
        basis = basis * torch.sign(basis[rows, basis.abs().argmax(1)])[:, None]
        self.latent_mean.copy_(mean)
        self.latent_basis.copy_(basis)
        self.latent_std.copy_(values.clamp(min=0).sqrt())
        self.latent_fitted.fill_(True)

    def latent_from_sliders(self, values: torch.Tensor) -> torch.Tensor:
        """The Composer's sliders: values (..., k <= latent) in standard deviations along the first k
        principal directions (the rest at 0) -> latents (..., latent)."""
        values = torch.as_tensor(values, dtype=self.latent_std.dtype, device=self.latent_std.device)
        k = values.size(-1)
        if k > self.config.latent:
            raise ValueError(f"At most {self.config.latent} sliders, not {k}.")
        return self.latent_mean + (values * self.latent_std[:k]) @ self.latent_basis[:k]

    def sliders_from_latent(self, z: torch.Tensor) -> torch.Tensor:
        """The inverse: latents (..., latent) -> slider values (..., latent) in standard deviations."""
        return ((z - self.latent_mean) @ self.latent_basis.T) / self.latent_std.clamp(min=1e-12)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator, threshold: float = 0.5, spread: float = 1.0) -> torch.Tensor:
        """n random rolls: probabilities (n, measures, steps, pitches), 0 in the cells under ``threshold``.

        Decodes ``mean + (r * std * spread) @ basis`` with r ~ N(0, 1) drawn from ``generator``
        (on its device), in eval mode (batch norm's running statistics, no dropout).
        """
        if n < 1 or not 0 < threshold <= 1 or not spread >= 0:
            raise ValueError(f"Need n >= 1, threshold in (0, 1] and spread >= 0, not {n}, {threshold}, {spread}.")
        r = torch.randn(n, self.config.latent, generator=generator, device=generator.device)
        was_training = self.training
        self.eval()
        try:
            probs = torch.sigmoid(self.decode(self.latent_from_sliders(r.to(self.latent_std.device) * spread)))
        finally:
            self.train(was_training)
        return probs.masked_fill(probs < threshold, 0.0)


def note_f1(logits: torch.Tensor, targets: torch.Tensor, threshold: float = 0.5) -> float:
    """F1 of the sounding cells: 2 TP / (2 TP + FP + FN), a cell predicted on where sigmoid(logit) >= threshold.

    Unlike cell accuracy it ignores the silent cells that make up most of a roll. 1.0 when
    neither the prediction nor the target has a note (nothing to find, nothing invented).
    """
    predicted = torch.sigmoid(logits.float()) >= threshold
    actual = targets > 0.5
    tp = int((predicted & actual).sum())
    wrong = int((predicted ^ actual).sum())  # FP + FN
    return 1.0 if tp + wrong == 0 else 2 * tp / (2 * tp + wrong)
