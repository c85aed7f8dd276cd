"""The 2AFC design: the CSV layout and its one-sentence errors, accuracy, d' = sqrt(2) z(pc), per model and per
pair, the mixed model, the CLI's JSON, and the screening checks shared with the single-clip design."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from scipy.stats import binomtest, norm

from core.cli import main
from core.errors import UserError
from core.survey.paired_io import pairs_to_csv, read_any
from core.survey.stats import paired as PS
from core.survey.stats.checks import check_table, contradictions, exclude_failed
from core.survey.stats.report import analyse, clip_chart, methods_paragraph

HEADER = "participant,pair,human_position,chosen_position,human_clip,machine_clip,model,is_catch,headphone_passed\n"


def afc_csv() -> str:
    """10 participants x 4 pairs + a catch pair. Model "bad" (pairs c, d): all right but p9, 18 of 20. Model
    "good": pair a right for p0-p4 and p9 (6), pair b for p0-p5 and p9 (7): 13 of 20. 31 of 40 in all.

    Participant p9 fails the catch pair and the headphone check.
    """
    rows = []
    for p in range(10):
        for k, (pair, model) in enumerate((("a", "good"), ("b", "good"), ("c", "bad"), ("d", "bad"))):
            human = 1 + (p + k) % 2  # balanced order
            right = (model == "bad" and p != 9) or (model == "good" and (p == 9 or p < 5 + k))
            chosen = human if right else 3 - human
            rows.append(f"p{p},{pair},{human},{chosen},h{pair},m{pair},{model},false,{'false' if p == 9 else 'true'}")
        rows.append(f"p{p},catch,1,{2 if p == 9 else 1},twinkle,noise,,true,{'false' if p == 9 else 'true'}")
    return HEADER + "\n".join(rows) + "\n"


def test_layout_reads_and_round_trips():
    df = read_any(afc_csv().encode())
    assert PS.is_paired(df) and len(df) == 50 and df["is_catch"].sum() == 10
    assert df["human_position"].dtype.kind == "i" and set(df["chosen_position"]) == {1, 2}
    again = read_any(pairs_to_csv(df).encode())
    pd.testing.assert_frame_equal(df.reset_index(drop=True), again.reset_index(drop=True), check_dtype=False)


def test_accuracy_binomial_and_d_prime():
    df = read_any(afc_csv().encode())
    o = PS.overall(df)
    k = 31
    assert (o["n"], o["correct"]) == (40, k)
    assert math.isclose(o["p_value"], binomtest(k, 40, 0.5).pvalue)
    assert math.isclose(o["d_prime"], math.sqrt(2) * norm.ppf(k / 40))


def test_d_prime_2afc_published_and_hand_values():
    # Macmillan and Creelman: 76% correct in 2AFC is d' = 1 (pc = Phi(d' / sqrt 2) = Phi(0.7071) = 0.7602)
    assert math.isclose(PS.d_prime_2afc(76, 100), 0.9989, abs_tol=1e-4)
    assert math.isclose(norm.cdf(PS.d_prime_2afc(76, 100) / math.sqrt(2)), 0.76)
    assert PS.d_prime_2afc(50, 100) == 0.0
    assert PS.d_prime_2afc(24, 100) < 0  # below chance: the listeners take the machine clip for the person's
    # 10 of 10: pc moved to 1 - 1/20 = 0.95, d' = sqrt 2 x 1.6449 = 2.326
    assert math.isclose(PS.d_prime_2afc(10, 10), math.sqrt(2) * 1.6448536, rel_tol=1e-6)
    assert PS.d_prime_2afc(0, 0) is None


def test_per_model_and_per_pair():
    df = read_any(afc_csv().encode())
    models = {m["model"]: m for m in PS.by_model(df)}
    assert (models["bad"]["n"], models["bad"]["correct"]) == (20, 18)
    assert (models["good"]["n"], models["good"]["correct"]) == (20, 13)
    assert models["bad"]["p_holm"] == pytest.approx(min(1, 2 * binomtest(18, 20).pvalue))
    pairs = {p["pair"]: p for p in PS.by_pair(df)}
    assert set(pairs) == {"a", "b", "c", "d"} and pairs["a"]["human_clip"] == "ha" and pairs["c"]["model"] == "bad"
    assert pairs["c"]["accuracy"] == 0.9


def test_mixed_model_has_participant_and_clip_effects():
    df = read_any(afc_csv().encode())
    mm = PS.mixed_model(df)
    assert set(mm["random_sd"]) == {"participant", "human_clip", "machine_clip"} and mm["reference"] == "bad"
    good = next(f for f in mm["fixed"] if f["term"] == "good")
    assert good["estimate"] < 0  # the "good" model's clips fool listeners more often than the "bad" one's
    assert 0.5 < mm["typical_accuracy"] < 1


def test_cli_json_contract_and_exclusion(tmp_path, capsys):
    path = tmp_path / "afc.csv"
    path.write_text(afc_csv())
    assert main(["survey-stats", str(path), "--json", "--margin", "0.2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["design"] == "2afc"
    assert {"n", "correct", "accuracy", "ci95", "p_value"} <= set(out["overall"]) and "d_prime" in out["sdt"]
    assert {"margin", "p_value", "equivalent", "ci90"} <= set(out["equivalence"])
    assert out["equivalence"]["margin"] == 0.2
    assert main(["survey-stats", str(path), "--json", "--exclude-failed-checks"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_participants"] == 9 and out["excluded"] == [
        {"participant": "p9", "reason": "failed a catch clip; failed the headphone check"}]
    assert out["overall"]["n"] == 36


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("p0,a,1,1", "p0,a,3,1"), r"human_position '3' in row 2 is not 1 or 2"),
    (lambda t: t.replace("p0,a,1,1", "p0,a,1,first"), r"chosen_position 'first' in row 2 is not 1 or 2"),
    (lambda t: t + "p0,a,2,2,ha,ma,good,false,true\n", r"participant 'p0' answered pair 'a' twice \(row 52\)"),
])
def test_bad_rows_are_named_in_one_sentence(tmp_path, capsys, edit, message):
    text = edit(afc_csv())
    with pytest.raises(UserError, match=message):
        read_any(text.encode())
    path = tmp_path / "bad.csv"
    path.write_text(text)
    assert main(["survey-stats", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err


@pytest.mark.parametrize("margin", ["0", "0.5", "0.7", "-0.1", "nan"])
def test_margin_outside_the_range_is_refused(tmp_path, capsys, margin):
    path = tmp_path / "afc.csv"
    path.write_text(afc_csv())
    assert main(["survey-stats", str(path), "--json", f"--margin={margin}"]) == 2
    assert "equivalence margin" in capsys.readouterr().err


def test_checks_table_flags_each_failure_and_contradictions():
    df = read_any(afc_csv().encode())
    table = check_table(df).set_index("participant")
    assert table.loc["p9", "failed_catch"] and table.loc["p9", "failed_headphones"] and table.loc["p9", "excluded"]
    assert not table.loc["p0", "failed_catch"] and not table.loc["p0", "excluded"]
    assert not check_table(df, catch=False, headphones=False)["excluded"].any()
    single = pd.DataFrame({"participant": ["a", "a", "b"], "clip": ["x", "y", "x"], "truth": ["human"] * 3,
                           "vote": ["human", "machine", "human"], "rating": pd.array([5, 1, 2], "Int64")})
    assert list(contradictions(single)) == [True, True, False]
    assert check_table(single).set_index("participant")["contradictions"].to_dict() == {"a": 2, "b": 0}


def test_methods_paragraph_and_chart():
    df = read_any(afc_csv().encode())
    kept, excluded = exclude_failed(df)
    s = analyse(kept, 0.1)
    text = methods_paragraph(s, excluded.to_dict("records"))
    assert "two-alternative forced-choice" in text and "1 participant was excluded" in text
    assert f"in {s['overall']['correct']} of 36 trials" in text and s["headline"]["sentence"] in text
    png, svg = clip_chart(s, "png"), clip_chart(s, "svg")
    assert png.startswith(b"\x89PNG") and b"<svg" in svg[:500]
