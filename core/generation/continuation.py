"""Continue my tune: a whole ABC tune continued from its end by an ABC model, and an uploaded MIDI
file read as the primer of a MIDI model.

The pasted tune is kept byte for byte as the start of the result: the model reads a canonical
version of it (header fields it knows, body characters in its vocabulary, the last part only when
the tune is longer than a Transformer's context) and its continuation is appended to the user's text
(on a new line; trailing blank lines are dropped, since a blank line ends an ABC tune).
Every bar of the continuation fits the meter by construction (core.generation.meter) and keeps the
tune's rhythmic vocabulary (core.generation.style); the user's bars are never touched.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import torch

from core.data.abc import analyse_body, default_unit, normalise_meter, parse_fraction
from core.data.midi_parse import parse_midi
from core.data.midi_piece import MidiPiece
from core.data.midi_transform import IngestOptions, estimate_key, key_name, main_tempo, select_tracks
from core.data.piece import Piece, UnplayableABC
from core.errors import UserError
from core.generation import abc_compose
from core.generation.edit import check_text, split_header
from core.generation.form import FormSpec, NoBody, make_plan, sample_body
from core.generation.rescue import NoPlayableTune
from core.generation.sampler import Sampler
from core.generation.settings import check_common, load_model, one_thread
from core.generation.steer import StyleSteer, tune_tally
from core.generation.style import style_of
from core.training.checkpoint import LoadedModel

BAR_LINE_END = ("|", "|]", "||", ":|", "::", "|:")
STEER_STRENGTH, MAX_STEER = 4.0, 10.0
"""Logit bias per unit of log(target share / share so far); 4 keeps continuations at their tune's proportions
(measured: benchmarks/continuation_style.py)."""
MIN_STEER_NOTES = 16
"""Fewer notes than this in the pasted tune and its shares of letters and lengths are too few to steer by."""
MAX_MIDI_PRIMER_BYTES = 1_000_000
"""Largest MIDI file accepted as a primer (a long piano piece is 100 kB)."""


@dataclass
class ContinueSettings:
    """A whole ABC tune to continue, and how."""

    model: str
    tune: str
    seed: int = 0
    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 1.0
    seconds: float = 20.0  # music to add, repeats included
    tempo: float | None = None
    program: int = 0
    max_attempts: int = 10
    steer: float = STEER_STRENGTH  # pull toward the tune's shares of letters, lengths, broken rhythm (0: off)

    def validate(self) -> tuple[dict[str, str], int]:
        """The tune's header fields and where its body starts; UserError for any bad setting or tune."""
        check_common(self)
        check_text(self.tune, "The pasted tune")
        if not 0 <= self.steer <= MAX_STEER:  # NaN fails too
            raise UserError(f"The pull toward the tune's style must be from 0 (off) to {MAX_STEER:g}, "
                            f"not {self.steer}.")
        if len(re.findall(r"(?m)^X:", self.tune)) > 1:
            raise UserError("The pasted text holds more than one tune (several X: lines); paste one.")
        fields, start = split_header(self.tune)
        if not fields.get("M") or normalise_meter(fields["M"]) == "none":
            raise UserError("The tune needs an M: line with a meter such as 6/8, 3/4 or C| to be continued.")
        parse_fraction(fields.get("L") or default_unit(normalise_meter(fields["M"])))
        if not analyse_body(self.tune[start:], normalise_meter(fields["M"]), "1/8").bars:
            raise UserError("The tune has no bars of music after its K: line to continue.")
        return fields, start


def continue_tune(settings: ContinueSettings, loaded: LoadedModel | None = None) -> Piece:
    """The user's tune followed by the model's continuation; same model, seed and settings, same result."""
    with one_thread():
        return _continue(settings, loaded)


