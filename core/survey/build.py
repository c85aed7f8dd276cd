"""Gather a survey's clips from what the builder asked for: corpus tunes, uploads, model samples, Compose history.

Every clip goes through :func:`core.clips.prepare_clip` under one :class:`core.clips.ClipPolicy`. Human tunes
come from a corpus's test split only (a model may have memorised training tunes). A tune or sample that
cannot make a full excerpt (too short, unplayable) is skipped with a note and the next one is tried; an
upload that fails stops the build, since the user chose that very file.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from core.data.piece import Piece
from core.errors import UserError
from core.survey.clips import ClipPolicy, PreparedClip, catch_clips, human_clip, machine_clip, upload_clip

MAX_CLIPS = 200
TRIES_PER_CLIP = 4


@dataclass
class BuildRequest:
    """The builder's choices.

    corpus / n_human / human_seed: how many test-split tunes of which corpus, drawn at random with that seed.
    uploads: (file name, bytes) pairs of MIDI or ABC files, human-made. models / per_model / temperature /
    first_seed: machine tunes sampled now, seeds first_seed, first_seed + 1, ... history: (ABC or None, meta,
    MIDI bytes) of pieces made on the Compose page (MIDI models' pieces have no ABC). catch: add the two
    attention-check clips.
    """

    corpus: str = "oneills1850"
    n_human: int = 0
    human_seed: int = 0
    uploads: list[tuple[str, bytes]] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    per_model: int = 0
    temperature: float = 0.8
    first_seed: int = 0
    history: list[tuple] = field(default_factory=list)
    catch: bool = False
    arena: bool = False  # issue 19: an arena needs two sources, not a human and a machine clip (the store checks)

    def validate(self) -> None:
        total = self.n_human + len(self.uploads) + len(self.models) * self.per_model + len(self.history)
        if self.n_human < 0 or self.per_model < 0:
            raise UserError("Numbers of clips cannot be negative.")
        if total == 0:
            raise UserError("The survey is empty: choose some human and some machine clips.")
        if total > MAX_CLIPS:
            raise UserError(f"A survey may have at most {MAX_CLIPS} clips, not {total}.")
        if self.arena:
            return
        if self.n_human + len(self.uploads) == 0:
            raise UserError("Choose at least one human clip: corpus tunes or uploaded files.")
        if len(self.models) * self.per_model + len(self.history) == 0:
            raise UserError("Choose at least one machine clip: model samples or Compose tunes.")


def build_clips(
    request: BuildRequest, policy: ClipPolicy, progress: Callable[[str], None] = lambda _msg: None
) -> tuple[list[PreparedClip], list[str]]:
    """The clips of ``request`` and notes on what was skipped; UserError when a requested share cannot be met."""
    from core.data.corpus import load_corpus

    request.validate()
    policy.validate()
    clips: list[PreparedClip] = []
    notes: list[str] = []
    for name, data in request.uploads:
        progress(f"Preparing {name}")
        clips.append(upload_clip(name, data, policy))
    if request.n_human:
        tunes = load_corpus(request.corpus).split("test")
        random.Random(request.human_seed).shuffle(tunes)
        made = 0
        for tune in tunes:
            if made == request.n_human:
                break
            progress(f"Human tune {made + 1} of {request.n_human}: {tune.title}")
            try:
                clips.append(human_clip(tune, request.corpus, policy))
                made += 1
            except UserError as exc:
                notes.append(f"Skipped {tune.title!r}: {exc}")
        if made < request.n_human:
            raise UserError(f"Only {made} of the {len(tunes)} test tunes of {request.corpus} make a full excerpt.")
    for abc, meta, *midi in request.history:
        clips.append(machine_clip(_history_piece(abc, meta, midi[0] if midi else None, policy), policy))
    for model in request.models:
        sampled, skipped = model_clips(model, request.per_model, request.temperature, request.first_seed, policy,
                                       progress)
        clips += sampled
        notes += skipped
    if request.catch:
        clips += catch_clips(policy, seed=request.first_seed)
    return clips, notes


def model_clips(
    model: str, count: int, temperature: float, first_seed: int, policy: ClipPolicy,
    progress: Callable[[str], None] = lambda _msg: None,
) -> tuple[list[PreparedClip], list[str]]:
    """``count`` clips sampled from ``model`` with seeds first_seed, first_seed + 1, ... (a seed whose tune cannot
    make a full excerpt is skipped with a note); UserError after 4 x count tries."""
    from core.generation.compose import ComposeSettings, compose, load_model
    from core.generation.midi_compose import MidiComposeSettings, compose_midi

    loaded, seconds = load_model(model), request_seconds(policy)
    clips: list[PreparedClip] = []
    notes: list[str] = []
    seed = first_seed
    while len(clips) < count:
        if seed - first_seed >= TRIES_PER_CLIP * count:
            raise UserError(f"{model} made only {len(clips)} usable tunes in {seed - first_seed} tries.")
        progress(f"{model}: tune {len(clips) + 1} of {count} (seed {seed})")
        try:
            if loaded.card.is_midi:
                piece = compose_midi(MidiComposeSettings(model=model, seed=seed, temperature=temperature,
                                                         seconds=seconds, tempo=policy.tempo_qpm), loaded)
            else:
                piece = compose(ComposeSettings(model=model, seed=seed, temperature=temperature, seconds=seconds,
                                                tempo=policy.tempo_qpm), loaded)
            clips.append(machine_clip(piece, policy))
        except UserError as exc:
            notes.append(f"Skipped {model} seed {seed}: {exc}")
        seed += 1
    return clips, notes


def _history_piece(abc: str | None, meta: dict, midi: bytes | None, policy: ClipPolicy) -> Piece:
    """A Compose page piece: from its ABC (ABC models), else from its MIDI (MIDI models)."""
    if abc:
        return Piece.from_abc(abc, policy.program, meta)
    if not midi:
        raise UserError("A Compose piece without ABC or MIDI cannot become a clip.")
    import io

    import pretty_midi

    return Piece(pretty_midi.PrettyMIDI(io.BytesIO(midi)), None, meta.get("title", "Compose piece"), meta)


def request_seconds(policy: ClipPolicy) -> float:
    """How long a sampled tune is asked to be: long enough for the excerpt even when the policy speeds it up."""
    return min(600.0, policy.excerpt_seconds * 1.5 + 5)
