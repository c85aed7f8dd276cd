"""Survey statistics against values worked out independently: by hand, from closed forms, or from the
published examples (Krippendorff 2011; the R1 and R5 reports' own figures)."""

from __future__ import annotations

import itertools
import json
import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from core.survey import stats

Z = NormalDist().inv_cdf(0.975)  # 1.959964...


def isclose(a: float | None, b: float, tol: float = 1e-9) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval, straight from its formula."""
    p = k / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return centre - half, centre + half


def frame(rows: list[tuple], columns: str = "participant clip truth vote rating group") -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns.split())
    if "rating" in df:
        df["rating"] = df["rating"].astype("Int64")
    return df


def r1_frame() -> pd.DataFrame:
    """R1's survey: 35 respondents x 10 clips (5 human, 5 machine) = 350 votes, 175 correct, 220 "machine".

    Machine clips: 22 of 35 votes say machine (5 x 22 = 110 correct); human clips: 13 of 35 say human
    (5 x 13 = 65 correct); 110 + 65 = 175 correct; machine votes 110 + 5 x 22 = 220; human votes 130.
    """
    rows = []
    for p in range(35):
        for j in range(5):
            said_machine = (p + 7 * j) % 35 < 22
            rows.append((f"p{p:02d}", f"m{j}", "machine", "machine" if said_machine else "human", None, "lstm"))
            said_human = (p + 7 * j) % 35 < 13
            rows.append((f"p{p:02d}", f"h{j}", "human", "human" if said_human else "machine", None, "oneills"))
    return frame(rows)


def test_r1_published_table_with_interval_test_and_lean():
    df = r1_frame()
    s = stats.summary(df)
    assert s["n_responses"] == 350 and s["votes"] == {"human": 130, "machine": 220}
    o = s["overall"]
    assert (o["n"], o["correct"], o["incorrect"]) == (350, 175, 175)
    assert o["accuracy"] == 0.5 and o["error_rate"] == 0.5
    lo, hi = wilson(175, 350)
    assert isclose(o["ci95"][0], lo) and isclose(o["ci95"][1], hi)
    assert isclose(lo, 0.4479, 1e-4)  # half-width about 5.2 points: 350 votes cannot rule out 45% or 55%
    assert o["p_value"] == 1.0  # 175 of 350 is the mode of Binomial(350, 0.5): every outcome is at most as likely
    # Per category over its own votes: machine clips wrong = voted human = 65 / 175; human clips 110 / 175.
    assert isclose(s["by_truth"]["machine"]["error_rate"], 65 / 175)
    assert isclose(s["by_truth"]["human"]["error_rate"], 110 / 175)
    assert isclose(s["by_truth"]["human"]["ci95"][1], wilson(110, 175)[1])
    # Signal detection: hits 110/175 and false alarms 110/175: d' = 0, c = -z(22/35) < 0 (lean to "machine").
    sdt = s["sdt"]
    assert isclose(sdt["hit_rate"], 22 / 35) and isclose(sdt["false_alarm_rate"], 22 / 35)
    assert isclose(sdt["d_prime"], 0.0)
    assert isclose(sdt["criterion"], -NormalDist().inv_cdf(22 / 35))
    assert isclose(sdt["criterion"], -0.32807, 1e-4)
    assert s["totals"] == {
        "n_votes": 350,
        "votes_human": 130,
        "votes_machine": 220,
        "correct": 175,
        "incorrect": 175,
        "error_rate": 0.5,
    }
    m0 = next(c for c in s["clips"] if c["clip"] == "m0")
    assert (m0["votes_machine"], m0["votes_human"], m0["correct"]) == (22, 13, 22)
    assert isclose(m0["error_rate"], 13 / 35) and m0["rating_mean"] is None and m0["p_natural"] is None


@pytest.mark.parametrize(
    "correction,rate",
    [("1/2N", 1 - 1 / 40), ("loglinear", 20.5 / 21)],  # 20 votes per truth, all "machine"
)
def test_fifty_percent_accuracy_with_a_strong_lean(correction, rate):
    """Everyone always answers "machine": accuracy exactly 50%, no discrimination, an extreme lean."""
    rows = [
        (f"p{p}", f"{t[0]}{c}", t, "machine", None, None)
        for p in range(4)
        for t in ("human", "machine")
        for c in range(5)
    ]
    df = frame(rows)
    rates = stats.error_rates(df)["overall"]
    assert rates["accuracy"] == 0.5 and rates["p_value"] == 1.0
    sdt = stats.signal_detection(df, correction=correction)
    assert sdt["hit_rate"] == 1.0 and sdt["false_alarm_rate"] == 1.0  # reported as observed
    assert isclose(sdt["d_prime"], 0.0)
    assert isclose(sdt["criterion"], -NormalDist().inv_cdf(rate))  # 1/2N: -1.95996 (z of 0.975)


def test_signal_detection_by_hand_and_unsupported_cases():
    # 8 of 10 machine clips called machine, 2 of 10 human clips called machine: d' = 2 z(0.8), c = 0.
    rows = [("p", f"m{i}", "machine", "machine" if i < 8 else "human", None, None) for i in range(10)]
    rows += [("p", f"h{i}", "human", "machine" if i < 2 else "human", None, None) for i in range(10)]
    sdt = stats.signal_detection(frame(rows))
    assert isclose(sdt["d_prime"], 2 * NormalDist().inv_cdf(0.8)) and isclose(sdt["criterion"], 0.0)
    only_machine = stats.signal_detection(frame(rows[:10]))
    assert only_machine["false_alarm_rate"] is None and only_machine["d_prime"] is None
    assert only_machine["criterion"] is None and isclose(only_machine["hit_rate"], 0.8)


def test_wilson_and_binomial_by_hand():
    assert stats.wilson_interval(0, 0) is None and stats.binomial_p_value(0, 0) is None
    lo, hi = stats.wilson_interval(0, 10)
    assert lo == pytest.approx(0, abs=1e-12) and isclose(hi, Z**2 / (10 + Z**2))  # 0.27753
    assert all(isclose(a, b) for a, b in zip(stats.wilson_interval(7, 10), wilson(7, 10), strict=True))
    # P(X >= 7) + P(X <= 3) for Binomial(10, 1/2) = 2 (120 + 45 + 10 + 1) / 1024
    assert isclose(stats.binomial_p_value(7, 10), 352 / 1024)
    assert isclose(stats.binomial_p_value(10, 10), 2 / 1024)


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1 = 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06
    adjusted = stats.holm_adjust([0.01, 0.04, None, 0.03])
    assert adjusted[2] is None
    assert all(isclose(a, b) for a, b in zip([adjusted[0], adjusted[1], adjusted[3]], [0.03, 0.06, 0.06], strict=True))


def fisher_two_sided(a: int, b: int, c: int, d: int) -> float:
    """Fisher's exact test from the hypergeometric distribution: sum of tables no likelier than the observed."""
    row, col, n = a + b, a + c, a + b + c + d

    def p(k: int) -> float:
        return math.comb(col, k) * math.comb(n - col, row - k) / math.comb(n, row)

    observed = p(a)
    ks = range(max(0, row + col - n), min(row, col) + 1)
    return sum(p(k) for k in ks if p(k) <= observed * (1 + 1e-7))


