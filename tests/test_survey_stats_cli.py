"""``python -m core survey-stats``: the JSON contract other tools rely on, and one-sentence errors (exit 2)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from core.cli import main
from core.survey.responses import responses_to_csv
from tests.conftest import ROOT
from tests.test_stats import r1_frame, wilson

EXAMPLES = ROOT / "docs" / "examples"
CONTRACT = {
    "n_responses": None,
    "votes": {"human", "machine"},
    "overall": {"correct", "incorrect", "accuracy", "error_rate", "ci95", "p_value"},
    "by_truth": {"human", "machine"},
    "sdt": {"hit_rate", "false_alarm_rate", "d_prime", "criterion"},
    "clips": None,
    "ratings": {"by_truth", "by_group"},
}
CLIP_KEYS = {"clip", "truth", "votes_human", "votes_machine", "error_rate", "rating_mean", "p_natural"}


def cli_json(capsys, *args: str) -> dict:
    assert main(["survey-stats", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def assert_contract(out: dict) -> None:
    for key, inner in CONTRACT.items():
        assert key in out
        if inner:
            assert inner <= set(out[key])
    for truth in ("human", "machine"):
        assert {"n", "correct", "error_rate", "ci95"} <= set(out["by_truth"][truth])
    assert all(set(c) >= CLIP_KEYS for c in out["clips"])


def test_r1_survey_through_the_cli(tmp_path, capsys):
    path = tmp_path / "r1.csv"
    path.write_text(responses_to_csv(r1_frame()))
    out = cli_json(capsys, str(path))
    assert_contract(out)
    assert out["n_responses"] == 350 and out["votes"] == {"human": 130, "machine": 220}
    o = out["overall"]
    assert (o["correct"], o["incorrect"], o["accuracy"], o["error_rate"], o["p_value"]) == (175, 175, 0.5, 0.5, 1.0)
    assert all(math.isclose(a, b) for a, b in zip(o["ci95"], wilson(175, 350), strict=True))
    assert out["by_truth"]["machine"]["n"] == 175 and out["by_truth"]["machine"]["correct"] == 110
    assert math.isclose(out["sdt"]["d_prime"], 0, abs_tol=1e-12) and out["sdt"]["criterion"] < -0.3
    assert len(out["clips"]) == 10 and out["clips"][0]["rating_mean"] is None
    assert out["ratings"]["by_truth"]["human"]["mean"] is None and out["excluded"] == []


def test_long_example_with_exclusions_and_ratings(capsys):
    out = cli_json(capsys, str(EXAMPLES / "survey_long.csv"), "--exclude-failed-catch", "--min-listening-ms", "5000")
    assert_contract(out)
    assert out["excluded"] == [
        {"participant": "ex-04", "reason": "failed a catch clip; median listening time 2150 ms < 5000 ms"}
    ]
    assert out["n_participants"] == 3 and out["n_responses"] == 15 and out["n_catch"] == 3
    lstm = out["ratings"]["by_group"]["r1-lstm"]
    # r1-lstm ratings of ex-01..ex-03: 5, 2, 4, 4, 5, 5 -> mean 25/6, one of six at 1-2
    assert lstm["n"] == 6 and math.isclose(lstm["mean"], 25 / 6) and math.isclose(lstm["p_natural"], 1 / 6)


def test_full_output_adds_models_and_breakdowns(capsys):
    out = cli_json(capsys, str(EXAMPLES / "survey_long.csv"), "--full")
    assert {"mixed_model", "pairwise_groups", "by_demographic"} <= set(out)
    assert set(out["by_demographic"]) == {"age_band", "musical_training"}


def test_wide_layout_with_key_as_a_user_runs_it():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "core",
            "survey-stats",
            "docs/examples/survey_wide.csv",
            "--key",
            "docs/examples/survey_key.csv",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert_contract(out)
    # 15 votes: clip A 3 human/1 machine, B 2/2, C 0/3, D 2/2 -> correct 3 + 2 + 3 + 2 = 10
    assert out["n_responses"] == 15 and out["overall"]["correct"] == 10 and out["votes"] == {"human": 7, "machine": 8}
    assert out["ratings"]["by_group"]["r1-gru"]["mean"] is None


def test_text_report(capsys):
    assert main(["survey-stats", str(EXAMPLES / "survey_long.csv")]) == 0
    text = capsys.readouterr().out
    assert "65.0% of 20 votes" in text and text.splitlines()[-1].split()[:4] == ["total", "9", "11", "13"]


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "Give a responses CSV"),
        (["{tmp}/missing.csv"], "No such file"),
        (["{bad}"], "rating '7' in row 2"),
        (["{xlsx}"], "is not a CSV file"),
        (["docs/examples/survey_wide.csv"], "missing the columns participant, clip, truth"),
        (["docs/examples/survey_wide.csv", "--key", "{key}"], "no column for clip 'clip E'"),
        (["docs/examples/survey_wide.csv", "--key", "docs/examples/survey_long.csv"], "repeated clip in rows 2, 3, 4"),
        (["{catch_only}", "--exclude-failed-catch"], "Every participant was excluded"),
    ],
)
def test_user_mistakes_exit_2_with_one_sentence(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(ROOT)
    (tmp_path / "bad.csv").write_text("participant,clip,truth,vote,rating\np1,c1,human,human,7\n")
    (tmp_path / "book.csv").write_bytes(b"PK\x03\x04 zipped workbook")
    (tmp_path / "catch.csv").write_text("participant,clip,truth,vote,is_catch\np1,c1,human,machine,true\n")
    (tmp_path / "key.csv").write_text("clip,truth\nclip A,human\nclip E,machine\n")
    names = {
        "tmp": tmp_path,
        "bad": tmp_path / "bad.csv",
        "xlsx": tmp_path / "book.csv",
        "catch_only": tmp_path / "catch.csv",
        "key": tmp_path / "key.csv",
    }
    assert main(["survey-stats", *(a.format(**names) for a in args)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_error_from_the_shell_has_no_traceback(tmp_path):
    (tmp_path / "dup.csv").write_text("participant,clip,truth,vote\np1,c1,human,human\np1,c1,human,machine\n")
    proc = subprocess.run(
        [sys.executable, "-m", "core", "survey-stats", str(tmp_path / "dup.csv"), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "error: dup.csv: participant 'p1' answered clip 'c1' more than once (rows 2, 3).\n"
