"""The arena design in the survey database (issue 19): balanced dealing, the participant's games, one-sentence
refusals, and the database's ratings equal to the CLI's (``survey-stats --survey``) and to a CSV export's."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter

import pytest

from core.cli import main
from core.errors import UserError
from core.survey.clips import PreparedClip, tone_check_wav
from core.survey.paired_io import read_any
from core.survey.stats.arena import arena_summary
from survey_db import participants as P
from survey_db import screening, store
from survey_db.arena import ArenaClip, DealtGame, History, deal_games

SOURCES = {"human (oneills1850)": 1.5, "gpt-folk": 1.0, "lstm": 0.3}
"""The sources of the test arena, and the log-strengths of the simulated listeners' preferences."""


def clip(truth: str, group: str, tones: int, is_catch: bool = False) -> PreparedClip:
    """A real (short) WAV clip; the tones make each one's audio different."""
    return PreparedClip(truth=truth, group=group, source={"kind": "test"}, wav=tone_check_wav(tones),
                        duration_s=2.0, loudness_lufs=-20.0, is_catch=is_catch)


def arena_clips(catch: bool = True) -> list[PreparedClip]:
    """Two clips from each of SOURCES (human, gpt-folk, lstm), and the two catch clips."""
    clips = [clip("human", "oneills1850", 1), clip("human", "oneills1850", 2), clip("machine", "gpt-folk", 3),
             clip("machine", "gpt-folk", 4), clip("machine", "lstm", 5), clip("machine", "lstm", 6)]
    return clips + ([clip("human", "catch", 7, True), clip("machine", "catch", 8, True)] if catch else [])


def test_dealing_balances_pairs_sides_and_clips():
    rng = random.Random(3)
    clips = [ArenaClip(10 * s + i, name, 0) for s, name in enumerate("abcd") for i in range(3)]
    source = {c.id: c.source for c in clips}
    history, played = History(Counter(), Counter()), Counter()
    for _ in range(25):
        games = deal_games([ArenaClip(c.id, c.source, played[c.id]) for c in clips], history, 4, rng)
        assert len(games) == 4 and all(source[g.clip_a] != source[g.clip_b] for g in games)
        pairs = [tuple(sorted((source[g.clip_a], source[g.clip_b]))) for g in games]
        assert len(set(pairs)) == 4  # no pair twice for one listener while others wait
        for g, pair in zip(games, pairs, strict=True):
            history.pairs[pair] += 1
            history.first_left[pair] += int(source[g.clip_a] == pair[0])
            played.update([g.clip_a, g.clip_b])
    # 25 x 4 = 100 games over 6 pairs of sources: 16 or 17 each; sides within a pair differ by at most one
    assert set(history.pairs.values()) <= {16, 17} and sum(history.pairs.values()) == 100
    for pair, n in history.pairs.items():
        assert abs(2 * history.first_left[pair] - n) <= 1, pair
    for name in "abcd":  # each source's three clips play about equally often
        counts = [played[c.id] for c in clips if c.source == name]
        assert max(counts) - min(counts) <= 1


def test_every_pair_once_by_default_and_one_source_refused():
    clips = [ArenaClip(i, s, 0) for i, s in enumerate(["a", "b", "c", "a"])]
    games = deal_games(clips, History(Counter(), Counter()), 0, random.Random(0))
    assert len(games) == 3 and all(isinstance(g, DealtGame) for g in games)
    with pytest.raises(UserError, match="at least two sources"):
        deal_games(clips[:1], History(Counter(), Counter()), 0, random.Random(0))


def play(token: str, url: str, person: str, rng: random.Random, fail_catch: bool = False) -> int:
    """Answer every game of ``person`` as a Bradley-Terry listener with SOURCES' strengths; the catch game by
    choosing the known tune (or not). Returns the games answered."""
    public = {}
    n = 0
    while (state := P.state(token, person, url)).step == "game":
        g = state.trial
        if not public:
            frame = store.clip_table(survey_of(token, url), url)
            public = {r.clip: (r.truth, r.group, r.is_catch) for r in frame.itertuples()}
        (ta, ga, catch), (tb, gb, _) = public[g.first], public[g.second]
        if catch:
            chosen = (1 if ta == "human" else 2) if not fail_catch else (2 if ta == "human" else 1)
        else:
            sa = SOURCES[ga if ta == "machine" else f"human ({ga})"]
            sb = SOURCES[gb if tb == "machine" else f"human ({gb})"]
            chosen = 1 if rng.random() < 1 / (1 + 2.718281828 ** -(sa - sb)) else 2
        assert screening.record_preference(token, person, g.position, chosen, 6000, 1, True, url) is True
        assert screening.record_preference(token, person, g.position, chosen, 6000, 1, True, url) is False
        n += 1
    assert P.state(token, person, url).step == "done"
    return n


def survey_of(token: str, url: str) -> int:
    return next(s.id for s in store.list_surveys(url) if s.token == token)


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    """An open arena of 3 sources (3 games each, every pair once, plus a catch game), played by 12 listeners;
    the last fails the catch game."""
    url = f"sqlite:///{tmp_path_factory.mktemp('arena') / 'surveys.sqlite'}"
    spec = store.SurveySpec(title="Which do you prefer?", design="arena", min_listen_seconds=0)
    survey_id = store.create_survey(spec, arena_clips(), url)
    store.set_status(survey_id, "open", url)
    token = next(s.token for s in store.list_surveys(url) if s.id == survey_id)
    rng = random.Random(5)
    for i in range(12):
        assert play(token, url, P.join(token, url), rng, fail_catch=i == 11) == 4
    return url, survey_id, token