def _continue(settings: ContinueSettings, loaded: LoadedModel | None) -> Piece:
    fields, start = settings.validate()
    loaded = loaded or load_model(settings.model)
    if loaded.card.is_midi:
        raise UserError(f"{loaded.card.name} is a MIDI model; continue an ABC tune with an ABC model.")
    meter = normalise_meter(fields["M"])
    unit = (fields.get("L") or default_unit(meter)).replace(" ", "")
    qpm = float(settings.tempo or _tempo(fields) or abc_compose.default_tempo(meter, fields.get("R", "")))
    prompt, body = _prompt(loaded, fields, settings.tune[start:], meter, unit)
    generator = torch.Generator().manual_seed(settings.seed)
    # the continuation is free in form, every bar exact (core.generation.meter), ending on the tonic, in the
    # tune's own rhythmic vocabulary: its note lengths, and chords, broken rhythm, tuplets only if it has them
    plan = make_plan(FormSpec("free"), meter, unit, fields.get("K", ""), settings.seconds, qpm,
                     style_of(settings.tune[start:]))
    steer = _steer(loaded, settings.tune[start:], plan, settings.steer)
    user = settings.tune.rstrip() + "\n"  # the tune as pasted; trailing blank lines, which end an ABC tune, go
    reasons, attempts = [], []
    for attempt in range(1, settings.max_attempts + 1):
        sampler = Sampler(loaded.model, loaded.tokenizer, generator, settings.temperature, settings.top_k,
                          settings.top_p)
        sampler.feed(prompt + body)
        try:
            added = _repair(sample_body(sampler, plan, meter, unit, steer=steer).lstrip("\n"), meter, unit)
        except NoBody as exc:
            reasons.append(str(exc))
            attempts.append(None)
            continue
        abc = user + added + ("\n" if not added.endswith("\n") else "")
        try:
            if len(analyse_body(added, meter, unit).bars) < 1:
                raise UserError("the model added no bars")
            piece = Piece.from_abc(abc, settings.program, meta={})
        except (UserError, UnplayableABC) as exc:
            reasons.append(str(exc))
            attempts.append(abc)
            continue
        piece.meta = {"model": loaded.card.name, "family": loaded.card.family, "attempts": attempt,
                      "settings": {k: v for k, v in asdict(settings).items() if k != "tune"},
                      "continued_from_chars": len(settings.tune), "qpm": qpm}
        return piece
    raise NoPlayableTune(settings, reasons, attempts)


def _steer(loaded: LoadedModel, body: str, plan, strength: float):
    """The continuation's hook toward the tune's shares of letters, note lengths and broken rhythm (None when off
    or for a tune too short to have shares worth keeping)."""
    target = tune_tally(body, plan.bar_ticks)
    if target.notes < MIN_STEER_NOTES or not strength:
        return None
    return lambda constraint: StyleSteer(loaded.tokenizer, constraint, target, strength)


def _tempo(fields: dict[str, str]) -> float | None:
    match = re.search(r"(\d+)\s*/\s*(\d+)\s*=\s*(\d+(?:\.\d+)?)", fields.get("Q", ""))
    if match:  # Q:3/8=120 -> 120 dotted quarters = 180 quarters a minute
        return float(match.group(3)) * 4 * int(match.group(1)) / int(match.group(2))
    bare = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*", fields.get("Q", ""))
    return float(bare.group(1)) if bare else None


def _prompt(loaded: LoadedModel, fields: dict[str, str], body: str, meter: str, unit: str) -> tuple[str, str]:
    """What the model reads: canonical header (as it was trained) + the body in its vocabulary; and that body."""
    vocab = set(loaded.tokenizer.vocab)
    keep = "".join(c for c in re.sub(r"(?m)%.*$", "", body) if c in vocab)
    header = ["X:1", f"T:{fields.get('T', 'Untitled')}", f"M:{meter}", f"L:{unit}"]
    header += [f"R:{fields['R']}"] if fields.get("R") else []
    header += [f"K:{fields['K']}"]
    head = "".join(c for c in "\n".join(header) + "\n" if c in vocab)
    block = getattr(getattr(loaded.model, "config", None), "block_size", None)
    if block:  # a Transformer reads at most its context: the header and the end of the tune
        keep = keep[-max(block // 2 - len(head), 64):]
    return head, keep.strip()


def _repair(added: str, meter: str, unit: str) -> str:
    """Drop the added bars that break the meter (the first one completes the user's last bar) and close the tune."""
    added = added.rstrip()
    if added and not added.endswith(BAR_LINE_END):
        added += " |]"
    analysis = analyse_body(added, meter, unit)
    for i in reversed(analysis.bad):
        if i == 0:
            continue  # may complete the user's unfinished bar
        bar = analysis.bars[i]
        added = added[: bar.start] + added[bar.close_end if bar.closing == "|" else bar.end:]
    return added


def midi_primer(data: bytes, title: str = "upload") -> MidiPiece:
    """An uploaded MIDI file as a piece a MIDI model can take as its primer; one sentence when it cannot be."""
    if len(data) > MAX_MIDI_PRIMER_BYTES:
        raise UserError(f"The MIDI file is {len(data):,} bytes; at most {MAX_MIDI_PRIMER_BYTES:,} are accepted.")
    try:
        parsed = parse_midi(data)
        tracks = select_tracks(parsed, IngestOptions())
    except UserError as exc:  # BadMusicFile names what is wrong: not MIDI, no notes, corrupt
        raise UserError(f"The uploaded MIDI file cannot be a primer: {exc}.") from None
    end_q = max(float(t.notes["end_q"].max()) for t in tracks)
    tonic, mode = estimate_key(tracks)
    return MidiPiece(title, title, None, "upload", parsed.tempos, main_tempo(parsed.tempos, end_q),
                     parsed.time_signature, key_name(tonic, mode), 0, tracks)
