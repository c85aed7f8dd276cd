"""MIDI corpora: MIDI, MusicXML and kern files from a file, folder, zip or upload, or the Bach chorales.

The MIDI counterpart of :mod:`core.data.corpus`. An import reads every file of its source
(:mod:`core.data.midi_sources`, with the safety caps), parses MIDI with symusic and scores with
music21 (:mod:`core.data.midi_parse`, :mod:`core.data.score_import`), applies the options of
:class:`IngestOptions`, drops exact duplicates, and splits the pieces 80/10/10 by a hash of each
piece's opening melody (else its file's bytes), so a piece keeps its split whatever its name,
its folder or the order of files, and settings of one tune stay together.
A file that cannot be read is listed with its reason and the rest is imported.

Processed corpora are cached by the content hash of their sources, options and limits.
"""

from __future__ import annotations

import contextlib
import hashlib
import statistics
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import numpy as np
import symusic

from core.data.corpus import BUILTIN, music21_corpus_dir
from core.data.midi_parse import BadMusicFile, parse_midi
from core.data.midi_piece import MidiPiece
from core.data.midi_sources import Entry, IngestLimits, Item, Rejected, fingerprint, iter_path, iter_uploads
from core.data.midi_store import NAME_RE, cache_path, check_name, load, named_corpora, named_dir, save, save_named
from core.data.midi_transform import (
    FilteredOut,
    IngestOptions,
    check_tempo,
    estimate_key,
    key_name,
    main_tempo,
    select_tracks,
    shift_to_c,
    transpose,
)
from core.data.score_import import score_to_midi
from core.errors import UserError

SPLITS = ("train", "valid", "test")
PARSER_VERSION = f"midi-1/symusic-{symusic.__version__}"
BUILTIN_MIDI = {
    "bach": "Bach chorales bundled with music21 (410 files, four voices): MusicXML converted to MIDI once",
}
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Problem:
    """A file (or one score of it) that was not imported, and why."""

    file: str
    reason: str


@dataclass(frozen=True, eq=False)
class MidiCorpus:
    """Imported pieces, each assigned to one split, with what was left out and why."""

    name: str
    source: str
    pieces: tuple[MidiPiece, ...]
    splits: tuple[str, ...]
    content_hash: str
    options: IngestOptions
    failed: tuple[Problem, ...] = ()
    filtered: tuple[Problem, ...] = ()
    ignored: int = 0
    cached: bool = False

    def split(self, part: str) -> list[MidiPiece]:
        """The pieces of one split: ``"train"``, ``"valid"`` or ``"test"``."""
        if part not in SPLITS:
            raise UserError(f"Unknown split {part!r}; choose one of {', '.join(SPLITS)}.")
        return [p for p, s in zip(self.pieces, self.splits, strict=True) if s == part]

    def fingerprint(self) -> dict[str, str]:
        """Short hashes of the corpus content and of each split's membership."""
        out = {"corpus": self.content_hash[:16]}
        for part in SPLITS:
            digests = "\n".join(sorted(p.digest for p in self.split(part)))
            out[part] = hashlib.sha256(digests.encode()).hexdigest()[:16]
        return out

    def summary(self) -> dict:
        """The import summary: pieces, notes, duration, splits, and each file left out with its reason."""
        artists = Counter(p.artist for p in self.pieces if p.artist)
        return {
            "name": self.name,
            "source": self.source,
            "pieces": len(self.pieces),
            "notes": sum(p.n_notes for p in self.pieces),
            "duration_s": round(sum(p.duration for p in self.pieces), 1),
            "splits": {part: self.splits.count(part) for part in SPLITS},
            "artists": dict(sorted(artists.items())),
            "options": self.options.to_dict(),
            "failed": [{"file": p.file, "reason": p.reason} for p in self.failed],
            "filtered": [{"file": p.file, "reason": p.reason} for p in self.filtered],
            "ignored_files": self.ignored,
            "content_hash": self.content_hash[:16],
            "cached": self.cached,
        }


MELODY_MOVES = 8
"""Pieces whose top line opens with the same this many intervals share a split."""


