"""MIDI ingestion: parsing, the import options, splits, caches, the CLI, and every kind of bad input.

Files are built inline: MIDI with pretty_midi (or byte by byte where pretty_midi cannot write
the fault), archives with zipfile. Each bad file sits next to a good one, which must still be
imported.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from core.cli import main
from core.data.corpus import music21_corpus_dir
from core.data.midi_corpus import (
    SPLITS,
    bach_files,
    import_uploads,
    is_midi_corpus,
    list_midi_corpora,
    load_midi_corpus,
    split_key,
    split_of_key,
)
from core.data.midi_parse import BadMusicFile, parse_midi
from core.data.midi_sources import IngestLimits
from core.data.midi_transform import IngestOptions

C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72, 60, 64, 67]  # scale and tonic triad


def midi(pitches=C_MAJOR, program=0, drum=False, qpm=120.0, tracks=None, step=0.5) -> bytes:
    """A one-track MIDI file (or several: ``tracks`` = [(pitches, program, drum, name)]), as bytes."""
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=qpm)
    for pitch_list, prog, is_drum, name in tracks or [(pitches, program, drum, "")]:
        inst = pretty_midi.Instrument(program=prog, is_drum=is_drum, name=name)
        inst.notes = [pretty_midi.Note(80, p, i * step, (i + 1) * step) for i, p in enumerate(pitch_list)]
        pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def smf(events: list[tuple[int, bytes]], division: int = 480) -> bytes:
    """A format-0 MIDI file written byte by byte: (delta ticks, event bytes) pairs, end of track added."""

    def vlq(n: int) -> bytes:
        out = [n & 0x7F]
        while n > 0x7F:
            n >>= 7
            out.append(0x80 | (n & 0x7F))
        return bytes(reversed(out))

    body = b"".join(vlq(d) + e for d, e in events) + b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, division) + b"MTrk" + struct.pack(">I", len(body)) + body


def tempo(us_per_quarter: int) -> bytes:
    return b"\xff\x51\x03" + us_per_quarter.to_bytes(3, "big")


NOTE = [(0, b"\x90\x3c\x40"), (480, b"\x80\x3c\x40")]  # middle C for one quarter note


def folder_with(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "in"
    for name, data in {"good.mid": midi(), **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def left_out(corpus) -> dict[str, str]:
    return {p.file: p.reason for p in (*corpus.failed, *corpus.filtered)}


# --- parsing ---------------------------------------------------------------------------------------


def test_parse_converts_ticks_through_the_tempo_map():
    # 120 per minute for 4 quarters (2 s), then 60 per minute: a note at quarter 6 starts at 2 + 2 = 4 s
    data = smf([(0, tempo(500_000)), (1920, tempo(1_000_000)), (960, b"\x90\x40\x50"), (240, b"\x80\x40\x00")])
    parsed = parse_midi(data)
    (note,) = parsed.tracks[0].notes
    assert (note["start_q"], note["end_q"]) == (6.0, 6.5)
    assert note["start"] == pytest.approx(4.0) and note["end"] == pytest.approx(4.5)
    assert (note["pitch"], note["velocity"]) == (64, 0x50)
    assert parsed.tempos.tolist() == [[0.0, 120.0], [4.0, 60.0]]
    assert parsed.time_signature == (4, 4)


@pytest.mark.parametrize(
    "data,reason",
    [
        (midi()[:-7], "truncated or corrupt MIDI file"),
        (bytes(range(256)) * 4, "not a MIDI file: it starts with"),
        (b"just some notes, honestly\n" * 20, "not a MIDI file: it is text"),
        (b"", "not a MIDI file: the file is empty"),
        (b"MThd\x00\x00", "truncated MIDI file: 6 bytes"),
        (smf([(0, tempo(500_000))]), "no notes"),
        (smf([(0, tempo(500_000)), *NOTE], division=0), "0 ticks per quarter note"),
        (smf(NOTE, division=0xE728), "SMPTE time division"),
        (smf([(0, tempo(0)), *NOTE]), "absurd tempo: 0 microseconds per quarter note"),
        (smf([(0, tempo(1)), *NOTE]), "absurd tempo: 6e+07 quarter notes per minute"),
        (smf([(0, tempo(0xFFFFFF)), *NOTE]), "absurd tempo: 3.576 quarter notes per minute"),
        (smf([(0, b"\x90\x3c\x40"), (0x0FFFFFFF, b"\x80\x3c\x40")]), "hours: the times are corrupt"),
        (smf([(0, b"\x90\x3c\xc8"), (480, b"\x80\x3c\x40")]), "a note velocity of 200; MIDI data bytes are 0-127"),
    ],
)
def test_parse_refuses_bad_midi_with_a_reason(data, reason):
    with pytest.raises(BadMusicFile, match=re.escape(reason)):
        parse_midi(data)


def test_each_bad_file_is_listed_with_its_reason_and_the_rest_imported(tmp_path):
    root = folder_with(tmp_path, {
        "truncated.mid": midi()[:40],
        "random.mid": os.urandom(300).replace(b"MThd", b"xxxx"),
        "notes.mid": b"%PDF-1.4 not music",
        "empty.mid": smf([(0, tempo(500_000))]),
        "drums.mid": midi(pitches=[36, 38, 42], drum=True),
        "zero-tick.midi": smf(NOTE, division=0),
        "fast.mid": smf([(0, tempo(10)), *NOTE]),
        "readme.txt": b"not music, not counted as a failure",
    })
    corpus = load_midi_corpus(str(root))
    assert [p.source for p in corpus.pieces] == ["good.mid"]
    reasons = left_out(corpus)
    assert reasons["truncated.mid"].startswith("truncated or corrupt MIDI file")
    assert reasons["random.mid"].startswith("not a MIDI file")
    assert reasons["notes.mid"] == "not a MIDI file: it is a PDF document, not the MIDI header 'MThd'"
    assert reasons["empty.mid"] == "no notes: the file holds no note events"
    assert reasons["drums.mid"] == "only drum tracks: no pitched notes"
    assert reasons["zero-tick.midi"] == "corrupt MIDI header: 0 ticks per quarter note"
    assert reasons["fast.mid"].startswith("absurd tempo: 6e+06 quarter notes per minute")
    assert len(reasons) == 7 and corpus.ignored == 1
    assert [p.file for p in corpus.filtered] == ["drums.mid"]  # a readable file the options leave out


def test_drum_tracks_are_dropped_unless_kept(tmp_path):
    data = midi(tracks=[(C_MAJOR, 0, False, "piano"), ([36, 38], 0, True, "kit")])
    root = folder_with(tmp_path, {"band.mid": data, "drums.mid": midi(pitches=[36], drum=True)})
    dropped = {p.source: p for p in load_midi_corpus(str(root)).pieces}
    assert [t.name for t in dropped["band.mid"].tracks] == ["piano"]
    kept = {p.source: p for p in load_midi_corpus(str(root), IngestOptions(keep_drums=True)).pieces}
    assert [(t.name, t.is_drum) for t in kept["band.mid"].tracks] == [("piano", False), ("kit", True)]
    assert kept["drums.mid"].n_notes == 1


# --- archives, folders, uploads ----------------------------------------------------------------------


def zip_bytes(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, zipfile.ZIP_DEFLATED)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)  # a Unix symbolic link, as `zip --symlinks` stores it
            zf.writestr(info, target)
    return buf.getvalue()


def test_zip_members_with_unsafe_paths_links_and_nested_archives_are_refused(tmp_path, data_dir):
    archive = zip_bytes(
        {
            "bach/one.mid": midi(),
            "chopin/two.mid": midi(pitches=[61, 63, 65]),
            "../../escape.mid": midi(pitches=[50]),
            "/etc/abs.mid": midi(pitches=[51]),
            "C:/win.mid": midi(pitches=[52]),
            "inner.zip": zip_bytes({"x.mid": midi()}),
            "fake.mid": b"<html>not midi</html>",
            "__MACOSX/bach/._one.mid": b"\x00\x05\x16\x07resource fork",
        },
        symlinks={"link.mid": "/etc/passwd"},
    )
    (tmp_path / "set.zip").write_bytes(archive)
    before = set(tmp_path.parent.rglob("*"))
    corpus = load_midi_corpus(str(tmp_path / "set.zip"))
    assert sorted((p.source, p.artist) for p in corpus.pieces) == [
        ("set.zip:bach/one.mid", "bach"), ("set.zip:chopin/two.mid", "chopin")]
    reasons = left_out(corpus)
    unsafe = "an unsafe path in the archive (absolute or with '..'): not read"
    assert [reasons[f"set.zip:{n}"] for n in ("../../escape.mid", "/etc/abs.mid", "C:/win.mid")] == [unsafe] * 3
    assert reasons["set.zip:link.mid"] == "a symbolic link in the archive: not followed"
    assert reasons["set.zip:inner.zip"].startswith("an archive inside an archive")
    assert reasons["set.zip:fake.mid"].startswith("not a MIDI file: it is XML or HTML text")
    assert len(reasons) == 6  # the macOS resource fork is skipped silently
    # nothing was extracted: the only new files are the corpus cache, inside the data folder
    new = {p for p in set(tmp_path.parent.rglob("*")) - before if p.is_file()}
    assert not any(p.name.startswith(("escape", "abs", "win", "link")) for p in new)
    assert all(data_dir in p.parents for p in new)


def test_zip_bomb_is_refused_by_ratio_and_by_total_size(tmp_path):
    bomb = zip_bytes({"good.mid": midi(), "bomb.mid": b"MThd" + bytes(4 * 2**20)})  # 4 MB of zeros
    corpus = import_uploads([("bomb.zip", bomb)], "u")
    assert [p.source for p in corpus.pieces] == ["bomb.zip:good.mid"]
    reason = left_out(corpus)["bomb.zip:bomb.mid"]
    assert reason.startswith("compressed ") and reason.endswith("to 1; the limit is 200 to 1 (a zip bomb?)")
    tight = IngestLimits(max_archive_bytes=1000)
    corpus = import_uploads([("bomb.zip", bomb)], "u", limits=tight)
    assert not corpus.pieces
    assert left_out(corpus) == {"bomb.zip": "the archive unpacks to 4 MB; the limit is 0.000954 MB"}
    many = zip_bytes({f"{i}.mid": midi() for i in range(5)})
    corpus = import_uploads([("many.zip", many)], "u", limits=IngestLimits(max_entries=4))
    assert left_out(corpus) == {"many.zip": "the archive lists 5 files; the limit is 4"}


def test_a_member_that_inflates_past_its_declared_size_is_refused(tmp_path):
    data = bytearray(zip_bytes({"good.mid": midi(), "liar.mid": midi(pitches=list(range(40, 90)))}))
    # shrink liar.mid's declared size (central directory, offset 24) to 100 bytes
    at = data.rindex(b"PK\x01\x02", 0, data.rindex(b"liar.mid"))
    data[at + 24:at + 28] = struct.pack("<I", 100)
    corpus = import_uploads([("liar.zip", bytes(data))], "u")
    assert [p.source for p in corpus.pieces] == ["liar.zip:good.mid"]
    assert left_out(corpus)["liar.zip:liar.mid"] == (
        "the archive member is corrupt or larger than it declares (Bad CRC-32 for file 'liar.mid')")


def test_uploads_over_the_size_limit_are_refused(tmp_path):
    limits = IngestLimits(max_file_bytes=2000)
    big = midi(pitches=list(range(30, 100)) * 4)
    assert len(big) > 2000
    corpus = import_uploads([("small.mid", midi()), ("big.mid", big), ("big.zip", zip_bytes({"b.mid": big}))],
                            "u", limits=limits)
    reasons = left_out(corpus)
    assert [p.source for p in corpus.pieces] == ["small.mid"]
    assert reasons["big.mid"] == f"the file is {len(big) / 2**20:.3g} MB; the limit is 0.00191 MB"
    assert reasons["big.zip:b.mid"].startswith("the file is ")
    (tmp_path / "big.mid").write_bytes(big)
    corpus = load_midi_corpus(str(tmp_path / "big.mid"), limits=limits)
    assert not corpus.pieces and left_out(corpus)["big.mid"].endswith("the limit is 0.00191 MB")


def test_folders_give_artists_and_symlinks_are_not_followed(tmp_path):
    root = folder_with(tmp_path, {"albeniz/a.mid": midi(pitches=[60, 67]), "bach/b.mid": midi(pitches=[62, 64])})
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.mid").write_bytes(midi(pitches=[70]))
    (root / "link.mid").symlink_to(outside / "secret.mid")
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    corpus = load_midi_corpus(str(root))
    assert sorted((p.source, p.artist) for p in corpus.pieces) == [
        ("albeniz/a.mid", "albeniz"), ("bach/b.mid", "bach"), ("good.mid", None)]
    assert left_out(corpus) == {"link.mid": "a symbolic link: not followed", "linkdir": "a symbolic link: not followed"}
    assert corpus.summary()["artists"] == {"albeniz": 1, "bach": 1}


# --- options -----------------------------------------------------------------------------------------


def test_transposition_to_c_major_and_a_minor(tmp_path):
    d_major = [62, 64, 66, 67, 69, 71, 73, 74, 62, 66, 69]  # scale and tonic triad of D major
    e_minor = [64, 66, 67, 69, 71, 72, 74, 76, 64, 67, 71]  # natural minor scale and tonic triad of E minor
    fsharp = [p + 6 for p in [72, 71, 69, 67, 65, 64, 62, 60, 64, 67, 72]]  # F# major, downwards: 6 semitones down
    root = folder_with(tmp_path, {"d.mid": midi(d_major), "e.mid": midi(e_minor), "fs.mid": midi(fsharp)})
    pieces = {p.source: p for p in load_midi_corpus(str(root), IngestOptions(transpose=True)).pieces}
    assert (pieces["d.mid"].key, pieces["d.mid"].transposed) == ("D major", -2)
    assert pieces["d.mid"].notes()["pitch"].tolist() == [p - 2 for p in d_major]
    assert (pieces["e.mid"].key, pieces["e.mid"].transposed) == ("E minor", 5)  # E up a fourth to A
    assert pieces["e.mid"].notes()["pitch"].tolist() == [69, 71, 72, 74, 76, 77, 79, 81, 69, 72, 76]
    assert (pieces["fs.mid"].key, pieces["fs.mid"].transposed) == ("F# major", -6)
    # good.mid is the C major scale and triad: the same notes as d.mid moved to C, so imported once
    assert left_out(load_midi_corpus(str(root), IngestOptions(transpose=True))) == {
        "good.mid": "the same notes as d.mid"}
    plain = {p.source: p for p in load_midi_corpus(str(root)).pieces}
    assert plain["d.mid"].transposed == 0 and plain["d.mid"].notes()["pitch"].tolist() == d_major


def test_piano_only_and_track_picks(tmp_path):
    trio = midi(tracks=[([72, 74], 40, False, "Violin"), ([48, 50], 1, False, "Piano LH"), ([60], 0, False, "RH")])
    root = folder_with(tmp_path, {"trio.mid": trio, "violin.mid": midi(program=40)})
    piano = load_midi_corpus(str(root), IngestOptions(piano_only=True))
    trio_piece = next(p for p in piano.pieces if p.source == "trio.mid")
    assert [(t.name, t.program) for t in trio_piece.tracks] == [("Piano LH", 1), ("RH", 0)]
    assert left_out(piano)["violin.mid"] == "no piano track (programs 0-7); its tracks are 0: unnamed (program 40)"
    by_index = load_midi_corpus(str(root), IngestOptions(track="2"))
    assert [t.name for t in next(p for p in by_index.pieces if p.source == "trio.mid").tracks] == ["RH"]
    assert left_out(by_index)["good.mid"] == "it has 1 tracks with notes (0-0), no track 2"
    by_name = load_midi_corpus(str(root), IngestOptions(track="violin"))
    assert [p.source for p in by_name.pieces] == ["trio.mid"]  # the other files have no track named so
    assert by_name.pieces[0].notes()["pitch"].tolist() == [72, 74]


def test_tempo_range_keeps_only_pieces_inside(tmp_path):
    root = folder_with(tmp_path, {"slow.mid": midi(qpm=60), "fast.mid": midi(qpm=180)})  # good.mid: 120
    corpus = load_midi_corpus(str(root), IngestOptions(tempo_min=100, tempo_max=150))
    assert [(p.source, p.tempo) for p in corpus.pieces] == [("good.mid", 120.0)]
    assert left_out(corpus) == {
        "fast.mid": "its tempo 180 quarter notes per minute is outside 100-150",
        "slow.mid": "its tempo 60 quarter notes per minute is outside 100-150",
    }


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"piano_only": True, "track": "1"}, "either piano tracks only or one track"),
        ({"tempo_min": 150, "tempo_max": 100}, "tempo range 150-100 is empty"),
        ({"tempo_min": -5}, "must be a positive number"),
        ({"tempo_max": float("nan")}, "must be a positive number"),
    ],
)
def test_contradictory_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        IngestOptions(**kwargs)


# --- splits, duplicates, caches, Piece -----------------------------------------------------------------


def test_split_is_deterministic_by_content_and_has_no_leakage(tmp_path):
    # fixed values, so that a change of hashing shows up here
    assert [split_of_key(d) for d in ("a", "b", "c", "d")] == ["test", "valid", "train", "valid"]
    counts = Counter(split_of_key(f"file:{i:064x}") for i in range(5000))
    assert abs(counts["train"] / 5000 - 0.8) < 0.02 and abs(counts["test"] / 5000 - 0.1) < 0.02
    files = {f"p{i:02d}.mid": midi([60 + i % 12, 62 + i // 12, 64]) for i in range(40)}
    corpus = load_midi_corpus(str(folder_with(tmp_path, files)))
    splits = {p.source: s for p, s in zip(corpus.pieces, corpus.splits, strict=True)}
    assert set(splits.values()) == set(SPLITS)
    # the same bytes under other names, in another order: the same splits
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    for name, data in reversed(list(files.items())):
        (renamed / f"x-{name}").write_bytes(data)
    again = load_midi_corpus(str(renamed))
    assert {p.source[2:]: s for p, s in zip(again.pieces, again.splits, strict=True)} == {
        k: v for k, v in splits.items() if k != "good.mid"}
    assert again.fingerprint()["train"] != corpus.fingerprint()["train"]  # good.mid is only in the first


def test_settings_of_one_melody_share_a_split(tmp_path):
    tune = [67, 67, 69, 71, 71, 69, 67, 66, 64, 62, 64, 66, 67]  # top line: 10 moves once repeats merge
    plain = midi(tune)
    harmonised = midi(tracks=[([p + 3 for p in tune], 0, False, "S"), ([48] * 13, 0, False, "B")])  # in Bb, a bass
    other = midi([60, 64, 62, 65, 64, 67, 65, 69, 67, 72])
    files = {"a.mid": plain, "b.mid": harmonised, "c.mid": other, "short.mid": midi([60, 62, 64, 60])}
    corpus = load_midi_corpus(str(folder_with(tmp_path, files)))
    pieces = {p.source: p for p in corpus.pieces}
    assert split_key(pieces["a.mid"]) == split_key(pieces["b.mid"]) == "melody:2,2,-2,-2,-1,-2,-2,2"
    assert split_key(pieces["c.mid"]) == "melody:4,-2,3,-1,3,-2,4,-2"
    assert split_key(pieces["short.mid"]) == "file:" + pieces["short.mid"].digest  # 3 moves: too short
    splits = dict(zip([p.source for p in corpus.pieces], corpus.splits, strict=True))
    assert splits["a.mid"] == splits["b.mid"] == split_of_key("melody:2,2,-2,-2,-1,-2,-2,2")


def test_duplicate_pieces_are_imported_once(tmp_path):
    root = folder_with(tmp_path, {"a/copy.mid": midi(), "b/other.mid": midi([65, 67])})
    corpus = load_midi_corpus(str(root))
    assert sorted(p.source for p in corpus.pieces) == ["b/other.mid", "good.mid"]
    assert left_out(corpus) == {"a/copy.mid": "the same notes as good.mid"} or left_out(corpus) == {
        "good.mid": "the same notes as a/copy.mid"}
    by_notes = {}
    for piece, part in zip(corpus.pieces, corpus.splits, strict=True):
        by_notes.setdefault(piece.notes()["pitch"].tobytes(), set()).add(part)
    assert all(len(parts) == 1 for parts in by_notes.values())


def test_processed_corpus_is_cached_by_content(tmp_path, data_dir):
    root = folder_with(tmp_path, {"bad.mid": b"nope"})
    first = load_midi_corpus(str(root), IngestOptions(transpose=True))
    second = load_midi_corpus(str(root), IngestOptions(transpose=True))
    assert (first.cached, second.cached) == (False, True)
    assert first.summary() | {"cached": True} == second.summary()
    assert [p.notes().tolist() for p in first.pieces] == [p.notes().tolist() for p in second.pieces]
    (root / "new.mid").write_bytes(midi([70, 72]))  # new content, new key
    assert not load_midi_corpus(str(root), IngestOptions(transpose=True)).cached
    assert load_midi_corpus(str(root)).content_hash != second.content_hash  # other options, other key
    assert (data_dir / "cache" / f"midi-corpus-{first.content_hash[:24]}.npz").is_file()


def test_piece_converts_to_pretty_midi_with_its_tempo_map():
    data = smf([(0, tempo(500_000)), *NOTE, (1440, tempo(1_000_000)), (0, b"\x90\x43\x40"), (480, b"\x80\x43\x40")])
    (corpus_piece,) = import_uploads([("two-tempos.mid", data)], "u").pieces
    piece = corpus_piece.to_piece(corpus="u", split="train")
    assert piece.title == "two-tempos" and piece.meta["split"] == "train"
    starts = [(n.pitch, round(n.start, 6), round(n.end, 6)) for n in piece.midi.instruments[0].notes]
    assert starts == [(60, 0.0, 0.5), (67, 2.0, 3.0)]  # quarter 4 at 120/min = 2 s; a quarter at 60/min = 1 s
    again = parse_midi(piece.midi_bytes())  # written and read back: the same times
    notes = again.tracks[0].notes
    assert np.allclose(np.column_stack([notes["start"], notes["end"]]), [[0.0, 0.5], [2.0, 3.0]])
    assert again.tempos.tolist() == [[0.0, 120.0], [4.0, 60.0]]


# --- scores through music21, the Bach chorales ---------------------------------------------------------


def test_bach_is_registered_and_scores_convert(tmp_path, data_dir):
    assert "bach" in list_midi_corpora() and is_midi_corpus("bach")
    files = bach_files()
    assert len(files) == 410 and {p.suffix for p in files} == {".mxl", ".xml"}
    root = tmp_path / "scores"
    (root / "bach").mkdir(parents=True)
    for name in ("bwv66.6.mxl", "bwv67.4.xml"):
        shutil.copy(music21_corpus_dir() / "bach" / name, root / "bach" / name)
    shutil.copy(music21_corpus_dir() / "bach" / "bwv277.krn", root / "bwv277.krn")
    (root / "broken.mxl").write_bytes(b"PK\x03\x04 not really a zip")
    corpus = load_midi_corpus(str(root))
    pieces = {p.title: p for p in corpus.pieces}
    assert sorted(pieces) == ["bwv66.6", "bwv67.4"] and pieces["bwv66.6"].artist == "bach"
    assert [t.name for t in pieces["bwv66.6"].tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert pieces["bwv66.6"].key == "F# minor" and pieces["bwv66.6"].time_signature == (4, 4)
    reasons = left_out(corpus)
    # music21 merges tied notes when it writes MIDI: one MIDI note per note with its ties stripped
    from music21 import converter

    score = converter.parse(music21_corpus_dir() / "bach" / "bwv66.6.mxl", forceSource=True)
    assert pieces["bwv66.6"].n_notes == len(score.stripTies().flatten().notes) == 163
    assert reasons["bwv277.krn"].startswith("music21 could not read the score (ExpanderException")
    assert reasons["broken.mxl"].startswith("not a readable .mxl (zip) container")
    assert len(list((data_dir / "cache" / "score-midi").glob("*.json"))) >= 2  # converted once, kept


def test_oversized_scores_and_mxl_bombs_never_reach_music21():
    big_xml = b"<?xml version='1.0'?><score-partwise>" + b" " * 5000 + b"</score-partwise>"
    bomb = zip_bytes({"META-INF/container.xml": b'<rootfile full-path="s.xml"/>', "s.xml": b"<" + bytes(2**20)})
    escape = zip_bytes({"META-INF/container.xml": b'<rootfile full-path="../s.xml"/>', "../s.xml": b"<x/>"})
    corpus = import_uploads([("big.xml", big_xml), ("bomb.mxl", bomb), ("escape.mxl", escape), ("ok.mid", midi())],
                            "u", limits=IngestLimits(max_score_bytes=4000))
    assert [p.source for p in corpus.pieces] == ["ok.mid"]
    assert left_out(corpus) == {
        "big.xml": "the score text is 0.00482 MB; the limit for scores is 0.00381 MB",  # 5,054 bytes
        "bomb.mxl": "its score is compressed more than 200 to 1 (a zip bomb?)",
        "escape.mxl": "the .mxl container names an unsafe path",
    }


# --- the CLI ---------------------------------------------------------------------------------------------


def test_cli_import_prints_the_summary_and_keeps_the_corpus(tmp_path, capsys):
    rag = midi([55, 59, 62, 67, 62, 59, 55])  # a G major arpeggio
    root = folder_with(tmp_path, {"ragtime/bad.mid": b"RIFF....WAVE", "ragtime/rag.mid": rag})
    assert main(["corpus", "import", str(root), "--name", "cli-test", "--transpose"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["name"], summary["pieces"], summary["notes"]) == ("cli-test", 2, 18)
    assert summary["duration_s"] == 9.0  # 11 + 7 notes of half a second
    riff = "not a MIDI file: it is a RIFF file (WAV or RMID), not the MIDI header 'MThd'"
    assert summary["failed"] == [{"file": "ragtime/bad.mid", "reason": riff}]
    assert summary["artists"] == {"ragtime": 1} and summary["options"]["transpose"] is True
    assert main(["corpus", "list"]) == 0
    listing = capsys.readouterr().out
    assert "bach " in listing and "cli-test" in listing and "oneills1850" in listing
    assert main(["corpus", "stats", "cli-test"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["pieces"] == 2 and stats["options"]["transpose"] is True
    assert stats["keys"] == {"C major": 1, "G major": 1}  # keys as written; both were moved to C
    assert stats["pitch_range"] == [60, 72]  # the G arpeggio moved up a fourth to C; the C major scale stays
    assert main(["corpus", "import", str(root), "--name", "cli-test"]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["corpus", "import", str(root), "--name", "cli-test", "--replace"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    "args,message",
    [
        (["corpus", "import", "/no/such/folder", "--name", "x"], "No such file or folder"),
        (["corpus", "import", "{root}", "--name", "bach"], "'bach' is a built-in corpus"),
        (["corpus", "import", "{root}", "--name", "../up"], "Corpus name '../up'"),
        (["corpus", "import", "{root}"], "Give a source and a name"),
        (["corpus", "import", "{root}", "--name", "y", "--max-file-mb", "-1"], "--max-file-mb must be positive"),
        (["corpus", "import", "{root}", "--name", "y", "--tempo-min", "200", "--tempo-max", "100"], "is empty"),
    ],
)
def test_cli_import_errors_exit_2(tmp_path, capsys, args, message):
    root = folder_with(tmp_path, {})
    assert main([a.replace("{root}", str(root)) for a in args]) == 2
    assert message.replace("must be positive", "must be a positive") in capsys.readouterr().err


def test_cli_import_with_nothing_readable_prints_reasons_and_exits_2(tmp_path, capsys):
    root = tmp_path / "bad"
    root.mkdir()
    (root / "a.mid").write_bytes(b"MThd")
    (root / "b.mid").write_bytes(np.arange(100, dtype=np.uint8).tobytes())
    assert main(["corpus", "import", str(root), "--name", "nothing"]) == 2
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert summary["pieces"] == 0 and [f["file"] for f in summary["failed"]] == ["a.mid", "b.mid"]
    assert "error: No piece could be imported" in out.err and "2 files left out" in out.err
    assert not is_midi_corpus("nothing")  # nothing was kept