def groups_frame() -> pd.DataFrame:
    """Model A: 3 of 10 votes say human; model B: 8 of 10; human clips: 7 of 10."""
    rows = [(f"p{i}", "a1", "machine", "human" if i < 3 else "machine", None, "A") for i in range(10)]
    rows += [(f"p{i}", "b1", "machine", "human" if i < 8 else "machine", None, "B") for i in range(10)]
    rows += [(f"p{i}", "h1", "human", "human" if i < 7 else "machine", None, "corpus") for i in range(10)]
    return frame(rows)


def test_group_shares_with_intervals_tests_and_holm():
    table = stats.group_shares(groups_frame()).set_index("group")
    assert list(table.index) == ["A", "B"]
    assert isclose(table.at["A", "share_human"], 0.3) and isclose(table.at["B", "share_human"], 0.8)
    assert isclose(table.at["A", "ci95_lo"], wilson(3, 10)[0]) and isclose(table.at["B", "ci95_hi"], wilson(8, 10)[1])
    assert isclose(table.at["A", "p_vs_half"], 352 / 1024)  # 3 of 10: 2 (1 + 10 + 45 + 120) / 1024
    assert isclose(table.at["B", "p_vs_half"], 112 / 1024)  # 8 of 10: 2 (1 + 10 + 45) / 1024
    assert isclose(table.at["B", "p_vs_half_holm"], 2 * 112 / 1024)  # smaller of two: times 2
    assert isclose(table.at["A", "p_vs_half_holm"], 352 / 1024)  # max(0.21875, 0.34375 x 1)
    assert isclose(table.at["A", "p_vs_human"], fisher_two_sided(3, 7, 7, 3))  # 2 x 16526 / 184756
    assert isclose(table.at["A", "p_vs_human"], 33052 / 184756)
    assert isclose(table.at["B", "p_vs_human"], fisher_two_sided(8, 2, 7, 3))
    pairs = stats.pairwise_groups(groups_frame())
    assert len(pairs) == 1 and isclose(pairs.at[0, "difference"], -0.5)
    assert isclose(pairs.at[0, "p_value"], fisher_two_sided(3, 7, 8, 2)) and isclose(
        pairs.at[0, "p_holm"], pairs.at[0, "p_value"]
    )


