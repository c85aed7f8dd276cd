"""A test of the mechanism, not a claim that the music got better: scripted listeners with a known taste vote
through the real survey store, the model trains on their votes (``train --preferences SURVEY_ID``), and the
property they liked is counted in fresh samples before and after.

Two tastes (``--taste``):

- ``tonic``: a tune whose last note sounds the key's tonic is preferred (the listener follows it 90% of the
  time; between two tunes that both or neither end so, it flips a coin). The clips are the model's own
  tunes with "end each part on the tonic" unticked, so many end elsewhere.
- ``steps`` (default): the more stepwise tune is preferred, stepwise being the share of melodic intervals
  of one or two semitones: the left piece wins with probability sigmoid(20 x (its share - the other's)),
  so a difference of 0.1 is heard 88% of the time; a human-or-machine vote says "human" for a tune above
  the clips' median share, 90% of the time.

- **dpo** (default): an arena survey whose two sources are the model's tunes of odd and of even seeds; every
  game is a pair of its tunes, the preferred one first.
- **kto**: a human-or-machine survey of the model's tunes and O'Neill's held-out tunes; "human" is the vote
  for a tune the listener likes.

Reported: over 200 fresh tunes (tonic box unticked, seeds never used for clips), before and after, the share
that end on the tonic (Wilson 95% intervals) and the mean stepwise share (95% t intervals); held-out
bits/char on O'Neill's test split before and after; the share of distinct 2-bar patterns among the samples'
(no collapse); and the time each stage took. Usage:

    .venv/bin/python benchmarks/learn_from_votes.py [--model r1-lstm-oneills1850] [--method dpo] [--votes 500]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from statsmodels.stats.proportion import proportion_confint  # noqa: E402
from tonic_endings import tonic_pitch_class  # noqa: E402  (benchmarks/, beside this script)

from core.data.piece import Piece  # noqa: E402
from core.generation.compose import ComposeSettings, compose, load_model  # noqa: E402
from core.generation.rescue import NoPlayableTune  # noqa: E402
from core.generation.settings import one_thread  # noqa: E402
from core.training.checkpoint import cpu_name  # noqa: E402

FOLLOWS_TASTE = 0.9


def ends_on_tonic(abc: str) -> bool:
    """Whether the tune's last sounding note (the lowest at the last onset, through abc2midi) is the key's tonic."""
    key = re.search(r"(?m)^K:\s*([A-G][#b]?)", abc)
    notes = [n for inst in Piece.from_abc(abc).midi.instruments for n in inst.notes]
    if key is None or not notes:
        return False
    last = max(n.start for n in notes)
    return min(n.pitch for n in notes if n.start == last) % 12 == tonic_pitch_class(key.group(1))


def stepwise(abc: str) -> float:
    """Share of the melody's intervals (consecutive onsets, the top note of a chord) of 1 or 2 semitones."""
    notes = sorted((n.start, -n.pitch) for inst in Piece.from_abc(abc).midi.instruments for n in inst.notes)
    melody, last = [], None
    for start, neg in notes:
        if start != last:
            melody.append(-neg)
            last = start
    steps = [abs(b - a) for a, b in zip(melody, melody[1:], strict=False)]
    return sum(1 <= s <= 2 for s in steps) / max(len(steps), 1)


def tunes(model: str, seeds: range, loaded=None) -> list[str]:
    """The model's tunes for these seeds, tonic box unticked (AABB, 8 bars a part)."""
    out = []
    with one_thread():
        for seed in seeds:
            try:
                out.append(compose(ComposeSettings(model, seed=seed, tonic_ending=False), loaded).abc)
            except NoPlayableTune:
                continue
    return out


def two_bar_share(abcs: list[str]) -> float:
    """Distinct 2-bar windows over all 2-bar windows of the tunes' bodies (spaces aside)."""
    windows = []
    for abc in abcs:
        body = abc.split("\nK:", 1)[1].split("\n", 1)[1]
        bars = [b.strip(" :|\n[]12").replace(" ", "") for b in re.split(r"\|+", body)]
        bars = [b for b in bars if b]
        windows += [bars[i] + "|" + bars[i + 1] for i in range(len(bars) - 1)]
    return len(set(windows)) / max(len(windows), 1)


def mean_ci(values: list[float]) -> dict:
    from statsmodels.stats.weightstats import DescrStatsW

    lo, hi = DescrStatsW(values).tconfint_mean()
    return {"mean_stepwise_share": round(sum(values) / len(values), 3), "stepwise_ci95": [round(lo, 3), round(hi, 3)]}


def rate(flags: list[bool]) -> dict:
    k, n = sum(flags), len(flags)
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    return {"tonic_endings": k, "tunes": n, "tonic_share": round(k / n, 3), "tonic_ci95": [round(lo, 3), round(hi, 3)]}


