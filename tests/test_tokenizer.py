"""Character tokenizer: round trip, unknown characters, serialisation."""

import pytest

from core.data.corpus import load_corpus
from core.errors import UserError
from core.tokenizers import CharTokenizer, tokenizer_from_dict


def test_round_trip_over_a_whole_split():
    text = load_corpus("oneills1850").text("valid")
    tok = CharTokenizer.from_text(text)
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert max(ids) == tok.vocab_size - 1 and min(ids) == 0


def test_vocabulary_is_sorted_and_stable():
    assert CharTokenizer.from_text("cab|a").vocab == ["a", "b", "c", "|"]


def test_unknown_character_is_a_user_error_naming_it():
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(UserError, match="'é'"):
        tok.encode("abé")


def test_saved_and_loaded_tokenizer_is_equal():
    tok = CharTokenizer.from_text("X:1\nK:D\nABc|")
    again = tokenizer_from_dict(tok.to_dict())
    assert again.vocab == tok.vocab and again.encode("ABc|") == tok.encode("ABc|")
    with pytest.raises(ValueError):
        tokenizer_from_dict({"kind": "pickle"})