def test_ratings_reproduce_r5_figures():
    """R5: "mean 4.45 and 3.45%" and "3.59 and 27.59%" over 29 respondents (share of ratings 1-2)."""
    song1 = [2] + [5] * 15 + [4] * 13  # sum 129: mean 129/29 = 4.448, 1 natural of 29
    song2 = [2] * 8 + [5] * 4 + [4] * 17  # sum 104: mean 104/29 = 3.586, 8 natural of 29
    rows = [(f"p{i}", "s1", "machine", None, r, "ae") for i, r in enumerate(song1)]
    rows += [(f"p{i}", "s2", "machine", None, r, "lstm") for i, r in enumerate(song2)]
    by_clip = stats.ratings_by(frame(rows), "clip")
    assert round(by_clip["s1"]["mean"], 2) == 4.45 and round(100 * by_clip["s1"]["p_natural"], 2) == 3.45
    assert round(by_clip["s2"]["mean"], 2) == 3.59 and round(100 * by_clip["s2"]["p_natural"], 2) == 27.59
    assert by_clip["s1"]["median"] == 5 and by_clip["s2"]["median"] == 4


def test_rating_summary_by_hand():
    s = stats.rating_summary(pd.Series([1, 2, 2, 3, 5, None], dtype="Int64"))
    # mean 13/5; squared deviations 2.56 + 0.36 + 0.36 + 0.16 + 5.76 = 9.2, / 4 = 2.3
    assert s["n"] == 5 and isclose(s["mean"], 2.6) and s["median"] == 2.0
    assert isclose(s["sd"], math.sqrt(2.3)) and isclose(s["p_natural"], 0.6)
    assert stats.rating_summary(pd.Series([], dtype="Int64")) == {
        "n": 0,
        "mean": None,
        "median": None,
        "sd": None,
        "p_natural": None,
    }


