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
    "tiny-gpt-512": Preset(
        "transformer",
        {"block_size": 512, "n_layer": 1, "n_head": 2, "n_embd": 32, "dropout": 0.0, "positions": "rope"},
        "The one-layer GPT with a context of 512 (whole tunes), for quick fill-in-the-middle tests",
        {**_GPT_TRAIN, "batch_size": 4, "seq_len": 512, "lr": 3e-3, "weight_decay": 0.0},
    ),
})

# The MIDI reports (issue #3). R2 and R3 fed each token as id / vocabulary size (``input: normalised``);
# the embedding is the default and the note-* presets use it.
_NOTE_CHORD = {"kind": "note_chord", "min_count": 3}
_R2_TRAIN = {"batch_size": 64, "seq_len": 50, "optimizer": "adamax", "lr": 1e-3}
_R2_GRU = {"cell": "gru", "input": "normalised", "embed": 1, "hidden": (256, 256, 128), "batch_norm": "layers",
           "dense": (256,), "dropout": 0.3, "window": 50}
PRESETS.update({
    "r2-lstm": Preset(
        "note_rnn",
        {"cell": "lstm", "input": "normalised", "embed": 1, "hidden": (256, 512, 256), "batch_norm": "none",
         "dense": (256,), "dropout": 0.3, "window": 50},
        "R2: LSTM 256-512-256 + dense 256 over note/chord tokens fed as id/vocab, window 50, Adamax",
        _R2_TRAIN, _NOTE_CHORD,
    ),
    "r2-gru": Preset(
        "note_rnn",
        _R2_GRU,
        "R2's GRU: 256-256-128 with batch norm + dense 256 over note/chord tokens fed as id/vocab, window 50, Adamax",
        _R2_TRAIN, _NOTE_CHORD,
    ),
    "r3-lstm": Preset(
        "note_rnn",
        {"cell": "lstm", "input": "normalised", "embed": 1, "hidden": (512, 512, 512), "batch_norm": "stack",
         "dense": (256,), "dense_norm": True, "dropout": 0.3, "window": 100},
        "R3: 3 x LSTM 512 + batch norm + dense 256 over note tokens fed as id/vocab, window 100, SGD",
        {"batch_size": 64, "seq_len": 100, "optimizer": "sgd", "lr": 0.01}, _NOTE_CHORD,
    ),
    "note-gru": Preset(
        "note_rnn",
        {**_R2_GRU, "input": "embedding", "embed": 64},
        "R2's GRU with an embedding (64) instead of id/vocab inputs: note/chord tokens, window 50, Adamax",
        _R2_TRAIN, _NOTE_CHORD,
    ),
    "note-gru-events": Preset(
        "note_rnn",
        {**_R2_GRU, "input": "embedding", "embed": 64, "window": 100},
        "The GRU over duration-aware REMI events (MidiTok): bars, positions, pitches, durations; window 100",
        {**_R2_TRAIN, "seq_len": 100}, {"kind": "midi_events", "num_velocities": 0},
    ),
    "gpt-events": Preset(
        "transformer",
        {"block_size": 1024, "n_layer": 4, "n_head": 4, "n_embd": 256, "dropout": 0.1, "positions": "rope"},
        "GPT over duration-aware REMI events (MidiTok), whole pieces in a context of 1024, AdamW, cosine",
        {**_GPT_TRAIN, "batch_size": 8}, {"kind": "midi_events", "num_velocities": 0},
    ),
    "ae-composer": Preset(
        "autoencoder",
        {"measure_hidden": (512,), "measure_code": 64, "song_hidden": (512,), "latent": 120, "dropout": 0.1,
         "batch_norm": True},
        "After HackerPoet's Composer (R5): 8 measures of 16 steps x 48 pitches -> per-measure codes -> latent 120",
        {"batch_size": 32, "seq_len": 2, "optimizer": "adam", "lr": 1e-3},
        {"kind": "pianoroll", "measures": 8},
    ),
    "tiny-note-gru": Preset(
        "note_rnn",
        {"cell": "gru", "input": "embedding", "embed": 16, "hidden": (32,), "batch_norm": "none", "dense": (),
         "dropout": 0.0, "window": 16},
        "A small note/chord GRU for quick experiments and tests",
        {"batch_size": 64, "seq_len": 16, "optimizer": "adam", "lr": 3e-3}, {"kind": "note_chord", "min_count": 1},
    ),
    "tiny-ae": Preset(
        "autoencoder",
        {"measure_hidden": (64,), "measure_code": 16, "song_hidden": (64,), "latent": 8, "dropout": 0.0,
         "batch_norm": True},
        "A small piano-roll autoencoder for quick experiments and tests",
        {"batch_size": 32, "seq_len": 2, "optimizer": "adam", "lr": 3e-3}, {"kind": "pianoroll", "measures": 4},
    ),
})
