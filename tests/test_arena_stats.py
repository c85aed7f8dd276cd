"""The arena design (issue 19): Bradley-Terry strengths against an independent fit (Hunter's MM algorithm), their
intervals against the Fisher information computed here, the CLI's JSON contract and leaderboard, exclusions, and
one-sentence errors (exit 2) for bad rows and for data that cannot be ranked."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.errors import UserError
from core.survey.arena_io import arena_to_csv
from core.survey.paired_io import read_any
from core.survey.stats.arena import arena_summary, bradley_terry
from core.survey.stats.checks import check_table
from tests.conftest import ROOT

TRUE = {"folk-gpt": 1.6, "human": 2.0, "lstm": 0.9, "markov": 0.4, "random": 0.0}
"""Known log-strengths of the synthetic arena."""


def synthetic_games(per_pair: int = 120, seed: int = 7) -> pd.DataFrame:
    """Every pair of TRUE's sources plays ``per_pair`` games (1,200 in all) by 30 participants, sides alternating;
    the winner drawn with the Bradley-Terry probability of the true strengths."""
    rng = np.random.default_rng(seed)
    rows = []
    for x, y in itertools.combinations(sorted(TRUE), 2):
        for k in range(per_pair):
            a, b = (x, y) if k % 2 else (y, x)
            p_a = 1 / (1 + math.exp(-(TRUE[a] - TRUE[b])))
            rows.append({"participant": f"p{k % 30}", "source_a": a, "source_b": b,
                         "winner": a if rng.random() < p_a else b})
    return pd.DataFrame(rows)


def mm_fit(games: pd.DataFrame, iterations: int = 5000) -> dict[str, float]:
    """Bradley-Terry by Hunter's (2004) MM algorithm, p_i <- W_i / sum_j n_ij / (p_i + p_j): log-strengths with
    the lowest at 0. Independent of the module under test (no statsmodels)."""
    sources = sorted(set(games["source_a"]) | set(games["source_b"]))
    ix = {s: i for i, s in enumerate(sources)}
    n = np.zeros((len(sources), len(sources)))
    wins = np.zeros(len(sources))
    for a, b, w in zip(games["source_a"], games["source_b"], games["winner"], strict=True):
        n[ix[a], ix[b]] += 1
        n[ix[b], ix[a]] += 1
        wins[ix[w]] += 1
    p = np.ones(len(sources))
    for _ in range(iterations):
        p = wins / (n / (p[:, None] + p[None, :])).sum(axis=1)
        p /= p.sum()
    log = np.log(p)
    return {s: float(log[i] - log.min()) for s, i in ix.items()}


def fisher_se(games: pd.DataFrame, strengths: dict[str, float]) -> dict[str, float]:
    """Standard errors of s_i - s_lowest from the inverse Fisher information sum p(1 - p) x x^T, with the lowest
    source's column dropped (so each parameter is the difference to it)."""
    low = min(strengths, key=strengths.get)
    others = [s for s in sorted(strengths) if s != low]
    info = np.zeros((len(others), len(others)))
    for a, b in zip(games["source_a"], games["source_b"], strict=True):
        x = np.array([(s == a) - (s == b) for s in others], dtype=float)
        p = 1 / (1 + math.exp(-(strengths[a] - strengths[b])))
        info += p * (1 - p) * np.outer(x, x)
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    return {low: 0.0, **dict(zip(others, se, strict=True))}


@pytest.fixture(scope="module")
def games() -> pd.DataFrame:
    return synthetic_games()


@pytest.fixture(scope="module")
def fit(games) -> dict:
    return bradley_terry(games)


def test_strengths_match_an_independent_mm_fit(games, fit):
    mm = mm_fit(games)
    got = {r["source"]: r["strength"] for r in fit["ratings"]}
    assert set(got) == set(TRUE)
    for source, value in mm.items():
        assert abs(got[source] - value) < 0.02, source
    # the estimates also land near the truth (1,200 games: standard errors about 0.15)
    assert all(abs(got[s] - TRUE[s]) < 0.5 for s in TRUE)


def test_ordering_lowest_at_zero_and_intervals_from_the_covariance(games, fit):
    ratings = fit["ratings"]
    strengths = [r["strength"] for r in ratings]
    assert strengths == sorted(strengths, reverse=True)
    assert [r["source"] for r in ratings][0] == "human" and fit["reference"] == ratings[-1]["source"] == "random"
    assert ratings[-1]["strength"] == 0.0 and ratings[-1]["ci95"] == [0.0, 0.0]
    se = fisher_se(games, {r["source"]: r["strength"] for r in ratings})
    for r in ratings:
        assert r["se"] == pytest.approx(se[r["source"]], abs=2e-3)
        lo, hi = r["ci95"]
        assert (hi - lo) == pytest.approx(2 * 1.959964 * se[r["source"]], abs=1e-2)
        assert lo <= r["strength"] <= hi