def test_mann_whitney_exact_and_kruskal_without_ties():
    # human [1, 2], model A [3, 4], model B [5]: all distinct.
    rows = [
        ("p1", "h1", "human", None, 1, None),
        ("p2", "h1", "human", None, 2, None),
        ("p1", "a1", "machine", None, 3, "A"),
        ("p2", "a1", "machine", None, 4, "A"),
        ("p1", "b1", "machine", None, 5, "B"),
    ]
    t = stats.rating_tests(frame(rows))
    a = next(r for r in t["mann_whitney"] if r["group"] == "A")
    # U_A = 4 of 4 pairs higher; exact two-sided p: 1 of C(4, 2) = 6 orderings as extreme, doubled.
    assert a["u"] == 4 and a["common_language"] == 1 and a["rank_biserial"] == 1 and isclose(a["p_value"], 2 / 6)
    kw = t["kruskal_wallis"]
    # ranks 1..5: H = 12/(5 x 6) (3²/2 + 7²/2 + 5²/1) - 3 x 6 = 3.6; chi² with 2 df: p = exp(-H/2)
    assert kw["k"] == 3 and isclose(kw["h"], 3.6) and isclose(kw["p_value"], math.exp(-1.8))
    assert isclose(kw["epsilon_squared"], 3.6 / 4)


def test_mann_whitney_normal_approximation_and_kruskal_with_ties():
    model = [2, 3, 3, 4, 5]
    human = [1, 2, 2, 3]
    rows = [(f"m{i}", "a", "machine", None, r, "A") for i, r in enumerate(model)]
    rows += [(f"h{i}", "h", "human", None, r, None) for i, r in enumerate(human)]
    t = stats.rating_tests(frame(rows))
    mw = t["mann_whitney"][0]
    # U: per model rating, human ratings below + half the ties: 2 + 3.5 + 3.5 + 4 + 4 = 17 of 20 pairs
    assert mw["u"] == 17 and isclose(mw["common_language"], 0.85) and isclose(mw["rank_biserial"], 0.7)
    # ties: three 2s and three 3s, sum(t³ - t) = 48; sigma² = 20/12 (10 - 48/72); continuity correction 0.5
    sigma = math.sqrt(20 / 12 * (10 - 48 / 72))
    assert isclose(mw["p_value"], 2 * (1 - NormalDist().cdf((17 - 10 - 0.5) / sigma)))
    assert isclose(mw["p_holm"], mw["p_value"])
    # ranks: model 3, 6, 6, 8, 9 (sum 32), human 1, 3, 3, 6 (13); H = (12/90 (32²/5 + 13²/4) - 30) / (1 - 48/720)
    h = (12 / 90 * (32**2 / 5 + 13**2 / 4) - 30) / (1 - 48 / 720)
    kw = t["kruskal_wallis"]
    assert isclose(kw["h"], h) and isclose(kw["p_value"], math.erfc(math.sqrt(h / 2)))  # chi², 1 df


def test_rating_tests_unsupported_cases():
    same = frame([("p1", "h", "human", None, 3, None), ("p1", "m", "machine", None, 3, None)])
    kw = stats.rating_tests(same)["kruskal_wallis"]
    assert kw["h"] is None and kw["p_value"] is None
    only_machine = stats.rating_tests(frame([("p1", "m", "machine", None, 3, None)]))
    assert only_machine["kruskal_wallis"] is None and only_machine["mann_whitney"][0]["p_value"] is None


def catch_frame() -> pd.DataFrame:
    cols = "participant clip truth vote rating group listening_ms is_catch musical_training"
    rows = []
    answers = {
        "a": ["machine", "human", "machine", "human", "machine"],  # 4 of 4 right, catch right
        "b": ["machine", "machine", "human", "human", "machine"],  # 2 of 4 right, catch right
        "c": ["human", "machine", "human", "human", "human"],  # 1 of 4 right, fails catch
        "d": ["machine", "human", "machine", "machine", "machine"],  # 3 of 4 right, listens 1 s
    }
    truths = ["machine", "human", "machine", "human", "machine"]
    training = {"a": "professional", "b": "none", "c": "none", "d": "professional"}
    for pid, votes in answers.items():
        for i, (truth, vote) in enumerate(zip(truths, votes, strict=True)):
            rows.append(
                (
                    pid,
                    f"c{i}" if i < 4 else "catch",
                    truth,
                    vote,
                    None,
                    None,
                    1000.0 if pid == "d" else 30000.0,
                    i == 4,
                    training[pid],
                )
            )
    return frame(rows, cols)


