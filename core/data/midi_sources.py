"""Where imported music comes from: a file, a folder, a zip archive or uploads, read safely.

Every source yields, file by file, an :class:`Entry` (the bytes of one MIDI, MusicXML, ``.mxl``
or kern file, with the folder it sits in as its artist label) or a :class:`Rejected` (a path and
the reason it was not read). Nothing is extracted to disk: archive members are read into memory
one at a time, never with ``extractall``, under the caps of :class:`IngestLimits` (size of any
one file, members and uncompressed bytes per archive, compression ratio per member). Member
names with ``..`` or an absolute path, symbolic links, and archives inside archives are refused
without being read.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core.data.corpus import MAX_USER_FILE_BYTES
from core.errors import UserError

KINDS = {".mid": "midi", ".midi": "midi", ".mxl": "mxl", ".xml": "musicxml", ".musicxml": "musicxml", ".krn": "kern"}
ARCHIVE = ".zip"
_JUNK = re.compile(r"(^|/)(__MACOSX/|\._|\.DS_Store$)")  # macOS resource forks and folder files


@dataclass(frozen=True)
class IngestLimits:
    """Caps on what one import may read; they guard against oversized uploads and zip bombs.

    Attributes
    ----------
    max_file_bytes : int
        Largest file read, in bytes: a MIDI or score file, an uploaded zip, or one zip member.
    max_archive_bytes : int
        Most uncompressed bytes read from one archive, counted as they are decompressed.
    max_entries : int
        Most members one archive may list.
    max_ratio : float
        Largest uncompressed/compressed size of one member (MIDI about 3, MusicXML up to 50,
        a zip bomb about 1,000).
    max_score_bytes : int
        Largest MusicXML or kern text handed to music21, in bytes (unpacked from ``.mxl``): music21
        needs about a second and tens of MB of memory per MB of MusicXML. The largest of music21's
        Bach chorales is 1.4 MB.
    """

    max_file_bytes: int = MAX_USER_FILE_BYTES
    max_archive_bytes: int = 1024 * 2**20
    max_entries: int = 20_000
    max_ratio: float = 200.0
    max_score_bytes: int = 8 * 2**20

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_archive_bytes", "max_entries", "max_ratio", "max_score_bytes"):
            if not getattr(self, name) > 0:
                raise UserError(f"The import limit {name} must be positive, not {getattr(self, name)!r}.")


@dataclass(frozen=True)
class Entry:
    """One readable file: ``path`` as shown to the user, its ``kind`` (a value of KINDS) and bytes."""

    path: str
    kind: str
    artist: str | None
    data: bytes


@dataclass(frozen=True)
class Rejected:
    """A file that was not read, and why; ``ignored`` marks files of other types, skipped silently."""

    path: str
    reason: str
    ignored: bool = False


Item = Entry | Rejected


def kind_of(name: str) -> str | None:
    """The kind of file a name stands for (``"midi"``, ``"mxl"``, ...), None for other types."""
    return KINDS.get(PurePosixPath(name).suffix.lower())


def mb(n: int) -> str:
    """A byte count as megabytes for messages, e.g. ``"50 MB"``."""
    return f"{n / 2**20:.3g} MB"


def artist_of(rel: str) -> str | None:
    """The artist label of a file: the name of the folder it sits in, None at the top level."""
    parts = PurePosixPath(rel).parts
    return parts[-2] if len(parts) > 1 else None


def iter_path(path: str | Path, limits: IngestLimits) -> Iterator[Item]:
    """The files of a MIDI/score file, a folder (searched recursively) or a ``.zip`` archive.

    Raises
    ------
    UserError
        When ``path`` does not exist or is a single file of an unsupported type.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        yield from _iter_folder(path, limits)
    elif path.is_file():
        if path.suffix.lower() != ARCHIVE and kind_of(path.name) is None:
            raise UserError(f"{path.name} is not a MIDI (.mid), MusicXML (.xml, .mxl), kern (.krn) or .zip file.")
        yield from _iter_file(path, path.name, limits, top=True)
    else:
        raise UserError(f"No such file or folder: {path}.")


def iter_uploads(files: list[tuple[str, bytes]], limits: IngestLimits) -> Iterator[Item]:
    """Uploaded files (name, bytes), each a MIDI/score file or a zip archive; names become basenames."""
    for name, data in files:
        base = PurePosixPath(name.replace("\\", "/")).name or "upload"
        if len(data) > limits.max_file_bytes:
            yield Rejected(base, f"the file is {mb(len(data))}; the limit is {mb(limits.max_file_bytes)}")
        elif base.lower().endswith(ARCHIVE):
            yield from iter_zip(io.BytesIO(data), base, limits)
        elif kind_of(base):
            yield Entry(base, kind_of(base), None, data)
        else:
            yield Rejected(base, "not a MIDI, MusicXML, kern or zip file", ignored=True)


def fingerprint(items: Iterator[Item]) -> tuple[str, int]:
    """SHA-256 of every path, reason and byte of a source, and the number of items (one pass)."""
    digest, n = hashlib.sha256(), 0
    for item in items:
        n += 1
        digest.update(item.path.encode() + b"\0")
        if isinstance(item, Entry):
            digest.update(hashlib.sha256(item.data).digest())
        else:
            digest.update(item.reason.encode() + b"\0")
    return digest.hexdigest(), n