def split_of_key(key: str) -> str:
    """The split for a grouping key: 80% train, 10% valid, 10% test by its SHA-256, the same everywhere."""
    bucket = int(hashlib.sha256(f"midi:{key}".encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 80 else "valid" if bucket < 90 else "test"


def split_key(piece: MidiPiece) -> str:
    """What decides a piece's split: its opening melody when it has one, else its file's digest.

    The melody is the top line (the highest pitch at each onset, repeated pitches merged) and the
    key is its first MELODY_MOVES intervals, so two settings of one tune, in any key, land in the
    same split (Bach harmonised many chorale tunes several times), as tunes with one title do in
    :func:`core.corpus.split_of`. Pieces with a shorter top line fall back to the file's digest.
    """
    notes = piece.notes()
    if notes.size > MELODY_MOVES:
        order = np.lexsort((-notes["pitch"].astype(np.int64), notes["start_q"]))
        ordered = notes[order]
        first = np.r_[True, ordered["start_q"][1:] != ordered["start_q"][:-1]]
        top = ordered["pitch"][first].astype(np.int64)
        top = top[np.r_[True, top[1:] != top[:-1]]]
        if top.size > MELODY_MOVES:
            return "melody:" + ",".join(map(str, np.diff(top[: MELODY_MOVES + 1])))
    return "file:" + piece.digest


def split_of_piece(piece: MidiPiece) -> str:
    """The split of a piece (see :func:`split_key`)."""
    return split_of_key(split_key(piece))


def list_midi_corpora() -> dict[str, str]:
    """Built-in and imported MIDI corpus names with a one-line description."""
    out = dict(BUILTIN_MIDI)
    for name, s in named_corpora().items():
        out[name] = f"imported MIDI: {s.get('pieces', '?')} pieces from {s.get('source', '?')}"
    return out


def is_midi_corpus(name: str | None) -> bool:
    """True for ``bach`` and the names of imported MIDI corpora."""
    if not name or not NAME_RE.match(name):
        return False
    return name in BUILTIN_MIDI or (named_dir() / f"{name}.npz").is_file()


def bach_files() -> list[Path]:
    """The chorale scores of music21's ``corpus/bach`` (.mxl and .xml; the 3 .krn repeat .mxl ones)."""
    folder = music21_corpus_dir() / "bach"
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".mxl", ".xml"))


def _bach_items(limits: IngestLimits) -> Iterator[Item]:
    for path in bach_files():
        for item in iter_path(path, limits):
            yield replace(item, path=f"bach/{item.path}", artist="Bach") if isinstance(item, Entry) else item


def load_midi_corpus(
    source: str,
    options: IngestOptions | None = None,
    limits: IngestLimits | None = None,
    progress: Progress | None = None,
) -> MidiCorpus:
    """Import (or load from the cache) ``bach``, an imported corpus's name, or a file, folder or zip.

    A corpus imported with a name keeps the options it was imported with; ``options`` apply to
    the others. ``progress(done, total)`` is called after each file when the cache misses.
    """
    options, limits = options or IngestOptions(), limits or IngestLimits()
    if source not in BUILTIN_MIDI and is_midi_corpus(source):
        return _load_named(source)
    if source in BUILTIN_MIDI:
        name, items = source, (lambda: _bach_items(limits))
    else:
        name, items = Path(source).stem or "corpus", (lambda: iter_path(source, limits))
    return _build(name, source, items, options, limits, progress)


def import_uploads(
    files: list[tuple[str, bytes]], name: str, options: IngestOptions | None = None,
    limits: IngestLimits | None = None,
) -> MidiCorpus:
    """Import uploaded files (name, bytes): MIDI or score files, or zip archives. Not kept by name."""
    options, limits = options or IngestOptions(), limits or IngestLimits()
    return _build(name, "upload", lambda: iter_uploads(files, limits), options, limits, None)


def import_corpus(
    source: str, name: str, options: IngestOptions | None = None, limits: IngestLimits | None = None,
    replace_existing: bool = False, progress: Progress | None = None,
) -> MidiCorpus:
    """Import ``source`` and keep it as ``name`` (under ``data_dir()/midi_corpora``) when any piece was read.

    Raises
    ------
    UserError
        For a bad name, a name taken by a built-in corpus or (without ``replace_existing``) an
        imported one, or a missing source.
    """
    check_name(name)
    if name in BUILTIN_MIDI or name in BUILTIN:
        raise UserError(f"{name!r} is a built-in corpus; choose another name.")
    if not replace_existing and is_midi_corpus(name):
        raise UserError(f"A MIDI corpus named {name!r} exists already: choose another name or pass --replace.")
    corpus = load_midi_corpus(source, options, limits, progress)
    corpus = replace(corpus, name=name)
    if corpus.pieces:
        save_named(name, list(corpus.pieces), _meta(corpus), corpus.summary(), replace_existing)
    return corpus


def _build(name, source, items: Callable[[], Iterator[Item]], options, limits, progress) -> MidiCorpus:
    digest, total = fingerprint(items())
    key = hashlib.sha256(
        f"{PARSER_VERSION}\0{sorted(options.to_dict().items())}\0{limits}\0{digest}".encode()
    ).hexdigest()
    cached = load(cache_path(key))
    if cached is not None:
        pieces, meta = cached
        return _corpus(name, source, pieces, meta, options, key, True)
    pieces, failed, filtered, ignored = _process(items(), options, limits, total, progress)
    meta = {"failed": failed, "filtered": filtered, "ignored": ignored}
    with contextlib.suppress(OSError):  # a read-only data folder only costs the cache
        save(cache_path(key), pieces, meta)
    return _corpus(name, source, pieces, meta, options, key, False)