def test_participants_catch_clips_and_exclusions():
    df = catch_frame()
    table = stats.participant_table(df).set_index("participant")
    assert table["accuracy"].to_dict() == {"a": 1.0, "b": 0.5, "c": 0.25, "d": 0.75}  # catch clip not counted
    assert table["failed_catch"].to_dict() == {"a": False, "b": False, "c": True, "d": False}
    assert table.at["d", "median_listening_ms"] == 1000.0 and table.at["a", "musical_training"] == "professional"
    assert stats.summary(df)["n_responses"] == 16 and stats.summary(df)["n_catch"] == 4
    kept, excluded = stats.exclusions(df, drop_failed_catch=True, min_listening_ms=5000)
    assert sorted(kept["participant"].unique()) == ["a", "b"]
    assert excluded.set_index("participant")["reason"].to_dict() == {
        "c": "failed a catch clip",
        "d": "median listening time 1000 ms < 5000 ms",
    }
    kept, excluded = stats.exclusions(df, drop_failed_catch=False)
    assert len(kept) == len(df) and excluded.empty


def test_failed_catch_by_rating_when_no_vote():
    cols = "participant clip truth vote rating is_catch"
    df = frame(
        [
            ("p1", "k", "human", None, 5, True),
            ("p2", "k", "human", None, 3, True),
            ("p3", "k", "machine", None, 2, True),
            ("p4", "k", "machine", "machine", 1, True),
        ],
        cols,
    )
    # vote wins over rating; without a vote, 4-5 on a human clip or 1-2 on a machine clip fails
    assert stats.failed_catch(df) == {"p1": True, "p2": False, "p3": True, "p4": False}


def test_accuracy_distribution_by_hand():
    table = pd.DataFrame({"accuracy": [0.6, 0.4, 0.8]})
    d = stats.accuracy_distribution(table)
    assert isclose(d["mean"], 0.6) and isclose(d["sd"], 0.2) and d["median"] == 0.6
    t = 0.1 / (0.2 / math.sqrt(3))
    assert isclose(d["t"], t)
    assert isclose(d["p_value"], 1 - t / math.sqrt(2 + t**2))  # Student t with 2 df in closed form
    single = stats.accuracy_distribution(pd.DataFrame({"accuracy": [0.7]}))
    assert single["sd"] is None and single["p_value"] is None and single["mean"] == 0.7


def test_accuracy_by_demographic_answer():
    df = catch_frame()
    table = stats.accuracy_by(df, "musical_training").set_index("level")
    # professional: a 4/4 + d 3/4; none: b 2/4 + c 1/4 (catch clips left out)
    assert table.at["professional", "correct"] == 7 and table.at["professional", "n_votes"] == 8
    assert isclose(table.at["none", "accuracy"], 3 / 8) and isclose(table.at["none", "ci95_lo"], wilson(3, 8)[0])
    test = stats.accuracy_by_test(df, "musical_training")
    # participant accuracies: professional 1.0, 0.75 (ranks 4, 3); none 0.5, 0.25 (ranks 2, 1)
    h = 12 / 20 * (7**2 / 2 + 3**2 / 2) - 15
    assert test["k"] == 2 and isclose(test["h"], h) and isclose(test["p_value"], math.erfc(math.sqrt(h / 2)))
    assert stats.accuracy_by(df, "age_band") is None and stats.accuracy_by_test(df, "age_band") is None


def test_agreement_by_hand():
    # 3 clips x 4 raters: clip 1 all machine, clip 2 split 2/2, clip 3 all human.
    votes = {"c1": "MMMM", "c2": "MMHH", "c3": "HHHH"}
    rows = [
        (f"p{i}", clip, "machine", "machine" if v == "M" else "human", None, None)
        for clip, vs in votes.items()
        for i, v in enumerate(vs)
    ]
    a = stats.agreement(frame(rows))["votes"]
    # Fleiss: P_i = 1, 1/3, 1 -> mean 7/9; P_e = 0.5² + 0.5²; kappa = (7/9 - 1/2) / (1/2) = 5/9
    assert isclose(a["fleiss_kappa"], 5 / 9)
    # Krippendorff: coincidences o_MH = o_HM = 4/3, n = 12, n_M = n_H = 6: alpha = 1 - 11 (8/3) / 72 = 16/27
    assert isclose(a["krippendorff_alpha"], 16 / 27)


