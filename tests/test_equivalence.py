"""Equivalence (TOST), its power and the planner, the headline verdict: values worked by hand or published."""

from __future__ import annotations

import math

import pytest
from scipy.stats import binom, norm

from core.errors import UserError
from core.survey.stats import equivalence as E
from core.survey.stats.summary import summary
from tests.test_stats import r1_frame


def test_tost_by_hand_two_answers():
    # 1 of 2 correct, region (0.1, 0.9): P(X >= 1 | 0.1) = 1 - 0.9^2 = 0.19 and P(X <= 1 | 0.9) = 1 - 0.81 = 0.19
    t = E.tost(1, 2, margin=0.4)
    assert math.isclose(t["p_lower"], 0.19) and math.isclose(t["p_upper"], 0.19) and math.isclose(t["p_value"], 0.19)
    assert t["equivalent"] is False


def test_tost_matches_the_two_exact_one_sided_tails():
    t = E.tost(55, 100, margin=0.1)
    assert math.isclose(t["p_lower"], binom.sf(54, 100, 0.4), rel_tol=1e-9)  # P(X >= 55 | 0.4)
    assert math.isclose(t["p_upper"], binom.cdf(55, 100, 0.6), rel_tol=1e-9)  # P(X <= 55 | 0.6)
    assert math.isclose(t["p_value"], max(t["p_lower"], t["p_upper"])) and not t["equivalent"]


@pytest.mark.parametrize("n", [40, 200, 350])
def test_tost_passes_exactly_when_the_90_percent_interval_lies_inside_the_region(n):
    for k in range(n + 1):
        t = E.tost(k, n, 0.1)
        lo, hi = t["ci90"]
        assert t["equivalent"] == (lo > 0.4 and hi < 0.6), (k, n, t)


def test_r1_published_survey_is_equivalent_at_a_ten_point_margin():
    # R1: 175 of 350 votes correct. Binomial p = 1 says nothing; the 90% interval 45.5-54.5% lies inside 40-60%.
    s = summary(r1_frame(), margin=0.1)
    eq = s["equivalence"]
    assert eq["equivalent"] and eq["p_value"] < 0.001 and 0.45 < eq["ci90"][0] < 0.46 < 0.54 < eq["ci90"][1] < 0.55
    assert s["headline"]["verdict"] == "could_not_tell"
    assert s["headline"]["sentence"].startswith("Listeners could not tell them apart")
    assert summary(r1_frame(), margin=0.02)["headline"]["verdict"] == "inconclusive"


def test_power_by_hand():
    # n = 2, region (0.1, 0.9), alpha 0.2: only k = 1 is declared equivalent (p = 0.19); P(k = 1 | 0.5) = 0.5
    assert math.isclose(E.tost_power(2, 0.4, 0.5, alpha=0.2), 0.5)
    # n = 10, region (0.2, 0.8), alpha 0.05: P(X >= 5 | 0.2) = 0.0328 < 0.05 but P(X >= 4 | 0.2) = 0.121, and the
    # mirror image on the other side: only k = 5 passes; P(k = 5 | 0.5) = 252 / 1024
    assert math.isclose(E.tost_power(10, 0.3), 252 / 1024)
    assert E.tost_power(0, 0.1) == 0.0


def test_votes_for_equivalence_is_the_first_count_with_lasting_power():
    n = E.votes_for_equivalence(0.1)
    assert n == 227
    assert all(E.tost_power(k, 0.1) >= 0.8 for k in range(n, n + 21)) and E.tost_power(n - 1, 0.1) < 0.8
    normal = (norm.ppf(0.95) + norm.ppf(0.9)) ** 2 * 0.25 / 0.1**2  # 214: the normal approximation
    assert abs(n - normal) / normal < 0.1
    assert E.votes_for_equivalence(0.2) < E.votes_for_equivalence(0.15) < n < E.votes_for_equivalence(0.05)


def test_plan_inflates_by_the_design_effect():
    plan = E.plan_participants(0.1, answers_per_participant=10, icc=0.05)
    assert math.isclose(plan["design_effect"], 1.45)  # 1 + (10 - 1) x 0.05
    assert plan["participants"] == math.ceil(227 * 1.45 / 10) == 33 and plan["votes"] == 330
    assert E.plan_participants(0.1, 10, icc=0.0)["participants"] == 23
    with pytest.raises(UserError, match="intra-class"):
        E.plan_participants(0.1, 10, icc=1.0)


@pytest.mark.parametrize("bad", [0, 0.5, -0.1, 0.7, float("nan"), "wide"])
def test_margin_outside_zero_to_half_is_one_sentence(bad):
    with pytest.raises(UserError, match=r"^The equivalence margin must .*\.$"):
        E.check_margin(bad)


def test_verdict_cases():
    eq_pass = E.tost(175, 350, 0.1)
    assert E.verdict(1.0, 0.5, eq_pass)["verdict"] == "could_not_tell"
    eq_fail = E.tost(80, 100, 0.1)
    assert E.verdict(1e-9, 0.8, eq_fail)["verdict"] == "could_tell"
    assert "better than chance" in E.verdict(1e-9, 0.8, eq_fail)["sentence"]
    eq_none = E.tost(6, 10, 0.1)
    assert E.verdict(0.75, 0.6, eq_none)["verdict"] == "inconclusive"
    big = E.tost(5300, 10000, 0.1)  # 53%: both tests pass with 10,000 answers
    v = E.verdict(float(2 * binom.sf(5299, 10000, 0.5)), 0.53, big)
    assert v["verdict"] == "could_tell" and "only slightly" in v["sentence"]


def test_cli_json_of_the_single_design_gains_equivalence_and_keeps_its_keys(capsys):
    import json

    from core.cli import main
    from tests.conftest import ROOT

    path = str(ROOT / "docs" / "examples" / "survey_long.csv")
    assert main(["survey-stats", path, "--json", "--margin", "0.25"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["design"] == "single" and {"overall", "by_truth", "sdt", "clips", "ratings"} <= set(out)
    eq = out["equivalence"]
    assert eq["margin"] == 0.25 and {"p_value", "equivalent", "ci90"} <= set(eq)
    o = out["overall"]
    assert eq["n"] == o["n"] and eq["correct"] == o["correct"]  # the votes, catch clips left out
    assert out["headline"]["verdict"] in ("could_tell", "could_not_tell", "inconclusive")
