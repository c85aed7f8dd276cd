"""The paired (2AFC) design in the database: dealing trials when a participant joins, the next trial, storing a
choice, and the trials as the 2AFC responses layout (:mod:`core.survey.stats.paired`).

Dealing (:func:`deal_pairs`): each participant gets ``per_participant`` human-machine pairings (0: every
pairing), the ones dealt least often so far first (random tie-breaks), avoiding a clip already used in this
participant's earlier trials when a pairing dealt at most once more allows it; the human clip plays first in half
of the trials and second in the other half (an odd one at random), the order shuffled. So every pairing
collects about the same number of answers and neither position is favoured. A catch trial (the known human
tune against random notes) is added when the survey has catch clips.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import func, select

from core.errors import UserError
from survey_db import places
from survey_db.engine import transaction
from survey_db.models import Clip, Participant, Survey, Trial


@dataclass(frozen=True)
class PairSlot:
    """A human-machine pairing and how often it has been dealt."""

    human: int
    machine: int
    dealt: int


@dataclass(frozen=True)
class DealtTrial:
    human: int
    machine: int
    human_position: int
    is_catch: bool = False


@dataclass(frozen=True)
class PublicTrial:
    """What the participant page may know of a trial: its number and the public ids in playing order."""

    position: int
    first: str
    second: str


def deal_pairs(slots: list[PairSlot], per_participant: int, rng: random.Random) -> list[DealtTrial]:
    """The trials of one participant (catch trial not included), in playing order."""
    k = len(slots) if per_participant <= 0 else min(per_participant, len(slots))
    pool = sorted(slots, key=lambda s: (s.dealt, rng.random()))
    chosen: list[PairSlot] = []
    used: set[int] = set()
    while len(chosen) < k:
        least = min(s.dealt for s in pool)
        fresh = [s for s in pool if s.dealt <= least + 1 and s.human not in used and s.machine not in used]
        pick = fresh[0] if fresh else pool[0]  # pool is sorted: the least dealt fresh pairing first
        pool.remove(pick)
        chosen.append(pick)
        used |= {pick.human, pick.machine}
    positions = [1, 2] * (k // 2) + ([rng.choice([1, 2])] if k % 2 else [])
    rng.shuffle(positions)
    trials = [DealtTrial(s.human, s.machine, p) for s, p in zip(chosen, positions, strict=True)]
    rng.shuffle(trials)
    return trials


def add_trials(session, survey: Survey, participant: Participant, clips: list[Clip], rng: random.Random) -> list[int]:
    """Deal and store a new participant's trials (after the participant row is flushed); returns the clip ids
    they will hear, which become the participant's ``plan`` (so :func:`survey_db.participants.clip_audio` serves
    exactly these)."""
    real = [c for c in clips if not c.is_catch]
    humans = [c.id for c in real if c.truth == "human"]
    machines = [c.id for c in real if c.truth == "machine"]
    counts = {(h, m): n for h, m, n in session.execute(
        select(Trial.human_clip_id, Trial.machine_clip_id, func.count()).join(
            Participant, Trial.participant_id == Participant.id).where(
            Participant.survey_id == survey.id, Trial.is_catch.is_(False)).group_by(
            Trial.human_clip_id, Trial.machine_clip_id)).all()}
    slots = [PairSlot(h, m, counts.get((h, m), 0)) for h in humans for m in machines]
    trials = deal_pairs(slots, survey.clips_per_participant, rng)
    catch_h = [c.id for c in clips if c.is_catch and c.truth == "human"]
    catch_m = [c.id for c in clips if c.is_catch and c.truth == "machine"]
    if catch_h and catch_m:
        trials.insert(rng.randrange(len(trials) + 1), DealtTrial(catch_h[0], catch_m[0], rng.choice([1, 2]), True))
    for i, t in enumerate(trials):
        session.add(Trial(participant_id=participant.id, position=i, human_clip_id=t.human, machine_clip_id=t.machine,
                          human_position=t.human_position, is_catch=t.is_catch))
    plan: list[int] = []
    for t in trials:
        plan += [c for c in (t.human, t.machine) if c not in plan]
    return plan


def next_trial(session, participant: Participant) -> PublicTrial | None:
    """The participant's first unanswered trial, by public clip ids in playing order; None when all are done."""
    trial = session.scalars(select(Trial).where(Trial.participant_id == participant.id,
                                                Trial.chosen_position.is_(None)).order_by(Trial.position)).first()
    if trial is None:
        return None
    ids = dict(session.execute(select(Clip.id, Clip.public_id).where(
        Clip.id.in_([trial.human_clip_id, trial.machine_clip_id]))).all())
    order = [trial.human_clip_id, trial.machine_clip_id]
    if trial.human_position == 2:
        order.reverse()
    return PublicTrial(trial.position, ids[order[0]], ids[order[1]])


