"""The CLI as a user runs it: results, one-sentence errors with exit 2, nothing half-written."""

import json
import subprocess
import sys
import wave

import pytest

from tests.conftest import ROOT, SHIPPED


def run(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env
    )


def test_generate_writes_abc_midi_and_wav_and_prints_json(tmp_path):
    proc = run("generate", "--model", SHIPPED[0], "--seed", "3", "--seconds", "20", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tune.abc", "tune.mid", "tune.wav"]
    with wave.open(str(tmp_path / "tune.wav")) as w:
        seconds = w.getnframes() / w.getframerate()
    assert seconds == pytest.approx(summary["duration_s"] + 1.0, abs=0.05)  # + 1 s release tail
    assert summary["timings"]["compose_s"] > 0 and summary["seed"] == 3 and summary["temperature"] == 0.8
    assert (tmp_path / "tune.abc").read_text().startswith("X:1\nT:")


def test_models_json_lists_shipped_models():
    proc = run("models", "--json")
    rows = json.loads(proc.stdout)
    assert {r["name"] for r in rows} >= set(SHIPPED)
    assert all(r["test_bpc"] for r in rows if r["name"] in SHIPPED)


def test_corpus_list_and_stats():
    assert "oneills1850" in run("corpus", "list").stdout
    # CI=true makes pyfluidsynth print to stdout at import: the JSON must stay clean
    stats = json.loads(run("corpus", "stats", "oneills1850", env_extra={"CI": "true"}).stdout)
    assert stats["tunes"] > 1800 and stats["vocabulary"] > 80


@pytest.mark.parametrize(
    "args,message",
    [
        (["generate", "--model", "nope", "--out", "{out}"], "Unknown model"),
        (["generate", "--model", SHIPPED[0], "--temperature", "0", "--out", "{out}"], "Temperature"),
        (["generate", "--model", SHIPPED[0], "--primer", "M:6/8\nK:D\nA2B c2d e2f|", "--out", "{out}"], "does not fit"),
        (["generate", "--model", SHIPPED[0], "--primer", "M:6/8\nK:Q#", "--out", "{out}"], "not an ABC key"),
        (["generate", "--model", SHIPPED[0], "--primer", "W:words", "--out", "{out}"], "not supported"),
        (["generate", "--model", SHIPPED[0], "--soundfont", "/no/such.sf2", "--out", "{out}"], "SoundFont"),
        (["generate", "--model", SHIPPED[0], "--out", "{file}/sub"], "output folder"),
        (["corpus", "stats", "/no/such/tunes.abc"], "Unknown corpus"),
        (["train", "--preset", "nope", "--out", "{out}"], "Unknown preset"),
    ],
)
def test_user_mistakes_exit_2_with_one_sentence(tmp_path, args, message):
    out = tmp_path / "out"
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    proc = run(*[a.format(out=out, file=blocker) for a in args])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists() or not any(out.iterdir())  # nothing half-written


def test_evaluate_scores_on_another_corpus_and_skips_with_why_what_it_cannot(capsys):
    from core.cli import main

    # R1's GRU learnt O'Neill's characters; Ryan's book also writes '0' (e.g. in fingerings and titles)
    assert main(["evaluate", "--model", SHIPPED[1], "--corpus", "ryans", "--sample-tokens", "0", "--json"]) == 2
    err = capsys.readouterr().err
    assert f"{SHIPPED[1]} was not scored: " in err and "never saw ('0'" in err and "No model could be scored." in err
    assert main(["evaluate", "--model", SHIPPED[1], "--corpus", "oneills1850", "--sample-tokens", "0", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["corpus"] == "oneills1850" and row["sample_tokens_per_s"] is None and row["samples_per_s"] == 0.0
    card = json.loads((ROOT / "assets/models" / SHIPPED[1] / "card.json").read_text())
    assert row["bits_per_char"] == pytest.approx(card["metrics"]["test_bpc"], rel=0.01)
