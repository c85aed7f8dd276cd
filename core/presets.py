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

# Beyond the reports (issue #4): a GPT over the same ABC characters, a context of 1024 that sees whole tunes.
_GPT_TRAIN = {"batch_size": 4, "seq_len": 1024, "optimizer": "adamw", "lr": 1e-3, "schedule": "cosine",
              "weight_decay": 0.1}
PRESETS.update({
    "gpt-folk": Preset(
        "transformer",
        {"block_size": 1024, "n_layer": 6, "n_head": 4, "n_embd": 256, "dropout": 0.1, "positions": "rope"},
        "GPT: 6 layers x 4 heads x 256, rotary positions, context 1024 characters (whole tunes), AdamW, cosine",
        _GPT_TRAIN,
    ),
    "tiny-gpt": Preset(
        "transformer",
        {"block_size": 128, "n_layer": 1, "n_head": 2, "n_embd": 32, "dropout": 0.0, "positions": "rope"},
        "A one-layer GPT for quick experiments and tests",
        {**_GPT_TRAIN, "batch_size": 8, "seq_len": 128, "lr": 3e-3, "weight_decay": 0.0},
    ),
})