def _iter_folder(root: Path, limits: IngestLimits) -> Iterator[Item]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames.sort()
        for d in list(dirnames):
            if (here / d).is_symlink():
                dirnames.remove(d)
                yield Rejected(_rel(here / d, root), "a symbolic link: not followed")
            elif d.startswith(".") or d == "__MACOSX":
                dirnames.remove(d)
        for name in sorted(filenames):
            if not name.startswith("."):
                yield from _iter_file(here / name, _rel(here / name, root), limits)


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _iter_file(path: Path, rel: str, limits: IngestLimits, top: bool = False) -> Iterator[Item]:
    """One file of a folder (or the file given): refused when a link, special or too large."""
    is_zip = path.suffix.lower() == ARCHIVE
    kind = kind_of(path.name)
    if kind is None and not is_zip:
        yield Rejected(rel, "not a MIDI, MusicXML, kern or zip file", ignored=True)
        return
    flags = os.O_RDONLY | (0 if top else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        reason = "a symbolic link: not followed" if path.is_symlink() else f"cannot be opened ({exc.strerror})"
        yield Rejected(rel, reason)
        return
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            yield Rejected(rel, "not a regular file")
        elif info.st_size > limits.max_file_bytes:
            yield Rejected(rel, f"the file is {mb(info.st_size)}; the limit is {mb(limits.max_file_bytes)}")
        elif is_zip:
            yield from iter_zip(fh, rel, limits)
        else:
            yield Entry(rel, kind, artist_of(rel), fh.read(limits.max_file_bytes + 1))


def unsafe_member(name: str) -> bool:
    """True for archive member names that could point outside a folder: absolute, a drive, ``..``, NUL."""
    norm = name.replace("\\", "/")
    return (
        norm.startswith("/")
        or re.match(r"^[A-Za-z]:", norm) is not None
        or "\0" in norm
        or ".." in norm.split("/")
    )


def is_symlink_member(info: zipfile.ZipInfo) -> bool:
    """True when a member was stored as a Unix symbolic link (its mode in the external attributes)."""
    return stat.S_ISLNK(info.external_attr >> 16)


def iter_zip(fileobj, label: str, limits: IngestLimits) -> Iterator[Item]:
    """The members of a zip archive, read one at a time into memory under ``limits``.

    The archive is refused whole when it is unreadable, lists more than ``max_entries`` members or
    declares more than ``max_archive_bytes``; a member is refused when its name is unsafe, it is a
    link, an archive, encrypted, larger than ``max_file_bytes``, compressed more than ``max_ratio``
    or decompresses past its declared size. Paths are shown as ``ARCHIVE:MEMBER``.
    """
    try:
        archive = zipfile.ZipFile(fileobj)
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        yield Rejected(label, f"not a readable zip archive ({exc})")
        return
    with archive:
        if len(members) > limits.max_entries:
            yield Rejected(label, f"the archive lists {len(members):,} files; the limit is {limits.max_entries:,}")
            return
        declared = sum(m.file_size for m in members)
        if declared > limits.max_archive_bytes:
            yield Rejected(
                label, f"the archive unpacks to {mb(declared)}; the limit is {mb(limits.max_archive_bytes)}"
            )
            return
        budget = limits.max_archive_bytes
        for member in members:
            item = _member(archive, member, label, limits, budget)
            if isinstance(item, Entry):
                budget -= len(item.data)
            if item is not None:
                yield item


def _member(archive: zipfile.ZipFile, m: zipfile.ZipInfo, label: str, limits: IngestLimits, budget: int):
    shown = f"{label}:{m.filename}"
    if m.is_dir() or _JUNK.search(m.filename):
        return None
    if unsafe_member(m.filename):
        return Rejected(shown, "an unsafe path in the archive (absolute or with '..'): not read")
    if is_symlink_member(m):
        return Rejected(shown, "a symbolic link in the archive: not followed")
    kind = kind_of(m.filename)
    if m.filename.lower().endswith(ARCHIVE):
        return Rejected(shown, "an archive inside an archive: not opened (import it on its own)")
    if kind is None:
        return Rejected(shown, "not a MIDI, MusicXML, kern or zip file", ignored=True)
    if m.flag_bits & 0x1:
        return Rejected(shown, "encrypted: no password is asked for")
    if m.file_size > limits.max_file_bytes:
        return Rejected(shown, f"the file is {mb(m.file_size)}; the limit is {mb(limits.max_file_bytes)}")
    if m.file_size > limits.max_ratio * max(m.compress_size, 1):
        ratio = m.file_size / max(m.compress_size, 1)
        return Rejected(shown, f"compressed {ratio:,.0f} to 1; the limit is {limits.max_ratio:g} to 1 (a zip bomb?)")
    data = read_member(archive, m, min(limits.max_file_bytes, budget))
    if isinstance(data, str):
        return Rejected(shown, data)
    return Entry(shown, kind, artist_of(m.filename), data)


def read_member(archive: zipfile.ZipFile, m: zipfile.ZipInfo, cap: int) -> bytes | str:
    """The bytes of one member, reading at most ``cap + 1``; a reason string when it cannot be read.

    The declared size in the archive is not trusted: reading stops one byte past ``cap`` and past
    the declared size, so a member that inflates further is refused before it fills memory
    (Python's zipfile itself stops at the declared size and then fails the CRC check).
    """
    want = min(cap, m.file_size) + 1
    try:
        with archive.open(m) as fh:
            data = fh.read(want)
    except zipfile.BadZipFile as exc:  # zipfile stops at the declared size and then checks the CRC
        return f"the archive member is corrupt or larger than it declares ({exc})"
    except (zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        return f"the archive member cannot be read ({exc})"
    if len(data) > m.file_size:
        return "decompresses past the size the archive declares for it (a zip bomb?)"
    if len(data) > cap:
        return f"reading it would pass the archive's limit of {mb(cap)} unpacked"
    return data
