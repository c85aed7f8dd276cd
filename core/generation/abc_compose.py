"""Compose a playable tune: primer -> sampler -> checked and repaired ABC -> Piece -> files.

Header fields a user gives are forced; the others are sampled from the model. The body is
sampled bar by bar under the meter-exact constraint in the asked form (core.generation.meter,
core.generation.form), so every bar fits by construction and none is deleted afterwards; the
free form samples until the tune lasts the requested seconds. A tune abc2midi cannot play, or
one that copies a training tune, is sampled again, a bounded number of times.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import lru_cache

import torch

from core.data.abc import analyse_body, normalise_meter, parse_fraction
from core.data.piece import Piece, UnplayableABC
from core.errors import UserError
from core.evaluation.novelty import NoveltyIndex, check_novelty, check_threshold, load_index
from core.generation.form import FormSpec, NoBody, make_plan, sample_body
from core.generation.header import KEYS, METERS, RHYTHMS, UNITS, sample_choice
from core.generation.rescue import NoPlayableTune
from core.generation.sampler import Sampler
from core.generation.settings import check_common, load_model
from core.generation.tempo import DEFAULT_QPM, SLOW_RHYTHMS, default_tempo  # noqa: F401  (re-exported)
from core.training.checkpoint import LoadedModel

KEY_RE = re.compile(r"^(?:[A-G][#b]?\s*(?:m|min|maj|major|minor|ion|dor|phr|lyd|mix|aeo|loc)?\w*|none|HP|Hp)$", re.I)
RHYTHM_METER = {
    "jig": ("6/8", "1/8"),
    "double jig": ("6/8", "1/8"),
    "slip jig": ("9/8", "1/8"),
    "slipjig": ("9/8", "1/8"),
    "reel": ("C|", "1/8"),
    "hornpipe": ("C|", "1/8"),
    "waltz": ("3/4", "1/8"),
    "slide": ("12/8", "1/8"),
    "polka": ("2/4", "1/8"),
    "march": ("2/4", "1/16"),
}
"""Meter and unit note length that a tune type implies when the user leaves them to the model."""
_COMMON_TIME = ("C|", "2/2", "C", "4/4")
RHYTHM_METERS = {"jig": ("6/8",), "double jig": ("6/8",), "slip jig": ("9/8",), "slipjig": ("9/8",),
                 "reel": _COMMON_TIME, "hornpipe": _COMMON_TIME, "waltz": ("3/4",), "slide": ("12/8",),
                 "polka": ("2/4",)}
"""Meters a tune type may take; a meter outside them contradicts the type (marches and airs take any)."""
MAX_OPENING_CHARS = 3000


class _Retry(Exception):
    """A sampled tune that cannot be made playable; the caller samples again.

    ``abc`` is the attempt as sampled (before repair) when there was one: the best is shown if none passes.
    """

    def __init__(self, reason: str, abc: str | None = None):
        super().__init__(reason)
        self.abc = abc


@dataclass
class ComposeSettings:
    """What a user sets on the Compose page or the ``generate`` command."""

    model: str
    seed: int = 0
    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 1.0  # nucleus sampling; 1: off
    title: str | None = None
    meter: str | None = None
    unit: str | None = None
    key: str | None = None
    rhythm: str | None = None
    opening: str = ""
    seconds: float = 40.0
    tempo: float | None = None  # quarter notes per minute; None: by meter and tune type
    program: int = 0
    max_attempts: int = 10
    max_copy_bars: float | None = 2.0  # re-sample a tune sharing this many bars with a training tune; None: allow
    form: str = "AABB"  # AABB, AB, AABBCC or free (core.generation.form); a form sets the length
    bars_per_part: int = 8
    tonic_ending: bool = True  # each part's last note is the key's tonic

    def validate(self) -> None:
        """Raise UserError for any setting out of range or malformed."""
        check_common(self)
        FormSpec(self.form, self.bars_per_part, self.tonic_ending).validate()
        if self.max_copy_bars is not None:
            check_threshold(self.max_copy_bars)
        if self.meter and normalise_meter(self.meter) == "none":
            raise UserError(f"Meter {self.meter!r} is not an ABC meter such as 6/8, 3/4, C or C|.")
        if self.unit:
            parse_fraction(self.unit)
        if self.key and not KEY_RE.match(self.key.strip()):
            raise UserError(f"Key {self.key!r} is not an ABC key such as D, Ador, Em or Bb.")
        rhythm = (self.rhythm or "").strip().lower()
        if self.meter and rhythm in RHYTHM_METERS and normalise_meter(self.meter) not in RHYTHM_METERS[rhythm]:
            usual = " or ".join(RHYTHM_METERS[rhythm])
            raise UserError(f"A {rhythm} is in {usual}, not {self.meter}: choose {usual}, or leave the meter to "
                            "the tune type.")
        if len(self.opening) > MAX_OPENING_CHARS:
            raise UserError(f"The opening bars are {len(self.opening):,} characters long; at most "
                            f"{MAX_OPENING_CHARS:,} are accepted (to continue a whole tune, use Continue my tune).")
        if self.opening:
            implied = RHYTHM_METER.get((self.rhythm or "").strip().lower(), (None, None))
            check_opening(self.opening, self.meter or implied[0], self.unit or implied[1] or "1/8")


PRIMER_FIELDS = {"T": "title", "M": "meter", "L": "unit", "R": "rhythm", "K": "key"}


def split_primer(primer: str) -> tuple[dict[str, str], str]:
    """Split an ABC primer into header settings and opening bars.

    ``"M:6/8\nK:D\n|:A2B c2d|"`` -> ``({"meter": "6/8", "key": "D"}, "|:A2B c2d|")``. ``X:`` is
    ignored; other header fields are an error, since the models never saw them.
    """
    fields: dict[str, str] = {}
    body: list[str] = []
    for line in primer.strip().splitlines():
        match = re.match(r"^([A-Za-z]):(.*)$", line.strip())
        if match and not body:
            name, value = match.group(1), match.group(2).strip()
            if name in PRIMER_FIELDS:
                fields[PRIMER_FIELDS[name]] = value
            elif name != "X":
                raise UserError(f"The primer's {name}: field is not supported; use T, M, L, R and K.")
        else:
            body.append(line)
    return fields, "\n".join(body).strip()


def check_opening(opening: str, meter: str | None, unit: str) -> None:
    """The primer's opening bars must be body music whose complete bars fit the meter (if known)."""
    if re.search(r"(?m)^[A-Za-z]:", opening) or "\n\n" in opening.strip():
        raise UserError("The opening bars must be tune body only, without header lines or blank lines.")
    marks = re.sub(r"\(\d", "", opening)  # a tuplet "(3" opens nothing
    for a, b in ("[]", "{}", "()"):
        if marks.count(a) != marks.count(b):
            unmatched = a if marks.count(a) > marks.count(b) else b
            raise UserError(f"The opening bars have an unmatched {unmatched!r}.")
    analysis = analyse_body(opening, normalise_meter(meter) if meter else "none", unit)
    if not analysis.bars:
        raise UserError("The opening bars hold no notes.")
    complete = analysis.bars[:-1] if not opening.rstrip().endswith("|") else analysis.bars
    bad = [i for i in analysis.bad if i < len(complete)]
    if bad:
        bar = analysis.bars[bad[0]]
        raise UserError(f"Opening bar {bad[0] + 1} ({bar.text!r}) does not fit the meter {meter}.")
    if re.search(r"[^A-Ga-gzxZy0-9/,'_=^<>|:\[\](){}\-.~ \n!+\"HIJKLMNOPQRSTUVWuv&$*#;?@`]", opening):
        raise UserError("The opening bars contain characters that are not ABC music.")


