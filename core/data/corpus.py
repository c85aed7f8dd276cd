"""Tune corpora: music21's bundled tune books or a user's ABC files, deduplicated and split.

The split is by tune and deterministic: each tune goes to train/validation/test (80/10/10)
by a hash of its normalised title, so the same tune in two transcriptions (O'Neill's
book has several) always lands in the same split, on every machine and every run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from core.data.abc import Tune, analyse_body, split_tunes
from core.data.upload_quota import make_room
from core.errors import UserError
from core.paths import cache_dir

SPLITS = ("train", "valid", "test")
PARSER_VERSION = "abc-1"
MAX_USER_FILE_BYTES = 50 * 1024 * 1024

BUILTIN = {
    "oneills1850": ("oneills1850", "O'Neill's Music of Ireland (1850): jigs, reels, hornpipes, airs"),
    "ryans": ("ryansMammoth", "Ryan's Mammoth Collection (1883): reels, hornpipes, jigs"),
    "airds": ("airdsAirs", "Aird's Airs (1778-1803): Scottish, Irish and English airs"),
    "essen": ("essenFolksong", "Essen folk-song collection: German and European songs"),
    "folk": ("oneills1850+ryansMammoth+airdsAirs", "O'Neill's, Ryan's and Aird's books together (the Irish and "
             "Scottish tune books); split by title, so O'Neill's test tunes are in its test split"),
}


@dataclass(frozen=True)
class Corpus:
    """A deduplicated list of tunes, each assigned to one split."""

    name: str
    tunes: tuple[Tune, ...]
    splits: tuple[str, ...]
    content_hash: str

    def split(self, part: str) -> list[Tune]:
        """The tunes of one split: ``"train"``, ``"valid"`` or ``"test"``."""
        if part not in SPLITS:
            raise UserError(f"Unknown split {part!r}; choose one of {', '.join(SPLITS)}.")
        return [t for t, s in zip(self.tunes, self.splits, strict=True) if s == part]

    def text(self, part: str) -> str:
        """The canonical ABC text of one split, tunes separated by a blank line."""
        return "\n".join(t.to_abc() for t in self.split(part))

    def fingerprint(self) -> dict[str, str]:
        """Short hashes of the corpus content and of each split's membership."""
        out = {"corpus": self.content_hash[:16]}
        for part in SPLITS:
            digest = hashlib.sha256("\n\n".join(t.to_abc() for t in self.split(part)).encode())
            out[part] = digest.hexdigest()[:16]
        return out


def list_corpora() -> dict[str, str]:
    """Built-in corpus names and their descriptions."""
    return {name: desc for name, (_, desc) in BUILTIN.items()}


def music21_corpus_dir() -> Path:
    """music21's bundled corpus folder, found without importing music21 (slow)."""
    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("music21 is not installed; run `make run` or `pip install -r requirements.txt`.")
    return Path(next(iter(spec.submodule_search_locations))) / "corpus"


def source_files(name_or_path: str) -> list[Path]:
    """The ABC files behind a built-in corpus name or a user's file or folder."""
    if name_or_path in BUILTIN:
        folders = BUILTIN[name_or_path][0].split("+")
        return [p for folder in folders for p in sorted((music21_corpus_dir() / folder).glob("*.abc"))]
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".abc" and p.is_file())
        if not files:
            raise UserError(f"No .abc files in folder {path}.")
        return files
    if path.is_file():
        return [path]
    known = ", ".join(BUILTIN)
    raise UserError(f"Unknown corpus {name_or_path!r}: give a built-in name ({known}) or an ABC file or folder.")


def _abc_uploads(files: list[tuple[str, bytes]], limit: int) -> list[tuple[str, bytes]]:
    abc = sorted((Path(name).name, data) for name, data in files if Path(name).suffix.lower() == ".abc")
    if not abc:
        raise UserError("Upload one or more .abc files.")
    total = sum(len(data) for _, data in abc)
    if total > limit:
        raise UserError(f"The upload is {total / 2**20:.1f} MB; the limit is {limit / 2**20:.0f} MB.")
    return abc


def upload_folder(files: list[tuple[str, bytes]], limit: int = MAX_USER_FILE_BYTES) -> Path:
    """Where :func:`save_uploads` keeps these ABC files (a folder named by their content hash); writes nothing."""
    digest = hashlib.sha256()
    for name, data in _abc_uploads(files, limit):
        digest.update(name.encode() + b"\0" + data + b"\0")
    return cache_dir().parent / "uploads" / digest.hexdigest()[:16]