def build_survey(method: str, taste: str, model: str, clip_tunes: list[str], votes: int, url: str) -> int:
    """An open survey of the clips, played by scripted listeners until ``votes`` answers are stored."""
    from core.data.corpus import load_corpus
    from core.survey.clips import ClipPolicy, human_clip, prepare_clip
    from survey_db import participants as P
    from survey_db import screening, store
    from survey_db.judgements import clip_tunes as stored_tunes

    policy = ClipPolicy(excerpt_seconds=15.0)
    clips = []
    for k, abc in enumerate(clip_tunes):
        group = f"{model} ({'odd' if k % 2 else 'even'} seeds)" if method == "dpo" else model
        clips.append(prepare_clip(Piece.from_abc(abc), "machine", group, {"kind": "model", "abc": abc}, policy))
    if method == "kto":
        clips += [human_clip(t, "oneills1850", policy) for t in load_corpus("oneills1850").split("test")[:40]]
    per = 10
    spec = store.SurveySpec(title="Mechanism test", design="arena" if method == "dpo" else "single",
                            clips_per_participant=per, min_listen_seconds=0)
    survey_id = store.create_survey(spec, clips, url)
    store.set_status(survey_id, "open", url)
    token = next(s.token for s in store.list_surveys(url) if s.id == survey_id)
    text = stored_tunes(survey_id, url)
    if taste == "tonic":
        likes = {public: float(ends_on_tonic(abc)) for public, abc in text.items()}
    else:
        likes = {public: stepwise(abc) for public, abc in text.items()}
    middle = sorted(likes.values())[len(likes) // 2]
    rng, stored = random.Random(7), 0
    while stored < votes:
        person = P.join(token, url)
        while stored < votes and (state := P.state(token, person, url)).step in ("game", "clip"):
            if state.step == "game":
                g = state.trial
                a, b = likes[g.first], likes[g.second]
                if taste == "steps":
                    prefer_first = rng.random() < 1 / (1 + math.exp(-20 * (a - b)))
                elif a != b:  # the taste decides, 90% of the time
                    prefer_first = bool(a) if rng.random() < FOLLOWS_TASTE else bool(b)
                else:
                    prefer_first = rng.random() < 0.5
                screening.record_preference(token, person, g.position, 1 if prefer_first else 2, 6000, 1, True, url)
            else:
                liked = likes[state.clip] > (middle if taste == "steps" else 0.5)
                human = liked if rng.random() < FOLLOWS_TASTE else not liked
                P.record_vote(token, person, state.clip, "human" if human else "machine", None, 6000, url=url)
            stored += 1
    return survey_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="r1-lstm-oneills1850", help="an ABC model")
    parser.add_argument("--method", choices=["dpo", "kto"], default="dpo")
    parser.add_argument("--taste", choices=["steps", "tonic"], default="steps")
    parser.add_argument("--votes", type=int, default=500, help="answers the scripted listeners give (at most 500)")
    parser.add_argument("--clips", type=int, default=100, help="the model's tunes in the survey")
    parser.add_argument("--n", type=int, default=200, help="fresh samples before and after")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--beta", type=float, default=0.1)
    args = parser.parse_args()
    if not 1 <= args.votes <= 500:
        sys.exit("The mechanism test trains on at most 500 votes.")
    work = Path(tempfile.mkdtemp(prefix="votes-"))
    os.environ["TUNELAB_DATA_DIR"] = str(work)  # the survey and the new model stay out of the checkout
    url = f"sqlite:///{work / 'surveys.sqlite'}"
    times, t = {}, time.perf_counter()
    loaded = load_model(args.model)
    clip_tunes = tunes(args.model, range(10_000, 10_000 + args.clips), loaded)
    before = tunes(args.model, range(50_000, 50_000 + args.n), loaded)
    times["sample_clips_and_before_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    survey_id = build_survey(args.method, args.taste, args.model, clip_tunes, args.votes, url)
    times["survey_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    os.environ["SURVEY_DB_URL"] = url
    from core.cli import main as cli

    name = f"{args.model}-{args.method}-votes"
    code = cli(["train", "--init-from", args.model, "--preferences", str(survey_id), "--method", args.method,
                "--epochs", str(args.epochs), "--lr", str(args.lr), "--beta", str(args.beta), "--name", name,
                "--threads", "1", "--quiet"])
    if code != 0:
        sys.exit(code)
    times["train_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    tuned = load_model(name)
    after = tunes(name, range(50_000, 50_000 + args.n), tuned)
    times["sample_after_s"] = round(time.perf_counter() - t, 1)
    card = json.loads((tuned.path / "card.json").read_text())
    held = card["extra"]["preferences"]
    bpc_before, bpc_after = (held[k]["oneills1850"]["bits_per_char"] for k in ("before", "after"))
    share_before, share_after = two_bar_share(before), two_bar_share(after)
    print(json.dumps({
        "model": args.model, "method": args.method, "taste": args.taste, "judgements": card["training"]["judgements"],
        "clips": len(clip_tunes), "clips_ending_on_tonic": sum(map(ends_on_tonic, clip_tunes)),
        "before": {**rate([ends_on_tonic(a) for a in before]), **mean_ci([stepwise(a) for a in before])},
        "after": {**rate([ends_on_tonic(a) for a in after]), **mean_ci([stepwise(a) for a in after])},
        "clips_mean_stepwise_share": round(sum(map(stepwise, clip_tunes)) / len(clip_tunes), 3),
        "oneills_bits_per_char": {"before": bpc_before, "after": bpc_after,
                                  "change": f"{100 * (bpc_after / bpc_before - 1):+.1f}%"},
        "distinct_2bar_share": {"before": round(share_before, 3), "after": round(share_after, 3),
                                "change": f"{100 * (share_after / share_before - 1):+.1f}%"},
        "settings": {"epochs": args.epochs, "lr": args.lr, "beta": args.beta, "votes": args.votes,
                     "clips": args.clips},
        "times": times, "machine": f"{cpu_name()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
    }, indent=1))


if __name__ == "__main__":
    main()