def compose_abc(settings: ComposeSettings, loaded: LoadedModel | None = None,
                make_sampler: Callable[..., Sampler] = Sampler) -> Piece:
    """Sample a playable tune; the same model, seed and settings give the same tune.

    ``make_sampler`` makes each attempt's sampler (a batch row's, for variations: core.generation.batch).
    """
    settings.validate()
    loaded = loaded or load_model(settings.model)
    index = training_index(loaded) if settings.max_copy_bars else None
    generator = torch.Generator().manual_seed(settings.seed)
    reasons, attempts, work = [], [], {"tokens_sampled": 0, "model_passes": 0}
    t0 = time.perf_counter()
    for attempt in range(1, settings.max_attempts + 1):
        try:
            abc, info = _sample_tune(loaded, settings, generator, make_sampler, work)
            piece = Piece.from_abc(abc, settings.program, meta={})
            if piece.duration < 0.5 * info["estimated_s"]:
                raise _Retry(f"abc2midi played {piece.duration:.0f} of {info['estimated_s']:.0f} seconds", abc)
            if index is not None:
                info["novelty"] = _check_copy(piece, index, settings.max_copy_bars)
        except (_Retry, UnplayableABC) as exc:
            reasons.append(str(exc))
            attempts.append(getattr(exc, "abc", None))
            continue
        piece.meta = {
            "model": loaded.card.name,
            "family": loaded.card.family,
            "attempts": attempt,
            "settings": asdict(settings),
            "sample_seconds": round(time.perf_counter() - t0, 4),
            **work,  # every attempt's: the cost of the tune
            **info,
        }
        return piece
    raise NoPlayableTune(settings, reasons, attempts)


