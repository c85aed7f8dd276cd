"""The arena design in the database (issue 19): dealing games when a participant joins, the next game, storing a
preference, and the games as the arena responses layout (:mod:`core.survey.stats.arena`).

Dealing (:func:`deal_games`): a game pits two sources (a model, or a human corpus; :func:`core.survey.design.
arena_source`). Each participant gets ``per_participant`` games (0: one for every pair of sources), the pairs of
sources played least often so far first (random tie-breaks; a participant meets a pair again only after every
pair), so every pair collects about the same number of games and every participant plays as many. Within
a pair, the source that has played on the left less often so far goes on the left (a tie at random), so neither
side is favoured for any pair. Each source sends its least-played clip, preferring one this participant has not
heard yet. A catch game (the known human tune against random notes) is added when the survey has catch clips.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import func, select

from core.errors import UserError
from core.survey.design import CATCH_SOURCES, arena_source
from survey_db import places
from survey_db.engine import transaction
from survey_db.models import ArenaGame, Clip, Participant, Survey
from survey_db.paired import PublicTrial, passed


@dataclass(frozen=True)
class ArenaClip:
    """A clip as :func:`deal_games` sees it: its id, source and how many games it has played."""

    id: int
    source: str
    played: int


@dataclass(frozen=True)
class DealtGame:
    clip_a: int  # first, on the left
    clip_b: int  # second, on the right
    is_catch: bool = False


@dataclass
class History:
    """What the survey's earlier (non-catch) games already hold: games per pair of sources (sorted names), and
    how often the first of the two sorted names played on the left."""

    pairs: Counter
    first_left: Counter


def deal_games(clips: list[ArenaClip], history: History, per_participant: int, rng: random.Random) -> list[DealtGame]:
    """The games of one participant (catch game not included), in playing order. UserError with fewer than two
    sources."""
    by_source: dict[str, list[ArenaClip]] = {}
    for c in clips:
        by_source.setdefault(c.source, []).append(c)
    pairs = list(itertools.combinations(sorted(by_source), 2))
    if not pairs:
        raise UserError("An arena needs clips from at least two sources.")
    k = len(pairs) if per_participant <= 0 else per_participant
    dealt, first_left = Counter(history.pairs), Counter(history.first_left)
    played = Counter({c.id: c.played for c in clips})
    heard: set[int] = set()
    games = []
    ties = {p: rng.random() for p in pairs}
    mine: Counter = Counter()  # this participant's games per pair: a pair comes twice only after every pair
    for _ in range(k):
        x, y = min(pairs, key=lambda p: (mine[p], dealt[p], ties[p]))
        mine[(x, y)] += 1
        left = dealt[(x, y)] - first_left[(x, y)]  # how often y played on the left
        x_left = first_left[(x, y)] < left or (first_left[(x, y)] == left and rng.random() < 0.5)
        a, b = (x, y) if x_left else (y, x)
        ids = []
        for source in (a, b):
            pick = min(by_source[source], key=lambda c: (c.id in heard, played[c.id], rng.random()))
            played[pick.id] += 1
            heard.add(pick.id)
            ids.append(pick.id)
        dealt[(x, y)] += 1
        first_left[(x, y)] += int(x_left)
        games.append(DealtGame(ids[0], ids[1]))
    rng.shuffle(games)
    return games


def _history(session, survey_id: int, source: dict[int, str]) -> tuple[History, Counter]:
    rows = session.execute(select(ArenaGame.clip_a_id, ArenaGame.clip_b_id).join(
        Participant, ArenaGame.participant_id == Participant.id).where(
        Participant.survey_id == survey_id, ArenaGame.is_catch.is_(False))).all()
    history, played = History(Counter(), Counter()), Counter()
    for a, b in rows:
        pair = tuple(sorted((source[a], source[b])))
        history.pairs[pair] += 1
        history.first_left[pair] += int(source[a] == pair[0])
        played.update([a, b])
    return history, played


def add_games(session, survey: Survey, participant: Participant, clips: list[Clip], rng: random.Random) -> list[int]:
    """Deal and store a new participant's games (after the participant row is flushed); returns the clip ids
    they will hear, which become the participant's ``plan``."""
    real = [c for c in clips if not c.is_catch]
    source = {c.id: arena_source(c.truth, c.group) for c in real}
    history, played = _history(session, survey.id, source)
    games = deal_games([ArenaClip(c.id, source[c.id], played[c.id]) for c in real], history,
                       survey.clips_per_participant, rng)
    catch = {c.truth: c.id for c in clips if c.is_catch}
    if {"human", "machine"} <= set(catch):
        pair = [catch["human"], catch["machine"]]
        rng.shuffle(pair)
        games.insert(rng.randrange(len(games) + 1), DealtGame(pair[0], pair[1], True))
    for i, g in enumerate(games):
        session.add(ArenaGame(participant_id=participant.id, position=i, clip_a_id=g.clip_a, clip_b_id=g.clip_b,
                              is_catch=g.is_catch))
    plan: list[int] = []
    for g in games:
        plan += [c for c in (g.clip_a, g.clip_b) if c not in plan]
    return plan