def test_participants_play_games_and_the_frame_reads_as_an_arena(arena):
    url, survey_id, token = arena
    [info] = store.list_surveys(url)
    assert info.responses == 12 * 4 and info.finished == 12
    raw, design = screening.raw_responses(survey_id, url)
    assert design == "arena" and len(raw) == 48 and raw["is_catch"].sum() == 12
    real = raw[~raw["is_catch"]]
    pairs = Counter(tuple(sorted(p)) for p in zip(real["source_a"], real["source_b"], strict=True))
    assert pairs == {pair: 12 for pair in itertools.combinations(sorted(SOURCES), 2)}
    for pair in pairs:  # the left side alternates within each pair of sources: 6 and 6
        assert ((real["source_a"] == pair[0]) & (real["source_b"] == pair[1])).sum() == 6
    assert set(raw.loc[raw["is_catch"], "expected_winner"]) == {"catch: known tune"}
    settings = screening.survey_settings(survey_id, url)
    assert (settings["design"], settings["sources"], settings["pairings"]) == ("arena", 3, 3)
    assert settings["arena_question"] == "Which sounds more like a tune a person wrote?"


def test_database_ratings_equal_the_cli_and_the_csv_export(arena, monkeypatch, capsys, tmp_path):
    url, survey_id, _ = arena
    df, _ = screening.survey_responses(survey_id, url)
    s = arena_summary(df)
    assert s["n_catch"] == 12 and s["arena"]["n_games"] == 36 and s["arena"]["n_participants"] == 12
    monkeypatch.setenv("SURVEY_DB_URL", url)
    assert main(["survey-stats", "--survey", str(survey_id), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli["arena"]["ratings"] == s["arena"]["ratings"]
    raw, design = screening.raw_responses(survey_id, url)
    path = tmp_path / "export.csv"
    path.write_text(screening.export_csv(raw, design))
    assert arena_summary(read_any(path))["arena"]["ratings"] == s["arena"]["ratings"]
    assert main(["survey-stats", "--survey", str(survey_id), "--json", "--exclude-failed-checks"]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert len(kept["excluded"]) == 1 and kept["excluded"][0]["reason"] == "failed a catch clip"
    assert kept["arena"]["n_games"] == 33


@pytest.mark.parametrize("change,clips,message", [
    ({"arena_question": "  "}, None, "The arena's question needs 1 to 300 characters."),
    ({}, [clip("machine", "lstm", 1), clip("machine", "lstm", 2)], "An arena needs clips from at least two sources"),
])
def test_bad_arenas_are_refused_in_one_sentence(tmp_path, change, clips, message):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    spec = store.SurveySpec(title="Arena", design="arena", **change)
    with pytest.raises(UserError, match=message):
        store.create_survey(spec, clips or arena_clips(), url)
    assert store.list_surveys(url) == []


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_models_only_arena_and_bad_answers(tmp_path, request, db):
    url = (f"sqlite:///{tmp_path / 's.sqlite'}" if db == "sqlite"
           else request.getfixturevalue("postgres_server").new_database())
    models_only = [c for c in arena_clips(catch=False) if c.truth == "machine"]
    survey_id = store.create_survey(store.SurveySpec(title="Models", design="arena", clips_per_participant=5),
                                    models_only, url)
    store.set_status(survey_id, "open", url)
    token = next(s.token for s in store.list_surveys(url) if s.id == survey_id)
    person = P.join(token, url)
    state = P.state(token, person, url)
    assert (state.step, state.total, state.survey.arena_question) == ("game", 5, store.DEFAULT_ARENA_QUESTION)
    with pytest.raises(UserError, match="Choose the first or the second piece"):
        screening.record_preference(token, person, state.trial.position, 3, 6000, url=url)
    with pytest.raises(UserError, match="That game is not part of your survey."):
        screening.record_preference(token, person, 99, 1, 6000, url=url)
    with pytest.raises(UserError, match="This survey has no arena games."):
        single_id = store.create_survey(store.SurveySpec(title="Single"), arena_clips(), url)
        store.set_status(single_id, "open", url)
        single = next(s.token for s in store.list_surveys(url) if s.id == single_id)
        screening.record_preference(single, P.join(single, url), 0, 1, 6000, url=url)
    with pytest.raises(UserError, match="Please answer every clip before finishing."):
        P.finish(token, person, None, url)
    while (state := P.state(token, person, url)).step == "game":  # five games over the 1 pair of sources
        assert screening.record_preference(token, person, state.trial.position, 1, 6000, url=url)
    raw, _ = screening.raw_responses(survey_id, url)
    assert len(raw) == 5 and set(raw["source_a"]) | set(raw["source_b"]) == {"gpt-folk", "lstm"}
    assert sorted(Counter(raw["source_a"]).values()) == [2, 3]  # sides alternate: 3 and 2