@lru_cache(maxsize=8)
def _index_of(corpus: str) -> NoveltyIndex | None:
    try:
        return load_index(corpus, "train")
    except UserError:
        return None  # a user corpus that is gone: tunes are not checked for copies


def training_index(loaded: LoadedModel) -> NoveltyIndex | None:
    """The novelty index of the model's training tunes (built once per corpus, then cached on disk)."""
    source = loaded.card.corpus.get("source") or loaded.card.corpus.get("name")
    return _index_of(str(source)) if source else None


def _check_copy(piece: Piece, index: NoveltyIndex, max_bars: float) -> dict:
    """The novelty result; raises _Retry when the tune copies ``max_bars`` bars of a training tune."""
    try:
        result = check_novelty(piece.midi, index, max_bars)
    except UserError as exc:
        raise _Retry(str(exc)) from None
    if result.verdict == "copies":
        raise _Retry(f"it copied {result.shared_bars:g} bars of {result.source_piece!r}")
    return result.to_dict()


def _sample_tune(loaded: LoadedModel, s: ComposeSettings, generator: torch.Generator,
                 make_sampler: Callable[..., Sampler], work: dict) -> tuple[str, dict]:
    """One attempt: header, then the constrained body; adds the tokens it drew and its model passes to ``work``."""
    sampler = make_sampler(loaded.model, loaded.tokenizer, generator, s.temperature, s.top_k, s.top_p)
    try:
        return _sample_header_and_body(sampler, loaded, s)
    finally:
        work["tokens_sampled"] += sampler.sampled
        work["model_passes"] += sampler.passes


def _sample_header_and_body(sampler: Sampler, loaded: LoadedModel, s: ComposeSettings) -> tuple[str, dict]:
    vocab = set(loaded.tokenizer.vocab)
    rhythm = (s.rhythm or "").strip().lower()
    implied_meter, implied_unit = RHYTHM_METER.get(rhythm, (None, None))
    sampler.feed("X:1\nT:")
    if s.title and s.title.strip():
        title = " ".join(s.title.split())  # one line, whatever was typed
        sampler.feed("".join(c for c in title if c in vocab) + "\n")
    else:
        title = sampler.sample_line(80).strip() or "Untitled"
    meter = _field(sampler, "M", s.meter or implied_meter, normalise_meter, METERS)
    unit = _field(sampler, "L", s.unit or (implied_unit if not s.meter else None), lambda v: v.replace(" ", ""), UNITS)
    if rhythm:
        sampler.feed(f"R:{rhythm}\n")
    if s.key:
        key = s.key.strip()
        sampler.feed(f"K:{key}\n")
    else:  # an R: line (when no tune type was given), then K:, its value one ABC knows (core.generation.header)
        if not rhythm and sample_choice(sampler, ("R:", "K:"), end="") == "R:":
            rhythm = sample_choice(sampler, RHYTHMS).strip().lower()
            sampler.feed("K:")
        key = sample_choice(sampler, KEYS)
    qpm = float(s.tempo or default_tempo(meter, rhythm))
    body = _constrained_body(sampler, s, meter, unit, key, qpm)
    header = ["X:1", f"T:{title}", f"M:{meter}", f"L:{unit}"] + ([f"R:{rhythm}"] if rhythm else [])
    header += [f"Q:1/4={qpm:g}", f"K:{key}"]
    info = {"qpm": qpm, "estimated_s": round(_seconds(body, meter, unit, qpm), 2)}
    return "\n".join(header) + "\n" + body + "\n", info


def _constrained_body(sampler: Sampler, s: ComposeSettings, meter: str, unit: str, key: str, qpm: float) -> str:
    """The body, every bar exact and in the asked form (core.generation.form); the opening continued."""
    plan = make_plan(FormSpec(s.form, s.bars_per_part, s.tonic_ending), meter, unit, key, s.seconds, qpm)
    opening = re.sub(r"^[|:\s]+", "", s.opening.strip())  # the form writes the first bar line
    try:
        return sample_body(sampler, plan, meter, unit, opening)
    except NoBody as exc:
        raise _Retry(str(exc)) from None


def _field(sampler: Sampler, name: str, given: str | None, normalise, options: tuple[str, ...]) -> str:
    """The header field ``name``: the value given, else one of ``options`` sampled from the model."""
    if given:
        value = normalise(given.strip())
        sampler.feed(f"{name}:{value}\n")
        return value
    sampler.feed(f"{name}:")
    return sample_choice(sampler, options)


def _seconds(body: str, meter: str, unit: str, qpm: float) -> float:
    whole_notes = analyse_body(body, meter, unit).played_length()
    return float(whole_notes * 4 * 60 / Fraction(qpm).limit_denominator(1000))
