"""CharRNN: embedding -> stacked LSTM/GRU layers with dropout -> linear head.

The seed reports' Keras models (R1, R4) in PyTorch. Layers may differ in width
(R4 stacks 256 then 128), so each layer is its own ``nn.LSTM``/``nn.GRU``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

State = list  # one hidden state per layer: (h, c) for LSTM, h for GRU


@dataclass
class CharRNNConfig:
    vocab_size: int
    cell: str = "lstm"  # "lstm" or "gru"
    embed: int = 512
    hidden: tuple[int, ...] = (256, 256, 256)
    dropout: float = 0.2

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        if self.cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', not {self.cell!r}.")
        if not self.hidden or min(self.hidden) < 1 or self.vocab_size < 2:
            raise ValueError("CharRNN needs at least one layer and a vocabulary of two or more.")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout}.")


class CharRNN(nn.Module):
    """Next-character model; ``forward(idx, targets)`` returns ``(logits, loss, state)``."""

    def __init__(self, config: CharRNNConfig):
        super().__init__()
        self.config = config
        rnn = nn.LSTM if config.cell == "lstm" else nn.GRU
        sizes = (config.embed, *config.hidden)
        self.embedding = nn.Embedding(config.vocab_size, config.embed)
        self.layers = nn.ModuleList(rnn(sizes[i], sizes[i + 1], batch_first=True) for i in range(len(config.hidden)))
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden[-1], config.vocab_size)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None, state: State | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, State]:
        """idx, targets: (B, T) int64. Returns logits (B, T, V), mean cross-entropy, new state."""
        x = self.embedding(idx)  # (B, T, E)
        new_state = []
        for i, layer in enumerate(self.layers):
            x, s = layer(x, None if state is None else state[i])
            x = self.dropout(x)
            new_state.append(s)
        logits = self.head(x)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss, new_state

    @torch.inference_mode()
    def prefill(self, ids: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        """Read ids (B, T) in one pass: logits (B, V) for the position after the last id and the next state."""
        logits, _, state = self.forward(ids, None, state)
        return logits[:, -1], state

    @torch.inference_mode()
    def step(self, idx: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        """One time step for sampling: idx (B,) -> logits (B, V) and the next state.

        In eval mode this runs the cells directly (torch.lstm_cell / gru_cell, no module dispatch) and
        reads the first layer's input projection from a (V, gates) table (embedding @ W_ih + b_ih,
        built once per weights): the same numbers as ``forward``, a third less arithmetic per step.
        """
        if self.training or state is None:
            logits, _, state = self.forward(idx[:, None], None, state)
            return logits[:, -1], state
        table = self._input_table()
        lstm = self.config.cell == "lstm"
        x, new_state = None, []
        for i, layer in enumerate(self.layers):
            if lstm:
                h, c = state[i][0][0], state[i][1][0]
                if i == 0:
                    gates = table[idx] + F.linear(h, layer.weight_hh_l0, layer.bias_hh_l0)
                    in_g, forget, cell, out = gates.chunk(4, 1)
                    c = torch.sigmoid(forget) * c + torch.sigmoid(in_g) * torch.tanh(cell)
                    h = torch.sigmoid(out) * torch.tanh(c)
                else:
                    h, c = torch.lstm_cell(x, (h, c), layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0,
                                           layer.bias_hh_l0)
                new_state.append((h[None], c[None]))
            else:
                h = state[i][0]
                if i == 0:
                    gi, gh = table[idx], F.linear(h, layer.weight_hh_l0, layer.bias_hh_l0)
                    (ir, iz, i_n), (hr, hz, hn) = gi.chunk(3, 1), gh.chunk(3, 1)
                    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
                    h = torch.lerp(torch.tanh(i_n + r * hn), h, z)  # (1 - z) * n + z * h
                else:
                    h = torch.gru_cell(x, h, layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0,
                                       layer.bias_hh_l0)
                new_state.append(h[None])
            x = h
        return self.head(x), new_state

    def _input_table(self) -> torch.Tensor:
        """(V, gates): the first layer's input projection of every token, cached until the weights change."""
        first = self.layers[0]
        key = (self.embedding.weight._version, first.weight_ih_l0._version, first.bias_ih_l0._version,
               self.embedding.weight.data_ptr())
        if getattr(self, "_table_key", None) != key:
            self._table = F.linear(self.embedding.weight, first.weight_ih_l0, first.bias_ih_l0).detach()
            self._table_key = key
        return self._table


def detach_state(state: State) -> State:
    """Cut the graph between batches of stateful (truncated back-propagation) training."""
    return [tuple(t.detach() for t in s) if isinstance(s, tuple) else s.detach() for s in state]
