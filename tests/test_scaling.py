"""Training that scales: DDP under torchrun (gloo on CPU), resume, early stopping, schedule, bad input."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from core.errors import UserError
from core.training.batching import IGNORE, Shard, pack
from core.training.config import TrainConfig
from core.training.loop import train
from core.training.run import lr_factor

ROOT = Path(__file__).resolve().parent.parent
TINY = dict(preset="tiny-lstm", corpus="oneills1850", max_train_chars=6_000, checkpoint_every=0, seed=7)
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]


def _env(data_dir: Path) -> dict:
    return {**os.environ, "TUNELAB_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def test_two_process_gloo_run_matches_one_process(tmp_path, data_dir):
    one = train(TrainConfig(**TINY, epochs=2, out_dir=str(tmp_path / "one")))
    args = ["-m", "core", "train", "--preset", "tiny-lstm", "--corpus", "oneills1850", "--max-train-chars", "6000",
            "--checkpoint-every", "0", "--seed", "7", "--epochs", "2", "--device", "cpu", "--quiet",
            "--out", str(tmp_path / "two")]
    done = subprocess.run(TORCHRUN + args[1:], cwd=ROOT, env=_env(data_dir), capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    card = json.loads((tmp_path / "two" / "card.json").read_text())
    assert card["training"]["processes"] == 2
    assert card["training"]["command"].startswith("torchrun --nnodes 1 --nproc-per-node 2 -m core train")
    for key in ("train_loss", "valid_loss", "test_loss", "test_bpc"):
        assert card["metrics"][key] == pytest.approx(one.card.metrics[key], abs=2e-4), key
    a, b = (load_file(str(tmp_path / name / "model.safetensors")) for name in ("one", "two"))
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-3
    assert len(json.loads(done.stdout.strip().splitlines()[-1])) > 3  # only rank 0 printed its summary


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    found = [int(p) for p in out]
    return found + [g for c in found for g in _children(c)]


def _rank_of(pid: int) -> str | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    return next((e.split(b"=", 1)[1].decode() for e in env if e.startswith(b"RANK=")), None)


def test_a_dying_worker_ends_the_job_with_an_error_not_a_hang(tmp_path, data_dir):
    args = ["core", "train", "--preset", "tiny-lstm", "--corpus", "oneills1850", "--epochs", "200",
            "--checkpoint-every", "0", "--device", "cpu", "--quiet", "--out", str(tmp_path / "m")]
    proc = subprocess.Popen(TORCHRUN + ["-m", *args], cwd=ROOT, env=_env(data_dir), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not (tmp_path / ".m-log" / "log.csv").exists() and time.time() < deadline:
            time.sleep(0.5)
        assert (tmp_path / ".m-log" / "log.csv").exists(), "training never started"
        victim = next(p for p in _children(proc.pid) if _rank_of(p) == "1")
        os.kill(victim, signal.SIGKILL)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert not (tmp_path / "m" / "card.json").exists()  # no checkpoint from a broken job


def test_resume_goes_on_where_the_run_stopped(tmp_path):
    full = train(TrainConfig(**TINY, epochs=3, out_dir=str(tmp_path / "full")))
    train(TrainConfig(**TINY, epochs=2, out_dir=str(tmp_path / "part")))
    snapshot = tmp_path / ".part-log" / "last.pt"
    assert snapshot.is_file()
    resumed = train(TrainConfig(**TINY, epochs=3, out_dir=str(tmp_path / "part"), resume=str(snapshot)))
    assert [h.epoch for h in resumed.history] == [1, 2, 3]
    assert resumed.card.metrics["valid_loss"] == pytest.approx(full.card.metrics["valid_loss"], abs=1e-5)
    assert resumed.card.training["epochs_run"] == 3
    rows = (tmp_path / "part" / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]


def test_resume_refuses_another_shape_vocabulary_or_a_damaged_file(tmp_path):
    train(TrainConfig(**TINY, epochs=1, out_dir=str(tmp_path / "a")))
    snapshot = tmp_path / ".a-log" / "last.pt"
    with pytest.raises(UserError, match="model shape differs"):
        train(TrainConfig(**{**TINY, "preset": "r4-lstm"}, epochs=2, out_dir=str(tmp_path / "b"),
                          resume=str(snapshot)))
    with pytest.raises(UserError, match="vocabulary differs"):
        train(TrainConfig(**{**TINY, "corpus": "essen"}, epochs=2, out_dir=str(tmp_path / "c"),
                          resume=str(snapshot)))
    broken = tmp_path / "broken.pt"
    broken.write_bytes(snapshot.read_bytes()[:200])
    with pytest.raises(UserError, match="not a readable training snapshot"):
        train(TrainConfig(**TINY, epochs=2, out_dir=str(tmp_path / "d"), resume=str(broken)))
    for name in "bcd":
        assert not (tmp_path / name).exists()


def test_resume_from_a_finished_checkpoint_keeps_its_weights(tmp_path):
    first = train(TrainConfig(**TINY, epochs=1, out_dir=str(tmp_path / "a")))
    shutil.rmtree(tmp_path / ".a-log")  # no snapshot: weights only
    again = train(TrainConfig(**TINY, epochs=2, out_dir=str(tmp_path / "b"), resume=str(tmp_path / "a")))
    assert [h.epoch for h in again.history] == [2]
    assert again.history[0].train_loss < first.history[0].train_loss  # it started from trained weights


def test_early_stopping_ends_when_validation_stops_improving(tmp_path):
    result = train(TrainConfig(**{**TINY, "max_train_chars": 2_000}, epochs=40, lr=0.05, patience=2,
                               out_dir=str(tmp_path / "m")))
    epochs = [h.epoch for h in result.history]
    assert len(epochs) < 40
    best = result.card.training["best_epoch"]
    assert epochs[-1] == best + 2 and result.history[best - 1].best


def test_cosine_schedule_warms_up_then_decays_to_a_tenth():
    f = lr_factor("cosine", warmup=10, steps=110)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(60) == pytest.approx(0.55) and f(110) == pytest.approx(0.1)
    assert lr_factor("constant", 0, 100)(50) == 1.0


@pytest.mark.parametrize("change,message", [
    ({"schedule": "linear"}, "Unknown learning-rate schedule"),
    ({"patience": -1}, "must be finite and not negative"),
    ({"precision": "fp8"}, "Unknown precision"),
    ({"resume": "no-such-model"}, "Unknown model"),
])
def test_bad_scaling_settings(tmp_path, change, message):
    with pytest.raises(UserError, match=message):
        train(TrainConfig(**TINY, epochs=1, out_dir=str(tmp_path / "x"), **change))
    assert not (tmp_path / "x").exists()


def test_packing_keeps_every_transition_and_pads_with_ignore():
    rows = pack([[1, 2, 3], [4, 5, 6, 7, 8], [9]], width=4)
    assert rows.tolist() == [[1, 2, 3, 4], [4, 5, 6, 7], [7, 8, 9, IGNORE]]
    targets = [t for r in rows.tolist() for t in r[1:] if t != IGNORE]
    assert targets == [2, 3, 4, 5, 6, 7, 8, 9]  # each token after the first is predicted exactly once


def test_a_batch_must_split_evenly_over_the_processes():
    with pytest.raises(UserError, match="multiple of the 3"):
        Shard(0, 3).rows(16)
    assert Shard(1, 2).rows(16) == 8


def test_bf16_autocast_trains_on_cpu(tmp_path):
    result = train(TrainConfig(**TINY, epochs=1, precision="bf16", out_dir=str(tmp_path / "m")))
    assert torch.isfinite(torch.tensor(result.card.metrics["test_loss"]))


def test_a_tiny_transformer_trains_on_whole_abc_tunes(tmp_path):
    result = train(TrainConfig(preset="tiny-gpt", corpus="oneills1850", epochs=2, max_train_chars=40_000,
                               checkpoint_every=0, out_dir=str(tmp_path / "gpt")))
    card = result.card
    assert card.family == "transformer" and card.model["block_size"] == 128
    assert result.history[1].valid_loss < result.history[0].valid_loss
    assert 0 < card.metrics["test_bpc"] < 6.6 and card.training["schedule"] == "cosine"


def test_resume_with_no_epochs_left_is_refused_in_one_sentence(tmp_path):
    train(TrainConfig(**TINY, epochs=2, out_dir=str(tmp_path / "a")))
    snapshot = tmp_path / ".a-log" / "last.pt"
    with pytest.raises(UserError, match=r"has already run 2 epochs; to go on, ask for more \(--epochs 7\)"):
        train(TrainConfig(**TINY, epochs=2, out_dir=str(tmp_path / "b"), resume=str(snapshot)))
    shutil.rmtree(tmp_path / ".a-log")  # from the finished checkpoint's weights: the same refusal
    with pytest.raises(UserError, match="has already run 2 epochs"):
        train(TrainConfig(**TINY, epochs=1, out_dir=str(tmp_path / "c"), resume=str(tmp_path / "a")))
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()


def test_a_corpus_without_validation_tunes_is_refused_before_training(tmp_path):
    from core.data.corpus import load_corpus

    # every tune of a split lands there by a hash of its title: keep only O'Neill's training tunes
    tunes = load_corpus("oneills1850").split("train")[:40]
    book = tmp_path / "train-only.abc"
    book.write_text("\n\n".join(t.to_abc() for t in tunes) + "\n")
    assert not load_corpus(str(book)).split("valid")
    with pytest.raises(UserError, match="has no valid split long enough to pick the best epoch"):
        train(TrainConfig(preset="tiny-lstm", corpus=str(book), epochs=1, checkpoint_every=0,
                          out_dir=str(tmp_path / "x")))
    assert not (tmp_path / "x").exists()