def test_wins_games_and_matrix(games, fit):
    by = {r["source"]: r for r in fit["ratings"]}
    assert all(by[s]["games"] == 4 * 120 for s in TRUE)
    assert by["human"]["wins"] == int((games["winner"] == "human").sum())
    m = fit["win_matrix"]
    assert m["sources"] == [r["source"] for r in fit["ratings"]]
    wins = np.array(m["wins"])
    assert wins.sum() == len(games) == fit["n_games"] and np.all(np.diag(wins) == 0)
    assert np.all(wins + wins.T + np.eye(5, dtype=int) * 120 == 120)  # every pair played 120 games
    i, j = m["sources"].index("human"), m["sources"].index("random")
    assert wins[i, j] == int(((games["winner"] == "human") & games[["source_a", "source_b"]].isin(["random"])
                              .any(axis=1)).sum())


def test_a_tiny_arena_by_hand():
    # a beats b 2-1, b beats c 2-1, a beats c 2-1: the games look the same read backwards (c, b, a), so the steps
    # a-b and b-c are equal and a sits at twice b's strength above c; the value itself is checked against MM
    rows = [("a", "b", "a")] * 2 + [("a", "b", "b")] + [("b", "c", "b")] * 2 + [("b", "c", "c")] \
        + [("a", "c", "a")] * 2 + [("a", "c", "c")]
    games = pd.DataFrame([{"participant": f"p{i}", "source_a": a, "source_b": b, "winner": w}
                          for i, (a, b, w) in enumerate(rows)])
    got = {r["source"]: r["strength"] for r in bradley_terry(games)["ratings"]}
    assert got["c"] == 0 and math.isclose(got["a"], 2 * got["b"], rel_tol=1e-6)
    assert all(abs(got[s] - v) < 1e-4 for s, v in mm_fit(games).items())


@pytest.mark.parametrize("rows,message", [
    ([("a", "b", "a"), ("a", "b", "a")], "the source 'b' never won a game"),
    ([("a", "b", "a"), ("b", "c", "c"), ("c", "b", "b"), ("a", "c", "a")], "the source 'a' never lost a game"),
    ([("a", "b", "a"), ("b", "a", "a"), ("c", "d", "c"), ("d", "c", "d")], "'c', 'd' never played the others"),
    ([("a", "b", "a"), ("b", "a", "b"), ("c", "a", "c"), ("b", "c", "c"), ("a", "c", "a"), ("c", "b", "b"),
      ("d", "a", "a"), ("d", "b", "b"), ("c", "d", "d"), ("e", "d", "d")], "'e' never won"),
])
def test_unrankable_games_are_refused_in_one_sentence(rows, message):
    games = pd.DataFrame([{"participant": "p", "source_a": a, "source_b": b, "winner": w} for a, b, w in rows])
    with pytest.raises(UserError, match=message):
        bradley_terry(games)


def test_a_group_that_never_loses_to_the_rest_is_named():
    # a and b beat each other, and both beat c and d, who beat each other: {c, d} never won against {a, b}
    rows = [("a", "b", "a"), ("b", "a", "b"), ("c", "d", "c"), ("d", "c", "d"), ("a", "c", "a"), ("b", "d", "b")]
    games = pd.DataFrame([{"participant": "p", "source_a": a, "source_b": b, "winner": w} for a, b, w in rows])
    with pytest.raises(UserError, match="sources 'c', 'd' never won a game against the others"):
        bradley_terry(games)


HEADER = "participant,source_a,source_b,winner,is_catch,expected_winner,headphone_passed\n"


def arena_csv(games: pd.DataFrame) -> str:
    """``games`` plus one catch game per participant (a known tune against random notes); p0 fails it and the
    headphone check."""
    phones = {p: "false" if p == "p0" else "true" for p in set(games["participant"])}
    rows = [f"{r.participant},{r.source_a},{r.source_b},{r.winner},false,,{phones[r.participant]}"
            for r in games.itertuples()]
    for p in sorted(set(games["participant"])):
        chose = "catch-noise" if p == "p0" else "catch-tune"
        rows.append(f"{p},catch-tune,catch-noise,{chose},true,catch-tune,{'false' if p == 'p0' else 'true'}")
    return HEADER + "\n".join(rows) + "\n"


def test_csv_round_trip_and_screening(games):
    df = read_any(arena_csv(games).encode())
    assert len(df) == len(games) + 30 and int(df["is_catch"].sum()) == 30
    again = read_any(arena_to_csv(df).encode())
    pd.testing.assert_frame_equal(df, again, check_dtype=False)
    table = check_table(df).set_index("participant")
    assert bool(table.loc["p0", "failed_catch"]) and bool(table.loc["p0", "failed_headphones"])
    assert not table.loc["p1", "failed_catch"] and table.loc["p1", "answers"] == 40
    s = arena_summary(df)
    assert s["n_catch"] == 30 and s["arena"]["n_games"] == len(games)  # catch games never rated
    assert "catch-tune" not in {r["source"] for r in s["arena"]["ratings"]}