def test_krippendorff_alpha_published_example():
    """Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units, values 1-5;
    the paper gives alpha = 0.743 nominal and 0.815 ordinal. Ratings here are ordinal."""
    data = {"A": "1233214 12...", "B": "1233224 125.3", "C": ".333234 2251.", "D": "1233244 1251."}
    rows = []
    for rater, values in data.items():
        for unit, value in enumerate(values.replace(" ", "")):
            if value != ".":
                rows.append((rater, f"u{unit}", "machine", None, int(value), None))
    alpha = stats.agreement(frame(rows))["ratings"]["krippendorff_alpha"]
    assert math.isclose(alpha, 0.815, abs_tol=0.0005)


def test_agreement_unsupported():
    one_each = frame([("p1", "c1", "human", "human", None, None), ("p2", "c2", "human", "machine", None, None)])
    a = stats.agreement(one_each)
    assert a["votes"]["krippendorff_alpha"] is None and a["ratings"]["krippendorff_alpha"] is None
    uneven = frame(
        [
            ("p1", "c1", "human", "human", None, None),
            ("p2", "c1", "human", "machine", None, None),
            ("p1", "c2", "human", "human", None, None),
        ]
    )
    assert stats.agreement(uneven)["votes"]["fleiss_kappa"] is None  # clips heard by different numbers


def test_power_by_hand():
    h = 2 * math.asin(math.sqrt(0.6)) - 2 * math.asin(math.sqrt(0.5))
    expected = math.ceil(((Z + NormalDist().inv_cdf(0.8)) / h) ** 2)
    assert stats.votes_needed(0.6) == expected == 194
    # Binomial(20, 1/2) two-sided at 5%: reject k <= 5 or k >= 15 (P(X <= 5) = 0.0207, P(X <= 6) = 0.0577)
    power = sum(math.comb(20, k) * 0.7**k * 0.3 ** (20 - k) for k in [*range(6), *range(15, 21)])
    assert isclose(stats.binomial_power(20, 0.7), power)
    plan = stats.power_plan(0.6, clips_per_participant=10, icc=0.1)
    assert plan["design_effect"] == pytest.approx(1.9) and plan["participants"] == math.ceil(194 * 1.9 / 10)
    assert plan["votes"] == 370 and 0.8 < plan["exact_power"] < 1
    with pytest.raises(ValueError):
        stats.votes_needed(0.5)


def discriminating_frame() -> pd.DataFrame:
    """12 listeners x 8 clips (4 machine from two models, 4 human); machine clips are called machine 75% of
    the time and human clips 25%, with the wrong answers spread over listeners and clips."""
    rows = []
    for p in range(12):
        for j in range(4):
            wrong = (p + 3 * j) % 4 == 0
            rows.append((f"p{p}", f"m{j}", "machine", "human" if wrong else "machine", None, "A" if j < 2 else "B"))
            wrong = (p + 3 * j + 1) % 4 == 0
            rows.append((f"p{p}", f"h{j}", "human", "machine" if wrong else "human", None, None))
    return frame(rows)


