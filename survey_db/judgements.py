"""A survey's answers as training judgements (``train --preferences SURVEY_ID``).

The answers are read as the Results page reads them (:func:`survey_db.screening.survey_responses`), less
catch clips and the participants who failed a check (a catch clip or the headphone check), then turned
into what :mod:`core.training.preferences` learns from, each clip standing for the ABC tune it was made
from:

- human-or-machine votes: one vote per answer, label 1 when the clip was judged human, 0 machine (KTO);
- two-alternative choices: a pair per trial, the clip picked as the person's first (DPO);
- arena games: a pair per game, the preferred clip first (DPO).
"""

from __future__ import annotations

from sqlalchemy import select

from core.errors import UserError
from core.training.judgements import Judgements
from survey_db.engine import transaction
from survey_db.models import Clip


def survey_judgements(survey_id: int, url: str | None = None) -> Judgements:
    """The judgements of survey ``survey_id``; UserError when it has none a model can learn from."""
    from core.survey.stats.checks import exclude_failed
    from survey_db.screening import survey_responses

    frame, _ = survey_responses(survey_id, url)
    frame, _ = exclude_failed(frame, catch=True, headphones=True)
    if "is_catch" in frame:
        frame = frame[~frame["is_catch"].fillna(False).astype(bool)]
    tunes = clip_tunes(survey_id, url)
    source = {"survey": survey_id}
    if {"clip_a", "clip_b", "source_a", "winner"} <= set(frame.columns):
        pairs = []
        for row in frame.itertuples():
            won, lost = (row.clip_a, row.clip_b) if row.winner == row.source_a else (row.clip_b, row.clip_a)
            if won in tunes and lost in tunes:
                pairs.append((tunes[won], tunes[lost]))
        out = Judgements(pairs=pairs, source=source)
    elif {"human_clip", "machine_clip", "chosen_position"} <= set(frame.columns):
        pairs = []
        for row in frame.itertuples():
            picked_human = int(row.chosen_position) == int(row.human_position)
            first, second = (row.human_clip, row.machine_clip) if picked_human else (row.machine_clip, row.human_clip)
            if first in tunes and second in tunes:
                pairs.append((tunes[first], tunes[second]))
        out = Judgements(pairs=pairs, source=source)
    elif {"clip", "vote"} <= set(frame.columns):
        voted = frame[frame["vote"].isin(["human", "machine"])]
        votes = [(tunes[c], int(v == "human")) for c, v in zip(voted["clip"], voted["vote"], strict=True)
                 if c in tunes]
        out = Judgements(votes=votes, source=source)
    else:
        raise UserError(f"Survey {survey_id} asks for ratings only; a model learns from votes, choices or games.")
    if not out.count:
        raise UserError(f"Survey {survey_id} has no answers a model can learn from yet (catch clips and "
                        "participants who failed a check are left out; clips need the tune they were made from).")
    return out


def clip_tunes(survey_id: int, url: str | None = None) -> dict[str, str]:
    """Public clip id -> the ABC tune it was rendered from (clips without one, e.g. MIDI pieces, left out)."""
    with transaction(url) as session:
        rows = session.execute(select(Clip.public_id, Clip.source).where(Clip.survey_id == survey_id)).all()
    return {public: source["abc"] for public, source in rows if isinstance(source, dict) and source.get("abc")}
