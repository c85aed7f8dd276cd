"""Named presets that reproduce the seed reports' models and training set-ups."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    family: str
    model: dict
    description: str
    train: dict = field(default_factory=dict)
    tokenizer: dict = field(default_factory=lambda: {"kind": "abc_chars"})


_STATEFUL = {"batch_size": 16, "seq_len": 64, "optimizer": "adam", "lr": 1e-3}

PRESETS: dict[str, Preset] = {
    "r1-lstm": Preset(
        "char_rnn",
        {"cell": "lstm", "embed": 512, "hidden": (256, 256, 256), "dropout": 0.2},
        "R1: embedding 512 -> 3 x LSTM 256 + dropout 0.2 (1.9 M parameters), 16 streams x 64 chars, Adam",
        _STATEFUL,
    ),
    "r1-gru": Preset(
        "char_rnn",
        {"cell": "gru", "embed": 512, "hidden": (256, 256, 256), "dropout": 0.2},
        "R1's GRU twin: embedding 512 -> 3 x GRU 256 + dropout 0.2",
        _STATEFUL,
    ),
    "r4-lstm": Preset(
        "char_rnn",
        {"cell": "lstm", "embed": 512, "hidden": (256, 128), "dropout": 0.2},
        "R4: embedding 512 -> LSTM 256 -> LSTM 128, dropout 0.2, 16 streams x 64 chars, Adam",
        _STATEFUL,
    ),
    "tiny-lstm": Preset(
        "char_rnn",
        {"cell": "lstm", "embed": 32, "hidden": (64,), "dropout": 0.0},
        "A small LSTM for quick experiments and tests",
        {**_STATEFUL, "lr": 3e-3},
    ),
}