def test_mixed_model_matches_a_formula_fit_and_finds_the_effect():
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    df = discriminating_frame()
    result = stats.mixed_model(df)
    assert result["n"] == 96 and result["groups"] == ["A", "B"] and result["converged"]
    terms = {f["term"]: f for f in result["fixed"]}
    assert terms["A"]["ci95"][0] > 0 and terms["B"]["ci95"][0] > 0 and terms["intercept"]["ci95"][1] < 0
    assert terms["A"]["p_holm"] >= terms["A"]["p_value"] and terms["intercept"]["p_holm"] is None
    # The same model written as a formula (statsmodels' documented interface) agrees.
    data = df.assign(
        y=(df["vote"] == "machine").astype(float),
        A=(df["group"] == "A").astype(float),
        B=(df["group"] == "B").astype(float),
    )
    ref = BinomialBayesMixedGLM.from_formula(
        "y ~ A + B", {"participant": "0 + C(participant)", "clip": "0 + C(clip)"}, data
    ).fit_vb(rng=np.random.default_rng(0))
    assert all(
        math.isclose(terms[n]["estimate"], m, rel_tol=1e-4)
        for n, m in zip(["intercept", "A", "B"], ref.fe_mean, strict=True)
    )
    assert math.isclose(result["random_sd"]["participant"], math.exp(ref.vcp_mean[0]), rel_tol=1e-4)
    # Near the pooled log odds (balanced design, small random effects), shrunk a little by the N(0, 2²) prior:
    # human clips called machine 25% -> logit -ln 3; machine clips 75% -> difference ln 3 - (-ln 3) = ln 9.
    assert math.isclose(terms["intercept"]["estimate"], -math.log(3), abs_tol=0.25)
    assert math.isclose(terms["A"]["estimate"], math.log(9), abs_tol=0.25)


def test_mixed_model_on_r1_finds_no_effect_and_needs_both_truths():
    r1 = stats.mixed_model(r1_frame())
    lstm = next(f for f in r1["fixed"] if f["term"] == "lstm")
    assert lstm["ci95"][0] < 0 < lstm["ci95"][1]  # machine clips not called machine more than human clips
    intercept = r1["fixed"][0]
    assert intercept["estimate"] > 0  # human clips called machine more often than not (110 of 175)
    assert stats.mixed_model(r1_frame().query("truth == 'machine'")) is None


def test_summary_null_where_unsupported_and_valid_json():
    ratings_only = frame([("p1", "h", "human", None, 2, None), ("p1", "m", "machine", None, 4, None)])
    s = stats.summary(ratings_only, full=True)
    assert s["overall"]["accuracy"] is None and s["overall"]["ci95"] is None and s["overall"]["p_value"] is None
    assert s["by_truth"]["human"]["error_rate"] is None and s["sdt"]["d_prime"] is None
    assert s["ratings"]["by_group"] is None and s["ratings"]["by_truth"]["human"]["mean"] == 2
    assert s["clips"][0]["error_rate"] is None and s["clips"][0]["rating_mean"] == 2 and s["mixed_model"] is None
    votes_only = stats.summary(r1_frame(), full=True)
    assert votes_only["ratings"]["by_truth"]["machine"] == {
        "n": 0,
        "mean": None,
        "median": None,
        "sd": None,
        "p_natural": None,
    }
    assert set(votes_only["ratings"]["by_group"]) == {"lstm", "oneills"}
    for s in (stats.summary(ratings_only, full=True), votes_only):
        json.dumps(s, allow_nan=False)


def test_explain_says_what_the_numbers_mean():
    lines = stats.explain(stats.summary(r1_frame()))
    assert "50.0% of 350 votes" in lines["accuracy"] and "44.8% and 55.2%" in lines["accuracy"]
    assert "hardly at all" in lines["d_prime"] and "towards 'machine'" in lines["criterion"]


def test_summary_reports_the_power_the_survey_had():
    """R1's 350 votes: exact power against a true accuracy of 60%, from binomial probabilities summed by hand."""
    n = 350
    pmf_half = [math.comb(n, k) / 2**n for k in range(n + 1)]
    cdf = list(itertools.accumulate(pmf_half))
    # two-sided p-value of k (symmetric null): 2 min(P(X <= k), P(X >= k)), capped at 1
    reject = [k for k in range(n + 1) if min(1.0, 2 * min(cdf[k], 1 - (cdf[k - 1] if k else 0))) <= 0.05]
    power = sum(math.comb(n, k) * 0.6**k * 0.4 ** (n - k) for k in reject)
    s = stats.summary(r1_frame())["power"]
    assert s["n"] == 350 and isclose(s["exact_power"], power, 1e-7) and 0.95 < power < 0.99
