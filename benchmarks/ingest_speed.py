"""Ingestion speed: the seeds' music21 pipeline against TuneLab's MIDI import, on the same MIDI files.

The files are the Bach chorales bundled with music21, converted to MIDI once by TuneLab's
importer (written under the data folder, ``data/bench/bach-midi``). Timed, file by file:

* seeds: ``converter.parse(file)`` + ``instrument.partitionByInstrument`` and notes and chords to
  strings, as the seed reports' ``get_notes`` (Classical-Piano-Composer); ``forceSource=True``
  so music21 parses every file rather than loading the pickle it caches after a first run.
* pretty_midi: ``pretty_midi.PrettyMIDI(file)`` alone, for reference.
* tuneLab parse: :func:`core.midi_parse.parse_midi` (symusic, seconds and quarter notes).
* tuneLab import: ``load_midi_corpus(folder)`` on a cold cache: reading, hashing, parsing, key
  estimation, duplicates, split and writing the cache, per file.

Usage::

    .venv/bin/python benchmarks/ingest_speed.py [--files 410] [--seed-files 410] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pretty_midi  # noqa: E402
import symusic  # noqa: E402

from core.data.midi_corpus import bach_files, load_midi_corpus  # noqa: E402
from core.data.midi_parse import parse_midi  # noqa: E402
from core.data.midi_sources import IngestLimits  # noqa: E402
from core.data.score_import import score_to_midi  # noqa: E402
from core.paths import data_dir  # noqa: E402
from core.training.checkpoint import cpu_name  # noqa: E402


def bach_midi(folder: Path, n: int) -> list[Path]:
    """The first ``n`` chorales as MIDI files in ``folder`` (converted through the importer's cache)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for path in bach_files()[:n]:
        target = folder / f"{path.stem}.mid"
        if not target.is_file():
            kind = "mxl" if path.suffix == ".mxl" else "musicxml"
            target.write_bytes(score_to_midi(path.read_bytes(), kind, IngestLimits())[0])
        out.append(target)
    return out


def seeds_get_notes(path: Path) -> list[str]:
    """The seed reports' get_notes for one file: music21 parse, first instrument part, note/chord strings."""
    from music21 import chord, converter, instrument, note

    midi = converter.parse(str(path), forceSource=True)
    try:
        notes_to_parse = instrument.partitionByInstrument(midi).parts[0].recurse()
    except (AttributeError, IndexError):  # the seeds' bare except: a file without instrument parts
        notes_to_parse = midi.flatten().notes
    notes = []
    for element in notes_to_parse:
        if isinstance(element, note.Note):
            notes.append(str(element.pitch))
        elif isinstance(element, chord.Chord):
            notes.append(".".join(str(n) for n in element.normalOrder))
    return notes


def per_file(fn, files: list[Path], repeats: int) -> float:
    """Median over ``repeats`` of the seconds per file of ``fn`` over all ``files``."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for f in files:
            fn(f)
        times.append((time.perf_counter() - t) / len(files))
    return statistics.median(times)


def cold_import(folder: Path, scratch: Path, repeats: int) -> float:
    """Median seconds per file of importing ``folder`` with an empty cache (a fresh data folder each time)."""
    n = sum(1 for _ in folder.glob("*.mid"))
    saved = os.environ.get("TUNELAB_DATA_DIR")
    times = []
    try:
        for i in range(repeats):
            os.environ["TUNELAB_DATA_DIR"] = str(scratch / f"run{i}")
            t = time.perf_counter()
            corpus = load_midi_corpus(str(folder))
            times.append((time.perf_counter() - t) / n)
            assert not corpus.cached and len(corpus.pieces) + len(corpus.filtered) == n
    finally:
        if saved is None:
            os.environ.pop("TUNELAB_DATA_DIR", None)
        else:
            os.environ["TUNELAB_DATA_DIR"] = saved
        shutil.rmtree(scratch, ignore_errors=True)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=410, help="chorales for the fast pipelines (all: 410)")
    parser.add_argument("--seed-files", type=int, default=410, help="chorales for the seeds' pipeline (slow)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes of the fast pipelines (median)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    folder = data_dir() / "bench" / "bach-midi"
    t = time.perf_counter()
    files = bach_midi(folder, max(args.files, args.seed_files))
    print(f"{len(files)} chorale MIDI files in {folder} ({time.perf_counter() - t:.1f} s to prepare)")
    fast, slow = files[: args.files], files[: args.seed_files]

    seeds_get_notes(slow[0])  # import music21 outside the timing
    seeds = per_file(seeds_get_notes, slow, 1)
    print(f"seeds' get_notes (music21): {1 / seeds:8.1f} files/s  ({seeds * 1000:.1f} ms a file, {len(slow)} files)")
    pm = per_file(lambda f: pretty_midi.PrettyMIDI(str(f)), fast, args.repeats)
    print(f"pretty_midi parse:          {1 / pm:8.1f} files/s  ({pm * 1000:.2f} ms a file)")
    parse = per_file(lambda f: parse_midi(f.read_bytes()), fast, args.repeats)
    print(f"TuneLab parse (symusic):    {1 / parse:8.1f} files/s  ({parse * 1000:.3f} ms a file)")
    full = cold_import(folder, data_dir() / "bench" / "scratch", args.repeats)
    print(f"TuneLab import, cold cache: {1 / full:8.1f} files/s  ({full * 1000:.3f} ms a file)")
    summary = {
        "files": len(fast),
        "seed_files": len(slow),
        "seeds_files_per_s": round(1 / seeds, 2),
        "pretty_midi_files_per_s": round(1 / pm, 1),
        "tunelab_parse_files_per_s": round(1 / parse, 1),
        "tunelab_import_files_per_s": round(1 / full, 1),
        "import_vs_seeds": round(seeds / full, 1),
        "parse_vs_seeds": round(seeds / parse, 1),
        "pretty_midi_vs_seeds": round(seeds / pm, 1),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "versions": {"symusic": symusic.__version__, "pretty_midi": pretty_midi.__version__,
                     "music21": __import__("music21").__version__},
    }
    print(f"ratio: TuneLab import is {summary['import_vs_seeds']}x the seeds' pipeline "
          f"(parse alone {summary['parse_vs_seeds']}x; pretty_midi {summary['pretty_midi_vs_seeds']}x)")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