def trial_counts(session, participant: Participant) -> tuple[int, int]:
    """(answered, total) trials of a participant."""
    total = session.scalar(select(func.count()).select_from(Trial).where(Trial.participant_id == participant.id))
    done = session.scalar(select(func.count()).select_from(Trial).where(
        Trial.participant_id == participant.id, Trial.chosen_position.is_not(None)))
    return int(done or 0), int(total or 0)


def store_choice(session, survey: Survey, participant: Participant, position: int, chosen: int, listening_ms: int,
                 plays: int | None) -> bool:
    """Store the answer to trial ``position``; False when it was already answered (a repeated submit).

    UserError for a chosen position other than 1 or 2, or a trial that is not this participant's.
    """
    if chosen not in (1, 2) or isinstance(chosen, bool):
        raise UserError(f"Choose the first or the second clip (1 or 2), not {chosen!r}.")
    trial = session.scalars(select(Trial).where(Trial.participant_id == participant.id,
                                                Trial.position == position).with_for_update()).first()
    if trial is None:
        raise UserError("That trial is not part of your survey.")
    if trial.chosen_position is not None:
        return False
    trial.chosen_position, trial.listening_ms, trial.plays = chosen, listening_ms, plays
    trial.answered_at = datetime.now(UTC)
    session.flush()
    done, total = trial_counts(session, participant)
    if done == total and not survey.ask_comment:
        participant.finished_at = datetime.now(UTC)
        places.close_when_full(session, survey)  # in this transaction: the quota closes 2AFC surveys too
    return True


def trials_frame(survey_id: int, url: str | None = None) -> pd.DataFrame:
    """The answered trials of a survey in the 2AFC layout: participant ("p" + number), pair (the two public ids),
    human_position, chosen_position, human_clip, machine_clip, model (the machine clip's group), listening_ms,
    plays, is_catch, and headphone_passed (None unless the survey screens headphones)."""
    from sqlalchemy.orm import aliased

    human, machine = aliased(Clip), aliased(Clip)
    with transaction(url) as session:
        survey = session.get(Survey, survey_id)
        if survey is None:
            raise UserError(f"There is no survey {survey_id}.")
        rows = session.execute(
            select(Participant.id, human.public_id, machine.public_id, Trial.human_position, Trial.chosen_position,
                   machine.group, Trial.listening_ms, Trial.plays, Trial.is_catch, Participant.screen_correct)
            .join(Participant, Trial.participant_id == Participant.id)
            .join(human, Trial.human_clip_id == human.id).join(machine, Trial.machine_clip_id == machine.id)
            .where(Participant.survey_id == survey_id, Trial.chosen_position.is_not(None))
            .order_by(Trial.answered_at, Trial.id)).all()
        screened, margin = survey.headphone_screen, survey.margin
    columns = ["participant", "human_clip", "machine_clip", "human_position", "chosen_position", "model",
               "listening_ms", "plays", "is_catch", "screen_correct"]
    df = pd.DataFrame(rows, columns=columns)
    df["participant"] = "p" + df["participant"].astype(str)
    df["pair"] = df["human_clip"] + "|" + df["machine_clip"]
    df["model"] = df["model"].where(~df["is_catch"].astype(bool), None)
    df["headphone_passed"] = [passed(c) if screened else None for c in df["screen_correct"]]
    df["plays"] = df["plays"].astype("Int64")
    df["preregistered_margin"] = float(margin)
    return df.drop(columns=["screen_correct"])


def passed(correct: int | None, needed: int = 5) -> bool | None:
    """Whether a headphone check with ``correct`` right answers passed (Woods et al.: 5 of 6); None if not taken."""
    return None if correct is None else correct >= needed
