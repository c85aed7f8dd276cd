"""MusicXML, compressed MusicXML (.mxl) and kern scores to MIDI bytes, through music21, cached.

music21 is slow (about 0.1-0.2 s a Bach chorale), so each converted file is kept under
``cache_dir()/score-midi``, keyed by the SHA-256 of its bytes and music21's version: a corpus
is converted once. music21 is given the score text itself (``parseData``), never a path, so it
writes no pickle of its own; an ``.mxl`` container is opened here with the same caps as any
upload (:func:`core.midi_sources.read_member`), not by music21.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import re
import warnings
import zipfile
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

from core.data.midi_parse import BadMusicFile
from core.data.midi_sources import IngestLimits, mb, read_member, unsafe_member
from core.data.midi_store import atomic_write
from core.paths import cache_dir

FORMATS = {"musicxml": "musicxml", "mxl": "musicxml", "kern": "humdrum"}
_CONTAINER_ROOT = re.compile(rb'full-path\s*=\s*"([^"]+)"')


def score_to_midi(data: bytes, kind: str, limits: IngestLimits) -> list[bytes]:
    """The MIDI file(s) of one score file: one per score (a kern or MusicXML opus holds several).

    Parameters
    ----------
    data : bytes
        The file's bytes.
    kind : str
        ``"musicxml"``, ``"mxl"`` or ``"kern"``.

    Raises
    ------
    BadMusicFile
        When the container or the text cannot be read, or music21 can neither parse the score
        nor write it as MIDI.
    """
    import music21

    key = hashlib.sha256(f"{music21.__version__}\0{kind}\0".encode() + data).hexdigest()
    cached = _read_cache(key)
    if cached is not None:
        return cached
    text = mxl_score(data, limits) if kind == "mxl" else data
    if len(text) > limits.max_score_bytes:
        raise BadMusicFile(f"the score text is {mb(len(text))}; the limit for scores is {mb(limits.max_score_bytes)}")
    midis = _convert(text, FORMATS[kind])
    _write_cache(key, midis)
    return midis


def mxl_score(data: bytes, limits: IngestLimits) -> bytes:
    """The MusicXML document inside an ``.mxl`` container (a zip), read under ``limits``.

    The root file named in ``META-INF/container.xml`` is used, else the first ``.xml`` or
    ``.musicxml`` member outside ``META-INF``.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = {m.filename: m for m in archive.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise BadMusicFile(f"not a readable .mxl (zip) container ({exc})") from None
    with archive:
        if len(members) > 100:
            raise BadMusicFile(f"the .mxl container lists {len(members):,} files; a score needs a few")
        root = None
        container = members.get("META-INF/container.xml")
        if container is not None:
            found = _CONTAINER_ROOT.search(_read(archive, container, limits))
            root = found.group(1).decode("utf-8", "replace") if found else None
        if root not in members:
            root = next((n for n in members if not n.startswith("META-INF")
                         and PurePosixPath(n).suffix.lower() in (".xml", ".musicxml")), None)
        if root is None:
            raise BadMusicFile("the .mxl container holds no MusicXML document")
        return _read(archive, members[root], limits)


def _read(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: IngestLimits) -> bytes:
    if unsafe_member(member.filename):
        raise BadMusicFile("the .mxl container names an unsafe path")
    if member.file_size > limits.max_file_bytes:
        raise BadMusicFile(f"its score unpacks to {mb(member.file_size)}; the limit is {mb(limits.max_file_bytes)}")
    if member.file_size > limits.max_ratio * max(member.compress_size, 1):
        raise BadMusicFile(f"its score is compressed more than {limits.max_ratio:g} to 1 (a zip bomb?)")
    data = read_member(archive, member, limits.max_file_bytes)
    if isinstance(data, str):
        raise BadMusicFile(data)
    return data


def decode_text(data: bytes) -> str:
    """Score text from bytes: UTF-8 (with or without BOM), UTF-16 with a BOM, else Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _convert(text: str | bytes, fmt: str) -> list[bytes]:
    from music21 import converter, stream
    from music21.midi.translate import streamToMidiFile

    if isinstance(text, bytes):
        text = decode_text(text)
    text = re.sub(r"^<\?xml[^>]*\?>", "", text.lstrip("\ufeff"), count=1)  # the bytes are decoded already
    if not text.strip():
        raise BadMusicFile("the score file is empty")
    root = _musicxml_root(text) if fmt == "musicxml" else None  # refused entities, bad XML: said here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = _score_of(root) if root is not None else converter.parseData(text, format=fmt)
            scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
            midis = [streamToMidiFile(s).writestr() for s in scores]
        except Exception as exc:  # noqa: BLE001 - music21 raises dozens of types on malformed scores
            raise BadMusicFile(f"music21 could not read the score ({type(exc).__name__}: {_short(exc)})") from None
    if not midis:
        raise BadMusicFile("the file holds no score")
    return midis


_ENTITY = re.compile(r"<!ENTITY|<!DOCTYPE[^>\[]*\[")


def check_no_entities(text: str) -> None:
    """Refuse (BadMusicFile) XML that declares entities or has an internal DTD subset, before any parser sees it:
    one entity used thousands of times turns an 8 MB file into gigabytes (the "billion laughs"). MusicXML
    files need neither; their DOCTYPE names the public DTD only."""
    if _ENTITY.search(text):
        raise BadMusicFile("the score declares XML entities in its DTD (<!ENTITY>); MusicXML needs none")


def _musicxml_root(text: str) -> ElementTree.Element:
    """The MusicXML tree, parsed once by the standard library's expat after entities are refused; music21's own
    ``parseData`` would parse a text the parser refused a second time."""
    check_no_entities(text)
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise BadMusicFile(f"the score is not well-formed XML ({exc})") from None
    if root.tag != "score-partwise":
        raise BadMusicFile(f"only score-partwise MusicXML can be read, not {root.tag!r}")
    return root


def _score_of(root: ElementTree.Element):
    """music21's score built from a parsed MusicXML tree."""
    from music21.musicxml.xmlToM21 import MusicXMLImporter

    importer = MusicXMLImporter()
    importer.xmlRoot = root
    importer.xmlRootToScore(root, importer.stream)
    return importer.stream


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:160] + ("..." if len(text) > 160 else "")


def _cache_path(key: str) -> Path:
    return cache_dir() / "score-midi" / f"{key[:32]}.json"


def _read_cache(key: str) -> list[bytes] | None:
    try:
        return [base64.b64decode(m) for m in json.loads(_cache_path(key).read_text())["midi"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(key: str, midis: list[bytes]) -> None:
    with contextlib.suppress(OSError):  # a read-only data folder only costs the cache
        atomic_write(_cache_path(key), json.dumps({"midi": [base64.b64encode(m).decode() for m in midis]}).encode())
