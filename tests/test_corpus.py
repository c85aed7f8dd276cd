"""Corpora: deterministic split, no leakage, de-duplication, user files and their errors."""

from collections import Counter

import pytest

from core.data.abc import Tune
from core.data.corpus import SPLITS, corpus_stats, list_corpora, load_corpus, split_of, title_key
from core.errors import UserError


@pytest.fixture(scope="module")
def oneills():
    return load_corpus("oneills1850")


def test_builtin_corpora_are_listed():
    assert {"oneills1850", "ryans", "airds", "essen"} <= set(list_corpora())


def test_oneills_size_and_split_proportions(oneills):
    n = len(oneills.tunes)
    assert 1800 < n < 2100  # about 2,000 transcriptions, a few exact duplicates removed
    counts = Counter(oneills.splits)
    assert abs(counts["train"] / n - 0.8) < 0.03
    assert abs(counts["valid"] / n - 0.1) < 0.03 and abs(counts["test"] / n - 0.1) < 0.03


def test_split_is_deterministic_and_independent_of_order(oneills):
    again = load_corpus("oneills1850")
    assert again.fingerprint() == oneills.fingerprint()
    # the split of a tune depends only on the tune: reversed order, same assignment
    assert [split_of(t) for t in reversed(oneills.tunes)] == list(reversed(oneills.splits))
    # a fixed value, so that a change of hashing shows up here: sha256("tunelab reel") -> bucket
    assert split_of(Tune("Tunelab Reel", "C|", "1/8", "D", "ABcd|")) == "train"


def test_no_tune_in_two_splits(oneills):
    by_title: dict[str, set[str]] = {}
    for tune, part in zip(oneills.tunes, oneills.splits, strict=True):
        by_title.setdefault(title_key(tune.title), set()).add(part)
    assert all(len(parts) == 1 for key, parts in by_title.items() if key and key != "untitled")
    texts = {part: set(t.body for t in oneills.split(part)) for part in SPLITS}
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["valid"]


def test_duplicates_across_files_are_removed(tmp_path):
    tune = "X:1\nT:Copy\nM:6/8\nL:1/8\nK:D\ndfa afd|B2B BAF|\n"
    (tmp_path / "a.abc").write_text(tune)
    (tmp_path / "b.abc").write_text(tune.replace("X:1", "X:7").replace("afd|", "a f d |"))
    (tmp_path / "c.abc").write_text("X:1\nT:Other\nM:C|\nK:G\nGABc dedB|\n")
    corpus = load_corpus(str(tmp_path))
    assert sorted(t.title for t in corpus.tunes) == ["Copy", "Other"]
    assert corpus.name == tmp_path.name


def test_stats_report_counts(oneills):
    stats = corpus_stats(oneills)
    assert stats["tunes"] == len(oneills.tunes)
    assert 80 <= stats["vocabulary"] <= 95  # the reports had 86-87 characters
    assert stats["meters"]["6/8"] > 500
    assert sum(stats["splits"].values()) == stats["tunes"]
    assert 0.97 < stats["bar_fit_rate"] <= 1


def test_second_load_uses_the_cache(data_dir):
    load_corpus("ryans")
    assert any(p.name.startswith("corpus-") for p in (data_dir / "cache").iterdir())


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda p: str(p / "missing"), "Unknown corpus"),
        (lambda p: str(p), "No .abc files"),
        (lambda p: (p / "bin.abc").write_bytes(b"\x00\x01\x02" * 10) and str(p / "bin.abc"), "not a text ABC"),
        (lambda p: (p / "empty.abc").write_text("no tunes here") and str(p / "empty.abc"), "No tunes"),
    ],
)
def test_bad_corpus_inputs_raise_one_clear_error(tmp_path, make, message):
    with pytest.raises(UserError, match=message):
        load_corpus(make(tmp_path))


def test_the_combined_folk_corpus_keeps_oneills_test_tunes_out_of_its_training_split():
    folk, oneill = load_corpus("folk"), load_corpus("oneills1850")
    assert len(folk.tunes) > 2 * len(oneill.tunes)
    train_titles = {title_key(t.title) for t in folk.split("train")}
    train_bodies = {t.body for t in folk.split("train")}
    test = oneill.split("test")
    assert test and not any(title_key(t.title) in train_titles or t.body in train_bodies for t in test)