def _corpus(name, source, pieces, meta, options, key, cached) -> MidiCorpus:
    return MidiCorpus(
        name=name, source=str(source), pieces=tuple(pieces), splits=tuple(split_of_piece(p) for p in pieces),
        content_hash=key, options=options, failed=tuple(Problem(*p) for p in meta["failed"]),
        filtered=tuple(Problem(*p) for p in meta["filtered"]), ignored=meta["ignored"], cached=cached,
    )


def _meta(corpus: MidiCorpus) -> dict:
    return {"name": corpus.name, "source": corpus.source, "options": corpus.options.to_dict(),
            "content_hash": corpus.content_hash, "failed": [[p.file, p.reason] for p in corpus.failed],
            "filtered": [[p.file, p.reason] for p in corpus.filtered], "ignored": corpus.ignored}


def _load_named(name: str) -> MidiCorpus:
    loaded = load(named_dir() / f"{name}.npz")
    if loaded is None:
        raise UserError(f"The imported MIDI corpus {name!r} cannot be read; import it again with --replace.")
    pieces, meta = loaded
    options = IngestOptions(**meta["options"])
    return _corpus(name, meta["source"], pieces, meta, options, meta["content_hash"], True)


def _process(items: Iterator[Item], options, limits, total, progress):
    pieces: list[MidiPiece] = []
    failed, filtered, seen = [], [], {}
    ignored = 0
    for done, item in enumerate(items, 1):
        if isinstance(item, Rejected):
            ignored += item.ignored
            if not item.ignored:
                failed.append([item.path, item.reason])
        else:
            for piece_or_problem in _pieces_of(item, options, limits):
                if isinstance(piece_or_problem, MidiPiece):
                    same = seen.setdefault(_notes_key(piece_or_problem), piece_or_problem.source)
                    if same != piece_or_problem.source:
                        filtered.append([piece_or_problem.source, f"the same notes as {same}"])
                    else:
                        pieces.append(piece_or_problem)
                else:
                    kind, path, reason = piece_or_problem
                    (failed if kind == "failed" else filtered).append([path, reason])
        if progress:
            progress(done, total)
    return pieces, failed, filtered, ignored


def _pieces_of(entry: Entry, options: IngestOptions, limits: IngestLimits):
    """The pieces of one file, or ("failed" | "filtered", path, reason) for each that is left out."""
    digest = hashlib.sha256(entry.data).hexdigest()
    try:
        midis = [entry.data] if entry.kind == "midi" else score_to_midi(entry.data, entry.kind, limits)
    except BadMusicFile as exc:
        yield ("failed", entry.path, str(exc))
        return
    title = PurePosixPath(entry.path.rsplit(":", 1)[-1]).stem
    for i, data in enumerate(midis):
        suffix = f"#{i + 1}" if len(midis) > 1 else ""
        try:
            yield _piece(data, replace(entry, path=entry.path + suffix), title + suffix, digest + suffix, options)
        except FilteredOut as exc:
            yield ("filtered", entry.path + suffix, str(exc))
        except BadMusicFile as exc:
            yield ("failed", entry.path + suffix, str(exc))


def _piece(data: bytes, entry: Entry, title: str, digest: str, options: IngestOptions) -> MidiPiece:
    parsed = parse_midi(data)
    tracks = select_tracks(parsed, options)
    end_q = max(float(t.notes["end_q"].max()) for t in tracks)
    tempo = main_tempo(parsed.tempos, end_q)
    check_tempo(tempo, options)
    tonic, mode = estimate_key(tracks)
    shift = shift_to_c(tonic, mode) if options.transpose else 0
    return MidiPiece(title, entry.path, entry.artist, digest, parsed.tempos, tempo, parsed.time_signature,
                     key_name(tonic, mode), shift, transpose(tracks, shift))


def _notes_key(piece: MidiPiece) -> str:
    notes = piece.notes(drums=True)
    rows = np.column_stack([notes["pitch"], np.round(notes["start_q"] * 480), np.round(notes["end_q"] * 480)])
    return hashlib.sha256(rows.astype(np.int64).tobytes()).hexdigest()


def midi_corpus_stats(corpus: MidiCorpus) -> dict:
    """The summary plus what a user checks before training: keys, tempos, meters, programs, pitch range."""
    pitches = [int(p) for piece in corpus.pieces for t in piece.tracks if not t.is_drum and t.notes.size
               for p in (t.notes["pitch"].min(), t.notes["pitch"].max())]
    return {
        **corpus.summary(),
        "keys": dict(Counter(p.key for p in corpus.pieces).most_common(12)),
        "tempo_median": statistics.median(p.tempo for p in corpus.pieces) if corpus.pieces else None,
        "time_signatures": dict(Counter("/".join(map(str, p.time_signature)) for p in corpus.pieces).most_common()),
        "programs": dict(Counter(str(t.program) if not t.is_drum else "drums"
                                 for p in corpus.pieces for t in p.tracks).most_common()),
        "pitch_range": [min(pitches), max(pitches)] if pitches else None,
        "fingerprint": corpus.fingerprint(),
    }