def test_cli_json_contract_and_exclusions(tmp_path, capsys, games):
    path = tmp_path / "arena.csv"
    path.write_text(arena_csv(games))
    assert main(["survey-stats", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["design"] == "arena" and out["excluded"] == []
    a = out["arena"]
    assert {"ratings", "win_matrix", "n_games", "n_participants", "reference", "method"} <= set(a)
    assert all({"source", "strength", "ci95", "wins", "games"} <= set(r) for r in a["ratings"])
    assert (a["n_games"], a["n_participants"]) == (1200, 30)
    assert [r["strength"] for r in a["ratings"]] == pytest.approx([r["strength"] for r in bradley_terry(games)
                                                                   ["ratings"]])
    assert main(["survey-stats", str(path), "--json", "--exclude-failed-checks"]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert kept["excluded"] == [{"participant": "p0", "reason": "failed a catch clip; failed the headphone check"}]
    assert kept["arena"]["n_games"] == 1200 - 40 and kept["arena"]["n_participants"] == 29
    expected = bradley_terry(games[games["participant"] != "p0"])["ratings"]
    assert [r["strength"] for r in kept["arena"]["ratings"]] == pytest.approx([r["strength"] for r in expected])


def test_cli_leaderboard_text(tmp_path, capsys, games):
    path = tmp_path / "arena.csv"
    path.write_text(arena_to_csv(games))
    assert main(["survey-stats", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Arena: 1200 games by 30 participants, 5 sources."
    table = lines[lines.index(next(x for x in lines if x.strip().startswith("rank"))) + 1:][:5]
    assert [t.split()[1] for t in table] == ["human", "folk-gpt", "lstm", "markov", "random"]
    assert table[-1].split()[2:] == ["0.00", "0.00", "to", "0.00", str(int((games["winner"] == "random").sum())),
                                     "480"]


@pytest.mark.parametrize("body,message", [
    ("p1,a,b,c\n", "winner 'c' in row 2 is neither of the row's sources, 'a' and 'b'."),
    ("p1,a,b,a\np1,a,a,a\n", "row 3 pits source 'a' against itself."),
    ("p1,a,b,a\np2,a,,a\n", "source_b is empty in row 3."),
    ("p1,a,b,a\n,a,b,b\n", "participant is empty in row 3."),
    ("p1,a,b,NaN\n", "winner is empty in row 2."),
    ("p1,a,b,a\np1,b,a,a\n", "the source 'b' never won a game"),
    ("", "has no responses: only a header."),
])
def test_bad_rows_exit_2_with_one_sentence(tmp_path, capsys, body, message):
    path = tmp_path / "arena.csv"
    path.write_text("participant,source_a,source_b,winner\n" + body)
    assert main(["survey-stats", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: ") and message in captured.err
    assert captured.err.count("\n") == 1


def test_missing_column_and_margin_are_refused(tmp_path, capsys, games):
    path = tmp_path / "arena.csv"
    path.write_text("participant,source_a,winner\np1,a,a\n")
    assert main(["survey-stats", str(path)]) == 2
    assert "missing the column source_b (an arena file needs participant, source_a, source_b, winner)" \
        in capsys.readouterr().err
    path.write_text(arena_to_csv(games))
    assert main(["survey-stats", str(path), "--margin", "0.1"]) == 2
    assert "leave out --margin" in capsys.readouterr().err


def test_the_documented_example(capsys):
    assert main(["survey-stats", str(ROOT / "docs" / "examples" / "survey_arena.csv"), "--json",
                 "--exclude-failed-checks"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["excluded"] == [{"participant": "ex-06", "reason": "failed a catch clip; failed the headphone check"}]
    got = [(r["source"], round(r["strength"], 2), [round(x, 2) for x in r["ci95"]], r["wins"], r["games"])
           for r in out["arena"]["ratings"]]
    # as docs/researchers.md quotes them
    assert got == [("human", 2.24, [0.55, 3.93], 12, 15), ("gpt-folk", 1.47, [-0.06, 3.01], 9, 15),
                   ("lstm", 0.77, [-0.69, 2.22], 6, 15), ("markov", 0.0, [0.0, 0.0], 3, 15)]


def test_chart_and_paragraph_of_the_example():
    from core.survey.stats.arena import arena_paragraph, leaderboard_chart
    from core.survey.stats.checks import exclude_failed

    kept, excluded = exclude_failed(read_any(ROOT / "docs" / "examples" / "survey_arena.csv"))
    s = arena_summary(kept)
    assert leaderboard_chart(s, "png").startswith(b"\x89PNG") and b"<svg" in leaderboard_chart(s, "svg")
    with pytest.raises(ValueError, match="png or svg"):
        leaderboard_chart(s, "gif")
    text = arena_paragraph(s, excluded.to_dict("records"), "Which do you prefer?")
    assert '"Which do you prefer?" (4 sources;' in text and "1 participant was excluded" in text
    assert "to 30 games" in text and "human ranked first (12 wins in 15 games; strength 2.24" in text
