"""Tokenizers by kind; ``tokenizer_from_dict`` rebuilds the one saved in a checkpoint card."""

from core.tokenizers.abc_chars import CharTokenizer
from core.tokenizers.base import Tokenizer
from core.tokenizers.midi_events import EventConfig, EventTokenizer
from core.tokenizers.note_chord import NoteChordTokenizer
from core.tokenizers.pianoroll import PianoRollTokenizer

TOKENIZERS = {
    CharTokenizer.kind: CharTokenizer,
    NoteChordTokenizer.kind: NoteChordTokenizer,
    EventTokenizer.kind: EventTokenizer,
    PianoRollTokenizer.kind: PianoRollTokenizer,
}


def tokenizer_from_dict(data: dict) -> Tokenizer:
    """The tokenizer a card describes."""
    kind = data.get("kind")
    if kind not in TOKENIZERS:
        raise ValueError(f"Unknown tokenizer kind {kind!r} in checkpoint card.")
    return TOKENIZERS[kind].from_dict(data)


__all__ = [
    "CharTokenizer",
    "EventConfig",
    "EventTokenizer",
    "NoteChordTokenizer",
    "PianoRollTokenizer",
    "Tokenizer",
    "TOKENIZERS",
    "tokenizer_from_dict",
]