def save_uploads(files: list[tuple[str, bytes]], limit: int = MAX_USER_FILE_BYTES) -> Path:
    """Store uploaded ABC files in a folder named by their content hash; returns the folder.

    File names are reduced to safe basenames; the upload is refused whole (UserError) when it
    holds no ``.abc`` file or exceeds ``limit`` bytes together, or when the uploads quota has no room
    for it after old uploads are cleaned (:func:`core.data.upload_quota.make_room`).
    """
    abc = _abc_uploads(files, limit)
    folder = upload_folder(files, limit)
    make_room(sum(len(data) for _, data in abc), keep=folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, (name, data) in enumerate(abc):
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(name).stem)[:60] or "tunes"
        (folder / f"{i:03d}-{safe}.abc").write_bytes(data)
    return folder


def _read_text(path: Path) -> str:
    if path.stat().st_size > MAX_USER_FILE_BYTES:
        raise UserError(f"{path.name} is larger than {MAX_USER_FILE_BYTES // 2**20} MB.")
    return decode_abc(path.read_bytes(), path.name)


def decode_abc(data: bytes, name: str) -> str:
    """The text of an ABC file (UTF-8, else Latin-1, as old tune books are); UserError when it is not text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if not looks_like_text(text):
        raise UserError(f"{name} is not a text ABC file.")
    return text


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")  # C0 only: old tune books decode to C1 (\x80-\x9f) as Latin-1


def looks_like_text(text: str, max_share: float = 0.001) -> bool:
    """Whether ``text`` reads as a text file: no NUL anywhere, and C0 control characters (other than tab, line
    breaks and form feed) at most one plus ``max_share`` of it (a DOS end-of-file mark passes). Binary data
    has about 10% of them: it fails at once."""
    if "\x00" in text:
        return False
    return len(_CONTROL.findall(text)) <= 1 + max_share * len(text)


def load_corpus(name_or_path: str) -> Corpus:
    """Load, deduplicate and split a corpus; parsed tunes are cached by content hash."""
    files = source_files(name_or_path)
    texts = [(str(p.name), _read_text(p)) for p in files]
    digest = hashlib.sha256(PARSER_VERSION.encode())
    for fname, text in texts:
        digest.update(fname.encode() + b"\0" + text.encode() + b"\0")
    content_hash = digest.hexdigest()
    name = name_or_path if name_or_path in BUILTIN else Path(name_or_path).stem
    cached = _read_cache(content_hash)
    if cached is None:
        tunes = _dedupe(t for fname, text in texts for t in split_tunes(text, fname))
        if not tunes:
            raise UserError(f"No tunes with a K: field and notes were found in {name_or_path}.")
        _write_cache(content_hash, tunes)
    else:
        tunes = cached
    return Corpus(name, tuple(tunes), tuple(split_of(t) for t in tunes), content_hash)


def _dedupe(tunes) -> list[Tune]:
    seen: set[str] = set()
    out = []
    for tune in tunes:
        key = re.sub(r"[\s()~.\-]", "", tune.body)
        if key not in seen:
            seen.add(key)
            out.append(tune)
    return out


def title_key(title: str) -> str:
    """Normalised title used to group transcriptions of one tune in one split."""
    key = re.sub(r"[^a-z0-9 ]", "", title.lower())
    key = re.sub(r"\b(the|a|an)\b", "", key)
    return re.sub(r"\s+", " ", key).strip()


def split_of(tune: Tune) -> str:
    """The split of a tune: by title when it has one, else by its body."""
    key = title_key(tune.title)
    if not key or key == "untitled":
        key = "body:" + re.sub(r"\s", "", tune.body)
    bucket = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 80 else "valid" if bucket < 90 else "test"


def _cache_path(content_hash: str) -> Path:
    return cache_dir() / f"corpus-{content_hash[:24]}.json"


def _read_cache(content_hash: str) -> list[Tune] | None:
    path = _cache_path(content_hash)
    try:
        return [Tune(**row) for row in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        return None


def _write_cache(content_hash: str, tunes: list[Tune]) -> None:
    path = _cache_path(content_hash)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([asdict(t) for t in tunes]))
        tmp.replace(path)
    except OSError:
        pass  # a read-only data folder only costs the cache


def corpus_stats(corpus: Corpus) -> dict:
    """Counts a user checks before training: tunes, characters, vocabulary, meters, keys."""
    text = "\n".join(t.to_abc() for t in corpus.tunes)
    fits = [analyse_body(t.body, t.meter, t.unit).fit_rate for t in corpus.tunes]
    fits = [f for f in fits if f == f]
    return {
        "name": corpus.name,
        "tunes": len(corpus.tunes),
        "characters": len(text),
        "vocabulary": len(set(text)),
        "splits": {p: len(corpus.split(p)) for p in SPLITS},
        "split_characters": {p: len(corpus.text(p)) for p in SPLITS},
        "meters": dict(Counter(t.meter for t in corpus.tunes).most_common()),
        "keys": dict(Counter(t.key for t in corpus.tunes).most_common(12)),
        "rhythms": dict(Counter(t.rhythm or "(none)" for t in corpus.tunes).most_common(12)),
        "bar_fit_rate": round(sum(fits) / len(fits), 4) if fits else None,
        "fingerprint": corpus.fingerprint(),
    }
