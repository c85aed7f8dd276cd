"""NoteRNN: the MIDI reports' next-note models over a sliding window of note/chord (or event) ids.

A window of ``window`` ids -> stacked LSTM or GRU layers (each its own module, widths may
differ) -> the last time step -> dense layer(s) -> linear head over the vocabulary. Only the
last step predicts, as the reports' Keras models (``return_sequences=False`` on the last
recurrent layer) and R3's PyTorch model ("last hidden state").

Inputs: ``input="embedding"`` looks each id up in an ``embed``-wide table; ``input="normalised"``
is the reports' preset (Skuli's ``network_input / float(n_vocab)``): each id becomes one float
feature, ``id / vocab_size``, and ``embed`` is unused.

Batch norm (``batch_norm``), as the reports placed it:

- ``"layers"`` (R2's GRU): after every recurrent layer, over the features of every time step
  (Keras's ``BatchNormalization`` on a sequence: statistics over batch and time), the last
  layer's on its last step only;
- ``"stack"`` (R3, after Skuli): once, on the last step's output of the stack;
- ``"none"``. ``True`` / ``False`` read as ``"layers"`` / ``"none"``.

``dense_norm`` adds batch norm between each dense layer and its activation (R3: "linear 256 ->
batch norm + ReLU"). Dropout follows every recurrent layer and every dense layer (it has no
parameters; R2's LSTM has none after its last LSTM, which this does not copy).

Sampling state: the last ``window`` ids, (B, <= window) int64. With fewer ids than the window
(a short primer) the recurrent stack reads just those from its zero initial state: no padding
token, because training never shows one (training windows are always full) and an RNN reads
any length; a zero state is what the model sees before the first id of every training window.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

CELLS = ("lstm", "gru")
INPUTS = ("embedding", "normalised")
NORMS = ("none", "layers", "stack")
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "linear": nn.Identity}


@dataclass
class NoteRNNConfig:
    vocab_size: int
    cell: str = "lstm"  # "lstm" or "gru"
    input: str = "embedding"  # "embedding" or "normalised" (id / vocab_size as one float feature)
    embed: int = 64  # embedding width (unused with normalised inputs)
    hidden: tuple[int, ...] = (256, 512, 256)  # recurrent layer widths, first to last
    batch_norm: str = "none"  # "none", "layers" (after each recurrent layer) or "stack" (after the last)
    dense: tuple[int, ...] = (256,)  # dense layer widths between the stack and the head
    dense_norm: bool = False  # batch norm between each dense layer and its activation
    activation: str = "relu"  # of the dense layers: "relu", "tanh" or "linear"
    dropout: float = 0.3
    window: int = 50  # ids read per prediction

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        self.dense = tuple(int(d) for d in self.dense)
        if isinstance(self.batch_norm, bool):
            self.batch_norm = "layers" if self.batch_norm else "none"
        if self.cell not in CELLS:
            raise ValueError(f"cell must be 'lstm' or 'gru', not {self.cell!r}.")
        if self.input not in INPUTS:
            raise ValueError(f"input must be 'embedding' or 'normalised', not {self.input!r}.")
        if self.batch_norm not in NORMS:
            raise ValueError(f"batch_norm must be 'none', 'layers' or 'stack', not {self.batch_norm!r}.")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, not {self.activation!r}.")
        if not self.hidden or min(self.hidden) < 1 or min(self.dense, default=1) < 1:
            raise ValueError("NoteRNN needs one or more recurrent layers, and every layer a width of 1 or more.")
        if self.vocab_size < 2:
            raise ValueError(f"NoteRNN needs a vocabulary of two or more, not {self.vocab_size}.")
        if self.input == "embedding" and self.embed < 1:
            raise ValueError(f"embed must be 1 or more, not {self.embed}.")
        if self.window < 1:
            raise ValueError(f"window must be 1 or more ids, not {self.window}.")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout}.")


class NoteRNN(nn.Module):
    """Next-token model over a window; ``forward(x, targets)`` returns ``(logits (B, V), loss, None)``."""

    def __init__(self, config: NoteRNNConfig):
        super().__init__()
        self.config = config
        c = config
        rnn = nn.LSTM if c.cell == "lstm" else nn.GRU
        width = c.embed if c.input == "embedding" else 1
        self.embedding = nn.Embedding(c.vocab_size, c.embed) if c.input == "embedding" else None
        sizes = (width, *c.hidden)
        self.layers = nn.ModuleList(rnn(sizes[i], sizes[i + 1], batch_first=True) for i in range(len(c.hidden)))
        n_norms = {"none": 0, "layers": len(c.hidden), "stack": 1}[c.batch_norm]
        self.norms = nn.ModuleList(nn.BatchNorm1d(h) for h in c.hidden[len(c.hidden) - n_norms :])
        self.dropout = nn.Dropout(c.dropout)
        blocks, prev = [], c.hidden[-1]
        for d in c.dense:
            norm = nn.BatchNorm1d(d) if c.dense_norm else nn.Identity()
            blocks += [nn.Linear(prev, d), norm, ACTIVATIONS[c.activation](), nn.Dropout(c.dropout)]
            prev = d
        self.dense = nn.Sequential(*blocks)
        self.head = nn.Linear(prev, c.vocab_size)

    def features(self, idx: torch.Tensor) -> torch.Tensor:
        """The recurrent stack's input for ids (B, T): (B, T, embed), or (B, T, 1) = id / vocab_size."""
        if self.embedding is not None:
            return self.embedding(idx)
        return (idx.float() / self.config.vocab_size).unsqueeze(-1)

    def forward(
        self, x: torch.Tensor, targets: torch.Tensor | None = None, state: None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, None]:
        """x: (B, T) int64 ids (T = window in training); targets: (B,) int64, -100 = ignore.

        Returns logits (B, V) for the id after the window, the mean cross-entropy (None without
        targets) and no state: every window is read from a zero recurrent state.
        """
        h = self.features(x)  # (B, T, F)
        n = len(self.layers)
        first_norm = n - len(self.norms)  # index of the first recurrent layer followed by batch norm
        for i, layer in enumerate(self.layers):
            h, _ = layer(h)  # (B, T, H_i)
            if i == n - 1:
                h = h[:, -1]  # (B, H_last): only the last step predicts
            if i >= first_norm:
                norm = self.norms[i - first_norm]
                h = norm(h.reshape(-1, h.size(-1))).view_as(h)  # statistics over batch (and time)
            h = self.dropout(h)
        logits = self.head(self.dense(h))  # (B, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits, targets, ignore_index=-100)
        return logits, loss, None

    def _slide(self, state: torch.Tensor | None, ids: torch.Tensor) -> torch.Tensor:
        window = ids if state is None else torch.cat([state, ids], dim=1)
        return window[:, -self.config.window :]

    @torch.inference_mode()
    def prefill(self, ids: torch.Tensor, state: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Read ids (B, T) after the window ``state`` (B, <= window) or None: logits (B, V) for the
        next id and the new window (the last ``window`` ids seen)."""
        window = self._slide(state, ids)
        logits, _, _ = self.forward(window)
        return logits, window

    @torch.inference_mode()
    def step(self, idx: torch.Tensor, state: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """One id per row, idx (B,): logits (B, V) for the next id and the window slid by one."""
        return self.prefill(idx[:, None], state)
