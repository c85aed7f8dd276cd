"""The one tokenizer interface every model family uses (after MidiTok's MusicTokenizer)."""

from __future__ import annotations

from typing import Protocol


class Tokenizer(Protocol):
    """Turns music text into integer ids and back; travels inside each checkpoint."""

    kind: str

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...

    def to_dict(self) -> dict: ...