def next_game(session, participant: Participant) -> PublicTrial | None:
    """The participant's first unanswered game, by public clip ids, left first; None when all are done."""
    game = session.scalars(select(ArenaGame).where(ArenaGame.participant_id == participant.id,
                                                   ArenaGame.chosen.is_(None)).order_by(ArenaGame.position)).first()
    if game is None:
        return None
    ids = dict(session.execute(select(Clip.id, Clip.public_id).where(
        Clip.id.in_([game.clip_a_id, game.clip_b_id]))).all())
    return PublicTrial(game.position, ids[game.clip_a_id], ids[game.clip_b_id])


def game_counts(session, participant: Participant) -> tuple[int, int]:
    """(answered, total) games of a participant."""
    total = session.scalar(select(func.count()).select_from(ArenaGame).where(
        ArenaGame.participant_id == participant.id))
    done = session.scalar(select(func.count()).select_from(ArenaGame).where(
        ArenaGame.participant_id == participant.id, ArenaGame.chosen.is_not(None)))
    return int(done or 0), int(total or 0)


def store_preference(session, survey: Survey, participant: Participant, position: int, chosen: int,
                     listening_ms: int, plays: int | None) -> bool:
    """Store the answer to game ``position`` (1: the left piece preferred, 2: the right); False when it was
    already answered (a repeated submit). UserError for a choice other than 1 or 2 or a game not this
    participant's."""
    if chosen not in (1, 2) or isinstance(chosen, bool):
        raise UserError(f"Choose the first or the second piece (1 or 2), not {chosen!r}.")
    game = session.scalars(select(ArenaGame).where(ArenaGame.participant_id == participant.id,
                                                   ArenaGame.position == position).with_for_update()).first()
    if game is None:
        raise UserError("That game is not part of your survey.")
    if game.chosen is not None:
        return False
    game.chosen, game.listening_ms, game.plays = chosen, listening_ms, plays
    game.answered_at = datetime.now(UTC)
    session.flush()
    done, total = game_counts(session, participant)
    if done == total and not survey.ask_comment:
        participant.finished_at = datetime.now(UTC)
        places.close_when_full(session, survey)
    return True


def games_frame(survey_id: int, url: str | None = None) -> pd.DataFrame:
    """The answered games of a survey in the arena layout: participant ("p" + number), source_a, source_b,
    winner, clip_a, clip_b (public ids), listening_ms, plays, is_catch, expected_winner (catch games: the known
    tune) and headphone_passed (None unless the survey screens headphones)."""
    from sqlalchemy.orm import aliased

    a, b = aliased(Clip), aliased(Clip)
    with transaction(url) as session:
        survey = session.get(Survey, survey_id)
        if survey is None:
            raise UserError(f"There is no survey {survey_id}.")
        rows = session.execute(
            select(Participant.id, a.public_id, a.truth, a.group, b.public_id, b.truth, b.group, ArenaGame.chosen,
                   ArenaGame.listening_ms, ArenaGame.plays, ArenaGame.is_catch, Participant.screen_correct)
            .join(Participant, ArenaGame.participant_id == Participant.id)
            .join(a, ArenaGame.clip_a_id == a.id).join(b, ArenaGame.clip_b_id == b.id)
            .where(Participant.survey_id == survey_id, ArenaGame.chosen.is_not(None))
            .order_by(ArenaGame.answered_at, ArenaGame.id)).all()
        screened = survey.headphone_screen
    out = []
    for (pid, clip_a, truth_a, group_a, clip_b, truth_b, group_b, chosen, ms, plays, catch, screen) in rows:
        source_a, source_b = arena_source(truth_a, group_a, catch), arena_source(truth_b, group_b, catch)
        out.append({"participant": f"p{pid}", "source_a": source_a, "source_b": source_b,
                    "winner": source_a if chosen == 1 else source_b, "clip_a": clip_a, "clip_b": clip_b,
                    "listening_ms": ms, "plays": plays, "is_catch": bool(catch),
                    "expected_winner": CATCH_SOURCES["human"] if catch else None,
                    "headphone_passed": passed(screen) if screened else None})
    columns = ["participant", "source_a", "source_b", "winner", "clip_a", "clip_b", "listening_ms", "plays",
               "is_catch", "expected_winner", "headphone_passed"]
    df = pd.DataFrame(out, columns=columns)
    df["plays"] = df["plays"].astype("Int64")
    return df
